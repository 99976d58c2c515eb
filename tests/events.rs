//! The typed events of the non-HTTP sources read from the shapes AWS sends (the kit's samples
//! and the awkward cases), source detection, partial batch responses, and handlers written
//! with aws_lambda_events' structs running unchanged through `json`.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

use lambda_lite::events::{
    self, AttributeValue, CloudWatchLogsEvent, DynamoDbEvent, EventBridgeEvent, KafkaEvent,
    KinesisEvent, S3Event, SnsEvent, Source, SqsEvent, batch,
};
use lambda_lite::testkit::{TestLambda, samples};
use lambda_lite::{Context, Error};
use serde::Deserialize;

#[test]
fn sqs_message_attributes_of_every_data_type_and_bodies_with_escapes() {
    let event = SqsEvent::from_slice(samples::SQS.as_bytes()).unwrap();
    assert_eq!(event.records.len(), 2);
    let first = &event.records[0];
    assert_eq!(first.message_id, "5b2f4d1e-8c3a-4e6b-9f10-2a7d3c9e1b44");
    assert_eq!(first.event_source, "aws:sqs");
    assert_eq!(
        first.event_source_arn,
        "arn:aws:sqs:eu-west-1:123456789012:orders-queue"
    );
    assert_eq!(first.approximate_receive_count(), Some(1));
    assert!(
        first
            .attribute("AWSTraceHeader")
            .unwrap()
            .starts_with("Root=1-")
    );
    let attrs = &first.message_attributes;
    assert_eq!(attrs.len(), 4);
    let tenant = attrs.get("tenant").unwrap();
    assert_eq!(
        (&*tenant.data_type, tenant.string_value.as_deref()),
        ("String", Some("acme-corp"))
    );
    let number = attrs.get("retryLimit").unwrap();
    assert_eq!(
        (&*number.data_type, number.string_value.as_deref()),
        ("Number", Some("42"))
    );
    let binary = attrs.get("signature").unwrap();
    assert_eq!(binary.data_type, "Binary");
    assert_eq!(
        binary.binary_value.as_deref(),
        Some(&[0x00, 0x01, b's', b'i', b'g', 0xfe, 0xff][..])
    );
    assert_eq!(binary.string_value, None);
    assert_eq!(attrs.get("schema").unwrap().data_type, "String.custom");
    assert!(first.md5_of_message_attributes.is_some());
    // Text without escapes is borrowed from the event; a body of JSON (escaped quotes) is
    // owned, unescaped.
    assert!(matches!(first.message_id, Cow::Borrowed(_)));
    assert!(matches!(first.body, Cow::Owned(_)));
    #[derive(Deserialize)]
    struct Order<'a> {
        #[serde(rename = "orderId")]
        order_id: &'a str,
        total: f64,
    }
    let order: Order = first.body_json().unwrap();
    assert_eq!((order.order_id, order.total), ("ord-7f3a9c", 39.9));
    let second = &event.records[1];
    assert!(matches!(second.body, Cow::Owned(_)));
    assert!(
        second.body.contains('\n') && second.body.contains("\"hello\""),
        "{}",
        second.body
    );
    assert!(second.message_attributes.is_empty());
    assert_eq!(second.md5_of_message_attributes, None);
    assert!(!event.is_fifo());
    let err = second.body_json::<serde_json::Value>().unwrap_err();
    assert_eq!(err.error_type(), "Runtime.InvalidEvent");
}

