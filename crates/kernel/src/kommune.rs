//! Kommunenummer: the four-digit number of a Norwegian municipality, checked against the
//! official list of the 357 municipalities of 2024, which is compiled into the binary.

use std::fmt;
use std::sync::OnceLock;

/// The official list (kommunenummer, name, county number, county name), byte-exact from
/// `shared/data/kommuner-2024.tsv`.
const KOMMUNER_TSV: &str = include_str!("../data/kommuner-2024.tsv");

/// One municipality from the official list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kommune {
    /// The kommunenummer.
    pub nummer: Kommunenummer,
    /// The official name, e.g. `Bergen`.
    pub navn: &'static str,
    /// The county (fylke) number, e.g. `46`.
    pub fylkesnummer: &'static str,
    /// The county name, e.g. `Vestland`.
    pub fylkesnavn: &'static str,
}

fn all() -> &'static [Kommune] {
    static KOMMUNER: OnceLock<Vec<Kommune>> = OnceLock::new();
    KOMMUNER.get_or_init(|| {
        KOMMUNER_TSV
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut fields = line.split('\t');
                let nummer = fields.next()?;
                let navn = fields.next()?;
                let fylkesnummer = fields.next()?;
                let fylkesnavn = fields.next()?;
                let digits = four_digits(nummer)?;
                Some(Kommune { nummer: Kommunenummer(digits), navn, fylkesnummer, fylkesnavn })
            })
            .collect()
    })
}

fn four_digits(text: &str) -> Option<[u8; 4]> {
    let bytes = text.as_bytes();
    if bytes.len() != 4 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// A valid kommunenummer: four digits (leading zero kept) naming a municipality that exists.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kommunenummer([u8; 4]);

/// Why a text is not a kommunenummer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KommunenummerError {
    /// The rule broken: exactly four digits.
    #[error("a kommunenummer is exactly four digits, with a leading zero where it has one (e.g. 0301)")]
    NotFourDigits,
    /// The rule broken: it must be on the official list.
    #[error("{0} is not a municipality in the 2024 list; see https://www.ssb.no/klass/klassifikasjoner/131")]
    Unknown(String),
}

impl Kommunenummer {
    /// Parses and checks a kommunenummer against the official list.
    pub fn parse(text: &str) -> Result<Self, KommunenummerError> {
        let digits = four_digits(text.trim()).ok_or(KommunenummerError::NotFourDigits)?;
        let candidate = Kommunenummer(digits);
        if all().iter().any(|k| k.nummer == candidate) {
            Ok(candidate)
        } else {
            Err(KommunenummerError::Unknown(candidate.as_str().to_owned()))
        }
    }

    /// The four digits as text.
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII digits by construction.
        std::str::from_utf8(&self.0).unwrap_or("0000")
    }

    /// The municipality this number names.
    pub fn kommune(&self) -> &'static Kommune {
        // Every constructed value is on the list, so the search always succeeds; the
        // fallback only exists to keep this function total.
        all().iter().find(|k| k.nummer == *self).unwrap_or(&all()[0])
    }

    /// The municipality's official name.
    pub fn navn(&self) -> &'static str {
        self.kommune().navn
    }
}

/// Every municipality on the official list, in list order.
pub fn kommuner() -> &'static [Kommune] {
    all()
}

impl fmt::Display for Kommunenummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Kommunenummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kommunenummer({})", self.as_str())
    }
}

impl serde::Serialize for Kommunenummer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Kommunenummer {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Kommunenummer::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Kommunenummer {
    type Err = KommunenummerError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Kommunenummer::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_has_357_municipalities() {
        assert_eq!(kommuner().len(), 357);
    }

    #[test]
    fn known_numbers_parse_with_names() {
        assert_eq!(Kommunenummer::parse("0301").map(|k| k.navn()), Ok("Oslo"));
        assert_eq!(Kommunenummer::parse("4601").map(|k| k.navn()), Ok("Bergen"));
        assert_eq!(Kommunenummer::parse("1103").map(|k| k.kommune().fylkesnavn), Ok("Rogaland"));
    }

    #[test]
    fn broken_rules_are_named() {
        assert_eq!(Kommunenummer::parse("301"), Err(KommunenummerError::NotFourDigits));
        assert_eq!(Kommunenummer::parse("03O1"), Err(KommunenummerError::NotFourDigits));
        assert_eq!(Kommunenummer::parse("٠٣٠١"), Err(KommunenummerError::NotFourDigits));
        assert_eq!(Kommunenummer::parse("9999"), Err(KommunenummerError::Unknown("9999".into())));
        // Old numbers from before the 2024 reform are not accepted.
        assert!(Kommunenummer::parse("1201").is_err());
    }

    #[test]
    fn serde_round_trip_keeps_the_leading_zero() {
        let k = Kommunenummer::parse("0301").expect("Oslo");
        let json = serde_json::to_string(&k).expect("serialise");
        assert_eq!(json, "\"0301\"");
        assert_eq!(serde_json::from_str::<Kommunenummer>(&json).expect("parse"), k);
        assert!(serde_json::from_str::<Kommunenummer>("\"0000\"").is_err());
    }
}
