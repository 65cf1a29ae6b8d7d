//! One service's definition, as its TOML file spells it, and the checks a definition must pass
//! beyond its shape (every text in three languages, conditions and rules naming only known
//! fields and facts, prefill bindings with a purpose and a legal basis, known letter templates).
//!
//! Every struct refuses unknown keys (`deny_unknown_fields`), so a misspelt key is an error
//! that names its line, not a setting quietly ignored.

use std::collections::BTreeSet;

use kernel::Language;
use serde::{Deserialize, Serialize};

use crate::facts::Fact;
use crate::rules::Expression;

/// A user-visible text in bokmål, nynorsk and English. All three are required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// Bokmål.
    pub nb: String,
    /// Nynorsk.
    pub nn: String,
    /// English.
    pub en: String,
}

impl Text {
    /// The text in `language`.
    pub fn get(&self, language: Language) -> &str {
        match language {
            Language::Bokmal => &self.nb,
            Language::Nynorsk => &self.nn,
            Language::English => &self.en,
        }
    }

    /// The three texts with their language.
    pub fn each(&self) -> [(Language, &str); 3] {
        [(Language::Bokmal, &self.nb), (Language::Nynorsk, &self.nn), (Language::English, &self.en)]
    }
}

/// A service the municipality offers, as one definition file describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The stable id, also the file's stem and the path segment (`barnehageplass`).
    pub id: String,
    /// Raised whenever the form or the rules change; drafts and cases record it.
    pub version: u32,
    /// The service's name.
    pub name: Text,
    /// A plain-language description: who it is for and what one gets.
    pub description: Text,
    /// The criteria in plain language, as shown before one applies.
    pub criteria: Text,
    /// The unit that handles the applications.
    pub unit: Unit,
    /// LOS themes (`https://psi.norge.no/los/tema/...` or `.../ord/...`).
    pub los: Vec<String>,
    /// The legal basis of the service.
    pub legal_basis: LegalBasis,
    /// The policy area the identity layer decides access by (e.g. `barnehage`).
    pub area: String,
    /// On whose behalf one may apply.
    pub applicants: Vec<Applicant>,
    /// The form.
    pub form: Form,
    /// Form fields filled from the registers instead of asked.
    #[serde(default)]
    pub prefill: Vec<PrefillBinding>,
    /// Eligibility and decision rules, in order.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// How applications are decided.
    pub decision: DecisionMode,
    /// The deadlines.
    pub deadline: Deadline,
    /// The letters sent.
    pub letters: Letters,
    /// Where cases are filed in the archive, and how they are screened.
    pub archive: ArchiveSpec,
    /// Fees, if any.
    #[serde(default)]
    pub fees: Vec<Fee>,
}

/// The unit (virksomhet/enhet) that handles a service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    /// The unit's id, as the identity layer's employee units use it.
    pub id: String,
    /// The unit's name.
    pub name: Text,
}

/// A law or regulation a service rests on.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalBasis {
    /// The citation, e.g. `barnehageloven §§ 16–17`.
    pub text: String,
    /// The law on Lovdata.
    pub url: String,
}

/// On whose behalf a person may apply; matches [`identity::ActingAs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Applicant {
    /// For themselves.
    #[serde(rename = "self")]
    Myself,
    /// For a child they have parental responsibility for.
    Child,
    /// For a person they are guardian (verge) for.
    Ward,
    /// For an organisation where they hold a role.
    Organisation,
}

impl Applicant {
    /// Whether a person acting as `acting` may apply under this kind. A fullmakt counts as
    /// acting for oneself on the giver's behalf, so it is allowed where `self` is.
    pub fn allows(self, acting: &identity::ActingAs) -> bool {
        matches!(
            (self, acting),
            (Applicant::Myself, identity::ActingAs::Myself | identity::ActingAs::Fullmakt { .. })
                | (Applicant::Child, identity::ActingAs::Child(_))
                | (Applicant::Ward, identity::ActingAs::Ward(_))
                | (Applicant::Organisation, identity::ActingAs::Organisation(..))
        )
    }
}

