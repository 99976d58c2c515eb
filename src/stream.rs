//! Response streaming: a [`ResponseStream`] posts a handler's answer while the handler writes
//! it, each write one HTTP chunk of a `POST /response` in streaming mode, with the HTTP
//! integration prelude for Function URLs and API Gateway and the error trailers for a failure
//! after the first byte (`shared/runtime-api.md` §3.3).
//!
//! In scope: the chunked request body, its head and its end. Out of scope: reading the answer
//! and what it means (`runtime.rs`). Nothing is buffered beyond one write.

use std::fmt;
use std::io::{self, IoSlice, Write};

use crate::conn::{Connection, Link};
use crate::context::Context;
use crate::error::ReportTo;
use crate::error::{Error, Result};
use crate::fatal::{Fatal, judge};
use crate::panic;
use crate::proto::policy::Call;
use crate::proto::request::{self, CHUNK_END, Invocation};
use crate::text;

/// The content type of a response that starts with the HTTP integration prelude.
pub(crate) const HTTP_INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";
/// What separates the prelude from the body: exactly eight NUL bytes.
const PRELUDE_END: [u8; 8] = [0; 8];
/// The end of a body that ended well.
const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// A streamed answer, written while it is produced: what the body of a
/// [`Response::stream`](crate::Response::stream) writes to.
///
/// Each `write` (or `write_all`, `write!`, …) goes to the socket at once as one HTTP chunk of
/// the invocation's `POST /response`, which is opened by the first write with
/// `Transfer-Encoding: chunked`, `Lambda-Runtime-Function-Response-Mode: streaming` and the
/// two error trailers declared. Nothing is buffered: memory stays flat however long the
/// stream (Lambda accepts up to 200 MB; the first 6 MB unthrottled, then 2 MiB/s, which a
/// blocking write simply waits for). `flush` has nothing to do. Wrap the stream in a
/// `BufWriter` to send fewer, larger chunks.
///
/// If the handler returns an error (or panics) after the first byte, the body is ended with
/// the `Lambda-Runtime-Function-Error-Type` and `Lambda-Runtime-Function-Error-Body` trailers
/// (the base64 of the usual error JSON), so the caller sees a failed stream, not a cut one.
/// Before the first byte, the error goes to `/error` as for a buffered handler. A write that
/// fails (the connection dropped, the service refused the stream) returns the error, and so
/// does every later write: stop producing and return.
pub struct ResponseStream<'a> {
    link: &'a mut Link,
    /// The request head, written by the first write; then the last chunk's frame.
    head: &'a mut Vec<u8>,
    /// `write!` output and the error JSON of a failed stream.
    scratch: &'a mut Vec<u8>,
    inv: Invocation<'a>,
    content_type: Option<&'static str>,
    state: State,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Nothing sent yet.
    Idle,
    /// The head and at least one chunk were sent.
    Open,
    /// A write failed; the stream cannot go on.
    Broken(io::ErrorKind),
}

/// What became of a streamed answer once its body returned.
#[derive(Debug)]
pub(crate) enum Finished {
    /// The whole request was written: read its answer.
    Sent,
    /// A write failed; the answer, if any, says why.
    Broken,
    /// Nothing was sent and the body failed: post its error to `/error`.
    NotStarted(Error),
}

/// The code that writes a streamed answer, given the invocation's event and context again.
pub(crate) type StreamBody<'s> =
    Box<dyn FnOnce(&[u8], &Context<'_>, &mut ResponseStream<'_>) -> Result<()> + 's>;

/// How the runtime posts a streamed answer and reads what the server said, reached only
/// through the `Stream` a handler returned, so a function that never streams links none of it.
pub(crate) struct Ops {
    /// Writes the stream ([`post`]).
    pub(crate) post: for<'s> fn(Posting<'_, '_>, StreamBody<'s>) -> Finished,
    /// Reads and judges the answer to a written (or broken, `true`) stream ([`answer`]).
    pub(crate) answer: fn(&mut Connection, bool) -> Result<(), Fatal>,
}

/// The streamed answer's operations.
pub(crate) static OPS: Ops = Ops { post, answer };

