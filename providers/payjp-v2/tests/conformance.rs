//! The shared suite against a fresh PAY.JP v2 mock per case.

fn main() {
    payment_conformance::Suite::for_driver(&payment_payjp_v2::DRIVER).run()
}
