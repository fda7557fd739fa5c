//! The transport: one idempotent retry engine over `reqwest` as a tower stack; providers only
//! describe their requests ([`Call`]) and classify their responses ([`ReplyClass`]).

mod call;
pub mod delivery;
mod dispatch;
mod engine;
mod http;
mod policy;
mod sleep;
mod trace;

pub use call::{Call, Classifier, Lookup, LookupAnswer, Phase, ReplyClass, RequestFn, default_classify, lazy_request};
pub use engine::{Engine, EngineBuilder, HttpReply};
pub use http::{
    HttpRequest, HttpResponse, HttpService, MAX_RETRY_AFTER, ReqwestService, Target, Targets, TransportError,
    parse_retry_after,
};
pub use sleep::{RecordingSleeper, Sleeper, TokioSleeper};
pub use trace::TraceLayer;
