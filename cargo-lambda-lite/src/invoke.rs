//! `invoke`: runs a `bootstrap` in a local execution environment (the core `watch` uses too)
//! the way Lambda would, one event after another, and prints each answer (a streamed one as it
//! arrives) and Lambda's REPORT lines.
//!
//! Like Lambda: the environment a function sees (plus `--env`), `_HANDLER` and the task root,
//! the function timeout (the process is stopped, `Status: timeout`), the 6 MB payload limits
//! (an event over it is refused, a response over it answered 413 and reported as
//! `Function.ResponseSizeTooLarge`), streamed responses up to 200 MB, and a fresh init after
//! the runtime exited or was stopped. With `AWS_LAMBDA_MAX_CONCURRENCY` = N, up to N events at
//! once in one process. At the end, if the function registered an extension (the
//! graceful-shutdown hook does), it gets SIGTERM and 500 ms, as at Lambda's shutdown.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use crate::environment::{
    Cause, Config, Environment, FunctionError, Invocation, Outcome, Progress,
};
use crate::local::MAX_EVENT;

/// Everything a local run needs: the function and its events.
pub struct Spec {
    pub function: Config,
    pub events: Vec<Vec<u8>>,
}

/// Lambda's answer to an event over its 6 MB limit: the function never sees it, so this is
/// no answer of the function's (stderr; the run's exit status is 1).
fn refuse_oversized(len: usize) {
    eprintln!(
        "{{\"errorType\":\"RequestTooLargeException\",\"errorMessage\":\"Request must be smaller than {MAX_EVENT} bytes for the InvokeFunction operation\"}}"
    );
    eprintln!(
        "invoke: this event ({len} B) is over Lambda's 6 MB limit: Lambda refuses it; not sent"
    );
}

/// How the run went.
#[derive(Default)]
struct Tally {
    function_error: bool,
    failed: bool,
    /// An event Lambda would refuse before the function sees it.
    refused: bool,
}

/// Prints an invocation's progress as it comes; what became of it goes into the tally.
fn printer(tally: Arc<Mutex<Tally>>, arm64: bool) -> Box<dyn FnMut(Progress) + Send> {
    let mut stream = None;
    let mut init_failed = false;
    Box::new(move |p| match p {
        // The answer alone on stdout (`| jq` works); Lambda's START/END/REPORT lines and the
        // function's log on stderr, as `invoke NAME` prints them.
        Progress::Started { line, .. } => eprintln!("{line}"),
        Progress::Stream { content_type } => {
            stream = Some(StreamPrinter::new(content_type.as_deref()));
        }
        Progress::Chunk(data) => {
            if let Some(s) = &mut stream {
                s.chunk(&data);
            }
        }
        Progress::Answered(outcome) => {
            let error = match &outcome {
                Outcome::Error(e) => Some(e),
                _ => None,
            };
            match (stream.take(), &outcome) {
                (Some(s), _) => s.end(error),
                (None, Outcome::Response(body)) => {
                    println!("{}", String::from_utf8_lossy(body));
                }
                // What the Invoke API answers, a timeout's and a crash's error document too.
                (None, Outcome::Error(e)) => println!("{}", String::from_utf8_lossy(&e.document)),
                (None, Outcome::Streamed) => {}
            }
            init_failed = error.is_some_and(|e| e.cause == Cause::Init);
            let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
            match error {
                Some(e) if e.cause == Cause::Init => t.failed = true,
                Some(_) => t.function_error = true,
                None => {}
            }
        }
        Progress::Done(done) => {
            for line in &done.lines {
                eprintln!("{line}");
            }
            if let Some(note) = &done.note {
                eprintln!("invoke: {note}");
            }
            if arm64 && !init_failed {
                eprintln!(
                    "invoke: (arm64 under qemu-user emulation: the durations above are not Graviton's)"
                );
            }
            let _ = std::io::stdout().flush();
        }
    })
}

/// Runs every event; exit status 0 when all were answered, 3 when the function answered
/// with an error (or timed out, or crashed), 1 when the run itself failed or an event was
/// refused before it reached the function.
pub fn run(spec: Spec) -> Result<ExitCode, String> {
    let arm64 = spec.function.wrapper.is_some();
    let config = Arc::new(spec.function);
    let environment = Environment::start(config, Box::new(|_| {}))
        .map_err(|e| format!("cannot start the local Runtime API: {e}"))?;
    let default = [b"{}".to_vec()];
    let events = if spec.events.is_empty() {
        &default[..]
    } else {
        &spec.events[..]
    };
    let tally = Arc::new(Mutex::new(Tally::default()));
    for event in events {
        if event.len() > MAX_EVENT {
            refuse_oversized(event.len());
            tally.lock().unwrap_or_else(|e| e.into_inner()).refused = true;
            continue;
        }
        environment.invoke(Invocation {
            event: event.clone(),
            tail: false,
            headers: Vec::new(),
            progress: printer(tally.clone(), arm64),
        });
    }
    // Everything queued is served before the environment shuts down.
    environment.shut_down();
    let tally = tally.lock().unwrap_or_else(|e| e.into_inner());
    Ok(if tally.failed {
        ExitCode::from(1)
    } else if tally.function_error {
        ExitCode::from(3)
    } else if tally.refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints a streamed response as it arrives: the HTTP integration prelude on stderr (once
/// its eight NULs arrived), the body on stdout, a failure's trailers at the end.
struct StreamPrinter {
    http: bool,
    prelude: Vec<u8>,
    in_body: bool,
}

impl StreamPrinter {
    fn new(content_type: Option<&str>) -> StreamPrinter {
        let http = content_type == Some("application/vnd.awslambda.http-integration-response");
        eprintln!(
            "invoke: streamed response{}",
            if http { " (HTTP integration)" } else { "" }
        );
        StreamPrinter {
            http,
            prelude: Vec::new(),
            in_body: !http,
        }
    }

    fn chunk(&mut self, data: &[u8]) {
        let mut out = std::io::stdout();
        if self.in_body {
            let _ = out.write_all(data);
            let _ = out.flush();
            return;
        }
        self.prelude.extend_from_slice(data);
        if let Some(at) = self.prelude.windows(8).position(|w| w == [0u8; 8]) {
            eprintln!(
                "invoke: HTTP prelude {}",
                String::from_utf8_lossy(&self.prelude[..at])
            );
            let _ = out.write_all(&self.prelude[at + 8..]);
            let _ = out.flush();
            self.prelude.clear();
            self.in_body = true;
        }
    }

    /// Ends the stream, with its error if it failed.
    fn end(self, error: Option<&FunctionError>) {
        println!();
        if self.http && !self.in_body {
            eprintln!("invoke: the HTTP prelude never ended with its eight NUL bytes");
        }
        if let Some(e) = error {
            eprintln!(
                "invoke: the stream failed: {}: {}",
                e.error_type,
                String::from_utf8_lossy(&e.document)
            );
        }
    }
}
