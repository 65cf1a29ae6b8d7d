//! Fødselsnummer and its relatives: d-nummer, h-nummer, FH-nummer and the synthetic test
//! numbers, with both the current control-digit rule and the one Skatteetaten announced for
//! 2032. A parsed [`Fnr`] is valid; it never prints its digits in `Debug`, so it cannot end up in
//! a log by accident.

use std::fmt;

use time::{Date, Month};

/// What kind of person identifier a number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FnrKind {
    /// An ordinary fødselsnummer.
    Fodselsnummer,
    /// A d-nummer (day + 40), for people without a fødselsnummer.
    DNummer,
    /// An h-nummer (month + 40), a help number from the health services. NAV's Dolly test
    /// numbers use the same month + 40 range and cannot be told apart.
    HNummer,
    /// An FH-nummer (first digit 8 or 9), a help number with no date in it.
    FhNummer,
}

impl FnrKind {
    /// The Norwegian name, as support staff say it.
    pub fn name(self) -> &'static str {
        match self {
            FnrKind::Fodselsnummer => "fødselsnummer",
            FnrKind::DNummer => "d-nummer",
            FnrKind::HNummer => "h-nummer",
            FnrKind::FhNummer => "FH-nummer",
        }
    }
}

/// Which control-digit rule the number satisfies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlRule {
    /// The rule in use since 1964: one possible first control digit.
    Classic,
    /// The rule from 2032: the first control digit may be one of four; century and sex can no
    /// longer be read from the number.
    From2032,
}

/// A broken rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FnrError {
    /// Not exactly eleven ASCII digits.
    #[error("a fødselsnummer is exactly 11 digits (DDMMYYIIIKK)")]
    NotElevenDigits,
    /// The date part is not a date, even after the d-, h- and synthetic offsets.
    #[error("digits 1–6 are not a date (DDMMYY): day {day}, month {month}")]
    InvalidDate {
        /// The day after offsets.
        day: u8,
        /// The month after offsets.
        month: u8,
    },
    /// The first control digit (digit 10) does not match the first nine digits.
    #[error("control digit 1 (digit 10) is wrong: expected {expected}, found {found}")]
    ControlDigit1 {
        /// The digits the rules allow.
        expected: String,
        /// The digit found.
        found: u8,
    },
    /// The second control digit (digit 11) does not match the first ten digits.
    #[error("control digit 2 (digit 11) is wrong: expected {expected}, found {found}")]
    ControlDigit2 {
        /// The digit the rule gives.
        expected: u8,
        /// The digit found.
        found: u8,
    },
    /// The first nine (or ten) digits give a control digit of 10, which no valid number has.
    #[error("no valid number starts with these digits: the control digit would be 10")]
    ControlDigitTen,
}

const WEIGHTS_1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const WEIGHTS_2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// The first control digits the rules allow for these nine digits: the classic one first, then
/// the others the 2032 rule adds. Empty when none is possible.
pub fn allowed_first_control_digits(first_nine: &[u8; 9]) -> Vec<(u8, ControlRule)> {
    let sum: u32 = first_nine.iter().zip(WEIGHTS_1).map(|(d, w)| u32::from(*d) * w).sum();
    let remainder = sum % 11;
    let mut allowed = Vec::new();
    for (index, base) in [11_u32, 12, 13, 14].into_iter().enumerate() {
        let mut value = base - remainder;
        if value > 10 {
            value -= 11;
        }
        if value == 10 {
            continue;
        }
        let rule = if index == 0 { ControlRule::Classic } else { ControlRule::From2032 };
        let digit = u8::try_from(value).unwrap_or(10);
        if !allowed.iter().any(|(d, _)| *d == digit) {
            allowed.push((digit, rule));
        }
    }
    allowed
}

/// The second control digit for these ten digits, or `None` when it would be 10.
pub fn second_control_digit(first_ten: &[u8; 10]) -> Option<u8> {
    let sum: u32 = first_ten.iter().zip(WEIGHTS_2).map(|(d, w)| u32::from(*d) * w).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        value => u8::try_from(value).ok(),
    }
}

/// A valid person identifier.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fnr([u8; 11]);

fn days_in_month(month: u8, year: Option<i32>) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => match year {
            Some(y) if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
            Some(_) => 28,
            // Century unknown: the 29th may be valid.
            None => 29,
        },
        _ => 0,
    }
}

