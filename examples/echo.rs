//! The smallest useful function: answers every event with the event itself.
use lambda_lite::{Context, Error, lambda_main};

fn handler(event: &[u8], _ctx: &Context) -> Result<Vec<u8>, Error> {
    Ok(event.to_vec())
}

lambda_main!(handler);
