//! What the base registers know, in our types. Field names follow the registers' own terms where
//! the wire formats do (see the adapters); the Rust names are English where an honest twin
//! exists.

use std::fmt;

use kernel::{Fnr, Kommunenummer, Language, Matrikkelnummer, OrgNr, Postnummer};
use time::Date;

/// A person's name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Name {
    /// Fornavn.
    pub given: String,
    /// Mellomnavn.
    pub middle: Option<String>,
    /// Etternavn.
    pub family: String,
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.middle {
            Some(middle) => write!(f, "{} {} {}", self.given, middle, self.family),
            None => write!(f, "{} {}", self.given, self.family),
        }
    }
}

/// Kjønn, as Folkeregisteret records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// Kvinne.
    Female,
    /// Mann.
    Male,
}

/// Folkeregisterpersonstatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PersonStatus {
    /// Bosatt: lives in Norway.
    Bosatt,
    /// Utflyttet: has moved abroad.
    Utflyttet,
    /// Død.
    Doed,
    /// Midlertidig: a d-nummer person staying for a while.
    Midlertidig,
}

/// A postal address in Norway: a street address (vegadresse) or, where there is none, a
/// cadastral address (matrikkeladresse).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Address {
    /// Adressenavn + husnummer (+ bokstav).
    Vegadresse {
        /// The municipality.
        kommunenummer: String,
        /// Street name.
        adressenavn: String,
        /// House number.
        husnummer: u16,
        /// House letter, if any.
        husbokstav: Option<String>,
        /// Postnummer.
        postnummer: String,
        /// Poststed.
        poststed: String,
    },
    /// Gårdsnummer/bruksnummer, with a place name.
    Matrikkeladresse {
        /// The property.
        matrikkelnummer: String,
        /// Tilleggsnavn (the farm's or place's name).
        tilleggsnavn: Option<String>,
        /// Postnummer.
        postnummer: String,
        /// Poststed.
        poststed: String,
    },
}

impl Address {
    /// The postnummer, parsed.
    pub fn postnummer(&self) -> Option<Postnummer> {
        match self {
            Address::Vegadresse { postnummer, .. } | Address::Matrikkeladresse { postnummer, .. } => {
                Postnummer::parse(postnummer).ok()
            }
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Vegadresse { adressenavn, husnummer, husbokstav, postnummer, poststed, .. } => {
                write!(f, "{adressenavn} {husnummer}{}, {postnummer} {poststed}", husbokstav.as_deref().unwrap_or(""))
            }
            Address::Matrikkeladresse { matrikkelnummer, tilleggsnavn, postnummer, poststed } => {
                write!(f, "{} {matrikkelnummer}, {postnummer} {poststed}", tilleggsnavn.as_deref().unwrap_or(""))
            }
        }
    }
}

/// Adressebeskyttelse: how far a person's address must be kept hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Adressebeskyttelse {
    /// No protection.
    Ugradert,
    /// Fortrolig (code 7): the address is hidden from most users.
    Fortrolig,
    /// Strengt fortrolig (code 6): the address is hidden, and the register does not keep it.
    StrengtFortrolig,
    /// Strengt fortrolig, living abroad.
    StrengtFortroligUtland,
}

impl Adressebeskyttelse {
    /// True unless ugradert.
    pub fn is_protected(self) -> bool {
        self != Adressebeskyttelse::Ugradert
    }

    /// Strengt fortrolig, in Norway or abroad: the person is shielded so far that not even the
    /// name is shown to other residents.
    pub fn is_strengt_fortrolig(self) -> bool {
        matches!(self, Adressebeskyttelse::StrengtFortrolig | Adressebeskyttelse::StrengtFortroligUtland)
    }
}

/// An address that must not be shown. Its only way out is [`ProtectedAddress::reveal`], which
/// needs a [`ProtectedAddressGrant`]; it has no `Display`, its `Debug` prints nothing of it, and
/// it cannot be serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct ProtectedAddress {
    address: Address,
    level: Adressebeskyttelse,
}

impl fmt::Debug for ProtectedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProtectedAddress({:?}, [redacted])", self.level)
    }
}

/// Proof that the caller may see protected addresses. Only [`crate::Caller::protected_address_grant`]
/// makes one, and only for callers that hold the permission.
#[derive(Debug)]
pub struct ProtectedAddressGrant {
    pub(crate) _private: (),
}

