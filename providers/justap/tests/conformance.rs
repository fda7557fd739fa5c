//! The shared suite against a fresh Justap mock per case, with request signing on (or Justap with
//! `PAYMENT_TEST_TARGET=sandbox` and `PAYMENT_JUSTAP_*`: test keys simulate payments there).

fn main() {
    payment_conformance::Suite::for_driver(&payment_justap::DRIVER).run()
}
