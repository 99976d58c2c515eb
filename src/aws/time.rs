//! UTC timestamps as AWS writes them: `20150830T123600Z` to sign, RFC 3339 in credentials
//! documents, the HTTP `Date` header (for the clock-skew correction); no time crate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Whole seconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Timestamp(pub(crate) u64);

impl Timestamp {
    /// Now, by the system clock (before 1970 reads as 1970).
    pub(crate) fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    /// `YYYYMMDDTHHMMSSZ`.
    pub(crate) fn amz_date(self) -> String {
        let (y, m, d) = crate::text::civil_from_days(self.0 / 86_400);
        let s = self.0 % 86_400;
        format!(
            "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
            s / 3600,
            s / 60 % 60,
            s % 60
        )
    }

    /// `YYYYMMDD`.
    pub(crate) fn date(self) -> String {
        let (y, m, d) = crate::text::civil_from_days(self.0 / 86_400);
        format!("{y:04}{m:02}{d:02}")
    }

    /// RFC 3339 as AWS writes it (`2015-08-30T12:36:00Z`, fractions and offsets allowed).
    pub(crate) fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't' | b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u64>().ok();
        let days = days_from_civil(num(0..4)?, num(5..7)?, num(8..10)?)?;
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if h > 23 || mi > 59 || se > 60 {
            return None;
        }
        let mut rest = &s[19..];
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            rest = &fraction[digits..];
        }
        let mut t = days * 86_400 + h * 3600 + mi * 60 + se;
        match rest.as_bytes() {
            [b'Z' | b'z'] => {}
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let offset = num_of(&[*h1, *h2])? * 3600 + num_of(&[*m1, *m2])? * 60;
                t = if *sign == b'+' {
                    t.checked_sub(offset)?
                } else {
                    t + offset
                };
            }
            _ => return None,
        }
        Some(Timestamp(t))
    }

    /// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110's preferred form).
    pub(crate) fn parse_http_date(s: &str) -> Option<Timestamp> {
        let mut parts = s.split_ascii_whitespace().skip(1);
        let day: u64 = parts.next()?.parse().ok()?;
        let month = parts.next()?;
        let year: u64 = parts.next()?.parse().ok()?;
        let time = parts.next()?;
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let month = MONTHS.iter().position(|m| *m == month)? as u64 + 1;
        let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
        let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
        if h > 23 || m > 59 || sec > 60 || parts.next()? != "GMT" {
            return None;
        }
        Some(Timestamp(
            days_from_civil(year, month, day)? * 86_400 + h * 3600 + m * 60 + sec,
        ))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Timestamp {
        Timestamp(
            t.duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .as_secs(),
        )
    }
}

fn num_of(digits: &[u8]) -> Option<u64> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The day number since 1970-01-01 of a date from 1970 on; `None` for an impossible date.
fn days_from_civil(y: u64, m: u64, d: u64) -> Option<u64> {
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn formats_and_parses_the_forms_aws_uses() {
        let t = Timestamp::parse_rfc3339("2015-08-30T12:36:00Z").unwrap_or(Timestamp(0));
        assert_eq!(t, Timestamp(1_440_938_160));
        assert_eq!(t.amz_date(), "20150830T123600Z");
        assert_eq!(t.date(), "20150830");
        assert_eq!(
            Timestamp::parse_rfc3339("2015-08-30T14:36:00.123+02:00"),
            Some(t)
        );
        assert_eq!(
            Timestamp::parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"),
            Some(t)
        );
        assert_eq!(Timestamp(951_782_400).amz_date(), "20000229T000000Z");
        assert_eq!(
            Timestamp::parse_rfc3339("2000-02-29T00:00:00Z"),
            Some(Timestamp(951_782_400))
        );
        assert_eq!(Timestamp(0).amz_date(), "19700101T000000Z");
        for bad in [
            "",
            "2015-08-30",
            "2015-13-30T12:36:00Z",
            "2015-08-30T12:36:00",
            "2015-08-30T25:36:00Z",
            "x015-08-30T12:36:00Z",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
        assert_eq!(
            Timestamp::parse_http_date("Sun, 30 Foo 2015 12:36:00 GMT"),
            None
        );
    }
}