#[test]
fn sqs_fifo_and_an_sns_notification_inside_an_sqs_message() {
    let fifo = SqsEvent::from_slice(samples::SQS_FIFO.as_bytes()).unwrap();
    assert!(fifo.is_fifo());
    assert_eq!(fifo.records.len(), 3);
    assert_eq!(fifo.records[0].message_group_id(), Some("customer-1001"));
    assert!(
        fifo.records[0]
            .attribute("MessageDeduplicationId")
            .is_some()
    );

    let wrapped = SqsEvent::from_slice(samples::SQS_SNS.as_bytes()).unwrap();
    let sns = wrapped.records[0].sns().unwrap();
    assert_eq!(sns.r#type, "Notification");
    assert_eq!(
        sns.topic_arn,
        "arn:aws:sns:eu-west-1:123456789012:order-events"
    );
    assert_eq!(sns.subject.as_deref(), Some("Order shipped"));
    // The capitalised spelling of an SQS body is read too.
    assert!(
        sns.signing_cert_url
            .starts_with("https://sns.eu-west-1.amazonaws.com/")
    );
    assert!(sns.unsubscribe_url.contains("Action=Unsubscribe"));
    assert_eq!(
        sns.message_attributes.get("eventType").unwrap().value,
        "order.shipped"
    );
    let inner: serde_json::Value = sns.message_json().unwrap();
    assert_eq!(inner["status"], "SHIPPED");
}

#[test]
fn sns_records() {
    let event = SnsEvent::from_slice(samples::SNS.as_bytes()).unwrap();
    let record = &event.records[0];
    assert_eq!(record.event_source, "aws:sns");
    assert!(record.event_subscription_arn.starts_with("arn:aws:sns:"));
    assert_eq!(record.sns.r#type, "Notification");
    assert!(record.sns.signing_cert_url.starts_with("https://"));
    assert!(record.sns.unsubscribe_url.starts_with("https://"));
    assert!(!record.sns.message.is_empty());
    assert!(
        record
            .sns
            .message_attributes
            .iter()
            .any(|(_, a)| a.r#type == "Binary")
    );
}

#[test]
fn s3_keys_are_decoded_plus_as_space_and_borrowed_when_plain() {
    let event = S3Event::from_slice(samples::S3.as_bytes()).unwrap();
    let record = &event.records[0];
    assert_eq!(record.event_name, "ObjectCreated:Put");
    assert_eq!(record.s3.bucket.name, "acme-media-uploads");
    assert_eq!(record.s3.bucket.owner_principal_id, "A3NL1KOZZKExample");
    assert_eq!(record.principal_id, "AWS:AIDAEXAMPLEUSERID5678");
    assert_eq!(
        record
            .request_parameters
            .get("sourceIPAddress")
            .map(|v| &**v),
        Some("203.0.113.24")
    );
    assert_eq!(record.s3.object.key, "photos/summer 2024/café menu(1).jpg");
    assert_eq!(record.s3.object.size, Some(248193));
    assert!(record.s3.object.version_id.is_some());

    let deleted = S3Event::from_slice(samples::S3_DELETE.as_bytes()).unwrap();
    let object = &deleted.records[0].s3.object;
    assert!(deleted.records[0].event_name.starts_with("ObjectRemoved:"));
    assert_eq!((object.size, object.e_tag.as_deref()), (None, None));

    let plain = br#"{"Records":[{"eventSource":"aws:s3","s3":{"object":{"key":"a/b.txt"}}}]}"#;
    let event = S3Event::from_slice(plain).unwrap();
    assert!(matches!(
        event.records[0].s3.object.key,
        Cow::Borrowed("a/b.txt")
    ));
    // A literal plus is sent as %2B; a broken escape is left as it came.
    let odd = br#"{"Records":[{"s3":{"object":{"key":"1%2B1+%3D+2%zz"}}}]}"#;
    assert_eq!(
        S3Event::from_slice(odd).unwrap().records[0].s3.object.key,
        "1+1 = 2%zz"
    );
}

#[test]
fn eventbridge_detail_types_and_arbitrary_detail() {
    let event: EventBridgeEvent =
        EventBridgeEvent::from_slice(samples::EVENTBRIDGE.as_bytes()).unwrap();
    assert_eq!(event.detail_type, "Order Placed Event");
    assert_eq!(event.source, "com.acme.orders");
    assert!(!event.is_scheduled());
    assert_eq!(event.detail["customer"]["tags"][1], "eu");
    assert_eq!(event.detail["metadata"]["note"], serde_json::Value::Null);

    #[derive(Deserialize)]
    struct Placed<'a> {
        #[serde(rename = "orderId")]
        order_id: &'a str,
        lines: Vec<serde_json::Value>,
    }
    let typed: EventBridgeEvent<Placed> =
        EventBridgeEvent::from_slice(samples::EVENTBRIDGE.as_bytes()).unwrap();
    assert_eq!(
        (typed.detail.order_id, typed.detail.lines.len()),
        ("ord-7f3a9c", 2)
    );

    let rule: EventBridgeEvent =
        EventBridgeEvent::from_slice(samples::SCHEDULED.as_bytes()).unwrap();
    assert!(rule.is_scheduled());
    assert_eq!(rule.source, "aws.events");
    assert_eq!(rule.detail, serde_json::json!({}));
    assert_eq!(rule.resources.len(), 1);
    let scheduler: EventBridgeEvent =
        EventBridgeEvent::from_slice(samples::SCHEDULER.as_bytes()).unwrap();
    assert!(scheduler.is_scheduled());
    assert_eq!(scheduler.detail, serde_json::json!("{}"));

    let no_detail =
        EventBridgeEvent::<serde_json::Value>::from_slice(br#"{"detail-type":"x"}"#).unwrap_err();
    assert!(
        no_detail.message().contains("missing field `detail`"),
        "{}",
        no_detail.message()
    );
}

#[test]
fn dynamodb_images_of_every_attribute_type_read_as_rust_types() {
    let event = DynamoDbEvent::from_slice(samples::DYNAMODB.as_bytes()).unwrap();
    let [insert, modify, remove] = &event.records[..] else {
        panic!("three records")
    };
    assert_eq!(insert.event_name, "INSERT");
    assert_eq!(insert.dynamodb.approximate_creation_date_time, 1716580350.0);
    assert_eq!(insert.dynamodb.size_bytes, 312);
    let image = insert.dynamodb.new_image.as_ref().unwrap();
    assert_eq!(image.get("total"), Some(&AttributeValue::N("39.90".into())));
    assert_eq!(
        image
            .get("thumbnail")
            .map(|v| matches!(v, AttributeValue::B(b) if b.len() == 10)),
        Some(true)
    );
    assert_eq!(image.get("paid"), Some(&AttributeValue::Bool(true)));
    assert_eq!(image.get("couponCode"), Some(&AttributeValue::Null));
    assert_eq!(
        image.get("blobs"),
        Some(&AttributeValue::Bs(vec![
            vec![0, 1, 2],
            vec![0xfd, 0xfe, 0xff]
        ]))
    );

    #[derive(Deserialize, Debug)]
    struct Geo {
        lat: f64,
        lon: f64,
    }
    #[derive(Deserialize, Debug)]
    struct Shipping<'a> {
        city: &'a str,
        zip: u32,
        geo: Geo,
    }
    #[derive(Deserialize, Debug)]
    #[serde(untagged)]
    enum Entry<'a> {
        Flag(bool),
        Count(u32),
        Word(&'a str),
        Nested(Vec<Entry<'a>>),
        Map(std::collections::BTreeMap<String, String>),
        Nothing(()),
    }
    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    struct Order<'a> {
        pk: &'a str,
        total: f64,
        #[serde(with = "serde_bytes_like")]
        thumbnail: Vec<u8>,
        paid: bool,
        coupon_code: Option<String>,
        shipping: Shipping<'a>,
        history: Vec<Entry<'a>>,
        tags: Vec<&'a str>,
        ratings: Vec<f32>,
        blobs: Vec<Vec<u8>>,
    }
    mod serde_bytes_like {
        pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            serde::Deserialize::deserialize(d)
        }
    }
    let order: Order = image.to().unwrap();
    assert_eq!(order.pk, "ORDER#7f3a9c");
    assert_eq!(order.total, 39.9);
    assert_eq!(order.thumbnail[..4], [0x89, b'P', b'N', b'G']);
    assert!(order.paid);
    assert_eq!(order.coupon_code, None);
    assert_eq!((order.shipping.city, order.shipping.zip), ("Dublin", 10001));
    assert_eq!(
        (order.shipping.geo.lat, order.shipping.geo.lon),
        (53.3498, -6.2603)
    );
    assert_eq!(order.history.len(), 6);
    assert!(matches!(order.history[0], Entry::Word("created")));
    assert!(matches!(order.history[1], Entry::Count(3)));
    assert!(matches!(order.history[2], Entry::Flag(false)));
    assert!(matches!(order.history[3], Entry::Nothing(())));
    assert!(matches!(&order.history[4], Entry::Map(m) if m["by"] == "system"));
    assert!(matches!(&order.history[5], Entry::Nested(n) if n.len() == 2));
    assert_eq!(order.tags, ["gift", "express"]);
    assert_eq!(order.ratings, [4.0, 5.0, 3.5]);
    assert_eq!(order.blobs, [vec![0, 1, 2], vec![0xfd, 0xfe, 0xff]]);

    // A mismatch names what was expected.
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Wrong {
        total: u8,
    }
    let err = image.to::<Wrong>().unwrap_err();
    assert_eq!(err.error_type(), "Runtime.InvalidEvent");
    assert!(
        err.message().contains("39.90 does not fit u8"),
        "{}",
        err.message()
    );

    assert_eq!(modify.event_name, "MODIFY");
    assert!(modify.dynamodb.old_image.is_some() && modify.dynamodb.new_image.is_some());
    assert_eq!(remove.event_name, "REMOVE");
    assert_eq!(remove.dynamodb.stream_view_type, "KEYS_ONLY");
    assert!(remove.dynamodb.new_image.is_none() && remove.dynamodb.old_image.is_none());
    assert_eq!(
        remove.user_identity_principal_id.as_deref(),
        Some("dynamodb.amazonaws.com")
    );
    #[derive(Deserialize)]
    struct Key<'a> {
        pk: &'a str,
        sk: &'a str,
    }
    let key: Key = remove.dynamodb.keys.to().unwrap();
    assert_eq!((key.pk, key.sk), ("SESSION#a91b", "TOKEN"));

    // Not DynamoDB's JSON: refused with the reason.
    for (bad, says) in [
        (
            r#"{"Records":[{"dynamodb":{"Keys":{"a":{"X":"1"}}}}]}"#,
            "unknown type \"X\"",
        ),
        (
            r#"{"Records":[{"dynamodb":{"Keys":{"a":{"S":"1","N":"1"}}}}]}"#,
            "two types",
        ),
        (
            r#"{"Records":[{"dynamodb":{"Keys":{"a":{"B":"%%%"}}}}]}"#,
            "base64",
        ),
    ] {
        let err = DynamoDbEvent::from_slice(bad.as_bytes()).unwrap_err();
        assert!(err.message().contains(says), "{bad}: {}", err.message());
    }
}

