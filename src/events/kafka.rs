//! Apache Kafka: Amazon MSK and self-managed clusters.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::MapAccess;

use super::opt_base64;
use crate::error::Result;
use crate::json::read::{Map, MapValue, from_object};

/// What Lambda sends a function reading a Kafka topic: records grouped by `topic-partition`.
/// aws_lambda_events' `KafkaEvent`.
#[derive(Debug, Default, Clone)]
pub struct KafkaEvent<'a> {
    /// `eventSource`: `aws:kafka` (Amazon MSK) or `SelfManagedKafka`.
    pub event_source: Cow<'a, str>,
    /// `eventSourceArn`: the MSK cluster (absent for a self-managed one).
    pub event_source_arn: Option<Cow<'a, str>>,
    /// `bootstrapServers`: comma-separated.
    pub bootstrap_servers: Cow<'a, str>,
    /// `records`: for each `topic-partition`, its records in offset order.
    pub records: Map<'a, Vec<KafkaRecord<'a>>>,
}

/// One Kafka record, its key and value decoded.
#[derive(Debug, Default, Clone)]
pub struct KafkaRecord<'a> {
    /// `topic`.
    pub topic: Cow<'a, str>,
    /// `partition`.
    pub partition: i64,
    /// `offset`.
    pub offset: i64,
    /// `timestamp`, in milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// `timestampType`: `CREATE_TIME` or `LOG_APPEND_TIME`.
    pub timestamp_type: Cow<'a, str>,
    /// `key`, decoded from base64 (absent for a record without a key).
    pub key: Option<Vec<u8>>,
    /// `value`, decoded from base64 (absent for a tombstone).
    pub value: Option<Vec<u8>>,
    /// `headers`: each header's name and bytes, in order.
    pub headers: Vec<Map<'a, Vec<u8>>>,
}

from_object!(KafkaEvent {
    "eventSource" => event_source: text,
    "eventSourceArn" => event_source_arn: opt_text,
    "bootstrapServers" => bootstrap_servers: text,
    "records" => records,
});
from_object!(KafkaRecord {
    "topic" => topic: text,
    "partition" => partition,
    "offset" => offset,
    "timestamp" => timestamp,
    "timestampType" => timestamp_type: text,
    "key" => key: opt_base64,
    "value" => value: opt_base64,
    "headers" => headers,
});

impl<'de> MapValue<'de> for Vec<KafkaRecord<'de>> {
    fn read<A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        crate::json::read::value(map)
    }
}

/// A header's value: an array of byte values.
impl<'de> MapValue<'de> for Vec<u8> {
    fn read<A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        crate::json::read::value(map)
    }
}

impl<'a> KafkaEvent<'a> {
    /// Reads a Kafka event, each record's key and value decoded from base64.
    pub fn from_slice(event: &'a [u8]) -> Result<KafkaEvent<'a>> {
        super::read(event, "the event is not a Kafka event")
    }

    /// Every record, partition after partition.
    pub fn all_records(&self) -> impl Iterator<Item = &KafkaRecord<'a>> {
        self.records.iter().flat_map(|(_, records)| records)
    }
}

impl KafkaRecord<'_> {
    /// The value read as JSON into `T` (which may borrow from it); a record without a value
    /// reads as JSON `null`.
    pub fn value_json<'s, T: Deserialize<'s>>(&'s self) -> Result<T> {
        super::read(
            self.value.as_deref().unwrap_or(b"null"),
            "the record's value is not the JSON expected",
        )
    }

    /// The first header named `name`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find_map(|h| h.get(name))
            .map(Vec::as_slice)
    }
}
