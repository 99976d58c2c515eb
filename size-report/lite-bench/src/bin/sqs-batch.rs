//! An SQS consumer with partial batch responses: a message whose body starts with `fail` is
//! reported failed. The official runtime's counterpart is official-more's
//! `official-sqs-batch`.
use lambda_lite::events::{SqsEvent, batch};
use lambda_lite::{Context, Error, lambda_main};

fn handler(event: SqsEvent<'_>, _ctx: &Context) -> Result<batch::BatchResponse, Error> {
    batch::sqs(&event, |message| {
        if message.body.starts_with("fail") {
            return Err(Error::new("Rejected", "the message asked to fail"));
        }
        Ok(())
    })
}

lambda_main!(json handler);
