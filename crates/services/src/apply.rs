//! Applying: a person's way from a service in the catalogue to a case. A draft is started (the
//! prefill read once from the registers and kept with it), saved page by page (each page
//! validated, uploaded files kept in the blob store by their checksum), and submitted: the
//! registers are read again, the whole form checked, the rules evaluated, and the application
//! handed to `cases` as one [`cases::NewApplication`] — a saksmappe with the submission as PDF/A,
//! a receipt letter, and a decision when the rules may make one.
//!
//! Nothing here trusts the browser with what the registers know: prefilled fields are refused in
//! a posted form (`form::validate`), and the facts the rules and the submission use are read
//! again at submission, under each binding's purpose and legal basis.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use identity::ActingAs;
use kernel::{Fnr, Kommunenummer, Language, Timestamp};
use store::{BlobStore, Db, StoreError};

use crate::catalog::Catalog;
use crate::definition::{DecisionMode, Service};
use crate::drafts::{Draft, DraftError, Drafts, NewDraft, subject_key};
use crate::form::{self, FieldError, NoScan, Scope, Upload, VirusScanner};
use crate::prefill::{Prefill, PrefillError, PrefillRequest, prefill};
use crate::rules::{self, Decision};
use crate::summary;
use crate::value::{Answers, Value};

/// Who applies: the person logged in, whom they act for, and that party's name (from the
/// session, or the choice of child the person made).
#[derive(Clone)]
pub struct Who {
    /// The person logged in.
    pub me: Fnr,
    /// Their name.
    pub name: String,
    /// Whom they apply for.
    pub acting: ActingAs,
    /// The name of whom they act for, when not themselves.
    pub acting_name: Option<String>,
}

/// Numbers and names are personal data: `Debug` shows only the kind of acting.
impl std::fmt::Debug for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Who").field("acting", &self.acting.kind()).finish_non_exhaustive()
    }
}

/// Why applying failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// No such service, or no such draft of this person.
    #[error("not found")]
    NotFound,
    /// The service is switched off for this municipality (or gone from the catalogue).
    #[error("the service does not take applications")]
    Closed,
    /// The person may not apply as whom they act for.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// A page's answers are wrong; nothing was saved.
    #[error("{} field(s) are not valid", .0.len())]
    Invalid(Vec<FieldError>),
    /// The form is not complete; nothing was sent.
    #[error("{} field(s) are missing or not valid", .0.len())]
    Incomplete(Vec<FieldError>),
    /// The registers could not be read.
    #[error(transparent)]
    Prefill(#[from] PrefillError),
    /// The draft could not be read or saved.
    #[error(transparent)]
    Draft(#[from] DraftError),
    /// The case could not be made.
    #[error(transparent)]
    Case(#[from] cases::CaseError),
    /// The blob store or the database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The archive failed (its code list for screening).
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
}

impl ApplyError {
    /// The error's kind, for the web layer's answer.
    pub fn kind(&self) -> kernel::ErrorKind {
        use kernel::ErrorKind;
        match self {
            ApplyError::NotFound | ApplyError::Draft(DraftError::NotFound) => ErrorKind::NotFound,
            ApplyError::Closed => ErrorKind::Conflict,
            ApplyError::Forbidden(_) | ApplyError::Prefill(PrefillError::Forbidden(_)) => ErrorKind::Forbidden,
            ApplyError::Invalid(_) | ApplyError::Incomplete(_) => ErrorKind::Invalid,
            ApplyError::Prefill(PrefillError::NotFound) => ErrorKind::NotFound,
            ApplyError::Case(error) => error.kind(),
            ApplyError::Prefill(_) | ApplyError::Draft(_) | ApplyError::Store(_) | ApplyError::Archive(_) => {
                ErrorKind::Other
            }
        }
    }
}

/// The tilgangsrestriksjon a screened service's cases get: taushetsplikt (offentleglova § 13),
/// a local value in the archive's code list, added when a municipality's archive lacks it.
const TAUSHETSPLIKT: (&str, &str) = archive::demo::TAUSHETSPLIKT;

/// The applications of every municipality served. Cheap to clone.
#[derive(Clone)]
pub struct Applications {
    db: Db,
    blobs: BlobStore,
    registers: registers::Registers,
    cases: cases::Cases,
    noark: archive::Noark,
    catalog: Arc<Catalog>,
    scanner: Arc<dyn VirusScanner>,
}

impl std::fmt::Debug for Applications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applications").field("services", &self.catalog.services().len()).finish_non_exhaustive()
    }
}

