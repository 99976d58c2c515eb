//! The typed calls of the services used for one or two operations: SQS, SSM Parameter Store,
//! Secrets Manager, SNS, Lambda, the API Gateway Management API. One request, one value back.

use serde_json::{Value, json};

use super::{AwsError, Client, Deadline, Outgoing, Service};

/// SQS's typed calls ([`Client::sqs`]).
#[derive(Clone, Copy)]
pub struct Sqs<'c> {
    pub(crate) client: &'c Client,
}

/// SSM Parameter Store's typed calls ([`Client::ssm`]).
#[derive(Clone, Copy)]
pub struct Ssm<'c> {
    pub(crate) client: &'c Client,
}

/// Secrets Manager's typed calls ([`Client::secrets_manager`]).
#[derive(Clone, Copy)]
pub struct SecretsManager<'c> {
    pub(crate) client: &'c Client,
}

/// A message of a batch that SQS did not take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchFailure {
    /// Its place in the batch given.
    pub index: usize,
    /// SQS's code (`InvalidMessageContents`…).
    pub code: String,
    /// SQS's message.
    pub message: String,
    /// Whether SQS says it was the sender's fault (trying again will not help).
    pub sender_fault: bool,
}

fn string(output: &Value, service: &Service, path: &[&str]) -> Result<String, AwsError> {
    let mut value = output;
    for key in path {
        value = &value[*key];
    }
    value.as_str().map(str::to_owned).ok_or_else(|| {
        super::invalid_response(service, &format!("no {} in the answer", path.join(".")))
    })
}

impl Sqs<'_> {
    /// `SendMessage`: sends `body` to the queue; returns the message id.
    pub fn send_message(
        &self,
        queue_url: &str,
        body: &str,
        deadline: impl Into<Deadline>,
    ) -> Result<String, AwsError> {
        let output: Value = self.client.call(
            &Service::SQS,
            "SendMessage",
            &json!({"QueueUrl": queue_url, "MessageBody": body}),
            deadline,
        )?;
        string(&output, &Service::SQS, &["MessageId"])
    }

    /// `SendMessageBatch`: sends up to ten bodies in one call; returns those SQS refused
    /// (empty when all were taken).
    pub fn send_message_batch(
        &self,
        queue_url: &str,
        bodies: &[&str],
        deadline: impl Into<Deadline>,
    ) -> Result<Vec<BatchFailure>, AwsError> {
        let entries: Vec<Value> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| json!({"Id": i.to_string(), "MessageBody": body}))
            .collect();
        let output: Value = self.client.call(
            &Service::SQS,
            "SendMessageBatch",
            &json!({"QueueUrl": queue_url, "Entries": entries}),
            deadline,
        )?;
        let failed = output["Failed"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        failed
            .iter()
            .map(|f| {
                Ok(BatchFailure {
                    index: f["Id"]
                        .as_str()
                        .and_then(|id| id.parse().ok())
                        .ok_or_else(|| {
                            super::invalid_response(&Service::SQS, &"a failed entry without its Id")
                        })?,
                    code: f["Code"].as_str().unwrap_or_default().to_owned(),
                    message: f["Message"].as_str().unwrap_or_default().to_owned(),
                    sender_fault: f["SenderFault"].as_bool().unwrap_or(false),
                })
            })
            .collect()
    }
}

impl Ssm<'_> {
    /// `GetParameter`: the value of a parameter (a `SecureString` decrypted).
    pub fn get_parameter(
        &self,
        name: &str,
        deadline: impl Into<Deadline>,
    ) -> Result<String, AwsError> {
        let output: Value = self.client.call(
            &Service::SSM,
            "GetParameter",
            &json!({"Name": name, "WithDecryption": true}),
            deadline,
        )?;
        string(&output, &Service::SSM, &["Parameter", "Value"])
    }
}

