//! The typed archive API the platform's own contexts (post, cases) call: create a saksmappe,
//! journal a journalpost with its korrespondanseparter and documents, write off an incoming
//! journalpost, and screen a saksmappe or journalpost — **in the caller's transaction**, so a
//! letter and its journalpost, or a case and its first document, commit together or not at all.
//!
//! [`Archive`] is implemented for the built-in [`Noark`] (generic records under the hood, see
//! [`crate::records`]) and for a remote Noark 5 tjenestegrensesnitt
//! ([`crate::external::ExternalArchive`]), which cannot take part in the caller's transaction.
//!
//! Personal identifiers (fødselsnummer, d-nummer, organisasjonsnummer) are checked with their
//! control digits and stored as the standard's nasjonalidentifikator objects beside the
//! korrespondansepart's or part's name; they never appear in an error, in a log, or in `Debug`.

use std::fmt;
use std::future::Future;

use kernel::{Fnr, FnrKind, Kommunenummer, OrgNr};
use serde_json::{Map, Value, json};
use store::{MunicipalTx, Tx, params};

use crate::ArchiveError;
use crate::model::{self, Entity};
use crate::records::{self, Actor, Noark, Object};
use crate::validate::CodeBook;

/// The archive as the platform's contexts use it. Every call takes the caller's transaction;
/// an implementation that cannot honour it (a remote archive) says so on its type.
///
/// On a [`Noark`] value, `noark.journal(…)` is the inherent [`Noark::journal`] (the journal by
/// date); call this one as `Archive::journal(&noark, …)`, or through a generic `A: Archive`.
pub trait Archive: Send + Sync {
    /// Creates a saksmappe (in the municipality's default arkivdel/klasse unless given).
    fn create_case(
        &self,
        tx: &mut Tx,
        k: Kommunenummer,
        actor: &Actor,
        case: NewCase,
    ) -> impl Future<Output = Result<CaseRef, ArchiveError>> + Send;

    /// Journals an incoming (I), outgoing (U), internal (N) or X journalpost with its
    /// korrespondanseparter and documents (each a dokumentbeskrivelse + dokumentobjekt with
    /// its file).
    fn journal(
        &self,
        tx: &mut Tx,
        k: Kommunenummer,
        actor: &Actor,
        entry: NewJournalpost,
    ) -> impl Future<Output = Result<JournalRef, ArchiveError>> + Send;

    /// Writes off (avskriver) an incoming journalpost, by a reply journalpost or another
    /// method (avskrivningsmaate code).
    fn write_off(
        &self,
        tx: &mut Tx,
        k: Kommunenummer,
        actor: &Actor,
        journalpost: &str,
        how: WriteOff,
    ) -> impl Future<Output = Result<(), ArchiveError>> + Send;

    /// Sets the screening (skjerming) of a saksmappe or journalpost.
    fn set_screening(
        &self,
        tx: &mut Tx,
        k: Kommunenummer,
        actor: &Actor,
        target: &str,
        screening: Screening,
    ) -> impl Future<Output = Result<(), ArchiveError>> + Send;
}

/// The title of the arkivdel a municipality's cases go to by default.
pub const DEFAULT_ARKIVDEL: &str = "Sakarkiv";

/// A screening (`skjerming`): who may not see what, and by which legal basis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screening {
    /// The `tilgangsrestriksjon` kode: `"13"`-style codes added locally, or the standard's
    /// (`5`, `5a`, `6`, `11`, `P` personalsaker, `KL` klientsaker, `XX` midlertidig sperret, …).
    pub tilgangsrestriksjon: String,
    /// The legal basis, as text (`"Offl. § 13, jf. fvl. § 13"`).
    pub skjermingshjemmel: String,
    /// What is screened: `skjermingmetadata` koder (`TR1`, `NA`, `NM`, `NPS`, `TM1`, …).
    pub metadata: Vec<String>,
    /// Whether the documents are screened in whole (`H`) or in part (`D`).
    pub dokument: Option<String>,
    /// How long, in years (`skjermingsvarighet`).
    pub duration_years: Option<u32>,
}

impl Screening {
    /// The `skjerming` object as the tjenestegrensesnitt writes it.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("tilgangsrestriksjon".to_owned(), json!({"kode": self.tilgangsrestriksjon}));
        out.insert("skjermingshjemmel".to_owned(), json!(self.skjermingshjemmel));
        out.insert(
            "skjermingMetadata".to_owned(),
            Value::Array(self.metadata.iter().map(|kode| json!({"kode": kode})).collect()),
        );
        if let Some(dokument) = &self.dokument {
            out.insert("skjermingDokument".to_owned(), json!({"kode": dokument}));
        }
        if let Some(years) = self.duration_years {
            out.insert("skjermingsvarighet".to_owned(), json!(years));
        }
        Value::Object(out)
    }
}

/// A postal address (`enkeladresse`).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// Up to three address lines (`adresselinje1`–`3`).
    pub lines: Vec<String>,
    /// The postnummer, four digits: the `postnr` code value (unless the municipality has
    /// loaded its own `postnummer` list without it: then before the poststed, `5003 Bergen`).
    pub postnummer: Option<String>,
    /// The poststed (required by the standard).
    pub poststed: String,
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Address").field("lines", &self.lines.len()).finish_non_exhaustive()
    }
}

/// Who a part in a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartyKind {
    /// A person (`partperson`); the identifier is a fødselsnummer or d-nummer.
    Person,
    /// An organisation (`partenhet`); the identifier is an organisasjonsnummer.
    Enhet,
}

/// A part in a case (`part`).
#[derive(Clone, PartialEq, Eq)]
pub struct Party {
    /// Person or organisation.
    pub kind: PartyKind,
    /// The name.
    pub navn: String,
    /// The fødselsnummer / d-nummer (person) or organisasjonsnummer (enhet), as given.
    pub identifier: Option<String>,
    /// The `partrolle` kode (`KLI` klient, `PAA` pårørende, `FORM` formynder, `ADV` advokat).
    pub rolle: Option<String>,
    /// The postal address.
    pub address: Option<Address>,
}

impl Party {
    /// A person by name.
    pub fn person(navn: impl Into<String>) -> Self {
        Party { kind: PartyKind::Person, navn: navn.into(), identifier: None, rolle: None, address: None }
    }

    /// An organisation by name.
    pub fn enhet(navn: impl Into<String>) -> Self {
        Party { kind: PartyKind::Enhet, navn: navn.into(), identifier: None, rolle: None, address: None }
    }

