//! Server-side validation of a form: raw form pairs in, typed [`Answers`] or field errors out.
//! Nothing is accepted when anything is wrong. Keys are field names (`barn`), or for a
//! repeating group `arrangement[0].dato`; keys starting with `_` (the web layer's CSRF token,
//! the button pressed) are ignored. A key that is not a field of this service, a field on
//! another page, a prefilled field, a value outside a code list, or a field its condition
//! hides: an error, each with a stable [`ErrorCode`] the web layer translates.
//!
//! Attachments are checked by content: the type is detected from the file's first bytes with
//! the [`infer`] crate (a PDF, PNG or JPEG that says otherwise in its name is still what its
//! bytes say), against the field's size limit, and through a [`VirusScanner`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::definition::{Field, FieldType, Service};
use crate::rules::shown;
use crate::value::{Answers, Attachment, Value, parse_iso, parse_norwegian};

/// The stable code of a field error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A required field is empty.
    Required,
    /// A text is longer than allowed (`max`).
    TooLong,
    /// Not a whole number or amount.
    NotANumber,
    /// Not a date (dd.mm.åååå).
    NotADate,
    /// A value outside the code list.
    NotInList,
    /// Smaller than `min` (also too few group entries).
    TooSmall,
    /// Larger than `max`.
    TooLarge,
    /// Not a field of this service.
    UnknownField,
    /// A field of another page.
    WrongPage,
    /// A field its condition hides.
    NotShown,
    /// A field filled from the registers, which is not accepted from the form.
    Prefilled,
    /// A value given twice.
    Duplicate,
    /// Not an e-mail address.
    BadEmail,
    /// Not a phone number.
    BadPhone,
    /// Not a valid organisation number.
    BadOrgnr,
    /// Control characters in a text.
    BadText,
    /// More files or group entries than allowed (`max`).
    TooMany,
    /// An attachment whose content is not an accepted type.
    AttachmentType,
    /// An attachment larger than allowed (`max`).
    AttachmentTooLarge,
    /// An empty attachment.
    AttachmentEmpty,
    /// The virus scanner refused the attachment.
    AttachmentInfected,
}

impl ErrorCode {
    /// The code as the web layer's message keys spell it (`not_a_date`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Required => "required",
            ErrorCode::TooLong => "too_long",
            ErrorCode::NotANumber => "not_a_number",
            ErrorCode::NotADate => "not_a_date",
            ErrorCode::NotInList => "not_in_list",
            ErrorCode::TooSmall => "too_small",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnknownField => "unknown_field",
            ErrorCode::WrongPage => "wrong_page",
            ErrorCode::NotShown => "not_shown",
            ErrorCode::Prefilled => "prefilled",
            ErrorCode::Duplicate => "duplicate",
            ErrorCode::BadEmail => "bad_email",
            ErrorCode::BadPhone => "bad_phone",
            ErrorCode::BadOrgnr => "bad_orgnr",
            ErrorCode::BadText => "bad_text",
            ErrorCode::TooMany => "too_many",
            ErrorCode::AttachmentType => "attachment_type",
            ErrorCode::AttachmentTooLarge => "attachment_too_large",
            ErrorCode::AttachmentEmpty => "attachment_empty",
            ErrorCode::AttachmentInfected => "attachment_infected",
        }
    }
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The form key (`barn`, `arrangement[1].dato`).
    pub field: String,
    /// What is wrong.
    pub code: ErrorCode,
    /// Values for the message (`max`, `min`, `accepted`).
    pub params: BTreeMap<String, String>,
}

impl FieldError {
    fn new(field: impl Into<String>, code: ErrorCode) -> Self {
        FieldError { field: field.into(), code, params: BTreeMap::new() }
    }

    fn with(mut self, name: &str, value: impl ToString) -> Self {
        self.params.insert(name.to_owned(), value.to_string());
        self
    }
}

/// An uploaded file for an attachment field.
#[derive(Clone)]
pub struct Upload {
    /// The attachment field's name.
    pub field: String,
    /// The file name the person's browser sent.
    pub file_name: String,
    /// The content.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload").field("field", &self.field).field("bytes", &self.bytes.len()).finish()
    }
}