#[test]
fn kinesis_data_is_decoded_text_and_binary() {
    let event = KinesisEvent::from_slice(samples::KINESIS.as_bytes()).unwrap();
    let [json, binary] = &event.records[..] else {
        panic!("two records")
    };
    assert_eq!(json.event_source, "aws:kinesis");
    assert_eq!(json.kinesis.partition_key, "u-481");
    assert_eq!(json.kinesis.approximate_arrival_timestamp, 1716580500.456);
    let view: serde_json::Value = json.kinesis.data_json().unwrap();
    assert_eq!(view["event"], "page_view");
    assert_eq!(
        binary.kinesis.data,
        [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x00, 0x10]
    );
    let bad = br#"{"Records":[{"kinesis":{"data":"not base64!"}}]}"#;
    assert!(
        KinesisEvent::from_slice(bad)
            .unwrap_err()
            .message()
            .contains("base64")
    );
}

#[test]
fn cloudwatch_logs_payloads_are_unzipped() {
    let event = CloudWatchLogsEvent::from_slice(samples::CLOUDWATCH_LOGS.as_bytes()).unwrap();
    let logs = event.decode().unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/events/cloudwatch_logs_decoded.json")).unwrap();
    assert_eq!(logs.message_type, "DATA_MESSAGE");
    assert_eq!(logs.log_group, expected["logGroup"].as_str().unwrap());
    assert_eq!(logs.log_stream, expected["logStream"].as_str().unwrap());
    assert_eq!(logs.subscription_filters, ["checkout-errors-to-siem"]);
    assert_eq!(logs.log_events.len(), 3);
    for (got, want) in logs
        .log_events
        .iter()
        .zip(expected["logEvents"].as_array().unwrap())
    {
        assert_eq!(got.id, want["id"].as_str().unwrap());
        assert_eq!(got.timestamp, want["timestamp"].as_i64().unwrap());
        assert_eq!(got.message, want["message"].as_str().unwrap());
    }
    assert!(logs.log_events[1].message.contains("\t") && logs.log_events[1].message.contains('"'));
}