    /// With an identifier (fødselsnummer, d-nummer or organisasjonsnummer).
    pub fn with_identifier(mut self, identifier: impl Into<String>) -> Self {
        self.identifier = Some(identifier.into());
        self
    }
}

impl fmt::Debug for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Party")
            .field("kind", &self.kind)
            .field("identifier", &self.identifier.as_ref().map(|_| "<redacted>"))
            .field("rolle", &self.rolle)
            .finish_non_exhaustive()
    }
}

/// A new saksmappe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    /// `tittel`.
    pub tittel: String,
    /// `offentligTittel`: the title for the public journal (screened words as `*****`).
    pub offentlig_tittel: Option<String>,
    /// `administrativEnhet`.
    pub administrativ_enhet: String,
    /// `saksansvarlig`.
    pub saksansvarlig: String,
    /// The arkivdel (systemID); the municipality's default `Sakarkiv` when `None`.
    pub arkivdel: Option<String>,
    /// The klasse (systemID) the saksmappe goes under; it wins over `arkivdel` and `klasse_id`.
    pub klasse: Option<String>,
    /// The klasse by its `klasseID` (an ordningsverdi such as `A10`), looked up in the arkivdel's
    /// klassifikasjonssystemer (sub-klasser too; finished ones and ones that hold sub-klasser are
    /// passed over). When the archive
    /// has none, the saksmappe goes where it would without it, and a warning names the klasseID:
    /// an archive that lacks a class must not refuse a resident's application. (An external
    /// Noark 5 archive: the klasse its API finds by `klasseID eq '…'`.)
    pub klasse_id: Option<String>,
    /// The parts of the case.
    pub parter: Vec<Party>,
    /// The screening, if any.
    pub screening: Option<Screening>,
}

/// The saksmappe created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRef {
    /// Its systemID.
    pub system_id: String,
    /// Its `mappeID` (`2026/17`).
    pub mappe_id: String,
}

/// The kind of journalpost (`journalposttype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalpostType {
    /// `I`: Inngående dokument.
    Inngaaende,
    /// `U`: Utgående dokument.
    Utgaaende,
    /// `N`: Organinternt dokument for oppfølging.
    Internt,
    /// `X`: Organinternt dokument uten oppfølging.
    InterntUtenOppfoelging,
}

impl JournalpostType {
    /// Its kode.
    pub fn kode(self) -> &'static str {
        match self {
            JournalpostType::Inngaaende => "I",
            JournalpostType::Utgaaende => "U",
            JournalpostType::Internt => "N",
            JournalpostType::InterntUtenOppfoelging => "X",
        }
    }
}

/// Who a korrespondansepart is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrespondentKind {
    /// A person (`korrespondansepartperson`).
    Person,
    /// An organisation (`korrespondansepartenhet`).
    Enhet,
    /// Someone in the municipality (`korrespondansepartintern`): `navn` is the saksbehandler.
    Intern,
}

/// The role of a korrespondansepart (`korrespondanseparttype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrespondentRole {
    /// `EA` Avsender.
    Avsender,
    /// `EM` Mottaker.
    Mottaker,
    /// `EK` Kopimottaker.
    Kopimottaker,
    /// `GM` Gruppemottaker.
    Gruppemottaker,
    /// `IA` Intern avsender.
    InternAvsender,
    /// `IM` Intern mottaker.
    InternMottaker,
    /// `IK` Intern kopimottaker.
    InternKopimottaker,
    /// `IS` Medavsender.
    Medavsender,
}

impl CorrespondentRole {
    /// Its kode.
    pub fn kode(self) -> &'static str {
        match self {
            CorrespondentRole::Avsender => "EA",
            CorrespondentRole::Mottaker => "EM",
            CorrespondentRole::Kopimottaker => "EK",
            CorrespondentRole::Gruppemottaker => "GM",
            CorrespondentRole::InternAvsender => "IA",
            CorrespondentRole::InternMottaker => "IM",
            CorrespondentRole::InternKopimottaker => "IK",
            CorrespondentRole::Medavsender => "IS",
        }
    }

    /// The role when none is given: the sender of an incoming journalpost, the receiver of
    /// the others.
    pub fn default_for(kind: CorrespondentKind, journalpost: JournalpostType) -> Self {
        match (kind, journalpost) {
            (CorrespondentKind::Intern, JournalpostType::Inngaaende) => CorrespondentRole::InternAvsender,
            (CorrespondentKind::Intern, _) => CorrespondentRole::InternMottaker,
            (_, JournalpostType::Inngaaende) => CorrespondentRole::Avsender,
            (_, _) => CorrespondentRole::Mottaker,
        }
    }
}

/// A korrespondansepart of a journalpost.
#[derive(Clone, PartialEq, Eq)]
pub struct Correspondent {
    /// Person, organisation or internal.
    pub kind: CorrespondentKind,
    /// The role; by default [`CorrespondentRole::default_for`].
    pub role: Option<CorrespondentRole>,
    /// The name (for `Intern`, the saksbehandler).
    pub navn: String,
    /// The fødselsnummer / d-nummer (person) or organisasjonsnummer (enhet), as given.
    pub identifier: Option<String>,
    /// The postal address (person, enhet).
    pub address: Option<Address>,
    /// The contact person (enhet).
    pub kontaktperson: Option<String>,
    /// The administrative unit (intern).
    pub administrativ_enhet: Option<String>,
}

impl Correspondent {
    fn new(kind: CorrespondentKind, navn: String) -> Self {
        Correspondent {
            kind,
            role: None,
            navn,
            identifier: None,
            address: None,
            kontaktperson: None,
            administrativ_enhet: None,
        }
    }

    /// A person by name.
    pub fn person(navn: impl Into<String>) -> Self {
        Self::new(CorrespondentKind::Person, navn.into())
    }

    /// An organisation by name.
    pub fn enhet(navn: impl Into<String>) -> Self {
        Self::new(CorrespondentKind::Enhet, navn.into())
    }

    /// A saksbehandler of the municipality.
    pub fn intern(saksbehandler: impl Into<String>) -> Self {
        Self::new(CorrespondentKind::Intern, saksbehandler.into())
    }

    /// With an identifier (fødselsnummer, d-nummer or organisasjonsnummer).
    pub fn with_identifier(mut self, identifier: impl Into<String>) -> Self {
        self.identifier = Some(identifier.into());
        self
    }
}

impl fmt::Debug for Correspondent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Correspondent")
            .field("kind", &self.kind)
            .field("role", &self.role)
            .field("identifier", &self.identifier.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// How a document belongs to its journalpost (`tilknyttetRegistreringSom`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentRole {
    /// `H`: the main document.
    Hoveddokument,
    /// `V`: an attachment.
    Vedlegg,
}

