//! `Error`, what handlers return, and the `{"errorType","errorMessage","stackTrace"}` body the
//! Runtime API expects on `/error` and `/init/error`, with its own JSON string escaping.

use std::borrow::Cow;
use std::fmt;

use crate::endpoint::Endpoint;
#[cfg(feature = "extension")]
use crate::proto::request::ExtensionFailure;
use crate::proto::request::{self, Invocation};
use crate::text::push_json_string;

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A handler or init failure, reported to Lambda as `errorType` and `errorMessage`.
///
/// `?` converts everything that converts into `Box<dyn std::error::Error + Send + Sync>`
/// (what `lambda_runtime::Error` is): any `std::error::Error + Send + Sync`, a boxed error,
/// `anyhow::Error`, and `&str` or `String` (so `Err("no such order".into())` works). The
/// `errorType` is the short name of the concrete type (`ParseIntError`, not
/// `core::num::error::ParseIntError` or `&alloc::boxed::Box<dyn …>`); an error that arrives
/// already type-erased (boxed, `anyhow`, a string) has the type `Error`. The message is the
/// `Display` text followed by the `source()` chain. An error that is not `Send + Sync` (a
/// `PoisonError` holding a guard) converts with [`Error::msg`].
///
/// Like `anyhow::Error`, `Error` does not itself implement `std::error::Error`: that is what
/// makes the blanket conversion possible, and for the same reason there can be no
/// `From<Error> for Box<dyn std::error::Error + Send + Sync>` (it would make `Error` convert
/// into itself twice); [`Error::into_boxed`] is that conversion.
///
/// ```
/// use lambda_lite::Error;
///
/// fn parse(event: &[u8]) -> Result<u32, Error> {
///     let text = std::str::from_utf8(event)?;
///     Ok(text.trim().parse::<u32>()?)
/// }
/// let err = parse(b"twelve").unwrap_err();
/// assert_eq!(err.error_type(), "ParseIntError");
/// assert_eq!(err.message(), "invalid digit found in string");
///
/// let err = Error::new("OrderNotFound", "no order 42");
/// assert_eq!(err.to_string(), "OrderNotFound: no order 42");
/// ```
pub struct Error {
    error_type: Cow<'static, str>,
    message: String,
}

impl Error {
    /// An error with an explicit `errorType` (e.g. `"OrderNotFound"`) and message.
    ///
    /// A type of the form `Runtime.Reason` or `Function.Reason` is also sent unchanged as the
    /// `Lambda-Runtime-Function-Error-Type` header; any other is sent there as
    /// `Function.<Type>` (see [`Error::error_type`]).
    #[cold]
    pub fn new(error_type: impl Into<Cow<'static, str>>, message: impl fmt::Display) -> Error {
        Error {
            error_type: error_type.into(),
            message: message.to_string(),
        }
    }

    /// An error with `errorType` `"Error"` and the given message.
    #[cold]
    pub fn msg(message: impl fmt::Display) -> Error {
        Error::new("Error", message)
    }

    /// The `errorType` sent to Lambda.
    pub fn error_type(&self) -> &str {
        &self.error_type
    }

    /// The `errorMessage` sent to Lambda.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `Lambda-Runtime-Function-Error-Type` header value: `Category.Reason`, the only shape
    /// the service keeps (anything else it rewrites to `Runtime.Unknown`).
    pub(crate) fn header_type(&self) -> Cow<'_, str> {
        header_type(&self.error_type, Category::Function)
    }

    /// The `Lambda-Extension-Function-Error-Type` header value of an extension's error:
    /// `Extension.Reason` (or a type already shaped `Extension.X`).
    #[cfg(feature = "extension")]
    pub(crate) fn extension_header_type(&self) -> Cow<'_, str> {
        header_type(&self.error_type, Category::Extension)
    }
}

