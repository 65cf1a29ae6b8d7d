//! The HTTP SMS gateway against the LINK-shaped simulator over real loopback HTTP.

use post::adapters::sms::{HttpSmsGateway, HttpSmsSettings};
use post::adapters::{Sms, SmsGateway};
use post::simulators::sms::{ReceivedSms, SmsSimulator, SmsSimulatorOptions, serve};

const TOKEN: &str = "test-token";

async fn start(options: SmsSimulatorOptions) -> anyhow::Result<(SmsSimulator, String)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let sim = SmsSimulator::new(SmsSimulatorOptions { token: Some(TOKEN.into()), ..options });
    tokio::spawn(serve(listener, sim.clone()));
    Ok((sim, base))
}

fn gateway(base: &str, token: &str) -> anyhow::Result<HttpSmsGateway> {
    let mut settings = HttpSmsSettings::new(format!("{base}/sms/send"), token);
    settings.timeout_seconds = 5;
    Ok(HttpSmsGateway::new(&settings)?)
}

fn sms(reference: &str, to: &str) -> Sms {
    Sms {
        reference: reference.into(),
        to: to.into(),
        sender: "Bergen".into(),
        text: "Du har fått brev frå Bergen kommune. Logg inn på Min side for å lesa det.".into(),
    }
}

#[tokio::test]
async fn a_message_is_received_once() -> anyhow::Result<()> {
    let (sim, base) = start(SmsSimulatorOptions::default()).await?;

    gateway(&base, TOKEN)?.send(&sms("key-1", "+4791234567")).await?;

    let messages = sim.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.reference.as_deref(), Some("key-1"));
    assert_eq!(message.destination, "+4791234567");
    assert_eq!(message.source, "Bergen");
    assert_eq!(message.text, "Du har fått brev frå Bergen kommune. Logg inn på Min side for å lesa det.");
    assert_eq!(message.repeats, 0);
    Ok(())
}

#[tokio::test]
async fn the_same_reference_twice_is_one_sms() -> anyhow::Result<()> {
    let (sim, base) = start(SmsSimulatorOptions::default()).await?;
    let gateway = gateway(&base, TOKEN)?;

    gateway.send(&sms("key-2", "+4791234567")).await?;
    gateway.send(&sms("key-2", "+4791234567")).await?;
    gateway.send(&sms("key-3", "+4791234567")).await?;

    let messages = sim.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].reference.as_deref(), Some("key-2"));
    assert_eq!(messages[0].repeats, 1);
    assert_eq!(messages[1].repeats, 0);

    // The listing a shell script reads says the same.
    let listed: Vec<serde_json::Value> =
        reqwest::get(format!("{base}/simulator/messages")).await?.error_for_status()?.json().await?;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["reference"], "key-2");
    assert_eq!(listed[0]["repeats"], 1);
    Ok(())
}

#[tokio::test]
async fn a_bad_number_is_permanent_and_not_named() -> anyhow::Result<()> {
    let (sim, base) = start(SmsSimulatorOptions::default()).await?;

    for number in ["91234567", "+46701234567", "+47912345678", ""] {
        let error = gateway(&base, TOKEN)?.send(&sms("key-4", number)).await.expect_err(number);
        assert!(!error.is_transient(), "{number}: {error}");
        assert!(error.to_string().contains("400"), "{error}");
        if !number.is_empty() {
            assert!(!error.to_string().contains(number), "{error}");
        }
    }
    assert_eq!(sim.messages(), Vec::<ReceivedSms>::new());
    Ok(())
}

#[tokio::test]
async fn a_long_sender_or_an_empty_text_is_permanent() -> anyhow::Result<()> {
    let (sim, base) = start(SmsSimulatorOptions::default()).await?;
    let gateway = gateway(&base, TOKEN)?;

    let mut long_sender = sms("key-5", "+4791234567");
    long_sender.sender = "Bergen kommune".into();
    assert!(!gateway.send(&long_sender).await.expect_err("sender").is_transient());
    let mut empty = sms("key-6", "+4791234567");
    empty.text = String::new();
    assert!(!gateway.send(&empty).await.expect_err("text").is_transient());
    assert!(sim.messages().is_empty());
    Ok(())
}

#[tokio::test]
async fn a_gateway_that_is_down_is_transient() -> anyhow::Result<()> {
    // Nothing listens on a port that was free a moment ago.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let error = gateway(&format!("http://127.0.0.1:{port}"), TOKEN)?
        .send(&sms("key-7", "+4791234567"))
        .await
        .expect_err("down");
    assert!(error.is_transient(), "{error}");
    Ok(())
}

#[tokio::test]
async fn a_gateway_that_never_answers_is_transient() -> anyhow::Result<()> {
    // The kernel accepts the connection into the backlog, but no answer ever comes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0")?;
    let mut settings = HttpSmsSettings::new(format!("http://{}/sms/send", silent.local_addr()?), TOKEN);
    settings.timeout_seconds = 1;

    let error = HttpSmsGateway::new(&settings)?.send(&sms("key-10", "+4791234567")).await.expect_err("timeout");

    assert!(error.is_transient(), "{error}");
    assert!(error.to_string().contains("in time"), "{error}");
    Ok(())
}

#[tokio::test]
async fn an_outage_is_transient_and_the_retry_arrives_once() -> anyhow::Result<()> {
    let (sim, base) = start(SmsSimulatorOptions { fail_rate: 1.0, ..Default::default() }).await?;
    let gateway = gateway(&base, TOKEN)?;

    let error = gateway.send(&sms("key-8", "+4791234567")).await.expect_err("503");
    assert!(error.is_transient(), "{error}");
    assert!(error.to_string().contains("503"), "{error}");
    assert!(sim.messages().is_empty());
    assert_eq!(sim.injected_failures(), 1);

    sim.set_fail_rate(0.0);
    gateway.send(&sms("key-8", "+4791234567")).await?;
    gateway.send(&sms("key-8", "+4791234567")).await?;
    assert_eq!(sim.messages().len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_wrong_token_is_not_accepted() -> anyhow::Result<()> {
    let (sim, base) = start(SmsSimulatorOptions::default()).await?;

    let error = gateway(&base, "wrong")?.send(&sms("key-9", "+4791234567")).await.expect_err("401");

    // The municipality's token, not the message: worth trying again once it is renewed.
    assert!(error.is_transient(), "{error}");
    assert!(error.to_string().contains("401"), "{error}");
    assert!(sim.messages().is_empty());
    Ok(())
}

#[tokio::test]
async fn with_failures_injected_every_message_arrives_once_after_retries() -> anyhow::Result<()> {
    let (sim, base) = start(SmsSimulatorOptions { fail_rate: 0.4, seed: Some(2026), ..Default::default() }).await?;
    let gateway = gateway(&base, TOKEN)?;

    for n in 0..20 {
        let message = sms(&format!("key-many-{n}"), "+4791234567");
        let mut tries = 0;
        loop {
            tries += 1;
            match gateway.send(&message).await {
                Ok(()) => break,
                Err(error) if error.is_transient() && tries < 50 => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }

    assert!(sim.injected_failures() > 0);
    let messages = sim.messages();
    assert_eq!(messages.len(), 20);
    assert!(messages.iter().all(|message| message.repeats == 0));
    Ok(())
}
