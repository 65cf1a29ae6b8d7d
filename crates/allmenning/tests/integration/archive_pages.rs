//! The archivist's pages and the public journal, end to end on a real socket in demo mode: the
//! running journal and a case for an archivist and for no one else, a document downloaded as
//! stored, a warning beside a fødselsnummer with wrong control digits, screening through the
//! form showing in the public journal's page, JSON and CSV (and a stale form changing
//! nothing), finishing a case, and a request for access registered and answered.

use allmenning::config::Mode;
use archive::{Noark, Object};
use reqwest::StatusCode;
use reqwest::header;
use serde_json::{Map, Value, json};
use store::Db;

use crate::helpers::{Spawned, kommune, spawn_app_with_db, test_settings};
use crate::identity::{Browser, csrf_of};

const INGRID: &str = "Ingrid Solberg";
const BASIS: &str = "Offl. § 13 jf. fvl. § 13";

fn noark(db: &Db) -> Noark {
    Noark::new(db.clone(), store::BlobStore::open(&store::BlobConfig::Memory).expect("blobs"))
}

fn body(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("an object"),
    }
}

fn actor() -> archive::Actor {
    archive::Actor { id: "test".to_owned(), name: "Test".to_owned() }
}

async fn objects(noark: &Noark, entity: &str) -> Vec<Object> {
    noark.list(kommune("4601"), &[entity], 0, 100).await.expect("list")
}

/// The demo's journalpost with this title.
async fn post_titled(noark: &Noark, title: &str) -> Object {
    objects(noark, "journalpost")
        .await
        .into_iter()
        .find(|p| p.text("tittel") == Some(title))
        .unwrap_or_else(|| panic!("no journalpost {title}"))
}

async fn case_titled(noark: &Noark, title: &str) -> Object {
    objects(noark, "saksmappe")
        .await
        .into_iter()
        .find(|p| p.text("tittel") == Some(title))
        .unwrap_or_else(|| panic!("no saksmappe {title}"))
}

async fn archivist(app: &Spawned) -> Browser {
    let mut browser = Browser::new(app);
    browser.login_employee("anne.arkivar").await;
    browser
}

/// An anonymous GET: status, content type and body.
async fn fetch(app: &Spawned, path: &str) -> (StatusCode, String, String) {
    let response = app.client.get(app.url(path)).send().await.expect("answer");
    let status = response.status();
    let content_type =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, content_type, response.text().await.expect("body"))
}

/// The public journal of today as page, JSON and CSV.
async fn public_today(app: &Spawned) -> (String, Value, String) {
    let (status, _, page) = fetch(app, "/offentlig-journal").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, content_type, json) = fetch(app, "/offentlig-journal.json").await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let (status, content_type, csv) = fetch(app, "/offentlig-journal.csv").await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert_eq!(content_type, "text/csv; charset=utf-8");
    (page, serde_json::from_str(&json).expect("JSON"), csv)
}

fn json_entry<'a>(json: &'a Value, number: &str) -> &'a Value {
    json["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["journalpostnummer"] == json!(number))
        .unwrap_or_else(|| panic!("no entry {number} in {json}"))
}

/// Text as the templates escape it.
fn html(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('/', "&#x2f;")
}

fn number_of(post: &Object) -> String {
    format!("{}/{}", post.body["journalaar"], post.body["journalsekvensnummer"])
}

