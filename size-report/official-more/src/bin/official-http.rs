//! The HTTP function of size-report/lite-bench/src/bin/http-hello.rs on lambda_http: greets
//! `?name=`, answers JSON with a cookie, for any HTTP source.
use lambda_http::{run, service_fn, Body, Error, Request, RequestExt, Response};

async fn handler(req: Request) -> Result<Response<Body>, Error> {
    let params = req.query_string_parameters();
    let name = params.first("name").unwrap_or("world");
    let body = serde_json::json!({
        "message": format!("hello, {name}"),
        "method": req.method().as_str(),
        "path": req.uri().path(),
    });
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("set-cookie", "seen=1; Path=/")
        .body(Body::from(body.to_string()))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(handler)).await
}
