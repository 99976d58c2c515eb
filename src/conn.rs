//! The one socket to the Runtime API: where it is, connecting, writing a request, reading
//! until `wire.rs` says the response is complete, and the reconnect rule.
//!
//! In scope: I/O and buffers. Out of scope: what the bytes mean (`wire.rs`) and what a status
//! means (`runtime.rs`). A `Connection` is a plain value: a program can make one per worker.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, TcpStream};

use crate::wire::{self, ChunkedDecoder, Framing, Span, WireError};

/// Where the Runtime API listens, parsed once from `AWS_LAMBDA_RUNTIME_API`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    addr: Addr,
    /// `host[:port]` as given, for the `Host` header.
    pub(crate) host: Box<str>,
    /// Path prefix before `/2018-06-01/...`, without a trailing slash (often empty).
    pub(crate) base_path: Box<str>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Addr {
    Ip(SocketAddr),
    #[cfg(feature = "dns")]
    Name(Box<str>, u16),
}

impl Endpoint {
    /// Accepts `host:port` (what Lambda sets) and `http://host:port/base` (what local
    /// emulators hand out). IPv4 and bracketed IPv6 addresses, and `localhost`, need no name
    /// resolution; other host names need the `dns` feature.
    pub(crate) fn parse(value: &str) -> Result<Endpoint, &'static str> {
        let rest = match value.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("http://") => &value[7..],
            _ if value.as_bytes().windows(3).any(|w| w == b"://") => {
                return Err("only http:// is supported");
            }
            _ => value,
        };
        // Byte searches rather than str patterns: each `str` pattern type adds a searcher to
        // every bootstrap.
        let (authority, path) =
            rest.split_at(rest.bytes().position(|b| b == b'/').unwrap_or(rest.len()));
        let base_path = &path[..path.len() - path.bytes().rev().take_while(|&b| b == b'/').count()];
        if authority.is_empty() {
            return Err("no host");
        }
        if base_path
            .bytes()
            .any(|b| b <= b' ' || b == b'?' || b == b'#' || b >= 0x7f)
        {
            return Err("the base path has spaces, control bytes, '?' or '#'");
        }
        let colon = authority
            .bytes()
            .rposition(|b| b == b':')
            .ok_or("no port")?;
        let (host, port) = (&authority[..colon], &authority[colon + 1..]);
        let port = wire::parse_decimal(port.as_bytes())
            .and_then(|p| u16::try_from(p).ok())
            .ok_or("the port is not a number from 0 to 65535")?;
        let ipv6 = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        let addr = match (parse_ipv4(host), ipv6) {
            (Some(ip), _) => Addr::Ip(SocketAddr::V4(SocketAddrV4::new(ip, port))),
            (None, Some(v6)) => Addr::Ip(SocketAddr::V6(SocketAddrV6::new(
                parse_ipv6(v6).ok_or("malformed IPv6 address")?,
                port,
                0,
                0,
            ))),
            _ if host.eq_ignore_ascii_case("localhost") => {
                Addr::Ip(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)))
            }
            _ => name_addr(host, port)?,
        };
        Ok(Endpoint {
            addr,
            host: authority.into(),
            base_path: base_path.into(),
        })
    }

    fn connect(&self) -> io::Result<TcpStream> {
        let stream = match &self.addr {
            Addr::Ip(ip) => TcpStream::connect(ip)?,
            #[cfg(feature = "dns")]
            Addr::Name(host, port) => TcpStream::connect((&**host, *port))?,
        };
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// `a.b.c.d` → the address; four decimal octets, nothing else. (Hand-written: std's address
/// parser, with its IPv6 half, costs ~2.5 KB in every bootstrap.)
fn parse_ipv4(host: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = host.as_bytes().split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.len() > 3 {
            return None;
        }
        *octet = u8::try_from(wire::parse_decimal(part)?).ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

/// `::1`, `::`, `fe80::1:2`, `2001:db8:0:0:0:0:0:1`: eight hex groups, or fewer around one
/// `::`. (Hand-written, like [`parse_ipv4`]; embedded IPv4 forms are not accepted.)
/// cargo-lambda hands out `http://[::]:9000/.rt/…`, so this is needed without the `dns` feature.
fn parse_ipv6(host: &str) -> Option<Ipv6Addr> {
    fn groups(part: &[u8], out: &mut [u16; 8], n: &mut usize) -> Option<()> {
        if part.is_empty() {
            return Some(());
        }
        for group in part.split(|&b| b == b':') {
            if group.is_empty() || group.len() > 4 || *n == 8 {
                return None;
            }
            out[*n] = group.iter().try_fold(0u16, |v, &b| {
                Some(v << 4 | (b as char).to_digit(16)? as u16)
            })?;
            *n += 1;
        }
        Some(())
    }
    let bytes = host.as_bytes();
    let (mut head, mut tail) = ([0u16; 8], [0u16; 8]);
    let (mut nh, mut nt) = (0, 0);
    match bytes.windows(2).position(|w| w == b"::") {
        Some(i) => {
            groups(&bytes[..i], &mut head, &mut nh)?;
            groups(&bytes[i + 2..], &mut tail, &mut nt)?;
            if nh + nt > 7 {
                return None;
            }
        }
        None => {
            groups(bytes, &mut head, &mut nh)?;
            if nh != 8 {
                return None;
            }
        }
    }
    head[8 - nt..].copy_from_slice(&tail[..nt]);
    Some(Ipv6Addr::from(head))
}

#[cfg(feature = "dns")]
fn name_addr(host: &str, port: u16) -> Result<Addr, &'static str> {
    let name_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
    if host.is_empty() || !host.bytes().all(name_byte) {
        return Err("the host is neither an IP address nor a host name");
    }
    Ok(Addr::Name(host.into(), port))
}

#[cfg(not(feature = "dns"))]
fn name_addr(_host: &str, _port: u16) -> Result<Addr, &'static str> {
    Err("host names other than localhost need lambda-lite's `dns` feature; use an IP address")
}