impl DocumentRole {
    /// Its kode.
    pub fn kode(self) -> &'static str {
        match self {
            DocumentRole::Hoveddokument => "H",
            DocumentRole::Vedlegg => "V",
        }
    }
}

/// A document to journal: one dokumentbeskrivelse with one dokumentobjekt and its file.
#[derive(Clone, PartialEq, Eq)]
pub struct NewDocument {
    /// `tittel` of the dokumentbeskrivelse.
    pub tittel: String,
    /// Main document or attachment.
    pub role: DocumentRole,
    /// The file's media type (`application/pdf`).
    pub mime_type: String,
    /// The PRONOM code (`fmt/95` PDF/A-1a, `fmt/354` PDF/A-1b, …). A code of the `format`
    /// list makes the variant an arkivformat (`A`) and is stored as `format`; any other code
    /// goes to `formatDetaljer` and the variant is a produksjonsformat (`P`).
    pub format: Option<String>,
    /// The file name (`filnavn`).
    pub filnavn: Option<String>,
    /// The bytes.
    pub bytes: bytes::Bytes,
}

impl fmt::Debug for NewDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewDocument")
            .field("tittel", &self.tittel)
            .field("role", &self.role)
            .field("mime_type", &self.mime_type)
            .field("format", &self.format)
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// A new journalpost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJournalpost {
    /// The saksmappe (systemID).
    pub case: String,
    /// I, U, N or X.
    pub kind: JournalpostType,
    /// `tittel`.
    pub tittel: String,
    /// `offentligTittel`.
    pub offentlig_tittel: Option<String>,
    /// `dokumentetsDato`.
    pub dokumentets_dato: Option<time::OffsetDateTime>,
    /// The senders and receivers.
    pub korrespondanseparter: Vec<Correspondent>,
    /// The documents, the main document first by convention (exactly one
    /// [`DocumentRole::Hoveddokument`] when there are any).
    pub documents: Vec<NewDocument>,
    /// The screening, if any.
    pub screening: Option<Screening>,
}

/// A document journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRef {
    /// The dokumentbeskrivelse's systemID.
    pub dokumentbeskrivelse: String,
    /// Its `dokumentnummer` within the journalpost (1, 2, …).
    pub dokumentnummer: i64,
    /// The dokumentobjekt's systemID (its file is stored).
    pub dokumentobjekt: String,
}

/// The journalpost created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalRef {
    /// Its systemID.
    pub system_id: String,
    /// `journalaar`.
    pub journalaar: i64,
    /// `journalsekvensnummer`: gap-free per municipality and year.
    pub journalsekvensnummer: i64,
    /// `journalpostnummer`: gap-free within the saksmappe.
    pub journalpostnummer: i64,
    /// `registreringsID` (`2026/17-3`).
    pub registrerings_id: String,
    /// Its documents, in the order given.
    pub documents: Vec<DocumentRef>,
}

/// An `avskrivningsmaate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Avskrivningsmaate {
    /// `BU` Besvart med brev.
    BesvartMedBrev,
    /// `BE` Besvart med e-post.
    BesvartMedEpost,
    /// `TLF` Besvart på telefon.
    BesvartPaaTelefon,
    /// `TE` Tatt til etterretning.
    TattTilEtterretning,
    /// `TO` Tatt til orientering.
    TattTilOrientering,
    /// `BN` Besvart med notat.
    BesvartMedNotat,
    /// `SA` Saken ble avsluttet.
    SakenBleAvsluttet,
}

impl Avskrivningsmaate {
    /// Its kode.
    pub fn kode(self) -> &'static str {
        match self {
            Avskrivningsmaate::BesvartMedBrev => "BU",
            Avskrivningsmaate::BesvartMedEpost => "BE",
            Avskrivningsmaate::BesvartPaaTelefon => "TLF",
            Avskrivningsmaate::TattTilEtterretning => "TE",
            Avskrivningsmaate::TattTilOrientering => "TO",
            Avskrivningsmaate::BesvartMedNotat => "BN",
            Avskrivningsmaate::SakenBleAvsluttet => "SA",
        }
    }

    /// Whether it answers with a document (brev, e-post, notat), which must be journaled.
    pub fn needs_reply(self) -> bool {
        matches!(
            self,
            Avskrivningsmaate::BesvartMedBrev | Avskrivningsmaate::BesvartMedEpost | Avskrivningsmaate::BesvartMedNotat
        )
    }
}

/// How a journalpost is written off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOff {
    /// By a reply journalpost (its systemID: an outgoing or internal journalpost), with `BU`,
    /// `BE` or `BN`.
    Reply {
        /// The reply's systemID.
        journalpost: String,
        /// `BU`, `BE` or `BN`.
        how: Avskrivningsmaate,
    },
    /// Without a reply: `TLF`, `TE`, `TO` or `SA`.
    Without(Avskrivningsmaate),
}

fn invalid(field: &str, message: impl Into<String>) -> ArchiveError {
    ArchiveError::Invalid { field: field.to_owned(), message: message.into() }
}

fn entity(name: &str) -> Result<&'static Entity, ArchiveError> {
    model::entity(name).ok_or_else(|| ArchiveError::Malformed(format!("entity {name} is not in the model")))
}

