//! Every request the runtime (and an extension) makes, as bytes: heads, chunk frames, trailers.
//!
//! One function per call of the Runtime, Extensions and Telemetry APIs, all built from the same
//! few writers, so the shape of a head (request line, `Host`, `User-Agent`, framing) is written
//! once. No I/O: callers pass a buffer, and a call nobody makes is never linked.

use super::header;
use crate::endpoint::Endpoint;
use crate::text;

const RUNTIME: &str = "/2018-06-01/runtime/";
const EXTENSION: &str = "/2020-01-01/extension/";
const USER_AGENT: &str = concat!("lambda-lite/", env!("CARGO_PKG_VERSION"));

/// How the body of a request is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Body {
    /// No body and no framing header (a `GET`).
    None,
    /// `Content-Length: n`.
    Length(usize),
    /// `Transfer-Encoding: chunked`: chunks follow ([`chunk_size_line`], [`last_chunk`]).
    Chunked,
}

/// The invocation a post answers: its request id (in the path) and its invocation id (echoed
/// as a header when the service sent one).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Invocation<'a> {
    pub(crate) request_id: &'a [u8],
    pub(crate) invocation_id: Option<&'a [u8]>,
}

/// `GET /2018-06-01/runtime/invocation/next`.
pub(crate) fn next(out: &mut Vec<u8>, endpoint: &Endpoint) {
    start(out, "GET", endpoint, RUNTIME);
    out.extend_from_slice(b"invocation/next");
    end_line(out, endpoint);
    end(out, Body::None);
}

/// `POST /2018-06-01/runtime/invocation/{id}/response` with a body of `len` bytes.
pub(crate) fn response(out: &mut Vec<u8>, endpoint: &Endpoint, inv: Invocation<'_>, len: usize) {
    invocation_post(out, endpoint, inv, b"/response");
    end(out, Body::Length(len));
}

/// The head of a streamed response: the same path, `Transfer-Encoding: chunked`,
/// `Lambda-Runtime-Function-Response-Mode: streaming` and, declared up front, the two trailers
/// a failure mid-stream sends (see [`last_chunk`]).
pub(crate) fn streamed_response(
    out: &mut Vec<u8>,
    endpoint: &Endpoint,
    inv: Invocation<'_>,
    content_type: Option<&str>,
) {
    invocation_post(out, endpoint, inv, b"/response");
    field(out, header::RESPONSE_MODE, b"streaming");
    if let Some(ct) = content_type {
        field(out, header::CONTENT_TYPE, ct.as_bytes());
    }
    field(
        out,
        "trailer",
        b"Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
    );
    end(out, Body::Chunked);
}

/// `POST /2018-06-01/runtime/invocation/{id}/error` with an error JSON of `len` bytes.
pub(crate) fn error(
    out: &mut Vec<u8>,
    endpoint: &Endpoint,
    inv: Invocation<'_>,
    error_type: &str,
    len: usize,
) {
    invocation_post(out, endpoint, inv, b"/error");
    error_fields(out, error_type, len);
}

/// `POST /2018-06-01/runtime/init/error` with an error JSON of `len` bytes.
pub(crate) fn init_error(out: &mut Vec<u8>, endpoint: &Endpoint, error_type: &str, len: usize) {
    start(out, "POST", endpoint, RUNTIME);
    out.extend_from_slice(b"init/error");
    end_line(out, endpoint);
    error_fields(out, error_type, len);
}

/// `GET /2018-06-01/runtime/restore/next` (SnapStart: answered once the snapshot is restored).
pub(crate) fn restore_next(out: &mut Vec<u8>, endpoint: &Endpoint) {
    start(out, "GET", endpoint, RUNTIME);
    out.extend_from_slice(b"restore/next");
    end_line(out, endpoint);
    end(out, Body::None);
}

