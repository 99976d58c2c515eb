//! Amazon DynamoDB Streams, and DynamoDB's attribute values read as Rust types.

use std::borrow::Cow;
use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};

use crate::error::{Error, Result};
use crate::json::read::{List, Map, MapValue, Text, from_object};

/// What Lambda sends a function reading a DynamoDB stream. aws_lambda_events' `dynamodb::Event`.
#[derive(Debug, Default, Clone)]
pub struct DynamoDbEvent<'a> {
    /// `Records`: the changes, in the order of their shard.
    pub records: Vec<DynamoDbRecord<'a>>,
}

/// One change to one item.
#[derive(Debug, Default, Clone)]
pub struct DynamoDbRecord<'a> {
    /// `eventID`.
    pub event_id: Cow<'a, str>,
    /// `eventName`: `INSERT`, `MODIFY` or `REMOVE`.
    pub event_name: Cow<'a, str>,
    /// `eventVersion`.
    pub event_version: Cow<'a, str>,
    /// `eventSource`: `aws:dynamodb`.
    pub event_source: Cow<'a, str>,
    /// `awsRegion`.
    pub aws_region: Cow<'a, str>,
    /// `eventSourceARN`: the stream's ARN.
    pub event_source_arn: Cow<'a, str>,
    /// `userIdentity.principalId`: `dynamodb.amazonaws.com` for an item its TTL removed.
    pub user_identity_principal_id: Option<Cow<'a, str>>,
    /// `dynamodb`: the change itself.
    pub dynamodb: StreamRecord<'a>,
}

/// The change: the item's key, its images as the stream's view type has them, and its
/// place in the shard.
#[derive(Debug, Default, Clone)]
pub struct StreamRecord<'a> {
    /// `ApproximateCreationDateTime`, in seconds since the Unix epoch.
    pub approximate_creation_date_time: f64,
    /// `Keys`: the item's primary key.
    pub keys: Item<'a>,
    /// `NewImage`: the item after the change (`NEW_IMAGE`, `NEW_AND_OLD_IMAGES`).
    pub new_image: Option<Item<'a>>,
    /// `OldImage`: the item before the change (`OLD_IMAGE`, `NEW_AND_OLD_IMAGES`).
    pub old_image: Option<Item<'a>>,
    /// `SequenceNumber`: the identifier a partial batch response names.
    pub sequence_number: Cow<'a, str>,
    /// `SizeBytes`.
    pub size_bytes: u64,
    /// `StreamViewType`: `KEYS_ONLY`, `NEW_IMAGE`, `OLD_IMAGE` or `NEW_AND_OLD_IMAGES`.
    pub stream_view_type: Cow<'a, str>,
}

#[derive(Default)]
struct Identity<'a> {
    principal_id: Option<Cow<'a, str>>,
}

from_object!(Identity { "principalId" => principal_id: opt_text });
from_object!(DynamoDbEvent { "Records" => records });
from_object!(DynamoDbRecord {
    "eventID" => event_id: text,
    "eventName" => event_name: text,
    "eventVersion" => event_version: text,
    "eventSource" => event_source: text,
    "awsRegion" => aws_region: text,
    "eventSourceARN" => event_source_arn: text,
    "userIdentity" => user_identity_principal_id: identity,
    "dynamodb" => dynamodb,
});
from_object!(StreamRecord {
    "ApproximateCreationDateTime" => approximate_creation_date_time,
    "Keys" => keys,
    "NewImage" => new_image,
    "OldImage" => old_image,
    "SequenceNumber" => sequence_number: text,
    "SizeBytes" => size_bytes,
    "StreamViewType" => stream_view_type: text,
});

fn identity<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Cow<'de, str>>, A::Error> {
    crate::json::read::value::<Identity<'de>, A>(map).map(|i| i.principal_id)
}

