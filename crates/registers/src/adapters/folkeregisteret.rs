//! Folkeregisteret (Skatteetaten) over its REST API. The path depends on the access package
//! (rettighetspakke), as Skatteetaten's `folkeregisteret-api-dokumentasjon`
//! (`src/konsumenttjenester/Endepunkter.md`) lists them:
//!
//! - *offentlig med hjemmel*: `GET {base}/folkeregisteret/offentlig-med-hjemmel/api/v1/personer/{id}?part=...`
//!   (scope `folkeregister:deling/offentligmedhjemmel`), and only there the bulk lookup
//!   `POST .../personer/bulkoppslag?part=...` with `{"foedselsEllerDNummer":[...]}` (at most
//!   [`MAX_BATCH`]) → `{"oppslag":[{"foedselsEllerDNummer","folkeregisterperson"|"feilmelding"}]}`;
//!   entries without a `folkeregisterperson` are unknown persons and are left out;
//! - every other package: `GET {base}/folkeregisteret/api/{pakke}/v1/personer/{id}?part=...`
//!   (`offentligutenhjemmel`, `privatutenhjemmel`, `privat`, `finans`, ...; scope
//!   `folkeregister:deling/{pakke}`). These have no bulk lookup, so [`PersonSource::persons`]
//!   asks for one person at a time;
//! - 404 is an unknown person.
//!
//! We ask for `part=person-basis`, `part=relasjon-utvidet` (familierelasjon, foreldreansvar,
//! vergemål) and `part=historikk` (the non-current entries, for the address history), as
//! Folkeregisteret's "dataminimering" page describes.
//!
//! Rate limiting: Folkeregisteret's 429 carries `Retry-After` in *milliseconds*; the shared
//! sender reads it so (see [`super`]) and waits at most `max_backoff`. Errors come in two body
//! shapes, `{"kode","melding"}` and `{"feilkode","feilmelding","httpStatus"}`; both are quoted
//! in [`RegisterError::Refused`]. An HTML answer is a firewall's refusal, never "not found".
//!
//! Every element is an array of historised entries (`erGjeldende`, `gyldighetstidspunkt`,
//! `opphoerstidspunkt`, `ajourholdstidspunkt`, `kilde`, `aarsak`) — except `doedsfall`, which is
//! one object (an array is accepted as well). How they become a [`Person`]:
//!
//! - single-valued facts (navn, kjønn, fødsel, status, adressebeskyttelse, dødsfall) take the
//!   entry with `erGjeldende: true`, else the one with the latest `gyldighetstidspunkt`;
//!   multi-valued ones (familierelasjon, foreldreansvar, statsborgerskap, vergemål) take every
//!   entry not marked `erGjeldende: false`;
//! - `bostedsadresse` keeps every entry as a [`ResidencePeriod`], newest first: from
//!   `flyttedato` (else `gyldighetstidspunkt`), to `opphoerstidspunkt` (else the next newer
//!   period's start); the current entry is open-ended. `ukjentBosted` and entries without an
//!   address become [`Residence::Unknown`]; entries with no date at all are skipped;
//! - a person is protected at the stronger of the current `adressebeskyttelse` and the current
//!   address's `adressegradering`; then *every* address in the history is a
//!   [`Residence::Protected`], as in the local registers. `graderingsnivaa` is one of
//!   `ugradert`, `klientadresse`, `fortrolig`, `strengtFortrolig`: `klientadresse` (the person
//!   is reached through a client address, e.g. a shelter's) is treated as `fortrolig`.
//!   `strengtFortroligUtland` is not a Folkeregisteret value (it is NAV's); it is still read as
//!   strengt fortrolig rather than failing, since the stricter reading is the safe one;
//! - enumeration values are read in both spellings the registers use (`strengtFortrolig` in
//!   the JSON, `STRENGT_FORTROLIG` in the OpenAPI document).
//!
//! Where the register leaves something out:
//!
//! - `fnr`: the current `identifikasjonsnummer` in use, else the identifier asked for;
//! - birth date: `foedselsdato`, else the date in the number, else 1 January of
//!   `foedselsaar`; none of these is malformed;
//! - birth country: `foedeland`, else `NOR` when born in a Norwegian municipality, else `XUK`
//!   (Folkeregisteret's code for unknown); a `foedekommuneINorge` that is not in the 2024 list
//!   (an older municipality) gives no `birth_kommune`;
//! - sex: `kjoenn`, else the classic rule's odd/even individual number; for a number under the
//!   2032 rule without `kjoenn` the answer is unreadable;
//! - status: `bosatt`, `utflyttet` and `doed` map one to one; every other status (`midlertidig`,
//!   `ikkeBosatt`, `foedselsregistrert`, `inaktiv`, `aktiv`, `forsvunnet`, `opphoert`) describes
//!   someone not resident in Norway and becomes [`PersonStatus::Midlertidig`]; no status at all
//!   gives `doed` with a death date, `bosatt` with a current Norwegian address, else
//!   `midlertidig`;
//! - relations: `mor`, `far`, `medmor`, `barn` map one to one; `ektefelleEllerPartner` (and a
//!   current `sivilstand` with `relatertVedSivilstand`) is [`RelationRole::Partner`] when the
//!   sivilstand is a partnership, else [`RelationRole::Ektefelle`]; `soesken`,
//!   `doedfoedtBarn` and relations to persons without an identifier are left out;
//! - foreldreansvar: on a parent's record `ansvarssubjekt` names the child;
//! - guardian: the current `vergemaalEllerFremtidsfullmakt`'s `verge.foedselsEllerDNummer`,
//!   preferring a vergemål over a stadfestet fremtidsfullmakt (whose fullmektig we also count,
//!   as they act for the person);
//! - a missing house number is 0, a missing postnummer or poststed is empty.

