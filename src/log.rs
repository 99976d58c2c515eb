//! Log lines in Lambda's own formats, following the advanced logging controls:
//! `AWS_LAMBDA_LOG_FORMAT=JSON` gives one JSON object per line (`timestamp`, `level`,
//! `message`, `requestId`), `Text` or unset a tab-separated line; `AWS_LAMBDA_LOG_LEVEL`
//! (`TRACE` … `FATAL`, default `INFO`) filters both. The runtime's own diagnostics take the
//! same path. Lines go to stderr, one `write` each, so they never interleave.
//!
//! With the `log` feature, records of the `log` crate (what many libraries log through) take
//! the same path; with the `tracing` feature, `tracing` events do (a subscriber on
//! `tracing-core` alone). The entry points ([`run`](crate::run) and the others) install the
//! bridges the features enable, unless the program installed a logger or subscriber of its
//! own first; a custom `main` calls [`install_bridges`]. In JSON format a bridged line also
//! carries `logger`, the record's target (its module path, by default).

use std::cell::RefCell;
use std::fmt;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::text::push_json_string;

/// Severity of a log line, in Lambda's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `TRACE`
    Trace,
    /// `DEBUG`
    Debug,
    /// `INFO` (the default threshold)
    Info,
    /// `WARN`
    Warn,
    /// `ERROR`
    Error,
    /// `FATAL`
    Fatal,
}

impl Level {
    /// The name Lambda filters on: `TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`, `FATAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }

