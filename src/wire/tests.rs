use super::*;

/// Status, decoded body and request id of a whole response, or `None` while incomplete.
type Decoded = Result<Option<(u16, Vec<u8>, Option<Vec<u8>>)>, WireError>;

const WANTED: [&str; 2] = [header::REQUEST_ID, header::TRACE_ID];

/// Decodes a whole response held in `raw` the way `conn.rs` does, in one pass.
fn decode_all(raw: &[u8]) -> Decoded {
    let Some(head) = parse_head(raw, &WANTED)? else {
        return Ok(None);
    };
    let id = head.found[0].map(|s| s.of(raw).to_vec());
    let body = match head.framing {
        Framing::Length(n) if n > MAX_BODY => return Err(WireError::BodyTooLarge),
        Framing::Length(n) if raw.len() >= head.len + n => raw[head.len..head.len + n].to_vec(),
        Framing::Length(_) => return Ok(None),
        Framing::UntilClose => raw[head.len..].to_vec(),
        Framing::Chunked => {
            let mut buf = raw.to_vec();
            let (mut read, mut write) = (head.len, head.len);
            if !ChunkedDecoder::default().decode(&mut buf, &mut read, &mut write)? {
                return Ok(None);
            }
            buf[head.len..write].to_vec()
        }
    };
    Ok(Some((head.status, body, id)))
}

/// Feeds `raw` to the decoder in the pieces given by `cuts`, compacting as `conn.rs` does.
fn decode_in_pieces(raw: &[u8], cuts: &[usize]) -> Decoded {
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut ends: Vec<usize> = cuts.iter().copied().filter(|&c| c < raw.len()).collect();
    ends.push(raw.len());
    let mut ends = ends.into_iter();
    let head = loop {
        if let Some(h) = parse_head(&buf, &WANTED)? {
            break h;
        }
        let Some(end) = ends.next() else {
            return Ok(None);
        };
        buf.extend_from_slice(&raw[fed..end.max(fed)]);
        fed = end.max(fed);
    };
    let id = head.found[0].map(|s| s.of(&buf).to_vec());
    match head.framing {
        Framing::Length(n) if n > MAX_BODY => Err(WireError::BodyTooLarge),
        Framing::Length(n) => {
            buf.extend_from_slice(&raw[fed..]);
            Ok((buf.len() >= head.len + n)
                .then(|| (head.status, buf[head.len..head.len + n].to_vec(), id)))
        }
        Framing::UntilClose => {
            buf.extend_from_slice(&raw[fed..]);
            Ok(Some((head.status, buf[head.len..].to_vec(), id)))
        }
        Framing::Chunked => {
            let mut dec = ChunkedDecoder::default();
            let (mut read, mut write) = (head.len, head.len);
            loop {
                if dec.decode(&mut buf, &mut read, &mut write)? {
                    return Ok(Some((head.status, buf[head.len..write].to_vec(), id)));
                }
                buf.copy_within(read.., write);
                buf.truncate(buf.len() - (read - write));
                read = write;
                let Some(end) = ends.next() else {
                    return Ok(None);
                };
                buf.extend_from_slice(&raw[fed..end.max(fed)]);
                fed = end.max(fed);
            }
        }
    }
}

type Case = (
    &'static str,
    &'static str,
    Result<Option<(u16, &'static str, Option<&'static str>)>, WireError>,
);

