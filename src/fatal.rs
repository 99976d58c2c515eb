//! What ends a loop or the process, and what the runtime says on the way: [`Fatal`], the
//! status policy carried out on an answer ([`judge`]), the runtime's own diagnostics and its
//! exits. Every module that talks to the Runtime or Extensions API uses it; it uses none of them.

use crate::conn::{self, Connection, ExchangeError};
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::error::ReportTo;
use crate::log::{self, Level};
use crate::proto::WireError;
use crate::proto::policy::{self, Call, Outcome, Verdict};

/// Why the runtime must stop: the protocol leaves nothing else to do (a 5xx, a refused
/// `/next`, a Runtime API that cannot be reached). [`run`](crate::run) prints it and exits with status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    message: String,
    /// A 5xx: the whole process must exit, not only this loop.
    container_error: bool,
}

impl Fatal {
    #[cold]
    pub(crate) fn new(parts: &[&str]) -> Fatal {
        Fatal {
            message: parts.concat(),
            container_error: false,
        }
    }

    /// What went wrong, in one line.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the Runtime API reported a container error (a 5xx), after which the process
    /// must exit at once, rather than only this loop having nothing left to do.
    pub fn is_container_error(&self) -> bool {
        self.container_error
    }
}

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fatal {}

/// `$AWS_LAMBDA_RUNTIME_API`, or why there is none.
pub(crate) fn runtime_api() -> Result<String, Fatal> {
    std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| {
        Fatal::new(&[
            "AWS_LAMBDA_RUNTIME_API is not set (or not UTF-8): run this binary as a Lambda bootstrap",
        ])
    })
}

pub(crate) fn parse_endpoint(api: &str) -> Result<Endpoint, Fatal> {
    Endpoint::parse(api)
        .map_err(|why| Fatal::new(&["AWS_LAMBDA_RUNTIME_API=", api, " is malformed: ", why]))
}

/// Posts `error`'s report to `to` (see [`Error::write_report`]) on `conn` and judges the
/// answer as a lifecycle call: the init, restore and extension error reports.
pub(crate) fn post_report(
    conn: &mut Connection,
    head: &mut Vec<u8>,
    body: &mut Vec<u8>,
    what: &str,
    to: ReportTo<'_>,
    error: &Error,
) -> Result<(), Fatal> {
    error.write_report(to, conn.endpoint(), head, body);
    let answer = conn.exchange(head, body, &[]);
    judge(what, Call::Lifecycle, &answer, conn.inbox())
}

/// Carries out the status policy for the outcome of `what`: `Ok` to go on (after one line on
/// stderr when the policy says so), `Err` when this loop (or the process) must end.
pub(crate) fn judge(
    what: &str,
    call: Call,
    answer: &Result<conn::Reply, ExchangeError>,
    inbox: &[u8],
) -> Result<(), Fatal> {
    let outcome = match answer {
        Ok(response) => Outcome::Status(response.status),
        Err(_) => Outcome::Transport,
    };
    let verdict = policy::verdict(call, outcome);
    if verdict == Verdict::Serve {
        return Ok(());
    }
    let mut fatal = match answer {
        Ok(response) => refusal(what, response.status, response.body.map(|b| b.of(inbox))),
        Err(e) => transport_failure(what, e),
    };
    match verdict {
        Verdict::Serve => Ok(()),
        Verdict::Warn => {
            warn(&[fatal.message(), "; serving the next event"]);
            Ok(())
        }
        Verdict::Stop => Err(fatal),
        Verdict::Exit => {
            fatal.container_error = true;
            Err(fatal)
        }
    }
}

#[cold]
fn transport_failure(what: &str, e: &ExchangeError) -> Fatal {
    let mut message = String::from(what);
    message.push_str(" failed: ");
    e.describe(&mut message);
    Fatal {
        message,
        container_error: false,
    }
}

#[cold]
fn refusal(what: &str, status: u16, body: Result<&[u8], WireError>) -> Fatal {
    let mut digits = [0u8; 20];
    let code = crate::text::decimal(&mut digits, u64::from(status));
    let body = body.unwrap_or_default();
    let body = &body[..body.len().min(300)];
    let excerpt = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&body[..e.valid_up_to()]).unwrap_or_default(),
    };
    Fatal::new(&[
        what,
        " answered ",
        std::str::from_utf8(code).unwrap_or_default(),
        ": ",
        excerpt.trim_ascii(),
    ])
}

/// One runtime diagnostic, `lambda-lite: <parts>`, through the log path (so it follows the
/// function's log format and carries the request id).
#[cold]
pub(crate) fn warn(parts: &[&str]) {
    diagnose(Level::Warn, parts);
}

#[cold]
fn diagnose(level: Level, parts: &[&str]) {
    let mut message = String::from("lambda-lite: ");
    for part in parts {
        message.push_str(part);
    }
    log::log(level, &message);
}

/// The end of every lifecycle failure (init, an after-restore hook, an extension's init or
/// event handler): says on stderr that `what` failed with `error`, has `post` report it to
/// the API (saying so if that fails too), and exits with status 1.
#[cold]
pub(crate) fn fail_and_exit(
    what: &str,
    error: &Error,
    post: &mut dyn FnMut() -> Result<(), Fatal>,
) -> ! {
    warn(&[what, " failed: ", error.error_type(), ": ", error.message()]);
    if let Err(fatal) = post() {
        warn(&[fatal.message()]);
    }
    std::process::exit(1)
}

#[cold]
pub(crate) fn exit_fatal(fatal: &Fatal) -> ! {
    diagnose(Level::Fatal, &[fatal.message()]);
    std::process::exit(1)
}
