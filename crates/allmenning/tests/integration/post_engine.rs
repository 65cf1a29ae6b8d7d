//! Digital post end to end in the demo's setting: a letter to each persona goes its own way
//! through the simulators (integrasjonspunkt, SMS gateway, print vendor) and a real SMTP server,
//! is journaled once, and ends in its final status. On SQLite and PostgreSQL.

use std::time::Duration;

use allmenning::config::Mode;
use bytes::Bytes;
use kernel::Kommunenummer;
use post::{Document, NewLetter, Post, PostError, Recipient, Sender, Status};
use registers::synthetic::Persona;

use crate::helpers::{InProcess, TestSettings, test_settings};

fn letter_to(recipient: Recipient, external_ref: &str) -> NewLetter {
    NewLetter {
        sender: Sender { id: "system:test".into(), name: "Testsystemet".into() },
        external_ref: Some(external_ref.to_owned()),
        recipient,
        kind: "informasjon".into(),
        title: "Informasjon om renovasjon".into(),
        sender_unit: "Teknisk drift".into(),
        documents: vec![Document { tittel: "Brev".into(), pdf: Bytes::from(post::testing::minimal_pdf()) }],
        digital_only: false,
        security_level: 3,
        reply_allowed: false,
        case: None,
        answers: None,
        language: None,
    }
}

/// Demo mode (a synthetic municipality with the personas, the channels simulated) with every
/// interval at a second, and e-mail through a real SMTP server (aiosmtpd) on loopback.
async fn settings(smtp: &post::testing::SmtpSink) -> TestSettings {
    let mut settings = test_settings(Mode::Demo).await;
    let post = &mut settings.settings.post;
    post.print_interval_seconds = 1;
    post.receipts_interval_seconds = 1;
    post.poll_interval_seconds = 1;
    post.paper_after_seconds = 2;
    post.organisasjonsnummer.insert("4601".into(), "964338531".into());
    let mut smtp_settings =
        post::adapters::email::SmtpSettings::new("127.0.0.1", "Bergen kommune <post@bergen.invalid>");
    smtp_settings.port = Some(smtp.port());
    smtp_settings.tls = post::adapters::email::SmtpTls::None;
    post.smtp = Some(smtp_settings);
    settings
}

