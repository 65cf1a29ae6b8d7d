//! Once-only: the facts a form needs, read from the registers instead of asked. Each binding
//! reads under its own purpose and legal basis through [`registers::Registers`], so every read
//! is in the access log with the service's reason; bindings that share a purpose and legal
//! basis share the reads. A protected address is never revealed: the address and bosted
//! kommune facts are simply absent for a person with adressebeskyttelse.

use std::collections::{BTreeMap, BTreeSet};

use identity::ActingAs;
use kernel::{Fnr, Kommunenummer};
use registers::model::{Person, Residence};
use registers::{Caller, RegisterError, Registers};
use serde::{Deserialize, Serialize};

use crate::definition::Service;
use crate::facts::{Fact, Source};
use crate::value::{Answers, Value, norwegian_date};

/// Why prefilling failed.
#[derive(Debug, thiserror::Error)]
pub enum PrefillError {
    /// The person (or whom they act for) is not in the register.
    #[error("not found in the register")]
    NotFound,
    /// The person may not act for the one named (e.g. no parental responsibility).
    #[error("the person may not act for this {0}")]
    Forbidden(&'static str),
    /// A binding's purpose or legal basis is not valid (a definition that bypassed the
    /// catalogue's checks).
    #[error("invalid binding: {0}")]
    Invalid(#[from] audit::AuditError),
    /// The register failed or refused (including when the access log failed).
    #[error(transparent)]
    Register(#[from] RegisterError),
}

/// Who asks, for whom, where and when.
#[derive(Debug, Clone)]
pub struct PrefillRequest<'a> {
    /// The service.
    pub service: &'a Service,
    /// The person logged in.
    pub applicant: Fnr,
    /// Whom they act for.
    pub acting: &'a ActingAs,
    /// The municipality (for `lives_here`).
    pub kommunenummer: Kommunenummer,
    /// Today, in Norway (ages and the "fetched on" date).
    pub today: time::Date,
}

/// One value filled from a register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefilledValue {
    /// The form field (or display name) it fills.
    pub field: String,
    /// The fact.
    pub fact: Fact,
    /// The value.
    pub value: Value,
    /// The value as shown (a date as dd.mm.åååå, an address on one line).
    pub display: String,
    /// The register, e.g. `Folkeregisteret`.
    pub source: String,
    /// When it was read.
    #[serde(with = "crate::value::iso_serde")]
    pub fetched_on: time::Date,
}

/// A child the applicant may apply for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildChoice {
    /// The child's number.
    pub fnr: Fnr,
    /// The child's name.
    pub name: String,
    /// The child's birth date.
    pub birth_date: time::Date,
}

/// What prefill found.
#[derive(Debug, Clone, Default)]
pub struct Prefill {
    /// The bound fields' values, in binding order; a fact the registers do not have (or may
    /// not show) is left out.
    pub values: Vec<PrefilledValue>,
    /// The children under 18 the applicant has parental responsibility for, when a binding
    /// asked for `person.children`.
    pub children: Vec<ChildChoice>,
}

impl Prefill {
    /// The facts by fact name, and the bound fields by field name, for rules and conditions.
    pub fn facts(&self) -> Answers {
        let mut facts = Answers::new();
        for value in &self.values {
            facts.insert(value.fact.name().to_owned(), value.value.clone());
            facts.insert(value.field.clone(), value.value.clone());
        }
        facts
    }

    /// The value filling `field`.
    pub fn get(&self, field: &str) -> Option<&PrefilledValue> {
        self.values.iter().find(|value| value.field == field)
    }
}

/// The reads one purpose needs, done once.
#[derive(Default)]
struct Reads {
    applicant: Option<Person>,
    subject: Option<Person>,
    children: Option<Vec<Person>>,
    contact: Option<Option<registers::model::Contact>>,
    organisation: Option<Option<registers::model::Organisation>>,
}