#[tokio::test]
async fn an_archivist_sees_the_running_journal_and_a_case_and_other_employees_are_refused() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let noark = noark(&db);
    let mut anne = archivist(&app).await;

    let journal = anne.get("/ansatt/arkiv").await;
    assert_eq!(journal.status, StatusCode::OK, "{}", journal.body);
    let incoming = post_titled(&noark, "Søknad om startlån fra Ingrid Solberg").await;
    let loan = case_titled(&noark, "Søknad om startlån").await;
    for expected in [
        "Søknad om startlån fra Ingrid Solberg",
        INGRID,
        "Varsel om oppstart av planarbeid",
        "Statens vegvesen",
        "Notat om medvirkning i planarbeidet",
        html(&number_of(&incoming)).as_str(),
        html(loan.text("mappeID").expect("mappeID")).as_str(),
        "Arkiv for Bergen kommune",
        "Sakarkiv",
    ] {
        assert!(journal.body.contains(expected), "the running journal shows {expected}: {}", journal.body);
    }
    // Yesterday's journal is empty; a date that is not one is an error with its summary.
    let yesterday = kernel::time::today_in_norway().previous_day().expect("a day before");
    let earlier = anne.get(&format!("/ansatt/arkiv?dato={yesterday}")).await;
    assert_eq!(earlier.status, StatusCode::OK);
    assert!(earlier.body.contains("data-testid=\"journal-empty\""), "{}", earlier.body);
    let wrong = anne.get("/ansatt/arkiv?dato=i-går").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("<title>Feil:"), "{}", wrong.body);
    assert!(wrong.body.contains("data-testid=\"error-summary\""));

    // The case: its fields in plain language, its journalpost, its history.
    let (wrong_fnr, right_fnr) = ("14839221101", "14839221100");
    for number in [wrong_fnr, right_fnr] {
        noark
            .create(
                kommune("4601"),
                Some(&loan.system_id),
                archive::model::entity("foedselsnummer").expect("entity"),
                &body(json!({"foedselsnummer": number})),
                &actor(),
            )
            .await
            .expect("a fødselsnummer, as the document states it");
    }
    let case = anne.get(&format!("/ansatt/arkiv/{}", loan.system_id)).await;
    assert_eq!(case.status, StatusCode::OK, "{}", case.body);
    for expected in [
        "Saksmappe",
        "Saksnummer",
        "Under behandling (B)",
        "Økonomi",
        "Søknad om startlån fra Ingrid Solberg",
        "Endringslogg",
        wrong_fnr,
        right_fnr,
    ] {
        assert!(case.body.contains(expected), "the case shows {expected}: {}", case.body);
    }
    assert_eq!(
        case.body.matches("data-testid=\"identifier-warning\"").count(),
        1,
        "one warning, beside the wrong number: {}",
        case.body
    );
    let warning_at = case.body.find("data-testid=\"identifier-warning\"").expect("warning");
    let wrong_at = case.body.find(wrong_fnr).expect("the wrong number, stored as stated");
    let right_at = case.body.find(right_fnr).expect("the right number");
    assert!(
        wrong_at < warning_at && (right_at < wrong_at || right_at > warning_at),
        "the warning is beside the wrong number"
    );
    assert!(case.body.contains("data-testid=\"finish-form\""), "a case may be finished");

    // The journalpost: its parties, its document, downloaded as stored.
    let post = anne.get(&format!("/ansatt/arkiv/{}", incoming.system_id)).await;
    assert_eq!(post.status, StatusCode::OK, "{}", post.body);
    assert!(post.body.contains(INGRID) && post.body.contains("Offl. § 13 jf. fvl. § 13"), "{}", post.body);
    assert!(post.body.contains("data-testid=\"screening-form\""));
    let file = objects(&noark, "dokumentobjekt")
        .await
        .into_iter()
        .find(|o| o.text("filnavn") == Some("soknad-startlan.pdf"))
        .expect("the demo's PDF");
    assert!(post.body.contains(&format!("/ansatt/arkiv/fil/{}", file.system_id)), "{}", post.body);
    let session = anne.cookies_mut().get("sesjon").cloned().expect("a session");
    let download = app
        .client
        .get(app.url(&format!("/ansatt/arkiv/fil/{}", file.system_id)))
        .header(header::COOKIE, format!("sesjon={session}"))
        .send()
        .await
        .expect("answer");
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(download.headers()[header::CONTENT_DISPOSITION], "attachment; filename=\"soknad-startlan.pdf\"");
    let bytes = download.bytes().await.expect("bytes");
    assert!(bytes.starts_with(b"%PDF-") && bytes.ends_with(b"%%EOF\n"));
    assert_eq!(store::blobs::sha256_hex(&bytes), file.text("sjekksum").expect("its checksum"));

    // Another employee, and nobody at all, are refused.
    let mut kari = Browser::new(&app);
    kari.login_employee("kari.saksbehandler").await;
    for path in [
        "/ansatt/arkiv".to_owned(),
        format!("/ansatt/arkiv/{}", loan.system_id),
        format!("/ansatt/arkiv/fil/{}", file.system_id),
        "/ansatt/arkiv/innsyn".to_owned(),
    ] {
        assert_eq!(kari.get(&path).await.status, StatusCode::FORBIDDEN, "{path}");
        let (status, _, _) = fetch(&app, &path).await;
        assert!(status.is_redirection(), "{path}: anonymous is sent to log in, got {status}");
    }
    let csrf = kari.csrf("/ansatt").await;
    let refused = kari
        .post_form(
            &format!("/ansatt/arkiv/{}/skjerming", loan.system_id),
            &[("csrf", &csrf), ("version", &loan.version.to_string()), ("tilgangsrestriksjon", "")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(noark.get(kommune("4601"), &loan.system_id).await.expect("case").version, loan.version);
    assert_eq!(anne.get("/ansatt/arkiv/finnes-ikke").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn screening_through_the_form_changes_the_public_journal_and_a_stale_form_changes_nothing() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let noark = noark(&db);
    let bergen = kommune("4601");

    // The demo's screened entry: the person's name is gone everywhere, the hjemmel is shown.
    let (page, json, csv) = public_today(&app).await;
    let incoming = post_titled(&noark, "Søknad om startlån fra Ingrid Solberg").await;
    for (what, text) in [("page", &page), ("CSV", &csv), ("JSON", &json.to_string())] {
        assert!(!text.contains(INGRID), "the {what} hides the private person's name: {text}");
        assert!(text.contains("Statens vegvesen"), "the {what} shows the organisation: {text}");
        assert!(text.contains(BASIS), "the {what} shows the hjemmel: {text}");
        assert!(text.contains("Søknad om startlån fra *****"), "the {what} shows the public title: {text}");
    }
    let entry = json_entry(&json, &number_of(&incoming));
    assert_eq!(entry["skjermingshjemmel"], json!(BASIS));
    assert_eq!(entry["korrespondanseparter"][0]["screened"], json!(true));
    assert!(
        csv.starts_with(
            "journalpostnummer,journaldato,journalposttype,tittel,saksnummer,korrespondanseparter,skjermingshjemmel\r\n"
        ),
        "{csv}"
    );

    // An unscreened entry from a private person shows the name, until the archivist screens it.
    let plan = case_titled(&noark, "Reguleringsplan for sentrum nord").await;
    let letter = noark
        .create(
            bergen,
            Some(&plan.system_id),
            archive::model::entity("journalpost").expect("entity"),
            &body(json!({"tittel": "Merknad til planarbeidet", "journalposttype": {"kode": "I"}})),
            &actor(),
        )
        .await
        .expect("journalpost");
    noark
        .create(
            bergen,
            Some(&letter.system_id),
            archive::model::entity("korrespondansepartperson").expect("entity"),
            &body(json!({"navn": "Ola Nordmann, \"Bakken\"", "korrespondanseparttype": {"kode": "EA"}})),
            &actor(),
        )
        .await
        .expect("party");
    let (page, json, csv) = public_today(&app).await;
    assert!(
        page.contains("Ola Nordmann, &quot;Bakken&quot;") || page.contains("Ola Nordmann, &#34;Bakken&#34;"),
        "{page}"
    );
    assert!(csv.contains("\"Ola Nordmann, \"\"Bakken\"\"\""), "RFC 4180 quoting: {csv}");
    assert_eq!(
        json_entry(&json, &number_of(&letter))["korrespondanseparter"][0]["name"],
        json!("Ola Nordmann, \"Bakken\"")
    );

    let mut anne = archivist(&app).await;
    let path = format!("/ansatt/arkiv/{}", letter.system_id);
    let csrf = csrf_of(&anne.get(&path).await.body);
    let version = letter.version.to_string();
    let action = format!("{path}/skjerming");

    // Without a hjemmel and without anything to screen: shown again with the errors, nothing saved.
    let refused =
        anne.post_form(&action, &[("csrf", &csrf), ("version", &version), ("tilgangsrestriksjon", "13")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("<title>Feil:"), "{}", refused.body);
    assert!(refused.body.contains("data-testid=\"error-summary\"") && refused.body.contains("autofocus"));
    assert!(
        refused.body.contains("href=\"#skjermingshjemmel\"") && refused.body.contains("href=\"#skjermingmetadata-0\""),
        "{}",
        refused.body
    );
    assert_eq!(noark.get(bergen, &letter.system_id).await.expect("post").version, letter.version, "nothing changed");

    let fields = [
        ("csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("tilgangsrestriksjon", "13"),
        ("skjermingshjemmel", BASIS),
        ("skjermingmetadata", "NA"),
    ];
    anne.post_form(&action, &fields).await.assert_redirect(&format!("{path}?lagret=skjerming"));
    let screened = noark.get(bergen, &letter.system_id).await.expect("post");
    assert_eq!(screened.body["skjerming"]["skjermingshjemmel"], json!(BASIS));
    assert_eq!(screened.body["skjerming"]["tilgangsrestriksjon"]["kode"], json!("13"));
    assert_eq!(
        screened.body["skjerming"]["skjermingMetadata"],
        json!([{"kode": "NA", "kodenavn": "Skjerming navn avsender"}])
    );
    let saved = anne.get(&format!("{path}?lagret=skjerming")).await;
    assert!(saved.body.contains("data-testid=\"saved\""), "{}", saved.body);
    assert!(saved.body.contains("skjerming"), "the endringslogg has the change: {}", saved.body);

    let (page, json, csv) = public_today(&app).await;
    for (what, text) in [("page", &page), ("CSV", &csv), ("JSON", &json.to_string())] {
        assert!(!text.contains("Ola Nordmann"), "the {what} no longer shows the name: {text}");
        assert!(text.contains("Merknad til planarbeidet"), "the title is not covered, so it shows in the {what}");
    }
    let entry = json_entry(&json, &number_of(&letter));
    assert_eq!(entry["skjermingshjemmel"], json!(BASIS));
    assert_eq!(entry["korrespondanseparter"][0]["name"], json!("[skjermet]"));

    // The same form again, now stale: refused, and the screening stays as it was.
    let stale = anne.post_form(&action, &[("csrf", &csrf), ("version", &version), ("tilgangsrestriksjon", "")]).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert!(stale.body.contains("Ingenting er lagret"), "{}", stale.body);
    assert!(stale.body.contains("data-testid=\"error-summary\""));
    let after = noark.get(bergen, &letter.system_id).await.expect("post");
    assert_eq!(after.version, screened.version);
    assert_eq!(after.body, screened.body);

    // A period of more than 31 days is refused, in the page and in the open data.
    let (status, _, page) = fetch(&app, "/offentlig-journal?fra=2026-01-01&til=2026-03-01").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("data-testid=\"error-summary\""));
    let (status, _, _) = fetch(&app, "/offentlig-journal.json?fra=2026-01-01&til=2026-03-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = fetch(&app, "/offentlig-journal.csv?fra=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_finished_case_takes_no_new_journalposts() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let noark = noark(&db);
    let bergen = kommune("4601");
    let loan = case_titled(&noark, "Søknad om startlån").await;
    let mut anne = archivist(&app).await;
    let path = format!("/ansatt/arkiv/{}", loan.system_id);
    let csrf = csrf_of(&anne.get(&path).await.body);
    let version = loan.version.to_string();

    let unconfirmed = anne.post_form(&format!("{path}/avslutt"), &[("csrf", &csrf), ("version", &version)]).await;
    assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unconfirmed.body.contains("href=\"#confirm-finish\""), "{}", unconfirmed.body);
    assert!(!noark.get(bergen, &loan.system_id).await.expect("case").body.contains_key("avsluttetDato"));

    anne.post_form(&format!("{path}/avslutt"), &[("csrf", &csrf), ("version", &version), ("confirm", "yes")])
        .await
        .assert_redirect(&format!("{path}?lagret=avsluttet"));
    let finished = noark.get(bergen, &loan.system_id).await.expect("case");
    assert_eq!(finished.kode("saksstatus"), Some("A"));
    assert_eq!(finished.text("avsluttetAv"), Some("Anne Moen"));
    assert!(finished.text("avsluttetDato").is_some_and(archive::validate::is_date_time));
    let history = noark.history(bergen, &loan.system_id).await.expect("history");
    assert!(history.iter().any(|c| c.field == "avsluttetDato" && c.changed_by == "Anne Moen"), "{history:?}");
    let refused = noark
        .create(
            bergen,
            Some(&loan.system_id),
            archive::model::entity("journalpost").expect("entity"),
            &body(json!({"tittel": "For sent", "journalposttype": {"kode": "I"}})),
            &actor(),
        )
        .await;
    assert!(matches!(refused, Err(archive::ArchiveError::Closed(_))), "{refused:?}");
    let page = anne.get(&path).await;
    assert!(!page.body.contains("data-testid=\"finish-form\"") && page.body.contains("Avsluttet (A)"), "{}", page.body);
    // Finishing twice is refused (the form is gone; a replayed one is stale).
    let again = anne
        .post_form(
            &format!("{path}/avslutt"),
            &[("csrf", &csrf), ("version", &finished.version.to_string()), ("confirm", "yes")],
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", again.body);

    // An arkivdel is finished the same way.
    let arkivdel = objects(&noark, "arkivdel").await.into_iter().next().expect("the demo's arkivdel");
    let done = archive::finish::finish(&noark, bergen, &arkivdel.system_id, &actor()).await.expect("finished");
    assert_eq!(done.kode("arkivdelstatus"), Some("P"));
    assert_eq!(done.text("avsluttetAv"), Some("Test"));
    let refused = noark
        .create(
            bergen,
            Some(&arkivdel.system_id),
            archive::model::entity("saksmappe").expect("entity"),
            &body(json!({"tittel": "Ny sak"})),
            &actor(),
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let journalpost = post_titled(&noark, "Varsel om oppstart av planarbeid").await;
    let not_finishable = archive::finish::finish(&noark, bergen, &journalpost.system_id, &actor()).await;
    assert!(matches!(not_finishable, Err(archive::ArchiveError::Invalid { .. })), "{not_finishable:?}");
}

#[tokio::test]
async fn a_request_for_access_is_registered_and_answered() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let noark = noark(&db);
    let bergen = kommune("4601");
    let incoming = post_titled(&noark, "Søknad om startlån fra Ingrid Solberg").await;
    let outgoing = post_titled(&noark, "Varsel om oppstart av planarbeid").await;

    // Chosen in the journal; the form shows the entries as the public sees them.
    let mut visitor = Browser::new(&app);
    let form = visitor
        .get(&format!("/offentlig-journal/innsyn?post={}&post={}", incoming.system_id, outgoing.system_id))
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("Søknad om startlån fra *****") && !form.body.contains(INGRID), "{}", form.body);
    let nothing_chosen = visitor.get("/offentlig-journal/innsyn").await;
    assert_eq!(nothing_chosen.status, StatusCode::UNPROCESSABLE_ENTITY);

    let entries = [("post", incoming.system_id.as_str()), ("post", outgoing.system_id.as_str())];
    let mut without_email = entries.to_vec();
    without_email.push(("email", ""));
    let refused = visitor.post_form("/offentlig-journal/innsyn", &without_email).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("<title>Feil:") && refused.body.contains("href=\"#email\""), "{}", refused.body);
    let mut bad_entry = vec![("post", "finnes-ikke"), ("email", "ola@example.no")];
    bad_entry.push(("name", "Ola"));
    assert_eq!(
        visitor.post_form("/offentlig-journal/innsyn", &bad_entry).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(archive::access::open(&noark, bergen).await.expect("open").is_empty(), "nothing registered");

    let mut complete = entries.to_vec();
    complete.extend([("name", "Ola Nordmann"), ("email", "ola@example.no"), ("message", "Takk")]);
    let sent = visitor.post_form("/offentlig-journal/innsyn", &complete).await;
    sent.assert_redirect("/offentlig-journal/innsyn/");
    let open = archive::access::open(&noark, bergen).await.expect("open");
    assert_eq!(open.len(), 1);
    let request = &open[0];
    assert_eq!(request.email, "ola@example.no");
    assert_eq!(request.name.as_deref(), Some("Ola Nordmann"));
    let mut asked = vec![incoming.system_id.clone(), outgoing.system_id.clone()];
    asked.sort();
    assert_eq!(request.entry_ids(), asked);
    let due = archive::access::deadline(kernel::time::today_in_norway());
    assert_eq!(request.deadline, due.to_string());
    let receipt = visitor.get(&format!("/offentlig-journal/innsyn/{}", request.id)).await;
    assert_eq!(receipt.status, StatusCode::OK);
    assert!(receipt.body.contains(&request.id) && receipt.body.contains("3 arbeidsdager"), "{}", receipt.body);
    assert!(!receipt.body.contains("ola@example.no"), "the receipt does not show the e-mail address");

    // The archivist sees it, and a refusal needs its basis.
    let mut anne = archivist(&app).await;
    let page = anne.get("/ansatt/arkiv/innsyn").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("ola@example.no")
            && page.body.contains(INGRID)
            && page.body.contains("data-testid=\"email-note\""),
        "{}",
        page.body
    );
    let csrf = csrf_of(&page.body);
    let action = format!("/ansatt/arkiv/innsyn/{}", request.id);
    let refused = anne.post_form(&action, &[("csrf", &csrf), ("decision", "refused"), ("basis", "  ")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains(&format!("href=\"#basis-{}\"", request.id)), "{}", refused.body);
    let undecided = anne.post_form(&action, &[("csrf", &csrf)]).await;
    assert_eq!(undecided.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(archive::access::open(&noark, bergen).await.expect("open").len(), 1, "still open");

    // Another employee may not answer.
    let mut kari = Browser::new(&app);
    kari.login_employee("kari.saksbehandler").await;
    let kari_csrf = kari.csrf("/ansatt").await;
    let forbidden = kari.post_form(&action, &[("csrf", &kari_csrf), ("decision", "granted")]).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);

    anne.post_form(&action, &[("csrf", &csrf), ("decision", "refused"), ("basis", BASIS)])
        .await
        .assert_redirect("/ansatt/arkiv/innsyn?besvart=1");
    let answered = archive::access::get(&noark, bergen, &request.id).await.expect("request");
    assert_eq!(answered.status, "refused");
    assert_eq!(answered.basis.as_deref(), Some(BASIS));
    assert_eq!(answered.answered_by.as_deref(), Some("Anne Moen"));
    assert!(archive::access::open(&noark, bergen).await.expect("open").is_empty());
    let again = anne.post_form(&action, &[("csrf", &csrf), ("decision", "granted")]).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "an answered request is not answered twice");
    assert_eq!(archive::access::get(&noark, bergen, &request.id).await.expect("request").status, "refused");
    let receipt = visitor.get(&format!("/offentlig-journal/innsyn/{}", request.id)).await;
    assert!(receipt.body.contains("Besvart"), "{}", receipt.body);
}

#[tokio::test]
async fn the_demo_archive_is_seeded_once_with_a_screened_private_person() {
    let (_database, db) =
        store::testing::TestDatabase::migrated(allmenning::app::schema().expect("schema")).await.expect("database");
    let noark = noark(&db);
    let bergen = kommune("4601");
    archive::demo::seed(&noark, bergen, "Bergen kommune").await.expect("seeded");
    archive::demo::seed(&noark, bergen, "Bergen kommune").await.expect("a second time does nothing");
    let roots = noark.roots(bergen, 0, 10).await.expect("roots");
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0].text("tittel"), Some("Arkiv for Bergen kommune"));
    assert_eq!(objects(&noark, "saksmappe").await.len(), 2);
    assert_eq!(objects(&noark, "arkivskaper").await.len(), 1);
    let posts = objects(&noark, "journalpost").await;
    let kinds: Vec<_> = posts.iter().filter_map(|p| p.kode("journalposttype")).collect();
    assert_eq!(kinds, ["I", "U", "N"]);
    let files = objects(&noark, "dokumentobjekt").await;
    assert_eq!(files.len(), 3);
    for file in &files {
        assert!(noark.file_info(bergen, &file.system_id).await.expect("info").is_some(), "each has its PDF");
    }
    let today = kernel::time::today_in_norway();
    assert_eq!(noark.journal(bergen, today, today, 0, 10).await.expect("journal").len(), 3, "all of today");
    let incoming = &posts[0];
    let case = noark.get(bergen, incoming.parent_id.as_deref().expect("in a case")).await.expect("case");
    let parties = noark.children(bergen, &incoming.system_id, &["korrespondansepart"], 0, 10).await.expect("parties");
    let entry = archive::public::public_entry(incoming, Some(&case), &parties);
    assert_eq!(entry.korrespondanseparter[0].name, "[skjermet]");
    assert_eq!(entry.skjermingshjemmel.as_deref(), Some(BASIS));
    assert_eq!(incoming.body["skjerming"]["tilgangsrestriksjon"]["kode"], json!("13"));
    // The organisation's number is a valid one (no warning in the demo).
    let outgoing = &posts[1];
    let party =
        &noark.children(bergen, &outgoing.system_id, &["korrespondansepartenhet"], 0, 10).await.expect("party")[0];
    let orgnr = party.body["enhetsidentifikator"]["organisasjonsnummer"].as_str().expect("orgnr");
    assert!(kernel::OrgNr::parse(orgnr).is_ok());
    // Another municipality's archive is its own.
    assert!(noark.roots(kommune("1103"), 0, 10).await.expect("roots").is_empty());
}
