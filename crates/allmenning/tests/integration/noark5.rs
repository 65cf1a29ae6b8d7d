//! The Noark 5 tjenestegrensesnitt under `/noark5/`, as a standard client uses it over a real
//! socket: the root and its login rels, CORS, HAL links with the official rels, the whole
//! structure from arkiv to a file, fields back as sent, ETags, OData, and the errors.

use allmenning::config::Mode;
use reqwest::header;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Spawned, spawn_app_with_db, test_settings};

const REL: &str = "https://rel.arkivverket.no/noark5/v5/api/";
const MEDIA: &str = "application/vnd.noark5+json";

fn basic(user: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:noark5-demo")))
}

struct Client<'a> {
    app: &'a Spawned,
    auth: String,
}

impl Client<'_> {
    fn url(&self, href: &str) -> String {
        // Hrefs are absolute under the municipality's public address; reach them on our socket.
        match href.find("/noark5") {
            Some(at) => self.app.url(&href[at..]),
            None => self.app.url(href),
        }
    }

    async fn send(
        &self,
        method: Method,
        href: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self.app.client.request(method, self.url(href)).header(header::AUTHORIZATION, &self.auth);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.header(header::CONTENT_TYPE, MEDIA).body(body.to_string());
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let json =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, headers, json)
    }

    async fn get(&self, href: &str) -> Value {
        let (status, headers, body) = self.send(Method::GET, href, None, &[]).await;
        assert_eq!(status, StatusCode::OK, "GET {href}: {body}");
        assert_eq!(headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some(MEDIA), "GET {href}");
        body
    }

    /// Creates through the `ny-X` rel of `parent`: checks the template, the 201 and the echo.
    async fn create(&self, parent: &Value, rel: &str, fields: Value) -> Value {
        let href = link(parent, rel);
        let (status, headers, template) = self.send(Method::GET, &href, None, &[]).await;
        assert_eq!(status, StatusCode::OK, "template {rel}: {template}");
        assert!(headers.get(header::ETAG).is_none(), "a template has no ETag");
        assert_eq!(template["_links"], json!({}), "a template's _links are empty");
        let (status, headers, created) = self.send(Method::POST, &href, Some(&fields), &[]).await;
        assert_eq!(status, StatusCode::CREATED, "POST {rel}: {created}");
        let location = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).expect("Location").to_owned();
        assert_eq!(location, link(&created, "self"));
        assert!(headers.get(header::ETAG).is_some());
        for (key, value) in fields.as_object().expect("object") {
            assert_eq!(&created[key], value, "{key} comes back exactly as it was sent");
        }
        no_nulls(&created);
        created
    }
}

fn link(object: &Value, rel: &str) -> String {
    let key = if rel == "self" || rel.starts_with("http") { rel.to_owned() } else { format!("{REL}{rel}") };
    let href = object["_links"][&key]["href"].as_str().unwrap_or_else(|| panic!("no rel {key} in {object}"));
    href.split('{').next().unwrap_or(href).to_owned()
}

fn no_nulls(value: &Value) {
    match value {
        Value::Null => panic!("a field with no value must be left out, not null"),
        Value::Array(items) => items.iter().for_each(no_nulls),
        Value::Object(map) => map.values().for_each(no_nulls),
        _ => {}
    }
}