fn now_text() -> String {
    let now = kernel::time::now_in_norway();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn date_time_text(at: time::OffsetDateTime) -> Result<String, ArchiveError> {
    at.format(&time::format_description::well_known::Rfc3339)
        .map_err(|_| invalid("dokumentetsDato", "cannot be written as RFC 3339"))
}

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn non_empty(field: &str, text: &str) -> Result<(), ArchiveError> {
    if text.trim().is_empty() { Err(invalid(field, "must not be empty")) } else { Ok(()) }
}

/// A person identifier, checked: `(entity, field, digits)` of its nasjonalidentifikator.
fn person_identifier(field: &str, given: &str) -> Result<(&'static str, &'static str, String), ArchiveError> {
    let fnr =
        Fnr::parse(given).map_err(|_| invalid(field, "is not a valid fødselsnummer or d-nummer (control digits)"))?;
    Ok(match fnr.kind() {
        FnrKind::DNummer => ("dnummer", "dNummer", fnr.as_digits()),
        _ => ("foedselsnummer", "foedselsnummer", fnr.as_digits()),
    })
}

fn organisation_identifier(field: &str, given: &str) -> Result<String, ArchiveError> {
    OrgNr::parse(given.trim())
        .map(|o| o.as_digits())
        .map_err(|_| invalid(field, "is not a valid organisasjonsnummer (control digit)"))
}

/// The code values of some lists (the municipality's own rows) in the caller's transaction.
async fn codebook(tx: &mut MunicipalTx<'_>, lists: &[&str]) -> Result<CodeBook, ArchiveError> {
    let mut book = CodeBook::default();
    for list in lists {
        let rows = tx
            .fetch_all::<(String, String, i64)>(
                "SELECT kode, kodenavn, retired FROM archive_codes WHERE kommunenummer = $1 AND list = $2",
                &params![*list],
            )
            .await?;
        for (kode, kodenavn, retired) in rows {
            book.local.insert(((*list).to_owned(), kode), (kodenavn, retired != 0));
        }
    }
    Ok(book)
}

/// A person or organisation identifier, checked, as the nasjonalidentifikator it becomes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Identifier {
    /// A child object: `(entity, field, digits)` (`foedselsnummer`/`dnummer`).
    Child(&'static str, &'static str, String),
    /// The `enhetsidentifikator` embedded in a part/korrespondansepart enhet.
    Embedded,
}

/// What one part or korrespondansepart becomes: its entity, its fields, its person
/// identifier (a child of the saksmappe or journalpost) and the postnummer it uses.
pub(crate) struct PartyPlan {
    pub(crate) entity: &'static str,
    pub(crate) fields: Map<String, Value>,
    pub(crate) identifier: Option<Identifier>,
    pub(crate) postnummer: Option<(String, String)>,
}

impl PartyPlan {
    /// The person identifier's child object, if any: `(entity, body)`.
    pub(crate) fn identifier_child(&self) -> Option<(&'static str, Map<String, Value>)> {
        match &self.identifier {
            Some(Identifier::Child(entity, field, digits)) => {
                let mut body = Map::new();
                body.insert((*field).to_owned(), Value::String(digits.clone()));
                Some((entity, body))
            }
            _ => None,
        }
    }
}

/// An `enkeladresse` and the `(postnummer, poststed)` it uses.
fn address_fields(field: &str, address: &Address) -> Result<(Value, Option<(String, String)>), ArchiveError> {
    if address.lines.len() > 3 {
        return Err(invalid(field, "at most three address lines"));
    }
    non_empty(&format!("{field}.poststed"), &address.poststed)?;
    let mut out = Map::new();
    for (i, line) in address.lines.iter().enumerate() {
        out.insert(format!("adresselinje{}", i + 1), json!(line));
    }
    let mut used = None;
    if let Some(postnummer) = &address.postnummer {
        let postnummer = postnummer.trim();
        if postnummer.len() != 4 || !postnummer.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(&format!("{field}.postnr"), "a postnummer is four digits"));
        }
        out.insert("postnr".to_owned(), json!({"kode": postnummer}));
        used = Some((postnummer.to_owned(), address.poststed.trim().to_uppercase()));
    }
    out.insert("poststed".to_owned(), json!(address.poststed));
    Ok((Value::Object(out), used))
}

fn identified(
    field: &str,
    kind_is_person: bool,
    given: Option<&String>,
    fields: &mut Map<String, Value>,
) -> Result<Option<Identifier>, ArchiveError> {
    let Some(given) = given else {
        return Ok(None);
    };
    if kind_is_person {
        let (entity, name, digits) = person_identifier(field, given)?;
        Ok(Some(Identifier::Child(entity, name, digits)))
    } else {
        let orgnr = organisation_identifier(field, given)?;
        fields.insert("enhetsidentifikator".to_owned(), json!({"organisasjonsnummer": orgnr}));
        Ok(Some(Identifier::Embedded))
    }
}

/// A part of a case: `partperson` or `partenhet`.
pub(crate) fn party_plan(i: usize, party: &Party) -> Result<PartyPlan, ArchiveError> {
    let field = format!("parter[{i}]");
    non_empty(&format!("{field}.navn"), &party.navn)?;
    let mut fields = Map::new();
    fields.insert("navn".to_owned(), json!(party.navn));
    if let Some(rolle) = &party.rolle {
        fields.insert("partRolle".to_owned(), json!({"kode": rolle}));
    }
    let mut postnummer = None;
    if let Some(given) = &party.address {
        let (value, used) = address_fields(&format!("{field}.address"), given)?;
        fields.insert("postadresse".to_owned(), value);
        postnummer = used;
    }
    let person = party.kind == PartyKind::Person;
    let identifier = identified(&format!("{field}.identifier"), person, party.identifier.as_ref(), &mut fields)?;
    Ok(PartyPlan { entity: if person { "partperson" } else { "partenhet" }, fields, identifier, postnummer })
}

/// A korrespondansepart of a journalpost.
pub(crate) fn correspondent_plan(
    i: usize,
    party: &Correspondent,
    kind: JournalpostType,
) -> Result<PartyPlan, ArchiveError> {
    let field = format!("korrespondanseparter[{i}]");
    non_empty(&format!("{field}.navn"), &party.navn)?;
    let role = party.role.unwrap_or_else(|| CorrespondentRole::default_for(party.kind, kind));
    let mut fields = Map::new();
    fields.insert("korrespondanseparttype".to_owned(), json!({"kode": role.kode()}));
    if party.kind == CorrespondentKind::Intern {
        if party.identifier.is_some() {
            return Err(invalid(&format!("{field}.identifier"), "an internal party has none"));
        }
        fields.insert("saksbehandler".to_owned(), json!(party.navn));
        if let Some(unit) = &party.administrativ_enhet {
            fields.insert("administrativEnhet".to_owned(), json!(unit));
        }
        return Ok(PartyPlan { entity: "korrespondansepartintern", fields, identifier: None, postnummer: None });
    }
    fields.insert("navn".to_owned(), json!(party.navn));
    let mut postnummer = None;
    if let Some(given) = &party.address {
        let (value, used) = address_fields(&format!("{field}.address"), given)?;
        fields.insert("postadresse".to_owned(), value);
        postnummer = used;
    }
    let person = party.kind == CorrespondentKind::Person;
    if !person && let Some(contact) = &party.kontaktperson {
        fields.insert("kontaktperson".to_owned(), json!(contact));
    }
    let identifier = identified(&format!("{field}.identifier"), person, party.identifier.as_ref(), &mut fields)?;
    let entity = if person { "korrespondansepartperson" } else { "korrespondansepartenhet" };
    Ok(PartyPlan { entity, fields, identifier, postnummer })
}