impl<'a> DynamoDbEvent<'a> {
    /// Reads a DynamoDB Streams event, borrowing from `event` where JSON allows.
    pub fn from_slice(event: &'a [u8]) -> Result<DynamoDbEvent<'a>> {
        super::read(event, "the event is not a DynamoDB Streams event")
    }
}

/// A DynamoDB item (an image, a key): attribute names and their values, in the order sent.
/// [`Item::to`] reads it as any `Deserialize` type, as if it were the plain JSON object.
///
/// ```
/// # #[cfg(feature = "events")] {
/// use lambda_lite::events::DynamoDbEvent;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Order<'a> { id: &'a str, total: u32, tags: Vec<String> }
///
/// let event = br#"{"Records":[{"eventName":"INSERT","dynamodb":{"Keys":{"id":{"S":"o-1"}},
///   "NewImage":{"id":{"S":"o-1"},"total":{"N":"42"},"tags":{"SS":["a","b"]}},
///   "SequenceNumber":"1","StreamViewType":"NEW_IMAGE"}}]}"#;
/// let event = DynamoDbEvent::from_slice(event)?;
/// let order: Order = event.records[0].dynamodb.new_image.as_ref().unwrap().to()?;
/// assert_eq!((order.id, order.total, order.tags.len()), ("o-1", 42, 2));
/// # }
/// # Ok::<(), lambda_lite::Error>(())
/// ```
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Item<'a>(pub Map<'a, AttributeValue<'a>>);

impl<'a> Item<'a> {
    /// The value of the attribute `name`.
    pub fn get(&self, name: &str) -> Option<&AttributeValue<'a>> {
        self.0.get(name)
    }

    /// Every attribute, in the order sent.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &AttributeValue<'a>)> {
        self.0.iter()
    }

    /// The item as a `T` (which may borrow from it): each attribute as the field of the same
    /// name, `S` as a string, `N` as whichever number (or string) the field is, `B` as bytes,
    /// `BOOL`, `NULL` as `None` or `()`, `M` as a struct or map, `L`, `SS`, `NS`, `BS` as
    /// sequences. A mismatch is an error of type `Runtime.InvalidEvent` naming it.
    pub fn to<'s, T: Deserialize<'s>>(&'s self) -> Result<T> {
        T::deserialize(Ref::M(&self.0)).map_err(|Mismatch(message)| {
            Error::new(
                crate::json::INVALID_EVENT,
                format!("the item is not the type this function reads: {message}"),
            )
        })
    }
}