/// `POST /2018-06-01/runtime/restore/error` with an error JSON of `len` bytes, typed
/// `Runtime.AfterRestoreError` (the one type the Runtime API names for it).
pub(crate) fn restore_error(out: &mut Vec<u8>, endpoint: &Endpoint, len: usize) {
    start(out, "POST", endpoint, RUNTIME);
    out.extend_from_slice(b"restore/error");
    end_line(out, endpoint);
    error_fields(out, "Runtime.AfterRestoreError", len);
}

/// `POST /2020-01-01/extension/register` as `name`, with a JSON body of `len` bytes
/// (`{"events":[…]}`).
pub(crate) fn extension_register(out: &mut Vec<u8>, endpoint: &Endpoint, name: &[u8], len: usize) {
    start(out, "POST", endpoint, EXTENSION);
    out.extend_from_slice(b"register");
    end_line(out, endpoint);
    field(out, header::EXTENSION_NAME, name);
    field(out, header::CONTENT_TYPE, b"application/json");
    end(out, Body::Length(len));
}

/// `GET /2020-01-01/extension/event/next` for the extension registered as `id`.
pub(crate) fn extension_next(out: &mut Vec<u8>, endpoint: &Endpoint, id: &[u8]) {
    start(out, "GET", endpoint, EXTENSION);
    out.extend_from_slice(b"event/next");
    end_line(out, endpoint);
    field(out, header::EXTENSION_ID, id);
    end(out, Body::None);
}

/// Which extension error endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "extension"), allow(dead_code))]
pub(crate) enum ExtensionFailure {
    /// `/extension/init/error`: the extension could not start.
    Init,
    /// `/extension/exit/error`: the extension is about to exit because of an error.
    Exit,
}

/// `POST /2020-01-01/extension/{init,exit}/error` for `id`, with an error JSON of `len` bytes.
#[cfg_attr(not(feature = "extension"), allow(dead_code))]
pub(crate) fn extension_error(
    out: &mut Vec<u8>,
    endpoint: &Endpoint,
    id: &[u8],
    which: ExtensionFailure,
    error_type: &str,
    len: usize,
) {
    start(out, "POST", endpoint, EXTENSION);
    out.extend_from_slice(match which {
        ExtensionFailure::Init => b"init/error",
        ExtensionFailure::Exit => b"exit/error",
    });
    end_line(out, endpoint);
    field(out, header::EXTENSION_ID, id);
    field(out, header::EXTENSION_ERROR_TYPE, error_type.as_bytes());
    field(out, header::CONTENT_TYPE, b"application/json");
    end(out, Body::Length(len));
}

/// `PUT /2022-07-01/telemetry` for `id`, with a subscription JSON of `len` bytes.
#[cfg_attr(not(feature = "extension"), allow(dead_code))]
pub(crate) fn telemetry_subscribe(out: &mut Vec<u8>, endpoint: &Endpoint, id: &[u8], len: usize) {
    start(out, "PUT", endpoint, "/2022-07-01/telemetry");
    end_line(out, endpoint);
    field(out, header::EXTENSION_ID, id);
    field(out, header::CONTENT_TYPE, b"application/json");
    end(out, Body::Length(len));
}

/// The size line that precedes `len` bytes of chunk data (`len` > 0); the data is followed by
/// [`CHUNK_END`]. Written into `buf`, so a chunk costs no allocation.
pub(crate) fn chunk_size_line(buf: &mut [u8; 18], len: usize) -> &[u8] {
    let mut digits = [0u8; 16];
    let digits = text::hex(&mut digits, len as u64);
    let n = digits.len();
    buf[..n].copy_from_slice(digits);
    buf[n..n + 2].copy_from_slice(b"\r\n");
    &buf[..n + 2]
}

/// What ends every chunk's data.
pub(crate) const CHUNK_END: &[u8] = b"\r\n";

