//! E-mail notices over SMTP (lettre, rustls): the municipality's mail relay or any submission
//! server.
//!
//! The `Message-ID` is the delivery key, so a message tried twice carries the same id and a
//! receiver (or a person reading the log of the relay) can tell the repeat. Error texts name the
//! SMTP reply code and never the address or the server's reply text, which often quotes the
//! address.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};

use super::{ChannelError, Email, Mailer};

/// A value that is never printed, logged or written back out (a password, a token).
#[derive(Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(if self.0.is_empty() { "" } else { "[redacted]" })
    }
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (a relay on the same host or network only).
    None,
    /// Plain text upgraded with STARTTLS, which must succeed (port 587, 25).
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// The SMTP server, as `[post.smtp]` in the server's settings.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// The server's host name (also the name its certificate must carry).
    pub host: String,
    /// The port; 587 when not given (465 for `tls = "tls"`, 25 for `tls = "none"`).
    #[serde(default)]
    pub port: Option<u16>,
    /// `none`, `starttls` (default) or `tls`.
    #[serde(default)]
    pub tls: SmtpTls,
    /// The user name, when the server wants a login.
    #[serde(default)]
    pub username: Option<String>,
    /// The password that goes with `username`.
    #[serde(default)]
    pub password: Option<Secret>,
    /// The sender address (`Bergen kommune <post@bergen.kommune.no>` or a bare address).
    pub from: String,
    /// How long the connection and each command may take; a whole message may take three times
    /// as long.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// A certificate (PEM) to trust beside the public roots: the municipality's own CA, or the
    /// test server's self-signed certificate.
    #[serde(default)]
    pub root_certificate_pem: Option<String>,
    /// The name this client gives in `EHLO`; `[127.0.0.1]` when not given.
    #[serde(default)]
    pub helo_name: Option<String>,
}

fn default_timeout_seconds() -> u64 {
    30
}

impl SmtpSettings {
    /// Settings for a host with the defaults: STARTTLS on port 587, no login, 30 seconds.
    pub fn new(host: impl Into<String>, from: impl Into<String>) -> Self {
        SmtpSettings {
            host: host.into(),
            port: None,
            tls: SmtpTls::default(),
            username: None,
            password: None,
            from: from.into(),
            timeout_seconds: default_timeout_seconds(),
            root_certificate_pem: None,
            helo_name: None,
        }
    }

    /// The port in use: the configured one or the usual one for the TLS mode.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
        })
    }

    /// The timeout as a duration, between one second and an hour whatever the setting says.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds.clamp(1, 3600))
    }
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.effective_port())
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("timeout_seconds", &self.timeout_seconds)
            .field("root_certificate_pem", &self.root_certificate_pem.is_some())
            .finish_non_exhaustive()
    }
}

/// Why the SMTP settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpConfigError {
    /// `from` is not an e-mail address.
    #[error("post.smtp.from is not an e-mail address")]
    From,
    /// `username` without `password` or the other way round.
    #[error("post.smtp.username and post.smtp.password go together")]
    Credentials,
    /// The certificate or the TLS set-up is not usable.
    #[error("post.smtp: the TLS settings are not usable: {0}")]
    Tls(String),
    /// `helo_name` is not a host name.
    #[error("post.smtp.helo_name is not a host name")]
    HeloName,
}

/// Sends e-mail through one SMTP server, one connection per message.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
    timeout: Duration,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The sender is the municipality's own address, but it is left out anyway: Debug output
        // ends up in logs, and the server is what one needs to know there.
        f.debug_struct("SmtpMailer").field("server", &self.server).finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for these settings. Nothing is connected yet: the first `send` connects.
    pub fn new(settings: &SmtpSettings) -> Result<Self, SmtpConfigError> {
        let from: Mailbox = settings.from.parse().map_err(|_| SmtpConfigError::From)?;
        let port = settings.effective_port();

        let tls_parameters = || -> Result<TlsParameters, SmtpConfigError> {
            let mut builder = TlsParameters::builder(settings.host.clone());
            if let Some(pem) = &settings.root_certificate_pem {
                let certificate = Certificate::from_pem(pem.as_bytes())
                    .map_err(|_| SmtpConfigError::Tls("root_certificate_pem is not a PEM certificate".into()))?;
                builder = builder.add_root_certificate(certificate);
            }
            builder.build_rustls().map_err(|error| SmtpConfigError::Tls(error.to_string()))
        };
        let tls = match settings.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls_parameters()?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters()?),
        };

        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(settings.timeout()));
        match (&settings.username, &settings.password) {
            (Some(username), Some(password)) => {
                builder = builder.credentials(Credentials::new(username.clone(), password.expose().to_owned()));
            }
            (None, None) => {}
            _ => return Err(SmtpConfigError::Credentials),
        }
        if let Some(name) = &settings.helo_name {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
                return Err(SmtpConfigError::HeloName);
            }
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }

        Ok(SmtpMailer {
            transport: builder.build(),
            from,
            server: format!("{}:{port}", settings.host),
            timeout: settings.timeout(),
        })
    }

    async fn send_email(&self, email: &Email) -> Result<(), ChannelError> {
        let message = build_message(&self.from, email)?;
        // lettre's timeout covers the connection and the commands, not every read of a reply (a
        // server that accepts and never greets would hang the delivery): the whole send gets a
        // deadline of its own.
        let Ok(sent) = tokio::time::timeout(self.timeout.saturating_mul(3), self.transport.send(message)).await else {
            return Err(ChannelError::Transient("the SMTP server did not answer in time".into()));
        };
        match sent {
            Ok(_) => {
                tracing::debug!(smtp.server = %self.server, "e-mail handed over");
                Ok(())
            }
            Err(error) => Err(classify(&error, !email.to.is_ascii())),
        }
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), ChannelError>> {
        self.send_email(email).boxed()
    }
}

