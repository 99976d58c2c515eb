//! The one socket to the Runtime API: connecting, writing requests, reading until the protocol
//! reader (`proto::message`) says a message is complete, and the reconnect rule.
//!
//! In scope: I/O and buffers. Out of scope: what the bytes mean (`proto/`) and what a status
//! means (`proto::policy`). A `Connection` is a plain value: a program makes one per worker.

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;

use crate::endpoint::Endpoint;
use crate::proto::message::{Kind, MAX_WANTED, Progress, Reader};
use crate::proto::{MAX_MESSAGE, Span, WireError};
use crate::text;

/// A response read by [`Connection::exchange`]; spans point into [`Connection::inbox`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// The values of the `wanted` headers, in their order.
    pub(crate) found: [Option<Span>; MAX_WANTED],
    /// The body, or why it could not be read whole (the head was fine, the socket is dropped).
    pub(crate) body: Result<Span, WireError>,
}

/// Why an exchange produced no response head.
#[derive(Debug)]
pub(crate) enum ExchangeError {
    /// Connecting, writing or reading failed, after the one reconnect the rule allows.
    Io(io::Error),
    /// The server's head could not be understood.
    Wire(WireError),
}

impl ExchangeError {
    /// Appends a one-line description (without the formatting machinery: this is in every
    /// bootstrap, and io::Error's `Display` is not otherwise linked).
    #[cold]
    pub(crate) fn describe(&self, out: &mut String) {
        match self {
            ExchangeError::Wire(e) => out.push_str(e.as_str()),
            ExchangeError::Io(e) => {
                out.push_str(match e.kind() {
                    io::ErrorKind::ConnectionRefused => "connection refused",
                    io::ErrorKind::ConnectionReset => "connection reset",
                    io::ErrorKind::ConnectionAborted => "connection aborted",
                    io::ErrorKind::BrokenPipe => "broken pipe",
                    io::ErrorKind::UnexpectedEof => "connection closed before a complete response",
                    io::ErrorKind::AddrNotAvailable => "address not available",
                    io::ErrorKind::TimedOut => "timed out",
                    io::ErrorKind::NotFound => "host not found",
                    _ => "I/O error",
                });
                if let Some(code) = e.raw_os_error() {
                    let mut digits = [0u8; 20];
                    let digits = text::decimal(&mut digits, u64::from(code.unsigned_abs()));
                    out.push_str(" (os error ");
                    out.push_str(std::str::from_utf8(digits).unwrap_or_default());
                    out.push(')');
                }
            }
        }
    }
}

const INITIAL_INBOX: usize = 4096;

/// The sending half of a connection: where it goes and the socket, once connected.
pub(crate) struct Link {
    endpoint: Endpoint,
    stream: Option<TcpStream>,
}

impl Link {
    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Writes all of `bufs` in as few system calls as the kernel allows, connecting first if
    /// there is no connection. On failure the connection is kept, so an answer the server
    /// sent before it stopped reading can still be read.
    pub(crate) fn send(&mut self, bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
        let stream = match &mut self.stream {
            Some(s) => s,
            None => self.stream.insert(self.endpoint.connect()?),
        };
        write_all_vectored(stream, bufs)
    }

    /// The socket, if connected (the abort-mode panic report writes on a copy of it).
    #[cfg(panic = "abort")]
    pub(crate) fn stream(&self) -> Option<&TcpStream> {
        self.stream.as_ref()
    }

    /// Drops the kept connection if the server has closed it (or sent something unasked).
    pub(crate) fn drop_if_closed(&mut self) {
        if self.stream.as_ref().is_some_and(crate::sys::peer_closed) {
            self.stream = None;
        }
    }

    /// Drops the connection; the next [`Link::send`] makes a new one.
    pub(crate) fn disconnect(&mut self) {
        self.stream = None;
    }
}

/// One keep-alive HTTP/1.1 connection to the Runtime API, with its receive buffer.
pub(crate) struct Connection {
    link: Link,
    /// Receive buffer, kept across requests; only ever grows (up to [`MAX_MESSAGE`]).
    inbox: Vec<u8>,
}

