//! The status policy: what the runtime does after each call, as one pure function of the call
//! and its outcome (`shared/runtime-api.md` §2.4, §3.2, §5).
//!
//! - Any 2xx is success (the service answers 202, some emulators 200).
//! - A 5xx from any endpoint: the container is broken; the process exits at once.
//! - `/next` refused (403 after an init error, 404 for a wrong base path) or unreachable after
//!   the one reconnect: there is no event to serve; this loop stops.
//! - The answer to an invocation (`/response`, `/error`) refused (400, 403, 410 stale
//!   invocation, 413 too large) or lost in transport: one line on stderr, then the next event,
//!   whose `/next` decides whether the service is still there.
//! - Every other call (init error, SnapStart restore, extension registration and events)
//!   refused or unreachable: this loop stops.

/// Which kind of call an outcome belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    /// `GET /runtime/invocation/next`.
    Next,
    /// `POST /runtime/invocation/{id}/response` or `/error`, buffered or streamed.
    Answer,
    /// `/runtime/init/error`, `/runtime/restore/*`, `/extension/*`, `/telemetry`.
    Lifecycle,
}

/// What came back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A response with this status.
    Status(u16),
    /// No response: connecting, writing or reading failed (after the one reconnect).
    Transport,
}

/// What the runtime does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Go on.
    Serve,
    /// Log one line, then go on.
    Warn,
    /// This loop (worker) has nothing left to do.
    Stop,
    /// The process must exit now, whatever other workers are doing.
    Exit,
}

pub(crate) fn verdict(call: Call, outcome: Outcome) -> Verdict {
    match (call, outcome) {
        (_, Outcome::Status(200..=299)) => Verdict::Serve,
        (_, Outcome::Status(500..)) => Verdict::Exit,
        (Call::Answer, _) => Verdict::Warn,
        (Call::Next | Call::Lifecycle, _) => Verdict::Stop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Call::*;
    use Outcome::*;
    use Verdict::*;

    #[test]
    fn table() {
        const ROWS: &[(Call, Outcome, Verdict)] = &[
            (Next, Status(200), Serve),
            (Next, Status(204), Serve),
            (Next, Status(403), Stop),
            (Next, Status(404), Stop),
            (Next, Status(100), Stop),
            (Next, Status(302), Stop),
            (Next, Status(500), Exit),
            (Next, Status(502), Exit),
            (Next, Status(599), Exit),
            (Next, Transport, Stop),
            (Answer, Status(202), Serve),
            (Answer, Status(200), Serve),
            (Answer, Status(400), Warn),
            (Answer, Status(403), Warn),
            (Answer, Status(410), Warn),
            (Answer, Status(413), Warn),
            (Answer, Status(500), Exit),
            (Answer, Status(503), Exit),
            (Answer, Transport, Warn),
            (Lifecycle, Status(202), Serve),
            (Lifecycle, Status(200), Serve),
            (Lifecycle, Status(403), Stop),
            (Lifecycle, Status(413), Stop),
            (Lifecycle, Status(500), Exit),
            (Lifecycle, Transport, Stop),
        ];
        for &(call, outcome, want) in ROWS {
            assert_eq!(verdict(call, outcome), want, "{call:?} {outcome:?}");
        }
    }
}