/// The form: pages, each one question group.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    /// The pages, in order.
    pub pages: Vec<Page>,
}

/// One page of a form.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// The page's id (a path segment).
    pub id: String,
    /// The page's heading.
    pub title: Text,
    /// The fields.
    pub fields: Vec<Field>,
}

/// The kinds of field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// One line of text.
    Text,
    /// Several lines of text.
    Textarea,
    /// A whole number.
    Integer,
    /// An amount in whole kroner.
    Amount,
    /// A date, `dd.mm.åååå` (ISO `åååå-mm-dd` accepted too).
    Date,
    /// Yes or no.
    YesNo,
    /// One value from a code list.
    Choice,
    /// Any values from a code list.
    Multichoice,
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// An organisation number.
    Orgnr,
    /// Uploaded files.
    Attachment,
    /// A repeating group of sub-fields.
    Group,
}

/// One field of a form.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// The field's name: the form key and the rules' variable (`[a-z][a-z0-9_]*`).
    pub name: String,
    /// The kind of field.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// The label.
    pub label: Text,
    /// A hint shown under the label.
    #[serde(default)]
    pub hint: Option<Text>,
    /// Whether an answer is required (when the field is shown).
    #[serde(default)]
    pub required: bool,
    /// The smallest number or amount.
    #[serde(default)]
    pub min: Option<i64>,
    /// The largest number or amount.
    #[serde(default)]
    pub max: Option<i64>,
    /// The most characters of a text.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// The code list of a choice or multichoice.
    #[serde(default)]
    pub options: Vec<Choice>,
    /// Shown only when this condition holds (an expression over fields and facts).
    #[serde(default)]
    pub shown_when: Option<String>,
    /// Accepted media types of an attachment (`application/pdf`, `image/png`, `image/jpeg`).
    #[serde(default)]
    pub accept: Vec<String>,
    /// The largest file of an attachment, in bytes.
    #[serde(default)]
    pub max_bytes: Option<u64>,
    /// The most files of an attachment field.
    #[serde(default)]
    pub max_count: Option<u32>,
    /// The sub-fields of a group.
    #[serde(default)]
    pub fields: Vec<Field>,
    /// The fewest entries of a group.
    #[serde(default)]
    pub min_items: Option<u32>,
    /// The most entries of a group.
    #[serde(default)]
    pub max_items: Option<u32>,
}

/// One entry of a code list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// The stored value.
    pub value: String,
    /// The label.
    pub label: Text,
}

/// A field filled from a register fact.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefillBinding {
    /// The form field (or a display-only name, when no field of that name exists).
    pub field: String,
    /// The fact.
    pub fact: Fact,
    /// Why it is read, as the person is shown it in the access log.
    pub purpose: String,
    /// On what legal basis.
    pub legal_basis: String,
}

/// What a rule concludes when its condition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleOutcome {
    /// The application is granted.
    Grant,
    /// The application is rejected.
    Reject,
    /// A caseworker must decide.
    Manual,
}

/// An eligibility or decision rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The rule's id, recorded with each decision.
    pub id: String,
    /// The condition: an expression over fields and facts.
    pub when: String,
    /// What it concludes.
    pub outcome: RuleOutcome,
    /// The explanation the applicant reads; `{name}` inserts a field's or fact's value.
    pub explanation: Text,
}

/// How a service's applications are decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionMode {
    /// The rules decide; grants and rejections alike are sent without review.
    Automatic,
    /// A caseworker decides; the rules only advise.
    Manual,
    /// The rules decide grants; a rejection waits for a caseworker's review.
    AutomaticWithReviewOfRejections,
}

/// A service's deadlines.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    /// The processing time the municipality promises, in weeks.
    #[serde(default)]
    pub processing_weeks: Option<u32>,
    /// A yearly application deadline, `MM-DD` (the main intake's `03-01` for barnehage).
    #[serde(default)]
    pub apply_by: Option<String>,
    /// The deadlines in plain language.
    pub text: Text,
}

