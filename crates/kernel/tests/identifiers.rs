//! Property tests for the identifier parsers: every generated valid number parses, a single
//! changed digit is always caught, and no input makes a parser panic.

use kernel::fnr::{allowed_first_control_digits, second_control_digit};
use kernel::{Fnr, Kommunenummer, Matrikkelnummer, OrgNr, Postnummer};
use proptest::prelude::*;
use time::{Date, Month};

/// A birth date and an individual number that the classic century rule accepts together.
fn birth_and_individual() -> impl Strategy<Value = (Date, u16)> {
    (1854_i32..=2039, 1_u8..=12, 1_u8..=31, 0_u16..=999).prop_filter_map(
        "a real date in its century",
        |(y, m, d, i)| {
            let month = Month::try_from(m).ok()?;
            let date = Date::from_calendar_date(y, month, d).ok()?;
            let individual = match y {
                1854..=1899 => 500 + i % 250,
                1900..=1939 => i % 500,
                1940..=1999 => {
                    if i % 2 == 0 {
                        i % 500
                    } else {
                        900 + i % 100
                    }
                }
                _ => 500 + i % 500,
            };
            Some((date, individual))
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_generated_synthetic_number_parses_with_its_birth_date((birth, individual) in birth_and_individual()) {
        if let Some(number) = Fnr::synthetic(birth, individual) {
            let parsed = Fnr::parse(&number.as_digits()).expect("a generated number is valid");
            prop_assert!(parsed.is_synthetic());
            prop_assert_eq!(parsed.birth_date(), Some(birth));
        }
    }

    #[test]
    fn a_single_changed_digit_is_always_rejected(
        (birth, individual) in birth_and_individual(),
        position in 0_usize..11,
        delta in 1_u8..=9,
    ) {
        if let Some(number) = Fnr::synthetic(birth, individual) {
            let mut digits: Vec<u8> = number.as_digits().bytes().map(|b| b - b'0').collect();
            digits[position] = (digits[position] + delta) % 10;
            let changed: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            prop_assert!(Fnr::parse(&changed).is_err(), "{} accepted", changed);
        }
    }

    #[test]
    fn numbers_under_the_2032_rule_parse(first_nine in proptest::array::uniform9(0_u8..=9)) {
        // Day 01–19 and month 01–09, so only the control digits decide.
        let mut nine = first_nine;
        nine[0] %= 2;
        nine[1] = 1 + nine[1] % 9;
        nine[2] = 0;
        nine[3] = 1 + nine[3] % 9;
        for (k1, _) in allowed_first_control_digits(&nine) {
            let mut ten = [0; 10];
            ten[..9].copy_from_slice(&nine);
            ten[9] = k1;
            if let Some(k2) = second_control_digit(&ten) {
                let text: String = ten.iter().chain(std::iter::once(&k2)).map(|d| char::from(b'0' + d)).collect();
                prop_assert!(Fnr::parse(&text).is_ok(), "{} refused", text);
            }
        }
    }

    #[test]
    fn every_generated_orgnr_parses_and_a_changed_digit_is_rejected(
        first_eight in proptest::array::uniform8(0_u8..=9),
        position in 0_usize..9,
        delta in 1_u8..=9,
    ) {
        if let Some(number) = OrgNr::from_first_eight(first_eight) {
            prop_assert_eq!(OrgNr::parse(&number.as_digits()), Ok(number));
            let mut digits: Vec<u8> = number.as_digits().bytes().map(|b| b - b'0').collect();
            digits[position] = (digits[position] + delta) % 10;
            let changed: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            prop_assert!(OrgNr::parse(&changed).is_err(), "{} accepted", changed);
        }
    }

    #[test]
    fn matrikkelnummer_round_trips(
        kommune_index in 0_usize..357,
        gnr in 1_u32..=99_999,
        bnr in 1_u16..=9_999,
        fnr in 0_u16..=9_999,
        snr in 0_u16..=999,
    ) {
        let kommune = kernel::kommune::kommuner()[kommune_index].nummer;
        let text = format!("{kommune}-{gnr}/{bnr}/{fnr}/{snr}");
        let parsed = Matrikkelnummer::parse(&text).expect("valid");
        prop_assert_eq!(parsed.to_string(), text);
    }

    #[test]
    fn no_input_makes_a_parser_panic(text in "\\PC{0,24}") {
        let _ = Fnr::parse(&text);
        let _ = OrgNr::parse(&text);
        let _ = Kommunenummer::parse(&text);
        let _ = Matrikkelnummer::parse(&text);
        let _ = Postnummer::parse(&text);
    }
}
