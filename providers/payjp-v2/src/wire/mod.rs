//! PAY.JP v2's JSON objects, as its official v2 SDK reads them.

mod event;
mod flow;
mod list;
mod payment_method;
mod problem;
mod refund;

pub use event::Event;
pub use flow::{PaymentFlow, RedirectOptions};
pub use list::List;
pub use payment_method::{Customer, PaymentMethod};
pub use problem::{FieldError, Problem};
pub use refund::PaymentRefund;
