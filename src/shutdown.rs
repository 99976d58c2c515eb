//! Graceful shutdown: a hook that runs when Lambda ends the execution environment.
//!
//! Lambda sends SIGTERM before it stops an environment only when an extension is registered,
//! so [`spawn_graceful_shutdown_handler`] registers an internal one (no events: internal
//! extensions may not ask for `SHUTDOWN`) before the first `GET /next`, when registration is
//! still open, and parks a thread with its own connection in `/extension/event/next`, as
//! every registered extension must. That thread also waits on a self-pipe that the SIGTERM
//! (and SIGINT) handler writes one byte to; when it becomes readable the hook runs, once, and
//! the process exits 0. The runtime then has 500 ms before SIGKILL (300 ms when external
//! extensions are registered too). Nothing of this is linked into a function that never
//! calls it.

use std::time::{Duration, Instant};

use crate::extension::client::Client;
use crate::fatal::{self, Fatal};
use crate::{log, sys};

/// The internal extension's name (any name unique in the environment will do).
const NAME: &str = "lambda-lite-graceful-shutdown";

/// Runs `hook` when Lambda shuts the environment down (SIGTERM), then exits with status 0.
///
/// Call it before the first event is served: in `main` before [`run`](crate::run), or in
/// [`init`](crate::init), since extension registration closes at the first `GET /next`. It registers an internal extension with the Extensions
/// API (that is what makes Lambda send SIGTERM), installs a SIGTERM and SIGINT handler and
/// starts one thread; a second call is refused by the API (the name is taken). Keep the hook
/// short: Lambda allows 500 ms (300 ms beside external extensions) before SIGKILL.
///
/// ```no_run
/// lambda_lite::init(|| {
///     lambda_lite::spawn_graceful_shutdown_handler(|| {
///         eprintln!("flushing metrics before the environment goes away");
///     })?;
///     Ok(())
/// });
/// lambda_lite::run(|event, _ctx| Ok(event.to_vec()));
/// ```
///
/// The hook runs on the helper's thread; the crate's own use of the environment stops
/// before it runs (see [`Runtime::claim_trace_env`](crate::Runtime::claim_trace_env)).
pub fn spawn_graceful_shutdown_handler(hook: impl FnOnce() + Send + 'static) -> Result<(), Fatal> {
    // The helper thread reads no environment before its hook (see `sys::set_trace_id`): the
    // address is resolved and the log settings read here, on the calling thread.
    let endpoint = fatal::parse_endpoint(&fatal::runtime_api()?)?
        .resolved()
        .map_err(|_| Fatal::new(&["could not resolve AWS_LAMBDA_RUNTIME_API's host name"]))?;
    log::enabled(log::Level::Info);
    // First the handler: a SIGTERM that arrives from now on is kept in the pipe.
    let signals = sys::on_termination_signal()
        .map_err(|_| Fatal::new(&["could not install the SIGTERM handler"]))?;
    let (client, _) = Client::register(endpoint, NAME, &[])?;
    let hook: Box<dyn FnOnce() + Send> = Box::new(hook);
    std::thread::Builder::new()
        .name(NAME.into())
        .spawn(move || park(client, signals, hook))
        .map_err(|_| Fatal::new(&["could not start the graceful-shutdown thread"]))?;
    Ok(())
}

/// Waits in `/extension/event/next` and for a signal at once; runs the hook on the signal.
fn park(mut client: Client, signals: std::os::fd::RawFd, hook: Box<dyn FnOnce() + Send>) -> ! {
    // Connections that fail at once, in a row: twice means the API is gone (a connection
    // made before a SnapStart snapshot fails once after the restore, and is replaced).
    let mut fast_failures = 0;
    loop {
        let started = Instant::now();
        let waiting = client.send_next().ok().and_then(|()| client.raw_fd());
        if let Some(fd) = waiting {
            match sys::wait_readable([signals, fd]) {
                Ok([true, _]) => shut_down(hook),
                Ok(_) if client.receive_event().is_ok() => continue,
                _ => {}
            }
        }
        client.disconnect();
        if started.elapsed() < Duration::from_secs(1) {
            fast_failures += 1;
        } else {
            fast_failures = 0;
        }
        if fast_failures >= 2 {
            fatal::warn(&[
                "the Extensions API cannot be reached; the shutdown hook still runs on SIGTERM",
            ]);
            let _ = sys::wait_readable([signals]);
            shut_down(hook);
        }
    }
}

#[cold]
fn shut_down(hook: Box<dyn FnOnce() + Send>) -> ! {
    // From here the loop writes the trace variable no more, so the hook may read the
    // environment any way it likes (C code included).
    sys::stop_env_writes();
    log::log(
        log::Level::Info,
        "lambda-lite: termination signal received; running the shutdown hook",
    );
    let ran = crate::panic::catch(|| {
        hook();
        Ok(())
    });
    std::process::exit(if ran.is_ok() { 0 } else { 1 })
}
