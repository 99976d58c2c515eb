//! HTTP/1.1 to AWS endpoints: plain TCP or rustls over it, one request at a time on a
//! keep-alive connection, responses read by the runtime's own message reader
//! (`proto::message`, the code every bootstrap already has). Every connect, write and read is
//! bounded by the call's deadline.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::proto::message::{Framing, Kind, Progress, Reader};

/// Where requests go: scheme, host and port of an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) https: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Target {
    /// `http[s]://host[:port][/path]` → the target and the path (`/` if none).
    pub(crate) fn parse(url: &str) -> Option<(Target, String)> {
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else {
            (false, url.strip_prefix("http://")?)
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        let (host, port) = match authority.strip_prefix('[') {
            // [::1]:8080
            Some(v6) => {
                let (host, rest) = v6.split_once(']')?;
                let port = match rest.strip_prefix(':') {
                    Some(p) => p.parse().ok()?,
                    None if rest.is_empty() => default_port(https),
                    None => return None,
                };
                (host.to_owned(), port)
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_owned(), port.parse().ok()?),
                None => (authority.to_owned(), default_port(https)),
            },
        };
        if host.is_empty() || authority.contains('@') {
            return None;
        }
        Some((Target { https, host, port }, path))
    }

    /// The `Host` header: the port only where it is not the scheme's default.
    pub(crate) fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default_port(self.https) {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

fn default_port(https: bool) -> u16 {
    if https { 443 } else { 80 }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn socket(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// The response headers a caller may need, in this order in [`Reply::headers`].
pub(crate) const WANTED: &[&str] = &[
    "x-amzn-requestid",
    "x-amz-request-id",
    "x-amzn-errortype",
    "date",
    "content-type",
    "etag",
    "x-amz-function-error",
    "content-length",
];
pub(crate) const REQUEST_ID: usize = 0;
pub(crate) const S3_REQUEST_ID: usize = 1;
pub(crate) const ERROR_TYPE: usize = 2;
pub(crate) const DATE: usize = 3;
pub(crate) const CONTENT_TYPE: usize = 4;
pub(crate) const ETAG: usize = 5;
pub(crate) const FUNCTION_ERROR: usize = 6;
pub(crate) const CONTENT_LENGTH: usize = 7;

/// The wanted headers' values.
pub(crate) type Headers = [Option<String>; 8];

/// A response, read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// The values of [`WANTED`], in its order.
    pub(crate) headers: Headers,
    pub(crate) body: Vec<u8>,
}

/// Why no reply came back.
#[derive(Debug)]
pub(crate) struct Failure {
    /// Nothing of an answer was read: on a kept connection, it was dead before this request
    /// (resend on a new one).
    pub(crate) before_answer: bool,
    pub(crate) error: io::Error,
}

impl Failure {
    fn io(error: io::Error, before_answer: bool) -> Failure {
        Failure {
            before_answer,
            error,
        }
    }
}

/// One keep-alive connection to one endpoint, and its receive buffer.
pub(crate) struct Connection {
    pub(crate) target: Target,
    stream: Stream,
    inbox: Vec<u8>,
}

impl Connection {
    /// Connects (and, for https, starts TLS), giving up at `deadline`.
    pub(crate) fn open(
        target: &Target,
        tls: Option<&Arc<rustls::ClientConfig>>,
        deadline: Instant,
    ) -> io::Result<Connection> {
        let socket = connect(target, deadline)?;
        let stream = match (target.https, tls) {
            (false, _) => Stream::Plain(socket),
            (true, Some(config)) => {
                let name =
                    rustls::pki_types::ServerName::try_from(target.host.clone()).map_err(|_| {
                        io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("{} is not a host name", target.host),
                        )
                    })?;
                let tls = rustls::ClientConnection::new(config.clone(), name)
                    .map_err(io::Error::other)?;
                Stream::Tls(Box::new(rustls::StreamOwned::new(tls, socket)))
            }
            (true, None) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "https without a TLS configuration",
                ));
            }
        };
        Ok(Connection {
            target: target.clone(),
            stream,
            inbox: Vec::new(),
        })
    }
}

