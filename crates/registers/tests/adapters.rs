//! The HTTP adapters against a fake register: a real axum server on 127.0.0.1:0 that serves the
//! fixtures in `tests/fixtures/<register>/` (written from the registers' published
//! documentation; each folder's README names the source) on the registers' published paths, and,
//! on demand, scripted failures (429 with Retry-After, 503, slow answers, refusals, HTML pages,
//! malformed bodies). It records every request, so the tests can count retries and check what
//! was sent.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use kernel::{Fnr, Kommunenummer, Language, Matrikkelnummer, OrgNr};
use registers::adapters::{
    EnhetsregisteretClient, FolkeregisteretClient, HttpConfig, KrrClient, MatrikkelenClient, Rettighetspakke,
};
use registers::model::{
    Address, Adressebeskyttelse, Building, Contact, ContactStatus, FamilyRelation, MailboxProvider, Name, Organisation,
    OrganisationRole, Owner, Person, PersonStatus, Property, RelationRole, Residence, ResidencePeriod, Sex,
};
use registers::{Caller, ContactSource, OrganisationSource, PersonSource, PropertySource, Register, RegisterError};
use time::macros::{date, format_description};

// Synthetic (month + 80) numbers; `synthetic_numbers_are_what_the_kernel_builds` proves each.
const INGRID: &str = "12848520010";
const INGRID_MOTHER: &str = "03895810044";
const INGRID_FATHER: &str = "21815610137";
const INGRID_SPOUSE: &str = "30878330176";
const INGRID_CHILD: &str = "11821950076";
const INGRID_SIBLING: &str = "05908825065";
const MARIA_PROTECTED: &str = "23918841032";
const OLAV_UNDER_GUARDIANSHIP: &str = "02833611103";
const GUARDIAN: &str = "24927022288";
const RANDI_DECEASED: &str = "15865233180";
const UNKNOWN: &str = "01813000160";
const KRR_RESERVED: &str = "09854712060";
const KRR_DIGIPOST: &str = "12869026067";
const KRR_EBOKS: &str = "08887514055";
const KRR_CANNOT_NOTIFY: &str = "03830151043";
const KRR_NOT_REGISTERED: &str = "09899917070";
/// No varslingsstatus; e-mail updated 2024-11-20, mobile updated 2023-12-01 (the cut-off day).
const KRR_FRESH_NO_STATUS: &str = "22836410061";
/// No varslingsstatus; everything older than 18 months.
const KRR_STALE_NO_STATUS: &str = "01909510054";
/// No varslingsstatus; the e-mail address is stale, the mobile number verified recently.
const KRR_MIXED_NO_STATUS: &str = "19928210017";
/// SLETTET.
const KRR_DELETED: &str = "05855510180";
/// The day the KRR tests judge the 18-month rule on: the cut-off is 2023-12-01.
const KRR_TODAY: time::Date = date!(2025 - 06 - 01);
const KLIENTADRESSE: &str = "14829110181";
const WRONG_TYPE_PERSON: &str = "07877710046";
const DAGLIG_LEDER: &str = "30818516084";
const STYRELEDER: &str = "29826018095";
const KONTAKTPERSON: &str = "11917919021";

/// Answers with the refusal fixture (400).
const REFUSED_ID: &str = INGRID_SIBLING;
/// Answers with a body that is not JSON.
const MALFORMED_ID: &str = INGRID_SPOUSE;
/// Answers with JSON of the wrong shape.
const WRONG_SHAPE_ID: &str = INGRID_CHILD;
/// Answers 403 without a body.
const FORBIDDEN_ID: &str = INGRID_FATHER;

const ORGNR: &str = "974760673";
const DELETED_ORGNR: &str = "991825827";
const DELETED_WITH_200_ORGNR: &str = "964338531";
const SUB_UNIT_ORGNR: &str = "920000002";
const EMPTY_FIELDS_ORGNR: &str = "920000010";
/// Enhetsregisteret answers this one with a field of the wrong type.
const WRONG_TYPE_ORGNR: &str = "920000029";

const FREG: &str = "/folkeregisteret/offentlig-med-hjemmel/api/v1/personer/";
const TOKEN: &str = "test-token";

fn fnr(text: &str) -> Fnr {
    Fnr::parse(text).expect("a valid synthetic fødselsnummer")
}

fn orgnr(text: &str) -> OrgNr {
    OrgNr::parse(text).expect("a valid organisasjonsnummer")
}

fn kommune(text: &str) -> Kommunenummer {
    Kommunenummer::parse(text).expect("a kommunenummer")
}

// ---------------------------------------------------------------------------------------------
// The fake register.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Recorded {
    method: Method,
    path: String,
    query: Option<String>,
    authorization: Option<String>,
    body: Bytes,
}

#[derive(Debug, Clone)]
struct Scripted {
    status: u16,
    retry_after: Option<String>,
    body: &'static str,
    content_type: &'static str,
    delay: Option<Duration>,
}

impl Scripted {
    fn status(status: u16) -> Self {
        Self { status, retry_after: None, body: "", content_type: "application/json", delay: None }
    }

    fn json(status: u16, body: &'static str) -> Self {
        Self { body, ..Self::status(status) }
    }

    /// A firewall's refusal page, sent with `content_type`.
    fn html(status: u16, content_type: &'static str) -> Self {
        Self { body: include_str!("fixtures/folkeregisteret/brannmur.html"), content_type, ..Self::status(status) }
    }

    fn retry_after(mut self, value: impl Into<String>) -> Self {
        self.retry_after = Some(value.into());
        self
    }

