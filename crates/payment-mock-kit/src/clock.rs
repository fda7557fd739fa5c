//! A controllable clock: real time plus an offset that tests advance.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use payment_core::Timestamp;

/// The mock's notion of now.
#[derive(Debug, Default)]
pub struct MockClock {
    offset_secs: AtomicI64,
}

impl MockClock {
    /// Now, as the mock sees it.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_unix(Timestamp::now().unix() + self.offset_secs.load(Ordering::SeqCst))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX / 2);
        self.offset_secs.fetch_add(secs, Ordering::SeqCst);
    }

    /// Back to real time.
    pub fn reset(&self) {
        self.offset_secs.store(0, Ordering::SeqCst);
    }

    /// How far the clock has been moved, in seconds.
    pub fn offset_secs(&self) -> i64 {
        self.offset_secs.load(Ordering::SeqCst)
    }
}