/// The saksmappe's fields, and its parts.
pub(crate) fn case_plan(case: &NewCase) -> Result<(Map<String, Value>, Vec<PartyPlan>), ArchiveError> {
    non_empty("tittel", &case.tittel)?;
    let mut fields = Map::new();
    fields.insert("tittel".to_owned(), json!(case.tittel));
    if let Some(title) = &case.offentlig_tittel {
        fields.insert("offentligTittel".to_owned(), json!(title));
    }
    fields.insert("administrativEnhet".to_owned(), json!(case.administrativ_enhet));
    fields.insert("saksansvarlig".to_owned(), json!(case.saksansvarlig));
    if let Some(screening) = &case.screening {
        fields.insert("skjerming".to_owned(), screening.to_json());
    }
    let parts = case.parter.iter().enumerate().map(|(i, party)| party_plan(i, party)).collect::<Result<_, _>>()?;
    Ok((fields, parts))
}

/// A document's own checks: a title, a media type, within the size limit.
fn check_document(i: usize, document: &NewDocument, max_file_bytes: u64) -> Result<(), ArchiveError> {
    non_empty(&format!("documents[{i}].tittel"), &document.tittel)?;
    non_empty(&format!("documents[{i}].mime_type"), &document.mime_type)?;
    if document.bytes.len() as u64 > max_file_bytes {
        return Err(ArchiveError::TooLarge { limit: max_file_bytes });
    }
    Ok(())
}

/// The journalpost's fields, checked with everything that needs no database.
pub(crate) fn journalpost_plan(
    entry: &NewJournalpost,
    max_file_bytes: u64,
) -> Result<(Map<String, Value>, Vec<PartyPlan>), ArchiveError> {
    non_empty("tittel", &entry.tittel)?;
    let main = entry.documents.iter().filter(|d| d.role == DocumentRole::Hoveddokument).count();
    if !entry.documents.is_empty() && main != 1 {
        return Err(invalid("documents", format!("exactly one hoveddokument, not {main}")));
    }
    for (i, document) in entry.documents.iter().enumerate() {
        check_document(i, document, max_file_bytes)?;
    }
    let parties = entry
        .korrespondanseparter
        .iter()
        .enumerate()
        .map(|(i, party)| correspondent_plan(i, party, entry.kind))
        .collect::<Result<_, _>>()?;
    let mut fields = Map::new();
    fields.insert("tittel".to_owned(), json!(entry.tittel));
    if let Some(title) = &entry.offentlig_tittel {
        fields.insert("offentligTittel".to_owned(), json!(title));
    }
    fields.insert("journalposttype".to_owned(), json!({"kode": entry.kind.kode()}));
    if let Some(at) = entry.dokumentets_dato {
        fields.insert("dokumentetsDato".to_owned(), json!(date_time_text(at)?));
    }
    let attachments = entry.documents.iter().filter(|d| d.role == DocumentRole::Vedlegg).count();
    fields.insert("antallVedlegg".to_owned(), json!(attachments));
    if let Some(screening) = &entry.screening {
        fields.insert("skjerming".to_owned(), screening.to_json());
    }
    Ok((fields, parties))
}

/// A document's dokumentbeskrivelse and dokumentobjekt fields, and its media type as stored.
/// `is_archival` says whether a PRONOM code is in the `format` list in force.
pub(crate) fn document_plan(
    document: &NewDocument,
    is_archival: impl Fn(&str) -> bool,
) -> (Map<String, Value>, Map<String, Value>, String) {
    let description = obj(json!({
        "tittel": document.tittel,
        "tilknyttetRegistreringSom": {"kode": document.role.kode()},
        "dokumentstatus": {"kode": "F"},
    }));
    let mime_type = media_type(&document.mime_type);
    let mut fields = Map::new();
    fields.insert("versjonsnummer".to_owned(), json!(1));
    let archival = match &document.format {
        Some(code) if code != "av/0" && is_archival(code) => {
            fields.insert("format".to_owned(), json!({"kode": code}));
            true
        }
        Some(code) => {
            fields.insert("formatDetaljer".to_owned(), json!(code));
            false
        }
        None => false,
    };
    fields.insert("variantformat".to_owned(), json!({"kode": if archival { "A" } else { "P" }}));
    if let Some(name) = &document.filnavn {
        fields.insert("filnavn".to_owned(), json!(name));
    }
    // Stating what the file is lets the upload check it, and leaves nothing for the upload to
    // fill in afterwards (no endringslogg rows for a new object).
    fields.insert("mimeType".to_owned(), json!(mime_type));
    fields.insert("sjekksum".to_owned(), json!(store::blobs::sha256_hex(&document.bytes)));
    fields.insert("sjekksumAlgoritme".to_owned(), json!("SHA-256"));
    fields.insert("filstoerrelse".to_owned(), json!(document.bytes.len()));
    (description, fields, mime_type)
}

/// The avskrivning's method, checked against whether a reply is given.
pub(crate) fn write_off_method(how: &WriteOff) -> Result<Avskrivningsmaate, ArchiveError> {
    match how {
        WriteOff::Reply { how, .. } if !how.needs_reply() => {
            Err(invalid("avskrivningsmaate", format!("{} is not an answer by a journalpost", how.kode())))
        }
        WriteOff::Without(how) if how.needs_reply() => {
            Err(invalid("avskrivningsmaate", format!("{} needs the reply journalpost", how.kode())))
        }
        WriteOff::Reply { how, .. } | WriteOff::Without(how) => Ok(*how),
    }
}

/// Whether a postnummer can be written as the `postnr` code value: the `postnummer` list is
/// open (the standard gives it no values, and while the municipality has loaded none any
/// four digits are taken as stated, see `CodeBook::is_open`), or the municipality's list holds
/// it.
async fn postnummer_in_force(tx: &mut MunicipalTx<'_>, postnummer: &str) -> Result<bool, ArchiveError> {
    let found = tx
        .fetch_optional::<(i64,)>(
            "SELECT retired FROM archive_codes WHERE kommunenummer = $1 AND list = 'postnummer' AND kode = $2",
            &params![postnummer],
        )
        .await?;
    if let Some((retired,)) = found {
        return Ok(retired == 0);
    }
    let any = tx
        .fetch_optional::<(String,)>(
            "SELECT kode FROM archive_codes WHERE kommunenummer = $1 AND list = 'postnummer' LIMIT 1",
            &[],
        )
        .await?;
    Ok(any.is_none())
}