impl Applications {
    /// Applications against `catalog`, with files scanned by nothing ([`NoScan`]) until
    /// [`Applications::with_scanner`] says otherwise.
    pub fn new(
        db: Db,
        blobs: BlobStore,
        registers: registers::Registers,
        cases: cases::Cases,
        catalog: Arc<Catalog>,
    ) -> Self {
        let noark = archive::Noark::new(db.clone(), blobs.clone());
        Applications { db, blobs, registers, cases, noark, catalog, scanner: Arc::new(NoScan) }
    }

    /// Uploaded files go through `scanner` (e.g. clamd) before they are kept.
    pub fn with_scanner(mut self, scanner: Arc<dyn VirusScanner>) -> Self {
        self.scanner = scanner;
        self
    }

    /// The catalogue.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The cases the applications become.
    pub fn cases(&self) -> &cases::Cases {
        &self.cases
    }

    fn drafts(&self, k: Kommunenummer) -> Drafts {
        Drafts::new(self.db.clone(), k)
    }

    fn service(&self, id: &str) -> Result<&Service, ApplyError> {
        self.catalog.get(id).ok_or(ApplyError::Closed)
    }

    fn check_acting(service: &Service, who: &Who) -> Result<(), ApplyError> {
        if service.applicants.iter().any(|a| a.allows(&who.acting)) {
            Ok(())
        } else {
            Err(ApplyError::Forbidden(format!(
                "{} takes no application from one acting as {}",
                service.id,
                who.acting.kind()
            )))
        }
    }

    async fn read_prefill(&self, k: Kommunenummer, who: &Who, service: &Service) -> Result<Prefill, ApplyError> {
        let request = PrefillRequest {
            service,
            applicant: who.me,
            acting: &who.acting,
            kommunenummer: k,
            today: kernel::time::today_in_norway(),
        };
        Ok(prefill(&self.registers, &request).await?)
    }

    /// Starts the draft of `who` for a service, or resumes the one they have: one per person,
    /// service and whom they act for. A new draft reads the prefill (in the access log) and
    /// keeps it, so the pages show the facts without reading the registers again.
    pub async fn start(&self, k: Kommunenummer, who: &Who, service_id: &str) -> Result<Draft, ApplyError> {
        let service = self.service(service_id)?;
        Self::check_acting(service, who)?;
        let drafts = self.drafts(k);
        let subject = subject_key(&who.acting);
        if let Some(draft) = drafts.find(&who.me, &service.id, &subject).await? {
            return Ok(draft);
        }
        let found = self.read_prefill(k, who, service).await?;
        let empty = Answers::new();
        let id = drafts
            .save(
                NewDraft {
                    owner: &who.me,
                    service: &service.id,
                    subject: &subject,
                    service_version: service.version,
                    page: service.form.pages.first().map(|p| p.id.as_str()),
                    answers: &empty,
                },
                Timestamp::now(),
            )
            .await?;
        drafts.set_prefill(&who.me, &id, &found.values).await?;
        Ok(drafts.load(&who.me, &id).await?)
    }

    /// A draft of `who`'s, with its service; another person's draft is "not found", and so is
    /// a draft for someone `who` no longer acts for.
    pub async fn draft(&self, k: Kommunenummer, who: &Who, draft_id: &str) -> Result<(Draft, &Service), ApplyError> {
        let draft = self.drafts(k).load(&who.me, draft_id).await?;
        if draft.subject != subject_key(&who.acting) {
            return Err(ApplyError::NotFound);
        }
        let service = self.service(&draft.service)?;
        Ok((draft, service))
    }

    /// The person's drafts, newest first.
    pub async fn drafts_of(&self, k: Kommunenummer, me: &Fnr) -> Result<Vec<Draft>, ApplyError> {
        Ok(self.drafts(k).list(me).await?)
    }

    /// Discards a draft of the person's.
    pub async fn delete_draft(&self, k: Kommunenummer, me: &Fnr, draft_id: &str) -> Result<(), ApplyError> {
        Ok(self.drafts(k).delete(me, draft_id).await?)
    }

