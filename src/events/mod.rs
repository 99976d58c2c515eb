//! Events of the non-HTTP sources (feature `events`): SQS, SNS, S3, EventBridge (and
//! EventBridge Scheduler), DynamoDB Streams, Kinesis, CloudWatch Logs subscriptions and Kafka
//! (Amazon MSK and self-managed), with [partial batch responses](batch) for the sources that
//! take them.
//!
//! ```no_run
//! use lambda_lite::events::S3Event;
//! use lambda_lite::{Context, Error};
//!
//! fn handler(event: S3Event<'_>, _ctx: &Context) -> Result<(), Error> {
//!     for record in &event.records {
//!         // The key decoded (S3 sends `my+photo.jpg` for `my photo.jpg`).
//!         lambda_lite::info!("{} s3://{}/{}", record.event_name, record.s3.bucket.name, record.s3.object.key);
//!     }
//!     Ok(())
//! }
//!
//! lambda_lite::lambda_main!(json handler);
//! ```
//!
//! Every type reads with `json` handlers (`lambda_main!(json …)`) and with its own
//! `from_slice`. Text borrows from the event buffer where JSON allows and is owned where an
//! escape (or a decoding: an S3 key, base64 record data, gzipped logs) forces it, as in `json`
//! and `http`; a field AWS may omit is an `Option` or empty, and a field this crate does not
//! know is skipped, so a valid event is never refused. Field names are those of AWS's JSON in
//! snake case, types those of `aws_lambda_events` (`SqsEvent`, `KinesisEvent`, …), so code
//! ports field by field; handlers written with `aws_lambda_events`' own structs also run here
//! unchanged through `json`.
//!
//! | source | event | record | identifier in a batch response |
//! |---|---|---|---|
//! | SQS | [`SqsEvent`] | [`SqsMessage`] (an SNS notification in its body: [`SqsMessage::sns`]) | `messageId` |
//! | SNS | [`SnsEvent`] | [`SnsRecord`], [`SnsMessage`] | |
//! | S3 | [`S3Event`] | [`S3EventRecord`] | |
//! | EventBridge, Scheduler | [`EventBridgeEvent<D>`](EventBridgeEvent) (`detail` as `D`) | | |
//! | DynamoDB Streams | [`DynamoDbEvent`] | [`DynamoDbRecord`] (images as Rust types: [`Item::to`]) | `SequenceNumber` |
//! | Kinesis | [`KinesisEvent`] | [`KinesisEventRecord`] (data decoded) | `sequenceNumber` |
//! | CloudWatch Logs | [`CloudWatchLogsEvent`] | [`LogsData`] ([`decode`](CloudWatchLogsEvent::decode)d) | |
//! | Kafka | [`KafkaEvent`] | [`KafkaRecord`] (key, value decoded) | |
//!
//! A function subscribed to several sources tells them apart with [`source`].

pub mod batch;
mod cloudwatch_logs;
mod dynamodb;
mod eventbridge;
mod kafka;
mod kinesis;
mod s3;
mod sns;
mod sqs;

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, Result};
pub use crate::json::read::Map;
use crate::json::read::{List, Text, from_object};
pub use cloudwatch_logs::{CloudWatchLogsEvent, LogEntry, LogsData};
pub use dynamodb::{AttributeValue, DynamoDbEvent, DynamoDbRecord, Item, StreamRecord};
pub use eventbridge::EventBridgeEvent;
pub use kafka::{KafkaEvent, KafkaRecord};
pub use kinesis::{KinesisEvent, KinesisEventRecord, KinesisRecord};
pub use s3::{S3Bucket, S3Entity, S3Event, S3EventRecord, S3Object};
pub use sns::{SnsEvent, SnsMessage, SnsMessageAttribute, SnsRecord};
pub use sqs::{SqsEvent, SqsMessage, SqsMessageAttribute};

/// Which service sent an event, as far as its shape tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// SQS (`Records[0].eventSource` `aws:sqs`).
    Sqs,
    /// SNS (`Records[0].EventSource` `aws:sns`).
    Sns,
    /// S3 notifications (`Records[0].eventSource` `aws:s3`).
    S3,
    /// DynamoDB Streams (`aws:dynamodb`).
    DynamoDb,
    /// Kinesis (`aws:kinesis`).
    Kinesis,
    /// EventBridge or EventBridge Scheduler (`detail-type` and `detail`).
    EventBridge,
    /// A CloudWatch Logs subscription (`awslogs`).
    CloudWatchLogs,
    /// Kafka: Amazon MSK (`aws:kafka`) or self-managed (`SelfManagedKafka`).
    Kafka,
    /// An HTTP integration: a Function URL, API Gateway or an ALB (`requestContext`; read it
    /// with the `http` feature's `Request`).
    Http,
}

