//! The shared suite against a fresh Worldpay mock per case (or the Try environment with
//! `PAYMENT_TEST_TARGET=sandbox` and `PAYMENT_WORLDPAY_*`).

fn main() {
    payment_conformance::Suite::for_driver(&payment_worldpay::DRIVER).run()
}
