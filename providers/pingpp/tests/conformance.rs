//! The shared suite against a fresh Ping++ mock per case, with request signing on (or the sandbox
//! with `PAYMENT_TEST_TARGET=sandbox` and `PAYMENT_PINGPP_*`).

fn main() {
    payment_conformance::Suite::for_driver(&payment_pingpp::DRIVER).run()
}
