//! The TLS configuration, made by measurement (examples/dynamodb, stripped: rustls' ring
//! provider with Mozilla's roots 1,663,872 B; this one 1,295,232 B):
//!
//! - ring's primitives through a provider of our own that names only what AWS endpoints
//!   need: TLS 1.3 and 1.2 (45 KB: kept, not every endpoint speaks 1.3) with AES-GCM (no
//!   ChaCha20), X25519 key exchange, certificates signed with RSA or ECDSA P-384 (12 KB). Not
//!   ECDSA P-256: its precomputed table alone is 150 KB (184 KB with its key exchange) and no
//!   AWS endpoint presents such a certificate. No client keys, so none of ring's signing code
//!   is linked. ring gathers no entropy at start-up (aws-lc-rs' CPU-jitter source costs tens
//!   of milliseconds there) and is the smaller of rustls' providers.
//! - The roots of AWS's own certificates (Amazon Trust Services and the Starfield root that
//!   cross-signs them), parsed on the first HTTPS call, instead of Mozilla's 150 roots: every
//!   AWS endpoint chains to them. `AWS_CA_BUNDLE` adds more (a proxy, a local endpoint).

use std::sync::Arc;

use rustls::crypto::ring::{cipher_suite, kx_group};
use rustls::crypto::{
    CryptoProvider, GetRandomFailed, KeyProvider, SecureRandom, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{RootCertStore, SignatureScheme};
use webpki::ring as algs;

/// Amazon Root CA 1–4 and Starfield Services Root Certificate Authority - G2.
const AWS_ROOTS: &[u8] = include_bytes!("amazon-roots.pem");

static SIGNATURES: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        algs::ECDSA_P384_SHA256,
        algs::ECDSA_P384_SHA384,
        algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        algs::RSA_PKCS1_2048_8192_SHA256,
        algs::RSA_PKCS1_2048_8192_SHA384,
        algs::RSA_PKCS1_2048_8192_SHA512,
    ],
    mapping: &[
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            &[algs::ECDSA_P384_SHA384],
        ),
        (
            SignatureScheme::RSA_PSS_SHA512,
            &[algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA384,
            &[algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA256,
            &[algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA512,
            &[algs::RSA_PKCS1_2048_8192_SHA512],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA384,
            &[algs::RSA_PKCS1_2048_8192_SHA384],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA256,
            &[algs::RSA_PKCS1_2048_8192_SHA256],
        ),
    ],
};

#[derive(Debug)]
struct Ring;

impl SecureRandom for Ring {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), buf)
            .map_err(|_| GetRandomFailed)
    }
}

/// The client presents no certificate: no private key is ever loaded.
#[derive(Debug)]
struct NoKeys;

impl KeyProvider for NoKeys {
    fn load_private_key(
        &self,
        _: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
        Err(rustls::Error::General(
            "the AWS client uses no client certificate".into(),
        ))
    }
}

fn provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: vec![
            cipher_suite::TLS13_AES_128_GCM_SHA256,
            cipher_suite::TLS13_AES_256_GCM_SHA384,
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ],
        kx_groups: vec![kx_group::X25519],
        signature_verification_algorithms: SIGNATURES,
        secure_random: &Ring,
        key_provider: &NoKeys,
    }
}

/// Adds every certificate of a PEM file to `roots`; `what` names it in errors.
fn add_pem(roots: &mut RootCertStore, pem: &[u8], what: &str) -> Result<(), String> {
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("{what} is not PEM: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("{what} has a certificate rustls cannot use: {e}"))?;
        added += 1;
    }
    if added == 0 {
        return Err(format!("{what} has no certificate"));
    }
    Ok(())
}

/// The client configuration: AWS's roots and those of `ca_bundle` (a PEM file).
pub(crate) fn config(ca_bundle: Option<&str>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    add_pem(&mut roots, AWS_ROOTS, "the built-in AWS roots")?;
    if let Some(path) = ca_bundle {
        let pem =
            std::fs::read(path).map_err(|e| format!("cannot read AWS_CA_BUNDLE {path}: {e}"))?;
        add_pem(&mut roots, &pem, &format!("AWS_CA_BUNDLE {path}"))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_built_in_roots_are_the_five_aws_roots() {
        let mut roots = rustls::RootCertStore::empty();
        super::add_pem(&mut roots, super::AWS_ROOTS, "roots").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(roots.len(), 5);
        assert!(super::config(None).is_ok());
        assert!(
            super::config(Some("/nonexistent.pem")).is_err_and(|e| e.contains("/nonexistent.pem"))
        );
    }
}
