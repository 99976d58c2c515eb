use super::*;
use crate::conn::{ExchangeError, ReadError};
use crate::seeded::Seeded;

/// Status, decoded body and request id of a whole message.
type Decoded = Result<(u16, Vec<u8>, Option<Vec<u8>>), WireError>;

static WANTED: [&str; 2] = [header::REQUEST_ID, header::TRACE_ID];

/// A connection that hands over `raw` in pieces ending at `cuts` (then the rest), then its
/// end, as a socket would.
struct Pieces<'a> {
    raw: &'a [u8],
    cuts: &'a [usize],
    fed: usize,
}

impl std::io::Read for Pieces<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let end = self
            .cuts
            .iter()
            .copied()
            .filter(|&c| c > self.fed && c < self.raw.len())
            .min()
            .unwrap_or(self.raw.len());
        let n = (end - self.fed).min(out.len());
        out[..n].copy_from_slice(&self.raw[self.fed..self.fed + n]);
        self.fed += n;
        Ok(n)
    }
}

/// Reads `raw`, handed over in pieces ending at `cuts`, with the runtime's one read loop
/// (`conn::read_message`, which drives the [`Reader`]); returns what it read.
fn read_in_pieces(kind: Kind, raw: &[u8], cuts: &[usize]) -> Decoded {
    let mut reader = Reader::new(kind, &WANTED);
    let mut inbox = Vec::new();
    let mut connection = Pieces { raw, cuts, fed: 0 };
    let filled = crate::conn::read_message(&mut connection, &mut inbox, &mut reader).map_err(
        |e| match e {
            ReadError::Started(ExchangeError::Wire(e)) => e,
            // Nothing arrived, or the connection failed: in memory, only the first.
            _ => WireError::Truncated,
        },
    )?;
    let head = reader.head().expect("a complete message has a head");
    assert!(reader.end() <= filled && reader.body().end <= reader.end());
    Ok((
        head.status,
        reader.body().of(&inbox).to_vec(),
        head.found[0].map(|s| s.of(&inbox).to_vec()),
    ))
}

fn read_whole(raw: &[u8]) -> Decoded {
    read_in_pieces(Kind::RESPONSE, raw, &[])
}

type Case = (
    &'static str,
    &'static str,
    Result<(u16, &'static str, Option<&'static str>), WireError>,
);

const CASES: &[Case] = &[
    (
        "content-length",
        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\nContent-Length: 5\r\n\r\nhello",
        Ok((200, "hello", Some("r1"))),
    ),
    (
        "zero length",
        "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
        Ok((202, "", None)),
    ),
    (
        "mixed-case names",
        "HTTP/1.1 200 OK\r\nlAmBdA-rUnTiMe-AwS-rEqUeSt-Id: r2\r\ncontent-LENGTH: 2\r\n\r\nhi",
        Ok((200, "hi", Some("r2"))),
    ),
    (
        "chunked, one chunk",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        Ok((200, "hello", None)),
    ),
    (
        "chunked, many chunks",
        "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n1\r\na\r\n2\r\nbc\r\nA\r\n0123456789\r\n0\r\n\r\n",
        Ok((200, "abc0123456789", None)),
    ),
    (
        "chunk extensions",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;name=value;x\r\nabc\r\n0;last\r\n\r\n",
        Ok((200, "abc", None)),
    ),
    (
        "trailers",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n",
        Ok((200, "abc", None)),
    ),
    (
        "uppercase hex and bare LF",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nB\nhello world\n0\n\n",
        Ok((200, "hello world", None)),
    ),
    (
        "chunked wins over content-length",
        "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        Ok((200, "ok", None)),
    ),
    (
        "two equal content-lengths",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
        Ok((200, "ok", None)),
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
        Ok((200, "all of it", None)),
    ),
    (
        "204 has no body",
        "HTTP/1.1 204 No Content\r\n\r\n",
        Ok((204, "", None)),
    ),
    (
        "each status: 400",
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}",
        Ok((400, "{}", None)),
    ),
    (
        "each status: 403",
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\n{}",
        Ok((403, "{}", None)),
    ),
    (
        "each status: 410",
        "HTTP/1.1 410 Gone\r\nContent-Length: 2\r\n\r\n{}",
        Ok((410, "{}", None)),
    ),
    (
        "each status: 413",
        "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 2\r\n\r\n{}",
        Ok((413, "{}", None)),
    ),
    (
        "each status: 500",
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\n{}",
        Ok((500, "{}", None)),
    ),
    (
        "closed in the head",
        "HTTP/1.1 200 OK\r\nContent-Le",
        Err(WireError::ClosedInHead),
    ),
    (
        "closed in a chunk",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        Err(WireError::Truncated),
    ),
    (
        "closed before the length",
        "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
        Err(WireError::Truncated),
    ),
    (
        "1xx heads are skipped",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX: y\r\n\r\nHTTP/1.1 202 Accepted\r\nLambda-Runtime-Aws-Request-Id: r3\r\nContent-Length: 2\r\n\r\nok",
        Ok((202, "ok", Some("r3"))),
    ),
    (
        "missing request id",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        Ok((200, "", None)),
    ),
];