/// How reading a response failed: before its first byte (the request may be resent on a new
/// connection) or after (never resent).
pub(crate) enum ReadError {
    BeforeFirstByte(io::Error),
    Started(ExchangeError),
}

impl Connection {
    /// A connection that connects on first use.
    pub(crate) fn new(endpoint: Endpoint) -> Connection {
        Connection {
            link: Link {
                endpoint,
                stream: None,
            },
            inbox: Vec::new(),
        }
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.link.endpoint
    }

    /// The bytes the spans of the last [`Reply`] point into.
    pub(crate) fn inbox(&self) -> &[u8] {
        &self.inbox
    }

    /// The last response's bytes and the sending half, borrowed apart: a streamed answer is
    /// written while the invocation's `Context` still borrows its `/next` response.
    pub(crate) fn split(&mut self) -> (&[u8], &mut Link) {
        (&self.inbox, &mut self.link)
    }

    /// The socket's descriptor, to wait for it beside another (`sys::wait_readable`).
    pub(crate) fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        self.link.stream.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Drops the connection (SnapStart: a connection made before the snapshot is stale).
    pub(crate) fn disconnect(&mut self) {
        self.link.disconnect();
    }

    /// Sends `head` then `body` and reads the response, looking up the `wanted` headers.
    ///
    /// The reconnect rule: if the kept connection turns out dead (the write fails, or EOF or
    /// reset arrives before the first byte of the response) the request is sent once more on a
    /// new connection. A request whose response had started to arrive is never resent.
    pub(crate) fn exchange(
        &mut self,
        head: &[u8],
        body: &[u8],
        wanted: &'static [&'static str],
    ) -> Result<Reply, ExchangeError> {
        let sent = self.send(head, body);
        self.finish_exchange(sent, head, body, wanted)
    }

    /// Sends `head` then `body`, once; [`Connection::finish_exchange`] reads the answer.
    pub(crate) fn send(&mut self, head: &[u8], body: &[u8]) -> io::Result<()> {
        let sent = self
            .link
            .send(&mut [IoSlice::new(head), IoSlice::new(body)]);
        if sent.is_err() {
            self.link.disconnect();
        }
        sent
    }

    /// The rest of [`Connection::exchange`] after [`Connection::send`] returned `sent`.
    pub(crate) fn finish_exchange(
        &mut self,
        sent: io::Result<()>,
        head: &[u8],
        body: &[u8],
        wanted: &'static [&'static str],
    ) -> Result<Reply, ExchangeError> {
        let first = match sent {
            Ok(()) => self.try_receive(wanted),
            Err(e) => Err(ReadError::BeforeFirstByte(e)),
        };
        match first {
            Ok(response) => return Ok(response),
            Err(ReadError::Started(e)) => return Err(e),
            Err(ReadError::BeforeFirstByte(_)) => {}
        }
        // The kept connection was dead: once more, on a new one.
        self.send(head, body).map_err(ExchangeError::Io)?;
        self.receive(wanted)
    }

    /// Reads the answer to a request already written (a streamed response through
    /// [`Connection::split`]'s link, or a resent request). Nothing is resent.
    pub(crate) fn receive(
        &mut self,
        wanted: &'static [&'static str],
    ) -> Result<Reply, ExchangeError> {
        match self.try_receive(wanted) {
            Ok(response) => Ok(response),
            Err(ReadError::Started(e)) => Err(e),
            Err(ReadError::BeforeFirstByte(e)) => Err(ExchangeError::Io(e)),
        }
    }

    fn try_receive(&mut self, wanted: &'static [&'static str]) -> Result<Reply, ReadError> {
        let Some(stream) = &mut self.link.stream else {
            return Err(ReadError::BeforeFirstByte(
                io::ErrorKind::NotConnected.into(),
            ));
        };
        let result = read_response(stream, &mut self.inbox, wanted);
        if !matches!(result, Ok((_, false))) {
            self.link.stream = None;
        }
        result.map(|(response, _)| response)
    }
}

