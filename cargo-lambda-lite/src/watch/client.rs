//! `cargo lambda-lite invoke NAME`: each event sent to a running `watch` through Lambda's
//! Invoke API, as `cargo lambda invoke` sends it; the answer on stdout, the log tail on stderr.

use std::process::ExitCode;

use base64::Engine;

/// Sends every event to the function `name` of the `watch` at `endpoint`; exit status 0 when
/// all were answered, 3 when the function answered with an error, 1 when the call failed.
pub fn invoke(endpoint: &str, name: &str, events: &[Vec<u8>]) -> Result<ExitCode, String> {
    let url = format!(
        "{}/2015-03-31/functions/{name}/invocations",
        endpoint.trim_end_matches('/')
    );
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut code = ExitCode::SUCCESS;
    let default = [b"{}".to_vec()];
    let events = if events.is_empty() {
        &default[..]
    } else {
        events
    };
    for event in events {
        let mut response = agent
            .post(&url)
            .header("x-amz-log-type", "Tail")
            .header("content-type", "application/json")
            .send(&event[..])
            .map_err(|e| {
                format!("cannot reach a watch at {endpoint} ({e}): start one with `cargo lambda-lite watch` in the function's crate, or name it with --endpoint-url")
            })?;
        let status = response.status();
        let header = |n: &str| {
            response
                .headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let function_error = header("x-amz-function-error");
        let log = header("x-amz-log-result");
        let error_type = header("x-amzn-errortype");
        let body = response
            .body_mut()
            .read_to_vec()
            .map_err(|e| format!("the answer could not be read: {e}"))?;
        if let Some(log) = log
            && let Ok(text) = base64::engine::general_purpose::STANDARD.decode(log)
        {
            eprint!("{}", String::from_utf8_lossy(&text));
        }
        println!("{}", String::from_utf8_lossy(&body));
        if !status.is_success() {
            return Err(format!(
                "{} {}: the Invoke API refused the event",
                status.as_u16(),
                error_type.unwrap_or_default()
            ));
        }
        if function_error.is_some() {
            code = ExitCode::from(3);
        }
    }
    Ok(code)
}
