//! Enhetsregisteret (Brønnøysundregistrene) over its REST API, as data.brreg.no's API
//! documentation (`/enhetsregisteret/api/dokumentasjon/no/index.html`) lists it:
//!
//! - `GET {base}/enhetsregisteret/api/enheter/{orgnr}` → a main unit (`organisasjonsnummer`,
//!   `navn`, `organisasjonsform{kode}`, `forretningsadresse`/`postadresse` `{adresse[],
//!   postnummer, poststed, kommunenummer, landkode}`, `naeringskode1{kode}`, `antallAnsatte`,
//!   `stiftelsesdato`, `konkurs`, `slettedato`); 404 unknown, 410 deleted;
//! - when that answers 404, `GET {base}/enhetsregisteret/api/underenheter/{orgnr}`: sub-units
//!   (underenheter, e.g. a school or a shop of a company) are only there. They add
//!   `beliggenhetsadresse` (where the unit is) and `overordnetEnhet` (the parent's number), and
//!   have no roles of their own;
//! - roles (daglig leder, styreleder, ...): the **open** `.../api/enheter/{orgnr}/roller` names a
//!   role holder by name and birth date only, never by fødselsnummer, so it cannot tell who a
//!   logged-in person is. The number is only in the **authorised** API,
//!   `GET {base}/enhetsregisteret/autorisert-api/enheter/{orgnr}/roller` with a Maskinporten
//!   token, in the same `{"rollegrupper":[{"type","roller":[{"type":{"kode"},"person":{...}|
//!   "enhet":{...},"fratraadt","avregistrert"}]}]}` shape plus `person.fodselsnummer`. The client
//!   reads roles from there when [`EnhetsregisteretClient::with_authorised_roles`] says the token
//!   may; otherwise it does not ask for roles at all (names and birth dates it could not use
//!   are personal data it should not fetch), and [`Organisation::roles`] is empty.
//!
//! Mapping choices:
//!
//! - roles `DAGL`, `LEDE`, `MEDL` and `KONT` held by a living person with a fødselsnummer
//!   become [`Organisation::roles`]; roles held by an organisation (`enhet`), by a person
//!   without an identifier or marked `erDoed`, that have ended (`fratraadt`/`avregistrert`), or
//!   of other types are left out;
//! - a unit answered with 200 but carrying a `slettedato` is [`RegisterError::Gone`], as the
//!   trait promises; an empty `slettedato` (`""`) is no date, and the unit stands;
//! - date fields written as `""` are absent; address lines that are `null` or `""` are skipped,
//!   and an `adresse` that is `null` is no lines;
//! - the free-text address lines become an [`Address::Vegadresse`] when the first line reads
//!   `street number[letter]` in Norway; anything else (a postboks, a foreign address, no
//!   number) gives no address. A sub-unit's business address is its `beliggenhetsadresse`;
//! - the municipality is the forretningsadresse's (else the beliggenhetsadresse's, else the
//!   postadresse's) kommunenummer, if it is in the 2024 list; a missing `antallAnsatte` is 0.

use kernel::{Fnr, OrgNr};
use serde::Deserialize;

use super::{Http, HttpConfig, lenient_kommune, optional_date, unreadable};
use crate::model::{Address, Organisation, OrganisationRole};
use crate::{OrganisationSource, Register, RegisterError};

const REGISTER: Register = Register::Enhetsregisteret;

/// Enhetsregisteret's API.
#[derive(Debug, Clone)]
pub struct EnhetsregisteretClient {
    http: Http,
    authorised_roles: bool,
}

impl EnhetsregisteretClient {
    /// A client for the service at `config.base_url` (`https://data.brreg.no`), reading no
    /// roles (see the module documentation).
    pub fn new(config: HttpConfig) -> Result<Self, RegisterError> {
        Ok(Self { http: Http::new(REGISTER, config)?, authorised_roles: false })
    }

    /// The same client reading roles, with their holders' fødselsnummer, from the authorised
    /// API. The configured bearer token must be a Maskinporten token Brønnøysundregistrene
    /// accepts there; a refusal is [`RegisterError::Refused`], never an empty list.
    pub fn with_authorised_roles(mut self) -> Self {
        self.authorised_roles = true;
        self
    }

