//! Text writers and readers without `core::fmt`: decimal and hexadecimal numbers, JSON string
//! literals, base64. Every request head, error body and log line is built from these, so none
//! of them pulls the formatting machinery into a bootstrap.

/// Appends `n` in decimal.
pub(crate) fn push_decimal(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    out.extend_from_slice(decimal(&mut digits, n));
}

/// Writes `n` in decimal at the end of `digits`; returns the written part.
pub(crate) fn decimal(digits: &mut [u8; 20], mut n: u64) -> &[u8] {
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[i..]
}

/// Writes `n` in lowercase hexadecimal at the end of `digits`; returns the written part.
pub(crate) fn hex(digits: &mut [u8; 16], mut n: u64) -> &[u8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = HEX[(n & 15) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    &digits[i..]
}

/// The (year, month, day) of a day number since 1970-01-01, by Howard Hinnant's algorithm
/// (so no time crate is needed).
pub(crate) fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + u64::from(month <= 2), month, day)
}

/// Parses a plain decimal number; `None` on anything else (sign, spaces, overflow, empty).
pub(crate) fn parse_decimal(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 20 {
        return None;
    }
    v.iter().try_fold(0u64, |n, &b| {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// Appends `s` as a JSON string literal: quotes, backslashes and every control character
/// escaped; everything else (non-ASCII included) as UTF-8.
pub(crate) fn push_json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..0x20 | 0x7f => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// Appends the standard base64 (RFC 4648, with padding) of `data`.
pub(crate) fn push_base64(out: &mut Vec<u8>, data: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.reserve(data.len().div_ceil(3) * 4);
    for group in data.chunks(3) {
        let b = [
            group[0],
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        let chars = [18, 12, 6, 0].map(|shift| ALPHABET[(n >> shift & 63) as usize]);
        let keep = group.len() + 1;
        out.extend_from_slice(&chars[..keep]);
        out.extend_from_slice(&b"=="[..4 - keep]);
    }
}

/// The bytes of standard or URL-safe base64 `text` (padding optional; whitespace and any other
/// character skipped), as HTTP integrations send a binary body.
#[cfg(any(feature = "http", feature = "testkit"))]
pub(crate) fn base64_decode(text: &[u8]) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    let (mut acc, mut bits) = (0u32, 0u32);
    for sextet in text.iter().filter_map(|&c| value(c)) {
        acc = acc << 6 | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The bytes of standard base64 `text` (RFC 4648, padding optional), as AWS encodes record
/// data; `None` if any other character is in it or it ends mid-byte. Four characters at a
/// time through a table: record data is most of a stream event's bytes.
#[cfg(feature = "events")]
pub(crate) fn base64_decode_exact(text: &[u8]) -> Option<Vec<u8>> {
    /// Each character's six bits; 0xff for a character that is not in the alphabet.
    const SEXTETS: [u8; 256] = {
        let mut table = [0xffu8; 256];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut i = 0;
        while i < 64 {
            table[alphabet[i] as usize] = i as u8;
            i += 1;
        }
        table
    };
    let text = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    let mut quads = text.chunks_exact(4);
    for quad in &mut quads {
        let [a, b, c, d] = [quad[0], quad[1], quad[2], quad[3]].map(|q| SEXTETS[usize::from(q)]);
        if (a | b | c | d) & 0xc0 != 0 {
            return None;
        }
        let n = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        out.extend_from_slice(&n.to_be_bytes()[1..]);
    }
    let rest = quads.remainder();
    let mut last = [0u8; 3];
    for (sextet, &q) in last.iter_mut().zip(rest) {
        *sextet = SEXTETS[usize::from(q)];
        if *sextet & 0xc0 != 0 {
            return None;
        }
    }
    let [a, b, c] = last;
    match rest.len() {
        0 => {}
        2 => out.push(a << 2 | b >> 4),
        3 => out.extend_from_slice(&[a << 2 | b >> 4, b << 4 | c >> 2]),
        _ => return None,
    }
    Some(out)
}

/// `text` with its `%XX` escapes decoded (and `+` as a space when `plus_is_space`, as query
/// strings and S3 keys in notifications have it); borrowed when nothing needed decoding, left
/// as it was where decoding would not give UTF-8.
#[cfg(any(feature = "http", feature = "events"))]
pub(crate) fn percent_decode(
    text: std::borrow::Cow<'_, str>,
    plus_is_space: bool,
) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    if !text
        .bytes()
        .any(|b| b == b'%' || (plus_is_space && b == b'+'))
    {
        return text;
    }
    match String::from_utf8(percent_decode_bytes(text.as_bytes(), plus_is_space)) {
        Ok(decoded) => Cow::Owned(decoded),
        Err(_) => text,
    }
}

/// `bytes` with their `%XX` escapes decoded (and `+` as a space when `plus_is_space`); a `%`
/// not followed by two hex digits is kept as it is.
#[cfg(any(feature = "http", feature = "events"))]
pub(crate) fn percent_decode_bytes(bytes: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' => match (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        for (n, s) in [
            (0u64, "0"),
            (7, "7"),
            (10, "10"),
            (6291556, "6291556"),
            (u64::MAX, "18446744073709551615"),
        ] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, s.as_bytes());
            assert_eq!(parse_decimal(s.as_bytes()), Some(n));
        }
        for bad in ["", "+1", " 1", "1a", "99999999999999999999"] {
            assert_eq!(parse_decimal(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn hexadecimals() {
        for (n, s) in [(0u64, "0"), (10, "a"), (255, "ff"), (65536, "10000")] {
            assert_eq!(hex(&mut [0; 16], n), s.as_bytes());
        }
        assert_eq!(hex(&mut [0; 16], u64::MAX), b"ffffffffffffffff");
    }

    #[test]
    fn json_strings_are_escaped() {
        let cases: &[(&str, &str)] = &[
            ("plain", r#""plain""#),
            ("say \"hi\"", r#""say \"hi\"""#),
            ("a\\b", r#""a\\b""#),
            ("l1\nl2\r\t", r#""l1\nl2\r\t""#),
            ("\0\x01\x1f\x7f", r#""\u0000\u0001\u001f\u007f""#),
            ("héllo ✓ 😀", r#""héllo ✓ 😀""#),
        ];
        for (s, want) in cases {
            let mut out = Vec::new();
            push_json_string(&mut out, s);
            assert_eq!(std::str::from_utf8(&out).unwrap(), *want);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, *s);
        }
    }

    #[test]
    #[cfg(feature = "events")]
    fn exact_base64_decodes_what_it_encodes_and_nothing_else() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let mut encoded = Vec::new();
            push_base64(&mut encoded, &data);
            assert_eq!(
                base64_decode_exact(&encoded).as_deref(),
                Some(&data[..]),
                "{len}"
            );
            let unpadded: Vec<u8> = encoded.iter().copied().filter(|&c| c != b'=').collect();
            assert_eq!(
                base64_decode_exact(&unpadded).as_deref(),
                Some(&data[..]),
                "{len}"
            );
        }
        for bad in [
            &b"A"[..],
            b"AAAAA",
            b"AA AA",
            b"AA-_",
            b"AAA\n",
            b"====",
            b"A=AA",
        ] {
            assert_eq!(
                base64_decode_exact(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    #[cfg(feature = "http")]
    fn base64_decodes_what_it_encodes() {
        for data in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            b"fooba",
            b"foobar",
            &[0, 0xff, 0xfe, 0x80],
        ] {
            let mut encoded = Vec::new();
            push_base64(&mut encoded, data);
            assert_eq!(base64_decode(&encoded), data);
        }
        assert_eq!(
            base64_decode(b"Zm9v\nYmFy"),
            b"foobar",
            "line breaks are skipped"
        );
        assert_eq!(base64_decode(b"-_8"), [0xfb, 0xff], "the URL-safe alphabet");
    }

    #[test]
    fn base64_matches_rfc_4648() {
        // The test vectors of RFC 4648 §10.
        for (data, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut out = Vec::new();
            push_base64(&mut out, data.as_bytes());
            assert_eq!(out, want.as_bytes(), "{data}");
        }
        let mut out = Vec::new();
        push_base64(&mut out, &[0xff, 0xfe, 0x00, 0x3e, 0x3f]);
        assert_eq!(out, b"//4APj8=");
    }
}