/// A virus scanner for attachments. The default ([`NoScan`]) accepts everything; a deployment
/// plugs in its scanner (e.g. clamd) here.
pub trait VirusScanner: Send + Sync {
    /// `Err` with a reason when the content must be refused.
    fn scan(&self, bytes: &[u8]) -> Result<(), String>;
}

/// The no-op scanner.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoScan;

impl VirusScanner for NoScan {
    fn scan(&self, _bytes: &[u8]) -> Result<(), String> {
        Ok(())
    }
}

/// Which fields a submission covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// One page, by id.
    Page(&'a str),
    /// The whole form at once.
    All,
}

/// The default longest one-line text.
pub const TEXT_MAX: usize = 200;
/// The default longest multi-line text.
pub const TEXTAREA_MAX: usize = 4000;

/// What a form submission held, before the typed values.
struct Raw<'a> {
    /// Top-level values by field.
    values: BTreeMap<&'a str, Vec<&'a str>>,
    /// Group entries by group, then index, then sub-field.
    groups: BTreeMap<&'a str, BTreeMap<usize, BTreeMap<&'a str, Vec<&'a str>>>>,
}

/// Validates one page (or all of them) and returns every answer so far: `earlier` with the
/// covered fields replaced by what was posted. New uploads are added to the attachments the
/// field already holds.
#[allow(clippy::too_many_arguments)]
pub fn validate(
    service: &Service,
    scope: Scope<'_>,
    pairs: &[(String, String)],
    uploads: &[Upload],
    scanner: &dyn VirusScanner,
    facts: &Answers,
    earlier: &Answers,
) -> Result<Answers, Vec<FieldError>> {
    let fields: Vec<&Field> = match scope {
        Scope::All => service.fields().collect(),
        Scope::Page(id) => match service.form.pages.iter().find(|page| page.id == id) {
            Some(page) => page.fields.iter().collect(),
            None => return Err(vec![FieldError::new(id, ErrorCode::UnknownField)]),
        },
    };
    let in_scope: BTreeSet<&str> = fields.iter().map(|field| field.name.as_str()).collect();
    let mut errors = Vec::new();
    let raw = split(service, &in_scope, pairs, uploads, &mut errors);

    let mut answers = earlier.clone();
    for field in &fields {
        if field.kind != FieldType::Attachment {
            answers.remove(&field.name);
        }
    }
    for field in &fields {
        match field.kind {
            FieldType::Group => {
                if let Some(entries) = raw.groups.get(field.name.as_str())
                    && let Some(value) = group(field, entries, &mut errors)
                {
                    answers.insert(field.name.clone(), value);
                }
            }
            FieldType::Attachment => {
                let new: Vec<&Upload> = uploads.iter().filter(|upload| upload.field == field.name).collect();
                if !new.is_empty() {
                    let mut files = match answers.remove(&field.name) {
                        Some(Value::Attachments(files)) => files,
                        _ => Vec::new(),
                    };
                    for upload in new {
                        match check_upload(field, upload, scanner) {
                            Ok(file) => files.push(file),
                            Err(error) => errors.push(error),
                        }
                    }
                    let max = field.max_count.unwrap_or(1) as usize;
                    if files.len() > max {
                        errors.push(FieldError::new(&field.name, ErrorCode::TooMany).with("max", max));
                    }
                    answers.insert(field.name.clone(), Value::Attachments(files));
                }
            }
            _ => {
                if let Some(values) = raw.values.get(field.name.as_str())
                    && let Some(value) = parse(field, &field.name, values, &mut errors)
                {
                    answers.insert(field.name.clone(), value);
                }
            }
        }
    }
    // Conditions and required fields, on the answers as they now stand; a field already in
    // error is not also reported missing.
    let failed: BTreeSet<String> = errors.iter().map(|error| error.field.clone()).collect();
    for field in fields.iter().filter(|field| !failed.contains(&field.name)) {
        check_presence(service, field, facts, &answers, &mut errors);
    }
    if errors.is_empty() { Ok(answers) } else { Err(errors) }
}