/// Creates a part or korrespondansepart (and its person identifier) under `parent`. A
/// postnummer the municipality's own `postnummer` list does not hold goes before the poststed
/// (`5003 Bergen`), as it is written on a letter, rather than being refused or lost.
async fn create_party(
    tx: &mut MunicipalTx<'_>,
    parent: &str,
    plan: &PartyPlan,
    actor: &Actor,
) -> Result<(), ArchiveError> {
    let mut fields = std::borrow::Cow::Borrowed(&plan.fields);
    if let Some((postnummer, _)) = &plan.postnummer
        && !postnummer_in_force(tx, postnummer).await?
        && let Some(Value::Object(address)) = fields.to_mut().get_mut("postadresse")
    {
        address.remove("postnr");
        let poststed = address.get("poststed").and_then(Value::as_str).unwrap_or_default().to_owned();
        address.insert("poststed".to_owned(), json!(format!("{postnummer} {poststed}")));
    }
    records::create(tx, Some(parent), entity(plan.entity)?, &fields, actor).await?;
    if let Some((id_entity, body)) = plan.identifier_child() {
        records::create(tx, Some(parent), entity(id_entity)?, &body, actor).await?;
    }
    Ok(())
}

/// Writes server-set fields the generic create leaves out (dokumentnummer, tilknyttetDato,
/// avskrivningsdato, …) into an object just created in this transaction; it is still the
/// object's first version, so nothing goes to the endringslogg.
async fn set_server_fields(
    tx: &mut MunicipalTx<'_>,
    object: &mut Object,
    fields: Vec<(&str, Value)>,
) -> Result<(), ArchiveError> {
    for (name, value) in fields {
        if object.entity.attribute(name).is_some() {
            object.body.insert(name.to_owned(), value);
        }
    }
    let updated = tx
        .execute(
            "UPDATE archive_objects SET body = $2 WHERE kommunenummer = $1 AND system_id = $3 AND version = $4",
            &params![Value::Object(object.body.clone()).to_string(), object.system_id.clone(), object.version],
        )
        .await?;
    if updated == 0 {
        return Err(ArchiveError::Conflict);
    }
    Ok(())
}

async fn find_default_arkivdel(tx: &mut MunicipalTx<'_>) -> Result<Option<String>, ArchiveError> {
    let rows = tx
        .fetch_all::<(String, String)>(
            "SELECT d.system_id, d.body FROM archive_objects d WHERE d.kommunenummer = $1 AND d.entity = 'arkivdel' \
             AND d.parent_id IN (SELECT a.system_id FROM archive_objects a WHERE a.kommunenummer = $1 \
             AND a.entity = 'arkiv' AND a.parent_id IS NULL) ORDER BY d.position",
            &[],
        )
        .await?;
    for (system_id, body) in rows {
        let body: Value =
            serde_json::from_str(&body).map_err(|_| ArchiveError::Malformed(format!("body of {system_id}")))?;
        if body.get("tittel").and_then(Value::as_str) == Some(DEFAULT_ARKIVDEL) && body.get("avsluttetDato").is_none() {
            return Ok(Some(system_id));
        }
    }
    Ok(None)
}

/// The municipality's default arkivdel: the first open arkivdel titled [`DEFAULT_ARKIVDEL`]
/// under a top-level arkiv; created with its arkiv and arkivskaper on first use.
async fn default_arkivdel(tx: &mut MunicipalTx<'_>, actor: &Actor) -> Result<String, ArchiveError> {
    if let Some(found) = find_default_arkivdel(tx).await? {
        return Ok(found);
    }
    // Two first cases at once: the counter row is locked until this transaction ends, so the
    // second waits and then finds the structure the first made.
    records::next_number(tx, "journaling:default-structure", 0).await?;
    if let Some(found) = find_default_arkivdel(tx).await? {
        return Ok(found);
    }
    let k = tx.kommunenummer();
    let navn = k.navn();
    let arkiv =
        records::create(tx, None, entity("arkiv")?, &obj(json!({"tittel": format!("{navn} kommune")})), actor).await?;
    records::create(
        tx,
        Some(&arkiv.system_id),
        entity("arkivskaper")?,
        &obj(json!({"arkivskaperID": k.as_str(), "arkivskaperNavn": format!("{navn} kommune")})),
        actor,
    )
    .await?;
    let arkivdel = records::create(
        tx,
        Some(&arkiv.system_id),
        entity("arkivdel")?,
        &obj(json!({"tittel": DEFAULT_ARKIVDEL})),
        actor,
    )
    .await?;
    Ok(arkivdel.system_id)
}

/// Where a case goes in an arkivdel the archivists have classified (it holds a
/// klassifikasjonssystem, so no saksmappe may stand directly under it): the first klasse of its
/// first klassifikasjonssystem that is not finished. `None` for an arkivdel that holds mapper.
async fn default_klasse(tx: &mut MunicipalTx<'_>, arkivdel: &str) -> Result<Option<String>, ArchiveError> {
    let rows = tx
        .fetch_all::<(String, String)>(
            "SELECT k.system_id, k.body FROM archive_objects k WHERE k.kommunenummer = $1 AND k.entity = 'klasse' \
             AND k.parent_id IN (SELECT s.system_id FROM archive_objects s WHERE s.kommunenummer = $1 \
             AND s.entity = 'klassifikasjonssystem' AND s.parent_id = $2) ORDER BY k.position",
            &params![arkivdel],
        )
        .await?;
    for (system_id, body) in rows {
        let body: Value =
            serde_json::from_str(&body).map_err(|_| ArchiveError::Malformed(format!("body of {system_id}")))?;
        if body.get("avsluttetDato").is_none() {
            return Ok(Some(system_id));
        }
    }
    Ok(None)
}