impl Deadline {
    /// The yearly application deadline as (month, day), when there is one.
    pub fn apply_by_month_day(&self) -> Option<(time::Month, u8)> {
        let (month, day) = self.apply_by.as_deref()?.split_once('-')?;
        let month = time::Month::try_from(month.parse::<u8>().ok()?).ok()?;
        let day = day.parse::<u8>().ok()?;
        // 2024 is a leap year, so 29 February is allowed.
        time::Date::from_calendar_date(2024, month, day).ok()?;
        Some((month, day))
    }
}

/// The letters a service sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Letters {
    /// The receipt.
    pub receipt: LetterTemplate,
    /// The decision.
    pub decision: LetterTemplate,
}

/// One letter: the template it is rendered with and its texts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LetterTemplate {
    /// The template, one of [`render::LetterKind`] (`kvittering`, `vedtak`, ...).
    pub template: String,
    /// The letter's title.
    pub title: Text,
    /// The opening paragraph.
    pub body: Text,
}

impl LetterTemplate {
    /// The render template.
    pub fn kind(&self) -> Option<render::LetterKind> {
        self.template.parse().ok()
    }
}

/// Where a service's cases are filed, and how they are screened.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveSpec {
    /// The ordningsprinsipp (classification system), e.g. `KODE` or `FELLESKLASSE`.
    pub ordningsprinsipp: String,
    /// The klasse (ordningsverdi), e.g. `A10`.
    pub klasse: String,
    /// The skjermingshjemmel, e.g. `Offl. § 13 jf. fvl. § 13`, when the case is screened.
    #[serde(default)]
    pub screening: Option<String>,
}

/// A fee.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    /// What the fee is for.
    pub description: Text,
    /// The amount in kroner, when fixed.
    #[serde(default)]
    pub amount_nok: Option<i64>,
}

/// A problem with a definition, at a path such as `form.pages[1].fields[0].type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The path of the offending value.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn problem(path: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem { path: path.into(), message: message.into() }
}

/// Whether `name` is a field or rule name: `[a-z][a-z0-9_]*`.
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The media types an attachment may accept: those we can recognise from content.
pub const KNOWN_MEDIA_TYPES: [&str; 3] = ["application/pdf", "image/png", "image/jpeg"];

/// The largest attachment a definition may allow (25 MiB).
pub const MAX_ATTACHMENT_BYTES: u64 = 25 * 1024 * 1024;

