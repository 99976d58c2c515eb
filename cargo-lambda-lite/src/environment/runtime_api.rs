//! The controller's side of the local Runtime API: a worker waiting in `GET /next`, an
//! extension in `event/next`, a telemetry subscription, `/init/error`, and an invocation's
//! answer (buffered, chunked, streamed, over Lambda's limits, or an error), each a typed
//! message of [`crate::local`].

use std::thread;
use std::time::{Duration, Instant};

use base64::Engine;

use super::{Cause, Controller, FunctionError, Outcome, Queued, ms};
use super::{Done, Ended, Progress};
use crate::local::{self, Msg, Request, Route};

impl Controller {
    pub(super) fn api_message(&mut self, message: Msg) {
        let Some(p) = &mut self.process else {
            answer_stray(message);
            return;
        };
        match message {
            Msg::Request(r) if r.connection >= p.first_connection => match r.route {
                Route::Next => {
                    p.runtime_waiting.get_or_insert(r.at);
                    p.idle.push(r);
                    self.check_init();
                }
                Route::ExtensionNext => {
                    self.extension_next(r);
                    self.check_init();
                }
                Route::Subscribe => match self.telemetry.subscribe(&r.body) {
                    Ok(()) => r.respond(local::ok_response()),
                    Err(e) => {
                        eprintln!(
                            "[{}] a telemetry subscription was refused: {e}",
                            self.config.name
                        );
                        r.respond(local::bad_request(&e));
                    }
                },
                // Too late: the init is over (Lambda refuses it the same way).
                Route::InitError if p.ready() => r.respond(local::forbidden(
                    "InvalidStateTransition",
                    "the init is over: report an invocation's error with /invocation/{id}/error",
                )),
                Route::InitError => {
                    r.accept();
                    self.init_failed(r);
                }
                Route::Response(_) | Route::Error(_) => self.post(r),
                // The connection answers the others itself.
                _ => r.accept(),
            },
            Msg::Chunk {
                connection, data, ..
            } => {
                if let Some(f) = self
                    .in_flight
                    .iter_mut()
                    .find(|f| f.stream == Some(connection))
                {
                    match &mut f.collecting {
                        // Kept up to the limit (its size is counted at the end).
                        Some((body, _)) if body.len() <= local::MAX_PAYLOAD => {
                            body.extend_from_slice(&data);
                        }
                        Some(_) => {}
                        None => (f.progress)(Progress::Chunk(data)),
                    }
                }
            }
            Msg::End {
                connection,
                trailers,
                reply,
                at,
                bytes,
                broken,
            } => {
                let Some(i) = self
                    .in_flight
                    .iter()
                    .position(|f| f.stream == Some(connection))
                else {
                    // A chunked post naming no invocation in flight (over, or never sent).
                    let _ = reply.send(local::invalid_request_id());
                    return;
                };
                if broken {
                    let _ = reply.send(local::accepted());
                    // A runtime that died mid-answer crashed (its exit is reported); one whose
                    // connection broke alone failed this answer.
                    let exited = self.process.as_mut().is_some_and(|p| {
                        let until = Instant::now() + Duration::from_millis(100);
                        while Instant::now() < until {
                            if let Ok(Some(_)) = p.child.try_wait() {
                                return true;
                            }
                            thread::sleep(Duration::from_millis(1));
                        }
                        false
                    });
                    if exited {
                        self.check();
                    } else {
                        let error = FunctionError::new(
                            "Runtime.Unknown",
                            "the runtime's chunked post ended before its last chunk",
                        );
                        self.complete(i, Outcome::Error(error), at, None);
                    }
                    return;
                }
                if bytes > local::MAX_STREAM {
                    let _ = reply.send(local::too_large());
                    let error = FunctionError::new(
                        "Function.ResponseSizeTooLarge",
                        "the streamed response exceeded Lambda's 200 MB limit",
                    );
                    self.complete(i, Outcome::Error(error), at, None);
                    return;
                }
                if let Some((body, error_type)) = self.in_flight[i].collecting.take() {
                    let answer = |a| {
                        let _ = reply.send(a);
                    };
                    self.answered(i, error_type, body, bytes, answer, at);
                    return;
                }
                let _ = reply.send(local::accepted());
                let outcome = match stream_error(&trailers) {
                    Some(error) => Outcome::Error(error),
                    None => Outcome::Streamed,
                };
                self.complete(i, outcome, at, None);
            }
            other => answer_stray(other), // an earlier process's
        }
    }

