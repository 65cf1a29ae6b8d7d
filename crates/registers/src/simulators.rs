//! HTTP simulators of Folkeregisteret, KRR and Enhetsregisteret over the local registers, for the
//! demo and the tests: they answer on the registers' published paths, in the published shapes
//! the adapters in [`crate::adapters`] read (the same shapes as the fixtures in
//! `tests/fixtures/<register>/`), so an adapter pointed at a simulator reads back what the local
//! registers hold. Dev-only: they serve synthetic data and check no token beyond its presence.
//!
//! - Folkeregisteret: `GET /folkeregisteret/offentlig-med-hjemmel/api/v1/personer/{id}`, the same
//!   under `/folkeregisteret/api/{pakke}/v1/personer/{id}` for the other access packages, and
//!   `POST .../offentlig-med-hjemmel/api/v1/personer/bulkoppslag` (at most 1,000; an unknown
//!   person gets a `feilmelding`). `doedsfall` is one object; other elements are arrays with
//!   `erGjeldende`. An invalid identifier is 400 with `{"kode","melding"}`; an unknown person 404.
//! - KRR: `POST /rest/v1/personer` and `/rest/v2/personer` with `{"personidentifikatorer":[...]}`;
//!   a person without an entry comes back `IKKE_REGISTRERT`, as the real register answers. The
//!   local registers keep no `*_oppdatert` timestamps, so none are sent; `varslingsstatus` is.
//! - Enhetsregisteret: `GET /enhetsregisteret/api/enheter/{orgnr}` (410 for a deleted unit),
//!   `/enhetsregisteret/api/underenheter/{orgnr}` (the local registers hold main units only, so
//!   always 404), the open `/enhetsregisteret/api/enheter/{orgnr}/roller` (names and birth
//!   dates, no fødselsnummer) and the authorised
//!   `/enhetsregisteret/autorisert-api/enheter/{orgnr}/roller` (with `fodselsnummer`; 401
//!   without a bearer token).
//!
//! The simulators read the local registers directly, not through [`crate::Registers`]: they
//! stand in for the registers themselves, and the platform's reads through the adapters are
//! what the access log records.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::{Fnr, FnrKind, OrgNr};
use serde_json::{Value, json};
use time::Date;

use crate::model::{
    Address, Adressebeskyttelse, Contact, ContactStatus, Organisation, OrganisationRole, Person, PersonStatus,
    RelationRole, Residence, Sex,
};
use crate::{LocalRegisters, MAX_BATCH};

/// The routes of all three simulators, over `local`.
pub fn router(local: LocalRegisters) -> Router {
    Router::new()
        .route("/folkeregisteret/offentlig-med-hjemmel/api/v1/personer/bulkoppslag", post(freg_bulk))
        .route("/folkeregisteret/offentlig-med-hjemmel/api/v1/personer/{id}", get(freg_person))
        .route("/folkeregisteret/api/{pakke}/v1/personer/{id}", get(freg_person_other_package))
        .route("/rest/v1/personer", post(krr_personer))
        .route("/rest/v2/personer", post(krr_personer))
        .route("/enhetsregisteret/api/enheter/{orgnr}", get(er_enhet))
        .route("/enhetsregisteret/api/underenheter/{orgnr}", get(er_underenhet))
        .route("/enhetsregisteret/api/enheter/{orgnr}/roller", get(er_open_roles))
        .route("/enhetsregisteret/autorisert-api/enheter/{orgnr}/roller", get(er_authorised_roles))
        .with_state(local)
}

/// Serves [`router`] on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, local: LocalRegisters) -> std::io::Result<()> {
    axum::serve(listener, router(local)).await
}

fn freg_error(status: StatusCode, kode: &str, melding: &str) -> Response {
    (status, Json(json!({ "kode": kode, "melding": melding }))).into_response()
}

fn unavailable() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "kode": "SIM-503", "melding": "Den lokale databasen svarte ikke" })))
        .into_response()
}

async fn freg_person(State(local): State<LocalRegisters>, Path(id): Path<String>) -> Response {
    let Ok(fnr) = Fnr::parse(&id) else {
        return freg_error(StatusCode::BAD_REQUEST, "FREG-001", "Ugyldig folkeregisteridentifikator");
    };
    match local.person(&fnr).await {
        Ok(Some(person)) => Json(folkeregisterperson(&person)).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => unavailable(),
    }
}

