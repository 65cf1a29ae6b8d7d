//! Matrikkelnummer (the cadastral number of a property) and postnummer.

use std::fmt;

use crate::{Kommunenummer, KommunenummerError};

/// A matrikkelnummer: kommunenummer, gårdsnummer, bruksnummer, festenummer and seksjonsnummer,
/// written `4601-12/345/0/0` (festenummer and seksjonsnummer may be left out when 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Matrikkelnummer {
    /// The municipality.
    pub kommunenummer: Kommunenummer,
    /// Gårdsnummer, 1–99999.
    pub gardsnummer: u32,
    /// Bruksnummer, 1–9999.
    pub bruksnummer: u16,
    /// Festenummer, 0–9999 (0 when there is no leasehold).
    pub festenummer: u16,
    /// Seksjonsnummer, 0–999 (0 when the property is not sectioned).
    pub seksjonsnummer: u16,
}

/// A broken rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatrikkelnummerError {
    /// Not in the written form.
    #[error("a matrikkelnummer is written kommunenummer-gnr/bnr[/fnr[/snr]], e.g. 4601-12/345/0/0")]
    Format,
    /// The kommunenummer part is wrong.
    #[error("the kommunenummer is wrong: {0}")]
    Kommunenummer(#[from] KommunenummerError),
    /// A part is out of its range.
    #[error("{part} must be a whole number from {min} to {max}")]
    OutOfRange {
        /// Which part.
        part: &'static str,
        /// Smallest allowed.
        min: u32,
        /// Largest allowed.
        max: u32,
    },
}

fn number(text: &str, part: &'static str, min: u32, max: u32) -> Result<u32, MatrikkelnummerError> {
    let out_of_range = MatrikkelnummerError::OutOfRange { part, min, max };
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(out_of_range);
    }
    let value: u32 = text.parse().map_err(|_| out_of_range.clone())?;
    if value < min || value > max { Err(out_of_range) } else { Ok(value) }
}

impl Matrikkelnummer {
    /// Parses `4601-12/345`, `4601-12/345/0` or `4601-12/345/0/0`.
    pub fn parse(text: &str) -> Result<Matrikkelnummer, MatrikkelnummerError> {
        let (kommune, rest) = text.trim().split_once('-').ok_or(MatrikkelnummerError::Format)?;
        let kommunenummer = Kommunenummer::parse(kommune)?;
        let parts: Vec<&str> = rest.split('/').collect();
        if !(2..=4).contains(&parts.len()) {
            return Err(MatrikkelnummerError::Format);
        }
        let small = |value: u32| u16::try_from(value).map_err(|_| MatrikkelnummerError::Format);
        Ok(Matrikkelnummer {
            kommunenummer,
            gardsnummer: number(parts[0], "gårdsnummer", 1, 99_999)?,
            bruksnummer: small(number(parts[1], "bruksnummer", 1, 9_999)?)?,
            festenummer: small(parts.get(2).map_or(Ok(0), |p| number(p, "festenummer", 0, 9_999))?)?,
            seksjonsnummer: small(parts.get(3).map_or(Ok(0), |p| number(p, "seksjonsnummer", 0, 999))?)?,
        })
    }
}

impl fmt::Display for Matrikkelnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}/{}/{}/{}",
            self.kommunenummer, self.gardsnummer, self.bruksnummer, self.festenummer, self.seksjonsnummer
        )
    }
}

/// A postnummer: four digits, leading zero kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Postnummer([u8; 4]);

/// The rule a postnummer broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a postnummer is exactly four digits, from 0001 to 9999 (e.g. 0150)")]
pub struct PostnummerError;

impl Postnummer {
    /// Parses four digits.
    pub fn parse(text: &str) -> Result<Postnummer, PostnummerError> {
        let bytes = text.trim().as_bytes();
        if bytes.len() != 4 || !bytes.iter().all(u8::is_ascii_digit) || bytes == b"0000" {
            return Err(PostnummerError);
        }
        Ok(Postnummer([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// The four digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("0000")
    }
}

impl fmt::Display for Postnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrikkelnummer_forms() {
        let full = Matrikkelnummer::parse("4601-12/345/0/0").expect("valid");
        assert_eq!((full.gardsnummer, full.bruksnummer), (12, 345));
        assert_eq!(Matrikkelnummer::parse("4601-12/345").expect("short"), full);
        assert_eq!(full.to_string(), "4601-12/345/0/0");
        let sectioned = Matrikkelnummer::parse("0301-207/1/0/12").expect("valid");
        assert_eq!(sectioned.seksjonsnummer, 12);
    }

    #[test]
    fn matrikkelnummer_rules_are_named() {
        assert_eq!(Matrikkelnummer::parse("4601 12/345"), Err(MatrikkelnummerError::Format));
        assert_eq!(Matrikkelnummer::parse("4601-12"), Err(MatrikkelnummerError::Format));
        assert_eq!(Matrikkelnummer::parse("4601-12/345/0/0/1"), Err(MatrikkelnummerError::Format));
        assert!(matches!(Matrikkelnummer::parse("9999-1/1"), Err(MatrikkelnummerError::Kommunenummer(_))));
        assert!(matches!(
            Matrikkelnummer::parse("4601-0/1"),
            Err(MatrikkelnummerError::OutOfRange { part: "gårdsnummer", .. })
        ));
        assert!(matches!(
            Matrikkelnummer::parse("4601-1/10000"),
            Err(MatrikkelnummerError::OutOfRange { part: "bruksnummer", .. })
        ));
        assert!(matches!(
            Matrikkelnummer::parse("4601-1/1/0/1000"),
            Err(MatrikkelnummerError::OutOfRange { part: "seksjonsnummer", .. })
        ));
        assert!(matches!(Matrikkelnummer::parse("4601-+1/1"), Err(MatrikkelnummerError::OutOfRange { .. })));
    }

    #[test]
    fn postnummer() {
        assert_eq!(Postnummer::parse("0150").map(|p| p.to_string()), Ok("0150".to_owned()));
        for bad in ["150", "01500", "0000", "O150", ""] {
            assert_eq!(Postnummer::parse(bad), Err(PostnummerError), "{bad}");
        }
    }
}
