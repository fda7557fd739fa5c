//! The shared suite against a fresh mock processor per case (or a processor's sandbox with
//! `PAYMENT_TEST_TARGET=sandbox` and `PAYMENT_GOOGLE_STANDARD_PAYMENTS_*`).

fn main() {
    payment_conformance::Suite::for_driver(&payment_google_standard_payments::DRIVER).run()
}