    /// Checks one page's answers and saves them with the draft; uploaded files are kept in
    /// the blob store by checksum. Invalid answers save nothing.
    pub async fn save_page(
        &self,
        k: Kommunenummer,
        who: &Who,
        draft_id: &str,
        page: &str,
        pairs: &[(String, String)],
        uploads: Vec<Upload>,
    ) -> Result<Draft, ApplyError> {
        let (draft, service) = self.draft(k, who, draft_id).await?;
        let facts = facts_of(&draft);
        let answers =
            form::validate(service, Scope::Page(page), pairs, &uploads, self.scanner.as_ref(), &facts, &draft.answers)
                .map_err(ApplyError::Invalid)?;
        // Keep the files the answers now name (already checked and scanned by validate).
        let wanted = attachment_checksums(&answers);
        for upload in uploads {
            let sha = store::blobs::sha256_hex(&upload.bytes);
            if wanted.contains(&sha) {
                self.blobs.put(&blob_key(k, &sha), Bytes::from(upload.bytes)).await?;
            }
        }
        let next = next_page(service, page);
        let drafts = self.drafts(k);
        drafts
            .save(
                NewDraft {
                    owner: &who.me,
                    service: &service.id,
                    subject: &draft.subject,
                    service_version: service.version,
                    page: Some(next.unwrap_or(page)),
                    answers: &answers,
                },
                Timestamp::now(),
            )
            .await?;
        Ok(drafts.load(&who.me, draft_id).await?)
    }

    /// Sends the application. The registers are read again (the facts the case and the rules
    /// use are the registers', not the draft's), the whole form is checked, the rules are
    /// evaluated, and `cases` makes the case, its receipt and — when the rules may — its
    /// decision. The same `idempotency_key` again gives the first case back; the draft is
    /// deleted once the case exists.
    pub async fn submit(
        &self,
        k: Kommunenummer,
        who: &Who,
        draft_id: &str,
        idempotency_key: &str,
        language: Language,
    ) -> Result<cases::Submitted, ApplyError> {
        let key = format!("soknad:{}", idempotency_key.trim());
        if idempotency_key.trim().is_empty() || key.len() > 200 {
            return Err(ApplyError::Invalid(vec![FieldError {
                field: "idempotency_key".to_owned(),
                code: form::ErrorCode::Required,
                params: Default::default(),
            }]));
        }
        let (draft, service) = match self.draft(k, who, draft_id).await {
            Ok(found) => found,
            // Sent already (a double click, a replayed POST): the first case — only to the person
            // who sent it; anyone else is told nothing about it.
            Err(ApplyError::Draft(DraftError::NotFound)) => {
                let submitted = self.cases.submitted(k, &key).await?.ok_or(ApplyError::NotFound)?;
                let case = self.cases.case(k, &submitted.case_id).await?.ok_or(ApplyError::NotFound)?;
                if case.submitted_by.0 != who.me.as_digits() {
                    return Err(ApplyError::NotFound);
                }
                return Ok(submitted);
            }
            Err(other) => return Err(other),
        };
        Self::check_acting(service, who)?;
        let found = self.read_prefill(k, who, service).await?;
        let facts = found.facts();
        let answers = form::complete(service, &facts, &draft.answers).map_err(ApplyError::Incomplete)?;
        let attachments = self.attachments(k, service, &answers).await?;
        let outcome = (!service.rules.is_empty()).then(|| rules::evaluate(service, &facts, &answers));
        let today = kernel::time::today_in_norway();
        let name = service.name.get(language);
        let applicant = applicant_party(who, &found);
        let subject = subject_party(who, &found);
        let whose = subject.as_ref().unwrap_or(&applicant).name().to_owned();
        let screening = match &service.archive.screening {
            Some(hjemmel) => Some(self.screening(k, hjemmel).await?),
            None => None,
        };
        let application = cases::NewApplication {
            idempotency_key: key,
            service: cases::ServiceInfo {
                id: service.id.clone(),
                version: service.version.to_string(),
                title: name.to_owned(),
                area: service.area.clone(),
                unit: service.unit.id.clone(),
                classification: Some(service.archive.klasse.trim().to_owned()),
                screening,
                decision_mode: match service.decision {
                    DecisionMode::Automatic => cases::DecisionMode::Automatic,
                    DecisionMode::Manual => cases::DecisionMode::Manual,
                    DecisionMode::AutomaticWithReviewOfRejections => {
                        cases::DecisionMode::AutomaticWithReviewOfRejections
                    }
                },
                deadline: answer_due(service, today),
                legal_basis: service.legal_basis.text.clone(),
                appeal_body: None,
                receipt: Some(cases::LetterText {
                    title: service.letters.receipt.title.get(language).to_owned(),
                    body: service.letters.receipt.body.get(language).to_owned(),
                }),
            },
            applicant,
            submitted_by: (who.me, who.name.clone()),
            subject,
            language,
            title: format!("{} – {whose}", application_title(language, name)),
            public_title: application_title(language, name),
            sections: summary::sections(service, &answers, &found, language),
            attachments,
            automated: outcome.map(|outcome| automated(service, outcome, language)),
        };
        let submitted = self.cases.submit(k, application).await?;
        match self.drafts(k).delete(&who.me, &draft.id).await {
            Ok(()) | Err(DraftError::NotFound) => {}
            Err(error) => return Err(error.into()),
        }
        Ok(submitted)
    }