#[test]
fn table() {
    for (name, raw, want) in CASES {
        let got = read_whole(raw.as_bytes());
        let want =
            want.map(|(s, b, id)| (s, b.as_bytes().to_vec(), id.map(|i| i.as_bytes().to_vec())));
        assert_eq!(got, want, "case {name}");
    }
}

#[test]
fn requests_are_read_with_the_same_framing() {
    type RequestCase = (
        &'static str,
        &'static str,
        Result<(&'static str, &'static str, &'static str), WireError>,
    );
    let cases: &[RequestCase] = &[
        (
            "content-length",
            "POST /telemetry HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n[{}]",
            Ok(("POST", "/telemetry", "[{}]")),
        ),
        (
            "chunked with trailers",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[{\r\n2;x=1\r\n}]\r\n0\r\nX-Sum: 9\r\n\r\n",
            Ok(("POST", "/", "[{}]")),
        ),
        (
            "no length is an empty body",
            "GET /x HTTP/1.1\r\n\r\n",
            Ok(("GET", "/x", "")),
        ),
        (
            "oversized",
            "POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
            Err(WireError::BodyTooLarge),
        ),
        (
            "not http",
            "\x16\x03\x01\x02\x00\r\n\r\n",
            Err(WireError::BadHead),
        ),
    ];
    for (name, raw, want) in cases {
        let raw = raw.as_bytes();
        let mut reader = Reader::new(Kind::REQUEST, &WANTED);
        let mut buf = raw.to_vec();
        let mut filled = raw.len();
        let got = loop {
            match reader.advance(&mut buf, &mut filled, false) {
                Ok(Progress::Complete) => {
                    let head = reader.head().unwrap();
                    break Ok((
                        std::str::from_utf8(head.method.of(&buf))
                            .unwrap()
                            .to_owned(),
                        std::str::from_utf8(head.target.of(&buf))
                            .unwrap()
                            .to_owned(),
                        std::str::from_utf8(reader.body().of(&buf))
                            .unwrap()
                            .to_owned(),
                    ));
                }
                Ok(Progress::Head) => {}
                Ok(Progress::NeedMore(_)) => panic!("case {name}: incomplete"),
                Err(e) => break Err(e),
            }
        };
        let want = want.map(|(m, t, b)| (m.to_owned(), t.to_owned(), b.to_owned()));
        assert_eq!(got, want, "case {name}");
        // Every split gives the same.
        for cut in 1..raw.len() {
            let pieces = read_in_pieces(Kind::REQUEST, raw, &[cut]).map(|(_, b, _)| b);
            let whole = read_in_pieces(Kind::REQUEST, raw, &[]).map(|(_, b, _)| b);
            assert_eq!(pieces, whole, "case {name}, cut at {cut}");
        }
    }
}

#[test]
fn bytes_after_a_message_are_left_alone() {
    let raw = b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200";
    let mut reader = Reader::new(Kind::RESPONSE, &WANTED);
    let mut buf = raw.to_vec();
    let mut filled = raw.len();
    assert_eq!(
        reader.advance(&mut buf, &mut filled, false),
        Ok(Progress::Head)
    );
    assert_eq!(
        reader.advance(&mut buf, &mut filled, false),
        Ok(Progress::Complete)
    );
    assert_eq!(reader.body().of(&buf), b"ok");
    assert_eq!(&buf[reader.end()..filled], b"HTTP/1.1 200");
}

#[test]
fn every_split_gives_the_one_read_result() {
    for (name, raw, _) in CASES {
        let raw = raw.as_bytes();
        let whole = read_whole(raw);
        for a in 0..raw.len() {
            assert_eq!(
                read_in_pieces(Kind::RESPONSE, raw, &[a]),
                whole,
                "case {name}, cut at {a}"
            );
            for b in (a + 1..raw.len()).step_by(3) {
                assert_eq!(
                    read_in_pieces(Kind::RESPONSE, raw, &[a, b]),
                    whole,
                    "case {name}, cuts {a} {b}"
                );
            }
        }
        let bytewise: Vec<usize> = (1..raw.len()).collect();
        assert_eq!(
            read_in_pieces(Kind::RESPONSE, raw, &bytewise),
            whole,
            "case {name}, byte at a time"
        );
    }
}

#[test]
fn every_prefix_of_a_valid_message_asks_for_more() {
    let raw = b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    for end in 0..raw.len() {
        let mut reader = Reader::new(Kind::RESPONSE, &WANTED);
        let mut buf = raw[..end].to_vec();
        let mut filled = end;
        let progress = loop {
            match reader.advance(&mut buf, &mut filled, false) {
                Ok(Progress::Head) => continue,
                other => break other,
            }
        };
        assert!(
            matches!(progress, Ok(Progress::NeedMore(_))),
            "prefix {end}: {progress:?}"
        );
    }
    let head = b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\nContent-Length: 5\r\n\r\n";
    for end in 0..head.len() {
        assert_eq!(
            parse_head(Kind::RESPONSE, &head[..end], &WANTED),
            Ok(None),
            "prefix {end}"
        );
    }
}

#[test]
fn oversized_head_is_an_error_not_a_wait() {
    let mut raw = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
    raw.resize(MAX_HEAD + 10, b'a');
    assert_eq!(
        parse_head(Kind::RESPONSE, &raw, &WANTED),
        Err(WireError::HeadTooLarge)
    );
    let many: String = (0..60).map(|i| format!("X-{i}: v\r\n")).collect();
    let raw = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
    assert_eq!(
        parse_head(Kind::RESPONSE, raw.as_bytes(), &WANTED),
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
    let mut rng = Seeded::new(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let mut raw = Vec::new();
        for _ in 0..rng.below(12) {
            raw.extend_from_slice(FRAGMENTS[rng.below(FRAGMENTS.len() as u64) as usize]);
        }
        let whole = read_whole(&raw);
        let cut = rng.below(raw.len() as u64 + 1) as usize;
        assert_eq!(
            read_in_pieces(Kind::RESPONSE, &raw, &[cut]),
            whole,
            "{:?}",
            String::from_utf8_lossy(&raw)
        );
    }
}

/// One mutation of a valid message, and the outcome it must have.
fn mutate(rng: &mut Seeded, case: &Case) -> (Vec<u8>, Decoded) {
    let raw = case.1.as_bytes();
    let Ok((status, body, id)) = case.2 else {
        unreachable!("only valid messages are mutated")
    };
    let id = id.map(|i| i.as_bytes().to_vec());
    let head_end = case.1.find("\r\n\r\n").expect("a head") + 4;
    let chunked = case
        .1
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let lengths = case
        .1
        .to_ascii_lowercase()
        .matches("content-length:")
        .count();
    let mut out = raw.to_vec();
    match rng.below(6) {
        // Cut anywhere: in the head, or in the body its framing promised.
        0 => {
            let at = rng.below(raw.len() as u64) as usize;
            out.truncate(at);
            let e = if at == 0 || at >= head_end {
                WireError::Truncated
            } else {
                WireError::ClosedInHead
            };
            (out, Err(e))
        }
        // A status digit that is not a digit.
        1 => {
            out[9 + rng.below(3) as usize] = b'x';
            (out, Err(WireError::BadHead))
        }
        // A body byte changed (Content-Length framing): the same message with that byte.
        2 if !chunked && !body.is_empty() => {
            let i = rng.below(body.len() as u64) as usize;
            out[head_end + i] ^= 1 + rng.below(255) as u8;
            let body = out[head_end..].to_vec();
            (out, Ok((status, body, id)))
        }
        // A Content-Length that is not a number.
        3 if !chunked && lengths == 1 => {
            let at = case
                .1
                .to_ascii_lowercase()
                .find("content-length: ")
                .expect("")
                + 16;
            out[at] = b'x';
            (out, Err(WireError::BadContentLength))
        }
        // A Content-Length changed: longer than what follows is a cut body, shorter leaves the
        // rest after the message.
        4 if !chunked && lengths == 1 => {
            let at = case
                .1
                .to_ascii_lowercase()
                .find("content-length: ")
                .expect("")
                + 16;
            let digits = out[at..].iter().take_while(|b| b.is_ascii_digit()).count();
            let shorter = rng.below(2) == 0 && !body.is_empty();
            let length = if shorter {
                rng.below(body.len() as u64) as usize
            } else {
                body.len() + 1 + rng.below(100) as usize
            };
            out.splice(at..at + digits, length.to_string().into_bytes());
            let expected = if shorter {
                Ok((status, body.as_bytes()[..length].to_vec(), id))
            } else {
                Err(WireError::Truncated)
            };
            (out, expected)
        }
        // The first chunk's size not hex.
        5 if chunked => {
            out[head_end] = b'z';
            (out, Err(WireError::BadChunk))
        }
        // Bytes after a whole message are the next message's: the read is unchanged.
        _ if chunked || lengths == 1 => {
            let extra = 1 + rng.below(32) as usize;
            out.extend_from_slice(&rng.bytes(extra));
            (out, Ok((status, body.as_bytes().to_vec(), id)))
        }
        _ => (out, Ok((status, body.as_bytes().to_vec(), id))),
    }
}

#[test]
fn mutations_of_valid_messages_have_the_outcome_their_change_decides() {
    let valid: Vec<&Case> = CASES
        .iter()
        .filter(|c| c.2.is_ok() && !c.0.starts_with("1xx") && !c.0.starts_with("until close"))
        .filter(|c| !c.0.starts_with("204"))
        .collect();
    let mut rng = Seeded::new(0x5eed_0fc0_ffee);
    let mut errors = 0;
    for _ in 0..20_000 {
        let case = valid[rng.below(valid.len() as u64) as usize];
        let (raw, expected) = mutate(&mut rng, case);
        let got = read_whole(&raw);
        assert_eq!(
            got,
            expected,
            "{}: {:?}",
            case.0,
            String::from_utf8_lossy(&raw)
        );
        errors += usize::from(got.is_err());
        // Split anywhere, the same outcome.
        let cut = rng.below(raw.len() as u64 + 1) as usize;
        assert_eq!(
            read_in_pieces(Kind::RESPONSE, &raw, &[cut]),
            expected,
            "{}",
            case.0
        );
    }
    assert!(
        (5_000..15_000).contains(&errors),
        "both classes are exercised: {errors} errors"
    );
}