    fn parse(name: &str) -> Option<Level> {
        [
            Level::Trace,
            Level::Debug,
            Level::Info,
            Level::Warn,
            Level::Error,
            Level::Fatal,
        ]
        .into_iter()
        .find(|l| l.as_str().eq_ignore_ascii_case(name.trim_ascii()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Settings {
    json: bool,
    threshold: Level,
}

impl Settings {
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Settings {
        Settings {
            json: lookup("AWS_LAMBDA_LOG_FORMAT")
                .is_some_and(|f| f.trim_ascii().eq_ignore_ascii_case("json")),
            threshold: lookup("AWS_LAMBDA_LOG_LEVEL")
                .and_then(|l| Level::parse(&l))
                .unwrap_or(Level::Info),
        }
    }
}

/// Read on the first log line, not at start-up.
fn settings() -> Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    *SETTINGS.get_or_init(|| Settings::from_lookup(|name| std::env::var(name).ok()))
}

thread_local! {
    /// The request id and tenant id (empty when none) of the invocation this thread is
    /// serving; their buffers are reused.
    static INVOCATION: RefCell<(String, String)> = const { RefCell::new((String::new(), String::new())) };
}

/// Sets (or, with `""` and `None`, clears) the request id and tenant id that log lines of
/// this thread carry.
pub(crate) fn set_invocation(request_id: &str, tenant_id: Option<&str>) {
    INVOCATION.with(|ids| {
        let (request, tenant) = &mut *ids.borrow_mut();
        request.clear();
        request.push_str(request_id);
        tenant.clear();
        tenant.push_str(tenant_id.unwrap_or(""));
    });
}

/// Whether a line at `level` would be written (so arguments need not be formatted).
pub fn enabled(level: Level) -> bool {
    level >= settings().threshold
}

/// Writes one log line at `level`, if enabled. The macros ([`info!`](crate::info) and
/// friends) call this; call it directly to log a message you already have.
pub fn log(level: Level, message: &str) {
    if enabled(level) {
        emit(level, message);
    }
}

#[doc(hidden)]
pub fn __log_fmt(level: Level, args: fmt::Arguments<'_>) {
    if enabled(level) {
        match args.as_str() {
            Some(s) => emit(level, s),
            None => emit(level, &args.to_string()),
        }
    }
}

/// Writes one line, already known to be enabled.
fn emit(level: Level, message: &str) {
    emit_from(level, message, None);
}

/// Writes one line with its logger (a bridged record's target), already known to be enabled.
fn emit_from(level: Level, message: &str, logger: Option<&str>) {
    let line = INVOCATION.with(|ids| {
        let (request_id, tenant_id) = &*ids.borrow();
        format_line(
            settings().json,
            level,
            message,
            (request_id, tenant_id),
            now_ms(),
            logger,
        )
    });
    #[cfg(feature = "testkit")]
    if capture::push(&line) {
        return;
    }
    let _ = std::io::stderr().write_all(&line);
}

/// The test kit's capture of this thread's lines, instead of stderr, during an invocation.
#[cfg(feature = "testkit")]
mod capture {
    use std::cell::RefCell;

    thread_local! {
        static LINES: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
    }

    /// Keeps `line` if this thread captures; whether it did.
    pub(super) fn push(line: &[u8]) -> bool {
        LINES.with(|lines| match &mut *lines.borrow_mut() {
            Some(lines) => {
                let text = String::from_utf8_lossy(line);
                lines.push(text.trim_end_matches('\n').to_owned());
                true
            }
            None => false,
        })
    }

    pub(crate) fn start() {
        LINES.with(|lines| *lines.borrow_mut() = Some(Vec::new()));
    }

    pub(crate) fn take() -> Vec<String> {
        LINES
            .with(|lines| lines.borrow_mut().take())
            .unwrap_or_default()
    }
}
#[cfg(feature = "testkit")]
pub(crate) use capture::{start as capture_start, take as capture_take};

/// Installs the bridges the `log` and `tracing` features enable (a no-op without them):
/// records of the `log` crate and `tracing` events become Lambda-format lines. Returns how
/// many were installed: a program that set a logger or subscriber first keeps its own. The
/// entry points call this; a custom `main` driving [`Runtime`](crate::Runtime) calls it.
pub fn install_bridges() -> usize {
    #[allow(unused_mut)]
    let mut installed = 0;
    #[cfg(feature = "log")]
    {
        installed += usize::from(log_bridge::install());
    }
    #[cfg(feature = "tracing")]
    {
        installed += usize::from(tracing_bridge::install());
    }
    installed
}

#[cfg(feature = "log")]
mod log_bridge {
    use super::{Level, emit_from, enabled};

    struct Bridge;
    static BRIDGE: Bridge = Bridge;

    fn level(l: log::Level) -> Level {
        match l {
            log::Level::Error => Level::Error,
            log::Level::Warn => Level::Warn,
            log::Level::Info => Level::Info,
            log::Level::Debug => Level::Debug,
            log::Level::Trace => Level::Trace,
        }
    }

    impl log::Log for Bridge {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            enabled(level(metadata.level()))
        }

        fn log(&self, record: &log::Record<'_>) {
            let level = level(record.level());
            if !enabled(level) {
                return;
            }
            match record.args().as_str() {
                Some(s) => emit_from(level, s, Some(record.target())),
                None => emit_from(level, &record.args().to_string(), Some(record.target())),
            }
        }

        fn flush(&self) {}
    }

    pub(super) fn install() -> bool {
        // The threshold is read on the first line (AWS_LAMBDA_LOG_LEVEL), not at start-up:
        // `log` lets every record through to `enabled`.
        let installed = log::set_logger(&BRIDGE).is_ok();
        if installed {
            log::set_max_level(log::LevelFilter::Trace);
        }
        installed
    }
}

#[cfg(feature = "tracing")]
mod tracing_bridge {
    use std::fmt::Write;
    use std::sync::atomic::{AtomicU64, Ordering};

    use tracing_core::field::{Field, Visit};
    use tracing_core::{Event, Metadata, span};

    use super::{Level, emit_from, enabled};

    /// A subscriber that writes each event as one line and ignores spans (a span's id is all
    /// it hands out).
    struct Bridge {
        next_span: AtomicU64,
    }

    fn level(l: &tracing_core::Level) -> Level {
        match *l {
            tracing_core::Level::ERROR => Level::Error,
            tracing_core::Level::WARN => Level::Warn,
            tracing_core::Level::INFO => Level::Info,
            tracing_core::Level::DEBUG => Level::Debug,
            _ => Level::Trace,
        }
    }

    /// `message` first, then every other field as ` name=value`.
    #[derive(Default)]
    struct Line {
        message: String,
        fields: String,
    }

    impl Visit for Line {
        fn record_str(&mut self, field: &Field, value: &str) {
            if field.name() == "message" {
                self.message.push_str(value);
            } else {
                let _ = write!(self.fields, " {}={value}", field.name());
            }
        }

        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                let _ = write!(self.message, "{value:?}");
            } else {
                let _ = write!(self.fields, " {}={value:?}", field.name());
            }
        }
    }

    impl tracing_core::Subscriber for Bridge {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            enabled(level(metadata.level()))
        }

        fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
            span::Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
        }

        fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

        fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

        fn event(&self, event: &Event<'_>) {
            let metadata = event.metadata();
            let level = level(metadata.level());
            if !enabled(level) {
                return;
            }
            let mut line = Line::default();
            event.record(&mut line);
            line.message.push_str(&line.fields);
            emit_from(level, &line.message, Some(metadata.target()));
        }

        fn enter(&self, _: &span::Id) {}

        fn exit(&self, _: &span::Id) {}
    }

    pub(super) fn install() -> bool {
        let bridge = Bridge {
            next_span: AtomicU64::new(1),
        };
        tracing_core::dispatcher::set_global_default(tracing_core::Dispatch::new(bridge)).is_ok()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn format_line(
    json: bool,
    level: Level,
    message: &str,
    (request_id, tenant_id): (&str, &str),
    epoch_ms: u64,
    logger: Option<&str>,
) -> Vec<u8> {
    let mut line = Vec::with_capacity(message.len() + 96);
    let mut stamp = [0u8; 24];
    write_rfc3339(&mut stamp, epoch_ms);
    if json {
        line.extend_from_slice(b"{\"timestamp\":\"");
        line.extend_from_slice(&stamp);
        line.extend_from_slice(b"\",\"level\":\"");
        line.extend_from_slice(level.as_str().as_bytes());
        line.extend_from_slice(b"\",\"message\":");
        push_json_string(&mut line, message);
        if !request_id.is_empty() {
            line.extend_from_slice(b",\"requestId\":");
            push_json_string(&mut line, request_id);
        }
        // Tenant isolation: the JSON format carries the invocation's tenant, as AWS's runtime
        // clients write it.
        if !tenant_id.is_empty() {
            line.extend_from_slice(b",\"tenantId\":");
            push_json_string(&mut line, tenant_id);
        }
        if let Some(logger) = logger {
            line.extend_from_slice(b",\"logger\":");
            push_json_string(&mut line, logger);
        }
        line.push(b'}');
    } else {
        line.extend_from_slice(&stamp);
        line.push(b'\t');
        line.extend_from_slice(if request_id.is_empty() {
            b"-"
        } else {
            request_id.as_bytes()
        });
        line.push(b'\t');
        line.extend_from_slice(level.as_str().as_bytes());
        line.push(b'\t');
        // One record per call, as AWS's runtime clients keep it: CloudWatch starts a new record
        // at every `\n`, so a text line carries its inner line breaks as `\r`.
        let start = line.len();
        line.extend_from_slice(message.as_bytes());
        for b in &mut line[start..] {
            if *b == b'\n' {
                *b = b'\r';
            }
        }
    }
    line.push(b'\n');
    line
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC) for Unix epoch milliseconds.
fn write_rfc3339(out: &mut [u8; 24], epoch_ms: u64) {
    let (secs, ms) = (epoch_ms / 1000, epoch_ms % 1000);
    let sod = secs % 86_400;
    let (year, month, day) = crate::text::civil_from_days(secs / 86_400);
    let fields: [(usize, u64, usize); 7] = [
        (0, year, 4),
        (5, month, 2),
        (8, day, 2),
        (11, sod / 3600, 2),
        (14, sod / 60 % 60, 2),
        (17, sod % 60, 2),
        (20, ms, 3),
    ];
    *out = *b"0000-00-00T00:00:00.000Z";
    for (at, mut value, width) in fields {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
}

/// Logs at `TRACE`: `lambda_lite::trace!("{} bytes", n)`.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => { $crate::log::__log_fmt($crate::log::Level::Trace, format_args!($($arg)+)) };
}

/// Logs at `DEBUG`: `lambda_lite::debug!("{} bytes", n)`.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log::__log_fmt($crate::log::Level::Debug, format_args!($($arg)+)) };
}

/// Logs at `INFO`: `lambda_lite::info!("order {} stored", id)`. The line carries the request
/// id of the invocation in progress and follows `AWS_LAMBDA_LOG_FORMAT`/`AWS_LAMBDA_LOG_LEVEL`.
///
/// ```
/// lambda_lite::info!("stored {} items", 3);
/// ```
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::log::__log_fmt($crate::log::Level::Info, format_args!($($arg)+)) };
}

/// Logs at `WARN`: `lambda_lite::warn!("retrying {}", what)`.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::log::__log_fmt($crate::log::Level::Warn, format_args!($($arg)+)) };
}

