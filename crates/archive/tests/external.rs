//! The external archive client against a tiny fake Noark 5 tjenestegrensesnitt on loopback:
//! it follows the rels from the root, finds by `$filter`, GETs templates and POSTs objects as
//! `application/vnd.noark5+json`, uploads files with their Content-Type, updates with
//! `If-Match`, logs in with HTTP Basic, and maps the standard's error body.
//! (The test against the built-in `/noark5/` server comes with it.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use archive::{
    Actor, Archive, ArchiveError, Avskrivningsmaate, Correspondent, Credentials, DocumentRole, ExternalArchive,
    JournalpostType, NewCase, NewDocument, NewJournalpost, Party, Screening, WriteOff,
};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use store::testing::TestDatabase;
use store::{Db, Schema};

const REL: &str = "https://rel.arkivverket.no/noark5/v5/api/";
const AUTH: &str = "Basic YXJraXY6aGVtbWVsaWc="; // arkiv:hemmelig

/// A stored object: (entity, parent, body, version).
type Stored = (String, Option<String>, Map<String, Value>, i64);

#[derive(Default)]
struct Fake {
    base: String,
    /// systemID → (entity, parent, body, version)
    objects: HashMap<String, Stored>,
    order: Vec<String>,
    files: HashMap<String, (String, Vec<u8>)>,
    /// (method, path, content type, authorised)
    requests: Vec<(String, String, Option<String>, bool)>,
    counter: i64,
}

type Shared = Arc<Mutex<Fake>>;

fn feil(status: StatusCode, beskrivelse: &str) -> Response {
    (status, axum::Json(json!({"feil": {"kode": status.as_u16(), "beskrivelse": beskrivelse}}))).into_response()
}

fn noark(status: StatusCode, value: &Value) -> Response {
    (status, [("content-type", "application/vnd.noark5+json")], value.to_string()).into_response()
}

impl Fake {
    fn with_links(&self, id: &str) -> Value {
        let (entity, _, body, _) = &self.objects[id];
        let mut links = Map::new();
        let me = format!("{}/obj/{id}", self.base);
        links.insert("self".to_owned(), json!({"href": me}));
        if let Some(model) = archive::model::entity(entity) {
            for rel in model.all_rels() {
                if let Some(name) = rel.trim_end_matches('/').rsplit('/').next().and_then(|n| n.strip_prefix("ny-")) {
                    links.insert(rel.to_owned(), json!({"href": format!("{me}/ny-{name}")}));
                }
            }
        }
        if entity == "dokumentobjekt" {
            links.insert(format!("{REL}arkivstruktur/fil/"), json!({"href": format!("{me}/referanseFil")}));
        }
        let mut out = body.clone();
        out.insert("_links".to_owned(), Value::Object(links));
        Value::Object(out)
    }

    fn insert(&mut self, entity: &str, parent: Option<&str>, mut body: Map<String, Value>) -> String {
        self.counter += 1;
        let id = format!("{entity}-{}", self.counter);
        body.insert("systemID".to_owned(), json!(id));
        let count = |fake: &Fake, entity: &str, parent: Option<&str>| {
            fake.objects
                .values()
                .filter(|(e, p, _, _)| e == entity && (parent.is_none() || p.as_deref() == parent))
                .count() as i64
                + 1
        };
        if entity == "saksmappe" {
            let n = count(self, "saksmappe", None);
            body.insert("mappeID".to_owned(), json!(format!("2026/{n}")));
        }
        if entity == "journalpost" {
            let sequence = count(self, "journalpost", None);
            let number = count(self, "journalpost", parent);
            body.insert("journalaar".to_owned(), json!(2026));
            body.insert("journalsekvensnummer".to_owned(), json!(sequence));
            body.insert("journalpostnummer".to_owned(), json!(number.to_string()));
            body.insert("registreringsID".to_owned(), json!(format!("2026/{sequence}-{number}")));
        }
        self.objects.insert(id.clone(), (entity.to_owned(), parent.map(str::to_owned), body, 1));
        self.order.push(id.clone());
        id
    }

