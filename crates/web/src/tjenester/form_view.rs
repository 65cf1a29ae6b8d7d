//! A form page as its template draws it: each field with its label, hint, current value, error
//! and, when the registers fill it, the value with where and when it came from. Field errors
//! are translated here from their stable code (`tjenester-invalid-<code>`).

use std::collections::BTreeMap;

use kernel::Language;
use serde::Serialize;
use services::definition::{Field, FieldType, Page};
use services::value::norwegian_date;
use services::{Answers, ErrorCode, FieldError, Prefill, Value};

use crate::AppState;

/// One option of a choice.
#[derive(Debug, Serialize)]
pub(crate) struct OptionView {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// A value filled from a register.
#[derive(Debug, Serialize)]
pub(crate) struct PrefilledView {
    pub display: String,
    pub source: String,
    pub fetched_on: String,
}

/// One entry of a repeating group.
#[derive(Debug, Serialize)]
pub(crate) struct EntryView {
    pub index: usize,
    pub number: usize,
    pub key: String,
    pub fields: Vec<FieldView>,
}

/// One field.
#[derive(Debug, Serialize)]
pub(crate) struct FieldView {
    /// The form key (`oppstart`, `dager[0].dato`).
    pub key: String,
    /// The element id (the key with `[`, `]` and `.` replaced).
    pub id: String,
    /// `text`, `textarea`, `integer`, `amount`, `date`, `yes_no`, `choice`, `multichoice`,
    /// `email`, `phone`, `orgnr`, `attachment`, `group`.
    pub kind: &'static str,
    pub label: String,
    pub hint: Option<String>,
    pub required: bool,
    /// Shown only under a condition (the page says so).
    pub conditional: bool,
    pub value: String,
    pub options: Vec<OptionView>,
    pub error: Option<String>,
    pub prefilled: Option<PrefilledView>,
    /// Accepted types and largest size of an attachment, for the hint.
    pub accept: String,
    pub accept_attribute: String,
    pub max_megabytes: String,
    pub max_count: u32,
    /// Files already attached.
    pub files: Vec<String>,
    /// A group's entries.
    pub entries: Vec<EntryView>,
    pub can_add: bool,
}

/// The translation key of an error code.
pub(crate) fn error_key(code: ErrorCode) -> String {
    format!("tjenester-invalid-{}", code.as_str())
}

/// An error's message in `language`, with its parameters (a byte limit in megabytes).
pub(crate) fn error_text(state: &AppState, language: Language, error: &FieldError) -> String {
    let mut args: Vec<(&str, String)> = Vec::new();
    for (name, value) in &error.params {
        let value = if error.code == ErrorCode::AttachmentTooLarge && name == "max" {
            value.parse::<u64>().map_or(value.clone(), megabytes)
        } else {
            value.clone()
        };
        args.push((name.as_str(), value));
    }
    for name in ["max", "min", "accepted"] {
        if !args.iter().any(|(n, _)| *n == name) {
            args.push((name, String::new()));
        }
    }
    state.i18n.message(language, &error_key(error.code), &args)
}

fn megabytes(bytes: u64) -> String {
    let tenths = (bytes * 10).div_ceil(1024 * 1024);
    if tenths.is_multiple_of(10) { format!("{}", tenths / 10) } else { format!("{},{}", tenths / 10, tenths % 10) }
}

/// A media type as people know it.
fn file_type(media_type: &str) -> &str {
    match media_type {
        "application/pdf" => "PDF",
        "image/png" => "PNG",
        "image/jpeg" => "JPEG",
        other => other,
    }
}

pub(crate) fn element_id(key: &str) -> String {
    format!("felt-{}", key.replace(['[', ']', '.'], "-"))
}

fn kind(field: &Field) -> &'static str {
    match field.kind {
        FieldType::Text => "text",
        FieldType::Textarea => "textarea",
        FieldType::Integer => "integer",
        FieldType::Amount => "amount",
        FieldType::Date => "date",
        FieldType::YesNo => "yes_no",
        FieldType::Choice => "choice",
        FieldType::Multichoice => "multichoice",
        FieldType::Email => "email",
        FieldType::Phone => "phone",
        FieldType::Orgnr => "orgnr",
        FieldType::Attachment => "attachment",
        FieldType::Group => "group",
    }
}

/// A stored answer as an input's value.
pub(crate) fn input_value(value: &Value) -> String {
    match value {
        Value::Text(text) | Value::Choice(text) => text.clone(),
        Value::Integer(n) | Value::Amount(n) => n.to_string(),
        Value::Date(date) => norwegian_date(*date),
        Value::Bool(true) => "ja".to_owned(),
        Value::Bool(false) => "nei".to_owned(),
        Value::Choices(codes) => codes.join(","),
        Value::Attachments(_) | Value::Group(_) => String::new(),
    }
}

/// What the page shows in its inputs: the posted values when it is shown again with errors,
/// the saved answers otherwise.
pub(crate) enum Shown<'a> {
    Saved(&'a Answers),
    Posted(&'a Answers, &'a [(String, String)]),
}