/// The century rule of the classic scheme, from the individual number and the two-digit year.
fn full_year(individual: u16, year: u8) -> Option<i32> {
    let year = i32::from(year);
    match individual {
        0..=499 => Some(1900 + year),
        500..=749 if year >= 54 => Some(1800 + year),
        500..=999 if year < 40 => Some(2000 + year),
        900..=999 if year >= 40 => Some(1900 + year),
        _ => None,
    }
}

impl Fnr {
    /// Parses eleven digits (surrounding whitespace and one space after the date allowed, as
    /// people write `DDMMYY IIIKK`).
    pub fn parse(text: &str) -> Result<Fnr, FnrError> {
        let compact: String = {
            let trimmed = text.trim();
            match trimmed.split_once(' ') {
                Some((a, b)) if a.len() == 6 && b.len() == 5 => format!("{a}{b}"),
                _ => trimmed.to_owned(),
            }
        };
        let bytes = compact.as_bytes();
        if bytes.len() != 11 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(FnrError::NotElevenDigits);
        }
        let mut digits = [0_u8; 11];
        for (slot, byte) in digits.iter_mut().zip(bytes) {
            *slot = byte - b'0';
        }
        let candidate = Fnr(digits);
        candidate.check_control_digits()?;
        candidate.check_date()?;
        Ok(candidate)
    }

    fn first_nine(&self) -> [u8; 9] {
        let mut out = [0; 9];
        out.copy_from_slice(&self.0[..9]);
        out
    }

    fn first_ten(&self) -> [u8; 10] {
        let mut out = [0; 10];
        out.copy_from_slice(&self.0[..10]);
        out
    }

    fn check_control_digits(&self) -> Result<ControlRule, FnrError> {
        let allowed = allowed_first_control_digits(&self.first_nine());
        if allowed.is_empty() {
            return Err(FnrError::ControlDigitTen);
        }
        let found = self.0[9];
        let Some((_, rule)) = allowed.iter().find(|(d, _)| *d == found) else {
            let expected = allowed.iter().map(|(d, _)| d.to_string()).collect::<Vec<_>>().join(" or ");
            return Err(FnrError::ControlDigit1 { expected, found });
        };
        let expected = second_control_digit(&self.first_ten()).ok_or(FnrError::ControlDigitTen)?;
        if expected != self.0[10] {
            return Err(FnrError::ControlDigit2 { expected, found: self.0[10] });
        }
        Ok(*rule)
    }

    fn check_date(&self) -> Result<(), FnrError> {
        if self.kind() == FnrKind::FhNummer {
            return Ok(());
        }
        let (day, month) = self.day_and_month();
        let year = self.birth_year();
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(month, year) {
            return Err(FnrError::InvalidDate { day, month });
        }
        Ok(())
    }

    fn pair(&self, at: usize) -> u8 {
        self.0[at] * 10 + self.0[at + 1]
    }

    /// Day and month with the d-, h- and synthetic offsets removed.
    fn day_and_month(&self) -> (u8, u8) {
        let raw_day = self.pair(0);
        let raw_month = self.pair(2);
        let day = if raw_day > 40 { raw_day - 40 } else { raw_day };
        let month = match raw_month {
            81..=92 => raw_month - 80,
            41..=52 => raw_month - 40,
            other => other,
        };
        (day, month)
    }

    fn individual_number(&self) -> u16 {
        u16::from(self.0[6]) * 100 + u16::from(self.0[7]) * 10 + u16::from(self.0[8])
    }

    /// The year of birth, where the classic century rule gives one.
    fn birth_year(&self) -> Option<i32> {
        if self.control_rule() != ControlRule::Classic {
            return None;
        }
        full_year(self.individual_number(), self.pair(4))
    }

    /// What kind of identifier this is.
    pub fn kind(&self) -> FnrKind {
        match (self.0[0], self.pair(2)) {
            (8 | 9, _) => FnrKind::FhNummer,
            (4..=7, _) => FnrKind::DNummer,
            (_, 41..=52) => FnrKind::HNummer,
            _ => FnrKind::Fodselsnummer,
        }
    }

    /// True for Skatteetaten's synthetic test numbers (month + 80), which no real person has.
    /// Everything this platform generates is synthetic.
    pub fn is_synthetic(&self) -> bool {
        self.kind() != FnrKind::FhNummer && (81..=92).contains(&self.pair(2))
    }

    /// Which control-digit rule the number satisfies.
    pub fn control_rule(&self) -> ControlRule {
        allowed_first_control_digits(&self.first_nine())
            .into_iter()
            .find(|(d, _)| *d == self.0[9])
            .map_or(ControlRule::Classic, |(_, rule)| rule)
    }

    /// The date of birth, where the number tells it: not for FH-nummer, and not for numbers
    /// under the 2032 rule (whose century cannot be read).
    pub fn birth_date(&self) -> Option<Date> {
        if self.kind() == FnrKind::FhNummer {
            return None;
        }
        let (day, month) = self.day_and_month();
        let month = Month::try_from(month).ok()?;
        Date::from_calendar_date(self.birth_year()?, month, day).ok()
    }

    /// The eleven digits. Handle with care: this is personal data.
    pub fn as_digits(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }

    /// Builds a synthetic (month + 80) fødselsnummer for a birth date and individual number,
    /// with classic control digits. Returns `None` when no valid number exists for this
    /// combination (a control digit would be 10) or the individual number does not match the
    /// birth year's century.
    pub fn synthetic(birth: Date, individual: u16) -> Option<Fnr> {
        Self::synthetic_of_kind(birth, individual, false)
    }

    /// Like [`Fnr::synthetic`], but a synthetic d-nummer (day + 40 as well as month + 80).
    pub fn synthetic_d_nummer(birth: Date, individual: u16) -> Option<Fnr> {
        Self::synthetic_of_kind(birth, individual, true)
    }

    fn synthetic_of_kind(birth: Date, individual: u16, d_nummer: bool) -> Option<Fnr> {
        let year = birth.year();
        let two_digit = u8::try_from(year.rem_euclid(100)).ok()?;
        if individual > 999 || full_year(individual, two_digit) != Some(year) {
            return None;
        }
        let day = birth.day() + if d_nummer { 40 } else { 0 };
        let month = u8::from(birth.month()) + 80;
        let individual_digits = [
            u8::try_from(individual / 100).ok()?,
            u8::try_from(individual / 10 % 10).ok()?,
            u8::try_from(individual % 10).ok()?,
        ];
        let first_nine = [
            day / 10,
            day % 10,
            month / 10,
            month % 10,
            two_digit / 10,
            two_digit % 10,
            individual_digits[0],
            individual_digits[1],
            individual_digits[2],
        ];
        let (k1, _) = *allowed_first_control_digits(&first_nine).first().filter(|(_, r)| *r == ControlRule::Classic)?;
        let mut first_ten = [0; 10];
        first_ten[..9].copy_from_slice(&first_nine);
        first_ten[9] = k1;
        let k2 = second_control_digit(&first_ten)?;
        let mut digits = [0; 11];
        digits[..10].copy_from_slice(&first_ten);
        digits[10] = k2;
        Some(Fnr(digits))
    }
}

