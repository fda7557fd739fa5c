//! The token object (`POST /v1/tokens`).

use serde::{Deserialize, Serialize};

use super::Card;

/// `object: "token"`: a one-time card reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// `tok_` + hex.
    pub id: String,
    /// Always `"token"`.
    #[serde(default)]
    pub object: String,
    /// Test or live.
    #[serde(default)]
    pub livemode: bool,
    /// Unix seconds.
    pub created: i64,
    /// Whether a charge or customer consumed it.
    #[serde(default)]
    pub used: bool,
    /// The card.
    pub card: Card,
}
