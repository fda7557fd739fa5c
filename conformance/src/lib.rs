//! The shared conformance suite: named cases that pin how every provider behaves behind the
//! neutral API, run against each provider's mock (or a sandbox with `PAYMENT_TEST_TARGET=sandbox`).
//!
//! A provider's `tests/conformance.rs` is one line, `Suite::for_driver(&DRIVER).run()`: the driver
//! says how to start a fresh mock per case and what to charge; cases whose capability is missing
//! are reported as ignored, with the reason.
#![forbid(unsafe_code)]

pub mod case;
pub mod cases;
pub mod check;
pub mod runner;
pub mod target;

pub use case::{Case, Profile};
pub use check::{CaseResult, Failure};
pub use runner::{Suite, TargetFactory};
pub use target::Target;
