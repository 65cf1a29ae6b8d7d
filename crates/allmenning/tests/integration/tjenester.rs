//! The services on the web, in process and in demo mode: the public catalogue (search, themes,
//! JSON, CPSV-AP-NO), Ingrid Solberg applying for a kindergarten place for Emma (prefilled facts
//! shown with their source and not asked, a bad date refused with nothing saved, the summary, a
//! receipt with the case number, a replayed POST giving the same case, the case on Min side), an
//! automatically decided service explaining its decision, Lars Haugen applying for a serving
//! licence for his company, refusals for someone one may not apply for and for tampered forms,
//! the contact form, and a broken definition stopping the start with its file, line and field.
//!
//! Sessions are started directly, as the login callback would start them (the login itself is
//! tested in `identity.rs`).

use allmenning::config::Mode;
use axum::http::{StatusCode, header};
use identity::ActingAs;
use kernel::Kommunenummer;
use registers::synthetic::Persona;

use crate::helpers::{InProcess, Page, Visitor, body_json, kommune, test_settings};

fn bergen() -> Kommunenummer {
    kommune("4601")
}

/// The service pages' steps, on the shared visitor.
trait Apply {
    /// Starts an application from the start page (with `extra` fields, e.g. the child) and
    /// returns the first page's path.
    async fn start(&self, service: &str, extra: &[(&str, &str)]) -> String;
    /// Fills a page (with the CSRF token) and returns where it went next.
    async fn fill(&self, page: &str, fields: &[(&str, &str)]) -> Page;
}

impl Apply for Visitor<'_> {
    async fn start(&self, service: &str, extra: &[(&str, &str)]) -> String {
        let started = self.form(&format!("/tjenester/{service}/start"), extra).await;
        assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
        started.location.expect("to the first page")
    }

    async fn fill(&self, page: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("_csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(page, &all).await
    }
}

/// The draft id in a form page's path (`/tjenester/soknad/<id>/side/<page>`).
fn draft_of(path: &str) -> String {
    path.trim_start_matches("/tjenester/soknad/").split('/').next().expect("draft id").to_owned()
}

/// A tiny PDF, enough for content detection.
fn pdf() -> Vec<u8> {
    b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n".to_vec()
}

/// The value of the first radio button named `name` on a page.
fn radio_value(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\"");
    let at = body.find(&marker).unwrap_or_else(|| panic!("no {name} on the page: {body}"));
    let rest = &body[at..];
    let value = rest.split("value=\"").nth(1).expect("a value");
    value.split('"').next().expect("value").to_owned()
}

#[tokio::test]
async fn tjenester_the_catalogue_is_public_searchable_by_theme_and_exported() {
    let app = InProcess::new(Mode::Demo).await;
    let anyone = Visitor::anonymous(&app);
    let all = anyone.get("/tjenester").await;
    assert_eq!(all.status, StatusCode::OK);
    for name in ["Barnehageplass", "Serveringsbevilling", "Parkeringstillatelse for forflytningshemmede", "TT-kort"] {
        assert!(all.body.contains(name), "{name} is in the catalogue");
    }
    assert_eq!(all.body.matches("data-testid=\"service\"").count(), 12);
    let searched = anyone.get("/tjenester?q=barnehage").await;
    assert!(searched.body.contains("/tjenester/barnehageplass\""));
    assert!(!searched.body.contains("/tjenester/serveringsbevilling\""));
    let theme = anyone.get("/tjenester?tema=handel-og-service").await;
    assert_eq!(theme.body.matches("data-testid=\"service\"").count(), 3, "the three licences");
    let none = anyone.get("/tjenester?q=romfart").await;
    assert!(none.body.contains("data-testid=\"no-services\""));

    let page = anyone.get("/tjenester/barnehageplass").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Barnehageloven §§ 16–17"));
    assert!(page.body.contains("lovdata.no"));
    assert!(page.body.contains("1. mars"), "the main intake's deadline");
    assert!(page.body.contains("/tjenester/barnehageplass/start"));
    assert_eq!(anyone.get("/tjenester/finnes-ikke").await.status, StatusCode::NOT_FOUND);
    let english = Visitor { language: "en", ..Visitor::anonymous(&app) };
    assert!(english.get("/tjenester/barnehageplass").await.body.contains("Kindergarten place"));
    let nynorsk = Visitor { language: "nn", ..Visitor::anonymous(&app) };
    assert!(nynorsk.get("/tjenester").await.body.contains("Serveringsløyve"));

    let list = body_json(app.get("/api/v1/tjenester").await).await;
    assert_eq!(list["services"].as_array().expect("list").len(), 12);
    let one = app.get("/api/v1/tjenester/serveringsbevilling?lang=en").await;
    assert_eq!(one.status(), StatusCode::OK);
    let one = body_json(one).await;
    assert_eq!(one["name"], "Serving licence");
    assert_eq!(one["applicants"], serde_json::json!(["organisation"]));
    assert_eq!(one["decision"], "manual");
    assert_eq!(app.get("/api/v1/tjenester/finnes-ikke").await.status(), StatusCode::NOT_FOUND);
    let bad = app.get("/api/v1/tjenester?lang=xx").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.headers()[header::CONTENT_TYPE], "application/problem+json");
    let long = format!("/api/v1/tjenester?q={}", "a".repeat(201));
    assert_eq!(app.get(&long).await.status(), StatusCode::BAD_REQUEST, "a search over 200 characters is refused");
    let words = body_json(app.get("/api/v1/tjenester?q=barnehage").await).await;
    let found = words["services"].as_array().expect("a list");
    assert!(!found.is_empty() && found.len() < list["services"].as_array().expect("a list").len(), "{words}");

    let turtle = anyone.get("/tjenester.ttl").await;
    assert_eq!(turtle.status, StatusCode::OK);
    assert!(turtle.content_type.starts_with("text/turtle"));
    assert_eq!(turtle.body.matches("a cpsv:PublicService").count(), 12, "{}", turtle.body);
    assert!(turtle.body.contains("/tjenester/barnehageplass>"));
}

