//! The reader of one HTTP/1.1 message: fed the bytes that arrived, it answers "need more",
//! "head complete" or "message complete". Heads are parsed by `httparse`; bodies are framed by
//! `Content-Length`, `Transfer-Encoding: chunked` (decoded in place) or, for responses, the end
//! of the connection. 1xx responses are skipped. Every size is capped.
//!
//! The reader owns no buffer and does no I/O: the caller keeps `buf[..filled]` (the bytes read
//! so far), reads more when asked, and calls [`Reader::advance`] again. `conn.rs` drives it
//! over a socket, the tests and the fuzz targets over bytes in memory; all of them run this
//! code, so no test keeps its own copy of the driver. It reads responses (the runtime's side)
//! and requests (the telemetry listener's side) with the same framing rules.

use super::{MAX_BODY, MAX_HEAD, MAX_LINE, MAX_MESSAGE, Span, WireError, header};
use crate::text;

/// Most headers in one head.
const MAX_HEADERS: usize = 48;
/// Most headers one reader looks up by name (a `/next` response's `Lambda-Runtime-*` set).
pub(crate) const MAX_WANTED: usize = 8;
/// Free room asked for while a head or a chunk-size line is awaited.
const READ_SIZE: usize = 4096;

/// Which kind of message is read: its start line's parser and its framing defaults. A plain
/// function pointer rather than an enum, so a binary that only reads responses (every
/// bootstrap) never links the request parser.
#[derive(Clone, Copy)]
pub(crate) struct Kind {
    parse: for<'b> fn(&mut [httparse::Header<'b>], &'b [u8]) -> httparse::Result<Line>,
    /// A body without a length is empty (requests) rather than running to the end of the
    /// connection (responses); 1xx heads are not skipped.
    request: bool,
}

impl Kind {
    /// A response (the runtime's side).
    pub(crate) const RESPONSE: Kind = Kind {
        parse: parse_status_line,
        request: false,
    };
    /// A request (a listener's side).
    #[allow(dead_code)]
    pub(crate) const REQUEST: Kind = Kind {
        parse: parse_request_line,
        request: true,
    };
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.request { "Request" } else { "Response" })
    }
}

/// What a start line parser found: head length, status (0 for a request), HTTP minor version,
/// method and target offsets (requests), and how many headers were filled in.
#[derive(Clone, Copy)]
pub(crate) struct Line {
    len: usize,
    status: u16,
    version: Option<u8>,
    method: Span,
    target: Span,
    headers: usize,
}

fn offset(buf: &[u8], v: &[u8]) -> Span {
    let start = v.as_ptr() as usize - buf.as_ptr() as usize;
    Span {
        start,
        end: start + v.len(),
    }
}

fn parse_status_line<'b>(
    headers: &mut [httparse::Header<'b>],
    buf: &'b [u8],
) -> httparse::Result<Line> {
    let mut resp = httparse::Response::new(headers);
    let httparse::Status::Complete(len) = resp.parse(buf)? else {
        return Ok(httparse::Status::Partial);
    };
    Ok(httparse::Status::Complete(Line {
        len,
        status: resp.code.unwrap_or(0),
        version: resp.version,
        method: Span::default(),
        target: Span::default(),
        headers: resp.headers.len(),
    }))
}

fn parse_request_line<'b>(
    headers: &mut [httparse::Header<'b>],
    buf: &'b [u8],
) -> httparse::Result<Line> {
    let mut req = httparse::Request::new(headers);
    let httparse::Status::Complete(len) = req.parse(buf)? else {
        return Ok(httparse::Status::Partial);
    };
    Ok(httparse::Status::Complete(Line {
        len,
        status: 0,
        version: req.version,
        method: req
            .method
            .map_or_else(Span::default, |m| offset(buf, m.as_bytes())),
        target: req
            .path
            .map_or_else(Span::default, |p| offset(buf, p.as_bytes())),
        headers: req.headers.len(),
    }))
}