/// The message: From, To, Subject, the delivery key as `Message-ID`, `Content-Language` and a
/// UTF-8 plain-text body.
fn build_message(from: &Mailbox, email: &Email) -> Result<Message, ChannelError> {
    let to: Mailbox =
        email.to.parse().map_err(|_| ChannelError::Permanent("the recipient's e-mail address is malformed".into()))?;
    if !is_message_id(&email.message_id) {
        return Err(ChannelError::Permanent(
            "the Message-ID is not of the form local@domain without spaces or angle brackets".into(),
        ));
    }
    let language = ContentLanguage::new(&email.language)
        .ok_or_else(|| ChannelError::Permanent("the language is not a language tag".into()))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .message_id(Some(format!("<{}>", email.message_id)))
        .header(language)
        .header(ContentType::TEXT_PLAIN)
        .body(email.body.clone())
        .map_err(|_| ChannelError::Permanent("the e-mail cannot be built from these fields".into()))
}

/// `local@domain` in printable ASCII, without the characters that would end the header or the
/// angle brackets around it.
fn is_message_id(id: &str) -> bool {
    let Some((local, domain)) = id.split_once('@') else { return false };
    !local.is_empty()
        && !domain.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | '\\' | '(' | ')' | ',' | ';' | ':'))
        && !domain.contains('@')
}

/// Sorts an SMTP failure into "try again" and "give up", naming the reply code and nothing the
/// server said (its text often quotes the address).
fn classify(error: &lettre::transport::smtp::Error, non_ascii_address: bool) -> ChannelError {
    if let Some(code) = error.status() {
        let number = u16::from(code);
        // A refused login is the municipality's configuration, not the recipient: giving up on
        // every notice until someone fixes the password would lose them all.
        if error.is_permanent() && !matches!(number, 530 | 534 | 535 | 538) {
            return ChannelError::Permanent(format!("the SMTP server answered {number}"));
        }
        return ChannelError::Transient(format!("the SMTP server answered {number}"));
    }
    if error.is_timeout() {
        return ChannelError::Transient("the SMTP server did not answer in time".into());
    }
    if error.is_tls() {
        return ChannelError::Transient("the TLS handshake with the SMTP server failed".into());
    }
    if error.is_client() && non_ascii_address {
        // lettre refuses before sending when the server cannot take SMTPUTF8: this address will
        // never go through this server. Its other client-side refusals (no STARTTLS offered, no
        // usable login mechanism) are the configuration's, and worth trying again once fixed.
        return ChannelError::Permanent("the SMTP server cannot take a non-ASCII address".into());
    }
    ChannelError::Transient("the SMTP server cannot be reached".into())
}

/// The `Content-Language` header (RFC 3282).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ContentLanguage(String);

