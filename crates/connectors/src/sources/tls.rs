//! TLS for sources that open their own connections (IMAP, TCP checks): whom to trust (the system's
//! roots, plus or instead of a CA file), the handshake, and when the server's certificate expires.

use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The system's trusted roots, read once per process.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        roots
    })
}

/// Whom a connection trusts: the system's roots, with the certificates of `ca_file` (PEM) added,
/// or with `pinned`, those certificates alone.
pub fn client_config(ca_file: Option<&str>, pinned: bool) -> Result<Arc<ClientConfig>, String> {
    let mut roots = if pinned && ca_file.is_some() { RootCertStore::empty() } else { system_roots().clone() };
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path).map_err(|e| format!("could not read `{path}`: {e}"))?;
        let mut added = 0;
        for cert in certs {
            roots.add(cert.map_err(|e| format!("`{path}`: {e}"))?).map_err(|e| format!("`{path}`: {e}"))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!("`{path}` holds no PEM certificate"));
        }
    }
    Ok(Arc::new(ClientConfig::builder().with_root_certificates(roots).with_no_client_auth()))
}

/// Completes a TLS handshake over `tcp`, verifying the server's chain and that its certificate
/// names `host`.
pub async fn handshake(config: Arc<ClientConfig>, host: &str, tcp: TcpStream) -> Result<TlsStream<TcpStream>, String> {
    let name = ServerName::try_from(host.to_string()).map_err(|_| format!("`{host}` is not a name TLS can verify"))?;
    tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.map_err(|e| format!("TLS handshake failed: {e}"))
}

/// When the server's own certificate of a finished handshake expires, in epoch milliseconds.
pub fn peer_not_after(stream: &TlsStream<TcpStream>) -> Option<i64> {
    let (_, session) = stream.get_ref();
    session.peer_certificates()?.first().and_then(|c| super::http::certificate::not_after(c))
}