impl fmt::Debug for Fnr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the digits: a Debug print must not put a fødselsnummer in a log.
        write!(f, "Fnr({}, [redacted])", self.kind().name())
    }
}

impl std::str::FromStr for Fnr {
    type Err = FnrError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Fnr::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn known_numbers_parse_with_their_kind() {
        let tenor = Fnr::parse("20914695016").expect("Tenor example");
        assert_eq!(tenor.kind(), FnrKind::Fodselsnummer);
        assert!(tenor.is_synthetic());
        assert_eq!(tenor.control_rule(), ControlRule::Classic);
        assert_eq!(tenor.birth_date(), Some(date!(1946 - 11 - 20)));
    }

    #[test]
    fn the_2032_rule_is_accepted_and_hides_the_century() {
        let number = Fnr::parse("30108299939").expect("valid under the 2032 rule");
        assert_eq!(number.control_rule(), ControlRule::From2032);
        assert_eq!(number.kind(), FnrKind::Fodselsnummer);
        assert!(!number.is_synthetic());
        assert_eq!(number.birth_date(), None);
    }

    #[test]
    fn broken_rules_are_named() {
        assert_eq!(Fnr::parse("2091469501"), Err(FnrError::NotElevenDigits));
        assert_eq!(Fnr::parse("2091469501x"), Err(FnrError::NotElevenDigits));
        assert!(matches!(Fnr::parse("20914695017"), Err(FnrError::ControlDigit2 { expected: 6, found: 7 })));
        assert!(matches!(Fnr::parse("20914695006"), Err(FnrError::ControlDigit1 { .. })));
    }

    /// Sets individual number and control digits so the control digits are valid (classic
    /// rule), trying individual numbers from `first`; the date part is left as it is.
    fn with_valid_control_digits(mut digits: [u8; 11], first: u16) -> [u8; 11] {
        for individual in first..1000 {
            digits[6] = u8::try_from(individual / 100).expect("digit");
            digits[7] = u8::try_from(individual / 10 % 10).expect("digit");
            digits[8] = u8::try_from(individual % 10).expect("digit");
            let mut nine = [0; 9];
            nine.copy_from_slice(&digits[..9]);
            let Some((k1, ControlRule::Classic)) = allowed_first_control_digits(&nine).first().copied() else {
                continue;
            };
            digits[9] = k1;
            let mut ten = [0; 10];
            ten.copy_from_slice(&digits[..10]);
            let Some(k2) = second_control_digit(&ten) else { continue };
            digits[10] = k2;
            return digits;
        }
        panic!("no individual number gives valid control digits");
    }

