//! Pure HTTP/1.1 for the Runtime API: request heads, response heads (through `httparse`) and
//! body framing (`Content-Length`, `Transfer-Encoding: chunked`, read-until-close).
//!
//! In scope: bytes in, bytes out, caps. Out of scope: sockets, retries and what a status means
//! (`conn.rs` and `runtime.rs`). Everything here is a pure function or a small state machine,
//! so every tricky input (split heads, chunk boundaries, odd header case) is a table test.

/// Largest response head accepted (status line + headers). The Runtime API's heads are well
/// under 8 KiB even with a full `Lambda-Runtime-Client-Context`; 64 KiB is headroom.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// Largest body accepted, by `Content-Length` or as the decoded total of a chunked body. The
/// service's own limit is 6 MiB + 100 B (6,291,556 B); 8 MiB leaves headroom for emulators.
pub(crate) const MAX_BODY: usize = 8 * 1024 * 1024;
/// Longest chunk-size line (with extensions) or trailer line.
pub(crate) const MAX_LINE: usize = 4096;
/// Most headers in one response head.
const MAX_HEADERS: usize = 48;

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
    pub(crate) const CONTENT_LENGTH: &str = "content-length";
    pub(crate) const TRANSFER_ENCODING: &str = "transfer-encoding";
    pub(crate) const CONNECTION: &str = "connection";
}

/// Why a response could not be framed. Incomplete input is not an error: it is `Ok(None)`.
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
    Truncated,
}

impl WireError {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            WireError::HeadTooLarge => "response head larger than 64 KiB",
            WireError::BadHead => "malformed HTTP response head",
            WireError::TooManyHeaders => "more than 48 response headers",
            WireError::BadContentLength => "invalid or conflicting Content-Length",
            WireError::UnsupportedTransferEncoding => "Transfer-Encoding other than chunked",
            WireError::BodyTooLarge => "body larger than 8 MiB",
            WireError::BadChunk => "malformed chunked body",
            WireError::LineTooLong => "chunk-size or trailer line longer than 4 KiB",
            WireError::Truncated => "connection closed in the middle of the body",
        }
    }
}

/// A byte range into the buffer a head was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Span {
    pub(crate) fn of(self, buf: &[u8]) -> &[u8] {
        buf.get(self.start..self.end).unwrap_or_default()
    }
}

/// How the body that follows a head is delimited. A `Length` over [`MAX_BODY`] is reported,
/// not refused, here: the head is still good (the runtime can answer the invocation with an
/// error), and `conn.rs` refuses to read such a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// A parsed response head. `found[i]` is the value of `wanted[i]` (the last one if repeated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Head<const K: usize> {
    pub(crate) status: u16,
    /// Bytes of the head, final blank line included; the body starts here.
    pub(crate) len: usize,
    pub(crate) framing: Framing,
    /// The server will close the connection after this response.
    pub(crate) close: bool,
    pub(crate) found: [Option<Span>; K],
}

/// Parses a response head at the start of `buf`. `Ok(None)`: not complete yet, read more.
pub(crate) fn parse_head<const K: usize>(
    buf: &[u8],
    wanted: &[&str; K],
) -> Result<Option<Head<K>>, WireError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err(WireError::HeadTooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(WireError::TooManyHeaders),
        Err(_) => return Err(WireError::BadHead),
    };
    if len > MAX_HEAD {
        return Err(WireError::HeadTooLarge);
    }
    let status = resp.code.unwrap_or(0);
    let mut close = resp.version == Some(0);
    let mut content_length = None;
    let mut chunked = None;
    let mut found = [None; K];
    for h in resp.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case(header::CONTENT_LENGTH) {
            let n = parse_decimal(trim(h.value)).ok_or(WireError::BadContentLength)?;
            if content_length.is_some_and(|prev| prev != n) {
                return Err(WireError::BadContentLength);
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case(header::TRANSFER_ENCODING) {
            // The last coding decides; anything but chunked leaves us unable to frame the body.
            let last = h
                .value
                .rsplit(|&b| b == b',')
                .next()
                .map(trim)
                .unwrap_or_default();
            chunked = Some(last.eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(header::CONNECTION) {
            let v = trim(h.value);
            if v.eq_ignore_ascii_case(b"close") {
                close = true;
            } else if v.eq_ignore_ascii_case(b"keep-alive") {
                close = false;
            }
        }
        if let Some(i) = wanted.iter().position(|w| name.eq_ignore_ascii_case(w)) {
            let start = h.value.as_ptr() as usize - buf.as_ptr() as usize;
            found[i] = Some(Span {
                start,
                end: start + h.value.len(),
            });
        }
    }
    let framing = if status < 200 || status == 204 || status == 304 {
        Framing::Length(0)
    } else {
        match (chunked, content_length) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) => return Err(WireError::UnsupportedTransferEncoding),
            (None, Some(n)) => Framing::Length(n),
            (None, None) => Framing::UntilClose,
        }
    };
    if framing == Framing::UntilClose {
        close = true;
    }
    Ok(Some(Head {
        status,
        len,
        framing,
        close,
        found,
    }))
}

fn trim(v: &[u8]) -> &[u8] {
    v.trim_ascii()
}

