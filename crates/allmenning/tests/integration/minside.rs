//! Min side in process: the fullmakt form (the holder found only by number and surname, each
//! error beside its field, confirmations, duplicates refused, revoked ones not listed), the
//! choice of whom to act for (opaque values, never a fødselsnummer in the page), the policy's
//! check of that choice against the person's relations, the child's affairs when acting for a
//! child, and the access log grouped per action and in the visitor's language.
//!
//! A resident is logged in by starting a session directly, as the login callback would; the
//! login itself is tested end to end in `identity.rs`.

use allmenning::config::Mode;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use identity::Principal;
use identity::sessions::{NewSession, SessionSettings, Sessions};
use kernel::Fnr;
use registers::synthetic::Persona;
use store::{Db, params};

use crate::helpers::{InProcess, body_text};
use crate::identity::texts;

const INGRID: &str = "14839221100";
const PER: &str = "17825133097";

/// One answer, read whole.
struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

/// A logged-in resident talking to the router in process.
struct Resident<'a> {
    app: &'a InProcess,
    cookie: String,
    csrf: String,
    language: &'static str,
}

impl<'a> Resident<'a> {
    async fn log_in(app: &'a InProcess, fnr: &str, name: &str) -> Self {
        let sessions = Sessions::new(app.db().clone(), SessionSettings::default());
        let new = NewSession {
            principal: Principal::Person(Fnr::parse(fnr).expect("a valid number")),
            display_name: name.to_owned(),
            kommunenummer: None,
            provider: "idporten".to_owned(),
            acr: Some("idporten-loa-substantial".to_owned()),
            idp_sid: None,
            id_token: None,
        };
        let (cookie, session) = sessions.start(new, None).await.expect("a session");
        Self { app, cookie, csrf: session.csrf_token, language: "nb" }
    }

    async fn read(&self, request: Request<Body>) -> Page {
        let response = self.app.send(request).await;
        let status = response.status();
        let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Page { status, location, body: body_text(response).await }
    }

    fn cookies(&self) -> String {
        format!("sesjon={}; lang={}", self.cookie, self.language)
    }

    async fn get(&self, path: &str) -> Page {
        let request = Request::get(path).header(header::COOKIE, self.cookies()).body(Body::empty()).expect("request");
        self.read(request).await
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(all).finish();
        let request = Request::post(path)
            .header(header::COOKIE, self.cookies())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.read(request).await
    }

    /// Gives a fullmakt to `holder`, found by `surname`, for `areas`, from today to `to`.
    async fn give(&self, holder: &str, surname: &str, areas: &[&str], to: &str) -> Page {
        let mut fields = vec![("holder", holder), ("surname", surname), ("valid_to", to)];
        fields.extend(areas.iter().map(|area| ("areas", *area)));
        self.post("/min-side/fullmakt", &fields).await
    }
}

async fn fullmakter(db: &Db) -> usize {
    texts(db, "SELECT id FROM fullmakter", &[]).await.len()
}

/// Today in Norway moved by `years`, as YYYY-MM-DD.
fn today_plus_years(years: i32) -> String {
    let today = kernel::time::today_in_norway();
    let day = if u8::from(today.month()) == 2 && today.day() == 29 { 28 } else { today.day() };
    format!("{:04}-{:02}-{day:02}", today.year() + years, u8::from(today.month()))
}

/// A valid synthetic fødselsnummer that belongs to nobody in the registers.
async fn nobodys_number(db: &Db) -> String {
    let registers = registers::LocalRegisters::new(db.clone());
    for n in 0..100_000 {
        let Ok(fnr) = Fnr::parse(&format!("018150{n:05}")) else { continue };
        if fnr.is_synthetic() && registers.person(&fnr).await.expect("lookup").is_none() {
            return fnr.as_digits();
        }
    }
    panic!("every number is taken")
}

/// Ingrid's child, from the registers.
async fn ingrids_child(db: &Db) -> Fnr {
    let registers = registers::LocalRegisters::new(db.clone());
    let ingrid = registers.person(&Fnr::parse(INGRID).expect("valid")).await.expect("lookup").expect("Ingrid");
    *ingrid.parental_responsibility_for.first().expect("Ingrid has a child")
}

