//! AWS Signature Version 4: the canonical request, the string to sign, the signing key and
//! the two places a signature goes (an `Authorization` header, or a presigned URL's query).
//! On `ring`'s SHA-256 and HMAC, which rustls links anyway: signing adds no dependency.
//!
//! Paths come in two models, as in the SDKs: every service but S3 signs the path *as sent*
//! encoded once more (`%3A` is signed as `%253A`) after removing dot segments and empty
//! segments; S3 signs the path as sent, untouched.

use std::fmt::Write as _;

use ring::{digest, hmac};

use super::credentials::Credentials;
use super::time::Timestamp;

/// The payload hash of an S3 request whose body is not signed (presigned URLs).
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// How a service wants its requests signed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules {
    /// Remove dot and empty segments from the path (every service but S3).
    pub(crate) normalize_path: bool,
    /// Encode the path as sent once more (every service but S3).
    pub(crate) double_encode_path: bool,
    /// Send and sign `x-amz-content-sha256` (S3).
    pub(crate) content_sha256_header: bool,
    /// Add the session token after signing instead of signing it (a few services; the suite
    /// tests it).
    pub(crate) omit_session_token: bool,
}

impl Rules {
    /// Every service but S3.
    pub(crate) const DEFAULT: Rules = Rules {
        normalize_path: true,
        double_encode_path: true,
        content_sha256_header: false,
        omit_session_token: false,
    };
    /// S3.
    pub(crate) const S3: Rules = Rules {
        normalize_path: false,
        double_encode_path: false,
        content_sha256_header: true,
        omit_session_token: false,
    };
}

/// Who signs, for what, when.
pub(crate) struct Scope<'a> {
    pub(crate) credentials: &'a Credentials,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
    pub(crate) time: Timestamp,
}

/// A request to sign: the method, the path and query as sent (percent-encoded), the headers
/// that will be sent (`host` among them), and the payload's SHA-256 in hex (or
/// [`UNSIGNED_PAYLOAD`]).
pub(crate) struct Request<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    pub(crate) headers: &'a [(&'a str, &'a str)],
    pub(crate) payload_sha256: &'a str,
}

/// What header signing adds to a request: these headers, in this order.
pub(crate) type AddedHeaders = Vec<(&'static str, String)>;

/// Signs `request` for an `Authorization` header; returns the headers to add (`X-Amz-Date`,
/// the session token, `x-amz-content-sha256` if the rules ask, `Authorization`).
pub(crate) fn sign_headers(request: &Request<'_>, scope: &Scope<'_>, rules: Rules) -> AddedHeaders {
    let amz_date = scope.time.amz_date();
    let mut added: AddedHeaders = vec![("X-Amz-Date", amz_date.clone())];
    let token = scope.credentials.session_token.as_deref();
    if let (Some(token), false) = (token, rules.omit_session_token) {
        added.push(("X-Amz-Security-Token", token.to_owned()));
    }
    if rules.content_sha256_header {
        added.push(("x-amz-content-sha256", request.payload_sha256.to_owned()));
    }
    let mut headers: Vec<(&str, &str)> = request.headers.to_vec();
    headers.extend(added.iter().map(|(n, v)| (*n, v.as_str())));
    let canonical_headers = CanonicalHeaders::of(&headers);
    let creq = canonical_request(
        request,
        rules,
        &canonical_query(request.query),
        &canonical_headers,
    );
    let signature = signature(scope, &creq);
    let mut authorization = String::with_capacity(200);
    let _ = write!(
        authorization,
        "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}",
        scope.credentials.access_key_id,
        credential_scope(scope),
        canonical_headers.names,
        signature
    );
    if let (Some(token), true) = (token, rules.omit_session_token) {
        added.push(("X-Amz-Security-Token", token.to_owned()));
    }
    added.push(("Authorization", authorization));
    added
}

/// Signs `request` into its query (a presigned URL valid for `expires_in` seconds); returns
/// the query to send, the request's own parameters first.
pub(crate) fn presign_query(
    request: &Request<'_>,
    scope: &Scope<'_>,
    rules: Rules,
    expires_in: u64,
) -> String {
    let canonical_headers = CanonicalHeaders::of(request.headers);
    let mut query = String::with_capacity(request.query.len() + 400);
    query.push_str(request.query);
    let mut add = |name: &str, value: &str| {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(name);
        query.push('=');
        encode_into(&mut query, value.as_bytes(), false);
    };
    add("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
    add(
        "X-Amz-Credential",
        &format!(
            "{}/{}",
            scope.credentials.access_key_id,
            credential_scope(scope)
        ),
    );
    add("X-Amz-Date", &scope.time.amz_date());
    add("X-Amz-SignedHeaders", &canonical_headers.names);
    add("X-Amz-Expires", &expires_in.to_string());
    let token = scope.credentials.session_token.as_deref();
    if let (Some(token), false) = (token, rules.omit_session_token) {
        add("X-Amz-Security-Token", token);
    }
    let creq = canonical_request(
        &Request {
            query: &query,
            ..*request
        },
        rules,
        &canonical_query(&query),
        &canonical_headers,
    );
    let signature = signature(scope, &creq);
    if let (Some(token), true) = (token, rules.omit_session_token) {
        query.push_str("&X-Amz-Security-Token=");
        encode_into(&mut query, token.as_bytes(), false);
    }
    query.push_str("&X-Amz-Signature=");
    query.push_str(&signature);
    query
}

/// The lowercase hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

fn credential_scope(scope: &Scope<'_>) -> String {
    format!(
        "{}/{}/{}/aws4_request",
        scope.time.date(),
        scope.region,
        scope.service
    )
}

/// The signature of a canonical request, in hex.
fn signature(scope: &Scope<'_>, canonical_request: &str) -> String {
    let to_sign = string_to_sign(scope, canonical_request);
    let key = signing_key(
        &scope.credentials.secret_access_key,
        &scope.time.date(),
        scope.region,
        scope.service,
    );
    hex(hmac::sign(&key, to_sign.as_bytes()).as_ref())
}

pub(crate) fn string_to_sign(scope: &Scope<'_>, canonical_request: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{}\n{}\n{}",
        scope.time.amz_date(),
        credential_scope(scope),
        sha256_hex(canonical_request.as_bytes())
    )
}

fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> hmac::Key {
    let step = |key: &[u8], data: &str| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
    };
    let k_date = step(format!("AWS4{secret}").as_bytes(), date);
    let k_region = step(k_date.as_ref(), region);
    let k_service = step(k_region.as_ref(), service);
    let k_signing = step(k_service.as_ref(), "aws4_request");
    hmac::Key::new(hmac::HMAC_SHA256, k_signing.as_ref())
}

