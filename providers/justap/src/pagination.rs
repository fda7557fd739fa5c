//! Cursor pagination (`starting_after` / `ending_before`, newest first, `has_more`) over charges
//! and a charge's refunds.

use async_trait::async_trait;
use payment_core::{
    ChargeRecord, ListCharges, ListRefunds, Operation, Page, PageCursor, Paginate, RefundRecord, Result,
};

use crate::client::JustapClient;
use crate::{CAPABILITIES, mapping};

fn limit(size: Option<u32>) -> String {
    size.unwrap_or(10).clamp(1, CAPABILITIES.list.max_limit).to_string()
}

/// One walk over `GET /v1/charges` (without `created.*`, Justap searches the last month only):
/// forwards (`starting_after`, newest first), or from an anchor towards newer charges
/// (`ending_before`, each page turned around so the walk is oldest first).
pub struct ChargePages {
    client: JustapClient,
    query: ListCharges,
    anchor: Option<String>,
}

impl ChargePages {
    /// Pages for `query`.
    pub fn new(client: JustapClient, query: ListCharges) -> ChargePages {
        ChargePages { client, query, anchor: None }
    }

    /// Pages of the charges newer than `anchor`, oldest first.
    pub fn newer_than(client: JustapClient, anchor: String, query: ListCharges) -> ChargePages {
        ChargePages { client, query, anchor: Some(anchor) }
    }
}

impl ChargePages {
    fn path(&self, cursor: Option<&PageCursor>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("app_id", self.client.app_id()).append_pair("limit", &limit(self.query.page_size));
        if let Some(from) = self.query.created_from {
            q.append_pair("created.gte", &from.unix().to_string());
        }
        if let Some(to) = self.query.created_to {
            q.append_pair("created.lt", &to.unix().to_string());
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
    }
}

#[async_trait]
impl Paginate<ChargeRecord> for ChargePages {
    async fn fetch_page(&self, cursor: Option<&PageCursor>) -> Result<Page<ChargeRecord>> {
        let path = self.path(cursor);
        let reply = self.client.fetch(self.client.get(Operation::ListCharges, &path)).await?;
        let (mut items, has_more) = mapping::charges_from_body(reply.body()).map_err(|e| reply.tag(e))?;
        let next = if self.anchor.is_some() {
            // Walking towards newer charges, the next page ends before the newest of this one.
            let next = has_more.then(|| items.first().map(|c| PageCursor::before(c.id.as_str()))).flatten();
            items.reverse();
            next
        } else {
            has_more.then(|| items.last().map(|c| PageCursor::after(c.id.as_str()))).flatten()
        };
        Ok(Page { items, next })
    }
}

/// One walk over `GET /v1/refunds?charge_id=…`.
pub struct RefundPages {
    client: JustapClient,
    charge: String,
    query: ListRefunds,
}

impl RefundPages {
    /// Pages of `charge`'s refunds.
    pub fn new(client: JustapClient, charge: String, query: ListRefunds) -> RefundPages {
        RefundPages { client, charge, query }
    }
}

#[async_trait]
impl Paginate<RefundRecord> for RefundPages {
    async fn fetch_page(&self, cursor: Option<&PageCursor>) -> Result<Page<RefundRecord>> {
        let path = {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("app_id", self.client.app_id())
                .append_pair("charge_id", &self.charge)
                .append_pair("limit", &limit(self.query.page_size));
            if let Some(after) = cursor.and_then(PageCursor::as_after) {
                q.append_pair("starting_after", after);
            }
            format!("/v1/refunds?{}", q.finish())
        };
        let reply = self.client.fetch(self.client.get(Operation::ListRefunds, &path)).await?;
        let (items, has_more) = mapping::refunds_from_body(reply.body()).map_err(|e| reply.tag(e))?;
        let next = has_more.then(|| items.last().map(|r| PageCursor::after(r.id.as_str()))).flatten();
        Ok(Page { items, next })
    }
}