/// The `value` of the radio button of kind `kind` on the page of whom to act for.
fn option_of_kind(html: &str, kind: &str) -> Option<String> {
    options_of_kind(html, kind).into_iter().next()
}

/// Every choice of a kind on the "whom to act for" page, in page order.
fn options_of_kind(html: &str, kind: &str) -> Vec<String> {
    let marker = format!("data-kind=\"{kind}\"");
    html.match_indices(&marker)
        .filter_map(|(input_end, _)| {
            let input_start = html[..input_end].rfind("<input")?;
            let value = html[input_start..input_end].split("value=\"").nth(1)?;
            Some(value.chars().take_while(|c| *c != '"').collect())
        })
        .collect()
}

/// The access-log table of a page, or "" when there is none.
fn access_log(html: &str) -> &str {
    let Some(start) = html.find("data-testid=\"access-log\"") else { return "" };
    let rest = &html[start..];
    &rest[..rest.find("</table>").unwrap_or(rest.len())]
}

/// The list of fullmakter given, or "" when there is none.
fn given_list(html: &str) -> &str {
    let Some(start) = html.find("data-testid=\"fullmakt-given\"") else { return "" };
    let rest = &html[start..];
    &rest[..rest.find("</ul>").unwrap_or(rest.len())]
}

// ----- The holder: number and surname -----

#[tokio::test]
async fn an_unknown_number_and_a_wrong_surname_get_the_same_answer_and_no_name() {
    let app = InProcess::new(Mode::Demo).await;
    let ingrid = Resident::log_in(&app, INGRID, "Ingrid Solberg").await;
    let nobody = nobodys_number(app.db()).await;
    let maria = Persona::StrengtFortrolig.fnr().as_digits();
    let next_year = today_plus_years(1);
    let mut answers = Vec::new();
    for holder in [nobody.as_str(), PER, maria.as_str()] {
        let page = ingrid.give(holder, "Hansen", &["helse-omsorg"], &next_year).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.body);
        assert!(page.body.contains("Vi fant ingen person med dette fødselsnummeret og etternavnet"), "{}", page.body);
        // ("Berg" alone is in "Bergen kommune".)
        for name in ["Per Olsen", "Olsen", "Maria"] {
            assert!(!page.body.contains(name), "{name} shown for {holder}");
        }
        // The typed number is shown back in the field; apart from it the answers are alike.
        answers.push(page.body.replace(holder, "NUMBER"));
    }
    assert_eq!(answers[0], answers[1], "no such person and a wrong surname answer alike");
    assert_eq!(answers[0], answers[2], "a strengt fortrolig person answers alike");
    assert_eq!(fullmakter(app.db()).await, 0);
    // Per sees in his access log that someone looked him up, and why.
    let purposes = texts(app.db(), "SELECT purpose FROM audit_log WHERE subject = $1", &params![PER]).await;
    assert_eq!(purposes, ["Finne personen som skal få fullmakt"]);

    // The surname is compared without case or surrounding space.
    let granted = ingrid.give(PER, "  oLSEN ", &["helse-omsorg"], &next_year).await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER, "{}", granted.body);
    assert_eq!(granted.location.as_deref(), Some("/min-side/fullmakt?kvittering=gitt"));
    let page = ingrid.get("/min-side/fullmakt?kvittering=gitt").await;
    assert!(page.body.contains("data-testid=\"fullmakt-confirmation\""), "{}", page.body);
    assert!(page.body.contains("Fullmakten er gitt."), "{}", page.body);
    assert!(page.body.contains("Per Olsen"), "after the match the holder is named");

    // A strengt fortrolig holder is found with the right surname, and never named.
    let granted = ingrid.give(&maria, "BERG", &["post"], &next_year).await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER, "{}", granted.body);
    for path in ["/min-side/fullmakt", "/min-side"] {
        let page = ingrid.get(path).await;
        assert!(!page.body.contains("Maria"), "{path}: {}", page.body);
        assert!(page.body.contains("Person med skjermede opplysninger"), "{path}: {}", page.body);
    }
}

// ----- The form: each error beside its field -----

