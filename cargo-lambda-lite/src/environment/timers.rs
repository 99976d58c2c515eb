//! The environment's clock, as decisions without a process: which of Lambda's time limits has
//! run out (the 10 s init, the function timeout of an invocation, of one the runtime never asked
//! for, of extensions that hold an answered invocation), and how a shutdown goes, as decisions
//! without a process (the unit tests here); then the controller's [`Controller::check`], which
//! acts on them between messages.

use std::time::{Duration, Instant};

use super::{Cause, Controller, FunctionError, Outcome, exit_error, ms};

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

impl Controller {
    /// Between messages: has the process exited, did its init or an invocation time out?
    pub(super) fn check(&mut self) {
        let Some(p) = &mut self.process else {
            return;
        };
        if let Ok(Some(status)) = p.child.try_wait() {
            let why = status.to_string();
            let ready = p.ready();
            // Its extensions go with it.
            if let Some(p) = self.process.take() {
                self.reset(p, "failure");
            }
            if !ready {
                if let Some(i) = self.queue.pop_front() {
                    let error = FunctionError::platform(
                        Cause::Init,
                        "Runtime.ExitError",
                        &format!("Runtime exited with error: {why} (during init)"),
                    );
                    self.finish_unsent(i, error, Vec::new());
                }
                return;
            }
            if self.in_flight.is_empty() {
                self.exited_after_answering(&why);
            }
            let note = "the runtime exited; the next event starts with a fresh init";
            while let Some(f) = self.in_flight.first() {
                let error = exit_error(&f.id, &why);
                self.complete(0, Outcome::Error(error), Instant::now(), Some(note));
            }
            self.end_with_environment();
            return;
        }
        let now = Instant::now();
        let timeout = self.config.timeout;
        // A runtime that answered but never asked for its next event: the invocation waiting
        // for it times out, and the environment is reset.
        let stuck = p.ready() && p.idle.is_empty() && self.in_flight.is_empty();
        let ending: Vec<Instant> = (self.ending.iter())
            .map(|e| e.f.as_ref().map_or(now, |f| f.sent))
            .collect();
        let in_flight: Vec<Instant> = self.in_flight.iter().map(|f| f.sent).collect();
        let clock = Clock {
            now,
            timeout,
            init_started: (!p.ready()).then_some(p.started),
            stuck_since: self.queue.front().filter(|_| stuck).map(|q| q.at),
            ending: &ending,
            in_flight: &in_flight,
        };
        match clock.overdue() {
            None => {}
            Some(Overdue::Init) => {
                p.kill();
                self.process = None;
                if let Some(i) = self.queue.pop_front() {
                    let error = FunctionError::platform(
                        Cause::Init,
                        "Sandbox.Timedout",
                        &format!(
                            "init did not reach GET /next within {} s",
                            INIT_LIMIT.as_secs()
                        ),
                    );
                    let line = format!(
                        "INIT_REPORT Init Duration: {:.2} ms\tPhase: init\tStatus: timeout",
                        ms(INIT_LIMIT)
                    );
                    self.finish_unsent(i, error, vec![line]);
                }
            }
            Some(Overdue::Stuck) => {
                p.kill();
                self.process = None;
                if let Some(q) = self.queue.pop_front() {
                    let message = format!(
                        "Task timed out after {:.2} seconds: the runtime never asked for this event",
                        timeout.as_secs_f64()
                    );
                    let error =
                        FunctionError::platform(Cause::Timeout, "Sandbox.Timedout", &message);
                    self.finish_unsent(q, error, vec![message]);
                }
                // What its extensions still held ends with the process.
                self.end_with_environment();
            }
            // An extension that takes the rest of the function timeout after the answer.
            Some(Overdue::Extensions(i)) => {
                let mut ending = self.ending.remove(i);
                let (id, sent) = ending
                    .f
                    .as_ref()
                    .map(|f| (f.id.clone(), f.sent))
                    .unwrap_or_else(|| (String::new(), now));
                ending.timed_out(&id, timeout);
                self.finish(ending, sent + timeout);
            }
            Some(Overdue::Invocation(i)) => {
                let until = self.in_flight[i].sent + timeout;
                let message = format!("Task timed out after {:.2} seconds", timeout.as_secs_f64());
                self.complete(
                    i,
                    Outcome::Error(FunctionError::platform(Cause::Timeout, "Sandbox.Timedout", &message)),
                    until,
                    Some("the function was stopped at its timeout; the next event starts with a fresh init"),
                );
            }
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