use kernel::{Fnr, FnrKind};
use serde::Deserialize;
use time::{Date, Month};

use super::{
    Http, HttpConfig, StringOrNumber, WireMatrikkeladresse, WireVegadresse, code_eq, iso_date, lenient_kommune,
    not_in_code_list, unreadable,
};
use crate::model::{
    Address, Adressebeskyttelse, FamilyRelation, Name, Person, PersonStatus, ProtectedAddress, RelationRole, Residence,
    ResidencePeriod, Sex,
};
use crate::{MAX_BATCH, PersonSource, Register, RegisterError};

/// The parts asked for on every lookup.
const PARTS: &str = "part=person-basis&part=relasjon-utvidet&part=historikk";

const REGISTER: Register = Register::Folkeregisteret;

/// A Folkeregisteret access package (rettighetspakke): which data a consumer may see, and the
/// path and Maskinporten scope that go with it (Skatteetaten's `Endepunkter.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rettighetspakke {
    /// Offentlig (and privat) virksomhet med hjemmel: the full person, and bulk lookups. What a
    /// municipality with a legal basis in its own act uses.
    OffentligMedHjemmel,
    /// Offentlig virksomhet uten hjemmel.
    OffentligUtenHjemmel,
    /// Privat virksomhet uten hjemmel.
    PrivatUtenHjemmel,
    /// Privat virksomhet.
    Privat,
    /// Privat virksomhet uten folkeregisteridentifikator.
    PrivatUtenFolkeregisteridentifikator,
    /// Finans.
    Finans,
    /// Presse.
    Presse,
    /// Presse uten folkeregisteridentifikator.
    PresseUtenFolkeregisteridentifikator,
    /// Utsteder av eID.
    UtstederEid,
}

impl Rettighetspakke {
    /// Every package, in `Endepunkter.md`'s order.
    pub const ALL: [Rettighetspakke; 9] = [
        Rettighetspakke::OffentligMedHjemmel,
        Rettighetspakke::OffentligUtenHjemmel,
        Rettighetspakke::PrivatUtenHjemmel,
        Rettighetspakke::Privat,
        Rettighetspakke::PrivatUtenFolkeregisteridentifikator,
        Rettighetspakke::Finans,
        Rettighetspakke::Presse,
        Rettighetspakke::PresseUtenFolkeregisteridentifikator,
        Rettighetspakke::UtstederEid,
    ];