fn encoded(query: &str) -> String {
    percent_encoding::utf8_percent_encode(query, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[tokio::test]
async fn a_standard_client_builds_the_whole_structure_finds_changes_and_deletes() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let anonymous = app.client.get(app.url("/noark5/")).send().await.expect("root");
    assert_eq!(anonymous.status(), StatusCode::OK);
    assert_eq!(anonymous.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).and_then(|v| v.to_str().ok()), Some("*"));
    let root: Value = serde_json::from_str(&anonymous.text().await.expect("body")).expect("json");
    for rel in ["login/oidc/", "login/rfc6749/", "login/rfc7617/", "arkivstruktur/", "sakarkiv/", "metadata/"] {
        assert!(root["_links"][format!("{REL}{rel}")]["href"].is_string(), "the root shows {rel}: {root}");
    }
    let refused = app.client.get(app.url("/noark5/arkivstruktur/")).send().await.expect("answer");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.headers().get(header::WWW_AUTHENTICATE).is_some());
    let body: Value = refused.json().await.expect("feil");
    assert_eq!(body["feil"]["kode"], json!(401));
    let caseworker = Client { app: &app, auth: basic("kari.saksbehandler") };
    assert_eq!(caseworker.send(Method::GET, "/noark5/arkivstruktur/", None, &[]).await.0, StatusCode::FORBIDDEN);
    let wrong = Client { app: &app, auth: "Basic YW5uZS5hcmtpdmFyOm5laQ==".to_owned() };
    assert_eq!(wrong.send(Method::GET, "/noark5/arkivstruktur/", None, &[]).await.0, StatusCode::UNAUTHORIZED);

    let client = Client { app: &app, auth: basic("anne.arkivar") };
    let structure = client.get(&link(&root, &format!("{REL}arkivstruktur/"))).await;
    let arkiv = client
        .create(
            &structure,
            "arkivstruktur/ny-arkiv/",
            json!({"tittel": "Testarkiv", "beskrivelse": "Fra en Noark-klient"}),
        )
        .await;
    assert!(arkiv["opprettetAv"].as_str().is_some_and(|n| n.starts_with("Anne")), "the logged-in user's name: {arkiv}");
    client
        .create(
            &arkiv,
            "arkivstruktur/ny-arkivskaper/",
            json!({"arkivskaperID": "4601", "arkivskaperNavn": "Bergen kommune"}),
        )
        .await;
    let arkivdel = client.create(&arkiv, "arkivstruktur/ny-arkivdel/", json!({"tittel": "Sakarkiv 2026"})).await;
    assert_eq!(arkivdel["arkivdelstatus"]["kode"], json!("A"));
    let system =
        client.create(&arkivdel, "arkivstruktur/ny-klassifikasjonssystem/", json!({"tittel": "Emnekoder"})).await;
    let klasse =
        client.create(&system, "arkivstruktur/ny-klasse/", json!({"klasseID": "223", "tittel": "Barnehager"})).await;
    let saksmappe = client
        .create(
            &klasse,
            "sakarkiv/ny-saksmappe/",
            json!({"tittel": "Barnehageplass", "administrativEnhet": "Oppvekst", "saksansvarlig": "Kari Nilsen"}),
        )
        .await;
    assert!(saksmappe["mappeID"].as_str().is_some_and(|id| id.contains('/')), "mappeID YYYY/N: {saksmappe}");
    assert_eq!(saksmappe["dokumentmedium"]["kode"], json!("E"));
    let journalpost = client
        .create(&saksmappe, "sakarkiv/ny-journalpost/", json!({
            "tittel": "Søknad om barnehageplass", "journalposttype": {"kode": "I", "kodenavn": "Inngående dokument"},
            "dokumentetsDato": "2070-02-13T00:00:00-01:00", "antallVedlegg": 0
        }))
        .await;
    assert_eq!(journalpost["journalpostnummer"], json!(1));
    client
        .create(
            &journalpost,
            "arkivstruktur/ny-korrespondansepartperson/",
            json!({"navn": "Ola Nordmann", "korrespondanseparttype": {"kode": "EA", "kodenavn": "Avsender"}}),
        )
        .await;
    let beskrivelse = client
        .create(
            &journalpost,
            "arkivstruktur/ny-dokumentbeskrivelse/",
            json!({"tittel": "Søknad", "tilknyttetRegistreringSom": {"kode": "H", "kodenavn": "Hoveddokument"}}),
        )
        .await;
    let pdf = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n".to_vec();
    let sha = store::blobs::sha256_hex(&pdf);
    let wrong_sum = client
        .create(&beskrivelse, "arkivstruktur/ny-dokumentobjekt/", json!({"versjonsnummer": 1, "variantformat": {"kode": "A", "kodenavn": "Arkivformat"}, "sjekksum": "ab".repeat(32), "sjekksumAlgoritme": "SHA-256", "filstoerrelse": pdf.len()}))
        .await;
    let file = link(&wrong_sum, "arkivstruktur/fil/");
    let (status, _, body) = client.send(Method::POST, &file, None, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no content type: {body}");
    let response = app
        .client
        .post(client.url(&file))
        .header(header::AUTHORIZATION, &client.auth)
        .header(header::CONTENT_TYPE, "application/pdf")
        .body(pdf.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "a checksum that does not match");
    assert_eq!(client.send(Method::GET, &file, None, &[]).await.0, StatusCode::NOT_FOUND, "nothing stored");

    let objekt = client
        .create(&beskrivelse, "arkivstruktur/ny-dokumentobjekt/", json!({"versjonsnummer": 1, "variantformat": {"kode": "A", "kodenavn": "Arkivformat"}, "sjekksum": sha, "sjekksumAlgoritme": "SHA-256", "filstoerrelse": pdf.len(), "mimeType": "application/pdf"}))
        .await;
    let file = link(&objekt, "arkivstruktur/fil/");
    let response = app
        .client
        .post(client.url(&file))
        .header(header::AUTHORIZATION, &client.auth)
        .header(header::CONTENT_TYPE, "application/pdf")
        .body(pdf.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::CREATED);
    let again = app
        .client
        .post(client.url(&file))
        .header(header::AUTHORIZATION, &client.auth)
        .header(header::CONTENT_TYPE, "application/pdf")
        .body(pdf.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(again.status(), StatusCode::CONFLICT, "a stored file is never replaced");
    let download =
        app.client.get(client.url(&file)).header(header::AUTHORIZATION, &client.auth).send().await.expect("download");
    assert_eq!(download.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some("application/pdf"));
    assert_eq!(download.bytes().await.expect("bytes").to_vec(), pdf);

    // A file in chunks.
    let chunked = client
        .create(
            &beskrivelse,
            "arkivstruktur/ny-dokumentobjekt/",
            json!({"versjonsnummer": 2, "variantformat": {"kode": "A", "kodenavn": "Arkivformat"}}),
        )
        .await;
    let chunk_file = link(&chunked, "arkivstruktur/fil/");
    let content: Vec<u8> = (0..3000u32).map(|i| u8::try_from(i % 251).unwrap_or(0)).collect();
    let announce = app
        .client
        .post(client.url(&chunk_file))
        .header(header::AUTHORIZATION, &client.auth)
        .header("X-Upload-Content-Type", "application/octet-stream")
        .header("X-Upload-Content-Length", "3000")
        .send()
        .await
        .expect("announce");
    assert_eq!(announce.status(), StatusCode::OK);
    let first = app
        .client
        .put(client.url(&chunk_file))
        .header(header::AUTHORIZATION, &client.auth)
        .header(header::CONTENT_RANGE, "bytes 0-1999/3000")
        .body(content[..2000].to_vec())
        .send()
        .await
        .expect("chunk");
    assert_eq!(first.status(), StatusCode::PERMANENT_REDIRECT);
    let last = app
        .client
        .put(client.url(&chunk_file))
        .header(header::AUTHORIZATION, &client.auth)
        .header(header::CONTENT_RANGE, "bytes 2000-2999/3000")
        .body(content[2000..].to_vec())
        .send()
        .await
        .expect("chunk");
    assert_eq!(last.status(), StatusCode::CREATED);
    let whole = app
        .client
        .get(client.url(&chunk_file))
        .header(header::AUTHORIZATION, &client.auth)
        .send()
        .await
        .expect("download");
    assert_eq!(whole.bytes().await.expect("bytes").to_vec(), content);

    // Find it again with OData: the whole query string percent-encoded, as clients send it.
    let journalposter = link(&saksmappe, "arkivstruktur/registrering/");
    // Collections are advertised as OData templates; a list carries no ny- rels of its own.
    let registrering = &saksmappe["_links"][format!("{REL}arkivstruktur/registrering/")];
    assert_eq!(registrering["templated"], json!(true), "{registrering}");
    assert!(registrering["href"].as_str().is_some_and(|h| h.ends_with("{?$filter,$orderby,$top,$skip,$search}")));
    assert!(saksmappe["_links"][format!("{REL}sakarkiv/ny-journalpost/")].get("templated").is_none());
    let listed = client.get(&journalposter).await;
    let keys: Vec<&String> = listed["_links"].as_object().expect("links").keys().collect();
    assert_eq!(keys, ["self"], "a list's own links are self (and next): {listed}");
    let found = client
        .get(&format!("{journalposter}?{}", encoded("$filter=tittel eq 'Søknad om barnehageplass'&$top=5")))
        .await;
    assert_eq!(found["count"], json!(1), "{found}");
    let found = client
        .get(&format!(
            "/noark5/sakarkiv/journalpost/?{}",
            encoded("$filter=korrespondansepart/navn EQ \"Ola Nordmann\" and journalposttype/kode eq 'I'")
        ))
        .await;
    assert_eq!(found["count"], json!(1), "{found}");
    let none =
        client.get(&format!("/noark5/sakarkiv/journalpost/?{}", encoded("$filter=contains(tittel,'byggesak')"))).await;
    assert_eq!(none["count"], json!(0));
    assert!(none.get("results").is_none());
    let far = client.get("/noark5/sakarkiv/journalpost/?$skip=18446744073709551615&$top=18446744073709551615").await;
    assert!(far.get("results").is_none() && far["_links"].get("next").is_none(), "a skip past the end: {far}");
    let (status, _, body) = client.send(Method::GET, "/noark5/sakarkiv/journalpost/?$expand=part", None, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["feil"]["beskrivelse"].as_str().is_some_and(|d| d.contains("$expand")), "{body}");

    // Change it: PUT with a stale ETag is 409; with the current one 200; PATCH merges.
    let self_href = link(&journalpost, "self");
    let (_, headers, current) = client.send(Method::GET, &self_href, None, &[]).await;
    let etag = headers.get(header::ETAG).and_then(|v| v.to_str().ok()).expect("ETag").to_owned();
    let mut changed = current.clone();
    changed["tittel"] = json!("Søknad om plass i barnehage");
    let (status, _, _) = client.send(Method::PUT, &self_href, Some(&changed), &[("If-Match", "\"999\"")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, headers, body) = client.send(Method::PUT, &self_href, Some(&changed), &[("ETag", &etag)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["tittel"], json!("Søknad om plass i barnehage"));
    assert_eq!(body["dokumentetsDato"], json!("2070-02-13T00:00:00-01:00"));
    let etag = headers.get(header::ETAG).and_then(|v| v.to_str().ok()).expect("ETag").to_owned();
    let response = app
        .client
        .patch(client.url(&self_href))
        .header(header::AUTHORIZATION, &client.auth)
        .header(header::CONTENT_TYPE, "application/merge-patch+json")
        .header(header::IF_MATCH, &etag)
        .body(json!({"offentligTittel": "Søknad om barnehageplass"}).to_string())
        .send()
        .await
        .expect("patch");
    assert_eq!(response.status(), StatusCode::OK);

    // Bad input: an unknown code, the wrong parent, an unknown id.
    let (status, _, body) = client
        .send(
            Method::POST,
            &link(&saksmappe, "sakarkiv/ny-journalpost/"),
            Some(&json!({"tittel": "X", "journalposttype": {"kode": "Q"}})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["feil"]["beskrivelse"].as_str().is_some_and(|d| d.contains("journalposttype")), "{body}");
    let (status, _, _) = client
        .send(Method::POST, &link(&arkivdel, "arkivstruktur/ny-mappe/"), Some(&json!({"tittel": "Mappe"})), &[])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the arkivdel has a klassifikasjonssystem");
    let (status, _, body) =
        client.send(Method::GET, "/noark5/arkivstruktur/mappe/00000000-0000-0000-0000-000000000000/", None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["feil"]["kode"], json!(404));

    // CORS on any URL, answered without credentials, with the methods it allows.
    let preflight = app.client.request(Method::OPTIONS, client.url(&self_href)).send().await.expect("options");
    assert!(preflight.status().is_success());
    let methods = preflight
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_METHODS)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    for method in ["GET", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(method), "{methods}");
    }

    // Delete: the object with its file goes; the endringslogg keeps it.
    let (_, headers, _) = client.send(Method::GET, &link(&objekt, "self"), None, &[]).await;
    let etag = headers.get(header::ETAG).and_then(|v| v.to_str().ok()).expect("ETag").to_owned();
    let (status, _, _) = client.send(Method::DELETE, &link(&objekt, "self"), None, &[("If-Match", &etag)]).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(client.send(Method::GET, &link(&objekt, "self"), None, &[]).await.0, StatusCode::NOT_FOUND);
    let log = client.get("/noark5/loggingogsporing/endringslogg/?$top=1000").await;
    let entries = log["results"].as_array().expect("changes");
    assert!(
        entries
            .iter()
            .any(|e| e["referanseMetadata"] == json!("tittel") && e["nyVerdi"] == json!("Søknad om plass i barnehage"))
    );
    assert!(entries.iter().any(|e| e["referanseMetadata"] == json!("slettet")));
    assert!(entries.iter().all(|e| e["_links"].is_object()), "every object has its _links");

    // Code lists: an archivist adds a value and retires it.
    let list = client.get("/noark5/metadata/dokumentmedium/").await;
    assert!(list["count"].as_u64().is_some_and(|n| n >= 3));
    let (status, _, _) = client
        .send(
            Method::POST,
            "/noark5/metadata/ny-dokumentmedium/",
            Some(&json!({"kode": "D", "kodenavn": "Digitalt arkiv"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    client
        .create(
            &klasse,
            "arkivstruktur/ny-mappe/",
            json!({"tittel": "Digital", "dokumentmedium": {"kode": "D", "kodenavn": "Digitalt arkiv"}}),
        )
        .await;
    let (status, _, _) = client.send(Method::DELETE, "/noark5/metadata/dokumentmedium/D/", None, &[]).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = client
        .send(
            Method::POST,
            &link(&klasse, "arkivstruktur/ny-mappe/"),
            Some(&json!({"tittel": "Ikke lenger", "dokumentmedium": {"kode": "D"}})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a retired value is refused");

    // What was built through the API extracts into a Noark 5 arkivuttrekk that validates
    // against every official schema.
    let blobs = store::BlobStore::open(&app._settings.settings.blob_config()).expect("blobs");
    let kommune = app._settings.settings.municipalities[0].kommunenummer;
    // The demo has its own arkiv; this extraction is of the one the client built.
    let arkiv_id = arkiv["systemID"].as_str().expect("systemID");
    let source = archive::export::MunicipalSource::new(archive::Noark::new(db, blobs), kommune).only_arkiv(arkiv_id);
    let (_out, dir, summary) = export_today(&source).await;
    assert!(summary.registreringer >= 1 && summary.files >= 1, "{summary:?}");
    validate_extraction(&dir);
}

#[tokio::test]
async fn machine_clients_with_the_noark5_scope_use_the_archive_and_others_do_not() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let issuer = app.url("/maskinporten");
    let key = identity::keys::platform_key(&db, "maskinporten").await.expect("the token endpoint's key");
    let bergen = crate::helpers::kommune("4601");
    let maskinporten =
        identity::maskinporten::Maskinporten::new(db.clone(), issuer.clone(), key, vec![(bergen, app.url("/api"))]);
    let registry = maskinporten.registry(bergen);
    let by = audit::Actor::System("test");
    let consumer = kernel::OrgNr::parse("974760673").expect("orgnr");
    let pem = std::fs::read_to_string(
        crate::helpers::repository_root().join("crates/identity/tests/fixtures/test-client-rsa.pem"),
    )
    .expect("the test key");
    let client_key = identity::jose::SigningKey::from_pem(&pem, "k1").expect("an RSA key");
    let jwk = serde_json::to_string(&client_key.public_jwk()).expect("JSON");
    let mut tokens = Vec::new();
    for scope in ["allmenning:noark5", "allmenning:enhetsregisteret.read"] {
        let client =
            registry.register_client(&by, "Fagsystem", consumer, &[scope.to_owned()]).await.expect("registered");
        registry.add_key(&by, &client.client_id, &jwk).await.expect("key added");
        let assertion = crate::identity::machine_assertion(&client_key, &client.client_id, &issuer, scope);
        let (status, body) = crate::identity::token_request(&app, &assertion).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        tokens.push((client.client_id, body["access_token"].as_str().expect("token").to_owned()));
    }
    let (client_id, archive_token) = &tokens[0];
    let client = Client { app: &app, auth: format!("Bearer {archive_token}") };
    let structure = client.get("/noark5/arkivstruktur/").await;
    let arkiv = client.create(&structure, "arkivstruktur/ny-arkiv/", json!({"tittel": "Fagsystemets arkiv"})).await;
    assert!(arkiv["opprettetAv"].as_str().is_some_and(|n| n.starts_with(client_id.as_str())), "{arkiv}");
    let other = Client { app: &app, auth: format!("Bearer {}", tokens[1].1) };
    assert_eq!(other.send(Method::GET, "/noark5/arkivstruktur/", None, &[]).await.0, StatusCode::FORBIDDEN);
    let forged = Client { app: &app, auth: "Bearer not-a-token".to_owned() };
    assert_eq!(forged.send(Method::GET, "/noark5/arkivstruktur/", None, &[]).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn virksomhetsspesifikke_metadata_are_registered_typed_and_searchable_and_files_have_a_limit() {
    let mut settings = test_settings(Mode::Demo).await;
    settings.settings.archive.max_file_bytes = 4096;
    let (app, _db) = spawn_app_with_db(settings).await;
    let client = Client { app: &app, auth: basic("anne.arkivar") };
    let metadata = client.get("/noark5/metadata/").await;
    let registry = link(&metadata, "metadata/virksomhetsspesifikkeMetadata/");
    let (status, _, body) = client
        .send(
            Method::POST,
            "/noark5/metadata/ny-virksomhetsspesifikkeMetadata/",
            Some(&json!({"navn": "ppt-v1:skoleaar", "type": "string", "beskrivelse": "Skoleåret saken gjelder"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _, _) = client
        .send(
            Method::POST,
            "/noark5/metadata/ny-virksomhetsspesifikkeMetadata/",
            Some(&json!({"navn": "Skoleår", "type": "string"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a name outside the standard's form");
    let listed = client.get(&registry).await;
    assert_eq!(listed["count"], json!(1));

    let structure = client.get("/noark5/arkivstruktur/").await;
    let arkiv = client.create(&structure, "arkivstruktur/ny-arkiv/", json!({"tittel": "Arkiv"})).await;
    let arkivdel = client.create(&arkiv, "arkivstruktur/ny-arkivdel/", json!({"tittel": "PPT"})).await;
    // Forrige/neste arkivdel, two-way.
    let id = arkivdel["systemID"].as_str().expect("systemID").to_owned();
    let next = client
        .create(&arkiv, "arkivstruktur/ny-arkivdel/", json!({"tittel": "PPT 2027", "referanseForloeper": id}))
        .await;
    assert_eq!(client.get(&link(&next, "arkivstruktur/forrigearkivdel/")).await["tittel"], json!("PPT"));
    let arkivdel = client.get(&link(&arkivdel, "self")).await;
    assert_eq!(client.get(&link(&arkivdel, "arkivstruktur/nestearkivdel/")).await["tittel"], json!("PPT 2027"));
    client
        .create(
            &arkivdel,
            "arkivstruktur/ny-mappe/",
            json!({"tittel": "Elev A", "virksomhetsspesifikkeMetadata": {"ppt-v1:skoleaar": "2026/2027"}}),
        )
        .await;
    client
        .create(
            &arkivdel,
            "arkivstruktur/ny-mappe/",
            json!({"tittel": "Elev B", "virksomhetsspesifikkeMetadata": {"ppt-v1:skoleaar": "2025/2026"}}),
        )
        .await;
    let (status, _, _) = client
        .send(
            Method::POST,
            &link(&arkivdel, "arkivstruktur/ny-mappe/"),
            Some(&json!({"tittel": "C", "virksomhetsspesifikkeMetadata": {"ppt-v1:skoleaar": 2026}})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a value of the wrong type");
    let (status, _, _) = client
        .send(
            Method::POST,
            &link(&arkivdel, "arkivstruktur/ny-mappe/"),
            Some(&json!({"tittel": "D", "virksomhetsspesifikkeMetadata": {"ppt-v1:ukjent": "x"}})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a name not in the registry");
    let found = client
        .get(&format!("/noark5/arkivstruktur/mappe/?{}", encoded("$filter=ppt-v1:skoleaar eq '2026/2027'")))
        .await;
    assert_eq!(found["count"], json!(1), "{found}");
    assert_eq!(found["results"][0]["tittel"], json!("Elev A"));

    // A file over [archive] max_file_bytes is 413 and nothing is stored.
    let mappe = client.create(&arkivdel, "arkivstruktur/ny-mappe/", json!({"tittel": "Med fil"})).await;
    let registrering = client.create(&mappe, "arkivstruktur/ny-registrering/", json!({"tittel": "Notat"})).await;
    let beskrivelse = client
        .create(
            &registrering,
            "arkivstruktur/ny-dokumentbeskrivelse/",
            json!({"tittel": "Notat", "tilknyttetRegistreringSom": {"kode": "H", "kodenavn": "Hoveddokument"}}),
        )
        .await;
    let objekt = client
        .create(
            &beskrivelse,
            "arkivstruktur/ny-dokumentobjekt/",
            json!({"versjonsnummer": 1, "variantformat": {"kode": "P", "kodenavn": "Produksjonsformat"}}),
        )
        .await;
    let file = link(&objekt, "arkivstruktur/fil/");
    let big = app
        .client
        .post(client.url(&file))
        .header(header::AUTHORIZATION, &client.auth)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(vec![b'a'; 5000])
        .send()
        .await
        .expect("upload");
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(client.send(Method::GET, &file, None, &[]).await.0, StatusCode::NOT_FOUND);
    let small = app
        .client
        .post(client.url(&file))
        .header(header::AUTHORIZATION, &client.auth)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(vec![b'a'; 4000])
        .send()
        .await
        .expect("upload");
    assert_eq!(small.status(), StatusCode::CREATED);
}

/// Today's arkivuttrekk of `source`, in a fresh directory (kept while the guard lives).
async fn export_today(
    source: &archive::export::MunicipalSource,
) -> (tempfile::TempDir, std::path::PathBuf, archive::extract::Summary) {
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().join("uttrekk");
    let today = kernel::time::today_in_norway();
    let period = archive::extract::Period { from: today, to: today };
    let summary = archive::extract::export(source, period, "Testkommune", &dir, &mut |_| {}).await.expect("export");
    (out, dir, summary)
}

/// Runs `xmllint --schema` on every XML file of an extraction that is there.
fn validate_extraction(dir: &std::path::Path) {
    let mut checked = 0;
    for (xml, xsd) in [
        ("arkivstruktur.xml", "arkivstruktur.xsd"),
        ("endringslogg.xml", "endringslogg.xsd"),
        ("loependeJournal.xml", "loependeJournal.xsd"),
        ("offentligJournal.xml", "offentligJournal.xsd"),
        ("arkivuttrekk.xml", "addml.xsd"),
    ] {
        if !dir.join(xml).exists() {
            continue;
        }
        let output = std::process::Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(dir.join(xsd))
            .arg(dir.join(xml))
            .output()
            .expect("xmllint runs (Debian package libxml2-utils)");
        assert!(output.status.success(), "{xml}: {}", String::from_utf8_lossy(&output.stderr));
        checked += 1;
    }
    assert!(checked >= 2, "arkivstruktur.xml and arkivuttrekk.xml are always there");
}

#[tokio::test]
async fn the_demo_archive_extracts_and_validates_with_the_private_person_screened_in_the_public_journal() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let blobs = store::BlobStore::open(&app._settings.settings.blob_config()).expect("blobs");
    let kommune = app._settings.settings.municipalities[0].kommunenummer;
    let source = archive::export::MunicipalSource::new(archive::Noark::new(db, blobs), kommune);
    let (_out, dir, summary) = export_today(&source).await;
    assert!(summary.journal_entries >= 3 && summary.files >= 3, "the demo's journalposts and their PDFs: {summary:?}");
    validate_extraction(&dir);
    let offentlig = std::fs::read_to_string(dir.join("offentligJournal.xml")).expect("offentlig journal");
    let loepende = std::fs::read_to_string(dir.join("loependeJournal.xml")).expect("løpende journal");
    assert!(loepende.contains("Ingrid Solberg"), "the running journal names the sender");
    assert!(!offentlig.contains("Ingrid Solberg"), "the public journal screens the private person");
}

#[test]
fn the_export_command_refuses_bad_periods_and_an_archive_that_is_not_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("db/allmenning.db").display());
    let out = dir.path().join("uttrekk");
    let run = |args: &[&str]| {
        crate::cli::allmenning()
            .args(["archive", "export"])
            .args(args)
            .env("ALLMENNING__DATABASE__URL", &url)
            .env("ALLMENNING__DATA_DIR", dir.path())
            .output()
            .expect("runs")
    };
    let refused = run(&["--from", "2026-12-31", "--to", "2026-01-01", "--out", out.to_str().expect("utf-8")]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--to comes before --from"));
    let refused = run(&["--from", "31.12.2026", "--to", "2026-12-31", "--out", out.to_str().expect("utf-8")]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--from must be a date"));
    let nothing = run(&["--from", "2026-01-01", "--to", "2026-12-31", "--out", out.to_str().expect("utf-8")]);
    assert!(!nothing.status.success());
    assert!(
        String::from_utf8_lossy(&nothing.stderr).contains("there is no arkiv"),
        "{}",
        String::from_utf8_lossy(&nothing.stderr)
    );
}

/// One case's life through the typed `Archive` API — a case, an incoming letter with a PDF,
/// the reply that writes it off, a screening — with whichever archive is given. Returns the
/// case's systemID and the incoming journalpost's.
async fn case_through<A: archive::Archive>(
    archive: &A,
    db: &store::Db,
    kommune: kernel::Kommunenummer,
    klasse: &str,
    who: &str,
) -> (String, String) {
    use archive::{
        Avskrivningsmaate, Correspondent, DocumentRole, JournalpostType, NewCase, NewDocument, NewJournalpost,
        Screening, WriteOff,
    };
    let actor = archive::Actor { id: "fagsystem".to_owned(), name: "Fagsystemet".to_owned() };
    let pdf = bytes::Bytes::from_static(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n");
    let mut tx = db.begin().await.expect("begin");
    let case = archive
        .create_case(
            &mut tx,
            kommune,
            &actor,
            NewCase {
                tittel: format!("Søknad om barnehageplass ({who})"),
                offentlig_tittel: None,
                administrativ_enhet: "Oppvekst".to_owned(),
                saksansvarlig: "Kari Nilsen".to_owned(),
                arkivdel: None,
                klasse: Some(klasse.to_owned()),
                klasse_id: None,
                parter: Vec::new(),
                screening: None,
            },
        )
        .await
        .expect("case");
    let letter = |kind, tittel: &str| NewJournalpost {
        case: case.system_id.clone(),
        kind,
        tittel: tittel.to_owned(),
        offentlig_tittel: None,
        dokumentets_dato: None,
        korrespondanseparter: vec![Correspondent::person("Ola Nordmann")],
        documents: vec![NewDocument {
            tittel: tittel.to_owned(),
            role: DocumentRole::Hoveddokument,
            mime_type: "application/pdf".to_owned(),
            format: None,
            filnavn: Some("brev.pdf".to_owned()),
            bytes: pdf.clone(),
        }],
        screening: None,
    };
    let incoming = archive
        .journal(&mut tx, kommune, &actor, letter(JournalpostType::Inngaaende, "Søknad"))
        .await
        .expect("incoming");
    let reply =
        archive.journal(&mut tx, kommune, &actor, letter(JournalpostType::Utgaaende, "Svar")).await.expect("reply");
    assert_eq!((incoming.journalpostnummer, reply.journalpostnummer), (1, 2));
    archive
        .write_off(
            &mut tx,
            kommune,
            &actor,
            &incoming.system_id,
            WriteOff::Reply { journalpost: reply.system_id.clone(), how: Avskrivningsmaate::BesvartMedBrev },
        )
        .await
        .expect("written off");
    let screening = Screening {
        tilgangsrestriksjon: "P".to_owned(),
        skjermingshjemmel: "Offl. § 13 jf. fvl. § 13".to_owned(),
        metadata: vec!["NA".to_owned()],
        dokument: None,
        duration_years: None,
    };
    archive.set_screening(&mut tx, kommune, &actor, &incoming.system_id, screening).await.expect("screened");
    tx.commit().await.expect("commit");
    (case.system_id, incoming.system_id)
}

#[tokio::test]
async fn the_external_archive_client_and_the_built_in_archive_leave_the_same_records() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let kommune = app._settings.settings.municipalities[0].kommunenummer;
    let client = Client { app: &app, auth: basic("anne.arkivar") };
    let klasser = client.get("/noark5/arkivstruktur/klasse/").await;
    let klasse = klasser["results"][0]["systemID"].as_str().expect("the demo's klasse").to_owned();
    let blobs = store::BlobStore::open(&app._settings.settings.blob_config()).expect("blobs");
    let built_in = archive::Noark::new(db.clone(), blobs);
    let external = archive::ExternalArchive::new(
        app.url("/noark5/"),
        archive::Credentials::Basic { user: "anne.arkivar".to_owned(), password: "noark5-demo".to_owned() },
    )
    .expect("client");
    let ours = case_through(&built_in, &db, kommune, &klasse, "innebygd").await;
    // The caller's transaction is in the caller's own database: a remote archive is not in it
    // (and on SQLite an open write here would hold the writer the server needs).
    let scratch = tempfile::tempdir().expect("tempdir");
    let callers_db = store::Db::connect(
        &format!("sqlite://{}", scratch.path().join("caller.db").display()),
        store::Schema::store_only(),
    )
    .await
    .expect("the caller's database");
    let theirs = case_through(&external, &callers_db, kommune, &klasse, "ekstern").await;

    // Read back through /noark5/ alike: the same structure, numbers, files, write-off and screening.
    let mut seen = Vec::new();
    for (case, incoming) in [ours, theirs] {
        let saksmappe = client.get(&format!("/noark5/sakarkiv/saksmappe/{case}/")).await;
        let posts = client.get(&link(&saksmappe, "arkivstruktur/registrering/")).await;
        assert_eq!(posts["count"], json!(2), "{posts}");
        let post = client.get(&format!("/noark5/sakarkiv/journalpost/{incoming}/")).await;
        let parts = client.get(&link(&post, "arkivstruktur/korrespondansepart/")).await;
        assert_eq!(parts["results"][0]["navn"], json!("Ola Nordmann"));
        let avskrivninger = client.get(&link(&post, "sakarkiv/avskrivning/")).await;
        assert_eq!(avskrivninger["count"], json!(1), "written off: {avskrivninger}");
        let descriptions = client.get(&link(&post, "arkivstruktur/dokumentbeskrivelse/")).await;
        let description = &descriptions["results"][0];
        let objects = client.get(&link(description, "arkivstruktur/dokumentobjekt/")).await;
        let file = link(&objects["results"][0], "arkivstruktur/fil/");
        let bytes = app
            .client
            .get(client.url(&file))
            .header(header::AUTHORIZATION, &client.auth)
            .send()
            .await
            .expect("file")
            .bytes()
            .await
            .expect("bytes");
        assert!(bytes.starts_with(b"%PDF-1.4"));
        seen.push((
            saksmappe["klasse"].clone(),
            post["journalposttype"].clone(),
            post["skjerming"]["skjermingshjemmel"].clone(),
            post["skjerming"]["tilgangsrestriksjon"]["kode"].clone(),
            objects["results"][0]["sjekksum"].clone(),
        ));
    }
    assert_eq!(seen[0], seen[1], "the external client leaves what the built-in archive leaves");
    assert_eq!(seen[0].2, json!("Offl. § 13 jf. fvl. § 13"));
}
