//! A sample event of every source, in the shape AWS sends it, for unit tests (and what `cargo
//! lambda-lite new --event` writes to `events/`).

macro_rules! samples {
    ($($(#[$doc:meta])* $name:ident = $file:literal;)*) => {
        $($(#[$doc])* pub const $name: &str = include_str!(concat!("samples/", $file));)*
        /// Every sample, with its file name.
        pub const ALL: &[(&str, &str)] = &[$(($file, $name)),*];
    };
}

samples! {
    /// SQS, a standard queue: message attributes of every data type, a text body with escapes.
    SQS = "sqs.json";
    /// SQS, a FIFO queue: three messages of one group.
    SQS_FIFO = "sqs_fifo.json";
    /// SQS, a message whose body is an SNS notification (no raw delivery).
    SQS_SNS = "sqs_sns.json";
    /// SNS.
    SNS = "sns.json";
    /// S3, `ObjectCreated:Put` of a key with `+` and `%XX` in it.
    S3 = "s3.json";
    /// S3, `ObjectRemoved:Delete`.
    S3_DELETE = "s3_delete.json";
    /// EventBridge, a custom event with a nested `detail`.
    EVENTBRIDGE = "eventbridge.json";
    /// EventBridge, a scheduled rule's event.
    SCHEDULED = "scheduled.json";
    /// EventBridge Scheduler (`detail` is the text `"{}"`).
    SCHEDULER = "scheduler.json";
    /// DynamoDB Streams: every attribute type, old and new images, a TTL removal with keys only.
    DYNAMODB = "dynamodb.json";
    /// Kinesis: JSON data and binary data.
    KINESIS = "kinesis.json";
    /// CloudWatch Logs subscription (gzipped, base64).
    CLOUDWATCH_LOGS = "cloudwatch_logs.json";
    /// Kafka, Amazon MSK: two partitions, headers, a record without a key.
    KAFKA_MSK = "kafka_msk.json";
    /// Kafka, self-managed.
    KAFKA_SELF_MANAGED = "kafka_self_managed.json";
    /// A Lambda Function URL request (payload 2.0).
    FUNCTION_URL = "function_url.json";
    /// An API Gateway HTTP API request (payload 2.0).
    HTTP_API = "http_api.json";
    /// An API Gateway REST API request (payload 1.0).
    REST_API = "rest_api.json";
    /// An Application Load Balancer request.
    ALB = "alb.json";
}
