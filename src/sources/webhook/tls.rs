//! TLS for the webhook listener: PEM certificate chain and private key,
//! read once at start (and on reload).

use super::listener::ListenerError;
use crate::config::Settings;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

pub fn load(settings: &Settings) -> Result<Option<rustls::ServerConfig>, ListenerError> {
    let Some((cert, key)) = &settings.server.tls else {
        return Ok(None);
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| ListenerError::Tls(format!("{}: {e}", cert.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| ListenerError::Tls(format!("{}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(ListenerError::Tls(format!(
            "{}: no certificate found",
            cert.display()
        )));
    }
    // The key's content never goes into a message, only its file name.
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| ListenerError::Tls(format!("{}: {e}", key.display())))?;
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ListenerError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map(Some)
        .map_err(|e| ListenerError::Tls(e.to_string()))
}
