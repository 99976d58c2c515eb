//! Amazon S3 event notifications.

use std::borrow::Cow;

use serde::de::MapAccess;

use crate::error::Result;
use crate::json::read::{Map, from_object};

/// What Lambda sends a function S3 notifies (directly, or in the body of an SQS or SNS
/// message). aws_lambda_events' `S3Event`.
#[derive(Debug, Default, Clone)]
pub struct S3Event<'a> {
    /// `Records`.
    pub records: Vec<S3EventRecord<'a>>,
}

/// One object event.
#[derive(Debug, Default, Clone)]
pub struct S3EventRecord<'a> {
    /// `eventVersion` (`2.1`, `2.2`, …).
    pub event_version: Cow<'a, str>,
    /// `eventSource`: `aws:s3`.
    pub event_source: Cow<'a, str>,
    /// `awsRegion`.
    pub aws_region: Cow<'a, str>,
    /// `eventTime` (ISO 8601).
    pub event_time: Cow<'a, str>,
    /// `eventName`: `ObjectCreated:Put`, `ObjectRemoved:Delete`, …
    pub event_name: Cow<'a, str>,
    /// `userIdentity.principalId`: who caused the event.
    pub principal_id: Cow<'a, str>,
    /// `requestParameters` (`sourceIPAddress`).
    pub request_parameters: Map<'a, Cow<'a, str>>,
    /// `responseElements` (`x-amz-request-id`, `x-amz-id-2`).
    pub response_elements: Map<'a, Cow<'a, str>>,
    /// `s3`: the bucket and the object.
    pub s3: S3Entity<'a>,
}

/// The bucket and object of an event.
#[derive(Debug, Default, Clone)]
pub struct S3Entity<'a> {
    /// `s3SchemaVersion`.
    pub schema_version: Cow<'a, str>,
    /// `configurationId`: the notification configuration's id.
    pub configuration_id: Cow<'a, str>,
    /// `bucket`.
    pub bucket: S3Bucket<'a>,
    /// `object`.
    pub object: S3Object<'a>,
}

/// The bucket of an event.
#[derive(Debug, Default, Clone)]
pub struct S3Bucket<'a> {
    /// `name`.
    pub name: Cow<'a, str>,
    /// `ownerIdentity.principalId`.
    pub owner_principal_id: Cow<'a, str>,
    /// `arn`.
    pub arn: Cow<'a, str>,
}

/// The object of an event.
#[derive(Debug, Default, Clone)]
pub struct S3Object<'a> {
    /// `key`, decoded: S3 sends it URL-encoded with `+` for a space (`my+photo%281%29.jpg`
    /// is `my photo(1).jpg`), and this is the key `GetObject` takes.
    pub key: Cow<'a, str>,
    /// `size` in bytes (absent on a delete).
    pub size: Option<u64>,
    /// `eTag` (absent on a delete).
    pub e_tag: Option<Cow<'a, str>>,
    /// `versionId`, in a versioned bucket.
    pub version_id: Option<Cow<'a, str>>,
    /// `sequencer`: orders the events of one key.
    pub sequencer: Cow<'a, str>,
}

/// `{"principalId": …}`, as `userIdentity` and `ownerIdentity` have it.
#[derive(Default)]
struct Principal<'a> {
    principal_id: Cow<'a, str>,
}

from_object!(Principal { "principalId" => principal_id: text });
from_object!(S3Event { "Records" => records });
from_object!(S3EventRecord {
    "eventVersion" => event_version: text,
    "eventSource" => event_source: text,
    "awsRegion" => aws_region: text,
    "eventTime" => event_time: text,
    "eventName" => event_name: text,
    "userIdentity" => principal_id: principal,
    "requestParameters" => request_parameters,
    "responseElements" => response_elements,
    "s3" => s3,
});
from_object!(S3Entity {
    "s3SchemaVersion" => schema_version: text,
    "configurationId" => configuration_id: text,
    "bucket" => bucket,
    "object" => object,
});
from_object!(S3Bucket {
    "name" => name: text,
    "ownerIdentity" => owner_principal_id: principal,
    "arn" => arn: text,
});
from_object!(S3Object {
    "key" => key: object_key,
    "size" => size,
    "eTag" => e_tag: opt_text,
    "versionId" => version_id: opt_text,
    "sequencer" => sequencer: text,
});

fn principal<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Cow<'de, str>, A::Error> {
    crate::json::read::value::<Principal<'de>, A>(map).map(|p| p.principal_id)
}

fn object_key<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Cow<'de, str>, A::Error> {
    crate::json::read::text(map).map(|key| crate::text::percent_decode(key, true))
}

impl<'a> S3Event<'a> {
    /// Reads an S3 event, borrowing from `event` where JSON allows (a key is owned only when
    /// it had something to decode).
    pub fn from_slice(event: &'a [u8]) -> Result<S3Event<'a>> {
        super::read(event, "the event is not an S3 event")
    }
}
