//! The post API for other agencies' systems (`/api/v1/post/`), over a real socket with
//! Maskinporten tokens from the demo's token endpoint: a PDF letter sent, journaled and
//! followed; the same external reference sent twice; every refusal leaving nothing behind; the
//! scopes; and the status feed with each client's own events and a cursor that moves on.

use std::time::Duration;

use allmenning::config::Mode;
use base64::Engine as _;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use store::{Db, params};

use crate::helpers::{Spawned, TestSettings, kommune, spawn_app_with_db, test_settings};

const SEND: &str = "allmenning:post.send";
const READ: &str = "allmenning:post.read";
const LETTERS: &str = "/api/v1/post/forsendelser";
const FEED: &str = "/api/v1/post/hendelser";
/// Ingrid Solberg, a persona of the demo population.
const INGRID: &str = "14839221100";

/// A one-page PDF with a correct cross-reference table.
fn minimal_pdf() -> Vec<u8> {
    post::testing::minimal_pdf()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A letter to Ingrid with one PDF.
fn letter(reference: Option<&str>) -> Value {
    let mut body = json!({
        "mottaker": { "type": "person", "id": INGRID },
        "tittel": "Vedtak om barnehageplass",
        "avsenderEnhet": "Barnehagekontoret",
        "dokumenter": [{ "tittel": "Vedtak", "filnavn": "vedtak.pdf", "data": b64(&minimal_pdf()) }],
        "kanBesvares": true,
    });
    if let Some(reference) = reference {
        body["eksternReferanse"] = json!(reference);
    }
    body
}

/// The demo server with a way to register machine clients and get their tokens.
struct Api {
    app: Spawned,
    db: Db,
    client_key: identity::jose::SigningKey,
    jwk: String,
    /// A saksmappe of the demo archive (under a klasse).
    saksmappe: String,
}

impl Api {
    async fn start() -> Self {
        Self::with(test_settings(Mode::Demo).await).await
    }

    async fn with(settings: TestSettings) -> Self {
        let (app, db) = spawn_app_with_db(settings).await;
        let pem = std::fs::read_to_string(
            crate::helpers::repository_root().join("crates/identity/tests/fixtures/test-client-rsa.pem"),
        )
        .expect("the test key");
        let client_key = identity::jose::SigningKey::from_pem(&pem, "k1").expect("an RSA key");
        let jwk = serde_json::to_string(&client_key.public_jwk()).expect("JSON");
        let (saksmappe,) = db
            .municipal(kommune("4601"))
            .fetch_optional::<(String,)>(
                "SELECT system_id FROM archive_objects WHERE kommunenummer = $1 AND entity = 'saksmappe' \
                 AND body LIKE '%Reguleringsplan%'",
                &[],
            )
            .await
            .expect("read")
            .expect("the demo archive's saksmappe");
        Api { app, db, client_key, jwk, saksmappe }
    }

    /// A letter to Ingrid with one PDF, in a saksmappe of its own.
    fn letter(&self, reference: Option<&str>) -> Value {
        letter(reference)
    }

    /// Registers a client with `scope` and gets a token for it: its id and the token.
    async fn client(&self, scope: &str) -> (String, String) {
        let issuer = self.app.url("/maskinporten");
        let key = identity::keys::platform_key(&self.db, "maskinporten").await.expect("the token endpoint's key");
        let bergen = kommune("4601");
        let maskinporten = identity::maskinporten::Maskinporten::new(
            self.db.clone(),
            issuer.clone(),
            key,
            vec![(bergen, self.app.url("/api"))],
        );
        let registry = maskinporten.registry(bergen);
        let by = audit::Actor::System("test");
        let consumer = kernel::OrgNr::parse("974760673").expect("orgnr");
        let client =
            registry.register_client(&by, "Fagsystem", consumer, &[scope.to_owned()]).await.expect("registered");
        registry.add_key(&by, &client.client_id, &self.jwk).await.expect("key added");
        let assertion = crate::identity::machine_assertion(&self.client_key, &client.client_id, &issuer, scope);
        let (status, body) = crate::identity::token_request(&self.app, &assertion).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (client.client_id, body["access_token"].as_str().expect("a token").to_owned())
    }

    async fn post(&self, token: Option<&str>, body: &str) -> (StatusCode, header::HeaderMap, Value) {
        let mut request = self
            .app
            .client
            .post(self.app.url(LETTERS))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_owned());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request.send().await.expect("the server answers")).await
    }

    async fn send(&self, token: &str, body: &Value) -> (StatusCode, header::HeaderMap, Value) {
        self.post(Some(token), &body.to_string()).await
    }

    async fn get(&self, token: Option<&str>, path: &str) -> (StatusCode, header::HeaderMap, Value) {
        let mut request = self.app.client.get(self.app.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request.send().await.expect("the server answers")).await
    }

    /// Letters, delivery jobs and archive objects: what a refused letter must not add to.
    async fn traces(&self) -> (i64, i64, i64) {
        let bergen = self.db.municipal(kommune("4601"));
        let count =
            async |sql: &str| bergen.fetch_optional::<(i64,)>(sql, &[]).await.expect("count").map_or(0, |(n,)| n);
        let jobs = self
            .db
            .fetch_optional::<(i64,)>("SELECT COUNT(*) FROM jobs WHERE kind = 'post.deliver'", &[])
            .await
            .expect("count")
            .map_or(0, |(n,)| n);
        (
            count("SELECT COUNT(*) FROM post_letters WHERE kommunenummer = $1").await,
            jobs,
            count("SELECT COUNT(*) FROM archive_objects WHERE kommunenummer = $1").await,
        )
    }
}

