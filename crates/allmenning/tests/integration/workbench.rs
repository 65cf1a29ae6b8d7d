//! The caseworker's workbench in process, in demo mode: a case submitted with the case engine
//! shows in the kindergarten unit's queue; its page shows the answers and is in the access log,
//! while an employee of another unit gets the 403 page and no entry; notes, information
//! requests and assignment; the decision form refuses bad input (storing nothing), previews the
//! letter as PDF and decides, after which the worker sends the decision letter; and inquiries
//! at the service desk are registered (a bad fødselsnummer refused, nothing stored), answered
//! and closed. On SQLite and PostgreSQL.

use allmenning::config::Mode;
use axum::http::StatusCode;
use cases::{Cases, DecisionMode, InquiryFilter, InquiryStatus, NewApplication, Party, ServiceInfo, Status};
use identity::policy::Role;
use kernel::{Kommunenummer, Language};
use registers::synthetic::Persona;

use crate::helpers::{InProcess, Visitor, kommune, test_settings};

fn bergen() -> Kommunenummer {
    kommune("4601")
}

fn application(key: &str) -> NewApplication {
    let ingrid = Persona::ParentOfNewborn;
    NewApplication {
        idempotency_key: key.to_owned(),
        service: ServiceInfo {
            id: "barnehageplass".into(),
            version: "1".into(),
            title: "Barnehageplass".into(),
            area: "barnehage-skole".into(),
            unit: "barnehage".into(),
            classification: None,
            screening: None,
            decision_mode: DecisionMode::Manual,
            deadline: kernel::time::today_in_norway() + time::Duration::days(60),
            legal_basis: "barnehageloven § 16".into(),
            appeal_body: Some("Statsforvalteren i Vestland".into()),
            receipt: None,
        },
        applicant: Party::Person { fnr: ingrid.fnr(), name: ingrid.name().to_owned() },
        submitted_by: (ingrid.fnr(), ingrid.name().to_owned()),
        subject: None,
        language: Language::Bokmal,
        title: "Søknad om barnehageplass for Emma Solberg".into(),
        public_title: "Søknad om barnehageplass".into(),
        sections: vec![render::Section {
            heading: "Ønsket plass".into(),
            rows: vec![
                ("Barnehage".into(), "Solsikken barnehage".into()),
                ("Bosted".into(), "Bergen (Hentet fra Folkeregisteret)".into()),
            ],
        }],
        attachments: Vec::new(),
        automated: None,
    }
}

async fn demo() -> (InProcess, Cases, String) {
    let app = InProcess::with(test_settings(Mode::Demo).await).await;
    let cases = app.app.cases().clone();
    let submitted = cases.submit(bergen(), application("workbench-1")).await.expect("received");
    (app, cases, submitted.case_id)
}

/// Adds an employee with a caseworker's role in `helse`, another unit.
async fn health_worker(app: &InProcess) {
    let employees = identity::employees::Employees::new(app.db().clone(), bergen());
    let by = audit::Actor::System("test");
    let employee = employees.add(&by, "hanne.helse", "Hanne Helse", None).await.expect("added");
    employees.grant_role(&by, &employee.id, Role::Saksbehandler, "helse").await.expect("granted");
}

async fn case_reads(app: &InProcess) -> usize {
    audit::AuditLog::new(app.db().clone())
        .about(&Persona::ParentOfNewborn.fnr(), 10_000)
        .await
        .expect("log")
        .into_iter()
        .filter(|e| e.action == "cases.case.read")
        .count()
}

/// The first document link on a case page (whose attributes escape `/`).
fn document_link(page: &str, case: &str) -> String {
    let page = page.replace("&#x2f;", "/");
    let prefix = format!("/ansatt/saker/{case}/dokument/");
    let start = page.find(&prefix).unwrap_or_else(|| panic!("no document link on the case page: {page}"));
    let end = page[start..].find('"').expect("the link ends");
    page[start..start + end].to_owned()
}

