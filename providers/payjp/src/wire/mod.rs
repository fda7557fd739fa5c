//! PAY.JP v1 objects exactly as the API sends them; nothing neutral here.

mod charge;
mod error;
mod event;
mod form;
mod list;
mod token;

pub use charge::{Card, Charge};
pub use error::{ApiError, ErrorBody};
pub use event::Event;
pub use form::Form;
pub use list::List;
pub use token::Token;
