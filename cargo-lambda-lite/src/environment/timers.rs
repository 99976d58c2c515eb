//! The environment's clock, as decisions without a process: which of Lambda's time limits has
//! run out (the 10 s init, the function timeout of an invocation, of one the runtime never asked
//! for, of extensions that hold an answered invocation), and how a shutdown goes. The
//! controller acts on the answer; the rules are unit tests here.

use std::time::{Duration, Instant};

/// How long Lambda waits for an on-demand init before giving up.
pub const INIT_LIMIT: Duration = Duration::from_secs(10);
/// How long a runtime has between SIGTERM and SIGKILL at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);
/// … and with external extensions, which get `SHUTDOWN`.
pub(super) const EXTERNAL_SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// What the controller's clock sees of its environment at one moment.
pub(super) struct Clock<'a> {
    pub now: Instant,
    /// The function timeout.
    pub timeout: Duration,
    /// When the process started, while its init runs (`None` once it is ready, or without one).
    pub init_started: Option<Instant>,
    /// When the first queued invocation was queued, if the runtime answered its last event but
    /// never asked for the next (no idle worker, nothing in flight).
    pub stuck_since: Option<Instant>,
    /// When each answered invocation still held by its extensions was sent.
    pub ending: &'a [Instant],
    /// When each invocation in flight was sent.
    pub in_flight: &'a [Instant],
}

/// The first limit that has run out, in the order the controller deals with them.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Overdue {
    /// The init did not reach `GET /next` in [`INIT_LIMIT`].
    Init,
    /// The runtime never asked for the next event within the timeout of the one waiting.
    Stuck,
    /// The extensions of the `i`th answered invocation took the rest of its timeout.
    Extensions(usize),
    /// The `i`th invocation in flight reached the function timeout.
    Invocation(usize),
}

impl Clock<'_> {
    pub(super) fn overdue(&self) -> Option<Overdue> {
        let late = |sent: &Instant| self.now >= *sent + self.timeout;
        if self
            .init_started
            .is_some_and(|s| self.now >= s + INIT_LIMIT)
        {
            return Some(Overdue::Init);
        }
        if self.stuck_since.is_some_and(|s| late(&s)) {
            return Some(Overdue::Stuck);
        }
        if let Some(i) = self.ending.iter().position(late) {
            return Some(Overdue::Extensions(i));
        }
        self.in_flight
            .iter()
            .position(late)
            .map(Overdue::Invocation)
    }
}

/// How an environment ends (Lambda's shutdown phase).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Shutdown {
    /// `SHUTDOWN` to the extensions, the telemetry pushed and SIGTERM to the runtime: only when
    /// an extension registered (Lambda sends no SIGTERM otherwise, only SIGKILL).
    pub graceful: bool,
    /// How long they all have to exit before SIGKILL.
    pub grace: Duration,
}

impl Shutdown {
    /// `registered`: an extension (internal or external) registered; `external`: external
    /// extensions run beside the runtime.
    pub(super) fn plan(registered: bool, external: bool) -> Shutdown {
        Shutdown {
            graceful: registered,
            grace: match (registered, external) {
                (false, _) => Duration::ZERO,
                (true, false) => SHUTDOWN_GRACE,
                (true, true) => EXTERNAL_SHUTDOWN_GRACE,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Clock, INIT_LIMIT, Overdue, Shutdown};
    use std::time::{Duration, Instant};

    const TIMEOUT: Duration = Duration::from_secs(3);

    fn clock<'a>(now: Instant, ending: &'a [Instant], in_flight: &'a [Instant]) -> Clock<'a> {
        Clock {
            now,
            timeout: TIMEOUT,
            init_started: None,
            stuck_since: None,
            ending,
            in_flight,
        }
    }

    #[test]
    fn nothing_is_due_before_its_time() {
        let t = Instant::now();
        let now = t + TIMEOUT - Duration::from_millis(1);
        let (one, two) = ([t], [t, t]);
        let mut c = clock(now, &one, &two);
        c.init_started = Some(t);
        c.stuck_since = Some(t);
        assert_eq!(c.overdue(), None);
        assert_eq!(clock(t, &[], &[]).overdue(), None, "an idle environment");
    }

    #[test]
    fn an_invocation_times_out_at_exactly_its_timeout() {
        let t = Instant::now();
        let later = t + Duration::from_secs(1);
        assert_eq!(
            clock(t + TIMEOUT, &[], &[later, t]).overdue(),
            Some(Overdue::Invocation(1))
        );
        assert_eq!(
            clock(later + TIMEOUT, &[], &[later, t]).overdue(),
            Some(Overdue::Invocation(0))
        );
    }

    #[test]
    fn the_init_has_ten_seconds_whatever_the_timeout() {
        let t = Instant::now();
        let mut c = clock(t + INIT_LIMIT - Duration::from_millis(1), &[], &[]);
        c.init_started = Some(t);
        assert_eq!(
            c.overdue(),
            None,
            "a 3 s timeout does not cut an init short"
        );
        c.now = t + INIT_LIMIT;
        assert_eq!(c.overdue(), Some(Overdue::Init));
    }

    #[test]
    fn limits_are_taken_in_order_init_stuck_extensions_invocations() {
        let t = Instant::now();
        let now = t + INIT_LIMIT;
        let (one, also) = ([t], [t]);
        let mut c = clock(now, &one, &also);
        c.init_started = Some(t);
        c.stuck_since = Some(t);
        assert_eq!(c.overdue(), Some(Overdue::Init));
        c.init_started = None;
        assert_eq!(c.overdue(), Some(Overdue::Stuck));
        c.stuck_since = None;
        assert_eq!(c.overdue(), Some(Overdue::Extensions(0)));
        c.ending = &[];
        assert_eq!(c.overdue(), Some(Overdue::Invocation(0)));
    }

    #[test]
    fn extensions_holding_an_answer_get_the_rest_of_its_timeout_only() {
        let t = Instant::now();
        let ending = [t + Duration::from_secs(1), t];
        let c = clock(t + TIMEOUT, &ending, &[]);
        assert_eq!(c.overdue(), Some(Overdue::Extensions(1)));
    }

    #[test]
    fn a_shutdown_as_lambda_runs_it() {
        let none = Shutdown::plan(false, false);
        assert!(
            !none.graceful,
            "no extension registered: no SIGTERM, straight to SIGKILL"
        );
        assert_eq!(none.grace, Duration::ZERO);
        let internal = Shutdown::plan(true, false);
        assert!(internal.graceful);
        assert_eq!(internal.grace, Duration::from_millis(500));
        let external = Shutdown::plan(true, true);
        assert!(external.graceful);
        assert_eq!(external.grace, Duration::from_secs(2));
    }
}