    fn text(digits: [u8; 11]) -> String {
        digits.iter().map(|d| char::from(b'0' + d)).collect()
    }

    #[test]
    fn d_h_and_fh_numbers_are_told_apart() {
        // 17 May 1990 as a d-nummer (day + 40), an h-nummer (month + 40) and an FH-nummer.
        let d = Fnr::parse(&text(with_valid_control_digits([5, 7, 0, 5, 9, 0, 0, 0, 0, 0, 0], 100))).expect("d-nummer");
        assert_eq!(d.kind(), FnrKind::DNummer);
        assert_eq!(d.birth_date(), Some(date!(1990 - 05 - 17)));
        assert!(!d.is_synthetic());
        let h = Fnr::parse(&text(with_valid_control_digits([1, 7, 4, 5, 9, 0, 0, 0, 0, 0, 0], 100))).expect("h-nummer");
        assert_eq!(h.kind(), FnrKind::HNummer);
        assert_eq!(h.birth_date(), Some(date!(1990 - 05 - 17)));
        let fh = Fnr::parse(&text(with_valid_control_digits([8, 1, 2, 3, 4, 5, 0, 0, 0, 0, 0], 0))).expect("FH-nummer");
        assert_eq!(fh.kind(), FnrKind::FhNummer);
        assert_eq!(fh.birth_date(), None);
        let synthetic_d =
            Fnr::parse(&text(with_valid_control_digits([5, 7, 8, 5, 9, 0, 0, 0, 0, 0, 0], 100))).expect("synthetic d");
        assert_eq!(synthetic_d.kind(), FnrKind::DNummer);
        assert!(synthetic_d.is_synthetic());
    }

    #[test]
    fn impossible_dates_are_refused() {
        // 31 April, 30 February and 29 February 1990 do not exist; 29 February 1992 does.
        let april = with_valid_control_digits([3, 1, 8, 4, 9, 0, 0, 0, 0, 0, 0], 100);
        assert_eq!(Fnr::parse(&text(april)), Err(FnrError::InvalidDate { day: 31, month: 4 }));
        let february = with_valid_control_digits([3, 0, 8, 2, 9, 2, 0, 0, 0, 0, 0], 100);
        assert_eq!(Fnr::parse(&text(february)), Err(FnrError::InvalidDate { day: 30, month: 2 }));
        let not_leap = with_valid_control_digits([2, 9, 8, 2, 9, 0, 0, 0, 0, 0, 0], 100);
        assert_eq!(Fnr::parse(&text(not_leap)), Err(FnrError::InvalidDate { day: 29, month: 2 }));
        let leap = with_valid_control_digits([2, 9, 8, 2, 9, 2, 0, 0, 0, 0, 0], 100);
        assert_eq!(Fnr::parse(&text(leap)).map(|f| f.birth_date()), Ok(Some(date!(1992 - 02 - 29))));
        let month_13 = with_valid_control_digits([0, 1, 9, 3, 9, 0, 0, 0, 0, 0, 0], 100);
        assert!(matches!(Fnr::parse(&text(month_13)), Err(FnrError::InvalidDate { .. })));
    }

    #[test]
    fn synthetic_numbers_round_trip() {
        let birth = date!(2024 - 02 - 29);
        let made = (500..1000).find_map(|i| Fnr::synthetic(birth, i)).expect("some individual number works");
        let parsed = Fnr::parse(&made.as_digits()).expect("valid");
        assert!(parsed.is_synthetic());
        assert_eq!(parsed.birth_date(), Some(birth));
        // 2024 needs an individual number of 500–999.
        assert_eq!(Fnr::synthetic(birth, 100), None);
        let d = (500..1000).find_map(|i| Fnr::synthetic_d_nummer(birth, i)).expect("some d-nummer");
        assert_eq!(d.kind(), FnrKind::DNummer);
        assert!(d.is_synthetic());
        assert_eq!(d.birth_date(), Some(birth));
    }

    #[test]
    fn debug_never_prints_the_digits() {
        let number = Fnr::parse("20914695016").expect("valid");
        assert!(!format!("{number:?}").contains("2091"));
    }
}