impl SecretsManager<'_> {
    /// `GetSecretValue`: the current value of a secret stored as text (`SecretString`).
    pub fn get_secret_value(
        &self,
        secret_id: &str,
        deadline: impl Into<Deadline>,
    ) -> Result<String, AwsError> {
        let output: Value = self.client.call(
            &Service::SECRETS_MANAGER,
            "GetSecretValue",
            &json!({"SecretId": secret_id}),
            deadline,
        )?;
        string(&output, &Service::SECRETS_MANAGER, &["SecretString"])
    }
}

/// SNS's typed calls ([`Client::sns`]).
#[derive(Clone, Copy)]
pub struct Sns<'c> {
    pub(crate) client: &'c Client,
}

/// Lambda's typed calls ([`Client::lambda`]).
#[derive(Clone, Copy)]
pub struct Lambda<'c> {
    pub(crate) client: &'c Client,
}

/// What another function answered ([`Lambda::invoke`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invoked {
    /// Its answer, or its error document when it failed.
    pub payload: Vec<u8>,
    /// `X-Amz-Function-Error`: `Unhandled` when the function failed (its error document is
    /// the payload).
    pub function_error: Option<String>,
}

/// The API Gateway Management API's typed calls ([`Client::api_gateway_management`]).
#[derive(Clone, Copy)]
pub struct ApiGatewayManagement<'c> {
    pub(crate) client: &'c Client,
}

/// `application/x-www-form-urlencoded` of `pairs`.
fn form(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        super::sigv4::encode_into(&mut out, name.as_bytes(), false);
        out.push('=');
        super::sigv4::encode_into(&mut out, value.as_bytes(), false);
    }
    out
}

impl Sns<'_> {
    /// `Publish`: sends `message` to the topic; returns the message id.
    pub fn publish(
        &self,
        topic_arn: &str,
        message: &str,
        deadline: impl Into<Deadline>,
    ) -> Result<String, AwsError> {
        let body = form(&[
            ("Action", "Publish"),
            ("Version", "2010-03-31"),
            ("TopicArn", topic_arn),
            ("Message", message),
        ]);
        let headers = [(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )];
        let outgoing = Outgoing {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: body.as_bytes(),
            bucket: None,
        };
        let reply = self
            .client
            .send(&Service::SNS, &outgoing, deadline.into())?;
        super::service::xml_text(&String::from_utf8_lossy(&reply.body), "MessageId")
            .ok_or_else(|| super::invalid_response(&Service::SNS, &"no MessageId in the answer"))
    }
}

impl Lambda<'_> {
    /// `Invoke` (`RequestResponse`): runs the function (a name, an ARN, `name:alias`) with
    /// `payload` and returns what it answered.
    pub fn invoke(
        &self,
        function_name: &str,
        payload: &[u8],
        deadline: impl Into<Deadline>,
    ) -> Result<Invoked, AwsError> {
        let mut path = String::from("/2015-03-31/functions/");
        super::sigv4::encode_into(&mut path, function_name.as_bytes(), false);
        path.push_str("/invocations");
        let outgoing = Outgoing {
            method: "POST",
            path: &path,
            query: "",
            headers: &[],
            body: payload,
            bucket: None,
        };
        let reply = self
            .client
            .send(&Service::LAMBDA, &outgoing, deadline.into())?;
        Ok(Invoked {
            function_error: reply.headers[super::transport::FUNCTION_ERROR].clone(),
            payload: reply.body,
        })
    }
}

impl ApiGatewayManagement<'_> {
    /// `PostToConnection`: sends `data` to a WebSocket client. A client that left is the error
    /// `GoneException`.
    pub fn post_to_connection(
        &self,
        connection_id: &str,
        data: &[u8],
        deadline: impl Into<Deadline>,
    ) -> Result<(), AwsError> {
        let mut path = String::from("/@connections/");
        super::sigv4::encode_into(&mut path, connection_id.as_bytes(), false);
        let outgoing = Outgoing {
            method: "POST",
            path: &path,
            query: "",
            headers: &[],
            body: data,
            bucket: None,
        };
        self.client
            .send(&Service::API_GATEWAY_MANAGEMENT, &outgoing, deadline.into())
            .map(drop)
    }
}