/// How an error that knows its own `errorType` is converted, for the module that makes such
/// errors (the AWS client's: their code is the type): set by it before its first error, so
/// that this module, below it, names none of its types.
#[cfg(feature = "aws")]
pub(crate) type Typed = fn(&(dyn std::error::Error + 'static)) -> Option<Error>;
#[cfg(feature = "aws")]
pub(crate) static TYPED: std::sync::OnceLock<Typed> = std::sync::OnceLock::new();

impl<E> From<E> for Error
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    #[cold]
    fn from(error: E) -> Error {
        let error_type = erased_or_short(std::any::type_name::<E>());
        let error: Box<dyn std::error::Error + Send + Sync> = error.into();
        // An AWS call's error keeps its code as the type (`ConditionalCheckFailedException`).
        #[cfg(feature = "aws")]
        if let Some(typed) = TYPED.get().and_then(|convert| convert(&*error)) {
            return typed;
        }
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Error {
            error_type,
            message,
        }
    }
}

impl Error {
    /// This error as a `Box<dyn std::error::Error + Send + Sync>` (for code that returns
    /// `lambda_runtime::Error`-shaped results), its `Display` being `errorType: errorMessage`.
    pub fn into_boxed(self) -> Box<dyn std::error::Error + Send + Sync> {
        self.to_string().into()
    }
}

/// The `errorType` of a converted error: the short name of its type, or `Error` when the
/// type says nothing (an already type-erased error, a string).
fn erased_or_short(full: &'static str) -> Cow<'static, str> {
    let short = short_type_name(full);
    let erased = short.starts_with("Box<dyn ")
        || short.starts_with("Cow<")
        || matches!(&*short, "&str" | "String" | "&String");
    if erased {
        Cow::Borrowed("Error")
    } else {
        short
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("error_type", &self.error_type)
            .field("message", &self.message)
            .finish()
    }
}

/// `core::num::error::ParseIntError` → `ParseIntError`; `a::Wrap<alloc::string::String>` →
/// `Wrap<String>`: every path loses its module prefix, generics and punctuation stay.
pub(crate) fn short_type_name(full: &'static str) -> Cow<'static, str> {
    let is_path_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
    if full.bytes().all(is_path_byte) {
        return Cow::Borrowed(full.rsplit("::").next().unwrap_or(full));
    }
    let mut out = String::with_capacity(full.len());
    let mut rest = full;
    while !rest.is_empty() {
        let path_len = rest.bytes().take_while(|&b| is_path_byte(b)).count();
        let (path, tail) = rest.split_at(path_len);
        out.push_str(path.rsplit("::").next().unwrap_or(path));
        let punct_len = tail.bytes().take_while(|&b| !is_path_byte(b)).count();
        out.push_str(&tail[..punct_len]);
        rest = &tail[punct_len..];
    }
    Cow::Owned(out)
}

/// Whose error header a type is shaped for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Category {
    /// A function's: `Runtime.X` and `Function.X` are kept, anything else becomes `Function.X`.
    Function,
    /// An extension's: `Extension.X` is kept, anything else becomes `Extension.X`.
    #[cfg(feature = "extension")]
    Extension,
}

fn header_type(error_type: &str, to: Category) -> Cow<'_, str> {
    let is_reason = |r: &str| {
        r.len() > 1
            && r.as_bytes()[0].is_ascii_uppercase()
            && r.bytes().all(|b| b.is_ascii_alphanumeric())
    };
    let dot = error_type.bytes().position(|b| b == b'.').unwrap_or(0);
    let category = &error_type[..dot];
    let (kept, default, unhandled): (&[&str], &str, &'static str) = match to {
        Category::Function => (&["Runtime", "Function"], "Function.", "Function.Unhandled"),
        #[cfg(feature = "extension")]
        Category::Extension => (&["Extension"], "Extension.", "Extension.Unhandled"),
    };
    if kept.contains(&category) && is_reason(&error_type[dot + 1..]) {
        return Cow::Borrowed(error_type);
    }
    let generic = error_type
        .bytes()
        .position(|b| b == b'<')
        .unwrap_or(error_type.len());
    let mut reason = error_type[..generic].to_owned();
    if let Some(first) = reason.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    if is_reason(&reason) {
        reason.insert_str(0, default);
        Cow::Owned(reason)
    } else {
        Cow::Borrowed(unhandled)
    }
}

/// Where an error is reported.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ReportTo<'a> {
    /// An invocation's `/error`.
    Invocation(Invocation<'a>),
    /// `/init/error`.
    Init,
    /// `/restore/error`.
    Restore,
    /// An extension's `/extension/init/error` or `/exit/error`, under its identifier.
    #[cfg(feature = "extension")]
    Extension(&'a [u8], ExtensionFailure),
    /// The trailers that end a started stream: the last chunk.
    Trailers,
}

impl Error {
    /// The one path from an error to wire bytes: its JSON into `body`, then into `head` the
    /// request head that posts it to `to` on `endpoint` (or, for a stream's trailers, the last
    /// chunk, which carries the JSON itself). Inlined, so each caller links only its own arm
    /// (a function that never streams carries no trailer writer).
    #[inline(always)]
    pub(crate) fn write_report(
        &self,
        to: ReportTo<'_>,
        endpoint: &Endpoint,
        head: &mut Vec<u8>,
        body: &mut Vec<u8>,
    ) {
        write_error_json(body, &self.error_type, &self.message);
        let len = body.len();
        match to {
            ReportTo::Invocation(inv) => {
                request::error(head, endpoint, inv, &self.header_type(), len);
            }
            ReportTo::Init => request::init_error(head, endpoint, &self.header_type(), len),
            ReportTo::Restore => request::restore_error(head, endpoint, len),
            #[cfg(feature = "extension")]
            ReportTo::Extension(id, which) => {
                let header_type = self.extension_header_type();
                request::extension_error(head, endpoint, id, which, &header_type, len);
            }
            ReportTo::Trailers => request::last_chunk(head, Some((&self.header_type(), body))),
        }
    }
}

/// Writes `{"errorType":…,"errorMessage":…,"stackTrace":[]}` into `out` (cleared first). A
/// panic's location is part of its message; there is no other stack to report.
fn write_error_json(out: &mut Vec<u8>, error_type: &str, message: &str) {
    out.clear();
    out.extend_from_slice(b"{\"errorType\":");
    push_json_string(out, error_type);
    out.extend_from_slice(b",\"errorMessage\":");
    push_json_string(out, message);
    out.extend_from_slice(b",\"stackTrace\":[]}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    enum MyError {
        Broken,
    }
    impl fmt::Display for MyError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("broken")
        }
    }
    impl std::error::Error for MyError {}

    #[derive(Debug)]
    struct Wrap<T>(T);
    impl<T: fmt::Debug> fmt::Display for Wrap<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "wrapped {:?}", self.0)
        }
    }
    impl<T: fmt::Debug> std::error::Error for Wrap<T> {}

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("reading config")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn type_names_are_short() {
        let boxed: Box<dyn std::error::Error + Send + Sync> = "x".parse::<u8>().unwrap_err().into();
        let cases: &[(Error, &str)] = &[
            (std::io::Error::other("x").into(), "Error"),
            ("no such order".into(), "Error"),
            (String::from("dynamic text").into(), "Error"),
            (boxed.into(), "Error"),
            (anyhow::anyhow!("from anyhow").into(), "Error"),
            (anyhow::Error::new(MyError::Broken).into(), "Error"),
            ("x".parse::<u8>().unwrap_err().into(), "ParseIntError"),
            (
                std::str::from_utf8(std::hint::black_box(&[0xffu8][..]))
                    .unwrap_err()
                    .into(),
                "Utf8Error",
            ),
            (MyError::Broken.into(), "MyError"),
            (Wrap(String::new()).into(), "Wrap<String>"),
            (Wrap(vec![1u8]).into(), "Wrap<Vec<u8>>"),
            (Wrap((1u8, "a")).into(), "Wrap<(u8, &str)>"),
        ];
        for (err, want) in cases {
            assert_eq!(err.error_type(), *want);
        }
        assert_eq!(short_type_name("std::io::error::Error"), "Error");
        assert_eq!(
            short_type_name("&alloc::boxed::Box<dyn core::error::Error>"),
            "&Box<dyn Error>"
        );
    }

    #[test]
    fn message_includes_the_source_chain() {
        let err: Error = Outer(std::io::Error::other("disk on fire")).into();
        assert_eq!(err.message(), "reading config: disk on fire");
        assert_eq!(err.error_type(), "Outer");
    }

    #[test]
    fn header_types_keep_the_category_reason_shape() {
        let cases = [
            ("ParseIntError", "Function.ParseIntError"),
            ("Runtime.HandlerPanic", "Runtime.HandlerPanic"),
            ("Function.Timeout", "Function.Timeout"),
            ("myError", "Function.MyError"),
            ("Wrap<String>", "Function.Wrap"),
            ("&str", "Function.Unhandled"),
            ("Bad\r\nInjected: 1", "Function.Unhandled"),
            ("Runtime.bad", "Function.Unhandled"),
            ("", "Function.Unhandled"),
            ("Utf8Error", "Function.Utf8Error"),
        ];
        for (ty, want) in cases {
            assert_eq!(Error::new(ty, "m").header_type(), want, "{ty}");
        }
    }

    #[cfg(feature = "extension")]
    #[test]
    fn extension_header_types_keep_the_extension_shape() {
        let cases = [
            ("Extension.ConfigInvalid", "Extension.ConfigInvalid"),
            ("UploadFailed", "Extension.UploadFailed"),
            ("Function.Failed", "Extension.Unhandled"),
            ("&str", "Extension.Unhandled"),
        ];
        for (ty, want) in cases {
            assert_eq!(Error::new(ty, "m").extension_header_type(), want, "{ty}");
        }
    }

    #[test]
    fn error_json_is_escaped() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "T",
                "plain",
                r#"{"errorType":"T","errorMessage":"plain","stackTrace":[]}"#,
            ),
            (
                "T",
                "say \"hi\"",
                r#"{"errorType":"T","errorMessage":"say \"hi\"","stackTrace":[]}"#,
            ),
            (
                "T",
                "a\\b",
                r#"{"errorType":"T","errorMessage":"a\\b","stackTrace":[]}"#,
            ),
            (
                "T",
                "l1\nl2\r\t",
                r#"{"errorType":"T","errorMessage":"l1\nl2\r\t","stackTrace":[]}"#,
            ),
            (
                "T",
                "\0\x01\x1f\x7f",
                r#"{"errorType":"T","errorMessage":"\u0000\u0001\u001f\u007f","stackTrace":[]}"#,
            ),
            (
                "T",
                "héllo ✓ 😀",
                r#"{"errorType":"T","errorMessage":"héllo ✓ 😀","stackTrace":[]}"#,
            ),
            (
                "T\"",
                "m",
                r#"{"errorType":"T\"","errorMessage":"m","stackTrace":[]}"#,
            ),
        ];
        let mut out = Vec::new();
        for (ty, msg, want) in cases {
            write_error_json(&mut out, ty, msg);
            assert_eq!(std::str::from_utf8(&out).unwrap(), *want);
        }
    }
}