    /// The package's name in the configuration: `offentlig-med-hjemmel` as Skatteetaten writes
    /// it in that package's path, the others as their path segment (`offentligutenhjemmel`).
    pub fn name(self) -> &'static str {
        match self {
            Rettighetspakke::OffentligMedHjemmel => "offentlig-med-hjemmel",
            Rettighetspakke::OffentligUtenHjemmel => "offentligutenhjemmel",
            Rettighetspakke::PrivatUtenHjemmel => "privatutenhjemmel",
            Rettighetspakke::Privat => "privat",
            Rettighetspakke::PrivatUtenFolkeregisteridentifikator => "privatutenfolkeregisteridentifikator",
            Rettighetspakke::Finans => "finans",
            Rettighetspakke::Presse => "presse",
            Rettighetspakke::PresseUtenFolkeregisteridentifikator => "presseutenfolkeregisteridentifikator",
            Rettighetspakke::UtstederEid => "eid",
        }
    }

    /// Reads a configured name, with or without hyphens (`offentlig-uten-hjemmel` and
    /// `offentligutenhjemmel` are the same package); `None` for a name Skatteetaten does not list.
    pub fn parse(text: &str) -> Option<Self> {
        let wanted: String =
            text.trim().chars().filter(|c| *c != '-' && *c != '_').flat_map(char::to_lowercase).collect();
        Self::ALL.into_iter().find(|p| {
            p.name().replace('-', "") == wanted || (wanted == "utstedereid" && *p == Rettighetspakke::UtstederEid)
        })
    }

    /// The Maskinporten scope the token must carry, e.g. `folkeregister:deling/offentligmedhjemmel`.
    pub fn scope(self) -> String {
        match self {
            Rettighetspakke::UtstederEid => "folkeregister:deling/utstedereid".to_owned(),
            other => format!("folkeregister:deling/{}", other.name().replace('-', "")),
        }
    }

    /// The path up to `personer/`: offentlig med hjemmel has the package before `api`, every
    /// other package after it.
    fn persons_path(self) -> String {
        match self {
            Rettighetspakke::OffentligMedHjemmel => {
                "/folkeregisteret/offentlig-med-hjemmel/api/v1/personer/".to_owned()
            }
            other => format!("/folkeregisteret/api/{}/v1/personer/", other.name()),
        }
    }

    /// Whether the package offers `personer/bulkoppslag` (only offentlig med hjemmel does).
    pub fn has_bulk_lookup(self) -> bool {
        self == Rettighetspakke::OffentligMedHjemmel
    }
}

/// Folkeregisteret's REST API.
#[derive(Debug, Clone)]
pub struct FolkeregisteretClient {
    http: Http,
    rettighetspakke: Rettighetspakke,
}

impl FolkeregisteretClient {
    /// A client for [`Rettighetspakke::OffentligMedHjemmel`].
    pub fn new(config: HttpConfig) -> Result<Self, RegisterError> {
        Ok(Self { http: Http::new(REGISTER, config)?, rettighetspakke: Rettighetspakke::OffentligMedHjemmel })
    }

    /// The same client for another access package.
    pub fn with_rettighetspakke(mut self, rettighetspakke: Rettighetspakke) -> Self {
        self.rettighetspakke = rettighetspakke;
        self
    }

    /// The access package the client asks under.
    pub fn rettighetspakke(&self) -> Rettighetspakke {
        self.rettighetspakke
    }

    fn url(&self, resource: &str) -> String {
        self.http.url(&format!("{}{resource}?{PARTS}", self.rettighetspakke.persons_path()))
    }
}

impl PersonSource for FolkeregisteretClient {
    async fn person(&self, id: &Fnr) -> Result<Option<Person>, RegisterError> {
        let url = self.url(&id.as_digits());
        let Some(wire) = self.http.get::<WirePerson>("folkeregisteret.person", &url).await? else {
            return Ok(None);
        };
        wire.into_person(*id).map(Some)
    }

