//! The transport: one idempotent retry engine over `reqwest` as a tower stack; providers only
//! describe their requests ([`Call`]) and classify their responses ([`ReplyClass`]).

mod builder;
mod call;
pub mod delivery;
mod engine;
mod http;
mod reply;
mod sleep;
mod template;
mod trace;

pub use builder::EngineBuilder;
pub use call::{Call, Classifier, Lookup, LookupAnswer, Phase, ReplyClass, RequestFn, default_classify, lazy_request};
pub use engine::Engine;
pub use http::{
    HttpRequest, HttpResponse, HttpService, MAX_RETRY_AFTER, ReqwestService, Target, Targets, TransportError,
    parse_retry_after,
};
pub use reply::HttpReply;
pub use sleep::{RecordingSleeper, Sleeper, TokioSleeper};
pub use template::{UrlTemplates, shape_template};
