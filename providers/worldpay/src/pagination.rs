//! Payment Queries pages: `startDate`/`endDate` (one year back at most), `pageSize`, then the
//! opaque `next` links as given.

use async_trait::async_trait;
use payment_core::{ChargeRecord, Error, ListCharges, Page, PageCursor, Paginate, Result, Timestamp};

use crate::CAPABILITIES;
use crate::client::WorldpayClient;
use crate::mapping::{self, ChargeKey};
use crate::wire::PaymentSummary;

/// One walk over `GET /paymentQueries/payments`.
pub struct ChargePages {
    client: WorldpayClient,
    query: ListCharges,
}

impl ChargePages {
    /// Pages for `query`.
    pub fn new(client: WorldpayClient, query: ListCharges) -> ChargePages {
        ChargePages { client, query }
    }

    fn first(&self) -> String {
        let now = Timestamp::now().unix();
        // startDate may not be more than a year old.
        let start = self.query.created_from.map_or(now - 364 * 86_400, |t| t.unix().max(now - 364 * 86_400));
        let end = self.query.created_to.map_or(now + 60, |t| t.unix());
        let size = self.query.page_size.unwrap_or(50).clamp(1, CAPABILITIES.list.max_limit);
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("startDate", &Timestamp::from_unix(start).to_rfc3339())
            .append_pair("endDate", &Timestamp::from_unix(end).to_rfc3339())
            .append_pair("pageSize", &size.to_string())
            .finish();
        format!("/paymentQueries/payments?{q}")
    }
}

#[async_trait]
impl Paginate<ChargeRecord> for ChargePages {
    async fn fetch_page(&self, cursor: Option<&PageCursor>) -> Result<Page<ChargeRecord>> {
        let target = match cursor.and_then(PageCursor::as_link) {
            Some(href) => href.to_owned(),
            None => self.first(),
        };
        let page = self.client.fetch_query(&target).await?;
        let entity = self.client.config().entity.clone();
        let items = page
            .embedded
            .payments
            .into_iter()
            .map(|raw| {
                let p = <PaymentSummary as serde::Deserialize>::deserialize(&raw)
                    .map_err(|e| Error::decode("a Worldpay payment in a query", e))?;
                let key = ChargeKey {
                    r: p.transaction_reference.clone(),
                    e: p.entity.clone().unwrap_or_else(|| entity.clone()),
                    a: p.value.amount,
                    c: p.value.currency.clone(),
                    l: None,
                };
                let created = Timestamp::parse_rfc3339(&p.timestamp)?;
                mapping::record(&key, mapping::status_from_query(&p.last_event), &p.last_event, created, raw.into())
            })
            .collect::<Result<Vec<_>>>()?;
        let next = page.links.href("next").map(PageCursor::link);
        Ok(Page { items, next })
    }
}
