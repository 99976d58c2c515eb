//! The services the client knows: how each is signed, where it lives, how it speaks, and how
//! its errors are read.

use super::error::AwsError;
use super::sigv4::Rules;
use super::transport::{self, Reply};

/// An AWS service: its signing name, endpoint prefix, the `<SERVICE>` of its
/// `AWS_ENDPOINT_URL_<SERVICE>` variable and, for the awsJson protocol, its target prefix
/// and content type. The constants cover the services functions call most;
/// [`Service::json`] describes any other awsJson service.
#[derive(Clone, Copy, Debug)]
pub struct Service {
    pub(crate) name: &'static str,
    pub(crate) signing_name: &'static str,
    pub(crate) endpoint_prefix: &'static str,
    pub(crate) env_id: &'static str,
    pub(crate) json: Option<(&'static str, &'static str)>,
    pub(crate) rules: Rules,
}

const JSON_1_0: &str = "application/x-amz-json-1.0";
const JSON_1_1: &str = "application/x-amz-json-1.1";

impl Service {
    /// A service that speaks awsJson: `signing_name` (`dynamodb`, also its endpoint prefix),
    /// `env_id` (`DYNAMODB`), `target_prefix` (`DynamoDB_20120810`) and the protocol version
    /// (`"1.0"` or `"1.1"`), as its API reference and the SDKs' models name them.
    pub const fn json(
        signing_name: &'static str,
        env_id: &'static str,
        target_prefix: &'static str,
        version_1_0: bool,
    ) -> Service {
        Service {
            name: signing_name,
            signing_name,
            endpoint_prefix: signing_name,
            env_id,
            json: Some((target_prefix, if version_1_0 { JSON_1_0 } else { JSON_1_1 })),
            rules: Rules::DEFAULT,
        }
    }

    /// Amazon DynamoDB.
    pub const DYNAMODB: Service = Service::json("dynamodb", "DYNAMODB", "DynamoDB_20120810", true);
    /// Amazon SQS (its JSON protocol).
    pub const SQS: Service = Service::json("sqs", "SQS", "AmazonSQS", true);
    /// AWS Systems Manager (Parameter Store).
    pub const SSM: Service = Service::json("ssm", "SSM", "AmazonSSM", false);
    /// AWS Secrets Manager.
    pub const SECRETS_MANAGER: Service =
        Service::json("secretsmanager", "SECRETS_MANAGER", "secretsmanager", false);
    /// Amazon Kinesis Data Streams.
    pub const KINESIS: Service = Service::json("kinesis", "KINESIS", "Kinesis_20131202", false);
    /// Amazon EventBridge.
    pub const EVENTBRIDGE: Service = Service::json("events", "EVENTBRIDGE", "AWSEvents", false);
    /// AWS Step Functions.
    pub const STEP_FUNCTIONS: Service = Service::json("states", "SFN", "AWSStepFunctions", true);
    /// AWS KMS.
    pub const KMS: Service = Service::json("kms", "KMS", "TrentService", false);
    /// Amazon CloudWatch Logs.
    pub const CLOUDWATCH_LOGS: Service =
        Service::json("logs", "CLOUDWATCH_LOGS", "Logs_20140328", false);

    /// A service that speaks REST-JSON or the query protocol: `signing_name` (also its
    /// endpoint prefix) and `env_id`, as the SDKs' models name them.
    pub const fn rest(signing_name: &'static str, env_id: &'static str) -> Service {
        Service {
            name: signing_name,
            signing_name,
            endpoint_prefix: signing_name,
            env_id,
            json: None,
            rules: Rules::DEFAULT,
        }
    }

    /// AWS Lambda (REST-JSON: `Invoke`).
    pub const LAMBDA: Service = Service::rest("lambda", "LAMBDA");
    /// The API Gateway Management API of a WebSocket API (REST-JSON: `PostToConnection`). It
    /// has no regional endpoint: give the API's
    /// (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`) in
    /// [`Config::endpoint_url`](super::Config::endpoint_url) or
    /// `AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI`.
    pub const API_GATEWAY_MANAGEMENT: Service =
        Service::rest("execute-api", "APIGATEWAYMANAGEMENTAPI");
    /// Amazon SNS (the query protocol: `Publish`).
    pub const SNS: Service = Service::rest("sns", "SNS");
    /// Amazon S3 (its own REST protocol, XML errors, its own signing rules).
    pub const S3: Service = Service {
        name: "s3",
        signing_name: "s3",
        endpoint_prefix: "s3",
        env_id: "S3",
        json: None,
        rules: Rules::S3,
    };

    /// The error of a reply that is not a success: the code from `x-amzn-errortype` or the
    /// body's `__type` / `code` (namespace and URL suffix removed), the message from
    /// `message` / `Message`.
    pub(crate) fn error(&self, reply: &Reply) -> AwsError {
        let request_id = reply.headers[transport::REQUEST_ID]
            .clone()
            .or_else(|| reply.headers[transport::S3_REQUEST_ID].clone());
        let body: Option<serde_json::Value> = serde_json::from_slice(&reply.body).ok();
        let xml = body.is_none().then(|| String::from_utf8_lossy(&reply.body));
        let field = |names: &[&str]| {
            if let Some(xml) = &xml {
                return names.iter().find_map(|n| xml_text(xml, n));
            }
            let body = body.as_ref()?;
            names
                .iter()
                .find_map(|n| body.get(*n).and_then(serde_json::Value::as_str))
                .map(str::to_owned)
        };
        let code = reply.headers[transport::ERROR_TYPE]
            .clone()
            .or_else(|| field(&["__type", "code", "Code"]))
            .map(|c| short_code(&c).to_owned())
            .unwrap_or_else(|| status_code(reply.status).to_owned());
        let message = field(&["message", "Message", "errorMessage"]).unwrap_or_else(|| {
            String::from_utf8_lossy(&reply.body[..reply.body.len().min(512)]).into_owned()
        });
        AwsError::service(self.name, reply.status, code, message, request_id)
    }
}

/// The text of the first `<name>…</name>` of an XML document (S3's and the query protocol's
/// errors and answers), with the five predefined entities decoded.
pub(crate) fn xml_text(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException` and
/// `ResourceNotFoundException:http://internal.amazon.com/…` → `ResourceNotFoundException`.
fn short_code(code: &str) -> &str {
    let code = code.rsplit('#').next().unwrap_or(code);
    code.split(':').next().unwrap_or(code).trim()
}

/// A code for an error answer that names none.
fn status_code(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        403 => "Forbidden",
        404 => "NotFound",
        413 => "RequestEntityTooLarge",
        429 => "TooManyRequests",
        500 => "InternalError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "UnknownError",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn xml_errors_are_read() {
        let doc = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The key &lt;a&amp;b&gt; does not exist</Message></Error>";
        assert_eq!(super::xml_text(doc, "Code").as_deref(), Some("NoSuchKey"));
        assert_eq!(
            super::xml_text(doc, "Message").as_deref(),
            Some("The key <a&b> does not exist")
        );
        assert_eq!(super::xml_text(doc, "RequestId"), None);
    }

    #[test]
    fn error_codes_lose_their_namespace_and_url() {
        assert_eq!(
            super::short_code("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"),
            "ResourceNotFoundException"
        );
        assert_eq!(
            super::short_code(
                "ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/"
            ),
            "ThrottlingException"
        );
        assert_eq!(super::short_code("ParameterNotFound"), "ParameterNotFound");
    }
}