fn write_all_vectored(stream: &mut TcpStream, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match stream.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Makes `inbox[filled..]` at least `want` bytes long (capped at [`MAX_MESSAGE`]).
///
/// Grows by allocating zeroed memory (calloc) and copying what was read (memcpy), rather than
/// `Vec::resize`, which at opt-level "z" zero-fills one byte per loop turn: that alone cost
/// ~100K instructions before the first `GET /next`.
fn make_room(inbox: &mut Vec<u8>, filled: usize, want: usize) {
    if inbox.len() - filled < want {
        let len = (filled + want)
            .max(inbox.len() * 2)
            .clamp(INITIAL_INBOX, MAX_MESSAGE);
        let mut grown = vec![0u8; len];
        grown[..filled].copy_from_slice(&inbox[..filled]);
        *inbox = grown;
    }
}

/// Reads into `inbox[*filled..]`; `Ok(0)` is EOF. Retries on EINTR.
fn fill(stream: &mut dyn Read, inbox: &mut [u8], filled: &mut usize) -> io::Result<usize> {
    loop {
        match stream.read(&mut inbox[*filled..]) {
            Ok(n) => {
                *filled += n;
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads one message from `stream` into `inbox` with `reader`, which says when it is complete.
/// Returns how many bytes of `inbox` hold it (and whatever followed it). `Started` errors
/// after the head are left for the caller to find in `reader`.
pub(crate) fn read_message(
    stream: &mut dyn Read,
    inbox: &mut Vec<u8>,
    reader: &mut Reader,
) -> Result<usize, ReadError> {
    let mut filled = 0;
    let mut eof = false;
    // Any byte of an answer (a 1xx skipped since included) means it started: never resent.
    let mut started = false;
    loop {
        match reader.advance(inbox, &mut filled, eof) {
            Ok(Progress::Complete) => return Ok(filled),
            Ok(Progress::Head) => {}
            Ok(Progress::NeedMore(room)) => {
                make_room(inbox, filled, room);
                if filled == inbox.len() {
                    return Err(ReadError::Started(ExchangeError::Wire(
                        WireError::BodyTooLarge,
                    )));
                }
                match fill(stream, inbox, &mut filled) {
                    Ok(0) if !started => {
                        return Err(ReadError::BeforeFirstByte(
                            io::ErrorKind::UnexpectedEof.into(),
                        ));
                    }
                    Ok(0) => eof = true,
                    Ok(_) => started = true,
                    Err(e) if !started => return Err(ReadError::BeforeFirstByte(e)),
                    Err(_) if reader.head().is_some() => {
                        return Err(ReadError::Started(ExchangeError::Wire(
                            WireError::Truncated,
                        )));
                    }
                    Err(e) => return Err(ReadError::Started(ExchangeError::Io(e))),
                }
            }
            Err(e) => return Err(ReadError::Started(ExchangeError::Wire(e))),
        }
    }
}

/// Reads one response into `inbox`. Returns it and whether the connection must be dropped.
pub(crate) fn read_response(
    stream: &mut dyn Read,
    inbox: &mut Vec<u8>,
    wanted: &'static [&'static str],
) -> Result<(Reply, bool), ReadError> {
    let mut reader = Reader::new(Kind::RESPONSE, wanted);
    let read = read_message(stream, inbox, &mut reader);
    let Some(head) = reader.head() else {
        return Err(match read {
            Err(e) => e,
            Ok(_) => ReadError::Started(ExchangeError::Wire(WireError::BadHead)),
        });
    };
    let (body, close) = match read {
        // Bytes after the response belong to no request: start afresh next time.
        Ok(filled) => (Ok(reader.body()), head.close || filled > reader.end()),
        Err(ReadError::Started(ExchangeError::Wire(e))) => (Err(e), true),
        Err(_) => (Err(WireError::Truncated), true),
    };
    Ok((
        Reply {
            status: head.status,
            found: head.found,
            body,
        },
        close,
    ))
}