impl Service {
    /// Every field of the form, with its page index, top-level fields only.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.form.pages.iter().flat_map(|page| page.fields.iter())
    }

    /// The top-level field named `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields().find(|field| field.name == name)
    }

    /// The binding that fills `field`, if it is prefilled.
    pub fn binding(&self, field: &str) -> Option<&PrefillBinding> {
        self.prefill.iter().find(|binding| binding.field == field)
    }

    /// The names a condition or rule may use: every field (top-level and group sub-fields by
    /// their own name), every prefilled name and every fact.
    pub fn variables(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = Fact::ALL.iter().map(|fact| fact.name().to_owned()).collect();
        for field in self.fields() {
            names.insert(field.name.clone());
            for sub in &field.fields {
                names.insert(sub.name.clone());
            }
        }
        // A binding may fill a name that is shown but not asked (`virksomhet`).
        for binding in &self.prefill {
            names.insert(binding.field.clone());
        }
        names
    }

    /// Every check beyond the file's shape. An empty list means the definition is sound.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if !is_name(&self.id.replace('-', "_")) {
            problems
                .push(problem("id", format!("{:?} is not a valid id (lower-case letters, digits, - and _)", self.id)));
        }
        if self.version == 0 {
            problems.push(problem("version", "the version starts at 1"));
        }
        texts(&mut problems, "name", &self.name);
        texts(&mut problems, "description", &self.description);
        texts(&mut problems, "criteria", &self.criteria);
        texts(&mut problems, "unit.name", &self.unit.name);
        if self.unit.id.trim().is_empty() {
            problems.push(problem("unit.id", "the unit's id is empty"));
        }
        if self.los.is_empty() {
            problems.push(problem("los", "at least one LOS theme"));
        }
        for (i, uri) in self.los.iter().enumerate() {
            if !is_los_uri(uri) {
                problems.push(problem(
                    format!("los[{i}]"),
                    format!("{uri:?} is not a LOS URI (https://psi.norge.no/los/tema/<name> or .../ord/<name>)"),
                ));
            }
        }
        if self.legal_basis.text.trim().is_empty() {
            problems.push(problem("legal_basis.text", "the legal basis is empty"));
        }
        if !self.legal_basis.url.starts_with("https://lovdata.no/") {
            problems.push(problem("legal_basis.url", "the legal basis links to Lovdata (https://lovdata.no/...)"));
        }
        if !identity::fullmakt::SERVICE_AREAS.iter().any(|(code, ..)| *code == self.area) {
            let known: Vec<&str> = identity::fullmakt::SERVICE_AREAS.iter().map(|(code, ..)| *code).collect();
            problems
                .push(problem("area", format!("{:?} is not a service area; one of {}", self.area, known.join(", "))));
        }
        if self.applicants.is_empty() {
            problems.push(problem("applicants", "at least one kind of applicant"));
        }
        self.form_problems(&mut problems);
        self.prefill_problems(&mut problems);
        self.rule_problems(&mut problems);
        if self.deadline.processing_weeks.is_none() && self.deadline.apply_by.is_none() {
            problems.push(problem("deadline", "a processing time (processing_weeks) or a yearly deadline (apply_by)"));
        }
        if self.deadline.processing_weeks == Some(0) {
            problems.push(problem("deadline.processing_weeks", "at least one week"));
        }
        if self.deadline.apply_by.is_some() && self.deadline.apply_by_month_day().is_none() {
            problems.push(problem("deadline.apply_by", "a day of the year as MM-DD"));
        }
        texts(&mut problems, "deadline.text", &self.deadline.text);
        for (name, letter) in [("receipt", &self.letters.receipt), ("decision", &self.letters.decision)] {
            if letter.kind().is_none() {
                let known: Vec<&str> = render::LetterKind::ALL.iter().map(|kind| kind.as_str()).collect();
                problems.push(problem(
                    format!("letters.{name}.template"),
                    format!("unknown letter template {:?} (known: {})", letter.template, known.join(", ")),
                ));
            }
            texts(&mut problems, &format!("letters.{name}.title"), &letter.title);
            texts(&mut problems, &format!("letters.{name}.body"), &letter.body);
            // What the letter can carry: a title on one line, an opening paragraph.
            for (language, value) in letter.title.each() {
                if value.chars().count() > 200 || value.chars().any(char::is_control) {
                    let path = format!("letters.{name}.title.{}", language.tag());
                    problems.push(problem(path, "a title is one line of at most 200 characters"));
                }
            }
            for (language, value) in letter.body.each() {
                if value.chars().count() > 2000 || value.chars().any(|c| c.is_control() && c != '\n') {
                    let path = format!("letters.{name}.body.{}", language.tag());
                    problems.push(problem(path, "an opening is at most 2000 characters, without control characters"));
                }
            }
        }
        if self.archive.klasse.trim().is_empty() {
            problems.push(problem("archive.klasse", "the archive class is empty"));
        }
        if self.archive.ordningsprinsipp.trim().is_empty() {
            problems.push(problem("archive.ordningsprinsipp", "the classification system is empty"));
        }
        if self.archive.screening.as_deref().is_some_and(|s| s.trim().is_empty()) {
            problems.push(problem("archive.screening", "leave it out rather than empty"));
        }
        for (i, fee) in self.fees.iter().enumerate() {
            texts(&mut problems, &format!("fees[{i}].description"), &fee.description);
            if fee.amount_nok.is_some_and(|amount| amount < 0) {
                problems.push(problem(format!("fees[{i}].amount_nok"), "a fee is not negative"));
            }
        }
        problems
    }

    fn form_problems(&self, problems: &mut Vec<Problem>) {
        if self.form.pages.is_empty() {
            problems.push(problem("form.pages", "at least one page"));
        }
        let variables = self.variables();
        let mut seen = BTreeSet::new();
        let mut page_ids = BTreeSet::new();
        for (p, page) in self.form.pages.iter().enumerate() {
            let path = format!("form.pages[{p}]");
            if !is_name(&page.id.replace('-', "_")) || !page_ids.insert(page.id.as_str()) {
                problems.push(problem(format!("{path}.id"), format!("{:?} is not a unique page id", page.id)));
            }
            texts(problems, &format!("{path}.title"), &page.title);
            if page.fields.is_empty() {
                problems.push(problem(format!("{path}.fields"), "a page asks at least one question"));
            }
            for (f, field) in page.fields.iter().enumerate() {
                let path = format!("{path}.fields[{f}]");
                if !seen.insert(field.name.clone()) {
                    problems.push(problem(format!("{path}.name"), format!("field {:?} is defined twice", field.name)));
                }
                field_problems(problems, &path, field, &variables, true);
                for sub in &field.fields {
                    if !seen.insert(sub.name.clone()) {
                        problems
                            .push(problem(format!("{path}.name"), format!("field {:?} is defined twice", sub.name)));
                    }
                }
            }
        }
    }

    fn prefill_problems(&self, problems: &mut Vec<Problem>) {
        let mut seen = BTreeSet::new();
        for (i, binding) in self.prefill.iter().enumerate() {
            let path = format!("prefill[{i}]");
            if !seen.insert(binding.field.as_str()) {
                problems.push(problem(format!("{path}.field"), format!("{:?} is prefilled twice", binding.field)));
            }
            if let Some(field) = self.field(&binding.field) {
                if matches!(field.kind, FieldType::Attachment | FieldType::Group) {
                    problems.push(problem(format!("{path}.field"), "attachments and groups cannot be prefilled"));
                }
            } else if !is_name(&binding.field) {
                problems.push(problem(format!("{path}.field"), format!("{:?} is not a field name", binding.field)));
            }
            if !binding.fact.allowed_for(&self.applicants) {
                problems.push(problem(
                    format!("{path}.fact"),
                    format!("fact {} needs an applicant kind this service does not allow", binding.fact.name()),
                ));
            }
            if let Err(error) = audit::Purpose::parse(&binding.purpose) {
                problems.push(problem(format!("{path}.purpose"), error.to_string()));
            }
            if let Err(error) = audit::LegalBasis::parse(&binding.legal_basis) {
                problems.push(problem(format!("{path}.legal_basis"), error.to_string()));
            }
        }
    }

    fn rule_problems(&self, problems: &mut Vec<Problem>) {
        let variables = self.variables();
        let mut seen = BTreeSet::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let path = format!("rules[{i}]");
            if !is_name(&rule.id) || !seen.insert(rule.id.as_str()) {
                problems.push(problem(format!("{path}.id"), format!("{:?} is not a unique rule id", rule.id)));
            }
            if let Err(message) = Expression::parse(&rule.when, &variables) {
                problems.push(problem(format!("{path}.when"), message));
            }
            texts(problems, &format!("{path}.explanation"), &rule.explanation);
            for (language, text) in rule.explanation.each() {
                for name in crate::rules::placeholders(text) {
                    if !variables.contains(name) {
                        problems.push(problem(
                            format!("{path}.explanation.{}", language.tag()),
                            format!("unknown variable {{{name}}} in the explanation"),
                        ));
                    }
                }
            }
        }
        let automatic = !matches!(self.decision, DecisionMode::Manual);
        if automatic && self.rules.is_empty() {
            problems.push(problem("rules", "an automatic decision needs rules"));
        }
    }
}

