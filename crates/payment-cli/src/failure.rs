//! How the command fails: exit codes 1 (definite, or differences found), 2 (usage or config), 3
//! (outcome unknown).

use payment::{Error, ErrorKind, Outcome};

/// A failed command.
pub enum Failure {
    /// Bad arguments or configuration: exit 2.
    Usage(String),
    /// The provider or the library refused or failed.
    Payment(Error),
    /// The command ran and found what the caller must look at (reconciliation's differences): exit 1.
    Found(String),
}

impl Failure {
    /// The exit code.
    pub fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Found(_) => 1,
            Failure::Payment(e) if e.outcome() == Outcome::Unknown => 3,
            // Refused before any I/O: a setting, or an operation the provider does not offer.
            Failure::Payment(e) if matches!(e.kind(), ErrorKind::Config | ErrorKind::Unsupported) => 2,
            Failure::Payment(_) => 1,
        }
    }

    /// Whether a setting nobody gave is what failed (a config file might have given it).
    pub fn is_missing_setting(&self) -> bool {
        matches!(self, Failure::Payment(e) if e.kind() == ErrorKind::Config && e.message().contains(" is missing"))
    }

    /// Prints the failure on stderr: one line, or `{"error":{…}}` with `--json`.
    pub fn report(&self, json: bool) {
        match (self, json) {
            (Failure::Usage(m), true) => {
                eprintln!("{}", serde_json::json!({"error": {"kind": "usage", "message": m, "outcome": "definite"}}));
            }
            (Failure::Usage(m), false) => eprintln!("error: {m}"),
            (Failure::Found(m), true) => eprintln!("{}", serde_json::json!({"found": m})),
            (Failure::Found(m), false) => eprintln!("{m}"),
            (Failure::Payment(e), true) => eprintln!("{}", serde_json::json!({"error": e.to_json()})),
            (Failure::Payment(e), false) => {
                eprintln!("error: {e}");
                if e.outcome() == Outcome::Unknown {
                    match (e.idempotency_key(), e.reference()) {
                        (Some(k), _) => eprintln!(
                            "hint: the charge may have gone through; repeat the same command with --idempotency-key {k} to find out safely"
                        ),
                        (None, Some(r)) => eprintln!("hint: look the payment up by reference {r} before trying again"),
                        (None, None) => {}
                    }
                }
            }
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Payment(e)
    }
}

/// A usage failure with a message.
pub fn usage(message: impl Into<String>) -> Failure {
    Failure::Usage(message.into())
}
