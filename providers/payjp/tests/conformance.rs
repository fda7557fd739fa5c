//! The shared suite against a fresh PAY.JP mock per case (or the sandbox with
//! `PAYMENT_TEST_TARGET=sandbox` and `PAYMENT_PAYJP_SECRET_KEY`).

fn main() {
    payment_conformance::Suite::for_driver(&payment_payjp::DRIVER).run()
}
