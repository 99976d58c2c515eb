//! The only module allowed `unsafe`: libc calls and process-environment mutation. Each block
//! is one call, preceded by why it is sound here; every wrapper is a safe function.
//!
//! The environment is process-wide state: changing it while another thread reads it through
//! libc's `getenv` is undefined behaviour. So `_X_AMZN_TRACE_ID` can only be set through a
//! [`TraceEnv`], which exists only while exactly one `Runtime` exists (so no worker threads),
//! and no other `Runtime` can be created while it does; the crate's one other thread, the
//! graceful-shutdown helper, reads no environment until it has stopped these writes for good
//! ([`stop_env_writes`]).
//!
//! Builds on every Unix host (Linux for Lambda; macOS and the BSDs, where users write and test
//! their handlers): the two calls whose names differ there are chosen by `cfg`.

use std::io;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};

const TRACE_ENV: &str = "_X_AMZN_TRACE_ID";

/// Held while the trace variable is written; taken for good by [`stop_env_writes`].
static ENV_WRITES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Stops every later write of `_X_AMZN_TRACE_ID` in this process (a write under way is waited
/// for; a later one blocks forever): from then on the calling thread may read the environment
/// in any way, C code included. For the graceful-shutdown hook, after which the process exits.
pub(crate) fn stop_env_writes() {
    let held = ENV_WRITES.lock().unwrap_or_else(|e| e.into_inner());
    std::mem::forget(held);
}

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
        let _writing = ENV_WRITES.lock().unwrap_or_else(|e| e.into_inner());
        match value.filter(|v| !v.contains('\0')) {
            // SAFETY: `set_var` is unsafe because another thread may read the environment at
            // the same time without the lock std's own `env::var` and `set_var` take (C code
            // calling `getenv`). Which threads can exist now: no `Runtime` worker (`self`
            // exists only while this is the process's only runtime, and workers are runtimes);
            // the graceful-shutdown helper, which reads no environment before its hook (its
            // log settings were read and its address resolved on the thread that started it)
            // and runs the hook only after `stop_env_writes` took `ENV_WRITES`, held here;
            // and threads a handler started, which the documentation of `run` and
            // `Runtime::claim_trace_env` forbids to run C code reading the environment after
            // the handler returned (this runs between invocations, on the loop's thread). The
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

/// The write end of the self-pipe the termination signal handler writes to; -1 until
/// [`on_termination_signal`] set it up.
static SIGNAL_PIPE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// The handler of SIGTERM and SIGINT: writes one byte to the self-pipe. Only async-signal-safe
/// calls (`write`, errno), nothing allocated, no lock taken.
extern "C" fn on_signal(_signal: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    let errno = errno_slot();
    // SAFETY: as above.
    let saved = unsafe { *errno };
    let byte = 1u8;
    // SAFETY: `write` is async-signal-safe; it reads one byte from `byte`, which outlives the
    // call, to a descriptor this module opened non-blocking (a full pipe drops the byte,
    // which is fine: one is enough).
    let _ = unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
    // SAFETY: as for reading errno.
    unsafe { *errno = saved };
}

/// This thread's `errno`, to save and restore around a signal handler's calls.
fn errno_slot() -> *mut libc::c_int {
    // SAFETY: each returns the calling thread's errno slot, valid to read and write for as
    // long as the thread lives; it takes no argument and cannot fail.
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "emscripten"))]
    let slot = unsafe { libc::__errno_location() };
    // SAFETY: as above (the same function under the name Apple's and FreeBSD's libc give it).
    #[cfg(any(
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "dragonfly"
    ))]
    let slot = unsafe { libc::__error() };
    // SAFETY: as above (NetBSD's and OpenBSD's name).
    #[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
    let slot = unsafe { libc::__errno() };
    slot
}

/// A pipe whose ends are closed on `exec`: `[read, write]`.
fn cloexec_pipe() -> io::Result<[libc::c_int; 2]> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `pipe2` writes two descriptors into `fds`, which has room for both.
    #[cfg(not(target_vendor = "apple"))]
    let made = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    // SAFETY: `pipe` writes two descriptors into `fds`, which has room for both. (Apple has
    // no `pipe2`; the descriptors get FD_CLOEXEC just below.)
    #[cfg(target_vendor = "apple")]
    let made = unsafe { libc::pipe(fds.as_mut_ptr()) };
    if made != 0 {
        return Err(io::Error::last_os_error());
    }
    #[cfg(target_vendor = "apple")]
    for fd in fds {
        // SAFETY: `fcntl` on a descriptor just opened above; F_SETFD takes an int.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(fds)
}

/// Makes SIGTERM and SIGINT write one byte to a pipe, and returns its read end, which becomes
/// readable when either arrives. Only the first call installs anything; later calls get the
/// same read end.
pub(crate) fn on_termination_signal() -> io::Result<std::os::fd::RawFd> {
    static READ_END: std::sync::Mutex<Option<std::os::fd::RawFd>> = std::sync::Mutex::new(None);
    let mut read_end = READ_END.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(fd) = *read_end {
        return Ok(fd);
    }
    let fds = cloexec_pipe()?;
    // SAFETY: `fcntl` on a descriptor just opened above; F_SETFL with O_NONBLOCK takes an int.
    if unsafe { libc::fcntl(fds[1], libc::F_SETFL, libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    SIGNAL_PIPE.store(fds[1], Ordering::Relaxed);
    // SAFETY: an all-zero `sigaction` is a valid value (no flags, empty mask) to fill in.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // Restart interrupted system calls: the runtime's blocking reads must not fail with EINTR.
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `sigemptyset` initialises the mask inside `action`, which is valid and ours.
    unsafe { libc::sigemptyset(&raw mut action.sa_mask) };
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: `action` is fully initialised and its handler only makes async-signal-safe
        // calls; the old action is not asked for (null).
        if unsafe { libc::sigaction(signal, &raw const action, std::ptr::null_mut()) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    *read_end = Some(fds[0]);
    Ok(fds[0])
}

/// Blocks until one of `fds` is readable (or closed); returns which, in order. Retries on
/// EINTR.
pub(crate) fn wait_readable<const N: usize>(fds: [std::os::fd::RawFd; N]) -> io::Result<[bool; N]> {
    let mut polled = fds.map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    loop {
        // SAFETY: `poll` reads and writes `N` entries of `polled`, which holds exactly `N`;
        // a negative timeout waits without limit.
        let n = unsafe { libc::poll(polled.as_mut_ptr(), N as libc::nfds_t, -1) };
        if n >= 0 {
            return Ok(polled.map(|p| p.revents != 0));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}
