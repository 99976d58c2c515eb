//! The echo function with the `json` feature: the event is parsed into a `serde_json::Value`
//! and serialized back, so this measures what typed JSON costs next to `examples/echo.rs`
//! (see size-report/REPORT.md).
use lambda_lite::{Context, Error, lambda_main};
use serde_json::Value;

fn handler(event: Value, _ctx: &Context) -> Result<Value, Error> {
    Ok(event)
}

lambda_main!(json handler);