/// The largest answer read whole (DynamoDB's `BatchGetItem` answers up to 16 MB).
const MAX_WHOLE_BODY: usize = 32 << 20;

/// Reads a body to its end, refusing one over [`MAX_WHOLE_BODY`] (the one bound of every
/// answer read whole).
pub(crate) fn read_whole(body: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    body.take(MAX_WHOLE_BODY as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > MAX_WHOLE_BODY {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "an answer over 32 MiB",
        ));
    }
    Ok(bytes)
}

/// The body of a [`Connection::start`]ed response, as a reader.
struct BodyReader<'a> {
    connection: &'a mut Connection,
    started: &'a mut Started,
}

impl Read for BodyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.connection.read_body(self.started, buf)
    }
}

/// A response whose head was read and whose body is read as the caller asks
/// ([`Connection::start`]).
pub(crate) struct Started {
    pub(crate) status: u16,
    pub(crate) headers: Headers,
    framing: Framing,
    close: bool,
    /// Body bytes already in the receive buffer: `inbox[at..end]`.
    at: usize,
    end: usize,
    /// Body bytes still to come from the socket (`Framing::Length`).
    left: u64,
    done: bool,
}

impl Connection {
    /// Sends a request and reads the head of its response; the body is read with
    /// [`Connection::read_body`]. A chunked body is read whole first (up to the reader's cap).
    pub(crate) fn start(
        &mut self,
        head: &[u8],
        body: &[u8],
        deadline: Instant,
    ) -> Result<Started, Failure> {
        let remaining = remaining(deadline).map_err(|e| Failure::io(e, true))?;
        let socket = self.stream.socket();
        socket
            .set_write_timeout(Some(remaining))
            .map_err(|e| Failure::io(e, true))?;
        socket
            .set_read_timeout(Some(remaining))
            .map_err(|e| Failure::io(e, true))?;
        let written = self
            .stream
            .write_all(head)
            .and_then(|()| self.stream.write_all(body))
            .and_then(|()| self.stream.flush());
        if let Err(e) = written {
            return Err(Failure::io(e, true));
        }
        let mut reader = Reader::new(Kind::RESPONSE, WANTED);
        let mut filled = 0;
        let mut eof = false;
        let mut head_seen = false;
        loop {
            let progress = reader
                .advance(&mut self.inbox, &mut filled, eof)
                .map_err(|wire| {
                    Failure::io(
                        io::Error::new(io::ErrorKind::InvalidData, wire.as_str()),
                        filled == 0,
                    )
                })?;
            let head = reader.head().copied();
            match (progress, head) {
                (Progress::Complete, Some(head)) => {
                    let body = reader.body();
                    return Ok(self.started(&head, body.start, body.end, 0, true));
                }
                (Progress::Head, Some(head)) if head.framing != Framing::Chunked => {
                    let left = match head.framing {
                        Framing::Length(n) => (n as u64).saturating_sub((filled - head.len) as u64),
                        _ => 0,
                    };
                    let end = match head.framing {
                        Framing::Length(n) => filled.min(head.len + n),
                        _ => filled,
                    };
                    return Ok(self.started(&head, head.len, end, left, false));
                }
                (Progress::Head, _) => head_seen = true,
                (Progress::NeedMore(room), _) => {
                    if self.inbox.len() - filled < room {
                        self.inbox.resize(filled + room.max(16 * 1024), 0);
                    }
                    match self.stream.read(&mut self.inbox[filled..]) {
                        Ok(0) if filled == 0 => {
                            return Err(Failure::io(io::ErrorKind::UnexpectedEof.into(), true));
                        }
                        Ok(0) => eof = true,
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(Failure::io(e, filled == 0 && !head_seen)),
                    }
                }
                (_, None) => {
                    return Err(Failure::io(
                        io::Error::new(io::ErrorKind::InvalidData, "no response head"),
                        false,
                    ));
                }
            }
        }
    }