/// What a streamed answer is posted with: the invocation's event and context, the link, and
/// the runtime's reused buffers.
pub(crate) struct Posting<'p, 'a> {
    pub(crate) event: &'a [u8],
    pub(crate) ctx: &'p Context<'a>,
    pub(crate) link: &'p mut Link,
    pub(crate) head: &'p mut Vec<u8>,
    pub(crate) scratch: &'p mut Vec<u8>,
}

/// Reads the server's answer to a streamed post and judges it; a broken stream's connection
/// is dropped after (its server may have answered, a 413, before it stopped reading).
fn answer(conn: &mut Connection, broken: bool) -> Result<(), Fatal> {
    let answer = conn.receive(&[]);
    if broken {
        conn.disconnect();
    }
    judge(
        "POST /response (streamed)",
        Call::Answer,
        &answer,
        conn.inbox(),
    )
}

/// Runs `body` (panics caught) on a [`ResponseStream`] for the invocation, then ends the
/// stream.
fn post(p: Posting<'_, '_>, body: StreamBody<'_>) -> Finished {
    let inv = p.ctx.invocation();
    let mut stream = ResponseStream::new(p.link, p.head, p.scratch, inv);
    let outcome = panic::catch(|| body(p.event, p.ctx, &mut stream));
    stream.finish(outcome)
}

impl fmt::Debug for ResponseStream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseStream")
            .field("state", &self.state)
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

impl<'a> ResponseStream<'a> {
    pub(crate) fn new(
        link: &'a mut Link,
        head: &'a mut Vec<u8>,
        scratch: &'a mut Vec<u8>,
        inv: Invocation<'a>,
    ) -> ResponseStream<'a> {
        ResponseStream {
            link,
            head,
            scratch,
            inv,
            content_type: None,
            state: State::Idle,
        }
    }

    /// Starts an HTTP response for a Function URL or API Gateway's streaming integration:
    /// sends the content type `application/vnd.awslambda.http-integration-response` and, as
    /// the first bytes of the stream, the JSON prelude `{"statusCode":…,"headers":{…},
    /// "cookies":[…]}` and the eight NUL bytes that end it. What is written next is the HTTP
    /// body. Must come before any other write. Cookies (`Set-Cookie` values) go in `cookies`,
    /// not in `headers`.
    ///
    /// ```no_run
    /// use std::io::Write;
    ///
    /// lambda_lite::run(|_event, _ctx| {
    ///     Ok(lambda_lite::Response::stream(|_event, _ctx, stream| {
    ///         stream.start_http(200, &[("content-type", "text/event-stream")], &[])?;
    ///         stream.write_all(b"data: hello\n\n")?;
    ///         Ok(())
    ///     }))
    /// });
    /// ```
    pub fn start_http(
        &mut self,
        status_code: u16,
        headers: &[(&str, &str)],
        cookies: &[&str],
    ) -> io::Result<()> {
        if self.state != State::Idle {
            return Err(io::Error::other(
                "the HTTP prelude must be the first bytes of the stream",
            ));
        }
        let mut prelude = std::mem::take(self.scratch);
        write_prelude(&mut prelude, status_code, headers, cookies);
        self.content_type = Some(HTTP_INTEGRATION);
        let sent = self.send(&prelude);
        *self.scratch = prelude;
        sent
    }

    /// Sends `data` (not empty) as one chunk, opening the request first if needed.
    fn send(&mut self, data: &[u8]) -> io::Result<()> {
        let mut size = [0u8; 18];
        let size = request::chunk_size_line(&mut size, data.len());
        match self.state {
            State::Broken(kind) => Err(kind.into()),
            State::Idle => self.open([size, data, CHUNK_END]),
            State::Open => {
                let sent = self.link.send(&mut [
                    IoSlice::new(size),
                    IoSlice::new(data),
                    IoSlice::new(CHUNK_END),
                ]);
                if let Err(e) = &sent {
                    self.state = State::Broken(e.kind());
                }
                sent
            }
        }
    }

    /// Writes the request head and `first` (the first chunk, or the whole end of an empty
    /// body) in one system call.
    fn open(&mut self, first: [&[u8]; 3]) -> io::Result<()> {
        request::streamed_response(self.head, self.link.endpoint(), self.inv, self.content_type);
        // A kept connection the server closed while the handler ran would take this write and
        // fail the next one, when nothing can be resent any more: look before writing.
        self.link.drop_if_closed();
        let mut sent = Ok(());
        // The reconnect rule: a write that fails on the kept connection is made once more on
        // a new one (nothing of this request was read by anyone).
        for _ in 0..2 {
            let [a, b, c] = first;
            sent = self.link.send(&mut [
                IoSlice::new(self.head),
                IoSlice::new(a),
                IoSlice::new(b),
                IoSlice::new(c),
            ]);
            if sent.is_ok() {
                break;
            }
            self.link.disconnect();
        }
        match &sent {
            Ok(()) => {
                self.state = State::Open;
                panic::arm_stream(self.link);
            }
            Err(e) => self.state = State::Broken(e.kind()),
        }
        sent
    }

    /// Ends the body after the handler returned `outcome`.
    fn finish(mut self, outcome: Result<()>) -> Finished {
        let sent = match (self.state, outcome) {
            (State::Broken(_), _) => return Finished::Broken,
            (State::Idle, Err(error)) => return Finished::NotStarted(error),
            // An empty answer: the head and the last chunk at once.
            (State::Idle, Ok(())) => self.open([LAST_CHUNK, b"", b""]),
            (State::Open, Ok(())) => self.link.send(&mut [IoSlice::new(LAST_CHUNK)]),
            (State::Open, Err(error)) => {
                let endpoint = self.link.endpoint();
                error.write_report(ReportTo::Trailers, endpoint, self.head, self.scratch);
                self.link.send(&mut [IoSlice::new(self.head)])
            }
        };
        match sent {
            Ok(()) => Finished::Sent,
            Err(_) => Finished::Broken,
        }
    }
}