/// Runs the job worker until `done` holds for every letter, or fails after a minute.
async fn run_until(app: &InProcess, post: &Post, k: Kommunenummer, ids: &[String], done: impl Fn(Status) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        app.app.worker().run_until_idle().await.expect("worker runs");
        let mut waiting = Vec::new();
        for id in ids {
            let status = post.letter(k, id).await.expect("letter").expect("exists").status();
            if !done(status) {
                waiting.push((id.clone(), status));
            }
        }
        if waiting.is_empty() {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "letters still on their way: {waiting:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn final_or_delivered(status: Status) -> bool {
    status.is_final() || status == Status::LevertSdp
}

#[tokio::test]
async fn a_letter_to_each_persona_goes_its_own_way_and_arrives_once() {
    let mail_dir = tempfile::tempdir().expect("tempdir");
    let smtp = post::testing::SmtpSink::start(mail_dir.path(), &Default::default()).expect("aiosmtpd starts");
    let app = InProcess::with(settings(&smtp).await).await;
    let post = app.app.post().clone();
    let k = crate::helpers::kommune("4601");

    let mut ids = Vec::new();
    for persona in Persona::ALL {
        let sent = post
            .send(k, letter_to(Recipient::Person(persona.fnr()), &format!("test-{}", persona.name())))
            .await
            .expect("accepted");
        assert!(sent.created);
        assert!(sent.registrerings_id.is_some(), "journaled as it was accepted");
        ids.push((persona, sent.id));
    }
    let id_of = |p: Persona| ids.iter().find(|(q, _)| *q == p).map(|(_, id)| id.clone()).expect("sent");

    // Routing, decided and recorded as it was accepted.
    let maria = post.letter(k, &id_of(Persona::StrengtFortrolig)).await.expect("read").expect("exists");
    assert_eq!(maria.status(), Status::ManueltHandtert);
    assert_eq!(maria.reason.as_deref(), Some("adressebeskyttelse"));
    let tasks = post.tasks(k).await.expect("tasks");
    assert!(tasks.iter().any(|t| t.letter_id == maria.id && t.unit == "Teknisk drift"), "{tasks:?}");
    let arne = post.letter(k, &id_of(Persona::ReservedAgainstDigitalPost)).await.expect("read").expect("exists");
    assert_eq!((arne.channel.as_deref(), arne.reason.as_deref()), (Some("papir"), Some("reservert_i_krr")));
    let ingrid = post.letter(k, &id_of(Persona::ParentOfNewborn)).await.expect("read").expect("exists");
    assert_eq!(ingrid.channel.as_deref(), Some("digital_postkasse"));
    let sofie = post.letter(k, &id_of(Persona::JustMovedIn)).await.expect("read").expect("exists");
    assert_eq!((sofie.channel.as_deref(), sofie.reason.as_deref()), (Some("innboks"), Some("innboks_med_varsel")));

    let all: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
    run_until(&app, &post, k, &all, final_or_delivered).await;

    // The digital mailbox letter reached the integrasjonspunkt and was delivered.
    assert_eq!(post.letter(k, &ingrid.id).await.expect("read").expect("exists").status(), Status::LevertSdp);
    // Arne's letter and the unread inbox letters were printed once each.
    assert_eq!(post.letter(k, &arne.id).await.expect("read").expect("exists").status(), Status::Printet);
    let sofie = post.letter(k, &sofie.id).await.expect("read").expect("exists");
    assert_eq!(sofie.status(), Status::Printet, "unread after the deadline: on paper");
    let history: Vec<String> =
        post.history(k, &sofie.id).await.expect("history").into_iter().map(|e| e.status).collect();
    assert_eq!(history, ["MOTTATT", "AKSEPTERT", "SENDT_DIGITALT", "VARSLET", "SENDT_PRINT", "PRINTET"]);
    let maria_final = post.letter(k, &maria.id).await.expect("read").expect("exists");
    assert_eq!(maria_final.status(), Status::ManueltHandtert, "never moved on");
    let print_dir = app._settings.settings.data_dir.join("post").join("print");
    let mut manifests = Vec::new();
    for entry in walk(&print_dir) {
        if entry.extension().is_some_and(|e| e == "json" || e == "csv") {
            manifests.push(std::fs::read_to_string(&entry).expect("readable"));
        }
    }
    assert!(manifests.iter().any(|m| m.contains("Arne Bakken")), "Arne's letter is in a batch");
    assert!(!manifests.iter().any(|m| m.contains("Maria Berg")), "Maria Berg is in no print file");

    // The e-mail notices arrived at the SMTP server, once per letter, with the delivery key as
    // Message-ID; Arne (reserved) and Per Olsen (SMS only) got none.
    let mails = smtp.messages().expect("mails");
    let mut message_ids: Vec<String> = mails.iter().filter_map(|m| m.header("Message-ID")).collect();
    message_ids.sort();
    let mut expected: Vec<String> = [Persona::JustMovedIn, Persona::DagligLederOfNewBusiness, Persona::NewInNorway]
        .into_iter()
        .map(|p| format!("<{}.epost@", id_of(p)))
        .collect();
    expected.sort();
    assert_eq!(message_ids.len(), expected.len(), "{message_ids:?}");
    for (got, want) in message_ids.iter().zip(&expected) {
        assert!(got.starts_with(want), "{got} vs {want}");
    }
    let oksana = mails
        .iter()
        .find(|m| m.header("Message-ID").is_some_and(|h| h.contains(&id_of(Persona::NewInNorway))))
        .expect("Oksana's notice");
    assert_eq!(oksana.header("Content-Language").as_deref(), Some("en"), "her KRR language");

    // Every letter is in the archive as one outgoing journalpost with exactly the PDF sent.
    for (_, id) in &ids {
        let letter = post.letter(k, id).await.expect("read").expect("exists");
        let bytes = post.document(k, &letter, 0).await.expect("the archived PDF");
        assert_eq!(bytes.as_ref(), post::testing::minimal_pdf().as_slice());
        let journalpost =
            post.archive().get(k, letter.journalpost_id.as_deref().expect("journaled")).await.expect("the journalpost");
        assert_eq!(journalpost.kode("journalposttype"), Some("U"));
        let dispatched = letter.status() != Status::ManueltHandtert;
        assert_eq!(journalpost.kode("journalstatus") == Some("E"), dispatched, "{:?}", letter.status());
    }

    // Sending again with the same reference gives the first letter, not a second one.
    let again = post
        .send(k, letter_to(Recipient::Person(Persona::JustMovedIn.fnr()), "test-Sofie Lunde"))
        .await
        .expect("accepted");
    assert_eq!((again.id.as_str(), again.created), (sofie.id.as_str(), false));
}

#[tokio::test]
async fn bad_input_is_refused_with_the_reason_and_queues_nothing() {
    let mail_dir = tempfile::tempdir().expect("tempdir");
    let smtp = post::testing::SmtpSink::start(mail_dir.path(), &Default::default()).expect("aiosmtpd starts");
    let app = InProcess::with(settings(&smtp).await).await;
    let post = app.app.post().clone();
    let k = crate::helpers::kommune("4601");
    let jobs_before = app.app.db().job_counts().await.expect("counts");

    let mut not_pdf = letter_to(Recipient::Person(Persona::JustMovedIn.fnr()), "bad-1");
    not_pdf.documents[0].pdf = Bytes::from_static(b"GIF89a this is a picture");
    assert!(matches!(post.send(k, not_pdf).await, Err(PostError::Document { index: 0, .. })));

    let mut broken = letter_to(Recipient::Person(Persona::JustMovedIn.fnr()), "bad-2");
    broken.documents.push(Document { tittel: "Vedlegg".into(), pdf: Bytes::from_static(b"%PDF-1.7\nbroken") });
    assert!(matches!(post.send(k, broken).await, Err(PostError::Document { index: 1, .. })));

    let mut level = letter_to(Recipient::Person(Persona::JustMovedIn.fnr()), "bad-3");
    level.security_level = 2;
    assert!(matches!(post.send(k, level).await, Err(PostError::Invalid(_))));

    let mut empty_title = letter_to(Recipient::Person(Persona::JustMovedIn.fnr()), "bad-4");
    empty_title.title = "  ".into();
    assert!(matches!(post.send(k, empty_title).await, Err(PostError::Invalid(_))));

    let stranger =
        (100..400).find_map(|n| kernel::Fnr::synthetic(time::macros::date!(1960 - 01 - 01), n)).expect("a number");
    let unknown = letter_to(Recipient::Person(stranger), "bad-5");
    assert!(matches!(post.send(k, unknown).await, Err(PostError::UnknownRecipient(_))));

    assert!(post.sent_by(k, "system:test", 10).await.expect("list").is_empty(), "nothing was taken");
    assert_eq!(app.app.db().job_counts().await.expect("counts").queued, jobs_before.queued, "nothing was queued");
}

#[tokio::test]
async fn a_channel_that_keeps_failing_leaves_the_letter_undelivered_with_a_task() {
    let mail_dir = tempfile::tempdir().expect("tempdir");
    let smtp = post::testing::SmtpSink::start(mail_dir.path(), &Default::default()).expect("aiosmtpd starts");
    let mut settings = settings(&smtp).await;
    // Nothing listens on the discard port: every try is refused.
    settings.settings.post.integrasjonspunkt.url = "http://127.0.0.1:9".into();
    settings.settings.post.max_attempts = 2;
    let app = InProcess::with(settings).await;
    let post = app.app.post().clone();
    let k = crate::helpers::kommune("4601");
    let sent = post
        .send(k, letter_to(Recipient::Person(Persona::ParentOfNewborn.fnr()), "unreachable"))
        .await
        .expect("accepted");
    assert_eq!(sent.channel.as_deref(), Some("digital_postkasse"));
    run_until(&app, &post, k, std::slice::from_ref(&sent.id), Status::is_final).await;
    let letter = post.letter(k, &sent.id).await.expect("read").expect("exists");
    assert_eq!(letter.status(), Status::IkkeLevert);
    assert!(letter.reason.as_deref().is_some_and(|r| r.contains("2 forsøk")), "{:?}", letter.reason);
    let tasks = post.tasks(k).await.expect("tasks");
    assert!(tasks.iter().any(|t| t.letter_id == sent.id && t.reason == "ikke_levert"), "{tasks:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
