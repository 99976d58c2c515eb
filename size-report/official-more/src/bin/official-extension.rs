//! examples/extension.rs on lambda-extension: one JSON line per event in $EXTENSION_LOG.
use std::io::Write;

use lambda_extension::{service_fn, Error, LambdaEvent, NextEvent};

async fn on_event(event: LambdaEvent) -> Result<(), Error> {
    let line = match event.next {
        NextEvent::Invoke(e) => serde_json::json!({"eventType": "INVOKE", "requestId": e.request_id}),
        NextEvent::Shutdown(e) => serde_json::json!({"eventType": "SHUTDOWN", "shutdownReason": e.shutdown_reason}),
    };
    let path = std::env::var("EXTENSION_LOG")?;
    let mut log = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(log, "{line}")?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_extension::run(service_fn(on_event)).await
}