async fn answer(response: reqwest::Response) -> (StatusCode, header::HeaderMap, Value) {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let json = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, headers, json)
}

/// Checks `value` against the schema `name` of the served OpenAPI document, as far as the
/// answers of this API need: types, enums, required properties and no undocumented ones
/// (scripts/schemathesis has no token, so it never sees these answers).
async fn assert_fits(api: &Api, name: &str, value: &Value) {
    let (_, _, document) = api.get(None, "/api/openapi.json").await;
    fits(&document, &document["components"]["schemas"][name], value, name);
}

fn fits(document: &Value, schema: &Value, value: &Value, at: &str) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().expect("a name");
        return fits(document, &document["components"]["schemas"][name], value, at);
    }
    if let Some(choices) = schema["oneOf"].as_array() {
        let nullable = choices.iter().any(|c| c["type"] == "null");
        if value.is_null() && nullable {
            return;
        }
        let other = choices.iter().find(|c| c["type"] != "null").expect("a schema");
        return fits(document, other, value, at);
    }
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let types: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    assert!(
        types.is_empty() || types.contains(&kind) || (kind == "integer" && types.contains(&"number")),
        "{at}: a {kind} where the document says {types:?}: {value}"
    );
    if let Some(values) = schema["enum"].as_array() {
        assert!(values.contains(value), "{at}: {value} is not one of {values:?}");
    }
    match value {
        Value::Object(map) => {
            let properties = schema["properties"].as_object();
            for required in schema["required"].as_array().into_iter().flatten() {
                let required = required.as_str().expect("a name");
                assert!(map.contains_key(required), "{at}: {required} is required: {value}");
            }
            if let Some(properties) = properties {
                for (key, item) in map {
                    let property = properties.get(key).unwrap_or_else(|| panic!("{at}: {key} is not documented"));
                    fits(document, property, item, &format!("{at}.{key}"));
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                fits(document, &schema["items"], item, &format!("{at}[{index}]"));
            }
        }
        _ => {}
    }
}

