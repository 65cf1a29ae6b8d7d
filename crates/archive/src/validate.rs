//! Checking what a client sends against the model: every attribute known, of its type, code
//! values from their list, required attributes present. A value is kept exactly as it was sent
//! (the same JSON type, a date-time byte for byte with its offset); only a code value gains its
//! `kodenavn` when the client gave just the `kode`, as the standard copies code values into the
//! instance. A `null` is a field with no value: it is left out.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::ArchiveError;
use crate::model::{self, AttrType, Entity};

/// The code values in force for one municipality: the standard's values, less those an
/// archivist retired, plus those an archivist added.
#[derive(Debug, Clone, Default)]
pub struct CodeBook {
    /// `(list, kode)` → `(kodenavn, retired)` for the municipality's own rows.
    pub(crate) local: HashMap<(String, String), (String, bool)>,
}

impl CodeBook {
    /// The `kodenavn` of a value in force, or `None` when the list does not hold it (or it is
    /// retired).
    pub fn lookup(&self, list: &str, kode: &str) -> Option<String> {
        if let Some((kodenavn, retired)) = self.local.get(&(list.to_owned(), kode.to_owned())) {
            return (!retired).then(|| kodenavn.clone());
        }
        model::code_list(list)?.values.iter().find(|(k, _)| *k == kode).map(|(_, name)| (*name).to_owned())
    }

    /// Whether a list is open: the standard gives it no values (`postnummer`, `land`: the
    /// national lists are too long and change too often to compile in) and the municipality
    /// has added none, so any kode is taken as the document states it.
    pub fn is_open(&self, list: &str) -> bool {
        model::code_list(list).is_some_and(|l| l.values.is_empty()) && !self.local.keys().any(|(l, _)| l == list)
    }

    /// Every value in force of a list, the standard's first, as `(kode, kodenavn)`.
    pub fn values(&self, list: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = model::code_list(list)
            .map(|l| l.values.iter().map(|(k, n)| ((*k).to_owned(), (*n).to_owned())).collect())
            .unwrap_or_default();
        out.retain(|(k, _)| self.lookup(list, k).is_some());
        let mut added: Vec<(String, String)> = self
            .local
            .iter()
            .filter(|((l, k), (_, retired))| l == list && !retired && !out.iter().any(|(o, _)| o == k))
            .map(|((_, k), (n, _))| (k.clone(), n.clone()))
            .collect();
        added.sort();
        out.extend(added);
        out
    }
}

fn invalid(field: &str, message: impl Into<String>) -> ArchiveError {
    ArchiveError::Invalid { field: field.to_owned(), message: message.into() }
}

/// Whether `text` is a date `YYYY-MM-DD`, optionally followed by `Z` or an offset `±HH:MM`.
pub fn is_date(text: &str) -> bool {
    let (date, rest) = text.split_at(text.len().min(10));
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(date, &format).is_ok() && (rest.is_empty() || rest == "Z" || is_offset(rest))
}

fn is_offset(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 6
        && (bytes[0] == b'+' || bytes[0] == b'-')
        && bytes[1].is_ascii_digit()
        && bytes[2].is_ascii_digit()
        && bytes[3] == b':'
        && bytes[4].is_ascii_digit()
        && bytes[5].is_ascii_digit()
}

/// Whether `text` is an RFC 3339 date-time with an offset.
pub fn is_date_time(text: &str) -> bool {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok()
}

