//! Code shaped like a `lambda_runtime` function compiles and reports what Lambda should see:
//! `?` on boxed errors, `anyhow::Error`, strings and std errors, with the `errorType` (and
//! error header) each gives; `Fatal` is a `std::error::Error`; a handler's answer goes
//! through the fake Runtime API.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;
use std::error::Error as StdError;

use lambda_lite::{Context, Error};
use support::*;

/// What `lambda_runtime::Error` is.
type BoxError = Box<dyn StdError + Send + Sync>;

#[derive(Debug)]
enum OrderError {
    Missing(u32),
}
impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderError::Missing(id) => write!(f, "no order {id}"),
        }
    }
}
impl StdError for OrderError {}

/// Helpers as a ported function has them: returning `lambda_runtime::Error`.
fn ported_parse(text: &str) -> Result<u32, BoxError> {
    Ok(text.parse::<u32>()?)
}
fn ported_refuse() -> Result<(), BoxError> {
    Err("refused by policy".into())
}
fn with_anyhow(fail: bool) -> anyhow::Result<u32> {
    anyhow::ensure!(!fail, "anyhow says no");
    Ok(1)
}

fn case(which: &str) -> Result<Vec<u8>, Error> {
    match which {
        "boxed" => {
            ported_parse("x")?;
        }
        "boxed-str" => ported_refuse()?,
        "str" => return Err("plain message".into()),
        "string" => return Err(format!("formatted {}", 7).into()),
        "anyhow" => {
            with_anyhow(true)?;
        }
        "anyhow-wrapping" => Err(anyhow::Error::new(OrderError::Missing(3)).context("loading"))?,
        "std" => {
            "x".parse::<u8>()?;
        }
        "user" => Err(OrderError::Missing(42))?,
        "io" => Err(std::io::Error::new(std::io::ErrorKind::NotFound, "gone"))?,
        "explicit" => return Err(Error::new("Function.OrderNotFound", "no order 9")),
        _ => {}
    }
    Ok(Vec::new())
}

#[test]
fn error_types_of_every_conversion() {
    #[rustfmt::skip]
    let table: &[(&str, &str, &str, &str)] = &[
        // case,            errorType,                 header,                      message
        ("boxed",           "Error",                   "Function.Error",            "invalid digit found in string"),
        ("boxed-str",       "Error",                   "Function.Error",            "refused by policy"),
        ("str",             "Error",                   "Function.Error",            "plain message"),
        ("string",          "Error",                   "Function.Error",            "formatted 7"),
        ("anyhow",          "Error",                   "Function.Error",            "anyhow says no"),
        ("anyhow-wrapping", "Error",                   "Function.Error",            "loading: no order 3"),
        ("std",             "ParseIntError",           "Function.ParseIntError",    "invalid digit found in string"),
        ("user",            "OrderError",              "Function.OrderError",       "no order 42"),
        ("io",              "Error",                   "Function.Error",            "gone"),
        ("explicit",        "Function.OrderNotFound",  "Function.OrderNotFound",    "no order 9"),
    ];
    let api = FakeApi::start();
    let mut rt = runtime(&api);
    for (which, _, _, _) in table {
        api.push_event(event(which, *which));
        rt.step(|e: &[u8], _: &Context| case(std::str::from_utf8(e).unwrap()))
            .unwrap();
    }
    let reqs = api.wait_for(2 * table.len());
    for (i, (which, ty, header, message)) in table.iter().enumerate() {
        let post = &reqs[2 * i + 1];
        assert_eq!(
            post.path,
            format!("/2018-06-01/runtime/invocation/{which}/error")
        );
        assert_eq!(
            post.header("lambda-runtime-function-error-type"),
            Some(*header),
            "{which}"
        );
        let json: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
        assert_eq!(json["errorType"], *ty, "{which}");
        assert_eq!(json["errorMessage"], *message, "{which}");
    }
}

#[test]
fn a_lambda_lite_error_goes_back_into_box_dyn_error_code() {
    fn ported_caller() -> Result<(), BoxError> {
        let text = case("user").map_err(Error::into_boxed)?;
        drop(text);
        Ok(())
    }
    let err = ported_caller().unwrap_err();
    assert_eq!(err.to_string(), "OrderError: no order 42");
}

#[test]
fn fatal_is_a_std_error_so_question_mark_works_in_main() {
    fn custom_main() -> Result<(), Box<dyn StdError>> {
        let mut rt = lambda_lite::Runtime::new("127.0.0.1:1", Default::default())?;
        rt.step(|e: &[u8], _: &Context| Ok(e.to_vec()))?;
        Ok(())
    }
    let err = custom_main().unwrap_err();
    assert!(err.to_string().starts_with("GET /next failed"), "{err}");
}

#[test]
fn libraries_logging_through_log_and_tracing_get_lambda_format_lines() {
    for (format, level) in [("JSON", "INFO"), ("Text", "INFO"), ("JSON", "TRACE")] {
        let api = FakeApi::start();
        api.push_event(event("req-lib", "libraries"));
        api.push(Response::new(500, "stop").reply());
        let child = spawn_fixture_with(
            "unwind",
            &api.address(),
            "echo",
            &[
                ("AWS_LAMBDA_LOG_FORMAT", format),
                ("AWS_LAMBDA_LOG_LEVEL", level),
            ],
        );
        let (_, stderr) = wait_exit(child);
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| {
                l.contains("log record") || l.contains("tracing ") || l.contains("log debug")
            })
            .collect();
        if format == "Text" {
            assert_eq!(lines.len(), 2, "{stderr}");
            assert!(
                lines[0].ends_with("\treq-lib\tINFO\tlog record for req-lib"),
                "{}",
                lines[0]
            );
            assert!(
                lines[1].ends_with("\treq-lib\tWARN\ttracing event for req-lib items=3"),
                "{}",
                lines[1]
            );
            continue;
        }
        let json: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).expect(l))
            .collect();
        let want_lines = if level == "TRACE" { 4 } else { 2 };
        assert_eq!(json.len(), want_lines, "{stderr}");
        let find = |m: &str| {
            json.iter()
                .find(|j| j["message"] == m)
                .unwrap_or_else(|| panic!("{m}: {stderr}"))
        };
        let log = find("log record for req-lib");
        assert_eq!(
            (log["level"].as_str(), log["requestId"].as_str()),
            (Some("INFO"), Some("req-lib"))
        );
        assert_eq!(log["logger"], "fixture::a_library");
        let tracing = find("tracing event for req-lib items=3");
        assert_eq!(
            (tracing["level"].as_str(), tracing["requestId"].as_str()),
            (Some("WARN"), Some("req-lib"))
        );
        assert_eq!(tracing["logger"], "fixture::a_library");
        if level == "TRACE" {
            assert_eq!(find("log debug, hidden at INFO")["level"], "DEBUG");
            assert_eq!(find("tracing trace, hidden at INFO")["level"], "TRACE");
        }
    }
}