#[test]
fn kafka_records_msk_and_self_managed_with_headers() {
    let msk = KafkaEvent::from_slice(samples::KAFKA_MSK.as_bytes()).unwrap();
    assert_eq!(msk.event_source, "aws:kafka");
    assert!(msk.event_source_arn.is_some());
    assert_eq!(msk.records.len(), 2);
    let partition0 = msk.records.get("orders-0").unwrap();
    assert_eq!(partition0.len(), 2);
    let first = &partition0[0];
    assert_eq!(
        (first.partition, first.offset, first.timestamp_type.as_ref()),
        (0, 1542, "CREATE_TIME")
    );
    assert_eq!(first.key.as_deref(), Some(&b"ord-7f3a9c"[..]));
    assert_eq!(first.header("content-type"), Some(&b"application/json"[..]));
    assert!(first.header("traceparent").unwrap().starts_with(b"00-"));
    let value: serde_json::Value = first.value_json().unwrap();
    assert_eq!(value["status"], "PLACED");
    let keyless = &msk.records.get("orders-1").unwrap()[0];
    assert_eq!(keyless.key, None);
    assert_eq!(msk.all_records().count(), 3);

    let own = KafkaEvent::from_slice(samples::KAFKA_SELF_MANAGED.as_bytes()).unwrap();
    assert_eq!(own.event_source, "SelfManagedKafka");
    assert_eq!(own.event_source_arn, None);
    assert!(own.all_records().count() > 0);
}