async fn freg_person_other_package(
    State(local): State<LocalRegisters>,
    Path((pakke, id)): Path<(String, String)>,
) -> Response {
    if crate::adapters::Rettighetspakke::parse(&pakke).is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    freg_person(State(local), Path(id)).await
}

async fn freg_bulk(State(local): State<LocalRegisters>, body: axum::body::Bytes) -> Response {
    let asked: Vec<String> = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("foedselsEllerDNummer").and_then(Value::as_array).cloned())
        .map(|ids| ids.iter().filter_map(|id| id.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if asked.is_empty() || asked.len() > MAX_BATCH {
        return freg_error(StatusCode::BAD_REQUEST, "FREG-002", "Mellom 1 og 1000 identifikatorer");
    }
    let mut oppslag = Vec::with_capacity(asked.len());
    for id in asked {
        let person = match Fnr::parse(&id) {
            Ok(fnr) => match local.person(&fnr).await {
                Ok(person) => person,
                Err(_) => return unavailable(),
            },
            Err(_) => None,
        };
        oppslag.push(match person {
            Some(person) => json!({ "foedselsEllerDNummer": id, "folkeregisterperson": folkeregisterperson(&person) }),
            None => json!({ "foedselsEllerDNummer": id, "feilmelding": "Fant ikke person" }),
        });
    }
    Json(json!({ "oppslag": oppslag })).into_response()
}

fn current(value: Value) -> Value {
    let mut value = value;
    if let Some(object) = value.as_object_mut() {
        object.insert("erGjeldende".to_owned(), Value::Bool(true));
        object.insert("kilde".to_owned(), Value::String("simulator".to_owned()));
    }
    value
}

fn graderingsnivaa(level: Adressebeskyttelse) -> &'static str {
    match level {
        Adressebeskyttelse::Ugradert => "ugradert",
        Adressebeskyttelse::Fortrolig => "fortrolig",
        // strengtFortroligUtland is not a Folkeregisteret value.
        Adressebeskyttelse::StrengtFortrolig | Adressebeskyttelse::StrengtFortroligUtland => "strengtFortrolig",
    }
}

/// One address in Folkeregisteret's shape: `("vegadresse", {...})` or `("matrikkeladresse", {...})`.
fn freg_address(address: &Address) -> (&'static str, Value) {
    match address {
        Address::Vegadresse { kommunenummer, adressenavn, husnummer, husbokstav, postnummer, poststed } => (
            "vegadresse",
            json!({
                "kommunenummer": kommunenummer,
                "adressenavn": adressenavn,
                "adressenummer": { "husnummer": husnummer.to_string(), "husbokstav": husbokstav },
                "poststed": { "poststedsnavn": poststed, "postnummer": postnummer },
            }),
        ),
        Address::Matrikkeladresse { matrikkelnummer, tilleggsnavn, postnummer, poststed } => {
            // `4601-12/345/0/0`: kommunenummer-gårdsnummer/bruksnummer/festenummer/seksjonsnummer.
            let (kommune, rest) = matrikkelnummer.split_once('-').unwrap_or(("", matrikkelnummer));
            let numbers: Vec<u32> = rest.split('/').map(|n| n.parse().unwrap_or(0)).collect();
            let number = |i: usize| numbers.get(i).copied().unwrap_or(0);
            (
                "matrikkeladresse",
                json!({
                    "matrikkelnummer": {
                        "kommunenummer": kommune,
                        "gaardsnummer": number(0),
                        "bruksnummer": number(1),
                        "festenummer": number(2),
                        "seksjonsnummer": number(3),
                    },
                    "adressetilleggsnavn": tilleggsnavn,
                    "poststed": { "poststedsnavn": poststed, "postnummer": postnummer },
                }),
            )
        }
    }
}

