//! The suite against the in-memory provider: proves the suite itself.

fn main() {
    payment_conformance::Suite::for_driver(&payment::memory::DRIVER).run()
}