fn field_problems(problems: &mut Vec<Problem>, path: &str, field: &Field, variables: &BTreeSet<String>, top: bool) {
    if !is_name(&field.name) {
        problems
            .push(problem(format!("{path}.name"), format!("{:?} is not a field name ([a-z][a-z0-9_]*)", field.name)));
    }
    texts(problems, &format!("{path}.label"), &field.label);
    if let Some(hint) = &field.hint {
        texts(problems, &format!("{path}.hint"), hint);
    }
    if let (Some(min), Some(max)) = (field.min, field.max)
        && min > max
    {
        problems.push(problem(format!("{path}.min"), "min is larger than max"));
    }
    if field.max_length == Some(0) {
        problems.push(problem(format!("{path}.max_length"), "at least one character"));
    }
    let numeric = matches!(field.kind, FieldType::Integer | FieldType::Amount);
    if !numeric && (field.min.is_some() || field.max.is_some()) {
        problems.push(problem(format!("{path}.min"), "min and max are for integer and amount fields"));
    }
    let choice = matches!(field.kind, FieldType::Choice | FieldType::Multichoice);
    if choice && field.options.is_empty() {
        problems.push(problem(format!("{path}.options"), "a code list is not empty"));
    }
    if !choice && !field.options.is_empty() {
        problems.push(problem(format!("{path}.options"), "options are for choice and multichoice fields"));
    }
    let mut values = BTreeSet::new();
    for (o, option) in field.options.iter().enumerate() {
        if option.value.trim().is_empty() || !values.insert(option.value.as_str()) {
            problems.push(problem(format!("{path}.options[{o}].value"), "a unique, non-empty value"));
        }
        texts(problems, &format!("{path}.options[{o}].label"), &option.label);
    }
    if field.kind == FieldType::Attachment {
        if field.accept.is_empty() {
            problems.push(problem(format!("{path}.accept"), "the accepted media types"));
        }
        for (a, media_type) in field.accept.iter().enumerate() {
            if !KNOWN_MEDIA_TYPES.contains(&media_type.as_str()) {
                problems.push(problem(
                    format!("{path}.accept[{a}]"),
                    format!("{media_type:?} is not one of {}", KNOWN_MEDIA_TYPES.join(", ")),
                ));
            }
        }
        match field.max_bytes {
            None => problems.push(problem(format!("{path}.max_bytes"), "an attachment needs a size limit")),
            Some(bytes) if bytes == 0 || bytes > MAX_ATTACHMENT_BYTES => problems
                .push(problem(format!("{path}.max_bytes"), format!("between 1 and {MAX_ATTACHMENT_BYTES} bytes"))),
            Some(_) => {}
        }
        if field.max_count.is_some_and(|count| count == 0 || count > 20) {
            problems.push(problem(format!("{path}.max_count"), "between 1 and 20 files"));
        }
    } else if !field.accept.is_empty() || field.max_bytes.is_some() || field.max_count.is_some() {
        problems.push(problem(format!("{path}.accept"), "accept, max_bytes and max_count are for attachments"));
    }
    if field.kind == FieldType::Group {
        if !top {
            problems.push(problem(format!("{path}.type"), "groups do not nest"));
        }
        if field.fields.is_empty() {
            problems.push(problem(format!("{path}.fields"), "a group has sub-fields"));
        }
        if let (Some(min), Some(max)) = (field.min_items, field.max_items)
            && min > max
        {
            problems.push(problem(format!("{path}.min_items"), "min_items is larger than max_items"));
        }
        if field.max_items.is_none() {
            problems.push(problem(format!("{path}.max_items"), "a repeating group needs an upper bound"));
        }
        for (s, sub) in field.fields.iter().enumerate() {
            field_problems(problems, &format!("{path}.fields[{s}]"), sub, variables, false);
        }
    } else if !field.fields.is_empty() || field.min_items.is_some() || field.max_items.is_some() {
        problems.push(problem(format!("{path}.fields"), "sub-fields are for groups"));
    }
    if let Some(condition) = &field.shown_when
        && let Err(message) = Expression::parse(condition, variables)
    {
        problems.push(problem(format!("{path}.shown_when"), message));
    }
}

fn texts(problems: &mut Vec<Problem>, path: &str, text: &Text) {
    for (language, value) in text.each() {
        if value.trim().is_empty() {
            problems.push(problem(format!("{path}.{}", language.tag()), "the text is empty"));
        }
    }
}

/// Whether `uri` is a LOS theme or word URI.
pub fn is_los_uri(uri: &str) -> bool {
    ["https://psi.norge.no/los/tema/", "https://psi.norge.no/los/ord/"].iter().any(|prefix| {
        uri.strip_prefix(prefix).is_some_and(|rest| {
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
    })
}
