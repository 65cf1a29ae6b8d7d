//! The post pages in process, in demo mode: a letter the engine put in a resident's inbox is
//! shown to them and to nobody else, opening it records LEST, its PDF comes back byte for byte,
//! a letter that needs security level 4 stays closed to a level-3 login, an organisation's
//! letters are shown to the one acting for it and a child's to the parent acting for it, and
//! the employees' free-letter form refuses bad input (sending nothing) and sends a good letter,
//! whose status page, the sent list and the tasks then show it.
//!
//! Sessions are started directly, as the login callback would start them; the login itself is
//! tested end to end in `identity.rs`. Letters are sent with the application's own engine and
//! delivered by running its job worker, through the channels the demo simulates. Sofie Lunde's
//! letters go to the Min side inbox (Ingrid Solberg's go to Digipost, so she is the parent here).

use allmenning::config::Mode;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use identity::sessions::{NewSession, SessionSettings, Sessions};
use identity::{ActingAs, Principal};
use kernel::{Fnr, Kommunenummer};
use post::{Document, NewLetter, Recipient, Sender};
use registers::synthetic::Persona;

use crate::helpers::{InProcess, kommune};

const SUBSTANTIAL: &str = "idporten-loa-substantial";
const HIGH: &str = "idporten-loa-high";

fn bergen() -> Kommunenummer {
    kommune("4601")
}

/// One answer, read whole.
struct Page {
    status: StatusCode,
    location: Option<String>,
    content_type: String,
    disposition: String,
    cache_control: String,
    bytes: Vec<u8>,
    body: String,
}

/// Someone logged in, talking to the router in process.
struct Visitor<'a> {
    app: &'a InProcess,
    cookie: String,
    csrf: String,
    language: &'static str,
}

impl<'a> Visitor<'a> {
    async fn start(app: &'a InProcess, new: NewSession) -> (Self, identity::sessions::Session) {
        let sessions = Sessions::new(app.db().clone(), SessionSettings::default());
        let (cookie, session) = sessions.start(new, None).await.expect("a session");
        (Self { app, cookie, csrf: session.csrf_token.clone(), language: "nb" }, session)
    }

    async fn resident(app: &'a InProcess, persona: Persona, acr: &str) -> Self {
        let new = NewSession {
            principal: Principal::Person(persona.fnr()),
            display_name: persona.name().to_owned(),
            kommunenummer: None,
            provider: "idporten".to_owned(),
            acr: Some(acr.to_owned()),
            idp_sid: None,
            id_token: None,
        };
        Self::start(app, new).await.0
    }

    async fn employee(app: &'a InProcess, subject: &str) -> Self {
        let employee = identity::employees::Employees::new(app.db().clone(), bergen())
            .by_subject(subject)
            .await
            .expect("lookup")
            .expect("a demo employee");
        let new = NewSession {
            principal: Principal::Employee(employee.id),
            display_name: employee.name,
            kommunenummer: Some(bergen()),
            provider: "employees".to_owned(),
            acr: None,
            idp_sid: None,
            id_token: None,
        };
        Self::start(app, new).await.0
    }

    fn in_language(mut self, language: &'static str) -> Self {
        self.language = language;
        self
    }

    async fn read(&self, request: Request<Body>) -> Page {
        let response = self.app.send(request).await;
        let status = response.status();
        let header_text = |name: header::HeaderName| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
        };
        let location = Some(header_text(header::LOCATION)).filter(|l| !l.is_empty());
        let content_type = header_text(header::CONTENT_TYPE);
        let disposition = header_text(header::CONTENT_DISPOSITION);
        let cache_control = header_text(header::CACHE_CONTROL);
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024).await.expect("body").to_vec();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        Page { status, location, content_type, disposition, cache_control, bytes, body }
    }

    fn cookies(&self) -> String {
        format!("sesjon={}; lang={}", self.cookie, self.language)
    }

    async fn get(&self, path: &str) -> Page {
        let request = Request::get(path).header(header::COOKIE, self.cookies()).body(Body::empty()).expect("request");
        self.read(request).await
    }

    /// Posts `fields`, with the session's CSRF token first when `csrf` is true.
    async fn post(&self, path: &str, fields: &[(&str, &str)], csrf: bool) -> Page {
        let mut all = if csrf { vec![("csrf", self.csrf.as_str())] } else { vec![] };
        all.extend_from_slice(fields);
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(all).finish();
        let request = Request::post(path)
            .header(header::COOKIE, self.cookies())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.read(request).await
    }
}