const CASES: &[Case] = &[
    (
        "content-length",
        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\nContent-Length: 5\r\n\r\nhello",
        Ok(Some((200, "hello", Some("r1")))),
    ),
    (
        "zero length",
        "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
        Ok(Some((202, "", None))),
    ),
    (
        "mixed-case names",
        "HTTP/1.1 200 OK\r\nlAmBdA-rUnTiMe-AwS-rEqUeSt-Id: r2\r\ncontent-LENGTH: 2\r\n\r\nhi",
        Ok(Some((200, "hi", Some("r2")))),
    ),
    (
        "chunked, one chunk",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        Ok(Some((200, "hello", None))),
    ),
    (
        "chunked, many chunks",
        "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n1\r\na\r\n2\r\nbc\r\nA\r\n0123456789\r\n0\r\n\r\n",
        Ok(Some((200, "abc0123456789", None))),
    ),
    (
        "chunk extensions",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;name=value;x\r\nabc\r\n0;last\r\n\r\n",
        Ok(Some((200, "abc", None))),
    ),
    (
        "trailers",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n",
        Ok(Some((200, "abc", None))),
    ),
    (
        "uppercase hex and bare LF",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nB\nhello world\n0\n\n",
        Ok(Some((200, "hello world", None))),
    ),
    (
        "chunked wins over content-length",
        "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        Ok(Some((200, "ok", None))),
    ),
    (
        "two equal content-lengths",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
        Ok(Some((200, "ok", None))),
    ),
    (
        "two different content-lengths",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        Err(WireError::BadContentLength),
    ),
    (
        "negative content-length",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        Err(WireError::BadContentLength),
    ),
    (
        "content-length list",
        "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok",
        Err(WireError::BadContentLength),
    ),
    (
        "huge content-length",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
        Err(WireError::BodyTooLarge),
    ),
    (
        "overflowing content-length",
        "HTTP/1.1 200 OK\r\nContent-Length: 999999999999999999999999\r\n\r\n",
        Err(WireError::BadContentLength),
    ),
    (
        "gzip transfer-encoding",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        Err(WireError::UnsupportedTransferEncoding),
    ),
    (
        "huge chunk",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\n",
        Err(WireError::BodyTooLarge),
    ),
    (
        "overflowing chunk",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffffff\r\n",
        Err(WireError::BodyTooLarge),
    ),
    (
        "chunk size not hex",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        Err(WireError::BadChunk),
    ),
    (
        "chunk data too long",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
        Err(WireError::BadChunk),
    ),
    (
        "not http",
        "SSH-2.0-OpenSSH\r\n\r\n",
        Err(WireError::BadHead),
    ),
    (
        "no status code",
        "HTTP/1.1 OK\r\n\r\n",
        Err(WireError::BadHead),
    ),
    (
        "until close",
        "HTTP/1.1 200 OK\r\n\r\nall of it",
        Ok(Some((200, "all of it", None))),
    ),
    (
        "204 has no body",
        "HTTP/1.1 204 No Content\r\n\r\n",
        Ok(Some((204, "", None))),
    ),
    (
        "each status: 400",
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}",
        Ok(Some((400, "{}", None))),
    ),
    (
        "each status: 403",
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\n{}",
        Ok(Some((403, "{}", None))),
    ),
    (
        "each status: 410",
        "HTTP/1.1 410 Gone\r\nContent-Length: 2\r\n\r\n{}",
        Ok(Some((410, "{}", None))),
    ),
    (
        "each status: 413",
        "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 2\r\n\r\n{}",
        Ok(Some((413, "{}", None))),
    ),
    (
        "each status: 500",
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\n{}",
        Ok(Some((500, "{}", None))),
    ),
    ("incomplete head", "HTTP/1.1 200 OK\r\nContent-Le", Ok(None)),
    (
        "incomplete chunked",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        Ok(None),
    ),
    (
        "missing request id",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        Ok(Some((200, "", None))),
    ),
];

#[test]
fn table() {
    for (name, raw, want) in CASES {
        let got = decode_all(raw.as_bytes());
        let want = want.map(|o| {
            o.map(|(s, b, id)| (s, b.as_bytes().to_vec(), id.map(|i| i.as_bytes().to_vec())))
        });
        assert_eq!(got, want, "case {name}");
    }
}

#[test]
fn every_split_gives_the_one_read_result() {
    for (name, raw, _) in CASES {
        let raw = raw.as_bytes();
        let whole = decode_all(raw);
        for a in 0..raw.len() {
            assert_eq!(
                decode_in_pieces(raw, &[a]),
                whole,
                "case {name}, cut at {a}"
            );
            for b in (a + 1..raw.len()).step_by(3) {
                assert_eq!(
                    decode_in_pieces(raw, &[a, b]),
                    whole,
                    "case {name}, cuts {a} {b}"
                );
            }
        }
        let bytewise: Vec<usize> = (1..raw.len()).collect();
        assert_eq!(
            decode_in_pieces(raw, &bytewise),
            whole,
            "case {name}, byte at a time"
        );
    }
}

#[test]
fn every_prefix_of_a_valid_head_is_incomplete() {
    let raw = b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\nContent-Length: 5\r\n\r\n";
    for end in 0..raw.len() {
        assert_eq!(parse_head(&raw[..end], &WANTED), Ok(None), "prefix {end}");
    }
}

#[test]
fn oversized_head_is_an_error_not_a_wait() {
    let mut raw = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
    raw.resize(MAX_HEAD + 10, b'a');
    assert_eq!(parse_head(&raw, &WANTED), Err(WireError::HeadTooLarge));
    let many: String = (0..60).map(|i| format!("X-{i}: v\r\n")).collect();
    let raw = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
    assert_eq!(
        parse_head(raw.as_bytes(), &WANTED),
        Err(WireError::TooManyHeaders)
    );
}

