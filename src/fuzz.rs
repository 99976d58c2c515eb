//! Entry points for the fuzz targets in `fuzz/` (feature `internal-fuzzing`; not public API).
//! Each one checks its own oracle and panics on a violation, which is what a fuzzer reports.

use std::io::{self, Read};

use crate::context::{Config, Context, NEXT_HEADERS};
use crate::proto::message::{Kind, Progress, Reader};
use crate::proto::{MAX_BODY, WireError};

/// Hands out `data` in pieces whose sizes come from `sizes` (cycled), like a socket would.
struct Pieces<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
    turn: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = match self.sizes {
            [] => self.data.len(),
            sizes => usize::from(sizes[self.turn % sizes.len()]) + 1,
        };
        self.turn += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// What a read produced, in owned form, to compare two ways of reading the same bytes.
type Outcome = Option<(u16, Vec<Option<Vec<u8>>>, Result<Vec<u8>, WireError>)>;

fn read_all(data: &[u8], sizes: &[u8]) -> Outcome {
    let mut inbox = Vec::new();
    let mut reader = Pieces {
        data,
        sizes,
        turn: 0,
    };
    let (resp, _close) = crate::conn::read_response(&mut reader, &mut inbox, &NEXT_HEADERS).ok()?;
    for span in resp.found.iter().flatten().chain(resp.body.as_ref().ok()) {
        assert!(
            span.start <= span.end && span.end <= inbox.len(),
            "span outside the buffer"
        );
    }
    let config = Config::default();
    if let Some(ctx) = Context::from_next(&inbox, &resp.found, &config) {
        assert!(!ctx.request_id.is_empty());
        let _ = ctx.remaining();
    }
    Some((
        resp.status,
        resp.found
            .iter()
            .map(|f| f.map(|s| s.of(&inbox).to_vec()))
            .collect(),
        resp.body.map(|b| b.of(&inbox).to_vec()),
    ))
}

/// The whole client's read path (head, framing, body, context) on bytes from memory: it never
/// panics, spans stay inside the buffer, and reading in pieces (sizes from the first bytes of
/// `input`) gives what reading in one go gives.
pub fn client(input: &[u8]) {
    let (sizes, data) = input.split_at(input.len().min(4));
    let whole = read_all(data, &[]);
    let pieces = read_all(data, sizes);
    assert_eq!(whole, pieces, "reading in pieces changed the result");
}

/// The protocol reader on its own, as `conn.rs` drives it: fed all of `data`, then the end
/// of the connection, for responses and for requests. No panic, no span outside the buffer, a
/// body never over the cap, and `end` never past what was fed.
pub fn response_parser(data: &[u8]) {
    for kind in [Kind::RESPONSE, Kind::REQUEST] {
        let mut reader = Reader::new(kind, &NEXT_HEADERS);
        let mut buf = data.to_vec();
        let mut filled = data.len();
        let mut eof = false;
        let done = loop {
            match reader.advance(&mut buf, &mut filled, eof) {
                Ok(Progress::Complete) => break true,
                Ok(Progress::Head) => {}
                Ok(Progress::NeedMore(_)) if eof => panic!("asked for more after the end"),
                Ok(Progress::NeedMore(_)) => eof = true,
                Err(_) => break false,
            }
        };
        assert!(filled <= data.len(), "the reader grew the input");
        if done {
            let body = reader.body();
            assert!(body.start <= body.end && body.end <= reader.end() && reader.end() <= filled);
            assert!(body.end - body.start <= MAX_BODY);
            let Some(head) = reader.head() else {
                panic!("complete without a head");
            };
            for span in head.found.iter().flatten() {
                assert!(span.end <= filled, "header span outside the buffer");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// The fuzz targets' oracles on generated inputs, so they keep running in CI; crashes
    /// the fuzzer finds are added to `REGRESSIONS`.
    #[test]
    fn oracles_hold_on_generated_and_regression_inputs() {
        const FRAGMENTS: &[&[u8]] = &[
            b"HTTP/1.1 200 OK\r\n",
            b"Lambda-Runtime-Aws-Request-Id: r\r\n",
            b"lambda-runtime-deadline-ms: 12\r\n",
            b"Transfer-Encoding: chunked\r\n",
            b"Content-Length: 4\r\n",
            b"Connection: close\r\n",
            b"\r\n",
            b"4\r\n",
            b"0\r\n",
            b"ff;x\r\n",
            b"body",
            b"\n",
            b"\x00\xff",
        ];
        const REGRESSIONS: &[&[u8]] = &[];
        let mut rng = crate::seeded::Seeded::new(0x2545_f491_4f6c_dd1d);
        let mut next = || rng.next();
        for _ in 0..20_000 {
            let mut input: Vec<u8> = (0..4).map(|_| next() as u8).collect();
            for _ in 0..next() % 12 {
                input.extend_from_slice(FRAGMENTS[(next() % FRAGMENTS.len() as u64) as usize]);
            }
            super::client(&input);
            super::response_parser(&input[4..]);
        }
        for input in REGRESSIONS {
            super::client(input);
            super::response_parser(input);
        }
    }
}