/// Reads every bound fact. Each group of bindings with one purpose and legal basis reads
/// through its own [`Caller`].
pub async fn prefill(registers: &Registers, request: &PrefillRequest<'_>) -> Result<Prefill, PrefillError> {
    let mut groups: BTreeMap<(&str, &str), Vec<&crate::definition::PrefillBinding>> = BTreeMap::new();
    for binding in &request.service.prefill {
        groups.entry((binding.purpose.as_str(), binding.legal_basis.as_str())).or_default().push(binding);
    }
    let mut found: BTreeMap<String, PrefilledValue> = BTreeMap::new();
    let mut children = Vec::new();
    for ((purpose, legal_basis), bindings) in groups {
        let caller = Caller::new(audit::AccessContext {
            actor: audit::Actor::Person(request.applicant),
            acting_for: acting_for(request.acting),
            purpose: audit::Purpose::parse(purpose)?,
            legal_basis: audit::LegalBasis::parse(legal_basis)?,
        });
        let needed: BTreeSet<Fact> = bindings.iter().map(|binding| binding.fact).collect();
        let reads = read(registers, &caller, request, &needed).await?;
        if let Some(list) = &reads.children {
            children = list
                .iter()
                .map(|child| ChildChoice { fnr: child.fnr, name: child.name.to_string(), birth_date: child.birth_date })
                .collect();
        }
        for binding in bindings {
            if let Some((value, display)) = fact_value(binding.fact, &reads, request) {
                found.insert(
                    binding.field.clone(),
                    PrefilledValue {
                        field: binding.field.clone(),
                        fact: binding.fact,
                        value,
                        display,
                        source: binding.fact.source().name().to_owned(),
                        fetched_on: request.today,
                    },
                );
            }
        }
    }
    let values = request.service.prefill.iter().filter_map(|binding| found.remove(&binding.field)).collect();
    Ok(Prefill { values, children })
}

fn acting_for(acting: &ActingAs) -> Option<String> {
    match acting {
        ActingAs::Myself => None,
        ActingAs::Child(fnr) | ActingAs::Ward(fnr) | ActingAs::Fullmakt { giver: fnr, .. } => Some(fnr.as_digits()),
        ActingAs::Organisation(orgnr, _) => Some(orgnr.as_digits()),
    }
}

async fn read(
    registers: &Registers,
    caller: &Caller,
    request: &PrefillRequest<'_>,
    needed: &BTreeSet<Fact>,
) -> Result<Reads, PrefillError> {
    let mut reads = Reads::default();
    let subject_of = |fact: &Fact| fact.needs();
    let needs_applicant =
        needed.iter().any(|fact| fact.source() == Source::Folkeregisteret && subject_of(fact).is_none())
            || needed.iter().any(|fact| subject_of(fact) == Some(crate::definition::Applicant::Child));
    if needs_applicant {
        reads.applicant = Some(registers.person(caller, &request.applicant).await?.ok_or(PrefillError::NotFound)?);
    }
    if needed.contains(&Fact::PersonChildren)
        && let Some(applicant) = &reads.applicant
    {
        let persons = registers.persons(caller, &applicant.parental_responsibility_for).await?;
        reads.children = Some(persons.into_iter().filter(|child| child.age_on(request.today) < 18).collect());
    }
    let wants = |kind| needed.iter().any(|fact| subject_of(fact) == Some(kind));
    match request.acting {
        ActingAs::Child(child) if wants(crate::definition::Applicant::Child) => {
            let applicant = reads.applicant.as_ref().ok_or(PrefillError::NotFound)?;
            if !applicant.parental_responsibility_for.contains(child) {
                return Err(PrefillError::Forbidden("child"));
            }
            reads.subject = Some(registers.person(caller, child).await?.ok_or(PrefillError::NotFound)?);
        }
        ActingAs::Ward(ward) if wants(crate::definition::Applicant::Ward) => {
            if !registers.wards_of(caller, &request.applicant).await?.contains(ward) {
                return Err(PrefillError::Forbidden("ward"));
            }
            reads.subject = Some(registers.person(caller, ward).await?.ok_or(PrefillError::NotFound)?);
        }
        ActingAs::Organisation(orgnr, _) if wants(crate::definition::Applicant::Organisation) => {
            reads.organisation = Some(registers.organisation(caller, orgnr).await?);
        }
        _ => {}
    }
    if needed.iter().any(|fact| fact.source() == Source::Krr) {
        let contacts = registers.contacts(caller, std::slice::from_ref(&request.applicant)).await?;
        reads.contact = Some(contacts.into_iter().next());
    }
    Ok(reads)
}

