//! The registry of virksomhetsspesifikke metadata (the standard's chapter 6, "Metadatakatalog
//! for virksomhetsspesifikke metadata"): the field names a client may use under
//! `virksomhetsspesifikkeMetadata`, each with its type. Names follow the standard's form
//! `<type>-<version>:<field>` or `vnd-<party>-<version>:<field>`, lower-case ASCII letters and
//! digits only.

use kernel::Kommunenummer;
use serde_json::{Map, Value};
use store::params;

use crate::ArchiveError;
use crate::records::Noark;
use crate::validate::{is_date, is_date_time};

/// The types a field may have.
pub const TYPES: &[&str] = &["string", "integer", "decimal", "boolean", "date", "datetime"];

fn invalid(field: &str, message: impl Into<String>) -> ArchiveError {
    ArchiveError::Invalid { field: field.to_owned(), message: message.into() }
}

/// Whether `name` has the standard's form: parts of `a-z0-9` joined by `-`, one `:` before the
/// field name.
pub fn valid_name(name: &str) -> bool {
    let Some((space, field)) = name.split_once(':') else { return false };
    let part = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    space.split('-').all(part) && space.split('-').count() >= 2 && part(field)
}

/// Whether a value has the registered type.
pub fn value_fits(kind: &str, value: &Value) -> bool {
    match (kind, value) {
        ("string", Value::String(_)) | ("boolean", Value::Bool(_)) => true,
        ("integer", Value::Number(n)) => n.is_i64() || n.is_u64(),
        ("decimal", Value::Number(_)) => true,
        ("date", Value::String(s)) => is_date(s),
        ("datetime", Value::String(s)) => is_date_time(s),
        _ => false,
    }
}

impl Noark {
    /// Every registered field, by name.
    pub async fn vsm_fields(&self, kommunenummer: Kommunenummer) -> Result<Vec<Map<String, Value>>, ArchiveError> {
        let rows = self
            .db
            .municipal(kommunenummer)
            .fetch_all::<(String,)>("SELECT body FROM archive_vsm WHERE kommunenummer = $1 ORDER BY name", &[])
            .await?;
        rows.into_iter()
            .map(|(body,)| match serde_json::from_str(&body) {
                Ok(Value::Object(map)) => Ok(map),
                _ => Err(ArchiveError::Malformed("a registered field".to_owned())),
            })
            .collect()
    }

    /// Registers a field: `navn`, `type` (one of [`TYPES`]), optional `beskrivelse`, `kilde`,
    /// `utdatert`. A name already registered is refused.
    pub async fn define_vsm(
        &self,
        kommunenummer: Kommunenummer,
        input: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ArchiveError> {
        let mut out = Map::new();
        for (key, value) in input {
            match (key.as_str(), value) {
                ("_links" | "systemID", _) | (_, Value::Null) => {}
                ("navn", Value::String(name)) if valid_name(name) => {
                    out.insert(key.clone(), value.clone());
                }
                ("navn", _) => {
                    return Err(invalid("navn", "must look like ppt-v1:skoleaar (a-z, 0-9, '-' and one ':')"));
                }
                ("type", Value::String(kind)) if TYPES.contains(&kind.as_str()) => {
                    out.insert(key.clone(), value.clone());
                }
                ("type", _) => return Err(invalid("type", format!("must be one of {}", TYPES.join(", ")))),
                ("beskrivelse" | "kilde", Value::String(_)) | ("utdatert", Value::Bool(_)) => {
                    out.insert(key.clone(), value.clone());
                }
                ("beskrivelse" | "kilde" | "utdatert", _) => return Err(invalid(key, "has the wrong type")),
                (other, _) => return Err(invalid(other, "is not a field of a registered metadata field")),
            }
        }
        let Some(Value::String(name)) = out.get("navn").cloned() else { return Err(invalid("navn", "is required")) };
        if !out.contains_key("type") {
            return Err(invalid("type", "is required"));
        }
        out.insert("systemID".to_owned(), Value::String(uuid::Uuid::now_v7().to_string()));
        let db = self.db.municipal(kommunenummer);
        let known = db
            .fetch_optional::<(String,)>(
                "SELECT name FROM archive_vsm WHERE kommunenummer = $1 AND name = $2",
                &params![name.clone()],
            )
            .await?;
        if known.is_some() {
            return Err(invalid("navn", format!("{name} is already registered")));
        }
        db.execute(
            "INSERT INTO archive_vsm (kommunenummer, name, body, version) VALUES ($1, $2, $3, 1)",
            &params![name, Value::Object(out.clone()).to_string()],
        )
        .await?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_standards_form() {
        assert!(valid_name("ppt-v1:skoleaar"));
        assert!(valid_name("vnd-nikita-v1:eksempelfelt"));
        assert!(!valid_name("ppt:skoleaar"));
        assert!(!valid_name("ppt-v1:skoleår"));
        assert!(!valid_name("PPT-v1:skoleaar"));
        assert!(!valid_name("ppt-v1:"));
        assert!(!valid_name("skoleaar"));
    }

    #[test]
    fn values_must_have_the_registered_type() {
        assert!(value_fits("integer", &serde_json::json!(123)));
        assert!(!value_fits("integer", &serde_json::json!("123")));
        assert!(value_fits("datetime", &serde_json::json!("2018-04-22T13:30:00+02:00")));
        assert!(!value_fits("date", &serde_json::json!("22.04.2018")));
    }
}
