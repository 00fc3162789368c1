//! Admission control: how many requests run at once, adapted to how long they
//! take, and who goes first when there is a line.
//!
//! A node past its capacity must not start more work than it can finish. Every
//! request admitted beyond capacity makes all of them slower (they queue for the
//! database), until answers take seconds, the database pool's wait times out and
//! almost nothing finishes: measured on a 2-core box, 500 checkouts/s offered to a
//! node good for ~200/s finished 21/s behind a fixed bound of 1,024 in flight. So:
//!
//! - At most [`Admission::limit`] requests run at once. The others wait in line
//!   for at most [`ServeLimits::queue_wait_ms_max`], then get a fast
//!   `503 overloaded` with `Retry-After` (cheap: no database work was done).
//! - The limit adapts (additive increase, multiplicative decrease) to keep
//!   requests near [`ServeLimits::latency_target_ms`]: a window in which more
//!   than one request in ten took longer cuts the limit by a fifth; a window that
//!   used the whole limit with every request in time raises it by an eighth. It
//!   stays between [`LIMIT_MIN`] and `requests_in_flight_max`.
//! - The line has three places ([`Priority`]): a shopper paying (`…/complete`)
//!   goes before work on a session already started, which goes before a new
//!   session, and waits [`FINISH_WAIT_FACTOR`] times longer before it is
//!   refused. Under overload the node sheds new checkouts, not the ones whose
//!   stock is already held and whose shopper has pressed pay.

use crate::state::ServeLimits;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The limit never drops below this: a node always serves a few requests.
pub const LIMIT_MIN: usize = 4;
/// The limit a node starts at (or `requests_in_flight_max` when lower).
pub const LIMIT_INITIAL: usize = 64;
/// How often the limit is reconsidered.
pub const WINDOW_MS: u64 = 250;
/// A window needs this many finished requests to say anything about latency.
const WINDOW_SAMPLES_MIN: u64 = 8;
/// More than one request in this many over the target cuts the limit.
const LATE_ONE_IN: u64 = 10;
/// What a late window leaves of the limit.
const DECREASE: f64 = 0.8;
/// What a full, timely window adds to the limit, as a share of it (at least 1).
const INCREASE: f64 = 0.125;

/// A payment waits this many times `queue_wait_ms_max` before it is refused:
/// its shopper pressed pay and its stock is held; a refusal there loses more
/// than a new checkout refused.
pub const FINISH_WAIT_FACTOR: u64 = 3;

/// Which place in line a request takes when the node is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Paying for a session (`POST …/complete`): its stock is held, its shopper waiting.
    Finish = 0,
    /// Anything else: reading or updating a session, the dashboard, webhooks.
    Continue = 1,
    /// Starting a new checkout session: the first to be shed.
    Start = 2,
}

impl Priority {
    /// The place of a request, from its method and path.
    pub fn of(method: &axum::http::Method, path: &str) -> Priority {
        if *method != axum::http::Method::POST {
            return Priority::Continue;
        }
        if path.ends_with("/complete") {
            return Priority::Finish;
        }
        let creates_session = path == "/checkout_sessions"
            || (path.starts_with("/ucp/") && path.ends_with("/checkout-sessions"));
        if creates_session {
            Priority::Start
        } else {
            Priority::Continue
        }
    }
}

/// Why a request was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// It waited [`ServeLimits::queue_wait_ms_max`] and no place came free.
    Waited,
    /// The line was already as long as `requests_in_flight_max`.
    LineFull,
}

/// The admission state of one node. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Admission {
    /// Read for `requests_in_flight_max`, `latency_target_ms` and `queue_wait_ms_max`.
    settings: ServeLimits,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Requests holding a place.
    running: usize,
    limit: usize,
    /// Waiting requests by [`Priority`]; a sender whose receiver timed out is
    /// skipped when its turn comes.
    line: [VecDeque<oneshot::Sender<()>>; 3],
    window: Window,
}

/// What the current window saw.
#[derive(Debug)]
struct Window {
    started: Instant,
    finished: u64,
    late: u64,
    /// The limit was reached (someone waited or `running` hit it) in this window.
    saturated: bool,
}

