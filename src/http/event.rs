//! The events HTTP integrations send, as serde reads them (borrowed where JSON allows), and
//! which integration sent one.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::Source;

/// Every field any of the four shapes has; which are present tells the source.
#[derive(Default)]
pub(super) struct Event<'a> {
    pub(super) version: Option<Text<'a>>,
    pub(super) raw_path: Option<Text<'a>>,
    pub(super) raw_query_string: Option<Text<'a>>,
    pub(super) cookies: Option<List<'a>>,
    pub(super) headers: Option<Pairs<'a>>,
    pub(super) multi_value_headers: Option<Pairs<'a>>,
    pub(super) query_string_parameters: Option<Pairs<'a>>,
    pub(super) multi_value_query_string_parameters: Option<Pairs<'a>>,
    pub(super) path_parameters: Option<Pairs<'a>>,
    pub(super) stage_variables: Option<Pairs<'a>>,
    pub(super) http_method: Option<Text<'a>>,
    pub(super) path: Option<Text<'a>>,
    pub(super) body: Option<Text<'a>>,
    pub(super) is_base64_encoded: bool,
    pub(super) request_context: Option<RawContext<'a>>,
}

#[derive(Default)]
pub(super) struct RawContext<'a> {
    pub(super) request_id: Option<Text<'a>>,
    pub(super) domain_name: Option<Text<'a>>,
    pub(super) stage: Option<Text<'a>>,
    /// Payload 2.0's `http`, or payload 1.0's `identity` (the same two fields are read).
    pub(super) http: Option<RawHttp<'a>>,
    pub(super) identity: Option<RawHttp<'a>>,
    /// An Application Load Balancer's `elb`.
    pub(super) elb: bool,
    pub(super) authorizer: Option<serde_json::Value>,
}

#[derive(Default)]
pub(super) struct RawHttp<'a> {
    pub(super) method: Option<Text<'a>>,
    pub(super) source_ip: Option<Text<'a>>,
    pub(super) user_agent: Option<Text<'a>>,
}

/// `impl Deserialize` for a struct read from a JSON object: each listed key into its field
/// (the others skipped), written out here rather than derived, so the library needs no
/// proc-macro dependency.
macro_rules! from_object {
    ($ty:ident { $($key:literal => $field:ident),* $(,)? } $(, flag $flag_key:literal => $flag:ident)?) => {
        impl<'de: 'a, 'a> Deserialize<'de> for $ty<'a> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty<'de>;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$ty<'de>, A::Error> {
                        let mut out = $ty::default();
                        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                            match &*key {
                                $($key => out.$field = map.next_value()?,)*
                                $($flag_key => {
                                    map.next_value::<IgnoredAny>()?;
                                    out.$flag = true;
                                })?
                                _ => {
                                    map.next_value::<IgnoredAny>()?;
                                }
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

from_object!(Event {
    "version" => version,
    "rawPath" => raw_path,
    "rawQueryString" => raw_query_string,
    "cookies" => cookies,
    "headers" => headers,
    "multiValueHeaders" => multi_value_headers,
    "queryStringParameters" => query_string_parameters,
    "multiValueQueryStringParameters" => multi_value_query_string_parameters,
    "pathParameters" => path_parameters,
    "stageVariables" => stage_variables,
    "httpMethod" => http_method,
    "path" => path,
    "body" => body,
    "isBase64Encoded" => is_base64_encoded,
    "requestContext" => request_context,
});
from_object!(RawContext {
    "requestId" => request_id,
    "domainName" => domain_name,
    "stage" => stage,
    "http" => http,
    "identity" => identity,
    "authorizer" => authorizer,
}, flag "elb" => elb);
from_object!(RawHttp {
    "method" => method,
    "sourceIp" => source_ip,
    "userAgent" => user_agent,
});

impl Event<'_> {
    /// Which integration sent this event, or what was seen instead.
    pub(super) fn source(&self) -> Option<Source> {
        let ctx = self.request_context.as_ref();
        if ctx.is_some_and(|c| c.elb) {
            return Some(Source::Alb {
                multi_value: self.multi_value_headers.is_some(),
            });
        }
        if self.version.as_ref().is_some_and(|v| v.0 == "2.0")
            || ctx.is_some_and(|c| c.http.is_some())
        {
            let url = ctx
                .and_then(|c| c.domain_name.as_ref())
                .is_some_and(|d| d.0.contains(".lambda-url."));
            return Some(if url {
                Source::FunctionUrl
            } else {
                Source::HttpApi
            });
        }
        if self.http_method.is_some() && ctx.is_some() {
            return Some(Source::RestApi);
        }
        None
    }
}

/// A JSON object of strings (or of arrays of strings, for the multi-value maps) as name/value
/// pairs, each value its own pair, in order; `null` values are left out.
#[derive(Default, Debug)]
pub(super) struct Pairs<'a>(pub(super) Vec<(Cow<'a, str>, Cow<'a, str>)>);

/// A JSON array of strings.
#[derive(Default, Debug)]
pub(super) struct List<'a>(pub(super) Vec<Cow<'a, str>>);

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

/// A string, borrowed from the event when it holds no escape, owned when one forced it.
#[derive(Debug, Clone)]
pub(super) struct Text<'a>(pub(super) Cow<'a, str>);

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
