//! Cursor pagination (`starting_after`, newest first) over charges and a charge's refunds.

use async_trait::async_trait;
use payment_core::{
    ChargeRecord, ListCharges, ListRefunds, Operation, Page, PageCursor, Paginate, RefundRecord, Result,
};

use crate::client::PingppClient;
use crate::wire::List;
use crate::{CAPABILITIES, mapping};

fn limit(size: Option<u32>) -> String {
    size.unwrap_or(10).clamp(1, CAPABILITIES.list.max_limit).to_string()
}

type RawItem = Box<serde_json::value::RawValue>;

fn next_cursor(has_more: bool, last_id: Option<&str>) -> Option<PageCursor> {
    has_more.then(|| last_id.map(PageCursor::after)).flatten()
}

/// One walk over `GET /v1/charges` (without `created`, Ping++ searches the last month only):
/// forwards (`starting_after`, newest first), or from an anchor towards newer charges
/// (`ending_before`, each page turned around so the walk is oldest first).
pub struct ChargePages {
    client: PingppClient,
    query: ListCharges,
    anchor: Option<String>,
}

impl ChargePages {
    /// Pages for `query`.
    pub fn new(client: PingppClient, query: ListCharges) -> ChargePages {
        ChargePages { client, query, anchor: None }
    }

    /// Pages of the charges newer than `anchor`, oldest first.
    pub fn newer_than(client: PingppClient, anchor: String, query: ListCharges) -> ChargePages {
        ChargePages { client, query, anchor: Some(anchor) }
    }
}

#[async_trait]
impl Paginate<ChargeRecord> for ChargePages {
    async fn fetch_page(&self, cursor: Option<&PageCursor>) -> Result<Page<ChargeRecord>> {
        let path = {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("app[id]", self.client.app_id()).append_pair("limit", &limit(self.query.page_size));
            if let Some(from) = self.query.created_from {
                q.append_pair("created[gte]", &from.unix().to_string());
            }
            if let Some(to) = self.query.created_to {
                q.append_pair("created[lt]", &to.unix().to_string());
            }
            match (cursor, &self.anchor) {
                (Some(c), _) if c.as_before().is_some() => {
                    q.append_pair("ending_before", c.as_before().unwrap_or_default());
                }
                (Some(c), _) => {
                    q.append_pair("starting_after", c.as_after().unwrap_or_default());
                }
                (None, Some(anchor)) => {
                    q.append_pair("ending_before", anchor);
                }
                (None, None) => {}
            }
            format!("/v1/charges?{}", q.finish())
        };
        let list: List<RawItem> = self.client.fetch(self.client.get(Operation::ListCharges, &path)).await?;
        let mut items =
            list.data.into_iter().map(|raw| mapping::charge_from_raw(raw.into())).collect::<Result<Vec<_>>>()?;
        let backwards = self.anchor.is_some();
        // Walking towards newer charges, the next page ends before the newest of this one.
        let next = if backwards {
            list.has_more.then(|| items.first().map(|c| PageCursor::before(c.id.as_str()))).flatten()
        } else {
            next_cursor(list.has_more, items.last().map(|c| c.id.as_str()))
        };
        if backwards {
            items.reverse();
        }
        Ok(Page { items, next })
    }
}

/// One walk over `GET /v1/charges/{id}/refunds`.
pub struct RefundPages {
    client: PingppClient,
    charge: String,
    query: ListRefunds,
}

impl RefundPages {
    /// Pages of `charge`'s refunds.
    pub fn new(client: PingppClient, charge: String, query: ListRefunds) -> RefundPages {
        RefundPages { client, charge, query }
    }
}

#[async_trait]
impl Paginate<RefundRecord> for RefundPages {
    async fn fetch_page(&self, cursor: Option<&PageCursor>) -> Result<Page<RefundRecord>> {
        let path = {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("limit", &limit(self.query.page_size));
            if let Some(after) = cursor.and_then(PageCursor::as_after) {
                q.append_pair("starting_after", after);
            }
            format!("/v1/charges/{}/refunds?{}", self.charge, q.finish())
        };
        let list: List<RawItem> = self.client.fetch(self.client.get(Operation::ListRefunds, &path)).await?;
        let items =
            list.data.into_iter().map(|raw| mapping::refund_from_raw(raw.into())).collect::<Result<Vec<_>>>()?;
        let next = next_cursor(list.has_more, items.last().map(|r| r.id.as_str()));
        Ok(Page { items, next })
    }
}
