//! Amazon CloudWatch Logs subscription filters: log events, gzipped and base64-encoded.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::json::read::from_object;

/// What Lambda sends a function a CloudWatch Logs subscription filter names:
/// `{"awslogs":{"data":"…"}}`, the data gzipped and base64-encoded. [`decode`](Self::decode)
/// gives the log events. aws_lambda_events' `LogsEvent`.
#[derive(Debug, Default, Clone)]
pub struct CloudWatchLogsEvent<'a> {
    /// `awslogs.data`: base64 of gzip of the [`LogsData`] JSON.
    pub data: Cow<'a, str>,
}

/// The decoded payload: which log group and stream, and the log events.
#[derive(Debug, Default, Clone)]
pub struct LogsData<'a> {
    /// `messageType`: `DATA_MESSAGE`, or `CONTROL_MESSAGE` (sent once to check the
    /// destination; it has no log events).
    pub message_type: Cow<'a, str>,
    /// `owner`: the account of the log group.
    pub owner: Cow<'a, str>,
    /// `logGroup`.
    pub log_group: Cow<'a, str>,
    /// `logStream`.
    pub log_stream: Cow<'a, str>,
    /// `subscriptionFilters`: the filters that matched.
    pub subscription_filters: Vec<Cow<'a, str>>,
    /// `policyLevel`, for an account-level subscription.
    pub policy_level: Option<Cow<'a, str>>,
    /// `logEvents`.
    pub log_events: Vec<LogEntry<'a>>,
}

/// One log event.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LogEntry<'a> {
    /// `id`.
    pub id: Cow<'a, str>,
    /// `timestamp`, in milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// `message`.
    pub message: Cow<'a, str>,
}

#[derive(Default)]
struct AwsLogs<'a> {
    data: Cow<'a, str>,
}

from_object!(AwsLogs { "data" => data: text });
from_object!(CloudWatchLogsEvent { "awslogs" => data: aws_logs });
from_object!(LogsData {
    "messageType" => message_type: text,
    "owner" => owner: text,
    "logGroup" => log_group: text,
    "logStream" => log_stream: text,
    "subscriptionFilters" => subscription_filters: texts,
    "policyLevel" => policy_level: opt_text,
    "logEvents" => log_events,
});
from_object!(LogEntry {
    "id" => id: text,
    "timestamp" => timestamp,
    "message" => message: text,
});

fn aws_logs<'de, A: serde::de::MapAccess<'de>>(map: &mut A) -> Result<Cow<'de, str>, A::Error> {
    crate::json::read::value::<AwsLogs<'de>, A>(map).map(|l| l.data)
}

impl<'a> CloudWatchLogsEvent<'a> {
    /// Reads a CloudWatch Logs event (the data stays encoded until [`decode`](Self::decode)).
    pub fn from_slice(event: &'a [u8]) -> Result<CloudWatchLogsEvent<'a>> {
        super::read(event, "the event is not a CloudWatch Logs event")
    }

    /// The log events: the data decoded from base64, gunzipped, read as JSON (owned: decoding
    /// made new bytes). A payload that is not base64, not gzip, fails its checksum or is not
    /// the documented JSON is an error of type `Runtime.InvalidEvent` saying which.
    pub fn decode(&self) -> Result<LogsData<'static>> {
        let gzip = crate::text::base64_decode_exact(self.data.as_bytes())
            .ok_or_else(|| invalid("awslogs.data is not base64"))?;
        let json = gunzip(&gzip).map_err(invalid)?;
        let data: LogsData<'_> = serde_json::from_slice(&json).map_err(|e| {
            invalid(&format!(
                "the decoded log data is not the documented JSON: {e}"
            ))
        })?;
        Ok(data.into_owned())
    }
}

impl LogsData<'_> {
    /// A copy that borrows nothing.
    pub fn into_owned(self) -> LogsData<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        LogsData {
            message_type: own(self.message_type),
            owner: own(self.owner),
            log_group: own(self.log_group),
            log_stream: own(self.log_stream),
            subscription_filters: self.subscription_filters.into_iter().map(own).collect(),
            policy_level: self.policy_level.map(own),
            log_events: self
                .log_events
                .into_iter()
                .map(|e| LogEntry {
                    id: own(e.id),
                    timestamp: e.timestamp,
                    message: own(e.message),
                })
                .collect(),
        }
    }
}

#[cold]
fn invalid(message: &str) -> Error {
    Error::new(crate::json::INVALID_EVENT, message.to_owned())
}

/// The contents of one gzip member (RFC 1952): its header skipped, its deflate data inflated,
/// its CRC-32 and length checked.
fn gunzip(data: &[u8]) -> Result<Vec<u8>, &'static str> {
    const NOT_GZIP: &str = "awslogs.data is not gzip";
    let [0x1f, 0x8b, 8, flags, _, _, _, _, _, _, rest @ ..] = data else {
        return Err(NOT_GZIP);
    };
    let mut rest = rest;
    let skip = |rest: &mut &[u8], n: usize| -> Result<(), &'static str> {
        *rest = rest.get(n..).ok_or(NOT_GZIP)?;
        Ok(())
    };
    if flags & 4 != 0 {
        // FEXTRA: a two-byte length, then that many bytes.
        let [lo, hi, ..] = *rest else {
            return Err(NOT_GZIP);
        };
        skip(&mut rest, 2 + usize::from(u16::from_le_bytes([lo, hi])))?;
    }
    for flag in [8, 16] {
        // FNAME, FCOMMENT: zero-terminated.
        if flags & flag != 0 {
            let end = rest.iter().position(|&b| b == 0).ok_or(NOT_GZIP)?;
            skip(&mut rest, end + 1)?;
        }
    }
    if flags & 2 != 0 {
        skip(&mut rest, 2)?; // FHCRC
    }
    let Some((deflated, trailer)) = rest.split_last_chunk::<8>() else {
        return Err(NOT_GZIP);
    };
    let out = miniz_oxide::inflate::decompress_to_vec(deflated)
        .map_err(|_| "awslogs.data's deflate stream is corrupt")?;
    let [c0, c1, c2, c3, l0, l1, l2, l3] = *trailer;
    if crc32(&out) != u32::from_le_bytes([c0, c1, c2, c3])
        || out.len() as u32 != u32::from_le_bytes([l0, l1, l2, l3])
    {
        return Err("awslogs.data fails its gzip checksum");
    }
    Ok(out)
}

/// CRC-32 (IEEE), as gzip's trailer has it.
fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !data.iter().fold(!0u32, |c, &b| {
        TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_of_known_strings() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn corrupt_payloads_say_what_is_wrong() {
        for (data, says) in [
            ("!!!", "not base64"),
            ("aGVsbG8=", "not gzip"),
            // A gzip header, then garbage for deflate data.
            ("H4sIAAAAAAAAA////////////w==", "corrupt"),
        ] {
            let event = CloudWatchLogsEvent { data: data.into() };
            let err = event.decode().unwrap_err();
            assert_eq!(err.error_type(), crate::json::INVALID_EVENT);
            assert!(err.message().contains(says), "{data}: {}", err.message());
        }
    }
}
