//! Organisasjonsnummer: the nine-digit number of an entity in Enhetsregisteret.

use std::fmt;

/// A valid organisasjonsnummer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgNr([u8; 9]);

/// A broken rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgNrError {
    /// Not exactly nine digits.
    #[error("an organisasjonsnummer is exactly 9 digits")]
    NotNineDigits,
    /// The check digit (digit 9) does not match the first eight.
    #[error("the control digit (digit 9) is wrong: expected {expected}, found {found}")]
    ControlDigit {
        /// The digit the rule gives.
        expected: u8,
        /// The digit found.
        found: u8,
    },
    /// The first eight digits give a control digit of 10, which no valid number has.
    #[error("no valid organisasjonsnummer starts with these eight digits: the control digit would be 10")]
    ControlDigitTen,
}

const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];

/// The control digit for eight digits, or `None` when it would be 10.
pub fn orgnr_control_digit(first_eight: &[u8; 8]) -> Option<u8> {
    let sum: u32 = first_eight.iter().zip(WEIGHTS).map(|(d, w)| u32::from(*d) * w).sum();
    match sum % 11 {
        0 => Some(0),
        1 => None,
        remainder => u8::try_from(11 - remainder).ok(),
    }
}

impl OrgNr {
    /// Parses nine digits; spaces between groups (`974 760 673`) are allowed.
    pub fn parse(text: &str) -> Result<OrgNr, OrgNrError> {
        let compact: String = text.chars().filter(|c| *c != ' ').collect();
        let bytes = compact.as_bytes();
        if bytes.len() != 9 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(OrgNrError::NotNineDigits);
        }
        let mut digits = [0_u8; 9];
        for (slot, byte) in digits.iter_mut().zip(bytes) {
            *slot = byte - b'0';
        }
        let mut first_eight = [0; 8];
        first_eight.copy_from_slice(&digits[..8]);
        let expected = orgnr_control_digit(&first_eight).ok_or(OrgNrError::ControlDigitTen)?;
        if expected != digits[8] {
            return Err(OrgNrError::ControlDigit { expected, found: digits[8] });
        }
        Ok(OrgNr(digits))
    }

    /// Builds the valid number that starts with these eight digits, if there is one.
    pub fn from_first_eight(first_eight: [u8; 8]) -> Option<OrgNr> {
        let mut digits = [0; 9];
        digits[..8].copy_from_slice(&first_eight);
        digits[8] = orgnr_control_digit(&first_eight)?;
        Some(OrgNr(digits))
    }

    /// The nine digits.
    pub fn as_digits(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }
}

impl fmt::Display for OrgNr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_digits())
    }
}

impl fmt::Debug for OrgNr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgNr({})", self.as_digits())
    }
}

impl std::str::FromStr for OrgNr {
    type Err = OrgNrError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        OrgNr::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_numbers_are_valid() {
        for number in ["991825827", "974760673", "964338531", "974 760 673"] {
            assert!(OrgNr::parse(number).is_ok(), "{number}");
        }
    }

    #[test]
    fn broken_rules_are_named() {
        assert_eq!(OrgNr::parse("97476067"), Err(OrgNrError::NotNineDigits));
        assert_eq!(OrgNr::parse("974760674"), Err(OrgNrError::ControlDigit { expected: 3, found: 4 }));
    }
}
