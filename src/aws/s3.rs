//! S3's object calls: `GetObject` with its body read as it arrives, `PutObject`, and
//! presigned URLs for both. Buckets are addressed as AWS does by default (virtual-hosted,
//! `bucket.s3.region.amazonaws.com`); path-style for an endpoint you set (moto, MinIO,
//! LocalStack) and for bucket names with dots (whose virtual host no certificate covers).

use std::time::Duration;

use super::{AwsError, Body, Client, Deadline, Outgoing, Service, sigv4};

/// S3's typed calls ([`Client::s3`]).
#[derive(Clone, Copy)]
pub struct S3<'c> {
    pub(crate) client: &'c Client,
}

/// The longest a presigned URL may live (SigV4's limit: seven days).
const MAX_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

impl<'c> S3<'c> {
    /// `GetObject`: the object's body, read as it arrives (copy it to a
    /// [`ResponseStream`](crate::ResponseStream) to stream it to the caller without holding
    /// it). A missing key is the error `NoSuchKey`.
    pub fn get_object(
        &self,
        bucket: &str,
        key: &str,
        deadline: impl Into<Deadline>,
    ) -> Result<Body<'c>, AwsError> {
        let path = key_path(key);
        let outgoing = Outgoing {
            method: "GET",
            path: &path,
            query: "",
            headers: &[],
            body: &[],
            bucket: Some(bucket),
        };
        self.client
            .send_streamed(&Service::S3, &outgoing, deadline.into())
    }

    /// `PutObject`: stores `body` under `key`; returns the object's `ETag`.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        content_type: Option<&str>,
        deadline: impl Into<Deadline>,
    ) -> Result<Option<String>, AwsError> {
        let path = key_path(key);
        let content_type = [(
            "Content-Type",
            content_type.unwrap_or("application/octet-stream"),
        )];
        let outgoing = Outgoing {
            method: "PUT",
            path: &path,
            query: "",
            headers: &content_type,
            body,
            bucket: Some(bucket),
        };
        let reply = self.client.send(&Service::S3, &outgoing, deadline.into())?;
        Ok(reply.headers[super::transport::ETAG].clone())
    }

    /// A URL that lets whoever has it `GET` the object for `expires_in` (at most seven days),
    /// signed with this client's credentials (temporary ones end the URL's life sooner).
    pub fn presign_get_object(
        &self,
        bucket: &str,
        key: &str,
        expires_in: Duration,
    ) -> Result<String, AwsError> {
        self.presign("GET", bucket, key, expires_in)
    }

    /// A URL that lets whoever has it `PUT` the object for `expires_in` (at most seven days).
    pub fn presign_put_object(
        &self,
        bucket: &str,
        key: &str,
        expires_in: Duration,
    ) -> Result<String, AwsError> {
        self.presign("PUT", bucket, key, expires_in)
    }

    fn presign(
        &self,
        method: &str,
        bucket: &str,
        key: &str,
        expires_in: Duration,
    ) -> Result<String, AwsError> {
        if expires_in > MAX_EXPIRY || expires_in.is_zero() {
            return Err(AwsError::client(
                "ConfigInvalid",
                "a presigned URL lives from 1 second to 7 days",
            ));
        }
        let (settings, credentials) = self
            .client
            .prepare(Deadline::after(super::DEFAULT_TIMEOUT))?;
        let (target, path) = settings.locate(&Service::S3, &key_path(key), Some(bucket))?;
        let host = target.host_header();
        let headers = [("host", host.as_str())];
        let request = sigv4::Request {
            method,
            path: &path,
            query: "",
            headers: &headers,
            payload_sha256: sigv4::UNSIGNED_PAYLOAD,
        };
        let scope = sigv4::Scope {
            credentials: &credentials,
            region: &settings.region,
            service: "s3",
            time: self.client.service_time(),
        };
        let query = sigv4::presign_query(&request, &scope, Service::S3.rules, expires_in.as_secs());
        let scheme = if target.https { "https" } else { "http" };
        Ok(format!("{scheme}://{host}{path}?{query}"))
    }
}

/// `/key` with every byte of the key but the unreserved ones and `/` escaped.
fn key_path(key: &str) -> String {
    let mut path = String::with_capacity(key.len() + 8);
    path.push('/');
    sigv4::encode_into(&mut path, key.as_bytes(), true);
    path
}
