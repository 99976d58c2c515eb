//! HTTP/1.1 framing of the requests a runtime sends: the head, a `Content-Length` body, a
//! chunked body chunk by chunk with its trailers. One reader for every route; it reads from
//! any byte source, so its rules are tested here without a socket.

use std::io::Read;

use super::MAX_STREAM;

fn fill(stream: &mut impl Read, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 64 * 1024];
    match stream.read(&mut chunk) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

pub(super) type Head = (String, String, Vec<(String, String)>);

pub(super) fn read_head(stream: &mut impl Read, buf: &mut Vec<u8>) -> Option<Head> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(buf) {
            Ok(httparse::Status::Complete(len)) => {
                let head = (
                    req.method.unwrap_or("").to_owned(),
                    req.path.unwrap_or("").to_owned(),
                    req.headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_owned(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect(),
                );
                buf.drain(..len);
                return Some(head);
            }
            Ok(httparse::Status::Partial) => {}
            Err(_) => return None,
        }
        if buf.len() > 1 << 20 || !fill(stream, buf) {
            return None;
        }
    }
}

/// Reads a body of `length` bytes into a buffer of exactly that size, or, over `limit`, reads
/// it piecewise and drops it (`Some(None)`): a body over the limit is never held whole.
/// `None`: the connection ended first.
pub(super) fn read_body(
    stream: &mut impl Read,
    buf: &mut Vec<u8>,
    length: usize,
    limit: usize,
) -> Option<Option<Vec<u8>>> {
    if length > limit {
        let mut left = length;
        loop {
            let take = left.min(buf.len());
            buf.drain(..take);
            left -= take;
            if left == 0 {
                return Some(None);
            }
            if !fill(stream, buf) {
                return None;
            }
        }
    }
    let mut body = Vec::with_capacity(length);
    let take = length.min(buf.len());
    body.extend(buf.drain(..take));
    let mut piece = [0u8; 64 * 1024];
    while body.len() < length {
        let want = (length - body.len()).min(piece.len());
        match stream.read(&mut piece[..want]) {
            Ok(0) | Err(_) => return None,
            Ok(n) => body.extend_from_slice(&piece[..n]),
        }
    }
    Some(Some(body))
}

pub(super) enum Chunk {
    Data(Vec<u8>),
    Last(Vec<(String, String)>),
}

/// One chunk of a chunked body (or the last chunk and its trailers).
pub(super) fn read_chunk(stream: &mut impl Read, buf: &mut Vec<u8>) -> Option<Chunk> {
    loop {
        if let Some(nl) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&buf[..nl]).into_owned();
            let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
            if size > MAX_STREAM {
                return None; // no chunk of an answer Lambda accepts is that large
            }
            if size == 0 {
                // Trailers until the empty line.
                let mut at = nl + 2;
                let mut trailers = Vec::new();
                loop {
                    match buf[at..].windows(2).position(|w| w == b"\r\n") {
                        Some(0) => {
                            buf.drain(..at + 2);
                            return Some(Chunk::Last(trailers));
                        }
                        Some(n) => {
                            let field = String::from_utf8_lossy(&buf[at..at + n]).into_owned();
                            if let Some((k, v)) = field.split_once(':') {
                                trailers.push((k.trim().to_owned(), v.trim().to_owned()));
                            }
                            at += n + 2;
                        }
                        None => break,
                    }
                }
            } else if buf.len() >= nl + 2 + size + 2 {
                // Each chunk's data ends with CRLF; anything else is not HTTP's framing, and
                // Lambda drops the connection.
                if buf[nl + 2 + size..nl + 4 + size] != *b"\r\n" {
                    return None;
                }
                let data = buf[nl + 2..nl + 2 + size].to_vec();
                buf.drain(..nl + 4 + size);
                return Some(Chunk::Data(data));
            }
        }
        if !fill(stream, buf) {
            return None;
        }
    }
}