/// A one-page PDF whose bytes carry `marker`, so two letters' documents differ.
fn pdf(marker: &str) -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Marker ({marker}) >>"),
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

/// The demo archive's saksmappe "Søknad om startlån" (under a klasse): letters go in it, as a
/// caseworker's letter goes in its case.
async fn demo_case(app: &InProcess) -> String {
    let (id,) = app
        .db()
        .municipal(bergen())
        .fetch_optional::<(String,)>(
            "SELECT system_id FROM archive_objects WHERE kommunenummer = $1 AND entity = 'saksmappe' \
             AND body LIKE '%Søknad om startlån%'",
            &[],
        )
        .await
        .expect("read")
        .expect("the demo archive's saksmappe");
    id
}

fn letter(recipient: Recipient, title: &str, security_level: u8, bytes: &[u8], case: &str) -> NewLetter {
    NewLetter {
        sender: Sender { id: "system:test".to_owned(), name: "Test".to_owned() },
        external_ref: None,
        recipient,
        kind: "informasjon".to_owned(),
        title: title.to_owned(),
        sender_unit: "Barnehageavdelingen".to_owned(),
        documents: vec![Document { tittel: title.to_owned(), pdf: bytes.to_vec().into() }],
        digital_only: false,
        security_level,
        reply_allowed: false,
        case: Some(case.to_owned()),
        answers: None,
        language: None,
    }
}

/// Sends a letter and lets the server's worker deliver it; returns its id. The letter must have
/// reached the inbox (a persona whose route is another channel would say so here).
async fn deliver_to_inbox(app: &InProcess, post: &post::Post, new: NewLetter) -> String {
    let sent = post.send(bergen(), new).await.expect("the letter is taken");
    app.app.worker().run_until_idle().await.expect("the worker runs");
    let row = post.letter(bergen(), &sent.id).await.expect("read").expect("the letter");
    assert!(
        row.inbox_at.is_some(),
        "the letter is in the inbox (channel {:?}, status {}, reason {:?})",
        row.channel,
        row.status,
        row.reason
    );
    sent.id
}

async fn letters(app: &InProcess) -> usize {
    app.db()
        .municipal(bergen())
        .fetch_all::<(String,)>("SELECT id FROM post_letters WHERE kommunenummer = $1", &[])
        .await
        .expect("read")
        .len()
}

