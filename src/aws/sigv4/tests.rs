//! The AWS SigV4 test suite as published with smithy-rs' `aws-sigv4` crate (its
//! `aws-signing-test-suite/v4`, taken from aws-c-auth), every case in both signature
//! locations; then random requests signed by this module and by `aws-sigv4` itself.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly

use std::path::PathBuf;

use super::super::credentials::Credentials;
use super::super::time::Timestamp;
use super::*;

/// The SHA-256 of an empty payload, in lowercase hex.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The suite's folder inside the `aws-sigv4` crate that cargo downloaded as a dev-dependency.
fn suite() -> PathBuf {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("cargo metadata");
    assert!(out.status.success(), "cargo metadata failed");
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let manifest = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "aws-sigv4")
        .expect("aws-sigv4 is a dev-dependency")["manifest_path"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = PathBuf::from(manifest)
        .parent()
        .unwrap()
        .join("aws-signing-test-suite/v4");
    assert!(dir.is_dir(), "{} is missing", dir.display());
    dir
}

struct Case {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Case {
    /// The headers as given, but the `X-Amz-Date` the signer sets itself.
    fn headers_but_date(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("x-amz-date"))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }
}

/// A request.txt: a request line, `Name:value` lines (a line starting with a space continues
/// the previous value), a blank line, the body.
fn parse_request(text: &str) -> Case {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let line = lines.next().unwrap();
    let (method, rest) = line.split_once(' ').unwrap();
    let target = rest.strip_suffix(" HTTP/1.1").unwrap_or(rest);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with(' ') {
            let last = headers.last_mut().unwrap();
            last.1.push('\n');
            last.1.push_str(line);
        } else if let Some((n, v)) = line.split_once(':') {
            headers.push((n.to_owned(), v.to_owned()));
        }
    }
    Case {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn read(dir: &std::path::Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok()
}

struct Context {
    credentials: Credentials,
    region: String,
    service: String,
    time: Timestamp,
    normalize: bool,
    sign_body: bool,
    omit_session_token: bool,
    expires: u64,
}

fn context(dir: &std::path::Path) -> Context {
    let c: serde_json::Value = serde_json::from_str(&read(dir, "context.json").unwrap()).unwrap();
    let creds = &c["credentials"];
    Context {
        credentials: Credentials {
            access_key_id: creds["access_key_id"].as_str().unwrap().to_owned(),
            secret_access_key: creds["secret_access_key"].as_str().unwrap().to_owned(),
            session_token: creds["token"].as_str().map(str::to_owned),
            expires: None,
        },
        region: c["region"].as_str().unwrap().to_owned(),
        service: c["service"].as_str().unwrap().to_owned(),
        time: Timestamp::parse_rfc3339(c["timestamp"].as_str().unwrap()).unwrap(),
        normalize: c["normalize"].as_bool().unwrap(),
        sign_body: c["sign_body"].as_bool().unwrap(),
        omit_session_token: c["omit_session_token"].as_bool().unwrap_or(false),
        expires: c["expiration_in_seconds"].as_u64().unwrap(),
    }
}

/// The `(name, value)` pairs of a signed request's query, sorted: the order parameters are
/// appended in is not part of the contract, their values are.
fn sorted_query(target: &str) -> Vec<String> {
    let mut pairs: Vec<String> = target
        .split_once('?')
        .map_or("", |(_, q)| q)
        .split('&')
        .map(str::to_owned)
        .collect();
    pairs.sort();
    pairs
}

fn header_lines(signed: &str) -> Vec<(String, String)> {
    let head = signed.split_once("\n\n").map_or(signed, |(h, _)| h);
    head.lines()
        .skip(1)
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned()))
        .collect()
}

