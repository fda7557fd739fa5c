//! Small programs over the neutral API, each a function the test suite runs against mocks and a
//! `cargo run -p payment-examples --example NAME` binary; plus the exactly-once soak.
#![forbid(unsafe_code)]

pub mod adversarial;
pub mod checkout;
pub mod crash;
pub mod kill_matrix;
pub mod list_all;
pub mod raw;
pub mod regional;
pub mod soak;
pub mod targets;