#[tokio::test]
async fn a_letter_in_the_inbox_is_its_recipients_alone_and_opening_it_records_lest() {
    let app = InProcess::new(Mode::Demo).await;
    let post = app.app.post();
    let bytes = pdf("sofie-1");
    let title = "Informasjon om barnehageopptaket";
    let case = demo_case(&app).await;
    let new = letter(Recipient::Person(Persona::JustMovedIn.fnr()), title, 3, &bytes, &case);
    let id = deliver_to_inbox(&app, post, new).await;
    let sofie = Visitor::resident(&app, Persona::JustMovedIn, SUBSTANTIAL).await;
    let per = Visitor::resident(&app, Persona::NextOfKinOfDeceased, SUBSTANTIAL).await;

    // The front page of Min side leads to the inbox.
    let front = sofie.get("/min-side").await;
    assert!(front.body.contains("href=\"/min-side/post\""), "{}", front.body);

    let inbox = sofie.get("/min-side/post").await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
    assert!(inbox.body.contains(title), "{}", inbox.body);
    assert!(inbox.body.contains(&format!("href=\"/min-side/post/{id}\"")));
    assert!(inbox.body.contains(">Ulest<"), "unread is said in words: {}", inbox.body);
    assert!(inbox.body.contains("Fra Barnehageavdelingen"));

    // Another resident sees nothing of it: not in the list, and the address is not found.
    let other = per.get("/min-side/post").await;
    assert_eq!(other.status, StatusCode::OK);
    assert!(!other.body.contains(title), "{}", other.body);
    assert_eq!(per.get(&format!("/min-side/post/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(per.get(&format!("/min-side/post/{id}/dokument/0")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(sofie.get("/min-side/post/no-such-letter").await.status, StatusCode::NOT_FOUND);
    let row = post.letter(bergen(), &id).await.expect("read").expect("letter");
    assert!(row.read_at.is_none(), "another's visit reads nothing");
    assert_ne!(row.status, "LEST");

    // Opening it shows it and records LEST, which the sender sees.
    let opened = sofie.get(&format!("/min-side/post/{id}")).await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    assert!(opened.body.contains(title));
    let reference = row.registrerings_id.clone().expect("journaled");
    assert!(opened.body.contains(&reference.replace('/', "&#x2f;")), "the case reference: {}", opened.body);
    assert!(opened.body.contains(&format!("/min-side/post/{id}/dokument/0")));
    assert!(opened.body.contains("<iframe"), "shown inline: {}", opened.body);
    let row = post.letter(bergen(), &id).await.expect("read").expect("letter");
    assert_eq!(row.status, "LEST");
    assert!(row.read_at.is_some());
    let history = post.history(bergen(), &id).await.expect("history");
    assert_eq!(history.iter().filter(|h| h.status == "LEST").count(), 1);
    let again = sofie.get("/min-side/post").await;
    assert!(again.body.contains(">Lest<"), "read is said in words: {}", again.body);
    assert!(!again.body.contains(">Ulest<"));

    // The document, byte for byte.
    let document = sofie.get(&format!("/min-side/post/{id}/dokument/0")).await;
    assert_eq!(document.status, StatusCode::OK);
    assert_eq!(document.content_type, "application/pdf");
    assert!(document.disposition.starts_with("inline; filename=\""), "{}", document.disposition);
    assert!(document.disposition.ends_with(".pdf\""), "{}", document.disposition);
    assert_eq!(document.cache_control, "no-store");
    assert_eq!(document.bytes, bytes);
    assert_eq!(sofie.get(&format!("/min-side/post/{id}/dokument/1")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(sofie.get(&format!("/min-side/post/{id}/dokument/x")).await.status, StatusCode::NOT_FOUND);

    // In nynorsk and English.
    let sofie = sofie.in_language("nn");
    let inbox = sofie.get("/min-side/post").await;
    assert!(inbox.body.contains("lang=\"nn\"") && inbox.body.contains(">Lese<"), "{}", inbox.body);
    assert!(sofie.get(&format!("/min-side/post/{id}")).await.body.contains("Saksreferanse"));
    let sofie = sofie.in_language("en");
    let inbox = sofie.get("/min-side/post").await;
    assert!(inbox.body.contains("lang=\"en\"") && inbox.body.contains(">Read<"), "{}", inbox.body);
    let opened = sofie.get(&format!("/min-side/post/{id}")).await;
    assert!(opened.body.contains("Case reference") && opened.body.contains("Download"), "{}", opened.body);
}

#[tokio::test]
async fn a_level_four_letter_stays_closed_to_a_level_three_login() {
    let app = InProcess::new(Mode::Demo).await;
    let post = app.app.post();
    let title = "Vedtak om spesialpedagogisk hjelp";
    let case = demo_case(&app).await;
    let new = letter(Recipient::Person(Persona::JustMovedIn.fnr()), title, 4, &pdf("l4"), &case);
    let id = deliver_to_inbox(&app, post, new).await;
    let substantial = Visitor::resident(&app, Persona::JustMovedIn, SUBSTANTIAL).await;

    let inbox = substantial.get("/min-side/post").await;
    assert!(inbox.body.contains(title), "the title is listed: {}", inbox.body);
    assert!(inbox.body.contains("Krever høyt sikkerhetsnivå"));
    let page = substantial.get(&format!("/min-side/post/{id}")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("data-testid=\"needs-level-four\""), "{}", page.body);
    assert!(page.body.contains("krever høyere sikkerhetsnivå"));
    assert!(!page.body.contains("/dokument/0"), "no document: {}", page.body);
    let row = post.letter(bergen(), &id).await.expect("read").expect("letter");
    assert!(!page.body.contains(&row.registrerings_id.clone().expect("journaled").replace('/', "&#x2f;")));
    let document = substantial.get(&format!("/min-side/post/{id}/dokument/0")).await;
    assert_eq!(document.status, StatusCode::FORBIDDEN);
    assert_ne!(document.content_type, "application/pdf");
    assert!(row.read_at.is_none(), "not opened, not read");
    assert_ne!(row.status, "LEST");

    let high = Visitor::resident(&app, Persona::JustMovedIn, HIGH).await;
    let page = high.get(&format!("/min-side/post/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("/dokument/0"));
    assert_eq!(high.get(&format!("/min-side/post/{id}/dokument/0")).await.bytes, pdf("l4"));
    assert_eq!(post.letter(bergen(), &id).await.expect("read").expect("letter").status, "LEST");
}

#[tokio::test]
async fn acting_for_an_organisation_shows_its_letters_and_not_ones_own() {
    let app = InProcess::new(Mode::Demo).await;
    let post = app.app.post();
    let lars = Persona::DagligLederOfNewBusiness.fnr();
    let (orgnr, role) = registers::LocalRegisters::new(app.db().clone())
        .roles_of(&lars)
        .await
        .expect("roles")
        .into_iter()
        .next()
        .expect("Lars leads a company");
    let company = "Brev til virksomheten om skjenkebevilling";
    let case = demo_case(&app).await;
    let company_letter =
        deliver_to_inbox(&app, post, letter(Recipient::Organisation(orgnr), company, 3, &pdf("org"), &case)).await;

    let new = NewSession {
        principal: Principal::Person(lars),
        display_name: "Lars Haugen".to_owned(),
        kommunenummer: None,
        provider: "idporten".to_owned(),
        acr: Some(SUBSTANTIAL.to_owned()),
        idp_sid: None,
        id_token: None,
    };
    let (visitor, session) = Visitor::start(&app, new.clone()).await;
    // As himself, the company's letter is not his.
    assert!(!visitor.get("/min-side/post").await.body.contains(company));
    assert_eq!(visitor.get(&format!("/min-side/post/{company_letter}")).await.status, StatusCode::NOT_FOUND);
    let sessions = Sessions::new(app.db().clone(), SessionSettings::default());
    sessions
        .set_acting_as(&session, &ActingAs::Organisation(orgnr, role), Some("Haugen Snekkerverksted AS"))
        .await
        .expect("acting for the company");
    let inbox = visitor.get("/min-side/post").await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
    assert!(inbox.body.contains(company), "{}", inbox.body);
    assert!(inbox.body.contains("Innboks for Haugen Snekkerverksted AS"));
    let opened = visitor.get(&format!("/min-side/post/{company_letter}")).await;
    assert_eq!(opened.status, StatusCode::OK);
    assert_eq!(post.letter(bergen(), &company_letter).await.expect("read").expect("letter").status, "LEST");
}

#[tokio::test]
async fn a_parent_acting_for_her_child_sees_the_childs_letters_and_only_then() {
    let app = InProcess::new(Mode::Demo).await;
    let post = app.app.post();
    let ingrid = Persona::ParentOfNewborn.fnr();
    let child = *registers::LocalRegisters::new(app.db().clone())
        .person(&ingrid)
        .await
        .expect("lookup")
        .expect("Ingrid")
        .parental_responsibility_for
        .first()
        .expect("Ingrid has a child");
    let case = demo_case(&app).await;
    let title = "Tilbud om helsestasjon";
    let id = deliver_to_inbox(&app, post, letter(Recipient::Person(child), title, 3, &pdf("child"), &case)).await;

    let new = NewSession {
        principal: Principal::Person(ingrid),
        display_name: "Ingrid Solberg".to_owned(),
        kommunenummer: None,
        provider: "idporten".to_owned(),
        acr: Some(SUBSTANTIAL.to_owned()),
        idp_sid: None,
        id_token: None,
    };
    let (visitor, session) = Visitor::start(&app, new).await;
    assert!(!visitor.get("/min-side/post").await.body.contains(title), "not in her own inbox");
    assert_eq!(visitor.get(&format!("/min-side/post/{id}")).await.status, StatusCode::NOT_FOUND);
    Sessions::new(app.db().clone(), SessionSettings::default())
        .set_acting_as(&session, &ActingAs::Child(child), Some("Emma Solberg"))
        .await
        .expect("acting for the child");
    let inbox = visitor.get("/min-side/post").await;
    assert!(inbox.body.contains(title), "{}", inbox.body);
    assert!(inbox.body.contains("Innboks for Emma Solberg"));
    let document = visitor.get(&format!("/min-side/post/{id}/dokument/0")).await;
    assert_eq!(document.bytes, pdf("child"));
}

#[tokio::test]
async fn the_employees_form_refuses_bad_input_sending_nothing_and_sends_a_good_letter() {
    let app = InProcess::new(Mode::Demo).await;
    let post = app.app.post();
    let kari = Visitor::employee(&app, "kari.saksbehandler").await;

    let home = kari.get("/ansatt").await;
    assert!(home.body.contains("href=\"/ansatt/post/nytt\""), "{}", home.body);
    let form = kari.get("/ansatt/post/nytt").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("<option value=\"barnehage\" selected>Barnehageavdelingen</option>"), "{}", form.body);

    let before = letters(&app).await;
    let sofie = Persona::JustMovedIn.fnr().as_digits();
    let case = demo_case(&app).await;
    let good = |title: &'static str| {
        vec![
            ("recipient", sofie.clone()),
            ("title", title.to_owned()),
            ("body", "Vi har mottatt søknaden din.\r\n\r\nDu hører fra oss innen to uker.".to_owned()),
            ("unit", "barnehage".to_owned()),
            ("saksmappe", case.clone()),
            ("security_level", "3".to_owned()),
        ]
    };
    let fields = |pairs: &[(&'static str, String)]| pairs.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();

    // A wrong fødselsnummer and no title: both said, beside their fields and in the summary.
    let mut bad = good("");
    bad[0].1 = "14839221101".to_owned();
    let bad = fields(&bad);
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = kari.post("/ansatt/post/nytt", &bad, true).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("<title>Feil:"), "{}", refused.body);
    assert!(refused.body.contains("data-testid=\"error-summary\""));
    assert!(refused.body.contains("autofocus"));
    assert!(refused.body.contains("data-testid=\"error-recipient\""));
    assert!(refused.body.contains("data-testid=\"error-title\""));
    assert!(refused.body.contains("Fødselsnummeret eller d-nummeret er ikke gyldig"));
    assert!(refused.body.contains("Skriv en tittel."));
    assert!(refused.body.contains("href=\"#recipient\"") && refused.body.contains("href=\"#title\""));
    assert!(refused.body.contains("value=\"14839221101\""), "what was typed stays");
    let english = Visitor::employee(&app, "kari.saksbehandler").await.in_language("en");
    let refused = english.post("/ansatt/post/nytt", &bad, true).await;
    assert!(refused.body.contains("Enter a title.") && refused.body.contains("<title>Error:"), "{}", refused.body);
    // An organisasjonsnummer with a wrong control digit, and an unknown but valid number.
    let mut wrong_org = good("Et brev");
    wrong_org[0].1 = "974760674".to_owned();
    let wrong_org = fields(&wrong_org);
    let wrong_org: Vec<(&str, &str)> = wrong_org.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = kari.post("/ansatt/post/nytt", &wrong_org, true).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Organisasjonsnummeret er ikke gyldig"));
    // A case the archive does not have, and one that is not a systemID at all.
    let mut no_case = good("Et brev");
    no_case[4].1 = uuid::Uuid::now_v7().to_string();
    let no_case = fields(&no_case);
    let no_case: Vec<(&str, &str)> = no_case.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = kari.post("/ansatt/post/nytt", &no_case, true).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("Vi finner ikke saksmappen i arkivet."), "{}", refused.body);
    let mut bad_case = good("Et brev");
    bad_case[4].1 = "2026/1".to_owned();
    let bad_case = fields(&bad_case);
    let bad_case: Vec<(&str, &str)> = bad_case.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = kari.post("/ansatt/post/nytt", &bad_case, true).await;
    assert!(refused.body.contains("data-testid=\"error-saksmappe\""), "{}", refused.body);
    // Without a case the engine makes a new saksmappe (the demo archive's default arkivdel is
    // classified, so under its first open klasse): sent.
    let mut without_case = good("Et brev uten sak");
    without_case[4].1 = String::new();
    let without_case = fields(&without_case);
    let without_case: Vec<(&str, &str)> = without_case.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = kari.post("/ansatt/post/nytt", &without_case, true).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(letters(&app).await, before + 1);
    let before = letters(&app).await;
    // Without the CSRF token: refused before anything is read.
    let good_fields = fields(&good("Svar på søknad om barnehageplass"));
    let good_fields: Vec<(&str, &str)> = good_fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let forged = kari.post("/ansatt/post/nytt", &good_fields, false).await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    assert_eq!(letters(&app).await, before, "nothing was sent");

    // A good letter: sent, and the browser goes to its status page.
    let form_id = uuid::Uuid::now_v7().to_string();
    let mut with_id = good_fields.clone();
    with_id.push(("form_id", form_id.as_str()));
    let sent = kari.post("/ansatt/post/nytt", &with_id, true).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let location = sent.location.expect("a redirect");
    let id = location.strip_prefix("/ansatt/post/").and_then(|l| l.strip_suffix("?sendt=1")).expect("status page");
    assert_eq!(letters(&app).await, before + 1);
    let row = post.letter(bergen(), id).await.expect("read").expect("the letter");
    let kari_id = identity::employees::Employees::new(app.db().clone(), bergen())
        .by_subject("kari.saksbehandler")
        .await
        .expect("lookup")
        .expect("Kari")
        .id;
    assert_eq!(row.sender, format!("ansatt:{kari_id}"));
    assert_eq!(row.title, "Svar på søknad om barnehageplass");
    assert_eq!(row.sender_unit, "Barnehageavdelingen");
    assert_eq!(row.security_level, 3);
    assert_eq!(row.recipient_id, sofie);
    let document = post.document(bergen(), &row, 0).await.expect("the PDF");
    assert_eq!(post::pdf::check(&document, 10_000_000), Ok(1), "a one-page PDF");
    // The same form sent twice is one letter.
    let twice = kari.post("/ansatt/post/nytt", &with_id, true).await;
    assert_eq!(twice.location.as_deref(), Some(location.as_str()));
    assert_eq!(letters(&app).await, before + 1);

    let status = kari.get(&location).await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.body);
    assert!(status.body.contains("data-testid=\"letter-sent\""));
    assert!(status.body.contains("Svar på søknad om barnehageplass"));
    assert!(status.body.contains(&row.registrerings_id.clone().expect("journaled").replace('/', "&#x2f;")));
    assert!(status.body.contains(&format!("data-status=\"{}\"", row.status)), "{}", status.body);
    assert!(status.body.contains("data-testid=\"history-entry\""));
    let reason = row.reason.clone().expect("a routing reason");
    assert!(status.body.contains("data-testid=\"reason\""), "{reason}: {}", status.body);
    let list = kari.get("/ansatt/post").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(&format!("href=\"/ansatt/post/{id}\"")), "{}", list.body);

    // Delivered, it reaches Sofie's inbox (she is notified); read, Kari sees LEST.
    app.app.worker().run_until_idle().await.expect("the worker runs");
    let delivered = post.letter(bergen(), id).await.expect("read").expect("letter");
    assert!(delivered.inbox_at.is_some(), "in the inbox: {} {:?}", delivered.status, delivered.reason);
    let status = kari.get(&format!("/ansatt/post/{id}")).await;
    assert!(status.body.contains("Innboksen på Min side"), "the channel in words: {}", status.body);
    let sofie_visitor = Visitor::resident(&app, Persona::JustMovedIn, SUBSTANTIAL).await;
    assert_eq!(sofie_visitor.get(&format!("/min-side/post/{id}")).await.status, StatusCode::OK);
    let status = kari.get(&format!("/ansatt/post/{id}")).await;
    assert!(status.body.contains("data-status=\"LEST\""), "{}", status.body);
    assert!(status.body.contains("data-testid=\"read-at\""));

    // Ola leads the same unit and sees the unit's letter; an archivist and an administrator
    // send no letters, and Ola's own list is his.
    let ola = Visitor::employee(&app, "ola.leder").await;
    assert_eq!(ola.get(&location).await.status, StatusCode::OK);
    assert!(!ola.get("/ansatt/post").await.body.contains(id));
    for subject in ["anne.arkivar", "admin"] {
        let other = Visitor::employee(&app, subject).await;
        assert_eq!(other.get("/ansatt/post").await.status, StatusCode::FORBIDDEN, "{subject}");
        assert_eq!(other.get("/ansatt/post/nytt").await.status, StatusCode::FORBIDDEN, "{subject}");
        assert_eq!(other.get(&location).await.status, StatusCode::FORBIDDEN, "{subject}");
        assert_eq!(other.post("/ansatt/post/nytt", &with_id, true).await.status, StatusCode::FORBIDDEN);
    }
    // A resident is not an employee.
    assert_eq!(sofie_visitor.get("/ansatt/post").await.status, StatusCode::FORBIDDEN);
    assert_eq!(letters(&app).await, before + 1);
}

#[tokio::test]
async fn a_letter_that_needs_handling_by_hand_is_a_task_with_its_reason_and_no_address() {
    let app = InProcess::new(Mode::Demo).await;
    let kari = Visitor::employee(&app, "kari.saksbehandler").await;
    assert!(kari.get("/ansatt/post/oppgaver").await.body.contains("data-testid=\"tasks-empty\""));
    let maria: Fnr = Persona::StrengtFortrolig.fnr();
    let fields = [
        ("recipient", maria.as_digits()),
        ("title", "Bekreftelse på mottatt søknad".to_owned()),
        ("body", "Vi har mottatt søknaden.".to_owned()),
        ("unit", "barnehage".to_owned()),
        ("saksmappe", demo_case(&app).await),
        ("security_level", "4".to_owned()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let sent = kari.post("/ansatt/post/nytt", &fields, true).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let location = sent.location.expect("status page");
    let status = kari.get(&location).await;
    assert!(status.body.contains("data-status=\"MANUELT_HANDTERT\""), "{}", status.body);
    assert!(status.body.contains("Mottakeren har beskyttet adresse"), "the reason in words: {}", status.body);
    assert!(status.body.contains("Manuell behandling"));

    let tasks = kari.get("/ansatt/post/oppgaver").await;
    assert_eq!(tasks.status, StatusCode::OK, "{}", tasks.body);
    assert!(tasks.body.contains("Bekreftelse på mottatt søknad"), "{}", tasks.body);
    assert!(tasks.body.contains("Mottakeren har beskyttet adresse"));
    assert!(tasks.body.contains(&format!("href=\"{}\"", location.trim_end_matches("?sendt=1"))));
    // Her number is not on the page; an address cannot be, as a task carries none.
    assert!(!tasks.body.contains(&maria.as_digits()));
    // In nynorsk and English the reason is in the page's language.
    let nynorsk = Visitor::employee(&app, "kari.saksbehandler").await.in_language("nn");
    let tasks = nynorsk.get("/ansatt/post/oppgaver").await;
    assert!(tasks.body.contains("Mottakaren har verna adresse"), "{}", tasks.body);
    let english = Visitor::employee(&app, "kari.saksbehandler").await.in_language("en");
    let tasks = english.get("/ansatt/post/oppgaver").await;
    assert!(tasks.body.contains("The recipient has a protected address"), "{}", tasks.body);
    assert!(!tasks.body.contains("Mottakeren har beskyttet adresse"), "no bokmål left: {}", tasks.body);
}