#[test]
fn every_sample_is_told_apart() {
    for (sample, source) in [
        (samples::SQS, Source::Sqs),
        (samples::SQS_FIFO, Source::Sqs),
        (samples::SQS_SNS, Source::Sqs),
        (samples::SNS, Source::Sns),
        (samples::S3, Source::S3),
        (samples::S3_DELETE, Source::S3),
        (samples::EVENTBRIDGE, Source::EventBridge),
        (samples::SCHEDULED, Source::EventBridge),
        (samples::SCHEDULER, Source::EventBridge),
        (samples::DYNAMODB, Source::DynamoDb),
        (samples::KINESIS, Source::Kinesis),
        (samples::CLOUDWATCH_LOGS, Source::CloudWatchLogs),
        (samples::KAFKA_MSK, Source::Kafka),
        (samples::KAFKA_SELF_MANAGED, Source::Kafka),
        (samples::FUNCTION_URL, Source::Http),
        (samples::HTTP_API, Source::Http),
        (samples::REST_API, Source::Http),
        (samples::ALB, Source::Http),
    ] {
        assert_eq!(
            events::source(sample.as_bytes()),
            Some(source),
            "{sample:.80}"
        );
    }
    assert_eq!(samples::ALL.len(), 18);
    for other in [
        &b"{\"name\":\"Ana\"}"[..],
        b"[1,2]",
        b"not json",
        b"{\"Records\":[]}",
    ] {
        assert_eq!(events::source(other), None);
    }
}

#[test]
fn fields_aws_may_omit_null_or_add_never_reject_an_event() {
    let sparse = br#"{"Records":[{"messageId":"m1","body":null,"attributes":null,
        "messageAttributes":{"a":{"dataType":"String","stringValue":"x","new":{"z":[1]}}},"futureField":[{}]}],"more":1}"#;
    let event = SqsEvent::from_slice(sparse).unwrap();
    assert_eq!(event.records[0].message_id, "m1");
    assert_eq!(event.records[0].body, "");
    assert!(event.records[0].attributes.is_empty());
    assert_eq!(
        event.records[0]
            .message_attributes
            .get("a")
            .unwrap()
            .string_value
            .as_deref(),
        Some("x")
    );
    assert!(
        KinesisEvent::from_slice(br#"{"Records":[{"kinesis":{"sequenceNumber":"1"}}]}"#).is_ok()
    );
    assert!(DynamoDbEvent::from_slice(br#"{"Records":[{"dynamodb":{}}]}"#).is_ok());
    assert!(KafkaEvent::from_slice(br#"{"records":{}}"#).is_ok());
    // Not even JSON: the error says what the event should have been.
    let err = SqsEvent::from_slice(b"{").unwrap_err();
    assert_eq!(err.error_type(), "Runtime.InvalidEvent");
    assert!(
        err.message().contains("not an SQS event"),
        "{}",
        err.message()
    );
}

// ---- Partial batch responses ----

fn fail_odd_orders(message: &events::SqsMessage<'_>) -> lambda_lite::Result<()> {
    let n: u32 = message.body.trim().parse()?;
    if n == 99 {
        panic!("order 99 is cursed");
    }
    if n % 2 == 1 {
        return Err(Error::new("OddOrder", format!("order {n} is odd")));
    }
    Ok(())
}

fn sqs_batch(arn: &str, bodies: &[&str]) -> String {
    let records: Vec<_> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| serde_json::json!({"messageId": format!("m{i}"), "body": b, "eventSource": "aws:sqs", "eventSourceARN": arn}))
        .collect();
    serde_json::json!({ "Records": records }).to_string()
}

fn ids(response: &batch::BatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect()
}

#[test]
fn a_failed_or_panicking_record_fails_alone_through_the_real_loop() {
    let mut lambda = TestLambda::new();
    let event = sqs_batch("arn:aws:sqs:eu-west-1:1:q", &["2", "3", "99", "4", "x"]);
    let out = lambda.invoke(&event, |e, ctx| {
        lambda_lite::json::call(e, ctx, |event: SqsEvent<'_>, _: &Context| {
            batch::sqs(&event, fail_odd_orders)
        })
    });
    assert!(out.is_ok(), "{out:?}");
    assert_eq!(
        out.json::<serde_json::Value>().unwrap(),
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}, {"itemIdentifier": "m4"}]})
    );
    let logs = out.logs().join("\n");
    assert!(
        logs.contains("record m1 failed: OddOrder: order 3 is odd"),
        "{logs}"
    );
    assert!(
        logs.contains("record m2 failed: Runtime.HandlerPanic")
            && logs.contains("order 99 is cursed"),
        "{logs}"
    );
    assert!(logs.contains("record m4 failed"), "{logs}");

    // Nothing failed: an empty list, as Lambda expects.
    let out = lambda.invoke(
        sqs_batch("arn:aws:sqs:eu-west-1:1:q", &["2", "4"]),
        |e, ctx| {
            lambda_lite::json::call(e, ctx, |event: SqsEvent<'_>, _: &Context| {
                batch::sqs(&event, fail_odd_orders)
            })
        },
    );
    assert_eq!(out.body(), br#"{"batchItemFailures":[]}"#);
}

