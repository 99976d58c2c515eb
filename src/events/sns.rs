//! Amazon SNS: a notification delivered to a function, or carried in an SQS message.

use std::borrow::Cow;

use serde::Deserialize;

use crate::error::Result;
use crate::json::read::{Map, from_object};

/// What Lambda sends a function subscribed to an SNS topic: one record.
/// aws_lambda_events' `SnsEvent`.
#[derive(Debug, Default, Clone)]
pub struct SnsEvent<'a> {
    /// `Records`: the notifications (SNS sends one per invocation).
    pub records: Vec<SnsRecord<'a>>,
}

/// One delivery of a notification.
#[derive(Debug, Default, Clone)]
pub struct SnsRecord<'a> {
    /// `EventSource`: `aws:sns`.
    pub event_source: Cow<'a, str>,
    /// `EventVersion`.
    pub event_version: Cow<'a, str>,
    /// `EventSubscriptionArn`: the subscription that delivered it.
    pub event_subscription_arn: Cow<'a, str>,
    /// `Sns`: the notification.
    pub sns: SnsMessage<'a>,
}

/// An SNS notification: as the `Sns` of a record, or the body of an SQS message from a topic
/// without raw message delivery (which spells `SigningCertURL` and `UnsubscribeURL` in capitals:
/// both spellings are read).
#[derive(Debug, Default, Clone)]
pub struct SnsMessage<'a> {
    /// `Type`: `Notification`.
    pub r#type: Cow<'a, str>,
    /// `MessageId`.
    pub message_id: Cow<'a, str>,
    /// `TopicArn`.
    pub topic_arn: Cow<'a, str>,
    /// `Subject`, when the publisher set one.
    pub subject: Option<Cow<'a, str>>,
    /// `Message`: what was published (see [`SnsMessage::message_json`]).
    pub message: Cow<'a, str>,
    /// `Timestamp` (ISO 8601).
    pub timestamp: Cow<'a, str>,
    /// `SignatureVersion`.
    pub signature_version: Cow<'a, str>,
    /// `Signature`.
    pub signature: Cow<'a, str>,
    /// `SigningCertUrl` (`SigningCertURL` in an SQS body).
    pub signing_cert_url: Cow<'a, str>,
    /// `UnsubscribeUrl` (`UnsubscribeURL` in an SQS body).
    pub unsubscribe_url: Cow<'a, str>,
    /// `MessageAttributes`.
    pub message_attributes: Map<'a, SnsMessageAttribute<'a>>,
}

/// A message attribute: its type and its value as text (base64 for `Binary`).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SnsMessageAttribute<'a> {
    /// `Type`: `String`, `String.Array`, `Number` or `Binary`.
    pub r#type: Cow<'a, str>,
    /// `Value`.
    pub value: Cow<'a, str>,
}

from_object!(SnsEvent { "Records" => records });
from_object!(SnsRecord {
    "EventSource" => event_source: text,
    "EventVersion" => event_version: text,
    "EventSubscriptionArn" => event_subscription_arn: text,
    "Sns" => sns,
});
from_object!(SnsMessage {
    "Type" => r#type: text,
    "MessageId" => message_id: text,
    "TopicArn" => topic_arn: text,
    "Subject" => subject: opt_text,
    "Message" => message: text,
    "Timestamp" => timestamp: text,
    "SignatureVersion" => signature_version: text,
    "Signature" => signature: text,
    "SigningCertUrl" => signing_cert_url: text,
    "SigningCertURL" => signing_cert_url: text,
    "UnsubscribeUrl" => unsubscribe_url: text,
    "UnsubscribeURL" => unsubscribe_url: text,
    "MessageAttributes" => message_attributes,
});
from_object!(SnsMessageAttribute {
    "Type" => r#type: text,
    "Value" => value: text,
});

impl<'a> SnsEvent<'a> {
    /// Reads an SNS event, borrowing from `event` where JSON allows.
    pub fn from_slice(event: &'a [u8]) -> Result<SnsEvent<'a>> {
        super::read(event, "the event is not an SNS event")
    }
}

impl SnsMessage<'_> {
    /// The published message read as JSON into `T` (which may borrow from it).
    pub fn message_json<'s, T: Deserialize<'s>>(&'s self) -> Result<T> {
        super::read(
            self.message.as_bytes(),
            "the SNS message is not the JSON expected",
        )
    }
}