impl Shown<'_> {
    fn answers(&self) -> &Answers {
        match self {
            Shown::Saved(answers) | Shown::Posted(answers, _) => answers,
        }
    }

    /// The values of `key` (several for a multichoice).
    fn values(&self, key: &str, stored: Option<&Value>) -> Vec<String> {
        match self {
            Shown::Posted(_, pairs) => pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect(),
            Shown::Saved(_) => match stored {
                Some(Value::Choices(codes)) => codes.clone(),
                Some(value) => vec![input_value(value)],
                None => vec![],
            },
        }
    }
}

/// The fields of `page` for the template.
pub(crate) fn fields(
    state: &AppState,
    language: Language,
    page: &Page,
    prefill: &Prefill,
    shown: &Shown<'_>,
    errors: &[FieldError],
) -> Vec<FieldView> {
    let by_key: BTreeMap<&str, &FieldError> = errors.iter().rev().map(|e| (e.field.as_str(), e)).collect();
    page.fields
        .iter()
        .map(|field| {
            let stored = shown.answers().get(&field.name);
            let mut view = field_view(state, language, field, &field.name, shown, stored, &by_key);
            if let Some(value) = prefill.get(&field.name) {
                view.prefilled = Some(PrefilledView {
                    display: match &value.value {
                        Value::Bool(b) => services::value::yes_no(*b, language).to_owned(),
                        _ => value.display.clone(),
                    },
                    source: value.source.clone(),
                    fetched_on: norwegian_date(value.fetched_on),
                });
            }
            if field.kind == FieldType::Group {
                let mut entries: Vec<Answers> = match (shown, stored) {
                    (Shown::Posted(_, pairs), _) => posted_entries(&field.name, pairs),
                    (_, Some(Value::Group(entries))) => entries.clone(),
                    _ => vec![],
                };
                let max = field.max_items.unwrap_or(1) as usize;
                let posted = matches!(shown, Shown::Posted(..));
                if entries.len() < max {
                    entries.push(Answers::new());
                }
                view.can_add = entries.len() < max;
                view.entries = entries
                    .iter()
                    .enumerate()
                    .map(|(index, entry)| EntryView {
                        index,
                        number: index + 1,
                        key: format!("{}[{index}]", field.name),
                        fields: field
                            .fields
                            .iter()
                            .map(|sub| {
                                let key = format!("{}[{index}].{}", field.name, sub.name);
                                let sub_shown = if posted { shown } else { &Shown::Saved(entry) };
                                field_view(state, language, sub, &key, sub_shown, entry.get(&sub.name), &by_key)
                            })
                            .collect(),
                    })
                    .collect();
            }
            view
        })
        .collect()
}

/// The entries of a group as posted, by index, for showing them again.
fn posted_entries(group: &str, pairs: &[(String, String)]) -> Vec<Answers> {
    let prefix = format!("{group}[");
    let mut highest = None;
    for (key, _) in pairs {
        if let Some(rest) = key.strip_prefix(&prefix)
            && let Some((index, _)) = rest.split_once(']')
            && let Ok(index) = index.parse::<usize>()
            && index < 100
        {
            highest = Some(highest.map_or(index, |h: usize| h.max(index)));
        }
    }
    highest.map_or_else(Vec::new, |h| vec![Answers::new(); h + 1])
}

fn field_view(
    state: &AppState,
    language: Language,
    field: &Field,
    key: &str,
    shown: &Shown<'_>,
    stored: Option<&Value>,
    errors: &BTreeMap<&str, &FieldError>,
) -> FieldView {
    let values = shown.values(key, stored);
    let options = match field.kind {
        FieldType::Choice | FieldType::Multichoice => field
            .options
            .iter()
            .map(|option| OptionView {
                value: option.value.clone(),
                label: option.label.get(language).to_owned(),
                checked: values.iter().any(|v| v == &option.value),
            })
            .collect(),
        FieldType::YesNo => [("ja", true), ("nei", false)]
            .into_iter()
            .map(|(value, b)| OptionView {
                value: value.to_owned(),
                label: services::value::yes_no(b, language).to_owned(),
                checked: values.iter().any(|v| v.eq_ignore_ascii_case(value)),
            })
            .collect(),
        _ => vec![],
    };
    let files = match stored {
        Some(Value::Attachments(files)) => files.iter().map(|f| f.file_name.clone()).collect(),
        _ => vec![],
    };
    FieldView {
        key: key.to_owned(),
        id: element_id(key),
        kind: kind(field),
        label: field.label.get(language).to_owned(),
        hint: field.hint.as_ref().map(|hint| hint.get(language).to_owned()),
        required: field.required,
        conditional: field.shown_when.is_some(),
        value: if field.kind == FieldType::Multichoice {
            String::new()
        } else {
            values.into_iter().next().unwrap_or_default()
        },
        options,
        error: errors.get(key).map(|error| error_text(state, language, error)),
        prefilled: None,
        accept: field.accept.iter().map(|a| file_type(a)).collect::<Vec<_>>().join(", "),
        accept_attribute: field.accept.join(","),
        max_megabytes: field.max_bytes.map(megabytes).unwrap_or_default(),
        max_count: field.max_count.unwrap_or(1),
        files,
        entries: vec![],
        can_add: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_shown_in_megabytes() {
        assert_eq!(megabytes(10 * 1024 * 1024), "10");
        assert_eq!(megabytes(5 * 1024 * 1024 + 1), "5,1");
        assert_eq!(element_id("dager[0].dato"), "felt-dager-0--dato");
    }
}