/// The final check before submission: every shown required field across all pages is
/// answered; answers to fields a later change hid are dropped, as are keys that are not
/// fields of the service (an old draft's).
pub fn complete(service: &Service, facts: &Answers, answers: &Answers) -> Result<Answers, Vec<FieldError>> {
    let mut kept = Answers::new();
    for field in service.fields() {
        if let Some(value) = answers.get(&field.name)
            && shown(service, field.shown_when.as_deref(), facts, answers)
        {
            kept.insert(field.name.clone(), value.clone());
        }
    }
    let mut errors = Vec::new();
    for field in service.fields() {
        check_presence(service, field, facts, &kept, &mut errors);
    }
    if errors.is_empty() { Ok(kept) } else { Err(errors) }
}

fn check_presence(service: &Service, field: &Field, facts: &Answers, answers: &Answers, errors: &mut Vec<FieldError>) {
    // A prefilled field's value comes from the registers, never from the answers.
    if service.binding(&field.name).is_some() {
        return;
    }
    let is_shown = shown(service, field.shown_when.as_deref(), facts, answers);
    let answer = answers.get(&field.name);
    if !is_shown {
        if answer.is_some() {
            errors.push(FieldError::new(&field.name, ErrorCode::NotShown));
        }
        return;
    }
    let empty = match answer {
        None => true,
        Some(Value::Attachments(files)) => files.is_empty(),
        Some(Value::Choices(codes)) => codes.is_empty(),
        Some(_) => false,
    };
    if field.kind == FieldType::Group {
        let count = match answer {
            Some(Value::Group(entries)) => entries.len(),
            _ => 0,
        };
        let min = field.min_items.unwrap_or(u32::from(field.required)) as usize;
        if count < min {
            errors.push(FieldError::new(&field.name, ErrorCode::TooSmall).with("min", min));
        }
    } else if field.required && empty {
        errors.push(FieldError::new(&field.name, ErrorCode::Required));
    }
}

/// Sorts the pairs into fields and group entries, reporting keys that are not accepted.
fn split<'a>(
    service: &Service,
    in_scope: &BTreeSet<&str>,
    pairs: &'a [(String, String)],
    uploads: &[Upload],
    errors: &mut Vec<FieldError>,
) -> Raw<'a> {
    let mut raw = Raw { values: BTreeMap::new(), groups: BTreeMap::new() };
    let check_top = |name: &str, errors: &mut Vec<FieldError>| -> bool {
        if service.field(name).is_none() {
            errors.push(FieldError::new(name, ErrorCode::UnknownField));
            false
        } else if service.binding(name).is_some() {
            errors.push(FieldError::new(name, ErrorCode::Prefilled));
            false
        } else if !in_scope.contains(name) {
            errors.push(FieldError::new(name, ErrorCode::WrongPage));
            false
        } else {
            true
        }
    };
    for (key, value) in pairs {
        if key.starts_with('_') {
            continue;
        }
        if let Some((group, index, sub)) = group_key(key) {
            if !check_top(group, errors) {
                continue;
            }
            let Some(field) = service.field(group).filter(|field| field.kind == FieldType::Group) else {
                errors.push(FieldError::new(key.as_str(), ErrorCode::UnknownField));
                continue;
            };
            if !field.fields.iter().any(|f| f.name == sub) {
                errors.push(FieldError::new(key.as_str(), ErrorCode::UnknownField));
                continue;
            }
            let max = field.max_items.unwrap_or(1) as usize;
            if index >= max {
                errors.push(FieldError::new(group, ErrorCode::TooMany).with("max", max));
                continue;
            }
            raw.groups.entry(group).or_default().entry(index).or_default().entry(sub).or_default().push(value);
        } else if check_top(key, errors) {
            if service.field(key).is_some_and(|field| matches!(field.kind, FieldType::Group | FieldType::Attachment)) {
                errors.push(FieldError::new(key.as_str(), ErrorCode::UnknownField));
                continue;
            }
            raw.values.entry(key.as_str()).or_default().push(value);
        }
    }
    for upload in uploads {
        if service.field(&upload.field).is_some_and(|field| field.kind == FieldType::Attachment) {
            check_top(&upload.field, errors);
        } else {
            errors.push(FieldError::new(upload.field.as_str(), ErrorCode::UnknownField));
        }
    }
    raw
}

/// `arrangement[0].dato` → (`arrangement`, 0, `dato`).
fn group_key(key: &str) -> Option<(&str, usize, &str)> {
    let (group, rest) = key.split_once('[')?;
    let (index, rest) = rest.split_once(']')?;
    let sub = rest.strip_prefix('.')?;
    if index.is_empty() || index.len() > 3 || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((group, index.parse().ok()?, sub))
}

