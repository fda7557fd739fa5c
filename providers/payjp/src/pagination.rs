//! Offset pagination over `GET /v1/charges` (newest first; `since`/`until` inclusive).

use async_trait::async_trait;
use payment_core::{ChargeRecord, ListCharges, Page, PageCursor, Paginate, Result};

use crate::client::PayjpClient;
use crate::{CAPABILITIES, mapping};

/// One walk over the charge list.
pub struct ChargePages {
    client: PayjpClient,
    query: ListCharges,
}

impl ChargePages {
    /// Pages for `query`.
    pub fn new(client: PayjpClient, query: ListCharges) -> ChargePages {
        ChargePages { client, query }
    }

    fn query_string(&self, offset: u64) -> String {
        let limit = self.query.page_size.unwrap_or(10).clamp(1, CAPABILITIES.list.max_limit);
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.append_pair("limit", &limit.to_string()).append_pair("offset", &offset.to_string());
        if let Some(from) = self.query.created_from {
            s.append_pair("since", &from.unix().to_string());
        }
        if let Some(to) = self.query.created_to {
            // The neutral bound is exclusive; PAY.JP's `until` is inclusive.
            s.append_pair("until", &(to.unix() - 1).to_string());
        }
        s.finish()
    }
}

#[async_trait]
impl Paginate<ChargeRecord> for ChargePages {
    async fn fetch_page(&self, cursor: Option<&PageCursor>) -> Result<Page<ChargeRecord>> {
        let offset = cursor.and_then(PageCursor::as_offset).unwrap_or(0);
        let list = self.client.list_page(self.query_string(offset)).await?;
        let fetched = list.data.len() as u64;
        let items =
            list.data.into_iter().map(|raw| mapping::charge_from_raw(raw.into())).collect::<Result<Vec<_>>>()?;
        let next = (list.has_more && fetched > 0).then(|| PageCursor::offset(offset + fetched));
        Ok(Page { items, next })
    }
}
