//! `Paginate` (one list endpoint) and `ListPaginator` (a lazy stream over all its pages).

use std::collections::{HashSet, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures::stream::{BoxStream, Stream, StreamExt};

use crate::error::{Error, ErrorKind, Result};

/// Where the next page starts; opaque to callers, built and read by providers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageCursor(CursorKind);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CursorKind {
    After(String),
    Before(String),
    Offset(u64),
    Link(String),
}

impl PageCursor {
    /// Items after this id (cursor style, walking forwards).
    pub fn after(id: impl Into<String>) -> PageCursor {
        PageCursor(CursorKind::After(id.into()))
    }

    /// Items before this id (cursor style, walking backwards).
    pub fn before(id: impl Into<String>) -> PageCursor {
        PageCursor(CursorKind::Before(id.into()))
    }

    /// Items from this offset (offset style).
    pub fn offset(offset: u64) -> PageCursor {
        PageCursor(CursorKind::Offset(offset))
    }

    /// The provider's `next` link (link style).
    pub fn link(href: impl Into<String>) -> PageCursor {
        PageCursor(CursorKind::Link(href.into()))
    }

    /// The id for an "after" cursor.
    pub fn as_after(&self) -> Option<&str> {
        match &self.0 {
            CursorKind::After(id) => Some(id),
            _ => None,
        }
    }

    /// The id for a "before" cursor.
    pub fn as_before(&self) -> Option<&str> {
        match &self.0 {
            CursorKind::Before(id) => Some(id),
            _ => None,
        }
    }

    /// The offset for an offset cursor.
    pub fn as_offset(&self) -> Option<u64> {
        match &self.0 {
            CursorKind::Offset(o) => Some(*o),
            _ => None,
        }
    }

    /// The href for a link cursor.
    pub fn as_link(&self) -> Option<&str> {
        match &self.0 {
            CursorKind::Link(href) => Some(href),
            _ => None,
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items, in the provider's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` when this is the last page.
    pub next: Option<PageCursor>,
}

/// Something with a stable identity, so a paginator can refuse to yield it twice.
pub trait Keyed {
    /// The identity (the resource id).
    fn key(&self) -> &str;
}

/// One list endpoint: fetch the page that starts at `cursor` (the first page when `None`).
#[async_trait]
pub trait Paginate<T>: Send + Sync {
    /// Fetches one page.
    async fn fetch_page(&self, cursor: Option<&PageCursor>) -> Result<Page<T>>;
}

/// A lazy stream over every item of a [`Paginate`]: one page in memory at a time, never an item
/// twice (items repeated across a page boundary, as offsets shift under inserts, are dropped),
/// stopping after the last page or the first error.
pub struct ListPaginator<T> {
    inner: BoxStream<'static, Result<T>>,
}

struct Walk<T> {
    source: Arc<dyn Paginate<T>>,
    cursor: Option<PageCursor>,
    buffer: VecDeque<T>,
    previous_page: HashSet<String>,
    started: bool,
    done: bool,
}

impl<T: Keyed + Send + 'static> ListPaginator<T> {
    /// Walks `source` from its first page.
    pub fn new(source: Arc<dyn Paginate<T>>) -> ListPaginator<T> {
        let walk = Walk {
            source,
            cursor: None,
            buffer: VecDeque::new(),
            previous_page: HashSet::new(),
            started: false,
            done: false,
        };
        ListPaginator { inner: futures::stream::unfold(walk, next_item).boxed() }
    }

    /// A paginator that yields one error and ends (e.g. an unsupported list, refused before any I/O).
    pub fn failed(error: Error) -> ListPaginator<T> {
        ListPaginator { inner: futures::stream::once(async move { Err(error) }).boxed() }
    }

    /// The same walk with every error passed through `f` (e.g. to name the provider and operation).
    pub fn map_err(self, f: impl Fn(Error) -> Error + Send + 'static) -> ListPaginator<T> {
        ListPaginator { inner: self.inner.map(move |r| r.map_err(&f)).boxed() }
    }

    /// This walk, then `next`'s (a list over several accounts, one after the other).
    pub fn chain(self, next: ListPaginator<T>) -> ListPaginator<T> {
        ListPaginator { inner: self.inner.chain(next.inner).boxed() }
    }

    /// The same walk with every item passed through `f` (e.g. to qualify its id).
    pub fn map_items(self, f: impl Fn(T) -> T + Send + 'static) -> ListPaginator<T> {
        ListPaginator { inner: self.inner.map(move |r| r.map(&f)).boxed() }
    }

    /// Collects every item (stops at the first error).
    pub async fn collect_all(self) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut s = self;
        while let Some(item) = s.next().await {
            out.push(item?);
        }
        Ok(out)
    }
}