    fn started(
        &self,
        head: &crate::proto::message::Head,
        at: usize,
        end: usize,
        left: u64,
        done: bool,
    ) -> Started {
        let headers = std::array::from_fn(|i| {
            head.found[i].map(|s| String::from_utf8_lossy(s.of(&self.inbox)).into_owned())
        });
        Started {
            status: head.status,
            headers,
            framing: head.framing,
            close: head.close,
            at,
            end,
            left,
            done: done && at == end,
        }
    }

    /// Reads the next body bytes of a [`Connection::start`]ed response; `Ok(0)` at its end.
    pub(crate) fn read_body(&mut self, started: &mut Started, buf: &mut [u8]) -> io::Result<usize> {
        if started.at < started.end {
            let n = buf.len().min(started.end - started.at);
            buf[..n].copy_from_slice(&self.inbox[started.at..started.at + n]);
            started.at += n;
            if started.at == started.end
                && started.left == 0
                && started.framing != Framing::UntilClose
            {
                started.done = true;
            }
            return Ok(n);
        }
        let want = match started.framing {
            Framing::Length(_) if started.left == 0 => {
                started.done = true;
                return Ok(0);
            }
            Framing::Length(_) => buf
                .len()
                .min(usize::try_from(started.left).unwrap_or(usize::MAX)),
            Framing::UntilClose => buf.len(),
            Framing::Chunked => {
                started.done = true;
                return Ok(0);
            }
        };
        let n = self.stream.read(&mut buf[..want])?;
        if n == 0 {
            if started.framing == Framing::UntilClose {
                started.done = true;
                return Ok(0);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the connection closed before the whole body",
            ));
        }
        started.left -= n as u64;
        if started.left == 0 && started.framing != Framing::UntilClose {
            started.done = true;
        }
        Ok(n)
    }
}

impl Started {
    /// Whether the body was read to its end and the connection may carry another request.
    pub(crate) fn reusable(&self) -> bool {
        self.done && !self.close && self.framing != Framing::UntilClose
    }

    /// Whether the body was read to its end.
    pub(crate) fn finished(&self) -> bool {
        self.done
    }
}

fn remaining(deadline: Instant) -> io::Result<Duration> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "the deadline passed"))
}

fn connect(target: &Target, deadline: Instant) -> io::Result<TcpStream> {
    let mut last = io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} has no address", target.host),
    );
    for address in (target.host.as_str(), target.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&address, remaining(deadline)?) {
            Ok(socket) => {
                socket.set_nodelay(true)?;
                return Ok(socket);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// One request on a connection of its own, closed after (the container credentials endpoint).
pub(crate) fn one_shot(target: &Target, head: &[u8], timeout: Duration) -> io::Result<Reply> {
    let deadline = Instant::now() + timeout;
    let mut connection = Connection::open(target, None, deadline)?;
    let mut started = connection.start(head, &[], deadline).map_err(|f| f.error)?;
    let body = read_whole(&mut BodyReader {
        connection: &mut connection,
        started: &mut started,
    })?;
    Ok(Reply {
        status: started.status,
        headers: started.headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn endpoint_urls() {
        let t = |https, host: &str, port| Target {
            https,
            host: host.into(),
            port,
        };
        assert_eq!(
            Target::parse("https://dynamodb.us-east-1.amazonaws.com"),
            Some((t(true, "dynamodb.us-east-1.amazonaws.com", 443), "/".into()))
        );
        assert_eq!(
            Target::parse("http://127.0.0.1:5000/x?y"),
            Some((t(false, "127.0.0.1", 5000), "/x?y".into()))
        );
        assert_eq!(
            Target::parse("http://[::1]:9000"),
            Some((t(false, "::1", 9000), "/".into()))
        );
        assert_eq!(t(false, "::1", 9000).host_header(), "[::1]:9000");
        assert_eq!(
            t(true, "s3.amazonaws.com", 443).host_header(),
            "s3.amazonaws.com"
        );
        for bad in [
            "ftp://x",
            "http://",
            "http://user@host",
            "http://h:port",
            "dynamodb",
        ] {
            assert_eq!(Target::parse(bad), None, "{bad}");
        }
    }
}
