//! The object-safe `Provider` trait that every provider client implements.

use std::any::Any;
use std::fmt::{Debug, Display};

use crate::capabilities::Capabilities;
use crate::charge::Charge;
use crate::refund::Refund;

/// A payment provider behind the neutral API; used as `Arc<dyn Provider>`.
pub trait Provider: Charge + Refund + Send + Sync + Debug + Display {
    /// The provider's name as in config and `payment providers` (`payjp`, `pingpp`, …).
    fn name(&self) -> &'static str;
    /// What it supports.
    fn capabilities(&self) -> &'static Capabilities;
    /// The concrete client, for its provider-only methods (`client.native::<PayjpClient>()`).
    fn as_any(&self) -> &dyn Any;
}

/// Implements [`Provider`] for a client type from its name and capabilities constant.
///
/// `payment_core::provider_impl!(PayjpClient, NAME, CAPABILITIES);`
#[macro_export]
macro_rules! provider_impl {
    ($client:ty, $name:expr, $capabilities:expr) => {
        impl $crate::Provider for $client {
            fn name(&self) -> &'static str {
                $name
            }
            fn capabilities(&self) -> &'static $crate::Capabilities {
                &$capabilities
            }
            fn as_any(&self) -> &dyn ::std::any::Any {
                self
            }
        }
    };
}
