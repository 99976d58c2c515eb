//! What a handler answers with, chosen per invocation: the whole answer at once, or a stream
//! it writes while it runs.

use crate::context::Context;
use crate::error::Result;
use crate::stream::{self, ResponseStream, StreamBody};

/// A handler's answer to one invocation.
///
/// A handler returns anything that is [`IntoResponse`]: `Vec<u8>` and `String` are a buffered
/// answer; a `Response` lets each invocation choose between a buffered and a streamed one
/// (as `lambda_runtime`'s `FunctionResponse` does).
///
/// ```no_run
/// use std::io::Write;
/// use lambda_lite::Response;
///
/// lambda_lite::run(|event, _ctx| {
///     if event.starts_with(b"\"stream\"") {
///         // Each write is sent at once, as one HTTP chunk.
///         return Ok(Response::stream(|_event, ctx, out| {
///             for i in 0..3 {
///                 writeln!(out, "line {i} of {}", ctx.request_id)?;
///             }
///             Ok(())
///         }));
///     }
///     Ok(Response::from(b"{\"small\":true}".to_vec())) // one POST with a Content-Length
/// });
/// ```
pub enum Response<'s> {
    /// The whole answer, posted at once with a `Content-Length` (up to 6 MB on Lambda).
    Buffered(Vec<u8>),
    /// An answer written while it is produced (see [`Response::stream`]).
    Streamed(Stream<'s>),
}

/// A streamed answer: what writes it, and how the runtime posts it (reached only through a
/// `Stream`, so a function that never streams links none of the streaming code).
pub struct Stream<'s> {
    pub(crate) body: StreamBody<'s>,
    pub(crate) ops: &'static stream::Ops,
}

impl<'s> Response<'s> {
    /// A streamed answer: after the handler returns, `body` is called with the invocation's
    /// event and [`Context`] and the [`ResponseStream`] it writes to, each write sent at once
    /// as one HTTP chunk of a `POST /response` in streaming mode (up to 200 MB on Lambda;
    /// memory stays flat). An error (or panic) before the first byte is posted to `/error`;
    /// after it, it ends the stream with the error trailers.
    ///
    /// `body` may borrow what outlives the handler (state made by [`init`](crate::init) in
    /// `main`, borrowed by the handler closure); a `fn` handler that streams owns what it
    /// needs and returns `Response<'static>`.
    pub fn stream(
        body: impl FnOnce(&[u8], &Context<'_>, &mut ResponseStream<'_>) -> Result<()> + 's,
    ) -> Response<'s> {
        Response::Streamed(Stream {
            body: Box::new(body),
            ops: &stream::OPS,
        })
    }
}

impl std::fmt::Debug for Response<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Response::Buffered(bytes) => f.debug_tuple("Buffered").field(&bytes.len()).finish(),
            Response::Streamed(_) => f.write_str("Streamed"),
        }
    }
}

impl From<Vec<u8>> for Response<'_> {
    fn from(bytes: Vec<u8>) -> Self {
        Response::Buffered(bytes)
    }
}

impl From<String> for Response<'_> {
    fn from(text: String) -> Self {
        Response::Buffered(text.into_bytes())
    }
}

/// What a handler may return: its answer to one invocation (see [`Response`]).
pub trait IntoResponse<'s> {
    /// The answer as the runtime posts it.
    fn into_response(self) -> Response<'s>;
}

impl<'s> IntoResponse<'s> for Response<'s> {
    fn into_response(self) -> Response<'s> {
        self
    }
}

impl<'s> IntoResponse<'s> for Vec<u8> {
    fn into_response(self) -> Response<'s> {
        Response::Buffered(self)
    }
}

impl<'s> IntoResponse<'s> for String {
    fn into_response(self) -> Response<'s> {
        Response::Buffered(self.into_bytes())
    }
}