    fn children(&self, parent: &str) -> Vec<(String, Map<String, Value>)> {
        self.order
            .iter()
            .filter_map(|id| self.objects.get(id).filter(|(_, p, _, _)| p.as_deref() == Some(parent)))
            .map(|(e, _, b, _)| (e.clone(), b.clone()))
            .collect()
    }
}

async fn handle(State(fake): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let mut fake = fake.lock().expect("lock");
    let authorised = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(AUTH);
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    fake.requests.push((method.to_string(), uri.to_string(), content_type.clone(), authorised));
    if !authorised {
        return feil(StatusCode::UNAUTHORIZED, "logg inn");
    }
    let base = fake.base.clone();
    let path: Vec<&str> = uri.path().trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    match (method.as_str(), path.as_slice()) {
        ("GET", []) => noark(
            StatusCode::OK,
            &json!({"_links": {
                format!("{REL}arkivstruktur/"): {"href": format!("{base}/arkivstruktur")},
                format!("{REL}sakarkiv/"): {"href": format!("{base}/sakarkiv")},
            }}),
        ),
        ("GET", ["arkivstruktur"]) => noark(
            StatusCode::OK,
            &json!({"_links": {
                format!("{REL}arkivstruktur/arkivdel/"): {"href": format!("{base}/list/arkivdel{{?$filter&$top}}"), "templated": true},
                format!("{REL}arkivstruktur/klasse/"): {"href": format!("{base}/list/klasse{{?$filter&$top}}"), "templated": true},
            }}),
        ),
        ("GET", ["sakarkiv"]) => noark(
            StatusCode::OK,
            &json!({"_links": {
                format!("{REL}sakarkiv/saksmappe/"): {"href": format!("{base}/list/saksmappe{{?$filter}}"), "templated": true},
                format!("{REL}sakarkiv/journalpost/"): {"href": format!("{base}/list/journalpost{{?$filter}}"), "templated": true},
            }}),
        ),
        ("GET", ["list", entity]) => {
            // Only `field eq 'value'`, as the client sends it.
            let filter = uri
                .query()
                .and_then(|q| q.strip_prefix("$filter="))
                .map(|f| percent_encoding::percent_decode_str(f).decode_utf8_lossy().into_owned())
                .unwrap_or_default();
            let (field, value) = filter.split_once(" eq ").unwrap_or(("", ""));
            let value = value.trim_matches('\'');
            let results: Vec<Value> = fake
                .order
                .iter()
                .filter(|id| {
                    let (e, _, body, _) = &fake.objects[*id];
                    e == entity && body.get(field).and_then(Value::as_str) == Some(value)
                })
                .map(|id| fake.with_links(id))
                .collect();
            if results.is_empty() {
                noark(StatusCode::OK, &json!({"count": 0}))
            } else {
                noark(StatusCode::OK, &json!({"count": results.len(), "results": results}))
            }
        }
        ("GET", ["obj", id]) => match fake.objects.get(*id) {
            Some((_, _, _, version)) => {
                let mut response = noark(StatusCode::OK, &fake.with_links(id));
                response.headers_mut().insert("etag", format!("\"{version}\"").parse().expect("etag"));
                response
            }
            None => feil(StatusCode::NOT_FOUND, "ingen slik"),
        },
        ("PUT", ["obj", id]) => {
            let Some((_, _, _, version)) = fake.objects.get(*id).cloned() else {
                return feil(StatusCode::NOT_FOUND, "ingen slik");
            };
            if headers.get("if-match").and_then(|v| v.to_str().ok()) != Some(&format!("\"{version}\"")) {
                return feil(StatusCode::CONFLICT, "endret av andre");
            }
            let Ok(Value::Object(mut new)) = serde_json::from_slice::<Value>(&body) else {
                return feil(StatusCode::BAD_REQUEST, "ikke JSON");
            };
            new.insert("systemID".to_owned(), json!(id));
            if let Some(entry) = fake.objects.get_mut(*id) {
                entry.2 = new;
                entry.3 += 1;
            }
            noark(StatusCode::OK, &fake.with_links(id))
        }
        ("GET", ["obj", _, new]) if new.starts_with("ny-") => {
            let template = if *new == "ny-journalpost" {
                json!({"journalstatus": {"kode": "J", "kodenavn": "Journalført"}, "journaldato": "2026-12-03", "_links": {}})
            } else {
                json!({"_links": {}})
            };
            noark(StatusCode::OK, &template)
        }
        ("POST", ["obj", parent, new]) if new.starts_with("ny-") => {
            if content_type.as_deref() != Some("application/vnd.noark5+json") {
                return feil(StatusCode::UNSUPPORTED_MEDIA_TYPE, "feil innholdstype");
            }
            if !fake.objects.contains_key(*parent) {
                return feil(StatusCode::NOT_FOUND, "ingen slik");
            }
            let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
                return feil(StatusCode::BAD_REQUEST, "ikke JSON");
            };
            if fields.get("tittel").and_then(Value::as_str) == Some("") {
                return feil(StatusCode::BAD_REQUEST, "tittel mangler");
            }
            let entity = new.trim_start_matches("ny-").to_owned();
            let id = fake.insert(&entity, Some(parent), fields);
            noark(StatusCode::CREATED, &fake.with_links(&id))
        }
        ("POST", ["obj", id, "referanseFil"]) => {
            let Some((_, _, object, _)) = fake.objects.get(*id).cloned() else {
                return feil(StatusCode::NOT_FOUND, "ingen slik");
            };
            let content_type = content_type.unwrap_or_default();
            if object.get("mimeType").and_then(Value::as_str) != Some(content_type.as_str()) {
                return feil(StatusCode::BAD_REQUEST, "mimeType stemmer ikke");
            }
            if object.get("sjekksum").and_then(Value::as_str) != Some(store::blobs::sha256_hex(&body).as_str()) {
                return feil(StatusCode::BAD_REQUEST, "sjekksum stemmer ikke");
            }
            fake.files.insert((*id).to_owned(), (content_type, body.to_vec()));
            noark(StatusCode::CREATED, &fake.with_links(id))
        }
        _ => feil(StatusCode::NOT_FOUND, "ukjent ressurs"),
    }
}

