//! Partial batch responses: each record handled on its own, the failed ones named in
//! `batchItemFailures` so that only they come back (SQS, Kinesis, DynamoDB Streams; the
//! event source mapping needs `ReportBatchItemFailures` in its `FunctionResponseTypes`).
//!
//! ```no_run
//! use lambda_lite::events::{batch, SqsEvent};
//! use lambda_lite::{Context, Error};
//!
//! fn handler(event: SqsEvent<'_>, _ctx: &Context) -> Result<batch::BatchResponse, Error> {
//!     batch::sqs(&event, |message| {
//!         let order: u64 = message.body.parse()?; // an error fails this message alone
//!         lambda_lite::info!("order {order}");
//!         Ok(())
//!     })
//! }
//!
//! lambda_lite::lambda_main!(json handler);
//! ```
//!
//! As in Powertools' batch processors: a record whose handler returns an error or panics
//! (with `panic = "unwind"`) fails alone, its error logged; a FIFO queue's batch stops at its
//! first failure and every record after it is reported failed too, so that none is handled
//! out of order; nothing failed gives an empty list. A record without an identifier makes the
//! whole invocation fail before any record is handled (Lambda then retries the whole batch, as
//! it does for a response naming an empty identifier). With `panic = "abort"` (the size
//! profile's default) a panic ends the process: the invocation fails and the whole batch comes
//! back. The functions hold no state, so concurrent workers (Managed Instances) call them at
//! once.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::{
    DynamoDbEvent, DynamoDbRecord, KinesisEvent, KinesisEventRecord, SqsEvent, SqsMessage,
};
use crate::error::{Error, Result};

/// `errorType` of an invocation whose batch has a record without an identifier.
pub const INVALID_ITEM_IDENTIFIER: &str = "Batch.InvalidItemIdentifier";

/// The answer Lambda reads for a partial batch response: `{"batchItemFailures":[…]}`.
/// aws_lambda_events' `SqsBatchResponse` / `KinesisEventResponse`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchResponse {
    /// `batchItemFailures`: the records to be retried (empty: the whole batch succeeded).
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// One failed record, named by its identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItemFailure {
    /// `itemIdentifier`: an SQS `messageId`, a Kinesis or DynamoDB `sequenceNumber`.
    pub item_identifier: String,
}

impl Serialize for BatchResponse {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("batchItemFailures", &Failures(&self.batch_item_failures))?;
        map.end()
    }
}

struct Failures<'f>(&'f [BatchItemFailure]);

impl Serialize for Failures<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for failure in self.0 {
            seq.serialize_element(failure)?;
        }
        seq.end()
    }
}

impl Serialize for BatchItemFailure {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("itemIdentifier", &self.item_identifier)?;
        map.end()
    }
}

/// A record of a batch, as a partial batch response names it.
pub trait BatchRecord {
    /// The identifier Lambda expects in `itemIdentifier` (empty when the event had none).
    fn item_identifier(&self) -> &str;
}

impl BatchRecord for SqsMessage<'_> {
    fn item_identifier(&self) -> &str {
        &self.message_id
    }
}

impl BatchRecord for KinesisEventRecord<'_> {
    fn item_identifier(&self) -> &str {
        &self.kinesis.sequence_number
    }
}

impl BatchRecord for DynamoDbRecord<'_> {
    fn item_identifier(&self) -> &str {
        &self.dynamodb.sequence_number
    }
}

/// Handles each message of an SQS batch; in order, stopping at the first failure, for a FIFO
/// queue.
pub fn sqs<'a>(
    event: &SqsEvent<'a>,
    handle: impl FnMut(&SqsMessage<'a>) -> Result<()>,
) -> Result<BatchResponse> {
    process(&event.records, event.is_fifo(), handle)
}

/// Handles each record of a Kinesis batch.
pub fn kinesis<'a>(
    event: &KinesisEvent<'a>,
    handle: impl FnMut(&KinesisEventRecord<'a>) -> Result<()>,
) -> Result<BatchResponse> {
    process(&event.records, false, handle)
}

/// Handles each record of a DynamoDB Streams batch.
pub fn dynamodb<'a>(
    event: &DynamoDbEvent<'a>,
    handle: impl FnMut(&DynamoDbRecord<'a>) -> Result<()>,
) -> Result<BatchResponse> {
    process(&event.records, false, handle)
}

/// Handles each record with `handle` and names the failed ones. With `stop_at_failure`
/// (ordered sources: FIFO queues), the records after the first failure are not handled and
/// are reported failed. `Err` (of type [`INVALID_ITEM_IDENTIFIER`]) before any record is
/// handled when one has no identifier.
pub fn process<R: BatchRecord>(
    records: &[R],
    stop_at_failure: bool,
    mut handle: impl FnMut(&R) -> Result<()>,
) -> Result<BatchResponse> {
    if let Some(at) = records.iter().position(|r| r.item_identifier().is_empty()) {
        return Err(Error::new(
            INVALID_ITEM_IDENTIFIER,
            format!(
                "record {at} of the batch has no identifier: the whole batch is failed so that Lambda retries it"
            ),
        ));
    }
    crate::panic::install();
    let mut failures = Vec::new();
    for (at, record) in records.iter().enumerate() {
        let id = record.item_identifier();
        if let Err(e) = crate::panic::catch(|| handle(record)) {
            failed(id, &e);
            failures.push(id);
            if stop_at_failure {
                let rest = &records[at + 1..];
                if !rest.is_empty() {
                    crate::log::log(
                        crate::log::Level::Warn,
                        &format!(
                            "{} later records of the ordered batch not handled, reported failed",
                            rest.len()
                        ),
                    );
                }
                failures.extend(rest.iter().map(BatchRecord::item_identifier));
                break;
            }
        }
    }
    Ok(BatchResponse {
        batch_item_failures: failures
            .into_iter()
            .map(|id| BatchItemFailure {
                item_identifier: id.to_owned(),
            })
            .collect(),
    })
}

#[cold]
fn failed(id: &str, e: &Error) {
    let message = format!("record {id} failed: {}: {}", e.error_type(), e.message());
    crate::log::log(crate::log::Level::Error, &message);
}