/// The end of a chunked body: the last chunk and, when a streamed response failed, the two
/// trailers its head declared: the error type and the base64 of the error JSON.
pub(crate) fn last_chunk(out: &mut Vec<u8>, failure: Option<(&str, &[u8])>) {
    out.clear();
    out.extend_from_slice(b"0\r\n");
    if let Some((error_type, error_json)) = failure {
        field(out, header::ERROR_TYPE, error_type.as_bytes());
        out.extend_from_slice(header::ERROR_BODY.as_bytes());
        out.extend_from_slice(b": ");
        text::push_base64(out, error_json);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// `METHOD <base path><api>` into a cleared `out`; the caller appends the rest of the target.
fn start(out: &mut Vec<u8>, method: &str, endpoint: &Endpoint, api: &str) {
    out.clear();
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(endpoint.base_path.as_bytes());
    out.extend_from_slice(api.as_bytes());
}

/// Ends the request line; writes `Host` and `User-Agent`.
fn end_line(out: &mut Vec<u8>, endpoint: &Endpoint) {
    out.extend_from_slice(b" HTTP/1.1\r\n");
    field(out, "host", endpoint.host.as_bytes());
    field(out, "user-agent", USER_AGENT.as_bytes());
}

fn field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// The framing header, then the blank line that ends the head.
fn end(out: &mut Vec<u8>, body: Body) {
    match body {
        Body::None => {}
        Body::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            text::push_decimal(out, n as u64);
            out.extend_from_slice(b"\r\n");
        }
        Body::Chunked => field(out, header::TRANSFER_ENCODING, b"chunked"),
    }
    out.extend_from_slice(b"\r\n");
}

/// `POST …/invocation/{id}{tail}` and, when there is one, the invocation id header.
fn invocation_post(out: &mut Vec<u8>, endpoint: &Endpoint, inv: Invocation<'_>, tail: &[u8]) {
    start(out, "POST", endpoint, RUNTIME);
    out.extend_from_slice(b"invocation/");
    push_path_segment(out, inv.request_id);
    out.extend_from_slice(tail);
    end_line(out, endpoint);
    if let Some(id) = inv.invocation_id {
        field(out, header::INVOCATION_ID, id);
    }
}

fn error_fields(out: &mut Vec<u8>, error_type: &str, len: usize) {
    field(out, header::ERROR_TYPE, error_type.as_bytes());
    field(out, header::CONTENT_TYPE, b"application/json");
    end(out, Body::Length(len));
}

/// Appends `segment` as one URL path segment, percent-encoding everything outside RFC 3986's
/// unreserved set and sub-delims, so a request id can never add a path, query or header.
fn push_path_segment(out: &mut Vec<u8>, segment: &[u8]) {
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
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint::parse("http://127.0.0.1:9001/.rt").unwrap()
    }

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = b"stale bytes from the last request".to_vec();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    const UA: &str = concat!(
        "user-agent: lambda-lite/",
        env!("CARGO_PKG_VERSION"),
        "\r\n"
    );

    #[test]
    fn every_call_has_its_head() {
        let ep = &endpoint();
        let inv = Invocation {
            request_id: b"a b/c?d%e\r\n",
            invocation_id: Some(b"i-1"),
        };
        let plain = Invocation {
            request_id: b"r1",
            invocation_id: None,
        };
        let host = "host: 127.0.0.1:9001\r\n";
        let cases: Vec<(String, String)> = vec![
            (
                text(|o| next(o, ep)),
                format!("GET /.rt/2018-06-01/runtime/invocation/next HTTP/1.1\r\n{host}{UA}\r\n"),
            ),
            (
                text(|o| response(o, ep, inv, 42)),
                format!(
                    "POST /.rt/2018-06-01/runtime/invocation/a%20b%2Fc%3Fd%25e%0D%0A/response HTTP/1.1\r\n{host}{UA}\
                     lambda-runtime-invocation-id: i-1\r\ncontent-length: 42\r\n\r\n"
                ),
            ),
            (
                text(|o| response(o, ep, plain, 0)),
                format!(
                    "POST /.rt/2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\n{host}{UA}content-length: 0\r\n\r\n"
                ),
            ),
            (
                text(|o| {
                    streamed_response(
                        o,
                        ep,
                        plain,
                        Some("application/vnd.awslambda.http-integration-response"),
                    )
                }),
                format!(
                    "POST /.rt/2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\n{host}{UA}\
                     lambda-runtime-function-response-mode: streaming\r\n\
                     content-type: application/vnd.awslambda.http-integration-response\r\n\
                     trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\
                     transfer-encoding: chunked\r\n\r\n"
                ),
            ),
            (
                text(|o| error(o, ep, inv, "Function.Oops", 7)),
                format!(
                    "POST /.rt/2018-06-01/runtime/invocation/a%20b%2Fc%3Fd%25e%0D%0A/error HTTP/1.1\r\n{host}{UA}\
                     lambda-runtime-invocation-id: i-1\r\nlambda-runtime-function-error-type: Function.Oops\r\n\
                     content-type: application/json\r\ncontent-length: 7\r\n\r\n"
                ),
            ),
            (
                text(|o| init_error(o, ep, "Runtime.InitError", 3)),
                format!(
                    "POST /.rt/2018-06-01/runtime/init/error HTTP/1.1\r\n{host}{UA}\
                     lambda-runtime-function-error-type: Runtime.InitError\r\ncontent-type: application/json\r\n\
                     content-length: 3\r\n\r\n"
                ),
            ),
            (
                text(|o| restore_next(o, ep)),
                format!("GET /.rt/2018-06-01/runtime/restore/next HTTP/1.1\r\n{host}{UA}\r\n"),
            ),
            (
                text(|o| restore_error(o, ep, 2)),
                format!(
                    "POST /.rt/2018-06-01/runtime/restore/error HTTP/1.1\r\n{host}{UA}\
                     lambda-runtime-function-error-type: Runtime.AfterRestoreError\r\ncontent-type: application/json\r\n\
                     content-length: 2\r\n\r\n"
                ),
            ),
            (
                text(|o| extension_register(o, ep, b"my-ext", 21)),
                format!(
                    "POST /.rt/2020-01-01/extension/register HTTP/1.1\r\n{host}{UA}\
                     lambda-extension-name: my-ext\r\ncontent-type: application/json\r\ncontent-length: 21\r\n\r\n"
                ),
            ),
            (
                text(|o| extension_next(o, ep, b"uuid-1")),
                format!(
                    "GET /.rt/2020-01-01/extension/event/next HTTP/1.1\r\n{host}{UA}lambda-extension-identifier: uuid-1\r\n\r\n"
                ),
            ),
            (
                text(|o| {
                    extension_error(
                        o,
                        ep,
                        b"uuid-1",
                        ExtensionFailure::Exit,
                        "Extension.Crashed",
                        5,
                    )
                }),
                format!(
                    "POST /.rt/2020-01-01/extension/exit/error HTTP/1.1\r\n{host}{UA}\
                     lambda-extension-identifier: uuid-1\r\nlambda-extension-function-error-type: Extension.Crashed\r\n\
                     content-type: application/json\r\ncontent-length: 5\r\n\r\n"
                ),
            ),
            (
                text(|o| telemetry_subscribe(o, ep, b"uuid-1", 9)),
                format!(
                    "PUT /.rt/2022-07-01/telemetry HTTP/1.1\r\n{host}{UA}\
                     lambda-extension-identifier: uuid-1\r\ncontent-type: application/json\r\ncontent-length: 9\r\n\r\n"
                ),
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn chunk_frames_and_trailers() {
        let mut buf = [0u8; 18];
        assert_eq!(chunk_size_line(&mut buf, 1), b"1\r\n");
        assert_eq!(chunk_size_line(&mut buf, 65536), b"10000\r\n");
        assert_eq!(
            chunk_size_line(&mut buf, usize::MAX),
            b"ffffffffffffffff\r\n"
        );
        assert_eq!(text(|o| last_chunk(o, None)), "0\r\n\r\n");
        assert_eq!(
            text(|o| last_chunk(o, Some(("Function.Oops", br#"{"a":1}"#)))),
            "0\r\nlambda-runtime-function-error-type: Function.Oops\r\n\
             lambda-runtime-function-error-body: eyJhIjoxfQ==\r\n\r\n"
        );
    }
}
