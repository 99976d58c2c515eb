//! Event `"N"`: an HTTP prelude, then N sends of 64 KiB; `"0"`: the prelude and one short send.
use lambda_runtime::streaming::{Body, Response};
use lambda_runtime::{service_fn, Error, LambdaEvent, MetadataPrelude};
use serde_json::Value;

async fn handler(event: LambdaEvent<Value>) -> Result<Response<Body>, Error> {
    let n: usize = match &event.payload {
        Value::Number(n) => n.as_u64().unwrap_or(0) as usize,
        Value::String(s) => s.trim().parse().unwrap_or(0),
        _ => 0,
    };
    let (mut tx, rx) = Body::channel();
    tokio::spawn(async move {
        if n == 0 {
            let _ = tx.send_data(bytes::Bytes::from_static(b"data: hi\n\n")).await;
        }
        let block = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
        for _ in 0..n {
            if tx.send_data(block.clone()).await.is_err() {
                break;
            }
        }
    });
    let mut prelude = MetadataPrelude::default();
    prelude.headers.insert("content-type", "application/octet-stream".parse()?);
    Ok(Response { metadata_prelude: prelude, stream: rx })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
