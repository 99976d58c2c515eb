//! A failed AWS call as a value: which service, the error code (`ConditionalCheckFailedException`),
//! the message, the HTTP status, the request id and whether trying again may help.

use std::fmt;

/// Why an AWS call failed. With `?` in a handler it becomes a [`crate::Error`] whose type is
/// the code (`ResourceNotFoundException`), so Lambda's `errorType` says what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    service: &'static str,
    code: String,
    message: String,
    status: Option<u16>,
    request_id: Option<String>,
    retryable: bool,
}

impl AwsError {
    /// An error the service answered with.
    pub(crate) fn service(
        service: &'static str,
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
    ) -> AwsError {
        let retryable = is_throttling(&code)
            || is_transient(&code)
            || matches!(status, 500 | 502 | 503 | 504)
            || status == 429;
        converts_typed();
        AwsError {
            service,
            code,
            message,
            status: Some(status),
            request_id,
            retryable,
        }
    }

    /// An error on this side: configuration, credentials, an unreadable answer.
    pub(crate) fn client(code: &str, message: impl Into<String>) -> AwsError {
        converts_typed();
        AwsError {
            service: "",
            code: code.to_owned(),
            message: message.into(),
            status: None,
            request_id: None,
            retryable: false,
        }
    }

    /// The connection failed (`ConnectionError`: retryable unless TLS or HTTP itself failed)
    /// or the deadline passed (`TimeoutError`).
    pub(crate) fn transport(
        service: &'static str,
        message: String,
        timed_out: bool,
        retryable: bool,
    ) -> AwsError {
        converts_typed();
        AwsError {
            service,
            code: if timed_out {
                "TimeoutError".into()
            } else {
                "ConnectionError".into()
            },
            message,
            status: None,
            request_id: None,
            retryable: retryable && !timed_out,
        }
    }

    pub(crate) fn in_service(mut self, service: &'static str) -> AwsError {
        self.service = service;
        self
    }

    /// The service called (`dynamodb`, `s3`…); empty for an error before any call.
    pub fn service_name(&self) -> &str {
        self.service
    }

    /// The error code: the service's (`ConditionalCheckFailedException`, `NoSuchKey`,
    /// `ParameterNotFound`), or this client's (`CredentialsNotFound`, `ConnectionError`,
    /// `TimeoutError`, `InvalidResponse`, `ConfigInvalid`).
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The message, as the service wrote it.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status of the answer, if there was one.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The request id AWS gave the call (for AWS Support), if it answered.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Whether the same call may succeed later (throttling, a 5xx, a connection error). The
    /// client already tried again as the SDKs' standard retry mode does before returning it.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The error as a function error whose type is the code.
    pub(crate) fn to_function_error(&self) -> crate::Error {
        crate::Error::new(self.code.clone(), self.to_string())
    }

    /// `crate::Error`'s conversion of an `AwsError` met behind `dyn Error`.
    fn typed(error: &(dyn std::error::Error + 'static)) -> Option<crate::Error> {
        error
            .downcast_ref::<AwsError>()
            .map(AwsError::to_function_error)
    }

    pub(crate) fn is_clock_skew(&self) -> bool {
        matches!(
            self.code.as_str(),
            "RequestTimeTooSkewed"
                | "RequestExpired"
                | "RequestInTheFuture"
                | "InvalidSignatureException"
                | "SignatureDoesNotMatch"
                | "AuthFailure"
        )
    }
}

/// The SDKs' throttling codes.
fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestThrottledException"
            | "TooManyRequestsException"
            | "ProvisionedThroughputExceededException"
            | "TransactionInProgressException"
            | "RequestLimitExceeded"
            | "BandwidthLimitExceeded"
            | "LimitExceededException"
            | "RequestThrottled"
            | "SlowDown"
            | "PriorRequestNotComplete"
            | "EC2ThrottledException"
    )
}

/// The SDKs' transient codes.
fn is_transient(code: &str) -> bool {
    matches!(
        code,
        "RequestTimeout"
            | "RequestTimeoutException"
            | "InternalError"
            | "InternalFailure"
            | "ServiceUnavailable"
    )
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.service.is_empty() {
            write!(f, "{}: ", self.service)?;
        }
        write!(f, "{}", self.code)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(status) = self.status {
            write!(f, " (HTTP {status}")?;
            if let Some(id) = &self.request_id {
                write!(f, ", request id {id}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl std::error::Error for AwsError {}

/// Before the first `AwsError` exists, `?` into a [`crate::Error`] is told how to keep its code
/// as the type (the error module, below this one, names no AWS type).
fn converts_typed() {
    crate::error::TYPED.get_or_init(|| AwsError::typed);
}
