//! The events HTTP integrations send, as serde reads them (borrowed where JSON allows), and
//! which integration sent one.

use super::Source;
use crate::json::read::List;
use crate::json::read::from_object;
pub(super) use crate::json::read::{Pairs, Text};

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