impl Window {
    fn new(now: Instant) -> Window {
        Window {
            started: now,
            finished: 0,
            late: 0,
            saturated: false,
        }
    }
}

impl Admission {
    pub fn new(settings: ServeLimits) -> Arc<Admission> {
        let limit = LIMIT_INITIAL.min(ceiling(&settings));
        // A small count: f64 holds it exactly.
        #[allow(clippy::cast_precision_loss)]
        metrics::gauge!("anycart_admission_limit").set(limit as f64);
        Arc::new(Admission {
            settings,
            state: Mutex::new(State {
                running: 0,
                limit,
                line: Default::default(),
                window: Window::new(Instant::now()),
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is plain counters and queues, consistent after every
        // statement: a panic elsewhere while it was held leaves nothing half-done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many requests may run at once now.
    pub fn limit(&self) -> usize {
        self.state().limit
    }

    /// How many requests hold a place now.
    pub fn running(&self) -> usize {
        self.state().running
    }

    /// How many requests wait in line now (including ones about to give up).
    pub fn waiting(&self) -> usize {
        self.state().line.iter().map(VecDeque::len).sum()
    }

    /// Waits for a place, at most `queue_wait_ms_max`. The place is given back
    /// when the returned [`Place`] is dropped.
    pub async fn admit(self: &Arc<Self>, priority: Priority) -> Result<Place, Refused> {
        let mut turn = {
            let mut state = self.state();
            if state.running < state.limit && state.line.iter().all(VecDeque::is_empty) {
                state.running += 1;
                return Ok(self.place());
            }
            state.window.saturated = true;
            if state.line.iter().map(VecDeque::len).sum::<usize>()
                >= self.settings.requests_in_flight_max
            {
                return Err(Refused::LineFull);
            }
            let (tx, rx) = oneshot::channel();
            state.line[priority as usize].push_back(tx);
            rx
        };
        let wait = Duration::from_millis(match priority {
            Priority::Finish => self
                .settings
                .queue_wait_ms_max
                .saturating_mul(FINISH_WAIT_FACTOR),
            _ => self.settings.queue_wait_ms_max,
        });
        match tokio::time::timeout(wait, &mut turn).await {
            Ok(Ok(())) => Ok(self.place()),
            // The admission is gone (the server is stopping).
            Ok(Err(_)) => Err(Refused::Waited),
            Err(_) => {
                // A place may have been handed over just as the wait ran out:
                // close the line to new hand-overs, then take one already made.
                turn.close();
                if turn.try_recv().is_ok() {
                    Ok(self.place())
                } else {
                    Err(Refused::Waited)
                }
            }
        }
    }

    fn place(self: &Arc<Self>) -> Place {
        Place {
            admission: Arc::clone(self),
            started: Instant::now(),
            finished: false,
        }
    }

    /// Gives a place back, and hands free places to the first live waiters in
    /// priority order. `took` is how long the request ran,
    /// `None` when it was cancelled (no latency sample).
    fn release(&self, took: Option<Duration>) {
        let mut state = self.state();
        if let Some(took) = took {
            let target = Duration::from_millis(self.settings.latency_target_ms);
            state.window.finished += 1;
            if took > target {
                state.window.late += 1;
            }
        }
        self.adapt(&mut state, Instant::now());
        state.running -= 1;
        // Fill the free places from the line, first place first (more than one
        // when the window just raised the limit).
        while state.running < state.limit {
            let Some(waiter) = state.line.iter_mut().find_map(VecDeque::pop_front) else {
                break;
            };
            if waiter.send(()).is_ok() {
                state.running += 1;
            }
        }
    }

    /// Ends the window when it is due, moving the limit by what it saw.
    fn adapt(&self, state: &mut State, now: Instant) {
        if now.duration_since(state.window.started) < Duration::from_millis(WINDOW_MS) {
            return;
        }
        let window = std::mem::replace(&mut state.window, Window::new(now));
        if window.finished < WINDOW_SAMPLES_MIN {
            return;
        }
        // Limits are small counts: f64 holds them exactly.
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let next = if window.late * LATE_ONE_IN > window.finished {
            (state.limit as f64 * DECREASE).floor() as usize
        } else if window.saturated {
            state.limit + ((state.limit as f64 * INCREASE).ceil() as usize).max(1)
        } else {
            state.limit
        };
        let ceiling = ceiling(&self.settings);
        state.limit = next.clamp(LIMIT_MIN.min(ceiling), ceiling);
        metrics::gauge!("anycart_admission_limit").set(state.limit as f64);
    }
}

/// The highest the limit goes: `requests_in_flight_max` (at least one).
fn ceiling(settings: &ServeLimits) -> usize {
    settings.requests_in_flight_max.max(1)
}

/// A request's place: given back (to the next in line) when dropped.
#[derive(Debug)]
pub struct Place {
    admission: Arc<Admission>,
    started: Instant,
    finished: bool,
}

impl Place {
    /// The request ran to its answer: its time counts toward the limit.
    pub fn finish(mut self) {
        self.finished = true;
        self.admission.release(Some(self.started.elapsed()));
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if !self.finished {
            self.admission.release(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(ceiling: usize) -> ServeLimits {
        ServeLimits {
            requests_in_flight_max: ceiling,
            latency_target_ms: 100,
            queue_wait_ms_max: 50,
            ..ServeLimits::default()
        }
    }

    /// An admission whose limit is `limit` (set directly, before any window).
    fn admission(limit: usize, ceiling: usize) -> Arc<Admission> {
        let a = Admission::new(settings(ceiling));
        a.state().limit = limit;
        a
    }

    #[tokio::test]
    async fn a_full_node_lets_the_next_in_when_a_place_frees() {
        let a = admission(1, 8);
        let first = a.admit(Priority::Continue).await.unwrap();
        let waiting = tokio::spawn({
            let a = a.clone();
            async move { a.admit(Priority::Continue).await.map(Place::finish) }
        });
        tokio::task::yield_now().await;
        assert_eq!(a.waiting(), 1);
        first.finish();
        assert_eq!(waiting.await.unwrap(), Ok(()));
        assert_eq!((a.running(), a.waiting()), (0, 0));
    }

    #[tokio::test]
    async fn a_request_that_waits_too_long_is_refused_and_leaves_nothing_behind() {
        let a = admission(1, 8);
        let first = a.admit(Priority::Continue).await.unwrap();
        let started = Instant::now();
        assert_eq!(a.admit(Priority::Start).await.err(), Some(Refused::Waited));
        let new_session_waited = started.elapsed();
        assert!(new_session_waited >= Duration::from_millis(50));
        // A payment waits longer before it is refused.
        let started = Instant::now();
        assert_eq!(a.admit(Priority::Finish).await.err(), Some(Refused::Waited));
        assert!(started.elapsed() >= Duration::from_millis(50 * FINISH_WAIT_FACTOR));
        // The refused waiter's entry is skipped; the place is freed.
        drop(first);
        assert_eq!(a.running(), 0);
        let again = a.admit(Priority::Start).await.unwrap();
        assert_eq!(a.running(), 1);
        drop(again);
    }

    #[tokio::test]
    async fn payments_go_before_new_sessions() {
        let a = admission(1, 8);
        let first = a.admit(Priority::Continue).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        for priority in [Priority::Start, Priority::Continue, Priority::Finish] {
            let (a, order) = (a.clone(), order.clone());
            waiters.push(tokio::spawn(async move {
                let place = a.admit(priority).await.unwrap();
                order.lock().unwrap().push(priority);
                place.finish();
            }));
            tokio::task::yield_now().await;
        }
        assert_eq!(a.waiting(), 3);
        first.finish();
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            [Priority::Finish, Priority::Continue, Priority::Start]
        );
    }

    #[tokio::test]
    async fn the_line_is_bounded() {
        let a = admission(1, 2);
        let _first = a.admit(Priority::Continue).await.unwrap();
        let mut waiters = Vec::new();
        for _ in 0..2 {
            let a = a.clone();
            waiters.push(tokio::spawn(
                async move { a.admit(Priority::Continue).await },
            ));
            tokio::task::yield_now().await;
        }
        assert_eq!(
            a.admit(Priority::Finish).await.err(),
            Some(Refused::LineFull)
        );
    }

    /// Feeds `n` requests that each took `took` into a fresh window, the limit
    /// used to the full, and closes the window.
    fn window_of(a: &Admission, n: u64, took: Duration) {
        let mut state = a.state();
        let start = Instant::now();
        state.window = Window::new(start);
        state.window.saturated = true;
        let target = Duration::from_millis(a.settings.latency_target_ms);
        state.window.finished = n;
        state.window.late = if took > target { n } else { 0 };
        a.adapt(&mut state, start + Duration::from_millis(WINDOW_MS));
    }

    #[test]
    fn slow_windows_cut_the_limit_and_timely_full_ones_raise_it_within_bounds() {
        let a = Admission::new(settings(100));
        assert_eq!(a.limit(), LIMIT_INITIAL);
        window_of(&a, 20, Duration::from_millis(300));
        assert_eq!(a.limit(), 51);
        for _ in 0..50 {
            window_of(&a, 20, Duration::from_millis(300));
        }
        assert_eq!(a.limit(), LIMIT_MIN);
        window_of(&a, 20, Duration::from_millis(10));
        assert_eq!(a.limit(), LIMIT_MIN + 1);
        for _ in 0..100 {
            window_of(&a, 20, Duration::from_millis(10));
        }
        assert_eq!(a.limit(), 100);
        // Too few samples say nothing.
        window_of(&a, WINDOW_SAMPLES_MIN - 1, Duration::from_millis(300));
        assert_eq!(a.limit(), 100);
    }

    #[test]
    fn a_window_that_did_not_use_the_limit_does_not_raise_it() {
        let a = Admission::new(settings(1_000));
        let mut state = a.state();
        let start = Instant::now();
        state.window = Window::new(start);
        state.window.finished = 50;
        a.adapt(&mut state, start + Duration::from_millis(WINDOW_MS));
        assert_eq!(state.limit, LIMIT_INITIAL);
    }

    #[test]
    fn only_posts_that_pay_or_start_a_session_move_in_line() {
        use axum::http::Method;
        let cases = [
            (
                Method::POST,
                "/checkout_sessions/cs_1/complete",
                Priority::Finish,
            ),
            (
                Method::POST,
                "/ucp/m_1/checkout-sessions/x/complete",
                Priority::Finish,
            ),
            (Method::POST, "/checkout_sessions", Priority::Start),
            (Method::POST, "/ucp/m_1/checkout-sessions", Priority::Start),
            (Method::POST, "/checkout_sessions/cs_1", Priority::Continue),
            (
                Method::GET,
                "/checkout_sessions/cs_1/complete",
                Priority::Continue,
            ),
        ];
        for (method, path, place) in cases {
            assert_eq!(Priority::of(&method, path), place, "{method} {path}");
        }
    }

    /// Many requests with random run times, priorities and patience: the number
    /// running never passes the limit, and every place comes back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn places_are_never_over_given_nor_lost_under_random_load() {
        use rand::Rng;
        let a = Admission::new(ServeLimits {
            requests_in_flight_max: 16,
            latency_target_ms: 5,
            queue_wait_ms_max: 3,
            ..ServeLimits::default()
        });
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..400u64 {
            let (a, peak, refused) = (a.clone(), peak.clone(), refused.clone());
            let (run_us, priority, cancel) = {
                let mut rng = rand::rng();
                let priority = match rng.random_range(0..3) {
                    0 => Priority::Finish,
                    1 => Priority::Continue,
                    _ => Priority::Start,
                };
                (
                    rng.random_range(0..4_000u64),
                    priority,
                    rng.random_bool(0.1),
                )
            };
            tasks.push(tokio::spawn(async move {
                let Ok(place) = a.admit(priority).await else {
                    refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return;
                };
                {
                    let running = a.running();
                    // The limit may shrink below those already running, but a
                    // place is only given while `running` is under it.
                    assert!(running <= 16, "{running} running over the ceiling");
                    peak.fetch_max(running, std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_micros(run_us)).await;
                    if cancel {
                        drop(place);
                    } else {
                        place.finish();
                    }
                }
            }));
            if i % 8 == 0 {
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!((a.running(), a.waiting()), (0, 0));
        // The load overran the node: some waited their turn, some were refused.
        assert!(peak.load(std::sync::atomic::Ordering::Relaxed) > 1);
        assert!(refused.load(std::sync::atomic::Ordering::Relaxed) > 0);
    }
}