/// Which service sent `event`, or `None` when its shape is none of [`Source`]'s (a direct
/// invocation's own JSON, or not JSON).
pub fn source(event: &[u8]) -> Option<Source> {
    let probe: Probe<'_> = serde_json::from_slice(event).ok()?;
    if let Some(first) = probe.first_record {
        return match &*first.event_source {
            "aws:sqs" => Some(Source::Sqs),
            "aws:sns" => Some(Source::Sns),
            "aws:s3" => Some(Source::S3),
            "aws:dynamodb" => Some(Source::DynamoDb),
            "aws:kinesis" => Some(Source::Kinesis),
            _ => None,
        };
    }
    match &*probe.event_source {
        "aws:kafka" | "SelfManagedKafka" => return Some(Source::Kafka),
        _ => {}
    }
    if probe.awslogs {
        Some(Source::CloudWatchLogs)
    } else if probe.detail_type && probe.detail {
        Some(Source::EventBridge)
    } else if probe.request_context {
        Some(Source::Http)
    } else {
        None
    }
}

/// The keys that tell the sources apart; everything else is skipped.
#[derive(Default)]
struct Probe<'a> {
    first_record: Option<RecordProbe<'a>>,
    event_source: Cow<'a, str>,
    awslogs: bool,
    detail_type: bool,
    detail: bool,
    request_context: bool,
}

#[derive(Default)]
struct RecordProbe<'a> {
    event_source: Cow<'a, str>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Probe<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Probe<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Probe<'de>, A::Error> {
                let mut probe = Probe::default();
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    match &*key {
                        "Records" => probe.first_record = map.next_value::<First<'de>>()?.0,
                        "eventSource" => probe.event_source = crate::json::read::text(&mut map)?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            match &*key {
                                "awslogs" => probe.awslogs = true,
                                "detail-type" => probe.detail_type = true,
                                "detail" => probe.detail = true,
                                "requestContext" => probe.request_context = true,
                                _ => {}
                            }
                        }
                    }
                }
                Ok(probe)
            }
        }
        d.deserialize_map(V)
    }
}

from_object!(RecordProbe {
    "eventSource" => event_source: text,
    "EventSource" => event_source: text,
});

/// The first element of an array (the rest skipped).
struct First<'a>(Option<RecordProbe<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for First<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = First<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<First<'de>, A::Error> {
                let first = seq.next_element()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }
        d.deserialize_seq(V)
    }
}

/// Reads an event (or a body, or record data) as JSON into `T`; an error of type
/// `Runtime.InvalidEvent` saying what is not as expected (`not`), and where.
fn read<'a, T: Deserialize<'a>>(json: &'a [u8], not: &str) -> Result<T> {
    serde_json::from_slice(json)
        .map_err(|e| Error::new(crate::json::INVALID_EVENT, format!("{not}: {e}")))
}

/// Bytes from base64 text, or the reader's error naming the problem.
fn base64<'de, A: MapAccess<'de>>(text: &str) -> Result<Vec<u8>, A::Error> {
    crate::text::base64_decode_exact(text.as_bytes())
        .ok_or_else(|| A::Error::custom("a value that should be base64 is not"))
}

/// The next value's bytes, decoded from base64 (`null` is none).
fn base64_data<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Vec<u8>, A::Error> {
    Ok(opt_base64(map)?.unwrap_or_default())
}

/// The next value's bytes, decoded from base64; `None` for `null`.
fn opt_base64<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Vec<u8>>, A::Error> {
    match map.next_value::<Option<Text<'de>>>()? {
        Some(Text(text)) => base64::<A>(&text).map(Some),
        None => Ok(None),
    }
}

/// The next value's strings, each decoded from base64.
fn base64s<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Vec<Vec<u8>>, A::Error> {
    map.next_value::<List<'de>>()?
        .0
        .iter()
        .map(|t| base64::<A>(t))
        .collect()
}