fn day(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// A [`Person`] as Folkeregisteret's `Folkeregisterperson`.
pub fn folkeregisterperson(person: &Person) -> Value {
    let identifikatortype = if person.fnr.kind() == FnrKind::DNummer { "dNummer" } else { "foedselsnummer" };
    let status = match person.status {
        PersonStatus::Bosatt => "bosatt",
        PersonStatus::Utflyttet => "utflyttet",
        PersonStatus::Doed => "doed",
        PersonStatus::Midlertidig => "midlertidig",
    };
    let mut bostedsadresse = Vec::new();
    for period in &person.residences {
        let mut entry = json!({
            "erGjeldende": period.to.is_none(),
            "kilde": "simulator",
            "gyldighetstidspunkt": format!("{}T00:00:00Z", day(period.from)),
            "flyttedato": day(period.from),
        });
        if let Some(to) = period.to {
            entry["opphoerstidspunkt"] = json!(format!("{}T00:00:00Z", day(to)));
        }
        let (address, level) = match &period.residence {
            Residence::Open(address) => (Some(address), Adressebeskyttelse::Ugradert),
            Residence::Protected(protected) => (Some(protected.inner()), protected.level()),
            Residence::Unknown => (None, Adressebeskyttelse::Ugradert),
        };
        match address {
            Some(address) => {
                let (kind, value) = freg_address(address);
                entry[kind] = value;
            }
            None => {
                let kommune = if period.to.is_none() { person.bosted_kommune.map(|k| k.to_string()) } else { None };
                entry["ukjentBosted"] = json!({ "bostedskommune": kommune });
            }
        }
        entry["adressegradering"] = json!(graderingsnivaa(level));
        bostedsadresse.push(entry);
    }
    let mut familierelasjon = Vec::new();
    let mut sivilstand = Vec::new();
    for relation in &person.relations {
        let role = match relation.role {
            RelationRole::Mor => "mor",
            RelationRole::Far => "far",
            RelationRole::Medmor => "medmor",
            RelationRole::Barn => "barn",
            RelationRole::Ektefelle | RelationRole::Partner => "ektefelleEllerPartner",
        };
        familierelasjon
            .push(current(json!({ "relatertPerson": relation.related.as_digits(), "relatertPersonsRolle": role })));
        match relation.role {
            RelationRole::Ektefelle => sivilstand
                .push(current(json!({ "sivilstand": "gift", "relatertVedSivilstand": relation.related.as_digits() }))),
            RelationRole::Partner => sivilstand.push(current(
                json!({ "sivilstand": "registrertPartner", "relatertVedSivilstand": relation.related.as_digits() }),
            )),
            _ => {}
        }
    }
    let mut value = json!({
        "identifikasjonsnummer": [current(json!({
            "foedselsEllerDNummer": person.fnr.as_digits(),
            "identifikatortype": identifikatortype,
            "status": "iBruk",
        }))],
        "status": [current(json!({ "status": status }))],
        "navn": [current(json!({
            "fornavn": person.name.given,
            "mellomnavn": person.name.middle,
            "etternavn": person.name.family,
        }))],
        "kjoenn": [current(json!({ "kjoenn": if person.sex == Sex::Female { "kvinne" } else { "mann" } }))],
        "foedsel": [current(json!({
            "foedselsdato": day(person.birth_date),
            "foedselsaar": person.birth_date.year(),
            "foedekommuneINorge": person.birth_kommune.map(|k| k.to_string()),
            "foedeland": person.birth_country,
        }))],
        "sivilstand": sivilstand,
        "familierelasjon": familierelasjon,
        "foreldreansvar": person.parental_responsibility_for.iter()
            .map(|child| current(json!({ "ansvarssubjekt": child.as_digits() })))
            .collect::<Vec<_>>(),
        "statsborgerskap": person.citizenships.iter()
            .map(|country| current(json!({ "statsborgerskap": country })))
            .collect::<Vec<_>>(),
        "bostedsadresse": bostedsadresse,
        "adressebeskyttelse": [current(json!({ "graderingsnivaa": graderingsnivaa(person.adressebeskyttelse) }))],
        "vergemaalEllerFremtidsfullmakt": person.guardian.iter()
            .map(|verge| current(json!({ "vergemaaltype": "voksen", "verge": { "foedselsEllerDNummer": verge.as_digits() } })))
            .collect::<Vec<_>>(),
    });
    if let Some(death) = person.death_date {
        // One object, not an array.
        value["doedsfall"] = current(json!({ "doedsdato": day(death) }));
    }
    value
}

async fn krr_personer(State(local): State<LocalRegisters>, body: axum::body::Bytes) -> Response {
    let asked: Vec<String> = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("personidentifikatorer").and_then(Value::as_array).cloned())
        .map(|ids| ids.iter().filter_map(|id| id.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if asked.is_empty() || asked.len() > MAX_BATCH {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "invalid_request", "error_description": "1 til 1000 personidentifikatorer" })),
        )
            .into_response();
    }
    let valid: Vec<Fnr> = asked.iter().filter_map(|id| Fnr::parse(id).ok()).collect();
    let Ok(found) = local.contacts(&valid).await else { return unavailable() };
    let personer: Vec<Value> = asked
        .iter()
        .map(|id| match found.iter().find(|c| c.fnr.as_digits() == *id) {
            Some(contact) => krr_person(contact),
            None => json!({ "personidentifikator": id, "status": "IKKE_REGISTRERT" }),
        })
        .collect();
    Json(json!({ "personer": personer })).into_response()
}

