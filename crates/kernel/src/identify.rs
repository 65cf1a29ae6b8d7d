//! Which identifier a text is, and whether it is valid: the logic behind `allmenning id`, for
//! support staff who are handed a number and need to know what it is.

use crate::{ControlRule, Fnr, FnrKind, Kommunenummer, Matrikkelnummer, OrgNr, Postnummer};

/// What a text turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identification {
    /// The kind of identifier the text has the shape of, e.g. `d-nummer`.
    pub kind: String,
    /// `Ok(details)` when valid, one line each; `Err(rule)` naming the broken rule otherwise.
    pub verdict: Result<Vec<String>, String>,
}

impl Identification {
    /// True when the text is a valid identifier.
    pub fn is_valid(&self) -> bool {
        self.verdict.is_ok()
    }
}

fn digits_only(text: &str) -> Option<String> {
    let compact: String = text.chars().filter(|c| *c != ' ').collect();
    compact.bytes().all(|b| b.is_ascii_digit()).then_some(compact)
}

fn person(text: &str) -> Identification {
    match Fnr::parse(text) {
        Ok(number) => {
            let mut details = Vec::new();
            if number.is_synthetic() {
                details.push("synthetic test number (month + 80): no real person has it".to_owned());
            }
            if number.kind() == FnrKind::HNummer {
                details.push("month + 40 is also the range of NAV's Dolly test numbers".to_owned());
            }
            details.push(match number.control_rule() {
                ControlRule::Classic => "control digits: the classic rule".to_owned(),
                ControlRule::From2032 => "control digits: the 2032 rule (century and sex cannot be read)".to_owned(),
            });
            if let Some(birth) = number.birth_date() {
                details.push(format!("born {birth}"));
            }
            Identification { kind: number.kind().name().to_owned(), verdict: Ok(details) }
        }
        Err(error) => Identification { kind: "fødselsnummer or d-nummer".to_owned(), verdict: Err(error.to_string()) },
    }
}

/// Identifies `text`: eleven digits are a person number, nine an organisasjonsnummer, four a
/// kommunenummer or a postnummer, and `kommune-gnr/bnr...` a matrikkelnummer.
pub fn identify(text: &str) -> Identification {
    let text = text.trim();
    if text.contains('-') && text.contains('/') {
        return match Matrikkelnummer::parse(text) {
            Ok(number) => Identification {
                kind: "matrikkelnummer".to_owned(),
                verdict: Ok(vec![
                    format!("{number}"),
                    format!("in {} ({})", number.kommunenummer.navn(), number.kommunenummer),
                ]),
            },
            Err(error) => Identification { kind: "matrikkelnummer".to_owned(), verdict: Err(error.to_string()) },
        };
    }
    let Some(digits) = digits_only(text) else {
        return unknown();
    };
    match digits.len() {
        11 => person(text),
        9 => match OrgNr::parse(&digits) {
            Ok(_) => Identification { kind: "organisasjonsnummer".to_owned(), verdict: Ok(Vec::new()) },
            Err(error) => Identification { kind: "organisasjonsnummer".to_owned(), verdict: Err(error.to_string()) },
        },
        4 => match Kommunenummer::parse(&digits) {
            Ok(number) => {
                let kommune = number.kommune();
                Identification {
                    kind: "kommunenummer".to_owned(),
                    verdict: Ok(vec![
                        format!("{} kommune, {} ({})", kommune.navn, kommune.fylkesnavn, kommune.fylkesnummer),
                        "four digits can also be a postnummer".to_owned(),
                    ]),
                }
            }
            Err(_) => match Postnummer::parse(&digits) {
                Ok(_) => Identification {
                    kind: "postnummer".to_owned(),
                    verdict: Ok(vec!["not a kommunenummer in the 2024 list".to_owned()]),
                },
                Err(error) => Identification { kind: "postnummer".to_owned(), verdict: Err(error.to_string()) },
            },
        },
        _ => unknown(),
    }
}

fn unknown() -> Identification {
    Identification {
        kind: "unknown".to_owned(),
        verdict: Err("expected 11 digits (fødselsnummer, d-nummer), 9 (organisasjonsnummer), 4 (kommunenummer, \
                      postnummer) or kommunenummer-gnr/bnr (matrikkelnummer)"
            .to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_recognised() {
        let cases = [
            ("20914695016", "fødselsnummer", true),
            ("20914695017", "fødselsnummer or d-nummer", false),
            ("974760673", "organisasjonsnummer", true),
            ("974760674", "organisasjonsnummer", false),
            ("4601", "kommunenummer", true),
            ("0150", "postnummer", true),
            ("0000", "postnummer", false),
            ("4601-12/345/0/0", "matrikkelnummer", true),
            ("4601-0/345", "matrikkelnummer", false),
            ("hello", "unknown", false),
            ("12345", "unknown", false),
        ];
        for (text, kind, valid) in cases {
            let found = identify(text);
            assert_eq!((found.kind.as_str(), found.is_valid()), (kind, valid), "{text}: {found:?}");
        }
        assert!(identify("20914695016").verdict.expect("valid").iter().any(|l| l.contains("born 1946-11-20")));
        assert!(identify("20914695017").verdict.expect_err("invalid").contains("control digit 2"));
    }
}