/// Guessing surnames stays slow: each person may look up a number of holders an hour, and then
/// is told to wait, with nothing read and nothing given.
#[tokio::test]
async fn holder_lookups_are_limited_per_person() {
    let mut settings = crate::helpers::test_settings(Mode::Demo).await;
    settings.settings.rate_limits.fullmakt_lookups_per_hour = 2;
    let app = InProcess::with(settings).await;
    let ingrid = Resident::log_in(&app, INGRID, "Ingrid Solberg").await;
    let next_year = today_plus_years(1);
    for guess in ["Hansen", "Johansen"] {
        let page = ingrid.give(PER, guess, &["helse-omsorg"], &next_year).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{guess}");
    }
    let looked_up = texts(app.db(), "SELECT purpose FROM audit_log WHERE subject = $1", &params![PER]).await.len();
    let refused = ingrid.give(PER, "Olsen", &["helse-omsorg"], &next_year).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    assert_eq!(fullmakter(app.db()).await, 0, "the right surname is not tried");
    let after = texts(app.db(), "SELECT purpose FROM audit_log WHERE subject = $1", &params![PER]).await.len();
    assert_eq!(after, looked_up, "nothing read");
    // Another person has a count of their own.
    let per = Resident::log_in(&app, PER, "Per Olsen").await;
    let page = per.give(INGRID, "Feil", &["helse-omsorg"], &next_year).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn each_broken_rule_has_its_own_message_beside_its_field_and_in_the_summary() {
    let app = InProcess::new(Mode::Demo).await;
    let ingrid = Resident::log_in(&app, INGRID, "Ingrid Solberg").await;
    let page = ingrid.post("/min-side/fullmakt", &[("holder", ""), ("surname", ""), ("valid_to", "")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = &page.body;
    assert!(html.contains("data-testid=\"error-summary\""), "{html}");
    assert!(html.contains("tabindex=\"-1\" autofocus"), "the summary takes focus: {html}");
    for (field, anchor, message) in [
        ("holder", "holder", "Skriv fødselsnummeret til den som skal få fullmakt."),
        ("surname", "surname", "Skriv etternavnet til den som skal få fullmakt."),
        ("areas", "area-barnehage-skole", "Velg minst ett tjenesteområde."),
        ("valid_to", "valid_to", "Velg når fullmakten skal gjelde til."),
    ] {
        assert!(html.contains(&format!("href=\"#{anchor}\"")), "the summary links to {anchor}");
        assert!(html.contains(&format!("id=\"{anchor}\"")), "{anchor} exists");
        assert!(html.contains(&format!("id=\"{field}-error\"")), "an error beside {field}");
        assert_eq!(html.matches(message).count(), 2, "{message}: once beside the field, once in the summary");
        let control = &html[html.find(&format!("id=\"{anchor}\"")).expect("control")..];
        let control = &control[..control.find('>').expect("tag end")];
        assert!(control.contains("aria-invalid=\"true\""), "{anchor}: {control}");
        if field != "areas" {
            assert!(control.contains(&format!("{field}-error")), "{anchor} is described by its error: {control}");
        }
    }
    assert!(!html.contains("id=\"valid_from-error\""), "an empty start means today, no error");
    assert_eq!(fullmakter(app.db()).await, 0);

    // Several rules on one field each get their message; a good field gets none.
    let page = ingrid
        .post(
            "/min-side/fullmakt",
            &[
                ("holder", "123"),
                ("surname", "Olsen"),
                ("areas", "mars"),
                ("valid_from", "2020-01-01"),
                ("valid_to", "2019-12-31"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for message in [
        "Fødselsnummeret må ha 11 siffer.",
        "Velg bare tjenesteområder fra listen.",
        "Startdatoen kan ikke være før i dag.",
        "Sluttdatoen kan ikke være før startdatoen.",
    ] {
        assert!(page.body.contains(message), "{message}: {}", page.body);
    }
    assert!(!page.body.contains("id=\"surname-error\""), "the surname was fine");
    assert!(page.body.contains("value=\"Olsen\""), "what was typed is kept");
}

// ----- Duplicates and revoked ones -----

#[tokio::test]
async fn the_same_fullmakt_twice_is_refused_and_a_revoked_one_is_not_listed() {
    let app = InProcess::new(Mode::Demo).await;
    let ingrid = Resident::log_in(&app, INGRID, "Ingrid Solberg").await;
    let next_year = today_plus_years(1);
    let first = ingrid.give(PER, "Olsen", &["helse-omsorg", "post"], &next_year).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let again = ingrid.give(PER, "Olsen", &["post", "helse-omsorg"], &today_plus_years(2)).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", again.body);
    assert!(again.body.contains("Du har allerede gitt denne personen fullmakt"), "{}", again.body);
    assert_eq!(fullmakter(app.db()).await, 1);
    // Other areas are another fullmakt.
    let other = ingrid.give(PER, "Olsen", &["sosial"], &next_year).await;
    assert_eq!(other.status, StatusCode::SEE_OTHER, "{}", other.body);
    assert_eq!(fullmakter(app.db()).await, 2);

    let id = texts(app.db(), "SELECT id FROM fullmakter WHERE areas LIKE '%sosial%'", &[]).await.remove(0);
    let revoked = ingrid.post(&format!("/min-side/fullmakt/{id}/trekk"), &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(revoked.location.as_deref(), Some("/min-side/fullmakt?kvittering=trukket"));
    let page = ingrid.get("/min-side/fullmakt?kvittering=trukket").await;
    assert!(page.body.contains("Fullmakten er trukket tilbake."), "{}", page.body);
    assert!(!page.body.contains("gjelder ikke nå"), "{}", page.body);
    assert!(!page.body.contains(&id), "the revoked fullmakt is not listed");
    let given = given_list(&page.body);
    assert!(!given.contains("Sosiale tjenester"), "its area is not listed either: {given}");
    assert!(given.contains("Helse og omsorg"), "the one in force still is: {given}");
    // Once revoked, the same may be given again.
    let renewed = ingrid.give(PER, "Olsen", &["sosial"], &next_year).await;
    assert_eq!(renewed.status, StatusCode::SEE_OTHER, "{}", renewed.body);
    // And the confirmation follows the language.
    let english = Resident { language: "en", ..ingrid };
    let page = english.get("/min-side/fullmakt?kvittering=gitt").await;
    assert!(page.body.contains("The power of attorney has been given."), "{}", page.body);
}

// ----- Whom to act for -----

#[tokio::test]
async fn the_choice_of_whom_to_act_for_carries_no_fodselsnummer_and_only_this_sessions_values_work() {
    let app = InProcess::new(Mode::Demo).await;
    let child = ingrids_child(app.db()).await;
    let ingrid = Resident::log_in(&app, INGRID, "Ingrid Solberg").await;
    let page = ingrid.get("/min-side/representere").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains(&child.as_digits()), "the child's number is not in the page");
    assert!(!page.body.contains(INGRID), "nor Ingrid's");
    let emma = option_of_kind(&page.body, "child").expect("the child is offered");
    assert_eq!(emma.len(), 32, "{emma}");

    for made_up in [format!("child:{}", child.as_digits()), "0".repeat(32), "<script>".to_owned()] {
        let refused = ingrid.post("/min-side/representere", &[("som", &made_up)]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{made_up}");
        assert!(!refused.body.contains(&child.as_digits()));
    }
    // A value from another person's page means nothing in this session.
    let per = Resident::log_in(&app, PER, "Per Olsen").await;
    let pers_page = per.get("/min-side/representere").await;
    let pers_own = option_of_kind(&pers_page.body, "myself").expect("Per may act as himself");
    assert_eq!(ingrid.post("/min-side/representere", &[("som", &pers_own)]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(per.post("/min-side/representere", &[("som", &emma)]).await.status, StatusCode::FORBIDDEN);
    let acting_as = "SELECT acting_as FROM sessions WHERE principal = $1";
    assert!(texts(app.db(), acting_as, &params![INGRID]).await[0].contains("myself"));

    let chosen = ingrid.post("/min-side/representere", &[("som", &emma)]).await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.body);
    assert!(texts(app.db(), acting_as, &params![INGRID]).await[0].contains("child"));
}

#[tokio::test]
async fn acting_for_a_child_shows_the_childs_affairs_and_a_session_claiming_someone_elses_child_is_refused() {
    let app = InProcess::new(Mode::Demo).await;
    let child = ingrids_child(app.db()).await;
    let ingrid = Resident::log_in(&app, INGRID, "Ingrid Solberg").await;
    let page = ingrid.get("/min-side/representere").await;
    let emma = option_of_kind(&page.body, "child").expect("the child is offered");
    let own = ingrid.get("/min-side").await;
    let own_log = access_log(&own.body);
    assert!(own.body.contains("Hvem har sett opplysninger om deg"), "{}", own.body);
    assert!(own_log.contains("Roller i Enhetsregisteret"), "Ingrid's own reads: {own_log}");
    assert!(!own_log.contains("Bytte av hvem som representeres"), "{own_log}");

    ingrid.post("/min-side/representere", &[("som", &emma)]).await;
    let page = ingrid.get("/min-side").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let childs_log = access_log(&page.body);
    assert!(page.body.contains("Hvem har sett opplysninger om Emma"), "{}", page.body);
    assert!(page.body.contains("Varsler til Emma"), "{}", page.body);
    assert!(!page.body.contains("Hvem har sett opplysninger om deg"), "{}", page.body);
    assert!(childs_log.contains("Bytte av hvem som representeres"), "the child's own entry: {childs_log}");
    assert!(!childs_log.contains("Roller i Enhetsregisteret"), "not the parent's: {childs_log}");

    // A session that claims a child the person has no parental responsibility for (as a
    // tampered or stale session would) is refused by the policy, and nothing of the child's
    // is shown.
    let per = Resident::log_in(&app, PER, "Per Olsen").await;
    let claimed = serde_json::json!({ "kind": "child", "fnr": child.as_digits(), "name": "Emma" }).to_string();
    app.db()
        .execute("UPDATE sessions SET acting_as = $1 WHERE principal = $2", &params![claimed, PER])
        .await
        .expect("update");
    let page = per.get("/min-side").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(!page.body.contains("Bytte av hvem som representeres"));
}

// ----- The access log -----

#[tokio::test]
async fn one_visit_is_one_line_of_the_access_log_in_the_visitors_language() {
    let app = InProcess::new(Mode::Demo).await;
    let ingrid = Resident::log_in(&app, INGRID, "Ingrid Solberg").await;
    assert_eq!(ingrid.get("/min-side/representere").await.status, StatusCode::OK);
    let reads = texts(
        app.db(),
        "SELECT action FROM audit_log WHERE subject = $1 AND purpose = $2",
        &params![INGRID, "Vise hvem du kan representere"],
    )
    .await;
    assert!(reads.len() >= 3, "the visit read several registers: {reads:?}");

    let page = ingrid.get("/min-side").await;
    let log = access_log(&page.body);
    assert_eq!(log.matches("Vise hvem du kan representere").count(), 1, "one line: {log}");
    assert_eq!(log.matches("data-testid=\"access-log-group\"").count(), 1, "{log}");
    assert!(log.contains(&format!("<summary>{} oppslag</summary>", reads.len())), "{log}");
    assert!(log.contains("Opplysninger fra Folkeregisteret"), "the group opens to its reads: {log}");

    for (language, purpose, basis) in [
        ("en", "Showing whom you can act for", "GDPR Article 6(1)(e)"),
        ("nn", "Vise kven du kan representere", "personvernforordninga art. 6"),
    ] {
        let visitor = Resident { language, ..Resident::log_in(&app, INGRID, "Ingrid Solberg").await };
        let page = visitor.get("/min-side").await;
        let log = access_log(&page.body);
        assert!(log.contains(purpose), "{language}: {log}");
        assert!(log.contains(basis), "{language}: {log}");
        assert!(!log.contains("Vise hvem du kan representere"), "{language}: {log}");
        assert!(!log.contains("personvernforordningen"), "{language}: {log}");
        assert!(!log.contains("forvaltningsloven"), "{language}: {log}");
    }
}

#[tokio::test]
async fn acting_through_a_fullmakt_shows_the_givers_notices_only_when_it_covers_letters_and_notices() {
    let app = InProcess::new(Mode::Demo).await;
    let ingrid = Resident::log_in(&app, INGRID, "Ingrid Solberg").await;
    let next_year = today_plus_years(1);
    let given = ingrid.give(PER, "Olsen", &["helse-omsorg"], &next_year).await;
    assert_eq!(given.status, StatusCode::SEE_OTHER, "{}", given.body);

    let per = Resident::log_in(&app, PER, "Per Olsen").await;
    let page = per.get("/min-side/representere").await;
    let through = option_of_kind(&page.body, "fullmakt").expect("the fullmakt is offered");
    assert_eq!(per.post("/min-side/representere", &[("som", &through)]).await.status, StatusCode::SEE_OTHER);
    let page = per.get("/min-side").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("data-testid=\"min-side-not-covered\""), "{}", page.body);
    assert_eq!(access_log(&page.body), "", "no access log, neither Ingrid's nor Per's");

    // With letters and notices among its areas, Ingrid's notices and access log are shown.
    let id = texts(app.db(), "SELECT id FROM fullmakter", &[]).await.remove(0);
    assert_eq!(ingrid.post(&format!("/min-side/fullmakt/{id}/trekk"), &[]).await.status, StatusCode::SEE_OTHER);
    let given = ingrid.give(PER, "Olsen", &["helse-omsorg", "post"], &next_year).await;
    assert_eq!(given.status, StatusCode::SEE_OTHER, "{}", given.body);
    let page = per.get("/min-side/representere").await;
    let through = option_of_kind(&page.body, "fullmakt").expect("the new fullmakt is offered");
    assert_eq!(per.post("/min-side/representere", &[("som", &through)]).await.status, StatusCode::SEE_OTHER);
    let page = per.get("/min-side").await;
    assert!(page.body.contains("Hvem har sett opplysninger om Ingrid Solberg"), "{}", page.body);
    assert!(page.body.contains("Du har gitt Per Olsen fullmakt."), "Ingrid's notice: {}", page.body);
}

/// Acting through a fullmakt, the holder sees the giver's cases in the fullmakt's areas and no
/// others; the same case page is not found through a fullmakt for another area.
#[tokio::test]
async fn a_fullmakt_holder_sees_the_givers_cases_in_its_areas_only() {
    let app = InProcess::new(Mode::Demo).await;
    app.app.seed_demo_case(&app._settings.settings).await.expect("Ingrid's kindergarten case");
    let bergen = kernel::Kommunenummer::parse("4601").expect("kommunenummer");
    let case =
        app.app.cases().submitted(bergen, "demo:barnehage:ingrid").await.expect("read").expect("the case").case_id;
    let ingrid = Resident::log_in(&app, INGRID, "Ingrid Solberg").await;
    let next_year = today_plus_years(1);
    for areas in [&["helse-omsorg"][..], &["barnehage-skole", "post"][..]] {
        let given = ingrid.give(PER, "Olsen", areas, &next_year).await;
        assert_eq!(given.status, StatusCode::SEE_OTHER, "{}", given.body);
    }
    let per = Resident::log_in(&app, PER, "Per Olsen").await;
    let choices = per.get("/min-side/representere").await;
    let mut seen = Vec::new();
    for value in options_of_kind(&choices.body, "fullmakt") {
        let chosen = per.post("/min-side/representere", &[("som", &value)]).await;
        assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.body);
        let list = per.get("/min-side/saker").await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        let page = per.get(&format!("/min-side/saker/{case}")).await;
        seen.push((list.body.contains(&case), page.status));
    }
    seen.sort_by_key(|(listed, _)| *listed);
    assert_eq!(
        seen,
        [(false, StatusCode::NOT_FOUND), (true, StatusCode::OK)],
        "listed and shown through the kindergarten fullmakt only"
    );
    // Per acting as himself: not Ingrid's case, even with the link — not even one he sent for
    // her through the fullmakt (having sent it gives no lasting right to read, answer or appeal).
    let sent_by_per = cases::NewApplication {
        submitted_by: (Fnr::parse(PER).expect("fnr"), "Per Olsen".to_owned()),
        ..crate::cases_flow::application("sendt-av-per", cases::DecisionMode::Manual, None)
    };
    let sent = app.app.cases().submit(bergen, sent_by_per).await.expect("received").case_id;
    let myself = options_of_kind(&per.get("/min-side/representere").await.body, "myself").remove(0);
    assert_eq!(per.post("/min-side/representere", &[("som", &myself)]).await.status, StatusCode::SEE_OTHER);
    for id in [&case, &sent] {
        assert_eq!(per.get(&format!("/min-side/saker/{id}")).await.status, StatusCode::NOT_FOUND, "{id}");
    }
}