/// The signed headers: `name:value\n` lines and the `;`-joined names.
pub(crate) struct CanonicalHeaders {
    lines: String,
    names: String,
}

impl CanonicalHeaders {
    /// Names lowercased and sorted, repeated names joined with `,` in their order, values
    /// trimmed with inner runs of spaces (and folded lines) collapsed to one space.
    fn of(headers: &[(&str, &str)]) -> CanonicalHeaders {
        let mut sorted: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), collapse_spaces(v)))
            .collect();
        // Stable: repeated names keep their order.
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut lines = String::new();
        let mut names = String::new();
        let mut previous: Option<&str> = None;
        for (name, value) in &sorted {
            if previous == Some(name.as_str()) {
                lines.pop();
                lines.push(',');
            } else {
                if previous.is_some() {
                    names.push(';');
                }
                names.push_str(name);
                lines.push_str(name);
                lines.push(':');
            }
            lines.push_str(value);
            lines.push('\n');
            previous = Some(name);
        }
        CanonicalHeaders { lines, names }
    }
}

fn collapse_spaces(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for word in value.split([' ', '\t', '\r', '\n']) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

pub(crate) fn canonical_request(
    request: &Request<'_>,
    rules: Rules,
    canonical_query: &str,
    headers: &CanonicalHeaders,
) -> String {
    let mut creq = String::with_capacity(
        256 + request.path.len() + canonical_query.len() + headers.lines.len(),
    );
    creq.push_str(request.method);
    creq.push('\n');
    canonical_path(&mut creq, request.path, rules);
    creq.push('\n');
    creq.push_str(canonical_query);
    creq.push('\n');
    creq.push_str(&headers.lines);
    creq.push('\n');
    creq.push_str(&headers.names);
    creq.push('\n');
    creq.push_str(request.payload_sha256);
    creq
}

/// The path as signed: dot and empty segments removed if the rules normalize; then encoded
/// again whole if they double-encode, or else with any byte that should have been escaped and
/// was not (so `/a b` and `/a%20b` sign alike).
fn canonical_path(out: &mut String, path: &str, rules: Rules) {
    let normalized;
    let path = if rules.normalize_path {
        normalized = normalize_path(path);
        normalized.as_str()
    } else if path.is_empty() {
        "/"
    } else {
        path
    };
    if rules.double_encode_path {
        encode_into(out, path.as_bytes(), true);
    } else {
        encode_into(
            out,
            &crate::text::percent_decode_bytes(path.as_bytes(), false),
            true,
        );
    }
}

/// RFC 3986's remove-dot-segments, with empty segments removed too; a trailing `/` kept.
fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    let trailing = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    if out.is_empty() || trailing {
        out.push('/');
    }
    out
}

/// The query as signed: each name and value decoded and encoded again (so every escape is
/// uppercase and every reserved byte escaped), sorted by name, then value.
pub(crate) fn canonical_query(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let mut n = String::new();
            encode_into(
                &mut n,
                &crate::text::percent_decode_bytes(name.as_bytes(), false),
                false,
            );
            let mut v = String::new();
            encode_into(
                &mut v,
                &crate::text::percent_decode_bytes(value.as_bytes(), false),
                false,
            );
            (n, v)
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(query.len() + 16);
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(n);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Percent-encodes every byte but the unreserved ones (`A-Z a-z 0-9 - _ . ~`) and, if
/// `keep_slash`, `/`, with uppercase hex (RFC 3986, as SigV4 wants it).
pub(crate) fn encode_into(out: &mut String, bytes: &[u8], keep_slash: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

#[cfg(test)]
mod tests;
