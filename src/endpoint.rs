//! Where the Runtime API listens: `AWS_LAMBDA_RUNTIME_API` parsed once (`host:port` as Lambda
//! sets it, `http://host:port/base` as local emulators hand it out), and connecting to it.
//!
//! In scope: the address, the `Host` header value, the base path. Out of scope: what is sent
//! there (`proto/`) and the connection's life (`conn.rs`). IPv4 and bracketed IPv6 addresses
//! are parsed by hand and `localhost` is mapped without a resolver; other host names need the
//! `dns` feature.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, TcpStream};

use crate::text;

/// Where the Runtime API listens, parsed once from `AWS_LAMBDA_RUNTIME_API`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    addr: Addr,
    /// `host[:port]` as given, for the `Host` header.
    pub(crate) host: Box<str>,
    /// Path prefix before `/2018-06-01/...`, without a trailing slash (often empty).
    pub(crate) base_path: Box<str>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Addr {
    Ip(SocketAddr),
    #[cfg(feature = "dns")]
    Name(Box<str>, u16),
}

impl Endpoint {
    /// Accepts `host:port` (what Lambda sets) and `http://host:port/base` (what local
    /// emulators hand out). IPv4 and bracketed IPv6 addresses, and `localhost`, need no name
    /// resolution; other host names need the `dns` feature.
    pub(crate) fn parse(value: &str) -> Result<Endpoint, &'static str> {
        let rest = match value.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("http://") => &value[7..],
            _ if value.as_bytes().windows(3).any(|w| w == b"://") => {
                return Err("only http:// is supported");
            }
            _ => value,
        };
        // Byte searches rather than str patterns: each `str` pattern type adds a searcher to
        // every bootstrap.
        let (authority, path) =
            rest.split_at(rest.bytes().position(|b| b == b'/').unwrap_or(rest.len()));
        let base_path = &path[..path.len() - path.bytes().rev().take_while(|&b| b == b'/').count()];
        if authority.is_empty() {
            return Err("no host");
        }
        if base_path
            .bytes()
            .any(|b| b <= b' ' || b == b'?' || b == b'#' || b >= 0x7f)
        {
            return Err("the base path has spaces, control bytes, '?' or '#'");
        }
        let colon = authority
            .bytes()
            .rposition(|b| b == b':')
            .ok_or("no port")?;
        let (host, port) = (&authority[..colon], &authority[colon + 1..]);
        let port = text::parse_decimal(port.as_bytes())
            .and_then(|p| u16::try_from(p).ok())
            .ok_or("the port is not a number from 0 to 65535")?;
        let ipv6 = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        let addr = match (parse_ipv4(host), ipv6) {
            (Some(ip), _) => Addr::Ip(SocketAddr::V4(SocketAddrV4::new(ip, port))),
            (None, Some(v6)) => Addr::Ip(SocketAddr::V6(SocketAddrV6::new(
                parse_ipv6(v6).ok_or("malformed IPv6 address")?,
                port,
                0,
                0,
            ))),
            _ if host.eq_ignore_ascii_case("localhost") => {
                Addr::Ip(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)))
            }
            _ => name_addr(host, port)?,
        };
        Ok(Endpoint {
            addr,
            host: authority.into(),
            base_path: base_path.into(),
        })
    }

    /// A new connection, with `TCP_NODELAY` (every request and every streamed chunk is one
    /// write that must not wait for a delayed ACK).
    pub(crate) fn connect(&self) -> io::Result<TcpStream> {
        let stream = match &self.addr {
            Addr::Ip(ip) => TcpStream::connect(ip)?,
            #[cfg(feature = "dns")]
            Addr::Name(host, port) => TcpStream::connect((&**host, *port))?,
        };
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

impl Endpoint {
    /// The same endpoint with its host name (if any) resolved now, on the calling thread, so
    /// a thread that reconnects later never resolves (the resolver reads the environment).
    pub(crate) fn resolved(&self) -> io::Result<Endpoint> {
        match &self.addr {
            Addr::Ip(_) => Ok(self.clone()),
            #[cfg(feature = "dns")]
            Addr::Name(host, port) => {
                let ip = std::net::ToSocketAddrs::to_socket_addrs(&(&**host, *port))?
                    .next()
                    .ok_or_else(|| io::Error::other("the host name has no address"))?;
                Ok(Endpoint {
                    addr: Addr::Ip(ip),
                    ..self.clone()
                })
            }
        }
    }
}

/// `a.b.c.d` → the address; four decimal octets, nothing else. (Hand-written: std's address
/// parser, with its IPv6 half, costs ~2.5 KB in every bootstrap.)
fn parse_ipv4(host: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = host.as_bytes().split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.len() > 3 {
            return None;
        }
        *octet = u8::try_from(text::parse_decimal(part)?).ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

/// `::1`, `::`, `fe80::1:2`, `2001:db8:0:0:0:0:0:1`: eight hex groups, or fewer around one
/// `::`. (Hand-written, like [`parse_ipv4`]; embedded IPv4 forms are not accepted.)
/// cargo-lambda hands out `http://[::]:9000/.rt/…`, so this is needed without the `dns` feature.
fn parse_ipv6(host: &str) -> Option<Ipv6Addr> {
    fn groups(part: &[u8], out: &mut [u16; 8], n: &mut usize) -> Option<()> {
        if part.is_empty() {
            return Some(());
        }
        for group in part.split(|&b| b == b':') {
            if group.is_empty() || group.len() > 4 || *n == 8 {
                return None;
            }
            out[*n] = group.iter().try_fold(0u16, |v, &b| {
                Some(v << 4 | (b as char).to_digit(16)? as u16)
            })?;
            *n += 1;
        }
        Some(())
    }
    let bytes = host.as_bytes();
    let (mut head, mut tail) = ([0u16; 8], [0u16; 8]);
    let (mut nh, mut nt) = (0, 0);
    match bytes.windows(2).position(|w| w == b"::") {
        Some(i) => {
            groups(&bytes[..i], &mut head, &mut nh)?;
            groups(&bytes[i + 2..], &mut tail, &mut nt)?;
            if nh + nt > 7 {
                return None;
            }
        }
        None => {
            groups(bytes, &mut head, &mut nh)?;
            if nh != 8 {
                return None;
            }
        }
    }
    head[8 - nt..].copy_from_slice(&tail[..nt]);
    Some(Ipv6Addr::from(head))
}

#[cfg(feature = "dns")]
fn name_addr(host: &str, port: u16) -> Result<Addr, &'static str> {
    let name_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
    if host.is_empty() || !host.bytes().all(name_byte) {
        return Err("the host is neither an IP address nor a host name");
    }
    Ok(Addr::Name(host.into(), port))
}

#[cfg(not(feature = "dns"))]
fn name_addr(_host: &str, _port: u16) -> Result<Addr, &'static str> {
    Err("host names other than localhost need lambda-lite's `dns` feature; use an IP address")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_forms() {
        let e = Endpoint::parse("127.0.0.1:9001").unwrap();
        assert_eq!(e.addr, Addr::Ip("127.0.0.1:9001".parse().unwrap()));
        assert_eq!((&*e.host, &*e.base_path), ("127.0.0.1:9001", ""));
        let e = Endpoint::parse("http://127.0.0.1:9000/.rt").unwrap();
        assert_eq!((&*e.host, &*e.base_path), ("127.0.0.1:9000", "/.rt"));
        let e = Endpoint::parse("HTTP://10.0.0.255:65535/a/b/").unwrap();
        assert_eq!(e.addr, Addr::Ip("10.0.0.255:65535".parse().unwrap()));
        assert_eq!(&*e.base_path, "/a/b");
        let e = Endpoint::parse("localhost:9001").unwrap();
        assert_eq!(e.addr, Addr::Ip("127.0.0.1:9001".parse().unwrap()));
        assert_eq!(&*e.host, "localhost:9001");
    }

    #[test]
    fn endpoint_rejects_malformed() {
        for bad in [
            "",
            "127.0.0.1",
            "https://127.0.0.1:9001",
            "127.0.0.1:x",
            "127.0.0.1:65536",
            "127.0.0.1:-1",
            "http:///p",
            "1.2.3.4:5/a b",
            ":9001",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn ipv4_is_parsed_strictly() {
        assert_eq!(parse_ipv4("127.0.0.1"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(parse_ipv4("255.255.255.255"), Some(Ipv4Addr::BROADCAST));
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4.5",
            "256.0.0.1",
            "1..2.3",
            "+1.2.3.4",
            "1.2.3.4 ",
            "0001.2.3.4",
            "a.b.c.d",
        ] {
            assert_eq!(parse_ipv4(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ipv6_is_parsed_like_std_does() {
        for good in [
            "::",
            "::1",
            "1::",
            "fe80::1:2",
            "2001:db8:0:0:0:0:0:1",
            "2001:DB8::8:800:200C:417A",
            "1:2:3:4:5:6::8",
            "1::3:4:5:6:7:8",
        ] {
            assert_eq!(parse_ipv6(good), good.parse().ok(), "{good}");
        }
        for bad in [
            "",
            ":",
            ":::",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9",
            "1::2::3",
            "12345::",
            "g::",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:7:8::",
        ] {
            assert_eq!(parse_ipv6(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cargo_lambda_address_is_accepted() {
        let e = Endpoint::parse("http://[::]:9000/.rt/_").unwrap();
        assert_eq!(e.addr, Addr::Ip("[::]:9000".parse().unwrap()));
        assert_eq!((&*e.host, &*e.base_path), ("[::]:9000", "/.rt/_"));
    }

    #[cfg(not(feature = "dns"))]
    #[test]
    fn host_names_need_the_dns_feature() {
        let err = Endpoint::parse("runtime.internal:9001").unwrap_err();
        assert!(err.contains("dns"), "{err}");
    }

    #[cfg(feature = "dns")]
    #[test]
    fn dns_feature_accepts_host_names() {
        assert!(Endpoint::parse("runtime.internal:9001").is_ok());
    }
}
