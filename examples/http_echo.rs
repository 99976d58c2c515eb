//! An HTTP function for every HTTP event source (feature `http`): a Function URL, an API
//! Gateway HTTP or REST API, or an ALB sends the request, and the answer goes back in the shape
//! that source expects. `GET /?name=Zoë` greets; any other request echoes its method, path,
//! query and body as JSON; `?stream=1` on a Function URL in `RESPONSE_STREAM` mode answers
//! with server-sent events.
use std::io::Write;

use lambda_lite::http::{Request, Response};
use lambda_lite::{Context, Error, lambda_main};

fn handler(req: Request<'_>, ctx: &Context) -> Result<Response, Error> {
    if req.is_health_check() {
        return Ok(Response::new(200).body("ok"));
    }
    if req.query("stream").is_some() {
        let id = ctx.request_id.to_owned();
        return Ok(Response::new(200)
            .header("content-type", "text/event-stream")
            .stream(move |out| {
                for i in 1..=3 {
                    write!(out, "id: {i}\ndata: tick {i} of 3 for {id}\n\n")?;
                }
                Ok(())
            }));
    }
    Response::new(200)
        .cookie("seen=1; Path=/")
        .json(&serde_json::json!({
            "message": format!("hello, {}", req.query("name").unwrap_or("world")),
            "method": req.method(),
            "path": req.path(),
            "query": req.query_pairs().collect::<Vec<_>>(),
            "body": String::from_utf8_lossy(req.body()),
            "source": format!("{:?}", req.source()),
        }))
}

lambda_main!(http handler);
