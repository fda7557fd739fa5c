//! Registering what PAY.JP v2 charges through a customer: a card or PayPay made a payment
//! method and a customer (test mode only, as PAY.JP documents), and the customer a payment
//! method is attached to.

use payment_core::{
    Authentication, CardDetails, Error, IdempotencyKey, IdempotencySupport, NativeOperation, Operation, RequestOptions,
    Result,
};
use serde_json::{Map, Value, json};

use crate::client::{PAYPAY, PayjpV2Client, check_key, path_id};
use crate::wire::{Customer, PaymentMethod};

// The registration a test-mode card or PayPay goes through; each is replayed by its key.
/// `POST /v2/payment_methods` (test mode only).
const CREATE_PAYMENT_METHOD: Operation =
    Operation::Native(NativeOperation::write("create_payment_method", IdempotencySupport::Replay));
/// `POST /v2/customers`: the customer a flow charges the payment method through.
const CREATE_CUSTOMER: Operation =
    Operation::Native(NativeOperation::write("create_customer", IdempotencySupport::Replay));
/// `GET /v2/payment_methods/{id}`: whose payment method a charge names.
const READ_PAYMENT_METHOD: Operation = Operation::Native(NativeOperation::read("read_payment_method"));

impl PayjpV2Client {
    /// Registers `card` (test mode only: live cards come from PAY.JP's payment widgets) with the
    /// customer's email or phone, which PAY.JP requires for 3-D Secure, and a customer to charge
    /// it through; answers the customer's id. Each request has its own key derived from `key`.
    pub async fn register_card(
        &self,
        card: &CardDetails,
        authentication: Option<&Authentication>,
        key: &IdempotencyKey,
        options: &RequestOptions,
    ) -> Result<String> {
        let phone = authentication.and_then(|a| a.phone.as_deref());
        let email = authentication.and_then(|a| a.email.as_deref()).or(match phone {
            Some(_) => None,
            None => self.config().registration_email.as_deref(),
        });
        if email.is_none() && phone.is_none() {
            return Err(Error::invalid(
                "PAY.JP v2 registers a card only with the customer's email or phone (3-D Secure needs one): ask \
                 for authentication with an email or phone, set registration_email \
                 (PAYMENT_PAYJP_V2_REGISTRATION_EMAIL), or charge a customer (cus_…)",
            ));
        }
        let mut billing = Map::new();
        for (name, value) in [("name", card.holder_name.as_deref()), ("email", email), ("phone", phone)] {
            if let Some(v) = value {
                billing.insert(name.into(), json!(v));
            }
        }
        let mut details = json!({"number": card.number(), "exp_month": card.exp_month, "exp_year": card.exp_year});
        if let Some(cvc) = card.cvc() {
            details["cvc"] = json!(cvc);
        }
        let body = json!({"type": "card", "card": details, "billing_details": billing});
        self.register(body, email, key, options).await
    }

    /// Registers a PayPay payment method (test mode only) and a customer to charge it through.
    pub async fn register_paypay(&self, key: &IdempotencyKey, options: &RequestOptions) -> Result<String> {
        self.register(json!({"type": PAYPAY}), None, key, options).await
    }

    async fn register(
        &self,
        method: Value,
        email: Option<&str>,
        key: &IdempotencyKey,
        options: &RequestOptions,
    ) -> Result<String> {
        if !self.config().is_test_mode() {
            return Err(Error::unsupported(
                "PAY.JP v2 creates payment methods from the server only in test mode: collect them with PAY.JP's \
                 payment widgets or Checkout and charge the customer (cus_…)",
            ));
        }
        check_key(key)?;
        let pm_key = key.derive("-pm")?;
        let reply =
            self.execute(self.post(CREATE_PAYMENT_METHOD, "/v2/payment_methods", &method, &pm_key, options)).await?;
        let pm: PaymentMethod = reply.json()?;
        let mut customer = json!({"payment_method_id": pm.id});
        if let Some(e) = email {
            customer["email"] = json!(e);
        }
        let cus_key = key.derive("-cus")?;
        let reply = self.execute(self.post(CREATE_CUSTOMER, "/v2/customers", &customer, &cus_key, options)).await?;
        Ok(reply.json::<Customer>()?.id)
    }

    /// The customer payment method `pm` is attached to.
    pub(crate) async fn owner_of(&self, pm: &str) -> Result<String> {
        let path = format!("/v2/payment_methods/{}", path_id(pm, "payment method")?);
        let reply = self.execute(self.get(READ_PAYMENT_METHOD, &path)).await?;
        let method: PaymentMethod = reply.json()?;
        method.customer_id.ok_or_else(|| {
            Error::invalid(format!(
                "payment method {pm} is attached to no customer: PAY.JP v2 charges it only through one"
            ))
        })
    }
}
