//! The integrasjonspunkt client against the simulator, over real loopback HTTP: the next-move
//! flow, its repeats after a crash, statuses as they progress, and the errors a delivery engine
//! must tell apart (transient or permanent).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use post::adapters::eformidling::{
    BearerToken, DpiProcess, Integrasjonspunkt, IntegrasjonspunktConfig, standard_business_document,
};
use post::adapters::{ChannelError, DigitalMailbox, MailboxLetter, MailboxStatus};
use post::simulators::integrasjonspunkt::{Behaviour, IntegrasjonspunktSim, ReceivedMessage, serve};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A synthetic (Tenor, month + 80) fødselsnummer.
const RECIPIENT: &str = "20914695016";
const ORGNR: &str = "964338531";

fn pdf(text: &str) -> Bytes {
    Bytes::from(format!("%PDF-1.7\n% {text}\n%%EOF\n"))
}

fn letter() -> MailboxLetter {
    MailboxLetter {
        message_id: uuid::Uuid::now_v7(),
        conversation_id: uuid::Uuid::now_v7(),
        sender_orgnr: ORGNR.to_owned(),
        recipient: RECIPIENT.to_owned(),
        title: "Vedtak om parkeringstillatelse".to_owned(),
        language: "nb".to_owned(),
        security_level: 4,
        pdf: pdf("vedtak"),
        filename: "vedtak.pdf".to_owned(),
        attachments: vec![("klagerett.pdf".to_owned(), pdf("klagerett"))],
    }
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Quick enough for tests: delivered after 40 ms, read 40 ms later.
fn quick() -> Behaviour {
    Behaviour {
        deliver_after: Duration::from_millis(40),
        read_after: Some(Duration::from_millis(40)),
        ..Behaviour::reliable()
    }
}

async fn spawn_sim(behaviour: Behaviour) -> (Arc<IntegrasjonspunktSim>, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the simulator");
    let base_url = format!("http://{}", listener.local_addr().expect("the simulator's address"));
    let sim = Arc::new(IntegrasjonspunktSim::new(behaviour));
    tokio::spawn(serve(listener, sim.clone()));
    (sim, base_url)
}

fn client_with(base_url: &str, configure: impl FnOnce(&mut IntegrasjonspunktConfig)) -> Integrasjonspunkt {
    let mut config = IntegrasjonspunktConfig::new(base_url);
    config.timeout = Duration::from_secs(5);
    configure(&mut config);
    Integrasjonspunkt::new(config).expect("a client")
}

fn client(base_url: &str) -> Integrasjonspunkt {
    client_with(base_url, |_| {})
}

/// Polls the status until `wanted` (or fails after five seconds), checking that it never goes
/// back to an earlier stage on the way.
async fn wait_for(client: &Integrasjonspunkt, message_id: uuid::Uuid, wanted: &MailboxStatus) {
    let stage = |s: &MailboxStatus| match s {
        MailboxStatus::Unknown => 0,
        MailboxStatus::InTransit => 1,
        MailboxStatus::Delivered => 2,
        MailboxStatus::Read | MailboxStatus::Failed(_) => 3,
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut highest = 0;
    loop {
        let status = client.status(message_id).await.expect("a status");
        assert!(stage(&status) >= highest, "the status went back to {status:?}");
        highest = stage(&status);
        if &status == wanted {
            return;
        }
        assert!(Instant::now() < deadline, "still {status:?}, waiting for {wanted:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn only_message(sim: &IntegrasjonspunktSim) -> ReceivedMessage {
    let messages = sim.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    messages.into_iter().next().expect("one message")
}

fn assert_complete(message: &ReceivedMessage, letter: &MailboxLetter) {
    assert_eq!(message.message_id, letter.message_id);
    assert_eq!(message.conversation_id, letter.conversation_id);
    assert_eq!(message.receiver, letter.recipient);
    assert_eq!(message.title, letter.title);
    assert!(message.sent, "{message:?}");
    let files: Vec<(&str, Option<&str>, u64, &str)> =
        message.files.iter().map(|f| (f.filename.as_str(), f.title.as_deref(), f.size, f.sha256.as_str())).collect();
    let main_sha = sha256(&letter.pdf);
    let attachment_sha = sha256(&letter.attachments[0].1);
    assert_eq!(
        files,
        [
            ("vedtak.pdf", Some("Vedtak om parkeringstillatelse"), letter.pdf.len() as u64, main_sha.as_str()),
            ("klagerett.pdf", Some("klagerett"), letter.attachments[0].1.len() as u64, attachment_sha.as_str()),
        ]
    );
    assert!(message.files.iter().all(|f| f.content_type == "application/pdf"));
}

#[tokio::test]
async fn a_letter_is_in_transit_then_delivered_then_read() {
    // Long enough that "in transit" is still seen on a busy machine; the polling ends at once.
    let (sim, base_url) = spawn_sim(Behaviour { deliver_after: Duration::from_millis(300), ..quick() }).await;
    let client = client_with(&base_url, |c| c.opening_receipt = true);
    let letter = letter();

    assert_eq!(client.status(letter.message_id).await, Ok(MailboxStatus::Unknown));
    client.send(&letter).await.expect("sent");
    assert_eq!(client.status(letter.message_id).await, Ok(MailboxStatus::InTransit));
    wait_for(&client, letter.message_id, &MailboxStatus::Delivered).await;
    wait_for(&client, letter.message_id, &MailboxStatus::Read).await;

    let message = only_message(&sim);
    assert_complete(&message, &letter);
    assert_eq!((message.times_created, message.times_sent), (1, 1));
    assert_eq!(message.status, "LEST");
    assert_eq!(message.process, DpiProcess::Vedtak.identifier());
}

#[tokio::test]
async fn without_an_opening_receipt_a_letter_is_never_read() {
    let behaviour = Behaviour {
        deliver_after: Duration::from_millis(20),
        read_after: Some(Duration::ZERO),
        ..Behaviour::reliable()
    };
    let (sim, base_url) = spawn_sim(behaviour).await;
    let client = client(&base_url);
    let letter = letter();

    client.send(&letter).await.expect("sent");
    wait_for(&client, letter.message_id, &MailboxStatus::Delivered).await;
    // The read receipt would be due at once if one had been asked for.
    assert_eq!(client.status(letter.message_id).await, Ok(MailboxStatus::Delivered));
    assert_eq!(only_message(&sim).status, "LEVERT");
}

#[tokio::test]
async fn the_same_letter_sent_twice_is_one_message() {
    let (sim, base_url) = spawn_sim(quick()).await;
    let client = client(&base_url);
    let letter = letter();

    client.send(&letter).await.expect("sent");
    client.send(&letter).await.expect("sent again: no error, and no second message");

    let message = only_message(&sim);
    assert_complete(&message, &letter);
    assert_eq!((message.times_created, message.times_sent), (2, 1), "the repeat stops at create");
    wait_for(&client, letter.message_id, &MailboxStatus::Delivered).await;
}

/// The first steps of the flow as a client that crashed before sending would have left them.
async fn create_and_upload_main_document(base_url: &str, letter: &MailboxLetter, upload: bool) {
    let http = reqwest::Client::new();
    let sbd = standard_business_document(letter, DpiProcess::Vedtak, false, OffsetDateTime::now_utc());
    let created = http.post(format!("{base_url}/api/messages/out")).json(&sbd).send().await.expect("create");
    assert_eq!(created.status(), 200, "{:?}", created.text().await);
    if upload {
        let uploaded = http
            .put(format!("{base_url}/api/messages/out/{}", letter.message_id))
            .query(&[("title", letter.title.as_str())])
            .header("Content-Type", "application/pdf")
            .header("Content-Disposition", "attachment; filename=\"vedtak.pdf\"")
            .body(letter.pdf.clone())
            .send()
            .await
            .expect("upload");
        assert_eq!(uploaded.status(), 200, "{:?}", uploaded.text().await);
    }
}

#[tokio::test]
async fn a_crash_after_create_and_one_upload_is_finished_by_the_next_try() {
    let (sim, base_url) = spawn_sim(quick()).await;
    let letter = letter();
    create_and_upload_main_document(&base_url, &letter, true).await;
    assert!(!only_message(&sim).sent);

    client(&base_url).send(&letter).await.expect("the next try finishes the draft");

    let message = only_message(&sim);
    assert_complete(&message, &letter);
    assert_eq!((message.times_created, message.times_sent), (2, 1));
}

#[tokio::test]
async fn a_crash_right_after_create_is_finished_by_the_next_try() {
    let (sim, base_url) = spawn_sim(quick()).await;
    let letter = letter();
    create_and_upload_main_document(&base_url, &letter, false).await;

    let client = client(&base_url);
    client.send(&letter).await.expect("the next try finishes the draft");
    client.send(&letter).await.expect("and a third is harmless");

    let message = only_message(&sim);
    assert_complete(&message, &letter);
    assert_eq!((message.times_created, message.times_sent), (3, 1));
}

#[tokio::test]
async fn a_letter_the_provider_refuses_fails_with_the_reason() {
    let behaviour = Behaviour { fail_rate: 1.0, ..quick() };
    let (_sim, base_url) = spawn_sim(behaviour).await;
    let client = client(&base_url);
    let letter = letter();

    client.send(&letter).await.expect("the integrasjonspunkt takes it");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match client.status(letter.message_id).await.expect("a status") {
            MailboxStatus::Failed(reason) => {
                assert!(reason.starts_with("FEIL: ") && reason.contains("avviste"), "{reason}");
                break;
            }
            MailboxStatus::InTransit => {}
            other => panic!("expected Failed, got {other:?}"),
        }
        assert!(Instant::now() < deadline, "never failed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_stalled_integrasjonspunkt_is_a_transient_timeout() {
    let behaviour = Behaviour { timeout_rate: 1.0, stall: Duration::from_secs(30), ..quick() };
    let (_sim, base_url) = spawn_sim(behaviour).await;
    let client = client_with(&base_url, |c| c.timeout = Duration::from_millis(150));
    let letter = letter();

    match client.send(&letter).await {
        Err(ChannelError::Transient(text)) => assert!(text.contains("timed out"), "{text}"),
        other => panic!("expected a transient timeout, got {other:?}"),
    }
    assert!(matches!(client.status(letter.message_id).await, Err(ChannelError::Transient(_))));
}

#[tokio::test]
async fn a_refused_receiver_is_permanent_and_the_error_has_no_number() {
    let (sim, base_url) = spawn_sim(quick()).await;
    let client = client(&base_url);
    for recipient in ["2091469501", "209146950160", "2091469501X"] {
        let letter = MailboxLetter { recipient: recipient.to_owned(), ..letter() };
        match client.send(&letter).await {
            Err(ChannelError::Permanent(text)) => {
                assert!(text.contains("400") && text.contains("receiver"), "{text}");
                assert!(!text.contains(recipient), "the number leaked: {text}");
                assert!(!text.contains("2091469501"), "part of the number leaked: {text}");
            }
            other => panic!("expected a permanent refusal, got {other:?}"),
        }
    }
    assert!(sim.messages().is_empty());
}

#[tokio::test]
async fn only_pdf_is_accepted() {
    let (sim, base_url) = spawn_sim(quick()).await;
    let letter =
        MailboxLetter { attachments: vec![("notat.txt".to_owned(), Bytes::from_static(b"just text"))], ..letter() };

    match client(&base_url).send(&letter).await {
        Err(ChannelError::Permanent(text)) => assert!(text.contains("InvalidContentTypeException"), "{text}"),
        other => panic!("expected a permanent refusal, got {other:?}"),
    }
    assert!(!only_message(&sim).sent);
}

#[tokio::test]
async fn an_html_502_is_transient() {
    let gateway = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::BAD_GATEWAY,
            [("content-type", "text/html")],
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, gateway).await });
    let client = client(&base_url);
    let letter = letter();

    match client.send(&letter).await {
        Err(ChannelError::Transient(text)) => assert!(text.contains("502") && text.contains("text/html"), "{text}"),
        other => panic!("expected a transient error, got {other:?}"),
    }
    assert!(matches!(client.status(letter.message_id).await, Err(ChannelError::Transient(_))));
}

#[tokio::test]
async fn nobody_listening_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);

    match client(&base_url).send(&letter()).await {
        Err(ChannelError::Transient(text)) => assert!(text.contains("could not connect"), "{text}"),
        other => panic!("expected a transient error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_sbd_sent_is_the_documented_one() {
    let (sim, base_url) = spawn_sim(quick()).await;
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/eformidling/sbd-digital.json")).expect("the fixture is JSON");
    let letter = MailboxLetter {
        message_id: "0193a1f2-7c00-7000-8000-000000000001".parse().expect("uuid"),
        conversation_id: "0193a1f2-7c00-7000-8000-0000000000c1".parse().expect("uuid"),
        ..letter()
    };
    let before = OffsetDateTime::now_utc() - Duration::from_secs(1);
    client(&base_url).send(&letter).await.expect("sent");
    let mut sent = only_message(&sim).sbd;

    // The two fields that follow the clock: check them, then take the fixture's.
    let identification = "/standardBusinessDocumentHeader/documentIdentification/creationDateAndTime";
    let created = sent.pointer(identification).and_then(|v| v.as_str()).expect("creationDateAndTime");
    let created = OffsetDateTime::parse(created, &Rfc3339).expect("RFC 3339");
    assert!(created >= before && created <= OffsetDateTime::now_utc(), "{created}");
    let virkningsdato = sent.pointer("/digital/digitalPostInfo/virkningsdato").and_then(|v| v.as_str()).expect("date");
    assert_eq!(virkningsdato, OffsetDateTime::now_utc().date().to_string());
    *sent.pointer_mut(identification).expect("present") = fixture.pointer(identification).expect("in fixture").clone();
    *sent.pointer_mut("/digital/digitalPostInfo/virkningsdato").expect("present") =
        fixture.pointer("/digital/digitalPostInfo/virkningsdato").expect("in fixture").clone();

    assert_eq!(sent, fixture, "sent:\n{}", serde_json::to_string_pretty(&sent).unwrap_or_default());
}

#[tokio::test]
async fn the_info_process_can_be_chosen() {
    let (sim, base_url) = spawn_sim(quick()).await;
    client_with(&base_url, |c| c.process = DpiProcess::Info).send(&letter()).await.expect("sent");
    assert_eq!(only_message(&sim).process, "urn:no:difi:profile:digitalpost:info:ver1.0");
}

#[tokio::test]
async fn a_script_can_count_deliveries_over_http() {
    let (_sim, base_url) = spawn_sim(quick()).await;
    let client = client(&base_url);
    let first = letter();
    let second = letter();
    for letter in [&first, &first, &second] {
        client.send(letter).await.expect("sent");
    }

    let listed: serde_json::Value =
        reqwest::get(format!("{base_url}/simulator/messages")).await.expect("listed").json().await.expect("JSON");
    let listed = listed.as_array().expect("a list");
    assert_eq!(listed.len(), 2);
    let first_listed =
        listed.iter().find(|m| m["message_id"] == first.message_id.to_string()).expect("the first letter");
    assert_eq!(first_listed["times_created"], 2);
    assert_eq!(first_listed["sent"], true);
    assert_eq!(first_listed["files"].as_array().map(Vec::len), Some(2));
    assert_eq!(first_listed["files"][0]["sha256"], sha256(&first.pdf));
}

#[tokio::test]
async fn the_simulator_refuses_a_send_before_the_main_document() {
    let (_sim, base_url) = spawn_sim(quick()).await;
    let letter = letter();
    create_and_upload_main_document(&base_url, &letter, false).await;

    let answer = reqwest::Client::new()
        .post(format!("{base_url}/api/messages/out/{}", letter.message_id))
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status(), 400);
    let body: serde_json::Value = answer.json().await.expect("the error JSON");
    assert_eq!(body["exception"], "no.difi.meldingsutveksling.exceptions.MissingFileException");
    assert_eq!(body["status"], 400);
    assert_eq!(body["path"], format!("/api/messages/out/{}", letter.message_id));
}

#[tokio::test]
async fn two_files_with_one_name_are_refused_before_anything_is_sent() {
    let (sim, base_url) = spawn_sim(quick()).await;
    let letter = MailboxLetter { attachments: vec![("vedtak.pdf".to_owned(), pdf("another"))], ..letter() };

    match client(&base_url).send(&letter).await {
        Err(ChannelError::Permanent(text)) => assert!(text.contains("two files named"), "{text}"),
        other => panic!("expected a permanent refusal, got {other:?}"),
    }
    assert!(sim.messages().is_empty());
}

#[tokio::test]
async fn files_over_the_size_limit_are_refused() {
    let (sim, base_url) = spawn_sim(Behaviour { max_total_bytes: 40, ..quick() }).await;

    match client(&base_url).send(&letter()).await {
        Err(ChannelError::Permanent(text)) => assert!(text.contains("MaxFileSizeExceededException"), "{text}"),
        other => panic!("expected a permanent refusal, got {other:?}"),
    }
    assert!(!only_message(&sim).sent);
}

#[tokio::test]
async fn the_bearer_token_is_sent() {
    let guarded = axum::Router::new().route(
        "/api/statuses/{message_id}",
        axum::routing::get(|headers: axum::http::HeaderMap| async move {
            if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer s3cret") {
                (axum::http::StatusCode::OK, axum::Json(serde_json::json!({ "content": [] })))
            } else {
                (
                    axum::http::StatusCode::UNAUTHORIZED,
                    axum::Json(serde_json::json!({ "status": 401, "error": "Unauthorized", "message": "Full authentication is required" })),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, guarded).await });
    let message_id = uuid::Uuid::now_v7();

    let with_token = client_with(&base_url, |c| c.bearer_token = Some(BearerToken::new("s3cret")));
    assert_eq!(with_token.status(message_id).await, Ok(MailboxStatus::Unknown));
    assert!(!format!("{with_token:?}").contains("s3cret"));
    match client(&base_url).status(message_id).await {
        Err(ChannelError::Permanent(text)) => {
            assert!(text.contains("401") && text.contains("Full authentication"), "{text}")
        }
        other => panic!("expected a permanent refusal, got {other:?}"),
    }
}
