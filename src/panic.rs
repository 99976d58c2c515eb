//! Panics in user code. One hook, installed on first use, records the message and location.
//! With `panic = "unwind"` the runtime catches the panic and posts it to `/error`, then serves
//! the next event. With `panic = "abort"` nothing can be caught, so the hook itself posts the
//! panic for the invocation in progress (over a fresh connection) before the process dies.

use std::cell::RefCell;
use std::sync::Once;

use crate::Error;
#[cfg(panic = "abort")]
use crate::conn::{Connection, Endpoint};

/// The `errorType` of a panic in a handler or init.
pub(crate) const PANIC_TYPE: &str = "Runtime.HandlerPanic";

#[cfg(panic = "unwind")]
thread_local! {
    /// The last panic on this thread: "panicked at file:line:col: message".
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

#[cfg(panic = "abort")]
thread_local! {
    /// What the hook posts if user code panics on this thread while armed. Its buffers are
    /// reused, so arming costs no allocation once the longest ids have been seen.
    static ARMED: RefCell<AbortReport> = const {
        RefCell::new(AbortReport {
            armed: false,
            endpoint: None,
            init: false,
            request_id: Vec::new(),
            invocation_id: None,
        })
    };
}

#[cfg(panic = "abort")]
struct AbortReport {
    armed: bool,
    endpoint: Option<Endpoint>,
    /// Post to `/init/error` rather than to the invocation's `/error`.
    init: bool,
    request_id: Vec<u8>,
    invocation_id: Option<Vec<u8>>,
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
                    let mut digits = Vec::new();
                    crate::wire::push_decimal(&mut digits, n as usize);
                    text.push_str(std::str::from_utf8(&digits).unwrap_or_default());
                }
            }
            text.push_str(": ");
            text.push_str(message);
            #[cfg(panic = "abort")]
            report_before_abort(&text);
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

/// Arms the abort-mode report for user code about to run on this thread: a panic is posted
/// to the invocation's `/error`, or to `/init/error` when `request_id` is `None`. No-op with
/// `panic = "unwind"`, where [`catch`] does the job.
pub(crate) fn arm(
    endpoint: &crate::conn::Endpoint,
    request_id: Option<&[u8]>,
    invocation_id: Option<&[u8]>,
) {
    #[cfg(panic = "abort")]
    ARMED.with(|armed| {
        let mut r = armed.borrow_mut();
        if r.endpoint.as_ref() != Some(endpoint) {
            r.endpoint = Some(endpoint.clone());
        }
        r.init = request_id.is_none();
        r.request_id.clear();
        r.request_id
            .extend_from_slice(request_id.unwrap_or_default());
        match (invocation_id, &mut r.invocation_id) {
            (Some(new), Some(kept)) => {
                kept.clear();
                kept.extend_from_slice(new);
            }
            (new, kept) => *kept = new.map(<[u8]>::to_vec),
        }
        r.armed = true;
    });
    #[cfg(not(panic = "abort"))]
    let _ = (endpoint, request_id, invocation_id);
}

/// Disarms what [`arm`] armed: user code has returned.
pub(crate) fn disarm() {
    #[cfg(panic = "abort")]
    ARMED.with(|armed| armed.borrow_mut().armed = false);
}

#[cfg(panic = "abort")]
fn report_before_abort(text: &str) {
    ARMED.with(|armed| {
        let Ok(mut r) = armed.try_borrow_mut() else {
            return;
        };
        let Some(endpoint) = r.endpoint.as_ref().filter(|_| r.armed) else {
            return;
        };
        let error = Error::new(PANIC_TYPE, text);
        let mut body = Vec::new();
        crate::error::write_error_json(&mut body, error.error_type(), error.message());
        let mut head = Vec::new();
        crate::runtime::write_post_head(
            &mut head,
            endpoint,
            (!r.init).then_some(&r.request_id[..]),
            r.invocation_id.as_deref(),
            Some(&error.header_type()),
            body.len(),
        );
        let _ = Connection::new(endpoint.clone()).exchange(&head, &body, &[]);
        r.armed = false;
    });
}
