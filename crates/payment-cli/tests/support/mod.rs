//! What the CLI tests share: `payment mock` in its own process.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_payment");

/// A `payment mock` process, killed when dropped.
pub struct Mock {
    child: Child,
    /// Its `NAME URL` line's URL.
    pub url: String,
}

impl Mock {
    /// Starts PAY.JP's mock with extra flags.
    pub fn start(extra: &[&str]) -> Mock {
        Mock::start_provider("payjp", extra)
    }

    /// Starts one provider's mock with extra flags and waits for its `NAME URL` line.
    pub fn start_provider(provider: &str, extra: &[&str]) -> Mock {
        let mut child = Command::new(BIN)
            .args(["--provider", provider, "mock", "--addr", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let (name, url) = line.trim().split_once(' ').expect("NAME URL");
        assert_eq!(name, provider);
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Mock { child, url: url.to_owned() }
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
