//! Reading element values out of the tjenestegrensesnitt JSON shape.

use serde_json::Value;

use super::order::BASES;
use super::xml::{Base, clean};

/// The XSD base of a metadatakatalog type (`None`: a string).
pub(crate) fn base_of(ty: &str) -> Option<Base> {
    BASES.iter().find(|(name, _)| *name == ty).map(|(_, base)| *base)
}

/// A scalar JSON value as text: a code value `{kode, kodenavn}` gives its `kodenavn` (its
/// `kode` if it has no name). metadatakatalog.xsd v5.0 has no enumerations (every code list
/// is a non-empty `xs:string`), so an archivist-added code's name is written as it is and
/// validates; a later schema that enumerates the names would flag such a value.
pub(crate) fn text(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Object(o) => {
            return o.get("kodenavn").and_then(text).or_else(|| o.get("kode").and_then(text));
        }
        _ => return None,
    };
    let s = clean(&s);
    (!s.is_empty()).then_some(s)
}

fn texts(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items.iter().filter_map(text).collect(),
        Some(v) => text(v).into_iter().collect(),
        None => Vec::new(),
    }
}

fn path<'a>(body: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(body, |v, k| v.get(k))
}

/// The values of element `name` in `body`, by the element's name first and then by the
/// tjenestegrensesnitt's names for the same thing (a person's `navn`, a `postadresse` object,
/// `kontaktinformasjon`).
pub(crate) fn values(body: &Value, name: &str) -> Vec<String> {
    let direct = body.get(name);
    if let (Some(Value::Object(o)), "postadresse") = (direct, name) {
        return ["adresselinje1", "adresselinje2", "adresselinje3"]
            .iter()
            .filter_map(|k| o.get(*k).and_then(text))
            .collect();
    }
    let found = texts(direct);
    if !found.is_empty() {
        return found;
    }
    let alternatives: &[&[&str]] = match name {
        "korrespondansepartNavn" => &[&["navn"], &["saksbehandler"], &["administrativEnhet"]],
        "partNavn" => &[&["navn"]],
        "partID" => &[&["organisasjonsnummer"]],
        "postnummer" => &[&["postadresse", "postnummer"]],
        "poststed" => &[&["postadresse", "poststed"]],
        "land" => &[&["postadresse", "landkode"], &["postadresse", "land"]],
        "epostadresse" => &[&["kontaktinformasjon", "epostadresse"]],
        "telefonnummer" => &[&["kontaktinformasjon", "telefon"], &["kontaktinformasjon", "mobiltelefon"]],
        "arkivskaperNavn" => &[&["navn"]],
        _ => &[],
    };
    let mut out = Vec::new();
    for keys in alternatives {
        out.extend(texts(path(body, keys)));
        if !out.is_empty() && !matches!(name, "telefonnummer") {
            break;
        }
    }
    out
}

/// The first value of element `name`.
pub(crate) fn value(body: &Value, name: &str) -> Option<String> {
    values(body, name).into_iter().next()
}

/// A value in the lexical form of the element's XSD base: a date-time cut to its date where a
/// date is wanted, a date given midnight (keeping its offset) where a date-time is wanted.
pub(crate) fn format(base: Option<Base>, raw: &str) -> String {
    match base {
        Some(Base::Date) if raw.len() > 10 && raw.as_bytes().get(10) == Some(&b'T') => {
            let date = &raw[..10];
            match offset_of(&raw[10..]) {
                Some(offset) => format!("{date}{offset}"),
                None => date.to_string(),
            }
        }
        Some(Base::DateTime) if !raw.contains('T') && raw.len() >= 10 => {
            format!("{}T00:00:00{}", &raw[..10], &raw[10..])
        }
        _ => raw.to_string(),
    }
}

/// The offset at the end of a time (`Z`, `+02:00`), if any.
fn offset_of(time: &str) -> Option<&str> {
    if time.ends_with('Z') {
        return Some("Z");
    }
    let tail = time.get(time.len().saturating_sub(6)..)?;
    (tail.starts_with('+') || tail.starts_with('-')).then_some(tail)
}

/// The calendar date at the start of a date or date-time value.
pub(crate) fn date_of(raw: &str) -> Option<time::Date> {
    let year: i32 = raw.get(..4)?.parse().ok()?;
    let month: u8 = raw.get(5..7)?.parse().ok()?;
    let day: u8 = raw.get(8..10)?.parse().ok()?;
    time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_dates_and_aliases() {
        assert_eq!(
            text(&json!({"kode": "I", "kodenavn": "Inngående dokument"})).as_deref(),
            Some("Inngående dokument")
        );
        assert_eq!(format(Some(Base::Date), "2024-05-01T10:00:00+02:00"), "2024-05-01+02:00");
        assert_eq!(format(Some(Base::DateTime), "2024-05-01+02:00"), "2024-05-01T00:00:00+02:00");
        assert_eq!(format(Some(Base::DateTime), "2024-05-01"), "2024-05-01T00:00:00");
        let kp = json!({"navn": "Kari", "postadresse": {"adresselinje1": "Gate 1", "postnummer": "0150"}});
        assert_eq!(values(&kp, "korrespondansepartNavn"), vec!["Kari"]);
        assert_eq!(values(&kp, "postadresse"), vec!["Gate 1"]);
        assert_eq!(value(&kp, "postnummer").as_deref(), Some("0150"));
    }
}