async fn next_item<T: Keyed + Send + 'static>(mut w: Walk<T>) -> Option<(Result<T>, Walk<T>)> {
    loop {
        if let Some(item) = w.buffer.pop_front() {
            return Some((Ok(item), w));
        }
        if w.done || (w.started && w.cursor.is_none()) {
            return None;
        }
        match w.source.fetch_page(w.cursor.as_ref()).await {
            Err(e) => {
                w.done = true;
                return Some((Err(e), w));
            }
            Ok(page) => {
                if w.started && page.next.is_some() && page.next == w.cursor {
                    w.done = true;
                    let e = Error::new(ErrorKind::Integrity, "the provider returned the same page cursor twice");
                    return Some((Err(e), w));
                }
                w.started = true;
                w.cursor = page.next;
                let mut this_page = HashSet::with_capacity(page.items.len());
                for item in page.items {
                    let key = item.key().to_owned();
                    if w.previous_page.contains(&key) || !this_page.insert(key) {
                        continue;
                    }
                    w.buffer.push_back(item);
                }
                w.previous_page = this_page;
            }
        }
    }
}

impl<T> Stream for ListPaginator<T> {
    type Item = Result<T>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug, Clone, PartialEq)]
    struct Item(String);
    impl Keyed for Item {
        fn key(&self) -> &str {
            &self.0
        }
    }

    fn items(n: usize) -> Vec<Item> {
        (0..n).map(|i| Item(format!("it_{i:05}"))).collect()
    }

    /// Offset style; optionally inserts a new item at the head after the first page (shifts offsets).
    struct OffsetSource {
        data: Mutex<Vec<Item>>,
        limit: usize,
        insert_after_first: bool,
        fetches: AtomicUsize,
    }

    #[async_trait]
    impl Paginate<Item> for OffsetSource {
        async fn fetch_page(&self, cursor: Option<&PageCursor>) -> Result<Page<Item>> {
            let n = self.fetches.fetch_add(1, Ordering::SeqCst);
            let offset = cursor.and_then(PageCursor::as_offset).unwrap_or(0) as usize;
            let mut data = self.data.lock().unwrap();
            if n == 1 && self.insert_after_first {
                data.insert(0, Item("it_new".into()));
            }
            let items: Vec<Item> = data.iter().skip(offset).take(self.limit).cloned().collect();
            let more = offset + items.len() < data.len();
            let next = more.then(|| PageCursor::offset((offset + items.len()) as u64));
            Ok(Page { items, next })
        }
    }

    /// Cursor style (`after` the last id).
    struct CursorSource {
        data: Vec<Item>,
        limit: usize,
    }

    #[async_trait]
    impl Paginate<Item> for CursorSource {
        async fn fetch_page(&self, cursor: Option<&PageCursor>) -> Result<Page<Item>> {
            let start = match cursor.and_then(PageCursor::as_after) {
                Some(id) => self.data.iter().position(|i| i.0 == id).map(|p| p + 1).unwrap_or(self.data.len()),
                None => 0,
            };
            let items: Vec<Item> = self.data.iter().skip(start).take(self.limit).cloned().collect();
            let has_more = start + items.len() < self.data.len();
            let next = if has_more { items.last().map(|i| PageCursor::after(i.0.clone())) } else { None };
            Ok(Page { items, next })
        }
    }

    /// Link style: the "next" link is an opaque href; fails on a chosen page.
    struct LinkSource {
        data: Vec<Item>,
        limit: usize,
        fail_on_page: Option<usize>,
        fetches: AtomicUsize,
    }

    #[async_trait]
    impl Paginate<Item> for LinkSource {
        async fn fetch_page(&self, cursor: Option<&PageCursor>) -> Result<Page<Item>> {
            let n = self.fetches.fetch_add(1, Ordering::SeqCst);
            if Some(n) == self.fail_on_page {
                return Err(Error::new(ErrorKind::ProviderUnavailable, "page failed"));
            }
            let page: usize = match cursor.and_then(PageCursor::as_link) {
                Some(href) => href.rsplit('=').next().unwrap().parse().unwrap(),
                None => 0,
            };
            let items: Vec<Item> = self.data.iter().skip(page * self.limit).take(self.limit).cloned().collect();
            let next = ((page + 1) * self.limit < self.data.len())
                .then(|| PageCursor::link(format!("https://x.invalid/q?{}&page={}", "z".repeat(1100), page + 1)));
            Ok(Page { items, next })
        }
    }

    #[tokio::test]
    async fn offset_style_visits_everything_once_even_when_offsets_shift() {
        let src = Arc::new(OffsetSource {
            data: Mutex::new(items(25)),
            limit: 10,
            insert_after_first: true,
            fetches: AtomicUsize::new(0),
        });
        let got = ListPaginator::new(src.clone()).collect_all().await.unwrap();
        assert_eq!(got, items(25), "the shifted item it_00009 must not come twice");
        assert_eq!(src.fetches.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn cursor_style_walks_all_pages_lazily() {
        let src = Arc::new(CursorSource { data: items(7), limit: 3 });
        let mut p = ListPaginator::new(src);
        let first_two: Vec<_> = (&mut p).take(2).collect().await;
        assert_eq!(first_two.len(), 2);
        let rest = p.collect_all().await.unwrap();
        assert_eq!(rest, items(7)[2..].to_vec());
        let empty = ListPaginator::new(Arc::new(CursorSource { data: vec![], limit: 3 }));
        assert!(empty.collect_all().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn link_style_follows_long_opaque_links() {
        let src = Arc::new(LinkSource { data: items(11), limit: 4, fail_on_page: None, fetches: AtomicUsize::new(0) });
        assert_eq!(ListPaginator::new(src).collect_all().await.unwrap(), items(11));
    }

    #[tokio::test]
    async fn stops_on_the_first_error() {
        let src =
            Arc::new(LinkSource { data: items(11), limit: 4, fail_on_page: Some(1), fetches: AtomicUsize::new(0) });
        let all: Vec<Result<Item>> = ListPaginator::new(src.clone()).collect().await;
        assert_eq!(all.len(), 5);
        assert!(all[..4].iter().all(|r| r.is_ok()));
        assert_eq!(all[4].as_ref().unwrap_err().kind(), ErrorKind::ProviderUnavailable);
        assert_eq!(src.fetches.load(Ordering::SeqCst), 2, "no fetch after the error");
    }

    struct StuckSource;
    #[async_trait]
    impl Paginate<Item> for StuckSource {
        async fn fetch_page(&self, _: Option<&PageCursor>) -> Result<Page<Item>> {
            Ok(Page { items: items(1), next: Some(PageCursor::after("it_00000")) })
        }
    }

    #[tokio::test]
    async fn a_cursor_that_does_not_advance_is_an_integrity_error() {
        let all: Vec<Result<Item>> = ListPaginator::new(Arc::new(StuckSource)).collect().await;
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].as_ref().unwrap_err().kind(), ErrorKind::Integrity);
    }
}