/// How the body that follows a head is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// A parsed head. `found[i]` is the value of the reader's `wanted[i]` (the last one if repeated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    /// The status of a response; 0 for a request.
    pub(crate) status: u16,
    /// The method and target of a request; empty for a response.
    pub(crate) method: Span,
    pub(crate) target: Span,
    /// Bytes of the head, final blank line included; the body starts here.
    pub(crate) len: usize,
    pub(crate) framing: Framing,
    /// The peer will close the connection after this message.
    pub(crate) close: bool,
    pub(crate) found: [Option<Span>; MAX_WANTED],
}

/// What [`Reader::advance`] asks of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Read more bytes after `buf[..filled]`; this much free room (at least) is useful.
    NeedMore(usize),
    /// The head is complete ([`Reader::head`]); the body follows. Returned once.
    Head,
    /// The message is complete: [`Reader::head`], [`Reader::body`], [`Reader::end`].
    Complete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Head,
    Body,
    Done,
}

/// Reads one message; see the module documentation.
#[derive(Clone, Debug)]
pub(crate) struct Reader {
    kind: Kind,
    wanted: &'static [&'static str],
    state: State,
    head: Option<Head>,
    chunks: ChunkedDecoder,
    /// Decoding positions in the buffer: bytes before `read` are consumed, decoded body bytes
    /// end at `write` (`write <= read`).
    read: usize,
    write: usize,
    body: Span,
}

impl Reader {
    /// A reader of one message, looking up the headers named in `wanted` (at most
    /// [`MAX_WANTED`], lowercase).
    pub(crate) fn new(kind: Kind, wanted: &'static [&'static str]) -> Reader {
        debug_assert!(wanted.len() <= MAX_WANTED);
        Reader {
            kind,
            wanted,
            state: State::Head,
            head: None,
            chunks: ChunkedDecoder::default(),
            read: 0,
            write: 0,
            body: Span::default(),
        }
    }

    /// The head, once [`Progress::Head`] was returned.
    pub(crate) fn head(&self) -> Option<&Head> {
        self.head.as_ref()
    }

    /// The decoded body, once [`Progress::Complete`] was returned.
    pub(crate) fn body(&self) -> Span {
        self.body
    }

    /// Where the message ends in the buffer, once complete: bytes after it belong to none.
    pub(crate) fn end(&self) -> usize {
        self.read
    }

    /// Moves on with `buf[..*filled]`, the bytes read so far; `eof`: the peer closed the
    /// connection after them. May move bytes within `buf` (skipping a 1xx head, compacting
    /// chunked data in place) and lower `*filled` accordingly. An `Err` after [`Progress::Head`]
    /// means the head was good but the body could not be read whole.
    pub(crate) fn advance(
        &mut self,
        buf: &mut [u8],
        filled: &mut usize,
        eof: bool,
    ) -> Result<Progress, WireError> {
        match self.state {
            State::Done => Ok(Progress::Complete),
            State::Head => loop {
                let Some(head) = parse_head(self.kind, &buf[..*filled], self.wanted)? else {
                    return if eof {
                        Err(WireError::ClosedInHead)
                    } else {
                        Ok(Progress::NeedMore(READ_SIZE))
                    };
                };
                if !self.kind.request && head.status < 200 {
                    // An informational head precedes the real one: drop it.
                    buf.copy_within(head.len..*filled, 0);
                    *filled -= head.len;
                    continue;
                }
                self.read = head.len;
                self.write = head.len;
                self.head = Some(head);
                self.state = State::Body;
                return Ok(Progress::Head);
            },
            State::Body => {
                let Some(head) = self.head else {
                    return Err(WireError::BadHead);
                };
                let start = head.len;
                let need = match head.framing {
                    Framing::Length(n) if n > MAX_BODY => return Err(WireError::BodyTooLarge),
                    Framing::Length(n) => {
                        if *filled >= start + n {
                            self.read = start + n;
                            return Ok(self.complete(start, start + n));
                        }
                        start + n - *filled
                    }
                    Framing::Chunked => {
                        let (mut read, mut write) = (self.read, self.write);
                        let done = self
                            .chunks
                            .decode(&mut buf[..*filled], &mut read, &mut write);
                        // Keep the buffer to decoded body + the undecoded tail.
                        buf.copy_within(read..*filled, write);
                        *filled -= read - write;
                        (self.read, self.write) = (write, write);
                        if done? {
                            // The trailers were consumed too; what follows is not ours.
                            return Ok(self.complete(start, write));
                        }
                        if *filled >= MAX_MESSAGE {
                            return Err(WireError::BodyTooLarge);
                        }
                        self.chunks.data_remaining().max(READ_SIZE)
                    }
                    Framing::UntilClose if eof => {
                        self.read = *filled;
                        return Ok(self.complete(start, *filled));
                    }
                    Framing::UntilClose => {
                        if *filled - start > MAX_BODY {
                            return Err(WireError::BodyTooLarge);
                        }
                        4 * READ_SIZE
                    }
                };
                if eof {
                    return Err(WireError::Truncated);
                }
                Ok(Progress::NeedMore(need))
            }
        }
    }

    fn complete(&mut self, start: usize, end: usize) -> Progress {
        self.body = Span { start, end };
        self.state = State::Done;
        Progress::Complete
    }
}

