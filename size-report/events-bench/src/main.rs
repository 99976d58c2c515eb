//! Parses a batch of 10 SQS messages of 256 KB each and a batch of 100 Kinesis records of 1 KB
//! each from bytes to typed records, with lambda-lite's events and with aws_lambda_events, in
//! interleaved rounds; prints a Markdown table of the median time and the allocations (count
//! and bytes) of one parse. `events-bench [ROUNDS]` (default 200).
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use base64::Engine;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: the caller's contract for `alloc` is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size as u64, Relaxed);
        // SAFETY: as for `dealloc`, and `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// 10 messages whose bodies are 256 KB JSON documents (quotes escaped in the event, as SQS
/// sends a JSON body), or 256 KB of text without escapes (CSV lines).
fn sqs_batch(json: bool) -> Vec<u8> {
    let line = if json { r#"{"sku":"BK-0001","qty":2,"note":"gift wrap"},"# } else { "BK-0001,2,gift wrap;" };
    let mut doc = String::from(if json { r#"{"lines":["# } else { "sku,qty,note;" });
    while doc.len() < 256 * 1024 - 64 {
        doc.push_str(line);
    }
    doc.push_str(if json { r#"{"sku":"end"}]}"# } else { "end" });
    let records: Vec<_> = (0..10)
        .map(|i| {
            serde_json::json!({
                "messageId": format!("059f36b4-87a3-44ab-83d2-66197583{i:04}"),
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
                "body": doc,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1545082649185"},
                "messageAttributes": {"tenant": {"stringValue": "acme", "stringListValues": [],
                    "binaryListValues": [], "dataType": "String"}},
                "md5OfBody": "098f6bcd4621d373cade4e832627b4f6",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:my-queue",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap_or_default()
}

/// 100 records of 1 KB of data each.
fn kinesis_batch() -> Vec<u8> {
    let data = base64::engine::general_purpose::STANDARD.encode(vec![b'k'; 1024]);
    let records: Vec<_> = (0..100)
        .map(|i| {
            serde_json::json!({
                "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": format!("pk-{i}"),
                    "sequenceNumber": format!("4959033101924685163446254632{i:04}"),
                    "data": data, "approximateArrivalTimestamp": 1545084650.987},
                "eventSource": "aws:kinesis", "eventVersion": "1.0",
                "eventID": format!("shardId-000000000006:4959033101924685163446254632{i:04}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
                "awsRegion": "us-east-2",
                "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream"
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap_or_default()
}

struct Case<'a> {
    name: &'static str,
    parse: &'a dyn Fn() -> usize,
    times: Vec<f64>,
}

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(200);
    let sqs = sqs_batch(true);
    let text = sqs_batch(false);
    let kinesis = kinesis_batch();
    let lite_sqs = || {
        let e = lambda_lite::events::SqsEvent::from_slice(black_box(&sqs)).unwrap_or_default();
        e.records.iter().map(|m| m.body.len()).sum::<usize>()
    };
    let official_sqs = || {
        let e: aws_lambda_events::sqs::SqsEvent = serde_json::from_slice(black_box(&sqs)).unwrap_or_default();
        e.records.iter().map(|m| m.body.as_ref().map_or(0, String::len)).sum::<usize>()
    };
    let lite_text = || {
        let e = lambda_lite::events::SqsEvent::from_slice(black_box(&text)).unwrap_or_default();
        e.records.iter().map(|m| m.body.len()).sum::<usize>()
    };
    let official_text = || {
        let e: aws_lambda_events::sqs::SqsEvent = serde_json::from_slice(black_box(&text)).unwrap_or_default();
        e.records.iter().map(|m| m.body.as_ref().map_or(0, String::len)).sum::<usize>()
    };
    let lite_kinesis = || {
        let e = lambda_lite::events::KinesisEvent::from_slice(black_box(&kinesis)).unwrap_or_default();
        e.records.iter().map(|r| r.kinesis.data.len()).sum::<usize>()
    };
    let official_kinesis = || {
        let e: aws_lambda_events::kinesis::KinesisEvent =
            serde_json::from_slice(black_box(&kinesis)).unwrap_or_default();
        e.records.iter().map(|r| r.kinesis.data.0.len()).sum::<usize>()
    };
    let mut cases = [
        Case { name: "SQS, 10 × 256 KB JSON bodies: lambda-lite `SqsEvent`", parse: &lite_sqs, times: vec![] },
        Case { name: "SQS, 10 × 256 KB JSON bodies: aws_lambda_events `SqsEvent`", parse: &official_sqs, times: vec![] },
        Case { name: "SQS, 10 × 256 KB text bodies: lambda-lite `SqsEvent`", parse: &lite_text, times: vec![] },
        Case { name: "SQS, 10 × 256 KB text bodies: aws_lambda_events `SqsEvent`", parse: &official_text, times: vec![] },
        Case { name: "Kinesis, 100 × 1 KB: lambda-lite `KinesisEvent`", parse: &lite_kinesis, times: vec![] },
        Case { name: "Kinesis, 100 × 1 KB: aws_lambda_events `KinesisEvent`", parse: &official_kinesis, times: vec![] },
    ];
    // Both readers must have read the same thing.
    assert_eq!(lite_sqs(), official_sqs());
    assert_eq!(lite_text(), official_text());
    assert_eq!(lite_kinesis(), official_kinesis());
    let mut allocs = Vec::new();
    for case in &cases {
        let (a, b) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
        black_box((case.parse)());
        allocs.push((ALLOCS.load(Relaxed) - a, BYTES.load(Relaxed) - b));
    }
    for _ in 0..rounds {
        for case in &mut cases {
            let start = Instant::now();
            black_box((case.parse)());
            case.times.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    println!("| parse (event bytes → typed records) | median µs | allocations | bytes allocated |");
    println!("|---|---:|---:|---:|");
    for (case, (count, bytes)) in cases.iter_mut().zip(allocs) {
        case.times.sort_by(f64::total_cmp);
        let median = case.times[case.times.len() / 2];
        println!("| {} | {median:.1} | {count} | {bytes} |", case.name);
    }
    println!("\n{rounds} interleaved rounds of the six parses.");
    test_kit(rounds * 5);
}

/// What the test kit costs a unit test: making a `TestLambda` (a loopback listener and its
/// thread), and one invocation through the loop (the SQS consumer on the sample event).
fn test_kit(invocations: usize) {
    use lambda_lite::events::{SqsEvent, batch};
    use lambda_lite::testkit::{TestLambda, samples};
    let handler = |e: &[u8], ctx: &lambda_lite::Context| {
        lambda_lite::json::call(e, ctx, |event: SqsEvent<'_>, _: &lambda_lite::Context| {
            batch::sqs(&event, |_| Ok(()))
        })
    };
    let mut new = Vec::new();
    let mut invoke = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        let mut lambda = TestLambda::new();
        new.push(start.elapsed().as_secs_f64() * 1e6);
        for _ in 0..invocations / 20 {
            let start = Instant::now();
            let out = lambda.invoke(samples::SQS, handler);
            invoke.push(start.elapsed().as_secs_f64() * 1e6);
            assert!(out.is_ok());
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("\n| test kit | median µs |\n|---|---:|");
    println!("| `TestLambda::new()` (listener, thread) | {:.1} |", median(&mut new));
    println!("| `invoke` of the SQS sample through the loop | {:.1} |", median(&mut invoke));
}
