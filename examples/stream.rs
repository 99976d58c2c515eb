//! Server-sent events over a Lambda Function URL: the function answers while it works.
//!
//! Deploy it on `provided.al2023` with a Function URL whose invoke mode is `RESPONSE_STREAM`
//! (`aws lambda create-function-url-config --invoke-mode RESPONSE_STREAM …`), then
//! `curl -N <url>`: one `tick` event arrives every 200 ms, as it is written. The handler
//! answers with [`Response::stream`]; the HTTP status and headers come from the prelude
//! [`ResponseStream::start_http`] writes; each `write!` below is one HTTP chunk on the wire,
//! sent at once.
use std::io::Write;
use std::time::Duration;

use lambda_lite::{Context, Error, Response, ResponseStream, lambda_main};

fn handler(_event: &[u8], _ctx: &Context) -> Result<Response<'static>, Error> {
    Ok(Response::stream(ticks))
}

fn ticks(_event: &[u8], ctx: &Context, stream: &mut ResponseStream) -> Result<(), Error> {
    stream.start_http(
        200,
        &[
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
        ],
        &[],
    )?;
    for i in 1..=5 {
        write!(
            stream,
            "id: {i}\nevent: tick\ndata: {i} of 5 for {}\n\n",
            ctx.request_id
        )?;
        std::thread::sleep(Duration::from_millis(200));
    }
    stream.write_all(b"event: done\ndata: bye\n\n")?;
    Ok(())
}

lambda_main!(handler);