    fn slow(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

#[derive(Debug, Default)]
struct Fake {
    requests: AtomicUsize,
    log: Mutex<Vec<Recorded>>,
    /// Answers given before the fixtures, one per request.
    script: Mutex<VecDeque<Scripted>>,
    /// An answer given to every request once the script has run out.
    forever: Mutex<Option<Scripted>>,
}

impl Fake {
    fn then(&self, step: Scripted) -> &Self {
        self.script.lock().expect("script").push_back(step);
        self
    }

    fn forever(&self, step: Scripted) {
        *self.forever.lock().expect("forever") = Some(step);
    }

    fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn log(&self) -> Vec<Recorded> {
        self.log.lock().expect("log").clone()
    }
}

struct Server {
    fake: Arc<Fake>,
    base_url: String,
}

impl Server {
    async fn start() -> Self {
        let fake = Arc::new(Fake::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let app = Router::new().fallback(handle).with_state(Arc::clone(&fake));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { fake, base_url: format!("http://{address}") }
    }

    fn config(&self) -> HttpConfig {
        HttpConfig {
            base_url: self.base_url.clone(),
            bearer_token: Some(TOKEN.to_owned()),
            max_attempts: 4,
            base_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(20),
            timeout: Duration::from_secs(5),
        }
    }

    fn folkeregisteret(&self) -> FolkeregisteretClient {
        FolkeregisteretClient::new(self.config()).expect("client")
    }

    fn krr(&self) -> KrrClient {
        KrrClient::new(self.config()).expect("client").with_today(KRR_TODAY)
    }

    /// With the authorised roles API, as a municipality with that access configures it.
    fn enhetsregisteret(&self) -> EnhetsregisteretClient {
        EnhetsregisteretClient::new(self.config()).expect("client").with_authorised_roles()
    }

    /// The open API only.
    fn enhetsregisteret_open(&self) -> EnhetsregisteretClient {
        EnhetsregisteretClient::new(self.config()).expect("client")
    }

    fn matrikkelen(&self) -> MatrikkelenClient {
        MatrikkelenClient::new(self.config()).expect("client")
    }
}

fn json(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn handle(State(fake): State<Arc<Fake>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    fake.requests.fetch_add(1, Ordering::SeqCst);
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    fake.log.lock().expect("log").push(Recorded {
        method: method.clone(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        authorization,
        body: body.clone(),
    });
    let scripted = fake.script.lock().expect("script").pop_front();
    let scripted = scripted.or_else(|| fake.forever.lock().expect("forever").clone());
    if let Some(step) = scripted {
        if let Some(delay) = step.delay {
            tokio::time::sleep(delay).await;
        }
        let mut response = (
            StatusCode::from_u16(step.status).expect("status"),
            [(header::CONTENT_TYPE, step.content_type)],
            step.body,
        )
            .into_response();
        if let Some(value) = step.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, value.parse().expect("header value"));
        }
        return response;
    }
    fixture(&method, uri.path(), &body)
}

/// The registers' published paths, each answered from a fixture.
fn fixture(method: &Method, path: &str, body: &[u8]) -> Response {
    const OTHER_PACKAGE: &str = "/folkeregisteret/api/offentligutenhjemmel/v1/personer/";
    if let Some(resource) = path.strip_prefix(FREG).or_else(|| path.strip_prefix(OTHER_PACKAGE)) {
        let bulk_allowed = path.starts_with(FREG);
        return match (method.as_str(), resource) {
            ("GET", INGRID) => json(StatusCode::OK, include_str!("fixtures/folkeregisteret/person_full.json")),
            ("GET", MARIA_PROTECTED) => {
                json(StatusCode::OK, include_str!("fixtures/folkeregisteret/person_strengt_fortrolig.json"))
            }
            ("GET", KLIENTADRESSE) => {
                json(StatusCode::OK, include_str!("fixtures/folkeregisteret/person_klientadresse.json"))
            }
            ("GET", WRONG_TYPE_PERSON) => {
                json(StatusCode::OK, include_str!("fixtures/folkeregisteret/person_feil_type.json"))
            }
            ("GET", REFUSED_ID) => {
                json(StatusCode::BAD_REQUEST, include_str!("fixtures/folkeregisteret/feil_kode_melding.json"))
            }
            ("GET", MALFORMED_ID) => json(StatusCode::OK, include_str!("fixtures/folkeregisteret/avkuttet.json")),
            ("GET", WRONG_SHAPE_ID) => json(StatusCode::OK, "[1, 2, 3]"),
            ("GET", FORBIDDEN_ID) => {
                json(StatusCode::FORBIDDEN, include_str!("fixtures/folkeregisteret/feil_feilkode_feilmelding.json"))
            }
            ("POST", "bulkoppslag") if bulk_allowed => {
                json(StatusCode::OK, include_str!("fixtures/folkeregisteret/bulkoppslag.json"))
            }
            _ => StatusCode::NOT_FOUND.into_response(),
        };
    }
    match (method.as_str(), path) {
        ("POST", "/rest/v1/personer") => krr_answer(body),
        ("GET", "/enhetsregisteret/api/enheter/974760673") => {
            json(StatusCode::OK, include_str!("fixtures/enhetsregisteret/enhet.json"))
        }
        ("GET", "/enhetsregisteret/autorisert-api/enheter/974760673/roller") => {
            json(StatusCode::OK, include_str!("fixtures/enhetsregisteret/autorisert_roller.json"))
        }
        ("GET", "/enhetsregisteret/api/enheter/991825827") => {
            json(StatusCode::GONE, include_str!("fixtures/enhetsregisteret/slettet.json"))
        }
        ("GET", "/enhetsregisteret/api/enheter/964338531") => {
            json(StatusCode::OK, include_str!("fixtures/enhetsregisteret/slettet.json"))
        }
        ("GET", "/enhetsregisteret/api/underenheter/920000002") => {
            json(StatusCode::OK, include_str!("fixtures/enhetsregisteret/underenhet.json"))
        }
        ("GET", "/enhetsregisteret/api/enheter/920000010") => {
            json(StatusCode::OK, include_str!("fixtures/enhetsregisteret/enhet_tomme_felt.json"))
        }
        ("GET", "/enhetsregisteret/api/enheter/920000029") => {
            json(StatusCode::OK, include_str!("fixtures/enhetsregisteret/feil_type.json"))
        }
        ("GET", "/matrikkelen/api/v1/eiendommer/4632-12-345-0-0") => {
            json(StatusCode::OK, include_str!("fixtures/matrikkelen/eiendom.json"))
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// KRR answers only for the identifiers asked for, as the real service does.
fn krr_answer(body: &[u8]) -> Response {
    let Ok(request) = serde_json::from_slice::<serde_json::Value>(body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let asked: Vec<&str> = request["personidentifikatorer"]
        .as_array()
        .map(|ids| ids.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    let all: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/krr/personer.json")).expect("the KRR fixture is JSON");
    let personer: Vec<serde_json::Value> = all["personer"]
        .as_array()
        .expect("personer")
        .iter()
        .filter(|p| p["personidentifikator"].as_str().is_some_and(|id| asked.contains(&id)))
        .cloned()
        .collect();
    (StatusCode::OK, axum::Json(serde_json::json!({ "personer": personer }))).into_response()
}

fn assert_bearer_on_every_request(fake: &Fake) {
    let log = fake.log();
    assert!(!log.is_empty(), "no request was made");
    for request in log {
        assert_eq!(
            request.authorization.as_deref(),
            Some("Bearer test-token"),
            "{} {} lacks the bearer token",
            request.method,
            request.path
        );
    }
}

/// No error text may carry a fødselsnummer.
fn assert_no_personal_data(error: &RegisterError) {
    let text = format!("{error} {error:?}");
    for number in [INGRID, INGRID_SIBLING, INGRID_SPOUSE, INGRID_CHILD, INGRID_FATHER, MARIA_PROTECTED] {
        assert!(!text.contains(number), "the error leaks a fødselsnummer: {text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Folkeregisteret: mapping.
// ---------------------------------------------------------------------------------------------

#[test]
fn synthetic_numbers_are_what_the_kernel_builds() {
    for (text, birth, individual) in [
        (INGRID, date!(1985 - 04 - 12), 200),
        (INGRID_MOTHER, date!(1958 - 09 - 03), 100),
        (INGRID_FATHER, date!(1956 - 01 - 21), 101),
        (INGRID_SPOUSE, date!(1983 - 07 - 30), 301),
        (INGRID_CHILD, date!(2019 - 02 - 11), 500),
        (INGRID_SIBLING, date!(1988 - 10 - 05), 250),
        (MARIA_PROTECTED, date!(1988 - 11 - 23), 410),
        (OLAV_UNDER_GUARDIANSHIP, date!(1936 - 03 - 02), 111),
        (GUARDIAN, date!(1970 - 12 - 24), 222),
        (RANDI_DECEASED, date!(1952 - 06 - 15), 331),
        (UNKNOWN, date!(1930 - 01 - 01), 1),
        (KRR_RESERVED, date!(1947 - 05 - 09), 120),
        (KRR_DIGIPOST, date!(1990 - 06 - 12), 260),
        (KRR_EBOKS, date!(1975 - 08 - 08), 140),
        (KRR_CANNOT_NOTIFY, date!(2001 - 03 - 03), 510),
        (KRR_NOT_REGISTERED, date!(1999 - 09 - 09), 170),
        (DAGLIG_LEDER, date!(1985 - 01 - 30), 160),
        (STYRELEDER, date!(1960 - 02 - 29), 180),
        (KONTAKTPERSON, date!(1979 - 11 - 11), 190),
    ] {
        let parsed = fnr(text);
        assert!(parsed.is_synthetic(), "{text} is synthetic");
        assert_eq!(Fnr::synthetic(birth, individual), Some(parsed), "{text}");
    }
}

#[tokio::test]
async fn a_full_person_maps_with_history_and_family() {
    let server = Server::start().await;
    let ingrid = server.folkeregisteret().person(&fnr(INGRID)).await.expect("lookup").expect("exists");

    let expected = Person {
        fnr: fnr(INGRID),
        name: Name { given: "Ingrid".into(), middle: Some("Marie".into()), family: "Haugen".into() },
        birth_date: date!(1985 - 04 - 12),
        birth_kommune: Some(kommune("4601")),
        birth_country: "NOR".into(),
        sex: Sex::Female,
        status: PersonStatus::Bosatt,
        bosted_kommune: Some(kommune("4632")),
        residences: vec![
            ResidencePeriod {
                residence: Residence::Open(Address::Vegadresse {
                    kommunenummer: "4632".into(),
                    adressenavn: "Kystvegen".into(),
                    husnummer: 12,
                    husbokstav: Some("B".into()),
                    postnummer: "5943".into(),
                    poststed: "AUSTRHEIM".into(),
                }),
                from: date!(2021 - 06 - 01),
                to: None,
            },
            ResidencePeriod {
                residence: Residence::Open(Address::Matrikkeladresse {
                    matrikkelnummer: "4601-12/345/0/0".into(),
                    tilleggsnavn: Some("Nordre Haugen".into()),
                    postnummer: "5259".into(),
                    poststed: "HJELLESTAD".into(),
                }),
                from: date!(2015 - 08 - 15),
                // opphoerstidspunkt 2021-05-31T23:59:59+02:00
                to: Some(date!(2021 - 05 - 31)),
            },
            ResidencePeriod {
                residence: Residence::Open(Address::Vegadresse {
                    kommunenummer: "4601".into(),
                    adressenavn: "Nygårdsgaten".into(),
                    husnummer: 3,
                    husbokstav: None,
                    postnummer: "5015".into(),
                    poststed: "BERGEN".into(),
                }),
                from: date!(2005 - 01 - 10),
                // No opphoerstidspunkt: it ended when the next address began.
                to: Some(date!(2015 - 08 - 15)),
            },
        ],
        // Sorted by number; the sibling, the former spouse and the father without an
        // identifier are left out, and the spouse from familierelasjon and sivilstand is one.
        relations: vec![
            FamilyRelation { related: fnr(INGRID_MOTHER), role: RelationRole::Mor },
            FamilyRelation { related: fnr(INGRID_CHILD), role: RelationRole::Barn },
            FamilyRelation { related: fnr(INGRID_FATHER), role: RelationRole::Far },
            FamilyRelation { related: fnr(INGRID_SPOUSE), role: RelationRole::Ektefelle },
        ],
        parental_responsibility_for: vec![fnr(INGRID_CHILD)],
        citizenships: vec!["NOR".into(), "SWE".into()],
        death_date: None,
        guardian: None,
        adressebeskyttelse: Adressebeskyttelse::Ugradert,
    };
    assert_eq!(ingrid, expected);
    assert_eq!(ingrid.name.to_string(), "Ingrid Marie Haugen");
    assert_eq!(ingrid.current_residence().clone(), expected.residences[0].residence);
    assert_eq!(ingrid.age_on(date!(2024 - 04 - 11)), 38);

    let log = server.fake.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].method, Method::GET);
    assert_eq!(log[0].path, format!("{FREG}{INGRID}"));
    let query = log[0].query.clone().unwrap_or_default();
    for part in ["part=person-basis", "part=relasjon-utvidet", "part=historikk"] {
        assert!(query.split('&').any(|p| p == part), "{part} in {query}");
    }
    assert_bearer_on_every_request(&server.fake);
}

#[tokio::test]
async fn a_strengt_fortrolig_address_is_protected_in_all_its_history() {
    let server = Server::start().await;
    let maria = server.folkeregisteret().person(&fnr(MARIA_PROTECTED)).await.expect("lookup").expect("exists");

    assert_eq!(maria.adressebeskyttelse, Adressebeskyttelse::StrengtFortrolig);
    assert_eq!(maria.name.to_string(), "Maria Berg");
    assert_eq!(maria.bosted_kommune, Some(kommune("0301")));
    assert_eq!(maria.residences.len(), 2);
    let Residence::Protected(current) = maria.current_residence() else { panic!("the address must be protected") };
    assert_eq!(current.level(), Adressebeskyttelse::StrengtFortrolig);
    // The former address was ugradert when she lived there, but now points to her: closed too.
    let Residence::Protected(former) = &maria.residences[1].residence else { panic!("the old address is protected") };
    assert_eq!(maria.residences[1].from, date!(2010 - 09 - 01));
    assert_eq!(maria.residences[1].to, Some(date!(2023 - 03 - 01)));

    let printed = format!("{maria:?}");
    assert!(!printed.contains("Skjultvegen") && !printed.contains("Fjellsvingen"), "Debug leaks nothing: {printed}");

    assert!(test_caller().protected_address_grant().is_none());
    let grant = test_caller().with_protected_address_permission().protected_address_grant().expect("a grant");
    assert_eq!(
        current.reveal(&grant),
        &Address::Vegadresse {
            kommunenummer: "0301".into(),
            adressenavn: "Skjultvegen".into(),
            husnummer: 7,
            husbokstav: None,
            postnummer: "0150".into(),
            poststed: "OSLO".into(),
        }
    );
    assert_eq!(former.reveal(&grant).to_string(), "Fjellsvingen 21A, 5019 BERGEN");
}

#[tokio::test]
async fn a_bulk_lookup_maps_every_person_found() {
    let server = Server::start().await;
    let ids = [fnr(OLAV_UNDER_GUARDIANSHIP), fnr(RANDI_DECEASED), fnr(UNKNOWN)];
    let persons = server.folkeregisteret().persons(&ids).await.expect("bulk");
    assert_eq!(persons.len(), 2, "the unknown person is left out");

    let olav = &persons[0];
    assert_eq!(olav.fnr, fnr(OLAV_UNDER_GUARDIANSHIP));
    assert_eq!(olav.name.to_string(), "Olav Kvamme");
    assert_eq!(olav.sex, Sex::Male);
    assert_eq!(olav.guardian, Some(fnr(GUARDIAN)));
    // Born in the old Bergen (1201), which the 2024 list no longer has.
    assert_eq!(olav.birth_kommune, None);
    assert_eq!(olav.birth_country, "NOR");
    assert_eq!(olav.bosted_kommune, Some(kommune("4632")));
    assert_eq!(
        olav.current_residence(),
        &Residence::Open(Address::Matrikkeladresse {
            matrikkelnummer: "4632-7/2/0/0".into(),
            tilleggsnavn: Some("Kvammen".into()),
            postnummer: "5943".into(),
            poststed: "AUSTRHEIM".into(),
        })
    );
    assert_eq!(olav.residences[0].from, date!(1999 - 05 - 01), "gyldighetstidspunkt when flyttedato is missing");

    // Randi's entry uses the OpenAPI spelling (DOED, KVINNE, I_BRUK) and a single doedsfall object.
    let randi = &persons[1];
    assert_eq!(randi.status, PersonStatus::Doed);
    assert_eq!(randi.death_date, Some(date!(2024 - 05 - 12)));
    assert_eq!(randi.sex, Sex::Female);
    assert_eq!(randi.birth_date, date!(1952 - 06 - 15), "from the number when foedselsdato is missing");
    assert_eq!(randi.birth_country, "XUK");
    assert!(randi.residences.is_empty());
    assert_eq!(randi.current_residence(), &Residence::Unknown);

    let log = server.fake.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].method, Method::POST);
    assert_eq!(log[0].path, format!("{FREG}bulkoppslag"));
    assert!(log[0].query.as_deref().is_some_and(|q| q.contains("part=historikk")));
    let sent: serde_json::Value = serde_json::from_slice(&log[0].body).expect("a JSON body");
    assert_eq!(sent, serde_json::json!({ "foedselsEllerDNummer": [OLAV_UNDER_GUARDIANSHIP, RANDI_DECEASED, UNKNOWN] }));
    assert_bearer_on_every_request(&server.fake);
}

#[tokio::test]
async fn batches_over_the_limit_are_refused_before_any_request() {
    let server = Server::start().await;
    let too_many = vec![fnr(INGRID); 1001];
    assert!(matches!(server.folkeregisteret().persons(&too_many).await, Err(RegisterError::TooManyInBatch(1001))));
    assert!(matches!(server.krr().contacts(&too_many).await, Err(RegisterError::TooManyInBatch(1001))));
    assert!(server.folkeregisteret().persons(&[]).await.expect("empty").is_empty());
    assert!(server.krr().contacts(&[]).await.expect("empty").is_empty());
    assert_eq!(server.fake.count(), 0, "nothing was sent");

    // Exactly the limit is allowed.
    let at_limit = vec![fnr(UNKNOWN); 1000];
    assert!(server.krr().contacts(&at_limit).await.expect("1000 is allowed").is_empty());
    assert_eq!(server.fake.count(), 1);
}

#[tokio::test]
async fn an_unknown_person_is_none() {
    let server = Server::start().await;
    assert!(server.folkeregisteret().person(&fnr(UNKNOWN)).await.expect("lookup").is_none());
    assert_eq!(server.fake.count(), 1, "404 is an answer, not a failure to retry");
}

// ---------------------------------------------------------------------------------------------
// Retries, refusals and malformed answers (on Folkeregisteret; the plumbing is shared).
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_429_is_waited_out_then_retried() {
    let server = Server::start().await;
    server.fake.then(Scripted::status(429).retry_after("1"));
    let person = server.folkeregisteret().person(&fnr(INGRID)).await.expect("lookup");
    assert!(person.is_some());
    assert_eq!(server.fake.count(), 2);

    // Retry-After as an HTTP date.
    let in_a_second = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let http_date = in_a_second
        .format(format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        ))
        .expect("format");
    server.fake.then(Scripted::status(429).retry_after(http_date));
    assert!(server.folkeregisteret().person(&fnr(INGRID)).await.expect("lookup").is_some());
    assert_eq!(server.fake.count(), 4);
    assert_bearer_on_every_request(&server.fake);
}

#[tokio::test]
async fn a_register_that_keeps_rate_limiting_gives_rate_limited() {
    let server = Server::start().await;
    // Folkeregisteret's Retry-After is in milliseconds: "7" is 7 ms, not 7 s.
    server.fake.forever(Scripted::status(429).retry_after("7"));
    let started = std::time::Instant::now();
    let error = server.folkeregisteret().person(&fnr(INGRID)).await.expect_err("rate limited");
    assert!(
        matches!(error, RegisterError::RateLimited { register: Register::Folkeregisteret, retry_after: Some(d), .. }
            if d == Duration::from_millis(7)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "three waits of 7 ms, not of 7 s");
    assert_eq!(server.fake.count(), 4, "max_attempts");

    let server = Server::start().await;
    server.fake.forever(Scripted::status(429));
    let error = server.folkeregisteret().person(&fnr(INGRID)).await.expect_err("rate limited");
    assert!(matches!(error, RegisterError::RateLimited { retry_after: None, .. }), "{error:?}");
}

#[tokio::test]
async fn two_503s_then_success() {
    let server = Server::start().await;
    server.fake.then(Scripted::status(503)).then(Scripted::status(503));
    let ingrid = server.folkeregisteret().person(&fnr(INGRID)).await.expect("lookup").expect("exists");
    assert_eq!(ingrid.name.family, "Haugen");
    assert_eq!(server.fake.count(), 3);
}

#[tokio::test]
async fn a_register_that_stays_down_is_unavailable_after_max_attempts() {
    let server = Server::start().await;
    server.fake.forever(Scripted::status(503));
    let error = server.folkeregisteret().person(&fnr(INGRID)).await.expect_err("down");
    assert!(matches!(&error, RegisterError::Unavailable(reason) if reason.contains("503")), "{error:?}");
    assert_no_personal_data(&error);
    assert_eq!(server.fake.count(), 4);

    // The bulk lookup (a POST) is retried the same way.
    let server = Server::start().await;
    server.fake.forever(Scripted::status(502));
    let mut config = server.config();
    config.max_attempts = 2;
    let client = FolkeregisteretClient::new(config).expect("client");
    assert!(matches!(client.persons(&[fnr(INGRID)]).await, Err(RegisterError::Unavailable(_))));
    assert_eq!(server.fake.count(), 2);
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried() {
    let server = Server::start().await;
    server.fake.forever(Scripted::status(200).slow(Duration::from_secs(2)));
    let mut config = server.config();
    config.timeout = Duration::from_millis(100);
    config.max_attempts = 2;
    let error = FolkeregisteretClient::new(config).expect("client").person(&fnr(INGRID)).await.expect_err("timeout");
    assert!(matches!(&error, RegisterError::Unavailable(reason) if reason.contains("timed out")), "{error:?}");
    assert_no_personal_data(&error);
    assert_eq!(server.fake.count(), 2);
}

#[tokio::test]
async fn a_register_that_cannot_be_reached_is_unavailable() {
    // A port that was free a moment ago and has nobody listening now.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let mut config = HttpConfig::new(format!("http://{address}"));
    config.max_attempts = 3;
    config.base_backoff = Duration::from_millis(1);
    config.max_backoff = Duration::from_millis(5);
    let error = FolkeregisteretClient::new(config).expect("client").person(&fnr(INGRID)).await.expect_err("down");
    assert!(matches!(&error, RegisterError::Unavailable(reason) if reason.contains("connect")), "{error:?}");
    assert_no_personal_data(&error);
}

#[tokio::test]
async fn a_refusal_quotes_the_register_without_the_fodselsnummer() {
    let server = Server::start().await;
    let error = server.folkeregisteret().person(&fnr(REFUSED_ID)).await.expect_err("refused");
    let RegisterError::Refused(message) = &error else { panic!("expected Refused, got {error:?}") };
    assert!(message.contains("FREG-001"), "{message}");
    assert!(message.contains("Ugyldig forespørsel"), "{message}");
    assert_no_personal_data(&error);
    assert_eq!(server.fake.count(), 1, "a refusal is not retried");

    // The other documented error shape: {"feilkode","feilmelding","httpStatus"}.
    let error = server.folkeregisteret().person(&fnr(FORBIDDEN_ID)).await.expect_err("forbidden");
    let RegisterError::Refused(message) = &error else { panic!("expected Refused, got {error:?}") };
    assert!(message.starts_with("folkeregisteret: HTTP 403 FREG-403"), "{message}");
    assert!(message.contains("ikke tilgang"), "{message}");
    assert_no_personal_data(&error);

    // No body at all.
    server.fake.then(Scripted::status(403));
    let error = server.folkeregisteret().person(&fnr(INGRID)).await.expect_err("forbidden");
    assert!(matches!(&error, RegisterError::Refused(message) if message == "folkeregisteret: HTTP 403"), "{error:?}");
}

#[tokio::test]
async fn a_malformed_answer_is_malformed_and_not_retried() {
    let server = Server::start().await;
    let error = server.folkeregisteret().person(&fnr(MALFORMED_ID)).await.expect_err("malformed");
    assert!(
        matches!(&error, RegisterError::Unreadable { register: Register::Folkeregisteret, problem, .. }
            if problem.contains("cut short")),
        "{error:?}"
    );
    assert_no_personal_data(&error);
    let error = server.folkeregisteret().person(&fnr(WRONG_SHAPE_ID)).await.expect_err("wrong shape");
    assert!(matches!(&error, RegisterError::Unreadable { register: Register::Folkeregisteret, .. }), "{error:?}");
    assert_eq!(server.fake.count(), 2);

    // The same for the other registers: a body that does not parse is never a panic.
    let server = Server::start().await;
    server.fake.forever(Scripted::json(200, "{\"personer\": ["));
    let unreadable = |result: Result<_, RegisterError>, expected: Register| matches!(result, Err(RegisterError::Unreadable { register, .. }) if register == expected);
    assert!(unreadable(server.krr().contacts(&[fnr(KRR_RESERVED)]).await.map(|_| ()), Register::Krr));
    assert!(unreadable(
        server.enhetsregisteret().organisation(&orgnr(ORGNR)).await.map(|_| ()),
        Register::Enhetsregisteret
    ));
    let property = Matrikkelnummer::parse("4632-12/345").expect("matrikkelnummer");
    assert!(unreadable(server.matrikkelen().property(&property).await.map(|_| ()), Register::Matrikkelen));
}

#[tokio::test]
async fn no_token_means_no_authorization_header() {
    let server = Server::start().await;
    let mut config = server.config();
    config.bearer_token = None;
    let client = FolkeregisteretClient::new(config).expect("client");
    assert!(client.person(&fnr(INGRID)).await.expect("lookup").is_some());
    assert_eq!(server.fake.log()[0].authorization, None);
}

// ---------------------------------------------------------------------------------------------
// KRR.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn krr_entries_map_reservations_mailboxes_and_notification() {
    let server = Server::start().await;
    let ids: Vec<Fnr> =
        [KRR_RESERVED, KRR_DIGIPOST, KRR_EBOKS, KRR_CANNOT_NOTIFY, KRR_NOT_REGISTERED, UNKNOWN].map(fnr).to_vec();
    let contacts = server.krr().contacts(&ids).await.expect("contacts");
    assert_eq!(
        contacts,
        vec![
            Contact {
                fnr: fnr(KRR_RESERVED),
                reserved: true,
                status: ContactStatus::Aktiv,
                can_be_notified: false,
                email: Some("arne.bakken@example.invalid".into()),
                mobile: None,
                mailbox: None,
                language: Some(Language::Bokmal),
            },
            Contact {
                fnr: fnr(KRR_DIGIPOST),
                reserved: false,
                status: ContactStatus::Aktiv,
                can_be_notified: true,
                email: Some("oksana@example.invalid".into()),
                mobile: Some("+4799999999".into()),
                mailbox: Some((MailboxProvider::Digipost, "oksana.kovalenko#8JK2".into())),
                language: Some(Language::Nynorsk),
            },
            Contact {
                fnr: fnr(KRR_EBOKS),
                reserved: false,
                status: ContactStatus::Aktiv,
                can_be_notified: true,
                email: None,
                mobile: Some("+4798888888".into()),
                mailbox: Some((MailboxProvider::EBoks, "0101000000001234".into())),
                language: Some(Language::English),
            },
            Contact {
                fnr: fnr(KRR_CANNOT_NOTIFY),
                reserved: false,
                status: ContactStatus::Aktiv,
                can_be_notified: false,
                email: Some("gammel@example.invalid".into()),
                mobile: None,
                mailbox: None,
                // Northern Sami: the platform does not write it (yet).
                language: None,
            },
            Contact {
                fnr: fnr(KRR_NOT_REGISTERED),
                reserved: false,
                status: ContactStatus::IkkeRegistrert,
                can_be_notified: false,
                email: None,
                mobile: None,
                mailbox: None,
                language: None,
            },
        ]
    );

    let log = server.fake.log();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].method.clone(), log[0].path.as_str()), (Method::POST, "/rest/v1/personer"));
    let sent: serde_json::Value = serde_json::from_slice(&log[0].body).expect("a JSON body");
    assert_eq!(
        sent,
        serde_json::json!({ "personidentifikatorer": [
            KRR_RESERVED, KRR_DIGIPOST, KRR_EBOKS, KRR_CANNOT_NOTIFY, KRR_NOT_REGISTERED, UNKNOWN
        ] })
    );
    assert_bearer_on_every_request(&server.fake);
}

// ---------------------------------------------------------------------------------------------
// Enhetsregisteret.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_enhet_maps_with_the_roles_persons_hold() {
    let server = Server::start().await;
    let organisation = server.enhetsregisteret().organisation(&orgnr(ORGNR)).await.expect("lookup").expect("exists");
    assert_eq!(
        organisation,
        Organisation {
            orgnr: orgnr(ORGNR),
            name: "HAUGEN SNEKKERVERKSTED AS".into(),
            form: "AS".into(),
            business_address: Some(Address::Vegadresse {
                kommunenummer: "4632".into(),
                adressenavn: "Kystvegen".into(),
                husnummer: 12,
                husbokstav: Some("B".into()),
                postnummer: "5943".into(),
                poststed: "AUSTRHEIM".into(),
            }),
            // "Postboks 12" is not a street address.
            postal_address: None,
            kommune: Some(kommune("4632")),
            industry_code: Some("43.320".into()),
            employees: 3,
            founded: Some(date!(2024 - 04 - 15)),
            deleted: None,
            bankrupt: false,
            // The member without a number, the member that is an organisation, the member who
            // has stepped down and the auditor (REVI) are left out.
            roles: vec![
                (OrganisationRole::DagligLeder, fnr(DAGLIG_LEDER)),
                (OrganisationRole::Styreleder, fnr(STYRELEDER)),
                (OrganisationRole::Kontaktperson, fnr(KONTAKTPERSON)),
            ],
            parent: None,
        }
    );
    let paths: Vec<String> = server.fake.log().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/enhetsregisteret/api/enheter/974760673", "/enhetsregisteret/autorisert-api/enheter/974760673/roller"],
        "roles with numbers come from the authorised API"
    );
    assert_bearer_on_every_request(&server.fake);
}

#[tokio::test]
async fn without_the_authorised_api_an_organisation_comes_without_role_holders() {
    let server = Server::start().await;
    let organisation =
        server.enhetsregisteret_open().organisation(&orgnr(ORGNR)).await.expect("lookup").expect("exists");
    assert_eq!(organisation.name, "HAUGEN SNEKKERVERKSTED AS");
    assert!(organisation.roles.is_empty(), "the open API names no role holder by number");
    let paths: Vec<String> = server.fake.log().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/enhetsregisteret/api/enheter/974760673"], "no names and birth dates fetched for nothing");
}

#[tokio::test]
async fn a_refused_authorised_roles_call_is_an_error_not_an_empty_list() {
    let server = Server::start().await;
    // The enhet itself, then the roles call refused (a token without the scope).
    server.fake.then(Scripted::json(200, include_str!("fixtures/enhetsregisteret/enhet.json"))).then(Scripted::json(
        403,
        r#"{"timestamp":"2024-05-17T10:00:00.000+00:00","status":403,"error":"Forbidden","message":"Mangler tilgang","path":"/enhetsregisteret/autorisert-api/enheter/974760673/roller"}"#,
    ));
    let error = server.enhetsregisteret().organisation(&orgnr(ORGNR)).await.expect_err("refused");
    assert!(
        matches!(&error, RegisterError::Refused(message) if message.starts_with("enhetsregisteret: HTTP 403")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_sub_unit_is_found_under_underenheter() {
    let server = Server::start().await;
    let unit =
        server.enhetsregisteret().organisation(&orgnr(SUB_UNIT_ORGNR)).await.expect("lookup").expect("a sub-unit");
    assert_eq!(
        unit,
        Organisation {
            orgnr: orgnr(SUB_UNIT_ORGNR),
            name: "HAUGEN SNEKKERVERKSTED AS AVD MASFJORDEN".into(),
            form: "BEDR".into(),
            // Its beliggenhetsadresse, the `null` line skipped.
            business_address: Some(Address::Vegadresse {
                kommunenummer: "4634".into(),
                adressenavn: "Verkstadvegen".into(),
                husnummer: 4,
                husbokstav: None,
                postnummer: "5981".into(),
                poststed: "MASFJORDNES".into(),
            }),
            postal_address: None,
            kommune: Some(kommune("4634")),
            industry_code: Some("43.320".into()),
            employees: 2,
            founded: None,
            deleted: None,
            bankrupt: false,
            roles: vec![],
            parent: Some(orgnr(ORGNR)),
        }
    );
    let paths: Vec<String> = server.fake.log().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/enhetsregisteret/api/enheter/920000002", "/enhetsregisteret/api/underenheter/920000002"],
        "404 from enheter, then underenheter; a sub-unit has no roles of its own"
    );
}

#[tokio::test]
async fn empty_dates_and_null_address_lines_are_absent_not_failures() {
    let server = Server::start().await;
    let unit =
        server.enhetsregisteret().organisation(&orgnr(EMPTY_FIELDS_ORGNR)).await.expect("readable").expect("exists");
    assert_eq!(unit.founded, None, "stiftelsesdato \"\" is no date");
    assert_eq!(unit.deleted, None, "slettedato \"\" is not a deleted unit");
    assert_eq!(
        unit.business_address,
        Some(Address::Vegadresse {
            kommunenummer: "4632".into(),
            adressenavn: "Fjordvegen".into(),
            husnummer: 8,
            husbokstav: None,
            postnummer: "5943".into(),
            poststed: "AUSTRHEIM".into(),
        }),
        "null and empty lines are skipped"
    );
    assert_eq!(unit.postal_address, None, "\"adresse\": null is no lines");
    assert_eq!(unit.employees, 0);
}

#[tokio::test]
async fn deleted_and_unknown_organisations() {
    let server = Server::start().await;
    let client = server.enhetsregisteret();
    assert!(matches!(client.organisation(&orgnr(DELETED_ORGNR)).await, Err(RegisterError::Gone)));
    assert_eq!(server.fake.count(), 1, "410 is not retried, and no roles are fetched");
    assert!(matches!(client.organisation(&orgnr(DELETED_WITH_200_ORGNR)).await, Err(RegisterError::Gone)));
    let unknown = (0..100_u8)
        .find_map(|n| OrgNr::from_first_eight([9, 1, 0, 0, 0, 0, n / 10, n % 10]))
        .expect("a valid organisasjonsnummer");
    assert!(client.organisation(&unknown).await.expect("lookup").is_none());
}

// ---------------------------------------------------------------------------------------------
// Matrikkelen.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_property_maps_with_owners_shares_and_buildings() {
    let server = Server::start().await;
    let number = Matrikkelnummer::parse("4632-12/345/0/0").expect("matrikkelnummer");
    let property = server.matrikkelen().property(&number).await.expect("lookup").expect("exists");
    assert_eq!(
        property,
        Property {
            matrikkelnummer: number,
            addresses: vec![
                Address::Vegadresse {
                    kommunenummer: "4632".into(),
                    adressenavn: "Kystvegen".into(),
                    husnummer: 12,
                    husbokstav: Some("B".into()),
                    postnummer: "5943".into(),
                    poststed: "AUSTRHEIM".into(),
                },
                Address::Matrikkeladresse {
                    matrikkelnummer: "4632-12/345/0/0".into(),
                    tilleggsnavn: Some("Nordre Kysten".into()),
                    postnummer: "5943".into(),
                    poststed: "AUSTRHEIM".into(),
                },
            ],
            owners: vec![
                (Owner::Person(fnr(INGRID)), 1, 2),
                (Owner::Person(fnr(INGRID_SPOUSE)), 1, 4),
                (Owner::Organisation(orgnr(ORGNR)), 1, 4),
            ],
            buildings: vec![
                Building { number: 300_123_456, building_type: "111".into(), area_m2: 142 },
                Building { number: 300_123_457, building_type: "181".into(), area_m2: 24 },
            ],
        }
    );
    assert_eq!(server.fake.log()[0].path, "/matrikkelen/api/v1/eiendommer/4632-12-345-0-0");
    assert_bearer_on_every_request(&server.fake);

    let elsewhere = Matrikkelnummer::parse("4632-12/346").expect("matrikkelnummer");
    assert!(server.matrikkelen().property(&elsewhere).await.expect("lookup").is_none());
}

fn test_caller() -> Caller {
    Caller::system("registers-test", "Test av registrene", "Test, ingen personopplysninger").expect("caller")
}

// ---------------------------------------------------------------------------------------------
// Issue 16: the published specifications, point by point.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn other_access_packages_use_their_own_path_and_no_bulk_lookup() {
    let server = Server::start().await;
    let client = server.folkeregisteret().with_rettighetspakke(Rettighetspakke::OffentligUtenHjemmel);
    let ingrid = client.person(&fnr(INGRID)).await.expect("lookup").expect("exists");
    assert_eq!(ingrid.name.family, "Haugen");
    let persons = client.persons(&[fnr(INGRID), fnr(UNKNOWN)]).await.expect("one by one");
    assert_eq!(persons.len(), 1);

    let paths: Vec<(Method, String)> = server.fake.log().into_iter().map(|r| (r.method, r.path)).collect();
    let path = |id: &str| format!("/folkeregisteret/api/offentligutenhjemmel/v1/personer/{id}");
    assert_eq!(
        paths,
        [(Method::GET, path(INGRID)), (Method::GET, path(INGRID)), (Method::GET, path(UNKNOWN))],
        "no bulkoppslag outside offentlig med hjemmel"
    );
}

#[test]
fn access_packages_read_from_configuration() {
    assert_eq!(Rettighetspakke::parse("offentlig-med-hjemmel"), Some(Rettighetspakke::OffentligMedHjemmel));
    assert_eq!(Rettighetspakke::parse("offentlig-uten-hjemmel"), Some(Rettighetspakke::OffentligUtenHjemmel));
    assert_eq!(Rettighetspakke::parse("offentligutenhjemmel"), Some(Rettighetspakke::OffentligUtenHjemmel));
    assert_eq!(Rettighetspakke::parse("eid"), Some(Rettighetspakke::UtstederEid));
    assert_eq!(Rettighetspakke::parse("alt"), None);
    assert_eq!(Rettighetspakke::OffentligMedHjemmel.scope(), "folkeregister:deling/offentligmedhjemmel");
    assert_eq!(Rettighetspakke::Finans.scope(), "folkeregister:deling/finans");
    assert!(Rettighetspakke::OffentligMedHjemmel.has_bulk_lookup());
    assert!(!Rettighetspakke::Privat.has_bulk_lookup());
}

#[tokio::test]
async fn a_klientadresse_is_protected_as_fortrolig() {
    let server = Server::start().await;
    let sofie = server.folkeregisteret().person(&fnr(KLIENTADRESSE)).await.expect("lookup").expect("exists");
    assert_eq!(sofie.adressebeskyttelse, Adressebeskyttelse::Fortrolig);
    let Residence::Protected(address) = sofie.current_residence() else { panic!("a klientadresse is not shown") };
    assert_eq!(address.level(), Adressebeskyttelse::Fortrolig);
    assert!(!format!("{sofie:?}").contains("Klientvegen"));
    assert_eq!(sofie.death_date, None, "\"doedsfall\": null is no death");
}

#[tokio::test]
async fn doedsfall_is_one_object() {
    let server = Server::start().await;
    let persons = server.folkeregisteret().persons(&[fnr(RANDI_DECEASED)]).await.expect("bulk");
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/folkeregisteret/bulkoppslag.json")).expect("JSON");
    assert!(fixture["oppslag"][1]["folkeregisterperson"]["doedsfall"].is_object(), "the fixture has the spec's shape");
    let randi = persons.iter().find(|p| p.fnr == fnr(RANDI_DECEASED)).expect("Randi");
    assert_eq!(randi.death_date, Some(date!(2024 - 05 - 12)));
}

#[tokio::test]
async fn a_long_retry_after_is_capped_and_the_error_says_why() {
    let server = Server::start().await;
    // Ten minutes, in Folkeregisteret's milliseconds.
    server.fake.forever(Scripted::status(429).retry_after("600000"));
    let mut config = server.config();
    config.max_attempts = 2;
    let started = std::time::Instant::now();
    let error = FolkeregisteretClient::new(config).expect("client").person(&fnr(INGRID)).await.expect_err("limited");
    assert!(started.elapsed() < Duration::from_secs(5), "waited max_backoff, not ten minutes");
    let RegisterError::RateLimited { register, retry_after, longest_wait } = &error else { panic!("{error:?}") };
    assert_eq!(*register, Register::Folkeregisteret);
    assert_eq!(*retry_after, Some(Duration::from_secs(600)));
    assert_eq!(*longest_wait, Duration::from_millis(20));
    let text = error.to_string();
    assert!(text.contains("folkeregisteret") && text.contains("at most") && text.contains("max_backoff"), "{text}");

    // KRR's Retry-After is RFC 9110's seconds.
    let server = Server::start().await;
    server.fake.forever(Scripted::status(429).retry_after("3"));
    let error = server.krr().contacts(&[fnr(KRR_RESERVED)]).await.expect_err("limited");
    assert!(
        matches!(error, RegisterError::RateLimited { register: Register::Krr, retry_after: Some(d), .. }
            if d == Duration::from_secs(3)),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_html_answer_is_a_typed_error_never_not_found() {
    for (status, content_type) in
        [(200, "text/html; charset=utf-8"), (404, "text/html"), (403, "text/plain"), (502, "text/html")]
    {
        let server = Server::start().await;
        server.fake.forever(Scripted::html(status, content_type));
        let mut config = server.config();
        config.max_attempts = 1;
        let result = FolkeregisteretClient::new(config).expect("client").person(&fnr(INGRID)).await;
        if status == 502 {
            // A gateway error page is the register being unavailable, and is retried as such.
            assert!(matches!(result, Err(RegisterError::Unavailable(_))), "{result:?}");
            continue;
        }
        let error = result.expect_err("an HTML page is no answer, and never None");
        let RegisterError::Unreadable { register, field, problem } = &error else { panic!("{status}: {error:?}") };
        assert_eq!(*register, Register::Folkeregisteret);
        assert_eq!(field, "body");
        assert!(problem.contains("HTML") && problem.contains(&status.to_string()), "{problem}");
        assert!(!error.to_string().contains("1234567890123456789"), "nothing of the page is quoted");
    }

    // The same for KRR and Enhetsregisteret: a 404 page from a proxy is not "unknown organisation".
    let server = Server::start().await;
    server.fake.forever(Scripted::html(404, "text/html"));
    let error = server.enhetsregisteret().organisation(&orgnr(ORGNR)).await.expect_err("not None");
    assert!(matches!(error, RegisterError::Unreadable { register: Register::Enhetsregisteret, .. }), "{error:?}");
    let error = server.krr().contacts(&[fnr(KRR_RESERVED)]).await.expect_err("not an empty list");
    assert!(matches!(error, RegisterError::Unreadable { register: Register::Krr, .. }), "{error:?}");
}

#[tokio::test]
async fn an_unknown_error_body_is_a_typed_error() {
    let server = Server::start().await;
    server.fake.then(Scripted::json(400, r#"{"problem": {"id": 7}}"#));
    let error = server.folkeregisteret().person(&fnr(INGRID)).await.expect_err("unknown body");
    assert!(
        matches!(&error, RegisterError::Unreadable { register: Register::Folkeregisteret, field, problem }
            if field == "error body" && problem.contains("HTTP 400")),
        "{error:?}"
    );

    // A 404 in no documented shape is not taken as "no such person".
    server.fake.then(Scripted::json(404, r#"["unexpected"]"#));
    let error = server.folkeregisteret().person(&fnr(INGRID)).await.expect_err("unknown 404 body");
    assert!(matches!(&error, RegisterError::Unreadable { field, .. } if field == "error body"), "{error:?}");

    // Enhetsregisteret's Spring-style body is a documented shape: quoted.
    server.fake.then(Scripted::json(400, include_str!("fixtures/enhetsregisteret/feil_spring.json")));
    let error = server.enhetsregisteret().organisation(&orgnr(ORGNR)).await.expect_err("refused");
    assert!(
        matches!(&error, RegisterError::Refused(message) if message.contains("Ugyldig organisasjonsnummer")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_named() {
    let server = Server::start().await;
    let error = server.folkeregisteret().person(&fnr(WRONG_TYPE_PERSON)).await.expect_err("wrong type");
    let RegisterError::Unreadable { register, field, problem } = &error else { panic!("{error:?}") };
    assert_eq!(*register, Register::Folkeregisteret);
    assert_eq!(field, "foedsel[0].foedselsaar");
    assert!(!problem.is_empty());
    assert!(!format!("{error} {error:?}").contains("1977"), "no value from the answer: {error}");
    assert!(error.to_string().contains("foedsel[0].foedselsaar"), "{error}");

    let error = server.enhetsregisteret().organisation(&orgnr(WRONG_TYPE_ORGNR)).await.expect_err("wrong type");
    assert!(
        matches!(&error, RegisterError::Unreadable { register: Register::Enhetsregisteret, field, problem }
            if field == "antallAnsatte" && problem.contains("u32")),
        "{error:?}"
    );
}

#[tokio::test]
async fn without_varslingsstatus_contact_data_older_than_18_months_is_not_used_for_notices() {
    let server = Server::start().await;
    let ids = [KRR_FRESH_NO_STATUS, KRR_STALE_NO_STATUS, KRR_MIXED_NO_STATUS, KRR_DELETED].map(fnr);
    let contacts = server.krr().contacts(&ids).await.expect("contacts");
    assert_eq!(
        contacts,
        vec![
            Contact {
                fnr: fnr(KRR_FRESH_NO_STATUS),
                reserved: false,
                status: ContactStatus::Aktiv,
                can_be_notified: true,
                email: Some("fersk@example.invalid".into()),
                // Updated on the cut-off day itself: still within 18 months.
                mobile: Some("+4791111111".into()),
                mailbox: None,
                language: Some(Language::Bokmal),
            },
            Contact {
                fnr: fnr(KRR_STALE_NO_STATUS),
                reserved: false,
                status: ContactStatus::Aktiv,
                can_be_notified: false,
                email: None,
                mobile: None,
                mailbox: None,
                language: Some(Language::Nynorsk),
            },
            Contact {
                fnr: fnr(KRR_MIXED_NO_STATUS),
                reserved: false,
                status: ContactStatus::Aktiv,
                can_be_notified: true,
                // Verified 2023-11-30, the day before the cut-off.
                email: None,
                mobile: Some("+4793333333".into()),
                mailbox: None,
                language: None,
            },
            Contact {
                fnr: fnr(KRR_DELETED),
                reserved: false,
                status: ContactStatus::Slettet,
                can_be_notified: false,
                email: None,
                mobile: None,
                mailbox: None,
                language: None,
            },
        ]
    );

    // A year later (cut-off 2024-12-01) both of the fresh entry's channels are stale too.
    let later = KrrClient::new(server.config()).expect("client").with_today(date!(2026 - 06 - 01));
    let contacts = later.contacts(&[fnr(KRR_FRESH_NO_STATUS)]).await.expect("contacts");
    assert!(!contacts[0].can_be_notified && contacts[0].email.is_none() && contacts[0].mobile.is_none());
}

#[tokio::test]
async fn krr_is_asked_at_the_documented_path_and_unknown_persons_come_back_ikke_registrert() {
    let server = Server::start().await;
    let contacts = server.krr().contacts(&[fnr(KRR_NOT_REGISTERED)]).await.expect("contacts");
    assert_eq!(contacts.len(), 1, "KRR answers IKKE_REGISTRERT rather than leaving the person out");
    assert_eq!(contacts[0].status, ContactStatus::IkkeRegistrert);
    assert!(!contacts[0].can_be_notified && contacts[0].mailbox.is_none());
    assert_eq!(server.fake.log()[0].path, "/rest/v1/personer");
}

// ---------------------------------------------------------------------------------------------
// The simulators speak the shapes the adapters read: a generated municipality served by
// `registers::simulators` reads back through the adapters exactly as the local registers hold it.
// ---------------------------------------------------------------------------------------------

async fn simulated(residents: u32) -> (store::testing::TestDatabase, registers::LocalRegisters, String) {
    let schema = store::Schema::new(&[&audit::MIGRATIONS, &registers::MIGRATIONS]).expect("schema");
    let (guard, db) = store::testing::TestDatabase::migrated(schema).await.expect("database");
    let spec = registers::synthetic::PopulationSpec { kommunenummer: kommune("4632"), residents, seed: 7 };
    let population = registers::synthetic::generate(&spec, |_, _| {});
    let local = registers::LocalRegisters::new(db);
    local.load_population(&population).await.expect("load");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(registers::simulators::serve(listener, local.clone()));
    (guard, local, format!("http://{address}"))
}

fn simulator_config(base_url: &str) -> HttpConfig {
    let mut config = HttpConfig::new(base_url).with_bearer_token("simulator-token");
    config.base_backoff = Duration::from_millis(1);
    config.max_backoff = Duration::from_millis(20);
    config
}

#[tokio::test]
async fn the_simulators_answer_in_the_shapes_the_adapters_read() {
    let (_guard, local, base_url) = simulated(300).await;
    let population = registers::synthetic::generate(
        &registers::synthetic::PopulationSpec { kommunenummer: kommune("4632"), residents: 300, seed: 7 },
        |_, _| {},
    );
    let ids: Vec<Fnr> = population.persons.iter().map(|p| p.fnr).collect();
    assert!(ids.len() > 100, "a municipality worth the name");

    // Folkeregisteret, bulk and single, offentlig med hjemmel and another package.
    let folkeregisteret = FolkeregisteretClient::new(simulator_config(&base_url)).expect("client");
    let mut through_http = folkeregisteret.persons(&ids).await.expect("bulk through the simulator");
    let mut held = local.persons(&ids).await.expect("local");
    through_http.sort_by_key(|p| p.fnr);
    held.sort_by_key(|p| p.fnr);
    assert_eq!(through_http.len(), held.len());
    for (index, (remote, local)) in through_http.iter().zip(&held).enumerate() {
        assert_eq!(remote, local, "person {index} reads back as held");
    }
    let other = folkeregisteret.clone().with_rettighetspakke(Rettighetspakke::OffentligUtenHjemmel);
    let first = other.person(&ids[0]).await.expect("single").expect("exists");
    assert_eq!(Some(&first), held.iter().find(|p| p.fnr == ids[0]));
    assert!(folkeregisteret.person(&fnr(UNKNOWN)).await.expect("404").is_none());

    // KRR: what the local registers hold, and IKKE_REGISTRERT for the rest.
    let krr = KrrClient::new(simulator_config(&base_url)).expect("client");
    let mut contacts = krr.contacts(&ids).await.expect("contacts through the simulator");
    let mut held_contacts = local.contacts(&ids).await.expect("local");
    let unregistered: Vec<Contact> =
        contacts.iter().filter(|c| !held_contacts.iter().any(|h| h.fnr == c.fnr)).cloned().collect();
    assert!(unregistered.iter().all(|c| c.status == ContactStatus::IkkeRegistrert && !c.can_be_notified));
    contacts.retain(|c| held_contacts.iter().any(|h| h.fnr == c.fnr));
    contacts.sort_by_key(|c| c.fnr);
    held_contacts.sort_by_key(|c| c.fnr);
    assert_eq!(contacts, held_contacts);

    // Enhetsregisteret, with the authorised roles API.
    let enhetsregisteret =
        EnhetsregisteretClient::new(simulator_config(&base_url)).expect("client").with_authorised_roles();
    assert!(!population.organisations.is_empty());
    for organisation in &population.organisations {
        let mut held = local.organisation(&organisation.orgnr).await.expect("local").expect("held");
        let mut remote = match enhetsregisteret.organisation(&organisation.orgnr).await {
            Err(RegisterError::Gone) if held.deleted.is_some() => continue,
            other => other.expect("through the simulator").expect("exists"),
        };
        held.roles.sort_by_key(|(role, fnr)| (role.code(), *fnr));
        remote.roles.sort_by_key(|(role, fnr)| (role.code(), *fnr));
        assert_eq!(remote, held, "{}", organisation.orgnr);
    }
    // Without a token the authorised API refuses, and the adapter says so.
    let mut no_token = simulator_config(&base_url);
    no_token.bearer_token = None;
    let refused = EnhetsregisteretClient::new(no_token)
        .expect("client")
        .with_authorised_roles()
        .organisation(&population.organisations[0].orgnr)
        .await;
    assert!(matches!(refused, Err(RegisterError::Refused(_))), "{refused:?}");
}

// ---------------------------------------------------------------------------------------------
// What the adapters log.
// ---------------------------------------------------------------------------------------------

/// A log sink the test can read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log")).into_owned()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn unreadable_answers_and_long_waits_are_logged_with_why_and_without_personal_data() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = Server::start().await;
    // A field of the wrong type, for a person whose name and birth year are in the answer.
    let _ = server.folkeregisteret().person(&fnr(WRONG_TYPE_PERSON)).await.expect_err("wrong type");
    // An HTML page.
    server.fake.then(Scripted::html(200, "text/html"));
    let _ = server.folkeregisteret().person(&fnr(INGRID)).await.expect_err("html");
    // A pause longer than max_backoff.
    server.fake.then(Scripted::status(429).retry_after("600000"));
    assert!(server.folkeregisteret().person(&fnr(INGRID)).await.expect("then the answer").is_some());

    let log = captured.text();
    assert!(log.contains(r#"register.field="foedsel[0].foedselsaar""#), "{log}");
    assert!(log.contains(r#"register="folkeregisteret""#) && log.contains("HTML"), "{log}");
    assert!(log.contains("asked_ms=600000") && log.contains("max_backoff"), "{log}");
    for personal in [WRONG_TYPE_PERSON, INGRID, "Petter", "Feltfeil", "1977", "Ingrid"] {
        assert!(!log.contains(personal), "the log carries {personal:?}: {log}");
    }
}