#[test]
fn a_fifo_batch_stops_at_its_first_failure_and_reports_every_later_record() {
    let handled = AtomicUsize::new(0);
    let event = sqs_batch("arn:aws:sqs:eu-west-1:1:q.fifo", &["2", "3", "4", "6"]);
    let event = SqsEvent::from_slice(event.as_bytes()).unwrap();
    let response = batch::sqs(&event, |m| {
        handled.fetch_add(1, Ordering::SeqCst);
        fail_odd_orders(m)
    })
    .unwrap();
    assert_eq!(ids(&response), ["m1", "m2", "m3"]);
    assert_eq!(
        handled.load(Ordering::SeqCst),
        2,
        "nothing after the failure is handled"
    );
    // The same batch from a standard queue handles everything.
    let standard = sqs_batch("arn:aws:sqs:eu-west-1:1:q", &["2", "3", "4", "6"]);
    let standard = SqsEvent::from_slice(standard.as_bytes()).unwrap();
    assert_eq!(
        ids(&batch::sqs(&standard, fail_odd_orders).unwrap()),
        ["m1"]
    );
}

#[test]
fn a_record_without_an_identifier_fails_the_whole_batch_before_any_is_handled() {
    let event = SqsEvent::from_slice(br#"{"Records":[{"messageId":"a","body":"2"},{"body":"4"}]}"#)
        .unwrap();
    let handled = AtomicUsize::new(0);
    let err = batch::sqs(&event, |_| {
        handled.fetch_add(1, Ordering::SeqCst);
        Ok(())
    })
    .unwrap_err();
    assert_eq!(err.error_type(), batch::INVALID_ITEM_IDENTIFIER);
    assert!(err.message().contains("record 1"), "{}", err.message());
    assert_eq!(handled.load(Ordering::SeqCst), 0);
    // Through the loop, that is an error for the invocation: Lambda retries the whole batch.
    let out = TestLambda::new().invoke(br#"{"Records":[{"body":"2"}]}"#, |e, ctx| {
        lambda_lite::json::call(e, ctx, |event: SqsEvent<'_>, _: &Context| {
            batch::sqs(&event, |_| Ok(()))
        })
    });
    assert_eq!(
        out.error().unwrap().error_type,
        batch::INVALID_ITEM_IDENTIFIER
    );
}

