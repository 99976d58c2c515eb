//! An external Lambda extension: registers for `INVOKE` and `SHUTDOWN` and appends one JSON
//! line per event to the file named by `$EXTENSION_LOG`, then exits after `SHUTDOWN`.
//!
//! Build it into a layer with `cargo lambda-lite build --example extension --extension`
//! (the layer zip holds `extensions/extension`); Lambda starts it before the function.
use std::io::Write;

use lambda_lite::Error;
use lambda_lite::extension::Event;

fn on_event(event: Event) -> Result<(), Error> {
    let line = match event {
        Event::Invoke(e) => serde_json::json!({"eventType": "INVOKE", "requestId": e.request_id}),
        Event::Shutdown(e) => {
            serde_json::json!({"eventType": "SHUTDOWN", "shutdownReason": e.shutdown_reason})
        }
    };
    let path = std::env::var("EXTENSION_LOG")
        .map_err(|_| Error::new("ConfigInvalid", "EXTENSION_LOG is not set"))?;
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(log, "{line}")?;
    Ok(())
}

lambda_lite::extension_main!(on_event);
