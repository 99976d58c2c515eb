//! The only module allowed `unsafe`: libc calls and process-environment mutation. Each block
//! is one call, preceded by why it is sound here; every wrapper is a safe function.
//!
//! The environment is process-wide state: changing it while another thread reads it through
//! libc's `getenv` is undefined behaviour. So `_X_AMZN_TRACE_ID` can only be set through a
//! [`TraceEnv`], which exists only while exactly one `Runtime` exists, and no other `Runtime`
//! can be created while it does.

use std::io;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};

const TRACE_ENV: &str = "_X_AMZN_TRACE_ID";

/// Live `Runtime`s, and in the top bit whether one of them owns the environment.
static RUNTIMES: AtomicUsize = AtomicUsize::new(0);
const ENV_OWNED: usize = 1 << (usize::BITS - 1);

/// Held by every `Runtime`: counts it as live.
#[derive(Debug)]
pub(crate) struct RuntimeToken(());

impl RuntimeToken {
    /// Counts one more runtime; `None` while a runtime owns the environment.
    pub(crate) fn register() -> Option<RuntimeToken> {
        RUNTIMES
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n & ENV_OWNED == 0).then_some(n + 1)
            })
            .ok()
            .map(|_| RuntimeToken(()))
    }
}

impl Drop for RuntimeToken {
    fn drop(&mut self) {
        RUNTIMES.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The right to change `_X_AMZN_TRACE_ID`: held by the process's only runtime.
#[derive(Debug)]
pub(crate) struct TraceEnv(());

impl TraceEnv {
    /// Succeeds only if exactly one runtime (the caller's) is live; from then on no other can
    /// register until this is dropped.
    pub(crate) fn claim() -> Option<TraceEnv> {
        RUNTIMES
            .compare_exchange(1, 1 | ENV_OWNED, Ordering::SeqCst, Ordering::SeqCst)
            .ok()
            .map(|_| TraceEnv(()))
    }

    /// Sets `_X_AMZN_TRACE_ID` to this invocation's trace header, or removes it when there is
    /// none, so an SDK never attaches a request to a previous invocation's trace.
    pub(crate) fn set_trace_id(&self, value: Option<&str>) {
        match value.filter(|v| !v.contains('\0')) {
            // SAFETY: `set_var` is unsafe because another thread could read the environment
            // through libc's `getenv` at the same time. `self` exists only while this is the
            // process's only runtime (no worker threads of ours), and it is called between
            // invocations, outside any handler; the crate documents that a handler must not
            // leave threads reading the environment through C code across invocations. The
            // key holds no '=' or NUL and the value no NUL, so `set_var` cannot panic.
            Some(v) => unsafe { std::env::set_var(TRACE_ENV, v) },
            // SAFETY: as above, for removal.
            None => unsafe { std::env::remove_var(TRACE_ENV) },
        }
    }
}

impl Drop for TraceEnv {
    fn drop(&mut self) {
        RUNTIMES.fetch_and(!ENV_OWNED, Ordering::SeqCst);
    }
}

/// Whether the server closed a kept connection (or sent bytes nobody asked for, which makes
/// it as unusable): one non-blocking peek.
pub(crate) fn peer_closed(stream: &TcpStream) -> bool {
    let mut byte = 0u8;
    // SAFETY: `recv` writes at most one byte into `byte`, which outlives the call; the file
    // descriptor stays open for the borrow of `stream`; MSG_PEEK|MSG_DONTWAIT neither consumes
    // data nor blocks.
    let n = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            (&raw mut byte).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        let kind = io::Error::last_os_error().kind();
        return !matches!(kind, io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted);
    }
    true
}