#[test]
fn an_empty_batch_and_the_stream_sources_identifiers() {
    let empty = SqsEvent::from_slice(br#"{"Records":[]}"#).unwrap();
    assert_eq!(
        batch::sqs(&empty, |_| Ok(())).unwrap(),
        batch::BatchResponse::default()
    );

    let kinesis = KinesisEvent::from_slice(samples::KINESIS.as_bytes()).unwrap();
    let response = batch::kinesis(&kinesis, |r| {
        if r.kinesis.data.first() == Some(&0) {
            Err(Error::new("Binary", "no"))
        } else {
            Ok(())
        }
    })
    .unwrap();
    assert_eq!(
        ids(&response),
        ["49651505085739545331246137462349067272913017015487086594"]
    );

    let dynamodb = DynamoDbEvent::from_slice(samples::DYNAMODB.as_bytes()).unwrap();
    let response = batch::dynamodb(&dynamodb, |r| {
        if r.event_name == "REMOVE" {
            Err(Error::new("Remove", "later"))
        } else {
            Ok(())
        }
    })
    .unwrap();
    assert_eq!(
        ids(&response),
        [&*dynamodb.records[2].dynamodb.sequence_number]
    );
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": dynamodb.records[2].dynamodb.sequence_number}]})
    );
}

#[test]
fn batches_are_processed_from_many_threads_at_once() {
    // What concurrent workers (Managed Instances) do: one handler, shared, many batches.
    let failures = AtomicUsize::new(0);
    let handler = |m: &events::SqsMessage<'_>| {
        let r = fail_odd_orders(m);
        if r.is_err() {
            failures.fetch_add(1, Ordering::SeqCst);
        }
        r
    };
    std::thread::scope(|s| {
        for t in 0..8 {
            let handler = &handler;
            s.spawn(move || {
                let event = sqs_batch("arn:aws:sqs:eu-west-1:1:q", &["1", "2", "3", "4"]);
                for _ in 0..50 {
                    let event = SqsEvent::from_slice(event.as_bytes()).unwrap();
                    assert_eq!(
                        ids(&batch::sqs(&event, handler).unwrap()),
                        ["m0", "m2"],
                        "thread {t}"
                    );
                }
            });
        }
    });
    assert_eq!(failures.load(Ordering::SeqCst), 8 * 50 * 2);
}

// ---- Interop: aws_lambda_events' own structs through `json` ----

#[test]
fn handlers_typed_with_aws_lambda_events_run_unchanged() {
    use aws_lambda_events::event::{dynamodb, eventbridge, kafka, kinesis, s3, sns, sqs};
    let mut lambda = TestLambda::new();
    macro_rules! runs {
        ($sample:expr, $ty:ty, |$e:ident| $answer:expr) => {{
            let out = lambda.invoke($sample, |event, ctx| {
                lambda_lite::json::call(event, ctx, |$e: $ty, _: &Context| Ok($answer))
            });
            out.json::<serde_json::Value>()
                .unwrap_or_else(|e| panic!("{}: {e}", stringify!($ty)))
        }};
    }
    assert_eq!(runs!(samples::SQS, sqs::SqsEvent, |e| e.records.len()), 2);
    let failures = runs!(samples::SQS, sqs::SqsEvent, |e| {
        let mut failure = sqs::BatchItemFailure::default();
        failure.item_identifier = e.records[0].message_id.clone().unwrap_or_default();
        let mut response = sqs::SqsBatchResponse::default();
        response.batch_item_failures.push(failure);
        response
    });
    assert_eq!(
        failures["batchItemFailures"][0]["itemIdentifier"],
        "5b2f4d1e-8c3a-4e6b-9f10-2a7d3c9e1b44"
    );
    let topic = SnsEvent::from_slice(samples::SNS.as_bytes())
        .unwrap()
        .records[0]
        .sns
        .topic_arn
        .to_string();
    assert_eq!(
        runs!(samples::SNS, sns::SnsEvent, |e| e.records[0]
            .sns
            .topic_arn
            .clone()),
        topic
    );
    assert_eq!(
        runs!(samples::S3, s3::S3Event, |e| e.records[0]
            .s3
            .object
            .key
            .clone()),
        "photos/summer+2024/caf%C3%A9+menu%281%29.jpg"
    );
    assert_eq!(
        runs!(samples::EVENTBRIDGE, eventbridge::EventBridgeEvent, |e| e
            .detail_type),
        "Order Placed Event"
    );
    assert_eq!(
        runs!(samples::DYNAMODB, dynamodb::Event, |e| e.records.len()),
        3
    );
    assert_eq!(
        runs!(samples::KINESIS, kinesis::KinesisEvent, |e| e.records[1]
            .kinesis
            .data
            .0
            .len()),
        8
    );
    assert_eq!(
        runs!(samples::KAFKA_MSK, kafka::KafkaEvent, |e| e.records.len()),
        2
    );
}
