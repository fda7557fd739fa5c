//! Case results and the `check!` macro.

use std::fmt;

/// Why a case failed.
#[derive(Debug)]
pub struct Failure(String);

impl Failure {
    /// A failure with a message.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure(message.into())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<payment_core::Error> for Failure {
    fn from(e: payment_core::Error) -> Failure {
        Failure(format!("unexpected error: {e}"))
    }
}

/// What a case returns.
pub type CaseResult = Result<(), Failure>;

/// Fails the case with a message unless the condition holds.
#[macro_export]
macro_rules! check {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err($crate::check::Failure::new(format!($($arg)+)));
        }
    };
}

/// Expects an error and returns it.
pub fn expect_err<T: fmt::Debug>(r: payment_core::Result<T>, what: &str) -> Result<payment_core::Error, Failure> {
    match r {
        Ok(v) => Err(Failure::new(format!("{what}: expected an error, got {v:?}"))),
        Err(e) => Ok(e),
    }
}

impl From<payment_core::MoneyError> for Failure {
    fn from(e: payment_core::MoneyError) -> Failure {
        Failure(format!("money arithmetic failed: {e}"))
    }
}
