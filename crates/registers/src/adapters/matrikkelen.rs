//! Matrikkelen (Kartverket). Matrikkelen's own API is SOAP, offered only to agreement holders,
//! and has no public REST shape; this adapter speaks a small JSON shape of our own, meant to
//! sit in front of it (a thin proxy, or a municipality's own copy):
//!
//! ```text
//! GET {base}/matrikkelen/api/v1/eiendommer/{kommunenummer}-{gnr}-{bnr}-{fnr}-{snr}
//! 200 {
//!   "matrikkelnummer": {"kommunenummer": "4632", "gaardsnummer": 12, "bruksnummer": 345,
//!                       "festenummer": 0, "seksjonsnummer": 0},
//!   "adresser": [
//!     {"vegadresse": {"kommunenummer": "4632", "adressenavn": "Kystvegen",
//!                     "adressenummer": {"husnummer": "12", "husbokstav": "B"},
//!                     "poststed": {"postnummer": "5943", "poststedsnavn": "AUSTRHEIM"}}},
//!     {"matrikkeladresse": {"matrikkelnummer": {...}, "adressetilleggsnavn": "Nordre Haugen",
//!                           "poststed": {...}}}
//!   ],
//!   "eiere": [
//!     {"foedselsnummer": "...", "andel": {"teller": 1, "nevner": 2}},
//!     {"organisasjonsnummer": "974760673", "andel": {"teller": 1, "nevner": 2}}
//!   ],
//!   "bygninger": [{"bygningsnummer": 300123456, "bygningstype": "111", "bruksareal": 142}]
//! }
//! 404 no such property
//! ```
//!
//! The addresses are written as Folkeregisteret writes `vegadresse` and `matrikkeladresse`, so
//! both adapters read them with the same code. An owner has exactly one of `foedselsnummer`
//! and `organisasjonsnummer`; a missing `andel` is the whole (1/1); a share with a zero
//! denominator is malformed. `bygningstype` may be a string or a number (Matrikkelen's codes
//! are three digits); a missing `bruksareal` is 0. The answer must name the property asked for.

use kernel::{Fnr, Matrikkelnummer, OrgNr};
use serde::Deserialize;

use super::{Http, HttpConfig, StringOrNumber, WireMatrikkeladresse, WireMatrikkelnummer, WireVegadresse, unreadable};
use crate::model::{Address, Building, Owner, Property};
use crate::{PropertySource, Register, RegisterError};

const REGISTER: Register = Register::Matrikkelen;

/// Matrikkelen through the JSON shape of the module documentation.
#[derive(Debug, Clone)]
pub struct MatrikkelenClient {
    http: Http,
}

impl MatrikkelenClient {
    /// A client for the service at `config.base_url`.
    pub fn new(config: HttpConfig) -> Result<Self, RegisterError> {
        Ok(Self { http: Http::new(REGISTER, config)? })
    }
}

impl PropertySource for MatrikkelenClient {
    async fn property(&self, matrikkelnummer: &Matrikkelnummer) -> Result<Option<Property>, RegisterError> {
        let m = matrikkelnummer;
        let path = format!(
            "/matrikkelen/api/v1/eiendommer/{}-{}-{}-{}-{}",
            m.kommunenummer, m.gardsnummer, m.bruksnummer, m.festenummer, m.seksjonsnummer
        );
        let Some(wire) = self.http.get::<WireEiendom>("matrikkelen.eiendom", &self.http.url(&path)).await? else {
            return Ok(None);
        };
        let property = wire.into_property()?;
        if property.matrikkelnummer != *matrikkelnummer {
            return Err(unreadable(REGISTER, "matrikkelnummer", "not the property asked for"));
        }
        Ok(Some(property))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireEiendom {
    matrikkelnummer: Option<WireMatrikkelnummer>,
    adresser: Vec<WireAdresse>,
    eiere: Vec<WireEier>,
    bygninger: Vec<WireBygning>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireAdresse {
    vegadresse: Option<WireVegadresse>,
    matrikkeladresse: Option<WireMatrikkeladresse>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireEier {
    foedselsnummer: Option<String>,
    organisasjonsnummer: Option<String>,
    andel: Option<WireAndel>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireAndel {
    teller: u32,
    nevner: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireBygning {
    bygningsnummer: Option<u64>,
    bygningstype: Option<StringOrNumber>,
    bruksareal: Option<u32>,
}

impl WireEiendom {
    fn into_property(self) -> Result<Property, RegisterError> {
        let number = self.matrikkelnummer.ok_or_else(|| unreadable(REGISTER, "matrikkelnummer", "missing"))?;
        let matrikkelnummer = Matrikkelnummer::parse(&number.written(REGISTER)?)
            .map_err(|e| unreadable(REGISTER, "matrikkelnummer", format!("not valid: {e}")))?;
        let addresses = self
            .adresser
            .iter()
            .map(|a| match (&a.vegadresse, &a.matrikkeladresse) {
                (Some(vegadresse), _) => vegadresse.to_address(REGISTER).map(Some),
                (None, Some(matrikkeladresse)) => matrikkeladresse.to_address(REGISTER).map(Some),
                (None, None) => Ok(None),
            })
            .filter_map(Result::transpose)
            .collect::<Result<Vec<Address>, _>>()?;
        let owners =
            self.eiere
                .into_iter()
                .map(|eier| {
                    let owner = match (eier.foedselsnummer.as_deref(), eier.organisasjonsnummer.as_deref()) {
                        (Some(fnr), None) => Owner::Person(Fnr::parse(fnr).map_err(|e| {
                            unreadable(REGISTER, "eiere.foedselsnummer", format!("not a valid identifier: {e}"))
                        })?),
                        (None, Some(orgnr)) => Owner::Organisation(OrgNr::parse(orgnr).map_err(|e| {
                            unreadable(REGISTER, "eiere.organisasjonsnummer", format!("not valid: {e}"))
                        })?),
                        _ => {
                            return Err(unreadable(
                                REGISTER,
                                "eiere",
                                "an eier has exactly one of foedselsnummer and organisasjonsnummer",
                            ));
                        }
                    };
                    let (teller, nevner) = eier.andel.map_or((1, 1), |a| (a.teller, a.nevner));
                    if nevner == 0 {
                        return Err(unreadable(REGISTER, "eiere.andel.nevner", "0"));
                    }
                    Ok((owner, teller, nevner))
                })
                .collect::<Result<Vec<_>, _>>()?;
        let buildings = self
            .bygninger
            .into_iter()
            .map(|b| {
                Ok(Building {
                    number: b
                        .bygningsnummer
                        .ok_or_else(|| unreadable(REGISTER, "bygninger.bygningsnummer", "missing"))?,
                    building_type: b.bygningstype.map(|t| t.text()).unwrap_or_default(),
                    area_m2: b.bruksareal.unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>, RegisterError>>()?;
        Ok(Property { matrikkelnummer, addresses, owners, buildings })
    }
}