/// The open klasse (systemID) with this `klasseID` in the arkivdel's klassifikasjonssystemer, at
/// any depth, that takes mapper (one that holds sub-klasser does not); the first by position
/// when several have it.
async fn klasse_by_id(
    tx: &mut MunicipalTx<'_>,
    arkivdel: &str,
    klasse_id: &str,
) -> Result<Option<String>, ArchiveError> {
    let rows = tx
        .fetch_all::<(String, String)>(
            "WITH RECURSIVE tree (system_id) AS ( \
               SELECT s.system_id FROM archive_objects s WHERE s.kommunenummer = $1 \
                 AND s.entity = 'klassifikasjonssystem' AND s.parent_id = $2 \
               UNION ALL \
               SELECT c.system_id FROM archive_objects c JOIN tree t ON c.parent_id = t.system_id \
                 WHERE c.kommunenummer = $1 AND c.entity = 'klasse') \
             SELECT k.system_id, k.body FROM archive_objects k WHERE k.kommunenummer = $1 AND k.entity = 'klasse' \
               AND k.parent_id IN (SELECT system_id FROM tree) \
               AND NOT EXISTS (SELECT 1 FROM archive_objects c WHERE c.kommunenummer = $1 \
                 AND c.parent_id = k.system_id AND c.entity = 'klasse') \
             ORDER BY k.position",
            &params![arkivdel],
        )
        .await?;
    for (system_id, body) in rows {
        let body: Value =
            serde_json::from_str(&body).map_err(|_| ArchiveError::Malformed(format!("body of {system_id}")))?;
        if body.get("klasseID").and_then(Value::as_str).map(str::trim) == Some(klasse_id)
            && body.get("avsluttetDato").is_none()
        {
            return Ok(Some(system_id));
        }
    }
    Ok(None)
}

/// Whether a saksmappe takes no new journalposts: finished (avsluttetDato), or its saksstatus
/// is `A` (Avsluttet) or `U` (Utgår).
pub fn is_finished(case: &Object) -> bool {
    case.body.contains_key("avsluttetDato") || matches!(case.kode("saksstatus"), Some("A" | "U"))
}

