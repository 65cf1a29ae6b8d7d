//! The SMTP mailer against a real SMTP server (aiosmtpd, `scripts/smtp-sink.py`) on loopback.

use std::path::Path;
use std::process::Command;

use anyhow::Context;
use post::adapters::email::{SmtpMailer, SmtpSettings, SmtpTls};
use post::adapters::{Email, Mailer};
use post::testing::{SmtpSink, SmtpSinkOptions};

const SUBJECT: &str = "Du har fått brev frå Øvre Åsen kommune – æøå ÆØÅ";
const BODY: &str = "Hei!\n\nDu har fått eit brev. Logg inn på Min side for å lesa det.\n\nHelsing\nØvre Åsen kommune\n";

fn email(key: &str, to: &str) -> Email {
    Email {
        message_id: format!("{key}@post.ovre-asen.kommune.no"),
        to: to.into(),
        subject: SUBJECT.into(),
        body: BODY.into(),
        language: "nn".into(),
    }
}

fn settings(port: u16) -> SmtpSettings {
    let mut settings = SmtpSettings::new("127.0.0.1", "Øvre Åsen kommune <post@ovre-asen.kommune.no>");
    settings.port = Some(port);
    settings.tls = SmtpTls::None;
    settings.timeout_seconds = 10;
    settings
}

fn start(dir: &Path, options: SmtpSinkOptions) -> anyhow::Result<SmtpSink> {
    SmtpSink::start(&dir.join("mails"), &options).context("start the SMTP sink")
}

#[tokio::test]
async fn a_message_arrives_with_its_headers_and_norwegian_letters() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let sink = start(dir.path(), SmtpSinkOptions::default())?;
    let mailer = SmtpMailer::new(&settings(sink.port()))?;

    mailer.send(&email("0190f0d2-1c1e-7a3b-9d1e-0123456789ab", "kari.nordmann@example.no")).await?;

    let messages = sink.messages()?;
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    let raw = String::from_utf8(message.raw.clone())?;
    assert!(raw.contains("Message-ID: <0190f0d2-1c1e-7a3b-9d1e-0123456789ab@post.ovre-asen.kommune.no>\r\n"), "{raw}");
    assert!(raw.contains("Content-Language: nn\r\n"), "{raw}");
    assert_eq!(message.header("Subject").as_deref(), Some(SUBJECT));
    assert_eq!(message.header("To").as_deref(), Some("kari.nordmann@example.no"));
    assert_eq!(message.header("From").as_deref(), Some("Øvre Åsen kommune <post@ovre-asen.kommune.no>"));
    assert!(raw.contains("Content-Type: text/plain; charset=utf-8\r\n"), "{raw}");
    // Python's decoder gives back the body (SMTP's DATA may add a line end at the end).
    let body = message.body().map(|body| body.replace("\r\n", "\n")).unwrap_or_default();
    assert_eq!(body.trim_end_matches('\n'), BODY.trim_end_matches('\n'));
    assert_eq!(message.decoded["rcpt_tos"], serde_json::json!(["kari.nordmann@example.no"]));
    Ok(())
}

#[tokio::test]
async fn the_same_delivery_twice_carries_the_same_message_id() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let sink = start(dir.path(), SmtpSinkOptions::default())?;
    let mailer = SmtpMailer::new(&settings(sink.port()))?;
    let notice = email("0190f0d2-aaaa-7a3b-9d1e-0123456789ab", "kari.nordmann@example.no");

    mailer.send(&notice).await?;
    mailer.send(&notice).await?;

    let ids: Vec<_> = sink.messages()?.iter().map(|message| message.header("Message-ID")).collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[0].as_deref(), Some("<0190f0d2-aaaa-7a3b-9d1e-0123456789ab@post.ovre-asen.kommune.no>"));
    Ok(())
}