#[tokio::test]
async fn tjenester_ingrid_applies_for_a_kindergarten_place_for_emma_and_sees_the_case_on_min_side() {
    let app = InProcess::new(Mode::Demo).await;
    let ingrid = Visitor::resident(&app, Persona::ParentOfNewborn).await;
    // Acting as herself, she picks which child the application is for.
    let start = ingrid.get("/tjenester/barnehageplass/start").await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.body);
    assert!(start.body.contains("Emma"), "{}", start.body);
    let emma = radio_value(&start.body, "barn");
    let first = ingrid.start("barnehageplass", &[("barn", &emma)]).await;
    assert!(first.ends_with("/side/barnet"), "{first}");
    let draft = draft_of(&first);

    // The first page asks nothing: the registers know the child's name and birth date.
    let page = ingrid.get(&first).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Emma Solberg"));
    assert!(page.body.contains("Hentet fra Folkeregisteret"), "{}", page.body);
    assert!(page.body.contains("data-testid=\"wrong-fact\""));
    assert!(!page.body.contains("name=\"barnets_navn\""), "a prefilled fact is not asked");
    let next = ingrid.fill(&first, &[("_handling", "neste")]).await;
    assert_eq!(next.status, StatusCode::SEE_OTHER, "{}", next.body);
    let wishes = next.location.expect("next page");
    assert!(wishes.ends_with("/side/onsker"));

    // A bad date: the error is next to the field, the summary names it, nothing is saved.
    let bad =
        ingrid.fill(&wishes, &[("oppstart", "31.02.2027"), ("plasstype", "100"), ("barnehage_1", "Solstua")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("data-testid=\"error-summary\""));
    assert!(bad.body.contains("Skriv en gyldig dato som dd.mm.åååå."), "{}", bad.body);
    assert!(bad.body.contains("<title>Feil:"));
    let again = ingrid.get(&wishes).await;
    assert!(!again.body.contains("Solstua"), "nothing of the refused page was saved");
    // A value outside the code list, a field of another service and a prefilled field: refused.
    for tampered in [
        vec![("oppstart", "01.08.2027"), ("plasstype", "120"), ("barnehage_1", "Solstua")],
        vec![("oppstart", "01.08.2027"), ("plasstype", "100"), ("barnehage_1", "Solstua"), ("gangavstand", "under_50")],
        vec![("oppstart", "01.08.2027"), ("plasstype", "100"), ("barnehage_1", "Solstua"), ("barnets_navn", "Ola")],
    ] {
        let refused = ingrid.fill(&wishes, &tampered).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{tampered:?}");
        assert!(refused.body.contains("data-testid=\"error-summary\""));
    }
    assert!(!ingrid.get(&wishes).await.body.contains("Solstua"), "nothing saved");
    // A form without the session's token: refused.
    assert_eq!(ingrid.post(&wishes, &[("oppstart", "01.08.2027")]).await.status, StatusCode::BAD_REQUEST);

    let good = ingrid
        .fill(
            &wishes,
            &[("oppstart", "01.08.2027"), ("plasstype", "100"), ("barnehage_1", "Solstua"), ("barnehage_2", "")],
        )
        .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.body);
    let needs = good.location.expect("next");
    assert!(needs.ends_with("/side/behov"));
    // The draft is on Min side, and resumes where she was.
    let min_side = ingrid.get("/min-side/saker").await;
    assert!(min_side.body.contains(&format!("/tjenester/soknad/{draft}")), "{}", min_side.body);
    let resumed = ingrid.get(&format!("/tjenester/soknad/{draft}")).await;
    assert_eq!(resumed.location.as_deref(), Some(needs.as_str()), "resumes where she was");
    // Conditional fields: "no" special needs, with the description left empty.
    let answered = ingrid.fill(&needs, &[("sarskilte_behov", "nei"), ("behov_beskrivelse", "")]).await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.body);
    let contact = answered.location.expect("next");
    let contact_page = ingrid.get(&contact).await;
    assert!(
        contact_page.body.contains("Kontakt- og reservasjonsregisteret")
            || contact_page.body.contains("name=\"epost\"")
    );
    let done = ingrid.fill(&contact, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let summary_path = done.location.expect("summary");
    assert!(summary_path.ends_with("/oppsummering"));
    let summary = ingrid.get(&summary_path).await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.body);
    assert!(summary.body.contains("01.08.2027"));
    assert!(summary.body.contains("Hel plass (5 dager)"), "the code's label, not the code");
    assert!(summary.body.contains("Hentet fra Folkeregisteret"));
    let key = format!("soknad:{draft}");

    // A tampered idempotency key: refused, nothing sent.
    let tampered = ingrid
        .post(
            &format!("/tjenester/soknad/{draft}/send"),
            &[("csrf", &ingrid.csrf), ("idempotency_key", "soknad:annen")],
        )
        .await;
    assert_eq!(tampered.status, StatusCode::BAD_REQUEST);
    let sent = ingrid
        .post(&format!("/tjenester/soknad/{draft}/send"), &[("csrf", &ingrid.csrf), ("idempotency_key", &key)])
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let receipt_path = sent.location.expect("the receipt");
    let receipt = ingrid.get(&receipt_path).await;
    assert_eq!(receipt.status, StatusCode::OK, "{}", receipt.body);
    assert!(receipt.body.contains("data-testid=\"mappe-id\""));
    assert!(receipt.body.contains("kvittering som brev"));
    // The same POST again: the same case.
    let replay = ingrid
        .post(&format!("/tjenester/soknad/{draft}/send"), &[("csrf", &ingrid.csrf), ("idempotency_key", &key)])
        .await;
    assert_eq!(replay.location.as_deref(), Some(receipt_path.as_str()), "{}", replay.body);
    let emma_fnr = kernel::Fnr::parse(&emma).expect("Emma's number");
    let cases = app
        .app
        .cases()
        .for_party(bergen(), &cases::Party::Person { fnr: emma_fnr, name: "Emma Solberg".to_owned() })
        .await
        .expect("cases");
    let ingrid_own = app
        .app
        .cases()
        .for_party(bergen(), &cases::Party::Person { fnr: Persona::ParentOfNewborn.fnr(), name: String::new() })
        .await
        .expect("cases");
    assert_eq!(cases.len() + ingrid_own.len(), 1, "one case, not two");

    // On Min side: no draft any more, the case with its status.
    let min_side = ingrid.get("/min-side/saker").await;
    assert!(!min_side.body.contains(&format!("/tjenester/soknad/{draft}")), "the draft is gone");
    assert!(min_side.body.contains("data-testid=\"case\""), "{}", min_side.body);
    assert!(min_side.body.contains("Barnehageplass"));
    let case_id = receipt_path.trim_start_matches("/tjenester/kvittering/");
    let case_page = ingrid.get(&format!("/min-side/saker/{case_id}")).await;
    assert_eq!(case_page.status, StatusCode::OK, "{}", case_page.body);
    assert!(case_page.body.contains("Søknaden er mottatt"));
    // A caseworker asks for more information; Ingrid answers on the case page, and the case is
    // under behandling again. An empty answer is refused, changing nothing.
    let kari = crate::cases_flow::employee("kari", identity::policy::Role::Saksbehandler, "barnehage");
    let due = kernel::time::today_in_norway() + time::Duration::days(14);
    let request = app
        .app
        .cases()
        .request_information(bergen(), &kari, case_id, "Hvilken barnehage er nummer to?", due)
        .await
        .expect("asked");
    let waiting = ingrid.get(&format!("/min-side/saker/{case_id}")).await;
    assert!(waiting.body.contains("data-testid=\"information-request\""), "{}", waiting.body);
    assert!(
        waiting.body.contains("Hvilken barnehage er nummer to?"),
        "the caseworker's question is shown: {}",
        waiting.body
    );
    assert!(waiting.body.contains("Svar innen "), "and by when: {}", waiting.body);
    let answer_path = format!("/min-side/saker/{case_id}/opplysninger/{request}");
    let empty = ingrid.post(&answer_path, &[("csrf", &ingrid.csrf), ("svar", " ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("data-testid=\"error-summary\""));
    let other = ingrid
        .post(&format!("/min-side/saker/{case_id}/opplysninger/ukjent"), &[("csrf", &ingrid.csrf), ("svar", "Ja")])
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let answered = ingrid.post(&answer_path, &[("csrf", &ingrid.csrf), ("svar", "Ingen andre ønsker.")]).await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.body);
    let after = ingrid.get(&format!("/min-side/saker/{case_id}")).await;
    assert!(!after.body.contains("data-testid=\"information-request\""));
    assert!(after.body.contains("Opplysningene er mottatt"), "{}", after.body);

    // Someone else sees neither the receipt nor the case.
    let sofie = Visitor::resident(&app, Persona::JustMovedIn).await;
    assert_eq!(sofie.get(&receipt_path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(sofie.get(&format!("/min-side/saker/{case_id}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tjenester_an_automatically_decided_service_explains_its_decision() {
    let app = InProcess::new(Mode::Demo).await;
    let ingrid = Visitor::resident(&app, Persona::ParentOfNewborn).await;
    let start = ingrid.get("/tjenester/kulturskoleplass/start").await;
    let emma = radio_value(&start.body, "barn");
    let first = ingrid.start("kulturskoleplass", &[("barn", &emma)]).await;
    let draft = draft_of(&first);
    let next = ingrid.fill(&first, &[("fag", "dans"), ("instrument", "")]).await;
    assert_eq!(next.status, StatusCode::SEE_OTHER, "{}", next.body);
    let mut location = next.location.expect("next");
    while !location.ends_with("/oppsummering") {
        let next = ingrid.fill(&location, &[]).await;
        assert_eq!(next.status, StatusCode::SEE_OTHER, "{}", next.body);
        location = next.location.expect("next");
    }
    let sent = ingrid
        .post(
            &format!("/tjenester/soknad/{draft}/send"),
            &[("csrf", &ingrid.csrf), ("idempotency_key", &format!("soknad:{draft}"))],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let sent_location = sent.location.expect("receipt");
    let receipt = ingrid.get(&sent_location).await;
    // Emma is a newborn: the rules reject, and say why in plain words.
    assert!(receipt.body.contains("data-testid=\"decision\""), "{}", receipt.body);
    assert!(receipt.body.contains("data-testid=\"decision-automated\""));
    assert!(receipt.body.contains("data-testid=\"decision-explanations\""), "{}", receipt.body);

    // She appeals from Min side: an empty text is refused beside the field and makes nothing; a
    // written one opens a new case linked to the first, once however often it is sent.
    let case_id = sent_case_id(&sent_location);
    let page = ingrid.get(&format!("/min-side/saker/{case_id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let appeal_path = format!("/min-side/saker/{case_id}/klage");
    let key = format!("klage:{case_id}");
    let empty = ingrid.post(&appeal_path, &[("csrf", &ingrid.csrf), ("idempotency_key", &key), ("text", " ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", empty.body);
    let k = kommune("4601");
    let party = cases::Party::Person { fnr: Persona::ParentOfNewborn.fnr(), name: String::new() };
    assert_eq!(app.app.cases().for_party(k, &party).await.expect("cases").len(), 1, "no appeal from an empty text");
    let text = [
        ("csrf", ingrid.csrf.as_str()),
        ("idempotency_key", key.as_str()),
        ("text", "Emma fyller ett år før oppstart."),
    ];
    let appealed = ingrid.post(&appeal_path, &text).await;
    assert_eq!(appealed.status, StatusCode::SEE_OTHER, "{}", appealed.body);
    let again = ingrid.post(&appeal_path, &text).await;
    assert_eq!(again.location, appealed.location, "the same appeal twice is one case");
    let new_case = appealed.location.expect("the appeal's page").rsplit('/').next().expect("an id").to_owned();
    let appeal = app.app.cases().case(k, &new_case).await.expect("read").expect("the appeal");
    assert_eq!(appeal.appeal_of.as_deref(), Some(case_id.as_str()));
    assert_eq!(app.app.cases().for_party(k, &party).await.expect("cases").len(), 2);
}

#[tokio::test]
async fn tjenester_lars_applies_for_a_serving_licence_for_his_company() {
    let app = InProcess::new(Mode::Demo).await;
    let lars = Visitor::resident(&app, Persona::DagligLederOfNewBusiness).await;
    // As himself he may not: the licence is for organisations.
    let refused = lars.get("/tjenester/serveringsbevilling/start").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("data-testid=\"not-allowed\""));
    let (orgnr, role) = registers::LocalRegisters::new(app.db().clone())
        .roles_of(&Persona::DagligLederOfNewBusiness.fnr())
        .await
        .expect("roles")
        .into_iter()
        .next()
        .expect("Lars leads a company");
    lars.act_as(ActingAs::Organisation(orgnr, role), "Haugen Snekkerverksted AS").await;
    let first = lars.start("serveringsbevilling", &[]).await;
    let draft = draft_of(&first);
    let page = lars.get(&first).await;
    assert!(page.body.contains("Hentet fra Enhetsregisteret"), "{}", page.body);
    let next = lars
        .fill(&first, &[("stedets_navn", "Haugen Kafé"), ("stedets_adresse", "Strandkaien 2"), ("apningstid", "08–22")])
        .await;
    assert_eq!(next.status, StatusCode::SEE_OTHER, "{}", next.body);
    let styrer = next.location.expect("next");
    // An attachment that lies about its type is refused.
    let csrf = lars.csrf.clone();
    let fields = [("_csrf", csrf.as_str()), ("styrer_navn", "Lars Haugen"), ("styrer_epost", "lars@haugen.example")];
    let liar = lars.post_multipart(&styrer, &fields, &[("etablererprove", "prove.pdf", b"not a pdf at all")]).await;
    assert_eq!(liar.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", liar.body);
    let good = lars.post_multipart(&styrer, &fields, &[("etablererprove", "prove.pdf", &pdf())]).await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.body);
    let mut location = good.location.expect("next");
    while !location.ends_with("/oppsummering") {
        let next = lars.fill(&location, &[]).await;
        assert_eq!(next.status, StatusCode::SEE_OTHER, "{} {}", location, next.body);
        location = next.location.expect("next");
    }
    let sent = lars
        .post(
            &format!("/tjenester/soknad/{draft}/send"),
            &[("csrf", &lars.csrf), ("idempotency_key", &format!("soknad:{draft}"))],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let receipt = lars.get(&sent.location.expect("receipt")).await;
    assert!(receipt.body.contains("data-testid=\"mappe-id\""), "{}", receipt.body);
    let company = app
        .app
        .cases()
        .for_party(bergen(), &cases::Party::Organisation { orgnr, name: String::new() })
        .await
        .expect("cases");
    assert_eq!(company.len(), 1, "the case is the company's");
    assert!(lars.get("/min-side/saker").await.body.contains("Serveringsbevilling"));
}

#[tokio::test]
async fn tjenester_applying_for_someone_one_may_not_act_for_is_refused() {
    let app = InProcess::new(Mode::Demo).await;
    let ingrid = Visitor::resident(&app, Persona::ParentOfNewborn).await;
    let emma = radio_value(&ingrid.get("/tjenester/barnehageplass/start").await.body, "barn");
    // Sofie has no children: she is told who may apply, and cannot apply for Ingrid's child.
    let sofie = Visitor::resident(&app, Persona::JustMovedIn).await;
    let start = sofie.get("/tjenester/barnehageplass/start").await;
    assert_eq!(start.status, StatusCode::FORBIDDEN, "{}", start.body);
    let refused = sofie.post("/tjenester/barnehageplass/start", &[("csrf", &sofie.csrf), ("barn", &emma)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let drafts = app
        .db()
        .municipal(bergen())
        .fetch_all::<(String,)>("SELECT id FROM service_drafts WHERE kommunenummer = $1", &[])
        .await
        .expect("drafts");
    assert!(drafts.is_empty(), "no draft was made");
    // A garbled child number is a bad request; a person not logged in is sent to log in.
    let garbled = sofie.post("/tjenester/barnehageplass/start", &[("csrf", &sofie.csrf), ("barn", "123")]).await;
    assert_eq!(garbled.status, StatusCode::BAD_REQUEST);
    let anonymous = Visitor::anonymous(&app).get("/tjenester/barnehageplass/start").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert!(anonymous.location.expect("login").starts_with("/logg-inn"));
}

#[tokio::test]
async fn tjenester_the_contact_form_registers_an_inquiry_and_refuses_bad_input() {
    let app = InProcess::new(Mode::Demo).await;
    let anyone = Visitor::anonymous(&app);
    let form = anyone.get("/kontakt").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("Barnehageplass"));
    let missing = anyone.post("/kontakt", &[("tjeneste", "barnehageplass"), ("melding", "")]).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.body.contains("data-testid=\"error-summary\""));
    assert!(missing.body.contains("Skriv meldingen din."));
    let unknown =
        anyone.post("/kontakt", &[("tjeneste", "finnes-ikke"), ("melding", "Hei"), ("kontakt", "a@b.no")]).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let inquiries = |app: &InProcess| {
        let db = app.db().clone();
        async move {
            db.municipal(bergen())
                .fetch_all::<(String, String)>(
                    "SELECT category, unit FROM case_inquiries WHERE kommunenummer = $1",
                    &[],
                )
                .await
                .expect("inquiries")
        }
    };
    assert!(inquiries(&app).await.is_empty(), "bad input stores nothing");
    let sent = anyone
        .post(
            "/kontakt",
            &[("tjeneste", "barnehageplass"), ("melding", "Når får vi svar?"), ("kontakt", "ola@example.no")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let receipt = anyone.get(&sent.location.expect("receipt")).await;
    assert!(receipt.body.contains("data-testid=\"contact-receipt\""));
    assert_eq!(inquiries(&app).await, vec![("barnehageplass".to_owned(), "barnehage".to_owned())]);
    // Logged in, the form needs the session's token.
    let ingrid = Visitor::resident(&app, Persona::ParentOfNewborn).await;
    assert_eq!(ingrid.post("/kontakt", &[("melding", "Hei")]).await.status, StatusCode::BAD_REQUEST);
    let general = ingrid.post("/kontakt", &[("csrf", &ingrid.csrf), ("tjeneste", ""), ("melding", "Hei")]).await;
    assert_eq!(general.status, StatusCode::SEE_OTHER, "{}", general.body);
    assert!(inquiries(&app).await.contains(&("generelt".to_owned(), "servicetorget".to_owned())));
}

#[tokio::test]
async fn tjenester_a_broken_definition_stops_the_start_naming_file_line_and_field() {
    let mut settings = test_settings(Mode::Demo).await;
    let directory = tempfile::tempdir().expect("tempdir");
    let text = include_str!("../../../../services/tt-kort.toml")
        .replace("id = \"tt-kort\"", "id = \"tt-kort-egen\"")
        .replacen("type = \"yes_no\"", "type = \"nummer\"", 1);
    let path = directory.path().join("tt-kort-egen.toml");
    std::fs::write(&path, &text).expect("write");
    settings.settings.services.directories = vec![directory.path().to_owned()];
    let error = allmenning::Application::build(&settings.settings).await.expect_err("the start stops");
    let message = format!("{error:#}");
    let line = text.lines().position(|l| l.contains("\"nummer\"")).expect("the line") + 1;
    assert!(message.contains(&format!("{}:{line}:", path.display())), "{message}");
    assert!(message.contains("form.pages["), "{message}");
    assert!(message.contains("unknown variant `nummer`"), "{message}");

    // A service switched off that does not exist stops the start too; one that exists is gone.
    let mut settings = test_settings(Mode::Demo).await;
    settings.settings.services.disabled = vec!["finnes-ikke".to_owned()];
    let error = allmenning::Application::build(&settings.settings).await.expect_err("the start stops");
    assert!(format!("{error:#}").contains("finnes-ikke"));
    let mut settings = test_settings(Mode::Demo).await;
    settings.settings.services.disabled = vec!["tt-kort".to_owned()];
    let app = InProcess::with(settings).await;
    let list = Visitor::anonymous(&app).get("/tjenester").await;
    assert!(!list.body.contains("/tjenester/tt-kort\""));
    assert_eq!(app.get("/tjenester/tt-kort").await.status(), StatusCode::NOT_FOUND);
}

/// The case id a receipt's address names (`/tjenester/kvittering/{case}`).
fn sent_case_id(location: &str) -> String {
    location.split('?').next().and_then(|path| path.rsplit('/').next()).expect("a case id").to_owned()
}