/// Checks one value against its type; returns it as it will be stored.
fn value(field: &str, ty: AttrType, input: &Value, codes: &CodeBook) -> Result<Value, ArchiveError> {
    match ty {
        AttrType::String => match input {
            Value::String(_) => Ok(input.clone()),
            _ => Err(invalid(field, "must be a string")),
        },
        AttrType::Integer => match input {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(input.clone()),
            _ => Err(invalid(field, "must be a whole number")),
        },
        AttrType::Decimal => match input {
            Value::Number(_) => Ok(input.clone()),
            _ => Err(invalid(field, "must be a number")),
        },
        AttrType::Boolean => match input {
            Value::Bool(_) => Ok(input.clone()),
            _ => Err(invalid(field, "must be true or false")),
        },
        AttrType::Date => match input {
            Value::String(s) if is_date(s) => Ok(input.clone()),
            _ => Err(invalid(field, "must be a date YYYY-MM-DD (optionally with an offset)")),
        },
        AttrType::DateTime => match input {
            Value::String(s) if is_date_time(s) => Ok(input.clone()),
            _ => Err(invalid(field, "must be a date-time with an offset (RFC 3339)")),
        },
        AttrType::Code(list) => {
            let Value::Object(code) = input else {
                return Err(invalid(field, "must be a code value {\"kode\", \"kodenavn\"}"));
            };
            let Some(Value::String(kode)) = code.get("kode") else {
                return Err(invalid(field, "a code value needs its kode as a string"));
            };
            if let Some(other) = code.keys().find(|k| *k != "kode" && *k != "kodenavn") {
                return Err(invalid(field, format!("a code value has no field {other}")));
            }
            let open = codes.is_open(list);
            let given = code.get("kodenavn").and_then(Value::as_str);
            let Some(kodenavn) = codes.lookup(list, kode).or_else(|| open.then(|| given.unwrap_or(kode).to_owned()))
            else {
                return Err(invalid(field, format!("{kode} is not a value of the code list {list}")));
            };
            match code.get("kodenavn") {
                None => {}
                Some(Value::String(given)) if *given == kodenavn => {}
                Some(_) => {
                    return Err(invalid(field, format!("the kodenavn of {kode} in {list} is {kodenavn}")));
                }
            }
            let mut out = Map::new();
            out.insert("kode".to_owned(), Value::String(kode.clone()));
            out.insert("kodenavn".to_owned(), Value::String(kodenavn));
            Ok(Value::Object(out))
        }
        AttrType::Object(name) => {
            let Some(inner) = model::entity(name) else {
                return Err(invalid(field, "is not part of the model"));
            };
            let Value::Object(map) = input else {
                return Err(invalid(field, "must be an object"));
            };
            Ok(Value::Object(object(inner, map, codes, field)?))
        }
    }
}

/// Checks an embedded object or a whole entity body; `prefix` names it in errors.
fn object(
    entity: &Entity,
    input: &Map<String, Value>,
    codes: &CodeBook,
    prefix: &str,
) -> Result<Map<String, Value>, ArchiveError> {
    let mut out = Map::new();
    for (name, given) in input {
        if name == "_links" || given.is_null() {
            continue;
        }
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        if name == "virksomhetsspesifikkeMetadata" {
            if !given.is_object() {
                return Err(invalid(&path, "must be an object"));
            }
            out.insert(name.clone(), given.clone());
            continue;
        }
        let Some(attribute) = entity.attribute(name) else {
            return Err(invalid(&path, format!("{} has no field {name}", entity.name)));
        };
        if attribute.server {
            continue;
        }
        let stored = if attribute.many {
            let Value::Array(items) = given else {
                return Err(invalid(&path, "must be a list"));
            };
            Value::Array(items.iter().map(|item| value(&path, attribute.ty, item, codes)).collect::<Result<_, _>>()?)
        } else {
            value(&path, attribute.ty, given, codes)?
        };
        out.insert(name.clone(), stored);
    }
    for attribute in entity.all_attributes() {
        if attribute.required && !attribute.server && !out.contains_key(attribute.name) {
            let path =
                if prefix.is_empty() { attribute.name.to_owned() } else { format!("{prefix}.{}", attribute.name) };
            return Err(invalid(&path, "is required"));
        }
    }
    Ok(out)
}

/// Checks a client's body for an entity: the fields it may set, checked and normalised.
/// Server-set fields (systemID, opprettetDato, journal numbers, …) are dropped.
pub fn body(entity: &Entity, input: &Map<String, Value>, codes: &CodeBook) -> Result<Map<String, Value>, ArchiveError> {
    object(entity, input, codes, "")
}

/// The value of a code attribute as stored: `{kode, kodenavn}` for a standard value.
pub fn code(list: &str, kode: &str, codes: &CodeBook) -> Option<Value> {
    let kodenavn = codes.lookup(list, kode)?;
    let mut out = Map::new();
    out.insert("kode".to_owned(), Value::String(kode.to_owned()));
    out.insert("kodenavn".to_owned(), Value::String(kodenavn));
    Some(Value::Object(out))
}

/// Applies a JSON merge patch (RFC 7396) to a stored body.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_date_times_are_checked_but_kept_as_written() {
        assert!(is_date("2024-05-01"));
        assert!(is_date("2070-02-13-01:00"));
        assert!(is_date("2024-05-01Z"));
        assert!(!is_date("2024-13-01"));
        assert!(!is_date("2024-05-01T"));
        assert!(!is_date(""));
        assert!(is_date_time("2070-02-13T00:00:00-01:00"));
        assert!(is_date_time("2024-05-01T10:00:00.123Z"));
        assert!(!is_date_time("2024-05-01T10:00:00"));
        assert!(!is_date_time("2024-05-01"));
    }

    #[test]
    fn a_merge_patch_removes_with_null_and_merges_objects() {
        let mut doc = serde_json::json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge_patch(&mut doc, &serde_json::json!({"a": null, "b": {"c": 5}, "e": "x"}));
        assert_eq!(doc, serde_json::json!({"b": {"c": 5, "d": 3}, "e": "x"}));
    }
}