#[tokio::test]
async fn an_unknown_recipient_is_permanent_and_not_named() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let options = SmtpSinkOptions { refuse: vec!["ingen.her@example.no".into()], ..Default::default() };
    let sink = start(dir.path(), options)?;
    let mailer = SmtpMailer::new(&settings(sink.port()))?;

    let error = mailer.send(&email("k1", "ingen.her@example.no")).await.expect_err("550");

    assert!(!error.is_transient(), "{error}");
    assert!(error.to_string().contains("550"), "{error}");
    assert!(!error.to_string().contains("ingen.her"), "{error}");
    assert!(sink.messages()?.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_451_is_transient_and_the_next_try_arrives() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let sink = start(dir.path(), SmtpSinkOptions { fail_first: 1, ..Default::default() })?;
    let mailer = SmtpMailer::new(&settings(sink.port()))?;
    let notice = email("k2", "kari.nordmann@example.no");

    let error = mailer.send(&notice).await.expect_err("451");
    assert!(error.is_transient(), "{error}");
    assert!(error.to_string().contains("451"), "{error}");
    assert!(sink.messages()?.is_empty());

    mailer.send(&notice).await?;
    assert_eq!(sink.messages()?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_refused_connection_is_transient() -> anyhow::Result<()> {
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mailer = SmtpMailer::new(&settings(port))?;

    let error = mailer.send(&email("k3", "kari.nordmann@example.no")).await.expect_err("refused");

    assert!(error.is_transient(), "{error}");
    assert!(!error.to_string().contains("kari"), "{error}");
    Ok(())
}

#[tokio::test]
async fn a_server_that_never_answers_is_transient() -> anyhow::Result<()> {
    // The kernel accepts the connection into the backlog, but no greeting ever comes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0")?;
    let mut settings = settings(silent.local_addr()?.port());
    settings.timeout_seconds = 1;

    let error = SmtpMailer::new(&settings)?.send(&email("k8", "kari.nordmann@example.no")).await.expect_err("timeout");

    assert!(error.is_transient(), "{error}");
    Ok(())
}

#[tokio::test]
async fn a_malformed_address_is_permanent_and_not_named() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let sink = start(dir.path(), SmtpSinkOptions::default())?;
    let mailer = SmtpMailer::new(&settings(sink.port()))?;

    let error = mailer.send(&email("k4", "kari.nordmann.example.no")).await.expect_err("malformed");

    assert!(!error.is_transient(), "{error}");
    assert!(!error.to_string().contains("kari"), "{error}");
    assert!(sink.messages()?.is_empty());
    Ok(())
}

/// A throwaway self-signed certificate for `localhost` (openssl CLI): not a CA, so rustls takes
/// it as the server's own certificate once it is given as the root to trust.
fn self_signed_certificate(dir: &Path) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let config = dir.join("openssl.cnf");
    std::fs::write(
        &config,
        "[req]\ndistinguished_name = dn\nx509_extensions = ext\nprompt = no\n\
         [dn]\nCN = localhost\n\
         [ext]\nbasicConstraints = critical,CA:FALSE\nsubjectAltName = DNS:localhost\n\
         keyUsage = critical,digitalSignature,keyEncipherment\nextendedKeyUsage = serverAuth\n",
    )?;
    let (certificate, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .arg("-config")
        .arg(&config)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&certificate)
        .output()
        .context("run openssl")?;
    anyhow::ensure!(status.status.success(), "openssl: {}", String::from_utf8_lossy(&status.stderr));
    Ok((certificate, key))
}

#[tokio::test]
async fn starttls_with_a_trusted_self_signed_certificate() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (certificate, key) = self_signed_certificate(dir.path())?;
    let sink = start(dir.path(), SmtpSinkOptions { tls: Some((certificate.clone(), key)), ..Default::default() })?;

    // Without the certificate trusted, the handshake fails, and nothing is sent in plain text.
    let mut untrusted = settings(sink.port());
    untrusted.host = "localhost".into();
    untrusted.tls = SmtpTls::StartTls;
    let error = SmtpMailer::new(&untrusted)?
        .send(&email("k5", "kari.nordmann@example.no"))
        .await
        .expect_err("untrusted certificate");
    assert!(error.is_transient(), "{error}");
    assert!(sink.messages()?.is_empty());

    let mut trusted = untrusted.clone();
    trusted.root_certificate_pem = Some(std::fs::read_to_string(&certificate)?);
    SmtpMailer::new(&trusted)?.send(&email("k6", "kari.nordmann@example.no")).await?;
    let messages = sink.messages()?;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].header("Subject").as_deref(), Some(SUBJECT));
    Ok(())
}

#[tokio::test]
async fn plain_text_to_a_server_that_requires_starttls_is_refused() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (certificate, key) = self_signed_certificate(dir.path())?;
    let sink = start(dir.path(), SmtpSinkOptions { tls: Some((certificate, key)), ..Default::default() })?;

    let result = SmtpMailer::new(&settings(sink.port()))?.send(&email("k7", "kari.nordmann@example.no")).await;

    assert!(result.is_err());
    assert!(sink.messages()?.is_empty());
    Ok(())
}
