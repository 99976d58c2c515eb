//! Panics in user code. One hook, installed on first use, records the message and location.
//! With `panic = "unwind"` the runtime catches the panic and posts it to `/error`, then serves
//! the next event. With `panic = "abort"` nothing can be caught, so the hook itself reports the
//! panic for the invocation in progress before the process dies: to `/error` over a fresh
//! connection, or, if a streamed answer had started, by ending that stream with the error
//! trailers on its own connection.

#[cfg(panic = "unwind")]
use std::cell::RefCell;
use std::sync::Once;

use crate::conn::Link;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::proto::request::Invocation;

/// The `errorType` of a panic in a handler or init.
pub(crate) const PANIC_TYPE: &str = "Runtime.HandlerPanic";

#[cfg(panic = "unwind")]
thread_local! {
    /// The last panic on this thread: "panicked at file:line:col: message".
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the hook (once per process); the previous hook still runs, so the panic is also
/// printed to stderr as usual.
pub(crate) fn install() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("Box<dyn Any>");
            // Built by hand: `format!` here would pull its machinery into every bootstrap.
            let mut text = String::with_capacity(message.len() + 64);
            text.push_str("panicked");
            if let Some(at) = info.location() {
                text.push_str(" at ");
                text.push_str(at.file());
                for n in [at.line(), at.column()] {
                    text.push(':');
                    let mut digits = [0u8; 20];
                    let digits = crate::text::decimal(&mut digits, u64::from(n));
                    text.push_str(std::str::from_utf8(digits).unwrap_or_default());
                }
            }
            text.push_str(": ");
            text.push_str(message);
            #[cfg(panic = "abort")]
            abort::report(&text);
            #[cfg(panic = "unwind")]
            LAST.with(|last| *last.borrow_mut() = Some(text));
        }));
    });
}

/// Runs user code; a panic becomes an `Error` of type [`PANIC_TYPE`] (with `panic = "unwind"`).
pub(crate) fn catch<R>(f: impl FnOnce() -> Result<R, Error>) -> Result<R, Error> {
    #[cfg(panic = "unwind")]
    {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            Ok(result) => result,
            Err(_) => Err(Error::new(
                PANIC_TYPE,
                LAST.with(|l| l.borrow_mut().take()).unwrap_or_default(),
            )),
        }
    }
    #[cfg(not(panic = "unwind"))]
    {
        f()
    }
}

/// Where a panic in the user code about to run is reported.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(panic = "abort"), allow(dead_code))]
pub(crate) enum Phase<'a> {
    /// One-time init, or a SnapStart before-snapshot hook: `/init/error`.
    Init,
    /// A SnapStart after-restore hook: `/restore/error`.
    Restore,
    /// A handler: the invocation's `/error` (or its stream's trailers).
    Invocation(Invocation<'a>),
}

/// Arms the abort-mode report for user code about to run on this thread in `phase`. No-op
/// with `panic = "unwind"`, where [`catch`] does the job.
pub(crate) fn arm(endpoint: &Endpoint, phase: Phase<'_>) {
    #[cfg(panic = "abort")]
    abort::arm(endpoint, phase);
    #[cfg(not(panic = "abort"))]
    let _ = (endpoint, phase);
}

/// A streamed answer has started on `link`'s connection: a panic from now on ends that
/// stream with the error trailers (abort mode; no-op with unwind, where the runtime does it).
pub(crate) fn arm_stream(link: &Link) {
    #[cfg(panic = "abort")]
    abort::arm_stream(link);
    #[cfg(not(panic = "abort"))]
    let _ = link;
}

/// Disarms what [`arm`] armed: user code has returned.
pub(crate) fn disarm() {
    #[cfg(panic = "abort")]
    abort::disarm();
}

/// The report an abort-mode panic makes, per thread (each worker has its own).
#[cfg(panic = "abort")]
mod abort {
    use std::cell::RefCell;
    use std::io::Write;
    use std::net::TcpStream;

    use super::{PANIC_TYPE, Phase};
    use crate::conn::{Connection, Link, read_response};
    use crate::endpoint::Endpoint;
    use crate::error::Error;
    use crate::error::ReportTo;
    use crate::proto::request::Invocation;