/// A response read by [`Connection::exchange`]; spans point into [`Connection::inbox`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Response<const K: usize> {
    pub(crate) status: u16,
    pub(crate) found: [Option<Span>; K],
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
                    let mut digits = Vec::new();
                    wire::push_decimal(&mut digits, code.unsigned_abs() as usize);
                    out.push_str(" (os error ");
                    out.push_str(std::str::from_utf8(&digits).unwrap_or_default());
                    out.push(')');
                }
            }
        }
    }
}

/// Hard cap on the receive buffer: a head, a body and one partial chunk line.
const MAX_INBOX: usize = wire::MAX_HEAD + wire::MAX_BODY + 2 * wire::MAX_LINE;
const INITIAL_INBOX: usize = 4096;

/// One keep-alive HTTP/1.1 connection to the Runtime API, with its receive buffer.
pub(crate) struct Connection {
    endpoint: Endpoint,
    stream: Option<TcpStream>,
    /// Receive buffer, kept across requests; only ever grows (up to [`MAX_INBOX`]).
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
            endpoint,
            stream: None,
            inbox: Vec::new(),
        }
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The bytes the spans of the last [`Response`] point into.
    pub(crate) fn inbox(&self) -> &[u8] {
        &self.inbox
    }

    /// Sends `head` then `body` and reads the response.
    ///
    /// The reconnect rule: if the kept connection turns out dead (the write fails, or EOF or
    /// reset arrives before the first byte of the response) the request is sent once more on a
    /// new connection. A request whose response had started to arrive is never resent.
    pub(crate) fn exchange<const K: usize>(
        &mut self,
        head: &[u8],
        body: &[u8],
        wanted: &[&str; K],
    ) -> Result<Response<K>, ExchangeError> {
        let mut retried = false;
        loop {
            let failure = match self.try_exchange(head, body, wanted) {
                Ok(resp) => return Ok(resp),
                Err(ReadError::Started(e)) => {
                    self.stream = None;
                    return Err(e);
                }
                Err(ReadError::BeforeFirstByte(e)) => e,
            };
            self.stream = None;
            if retried {
                return Err(ExchangeError::Io(failure));
            }
            retried = true;
        }
    }

    fn try_exchange<const K: usize>(
        &mut self,
        head: &[u8],
        body: &[u8],
        wanted: &[&str; K],
    ) -> Result<Response<K>, ReadError> {
        let stream = match &mut self.stream {
            Some(s) => s,
            None => self.stream.insert(
                self.endpoint
                    .connect()
                    .map_err(ReadError::BeforeFirstByte)?,
            ),
        };
        write_all_vectored(stream, &mut [IoSlice::new(head), IoSlice::new(body)])
            .map_err(ReadError::BeforeFirstByte)?;
        let resp = read_response(stream, &mut self.inbox, wanted)?;
        if resp.1 {
            self.stream = None;
        }
        Ok(resp.0)
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

/// Makes `inbox[filled..]` at least `want` bytes long (capped at [`MAX_INBOX`]).
///
/// Grows by allocating zeroed memory (calloc) and copying what was read (memcpy), rather than
/// `Vec::resize`, which at opt-level "z" zero-fills one byte per loop turn: that alone cost
/// ~100K instructions before the first `GET /next`.
fn make_room(inbox: &mut Vec<u8>, filled: usize, want: usize) {
    if inbox.len() - filled < want {
        let len = (filled + want)
            .max(inbox.len() * 2)
            .clamp(INITIAL_INBOX, MAX_INBOX);
        let mut grown = vec![0u8; len];
        grown[..filled].copy_from_slice(&inbox[..filled]);
        *inbox = grown;
    }
}

/// Reads into `inbox[*filled..]`; `Ok(0)` is EOF. Retries on EINTR.
fn fill(stream: &mut impl Read, inbox: &mut [u8], filled: &mut usize) -> io::Result<usize> {
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

/// Reads one response into `inbox`. Returns it and whether the connection must be dropped.
/// Generic over the reader only so the fuzz targets can feed it from memory.
pub(crate) fn read_response<const K: usize>(
    stream: &mut impl Read,
    inbox: &mut Vec<u8>,
    wanted: &[&str; K],
) -> Result<(Response<K>, bool), ReadError> {
    let mut filled = 0;
    let head = loop {
        match wire::parse_head(&inbox[..filled], wanted) {
            // 1xx informational heads precede the real one: drop them.
            Ok(Some(h)) if h.status < 200 => {
                inbox.copy_within(h.len..filled, 0);
                filled -= h.len;
                continue;
            }
            Ok(Some(h)) => break h,
            Ok(None) => {}
            Err(e) => return Err(ReadError::Started(ExchangeError::Wire(e))),
        }
        make_room(inbox, filled, 4096);
        let started = filled > 0;
        match fill(stream, inbox, &mut filled) {
            Ok(0) if !started => {
                return Err(ReadError::BeforeFirstByte(
                    io::ErrorKind::UnexpectedEof.into(),
                ));
            }
            Ok(0) => {
                return Err(ReadError::Started(ExchangeError::Io(
                    io::ErrorKind::UnexpectedEof.into(),
                )));
            }
            Ok(_) => {}
            Err(e) if !started => return Err(ReadError::BeforeFirstByte(e)),
            Err(e) => return Err(ReadError::Started(ExchangeError::Io(e))),
        }
    };
    let body = read_body(stream, inbox, filled, head.len, head.framing);
    let close = head.close || body.is_err();
    Ok((
        Response {
            status: head.status,
            found: head.found,
            body,
        },
        close,
    ))
}

/// Reads the body that starts at `inbox[start..]`, `filled` bytes being already there.
fn read_body(
    stream: &mut impl Read,
    inbox: &mut Vec<u8>,
    mut filled: usize,
    start: usize,
    framing: Framing,
) -> Result<Span, WireError> {
    match framing {
        Framing::Length(n) if n > wire::MAX_BODY => Err(WireError::BodyTooLarge),
        Framing::Length(n) => {
            let end = start + n;
            make_room(inbox, filled, end.saturating_sub(filled));
            while filled < end {
                if fill(stream, &mut inbox[..end], &mut filled).map_err(|_| WireError::Truncated)?
                    == 0
                {
                    return Err(WireError::Truncated);
                }
            }
            Ok(Span { start, end })
        }
        Framing::Chunked => {
            let mut decoder = ChunkedDecoder::default();
            let (mut read, mut write) = (start, start);
            loop {
                if decoder.decode(&mut inbox[..filled], &mut read, &mut write)? {
                    return Ok(Span { start, end: write });
                }
                // Keep the buffer to decoded body + the undecoded tail.
                inbox.copy_within(read..filled, write);
                filled -= read - write;
                read = write;
                if filled >= MAX_INBOX {
                    return Err(WireError::BodyTooLarge);
                }
                make_room(inbox, filled, decoder.data_remaining().max(4096));
                if fill(stream, inbox, &mut filled).map_err(|_| WireError::Truncated)? == 0 {
                    return Err(WireError::Truncated);
                }
            }
        }
        Framing::UntilClose => loop {
            if filled - start > wire::MAX_BODY {
                return Err(WireError::BodyTooLarge);
            }
            make_room(inbox, filled, 16 * 1024);
            if fill(stream, inbox, &mut filled).map_err(|_| WireError::Truncated)? == 0 {
                return Ok(Span { start, end: filled });
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_forms() {
        let e = Endpoint::parse("127.0.0.1:9001").unwrap();
        assert_eq!(e.addr, Addr::Ip("127.0.0.1:9001".parse().unwrap()));
        assert_eq!((&*e.host, &*e.base_path), ("127.0.0.1:9001", ""));
        let e = Endpoint::parse("http://127.0.0.1:9000/.rt").unwrap();
        assert_eq!((&*e.host, &*e.base_path), ("127.0.0.1:9000", "/.rt"));
        let e = Endpoint::parse("HTTP://10.0.0.255:65535/a/b/").unwrap();
        assert_eq!(e.addr, Addr::Ip("10.0.0.255:65535".parse().unwrap()));
        assert_eq!(&*e.base_path, "/a/b");
        let e = Endpoint::parse("localhost:9001").unwrap();
        assert_eq!(e.addr, Addr::Ip("127.0.0.1:9001".parse().unwrap()));
        assert_eq!(&*e.host, "localhost:9001");
    }

    #[test]
    fn endpoint_rejects_malformed() {
        for bad in [
            "",
            "127.0.0.1",
            "https://127.0.0.1:9001",
            "127.0.0.1:x",
            "127.0.0.1:65536",
            "127.0.0.1:-1",
            "http:///p",
            "1.2.3.4:5/a b",
            ":9001",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn ipv4_is_parsed_strictly() {
        assert_eq!(parse_ipv4("127.0.0.1"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(parse_ipv4("255.255.255.255"), Some(Ipv4Addr::BROADCAST));
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4.5",
            "256.0.0.1",
            "1..2.3",
            "+1.2.3.4",
            "1.2.3.4 ",
            "0001.2.3.4",
            "a.b.c.d",
        ] {
            assert_eq!(parse_ipv4(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ipv6_is_parsed_like_std_does() {
        for good in [
            "::",
            "::1",
            "1::",
            "fe80::1:2",
            "2001:db8:0:0:0:0:0:1",
            "2001:DB8::8:800:200C:417A",
            "1:2:3:4:5:6::8",
            "1::3:4:5:6:7:8",
        ] {
            assert_eq!(parse_ipv6(good), good.parse().ok(), "{good}");
        }
        for bad in [
            "",
            ":",
            ":::",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9",
            "1::2::3",
            "12345::",
            "g::",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:7:8::",
        ] {
            assert_eq!(parse_ipv6(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cargo_lambda_address_is_accepted() {
        let e = Endpoint::parse("http://[::]:9000/.rt/_").unwrap();
        assert_eq!(e.addr, Addr::Ip("[::]:9000".parse().unwrap()));
        assert_eq!((&*e.host, &*e.base_path), ("[::]:9000", "/.rt/_"));
    }

    #[cfg(not(feature = "dns"))]
    #[test]
    fn host_names_need_the_dns_feature() {
        let err = Endpoint::parse("runtime.internal:9001").unwrap_err();
        assert!(err.contains("dns"), "{err}");
    }

    #[cfg(feature = "dns")]
    #[test]
    fn dns_feature_accepts_host_names() {
        assert!(Endpoint::parse("runtime.internal:9001").is_ok());
    }
}