/// Parses a plain decimal number; `None` on anything else (sign, spaces, overflow, empty).
pub(crate) fn parse_decimal(v: &[u8]) -> Option<usize> {
    if v.is_empty() || v.len() > 20 {
        return None;
    }
    v.iter().try_fold(0usize, |n, &b| {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(usize::from(d))
    })
}

/// Incremental, in-place decoder of a chunked body.
///
/// Decoded bytes are written at `write`, never after `read`, so they can share one buffer
/// with the encoded bytes they come from and no second buffer is needed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChunkedDecoder {
    state: ChunkState,
    body_len: usize,
    trailer_len: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ChunkState {
    #[default]
    Size,
    Data(usize),
    DataEnd,
    Trailer,
    Done,
}

impl ChunkedDecoder {
    /// Decodes as much of `buf[*read..]` as possible. Returns `Ok(true)` once the final chunk
    /// and trailer section have been consumed; `*read` then points just past the body.
    pub(crate) fn decode(
        &mut self,
        buf: &mut [u8],
        read: &mut usize,
        write: &mut usize,
    ) -> Result<bool, WireError> {
        loop {
            match self.state {
                ChunkState::Done => return Ok(true),
                ChunkState::Size => {
                    let Some(line) = take_line(buf, read)? else {
                        return Ok(false);
                    };
                    let size = parse_chunk_size(line)?;
                    if size > MAX_BODY - self.body_len {
                        return Err(WireError::BodyTooLarge);
                    }
                    self.body_len += size;
                    self.state = if size == 0 {
                        ChunkState::Trailer
                    } else {
                        ChunkState::Data(size)
                    };
                }
                ChunkState::Data(left) => {
                    let take = left.min(buf.len() - *read);
                    if take == 0 {
                        return Ok(false);
                    }
                    buf.copy_within(*read..*read + take, *write);
                    *read += take;
                    *write += take;
                    self.state = if take == left {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left - take)
                    };
                }
                ChunkState::DataEnd => {
                    let Some(line) = take_line(buf, read)? else {
                        return Ok(false);
                    };
                    if !line.is_empty() {
                        return Err(WireError::BadChunk);
                    }
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailer => {
                    let Some(line) = take_line(buf, read)? else {
                        return Ok(false);
                    };
                    if line.is_empty() {
                        self.state = ChunkState::Done;
                    } else {
                        self.trailer_len += line.len();
                        if self.trailer_len > MAX_HEAD {
                            return Err(WireError::HeadTooLarge);
                        }
                    }
                }
            }
        }
    }

    /// Bytes of chunk data still expected in the current chunk (a hint for buffer growth).
    pub(crate) fn data_remaining(&self) -> usize {
        match self.state {
            ChunkState::Data(left) => left,
            _ => 0,
        }
    }
}

/// Takes one line (LF or CRLF terminated, terminator dropped) from `buf[*read..]`.
fn take_line<'b>(buf: &'b [u8], read: &mut usize) -> Result<Option<&'b [u8]>, WireError> {
    let rest = &buf[*read..];
    let Some(nl) = rest.iter().take(MAX_LINE + 2).position(|&b| b == b'\n') else {
        return if rest.len() > MAX_LINE + 1 {
            Err(WireError::LineTooLong)
        } else {
            Ok(None)
        };
    };
    *read += nl + 1;
    let line = &rest[..nl];
    Ok(Some(line.strip_suffix(b"\r").unwrap_or(line)))
}

/// `1a2f;name=value` → 0x1a2f. Extensions are ignored, digits are required.
fn parse_chunk_size(line: &[u8]) -> Result<usize, WireError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(WireError::BadChunk);
    }
    let ext = trim(&line[digits..]);
    if !ext.is_empty() && ext[0] != b';' {
        return Err(WireError::BadChunk);
    }
    let mut size = 0usize;
    for &b in &line[..digits] {
        let d = (b as char).to_digit(16).unwrap_or(0) as usize;
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(d))
            .ok_or(WireError::BodyTooLarge)?;
        if size > MAX_BODY {
            return Err(WireError::BodyTooLarge);
        }
    }
    Ok(size)
}

/// Starts a request head: `METHOD base_path`. The caller appends the rest of the target,
/// then calls [`end_request_head`].
pub(crate) fn begin_request_head(out: &mut Vec<u8>, method: &str, base_path: &str) {
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(base_path.as_bytes());
}

/// Ends a request head: protocol, `Host`, `User-Agent`, the `extra` headers, and
/// `Content-Length` when `content_length` is given (a body of unknown length would pass
/// `Transfer-Encoding: chunked` in `extra` instead).
pub(crate) fn end_request_head(
    out: &mut Vec<u8>,
    host: &str,
    extra: &[(&str, &[u8])],
    content_length: Option<usize>,
) {
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(
        concat!(
            "\r\nuser-agent: lambda-lite/",
            env!("CARGO_PKG_VERSION"),
            "\r\n"
        )
        .as_bytes(),
    );
    for (name, value) in extra {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if let Some(n) = content_length {
        out.extend_from_slice(b"content-length: ");
        push_decimal(out, n);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal, without the formatting machinery.
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Appends `segment` as one URL path segment, percent-encoding everything outside RFC 3986's
/// unreserved set and sub-delims, so a request id can never add a path, query or header.
pub(crate) fn push_path_segment(out: &mut Vec<u8>, segment: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in segment {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
}

#[cfg(test)]
mod tests;