fn group(
    field: &Field,
    entries: &BTreeMap<usize, BTreeMap<&str, Vec<&str>>>,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let mut out = Vec::new();
    for (index, values) in entries {
        // An entry with nothing filled in is a blank row, not an answer.
        if values.values().all(|vs| vs.iter().all(|v| v.trim().is_empty())) {
            continue;
        }
        let mut entry = Answers::new();
        for sub in &field.fields {
            let key = format!("{}[{index}].{}", field.name, sub.name);
            match values.get(sub.name.as_str()) {
                Some(vs) => {
                    if let Some(value) = parse(sub, &key, vs, errors) {
                        entry.insert(sub.name.clone(), value);
                    } else if sub.required && vs.iter().all(|v| v.trim().is_empty()) {
                        errors.push(FieldError::new(key, ErrorCode::Required));
                    }
                }
                None if sub.required => errors.push(FieldError::new(key, ErrorCode::Required)),
                None => {}
            }
        }
        out.push(entry);
    }
    let max = field.max_items.unwrap_or(1) as usize;
    if out.len() > max {
        errors.push(FieldError::new(&field.name, ErrorCode::TooMany).with("max", max));
    }
    if out.is_empty() { None } else { Some(Value::Group(out)) }
}

/// Parses one field's posted values; `None` for no answer (or an error, pushed).
fn parse(field: &Field, key: &str, values: &[&str], errors: &mut Vec<FieldError>) -> Option<Value> {
    if field.kind == FieldType::Multichoice {
        let mut codes: Vec<String> = Vec::new();
        for value in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
            if !field.options.iter().any(|option| option.value == value) {
                errors.push(FieldError::new(key, ErrorCode::NotInList));
                return None;
            }
            if !codes.iter().any(|code| code == value) {
                codes.push(value.to_owned());
            }
        }
        return if codes.is_empty() { None } else { Some(Value::Choices(codes)) };
    }
    let [value] = values else {
        errors.push(FieldError::new(key, ErrorCode::Duplicate));
        return None;
    };
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let result = parse_one(field, value);
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            let mut error = error;
            error.field = key.to_owned();
            errors.push(error);
            None
        }
    }
}

fn parse_one(field: &Field, value: &str) -> Result<Value, FieldError> {
    let error = |code| FieldError::new("", code);
    match field.kind {
        FieldType::Text | FieldType::Textarea => {
            let multiline = field.kind == FieldType::Textarea;
            let max = field.max_length.unwrap_or(if multiline { TEXTAREA_MAX } else { TEXT_MAX });
            if value.chars().count() > max {
                return Err(error(ErrorCode::TooLong).with("max", max));
            }
            let allowed = |c: char| !c.is_control() || (multiline && matches!(c, '\n' | '\r' | '\t'));
            if !value.chars().all(allowed) {
                return Err(error(ErrorCode::BadText));
            }
            Ok(Value::Text(value.replace("\r\n", "\n")))
        }
        FieldType::Integer | FieldType::Amount => {
            let number = parse_number(value, field.kind == FieldType::Amount).ok_or(error(ErrorCode::NotANumber))?;
            if let Some(min) = field.min
                && number < min
            {
                return Err(error(ErrorCode::TooSmall).with("min", min));
            }
            if let Some(max) = field.max
                && number > max
            {
                return Err(error(ErrorCode::TooLarge).with("max", max));
            }
            Ok(if field.kind == FieldType::Amount { Value::Amount(number) } else { Value::Integer(number) })
        }
        FieldType::Date => {
            parse_norwegian(value).or_else(|| parse_iso(value)).map(Value::Date).ok_or(error(ErrorCode::NotADate))
        }
        FieldType::YesNo => match value.to_lowercase().as_str() {
            "ja" | "yes" | "true" => Ok(Value::Bool(true)),
            "nei" | "no" | "false" => Ok(Value::Bool(false)),
            _ => Err(error(ErrorCode::NotInList)),
        },
        FieldType::Choice => {
            if field.options.iter().any(|option| option.value == value) {
                Ok(Value::Choice(value.to_owned()))
            } else {
                Err(error(ErrorCode::NotInList))
            }
        }
        FieldType::Email => {
            if is_email(value) {
                Ok(Value::Text(value.to_owned()))
            } else {
                Err(error(ErrorCode::BadEmail))
            }
        }
        FieldType::Phone => phone(value).map(Value::Text).ok_or(error(ErrorCode::BadPhone)),
        FieldType::Orgnr => {
            let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
            kernel::OrgNr::parse(&compact)
                .map(|orgnr| Value::Text(orgnr.as_digits()))
                .map_err(|_| error(ErrorCode::BadOrgnr))
        }
        // Handled by the callers; a posted text for them is refused in `split`.
        FieldType::Multichoice | FieldType::Attachment | FieldType::Group => Err(error(ErrorCode::UnknownField)),
    }
}

