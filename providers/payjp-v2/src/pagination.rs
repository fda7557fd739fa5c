//! Cursor pagination (`starting_after`, newest first) over payment flows and a flow's refunds.
//! v2 lists have no time filter: a window is applied to each page here.

use async_trait::async_trait;
use payment_core::{
    ChargeId, ChargeRecord, ListCharges, ListRefunds, Page, PageCursor, Paginate, RawJson, RefundRecord, Result,
};

use crate::client::PayjpV2Client;
use crate::{CAPABILITIES, mapping};

fn limit(size: Option<u32>) -> String {
    size.unwrap_or(10).clamp(1, CAPABILITIES.list.max_limit).to_string()
}

fn id_of(raw: &serde_json::value::RawValue) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    serde_json::from_str::<Id>(raw.get()).ok().map(|i| i.id)
}

/// One walk over `GET /v2/payment_flows`.
pub struct ChargePages {
    client: PayjpV2Client,
    query: ListCharges,
}

impl ChargePages {
    /// Pages for `query`.
    pub fn new(client: PayjpV2Client, query: ListCharges) -> ChargePages {
        ChargePages { client, query }
    }
}

#[async_trait]
impl Paginate<ChargeRecord> for ChargePages {
    async fn fetch_page(&self, cursor: Option<&PageCursor>) -> Result<Page<ChargeRecord>> {
        let query = {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("limit", &limit(self.query.page_size));
            if let Some(after) = cursor.and_then(PageCursor::as_after) {
                q.append_pair("starting_after", after);
            }
            q.finish()
        };
        let list = self.client.flow_page(query).await?;
        let next = if list.has_more { list.data.last().and_then(|r| id_of(r)).map(PageCursor::after) } else { None };
        let mut items = Vec::with_capacity(list.data.len());
        for raw in list.data {
            let record = self.client.listed(raw).await?;
            let after_start = self.query.created_from.is_none_or(|from| record.created >= from);
            let before_end = self.query.created_to.is_none_or(|to| record.created < to);
            if after_start && before_end {
                items.push(record);
            }
        }
        Ok(Page { items, next })
    }
}

/// One walk over `GET /v2/payment_flows/{id}/refunds`.
pub struct RefundPages {
    client: PayjpV2Client,
    charge_id: ChargeId,
    query: ListRefunds,
}

impl RefundPages {
    /// Pages of `charge_id`'s refunds.
    pub fn new(client: PayjpV2Client, charge_id: ChargeId, query: ListRefunds) -> RefundPages {
        RefundPages { client, charge_id, query }
    }
}

#[async_trait]
impl Paginate<RefundRecord> for RefundPages {
    async fn fetch_page(&self, cursor: Option<&PageCursor>) -> Result<Page<RefundRecord>> {
        let size = self.query.page_size.unwrap_or(10);
        let list =
            self.client.refund_page(self.charge_id.as_str(), size, cursor.and_then(PageCursor::as_after)).await?;
        let next = if list.has_more { list.data.last().and_then(|r| id_of(r)).map(PageCursor::after) } else { None };
        let items = list
            .data
            .iter()
            .map(|raw| {
                let (refund, _) = mapping::refund_from_body(raw.get().as_bytes())?;
                mapping::refund_record(&refund, RawJson::from_raw(raw))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page { items, next })
    }
}