impl ProtectedAddress {
    pub(crate) fn new(address: Address, level: Adressebeskyttelse) -> Self {
        Self { address, level }
    }

    /// The address, for storing it again; never for showing it.
    pub(crate) fn inner(&self) -> &Address {
        &self.address
    }

    /// The level of protection.
    pub fn level(&self) -> Adressebeskyttelse {
        self.level
    }

    /// The address, for a caller that holds the grant.
    pub fn reveal(&self, _grant: &ProtectedAddressGrant) -> &Address {
        &self.address
    }
}

/// Where a person lives: an ordinary address, a protected one, or none known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Residence {
    /// An ordinary address, free to show to those who may see the person.
    Open(Address),
    /// A protected address; see [`ProtectedAddress`].
    Protected(ProtectedAddress),
    /// No address known (emigrated, or none registered).
    Unknown,
}

/// One period at one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidencePeriod {
    /// Where.
    pub residence: Residence,
    /// Flyttedato: from when.
    pub from: Date,
    /// Until when; `None` for the current address.
    pub to: Option<Date>,
}

/// How a related person relates to this one (relatertPersonsRolle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RelationRole {
    /// Mother.
    Mor,
    /// Father.
    Far,
    /// Co-mother.
    Medmor,
    /// Child.
    Barn,
    /// Spouse.
    Ektefelle,
    /// Registered partner.
    Partner,
}

/// A family relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyRelation {
    /// The other person.
    pub related: Fnr,
    /// Who the other person is to this one.
    pub role: RelationRole,
}

/// A person in Folkeregisteret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Fødselsnummer or d-nummer.
    pub fnr: Fnr,
    /// Name.
    pub name: Name,
    /// Date of birth.
    pub birth_date: Date,
    /// Born in this Norwegian municipality, if born in Norway.
    pub birth_kommune: Option<Kommunenummer>,
    /// Country of birth (ISO 3166-1 alpha-3), e.g. `NOR`.
    pub birth_country: String,
    /// Sex.
    pub sex: Sex,
    /// Status.
    pub status: PersonStatus,
    /// The municipality the person lives in, if in Norway.
    pub bosted_kommune: Option<Kommunenummer>,
    /// Addresses, newest first.
    pub residences: Vec<ResidencePeriod>,
    /// Parents, children, spouse or partner.
    pub relations: Vec<FamilyRelation>,
    /// Children this person has parental responsibility (foreldreansvar) for.
    pub parental_responsibility_for: Vec<Fnr>,
    /// Citizenships (ISO 3166-1 alpha-3).
    pub citizenships: Vec<String>,
    /// Date of death.
    pub death_date: Option<Date>,
    /// The guardian (verge), if under guardianship.
    pub guardian: Option<Fnr>,
    /// Address protection.
    pub adressebeskyttelse: Adressebeskyttelse,
}

impl Person {
    /// The current residence.
    pub fn current_residence(&self) -> &Residence {
        self.residences.iter().find(|p| p.to.is_none()).map_or(&Residence::Unknown, |p| &p.residence)
    }

    /// Age in whole years on `day`.
    pub fn age_on(&self, day: Date) -> i32 {
        let mut age = day.year() - self.birth_date.year();
        if (day.month() as u8, day.day()) < (self.birth_date.month() as u8, self.birth_date.day()) {
            age -= 1;
        }
        age
    }
}

/// A role in an organisation (Enhetsregisteret's rolletype).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OrganisationRole {
    /// DAGL: daglig leder.
    #[serde(rename = "DAGL")]
    DagligLeder,
    /// LEDE: styreleder.
    #[serde(rename = "LEDE")]
    Styreleder,
    /// MEDL: styremedlem.
    #[serde(rename = "MEDL")]
    Styremedlem,
    /// KONT: kontaktperson.
    #[serde(rename = "KONT")]
    Kontaktperson,
}