    /// "This is wrong" about a prefilled fact: an inquiry to the service's unit, naming the
    /// field and the register, with the person's words. Returns the inquiry's id.
    pub async fn report_wrong_fact(
        &self,
        k: Kommunenummer,
        who: &Who,
        draft_id: &str,
        field: &str,
        text: &str,
    ) -> Result<String, ApplyError> {
        let (draft, service) = self.draft(k, who, draft_id).await?;
        let Some(value) = draft.prefill.iter().find(|v| v.field == field) else {
            return Err(ApplyError::Invalid(vec![FieldError {
                field: field.to_owned(),
                code: form::ErrorCode::UnknownField,
                params: Default::default(),
            }]));
        };
        let label = service.field(field).map_or(field, |f| f.label.get(Language::Bokmal));
        let inquiry = cases::inquiries::NewInquiry {
            channel: cases::inquiries::Channel::Web,
            service_id: Some(service.id.clone()),
            unit: service.unit.id.clone(),
            category: cases::inquiries::WRONG_REGISTER_FACT.to_owned(),
            text: format!(
                "{label} ({}, hentet {}): «{}». {}",
                value.source,
                crate::value::norwegian_date(value.fetched_on),
                value.display,
                text.trim()
            ),
            from: Some(cases::Party::Person { fnr: who.me, name: who.name.clone() }),
            contact: None,
            registered_by: None,
            archive_duty: false,
            language: Language::Bokmal,
        };
        Ok(self.cases.register_inquiry(k, inquiry).await?)
    }

    /// The files the answers name, read back from the blob store.
    async fn attachments(
        &self,
        k: Kommunenummer,
        service: &Service,
        answers: &Answers,
    ) -> Result<Vec<cases::Attachment>, ApplyError> {
        let mut files = Vec::new();
        for field in service.fields() {
            let Some(Value::Attachments(list)) = answers.get(&field.name) else { continue };
            for (index, file) in list.iter().enumerate() {
                let reference = store::blobs::BlobRef {
                    key: blob_key(k, &file.sha256),
                    size: file.size,
                    sha256: file.sha256.clone(),
                };
                let bytes = self.blobs.get(&reference).await?;
                files.push(cases::Attachment {
                    title: format!("{} {}", field.label.get(Language::Bokmal), index + 1),
                    mime_type: file.media_type.clone(),
                    filename: file.file_name.clone(),
                    bytes,
                });
            }
        }
        Ok(files)
    }

    /// The screening of a screened service's cases, with its tilgangsrestriksjon in the
    /// municipality's code list.
    async fn screening(&self, k: Kommunenummer, hjemmel: &str) -> Result<archive::Screening, ApplyError> {
        let (kode, kodenavn) = TAUSHETSPLIKT;
        if self.noark.codebook(k).await?.lookup("tilgangsrestriksjon", kode).is_none() {
            self.noark.add_code(k, "tilgangsrestriksjon", kode, kodenavn).await?;
        }
        Ok(archive::Screening {
            tilgangsrestriksjon: kode.to_owned(),
            skjermingshjemmel: hjemmel.to_owned(),
            // The party's name (navn avsender/mottaker) and the title's personal part.
            metadata: vec!["NA".to_owned(), "TRO".to_owned()],
            dokument: Some("H".to_owned()),
            duration_years: None,
        })
    }
}

/// The facts a draft's pages and conditions see: those read when it was started.
pub fn facts_of(draft: &Draft) -> Answers {
    let mut facts = Answers::new();
    for value in &draft.prefill {
        facts.insert(value.fact.name().to_owned(), value.value.clone());
        facts.insert(value.field.clone(), value.value.clone());
    }
    facts
}

/// The page after `page`, if any.
pub fn next_page<'s>(service: &'s Service, page: &str) -> Option<&'s str> {
    let pages = &service.form.pages;
    let index = pages.iter().position(|p| p.id == page)?;
    pages.get(index + 1).map(|p| p.id.as_str())
}

fn blob_key(k: Kommunenummer, sha256: &str) -> String {
    format!("{}/soknader/{sha256}", k.as_str())
}