async fn employee_id(app: &InProcess, subject: &str) -> String {
    identity::employees::Employees::new(app.db().clone(), bergen())
        .by_subject(subject)
        .await
        .expect("lookup")
        .expect("employee")
        .id
}

#[tokio::test]
async fn workbench_the_unit_queue_and_the_case_page_are_for_the_unit_only_and_a_view_is_logged() {
    let (app, _cases, id) = demo().await;
    let kari = Visitor::employee(&app, "kari.saksbehandler").await;

    let queue = kari.get("/ansatt/saker").await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.body);
    assert!(queue.body.contains(&format!("/ansatt/saker/{id}")), "the case is in the unit's queue");
    assert!(queue.body.contains("Søknad om barnehageplass"));
    assert!(!queue.body.contains("Emma"), "the queue shows the public title only");
    assert!(queue.body.contains("data-testid=\"my-queue-empty\""), "not assigned to kari yet");
    // Filters: another status hides it; an unknown one is no filter.
    let filtered = kari.get("/ansatt/saker?status=vedtak_fattet").await;
    assert!(!filtered.body.contains(&format!("/ansatt/saker/{id}")));
    let tampered = kari.get("/ansatt/saker?status=%3Cscript%3E&enhet=helse").await;
    assert_eq!(tampered.status, StatusCode::OK);
    assert!(tampered.body.contains(&format!("/ansatt/saker/{id}")));
    assert!(kari.get("/ansatt").await.body.contains("href=\"/ansatt/saker\""), "the front page links the queue");

    let before = case_reads(&app).await;
    let page = kari.get(&format!("/ansatt/saker/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Solsikken barnehage"), "the answers are shown");
    assert!(page.body.contains("Hentet fra Folkeregisteret"), "with their sources");
    assert!(page.body.contains("Ingrid Solberg"), "the applicant");
    assert!(page.body.contains("innsending.pdf") || page.body.contains("data-testid=\"documents\""));
    assert_eq!(case_reads(&app).await, before + 1, "the view is in the access log");

    // The case's documents open from the case page, for whoever may see the case (a read, logged).
    let link = document_link(&page.body, &id);
    let file = kari.get(&link).await;
    assert_eq!(file.status, StatusCode::OK, "{}", file.body);
    assert_eq!(file.content_type, "application/pdf");
    assert!(file.bytes.starts_with(b"%PDF"), "the submission as PDF");
    assert_eq!(case_reads(&app).await, before + 2, "opening a document is in the access log");
    // Another case's document through this case, or something that is no document: not found.
    let other = app.app.cases().submit(bergen(), application("workbench-other")).await.expect("received").case_id;
    let other_link = document_link(&kari.get(&format!("/ansatt/saker/{other}")).await.body, &other);
    let objekt = other_link.rsplit('/').next().expect("an id");
    assert_eq!(kari.get(&format!("/ansatt/saker/{id}/dokument/{objekt}")).await.status, StatusCode::NOT_FOUND);
    let saksmappe = app.app.cases().case(bergen(), &id).await.expect("read").expect("case").saksmappe;
    assert_eq!(kari.get(&format!("/ansatt/saker/{id}/dokument/{saksmappe}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(kari.get(&format!("/ansatt/saker/{id}/dokument/nei")).await.status, StatusCode::NOT_FOUND);
    let before = case_reads(&app).await;

    // An employee of another unit: the 403 page, and nothing read or logged.
    health_worker(&app).await;
    let hanne = Visitor::employee(&app, "hanne.helse").await;
    let refused = hanne.get(&format!("/ansatt/saker/{id}")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused_file = hanne.get(&link).await;
    assert_eq!(refused_file.status, StatusCode::FORBIDDEN);
    assert!(!refused_file.bytes.starts_with(b"%PDF"));
    assert!(!refused.body.contains("Ingrid") && !refused.body.contains("Solsikken"));
    assert_eq!(case_reads(&app).await, before, "a refused view is not logged as a read");
    let their_queue = hanne.get("/ansatt/saker").await;
    assert_eq!(their_queue.status, StatusCode::OK);
    assert!(!their_queue.body.contains(&format!("/ansatt/saker/{id}")), "another unit's case is not listed");
    let decision = hanne.get(&format!("/ansatt/saker/{id}/vedtak")).await;
    assert_eq!(decision.status, StatusCode::FORBIDDEN);

    // An employee with no unit at all.
    let archivist = Visitor::employee(&app, "anne.arkivar").await;
    assert_eq!(archivist.get("/ansatt/saker").await.status, StatusCode::FORBIDDEN);
    assert_eq!(archivist.get("/ansatt/henvendelser").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn workbench_notes_requests_assignment_and_a_decision_with_its_letter() {
    let (app, cases, id) = demo().await;
    let k = bergen();
    let kari = Visitor::employee(&app, "kari.saksbehandler").await;
    let case_path = format!("/ansatt/saker/{id}");

    // A note: empty is refused, a good one is kept.
    let empty = kari.form(&format!("{case_path}/notat"), &[("note", "  ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("data-testid=\"error-summary\"") && empty.body.contains("href=\"#note\""));
    let noted = kari.form(&format!("{case_path}/notat"), &[("note", "Ringte søkeren.")]).await;
    assert_eq!(noted.status, StatusCode::SEE_OTHER);
    assert!(kari.get(&case_path).await.body.contains("Ringte søkeren."));

    // An information request: a past date is refused, a good one makes the case wait.
    let past = kari
        .form(&format!("{case_path}/opplysninger"), &[("question", "Hvilken barnehage?"), ("due", "2001-01-01")])
        .await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(past.body.contains("href=\"#due\""));
    let due = (kernel::time::today_in_norway() + time::Duration::days(14)).to_string();
    let asked =
        kari.form(&format!("{case_path}/opplysninger"), &[("question", "Hvilken barnehage?"), ("due", &due)]).await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
    assert_eq!(cases.case(k, &id).await.expect("read").expect("case").status, Status::VenterPaaDeg);

    // Assignment: to a colleague of the unit, not to someone outside it.
    health_worker(&app).await;
    let hanne = employee_id(&app, "hanne.helse").await;
    let outside = kari.form(&format!("{case_path}/tildel"), &[("assignee", &hanne)]).await;
    assert_eq!(outside.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(cases.case(k, &id).await.expect("read").expect("case").assigned_to, None);
    let ola = employee_id(&app, "ola.leder").await;
    let assigned = kari.form(&format!("{case_path}/tildel"), &[("assignee", &ola)]).await;
    assert_eq!(assigned.status, StatusCode::SEE_OTHER);
    assert_eq!(cases.case(k, &id).await.expect("read").expect("case").assigned_to.as_deref(), Some(ola.as_str()));
    let mine = kari.form(&format!("{case_path}/tildel"), &[("assignee", "meg")]).await;
    assert_eq!(mine.status, StatusCode::SEE_OTHER);
    let kari_id = employee_id(&app, "kari.saksbehandler").await;
    assert_eq!(cases.case(k, &id).await.expect("read").expect("case").assigned_to.as_deref(), Some(kari_id.as_str()));
    assert!(!kari.get("/ansatt/saker").await.body.contains("data-testid=\"my-queue-empty\""), "now in my queue");

    // The decision form: prefilled with the legal basis; bad input stores nothing.
    let form = kari.get(&format!("{case_path}/vedtak")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("barnehageloven § 16") && form.body.contains("Statsforvalteren i Vestland"));
    let bad = kari
        .form(
            &format!("{case_path}/vedtak"),
            &[("outcome", "innvilget"), ("vedtak", ""), ("reasons", "Fordi."), ("legal_basis", "barnehageloven § 16")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("data-testid=\"error-summary\"") && bad.body.contains("href=\"#vedtak\""));
    assert!(bad.body.contains("autofocus"), "the summary takes focus");
    let tampered = kari
        .form(
            &format!("{case_path}/vedtak"),
            &[("outcome", "kanskje"), ("vedtak", "Ja."), ("reasons", "Fordi."), ("legal_basis", "barnehageloven § 16")],
        )
        .await;
    assert_eq!(tampered.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(cases.decision(k, &id).await.expect("read").is_none(), "nothing stored");

    let fields = [
        ("outcome", "innvilget"),
        ("vedtak", "Emma får plass i Solsikken barnehage fra august."),
        ("reasons", "Emma har rett til plass etter barnehageloven."),
        ("legal_basis", "barnehageloven § 16"),
        ("appeal_body", ""),
    ];
    let preview = kari.form(&format!("{case_path}/vedtak/forhandsvisning"), &fields).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert_eq!(preview.content_type, "application/pdf");
    assert!(preview.bytes.starts_with(b"%PDF"));
    let text = crate::cases_flow::pdf_text(&preview.bytes);
    assert!(text.contains("Solsikken barnehage fra august"), "{text}");
    assert!(cases.decision(k, &id).await.expect("read").is_none(), "a preview decides nothing");

    let decided = kari.form(&format!("{case_path}/vedtak"), &fields).await;
    assert_eq!(decided.status, StatusCode::SEE_OTHER, "{}", decided.body);
    assert_eq!(decided.location.as_deref(), Some(format!("{case_path}?ok=vedtak").as_str()));
    let decision = cases.decision(k, &id).await.expect("read").expect("decided");
    assert_eq!(decision.outcome, "innvilget");
    assert_eq!(decision.appeal_body.as_deref(), Some("Statsforvalteren i Vestland"), "the service's appeal body");
    crate::cases_flow::run_jobs(&app).await;
    let decision = cases.decision(k, &id).await.expect("read").expect("decided");
    let letter_id = decision.letter_id.expect("the decision letter was sent");
    let letter = app.app.post().letter(k, &letter_id).await.expect("read").expect("letter");
    assert_eq!(letter.kind, "vedtak");
    let page = kari.get(&case_path).await;
    assert!(page.body.contains("data-testid=\"decision\""));
    assert!(!page.body.contains("data-testid=\"to-decision\""), "a decided case is not decided again");
    // A second decision is not taken.
    let again = kari.form(&format!("{case_path}/vedtak"), &fields).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn workbench_inquiries_are_registered_answered_and_closed() {
    let app = InProcess::with(test_settings(Mode::Demo).await).await;
    let cases = app.app.cases().clone();
    let k = bergen();
    let kari = Visitor::employee(&app, "kari.saksbehandler").await;
    assert_eq!(kari.get("/ansatt/henvendelser/ny").await.status, StatusCode::OK);

    let bad = kari
        .form(
            "/ansatt/henvendelser/ny",
            &[
                ("channel", "telefon"),
                ("unit", "barnehage"),
                ("category", "barnehageplass"),
                ("fnr", "14839221101"),
                ("name", "Ingrid Solberg"),
                ("text", "Når kommer svaret?"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("data-testid=\"error-fnr\"") && bad.body.contains("href=\"#fnr\""));
    let other_unit = kari
        .form(
            "/ansatt/henvendelser/ny",
            &[("channel", "telefon"), ("unit", "helse"), ("category", "generelt"), ("text", "Hei")],
        )
        .await;
    assert_eq!(other_unit.status, StatusCode::UNPROCESSABLE_ENTITY, "not a unit kari answers for");
    assert!(cases.inquiries(k, &InquiryFilter::default()).await.expect("list").is_empty(), "nothing stored");

    let ingrid = Persona::ParentOfNewborn.fnr().as_digits();
    let registered = kari
        .form(
            "/ansatt/henvendelser/ny",
            &[
                ("channel", "telefon"),
                ("unit", "barnehage"),
                ("category", "barnehageplass"),
                ("fnr", &ingrid),
                ("name", "Ingrid Solberg"),
                ("text", "Når kommer svaret?"),
            ],
        )
        .await;
    assert_eq!(registered.status, StatusCode::SEE_OTHER, "{}", registered.body);
    let location = registered.location.expect("to the inquiry");
    let stored = cases.inquiries(k, &InquiryFilter::default()).await.expect("list");
    assert_eq!(stored.len(), 1);
    let id = stored[0].id.clone();
    assert!(location.starts_with(&format!("/ansatt/henvendelser/{id}")));
    assert_eq!(stored[0].channel, cases::Channel::Phone);
    assert_eq!(stored[0].from.as_ref().map(Party::name), Some("Ingrid Solberg"));

    let list = kari.get("/ansatt/henvendelser?kanal=telefon").await;
    assert!(list.body.contains(&format!("/ansatt/henvendelser/{id}")));
    let chat_only = kari.get("/ansatt/henvendelser?kanal=chat").await;
    assert!(!chat_only.body.contains(&format!("/ansatt/henvendelser/{id}")));

    let empty = kari.form(&format!("/ansatt/henvendelser/{id}/svar"), &[("answer", "")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("href=\"#answer\""));
    let answered = kari.form(&format!("/ansatt/henvendelser/{id}/svar"), &[("answer", "Innen to uker.")]).await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER);
    let inquiry_reads = || async {
        audit::AuditLog::new(app.db().clone())
            .about(&Persona::ParentOfNewborn.fnr(), 10_000)
            .await
            .expect("log")
            .into_iter()
            .filter(|e| e.action == "cases.inquiry.read")
            .count()
    };
    let before = inquiry_reads().await;
    let page = kari.get(&format!("/ansatt/henvendelser/{id}")).await;
    assert!(page.body.contains("data-testid=\"time-to-answer\""), "the time to answer is shown");
    assert_eq!(inquiry_reads().await, before + 1, "the view of a named person is in the access log");
    assert!(page.body.contains("Innen to uker."));
    let closed = kari.form(&format!("/ansatt/henvendelser/{id}/lukk"), &[]).await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    let inquiry = cases.inquiry(k, &id).await.expect("read").expect("inquiry");
    assert_eq!(inquiry.status, InquiryStatus::Lukket);

    // Another unit's employee does not see it.
    health_worker(&app).await;
    let hanne = Visitor::employee(&app, "hanne.helse").await;
    let before = inquiry_reads().await;
    assert_eq!(hanne.get(&format!("/ansatt/henvendelser/{id}")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(inquiry_reads().await, before, "a refused view is not logged as a read");
    crate::cases_flow::run_jobs(&app).await;
}

#[tokio::test]
async fn workbench_a_rejection_til_kontroll_shows_the_rules_proposal_and_prefills_the_decision() {
    let app = InProcess::with(test_settings(Mode::Demo).await).await;
    let cases = app.app.cases().clone();
    let mut new = application("workbench-kontroll");
    new.service.decision_mode = DecisionMode::AutomaticWithReviewOfRejections;
    new.automated = Some(cases::AutomatedOutcome {
        result: cases::RuleResult::Reject,
        fired: vec![cases::FiredRule { id: "bosted".into(), explanation: "Familien bor ikke i kommunen.".into() }],
        vedtak_text: "Du får ikke plass.".into(),
        reasons_text: "Vi har sett på bostedet.".into(),
    });
    let submitted = cases.submit(bergen(), new).await.expect("received");
    assert_eq!(submitted.status, Status::TilKontroll);
    let kari = Visitor::employee(&app, "kari.saksbehandler").await;
    let page = kari.get(&format!("/ansatt/saker/{}", submitted.case_id)).await;
    assert!(page.body.contains("data-testid=\"proposal\""), "the proposal is shown");
    assert!(page.body.contains("Familien bor ikke i kommunen."), "with the rules that fired");
    let form = kari.get(&format!("/ansatt/saker/{}/vedtak", submitted.case_id)).await;
    assert!(form.body.contains("Du får ikke plass."), "the decision form starts from the proposal");
    assert!(form.body.contains("id=\"outcome-avslag\" value=\"avslag\" checked"), "{}", form.body);
    crate::cases_flow::run_jobs(&app).await;
}
