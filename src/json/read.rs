//! Reading events that borrow from the event buffer, without serde's derive (so the library
//! needs no proc-macro dependency): [`Text`] (a string borrowed when it holds no escape),
//! [`Pairs`] and [`List`] (objects and arrays of strings), [`Map`] (an object of values read
//! in order), and `from_object!`, which writes `Deserialize` for a struct read from a JSON
//! object. Every reader takes `null` for "absent" and ignores keys it does not know, so a field
//! AWS omits, nulls or adds never rejects a valid event.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// `impl Deserialize` for a struct (with one lifetime, and `Default`) read from a JSON object:
/// each listed key into its field, read by `read::value` (any `Deserialize + Default`, `null`
/// giving the default) or by the reader named after a colon (`text`, `opt_text`, `texts`);
/// other keys skipped. `flag "key" => field` sets a `bool` when the key is present at all.
macro_rules! from_object {
    ($ty:ident { $($key:literal => $field:ident $(: $read:ident)?),* $(,)? } $(, flag $flag_key:literal => $flag:ident)?) => {
        impl<'de: 'a, 'a> ::serde::Deserialize<'de> for $ty<'a> {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> ::serde::de::Visitor<'de> for V {
                    type Value = $ty<'de>;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("an object (", stringify!($ty), ")"))
                    }
                    fn visit_map<A: ::serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$ty<'de>, A::Error> {
                        #[allow(unused_imports)]
                        use $crate::json::read::{value, text, opt_text, texts};
                        let mut out = $ty::default();
                        while let Some($crate::json::read::Text(key)) = map.next_key::<$crate::json::read::Text<'de>>()? {
                            match &*key {
                                $($key => out.$field = $crate::json::read::from_object!(@read $($read)?)(&mut map)?,)*
                                $($flag_key => {
                                    map.next_value::<::serde::de::IgnoredAny>()?;
                                    out.$flag = true;
                                })?
                                _ => {
                                    map.next_value::<::serde::de::IgnoredAny>()?;
                                }
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(V)
            }
        }
        #[cfg(feature = "events")]
        impl<'de> $crate::json::read::MapValue<'de> for $ty<'de> {
            fn read<A: ::serde::de::MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
                $crate::json::read::value(map)
            }
        }
    };
    (@read) => { value };
    (@read $read:ident) => { $read };
}
pub(crate) use from_object;

/// The next value as `T`; `null` is `T::default()`.
pub(crate) fn value<'de, T: Deserialize<'de> + Default, A: MapAccess<'de>>(
    map: &mut A,
) -> Result<T, A::Error> {
    Ok(map.next_value::<Option<T>>()?.unwrap_or_default())
}

/// The next value as a string, borrowed when it can be; `null` is empty.
#[cfg_attr(not(feature = "events"), allow(dead_code))]
pub(crate) fn text<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Cow<'de, str>, A::Error> {
    Ok(opt_text(map)?.unwrap_or_default())
}

/// The next value as a string, borrowed when it can be; `None` for `null`.
#[cfg_attr(not(feature = "events"), allow(dead_code))]
pub(crate) fn opt_text<'de, A: MapAccess<'de>>(
    map: &mut A,
) -> Result<Option<Cow<'de, str>>, A::Error> {
    Ok(map.next_value::<Option<Text<'de>>>()?.map(|t| t.0))
}

/// The next value as strings (an array, or one string); `null` is none.
#[cfg_attr(not(feature = "events"), allow(dead_code))]
pub(crate) fn texts<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Vec<Cow<'de, str>>, A::Error> {
    Ok(map.next_value::<List<'de>>()?.0)
}

/// A string, borrowed from the event when it holds no escape, owned when one forced it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A JSON object of strings (or of arrays of strings, for the multi-value maps) as name/value
/// pairs, each value its own pair, in order; `null` values are left out.
#[cfg(feature = "http")]
#[derive(Default, Debug)]
pub(crate) struct Pairs<'a>(pub(crate) Vec<(Cow<'a, str>, Cow<'a, str>)>);