impl ContentLanguage {
    fn new(tag: &str) -> Option<Self> {
        let ok = !tag.is_empty()
            && tag.len() <= 35
            && tag.split('-').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
        ok.then(|| ContentLanguage(tag.to_owned()))
    }
}

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        ContentLanguage::new(s.trim()).ok_or_else(|| "not a language tag".into())
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email {
            message_id: "0190f0d2-1c1e-7a3b-9d1e-0123456789ab@post.example.no".into(),
            to: "ola.nordmann@example.no".into(),
            subject: "Du har fått brev fra Øvre Åsen kommune".into(),
            body: "Hei!\n\nDu har fått et brev. Logg inn på Min side for å lese det.\n\nÆrbødigst\nØvre Åsen kommune\n"
                .into(),
            language: "nb".into(),
        }
    }

    #[test]
    fn settings_read_from_toml_and_redact_the_password() {
        let settings: SmtpSettings = serde_json::from_value(serde_json::json!({
            "host": "smtp.example.no",
            "tls": "tls",
            "username": "brukar",
            "password": "hemmeleg",
            "from": "Øvre Åsen kommune <post@example.no>",
        }))
        .expect("settings");
        assert_eq!(settings.effective_port(), 465);
        assert_eq!(settings.tls, SmtpTls::Tls);
        assert_eq!(settings.timeout(), Duration::from_secs(30));
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hemmeleg"), "{debug}");
        let written = serde_json::to_string(&settings).expect("serialize");
        assert!(!written.contains("hemmeleg"), "{written}");
        assert!(SmtpMailer::new(&settings).is_ok());
    }

    #[test]
    fn the_message_carries_the_delivery_key_and_the_language() {
        let from: Mailbox = "Øvre Åsen kommune <post@example.no>".parse().expect("from");
        let message = build_message(&from, &email()).expect("message");
        let text = String::from_utf8(message.formatted()).expect("ascii on the wire");
        assert!(text.contains("Message-ID: <0190f0d2-1c1e-7a3b-9d1e-0123456789ab@post.example.no>\r\n"), "{text}");
        assert!(text.contains("Content-Language: nb\r\n"), "{text}");
        assert!(text.contains("Content-Type: text/plain; charset=utf-8\r\n"), "{text}");
        // The same e-mail built twice is the same message id (the receiver can tell a repeat).
        let again = String::from_utf8(build_message(&from, &email()).expect("message").formatted()).expect("ascii");
        assert!(again.contains("Message-ID: <0190f0d2-1c1e-7a3b-9d1e-0123456789ab@post.example.no>\r\n"));
    }

    #[test]
    fn a_malformed_address_is_permanent_and_not_named() {
        let from: Mailbox = "post@example.no".parse().expect("from");
        let mut broken = email();
        broken.to = "ola.nordmann(at)example.no".into();
        let error = build_message(&from, &broken).expect_err("malformed");
        assert!(!error.is_transient());
        assert!(!error.to_string().contains("nordmann"), "{error}");
    }

    #[test]
    fn header_injection_through_the_fields_is_refused() {
        let from: Mailbox = "post@example.no".parse().expect("from");
        let mut broken = email();
        broken.message_id = "abc@example.no>\r\nBcc: x@example.no".into();
        assert!(build_message(&from, &broken).is_err());
        let mut broken = email();
        broken.language = "nb\r\nBcc: x@example.no".into();
        assert!(build_message(&from, &broken).is_err());
        let mut newline_subject = email();
        newline_subject.subject = "Brev\r\nBcc: x@example.no".into();
        let text =
            String::from_utf8(build_message(&from, &newline_subject).expect("message").formatted()).expect("ascii");
        assert!(!text.contains("\r\nBcc:"), "{text}");
    }

    #[test]
    fn a_bad_from_is_a_configuration_error() {
        let settings = SmtpSettings::new("smtp.example.no", "not an address");
        assert_eq!(SmtpMailer::new(&settings).err(), Some(SmtpConfigError::From));
        let mut settings = SmtpSettings::new("smtp.example.no", "post@example.no");
        settings.username = Some("brukar".into());
        assert_eq!(SmtpMailer::new(&settings).err(), Some(SmtpConfigError::Credentials));
    }
}

/// A pickup directory: each message is written as an `.eml` file named by its `Message-ID`, for
/// an MTA that sends what lands there — and for the demo, where no SMTP server runs and the
/// messages can be read as files. Writing the same message again replaces the same file.
#[derive(Debug, Clone)]
pub struct PickupDirMailer {
    dir: std::path::PathBuf,
    from: Mailbox,
}

impl PickupDirMailer {
    /// Writes into `dir` (created if missing), as `from`.
    pub fn new(dir: impl Into<std::path::PathBuf>, from: &str) -> Result<Self, SmtpConfigError> {
        let from = from.parse().map_err(|_| SmtpConfigError::From)?;
        Ok(Self { dir: dir.into(), from })
    }

    async fn write(&self, email: &Email) -> Result<(), ChannelError> {
        let message = build_message(&self.from, email)?;
        let name: String = email
            .message_id
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') { c } else { '_' })
            .collect();
        let io =
            |e: std::io::Error| ChannelError::Transient(format!("cannot write to the pickup directory: {}", e.kind()));
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        let temporary = self.dir.join(format!(".{name}.tmp"));
        tokio::fs::write(&temporary, message.formatted()).await.map_err(io)?;
        tokio::fs::rename(&temporary, self.dir.join(format!("{name}.eml"))).await.map_err(io)
    }
}

impl Mailer for PickupDirMailer {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), ChannelError>> {
        self.write(email).boxed()
    }
}