    async fn persons(&self, ids: &[Fnr]) -> Result<Vec<Person>, RegisterError> {
        if ids.len() > MAX_BATCH {
            return Err(RegisterError::TooManyInBatch(ids.len()));
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if !self.rettighetspakke.has_bulk_lookup() {
            // Only offentlig med hjemmel has bulkoppslag: ask for one person at a time.
            let mut persons = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(person) = self.person(id).await? {
                    persons.push(person);
                }
            }
            return Ok(persons);
        }
        let body = serde_json::json!({ "foedselsEllerDNummer": ids.iter().map(Fnr::as_digits).collect::<Vec<_>>() });
        let Some(answer) =
            self.http.post::<WireBulk>("folkeregisteret.bulkoppslag", &self.url("bulkoppslag"), &body).await?
        else {
            return Ok(Vec::new());
        };
        let mut persons = Vec::with_capacity(answer.oppslag.len());
        for (index, entry) in answer.oppslag.into_iter().enumerate() {
            let Some(wire) = entry.folkeregisterperson else { continue };
            let field = format!("oppslag[{index}].foedselsEllerDNummer");
            let asked = entry.foedsels_eller_d_nummer.as_deref().map(|text| parse_fnr(text, &field)).transpose()?;
            let fallback = match asked {
                Some(asked) => Some(asked),
                None => wire.current_identifier()?,
            }
            .ok_or_else(|| unreadable(REGISTER, format!("oppslag[{index}]"), "an entry without any identifier"))?;
            persons.push(wire.into_person(fallback)?);
        }
        Ok(persons)
    }
}

// ---------------------------------------------------------------------------------------------
// Wire shapes, as Folkeregisteret's OpenAPI document (Folkeregisterperson) describes them.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireBulk {
    #[serde(deserialize_with = "nullable")]
    oppslag: Vec<WireOppslag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOppslag {
    #[serde(default)]
    foedsels_eller_d_nummer: Option<String>,
    #[serde(default)]
    folkeregisterperson: Option<WirePerson>,
}

