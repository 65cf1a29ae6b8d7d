//! Typed answers and facts: what a form field holds once parsed, and what a register fact is.
//! Stored as JSON in drafts (`{"date": "2026-03-01"}`), so the kind survives a round trip.

use std::collections::BTreeMap;

use kernel::Language;
use serde::{Deserialize, Serialize};

/// A form's answers by field name; a repeating group holds one map per entry.
pub type Answers = BTreeMap<String, Value>;

/// An uploaded file, as the answers record it (the bytes are the caller's to keep).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file name the person gave.
    pub file_name: String,
    /// The media type detected from the content.
    pub media_type: String,
    /// The size in bytes.
    pub size: u64,
    /// The SHA-256 of the content, hex.
    pub sha256: String,
}

/// One typed value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// Text (text, textarea, e-mail, phone, orgnr).
    Text(String),
    /// A whole number.
    Integer(i64),
    /// An amount in kroner.
    Amount(i64),
    /// A date.
    Date(#[serde(with = "iso_serde")] time::Date),
    /// Yes or no.
    Bool(bool),
    /// One code from a code list.
    Choice(String),
    /// Codes from a code list.
    Choices(Vec<String>),
    /// Uploaded files.
    Attachments(Vec<Attachment>),
    /// The entries of a repeating group.
    Group(Vec<Answers>),
}

impl Value {
    /// The value as an expression variable: texts and codes as strings, numbers as integers,
    /// dates as ISO strings (which compare in date order), lists and groups by their count.
    pub fn to_expression(&self) -> evalexpr::Value {
        match self {
            Value::Text(text) | Value::Choice(text) => evalexpr::Value::String(text.clone()),
            Value::Integer(n) | Value::Amount(n) => evalexpr::Value::Int(*n),
            Value::Date(date) => evalexpr::Value::String(iso(*date)),
            Value::Bool(b) => evalexpr::Value::Boolean(*b),
            Value::Choices(codes) => {
                evalexpr::Value::Tuple(codes.iter().map(|code| evalexpr::Value::String(code.clone())).collect())
            }
            Value::Attachments(files) => evalexpr::Value::Int(i64::try_from(files.len()).unwrap_or(i64::MAX)),
            Value::Group(entries) => evalexpr::Value::Int(i64::try_from(entries.len()).unwrap_or(i64::MAX)),
        }
    }

    /// The value as a person reads it, without a code list's labels (see
    /// [`crate::summary`] for those).
    pub fn display(&self, language: Language) -> String {
        match self {
            Value::Text(text) | Value::Choice(text) => text.clone(),
            Value::Integer(n) => n.to_string(),
            Value::Amount(n) => format!("{} kr", grouped(*n)),
            Value::Date(date) => norwegian_date(*date),
            Value::Bool(b) => yes_no(*b, language).to_owned(),
            Value::Choices(codes) => codes.join(", "),
            Value::Attachments(files) => files.iter().map(|f| f.file_name.as_str()).collect::<Vec<_>>().join(", "),
            Value::Group(entries) => entries.len().to_string(),
        }
    }
}

/// "Ja"/"Yes" in the language.
pub fn yes_no(value: bool, language: Language) -> &'static str {
    match (value, language) {
        (true, Language::English) => "Yes",
        (false, Language::English) => "No",
        (true, _) => "Ja",
        (false, Language::Bokmal) => "Nei",
        (false, Language::Nynorsk) => "Nei",
    }
}

/// `dd.mm.åååå`.
pub fn norwegian_date(date: time::Date) -> String {
    format!("{:02}.{:02}.{:04}", date.day(), u8::from(date.month()), date.year())
}

/// `åååå-mm-dd`.
pub fn iso(date: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// Parses `åååå-mm-dd`.
pub fn parse_iso(text: &str) -> Option<time::Date> {
    let mut parts = text.splitn(3, '-');
    let year = parts.next()?;
    let month = parts.next()?;
    let day = parts.next()?;
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let month = time::Month::try_from(month.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()
}

/// Parses `dd.mm.åååå` (also `d.m.åååå`).
pub fn parse_norwegian(text: &str) -> Option<time::Date> {
    let mut parts = text.splitn(3, '.');
    let day = parts.next()?;
    let month = parts.next()?;
    let year = parts.next()?;
    if !(1..=2).contains(&day.len()) || !(1..=2).contains(&month.len()) || year.len() != 4 {
        return None;
    }
    let month = time::Month::try_from(month.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()
}

/// A number with thin spaces between thousands, as Norwegian amounts are written.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

pub(crate) mod iso_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(date: &time::Date, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::iso(*date))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<time::Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_iso(&text).ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a date")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_in_both_forms_and_round_trip_through_json() {
        let date = parse_norwegian("01.03.2027").expect("date");
        assert_eq!(parse_iso("2027-03-01"), Some(date));
        assert_eq!(parse_norwegian("31.02.2027"), None);
        assert_eq!(parse_iso("2027-3-1"), None);
        let json = serde_json::to_string(&Value::Date(date)).expect("json");
        assert_eq!(json, r#"{"date":"2027-03-01"}"#);
        assert_eq!(serde_json::from_str::<Value>(&json).expect("back"), Value::Date(date));
        assert_eq!(Value::Amount(1234567).display(Language::Bokmal), "1\u{a0}234\u{a0}567 kr");
    }
}
