//! Amazon SQS: a batch of messages.

use std::borrow::Cow;

use serde::Deserialize;

use super::{base64s, opt_base64};
use crate::error::Result;
use crate::events::SnsMessage;
use crate::json::read::{Map, from_object};

/// What Lambda sends a function subscribed to an SQS queue: up to 10 (FIFO) or 10,000
/// (standard) messages. aws_lambda_events' `SqsEvent`.
#[derive(Debug, Default, Clone)]
pub struct SqsEvent<'a> {
    /// `Records`: the messages, in the order of the queue (for a FIFO queue, of each group).
    pub records: Vec<SqsMessage<'a>>,
}

/// One SQS message.
#[derive(Debug, Default, Clone)]
pub struct SqsMessage<'a> {
    /// `messageId`: the identifier a partial batch response names.
    pub message_id: Cow<'a, str>,
    /// `receiptHandle`: what `DeleteMessage` and `ChangeMessageVisibility` take.
    pub receipt_handle: Cow<'a, str>,
    /// `body`: the message as sent (an SNS notification's JSON when a topic delivered it
    /// without raw delivery: see [`SqsMessage::sns`]).
    pub body: Cow<'a, str>,
    /// `md5OfBody`.
    pub md5_of_body: Cow<'a, str>,
    /// `md5OfMessageAttributes`, when the message has attributes.
    pub md5_of_message_attributes: Option<Cow<'a, str>>,
    /// `attributes`: the system attributes (`ApproximateReceiveCount`, `SentTimestamp`,
    /// `SenderId`, `MessageGroupId`, `AWSTraceHeader`, …), as strings.
    pub attributes: Map<'a, Cow<'a, str>>,
    /// `messageAttributes`: the attributes the sender set.
    pub message_attributes: Map<'a, SqsMessageAttribute<'a>>,
    /// `eventSource`: `aws:sqs`.
    pub event_source: Cow<'a, str>,
    /// `eventSourceARN`: the queue's ARN (a FIFO queue's ends in `.fifo`).
    pub event_source_arn: Cow<'a, str>,
    /// `awsRegion`.
    pub aws_region: Cow<'a, str>,
}

/// A message attribute: its data type and its value, a string or bytes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SqsMessageAttribute<'a> {
    /// `dataType`: `String`, `Number`, `Binary`, or one of those with a custom suffix
    /// (`Number.float`).
    pub data_type: Cow<'a, str>,
    /// `stringValue`: a `String` or `Number` attribute's value (a number stays text: SQS
    /// keeps 38 digits).
    pub string_value: Option<Cow<'a, str>>,
    /// `binaryValue`, decoded from base64: a `Binary` attribute's value.
    pub binary_value: Option<Vec<u8>>,
    /// `stringListValues` (reserved by SQS; empty).
    pub string_list_values: Vec<Cow<'a, str>>,
    /// `binaryListValues`, decoded (reserved by SQS; empty).
    pub binary_list_values: Vec<Vec<u8>>,
}

from_object!(SqsEvent { "Records" => records });
from_object!(SqsMessage {
    "messageId" => message_id: text,
    "receiptHandle" => receipt_handle: text,
    "body" => body: text,
    "md5OfBody" => md5_of_body: text,
    "md5OfMessageAttributes" => md5_of_message_attributes: opt_text,
    "attributes" => attributes,
    "messageAttributes" => message_attributes,
    "eventSource" => event_source: text,
    "eventSourceARN" => event_source_arn: text,
    "awsRegion" => aws_region: text,
});
from_object!(SqsMessageAttribute {
    "dataType" => data_type: text,
    "stringValue" => string_value: opt_text,
    "binaryValue" => binary_value: opt_base64,
    "stringListValues" => string_list_values: texts,
    "binaryListValues" => binary_list_values: base64s,
});

impl<'a> SqsEvent<'a> {
    /// Reads an SQS event, borrowing from `event` where JSON allows.
    pub fn from_slice(event: &'a [u8]) -> Result<SqsEvent<'a>> {
        super::read(event, "the event is not an SQS event")
    }

    /// Whether the messages come from a FIFO queue (its ARN ends in `.fifo`): their order
    /// within a message group matters, and [`batch::sqs`](crate::events::batch::sqs) stops at
    /// the first failure.
    pub fn is_fifo(&self) -> bool {
        self.records.first().is_some_and(SqsMessage::is_fifo)
    }
}

impl SqsMessage<'_> {
    /// The body read as JSON into `T` (which may borrow from it).
    pub fn body_json<'s, T: Deserialize<'s>>(&'s self) -> Result<T> {
        super::read(
            self.body.as_bytes(),
            "the message body is not the JSON expected",
        )
    }

    /// The SNS notification in the body, for a queue subscribed to a topic without raw
    /// message delivery (`{"Type":"Notification","Message":…}`).
    pub fn sns(&self) -> Result<SnsMessage<'_>> {
        super::read(
            self.body.as_bytes(),
            "the message body is not an SNS notification",
        )
    }

    /// A system attribute (`ApproximateReceiveCount`, `MessageGroupId`, …).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(|v| &**v)
    }

    /// `MessageGroupId`, for a message of a FIFO queue.
    pub fn message_group_id(&self) -> Option<&str> {
        self.attribute("MessageGroupId")
    }

    /// How many times the message was received, this time included.
    pub fn approximate_receive_count(&self) -> Option<u32> {
        self.attribute("ApproximateReceiveCount")?.parse().ok()
    }

    /// Whether the message comes from a FIFO queue.
    pub fn is_fifo(&self) -> bool {
        self.event_source_arn.ends_with(".fifo")
    }
}