/// The historisation fields every element carries.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Meta {
    er_gjeldende: Option<bool>,
    gyldighetstidspunkt: Option<String>,
    opphoerstidspunkt: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WirePerson {
    #[serde(deserialize_with = "nullable")]
    identifikasjonsnummer: Vec<WireIdentifikasjonsnummer>,
    #[serde(deserialize_with = "nullable")]
    status: Vec<WireStatus>,
    #[serde(deserialize_with = "nullable")]
    navn: Vec<WireNavn>,
    #[serde(deserialize_with = "nullable")]
    kjoenn: Vec<WireKjoenn>,
    #[serde(deserialize_with = "nullable")]
    foedsel: Vec<WireFoedsel>,
    #[serde(deserialize_with = "nullable")]
    sivilstand: Vec<WireSivilstand>,
    #[serde(deserialize_with = "nullable")]
    familierelasjon: Vec<WireFamilierelasjon>,
    #[serde(deserialize_with = "nullable")]
    foreldreansvar: Vec<WireForeldreansvar>,
    #[serde(deserialize_with = "nullable")]
    statsborgerskap: Vec<WireStatsborgerskap>,
    #[serde(deserialize_with = "nullable")]
    bostedsadresse: Vec<WireBostedsadresse>,
    /// One object (Folkeregisteret's OpenAPI); an array of them is accepted too.
    #[serde(deserialize_with = "one_or_many")]
    doedsfall: Vec<WireDoedsfall>,
    #[serde(deserialize_with = "nullable")]
    adressebeskyttelse: Vec<WireAdressebeskyttelse>,
    #[serde(deserialize_with = "nullable")]
    vergemaal_eller_fremtidsfullmakt: Vec<WireVergemaal>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WireIdentifikasjonsnummer {
    #[serde(flatten)]
    meta: Meta,
    foedsels_eller_d_nummer: Option<String>,
    status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireStatus {
    #[serde(flatten)]
    meta: Meta,
    status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireNavn {
    #[serde(flatten)]
    meta: Meta,
    fornavn: Option<String>,
    mellomnavn: Option<String>,
    etternavn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireKjoenn {
    #[serde(flatten)]
    meta: Meta,
    kjoenn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WireFoedsel {
    #[serde(flatten)]
    meta: Meta,
    foedselsdato: Option<String>,
    foedselsaar: Option<StringOrNumber>,
    #[serde(rename = "foedekommuneINorge")]
    foedekommune_i_norge: Option<String>,
    foedeland: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WireSivilstand {
    #[serde(flatten)]
    meta: Meta,
    sivilstand: Option<String>,
    relatert_ved_sivilstand: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WireFamilierelasjon {
    #[serde(flatten)]
    meta: Meta,
    relatert_person: Option<String>,
    relatert_persons_rolle: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireForeldreansvar {
    #[serde(flatten)]
    meta: Meta,
    ansvarssubjekt: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireStatsborgerskap {
    #[serde(flatten)]
    meta: Meta,
    statsborgerskap: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WireBostedsadresse {
    #[serde(flatten)]
    meta: Meta,
    vegadresse: Option<WireVegadresse>,
    matrikkeladresse: Option<WireMatrikkeladresse>,
    ukjent_bosted: Option<WireUkjentBosted>,
    adressegradering: Option<String>,
    flyttedato: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireUkjentBosted {
    bostedskommune: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireDoedsfall {
    #[serde(flatten)]
    meta: Meta,
    doedsdato: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireAdressebeskyttelse {
    #[serde(flatten)]
    meta: Meta,
    graderingsnivaa: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireVergemaal {
    #[serde(flatten)]
    meta: Meta,
    vergemaaltype: Option<String>,
    verge: Option<WireVerge>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WireVerge {
    foedsels_eller_d_nummer: Option<String>,
}

/// `null` reads as the empty value.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// One entry or an array of them (or `null`).
fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match Option::<OneOrMany<T>>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(OneOrMany::Many(many)) => many,
        Some(OneOrMany::One(one)) => vec![one],
    })
}

// ---------------------------------------------------------------------------------------------
// Mapping.
// ---------------------------------------------------------------------------------------------

trait Historised {
    fn meta(&self) -> &Meta;
}

macro_rules! historised {
    ($($wire:ty),* $(,)?) => {
        $(impl Historised for $wire {
            fn meta(&self) -> &Meta {
                &self.meta
            }
        })*
    };
}

historised!(
    WireIdentifikasjonsnummer,
    WireStatus,
    WireNavn,
    WireKjoenn,
    WireFoedsel,
    WireSivilstand,
    WireFamilierelasjon,
    WireForeldreansvar,
    WireStatsborgerskap,
    WireBostedsadresse,
    WireDoedsfall,
    WireAdressebeskyttelse,
    WireVergemaal,
);

/// The current entry: the one marked `erGjeldende`, else the latest by `gyldighetstidspunkt`
/// (ISO 8601 texts compare in time order when they share a format).
fn current<T: Historised>(entries: &[T]) -> Option<&T> {
    entries.iter().find(|e| e.meta().er_gjeldende == Some(true)).or_else(|| {
        entries
            .iter()
            .filter(|e| e.meta().er_gjeldende != Some(false))
            .max_by(|a, b| a.meta().gyldighetstidspunkt.cmp(&b.meta().gyldighetstidspunkt))
    })
}

/// Every entry not marked as no longer current.
fn all_current<T: Historised>(entries: &[T]) -> impl Iterator<Item = &T> {
    entries.iter().filter(|e| e.meta().er_gjeldende != Some(false))
}

fn parse_fnr(text: &str, field: &str) -> Result<Fnr, RegisterError> {
    // The error names the field and the broken rule, never the digits.
    Fnr::parse(text).map_err(|e| unreadable(REGISTER, field, format!("not a valid identifier: {e}")))
}

fn protection_level(code: &str) -> Result<Adressebeskyttelse, RegisterError> {
    Ok(if code_eq(code, "ugradert") {
        Adressebeskyttelse::Ugradert
    } else if code_eq(code, "fortrolig") || code_eq(code, "klientadresse") {
        Adressebeskyttelse::Fortrolig
    } else if code_eq(code, "strengtFortrolig") {
        Adressebeskyttelse::StrengtFortrolig
    } else if code_eq(code, "strengtFortroligUtland") {
        Adressebeskyttelse::StrengtFortroligUtland
    } else {
        return Err(unreadable(REGISTER, "adressebeskyttelse.graderingsnivaa", not_in_code_list(code)));
    })
}

fn protection_rank(level: Adressebeskyttelse) -> u8 {
    match level {
        Adressebeskyttelse::Ugradert => 0,
        Adressebeskyttelse::Fortrolig => 1,
        Adressebeskyttelse::StrengtFortrolig | Adressebeskyttelse::StrengtFortroligUtland => 2,
    }
}

fn stronger(a: Adressebeskyttelse, b: Adressebeskyttelse) -> Adressebeskyttelse {
    if protection_rank(b) > protection_rank(a) { b } else { a }
}

fn person_status(code: &str) -> PersonStatus {
    if code_eq(code, "bosatt") {
        PersonStatus::Bosatt
    } else if code_eq(code, "utflyttet") {
        PersonStatus::Utflyttet
    } else if code_eq(code, "doed") {
        PersonStatus::Doed
    } else {
        // midlertidig, ikkeBosatt, foedselsregistrert, inaktiv, aktiv, forsvunnet, opphoert:
        // registered, but not resident in Norway.
        PersonStatus::Midlertidig
    }
}

/// The sex the classic rule reads from the individual number (odd: male).
fn sex_from_number(fnr: &Fnr) -> Option<Sex> {
    if fnr.control_rule() != kernel::ControlRule::Classic || fnr.kind() == FnrKind::FhNummer {
        return None;
    }
    let ninth = fnr.as_digits().as_bytes().get(8).copied()?;
    Some(if (ninth - b'0') % 2 == 1 { Sex::Male } else { Sex::Female })
}

impl WirePerson {
    /// The identifier in use now, if the answer names one.
    fn current_identifier(&self) -> Result<Option<Fnr>, RegisterError> {
        let in_use = self
            .identifikasjonsnummer
            .iter()
            .filter(|i| i.meta.er_gjeldende != Some(false))
            .find(|i| i.status.as_deref().is_none_or(|s| code_eq(s, "iBruk")));
        in_use
            .and_then(|i| i.foedsels_eller_d_nummer.as_deref())
            .map(|text| parse_fnr(text, "identifikasjonsnummer"))
            .transpose()
    }

    fn into_person(self, asked: Fnr) -> Result<Person, RegisterError> {
        let fnr = self.current_identifier()?.unwrap_or(asked);

        let navn = current(&self.navn).ok_or_else(|| unreadable(REGISTER, "navn", "the person has no name"))?;
        let name = Name {
            given: navn.fornavn.clone().unwrap_or_default(),
            middle: navn.mellomnavn.clone().filter(|m| !m.trim().is_empty()),
            family: navn.etternavn.clone().unwrap_or_default(),
        };

        let foedsel = current(&self.foedsel);
        let birth_date = match foedsel.and_then(|f| f.foedselsdato.as_deref()) {
            Some(text) => iso_date(REGISTER, "foedsel.foedselsdato", text)?,
            None => match fnr.birth_date() {
                Some(date) => date,
                None => {
                    let year = foedsel
                        .and_then(|f| f.foedselsaar.as_ref())
                        .and_then(|y| y.text().parse::<i32>().ok())
                        .ok_or_else(|| unreadable(REGISTER, "foedsel", "no date or year of birth"))?;
                    Date::from_calendar_date(year, Month::January, 1)
                        .map_err(|_| unreadable(REGISTER, "foedsel.foedselsaar", "out of range"))?
                }
            },
        };
        let birth_kommune = lenient_kommune(foedsel.and_then(|f| f.foedekommune_i_norge.as_deref()));
        let birth_country = match foedsel.and_then(|f| f.foedeland.clone()).filter(|c| !c.trim().is_empty()) {
            Some(country) => country,
            None if foedsel.and_then(|f| f.foedekommune_i_norge.as_ref()).is_some() => "NOR".to_owned(),
            None => "XUK".to_owned(),
        };

        let sex = match current(&self.kjoenn).and_then(|k| k.kjoenn.as_deref()) {
            Some(code) if code_eq(code, "kvinne") => Sex::Female,
            Some(code) if code_eq(code, "mann") => Sex::Male,
            Some(code) => return Err(unreadable(REGISTER, "kjoenn.kjoenn", not_in_code_list(code))),
            None => sex_from_number(&fnr)
                .ok_or_else(|| unreadable(REGISTER, "kjoenn", "missing, and the number does not say"))?,
        };

        let death_date = current(&self.doedsfall)
            .and_then(|d| d.doedsdato.as_deref())
            .map(|text| iso_date(REGISTER, "doedsfall.doedsdato", text))
            .transpose()?;

        let current_address = current(&self.bostedsadresse);
        let mut adressebeskyttelse = match current(&self.adressebeskyttelse).and_then(|a| a.graderingsnivaa.as_deref())
        {
            Some(code) => protection_level(code)?,
            None => Adressebeskyttelse::Ugradert,
        };
        if let Some(code) = current_address.and_then(|a| a.adressegradering.as_deref()) {
            adressebeskyttelse = stronger(adressebeskyttelse, protection_level(code)?);
        }

        let residences = self.residences(adressebeskyttelse)?;
        let bosted_kommune = current_address.and_then(|a| {
            lenient_kommune(
                a.vegadresse
                    .as_ref()
                    .and_then(WireVegadresse::kommunenummer)
                    .or_else(|| a.matrikkeladresse.as_ref().and_then(WireMatrikkeladresse::kommunenummer))
                    .or_else(|| a.ukjent_bosted.as_ref().and_then(|u| u.bostedskommune.as_deref())),
            )
        });
        let has_norwegian_address =
            current_address.is_some_and(|a| a.vegadresse.is_some() || a.matrikkeladresse.is_some());

        let status = match current(&self.status).and_then(|s| s.status.as_deref()) {
            Some(code) => person_status(code),
            None if death_date.is_some() => PersonStatus::Doed,
            None if has_norwegian_address => PersonStatus::Bosatt,
            None => PersonStatus::Midlertidig,
        };

        let mut citizenships: Vec<String> = Vec::new();
        for entry in all_current(&self.statsborgerskap) {
            if let Some(country) = entry.statsborgerskap.as_ref().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty())
                && !citizenships.contains(&country)
            {
                citizenships.push(country);
            }
        }

        let relations = self.relations()?;

        let mut parental_responsibility_for = Vec::new();
        for entry in all_current(&self.foreldreansvar) {
            let Some(text) = entry.ansvarssubjekt.as_deref() else { continue };
            let child = parse_fnr(text, "foreldreansvar.ansvarssubjekt")?;
            if child != fnr && !parental_responsibility_for.contains(&child) {
                parental_responsibility_for.push(child);
            }
        }
        parental_responsibility_for.sort();

        let guardian = self.guardian()?;

        Ok(Person {
            fnr,
            name,
            birth_date,
            birth_kommune,
            birth_country,
            sex,
            status,
            bosted_kommune,
            residences,
            relations,
            parental_responsibility_for,
            citizenships,
            death_date,
            guardian,
            adressebeskyttelse,
        })
    }

    fn residences(&self, person_level: Adressebeskyttelse) -> Result<Vec<ResidencePeriod>, RegisterError> {
        // (from, explicit end, is current, residence)
        let mut periods: Vec<(Date, Option<Date>, bool, Residence)> = Vec::new();
        for entry in &self.bostedsadresse {
            let Some(from) = entry.flyttedato.as_deref().or(entry.meta.gyldighetstidspunkt.as_deref()) else {
                tracing::warn!(
                    "folkeregisteret: a bostedsadresse without flyttedato or gyldighetstidspunkt was skipped"
                );
                continue;
            };
            let from = iso_date(REGISTER, "bostedsadresse.flyttedato", from)?;
            let is_current = entry.meta.er_gjeldende != Some(false);
            let end = if is_current {
                None
            } else {
                entry
                    .meta
                    .opphoerstidspunkt
                    .as_deref()
                    .map(|text| iso_date(REGISTER, "bostedsadresse.opphoerstidspunkt", text))
                    .transpose()?
            };
            let address: Option<Address> = match (&entry.vegadresse, &entry.matrikkeladresse) {
                (Some(vegadresse), _) => Some(vegadresse.to_address(REGISTER)?),
                (None, Some(matrikkeladresse)) => Some(matrikkeladresse.to_address(REGISTER)?),
                (None, None) => None,
            };
            let level = match entry.adressegradering.as_deref() {
                Some(code) => stronger(person_level, protection_level(code)?),
                None => person_level,
            };
            let residence = match address {
                None => Residence::Unknown,
                Some(address) if level.is_protected() => Residence::Protected(ProtectedAddress::new(address, level)),
                Some(address) => Residence::Open(address),
            };
            periods.push((from, end, is_current, residence));
        }
        periods.sort_by(|a, b| b.0.cmp(&a.0).then(b.2.cmp(&a.2)));
        let mut out: Vec<ResidencePeriod> = Vec::with_capacity(periods.len());
        for (index, (from, end, is_current, residence)) in periods.into_iter().enumerate() {
            let to = if is_current {
                None
            } else {
                // Ended: when the register says, else when the next (newer) period began.
                Some(
                    end.or_else(|| index.checked_sub(1).and_then(|newer| out.get(newer)).map(|p| p.from))
                        .unwrap_or(from),
                )
            };
            out.push(ResidencePeriod { residence, from, to });
        }
        Ok(out)
    }

    fn partnership(&self) -> bool {
        current(&self.sivilstand)
            .and_then(|s| s.sivilstand.as_deref())
            .is_some_and(|code| ["registrertPartner", "separertPartner"].iter().any(|p| code_eq(code, p)))
    }

    fn relations(&self) -> Result<Vec<FamilyRelation>, RegisterError> {
        let spouse_role = if self.partnership() { RelationRole::Partner } else { RelationRole::Ektefelle };
        let mut relations: Vec<FamilyRelation> = Vec::new();
        let mut add = |relation: FamilyRelation| {
            if !relations.contains(&relation) {
                relations.push(relation);
            }
        };
        for entry in all_current(&self.familierelasjon) {
            let (Some(related), Some(role)) =
                (entry.relatert_person.as_deref(), entry.relatert_persons_rolle.as_deref())
            else {
                continue;
            };
            let role = if code_eq(role, "mor") {
                RelationRole::Mor
            } else if code_eq(role, "far") {
                RelationRole::Far
            } else if code_eq(role, "medmor") {
                RelationRole::Medmor
            } else if code_eq(role, "barn") {
                RelationRole::Barn
            } else if code_eq(role, "ektefelleEllerPartner") {
                spouse_role
            } else {
                // soesken, doedfoedtBarn: no role in our model.
                continue;
            };
            add(FamilyRelation { related: parse_fnr(related, "familierelasjon.relatertPerson")?, role });
        }
        if let Some(sivilstand) = current(&self.sivilstand)
            && let Some(related) = sivilstand.relatert_ved_sivilstand.as_deref()
            && sivilstand.sivilstand.as_deref().is_some_and(|code| {
                ["gift", "separert", "registrertPartner", "separertPartner"].iter().any(|s| code_eq(code, s))
            })
        {
            add(FamilyRelation { related: parse_fnr(related, "sivilstand.relatertVedSivilstand")?, role: spouse_role });
        }
        relations.sort_by_key(|r| r.related);
        Ok(relations)
    }

    fn guardian(&self) -> Result<Option<Fnr>, RegisterError> {
        let is_fremtidsfullmakt = |entry: &WireVergemaal| {
            entry.vergemaaltype.as_deref().is_some_and(|t| code_eq(t, "stadfestetFremtidsfullmakt"))
        };
        let chosen = all_current(&self.vergemaal_eller_fremtidsfullmakt)
            .filter(|e| e.verge.as_ref().and_then(|v| v.foedsels_eller_d_nummer.as_ref()).is_some())
            .min_by_key(|e| is_fremtidsfullmakt(e));
        chosen
            .and_then(|e| e.verge.as_ref())
            .and_then(|v| v.foedsels_eller_d_nummer.as_deref())
            .map(|text| parse_fnr(text, "vergemaalEllerFremtidsfullmakt.verge"))
            .transpose()
    }
}