fn content_type(headers: &header::HeaderMap) -> &str {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[tokio::test]
async fn a_pdf_letter_is_sent_journaled_as_outgoing_and_followed_by_its_sender_only() {
    let api = Api::start().await;
    let (client_id, token) = api.client(SEND).await;

    let (status, headers, sent) = api.send(&token, &api.letter(Some("sak-1"))).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let id = sent["id"].as_str().expect("an id").to_owned();
    assert_eq!(headers[header::LOCATION], format!("{LETTERS}/{id}"));
    assert_eq!(sent["_links"]["self"]["href"], format!("{LETTERS}/{id}"));
    assert_eq!(sent["eksternReferanse"], "sak-1");
    assert!(sent["kanal"].is_string() && sent["aarsak"].is_string(), "routed with a reason: {sent}");
    let statuses: Vec<&str> =
        sent["historikk"].as_array().expect("history").iter().filter_map(|h| h["status"].as_str()).collect();
    assert_eq!(&statuses[..2], ["MOTTATT", "AKSEPTERT"], "{sent}");
    assert_fits(&api, "Forsendelse", &sent).await;

    // In the archive: an outgoing journalpost (U) with the registreringsID the answer names,
    // holding the PDF as sent.
    let registrerings_id = sent["registreringsId"].as_str().expect("a registreringsID");
    let journalpost = sent["journalpost"].as_str().expect("a journalpost");
    assert_eq!(sent["_links"]["journalpost"]["href"], format!("/noark5/arkivstruktur/journalpost/{journalpost}/"));
    let blobs = store::BlobStore::open(&store::BlobConfig::Memory).expect("blobs");
    let archive = archive::Noark::new(api.db.clone(), blobs);
    let object = archive.get(kommune("4601"), journalpost).await.expect("the journalpost");
    assert_eq!(object.entity.name, "journalpost");
    assert_eq!(object.body["journalposttype"]["kode"], "U", "{:?}", object.body);
    assert_eq!(object.text("registreringsID"), Some(registrerings_id));
    let saksmappe = sent["saksmappe"].as_str().expect("a new saksmappe");
    assert_ne!(saksmappe, api.saksmappe);
    assert_eq!(object.parent_id.as_deref(), Some(saksmappe), "in the saksmappe made for it");
    let case = archive.get(kommune("4601"), saksmappe).await.expect("the saksmappe");
    assert_eq!(case.entity.name, "saksmappe");
    assert_eq!(case.text("administrativEnhet"), Some("Barnehagekontoret"), "{:?}", case.body);
    let row = api
        .db
        .municipal(kommune("4601"))
        .fetch_optional::<(String, String, i64, bool)>(
            "SELECT sender, documents, security_level, reply_allowed FROM post_letters WHERE kommunenummer = $1 AND id = $2",
            &params![id.as_str()],
        )
        .await
        .expect("read")
        .expect("the letter");
    assert_eq!(row.0, format!("klient:{client_id}"));
    assert!(row.1.contains(&store::blobs::sha256_hex(&minimal_pdf())), "the exact PDF: {}", row.1);
    assert_eq!((row.2, row.3), (3, true));

    // Its sender follows it, by id and by its own reference.
    let (status, _, seen) = api.get(Some(&token), &format!("{LETTERS}/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["id"], id.as_str());
    assert_eq!(seen["registreringsId"], registrerings_id);
    assert!(seen["historikk"].as_array().is_some_and(|h| h.len() >= 2), "{seen}");
    let (status, _, found) = api.get(Some(&token), &format!("{LETTERS}?eksternReferanse=sak-1")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["forsendelser"].as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found["forsendelser"][0]["id"], id.as_str());
    assert_fits(&api, "ForsendelseListe", &found).await;
    let (_, _, none) = api.get(Some(&token), &format!("{LETTERS}?eksternReferanse=sak-2")).await;
    assert_eq!(none["forsendelser"], json!([]));
    let (status, _, problem) = api.get(Some(&token), &format!("{LETTERS}/{}", uuid::Uuid::now_v7())).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");

    // Another client, even with the read scope, does not find it.
    let (_, reader) = api.client(READ).await;
    let (status, headers, problem) = api.get(Some(&reader), &format!("{LETTERS}/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    assert_eq!(content_type(&headers), "application/problem+json");
    let (_, _, theirs) = api.get(Some(&reader), &format!("{LETTERS}?eksternReferanse=sak-1")).await;
    assert_eq!(theirs["forsendelser"], json!([]));
    let (_, _, all) = api.get(Some(&reader), LETTERS).await;
    assert_eq!(all["forsendelser"], json!([]));

    // Security level 4 and digital only reach the letter.
    let mut strict = api.letter(Some("sak-3"));
    strict["krevNivaa4"] = json!(true);
    strict["kunDigitalLevering"] = json!(true);
    let (status, _, sent) = api.send(&token, &strict).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let (level, digital_only) = api
        .db
        .municipal(kommune("4601"))
        .fetch_optional::<(i64, bool)>(
            "SELECT security_level, digital_only FROM post_letters WHERE kommunenummer = $1 AND id = $2",
            &params![sent["id"].as_str().expect("id")],
        )
        .await
        .expect("read")
        .expect("the letter");
    assert_eq!((level, digital_only), (4, true));

    // A letter for an existing saksmappe goes in it.
    let mut in_case = api.letter(Some("sak-4"));
    in_case["saksmappe"] = json!(api.saksmappe);
    let (status, _, sent) = api.send(&token, &in_case).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["saksmappe"], api.saksmappe.as_str());
    let journalpost = archive.get(kommune("4601"), sent["journalpost"].as_str().expect("id")).await.expect("read");
    assert_eq!(journalpost.parent_id.as_deref(), Some(api.saksmappe.as_str()), "in the saksmappe given");
}

#[tokio::test]
async fn a_letter_from_a_template_is_rendered_journaled_and_sent_with_its_attachment() {
    let api = Api::start().await;
    let (_, token) = api.client(SEND).await;
    let mut body = api.letter(Some("vedtak-mal-1"));
    body.as_object_mut().map(|o| o.remove("dokumenter"));
    body["mal"] = json!({
        "type": "vedtak",
        "felter": {
            "tjeneste": "barnehageplass",
            "vedtak": "Emma får plass i Solsikken barnehage fra 1. august.",
            "begrunnelse": "Emma har rett til plass etter barnehageloven § 16.",
            "hjemmel": "barnehageloven § 16",
            "klageinstans": "Statsforvalteren i Vestland"
        },
        "avsnitt": ["Velkommen!"]
    });
    body["vedlegg"] = json!([{ "tittel": "Vedtekter", "filnavn": "vedtekter.pdf", "data": b64(&minimal_pdf()) }]);
    let (status, _, sent) = api.send(&token, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let id = sent["id"].as_str().expect("an id");
    let (kind, documents): (String, String) = api
        .db
        .municipal(kommune("4601"))
        .fetch_optional("SELECT kind, documents FROM post_letters WHERE kommunenummer = $1 AND id = $2", &params![id])
        .await
        .expect("read")
        .expect("the letter");
    assert_eq!(kind, "vedtak");
    let documents: Value = serde_json::from_str(&documents).expect("JSON");
    let documents = documents.as_array().expect("a list");
    assert_eq!(documents.len(), 2, "the rendered letter and its attachment: {documents:?}");
    assert_eq!(documents[0]["tittel"], "Vedtak om barnehageplass");
    assert_eq!(documents[1]["sha256"], store::blobs::sha256_hex(&minimal_pdf()), "the attachment as sent");
    assert_ne!(documents[0]["sha256"], documents[1]["sha256"], "the main document was rendered");
    // Sending it again gives the same letter.
    let (status, _, again) = api.send(&token, &body).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], sent["id"]);
}

#[tokio::test]
async fn the_same_external_reference_gives_the_first_letter_back_and_sends_no_second() {
    let api = Api::start().await;
    let (_, token) = api.client(SEND).await;
    let (status, _, first) = api.send(&token, &api.letter(Some("vedtak-17"))).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let before = api.traces().await;

    let mut again = api.letter(Some("vedtak-17"));
    again["tittel"] = json!("Et annet brev");
    let (status, headers, second) = api.send(&token, &again).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert!(headers.get(header::LOCATION).is_none());
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["tittel"], "Vedtak om barnehageplass", "the first letter, not the second");
    assert_eq!(api.traces().await, before, "nothing new is journaled, stored or queued");

    // Another reference is another letter.
    let (status, _, other) = api.send(&token, &api.letter(Some("vedtak-18"))).await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    assert_ne!(other["id"], first["id"]);
}

#[tokio::test]
async fn a_letter_that_answers_an_incoming_journalpost_writes_it_off() {
    let api = Api::start().await;
    let (_, token) = api.client(SEND).await;
    let bergen = kommune("4601");
    let blobs = store::BlobStore::open(&store::BlobConfig::Memory).expect("blobs");
    let archive = archive::Noark::new(api.db.clone(), blobs);
    let journalposts = api
        .db
        .municipal(bergen)
        .fetch_all::<(String,)>(
            "SELECT system_id FROM archive_objects WHERE kommunenummer = $1 AND entity = 'journalpost' ORDER BY position",
            &[],
        )
        .await
        .expect("the demo's journalposts");
    let mut incoming = None;
    for (id,) in journalposts {
        let object = archive.get(bergen, &id).await.expect("a journalpost");
        if object.kode("journalposttype") == Some("I") {
            incoming = Some(object);
            break;
        }
    }
    let incoming = incoming.expect("the demo archive has an incoming journalpost");
    let write_offs = async || {
        api.db
            .municipal(bergen)
            .fetch_all::<(String,)>(
                "SELECT body FROM archive_objects WHERE kommunenummer = $1 AND entity = 'avskrivning' AND parent_id = $2",
                &params![incoming.system_id.as_str()],
            )
            .await
            .expect("write-offs")
    };
    let before = write_offs().await.len();

    let mut answer = api.letter(Some("svar-1"));
    answer["saksmappe"] = json!(incoming.parent_id.clone().expect("in a saksmappe"));
    answer["besvarerJournalpost"] = json!(incoming.system_id);
    let (status, _, sent) = api.send(&token, &answer).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let reply = sent["journalpost"].as_str().expect("the reply's journalpost");
    let after = write_offs().await;
    assert_eq!(after.len(), before + 1, "written off once");
    assert!(after.iter().any(|(body,)| body.contains(reply)), "by the reply: {after:?}");

    // An outgoing journalpost is not answered: the archive refuses, and nothing is left.
    let traces = api.traces().await;
    let mut wrong = api.letter(Some("svar-2"));
    wrong["besvarerJournalpost"] = json!(reply);
    let (status, _, problem) = api.send(&token, &wrong).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["code"], "archive_refused", "{problem}");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("journalposttype")), "{problem}");
    assert_eq!(api.traces().await, traces);
    // A saksmappe that is a journalpost is refused before the archive is asked.
    let mut misplaced = api.letter(Some("svar-3"));
    misplaced["saksmappe"] = json!(reply);
    let (status, _, problem) = api.send(&token, &misplaced).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(problem["detail"].as_str().is_some_and(|d| d.starts_with("saksmappe:")), "{problem}");
}

