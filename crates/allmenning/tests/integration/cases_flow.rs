//! Case handling end to end in the demo's setting: an application becomes a saksmappe with an
//! incoming journalpost holding the submission as PDF/A, a receipt letter and — by rules or by a
//! caseworker — a decision letter journaled as outgoing; information requests, appeals, the
//! policy and the access log, the provisional-reply flag. On SQLite and PostgreSQL.

use allmenning::config::Mode;
use bytes::Bytes;
use cases::{
    Attachment, AutomatedOutcome, CaseError, Cases, DecisionMode, FiredRule, NewAppeal, NewApplication, NewDecision,
    Outcome, Party, QueueFilter, RuleResult, ServiceInfo, Status,
};
use identity::employees::Employee;
use identity::policy::{Role, RoleGrant};
use kernel::{Kommunenummer, Language};
use registers::synthetic::Persona;

use crate::helpers::{InProcess, kommune, test_settings};

pub(crate) fn employee(id: &str, role: Role, unit: &str) -> Employee {
    Employee {
        id: id.to_owned(),
        subject: id.to_owned(),
        name: format!("Ansatt {id}"),
        email: None,
        active: true,
        roles: vec![RoleGrant { role, unit: unit.to_owned() }],
    }
}

pub(crate) fn person(persona: Persona) -> Party {
    Party::Person { fnr: persona.fnr(), name: persona.name().to_owned() }
}

fn today() -> time::Date {
    kernel::time::today_in_norway()
}

fn days(n: i64) -> time::Date {
    today() + time::Duration::days(n)
}

pub(crate) fn application(key: &str, mode: DecisionMode, automated: Option<AutomatedOutcome>) -> NewApplication {
    let ingrid = Persona::ParentOfNewborn;
    NewApplication {
        idempotency_key: key.to_owned(),
        service: ServiceInfo {
            id: "barnehageplass".into(),
            version: "1".into(),
            title: "barnehageplass".into(),
            area: "barnehage-skole".into(),
            unit: "barnehage".into(),
            classification: Some("A10".into()),
            screening: None,
            decision_mode: mode,
            deadline: days(60),
            legal_basis: "barnehageloven § 16".into(),
            appeal_body: Some("Statsforvalteren i Vestland".into()),
            receipt: None,
        },
        applicant: person(ingrid),
        submitted_by: (ingrid.fnr(), ingrid.name().to_owned()),
        subject: None,
        language: Language::Bokmal,
        title: "Søknad om barnehageplass for Emma Solberg".into(),
        public_title: "Søknad om barnehageplass".into(),
        sections: vec![render::Section {
            heading: "Ønsket plass".into(),
            rows: vec![
                ("Barnehage".into(), "Solsikken barnehage".into()),
                ("Ønsket oppstart".into(), "august 2027".into()),
            ],
        }],
        attachments: vec![Attachment {
            title: "Legeerklæring".into(),
            mime_type: "application/pdf".into(),
            filename: "legeerklaering.pdf".into(),
            bytes: Bytes::from(post::testing::minimal_pdf()),
        }],
        automated,
    }
}

fn rules(result: RuleResult) -> AutomatedOutcome {
    AutomatedOutcome {
        result,
        fired: vec![FiredRule {
            id: "alder".into(),
            explanation: "Emma fyller ett år før 1. september, så hun har rett til plass.".into(),
        }],
        vedtak_text: "Du får plass i Solsikken barnehage fra august.".into(),
        reasons_text: "Vi har sett på søknaden din etter reglene for opptak.".into(),
    }
}