/// A whole number; amounts may carry spaces between thousands, `kr` and `,-` or `,00`.
fn parse_number(value: &str, amount: bool) -> Option<i64> {
    let mut text: String = value.chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}').collect();
    if amount {
        let lower = text.to_lowercase();
        let trimmed = lower.trim_start_matches("kr").trim_end_matches("kr").trim_end_matches('.');
        let trimmed = trimmed.strip_suffix(",-").or_else(|| trimmed.strip_suffix(",00")).unwrap_or(trimmed);
        text = trimmed.to_owned();
    }
    let digits = text.strip_prefix('-').unwrap_or(&text);
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A plausible e-mail address: one `@`, a local part, a domain with a dot, no spaces.
fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else { return false };
    value.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A phone number: 8 digits (Norwegian), or `+` and 8 to 15 digits; spaces allowed. Returned
/// compact.
fn phone(value: &str) -> Option<String> {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ok = if compact.starts_with('+') { (8..=15).contains(&digits.len()) } else { digits.len() == 8 };
    ok.then_some(compact)
}

/// Checks one upload against its field: content type from the bytes, size, virus scan.
pub fn check_upload(field: &Field, upload: &Upload, scanner: &dyn VirusScanner) -> Result<Attachment, FieldError> {
    let error = |code| FieldError::new(field.name.as_str(), code);
    if upload.bytes.is_empty() {
        return Err(error(ErrorCode::AttachmentEmpty));
    }
    let size = upload.bytes.len() as u64;
    let max = field.max_bytes.unwrap_or(crate::definition::MAX_ATTACHMENT_BYTES);
    if size > max {
        return Err(error(ErrorCode::AttachmentTooLarge).with("max", max));
    }
    let detected = infer::get(&upload.bytes).map(|kind| kind.mime_type());
    let Some(media_type) = detected.filter(|media_type| field.accept.iter().any(|a| a == media_type)) else {
        return Err(error(ErrorCode::AttachmentType).with("accepted", field.accept.join(", ")));
    };
    scanner.scan(&upload.bytes).map_err(|_| error(ErrorCode::AttachmentInfected))?;
    let file_name: String =
        upload.file_name.chars().filter(|c| !c.is_control() && *c != '/' && *c != '\\').take(200).collect();
    Ok(Attachment {
        file_name: if file_name.trim().is_empty() { "vedlegg".to_owned() } else { file_name },
        media_type: media_type.to_owned(),
        size,
        sha256: hex(&sha2::Sha256::digest(&upload.bytes)),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_contacts_parse_as_people_write_them() {
        assert_eq!(parse_number("12 300 kr", true), Some(12300));
        assert_eq!(parse_number("kr 12300,-", true), Some(12300));
        assert_eq!(parse_number("12300,50", true), None);
        assert_eq!(parse_number("1e5", false), None);
        assert_eq!(parse_number("99999999999999999999", false), None);
        assert!(is_email("ingrid@example.no"));
        assert!(!is_email("ingrid@example"));
        assert!(!is_email("ingrid solberg@example.no"));
        assert_eq!(phone("+47 912 34 567").as_deref(), Some("+4791234567"));
        assert_eq!(phone("912 34 567").as_deref(), Some("91234567"));
        assert_eq!(phone("1234"), None);
        assert_eq!(group_key("arrangement[2].dato"), Some(("arrangement", 2, "dato")));
        assert_eq!(group_key("arrangement[x].dato"), None);
        assert_eq!(group_key("arrangement[99999].dato"), None);
    }
}