fn media_type(given: &str) -> String {
    given.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

impl Noark {
    async fn create_case_in(
        &self,
        tx: &mut Tx,
        k: Kommunenummer,
        actor: &Actor,
        case: NewCase,
    ) -> Result<CaseRef, ArchiveError> {
        let (fields, parts) = case_plan(&case)?;
        let mut m = tx.municipal(k);
        let parent = match (&case.klasse, &case.arkivdel) {
            (Some(klasse), _) => {
                let found = records::get_in(&mut m, klasse).await?;
                if !found.entity.is_a("klasse") {
                    return Err(ArchiveError::NotFound);
                }
                found.system_id
            }
            (None, given) => {
                let arkivdel = match given {
                    Some(arkivdel) => {
                        let found = records::get_in(&mut m, arkivdel).await?;
                        if !found.entity.is_a("arkivdel") {
                            return Err(ArchiveError::NotFound);
                        }
                        found.system_id
                    }
                    None => default_arkivdel(&mut m, actor).await?,
                };
                let wanted = case.klasse_id.as_deref().map(str::trim).filter(|id| !id.is_empty());
                let named = match wanted {
                    Some(id) => klasse_by_id(&mut m, &arkivdel, id).await?,
                    None => None,
                };
                match (named, given) {
                    (Some(klasse), _) => klasse,
                    (None, given) => {
                        if let Some(id) = wanted {
                            tracing::warn!(
                                klasse_id = id,
                                "the arkivdel has no open klasse with this klasseID that takes mapper: the saksmappe goes to the default place"
                            );
                        }
                        match given {
                            Some(_) => arkivdel,
                            None => default_klasse(&mut m, &arkivdel).await?.unwrap_or(arkivdel),
                        }
                    }
                }
            }
        };
        let saksmappe = records::create(&mut m, Some(&parent), entity("saksmappe")?, &fields, actor).await?;
        for plan in &parts {
            create_party(&mut m, &saksmappe.system_id, plan, actor).await?;
        }
        let mappe_id = saksmappe.text("mappeID").unwrap_or_default().to_owned();
        Ok(CaseRef { system_id: saksmappe.system_id, mappe_id })
    }

    async fn journal_in(
        &self,
        tx: &mut Tx,
        k: Kommunenummer,
        actor: &Actor,
        entry: NewJournalpost,
    ) -> Result<JournalRef, ArchiveError> {
        let (fields, parties) = journalpost_plan(&entry, self.max_file_bytes())?;
        let mut m = tx.municipal(k);
        let case = records::get_in(&mut m, &entry.case).await?;
        if !case.entity.is_a("saksmappe") {
            return Err(ArchiveError::NotFound);
        }
        if is_finished(&case) {
            return Err(ArchiveError::Closed("saksmappe".to_owned()));
        }
        let journalpost =
            records::create(&mut m, Some(&case.system_id), entity("journalpost")?, &fields, actor).await?;
        for plan in &parties {
            create_party(&mut m, &journalpost.system_id, plan, actor).await?;
        }
        let documents = self.attach_in(tx, k, actor, &journalpost.system_id, 1, entry.documents).await?;
        let number = |field: &str| journalpost.body.get(field).and_then(Value::as_i64).unwrap_or_default();
        Ok(JournalRef {
            journalaar: number("journalaar"),
            journalsekvensnummer: number("journalsekvensnummer"),
            journalpostnummer: number("journalpostnummer"),
            registrerings_id: journalpost.text("registreringsID").unwrap_or_default().to_owned(),
            system_id: journalpost.system_id.clone(),
            documents,
        })
    }

    /// Adds documents to a journalpost made in this transaction (each a dokumentbeskrivelse with
    /// its dokumentobjekt and file), numbered from `first`. For a document that must carry the
    /// journalpost's own number — a letter rendered once its registreringsID is known.
    pub async fn attach_documents_in(
        &self,
        tx: &mut Tx,
        k: Kommunenummer,
        actor: &Actor,
        journalpost: &str,
        documents: Vec<NewDocument>,
    ) -> Result<Vec<DocumentRef>, ArchiveError> {
        let existing = {
            let mut m = tx.municipal(k);
            let found = records::get_in(&mut m, journalpost).await?;
            if !found.entity.is_a("journalpost") {
                return Err(ArchiveError::NotFound);
            }
            m.fetch_optional::<(i64,)>(
                "SELECT COUNT(*) FROM archive_objects WHERE kommunenummer = $1 AND parent_id = $2 AND entity = 'dokumentbeskrivelse'",
                &params![journalpost],
            )
            .await?
            .map_or(0, |(n,)| n)
        };
        for (i, document) in documents.iter().enumerate() {
            check_document(i, document, self.max_file_bytes())?;
        }
        self.attach_in(tx, k, actor, journalpost, existing + 1, documents).await
    }

    async fn attach_in(
        &self,
        tx: &mut Tx,
        k: Kommunenummer,
        actor: &Actor,
        journalpost: &str,
        first: i64,
        documents: Vec<NewDocument>,
    ) -> Result<Vec<DocumentRef>, ArchiveError> {
        let mut m = tx.municipal(k);
        let formats = if documents.iter().any(|d| d.format.is_some()) {
            codebook(&mut m, &["format"]).await?
        } else {
            CodeBook::default()
        };
        let mut planned = Vec::with_capacity(documents.len());
        for (i, document) in documents.iter().enumerate() {
            let number = first + i64::try_from(i).unwrap_or(i64::MAX);
            let (description_fields, object_fields, mime_type) =
                document_plan(document, |code| formats.lookup("format", code).is_some());
            let mut description =
                records::create(&mut m, Some(journalpost), entity("dokumentbeskrivelse")?, &description_fields, actor)
                    .await?;
            set_server_fields(
                &mut m,
                &mut description,
                vec![
                    ("dokumentnummer", json!(number)),
                    ("tilknyttetDato", json!(now_text())),
                    ("tilknyttetAv", json!(actor.name)),
                    ("referanseTilknyttetAv", json!(actor.id)),
                ],
            )
            .await?;
            let object =
                records::create(&mut m, Some(&description.system_id), entity("dokumentobjekt")?, &object_fields, actor)
                    .await?;
            planned.push((
                DocumentRef {
                    dokumentbeskrivelse: description.system_id,
                    dokumentnummer: number,
                    dokumentobjekt: object.system_id,
                },
                mime_type,
            ));
        }
        for ((reference, mime_type), document) in planned.iter().zip(documents) {
            self.store_file_in(tx, k, &reference.dokumentobjekt, mime_type, document.bytes, actor).await?;
        }
        Ok(planned.into_iter().map(|(reference, _)| reference).collect())
    }

    async fn write_off_in(
        &self,
        tx: &mut Tx,
        k: Kommunenummer,
        actor: &Actor,
        journalpost: &str,
        how: WriteOff,
    ) -> Result<(), ArchiveError> {
        let method = write_off_method(&how)?;
        let mut m = tx.municipal(k);
        let target = records::get_in(&mut m, journalpost).await?;
        if !target.entity.is_a("journalpost") {
            return Err(ArchiveError::NotFound);
        }
        if !matches!(target.kode("journalposttype"), Some("I" | "N")) {
            return Err(invalid("journalposttype", "only an incoming (I) or internal (N) journalpost is written off"));
        }
        let mut fields = Map::new();
        if let WriteOff::Reply { journalpost: reply, .. } = &how {
            if reply == journalpost {
                return Err(invalid("referanseAvskrivesAvJournalpost", "a journalpost cannot answer itself"));
            }
            let answer = records::get_in(&mut m, reply).await?;
            if !answer.entity.is_a("journalpost") {
                return Err(ArchiveError::NotFound);
            }
            if !matches!(answer.kode("journalposttype"), Some("U" | "N" | "X")) {
                return Err(invalid(
                    "referanseAvskrivesAvJournalpost",
                    "the reply must be an outgoing (U) or internal (N, X) journalpost",
                ));
            }
            fields.insert("referanseAvskrivesAvJournalpost".to_owned(), json!(answer.system_id));
        }
        fields.insert("avskrivningsmaate".to_owned(), json!({"kode": method.kode()}));
        let mut made = records::create(&mut m, Some(&target.system_id), entity("avskrivning")?, &fields, actor).await?;
        set_server_fields(
            &mut m,
            &mut made,
            vec![
                ("avskrivningsdato", json!(now_text())),
                ("avskrevetAv", json!(actor.name)),
                ("referanseAvskrevetAv", json!(actor.id)),
            ],
        )
        .await
    }

    async fn set_screening_in(
        &self,
        tx: &mut Tx,
        k: Kommunenummer,
        actor: &Actor,
        target: &str,
        screening: Screening,
    ) -> Result<(), ArchiveError> {
        let mut m = tx.municipal(k);
        let current = records::get_in(&mut m, target).await?;
        if !(current.entity.is_a("mappe") || current.entity.is_a("registrering")) {
            return Err(invalid(
                "skjerming",
                format!("a {} is not screened here; a saksmappe or journalpost is", current.entity.name),
            ));
        }
        let mut body = current.body.clone();
        body.insert("skjerming".to_owned(), screening.to_json());
        records::replace(&mut m, target, &body, Some(current.version), actor).await?;
        Ok(())
    }
}

impl Archive for Noark {
    fn create_case(
        &self,
        tx: &mut Tx,
        k: Kommunenummer,
        actor: &Actor,
        case: NewCase,
    ) -> impl Future<Output = Result<CaseRef, ArchiveError>> + Send {
        self.create_case_in(tx, k, actor, case)
    }

    fn journal(
        &self,
        tx: &mut Tx,
        k: Kommunenummer,
        actor: &Actor,
        entry: NewJournalpost,
    ) -> impl Future<Output = Result<JournalRef, ArchiveError>> + Send {
        self.journal_in(tx, k, actor, entry)
    }

    fn write_off(
        &self,
        tx: &mut Tx,
        k: Kommunenummer,
        actor: &Actor,
        journalpost: &str,
        how: WriteOff,
    ) -> impl Future<Output = Result<(), ArchiveError>> + Send {
        self.write_off_in(tx, k, actor, journalpost, how)
    }

    fn set_screening(
        &self,
        tx: &mut Tx,
        k: Kommunenummer,
        actor: &Actor,
        target: &str,
        screening: Screening,
    ) -> impl Future<Output = Result<(), ArchiveError>> + Send {
        self.set_screening_in(tx, k, actor, target, screening)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_never_show_in_debug_or_errors() {
        let party = Correspondent::person("Kari Nordmann").with_identifier("20914695016");
        assert!(!format!("{party:?}").contains("20914695016"));
        let error = person_identifier("x", "20914695017").expect_err("wrong control digit");
        assert!(!error.to_string().contains("2091469501"));
        assert_eq!(person_identifier("x", "20914695016").expect("synthetic fnr").0, "foedselsnummer");
        assert_eq!(organisation_identifier("x", "991825827").expect("orgnr"), "991825827");
        assert!(organisation_identifier("x", "991825828").is_err());
    }

    #[test]
    fn codes_are_the_catalogs() {
        for (list, kode) in [
            ("journalposttype", JournalpostType::InterntUtenOppfoelging.kode()),
            ("korrespondanseparttype", CorrespondentRole::Medavsender.kode()),
            ("avskrivningsmaate", Avskrivningsmaate::BesvartPaaTelefon.kode()),
            ("tilknyttetregistreringsom", DocumentRole::Vedlegg.kode()),
        ] {
            let values = model::code_list(list).expect("list").values;
            assert!(values.iter().any(|(k, _)| *k == kode), "{list}: {kode}");
        }
    }
}
