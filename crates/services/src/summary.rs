//! The answers as a person checks them before sending, and as the submission PDF shows them:
//! one [`render::Section`] per page, fields in order, code-list values by their labels, dates
//! as dd.mm.åååå, and prefilled values marked with their source ("Hentet fra
//! Folkeregisteret 12.11.2026").

use kernel::Language;

use crate::definition::{Field, FieldType, Service};
use crate::prefill::{Prefill, PrefilledValue};
use crate::value::{Answers, Value, norwegian_date};

/// The summary's sections: the prefilled facts that are not form fields first (under
/// "Opplysninger fra registrene"), then one section per page with an answered field.
pub fn sections(service: &Service, answers: &Answers, prefill: &Prefill, language: Language) -> Vec<render::Section> {
    let mut sections = Vec::new();
    let loose: Vec<(String, String)> = prefill
        .values
        .iter()
        .filter(|value| service.field(&value.field).is_none())
        .map(|value| (fact_label(value, language), marked(value, language)))
        .collect();
    if !loose.is_empty() {
        let heading = match language {
            Language::Bokmal => "Opplysninger fra registrene",
            Language::Nynorsk => "Opplysningar frå registera",
            Language::English => "Information from the registers",
        };
        sections.push(render::Section { heading: heading.to_owned(), rows: loose });
    }
    for page in &service.form.pages {
        let mut rows = Vec::new();
        for field in &page.fields {
            let label = field.label.get(language).to_owned();
            if let Some(value) = prefill.get(&field.name) {
                rows.push((label, marked(value, language)));
                continue;
            }
            match answers.get(&field.name) {
                Some(Value::Group(entries)) => {
                    for (i, entry) in entries.iter().enumerate() {
                        for sub in &field.fields {
                            if let Some(value) = entry.get(&sub.name) {
                                rows.push((
                                    format!("{label} {} – {}", i + 1, sub.label.get(language)),
                                    shown(sub, value, language),
                                ));
                            }
                        }
                    }
                }
                Some(value) => rows.push((label, shown(field, value, language))),
                None => {}
            }
        }
        if !rows.is_empty() {
            sections.push(render::Section { heading: page.title.get(language).to_owned(), rows });
        }
    }
    sections
}

/// A value as the person reads it, code lists by their labels.
pub fn shown(field: &Field, value: &Value, language: Language) -> String {
    let label = |code: &str| {
        field
            .options
            .iter()
            .find(|option| option.value == code)
            .map_or(code.to_owned(), |o| o.label.get(language).to_owned())
    };
    match (field.kind, value) {
        (FieldType::Choice, Value::Choice(code)) => label(code),
        (FieldType::Multichoice, Value::Choices(codes)) => {
            codes.iter().map(|c| label(c)).collect::<Vec<_>>().join(", ")
        }
        _ => value.display(language),
    }
}

/// A prefilled value with where and when it came from.
pub fn marked(value: &PrefilledValue, language: Language) -> String {
    let from = match language {
        Language::Bokmal => "Hentet fra",
        Language::Nynorsk => "Henta frå",
        Language::English => "From",
    };
    let display = match &value.value {
        Value::Bool(b) => crate::value::yes_no(*b, language).to_owned(),
        _ => value.display.clone(),
    };
    format!("{display} ({from} {} {})", value.source, norwegian_date(value.fetched_on))
}

fn fact_label(value: &PrefilledValue, language: Language) -> String {
    value.fact.label(language).to_owned()
}