#[test]
fn endless_chunk_line_is_an_error_not_a_wait() {
    let mut buf = b"1".repeat(MAX_LINE + 10);
    let (mut r, mut w) = (0, 0);
    assert_eq!(
        ChunkedDecoder::default().decode(&mut buf, &mut r, &mut w),
        Err(WireError::LineTooLong)
    );
    let mut buf = b"0\r\n".to_vec();
    buf.extend(b"X: ".iter().chain(&[b'a'; MAX_LINE + 10]));
    let (mut r, mut w) = (0, 0);
    assert_eq!(
        ChunkedDecoder::default().decode(&mut buf, &mut r, &mut w),
        Err(WireError::LineTooLong)
    );
}

#[test]
fn chunks_summing_past_the_cap_are_refused_before_reading_them() {
    let half = format!("{:x}\r\n", MAX_BODY / 2 + 1);
    let mut dec = ChunkedDecoder::default();
    let mut buf = half.as_bytes().to_vec();
    let (mut r, mut w) = (0, 0);
    assert_eq!(dec.decode(&mut buf, &mut r, &mut w), Ok(false));
    assert_eq!(dec.data_remaining(), MAX_BODY / 2 + 1);
    // Pretend the data arrived, then a second chunk of the same size.
    let mut dec2 = ChunkedDecoder {
        state: ChunkState::Size,
        body_len: MAX_BODY / 2 + 1,
        trailer_len: 0,
    };
    let mut buf = half.as_bytes().to_vec();
    let (mut r, mut w) = (0, 0);
    assert_eq!(
        dec2.decode(&mut buf, &mut r, &mut w),
        Err(WireError::BodyTooLarge)
    );
}

/// A tiny deterministic generator, so the property tests need no dependency.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn arbitrary_fragment_sequences_never_panic() {
    const FRAGMENTS: &[&[u8]] = &[
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.0 500 X\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"Content-Length: 3\r\n",
        b"Content-Length: 18446744073709551616\r\n",
        b"Lambda-Runtime-Aws-Request-Id: x\r\n",
        b"\r\n",
        b"\n",
        b"0\r\n",
        b"ffffffff\r\n",
        b"3;x=y\r\n",
        b"abc",
        b"\0\xff",
        b":",
        b" ",
        b"\r",
    ];
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let mut raw = Vec::new();
        for _ in 0..rng.below(12) {
            raw.extend_from_slice(FRAGMENTS[rng.below(FRAGMENTS.len())]);
        }
        let whole = decode_all(&raw);
        let cut = rng.below(raw.len() + 1);
        assert_eq!(
            decode_in_pieces(&raw, &[cut]),
            whole,
            "{:?}",
            String::from_utf8_lossy(&raw)
        );
    }
    for _ in 0..20_000 {
        let raw: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
        let _ = decode_all(&raw);
    }
}

#[test]
fn request_heads_are_well_formed() {
    let mut out = Vec::new();
    begin_request_head(&mut out, "POST", "/.rt");
    out.extend_from_slice(b"/2018-06-01/runtime/invocation/");
    push_path_segment(&mut out, b"a b/c?d%e\r\n");
    end_request_head(
        &mut out,
        "127.0.0.1:9001",
        &[("lambda-runtime-invocation-id", b"i-1")],
        Some(42),
    );
    let want = format!(
        "POST /.rt/2018-06-01/runtime/invocation/a%20b%2Fc%3Fd%25e%0D%0A HTTP/1.1\r\nhost: 127.0.0.1:9001\r\n\
         user-agent: lambda-lite/{}\r\nlambda-runtime-invocation-id: i-1\r\ncontent-length: 42\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(String::from_utf8(out).unwrap(), want);
}

#[test]
fn decimals() {
    for (n, s) in [
        (0usize, "0"),
        (7, "7"),
        (10, "10"),
        (6291556, "6291556"),
        (usize::MAX, "18446744073709551615"),
    ] {
        let mut out = Vec::new();
        push_decimal(&mut out, n);
        assert_eq!(out, s.as_bytes());
        assert_eq!(parse_decimal(s.as_bytes()), Some(n));
    }
    for bad in ["", "+1", " 1", "1a", "99999999999999999999"] {
        assert_eq!(parse_decimal(bad.as_bytes()), None, "{bad}");
    }
}