fn attachment_checksums(answers: &Answers) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack: Vec<&Answers> = vec![answers];
    while let Some(map) = stack.pop() {
        for value in map.values() {
            match value {
                Value::Attachments(files) => out.extend(files.iter().map(|f| f.sha256.clone())),
                Value::Group(entries) => stack.extend(entries.iter()),
                _ => {}
            }
        }
    }
    out
}

/// "Søknad om barnehageplass": a title without personal data.
fn application_title(language: Language, name: &str) -> String {
    let name_lower = lower_first(name);
    match language {
        Language::Bokmal | Language::Nynorsk => format!("Søknad om {name_lower}"),
        Language::English => format!("Application: {name}"),
    }
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The text value of a fact read at submission.
fn fact_text(found: &Prefill, fact: &str) -> Option<String> {
    found.values.iter().find(|v| v.fact.name() == fact).map(|v| v.display.clone())
}

/// Whose affairs the application is: the person, or the organisation they act for. A child's
/// or ward's application is the parent's or guardian's, about the child ([`subject_party`]).
fn applicant_party(who: &Who, found: &Prefill) -> cases::Party {
    match &who.acting {
        ActingAs::Organisation(orgnr, _) => cases::Party::Organisation {
            orgnr: *orgnr,
            name: fact_text(found, "organisation.name")
                .or_else(|| who.acting_name.clone())
                .unwrap_or_else(|| orgnr.as_digits()),
        },
        ActingAs::Fullmakt { giver, .. } => {
            cases::Party::Person { fnr: *giver, name: who.acting_name.clone().unwrap_or_else(|| giver.as_digits()) }
        }
        ActingAs::Myself | ActingAs::Child(_) | ActingAs::Ward(_) => {
            cases::Party::Person { fnr: who.me, name: who.name.clone() }
        }
    }
}

/// Whom the application is for, when not the applicant: the child or the ward.
fn subject_party(who: &Who, found: &Prefill) -> Option<cases::Party> {
    let (fnr, fact) = match &who.acting {
        ActingAs::Child(fnr) => (*fnr, "child.name"),
        ActingAs::Ward(fnr) => (*fnr, "ward.name"),
        _ => return None,
    };
    let name = fact_text(found, fact).or_else(|| who.acting_name.clone()).unwrap_or_else(|| fnr.as_digits());
    Some(cases::Party::Person { fnr, name })
}

/// When the answer is due: the promised processing time after receipt, or — for a service
/// with a yearly application deadline still ahead — after that deadline. Eight weeks when the
/// definition promises nothing.
pub fn answer_due(service: &Service, today: time::Date) -> time::Date {
    let weeks = i64::from(service.deadline.processing_weeks.unwrap_or(8));
    let start = service
        .deadline
        .apply_by_month_day()
        .and_then(|(month, day)| time::Date::from_calendar_date(today.year(), month, day).ok())
        .filter(|deadline| *deadline > today)
        .unwrap_or(today);
    start.saturating_add(time::Duration::weeks(weeks))
}

/// The rules' outcome as `cases` records it, in the applicant's language.
fn automated(service: &Service, outcome: rules::Outcome, language: Language) -> cases::AutomatedOutcome {
    let name = lower_first(service.name.get(language));
    let result = match outcome.result {
        Decision::Grant if !outcome.needs_review => cases::RuleResult::Grant,
        Decision::Reject => cases::RuleResult::Reject,
        Decision::Grant | Decision::Manual => cases::RuleResult::Manual,
    };
    let vedtak_text = match (result, language) {
        (cases::RuleResult::Grant, Language::Bokmal) => format!("Søknaden din om {name} er innvilget."),
        (cases::RuleResult::Grant, Language::Nynorsk) => format!("Søknaden din om {name} er innvilga."),
        (cases::RuleResult::Grant, Language::English) => format!("Your application for {name} is granted."),
        (_, Language::Bokmal) => format!("Søknaden din om {name} er avslått."),
        (_, Language::Nynorsk) => format!("Søknaden din om {name} er avslått."),
        (_, Language::English) => format!("Your application for {name} is refused."),
    };
    cases::AutomatedOutcome {
        result,
        fired: outcome
            .fired
            .iter()
            .map(|rule| cases::FiredRule {
                id: rule.id.clone(),
                explanation: rule.explanation.get(language).to_owned(),
            })
            .collect(),
        vedtak_text,
        reasons_text: service.letters.decision.body.get(language).to_owned(),
    }
}