/// A [`Contact`] as KRR's `person`.
pub fn krr_person(contact: &Contact) -> Value {
    let status = match contact.status {
        ContactStatus::Aktiv => "AKTIV",
        ContactStatus::Slettet => "SLETTET",
        ContactStatus::IkkeRegistrert => "IKKE_REGISTRERT",
    };
    let mut value = json!({
        "personidentifikator": contact.fnr.as_digits(),
        "reservasjon": if contact.reserved { "JA" } else { "NEI" },
        "status": status,
    });
    if contact.status != ContactStatus::Aktiv {
        return value;
    }
    value["varslingsstatus"] = json!(if contact.can_be_notified { "KAN_VARSLES" } else { "KAN_IKKE_VARSLES" });
    value["kontaktinformasjon"] = json!({ "epostadresse": contact.email, "mobiltelefonnummer": contact.mobile });
    if let Some((provider, address)) = &contact.mailbox {
        value["digital_post"] = json!({ "postkasseadresse": address, "postkasseleverandoeradresse": provider.orgnr() });
    }
    if let Some(language) = contact.language {
        value["spraak"] = json!(language.tag());
    }
    value
}

async fn organisation_or_status(local: &LocalRegisters, orgnr: &str) -> Result<Organisation, Response> {
    let Ok(orgnr) = OrgNr::parse(orgnr) else {
        return Err((
            StatusCode::BAD_REQUEST,
            Json(json!({ "status": 400, "error": "Bad Request", "message": "Ugyldig organisasjonsnummer" })),
        )
            .into_response());
    };
    match local.organisation(&orgnr).await {
        Ok(Some(organisation)) => Ok(organisation),
        Ok(None) => Err(StatusCode::NOT_FOUND.into_response()),
        Err(_) => Err(unavailable()),
    }
}

async fn er_enhet(State(local): State<LocalRegisters>, Path(orgnr): Path<String>) -> Response {
    match organisation_or_status(&local, &orgnr).await {
        Ok(organisation) if organisation.deleted.is_some() => {
            (StatusCode::GONE, Json(enhet(&organisation))).into_response()
        }
        Ok(organisation) => Json(enhet(&organisation)).into_response(),
        Err(response) => response,
    }
}

async fn er_underenhet() -> Response {
    // The local registers hold main units only.
    StatusCode::NOT_FOUND.into_response()
}

fn er_address(address: Option<&Address>, kommune: Option<String>) -> Option<Value> {
    match address {
        Some(Address::Vegadresse { kommunenummer, adressenavn, husnummer, husbokstav, postnummer, poststed }) => {
            Some(json!({
                "adresse": [format!("{adressenavn} {husnummer}{}", husbokstav.as_deref().unwrap_or(""))],
                "postnummer": postnummer,
                "poststed": poststed,
                "kommunenummer": kommunenummer,
                "land": "Norge",
                "landkode": "NO",
            }))
        }
        Some(Address::Matrikkeladresse { tilleggsnavn, postnummer, poststed, .. }) => Some(json!({
            "adresse": [tilleggsnavn],
            "postnummer": postnummer,
            "poststed": poststed,
            "kommunenummer": kommune,
            "land": "Norge",
            "landkode": "NO",
        })),
        None => kommune.map(|k| json!({ "adresse": [], "kommunenummer": k, "land": "Norge", "landkode": "NO" })),
    }
}

