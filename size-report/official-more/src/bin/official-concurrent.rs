//! An event that is a number sleeps that many ms first; every event is echoed. With
//! run_concurrent (AWS_LAMBDA_MAX_CONCURRENCY workers).
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    if let Some(ms) = event.payload.as_u64() {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run_concurrent(service_fn(handler)).await
}
