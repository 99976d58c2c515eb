//! An API Gateway HTTP API (payload 2.0) or Lambda Function URL handler: reads the method,
//! path, a query parameter and the body, answers with a status code, headers and a JSON body.
//!
//! Written with small hand-written serde structs that borrow from the event, not with
//! `aws_lambda_events`: the borrowed structs keep only the fields this function reads. Text is
//! `Cow<'a, str>` with `#[serde(borrow)]`: borrowed from the event buffer, owned only when the
//! JSON string holds an escape (a `&'a str` would refuse `"Zo\u00eb"` or `"say \"hi\""`). The
//! stripped bootstrap (`./build.sh --example http_api`: musl, size profile, panic=abort) is
//! 484,024 B; the same handler on `aws_lambda_events::apigw::ApiGatewayV2httpRequest` and
//! `ApiGatewayV2httpResponse` (which pull in `http`, `chrono` and owned strings everywhere),
//! built the same way, is 602,808 B (measured 2026-11-22).
use std::borrow::Cow;
use std::collections::HashMap;

use lambda_lite::{Context, Error, lambda_main};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    #[serde(borrow)]
    request_context: RequestContext<'a>,
    #[serde(default, borrow)]
    query_string_parameters: HashMap<Cow<'a, str>, Cow<'a, str>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: bool,
}

#[derive(Deserialize)]
struct RequestContext<'a> {
    #[serde(borrow)]
    http: Http<'a>,
}

#[derive(Deserialize)]
struct Http<'a> {
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow)]
    path: Cow<'a, str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    status_code: u16,
    headers: HashMap<&'static str, &'static str>,
    body: String,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
struct Greeting<'a> {
    message: String,
    method: &'a str,
    path: &'a str,
    request_id: &'a str,
    body_bytes: usize,
}

fn handler(req: Request<'_>, ctx: &Context) -> Result<Response, Error> {
    let http = &req.request_context.http;
    if http.method != "GET" && http.method != "POST" {
        return Ok(Response {
            status_code: 405,
            headers: HashMap::from([("content-type", "text/plain"), ("allow", "GET, POST")]),
            body: "method not allowed".into(),
            is_base64_encoded: false,
        });
    }
    let name = req
        .query_string_parameters
        .get("name")
        .map_or("world", |n| n);
    let greeting = Greeting {
        message: format!("hello, {name}"),
        method: &http.method,
        path: &http.path,
        request_id: ctx.request_id,
        body_bytes: if req.is_base64_encoded {
            0
        } else {
            req.body.as_deref().map_or(0, str::len)
        },
    };
    Ok(Response {
        status_code: 200,
        headers: HashMap::from([("content-type", "application/json")]),
        body: serde_json::to_string(&greeting)?,
        is_base64_encoded: false,
    })
}

lambda_main!(json handler);
