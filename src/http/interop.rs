//! Conversions to and from the `http` crate's types (feature `http-types`), for code written
//! against them: `http` alone, no hyper, no tokio.

use super::{Request, Response};

impl Request<'_> {
    /// This request as an `http::Request` (method, path and query, headers, cookies as a
    /// `cookie` header, the body's bytes). A method or header the `http` crate refuses is
    /// an error.
    pub fn to_http(&self) -> crate::error::Result<::http::Request<Vec<u8>>> {
        let mut uri = self.raw_path().to_owned();
        let mut first = true;
        for (name, value) in self.query_pairs() {
            uri.push(if first { '?' } else { '&' });
            first = false;
            push_encoded(&mut uri, name);
            uri.push('=');
            push_encoded(&mut uri, value);
        }
        let mut builder = ::http::Request::builder().method(self.method()).uri(uri);
        let mut cookie_header = false;
        for (name, value) in self.headers() {
            cookie_header |= name.eq_ignore_ascii_case("cookie");
            builder = builder.header(name, value);
        }
        let cookies: Vec<&str> = self.cookies().collect();
        if !cookie_header && !cookies.is_empty() {
            builder = builder.header("cookie", cookies.join("; "));
        }
        builder.body(self.body().to_vec()).map_err(|e| {
            crate::error::Error::new(
                "Runtime.InvalidEvent",
                format!("the request is not one the http crate takes: {e}"),
            )
        })
    }
}

/// Percent-encodes what a query part cannot hold as it is.
fn push_encoded(out: &mut String, text: &str) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

impl<B: Into<Vec<u8>>> From<::http::Response<B>> for Response {
    /// Status, headers (each `set-cookie` as a cookie) and body of an `http::Response`.
    fn from(response: ::http::Response<B>) -> Response {
        let (parts, body) = response.into_parts();
        let mut out = Response::new(parts.status.as_u16());
        for (name, value) in &parts.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            out = if name == ::http::header::SET_COOKIE {
                out.cookie(value)
            } else {
                out.header(name.as_str(), value)
            };
        }
        out.body(body)
    }
}
