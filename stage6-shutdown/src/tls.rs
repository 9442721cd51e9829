//! TLS for the server's ports (`--tls-cert`, `--tls-key`): the certificate
//! and key are read once, at start.
//!
//! A server that starts with a bad certificate fails every client later, one
//! by one, with errors that say little. So every problem is found before the
//! server listens, and the error names the file and what is wrong with it.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// Why the TLS certificate or key cannot be used.
#[derive(Debug, Error)]
pub enum TlsError {
    /// The file is missing or unreadable.
    // The cause is in the message, not a `source`: one line says it all.
    #[error("cannot read {what} {}: {error}", path.display())]
    Read {
        /// "the TLS certificate" or "the TLS key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it cannot be read.
        error: io::Error,
    },
    /// The file holds no usable PEM section of the kind needed.
    #[error("{what} {} is not usable PEM: {problem}", path.display())]
    Parse {
        /// "the TLS certificate" or "the TLS key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The key does not belong to the certificate, or rustls refuses them.
    #[error("the TLS key {} does not fit the certificate {}: {error}", key.display(), cert.display())]
    Mismatch {
        /// The certificate's file.
        cert: PathBuf,
        /// The key's file.
        key: PathBuf,
        /// What rustls said.
        error: rustls::Error,
    },
}

/// Reads a PEM certificate chain and its private key, checks that they fit
/// together, and returns what accepts TLS connections with them.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    const CERT: &str = "the TLS certificate";
    const KEY: &str = "the TLS key";
    let parse = |what, path: &Path, problem: pem::Error| TlsError::Parse {
        what,
        path: path.to_owned(),
        problem: match problem {
            pem::Error::NoItemsFound => format!("no {} section found", label(what)),
            other => other.to_string(),
        },
    };
    let cert_pem = read(CERT, cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|problem| parse(CERT, cert, problem))?;
    if chain.is_empty() {
        return Err(parse(CERT, cert, pem::Error::NoItemsFound));
    }
    let private_key = PrivateKeyDer::from_pem_slice(&read(KEY, key)?)
        .map_err(|problem| parse(KEY, key, problem))?;
    let mismatch = |error| TlsError::Mismatch {
        cert: cert.to_owned(),
        key: key.to_owned(),
        error,
    };
    // The ring provider, named: the one this project builds (no C toolchain
    // beyond ring's own), whatever another crate may have switched on.
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(mismatch)?
        .with_no_client_auth()
        // Checks that the key is the certificate's.
        .with_single_cert(chain, private_key)
        .map_err(mismatch)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The file's bytes, or an error naming it.
fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        what,
        path: path.to_owned(),
        error,
    })
}

/// The PEM label a file of this kind needs, for the error message.
fn label(what: &str) -> &'static str {
    if what.ends_with("key") {
        "\"BEGIN PRIVATE KEY\" (or RSA/EC PRIVATE KEY)"
    } else {
        "\"BEGIN CERTIFICATE\""
    }
}