/// A valid fødselsnummer that belongs to nobody in the demo population.
fn unknown_fnr() -> String {
    let birth = time::Date::from_calendar_date(1903, time::Month::January, 1).expect("date");
    (100..999).find_map(|i| kernel::Fnr::synthetic(birth, i)).expect("a number").as_digits()
}

/// A valid organisasjonsnummer that no organisation has.
fn unknown_orgnr() -> String {
    (0..100u8)
        .find_map(|last| kernel::OrgNr::from_first_eight([9, 9, 9, 9, 0, 0, 1, last % 10]))
        .expect("a number")
        .as_digits()
}

#[tokio::test]
async fn every_refusal_names_the_field_and_leaves_nothing_behind() {
    let mut settings = test_settings(Mode::Demo).await;
    // Small enough that a document over it still fits in a request body.
    settings.settings.post.max_document_bytes = 4096;
    let api = Api::with(settings).await;
    let (_, token) = api.client(SEND).await;
    let pdf = minimal_pdf();
    let mut large = pdf.clone();
    large.resize(8000, b' ');
    let encrypted = String::from_utf8(pdf.clone())
        .expect("ascii")
        .replace("/Root 1 0 R", "/Root 1 0 R /Encrypt << /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4 >>");
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = api.letter(Some("refused"));
        change(&mut body);
        body.to_string()
    };
    let document = |data: String| json!([{ "tittel": "Vedtak", "data": data }]);
    let cases: Vec<(&str, String, StatusCode, &str, &str)> = vec![
        ("not JSON", "{".to_owned(), StatusCode::BAD_REQUEST, "malformed_json", ""),
        (
            "no title",
            with(&|b| drop(b.as_object_mut().map(|o| o.remove("tittel")))),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "tittel",
        ),
        (
            "no recipient id",
            with(&|b| b["mottaker"] = json!({"type": "person"})),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "id",
        ),
        (
            "an unknown field",
            with(&|b| b["prioritet"] = json!(1)),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "prioritet",
        ),
        (
            "an unknown recipient type",
            with(&|b| b["mottaker"]["type"] = json!("kommune")),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "kommune",
        ),
        (
            "a blank title",
            with(&|b| b["tittel"] = json!("   ")),
            StatusCode::BAD_REQUEST,
            "invalid_forsendelse",
            "tittel",
        ),
        (
            "a long unit",
            with(&|b| b["avsenderEnhet"] = json!("x".repeat(201))),
            StatusCode::BAD_REQUEST,
            "invalid_forsendelse",
            "avsenderEnhet",
        ),
        (
            "no documents",
            with(&|b| b["dokumenter"] = json!([])),
            StatusCode::BAD_REQUEST,
            "invalid_forsendelse",
            "dokumenter",
        ),
        (
            "a blank document title",
            with(&|b| b["dokumenter"][0]["tittel"] = json!(" ")),
            StatusCode::BAD_REQUEST,
            "invalid_forsendelse",
            "dokumenter[0].tittel",
        ),
        (
            "bad base64",
            with(&|b| b["dokumenter"] = document("ikke base64!".to_owned())),
            StatusCode::BAD_REQUEST,
            "invalid_forsendelse",
            "dokumenter[0].data",
        ),
        (
            "not a PDF",
            with(&|b| b["dokumenter"] = document(b64(b"hello"))),
            StatusCode::BAD_REQUEST,
            "invalid_document",
            "dokumenter[0].data is not a PDF",
        ),
        (
            "a broken PDF",
            with(&|b| b["dokumenter"] = document(b64(b"%PDF-1.7\ngarbage"))),
            StatusCode::BAD_REQUEST,
            "invalid_document",
            "dokumenter[0].data is a broken PDF",
        ),
        (
            "an encrypted PDF",
            with(&|b| b["dokumenter"] = document(b64(encrypted.as_bytes()))),
            StatusCode::BAD_REQUEST,
            "invalid_document",
            "dokumenter[0].data",
        ),
        (
            "a PDF over the limit",
            with(&|b| b["dokumenter"] = document(b64(&large))),
            StatusCode::BAD_REQUEST,
            "invalid_document",
            "the limit is 4096",
        ),
        (
            "a bad attachment",
            with(&|b| {
                b["dokumenter"] =
                    json!([{ "tittel": "Vedtak", "data": b64(&pdf) }, { "tittel": "Vedlegg", "data": b64(b"GIF89a") }])
            }),
            StatusCode::BAD_REQUEST,
            "invalid_document",
            "dokumenter[1].data",
        ),
        (
            "a bad fødselsnummer",
            with(&|b| b["mottaker"]["id"] = json!("14839221101")),
            StatusCode::BAD_REQUEST,
            "invalid_forsendelse",
            "mottaker.id",
        ),
        (
            "a bad organisasjonsnummer",
            with(&|b| b["mottaker"] = json!({"type": "organisasjon", "id": "974760674"})),
            StatusCode::BAD_REQUEST,
            "invalid_forsendelse",
            "mottaker.id",
        ),
        (
            "an unknown person",
            with(&|b| b["mottaker"]["id"] = json!(unknown_fnr())),
            StatusCode::NOT_FOUND,
            "unknown_recipient",
            "mottaker.id",
        ),
        (
            "an unknown organisation",
            with(&|b| b["mottaker"] = json!({"type": "organisasjon", "id": unknown_orgnr()})),
            StatusCode::NOT_FOUND,
            "unknown_recipient",
            "mottaker.id",
        ),
        (
            "an unknown saksmappe",
            with(&|b| b["saksmappe"] = json!(uuid::Uuid::now_v7().to_string())),
            StatusCode::BAD_REQUEST,
            "invalid_forsendelse",
            "saksmappe",
        ),
        (
            "an unknown journalpost",
            with(&|b| b["besvarerJournalpost"] = json!(uuid::Uuid::now_v7().to_string())),
            StatusCode::BAD_REQUEST,
            "invalid_forsendelse",
            "besvarerJournalpost",
        ),
        (
            "a template without its required fields",
            with(&|b| {
                b.as_object_mut().map(|o| o.remove("dokumenter"));
                b["mal"] = json!({ "type": "vedtak", "felter": {}, "avsnitt": ["Du har fått plass."] });
            }),
            StatusCode::BAD_REQUEST,
            "invalid_template",
            "mal",
        ),
        (
            "a template with a field it does not know",
            with(&|b| {
                b.as_object_mut().map(|o| o.remove("dokumenter"));
                b["mal"] = json!({ "type": "fritt", "felter": { "ukjent": "x" }, "avsnitt": ["Hei."] });
            }),
            StatusCode::BAD_REQUEST,
            "invalid_template",
            "ukjent",
        ),
        (
            "a template and documents at once",
            with(&|b| b["mal"] = json!({ "type": "fritt", "avsnitt": ["Hei."] })),
            StatusCode::BAD_REQUEST,
            "invalid_forsendelse",
            "dokumenter",
        ),
        (
            "a template's attachment that is not a PDF",
            with(&|b| {
                b.as_object_mut().map(|o| o.remove("dokumenter"));
                b["mal"] = json!({ "type": "fritt", "avsnitt": ["Hei."] });
                b["vedlegg"] = json!([{ "tittel": "Vedlegg", "data": b64(b"not a pdf") }]);
            }),
            StatusCode::BAD_REQUEST,
            "invalid_document",
            "vedlegg[0]",
        ),
        (
            "a body over the server's limit",
            with(&|b| b["dokumenter"] = document(b64(&vec![b'%'; 1024 * 1024]))),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "",
        ),
    ];
    let before = api.traces().await;
    for (case, body, status, code, field) in &cases {
        let (got, headers, problem) = api.post(Some(&token), body).await;
        assert_eq!(got, *status, "{case}: {problem}");
        assert_eq!(content_type(&headers), "application/problem+json", "{case}");
        assert_eq!(problem["code"], *code, "{case}: {problem}");
        assert_fits(&api, "Problem", &problem).await;
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(field), "{case}: the detail names {field}: {problem}");
        assert_eq!(api.traces().await, before, "{case}: nothing stored, journaled or queued");
    }
    // The same letter, whole, is taken.
    let (status, _, sent) = api.send(&token, &api.letter(Some("refused"))).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_ne!(api.traces().await, before);
}

