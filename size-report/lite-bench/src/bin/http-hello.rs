//! An HTTP function on lambda-lite's `http` feature: greets `?name=`, answers JSON with a
//! cookie, for any HTTP source (size-report/official-more's official-http on lambda_http).
use lambda_lite::http::{Request, Response};
use lambda_lite::{Context, Error};

fn handler(req: Request<'_>, _ctx: &Context) -> Result<Response, Error> {
    let name = req.query("name").unwrap_or("world");
    Response::new(200)
        .cookie("seen=1; Path=/")
        .json(&serde_json::json!({
            "message": format!("hello, {name}"),
            "method": req.method(),
            "path": req.path(),
        }))
}

lambda_lite::lambda_main!(http handler);