impl OrganisationRole {
    /// Enhetsregisteret's code.
    pub fn code(self) -> &'static str {
        match self {
            OrganisationRole::DagligLeder => "DAGL",
            OrganisationRole::Styreleder => "LEDE",
            OrganisationRole::Styremedlem => "MEDL",
            OrganisationRole::Kontaktperson => "KONT",
        }
    }

    /// Parses Enhetsregisteret's code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "DAGL" => Some(OrganisationRole::DagligLeder),
            "LEDE" => Some(OrganisationRole::Styreleder),
            "MEDL" => Some(OrganisationRole::Styremedlem),
            "KONT" => Some(OrganisationRole::Kontaktperson),
            _ => None,
        }
    }
}

/// An organisation in Enhetsregisteret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    /// Organisasjonsnummer.
    pub orgnr: OrgNr,
    /// Name.
    pub name: String,
    /// Organisasjonsform code, e.g. `AS`, `ENK`, `FLI` (forening/lag/innretning).
    pub form: String,
    /// Forretningsadresse.
    pub business_address: Option<Address>,
    /// Postadresse.
    pub postal_address: Option<Address>,
    /// The municipality of the business address.
    pub kommune: Option<Kommunenummer>,
    /// Næringskode (SN2007), e.g. `62.010`.
    pub industry_code: Option<String>,
    /// Number of employees.
    pub employees: u32,
    /// Stiftelsesdato.
    pub founded: Option<Date>,
    /// Slettedato, if deleted.
    pub deleted: Option<Date>,
    /// Under bankruptcy (konkurs).
    pub bankrupt: bool,
    /// Roles held by persons, by fødselsnummer. From the real Enhetsregisteret only when its
    /// authorised API is configured (the open API names no role holder by number); else empty.
    pub roles: Vec<(OrganisationRole, Fnr)>,
    /// For a sub-unit (underenhet), the unit it belongs to (`overordnetEnhet`); `None` for a
    /// main unit.
    pub parent: Option<OrgNr>,
}

/// An owner of a property, with a share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A person.
    Person(Fnr),
    /// An organisation.
    Organisation(OrgNr),
}

/// A building on a property.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Building {
    /// Bygningsnummer.
    pub number: u64,
    /// Bygningstype code, e.g. `111` (enebolig), `142` (boligblokk).
    pub building_type: String,
    /// Bruksareal in m².
    pub area_m2: u32,
}

/// A property in Matrikkelen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// Matrikkelnummer.
    pub matrikkelnummer: Matrikkelnummer,
    /// Addresses on it.
    pub addresses: Vec<Address>,
    /// Owners with shares (numerator, denominator).
    pub owners: Vec<(Owner, u32, u32)>,
    /// Buildings.
    pub buildings: Vec<Building>,
}

/// Reservation against digital communication (reservasjon in KRR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContactStatus {
    /// AKTIV.
    Aktiv,
    /// SLETTET.
    Slettet,
    /// IKKE_REGISTRERT.
    IkkeRegistrert,
}

/// A digital mailbox provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MailboxProvider {
    /// Digipost (orgnr 984661185).
    Digipost,
    /// e-Boks (orgnr 922020175).
    EBoks,
}

impl MailboxProvider {
    /// The provider's organisasjonsnummer, as KRR gives it.
    pub fn orgnr(self) -> &'static str {
        match self {
            MailboxProvider::Digipost => "984661185",
            MailboxProvider::EBoks => "922020175",
        }
    }
}

/// A person's entry in Kontakt- og reservasjonsregisteret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Whose entry.
    pub fnr: Fnr,
    /// Reserved against digital communication: must get paper.
    pub reserved: bool,
    /// Status of the entry.
    pub status: ContactStatus,
    /// May be notified by e-mail or SMS: KRR's `varslingsstatus` is `KAN_VARSLES`, or, where KRR
    /// leaves `varslingsstatus` out, the entry is active and unreserved and at least one of
    /// [`Contact::email`] and [`Contact::mobile`] is there (see there).
    pub can_be_notified: bool,
    /// E-mail address for notices. Where KRR gives no `varslingsstatus`, an address neither
    /// updated nor verified in the last 18 months is left out (eForvaltningsforskriften § 32:
    /// such contact data must not be used for notices).
    pub email: Option<String>,
    /// Mobile number for notices, by the same 18-month rule as [`Contact::email`].
    pub mobile: Option<String>,
    /// Digital mailbox: provider and address.
    pub mailbox: Option<(MailboxProvider, String)>,
    /// Preferred language.
    pub language: Option<Language>,
}