pub(crate) fn pdf_text(pdf: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("pdftotext")
        .args(["-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("pdftotext (poppler-utils) is installed");
    child.stdin.take().expect("stdin").write_all(pdf).expect("write");
    let output = child.wait_with_output().expect("pdftotext runs");
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The files of a journalpost's documents, in order, with their dokumentbeskrivelse's title.
pub(crate) async fn documents(noark: &archive::Noark, k: Kommunenummer, journalpost: &str) -> Vec<(String, Bytes)> {
    let mut files = Vec::new();
    for description in noark.children(k, journalpost, &["dokumentbeskrivelse"], 0, 100).await.expect("documents") {
        let title = description.text("tittel").unwrap_or_default().to_owned();
        for object in noark.children(k, &description.system_id, &["dokumentobjekt"], 0, 10).await.expect("objects") {
            let (_, bytes) = noark.file(k, &object.system_id).await.expect("file").expect("stored");
            files.push((title.clone(), bytes));
        }
    }
    files
}

/// The avskrivningsmaate codes of a journalpost's write-offs.
pub(crate) async fn write_offs(noark: &archive::Noark, k: Kommunenummer, journalpost: &str) -> Vec<String> {
    noark
        .children(k, journalpost, &["avskrivning"], 0, 10)
        .await
        .expect("write-offs")
        .iter()
        .filter_map(|a| a.kode("avskrivningsmaate").map(str::to_owned))
        .collect()
}

pub(crate) async fn run_jobs(app: &InProcess) {
    app.app.worker().run_until_idle().await.expect("worker runs");
    let dead = app.db().dead_jobs().await.expect("dead jobs");
    assert!(dead.is_empty(), "no job may fail for good: {dead:?}");
}

pub(crate) async fn demo() -> (InProcess, Cases, Kommunenummer) {
    let app = InProcess::with(test_settings(Mode::Demo).await).await;
    let cases = app.app.cases().clone();
    (app, cases, kommune("4601"))
}

#[tokio::test]
async fn cases_a_submission_is_journaled_with_its_answers_as_pdf_and_gets_one_receipt_letter() {
    let (app, cases, k) = demo().await;
    let noark = app.app.post().archive().clone();

    let first = cases.submit(k, application("dobbeltklikk-1", DecisionMode::Manual, None)).await.expect("received");
    assert!(first.created);
    assert_eq!(first.status, Status::Mottatt);
    let again = cases.submit(k, application("dobbeltklikk-1", DecisionMode::Manual, None)).await.expect("again");
    assert!(!again.created, "a replayed submission gives the first case back");
    assert_eq!(again.case_id, first.case_id);
    assert_eq!(cases.for_party(k, &person(Persona::ParentOfNewborn)).await.expect("list").len(), 1);

    let case = cases.case(k, &first.case_id).await.expect("read").expect("exists");
    assert_eq!(case.mappe_id, first.mappe_id);
    let saksmappe = noark.get(k, &case.saksmappe).await.expect("saksmappe");
    assert_eq!(saksmappe.text("mappeID"), Some(case.mappe_id.as_str()));
    // Filed under the klasse the service names (the demo's archive has the catalogue's K-koder).
    let klasse = noark.get(k, saksmappe.parent_id.as_deref().expect("a parent")).await.expect("klasse");
    assert_eq!((klasse.entity.name, klasse.text("klasseID")), ("klasse", Some("A10")));
    let journalpost = noark.get(k, &case.journalpost).await.expect("journalpost");
    assert_eq!(journalpost.kode("journalposttype"), Some("I"));
    assert_eq!(journalpost.parent_id.as_deref(), Some(case.saksmappe.as_str()));
    let files = documents(&noark, k, &case.journalpost).await;
    assert_eq!(files.len(), 2, "the submission and its attachment");
    let text = pdf_text(&files[0].1);
    assert!(text.contains("Solsikken barnehage") && text.contains("august 2027"), "{text}");
    // Rendered before the case's transaction, the submission carries no case number; the archive
    // and the receipt letter do.
    assert!(!text.contains(&case.mappe_id), "the submission is rendered before the case is numbered: {text}");
    assert!(files[0].1.windows(6).any(|w| w == b"pdfaid"), "PDF/A metadata");
    assert_eq!(files[1].0, "Legeerklæring");
    assert_eq!(files[1].1, Bytes::from(post::testing::minimal_pdf()));

    run_jobs(&app).await;
    let case = cases.case(k, &first.case_id).await.expect("read").expect("exists");
    let receipt = case.receipt_letter.clone().expect("a receipt letter was sent");
    let letter = app.app.post().letter(k, &receipt).await.expect("read").expect("letter");
    assert_eq!(letter.kind, "kvittering");
    assert_eq!(letter.case_id.as_deref(), Some(case.saksmappe.as_str()), "in the same saksmappe");
    assert_eq!(letter.external_ref.as_deref(), Some(format!("kvittering:{}", case.id).as_str()));
    let receipt_text = pdf_text(&app.app.post().document(k, &letter, 0).await.expect("pdf"));
    assert!(receipt_text.contains(&case.mappe_id), "{receipt_text}");

    // The unit's queue and Min side show it, without the title that names the child.
    let queue =
        cases.queue(k, &QueueFilter { unit: Some("barnehage".into()), ..QueueFilter::default() }).await.expect("queue");
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].public_title, "Søknad om barnehageplass");
    let other_unit = cases.queue(k, &QueueFilter { unit: Some("teknisk".into()), ..QueueFilter::default() }).await;
    assert!(other_unit.expect("queue").is_empty());
    let history: Vec<String> =
        cases.history(k, &case.id).await.expect("history").into_iter().map(|h| h.event).collect();
    assert_eq!(history, ["mottatt", "kvittering_sendt"]);
}

#[tokio::test]
async fn cases_bad_input_is_refused_and_nothing_is_stored() {
    let (_app, cases, k) = demo().await;
    let mut empty_title = application("feil-1", DecisionMode::Manual, None);
    empty_title.title = "   ".into();
    let mut past_deadline = application("feil-2", DecisionMode::Manual, None);
    past_deadline.service.deadline = days(-1);
    let mut no_sections = application("feil-3", DecisionMode::Manual, None);
    no_sections.sections.clear();
    let mut control = application("feil-4", DecisionMode::Manual, None);
    control.public_title = "Søknad\u{0}".into();
    let mut empty_attachment = application("feil-5", DecisionMode::Manual, None);
    empty_attachment.attachments[0].bytes = Bytes::new();
    for bad in [empty_title, past_deadline, no_sections, control, empty_attachment] {
        let error = cases.submit(k, bad).await.expect_err("refused");
        assert!(matches!(error, CaseError::Invalid(_)), "{error:?}");
        assert_eq!(error.kind(), kernel::ErrorKind::Invalid);
    }
    assert!(cases.for_party(k, &person(Persona::ParentOfNewborn)).await.expect("list").is_empty());
}

#[tokio::test]
async fn cases_an_automated_grant_is_decided_at_once_and_its_letter_explains_the_rules() {
    let (app, cases, k) = demo().await;
    let noark = app.app.post().archive().clone();
    let submitted = cases
        .submit(k, application("auto-1", DecisionMode::Automatic, Some(rules(RuleResult::Grant))))
        .await
        .expect("received");
    assert_eq!(submitted.status, Status::VedtakFattet);
    let decision = cases.decision(k, &submitted.case_id).await.expect("read").expect("decided");
    assert!(decision.automated);
    assert_eq!(decision.decided_by, "system");
    assert_eq!(decision.outcome, "innvilget");
    assert_eq!(decision.fired()[0].id, "alder");

    run_jobs(&app).await;
    let decision = cases.decision(k, &submitted.case_id).await.expect("read").expect("decided");
    let letter_id = decision.letter_id.clone().expect("the decision letter was sent");
    let sent_on = decision.letter_sent_on.as_deref().and_then(|d| time::Date::parse(d, &DATE).ok()).expect("sent on");
    let deadline = decision.appeal_deadline.as_deref().and_then(|d| time::Date::parse(d, &DATE).ok()).expect("due");
    assert_eq!(deadline - sent_on, time::Duration::days(21), "three weeks to appeal (fvl. § 29)");

    let post = app.app.post();
    let letter = post.letter(k, &letter_id).await.expect("read").expect("letter");
    assert_eq!(letter.kind, "vedtak");
    assert_eq!(letter.external_ref.as_deref(), Some(format!("vedtak:{}", decision.id).as_str()));
    let case = cases.case(k, &submitted.case_id).await.expect("read").expect("case");
    assert_eq!(letter.case_id.as_deref(), Some(case.saksmappe.as_str()));
    let outgoing = noark.get(k, letter.journalpost_id.as_deref().expect("journaled")).await.expect("journalpost");
    assert_eq!(outgoing.kode("journalposttype"), Some("U"));
    assert_eq!(write_offs(&noark, k, &case.journalpost).await, ["BU"], "the application is answered by the letter");
    let text = pdf_text(&post.document(k, &letter, 0).await.expect("pdf"));
    assert!(text.contains("Emma fyller ett år"), "the fired rule is explained: {text}");
    assert!(text.contains("Statsforvalteren i Vestland"), "the appeal body: {text}");
    assert!(text.contains("barnehageloven § 16"), "{text}");

    // Running the jobs again sends nothing more; nor does a receipt job run again after a crash
    // that lost the letter's id (the external reference finds the letter already sent).
    run_jobs(&app).await;
    let receipt = case.receipt_letter.clone().expect("receipt sent");
    app.db()
        .municipal(k)
        .execute(
            "UPDATE cases SET receipt_letter = NULL WHERE kommunenummer = $1 AND id = $2",
            &store::params![case.id.as_str()],
        )
        .await
        .expect("forget the receipt");
    app.db()
        .enqueue(&store::jobs::NewJob::new(cases::jobs::RECEIPT, serde_json::json!({ "case": case.id })).for_kommune(k))
        .await
        .expect("enqueued");
    run_jobs(&app).await;
    let again = cases.case(k, &case.id).await.expect("read").expect("case");
    assert_eq!(again.receipt_letter.as_deref(), Some(receipt.as_str()), "the same letter");
    let letters = post.sent_by(k, "system:cases", 100).await.expect("letters");
    assert_eq!(letters.iter().filter(|l| l.kind == "vedtak").count(), 1);
    assert_eq!(letters.iter().filter(|l| l.kind == "kvittering").count(), 1);
}

const DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

#[tokio::test]
async fn cases_an_automated_rejection_under_review_waits_til_kontroll_and_a_leader_decides_it() {
    let (app, cases, k) = demo().await;
    let submitted = cases
        .submit(
            k,
            application("kontroll-1", DecisionMode::AutomaticWithReviewOfRejections, Some(rules(RuleResult::Reject))),
        )
        .await
        .expect("received");
    assert_eq!(submitted.status, Status::TilKontroll);
    run_jobs(&app).await;
    assert!(cases.decision(k, &submitted.case_id).await.expect("read").is_none(), "no decision yet");
    let case = cases.case(k, &submitted.case_id).await.expect("read").expect("case");
    assert!(case.automated_proposal.is_some(), "the rules' proposal is kept for the reviewer");
    let queue = cases
        .queue(
            k,
            &QueueFilter { unit: Some("barnehage".into()), status: Some(Status::TilKontroll), ..Default::default() },
        )
        .await
        .expect("queue");
    assert_eq!(queue.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [submitted.case_id.as_str()]);
    let letters = app.app.post().sent_by(k, "system:cases", 100).await.expect("letters");
    assert!(letters.iter().all(|l| l.kind != "vedtak"), "no decision letter");

    let decision = NewDecision {
        outcome: Outcome::Grant,
        vedtak: "Du får plass i Solsikken barnehage.".into(),
        reasons: "Ved kontroll fant vi at Emma har rett til plass.".into(),
        legal_basis: "barnehageloven § 16".into(),
        appeal_body: None,
    };
    let other_unit = employee("per", Role::Saksbehandler, "helse");
    let refused = cases.decide(k, &other_unit, &submitted.case_id, decision.clone()).await.expect_err("not their unit");
    assert!(matches!(refused, CaseError::Forbidden(_)), "{refused:?}");
    let kari = employee("kari", Role::Saksbehandler, "barnehage");
    let decided = cases.decide(k, &kari, &submitted.case_id, decision.clone()).await.expect("decided");
    let ola = employee("ola", Role::Leder, "barnehage");
    let twice = cases.decide(k, &ola, &submitted.case_id, decision).await.expect_err("once");
    assert!(matches!(twice, CaseError::Conflict(_)), "{twice:?}");
    run_jobs(&app).await;
    let stored = cases.decision(k, &submitted.case_id).await.expect("read").expect("decided");
    assert_eq!(stored.id, decided.decision_id);
    assert_eq!(stored.decided_by, "ansatt:kari");
    assert!(!stored.automated);
    assert_eq!(stored.appeal_body.as_deref(), Some("Statsforvalteren i Vestland"), "the service's appeal body");
    let letter = app.app.post().letter(k, stored.letter_id.as_deref().expect("sent")).await.expect("read").expect("l");
    assert_eq!(letter.kind, "vedtak");
    assert_eq!(cases.case(k, &submitted.case_id).await.expect("read").expect("case").status, Status::VedtakFattet);
    cases.close(k, &kari, &submitted.case_id).await.expect("closed");
    assert_eq!(cases.case(k, &submitted.case_id).await.expect("read").expect("case").status, Status::Avsluttet);
    let reopen = cases.close(k, &kari, &submitted.case_id).await;
    assert!(matches!(reopen, Err(CaseError::Conflict(_))), "{reopen:?}");
}

#[tokio::test]
async fn cases_a_request_for_information_waits_for_the_applicant_whose_answer_is_journaled() {
    let (app, cases, k) = demo().await;
    let noark = app.app.post().archive().clone();
    let submitted = cases.submit(k, application("info-1", DecisionMode::Manual, None)).await.expect("received");
    let kari = employee("kari", Role::Saksbehandler, "barnehage");
    let id = submitted.case_id.as_str();
    cases.assign(k, &kari, id, "kari").await.expect("assigned");
    assert_eq!(cases.case(k, id).await.expect("read").expect("case").status, Status::UnderBehandling);
    let mine = cases.queue(k, &QueueFilter { assigned_to: Some("kari".into()), ..Default::default() }).await;
    assert_eq!(mine.expect("queue").len(), 1);
    cases.add_note(k, &kari, id, "Ringte mor, venter på legeerklæring.").await.expect("note");
    let request =
        cases.request_information(k, &kari, id, "Send oss legeerklæringen for Emma.", days(14)).await.expect("asked");
    assert_eq!(cases.case(k, id).await.expect("read").expect("case").status, Status::VenterPaaDeg);

    let sofie = person(Persona::JustMovedIn);
    let refused = cases.answer_information(k, &sofie, id, &request, "Her er den.", Vec::new()).await;
    assert!(matches!(refused, Err(CaseError::Forbidden(_))), "{refused:?}");
    let ingrid = person(Persona::ParentOfNewborn);
    let attachment = Attachment {
        title: "Legeerklæring for Emma".into(),
        mime_type: "application/pdf".into(),
        filename: "erklaering.pdf".into(),
        bytes: Bytes::from(post::testing::minimal_pdf()),
    };
    cases
        .answer_information(k, &ingrid, id, &request, "Legeerklæringen ligger ved.", vec![attachment])
        .await
        .expect("answered");
    let again = cases.answer_information(k, &ingrid, id, &request, "Igjen.", Vec::new()).await;
    assert!(matches!(again, Err(CaseError::Conflict(_))), "{again:?}");

    let view = cases.view_as_employee(k, &kari, id).await.expect("view");
    assert_eq!(view.case.status, Status::UnderBehandling);
    assert_eq!(view.notes.len(), 1);
    let answered = &view.information_requests[0];
    assert_eq!(answered.answer.as_deref(), Some("Legeerklæringen ligger ved."));
    let journalpost = noark.get(k, answered.journalpost.as_deref().expect("journaled")).await.expect("journalpost");
    assert_eq!(journalpost.kode("journalposttype"), Some("I"));
    assert_eq!(journalpost.parent_id.as_deref(), Some(view.case.saksmappe.as_str()), "in the case's saksmappe");
    let files = documents(&noark, k, &journalpost.system_id).await;
    assert_eq!(files.len(), 2);
    let text = pdf_text(&files[0].1);
    assert!(text.contains("Send oss legeerklæringen") && text.contains("Legeerklæringen ligger ved"), "{text}");
    let events: Vec<String> = view.history.iter().map(|h| h.event.clone()).collect();
    assert_eq!(events, ["mottatt", "tildelt", "notat", "opplysninger_etterspurt", "opplysninger_mottatt"]);
    run_jobs(&app).await;
}

#[tokio::test]
async fn cases_an_appeal_opens_a_linked_case_in_the_same_unit() {
    let (app, cases, k) = demo().await;
    let ingrid = Persona::ParentOfNewborn;
    let manual = cases.submit(k, application("klage-0", DecisionMode::Manual, None)).await.expect("received");
    let appeal = |key: &str, party: Party| NewAppeal {
        idempotency_key: key.into(),
        party,
        submitted_by: (ingrid.fnr(), ingrid.name().to_owned()),
        text: "Jeg klager fordi Emma trenger plass nærmere hjemmet.".into(),
        attachments: Vec::new(),
    };
    let undecided = cases.appeal(k, &manual.case_id, appeal("k-0", person(ingrid))).await;
    assert!(matches!(undecided, Err(CaseError::Conflict(_))), "{undecided:?}");

    let decided = cases
        .submit(k, application("klage-1", DecisionMode::Automatic, Some(rules(RuleResult::Grant))))
        .await
        .expect("received");
    run_jobs(&app).await;
    let wrong = cases.appeal(k, &decided.case_id, appeal("k-1", person(Persona::JustMovedIn))).await;
    assert!(matches!(wrong, Err(CaseError::Forbidden(_))), "{wrong:?}");
    let opened = cases.appeal(k, &decided.case_id, appeal("k-2", person(ingrid))).await.expect("appealed");
    assert!(opened.created);
    let again = cases.appeal(k, &decided.case_id, appeal("k-2", person(ingrid))).await.expect("again");
    assert_eq!((again.case_id.as_str(), again.created), (opened.case_id.as_str(), false));
    let klage = cases.case(k, &opened.case_id).await.expect("read").expect("case");
    assert_eq!(klage.appeal_of.as_deref(), Some(decided.case_id.as_str()));
    assert_eq!(klage.unit, "barnehage");
    assert!(!klage.appeal_late, "within three weeks");
    assert_eq!(klage.status, Status::Mottatt);
    assert_eq!(klage.decision_mode, DecisionMode::Manual);
    assert_ne!(klage.saksmappe, "");
    let text = pdf_text(&documents(app.app.post().archive(), k, &klage.journalpost).await[0].1);
    assert!(text.contains("nærmere hjemmet"), "{text}");
    run_jobs(&app).await;
    let receipt = cases.case(k, &opened.case_id).await.expect("read").expect("case").receipt_letter.expect("sent");
    let letter = app.app.post().letter(k, &receipt).await.expect("read").expect("letter");
    let text = pdf_text(&app.app.post().document(k, &letter, 0).await.expect("pdf"));
    assert!(text.contains("klagen din"), "the receipt speaks of the appeal: {text}");
}

#[tokio::test]
async fn cases_an_employee_of_another_unit_is_refused_and_reads_nothing_while_a_view_is_logged() {
    let (app, cases, k) = demo().await;
    let submitted = cases.submit(k, application("tilgang-1", DecisionMode::Manual, None)).await.expect("received");
    let ingrid = Persona::ParentOfNewborn.fnr();
    let audit = audit::AuditLog::new(app.db().clone());
    let case_reads = || async {
        audit
            .about(&ingrid, 10_000)
            .await
            .expect("log")
            .into_iter()
            .filter(|e| e.action == "cases.case.read")
            .collect::<Vec<_>>()
    };
    assert!(case_reads().await.is_empty());

    let outsider = employee("per", Role::Saksbehandler, "teknisk");
    for refused in [
        cases.view_as_employee(k, &outsider, &submitted.case_id).await.map(|_| ()),
        cases.assign(k, &outsider, &submitted.case_id, "per").await,
        cases.add_note(k, &outsider, &submitted.case_id, "Ser på saken.").await.map(|_| ()),
    ] {
        let error = refused.expect_err("another unit");
        assert!(matches!(error, CaseError::Forbidden(_)), "{error:?}");
        assert_eq!(error.kind(), kernel::ErrorKind::Forbidden);
    }
    let archivist = employee("anne", Role::Arkivar, "*");
    assert!(matches!(cases.view_as_employee(k, &archivist, &submitted.case_id).await, Err(CaseError::Forbidden(_))));
    assert!(case_reads().await.is_empty(), "a refused view is not a read");

    let kari = employee("kari", Role::Saksbehandler, "barnehage");
    let view = cases.view_as_employee(k, &kari, &submitted.case_id).await.expect("allowed");
    assert_eq!(view.case.applicant, person(Persona::ParentOfNewborn));
    let reads = case_reads().await;
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].actor, "employee:kari");
    assert_eq!(reads[0].purpose, "Saksbehandling");
    assert_eq!(reads[0].legal_basis, "barnehageloven § 16");
    assert!(audit.verify().await.expect("the chain holds") > 0);
    let missing = cases.view_as_employee(k, &kari, "no-such-case").await;
    assert!(matches!(missing, Err(CaseError::NotFound)), "{missing:?}");
}

