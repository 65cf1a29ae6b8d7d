//! Enhetsregisteret (Brønnøysundregistrene) over its REST API:
//!
//! - `GET {base}/enhetsregisteret/api/enheter/{orgnr}` → the enhet (`organisasjonsnummer`,
//!   `navn`, `organisasjonsform{kode}`, `forretningsadresse`/`postadresse` `{adresse[],
//!   postnummer, poststed, kommunenummer, landkode}`, `naeringskode1{kode}`, `antallAnsatte`,
//!   `stiftelsesdato`, `konkurs`, `slettedato`); 404 unknown, 410 deleted;
//! - `GET {base}/enhetsregisteret/api/enheter/{orgnr}/roller` →
//!   `{"rollegrupper":[{"type":{"kode"},"roller":[{"type":{"kode"},"person":{...}|"enhet":{...},
//!   "fratraadt","avregistrert"}]}]}`.
//!
//! Mapping choices:
//!
//! - roles `DAGL`, `LEDE`, `MEDL` and `KONT` held by a person with a fødselsnummer become
//!   [`Organisation::roles`]; roles held by an organisation (`enhet`), by a person without an
//!   identifier, that have ended (`fratraadt`/`avregistrert`), or of other types are left out.
//!   The open API at data.brreg.no only gives a role holder's `fodselsdato`; the identifier
//!   (`person.fodselsnummer`) comes with the authorised API, so on the open API the list is empty;
//! - an enhet answered with 200 but carrying a `slettedato` is [`RegisterError::Gone`] too, as
//!   the trait promises;
//! - the free-text address lines become an [`Address::Vegadresse`] when the first line reads
//!   `street number[letter]` in Norway; anything else (a postboks, a foreign address, no
//!   number) gives no address;
//! - the municipality is the forretningsadresse's (else the postadresse's) kommunenummer, if it
//!   is in the 2024 list; a missing `antallAnsatte` is 0.

use kernel::{Fnr, OrgNr};
use serde::Deserialize;

use super::{Http, HttpConfig, iso_date, lenient_kommune};
use crate::model::{Address, Organisation, OrganisationRole};
use crate::{OrganisationSource, RegisterError};

/// Enhetsregisteret's API.
#[derive(Debug, Clone)]
pub struct EnhetsregisteretClient {
    http: Http,
}

impl EnhetsregisteretClient {
    /// A client for the service at `config.base_url` (e.g. `https://data.brreg.no`).
    pub fn new(config: HttpConfig) -> Result<Self, RegisterError> {
        Ok(Self { http: Http::new(config)? })
    }
}

impl OrganisationSource for EnhetsregisteretClient {
    async fn organisation(&self, orgnr: &OrgNr) -> Result<Option<Organisation>, RegisterError> {
        let base = format!("/enhetsregisteret/api/enheter/{}", orgnr.as_digits());
        let Some(enhet) = self.http.get::<WireEnhet>("enhetsregisteret.enhet", &self.http.url(&base)).await? else {
            return Ok(None);
        };
        if enhet.slettedato.is_some() {
            return Err(RegisterError::Gone);
        }
        let roles = self
            .http
            .get::<WireRoller>("enhetsregisteret.roller", &self.http.url(&format!("{base}/roller")))
            .await?
            .unwrap_or_default();
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
    postadresse: Option<WireAdresse>,
    naeringskode1: Option<WireKode>,
    antall_ansatte: Option<u32>,
    stiftelsesdato: Option<String>,
    konkurs: Option<bool>,
    slettedato: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireKode {
    kode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireAdresse {
    adresse: Vec<Option<String>>,
    postnummer: Option<String>,
    poststed: Option<String>,
    kommunenummer: Option<String>,
    landkode: Option<String>,
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
#[serde(default)]
struct WireRollePerson {
    fodselsnummer: Option<String>,
    foedselsnummer: Option<String>,
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
        if self.landkode.as_deref().is_some_and(|land| land != "NO") {
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
            .ok_or_else(|| RegisterError::Malformed("enhet without organisasjonsnummer".into()))?;
        let orgnr = OrgNr::parse(orgnr_text)
            .map_err(|e| RegisterError::Malformed(format!("enhet: organisasjonsnummer is not valid: {e}")))?;
        let mut roles: Vec<(OrganisationRole, Fnr)> = Vec::new();
        for rolle in roller.rollegrupper.into_iter().flat_map(|g| g.roller) {
            if rolle.enhet.is_some() || rolle.fratraadt == Some(true) || rolle.avregistrert == Some(true) {
                continue;
            }
            let Some(role) = rolle.rolletype.and_then(|t| t.kode).and_then(|k| OrganisationRole::from_code(&k)) else {
                continue;
            };
            let Some(identifier) = rolle.person.and_then(|p| p.fodselsnummer.or(p.foedselsnummer)) else { continue };
            let fnr = Fnr::parse(&identifier)
                .map_err(|e| RegisterError::Malformed(format!("roller: fodselsnummer is not valid: {e}")))?;
            if !roles.contains(&(role, fnr)) {
                roles.push((role, fnr));
            }
        }
        let business_address = self.forretningsadresse.as_ref().and_then(WireAdresse::to_address);
        let postal_address = self.postadresse.as_ref().and_then(WireAdresse::to_address);
        let kommune = lenient_kommune(
            self.forretningsadresse
                .as_ref()
                .and_then(|a| a.kommunenummer.as_deref())
                .or_else(|| self.postadresse.as_ref().and_then(|a| a.kommunenummer.as_deref())),
        );
        Ok(Organisation {
            orgnr,
            name: self.navn.unwrap_or_default(),
            form: self.organisasjonsform.and_then(|f| f.kode).unwrap_or_default(),
            business_address,
            postal_address,
            kommune,
            industry_code: self.naeringskode1.and_then(|n| n.kode),
            employees: self.antall_ansatte.unwrap_or(0),
            founded: self.stiftelsesdato.as_deref().map(iso_date).transpose()?,
            deleted: None,
            bankrupt: self.konkurs.unwrap_or(false),
            roles,
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
