//! The process the journal's crash tests kill (see `payment_examples::crash`).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    payment_examples::crash::child_main()
}
