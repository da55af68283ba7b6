//! One IMAP conversation: connect (TLS, STARTTLS or plain), log in, examine the folder read-only,
//! search, fetch headers and arrival times, log out. Errors name the step, never a credential.

use async_imap::{Authenticator, Client};
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use vigil_core::monitor::daily::Window;

use super::{Arrival, EmailConfig, Security};

/// Most candidate messages fetched per check (the newest), so a huge folder stays cheap.
const MAX_CANDIDATES: usize = 500;

/// Matching messages in the folder from the day before `window` on (SINCE is a date); the
/// verdict counts only those inside it.
pub async fn arrivals(config: &EmailConfig, window: &Window) -> Result<Vec<Arrival>, String> {
    let tcp = TcpStream::connect((config.host.as_str(), config.port()))
        .await
        .map_err(|e| format!("could not connect: {e}"))?;
    match config.security()? {
        Security::Tls => {
            let tls = tls_connect(config, tcp).await?;
            let mut client = Client::new(tls);
            client.read_response().await.map_err(|e| format!("no greeting: {e}"))?;
            session(config, client, window).await
        }
        Security::StartTls => {
            let mut client = Client::new(tcp);
            client.read_response().await.map_err(|e| format!("no greeting: {e}"))?;
            client.run_command_and_check_ok("STARTTLS", None).await.map_err(|e| format!("STARTTLS failed: {e}"))?;
            let tls = tls_connect(config, client.into_inner()).await?;
            session(config, Client::new(tls), window).await
        }
        Security::Plain => {
            let mut client = Client::new(tcp);
            client.read_response().await.map_err(|e| format!("no greeting: {e}"))?;
            session(config, client, window).await
        }
    }
}

async fn tls_connect(
    config: &EmailConfig,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let tls =
        crate::sources::tls::client_config(config.ca_file.as_deref(), false).map_err(|e| format!("caFile: {e}"))?;
    crate::sources::tls::handshake(tls, &config.host, tcp).await
}

/// XOAUTH2's one message: `user=…^Aauth=Bearer …^A^A`.
struct XOAuth2 {
    user: String,
    token: String,
}

impl Authenticator for XOAuth2 {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
    }
}

async fn session<S>(config: &EmailConfig, client: Client<S>, window: &Window) -> Result<Vec<Arrival>, String>
where
    S: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let mut session = match (&config.token, &config.password) {
        (Some(token), _) => client
            .authenticate("XOAUTH2", XOAuth2 { user: config.user.clone(), token: token.clone() })
            .await
            .map_err(|(e, _)| format!("XOAUTH2 login as `{}` failed: {e}", config.user))?,
        (None, Some(password)) => client
            .login(&config.user, password)
            .await
            .map_err(|(e, _)| format!("login as `{}` failed: {e}", config.user))?,
        (None, None) => return Err("no password or token".into()),
    };
    let matcher = config.matcher().map_err(|(i, e)| format!("subjects[{i}]: {e}"))?;
    let folder = config.folder.as_deref().unwrap_or("INBOX");
    session.examine(folder).await.map_err(|e| format!("could not open folder `{folder}`: {e}"))?;
    let query = config.search_query(window);
    let mut uids: Vec<u32> =
        session.uid_search(&query).await.map_err(|e| format!("search failed: {e}"))?.into_iter().collect();
    uids.sort_unstable();
    let newest = &uids[uids.len().saturating_sub(MAX_CANDIDATES)..];
    let mut found = Vec::new();
    if !newest.is_empty() {
        let set = newest.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        let mut fetches = session
            .uid_fetch(&set, "(UID INTERNALDATE BODY.PEEK[HEADER])")
            .await
            .map_err(|e| format!("fetch failed: {e}"))?;
        while let Some(fetch) = fetches.next().await {
            let fetch = fetch.map_err(|e| format!("fetch failed: {e}"))?;
            let Some(at) = fetch.internal_date().map(|d| d.timestamp_millis()) else { continue };
            let Some(header) = fetch.header() else { continue };
            let Some(message) = mail_parser::MessageParser::default().parse_headers(header) else { continue };
            let from: Vec<String> = message
                .from()
                .map(|a| a.iter().filter_map(|a| a.address().map(str::to_string)).collect())
                .unwrap_or_default();
            let subject = message.subject().unwrap_or_default().to_string();
            if matcher.matches(&from, &subject) {
                found.push(Arrival { at, from, subject });
            }
        }
    }
    let _ = session.logout().await;
    Ok(found)
}