/// One attribute value, as DynamoDB's JSON has it (`{"S":"…"}`, `{"N":"42"}`, …).
#[derive(Debug, Default, Clone, PartialEq)]
pub enum AttributeValue<'a> {
    /// `S`: a string.
    S(Cow<'a, str>),
    /// `N`: a number, as DynamoDB keeps it (up to 38 digits): text.
    N(Cow<'a, str>),
    /// `B`: bytes (decoded from base64).
    B(Vec<u8>),
    /// `BOOL`.
    Bool(bool),
    /// `NULL`.
    #[default]
    Null,
    /// `M`: a map.
    M(Item<'a>),
    /// `L`: a list.
    L(Vec<AttributeValue<'a>>),
    /// `SS`: a string set.
    Ss(Vec<Cow<'a, str>>),
    /// `NS`: a number set.
    Ns(Vec<Cow<'a, str>>),
    /// `BS`: a binary set (decoded).
    Bs(Vec<Vec<u8>>),
}

impl AttributeValue<'_> {
    /// The text of an `S` (or the digits of an `N`).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttributeValue::S(s) | AttributeValue::N(s) => Some(s),
            _ => None,
        }
    }

    /// An `N` parsed as `T` (`u64`, `i32`, `f64`, …).
    pub fn as_number<T: std::str::FromStr>(&self) -> Option<T> {
        match self {
            AttributeValue::N(n) => n.parse().ok(),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Item<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Map::deserialize(d).map(Item)
    }
}

impl<'de> MapValue<'de> for AttributeValue<'de> {
    fn read<A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        map.next_value()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for AttributeValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AttributeValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a DynamoDB attribute value ({\"S\":…}, {\"N\":…}, …)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let Some(Text(kind)) = map.next_key::<Text<'de>>()? else {
                    return Err(de::Error::custom("an attribute value with no type"));
                };
                let value = match &*kind {
                    "S" => AttributeValue::S(map.next_value::<Text<'de>>()?.0),
                    "N" => AttributeValue::N(map.next_value::<Text<'de>>()?.0),
                    "B" => {
                        AttributeValue::B(super::base64::<A>(&map.next_value::<Text<'de>>()?.0)?)
                    }
                    "BOOL" => AttributeValue::Bool(map.next_value()?),
                    "NULL" => {
                        map.next_value::<de::IgnoredAny>()?;
                        AttributeValue::Null
                    }
                    "M" => AttributeValue::M(map.next_value()?),
                    "L" => AttributeValue::L(map.next_value()?),
                    "SS" => AttributeValue::Ss(map.next_value::<List<'de>>()?.0),
                    "NS" => AttributeValue::Ns(map.next_value::<List<'de>>()?.0),
                    "BS" => AttributeValue::Bs(
                        map.next_value::<List<'de>>()?
                            .0
                            .iter()
                            .map(|b| super::base64::<A>(b))
                            .collect::<Result<_, _>>()?,
                    ),
                    other => {
                        return Err(de::Error::custom(format_args!(
                            "an attribute value of unknown type {other:?}"
                        )));
                    }
                };
                // One type per value: anything more is not DynamoDB's JSON.
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("an attribute value with two types"));
                }
                Ok(value)
            }
        }
        d.deserialize_map(V)
    }
}

/// Why an item is not the type asked for.
#[derive(Debug)]
struct Mismatch(String);

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Mismatch {}

impl de::Error for Mismatch {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Mismatch(msg.to_string())
    }
}

/// Something in an item, seen as serde data: a value, or an element of a set.
#[derive(Clone, Copy)]
enum Ref<'x, 'a> {
    Value(&'x AttributeValue<'a>),
    M(&'x Map<'a, AttributeValue<'a>>),
    S(&'x str),
    N(&'x str),
    B(&'x [u8]),
}

impl<'x, 'a> Ref<'x, 'a> {
    /// A value seen as what it is (a value of a map or list is itself a `Ref`).
    fn of(value: &'x AttributeValue<'a>) -> Ref<'x, 'a> {
        match value {
            AttributeValue::S(s) => Ref::S(s),
            AttributeValue::N(n) => Ref::N(n),
            AttributeValue::B(b) => Ref::B(b),
            AttributeValue::M(m) => Ref::M(&m.0),
            other => Ref::Value(other),
        }
    }

    fn number<T: std::str::FromStr>(self, what: &str) -> Result<T, Mismatch> {
        match self {
            Ref::N(n) => n
                .parse()
                .map_err(|_| Mismatch(format!("the number {n} does not fit {what}"))),
            other => Err(Mismatch(format!(
                "expected a number ({what}), found {}",
                other.kind()
            ))),
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Ref::S(_) => "S",
            Ref::N(_) => "N",
            Ref::B(_) => "B",
            Ref::M(_) => "M",
            Ref::Value(v) => match v {
                AttributeValue::Bool(_) => "BOOL",
                AttributeValue::Null => "NULL",
                AttributeValue::L(_) => "L",
                AttributeValue::Ss(_) => "SS",
                AttributeValue::Ns(_) => "NS",
                AttributeValue::Bs(_) => "BS",
                _ => "a value",
            },
        }
    }
}

struct Seq<I>(I);

impl<'x, 'a: 'x, I: Iterator<Item = Ref<'x, 'a>>> SeqAccess<'x> for Seq<I> {
    type Error = Mismatch;
    fn next_element_seed<T: DeserializeSeed<'x>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Mismatch> {
        self.0.next().map(|r| seed.deserialize(r)).transpose()
    }
}

struct Fields<'x, 'a> {
    pairs: std::slice::Iter<'x, (Cow<'a, str>, AttributeValue<'a>)>,
    value: Option<&'x AttributeValue<'a>>,
}

impl<'x, 'a: 'x> MapAccess<'x> for Fields<'x, 'a> {
    type Error = Mismatch;
    fn next_key_seed<K: DeserializeSeed<'x>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Mismatch> {
        let Some((name, value)) = self.pairs.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(BorrowedStrDeserializer::new(name))
            .map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'x>>(&mut self, seed: V) -> Result<V::Value, Mismatch> {
        match self.value.take() {
            Some(value) => seed.deserialize(Ref::of(value)),
            None => Err(Mismatch("a value asked for before its name".into())),
        }
    }
}

macro_rules! numbers {
    ($($method:ident $visit:ident $ty:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Mismatch> {
            visitor.$visit(self.number::<$ty>(stringify!($ty))?)
        }
    )*};
}

impl<'x, 'a: 'x> Deserializer<'x> for Ref<'x, 'a> {
    type Error = Mismatch;

    fn deserialize_any<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self {
            Ref::S(s) => visitor.visit_borrowed_str(s),
            Ref::N(n) => {
                if let Ok(i) = n.parse::<i64>() {
                    visitor.visit_i64(i)
                } else if let Ok(u) = n.parse::<u64>() {
                    visitor.visit_u64(u)
                } else if let Ok(f) = n.parse::<f64>() {
                    visitor.visit_f64(f)
                } else {
                    visitor.visit_borrowed_str(n)
                }
            }
            Ref::B(b) => visitor.visit_borrowed_bytes(b),
            Ref::M(m) => visitor.visit_map(Fields {
                pairs: m.0.iter(),
                value: None,
            }),
            Ref::Value(v) => match v {
                AttributeValue::Bool(b) => visitor.visit_bool(*b),
                AttributeValue::Null => visitor.visit_unit(),
                AttributeValue::L(all) => visitor.visit_seq(Seq(all.iter().map(Ref::of))),
                AttributeValue::Ss(all) => visitor.visit_seq(Seq(all.iter().map(|s| Ref::S(s)))),
                AttributeValue::Ns(all) => visitor.visit_seq(Seq(all.iter().map(|n| Ref::N(n)))),
                AttributeValue::Bs(all) => visitor.visit_seq(Seq(all.iter().map(|b| Ref::B(b)))),
                other => Ref::of(other).deserialize_any(visitor),
            },
        }
    }

    fn deserialize_option<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self {
            Ref::Value(AttributeValue::Null) => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_str<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self {
            Ref::S(s) | Ref::N(s) => visitor.visit_borrowed_str(s),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self {
            Ref::S(s) => visitor.visit_borrowed_bytes(s.as_bytes()),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_seq<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self {
            // `Vec<u8>` asks for a sequence: the bytes of a `B`.
            Ref::B(b) => {
                visitor.visit_seq(serde::de::value::SeqDeserializer::new(b.iter().copied()))
            }
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_unit<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self {
            Ref::Value(AttributeValue::Null) => visitor.visit_unit(),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'x>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'x>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        match self {
            Ref::S(s) => visitor.visit_enum(IntoDeserializer::<Mismatch>::into_deserializer(s)),
            other => other.deserialize_any(visitor),
        }
    }

    numbers! {
        deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16, deserialize_i32 visit_i32 i32,
        deserialize_i64 visit_i64 i64, deserialize_i128 visit_i128 i128,
        deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16, deserialize_u32 visit_u32 u32,
        deserialize_u64 visit_u64 u64, deserialize_u128 visit_u128 u128,
        deserialize_f32 visit_f32 f32, deserialize_f64 visit_f64 f64,
    }

    serde::forward_to_deserialize_any! {
        <W: Visitor<'x>>
        bool char unit_struct tuple tuple_struct map struct identifier ignored_any
    }
}