#[tokio::test]
async fn the_post_api_needs_a_valid_token_with_its_scope() {
    let api = Api::start().await;
    let (_, sender) = api.client(SEND).await;
    let (_, reader) = api.client(READ).await;
    let (_, other) = api.client("allmenning:enhetsregisteret.read").await;
    let body = api.letter(None).to_string();

    let (status, headers, problem) = api.post(None, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(content_type(&headers), "application/problem+json");
    let (status, _, _) = api.post(Some("not-a-token"), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for token in [&reader, &other] {
        let (status, headers, problem) = api.post(Some(token), &body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
        assert_eq!(content_type(&headers), "application/problem+json");
        assert_eq!(problem["code"], "insufficient_scope");
    }
    assert_eq!(api.traces().await.0, 0, "no letter from a refused token");

    for path in [LETTERS.to_owned(), format!("{LETTERS}/{}", uuid::Uuid::now_v7()), FEED.to_owned()] {
        assert_eq!(api.get(None, &path).await.0, StatusCode::UNAUTHORIZED, "{path}");
        let (status, _, problem) = api.get(Some(&other), &path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains(READ) && d.contains(SEND)), "{problem}");
    }
    for token in [&reader, &sender] {
        assert_eq!(api.get(Some(token), LETTERS).await.0, StatusCode::OK);
        assert_eq!(api.get(Some(token), FEED).await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn the_feed_shows_a_client_only_its_own_status_events_and_the_cursor_moves_on() {
    let api = Api::start().await;
    let (a_id, a) = api.client(SEND).await;
    let (_, b) = api.client(SEND).await;
    let mut mine = Vec::new();
    for reference in ["a-1", "a-2"] {
        let (status, _, sent) = api.send(&a, &api.letter(Some(reference))).await;
        assert_eq!(status, StatusCode::CREATED, "{sent}");
        mine.push(sent["id"].as_str().expect("id").to_owned());
    }
    let (status, _, theirs) = api.send(&b, &api.letter(Some("b-1"))).await;
    assert_eq!(status, StatusCode::CREATED, "{theirs}");
    api.db.feed_caught_up(Duration::from_secs(10)).await.expect("the feed catches up");

    // Page by page, one event at a time: each page moves the cursor on, and the events are
    // A's (MOTTATT is in the history, not the feed: the first event of a letter is AKSEPTERT).
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    let mut last = (0_i64, 0_i64);
    for page_number in 0.. {
        assert!(page_number < 200, "the feed ends");
        let path = match &cursor {
            Some(cursor) => format!("{FEED}?antall=1&etter={cursor}"),
            None => format!("{FEED}?antall=1"),
        };
        let (status, _, page) = api.get(Some(&a), &path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let events = page["hendelser"].as_array().expect("events").clone();
        let neste = page["neste"].as_str().expect("a cursor").to_owned();
        let (txid, seq) = neste.split_once('.').expect("txid.seq");
        let position = (txid.parse::<i64>().expect("txid"), seq.parse::<i64>().expect("seq"));
        if events.is_empty() {
            // Other clients' events are passed over: the cursor may move on without showing
            // any. At the end of the feed it stays where it was.
            if Some(&neste) == cursor.as_ref() {
                break;
            }
            assert!(position > last, "the cursor moves on: {position:?} after {last:?}");
            last = position;
            cursor = Some(neste);
            continue;
        }
        assert_eq!(events.len(), 1, "{page}");
        assert_fits(&api, "Hendelser", &page).await;
        assert!(position > last, "the cursor moves on: {position:?} after {last:?}");
        last = position;
        let event = &events[0];
        assert_eq!(event["type"], "no.allmenning.post.letter.status.v1");
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["data"]["avsender"], format!("klient:{a_id}"));
        seen.push((event["data"]["forsendelse"].as_str().expect("letter").to_owned(), event["data"]["status"].clone()));
        cursor = Some(neste);
    }
    for id in &mine {
        assert!(seen.contains(&(id.clone(), json!("AKSEPTERT"))), "{id} AKSEPTERT in {seen:?}");
    }
    let theirs_id = theirs["id"].as_str().expect("id");
    assert!(seen.iter().all(|(id, _)| mine.contains(id)), "only A's letters: {seen:?}");
    assert!(!seen.iter().any(|(id, _)| id == theirs_id));

    // B sees its own and none of A's; a page of many holds all at once.
    let (_, _, page) = api.get(Some(&b), &format!("{FEED}?antall=100")).await;
    let ids: Vec<&str> = page["hendelser"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["data"]["forsendelse"].as_str())
        .collect();
    assert!(ids.contains(&theirs_id), "{page}");
    assert!(ids.iter().all(|id| *id == theirs_id), "{page}");

    for bad in ["abc", "1", "-1.2", "1.2.3", ".5"] {
        let (status, headers, problem) = api.get(Some(&a), &format!("{FEED}?etter={bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {problem}");
        assert_eq!(content_type(&headers), "application/problem+json");
        assert_eq!(problem["code"], "malformed_query", "{bad}");
    }
    for bad in ["0", "101", "x"] {
        let (status, _, problem) = api.get(Some(&a), &format!("{FEED}?antall={bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {problem}");
    }
}