/// An open address, or nothing when it is protected or unknown.
fn open_address(person: &Person) -> Option<String> {
    match person.current_residence() {
        Residence::Open(address) => Some(address.to_string()),
        Residence::Protected(_) | Residence::Unknown => None,
    }
}

fn protected(person: &Person) -> bool {
    person.adressebeskyttelse.is_protected() || matches!(person.current_residence(), Residence::Protected(_))
}

fn lives_here(person: &Person, kommunenummer: Kommunenummer) -> bool {
    person.bosted_kommune == Some(kommunenummer)
}

fn months_between(birth: time::Date, today: time::Date) -> i64 {
    let mut months = i64::from(today.year() - birth.year()) * 12 + i64::from(u8::from(today.month()))
        - i64::from(u8::from(birth.month()));
    if today.day() < birth.day() {
        months -= 1;
    }
    months.max(0)
}

fn text(value: String) -> Option<(Value, String)> {
    Some((Value::Text(value.clone()), value))
}

fn boolean(value: bool) -> Option<(Value, String)> {
    Some((Value::Bool(value), crate::value::yes_no(value, kernel::Language::Bokmal).to_owned()))
}

fn integer(value: i64) -> Option<(Value, String)> {
    Some((Value::Integer(value), value.to_string()))
}

fn date(value: time::Date) -> Option<(Value, String)> {
    Some((Value::Date(value), norwegian_date(value)))
}

fn fact_value(fact: Fact, reads: &Reads, request: &PrefillRequest<'_>) -> Option<(Value, String)> {
    let applicant = reads.applicant.as_ref();
    let subject = reads.subject.as_ref();
    let organisation = reads.organisation.as_ref().and_then(Option::as_ref);
    let contact = reads.contact.as_ref().and_then(Option::as_ref);
    let here = request.kommunenummer;
    match fact {
        Fact::PersonName => text(applicant?.name.to_string()),
        Fact::PersonBirthDate => date(applicant?.birth_date),
        Fact::PersonAge => integer(i64::from(applicant?.age_on(request.today))),
        Fact::PersonAddress => {
            let person = applicant?;
            if protected(person) { None } else { text(open_address(person)?) }
        }
        Fact::PersonBostedKommune => {
            let person = applicant?;
            if protected(person) { None } else { text(person.bosted_kommune?.as_str().to_owned()) }
        }
        Fact::PersonLivesHere => boolean(lives_here(applicant?, here)),
        Fact::PersonChildren => {
            let children = reads.children.as_ref()?;
            let shown: Vec<String> =
                children.iter().map(|c| format!("{} ({})", c.name, norwegian_date(c.birth_date))).collect();
            let display = shown.join(", ");
            Some((Value::Choices(shown), display))
        }
        Fact::PersonEmail => text(contact?.email.clone()?),
        Fact::PersonMobile => text(contact?.mobile.clone()?),
        Fact::ChildName | Fact::WardName => text(subject?.name.to_string()),
        Fact::ChildBirthDate => date(subject?.birth_date),
        Fact::ChildAgeYears | Fact::WardAge => integer(i64::from(subject?.age_on(request.today))),
        Fact::ChildAgeMonths => integer(months_between(subject?.birth_date, request.today)),
        Fact::ChildLivesHere | Fact::WardLivesHere => boolean(lives_here(subject?, here)),
        Fact::OrganisationName => text(organisation?.name.clone()),
        Fact::OrganisationForm => text(organisation?.form.clone()),
        Fact::OrganisationAddress => text(organisation?.business_address.as_ref()?.to_string()),
        Fact::OrganisationIndustryCode => text(organisation?.industry_code.clone()?),
        Fact::OrganisationBankrupt => boolean(organisation?.bankrupt),
        Fact::OrganisationDeleted => boolean(organisation?.deleted.is_some()),
        Fact::OrganisationRole => match request.acting {
            // The identity layer checked the role when the person chose to act for the
            // organisation; it is not read again.
            ActingAs::Organisation(_, role) if organisation.is_some() => text(role.code().to_owned()),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn months_count_whole_months() {
        assert_eq!(months_between(date!(2026 - 01 - 31), date!(2026 - 03 - 01)), 1);
        assert_eq!(months_between(date!(2025 - 03 - 01), date!(2026 - 03 - 01)), 12);
        assert_eq!(months_between(date!(2026 - 03 - 02), date!(2026 - 03 - 01)), 0);
    }
}
