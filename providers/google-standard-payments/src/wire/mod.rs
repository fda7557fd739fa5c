//! The Payment Processor Service v1 wire ("enum" style): epoch-millisecond strings, amounts as
//! strings of micros, `result` enum strings; nothing neutral here.

mod capture;
mod echo;
mod error;
mod header;
mod refund;
mod result;

pub use capture::{CaptureRequest, CaptureResponse, RawResult};
pub use echo::{EchoRequest, EchoResponse};
pub use error::{ErrorResponse, ErrorResponseCode};
pub use header::{PROTOCOL_V1, ProtocolVersion, RequestHeader, ResponseHeader};
pub use refund::{RefundRequest, RefundResponse};
pub use result::{CaptureResult, RefundResult};