    struct Report {
        armed: bool,
        endpoint: Option<Endpoint>,
        /// Where the report goes.
        to: Armed,
        request_id: Vec<u8>,
        invocation_id: Option<Vec<u8>>,
        /// A copy of the connection a streamed answer is being written on, and what ends
        /// that stream (a pointer, so a binary that never streams never links it).
        stream: Option<(TcpStream, EndStream)>,
    }

    /// Ends a started stream with the error trailers for `error`.
    type EndStream = fn(TcpStream, &Endpoint, &Error);

    /// The Runtime API call that reports a panic of the armed phase.
    #[derive(Clone, Copy)]
    enum Armed {
        /// The invocation's `/error`.
        Invocation,
        /// `/init/error`.
        Init,
        /// `/restore/error`.
        Restore,
    }

    thread_local! {
        /// What the hook reports if user code panics on this thread while armed. Its buffers
        /// are reused, so arming costs no allocation once the longest ids have been seen.
        static ARMED: RefCell<Report> = const {
            RefCell::new(Report {
                armed: false,
                endpoint: None,
                to: Armed::Invocation,
                request_id: Vec::new(),
                invocation_id: None,
                stream: None,
            })
        };
    }

    pub(super) fn arm(endpoint: &Endpoint, phase: Phase<'_>) {
        let inv = match phase {
            Phase::Invocation(inv) => Some(inv),
            _ => None,
        };
        ARMED.with(|armed| {
            let mut r = armed.borrow_mut();
            if r.endpoint.as_ref() != Some(endpoint) {
                r.endpoint = Some(endpoint.clone());
            }
            r.to = match phase {
                Phase::Init => Armed::Init,
                Phase::Restore => Armed::Restore,
                Phase::Invocation(_) => Armed::Invocation,
            };
            r.request_id.clear();
            r.request_id
                .extend_from_slice(inv.map_or(&[][..], |i| i.request_id));
            match (inv.and_then(|i| i.invocation_id), &mut r.invocation_id) {
                (Some(new), Some(kept)) => {
                    kept.clear();
                    kept.extend_from_slice(new);
                }
                (new, kept) => *kept = new.map(<[u8]>::to_vec),
            }
            r.stream = None;
            r.armed = true;
        });
    }

    pub(super) fn arm_stream(link: &Link) {
        let copy = link.stream().and_then(|s| s.try_clone().ok());
        ARMED.with(|armed| {
            armed.borrow_mut().stream = copy.map(|s| (s, end_stream as EndStream));
        });
    }

    /// Mid-stream: ends the body with the error trailers, then waits for the answer, so the
    /// process does not die before the service has read them.
    fn end_stream(mut stream: TcpStream, endpoint: &Endpoint, error: &Error) {
        let (mut out, mut json) = (Vec::new(), Vec::new());
        error.write_report(ReportTo::Trailers, endpoint, &mut out, &mut json);
        if stream.write_all(&out).is_ok() {
            let _ = read_response(&mut stream, &mut Vec::new(), &[]);
        }
    }

    pub(super) fn disarm() {
        ARMED.with(|armed| {
            let mut r = armed.borrow_mut();
            r.armed = false;
            r.stream = None;
        });
    }

    pub(super) fn report(text: &str) {
        ARMED.with(|armed| {
            let Ok(mut r) = armed.try_borrow_mut() else {
                return;
            };
            let Some(endpoint) = r.endpoint.clone().filter(|_| r.armed) else {
                return;
            };
            r.armed = false;
            let error = Error::new(PANIC_TYPE, text);
            if let Some((stream, end)) = r.stream.take() {
                return end(stream, &endpoint, &error);
            }
            let to = match r.to {
                Armed::Init => ReportTo::Init,
                Armed::Restore => ReportTo::Restore,
                Armed::Invocation => ReportTo::Invocation(Invocation {
                    request_id: &r.request_id,
                    invocation_id: r.invocation_id.as_deref(),
                }),
            };
            let (mut out, mut json) = (Vec::new(), Vec::new());
            error.write_report(to, &endpoint, &mut out, &mut json);
            let _ = Connection::new(endpoint).exchange(&out, &json, &[]);
        });
    }
}