fn run_case(dir: &std::path::Path, double_encode: bool) -> usize {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let case = parse_request(&read(dir, "request.txt").unwrap());
    let ctx = context(dir);
    let rules = Rules {
        normalize_path: ctx.normalize,
        double_encode_path: double_encode,
        content_sha256_header: ctx.sign_body,
        omit_session_token: ctx.omit_session_token,
    };
    let scope = Scope {
        credentials: &ctx.credentials,
        region: &ctx.region,
        service: &ctx.service,
        time: ctx.time,
    };
    let headers: Vec<(&str, &str)> = case
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let payload = sha256_hex(&case.body);
    let request = Request {
        method: &case.method,
        path: &case.path,
        query: &case.query,
        headers: &headers,
        payload_sha256: &payload,
    };
    let mut checked = 0;

    // Header signing: the canonical request, the string to sign, the Authorization header
    // and every header added.
    let added = sign_headers(&request, &scope, rules);
    let mut all = headers.clone();
    all.extend(
        added
            .iter()
            .filter(|(n, _)| *n != "Authorization")
            .map(|(n, v)| (*n, v.as_str())),
    );
    if ctx.omit_session_token {
        all.retain(|(n, _)| *n != "X-Amz-Security-Token");
    }
    let creq = canonical_request(
        &request,
        rules,
        &canonical_query(request.query),
        &CanonicalHeaders::of(&all),
    );
    assert_eq!(
        creq,
        read(dir, "header-canonical-request.txt").unwrap(),
        "{name}: header canonical request"
    );
    assert_eq!(
        string_to_sign(&scope, &creq),
        read(dir, "header-string-to-sign.txt").unwrap(),
        "{name}: string to sign"
    );
    let expected = read(dir, "header-signed-request.txt").unwrap();
    let expected_headers = header_lines(&expected);
    let signature = read(dir, "header-signature.txt").unwrap();
    for (n, v) in &added {
        let want = expected_headers
            .iter()
            .find(|(en, _)| en == &n.to_ascii_lowercase());
        assert_eq!(
            want.map(|(_, v)| v.as_str()),
            Some(v.as_str()),
            "{name}: header {n}"
        );
        checked += 1;
    }
    let authorization = &added.last().unwrap().1;
    assert!(
        authorization.ends_with(&format!("Signature={}", signature.trim())),
        "{name}: {authorization}"
    );

    // Query signing (a presigned URL).
    let query = presign_query(&request, &scope, rules, ctx.expires);
    let expected = read(dir, "query-signed-request.txt").unwrap();
    let line = expected.lines().next().unwrap();
    let expected_target = line
        .split_once(' ')
        .unwrap()
        .1
        .trim_end_matches(" HTTP/1.1");
    assert_eq!(
        sorted_query(&format!("?{query}")),
        sorted_query(expected_target),
        "{name}: presigned query"
    );
    let signature = read(dir, "query-signature.txt").unwrap();
    assert!(
        query.ends_with(&format!("X-Amz-Signature={}", signature.trim())),
        "{name}: {query}"
    );
    checked + 2
}

#[test]
fn the_published_v4_suite_passes_in_full() {
    let root = suite();
    let mut names: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut cases = 0;
    for dir in &names {
        if !dir.join("context.json").exists() {
            continue;
        }
        // As aws-c-auth runs it: the path signed as given (escapes kept, the rest escaped).
        run_case(dir, false);
        // The same case as DynamoDB and every non-S3 service sign: where the path has no
        // escape to encode twice, the result is the same.
        let path = parse_request(&read(dir, "request.txt").unwrap()).path;
        if !path.contains('%') && !path.contains(' ') && path.is_ascii() {
            run_case(dir, true);
        }
        cases += 1;
    }
    assert_eq!(cases, 38, "the suite's v4 cases with a context");

    // The two cases smithy-rs added for services whose paths are encoded twice: API
    // Gateway's @connections (PostToConnection) and Lambda's Invoke by ARN. The canonical
    // request with their fixed signing time, and the signature smithy-rs checks.
    for name in ["double-encode-path", "double-url-encode"] {
        let dir = root.join(name);
        let case = parse_request(&read(&dir, "request.txt").unwrap());
        let headers = case.headers_but_date();
        let time = Timestamp::parse_rfc3339("2021-05-11T15:40:45Z").unwrap();
        let mut all = headers.clone();
        let date = time.amz_date();
        all.push(("X-Amz-Date", &date));
        let request = Request {
            method: &case.method,
            path: &case.path,
            query: &case.query,
            headers: &headers,
            payload_sha256: EMPTY_SHA256,
        };
        let creq = canonical_request(&request, Rules::DEFAULT, "", &CanonicalHeaders::of(&all));
        assert_eq!(
            creq,
            read(&dir, "header-canonical-request.txt").unwrap(),
            "{name}"
        );
        if let Some(expected) = read(&dir, "header-string-to-sign.txt") {
            let credentials = Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                None,
            );
            let scope = Scope {
                credentials: &credentials,
                region: "us-east-2",
                service: "lambda",
                time,
            };
            assert_eq!(
                string_to_sign(&scope, &creq),
                expected.trim_end(),
                "{name}: string to sign"
            );
        }
    }
    let dir = root.join("double-encode-path");
    let case = parse_request(&read(&dir, "request.txt").unwrap());
    let headers = case.headers_but_date();
    let credentials = Credentials::new("ANOTREAL", "notrealrnrELgWzOk3IfjzDKtFBhDby", None);
    let scope = Scope {
        credentials: &credentials,
        region: "us-east-1",
        service: "service",
        time: Timestamp::parse_rfc3339("2015-08-30T12:36:00Z").unwrap(),
    };
    let request = Request {
        method: &case.method,
        path: &case.path,
        query: &case.query,
        headers: &headers,
        payload_sha256: EMPTY_SHA256,
    };
    let added = sign_headers(&request, &scope, Rules::DEFAULT);
    assert!(
        added.last().unwrap().1.ends_with(
            "Signature=57d157672191bac40bae387e48bbe14b15303c001fdbb01f4abf295dccb09705"
        )
    );
}