impl Write for ResponseStream<'_> {
    /// Sends all of `buf` as one chunk (an empty `buf` sends nothing: a zero-size chunk would
    /// end the body).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.send(buf)?;
        Ok(buf.len())
    }

    /// Formats into a reused buffer, then sends the text as one chunk (rather than one chunk
    /// per formatted piece, as the default would).
    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        if let Some(s) = args.as_str() {
            return self.write_all(s.as_bytes());
        }
        let mut staged = std::mem::take(self.scratch);
        staged.clear();
        let sent = staged
            .write_fmt(args)
            .and_then(|()| self.write_all(&staged));
        *self.scratch = staged;
        sent
    }

    /// Every write is already on the socket; fails only if the stream is broken.
    fn flush(&mut self) -> io::Result<()> {
        match self.state {
            State::Broken(kind) => Err(kind.into()),
            _ => Ok(()),
        }
    }
}

/// `{"statusCode":200,"headers":{…},"cookies":[…]}` and the eight NULs, into a cleared `out`.
fn write_prelude(out: &mut Vec<u8>, status_code: u16, headers: &[(&str, &str)], cookies: &[&str]) {
    out.clear();
    out.extend_from_slice(b"{\"statusCode\":");
    text::push_decimal(out, u64::from(status_code));
    out.extend_from_slice(b",\"headers\":{");
    for (i, (name, value)) in headers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        text::push_json_string(out, name);
        out.push(b':');
        text::push_json_string(out, value);
    }
    out.extend_from_slice(b"},\"cookies\":[");
    for (i, cookie) in cookies.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        text::push_json_string(out, cookie);
    }
    out.extend_from_slice(b"]}");
    out.extend_from_slice(&PRELUDE_END);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prelude_is_json_then_eight_nuls() {
        let mut out = vec![1, 2, 3];
        write_prelude(
            &mut out,
            201,
            &[("content-type", "text/event-stream"), ("x-q", "a\"b")],
            &["a=b; Path=/", "c=d"],
        );
        let (json, nuls) = out.split_at(out.len() - 8);
        assert_eq!(nuls, [0u8; 8]);
        assert_eq!(
            std::str::from_utf8(json).unwrap(),
            r#"{"statusCode":201,"headers":{"content-type":"text/event-stream","x-q":"a\"b"},"cookies":["a=b; Path=/","c=d"]}"#
        );
        let mut empty = Vec::new();
        write_prelude(&mut empty, 200, &[], &[]);
        assert_eq!(
            &empty[..empty.len() - 8],
            br#"{"statusCode":200,"headers":{},"cookies":[]}"#
        );
    }
}