/// Logs at `ERROR`: `lambda_lite::error!("giving up: {}", err)`.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::log::__log_fmt($crate::log::Level::Error, format_args!($($arg)+)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_542_409_706_888, "2018-11-16T23:08:26.888Z"),
            (1_709_251_199_999, "2024-02-29T23:59:59.999Z"),
            (4_102_444_800_001, "2100-01-01T00:00:00.001Z"),
        ];
        for (ms, want) in cases {
            let mut out = [0u8; 24];
            write_rfc3339(&mut out, ms);
            assert_eq!(std::str::from_utf8(&out).unwrap(), want);
        }
    }

    #[test]
    fn settings_follow_the_logging_controls() {
        let with = |format: Option<&str>, level: Option<&str>| {
            Settings::from_lookup(|n| match n {
                "AWS_LAMBDA_LOG_FORMAT" => format.map(str::to_owned),
                "AWS_LAMBDA_LOG_LEVEL" => level.map(str::to_owned),
                _ => None,
            })
        };
        assert_eq!(
            with(None, None),
            Settings {
                json: false,
                threshold: Level::Info
            }
        );
        assert_eq!(
            with(Some("JSON"), Some("debug")),
            Settings {
                json: true,
                threshold: Level::Debug
            }
        );
        assert_eq!(
            with(Some("json"), Some("WARN")),
            Settings {
                json: true,
                threshold: Level::Warn
            }
        );
        assert_eq!(
            with(Some("Text"), Some("bogus")),
            Settings {
                json: false,
                threshold: Level::Info
            }
        );
    }

    #[test]
    fn json_lines_of_a_tenant_isolated_function_carry_the_tenant() {
        let line = format_line(true, Level::Info, "m", ("req-1", "acme \"eu\""), 0, None);
        let parsed: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(parsed["requestId"], "req-1");
        assert_eq!(parsed["tenantId"], "acme \"eu\"");
        // No tenant, no key; the text format is Lambda's four fields either way.
        let line = format_line(true, Level::Info, "m", ("req-1", ""), 0, None);
        assert!(!String::from_utf8_lossy(&line).contains("tenantId"));
        let text = format_line(false, Level::Info, "m", ("req-1", "acme"), 0, None);
        assert_eq!(String::from_utf8_lossy(&text).split('\t').count(), 4);
    }

    /// The runtime sets the ids of the invocation it serves for the lines logged meanwhile.
    #[test]
    fn the_invocations_tenant_reaches_this_threads_lines() {
        set_invocation("req-9", Some("tenant-9"));
        INVOCATION
            .with(|ids| assert_eq!(*ids.borrow(), ("req-9".to_owned(), "tenant-9".to_owned())));
        set_invocation("", None);
        INVOCATION.with(|ids| assert_eq!(*ids.borrow(), (String::new(), String::new())));
    }

    #[test]
    fn json_lines_are_valid_json_whatever_the_message() {
        let msg = "say \"hi\"\nnext line\t\u{1}\u{7f} é";
        let line = format_line(
            true,
            Level::Warn,
            msg,
            ("req-1", ""),
            1_542_409_706_888,
            None,
        );
        let text = String::from_utf8(line).unwrap();
        assert!(
            text.ends_with('\n') && text.matches('\n').count() == 1,
            "one line: {text:?}"
        );
        let want = "{\"timestamp\":\"2018-11-16T23:08:26.888Z\",\"level\":\"WARN\",\"message\":\"say \\\"hi\\\"\\nnext line\\t\\u0001\\u007f é\",\"requestId\":\"req-1\"}\n";
        assert_eq!(text, want);
        let parsed: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(parsed["message"], msg);
        let no_id = format_line(true, Level::Info, "m", ("", ""), 0, None);
        assert_eq!(
            no_id,
            b"{\"timestamp\":\"1970-01-01T00:00:00.000Z\",\"level\":\"INFO\",\"message\":\"m\"}\n"
        );
        assert_eq!(
            format_line(true, Level::Debug, "m", ("r", ""), 0, Some("aws_smithy::client")),
            b"{\"timestamp\":\"1970-01-01T00:00:00.000Z\",\"level\":\"DEBUG\",\"message\":\"m\",\"requestId\":\"r\",\"logger\":\"aws_smithy::client\"}\n"
        );
    }

    #[test]
    fn text_lines_carry_the_request_id() {
        assert_eq!(
            format_line(false, Level::Error, "boom", ("req-2", ""), 0, None),
            b"1970-01-01T00:00:00.000Z\treq-2\tERROR\tboom\n"
        );
        assert_eq!(
            format_line(false, Level::Info, "x", ("", ""), 0, Some("lib")),
            b"1970-01-01T00:00:00.000Z\t-\tINFO\tx\n"
        );
    }

    #[test]
    fn a_text_line_with_line_breaks_stays_one_record() {
        let line = format_line(false, Level::Info, "a\nb\r\nc\n", ("r", ""), 0, None);
        assert_eq!(line, b"1970-01-01T00:00:00.000Z\tr\tINFO\ta\rb\r\rc\r\n");
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
    }
}