async fn serve() -> (Shared, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let fake = Arc::new(Mutex::new(Fake { base: base.clone(), ..Fake::default() }));
    {
        let mut state = fake.lock().expect("lock");
        state.insert("arkivdel", None, json!({"tittel": "Sakarkiv"}).as_object().cloned().unwrap_or_default());
    }
    let app = axum::Router::new().fallback(handle).with_state(fake.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (fake, format!("{base}/"))
}

fn actor() -> Actor {
    Actor { id: "post-1".to_owned(), name: "Postmottaket".to_owned() }
}

async fn db() -> (TestDatabase, Db) {
    TestDatabase::migrated(Schema::new(&[&archive::MIGRATIONS]).expect("schema")).await.expect("database")
}

const PDF: &[u8] = b"%PDF-1.4\n%%EOF\n";

/// A kindergarten application's saksmappe, with no parties and the default placement.
fn application() -> NewCase {
    NewCase {
        tittel: "Søknad om barnehageplass".to_owned(),
        offentlig_tittel: None,
        administrativ_enhet: "Oppvekst".to_owned(),
        saksansvarlig: "Sara".to_owned(),
        arkivdel: None,
        klasse: None,
        klasse_id: None,
        parter: Vec::new(),
        screening: None,
    }
}

#[tokio::test]
async fn the_client_journals_through_the_tjenestegrensesnitt() {
    let (fake, root) = serve().await;
    let (_guard, db) = db().await;
    let bergen = kernel::Kommunenummer::parse("4601").expect("kommunenummer");
    let remote = ExternalArchive::new(
        root.clone(),
        Credentials::Basic { user: "arkiv".to_owned(), password: "hemmelig".to_owned() },
    )
    .expect("client");
    let mut tx = db.begin().await.expect("begin");
    let case = remote
        .create_case(
            &mut tx,
            bergen,
            &actor(),
            NewCase { parter: vec![Party::person("Kari Nordmann").with_identifier("20914695016")], ..application() },
        )
        .await
        .expect("case");
    assert_eq!(case.mappe_id, "2026/1");
    let post = Archive::journal(
        &remote,
        &mut tx,
        bergen,
        &actor(),
        NewJournalpost {
            case: case.system_id.clone(),
            kind: JournalpostType::Inngaaende,
            tittel: "Søknad".to_owned(),
            offentlig_tittel: None,
            dokumentets_dato: None,
            korrespondanseparter: vec![Correspondent::person("Kari Nordmann").with_identifier("20914695016")],
            documents: vec![NewDocument {
                tittel: "Søknad".to_owned(),
                role: DocumentRole::Hoveddokument,
                mime_type: "application/pdf".to_owned(),
                format: Some("fmt/95".to_owned()),
                filnavn: None,
                bytes: Bytes::from_static(PDF),
            }],
            screening: None,
        },
    )
    .await
    .expect("journal");
    assert_eq!((post.journalaar, post.journalsekvensnummer, post.journalpostnummer), (2026, 1, 1));
    assert_eq!(post.registrerings_id, "2026/1-1");
    let reply = Archive::journal(
        &remote,
        &mut tx,
        bergen,
        &actor(),
        NewJournalpost {
            case: case.system_id.clone(),
            kind: JournalpostType::Utgaaende,
            tittel: "Svar".to_owned(),
            offentlig_tittel: None,
            dokumentets_dato: None,
            korrespondanseparter: vec![],
            documents: vec![],
            screening: None,
        },
    )
    .await
    .expect("reply");
    remote
        .write_off(
            &mut tx,
            bergen,
            &actor(),
            &post.system_id,
            WriteOff::Reply { journalpost: reply.system_id.clone(), how: Avskrivningsmaate::BesvartMedBrev },
        )
        .await
        .expect("write off");
    let screening = Screening {
        tilgangsrestriksjon: "13".to_owned(),
        skjermingshjemmel: "Offl. § 13".to_owned(),
        metadata: vec!["TR1".to_owned()],
        dokument: None,
        duration_years: None,
    };
    remote.set_screening(&mut tx, bergen, &actor(), &case.system_id, screening).await.expect("screening");
    // The remote archive is not in the transaction: rolling back leaves what was written.
    tx.rollback().await.expect("rollback");

    let state = fake.lock().expect("lock");
    let under_case: Vec<String> = state.children(&case.system_id).into_iter().map(|(e, _)| e).collect();
    assert_eq!(under_case, ["partperson", "foedselsnummer", "journalpost", "journalpost"]);
    let under_post = state.children(&post.system_id);
    let names: Vec<&str> = under_post.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(names, ["korrespondansepartperson", "foedselsnummer", "dokumentbeskrivelse", "avskrivning"]);
    assert_eq!(under_post[0].1["korrespondanseparttype"], json!({"kode": "EA"}));
    assert_eq!(under_post[1].1["foedselsnummer"], json!("20914695016"));
    assert_eq!(under_post[3].1["referanseAvskrivesAvJournalpost"], json!(reply.system_id));
    assert_eq!(under_post[3].1["avskrivningsmaate"], json!({"kode": "BU"}));
    let journalpost = &state.objects[&post.system_id].2;
    assert_eq!(journalpost["journalstatus"]["kode"], json!("J"), "the template's defaults are kept");
    let (content_type, bytes) = &state.files[&post.documents[0].dokumentobjekt];
    assert_eq!((content_type.as_str(), bytes.as_slice()), ("application/pdf", PDF));
    let case_body = &state.objects[&case.system_id];
    assert_eq!(case_body.2["skjerming"]["tilgangsrestriksjon"], json!({"kode": "13"}));
    assert_eq!(case_body.3, 2, "updated once, with its ETag");
    assert!(state.requests.iter().all(|(_, _, _, authorised)| *authorised), "every request logged in");
    for (method, path, content_type, _) in &state.requests {
        if method == "POST" && !path.ends_with("/referanseFil") || method == "PUT" {
            assert_eq!(content_type.as_deref(), Some("application/vnd.noark5+json"), "{method} {path}");
        }
    }
    assert!(state.requests.iter().any(|(m, p, _, _)| m == "GET" && p.contains("$filter=systemID%20eq%20")));
}

#[tokio::test]
async fn errors_come_back_as_archive_errors() {
    let (_fake, root) = serve().await;
    let (_guard, db) = db().await;
    let bergen = kernel::Kommunenummer::parse("4601").expect("kommunenummer");
    let remote = ExternalArchive::new(
        root.clone(),
        Credentials::Basic { user: "arkiv".to_owned(), password: "hemmelig".to_owned() },
    )
    .expect("client");
    let mut tx = db.begin().await.expect("begin");
    let entry = NewJournalpost {
        case: "no-such-case".to_owned(),
        kind: JournalpostType::Inngaaende,
        tittel: "Søknad".to_owned(),
        offentlig_tittel: None,
        dokumentets_dato: None,
        korrespondanseparter: vec![],
        documents: vec![],
        screening: None,
    };
    let refused = Archive::journal(&remote, &mut tx, bergen, &actor(), entry.clone()).await;
    assert!(matches!(refused, Err(ArchiveError::NotFound)), "{refused:?}");
    let wrong = ExternalArchive::new(root, Credentials::Bearer("feil".to_owned())).expect("client");
    let refused = Archive::journal(&wrong, &mut tx, bergen, &actor(), entry).await;
    assert!(
        matches!(&refused, Err(ArchiveError::Store(store::StoreError::Connect(m))) if m.contains("401")),
        "{refused:?}"
    );
    let unknown = remote
        .create_case(
            &mut tx,
            bergen,
            &actor(),
            NewCase {
                tittel: "Sak".to_owned(),
                offentlig_tittel: None,
                administrativ_enhet: "X".to_owned(),
                saksansvarlig: "Y".to_owned(),
                arkivdel: Some("no-such-arkivdel".to_owned()),
                klasse: None,
                klasse_id: None,
                parter: vec![],
                screening: None,
            },
        )
        .await;
    assert!(matches!(unknown, Err(ArchiveError::NotFound)), "{unknown:?}");
    tx.rollback().await.expect("rollback");
}

/// A klasseID is found with `$filter=klasseID eq '…'`; the saksmappe goes under that klasse, or
/// under the default arkivdel when the archive has none (never refused for it).
#[tokio::test]
async fn a_klasse_id_is_looked_up_by_filter_and_an_unknown_one_falls_back() {
    let (fake, root) = serve().await;
    let (_guard, db) = db().await;
    let bergen = kernel::Kommunenummer::parse("4601").expect("kommunenummer");
    let (arkivdel, a10) = {
        let mut state = fake.lock().expect("lock");
        let arkivdel = state.order[0].clone();
        let klasse = json!({"klasseID": "A10", "tittel": "Barnehage"}).as_object().cloned().unwrap_or_default();
        let a10 = state.insert("klasse", Some(&arkivdel), klasse);
        (arkivdel, a10)
    };
    let remote =
        ExternalArchive::new(root, Credentials::Basic { user: "arkiv".to_owned(), password: "hemmelig".to_owned() })
            .expect("client");
    let mut placed = Vec::new();
    for klasse_id in ["A10", "X99"] {
        let mut tx = db.begin().await.expect("begin");
        let case = remote
            .create_case(&mut tx, bergen, &actor(), NewCase { klasse_id: Some(klasse_id.to_owned()), ..application() })
            .await
            .expect("never refused for its klasse");
        tx.commit().await.expect("commit");
        placed.push(fake.lock().expect("lock").objects[&case.system_id].1.clone());
    }
    assert_eq!(placed, [Some(a10), Some(arkivdel)]);
    let state = fake.lock().expect("lock");
    assert!(state.requests.iter().any(|(m, p, _, _)| m == "GET" && p.contains("$filter=klasseID%20eq%20")));
}
