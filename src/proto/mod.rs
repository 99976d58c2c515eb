//! The Runtime API's HTTP/1.1 as pure values and functions: what is sent (`request`), how what
//! arrives is read (`message`: responses, and requests for the telemetry listener), and what a status means (`policy`).
//!
//! In scope: bytes in, bytes out, caps, verdicts. Out of scope: sockets, buffers' growth and
//! retries (`conn.rs`), and what the runtime does next (`runtime.rs`). Nothing here performs
//! I/O or is generic, so it exists once in a binary and every tricky input is a table test.

pub(crate) mod message;
pub(crate) mod policy;
pub(crate) mod request;

/// Largest head accepted (status or request line + headers). The Runtime API's heads are well
/// under 8 KiB even with a full `Lambda-Runtime-Client-Context`; 64 KiB is headroom.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// Largest body accepted, by `Content-Length` or as the decoded total of a chunked body. The
/// service's own limit is 6 MiB + 100 B (6,291,556 B); 8 MiB leaves headroom for emulators.
pub(crate) const MAX_BODY: usize = 8 * 1024 * 1024;
/// Longest chunk-size line (with extensions) or trailer line.
pub(crate) const MAX_LINE: usize = 4096;
/// Largest buffer one message may need: a head, a body and one partial chunk line.
pub(crate) const MAX_MESSAGE: usize = MAX_HEAD + MAX_BODY + 2 * MAX_LINE;

/// Lowercase names of the headers this crate reads or writes; compared case-insensitively.
pub(crate) mod header {
    pub(crate) const REQUEST_ID: &str = "lambda-runtime-aws-request-id";
    pub(crate) const DEADLINE_MS: &str = "lambda-runtime-deadline-ms";
    pub(crate) const FUNCTION_ARN: &str = "lambda-runtime-invoked-function-arn";
    pub(crate) const TRACE_ID: &str = "lambda-runtime-trace-id";
    pub(crate) const CLIENT_CONTEXT: &str = "lambda-runtime-client-context";
    pub(crate) const COGNITO_IDENTITY: &str = "lambda-runtime-cognito-identity";
    pub(crate) const TENANT_ID: &str = "lambda-runtime-aws-tenant-id";
    pub(crate) const INVOCATION_ID: &str = "lambda-runtime-invocation-id";
    pub(crate) const ERROR_TYPE: &str = "lambda-runtime-function-error-type";
    pub(crate) const ERROR_BODY: &str = "lambda-runtime-function-error-body";
    pub(crate) const RESPONSE_MODE: &str = "lambda-runtime-function-response-mode";
    pub(crate) const EXTENSION_NAME: &str = "lambda-extension-name";
    pub(crate) const EXTENSION_ID: &str = "lambda-extension-identifier";
    #[cfg_attr(not(feature = "extension"), allow(dead_code))]
    pub(crate) const EXTENSION_ERROR_TYPE: &str = "lambda-extension-function-error-type";
    pub(crate) const CONTENT_LENGTH: &str = "content-length";
    pub(crate) const CONTENT_TYPE: &str = "content-type";
    pub(crate) const TRANSFER_ENCODING: &str = "transfer-encoding";
    pub(crate) const CONNECTION: &str = "connection";
}

/// Why a message could not be read. Incomplete input is not an error: the reader asks for more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WireError {
    HeadTooLarge,
    BadHead,
    TooManyHeaders,
    BadContentLength,
    UnsupportedTransferEncoding,
    BodyTooLarge,
    BadChunk,
    LineTooLong,
    /// The connection closed before the head was complete.
    ClosedInHead,
    /// The connection closed before the body was complete.
    Truncated,
}

impl WireError {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            WireError::HeadTooLarge => "head larger than 64 KiB",
            WireError::BadHead => "malformed HTTP head",
            WireError::TooManyHeaders => "more than 48 headers",
            WireError::BadContentLength => "invalid or conflicting Content-Length",
            WireError::UnsupportedTransferEncoding => "Transfer-Encoding other than chunked",
            WireError::BodyTooLarge => "body larger than 8 MiB",
            WireError::BadChunk => "malformed chunked body",
            WireError::LineTooLong => "chunk-size or trailer line longer than 4 KiB",
            WireError::ClosedInHead => "connection closed before a complete response",
            WireError::Truncated => "connection closed in the middle of the body",
        }
    }
}

/// A byte range into the buffer a message was read into.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Span {
    pub(crate) fn of(self, buf: &[u8]) -> &[u8] {
        buf.get(self.start..self.end).unwrap_or_default()
    }
}
