//! Amazon EventBridge events: from a rule (custom events, AWS service events, schedules) or
//! from EventBridge Scheduler.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, Visitor};

use crate::error::Result;
use crate::json::read::{List, Text};

/// An EventBridge event whose `detail` is read as `D`: any `Deserialize` type (which may
/// borrow from the event), or `serde_json::Value` (the default) for whatever it holds. A
/// rule's scheduled event has `{}` for `detail`; EventBridge Scheduler sends the text `"{}"`.
/// aws_lambda_events' `EventBridgeEvent`.
#[derive(Debug, Clone, Default)]
pub struct EventBridgeEvent<'a, D = serde_json::Value> {
    /// `version`: `0`.
    pub version: Cow<'a, str>,
    /// `id`.
    pub id: Cow<'a, str>,
    /// `detail-type`: `Scheduled Event`, `Object Created`, a custom event's type.
    pub detail_type: Cow<'a, str>,
    /// `source`: `aws.events`, `aws.scheduler`, `aws.s3`, a custom source.
    pub source: Cow<'a, str>,
    /// `account`.
    pub account: Cow<'a, str>,
    /// `time` (ISO 8601).
    pub time: Cow<'a, str>,
    /// `region`.
    pub region: Cow<'a, str>,
    /// `resources`: ARNs (the rule or schedule of a scheduled event).
    pub resources: Vec<Cow<'a, str>>,
    /// `replay-name`, for an event replayed from an archive.
    pub replay_name: Option<Cow<'a, str>>,
    /// `detail`.
    pub detail: D,
}

impl<'a, D> EventBridgeEvent<'a, D> {
    /// Reads an EventBridge event, borrowing from `event` where JSON allows.
    pub fn from_slice(event: &'a [u8]) -> Result<EventBridgeEvent<'a, D>>
    where
        D: Deserialize<'a>,
    {
        super::read(event, "the event is not an EventBridge event")
    }

    /// Whether this is a schedule's event (`detail-type` `Scheduled Event`, from a rule or
    /// from EventBridge Scheduler).
    pub fn is_scheduled(&self) -> bool {
        self.detail_type == "Scheduled Event"
    }
}

impl<'de: 'a, 'a, D: Deserialize<'de>> Deserialize<'de> for EventBridgeEvent<'a, D> {
    fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        struct V<D>(PhantomData<D>);
        impl<'de, D: Deserialize<'de>> Visitor<'de> for V<D> {
            type Value = EventBridgeEvent<'de, D>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the event is not an EventBridge event")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                use crate::json::read::{opt_text, text};
                let mut detail = None;
                let mut out = EventBridgeEvent::<'de, ()>::default();
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    match &*key {
                        "version" => out.version = text(&mut map)?,
                        "id" => out.id = text(&mut map)?,
                        "detail-type" => out.detail_type = text(&mut map)?,
                        "source" => out.source = text(&mut map)?,
                        "account" => out.account = text(&mut map)?,
                        "time" => out.time = text(&mut map)?,
                        "region" => out.region = text(&mut map)?,
                        "resources" => out.resources = map.next_value::<List<'de>>()?.0,
                        "replay-name" => out.replay_name = opt_text(&mut map)?,
                        "detail" => detail = Some(map.next_value::<D>()?),
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                let detail = detail.ok_or_else(|| A::Error::missing_field("detail"))?;
                Ok(EventBridgeEvent {
                    version: out.version,
                    id: out.id,
                    detail_type: out.detail_type,
                    source: out.source,
                    account: out.account,
                    time: out.time,
                    region: out.region,
                    resources: out.resources,
                    replay_name: out.replay_name,
                    detail,
                })
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}