#[tokio::test]
async fn cases_a_case_that_takes_more_than_a_month_is_flagged_for_a_provisional_reply_once() {
    let (_app, cases, k) = demo().await;
    let long = cases.submit(k, application("lang-1", DecisionMode::Manual, None)).await.expect("received");
    let mut quick = application("kort-1", DecisionMode::Manual, None);
    quick.service.deadline = days(20);
    let quick = cases.submit(k, quick).await.expect("received");

    let long_case = cases.case(k, &long.case_id).await.expect("read").expect("case");
    let due = long_case.provisional_reply_due.expect("a provisional reply is due within a month");
    assert!(due > today() && due <= days(31), "{due}");
    assert!(cases.case(k, &quick.case_id).await.expect("read").expect("case").provisional_reply_due.is_none());

    assert_eq!(cases.flag_provisional_replies(k, today()).await.expect("check"), 0, "not yet");
    assert_eq!(cases.flag_provisional_replies(k, due).await.expect("check"), 1);
    assert_eq!(cases.flag_provisional_replies(k, due).await.expect("check"), 0, "once");
    let queue = cases.queue(k, &QueueFilter { unit: Some("barnehage".into()), ..Default::default() }).await;
    let flagged: Vec<bool> = queue.expect("queue").iter().map(|c| c.provisional_reply_flagged).collect();
    assert_eq!(flagged, [true, false]);
    let events: Vec<String> =
        cases.history(k, &long.case_id).await.expect("history").into_iter().map(|h| h.event).collect();
    assert!(events.contains(&"foreløpig_svar_påkrevd".to_owned()), "{events:?}");
    let overdue = cases.queue(k, &QueueFilter { overdue_only: true, ..Default::default() }).await.expect("queue");
    assert!(overdue.is_empty(), "nothing is past its deadline");
}
