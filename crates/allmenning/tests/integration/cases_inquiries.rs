//! Inquiries (henvendelser): registered, answered and closed with the time to answer kept;
//! those with archive duty journaled, answered by a letter through post or by a notat. On
//! SQLite and PostgreSQL.

use cases::{CaseError, Channel, InquiryFilter, InquiryStatus, NewInquiry, WRONG_REGISTER_FACT};
use identity::policy::Role;
use kernel::Language;
use registers::synthetic::Persona;

use crate::cases_flow::{demo, documents, employee, pdf_text, person, run_jobs, write_offs};

fn inquiry(channel: Channel, from: Option<cases::Party>, archive_duty: bool) -> NewInquiry {
    NewInquiry {
        channel,
        service_id: Some("barnehageplass".into()),
        category: "barnehage_opptak".into(),
        unit: "barnehage".into(),
        text: "Når får vi svar på søknaden om barnehageplass?".into(),
        from,
        contact: Some("ingrid@example.invalid".into()),
        registered_by: None,
        archive_duty,
        language: Language::Bokmal,
    }
}

#[tokio::test]
async fn cases_an_inquiry_with_archive_duty_is_journaled_and_answered_by_a_letter() {
    let (app, cases, k) = demo().await;
    let noark = app.app.post().archive().clone();
    let id = cases
        .register_inquiry(k, inquiry(Channel::Web, Some(person(Persona::ParentOfNewborn)), true))
        .await
        .expect("registered");
    let registered = cases.inquiry(k, &id).await.expect("read").expect("inquiry");
    assert_eq!(registered.status, InquiryStatus::Registrert);
    assert_eq!(registered.seconds_to_answer(), None);
    let incoming = noark.get(k, registered.journalpost.as_deref().expect("journaled")).await.expect("journalpost");
    assert_eq!(incoming.kode("journalposttype"), Some("I"));
    assert_eq!(incoming.parent_id, registered.saksmappe);
    let text = pdf_text(&documents(&noark, k, &incoming.system_id).await[0].1);
    assert!(text.contains("Når får vi svar"), "{text}");

    let outsider = employee("per", Role::Saksbehandler, "teknisk");
    let refused = cases.answer_inquiry(k, &outsider, &id, "Snart.", Language::Bokmal).await;
    assert!(matches!(refused, Err(CaseError::Forbidden(_))), "{refused:?}");
    let kari = employee("kari", Role::Saksbehandler, "barnehage");
    cases.answer_inquiry(k, &kari, &id, "Du får svar innen fire uker.", Language::Bokmal).await.expect("answered");
    let again = cases.answer_inquiry(k, &kari, &id, "Igjen.", Language::Bokmal).await;
    assert!(matches!(again, Err(CaseError::Conflict(_))), "{again:?}");
    let answered = cases.inquiry(k, &id).await.expect("read").expect("inquiry");
    assert_eq!(answered.status, InquiryStatus::Besvart);
    assert_eq!(answered.answered_by.as_deref(), Some("kari"));
    assert!(answered.seconds_to_answer().is_some(), "time to answer is kept");
    let letter_id = answered.answer_reference.as_deref().and_then(|r| r.strip_prefix("brev:")).expect("a letter");
    let letter = app.app.post().letter(k, letter_id).await.expect("read").expect("letter");
    assert_eq!(letter.case_id, registered.saksmappe, "in the inquiry's saksmappe");
    assert_eq!(letter.answers_journalpost.as_deref(), Some(incoming.system_id.as_str()));
    assert_eq!(write_offs(&noark, k, &incoming.system_id).await, ["BU"]);

    cases.close_inquiry(k, &kari, &id).await.expect("closed");
    let closed = cases.inquiry(k, &id).await.expect("read").expect("inquiry");
    assert_eq!(closed.status, InquiryStatus::Lukket);
    assert!(closed.closed_at.is_some());
    assert!(matches!(cases.close_inquiry(k, &kari, &id).await, Err(CaseError::Conflict(_))));
    let events: Vec<String> = cases.history(k, &id).await.expect("history").into_iter().map(|h| h.event).collect();
    assert_eq!(events, ["henvendelse_registrert", "henvendelse_besvart", "henvendelse_lukket"]);
    run_jobs(&app).await;
}

#[tokio::test]
async fn cases_an_anonymous_inquiry_is_answered_by_a_notat_and_a_wrong_fact_report_reaches_its_unit() {
    let (app, cases, k) = demo().await;
    let noark = app.app.post().archive().clone();
    let kari = employee("kari", Role::Saksbehandler, "barnehage");

    let phone = cases.register_inquiry(k, inquiry(Channel::Phone, None, true)).await.expect("registered");
    cases.answer_inquiry(k, &kari, &phone, "Svar gitt på telefon.", Language::Bokmal).await.expect("answered");
    let answered = cases.inquiry(k, &phone).await.expect("read").expect("inquiry");
    let notat = answered.answer_reference.as_deref().and_then(|r| r.strip_prefix("notat:")).expect("a notat");
    assert_eq!(noark.get(k, notat).await.expect("notat").kode("journalposttype"), Some("X"));
    assert_eq!(write_offs(&noark, k, answered.journalpost.as_deref().expect("journaled")).await, ["BN"]);

    let mut report = inquiry(Channel::Web, Some(person(Persona::ParentOfNewborn)), false);
    report.category = WRONG_REGISTER_FACT.into();
    report.unit = "folkeregister".into();
    report.text = "Adressen som er fylt inn er feil.".into();
    let wrong = cases.register_inquiry(k, report).await.expect("registered");
    let stored = cases.inquiry(k, &wrong).await.expect("read").expect("inquiry");
    assert!(stored.saksmappe.is_none(), "no archive duty, not journaled");
    let listed = cases
        .inquiries(k, &InquiryFilter { category: Some(WRONG_REGISTER_FACT.into()), ..Default::default() })
        .await
        .expect("list");
    assert_eq!(listed.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), [wrong.as_str()]);
    assert_eq!(listed[0].unit, "folkeregister");
    let refused = cases.answer_inquiry(k, &kari, &wrong, "Vi retter det.", Language::Bokmal).await;
    assert!(matches!(refused, Err(CaseError::Forbidden(_))), "not kari's unit: {refused:?}");
    let registrar = employee("siri", Role::Saksbehandler, "folkeregister");
    cases.answer_inquiry(k, &registrar, &wrong, "Vi har meldt feilen videre.", Language::Bokmal).await.expect("ok");
    let open = cases
        .inquiries(k, &InquiryFilter { status: Some(InquiryStatus::Registrert), ..Default::default() })
        .await
        .expect("list");
    assert!(open.is_empty(), "{open:?}");

    let mut empty = inquiry(Channel::Chat, None, false);
    empty.text = " ".into();
    assert!(matches!(cases.register_inquiry(k, empty).await, Err(CaseError::Invalid(_))));
    assert_eq!(cases.inquiries(k, &InquiryFilter::default()).await.expect("list").len(), 2, "nothing stored");
    let figures = cases.inquiry_statistics(k, kernel::Timestamp(0)).await.expect("statistics");
    assert_eq!((figures.registered, figures.answered, figures.closed), (2, 2, 0));
    assert!(figures.median_seconds_to_answer.is_some());
    assert_eq!(figures.by_channel, [("telefon".to_owned(), 1), ("web".to_owned(), 1)]);
    run_jobs(&app).await;
}
