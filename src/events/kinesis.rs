//! Amazon Kinesis Data Streams.

use std::borrow::Cow;

use serde::Deserialize;

use super::base64_data;
use crate::error::Result;
use crate::json::read::from_object;

/// What Lambda sends a function reading a Kinesis data stream. aws_lambda_events'
/// `KinesisEvent`.
#[derive(Debug, Default, Clone)]
pub struct KinesisEvent<'a> {
    /// `Records`, in the order of their shard.
    pub records: Vec<KinesisEventRecord<'a>>,
}

/// One record and where it came from.
#[derive(Debug, Default, Clone)]
pub struct KinesisEventRecord<'a> {
    /// `awsRegion`.
    pub aws_region: Cow<'a, str>,
    /// `eventID`: `shardId-…:sequence number`.
    pub event_id: Cow<'a, str>,
    /// `eventName`: `aws:kinesis:record`.
    pub event_name: Cow<'a, str>,
    /// `eventSource`: `aws:kinesis`.
    pub event_source: Cow<'a, str>,
    /// `eventSourceARN`: the stream's ARN.
    pub event_source_arn: Cow<'a, str>,
    /// `eventVersion`.
    pub event_version: Cow<'a, str>,
    /// `invokeIdentityArn`: the role Lambda read the stream with.
    pub invoke_identity_arn: Cow<'a, str>,
    /// `kinesis`: the record.
    pub kinesis: KinesisRecord<'a>,
}

/// A Kinesis record, its data decoded.
#[derive(Debug, Default, Clone)]
pub struct KinesisRecord<'a> {
    /// `approximateArrivalTimestamp`, in seconds since the Unix epoch.
    pub approximate_arrival_timestamp: f64,
    /// `data`, decoded from base64: the bytes the producer put.
    pub data: Vec<u8>,
    /// `partitionKey`.
    pub partition_key: Cow<'a, str>,
    /// `sequenceNumber`: the identifier a partial batch response names.
    pub sequence_number: Cow<'a, str>,
    /// `kinesisSchemaVersion`.
    pub kinesis_schema_version: Cow<'a, str>,
    /// `encryptionType` (`KMS`), when the stream is encrypted.
    pub encryption_type: Option<Cow<'a, str>>,
}

from_object!(KinesisEvent { "Records" => records });
from_object!(KinesisEventRecord {
    "awsRegion" => aws_region: text,
    "eventID" => event_id: text,
    "eventName" => event_name: text,
    "eventSource" => event_source: text,
    "eventSourceARN" => event_source_arn: text,
    "eventVersion" => event_version: text,
    "invokeIdentityArn" => invoke_identity_arn: text,
    "kinesis" => kinesis,
});
from_object!(KinesisRecord {
    "approximateArrivalTimestamp" => approximate_arrival_timestamp,
    "data" => data: base64_data,
    "partitionKey" => partition_key: text,
    "sequenceNumber" => sequence_number: text,
    "kinesisSchemaVersion" => kinesis_schema_version: text,
    "encryptionType" => encryption_type: opt_text,
});

impl<'a> KinesisEvent<'a> {
    /// Reads a Kinesis event, each record's data decoded from base64.
    pub fn from_slice(event: &'a [u8]) -> Result<KinesisEvent<'a>> {
        super::read(event, "the event is not a Kinesis event")
    }
}

impl KinesisRecord<'_> {
    /// The data read as JSON into `T` (which may borrow from it).
    pub fn data_json<'s, T: Deserialize<'s>>(&'s self) -> Result<T> {
        super::read(&self.data, "the record's data is not the JSON expected")
    }
}