/// A JSON array of strings (one string reads as an array of one; `null` as none).
#[derive(Default, Debug)]
pub(crate) struct List<'a>(pub(crate) Vec<Cow<'a, str>>);

/// One value of a map: a string, an array of strings, or null.
enum Values<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
    None,
}

impl<'de: 'a, 'a> Deserialize<'de> for Values<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Values<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, an array of strings or null")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Values<'de>, E> {
                Ok(Values::One(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Values<'de>, E> {
                Ok(Values::One(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Values<'de>, E> {
                Ok(Values::One(Cow::Owned(v)))
            }
            fn visit_unit<E>(self) -> Result<Values<'de>, E> {
                Ok(Values::None)
            }
            fn visit_none<E>(self) -> Result<Values<'de>, E> {
                Ok(Values::None)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Values<'de>, A::Error> {
                let mut all = Vec::new();
                while let Some(Text(v)) = seq.next_element()? {
                    all.push(v);
                }
                Ok(Values::Many(all))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(feature = "http")]
impl<'de: 'a, 'a> Deserialize<'de> for Pairs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs<'de>, A::Error> {
                let mut pairs = Vec::new();
                while let Some((Text(name), values)) = map.next_entry::<Text<'de>, Values<'de>>()? {
                    match values {
                        Values::One(v) => pairs.push((name, v)),
                        Values::Many(all) => {
                            pairs.extend(all.into_iter().map(|v| (name.clone(), v)))
                        }
                        Values::None => {}
                    }
                }
                Ok(Pairs(pairs))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for List<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Values::deserialize(d)? {
            Values::Many(all) => Ok(List(all)),
            Values::One(one) => Ok(List(vec![one])),
            Values::None => Ok(List(Vec::new())),
        }
    }
}

/// A JSON object read in order into name/value pairs, names borrowed where they can be:
/// message attributes, item images, Kafka's records by partition.
#[cfg(feature = "events")]
#[derive(Debug, Clone, PartialEq)]
pub struct Map<'a, V>(pub(crate) Vec<(Cow<'a, str>, V)>);

#[cfg(feature = "events")]
impl<V> Default for Map<'_, V> {
    fn default() -> Self {
        Map(Vec::new())
    }
}

#[cfg(feature = "events")]
impl<'a, V> Map<'a, V> {
    /// The value of `name` (the first, if the object repeated it).
    pub fn get(&self, name: &str) -> Option<&V> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Every name and value, in the order the event has them.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.0.iter().map(|(n, v)| (&**n, v))
    }

    /// How many names the object has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the object is empty (or was absent or `null`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs themselves.
    pub fn into_vec(self) -> Vec<(Cow<'a, str>, V)> {
        self.0
    }
}

#[cfg(feature = "events")]
impl<'a, V> FromIterator<(Cow<'a, str>, V)> for Map<'a, V> {
    fn from_iter<I: IntoIterator<Item = (Cow<'a, str>, V)>>(iter: I) -> Self {
        Map(iter.into_iter().collect())
    }
}

/// How a map's values are read: strings borrowed like [`Text`], everything else by its own
/// `Deserialize`.
#[cfg(feature = "events")]
pub(crate) trait MapValue<'de>: Sized {
    fn read<A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error>;
}

#[cfg(feature = "events")]
impl<'de> MapValue<'de> for Cow<'de, str> {
    fn read<A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        text(map)
    }
}

#[cfg(feature = "events")]
impl<'de, V: MapValue<'de>> Deserialize<'de> for Map<'de, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Of<V>(std::marker::PhantomData<V>);
        impl<'de, V: MapValue<'de>> Visitor<'de> for Of<V> {
            type Value = Map<'de, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Map<'de, V>, A::Error> {
                let mut pairs = Vec::new();
                while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
                    pairs.push((name, V::read(&mut map)?));
                }
                Ok(Map(pairs))
            }
            fn visit_unit<E>(self) -> Result<Map<'de, V>, E> {
                Ok(Map::default())
            }
        }
        d.deserialize_map(Of(std::marker::PhantomData))
    }
}
