//! Event `"N"`: an HTTP prelude, then N writes of 64 KiB; `"0"`: the prelude and one short write.
use std::io::Write;

fn main() {
    let block = vec![b'x'; 64 * 1024];
    lambda_lite::run(|_event, _ctx| {
        Ok(lambda_lite::Response::stream(|event, _ctx, out| {
            let n: usize = std::str::from_utf8(event)?.trim().parse()?;
            out.start_http(200, &[("content-type", "application/octet-stream")], &[])?;
            if n == 0 {
                out.write_all(b"data: hi\n\n")?;
            }
            for _ in 0..n {
                out.write_all(&block)?;
            }
            Ok(())
        }))
    })
}
