//! An event that is a number sleeps that many ms first; every event is echoed. On
//! AWS_LAMBDA_MAX_CONCURRENCY workers.
fn main() {
    lambda_lite::run_concurrent(|event, _ctx| {
        if let Some(ms) = std::str::from_utf8(event).ok().and_then(|t| t.trim().parse().ok()) {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        Ok(event.to_vec())
    })
}