/// Parses a head at the start of `buf`. `Ok(None)`: not complete yet, read more.
pub(crate) fn parse_head(
    kind: Kind,
    buf: &[u8],
    wanted: &[&str],
) -> Result<Option<Head>, WireError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let line = match (kind.parse)(&mut headers, buf) {
        Ok(httparse::Status::Complete(line)) => line,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err(WireError::HeadTooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(WireError::TooManyHeaders),
        Err(_) => return Err(WireError::BadHead),
    };
    if line.len > MAX_HEAD {
        return Err(WireError::HeadTooLarge);
    }
    let status = line.status;
    let mut close = line.version == Some(0);
    let mut content_length = None;
    let mut chunked = None;
    let mut found = [None; MAX_WANTED];
    for h in &headers[..line.headers] {
        let name = h.name;
        if name.eq_ignore_ascii_case(header::CONTENT_LENGTH) {
            let n = text::parse_decimal(h.value.trim_ascii())
                .and_then(|n| usize::try_from(n).ok())
                .ok_or(WireError::BadContentLength)?;
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
                .map(<[u8]>::trim_ascii)
                .unwrap_or_default();
            chunked = Some(last.eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(header::CONNECTION) {
            let v = h.value.trim_ascii();
            if v.eq_ignore_ascii_case(b"close") {
                close = true;
            } else if v.eq_ignore_ascii_case(b"keep-alive") {
                close = false;
            }
        }
        if let Some(i) = wanted.iter().position(|w| name.eq_ignore_ascii_case(w)) {
            if let Some(slot) = found.get_mut(i) {
                *slot = Some(offset(buf, h.value));
            }
        }
    }
    let no_body = !kind.request && (status < 200 || status == 204 || status == 304);
    let framing = match (chunked, content_length) {
        _ if no_body => Framing::Length(0),
        (Some(true), _) => Framing::Chunked,
        (Some(false), _) => return Err(WireError::UnsupportedTransferEncoding),
        (None, Some(n)) => Framing::Length(n),
        (None, None) if kind.request => Framing::Length(0),
        (None, None) => Framing::UntilClose,
    };
    if framing == Framing::UntilClose {
        close = true;
    }
    Ok(Some(Head {
        status,
        method: line.method,
        target: line.target,
        len: line.len,
        framing,
        close,
        found,
    }))
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
    let ext = line[digits..].trim_ascii();
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

#[cfg(test)]
mod tests;
