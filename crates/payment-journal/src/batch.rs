//! Group commit: writes from concurrent callers that arrive while a commit is in progress go
//! into the next transaction together, and each caller hears its own result only once that
//! transaction has committed (or failed). A lone writer commits at once: it never waits for
//! company unless `wait` asks it to.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use std::collections::VecDeque;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use std::sync::Mutex;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use tokio::sync::oneshot;

/// How writes are grouped into commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// Most writes in one transaction (1: every write its own commit, as without batching).
    pub max: usize,
    /// How long a leader lingers for company before it commits a batch not yet full (zero: it
    /// never waits; company comes from the writers queued while the previous commit ran).
    pub wait: Duration,
    /// Batches committed at once, each its own transaction on its own connection; 0 is the
    /// store's own choice (SQLite has one writer, so one; PostgreSQL overlaps commits and
    /// shares their flushes, four).
    pub lanes: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions { max: 64, wait: Duration::ZERO, lanes: 0 }
    }
}

/// Commits and writes so far: writes per commit is the batching achieved, commits per charge
/// the flushes a durable store pays for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Transactions committed (or tried) for batched writes.
    pub commits: u64,
    /// Writes those transactions carried.
    pub writes: u64,
}

/// One queued write and where its result goes.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) struct Queued<W, R> {
    /// The write.
    pub write: W,
    /// Its caller, waiting.
    pub reply: oneshot::Sender<R>,
    /// Its number in the queue, so a leader knows its own write.
    pub ticket: u64,
}

/// The queue of writes waiting for a commit, and the turns (lanes) to lead one.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) struct Batcher<W, R> {
    queue: Mutex<VecDeque<Queued<W, R>>>,
    turn: std::sync::Arc<tokio::sync::Semaphore>,
    options: BatchOptions,
    commits: AtomicU64,
    writes: AtomicU64,
    tickets: AtomicU64,
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl<W, R> std::fmt::Debug for Batcher<W, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").field("options", &self.options).field("stats", &self.stats()).finish()
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl<W, R> Batcher<W, R> {
    /// An empty queue.
    pub fn new(options: BatchOptions) -> Batcher<W, R> {
        let options = BatchOptions { max: options.max.max(1), lanes: options.lanes.max(1), ..options };
        Batcher {
            queue: Mutex::default(),
            turn: std::sync::Arc::new(tokio::sync::Semaphore::new(options.lanes)),
            options,
            commits: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            tickets: AtomicU64::new(0),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Queued<W, R>>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `write`; its result arrives on the receiver once a batch holding it is done. The
    /// ticket names it in the queue.
    pub fn enqueue(&self, write: W) -> (u64, oneshot::Receiver<R>) {
        let (reply, receiver) = oneshot::channel();
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
        self.queue().push_back(Queued { write, reply, ticket });
        (ticket, receiver)
    }

    /// Waits for a turn to lead a commit (one leader per lane); the turn is owned, so it can go
    /// with the batch into the task that commits it.
    pub async fn turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        // The semaphore is never closed: `None` cannot happen, and would only mean "no turn".
        self.turn.clone().acquire_owned().await.ok()
    }

    /// With a turn: lingers up to `wait` for company (when asked to), then takes the oldest
    /// `max` queued writes whose callers still wait (a caller that gave up before its write
    /// was taken leaves it unwritten, as a transaction dropped before its commit would).
    pub async fn take(&self) -> Vec<Queued<W, R>> {
        if !self.options.wait.is_zero() && self.queue().len() < self.options.max {
            tokio::time::sleep(self.options.wait).await;
        }
        let mut queue = self.queue();
        queue.retain(|q| !q.reply.is_closed());
        let n = queue.len().min(self.options.max);
        queue.drain(..n).collect()
    }

    /// Counts one commit of `writes` writes.
    pub fn count(&self, writes: usize) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(writes as u64, Ordering::Relaxed);
    }

    /// Commits and writes so far.
    pub fn stats(&self) -> CommitStats {
        CommitStats { commits: self.commits.load(Ordering::Relaxed), writes: self.writes.load(Ordering::Relaxed) }
    }
}

#[cfg(all(test, any(feature = "sqlite", feature = "postgres")))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_batch_takes_the_oldest_up_to_its_size_and_counts_itself() {
        let b: Batcher<u32, u32> = Batcher::new(BatchOptions { max: 2, wait: Duration::ZERO, lanes: 1 });
        let receivers: Vec<_> = (0..3).map(|i| b.enqueue(i).1).collect();
        let _turn = b.turn().await;
        let first = b.take().await;
        b.count(first.len());
        assert_eq!(first.iter().map(|q| q.write).collect::<Vec<_>>(), [0, 1]);
        for q in first {
            let _ = q.reply.send(q.write * 10);
        }
        let second = b.take().await;
        b.count(second.len());
        assert_eq!(second.iter().map(|q| q.write).collect::<Vec<_>>(), [2]);
        assert_eq!(b.stats(), CommitStats { commits: 2, writes: 3 });
        let mut receivers = receivers.into_iter();
        assert_eq!(receivers.next().unwrap().await.unwrap(), 0);
        assert_eq!(receivers.next().unwrap().await.unwrap(), 10);
        drop(second);
        assert!(receivers.next().unwrap().await.is_err(), "a write dropped unanswered is an error, not a hang");
        assert!(b.take().await.is_empty());
        // A caller that gave up before its write was taken leaves it unwritten.
        let (_, gone) = b.enqueue(7);
        let (_, kept) = b.enqueue(8);
        drop(gone);
        assert_eq!(b.take().await.iter().map(|q| q.write).collect::<Vec<_>>(), [8]);
        drop(kept);
    }

    #[test]
    fn a_batch_holds_at_least_one() {
        let b: Batcher<(), ()> = Batcher::new(BatchOptions { max: 0, wait: Duration::ZERO, lanes: 0 });
        assert_eq!((b.options.max, b.options.lanes), (1, 1));
    }
}