/// An [`Organisation`] as Enhetsregisteret's `enhet`.
pub fn enhet(organisation: &Organisation) -> Value {
    let kommune = organisation.kommune.map(|k| k.to_string());
    let mut value = json!({
        "organisasjonsnummer": organisation.orgnr.as_digits(),
        "navn": organisation.name,
        "organisasjonsform": { "kode": organisation.form },
        "antallAnsatte": organisation.employees,
        "harRegistrertAntallAnsatte": organisation.employees > 0,
        "stiftelsesdato": organisation.founded.map(day).unwrap_or_default(),
        "konkurs": organisation.bankrupt,
    });
    if let Some(address) = er_address(organisation.business_address.as_ref(), kommune.clone()) {
        value["forretningsadresse"] = address;
    }
    if let Some(address) = organisation.postal_address.as_ref().and_then(|a| er_address(Some(a), kommune)) {
        value["postadresse"] = address;
    }
    if let Some(code) = &organisation.industry_code {
        value["naeringskode1"] = json!({ "kode": code });
    }
    if let Some(deleted) = organisation.deleted {
        value["slettedato"] = json!(day(deleted));
    }
    value
}

async fn er_open_roles(State(local): State<LocalRegisters>, Path(orgnr): Path<String>) -> Response {
    match organisation_or_status(&local, &orgnr).await {
        Ok(organisation) => Json(roller(&local, &organisation, false).await).into_response(),
        Err(response) => response,
    }
}

async fn er_authorised_roles(
    State(local): State<LocalRegisters>,
    Path(orgnr): Path<String>,
    headers: HeaderMap,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer ") && v.len() > "Bearer ".len());
    if !bearer {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_token", "error_description": "Mangler Maskinporten-token" })),
        )
            .into_response();
    }
    match organisation_or_status(&local, &orgnr).await {
        Ok(organisation) => Json(roller(&local, &organisation, true).await).into_response(),
        Err(response) => response,
    }
}

/// The organisation's roles as `{"rollegrupper":[...]}`; with `numbers`, as the authorised API
/// gives them (with `fodselsnummer`), else as the open one (name and birth date only).
async fn roller(local: &LocalRegisters, organisation: &Organisation, numbers: bool) -> Value {
    let groups: [(&str, &str, &[OrganisationRole]); 3] = [
        ("DAGL", "Daglig leder/ adm.direktør", &[OrganisationRole::DagligLeder]),
        ("STYR", "Styre", &[OrganisationRole::Styreleder, OrganisationRole::Styremedlem]),
        ("KONT", "Kontaktperson", &[OrganisationRole::Kontaktperson]),
    ];
    let mut rollegrupper = Vec::new();
    for (code, description, members) in groups {
        let mut roller = Vec::new();
        for (role, fnr) in organisation.roles.iter().filter(|(role, _)| members.contains(role)) {
            let holder = local.person(fnr).await.ok().flatten();
            let mut person = json!({
                "fodselsdato": holder.as_ref().map(|p| day(p.birth_date)),
                "navn": holder.as_ref().map(|p| json!({
                    "fornavn": p.name.given, "mellomnavn": p.name.middle, "etternavn": p.name.family,
                })),
                "erDoed": holder.as_ref().is_some_and(|p| p.status == PersonStatus::Doed),
            });
            if numbers {
                person["fodselsnummer"] = json!(fnr.as_digits());
            }
            roller.push(json!({
                "type": { "kode": role.code() },
                "person": person,
                "fratraadt": false,
                "rekkefolge": roller.len(),
            }));
        }
        if !roller.is_empty() {
            rollegrupper.push(json!({ "type": { "kode": code, "beskrivelse": description }, "roller": roller }));
        }
    }
    json!({ "rollegrupper": rollegrupper })
}