    /// A response or error post (or a streamed response's head).
    pub(super) fn post(&mut self, mut r: Request) {
        let id = r.route.invocation_id();
        let Some(at) = self.in_flight.iter().position(|f| Some(&*f.id) == id) else {
            // Over already (answered twice), or never sent: Lambda's answer.
            r.respond(local::invalid_request_id());
            return;
        };
        let error_type = matches!(r.route, Route::Error(_)).then(|| {
            r.header("lambda-runtime-function-error-type")
                .unwrap_or("Unhandled")
                .to_owned()
        });
        if r.streamed {
            let f = &mut self.in_flight[at];
            f.stream = Some(r.connection);
            if r.header("lambda-runtime-function-response-mode") == Some("streaming") {
                (f.progress)(Progress::Stream {
                    content_type: r.header("content-type").map(str::to_owned),
                });
            } else {
                // A whole answer that merely came chunked: collected, then answered.
                f.collecting = Some((Vec::new(), error_type));
            }
            return;
        }
        let size = r.oversized.unwrap_or(r.body.len());
        let (when, body) = (r.at, std::mem::take(&mut r.body));
        self.answered(at, error_type, body, size, |answer| r.respond(answer), when);
    }

    /// A whole answer (or error) of `in_flight[at]`, of `size` bytes; `reply` answers its post.
    pub(super) fn answered(
        &mut self,
        at: usize,
        error_type: Option<String>,
        body: Vec<u8>,
        size: usize,
        reply: impl FnOnce(Vec<u8>),
        when: Instant,
    ) {
        if size > local::MAX_PAYLOAD {
            reply(local::too_large());
            let error = FunctionError::new(
                "Function.ResponseSizeTooLarge",
                &format!(
                    "Response payload size ({size} bytes) exceeded maximum allowed payload size (6291556 bytes)."
                ),
            );
            self.complete(at, Outcome::Error(error), when, None);
            return;
        }
        reply(local::accepted());
        let outcome = match error_type {
            Some(error_type) => Outcome::Error(FunctionError {
                error_type,
                document: body,
                cause: Cause::Function,
            }),
            None => Outcome::Response(body),
        };
        self.complete(at, outcome, when, None);
    }

    /// `POST /init/error`: the invocation waiting for this init gets the error; the process
    /// is stopped, and the next invocation starts a fresh one (Lambda retries the init).
    pub(super) fn init_failed(&mut self, post: Request) {
        let Some(mut p) = self.process.take() else {
            return;
        };
        p.kill();
        let error_type = post
            .header("lambda-runtime-function-error-type")
            .unwrap_or("Runtime.Unknown")
            .to_owned();
        let line = format!(
            "INIT_REPORT Init Duration: {:.2} ms\tPhase: init\tStatus: error\tError Type: {error_type}",
            ms(post.at - p.started)
        );
        let error = FunctionError {
            error_type,
            document: post.body,
            cause: Cause::Init,
        };
        if let Some(i) = self.queue.pop_front() {
            self.finish_unsent(i, error, vec![line]);
        }
    }

    /// Ends an invocation that never reached the function.
    pub(super) fn finish_unsent(
        &mut self,
        queued: Queued,
        error: FunctionError,
        lines: Vec<String>,
    ) {
        let mut invocation = queued.invocation;
        self.show(&String::from_utf8_lossy(&error.document));
        for l in &lines {
            self.show(l);
        }
        let log = if invocation.tail {
            lines
                .iter()
                .flat_map(|l| format!("{l}\n").into_bytes())
                .collect()
        } else {
            Vec::new()
        };
        (self.ended)(Ended::Answered);
        (invocation.progress)(Progress::Answered(Outcome::Error(error)));
        (invocation.progress)(Progress::Done(Done {
            lines,
            log,
            note: Some("the init failed: Lambda retries it with the next event".into()),
        }));
        (self.ended)(Ended::Done);
    }
}

/// A message from a process that is gone: answered, so nothing hangs on it.
fn answer_stray(message: Msg) {
    match message {
        Msg::Request(r) => r.accept(),
        Msg::End { reply, .. } => {
            let _ = reply.send(local::accepted());
        }
        Msg::Chunk { .. } => {}
    }
}

/// The error a failed stream's trailers carry.
fn stream_error(trailers: &[(String, String)]) -> Option<FunctionError> {
    let find = |name: &str| local::field(trailers, name);
    let error_type = find("lambda-runtime-function-error-type")?;
    let document = find("lambda-runtime-function-error-body")
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .unwrap_or_default();
    Some(FunctionError {
        error_type: error_type.to_owned(),
        document,
        cause: Cause::Function,
    })
}
