//! Result codes: open enums (Google adds codes), an unknown code kept as it came.

use serde::{Deserialize, Serialize};

macro_rules! open_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// A code this version does not know, as sent.
            Unknown(String),
        }

        impl From<String> for $name {
            fn from(text: String) -> $name {
                match text.as_str() {
                    $($text => $name::$variant,)*
                    _ => $name::Unknown(text),
                }
            }
        }

        impl From<$name> for String {
            fn from(code: $name) -> String {
                code.as_str().to_owned()
            }
        }

        impl $name {
            /// The code as Google spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Unknown(text) => text,
                }
            }
        }
    };
}

open_enum! {
    /// `capture`'s `result`.
    CaptureResult {
        /// Captured.
        Success = "SUCCESS",
        /// Not enough funds.
        InsufficientFunds = "INSUFFICIENT_FUNDS",
        /// Over the per-transaction limit.
        ChargeExceedsTransactionLimit = "CHARGE_EXCEEDS_TRANSACTION_LIMIT",
        /// Over the daily limit.
        ChargeExceedsDailyLimit = "CHARGE_EXCEEDS_DAILY_LIMIT",
        /// Over the monthly limit.
        ChargeExceedsMonthlyLimit = "CHARGE_EXCEEDS_MONTHLY_LIMIT",
        /// Under the minimum.
        ChargeUnderLimit = "CHARGE_UNDER_LIMIT",
        /// The account cannot take the currency.
        AccountDoesNotSupportCurrency = "ACCOUNT_DOES_NOT_SUPPORT_CURRENCY",
        /// The account is closed.
        AccountClosed = "ACCOUNT_CLOSED",
        /// Closed: taken over.
        AccountClosedAccountTakenOver = "ACCOUNT_CLOSED_ACCOUNT_TAKEN_OVER",
        /// Closed: fraud.
        AccountClosedFraud = "ACCOUNT_CLOSED_FRAUD",
        /// On hold.
        AccountOnHold = "ACCOUNT_ON_HOLD",
        /// The user withdrew the token.
        GooglePaymentTokenInvalidatedByUser = "GOOGLE_PAYMENT_TOKEN_INVALIDATED_BY_USER",
        /// Declined by risk.
        RiskDeclined = "RISK_DECLINED",
        /// Suspected fraud.
        SuspectedFraud = "SUSPECTED_FRAUD",
    }
}

open_enum! {
    /// `refund`'s `result`.
    RefundResult {
        /// Refunded.
        Success = "SUCCESS",
        /// The capture is refunded in full already.
        NoMoneyLeftOnTransaction = "NO_MONEY_LEFT_ON_TRANSACTION",
        /// The account is closed.
        AccountClosed = "ACCOUNT_CLOSED",
        /// Closed: taken over.
        AccountClosedAccountTakenOver = "ACCOUNT_CLOSED_ACCOUNT_TAKEN_OVER",
        /// Closed: fraud.
        AccountClosedFraud = "ACCOUNT_CLOSED_FRAUD",
        /// On hold.
        AccountOnHold = "ACCOUNT_ON_HOLD",
        /// The refund would pass the account's maximum balance.
        RefundExceedsMaximumBalance = "REFUND_EXCEEDS_MAXIMUM_BALANCE",
        /// Too late to refund.
        RefundWindowExceeded = "REFUND_WINDOW_EXCEEDED",
    }
}