    /// Whether roles come from the authorised API.
    pub fn reads_authorised_roles(&self) -> bool {
        self.authorised_roles
    }
}

impl OrganisationSource for EnhetsregisteretClient {
    async fn organisation(&self, orgnr: &OrgNr) -> Result<Option<Organisation>, RegisterError> {
        let digits = orgnr.as_digits();
        let main = self
            .http
            .get::<WireEnhet>(
                "enhetsregisteret.enhet",
                &self.http.url(&format!("/enhetsregisteret/api/enheter/{digits}")),
            )
            .await?;
        let (enhet, is_sub_unit) = match main {
            Some(enhet) => (enhet, false),
            None => {
                let url = self.http.url(&format!("/enhetsregisteret/api/underenheter/{digits}"));
                match self.http.get::<WireEnhet>("enhetsregisteret.underenhet", &url).await? {
                    Some(underenhet) => (underenhet, true),
                    None => return Ok(None),
                }
            }
        };
        if optional_date(REGISTER, "slettedato", enhet.slettedato.as_deref())?.is_some() {
            return Err(RegisterError::Gone);
        }
        let roles = if self.authorised_roles && !is_sub_unit {
            let url = self.http.url(&format!("/enhetsregisteret/autorisert-api/enheter/{digits}/roller"));
            self.http.get::<WireRoller>("enhetsregisteret.roller", &url).await?.unwrap_or_default()
        } else {
            WireRoller::default()
        };
        enhet.into_organisation(roles).map(Some)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WireEnhet {
    organisasjonsnummer: Option<String>,
    navn: Option<String>,
    organisasjonsform: Option<WireKode>,
    forretningsadresse: Option<WireAdresse>,
    beliggenhetsadresse: Option<WireAdresse>,
    postadresse: Option<WireAdresse>,
    naeringskode1: Option<WireKode>,
    antall_ansatte: Option<u32>,
    stiftelsesdato: Option<String>,
    konkurs: Option<bool>,
    slettedato: Option<String>,
    overordnet_enhet: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireKode {
    kode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireAdresse {
    #[serde(deserialize_with = "nullable_lines")]
    adresse: Vec<Option<String>>,
    postnummer: Option<String>,
    poststed: Option<String>,
    kommunenummer: Option<String>,
    landkode: Option<String>,
}

/// `"adresse": null` is no lines; `null` lines inside are kept as `None` and skipped later.
fn nullable_lines<'de, D>(deserializer: D) -> Result<Vec<Option<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Option::<Vec<Option<String>>>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireRoller {
    rollegrupper: Vec<WireRollegruppe>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireRollegruppe {
    roller: Vec<WireRolle>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireRolle {
    #[serde(rename = "type")]
    rolletype: Option<WireKode>,
    person: Option<WireRollePerson>,
    enhet: Option<serde_json::Value>,
    fratraadt: Option<bool>,
    avregistrert: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WireRollePerson {
    fodselsnummer: Option<String>,
    foedselsnummer: Option<String>,
    er_doed: Option<bool>,
}

/// Splits "Storgata 5B" into ("Storgata", 5, Some("B")).
pub(crate) fn street_line(line: &str) -> Option<(String, u16, Option<String>)> {
    let (street, number) = line.trim().rsplit_once(' ')?;
    let lower = street.trim().to_lowercase();
    if ["postboks", "boks", "pb", "pb."].iter().any(|p| lower == *p || lower.starts_with(&format!("{p} "))) {
        // A post-office box is not a street address.
        return None;
    }
    let digits_end = number.find(|c: char| !c.is_ascii_digit()).unwrap_or(number.len());
    let husnummer = number.get(..digits_end)?.parse::<u16>().ok()?;
    let letter = number.get(digits_end..)?.trim();
    if street.trim().is_empty() || letter.chars().count() > 1 || !letter.chars().all(char::is_alphabetic) {
        return None;
    }
    Some((street.trim().to_owned(), husnummer, (!letter.is_empty()).then(|| letter.to_uppercase())))
}

impl WireAdresse {
    fn to_address(&self) -> Option<Address> {
        if self.landkode.as_deref().is_some_and(|land| !land.trim().is_empty() && land != "NO") {
            return None;
        }
        let first = self.adresse.iter().flatten().find(|line| !line.trim().is_empty())?;
        let (adressenavn, husnummer, husbokstav) = street_line(first)?;
        Some(Address::Vegadresse {
            kommunenummer: self.kommunenummer.clone().unwrap_or_default(),
            adressenavn,
            husnummer,
            husbokstav,
            postnummer: self.postnummer.clone().unwrap_or_default(),
            poststed: self.poststed.clone().unwrap_or_default(),
        })
    }
}

impl WireEnhet {
    fn into_organisation(self, roller: WireRoller) -> Result<Organisation, RegisterError> {
        let orgnr_text = self
            .organisasjonsnummer
            .as_deref()
            .ok_or_else(|| unreadable(REGISTER, "organisasjonsnummer", "missing"))?;
        let orgnr = OrgNr::parse(orgnr_text)
            .map_err(|e| unreadable(REGISTER, "organisasjonsnummer", format!("not valid: {e}")))?;
        let parent = self
            .overordnet_enhet
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(|text| {
                OrgNr::parse(text).map_err(|e| unreadable(REGISTER, "overordnetEnhet", format!("not valid: {e}")))
            })
            .transpose()?;
        let mut roles: Vec<(OrganisationRole, Fnr)> = Vec::new();
        for (group, gruppe) in roller.rollegrupper.into_iter().enumerate() {
            for (index, rolle) in gruppe.roller.into_iter().enumerate() {
                if rolle.enhet.is_some() || rolle.fratraadt == Some(true) || rolle.avregistrert == Some(true) {
                    continue;
                }
                let Some(role) = rolle.rolletype.and_then(|t| t.kode).and_then(|k| OrganisationRole::from_code(&k))
                else {
                    continue;
                };
                let Some(person) = rolle.person.filter(|p| p.er_doed != Some(true)) else { continue };
                let Some(identifier) = person.fodselsnummer.or(person.foedselsnummer) else { continue };
                let fnr = Fnr::parse(&identifier).map_err(|e| {
                    unreadable(
                        REGISTER,
                        format!("rollegrupper[{group}].roller[{index}].person.fodselsnummer"),
                        format!("not a valid identifier: {e}"),
                    )
                })?;
                if !roles.contains(&(role, fnr)) {
                    roles.push((role, fnr));
                }
            }
        }
        let business_address = self
            .forretningsadresse
            .as_ref()
            .and_then(WireAdresse::to_address)
            .or_else(|| self.beliggenhetsadresse.as_ref().and_then(WireAdresse::to_address));
        let postal_address = self.postadresse.as_ref().and_then(WireAdresse::to_address);
        let kommune = lenient_kommune(
            [&self.forretningsadresse, &self.beliggenhetsadresse, &self.postadresse]
                .into_iter()
                .flatten()
                .find_map(|a| a.kommunenummer.as_deref().filter(|k| !k.trim().is_empty())),
        );
        Ok(Organisation {
            orgnr,
            name: self.navn.unwrap_or_default(),
            form: self.organisasjonsform.and_then(|f| f.kode).unwrap_or_default(),
            business_address,
            postal_address,
            kommune,
            industry_code: self.naeringskode1.and_then(|n| n.kode).filter(|k| !k.trim().is_empty()),
            employees: self.antall_ansatte.unwrap_or(0),
            founded: optional_date(REGISTER, "stiftelsesdato", self.stiftelsesdato.as_deref())?,
            deleted: None,
            bankrupt: self.konkurs.unwrap_or(false),
            roles,
            parent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::street_line;

    #[test]
    fn street_lines() {
        assert_eq!(street_line("Havnegata 48"), Some(("Havnegata".into(), 48, None)));
        assert_eq!(street_line("Kong Oscars gate 5b"), Some(("Kong Oscars gate".into(), 5, Some("B".into()))));
        assert_eq!(street_line("Postboks 8100 Dep"), None);
        assert_eq!(street_line("Postboks 12"), None);
        assert_eq!(street_line("Pb. 4"), None);
        assert_eq!(street_line("Strandkaien"), None);
        assert_eq!(street_line("Storgata 5-7"), None);
    }
}