/// Reads a request's body to its end and drops it; `false` if the connection broke.
pub(super) fn discard_body(
    stream: &mut impl Read,
    buf: &mut Vec<u8>,
    chunked: bool,
    length: usize,
) -> bool {
    if !chunked {
        return read_body(stream, buf, length, 0).is_some();
    }
    loop {
        match read_chunk(stream, buf) {
            Some(Chunk::Data(_)) => {}
            Some(Chunk::Last(_)) => return true,
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Chunk, discard_body, read_body, read_chunk, read_head};
    use crate::local::MAX_PAYLOAD;

    /// A source that hands out its bytes a few at a time, as a socket may.
    struct Trickle<'a>(&'a [u8], usize);
    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_head_and_its_body_arrive_in_pieces() {
        let raw = b"POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhelloGET /next";
        let (mut src, mut buf) = (Trickle(raw, 3), Vec::new());
        let (method, path, headers) = read_head(&mut src, &mut buf).expect("a head");
        assert_eq!(
            (method.as_str(), path.as_str()),
            ("POST", "/2018-06-01/runtime/invocation/a/response")
        );
        assert_eq!(
            headers,
            [
                ("Content-Length".into(), "5".into()),
                ("X-A".into(), "1".into())
            ]
        );
        assert_eq!(
            read_body(&mut src, &mut buf, 5, MAX_PAYLOAD),
            Some(Some(b"hello".to_vec()))
        );
        buf.extend_from_slice(src.0);
        assert_eq!(buf, b"GET /next", "what follows stays for the next request");
    }

    #[test]
    fn a_head_that_is_not_http_or_never_ends_is_refused() {
        let mut buf = Vec::new();
        assert!(read_head(&mut &b"\x00\x01garbage\r\n\r\n"[..], &mut buf).is_none());
        // A head that never ends: refused once it passes 1 MiB, not read to the end.
        let mut endless = Counted(
            std::io::Read::chain(&b"GET / HTTP/1.1\r\nX: "[..], std::io::repeat(b'a')),
            0,
        );
        assert!(
            read_head(&mut endless, &mut Vec::new()).is_none(),
            "over 1 MiB"
        );
        assert!(endless.1 < (1 << 20) + (128 << 10), "read {} B", endless.1);
        assert!(
            read_head(&mut &b"GET / HTTP/1.1\r\nX: 1\r\n"[..], &mut Vec::new()).is_none(),
            "cut"
        );
    }

    #[test]
    fn a_body_cut_short_is_none() {
        assert!(read_body(&mut &b"abc"[..], &mut Vec::new(), 5, MAX_PAYLOAD).is_none());
    }

    #[test]
    fn a_body_over_the_limit_is_read_and_dropped_never_held() {
        let mut raw = vec![b'x'; MAX_PAYLOAD + 1];
        raw.extend_from_slice(b"GET /next");
        let (mut src, mut buf) = (Trickle(&raw, 64 * 1024), Vec::new());
        assert_eq!(
            read_body(&mut src, &mut buf, MAX_PAYLOAD + 1, MAX_PAYLOAD),
            Some(None)
        );
        assert!(
            buf.capacity() < 1 << 20,
            "read in pieces: {}",
            buf.capacity()
        );
        buf.extend_from_slice(src.0);
        assert_eq!(buf, b"GET /next");
    }

    #[test]
    fn chunks_with_extensions_and_trailers() {
        let raw = b"5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\nLambda-Runtime-Function-Error-Type: E\r\nX: y\r\n\r\nnext";
        let (mut src, mut buf) = (Trickle(raw, 2), Vec::new());
        let Some(Chunk::Data(a)) = read_chunk(&mut src, &mut buf) else {
            panic!("a chunk")
        };
        let Some(Chunk::Data(b)) = read_chunk(&mut src, &mut buf) else {
            panic!("a chunk")
        };
        assert_eq!((&a[..], &b[..]), (&b"hello"[..], &b"!"[..]));
        let Some(Chunk::Last(trailers)) = read_chunk(&mut src, &mut buf) else {
            panic!("the end")
        };
        assert_eq!(
            trailers,
            [
                ("Lambda-Runtime-Function-Error-Type".into(), "E".into()),
                ("X".into(), "y".into())
            ]
        );
        buf.extend_from_slice(src.0);
        assert_eq!(buf, b"next");
    }

    #[test]
    fn chunked_framing_lambda_refuses_is_refused() {
        for raw in [
            &b"5\r\nhelloXX0\r\n\r\n"[..], // no CRLF after the data
            b"zz\r\nhello\r\n",            // a size that is not hex
            b"5\r\nhel",                   // cut mid-chunk
        ] {
            assert!(
                read_chunk(&mut &raw[..], &mut Vec::new()).is_none(),
                "{raw:?}"
            );
        }
        // Larger than any answer Lambda takes: refused from its size line, its data unread.
        let mut huge = Counted(
            std::io::Read::chain(&b"fffffffffff\r\n"[..], std::io::repeat(b'x')),
            0,
        );
        assert!(read_chunk(&mut huge, &mut Vec::new()).is_none());
        assert!(huge.1 < 128 << 10, "read {} B", huge.1);
    }

    /// A source that counts what was read from it.
    struct Counted<R>(R, usize);
    impl<R: std::io::Read> std::io::Read for Counted<R> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.read(out)?;
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn a_body_answered_without_being_read_is_still_consumed() {
        let mut buf = Vec::new();
        assert!(discard_body(
            &mut &b"3\r\nabc\r\n0\r\n\r\nrest"[..],
            &mut buf,
            true,
            0
        ));
        assert_eq!(buf, b"rest");
        let mut buf = Vec::new();
        assert!(discard_body(&mut &b"abcrest"[..], &mut buf, false, 3));
        assert_eq!(buf, b"rest");
        assert!(!discard_body(
            &mut &b"3\r\nab"[..],
            &mut Vec::new(),
            true,
            0
        ));
    }
}
