//! `StoreClock`: the time a journal store's leases are written and compared in. Processes of a
//! fleet share a database, not a clock: a lease written on one host's wall clock and read on a
//! host whose clock is ahead would expire early there, and a second worker would take over an
//! attempt still in flight. A store the fleet shares therefore keeps time on the database's
//! clock, read when it connects, before each recovery claim, and again whenever the last reading
//! is older than [`StoreClock::MAX_AGE`], carried forward in between by this process's monotonic
//! clock (which no wall-clock step moves; a suspended host, whose monotonic clock stops, is
//! caught by the wall clock's measure of the reading's age).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A store's notion of now, in Unix milliseconds.
#[derive(Debug, Default)]
pub struct StoreClock {
    /// The database's time at a moment of this process's monotonic clock (and the wall clock's
    /// reading then, to measure the anchor's age across a suspend), once read.
    anchor: Mutex<Option<(i64, Instant, i64)>>,
    /// How far this process's wall clock is off (tests stand in for a host with a wrong clock).
    wall_skew_ms: Mutex<i64>,
}

impl StoreClock {
    /// How old a reading of the database's clock may get before it is read again.
    pub const MAX_AGE: Duration = Duration::from_secs(30);

    /// A clock on this host's wall clock until [`StoreClock::anchor`] is called.
    pub fn new() -> StoreClock {
        StoreClock::default()
    }

    /// Now: the database's time carried forward since the last reading, or this host's wall
    /// clock when the store has no clock of its own (memory, SQLite: one host).
    pub fn now_ms(&self) -> i64 {
        match *self.anchor.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            Some((db_ms, at, _)) => db_ms.saturating_add(millis(at.elapsed())),
            None => self.wall_ms(),
        }
    }

    /// Takes `db_ms`, the database's time read by a query sent at `sent` and answered at
    /// `answered`, as now at the midpoint (off by at most half the round trip).
    pub fn anchor(&self, db_ms: i64, sent: Instant, answered: Instant) {
        let midpoint = sent + answered.saturating_duration_since(sent) / 2;
        let wall = crate::now_ms();
        *self.anchor.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((db_ms, midpoint, wall));
    }

    /// Whether the clock follows a database's reading older than [`StoreClock::MAX_AGE`], by the
    /// monotonic clock or by the wall clock (which keeps running while a host is suspended).
    pub fn is_stale(&self) -> bool {
        match *self.anchor.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            Some((_, at, wall)) => {
                let max = millis(Self::MAX_AGE);
                millis(at.elapsed()) > max || (crate::now_ms() - wall).abs() > max
            }
            None => false,
        }
    }

    /// Whether the clock follows a database's.
    pub fn is_anchored(&self) -> bool {
        self.anchor.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_some()
    }

    /// Makes this process's wall clock read `skew_ms` off, as a host with a wrong clock would.
    #[doc(hidden)]
    pub fn skew_wall_clock(&self, skew_ms: i64) {
        *self.wall_skew_ms.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = skew_ms;
    }

    fn wall_ms(&self) -> i64 {
        let skew = *self.wall_skew_ms.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        crate::now_ms().saturating_add(skew)
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anchored_clock_keeps_the_databases_time_whatever_this_hosts_wall_clock_says() {
        let clock = StoreClock::new();
        clock.skew_wall_clock(3_600_000);
        assert!(clock.now_ms() - crate::now_ms() >= 3_599_000, "unanchored: the (skewed) wall clock");
        let db = crate::now_ms() - 5_000;
        let t = Instant::now();
        clock.anchor(db, t, t);
        let now = clock.now_ms();
        assert!((db..db + 1_000).contains(&now), "{now} is the database's time, not the host's");
        assert!(clock.is_anchored());
        assert!(!clock.is_stale());
        let long_ago = Instant::now().checked_sub(StoreClock::MAX_AGE + Duration::from_secs(1)).unwrap_or(t);
        clock.anchor(db, long_ago, long_ago);
        assert!(clock.is_stale(), "read over 30 s ago by the monotonic clock");
    }
}
