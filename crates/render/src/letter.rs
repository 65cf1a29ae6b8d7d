//! What a caller hands the renderer: a letter or a generic document, and what comes back.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use kernel::Language;
use serde::{Deserialize, Serialize};
use time::Date;

/// The kinds of letter the platform sends; each has its template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LetterKind {
    /// An individual decision (enkeltvedtak), with the appeal rights.
    Vedtak,
    /// A receipt: we have received something.
    Kvittering,
    /// Information that asks nothing of the recipient.
    Informasjon,
    /// A reminder (påminnelse).
    Paaminnelse,
    /// A free letter: the caller's own paragraphs.
    Fritt,
}

impl LetterKind {
    pub const ALL: [LetterKind; 5] = [
        LetterKind::Vedtak,
        LetterKind::Kvittering,
        LetterKind::Informasjon,
        LetterKind::Paaminnelse,
        LetterKind::Fritt,
    ];

    /// The wire name, also the template's file stem: `vedtak`, `kvittering`, `informasjon`,
    /// `paaminnelse`, `fritt`.
    pub fn as_str(self) -> &'static str {
        match self {
            LetterKind::Vedtak => "vedtak",
            LetterKind::Kvittering => "kvittering",
            LetterKind::Informasjon => "informasjon",
            LetterKind::Paaminnelse => "paaminnelse",
            LetterKind::Fritt => "fritt",
        }
    }
}

impl fmt::Display for LetterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of the letter kinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a letter kind")]
pub struct UnknownLetterKind(pub String);

impl FromStr for LetterKind {
    type Err = UnknownLetterKind;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        LetterKind::ALL.into_iter().find(|kind| kind.as_str() == name).ok_or_else(|| UnknownLetterKind(name.to_owned()))
    }
}

/// The sender: a municipality, with its coat of arms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Municipality {
    pub name: String,
    /// The coat of arms as SVG; `None` prints a neutral shield.
    pub coat_of_arms_svg: Option<Vec<u8>>,
}

/// Who the letter is to, as the window envelope shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RecipientBlock {
    pub name: String,
    /// `None` when the address is withheld (adressebeskyttelse): then no address at all is
    /// printed, and none reaches the PDF.
    pub address_lines: Option<Vec<String>>,
}

/// Names and addresses are personal data and a protected address must not leak, so `Debug`
/// shows neither.
impl fmt::Debug for RecipientBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientBlock")
            .field("name", &"<redacted>")
            .field(
                "address_lines",
                &self.address_lines.as_ref().map(|lines| format!("<{} lines redacted>", lines.len())),
            )
            .finish()
    }
}

/// The reference of a letter in the case archive: the saksmappe's mappeID and, once journaled,
/// the journalpost's number in it. Printed "2026/17-3".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseReference {
    pub mappe_id: String,
    pub journalpostnummer: Option<i64>,
}

impl fmt::Display for CaseReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.journalpostnummer {
            Some(number) => write!(f, "{}-{number}", self.mappe_id),
            None => f.write_str(&self.mappe_id),
        }
    }
}

/// A letter to render.
#[derive(Debug, Clone)]
pub struct Letter {
    pub kind: LetterKind,
    pub language: Language,
    pub municipality: Municipality,
    /// The unit that sends it, e.g. "Oppvekst og utdanning".
    pub sender_unit: String,
    pub recipient: RecipientBlock,
    pub date: Date,
    pub case_ref: Option<CaseReference>,
    pub title: String,
    /// The template's fields by name.
    pub fields: BTreeMap<String, String>,
    /// Free paragraphs: the text of a `Fritt` letter, added after the template's body in the
    /// others (before a vedtak's appeal rights).
    pub paragraphs: Vec<String>,
}

/// A generic document, such as a submitted form: sections of label and value rows under the same
/// letterhead and footer as a letter.
#[derive(Debug, Clone)]
pub struct Document {
    pub language: Language,
    pub municipality: Municipality,
    pub sender_unit: String,
    pub title: String,
    pub date: Date,
    pub case_ref: Option<CaseReference>,
    pub sections: Vec<Section>,
}

/// A titled group of (label, value) rows in a [`Document`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    pub rows: Vec<(String, String)>,
}

/// A rendered PDF/A-2a file.
#[derive(Clone, PartialEq, Eq)]
pub struct Pdf {
    pub bytes: Vec<u8>,
    pub pages: u32,
}

impl fmt::Debug for Pdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pdf").field("bytes", &self.bytes.len()).field("pages", &self.pages).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in LetterKind::ALL {
            assert_eq!(kind.as_str().parse::<LetterKind>(), Ok(kind));
            assert_eq!(serde_json::to_string(&kind).ok(), Some(format!("\"{}\"", kind.as_str())));
        }
        assert!("brev".parse::<LetterKind>().is_err());
    }

    #[test]
    fn a_case_reference_joins_mappe_id_and_journalpostnummer() {
        let reference = CaseReference { mappe_id: "2026/17".into(), journalpostnummer: Some(3) };
        assert_eq!(reference.to_string(), "2026/17-3");
        let reference = CaseReference { journalpostnummer: None, ..reference };
        assert_eq!(reference.to_string(), "2026/17");
    }

    #[test]
    fn a_recipient_debug_shows_no_name_or_address() {
        let recipient =
            RecipientBlock { name: "Kari Nordmann".into(), address_lines: Some(vec!["Hemmeligveien 7".into()]) };
        let shown = format!("{recipient:?}");
        assert!(!shown.contains("Kari") && !shown.contains("Hemmelig"), "{shown}");
    }
}
