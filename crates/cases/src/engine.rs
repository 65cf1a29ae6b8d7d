//! The case engine: submission, the caseworker's steps, decisions, appeals and the jobs that
//! send the letters and flag provisional replies.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use archive::{
    Archive, Correspondent, CorrespondentRole, DocumentRole, JournalpostType, NewCase, NewDocument, NewJournalpost,
    Noark,
};
use audit::{Access, AccessContext, AuditLog, LegalBasis, Purpose};
use bytes::Bytes;
use identity::employees::Employee;
use identity::policy::{self, Action, Asker, Resource};
use kernel::{CloudEvent, Kommunenummer, Language, Timestamp};
use post::{NewLetter, Post, Recipient, Sender, TemplateContent};
use store::jobs::{ClaimedJob, Handlers, NewJob};
use store::{Db, Param, Tx, params};
use time::Date;

use crate::model::*;
use crate::{CaseError, STATUS_EVENT};

/// The job kinds this context runs.
pub mod jobs {
    /// Sends a case's receipt letter (payload: `case`, and the service's own `title` and `body`
    /// when its definition has them).
    pub const RECEIPT: &str = "cases.receipt";
    /// Sends a decision's letter (payload: `decision`).
    pub const DECISION_LETTER: &str = "cases.decision_letter";
    /// The periodic check that flags cases needing a provisional reply (fvl. § 11a).
    pub const PROVISIONAL_REPLIES: &str = "cases.provisional_replies";
}

/// The sender id of every letter this context sends (the external references are unique under it).
pub(crate) const SENDER: &str = "system:cases";
/// Who the platform is in a case's history.
pub(crate) const SYSTEM: &str = "system:cases";

/// How the case engine behaves.
#[derive(Debug, Clone)]
pub struct CasesConfig {
    /// How often the provisional-reply check runs (a day).
    pub provisional_reply_check_interval: Duration,
    /// How many days before the provisional reply is due the check flags the case.
    pub provisional_reply_warning_days: u32,
}

impl Default for CasesConfig {
    fn default() -> Self {
        Self { provisional_reply_check_interval: Duration::from_secs(24 * 3600), provisional_reply_warning_days: 7 }
    }
}

/// Case handling for every municipality of the deployment.
#[derive(Debug, Clone)]
pub struct Cases {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) db: Db,
    pub(crate) noark: Noark,
    pub(crate) post: Post,
    pub(crate) config: CasesConfig,
}

// ---------------------------------------------------------------------------------------------
// Validation

/// A one-line text: trimmed, not empty, at most `max` characters, no control characters.
pub(crate) fn line(value: &str, field: &str, max: usize) -> Result<String, CaseError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(CaseError::Invalid(format!("{field} is empty")));
    }
    if value.chars().count() > max {
        return Err(CaseError::Invalid(format!("{field} is longer than {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(CaseError::Invalid(format!("{field} holds control characters")));
    }
    Ok(value.to_owned())
}

/// A text of paragraphs: as [`line`], but line breaks and tabs are allowed.
pub(crate) fn paragraphs(value: &str, field: &str, max: usize) -> Result<String, CaseError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(CaseError::Invalid(format!("{field} is empty")));
    }
    if value.chars().count() > max {
        return Err(CaseError::Invalid(format!("{field} is longer than {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(CaseError::Invalid(format!("{field} holds control characters")));
    }
    Ok(value.to_owned())
}

pub(crate) fn check_attachments(attachments: &[Attachment]) -> Result<(), CaseError> {
    if attachments.len() > 50 {
        return Err(CaseError::Invalid("at most 50 attachments".to_owned()));
    }
    for (index, attachment) in attachments.iter().enumerate() {
        line(&attachment.title, &format!("attachment {index} title"), 200)?;
        line(&attachment.mime_type, &format!("attachment {index} mime type"), 100)?;
        line(&attachment.filename, &format!("attachment {index} file name"), 200)?;
        if attachment.bytes.is_empty() {
            return Err(CaseError::Invalid(format!("attachment {index} is empty")));
        }
    }
    Ok(())
}

fn check_party(party: &Party, field: &str) -> Result<(), CaseError> {
    line(party.name(), &format!("{field} name"), 200).map(|_| ())
}

/// The receipt job's payload: the case, and the service's receipt text (kept with the job, so the
/// letter says what the definition said when the application was sent).
fn receipt_payload(case: &str, text: Option<&LetterText>) -> serde_json::Value {
    match text {
        Some(text) => serde_json::json!({ "case": case, "title": text.title.trim(), "body": text.body.trim() }),
        None => serde_json::json!({ "case": case }),
    }
}

fn check_application(application: &NewApplication) -> Result<(), CaseError> {
    line(&application.idempotency_key, "idempotency key", 200)?;
    let service = &application.service;
    line(&service.id, "service id", 100)?;
    line(&service.version, "service version", 40)?;
    line(&service.title, "service title", 200)?;
    line(&service.area, "service area", 100)?;
    line(&service.unit, "service unit", 100)?;
    line(&service.legal_basis, "legal basis", 300)?;
    if let Some(body) = &service.appeal_body {
        line(body, "appeal body", 200)?;
    }
    if let Some(klasse) = &service.classification {
        line(klasse, "classification", 100)?;
    }
    if let Some(receipt) = &service.receipt {
        line(&receipt.title, "receipt title", 200)?;
        let body = receipt.body.trim();
        if body.chars().count() > 2000 || body.chars().any(|c| c.is_control() && c != '\n') {
            return Err(CaseError::Invalid(
                "the receipt's opening is longer than 2000 characters or holds control characters".to_owned(),
            ));
        }
    }
    check_party(&application.applicant, "applicant")?;
    line(&application.submitted_by.1, "submitted by name", 200)?;
    if let Some(subject) = &application.subject {
        check_party(subject, "subject")?;
    }
    line(&application.title, "title", 250)?;
    line(&application.public_title, "public title", 250)?;
    if application.sections.is_empty() || application.sections.len() > 100 {
        return Err(CaseError::Invalid("the submission needs 1 to 100 sections".to_owned()));
    }
    let rows: usize = application.sections.iter().map(|s| s.rows.len()).sum();
    if rows > 2000 {
        return Err(CaseError::Invalid("the submission has more than 2000 answers".to_owned()));
    }
    for section in &application.sections {
        line(&section.heading, "section heading", 200)?;
        for (label, value) in &section.rows {
            line(label, "answer label", 500)?;
            if value.chars().count() > 10_000 {
                return Err(CaseError::Invalid("an answer is longer than 10000 characters".to_owned()));
            }
        }
    }
    check_attachments(&application.attachments)?;
    if let Some(automated) = &application.automated {
        if automated.fired.len() > 100 {
            return Err(CaseError::Invalid("at most 100 fired rules".to_owned()));
        }
        for rule in &automated.fired {
            line(&rule.id, "rule id", 100)?;
            paragraphs(&rule.explanation, "rule explanation", 2000)?;
        }
        if automated.result != RuleResult::Manual {
            paragraphs(&automated.vedtak_text, "vedtak text", 20_000)?;
            paragraphs(&automated.reasons_text, "reasons text", 20_000)?;
        }
    }
    let today = kernel::time::today_in_norway();
    if application.service.deadline < today {
        return Err(CaseError::Invalid("the deadline is in the past".to_owned()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Dates

pub(crate) fn date_text(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

pub(crate) fn parse_date(text: &str) -> Option<Date> {
    let mut parts = text.splitn(3, '-');
    let year = parts.next()?.parse().ok()?;
    let month = time::Month::try_from(parts.next()?.parse::<u8>().ok()?).ok()?;
    let day = parts.next()?.parse().ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

/// The same day a month later (the month's last day when it is shorter).
fn one_month_after(date: Date) -> Date {
    let (year, month) = match date.month() {
        time::Month::December => (date.year() + 1, time::Month::January),
        month => (date.year(), month.next()),
    };
    let mut day = date.day();
    loop {
        if let Ok(next) = Date::from_calendar_date(year, month, day) {
            return next;
        }
        if day <= 28 {
            return date;
        }
        day -= 1;
    }
}

fn add_days(date: Date, days: i64) -> Date {
    date.checked_add(time::Duration::days(days)).unwrap_or(date)
}

// ---------------------------------------------------------------------------------------------
// Rows

#[derive(serde::Deserialize)]
pub(crate) struct CaseRow {
    id: String,
    service_id: String,
    service_version: String,
    service_title: String,
    area: String,
    unit: String,
    classification: Option<String>,
    screening: Option<String>,
    decision_mode: String,
    legal_basis: String,
    appeal_body: Option<String>,
    language: String,
    applicant_kind: String,
    applicant_id: String,
    applicant_name: String,
    submitted_by: String,
    submitted_by_name: String,
    subject_kind: Option<String>,
    subject_id: Option<String>,
    subject_name: Option<String>,
    title: String,
    public_title: String,
    status: String,
    saksmappe: String,
    mappe_id: String,
    journalpost: String,
    registrerings_id: String,
    assigned_to: Option<String>,
    deadline: String,
    provisional_reply_due: Option<String>,
    provisional_reply_flagged_at: Option<i64>,
    automated_proposal: Option<String>,
    appeal_of: Option<String>,
    appeal_late: bool,
    receipt_letter: Option<String>,
    received_at: i64,
    received_on: String,
    sections: String,
}

const CASE_COLUMNS: &str = "id, service_id, service_version, service_title, area, unit, classification, screening, \
    decision_mode, legal_basis, appeal_body, language, applicant_kind, applicant_id, applicant_name, submitted_by, \
    submitted_by_name, subject_kind, subject_id, subject_name, title, public_title, status, saksmappe, mappe_id, \
    journalpost, registrerings_id, assigned_to, deadline, provisional_reply_due, provisional_reply_flagged_at, \
    automated_proposal, appeal_of, appeal_late, receipt_letter, received_at, received_on, sections";

const SUMMARY_COLUMNS: &str = "id, mappe_id, service_id, service_title, public_title, unit, area, status, assigned_to, \
    deadline, provisional_reply_flagged_at, received_at, appeal_of";

fn malformed(what: &str) -> CaseError {
    CaseError::Malformed(what.to_owned())
}

impl CaseRow {
    fn into_case(self) -> Result<Case, CaseError> {
        let applicant = Party::stored(&self.applicant_kind, &self.applicant_id, &self.applicant_name)
            .ok_or_else(|| malformed("applicant"))?;
        let subject = match (&self.subject_kind, &self.subject_id, &self.subject_name) {
            (Some(kind), Some(id), Some(name)) => {
                Some(Party::stored(kind, id, name).ok_or_else(|| malformed("subject"))?)
            }
            _ => None,
        };
        Ok(Case {
            status: Status::from_code(&self.status).ok_or_else(|| malformed("status"))?,
            decision_mode: DecisionMode::from_code(&self.decision_mode).ok_or_else(|| malformed("decision mode"))?,
            language: self.language.parse().map_err(|_| malformed("language"))?,
            deadline: parse_date(&self.deadline).ok_or_else(|| malformed("deadline"))?,
            provisional_reply_due: match &self.provisional_reply_due {
                Some(text) => Some(parse_date(text).ok_or_else(|| malformed("provisional reply due"))?),
                None => None,
            },
            received_on: parse_date(&self.received_on).ok_or_else(|| malformed("received on"))?,
            automated_proposal: self.automated_proposal.as_deref().and_then(|p| serde_json::from_str(p).ok()),
            provisional_reply_flagged: self.provisional_reply_flagged_at.is_some(),
            received_at: Timestamp(self.received_at),
            sections: sections_from_text(&self.sections).ok_or_else(|| malformed("sections"))?,
            screening: screening_from_text(self.screening.as_deref()),
            classification: self.classification,
            applicant,
            subject,
            id: self.id,
            service_id: self.service_id,
            service_version: self.service_version,
            service_title: self.service_title,
            area: self.area,
            unit: self.unit,
            legal_basis: self.legal_basis,
            appeal_body: self.appeal_body,
            submitted_by: (self.submitted_by, self.submitted_by_name),
            title: self.title,
            public_title: self.public_title,
            saksmappe: self.saksmappe,
            mappe_id: self.mappe_id,
            journalpost: self.journalpost,
            registrerings_id: self.registrerings_id,
            assigned_to: self.assigned_to,
            appeal_of: self.appeal_of,
            appeal_late: self.appeal_late,
            receipt_letter: self.receipt_letter,
        })
    }
}

#[derive(serde::Deserialize)]
struct SummaryRow {
    id: String,
    mappe_id: String,
    service_id: String,
    service_title: String,
    public_title: String,
    unit: String,
    area: String,
    status: String,
    assigned_to: Option<String>,
    deadline: String,
    provisional_reply_flagged_at: Option<i64>,
    received_at: i64,
    appeal_of: Option<String>,
}

impl SummaryRow {
    fn into_summary(self, today: Date) -> Result<CaseSummary, CaseError> {
        let status = Status::from_code(&self.status).ok_or_else(|| malformed("status"))?;
        let overdue = !status.is_done() && parse_date(&self.deadline).is_some_and(|d| d < today);
        Ok(CaseSummary {
            id: self.id,
            mappe_id: self.mappe_id,
            service_id: self.service_id,
            service_title: self.service_title,
            public_title: self.public_title,
            unit: self.unit,
            area: self.area,
            status,
            assigned_to: self.assigned_to,
            deadline: self.deadline,
            overdue,
            provisional_reply_flagged: self.provisional_reply_flagged_at.is_some(),
            received_at: self.received_at,
            appeal_of: self.appeal_of,
        })
    }
}

/// The answers as stored with a case: `[{"heading": …, "rows": [[label, value], …]}]`.
fn sections_to_text(sections: &[render::Section]) -> String {
    serde_json::Value::Array(
        sections.iter().map(|s| serde_json::json!({ "heading": s.heading.trim(), "rows": s.rows })).collect(),
    )
    .to_string()
}

fn sections_from_text(text: &str) -> Option<Vec<render::Section>> {
    #[derive(serde::Deserialize)]
    struct Stored {
        heading: String,
        rows: Vec<(String, String)>,
    }
    let stored: Vec<Stored> = serde_json::from_str(text).ok()?;
    Some(stored.into_iter().map(|s| render::Section { heading: s.heading, rows: s.rows }).collect())
}

/// The screening as stored with a case (so an appeal's saksmappe gets the same).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredScreening {
    tilgangsrestriksjon: String,
    skjermingshjemmel: String,
    metadata: Vec<String>,
    dokument: Option<String>,
    duration_years: Option<u32>,
}

fn screening_to_text(screening: &Option<archive::Screening>) -> Option<String> {
    screening.as_ref().and_then(|s| {
        serde_json::to_string(&StoredScreening {
            tilgangsrestriksjon: s.tilgangsrestriksjon.clone(),
            skjermingshjemmel: s.skjermingshjemmel.clone(),
            metadata: s.metadata.clone(),
            dokument: s.dokument.clone(),
            duration_years: s.duration_years,
        })
        .ok()
    })
}

fn screening_from_text(text: Option<&str>) -> Option<archive::Screening> {
    let stored: StoredScreening = serde_json::from_str(text?).ok()?;
    Some(archive::Screening {
        tilgangsrestriksjon: stored.tilgangsrestriksjon,
        skjermingshjemmel: stored.skjermingshjemmel,
        metadata: stored.metadata,
        dokument: stored.dokument,
        duration_years: stored.duration_years,
    })
}

// ---------------------------------------------------------------------------------------------
// History

/// Appends an entry to a case's (or an inquiry's) history and publishes the status event, in `tx`.
pub(crate) async fn record(
    tx: &mut Tx,
    k: Kommunenummer,
    case_id: &str,
    status: &str,
    event: &str,
    actor: &str,
    detail: Option<&str>,
) -> Result<(), CaseError> {
    #[derive(serde::Deserialize)]
    struct Next {
        next: i64,
    }
    let next = tx
        .municipal(k)
        .fetch_optional::<Next>(
            "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM case_history WHERE kommunenummer = $1 AND case_id = $2",
            &params![case_id],
        )
        .await?
        .map_or(1, |n| n.next);
    let now = Timestamp::now();
    tx.municipal(k)
        .execute(
            "INSERT INTO case_history (kommunenummer, case_id, seq, event, status, actor, detail, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &params![case_id, next, event, status, actor, detail, now],
        )
        .await?;
    tx.publish(&CloudEvent::new(
        "/cases",
        STATUS_EVENT,
        Some(k),
        Some(case_id.to_owned()),
        serde_json::json!({ "sak": case_id, "status": status, "hendelse": event }),
    ))
    .await?;
    Ok(())
}

/// Moves a case from `from` (any of them) to `to`, with its history entry and event, in `tx`.
/// Refused as a conflict when the case is in none of `from`.
// The history entry's three parts are spelled out at each call, where they read best.
#[allow(clippy::too_many_arguments)]
async fn transition(
    tx: &mut Tx,
    k: Kommunenummer,
    case_id: &str,
    from: &[Status],
    to: Status,
    event: &str,
    actor: &str,
    detail: Option<&str>,
) -> Result<(), CaseError> {
    let mut args: Vec<Param> = params![case_id, to.code(), Timestamp::now()].to_vec();
    let marks: Vec<String> = from
        .iter()
        .enumerate()
        .map(|(index, status)| {
            args.push(Param::from(status.code()));
            format!("${}", index + 5)
        })
        .collect();
    let changed = tx
        .municipal(k)
        .execute(
            &format!(
                "UPDATE cases SET status = $3, updated_at = $4 WHERE kommunenummer = $1 AND id = $2 AND status IN ({})",
                marks.join(", ")
            ),
            &args,
        )
        .await?;
    if changed == 0 {
        return Err(CaseError::Conflict(format!("the case cannot move to {}", to.code())));
    }
    record(tx, k, case_id, to.code(), event, actor, detail).await
}

pub(crate) fn employee_actor(employee: &Employee) -> archive::Actor {
    archive::Actor { id: format!("ansatt:{}", employee.id), name: employee.name.clone() }
}

pub(crate) fn system_actor() -> archive::Actor {
    archive::Actor { id: SYSTEM.to_owned(), name: "Saksbehandling".to_owned() }
}

pub(crate) fn correspondent(party: &Party, role: CorrespondentRole) -> Correspondent {
    let mut correspondent = match party {
        Party::Person { fnr, name } => Correspondent::person(name.clone()).with_identifier(fnr.as_digits()),
        Party::Organisation { orgnr, name } => Correspondent::enhet(name.clone()).with_identifier(orgnr.as_digits()),
    };
    correspondent.role = Some(role);
    correspondent
}

pub(crate) fn recipient(party: &Party) -> Recipient {
    match party {
        Party::Person { fnr, .. } => Recipient::Person(*fnr),
        Party::Organisation { orgnr, .. } => Recipient::Organisation(*orgnr),
    }
}

fn archive_party(party: &Party) -> archive::Party {
    match party {
        Party::Person { fnr, name } => archive::Party::person(name.clone()).with_identifier(fnr.as_digits()),
        Party::Organisation { orgnr, name } => archive::Party::enhet(name.clone()).with_identifier(orgnr.as_digits()),
    }
}

pub(crate) fn attachments_as_documents(attachments: &[Attachment]) -> impl Iterator<Item = NewDocument> + '_ {
    attachments.iter().map(|a| NewDocument {
        tittel: a.title.trim().to_owned(),
        role: DocumentRole::Vedlegg,
        mime_type: a.mime_type.trim().to_owned(),
        format: None,
        filnavn: Some(a.filename.trim().to_owned()),
        bytes: a.bytes.clone(),
    })
}

/// The PRONOM code of PDF/A-2a, what `render` writes.
pub(crate) const PDF_A_2A: &str = "fmt/476";

impl Cases {
    /// The engine over its database, archive and post. Submissions are rendered by post's
    /// renderer (made on first use), the same that renders the letters.
    pub fn new(db: Db, noark: Noark, post: Post, config: CasesConfig) -> Self {
        Self { inner: Arc::new(Inner { db, noark, post, config }) }
    }

    /// Renders a document under the municipality's letterhead.
    pub(crate) fn render(
        &self,
        k: Kommunenummer,
        language: Language,
        unit: &str,
        title: &str,
        mappe_id: Option<&str>,
        sections: Vec<render::Section>,
    ) -> Result<Bytes, CaseError> {
        let pdf = self
            .inner
            .post
            .renderer()?
            .render_document(&render::Document {
                language,
                municipality: render::Municipality { name: format!("{} kommune", k.navn()), coat_of_arms_svg: None },
                sender_unit: unit.to_owned(),
                title: title.to_owned(),
                date: kernel::time::today_in_norway(),
                case_ref: mappe_id
                    .map(|mappe_id| render::CaseReference { mappe_id: mappe_id.to_owned(), journalpostnummer: None }),
                sections,
            })
            .map_err(|e| CaseError::Render(e.to_string()))?;
        Ok(Bytes::from(pdf.bytes))
    }

    /// The case an idempotency key made, as `submit` answered it then (`created: false`): for
    /// a caller that finds its request was sent before.
    pub async fn submitted(&self, k: Kommunenummer, key: &str) -> Result<Option<Submitted>, CaseError> {
        Ok(self.by_key(k, key.trim()).await?.map(|case| Submitted {
            case_id: case.id,
            mappe_id: case.mappe_id,
            status: case.status,
            created: false,
        }))
    }

    async fn by_key(&self, k: Kommunenummer, key: &str) -> Result<Option<Case>, CaseError> {
        self.inner
            .db
            .municipal(k)
            .fetch_optional::<CaseRow>(
                &format!("SELECT {CASE_COLUMNS} FROM cases WHERE kommunenummer = $1 AND idempotency_key = $2"),
                &params![key],
            )
            .await?
            .map(CaseRow::into_case)
            .transpose()
    }

    /// Receives an application: in one transaction, the case row, its saksmappe, the incoming
    /// journalpost (I) with the submission as PDF/A and the attachments, the receipt letter's
    /// job, and — when the rules decided and the mode lets them — the decision and its letter's
    /// job. The same idempotency key again gives the first case back (`created: false`).
    pub async fn submit(&self, k: Kommunenummer, application: NewApplication) -> Result<Submitted, CaseError> {
        check_application(&application)?;
        self.submit_checked(k, application, None).await
    }

    async fn submit_checked(
        &self,
        k: Kommunenummer,
        application: NewApplication,
        appeal: Option<(&str, bool)>,
    ) -> Result<Submitted, CaseError> {
        let key = application.idempotency_key.trim().to_owned();
        if let Some(existing) = self.by_key(k, &key).await? {
            return Ok(Submitted {
                case_id: existing.id,
                mappe_id: existing.mappe_id,
                status: existing.status,
                created: false,
            });
        }
        let inner = &self.inner;
        let service = &application.service;
        let id = uuid::Uuid::now_v7().to_string();
        let now = Timestamp::now();
        let today = kernel::time::today_in_norway();
        let month = one_month_after(today);
        let provisional_due = (service.deadline > month).then(|| date_text(month));

        // What the rules may do here.
        let mode = service.decision_mode;
        let rules = application.automated.as_ref().filter(|_| mode != DecisionMode::Manual);
        let (apply, review) = match rules.map(|r| r.result) {
            Some(RuleResult::Grant) => (true, false),
            Some(RuleResult::Reject) if mode == DecisionMode::AutomaticWithReviewOfRejections => (false, true),
            Some(RuleResult::Reject) => (true, false),
            _ => (false, false),
        };
        let proposal = application.automated.as_ref().filter(|_| !apply).map(|a| {
            serde_json::json!({
                "result": match a.result { RuleResult::Grant => "innvilget", RuleResult::Reject => "avslag", RuleResult::Manual => "manuell" },
                "fired": a.fired,
                "vedtak": a.vedtak_text,
                "begrunnelse": a.reasons_text,
            })
            .to_string()
        });
        let (subject_kind, subject_id, subject_name) = match &application.subject {
            Some(s) => (Some(s.kind()), Some(s.identifier()), Some(s.name().trim().to_owned())),
            None => (None, None, None),
        };

        // The submission as PDF/A, before the transaction: a transaction holds SQLite's one
        // writer until it commits, and laying out the pages was most of the time a submission
        // held it (docs/PERFORMANCE.md). So the document carries no case number — the archive's
        // metadata and the receipt letter do — and a rendering error stores nothing.
        let pdf = self.render(
            k,
            application.language,
            service.unit.trim(),
            application.title.trim(),
            None,
            application.sections.clone(),
        )?;

        let mut tx = inner.db.begin().await?;
        let inserted = tx
            .municipal(k)
            .execute(
                &format!(
                    "INSERT INTO cases (kommunenummer, idempotency_key, {CASE_COLUMNS}, updated_at) VALUES ($1, $2, \
                     $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
                     $23, $24, $25, '', '', '', '', NULL, $26, $27, NULL, $28, $29, $30, NULL, $31, $32, $33, $31) \
                     ON CONFLICT (kommunenummer, idempotency_key) DO NOTHING"
                ),
                &params![
                    key.as_str(),
                    id.as_str(),
                    service.id.trim(),
                    service.version.trim(),
                    service.title.trim(),
                    service.area.trim(),
                    service.unit.trim(),
                    service.classification.clone(),
                    screening_to_text(&service.screening),
                    mode.code(),
                    service.legal_basis.trim(),
                    service.appeal_body.clone(),
                    application.language.tag(),
                    application.applicant.kind(),
                    application.applicant.identifier(),
                    application.applicant.name().trim(),
                    application.submitted_by.0.as_digits(),
                    application.submitted_by.1.trim(),
                    subject_kind,
                    subject_id,
                    subject_name,
                    application.title.trim(),
                    application.public_title.trim(),
                    Status::Mottatt.code(),
                    date_text(service.deadline),
                    provisional_due,
                    proposal,
                    appeal.map(|(of, _)| of.to_owned()),
                    appeal.is_some_and(|(_, late)| late),
                    now,
                    date_text(today),
                    sections_to_text(&application.sections),
                ],
            )
            .await?;
        if inserted == 0 {
            // The same key, sent at the same moment by another request.
            tx.rollback().await?;
            let existing = self.by_key(k, &key).await?.ok_or(CaseError::NotFound)?;
            return Ok(Submitted {
                case_id: existing.id,
                mappe_id: existing.mappe_id,
                status: existing.status,
                created: false,
            });
        }

        // The archive: saksmappe, the submission rendered, the incoming journalpost.
        let actor = system_actor();
        let mut parter = vec![archive_party(&application.applicant)];
        if let Some(subject) = &application.subject {
            parter.push(archive_party(subject));
        }
        let saksmappe = inner
            .noark
            .create_case(
                &mut tx,
                k,
                &actor,
                NewCase {
                    tittel: application.title.trim().to_owned(),
                    offentlig_tittel: Some(application.public_title.trim().to_owned()),
                    administrativ_enhet: service.unit.trim().to_owned(),
                    saksansvarlig: service.unit.trim().to_owned(),
                    arkivdel: None,
                    klasse: None,
                    klasse_id: service.classification.clone(),
                    parter,
                    screening: service.screening.clone(),
                },
            )
            .await?;
        let mut documents = vec![NewDocument {
            tittel: application.title.trim().to_owned(),
            role: DocumentRole::Hoveddokument,
            mime_type: "application/pdf".to_owned(),
            format: Some(PDF_A_2A.to_owned()),
            filnavn: Some("innsending.pdf".to_owned()),
            bytes: pdf,
        }];
        documents.extend(attachments_as_documents(&application.attachments));
        let journaled = Archive::journal(
            &inner.noark,
            &mut tx,
            k,
            &actor,
            NewJournalpost {
                case: saksmappe.system_id.clone(),
                kind: JournalpostType::Inngaaende,
                tittel: application.title.trim().to_owned(),
                offentlig_tittel: Some(application.public_title.trim().to_owned()),
                dokumentets_dato: Some(time::OffsetDateTime::now_utc()),
                korrespondanseparter: vec![correspondent(&application.applicant, CorrespondentRole::Avsender)],
                documents,
                screening: service.screening.clone(),
            },
        )
        .await?;
        tx.municipal(k)
            .execute(
                "UPDATE cases SET saksmappe = $3, mappe_id = $4, journalpost = $5, registrerings_id = $6 \
                 WHERE kommunenummer = $1 AND id = $2",
                &params![
                    id.as_str(),
                    saksmappe.system_id.as_str(),
                    saksmappe.mappe_id.as_str(),
                    journaled.system_id.as_str(),
                    journaled.registrerings_id.as_str()
                ],
            )
            .await?;
        let first_event = if appeal.is_some() { "klage_mottatt" } else { "mottatt" };
        record(&mut tx, k, &id, Status::Mottatt.code(), first_event, "person", None).await?;
        tx.enqueue(
            &NewJob::new(jobs::RECEIPT, receipt_payload(&id, service.receipt.as_ref()))
                .for_kommune(k)
                .idempotency_key(format!("{}:{k}:{id}", jobs::RECEIPT)),
        )
        .await?;

        let mut status = Status::Mottatt;
        if let (true, Some(rules)) = (apply, rules) {
            let outcome = if rules.result == RuleResult::Grant { Outcome::Grant } else { Outcome::Reject };
            self.store_decision(
                &mut tx,
                k,
                &id,
                &[Status::Mottatt],
                outcome,
                &rules.vedtak_text,
                &rules.reasons_text,
                &service.legal_basis,
                service.appeal_body.as_deref(),
                "system",
                &rules.fired,
            )
            .await?;
            status = Status::VedtakFattet;
        } else if review {
            transition(&mut tx, k, &id, &[Status::Mottatt], Status::TilKontroll, "til_kontroll", SYSTEM, None).await?;
            status = Status::TilKontroll;
        }
        tx.commit().await?;
        tracing::info!(case.id = %id, case.status = status.code(), "case received");
        Ok(Submitted { case_id: id, mappe_id: saksmappe.mappe_id, status, created: true })
    }

    #[allow(clippy::too_many_arguments)]
    async fn store_decision(
        &self,
        tx: &mut Tx,
        k: Kommunenummer,
        case_id: &str,
        from: &[Status],
        outcome: Outcome,
        vedtak: &str,
        reasons: &str,
        legal_basis: &str,
        appeal_body: Option<&str>,
        decided_by: &str,
        fired: &[FiredRule],
    ) -> Result<String, CaseError> {
        let decision_id = uuid::Uuid::now_v7().to_string();
        let fired = serde_json::to_string(fired).map_err(|e| CaseError::Malformed(e.to_string()))?;
        let inserted = tx
            .municipal(k)
            .execute(
                "INSERT INTO case_decisions (kommunenummer, id, case_id, outcome, vedtak, reasons, legal_basis, \
                 appeal_body, decided_by, automated, fired_rules, letter_id, letter_sent_on, appeal_deadline, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL, NULL, $12) \
                 ON CONFLICT (kommunenummer, case_id) DO NOTHING",
                &params![
                    decision_id.as_str(),
                    case_id,
                    outcome.code(),
                    vedtak.trim(),
                    reasons.trim(),
                    legal_basis.trim(),
                    appeal_body.map(str::trim),
                    decided_by,
                    decided_by == "system",
                    fired,
                    Timestamp::now()
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(CaseError::Conflict("the case is decided already".to_owned()));
        }
        let actor = if decided_by == "system" { SYSTEM.to_owned() } else { decided_by.to_owned() };
        transition(tx, k, case_id, from, Status::VedtakFattet, "vedtak", &actor, Some(&decision_id)).await?;
        tx.enqueue(
            &NewJob::new(jobs::DECISION_LETTER, serde_json::json!({ "decision": decision_id }))
                .for_kommune(k)
                .idempotency_key(format!("{}:{k}:{decision_id}", jobs::DECISION_LETTER)),
        )
        .await?;
        Ok(decision_id)
    }

    /// A case, without its history. Logs nothing: the caller that shows it to someone logs the
    /// access (Min side for the applicant; [`Cases::view_as_employee`] for a caseworker).
    pub async fn case(&self, k: Kommunenummer, id: &str) -> Result<Option<Case>, CaseError> {
        self.inner
            .db
            .municipal(k)
            .fetch_optional::<CaseRow>(
                &format!("SELECT {CASE_COLUMNS} FROM cases WHERE kommunenummer = $1 AND id = $2"),
                &params![id],
            )
            .await?
            .map(CaseRow::into_case)
            .transpose()
    }

    /// The unit that handles a case, and nothing else of it: what a page needs to ask the policy
    /// (or to offer the unit's colleagues) before anything with personal data is read.
    pub async fn unit_of(&self, k: Kommunenummer, id: &str) -> Result<Option<String>, CaseError> {
        #[derive(serde::Deserialize)]
        struct UnitRow {
            unit: String,
        }
        Ok(self
            .inner
            .db
            .municipal(k)
            .fetch_optional::<UnitRow>("SELECT unit FROM cases WHERE kommunenummer = $1 AND id = $2", &params![id])
            .await?
            .map(|row| row.unit))
    }

    /// Asks the policy whether `employee` may do `action` to the case, reading only the case's
    /// unit, area and party (never shown); refused → [`CaseError::Forbidden`].
    async fn authorize(
        &self,
        tx: &mut Tx,
        k: Kommunenummer,
        employee: &Employee,
        id: &str,
        action: Action,
    ) -> Result<(), CaseError> {
        #[derive(serde::Deserialize)]
        struct Gate {
            unit: String,
            area: String,
            applicant_kind: String,
            applicant_id: String,
        }
        let gate = tx
            .municipal(k)
            .fetch_optional::<Gate>(
                "SELECT unit, area, applicant_kind, applicant_id FROM cases WHERE kommunenummer = $1 AND id = $2",
                &params![id],
            )
            .await?
            .ok_or(CaseError::NotFound)?;
        let party =
            Party::stored(&gate.applicant_kind, &gate.applicant_id, "").ok_or_else(|| malformed("applicant"))?;
        if !employee.active {
            return Err(CaseError::Forbidden("the employee is not active"));
        }
        let resource = Resource::Case { unit: &gate.unit, party: party.as_policy(), area: &gate.area };
        match policy::decide(&Asker::Employee { roles: &employee.roles }, action, &resource) {
            policy::Decision::Allow => Ok(()),
            policy::Decision::Deny(reason) => {
                tracing::info!(case.id = %id, employee.id = %employee.id, reason, "case access refused");
                Err(CaseError::Forbidden(reason))
            }
        }
    }

    /// A case as a caseworker sees it: the policy first (refused → `Forbidden`, and nothing but
    /// the case's unit is read), then, in one transaction, the case, its history, notes,
    /// requests and decision, and an access-log entry about the applicant (and the subject),
    /// with the purpose `Saksbehandling` and the service's legal basis.
    pub async fn view_as_employee(
        &self,
        k: Kommunenummer,
        employee: &Employee,
        id: &str,
    ) -> Result<CaseView, CaseError> {
        let mut tx = self.inner.db.begin().await?;
        self.authorize(&mut tx, k, employee, id, Action::Read).await?;
        let case = tx
            .municipal(k)
            .fetch_optional::<CaseRow>(
                &format!("SELECT {CASE_COLUMNS} FROM cases WHERE kommunenummer = $1 AND id = $2"),
                &params![id],
            )
            .await?
            .ok_or(CaseError::NotFound)?
            .into_case()?;
        let history = tx
            .municipal(k)
            .fetch_all::<HistoryEntry>(
                "SELECT event, status, actor, detail, at FROM case_history WHERE kommunenummer = $1 AND case_id = $2 \
                 ORDER BY seq",
                &params![id],
            )
            .await?;
        let notes = tx
            .municipal(k)
            .fetch_all::<Note>(
                "SELECT id, author, text, created_at FROM case_notes WHERE kommunenummer = $1 AND case_id = $2 \
                 ORDER BY created_at, id",
                &params![id],
            )
            .await?;
        let information_requests = tx
            .municipal(k)
            .fetch_all::<InformationRequest>(
                "SELECT id, question, due, requested_by, requested_at, answer, answered_at, journalpost \
                 FROM case_information_requests WHERE kommunenummer = $1 AND case_id = $2 ORDER BY requested_at, id",
                &params![id],
            )
            .await?;
        let decision = tx
            .municipal(k)
            .fetch_optional::<Decision>(
                &format!("SELECT {DECISION_COLUMNS} FROM case_decisions WHERE kommunenummer = $1 AND case_id = $2"),
                &params![id],
            )
            .await?;
        let context = AccessContext {
            actor: audit::Actor::Employee(employee.id.clone()),
            acting_for: None,
            purpose: Purpose::parse("Saksbehandling")?,
            legal_basis: LegalBasis::parse(&case.legal_basis)?,
        };
        let organisation = match &case.applicant {
            Party::Organisation { orgnr, .. } => Some(orgnr.as_digits()),
            Party::Person { .. } => None,
        };
        let mut accesses = vec![Access {
            action: "cases.case.read",
            subject: case.applicant.fnr(),
            resource: Some(organisation.as_deref().unwrap_or(&case.id)),
        }];
        if let Some(fnr) = case.subject.as_ref().and_then(Party::fnr) {
            accesses.push(Access { action: "cases.case.read", subject: Some(fnr), resource: Some(&case.id) });
        }
        AuditLog::record_in(&mut tx, &context, &accesses).await?;
        tx.commit().await?;
        Ok(CaseView { case, history, notes, information_requests, decision })
    }

    /// A unit's (or an employee's) queue: summaries without personal data, oldest first.
    pub async fn queue(&self, k: Kommunenummer, filter: &QueueFilter) -> Result<Vec<CaseSummary>, CaseError> {
        let today = kernel::time::today_in_norway();
        let mut conditions = vec!["kommunenummer = $1".to_owned()];
        let mut args: Vec<Param> = Vec::new();
        let mut add = |condition: &str, value: Param, args: &mut Vec<Param>| {
            args.push(value);
            conditions.push(condition.replace('?', &format!("${}", args.len() + 1)));
        };
        if let Some(unit) = &filter.unit {
            add("unit = ?", Param::from(unit.as_str()), &mut args);
        }
        if let Some(assigned) = &filter.assigned_to {
            add("assigned_to = ?", Param::from(assigned.as_str()), &mut args);
        }
        if let Some(status) = filter.status {
            add("status = ?", Param::from(status.code()), &mut args);
        }
        if let Some(service) = &filter.service {
            add("service_id = ?", Param::from(service.as_str()), &mut args);
        }
        if filter.overdue_only {
            add(
                "status NOT IN ('vedtak_fattet', 'avsluttet') AND deadline < ?",
                Param::from(date_text(today)),
                &mut args,
            );
        }
        if let Some(after) = &filter.after {
            add("id > ?", Param::from(after.as_str()), &mut args);
        }
        let limit = if filter.limit == 0 { 100 } else { filter.limit.min(500) };
        args.push(Param::from(i64::from(limit)));
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM cases WHERE {} ORDER BY id LIMIT ${}",
            conditions.join(" AND "),
            args.len() + 1
        );
        let rows = self.inner.db.municipal(k).fetch_all::<SummaryRow>(&sql, &args).await?;
        rows.into_iter().map(|r| r.into_summary(today)).collect()
    }

    /// The cases of a party (the applicant), newest first: Min side's list with statuses.
    pub async fn for_party(&self, k: Kommunenummer, party: &Party) -> Result<Vec<CaseSummary>, CaseError> {
        let today = kernel::time::today_in_norway();
        let rows = self
            .inner
            .db
            .municipal(k)
            .fetch_all::<SummaryRow>(
                &format!(
                    "SELECT {SUMMARY_COLUMNS} FROM cases WHERE kommunenummer = $1 AND applicant_kind = $2 \
                     AND applicant_id = $3 ORDER BY id DESC LIMIT 500"
                ),
                &params![party.kind(), party.identifier()],
            )
            .await?;
        rows.into_iter().map(|r| r.into_summary(today)).collect()
    }

    /// Assigns a case to an employee (by id); a received case is then under behandling.
    pub async fn assign(&self, k: Kommunenummer, by: &Employee, id: &str, to: &str) -> Result<(), CaseError> {
        let to = line(to, "assignee", 100)?;
        let mut tx = self.inner.db.begin().await?;
        self.authorize(&mut tx, k, by, id, Action::HandleCase).await?;
        let case = self.load_in(&mut tx, k, id).await?;
        if case.status.is_done() {
            return Err(CaseError::Conflict("the case is decided".to_owned()));
        }
        tx.municipal(k)
            .execute(
                "UPDATE cases SET assigned_to = $3, updated_at = $4 WHERE kommunenummer = $1 AND id = $2",
                &params![id, to.as_str(), Timestamp::now()],
            )
            .await?;
        let actor = format!("ansatt:{}", by.id);
        if case.status == Status::Mottatt {
            transition(&mut tx, k, id, &[Status::Mottatt], Status::UnderBehandling, "tildelt", &actor, Some(&to))
                .await?;
        } else {
            record(&mut tx, k, id, case.status.code(), "tildelt", &actor, Some(&to)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn load_in(&self, tx: &mut Tx, k: Kommunenummer, id: &str) -> Result<Case, CaseError> {
        tx.municipal(k)
            .fetch_optional::<CaseRow>(
                &format!("SELECT {CASE_COLUMNS} FROM cases WHERE kommunenummer = $1 AND id = $2"),
                &params![id],
            )
            .await?
            .ok_or(CaseError::NotFound)?
            .into_case()
    }

    /// Adds an internal note (not shown to the applicant); returns its id.
    pub async fn add_note(&self, k: Kommunenummer, by: &Employee, id: &str, text: &str) -> Result<String, CaseError> {
        let text = paragraphs(text, "note", 10_000)?;
        let mut tx = self.inner.db.begin().await?;
        self.authorize(&mut tx, k, by, id, Action::HandleCase).await?;
        let case = self.load_in(&mut tx, k, id).await?;
        let note = uuid::Uuid::now_v7().to_string();
        tx.municipal(k)
            .execute(
                "INSERT INTO case_notes (kommunenummer, id, case_id, author, text, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                &params![note.as_str(), id, by.id.as_str(), text, Timestamp::now()],
            )
            .await?;
        record(&mut tx, k, id, case.status.code(), "notat", &format!("ansatt:{}", by.id), Some(&note)).await?;
        tx.commit().await?;
        Ok(note)
    }

    /// Asks the applicant for more information, to answer by `due`; the case then waits for
    /// them (venter på deg). Returns the request's id.
    pub async fn request_information(
        &self,
        k: Kommunenummer,
        by: &Employee,
        id: &str,
        question: &str,
        due: Date,
    ) -> Result<String, CaseError> {
        let question = paragraphs(question, "question", 5_000)?;
        if due < kernel::time::today_in_norway() {
            return Err(CaseError::Invalid("the due date is in the past".to_owned()));
        }
        let mut tx = self.inner.db.begin().await?;
        self.authorize(&mut tx, k, by, id, Action::HandleCase).await?;
        let request = uuid::Uuid::now_v7().to_string();
        tx.municipal(k)
            .execute(
                "INSERT INTO case_information_requests (kommunenummer, id, case_id, question, due, requested_by, \
                 requested_at, answer, answered_at, journalpost) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, NULL)",
                &params![request.as_str(), id, question, date_text(due), by.id.as_str(), Timestamp::now()],
            )
            .await?;
        transition(
            &mut tx,
            k,
            id,
            &[Status::Mottatt, Status::UnderBehandling, Status::VenterPaaDeg, Status::TilKontroll],
            Status::VenterPaaDeg,
            "opplysninger_etterspurt",
            &format!("ansatt:{}", by.id),
            Some(&request),
        )
        .await?;
        tx.commit().await?;
        Ok(request)
    }

    /// The applicant answers a request for information (from Min side): the answer, rendered as
    /// PDF/A, and its attachments are journaled as incoming in the case's saksmappe; when no
    /// other request is open, the case is under behandling again.
    pub async fn answer_information(
        &self,
        k: Kommunenummer,
        party: &Party,
        id: &str,
        request_id: &str,
        text: &str,
        attachments: Vec<Attachment>,
    ) -> Result<(), CaseError> {
        let text = paragraphs(text, "answer", 10_000)?;
        check_attachments(&attachments)?;
        let case = self.case(k, id).await?.ok_or(CaseError::NotFound)?;
        if case.applicant.kind() != party.kind() || case.applicant.identifier() != party.identifier() {
            return Err(CaseError::Forbidden("not the case's applicant"));
        }
        #[derive(serde::Deserialize)]
        struct Open {
            question: String,
            answered_at: Option<i64>,
        }
        let open = self
            .inner
            .db
            .municipal(k)
            .fetch_optional::<Open>(
                "SELECT question, answered_at FROM case_information_requests WHERE kommunenummer = $1 AND id = $2 \
                 AND case_id = $3",
                &params![request_id, id],
            )
            .await?
            .ok_or(CaseError::NotFound)?;
        if open.answered_at.is_some() {
            return Err(CaseError::Conflict("the request is answered already".to_owned()));
        }
        let (question_label, answer_label, title) = match case.language {
            Language::English => ("Question", "Answer", "Additional information"),
            Language::Nynorsk => ("Spørsmål", "Svar", "Tilleggsopplysningar"),
            Language::Bokmal => ("Spørsmål", "Svar", "Tilleggsopplysninger"),
        };
        let pdf = self.render(
            k,
            case.language,
            &case.unit,
            &format!("{title}: {}", case.service_title),
            Some(&case.mappe_id),
            vec![render::Section {
                heading: title.to_owned(),
                rows: vec![(question_label.to_owned(), open.question), (answer_label.to_owned(), text.clone())],
            }],
        )?;
        let mut documents = vec![NewDocument {
            tittel: title.to_owned(),
            role: DocumentRole::Hoveddokument,
            mime_type: "application/pdf".to_owned(),
            format: Some(PDF_A_2A.to_owned()),
            filnavn: Some("tilleggsopplysninger.pdf".to_owned()),
            bytes: pdf,
        }];
        documents.extend(attachments_as_documents(&attachments));
        let mut tx = self.inner.db.begin().await?;
        let journaled = Archive::journal(
            &self.inner.noark,
            &mut tx,
            k,
            &system_actor(),
            NewJournalpost {
                case: case.saksmappe.clone(),
                kind: JournalpostType::Inngaaende,
                tittel: format!("{title}: {}", case.public_title),
                offentlig_tittel: Some(format!("{title}: {}", case.public_title)),
                dokumentets_dato: Some(time::OffsetDateTime::now_utc()),
                korrespondanseparter: vec![correspondent(party, CorrespondentRole::Avsender)],
                documents,
                screening: None,
            },
        )
        .await?;
        let changed = tx
            .municipal(k)
            .execute(
                "UPDATE case_information_requests SET answer = $3, answered_at = $4, journalpost = $5 \
                 WHERE kommunenummer = $1 AND id = $2 AND answered_at IS NULL",
                &params![request_id, text, Timestamp::now(), journaled.system_id.as_str()],
            )
            .await?;
        if changed == 0 {
            tx.rollback().await?;
            return Err(CaseError::Conflict("the request is answered already".to_owned()));
        }
        #[derive(serde::Deserialize)]
        struct Count {
            open: i64,
        }
        let still_open = tx
            .municipal(k)
            .fetch_optional::<Count>(
                "SELECT COUNT(*) AS open FROM case_information_requests WHERE kommunenummer = $1 AND case_id = $2 \
                 AND answered_at IS NULL",
                &params![id],
            )
            .await?
            .map_or(0, |c| c.open);
        let current = self.load_in(&mut tx, k, id).await?.status;
        if still_open == 0 && current == Status::VenterPaaDeg {
            transition(
                &mut tx,
                k,
                id,
                &[Status::VenterPaaDeg],
                Status::UnderBehandling,
                "opplysninger_mottatt",
                "person",
                Some(request_id),
            )
            .await?;
        } else {
            record(&mut tx, k, id, current.code(), "opplysninger_mottatt", "person", Some(request_id)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A caseworker's (leader's) decision: stored, the case vedtak fattet, and the letter sent
    /// by a job enqueued in the same transaction (journaled as outgoing, answering the
    /// incoming journalpost). The policy's `DecideCase` applies.
    pub async fn decide(
        &self,
        k: Kommunenummer,
        by: &Employee,
        id: &str,
        decision: NewDecision,
    ) -> Result<Decided, CaseError> {
        let vedtak = paragraphs(&decision.vedtak, "vedtak", 20_000)?;
        let reasons = paragraphs(&decision.reasons, "reasons", 20_000)?;
        let legal_basis = line(&decision.legal_basis, "legal basis", 300)?;
        let appeal_body = decision.appeal_body.as_deref().map(|b| line(b, "appeal body", 200)).transpose()?;
        let mut tx = self.inner.db.begin().await?;
        self.authorize(&mut tx, k, by, id, Action::DecideCase).await?;
        let case = self.load_in(&mut tx, k, id).await?;
        if case.status.is_done() {
            return Err(CaseError::Conflict("the case is decided already".to_owned()));
        }
        let decision_id = self
            .store_decision(
                &mut tx,
                k,
                id,
                &[Status::Mottatt, Status::UnderBehandling, Status::VenterPaaDeg, Status::TilKontroll],
                decision.outcome,
                &vedtak,
                &reasons,
                &legal_basis,
                appeal_body.as_deref().or(case.appeal_body.as_deref()),
                &format!("ansatt:{}", by.id),
                &[],
            )
            .await?;
        tx.commit().await?;
        Ok(Decided { decision_id, case_id: id.to_owned() })
    }

    /// Closes a decided case (avsluttet), e.g. when the appeal deadline has passed.
    pub async fn close(&self, k: Kommunenummer, by: &Employee, id: &str) -> Result<(), CaseError> {
        let mut tx = self.inner.db.begin().await?;
        self.authorize(&mut tx, k, by, id, Action::HandleCase).await?;
        transition(
            &mut tx,
            k,
            id,
            &[Status::VedtakFattet],
            Status::Avsluttet,
            "avsluttet",
            &format!("ansatt:{}", by.id),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The decision of a case, if decided.
    pub async fn decision(&self, k: Kommunenummer, case_id: &str) -> Result<Option<Decision>, CaseError> {
        Ok(self
            .inner
            .db
            .municipal(k)
            .fetch_optional::<Decision>(
                &format!("SELECT {DECISION_COLUMNS} FROM case_decisions WHERE kommunenummer = $1 AND case_id = $2"),
                &params![case_id],
            )
            .await?)
    }

    /// A klage on a decided case: a new case of the same service and unit, linked to it
    /// (`appeal_of`). One that comes more than three weeks after the decision letter (fvl.
    /// § 29) is still received, flagged late (`appeal_late`) for the unit to weigh under § 31.
    pub async fn appeal(&self, k: Kommunenummer, id: &str, appeal: NewAppeal) -> Result<Submitted, CaseError> {
        line(&appeal.idempotency_key, "idempotency key", 200)?;
        let text = paragraphs(&appeal.text, "appeal", 20_000)?;
        line(&appeal.submitted_by.1, "submitted by name", 200)?;
        check_attachments(&appeal.attachments)?;
        let original = self.case(k, id).await?.ok_or(CaseError::NotFound)?;
        if original.applicant.kind() != appeal.party.kind()
            || original.applicant.identifier() != appeal.party.identifier()
        {
            return Err(CaseError::Forbidden("not the case's applicant"));
        }
        let decision =
            self.decision(k, id).await?.ok_or_else(|| CaseError::Conflict("the case is not decided".into()))?;
        let today = kernel::time::today_in_norway();
        let late = decision.appeal_deadline.as_deref().and_then(parse_date).is_some_and(|last| today > last);
        let span = (original.deadline - original.received_on).whole_days().max(21);
        let (heading, case_label, appeal_label, prefix) = match original.language {
            Language::English => ("Appeal", "Case", "Appeal", "Appeal"),
            _ => ("Klage", "Sak", "Klage", "Klage"),
        };
        let application = NewApplication {
            idempotency_key: format!("klage:{}", appeal.idempotency_key.trim()),
            service: ServiceInfo {
                id: original.service_id.clone(),
                version: original.service_version.clone(),
                title: original.service_title.clone(),
                area: original.area.clone(),
                unit: original.unit.clone(),
                classification: original.classification.clone(),
                screening: original.screening.clone(),
                decision_mode: DecisionMode::Manual,
                deadline: add_days(today, span),
                legal_basis: original.legal_basis.clone(),
                appeal_body: original.appeal_body.clone(),
                // The appeal's receipt is the standard one ("we have received your appeal").
                receipt: None,
            },
            applicant: original.applicant.clone(),
            submitted_by: appeal.submitted_by,
            subject: original.subject.clone(),
            language: original.language,
            title: format!("{prefix}: {}", truncate(&original.title, 200)),
            public_title: format!("{prefix}: {}", truncate(&original.public_title, 200)),
            sections: vec![render::Section {
                heading: heading.to_owned(),
                rows: vec![(case_label.to_owned(), original.mappe_id.clone()), (appeal_label.to_owned(), text)],
            }],
            attachments: appeal.attachments,
            automated: None,
        };
        check_application(&application)?;
        self.submit_checked(k, application, Some((id, late))).await
    }

    /// Flags the open cases whose provisional reply (fvl. § 11a) falls due within the warning
    /// days of `today`, once each (a history entry `foreløpig_svar_påkrevd`, shown in the queue);
    /// returns how many were flagged. The periodic job runs it with today's date.
    pub async fn flag_provisional_replies(&self, k: Kommunenummer, today: Date) -> Result<u32, CaseError> {
        let until = add_days(today, i64::from(self.inner.config.provisional_reply_warning_days));
        let due = self
            .inner
            .db
            .municipal(k)
            .fetch_all::<(String, String)>(
                "SELECT id, status FROM cases WHERE kommunenummer = $1 AND provisional_reply_due IS NOT NULL \
                 AND provisional_reply_flagged_at IS NULL AND status NOT IN ('vedtak_fattet', 'avsluttet') \
                 AND provisional_reply_due <= $2 ORDER BY id LIMIT 1000",
                &params![date_text(until)],
            )
            .await?;
        let mut flagged = 0;
        for (id, status) in due {
            let mut tx = self.inner.db.begin().await?;
            let changed = tx
                .municipal(k)
                .execute(
                    "UPDATE cases SET provisional_reply_flagged_at = $3 WHERE kommunenummer = $1 AND id = $2 \
                     AND provisional_reply_flagged_at IS NULL",
                    &params![id.as_str(), Timestamp::now()],
                )
                .await?;
            if changed == 1 {
                record(&mut tx, k, &id, &status, "foreløpig_svar_påkrevd", SYSTEM, None).await?;
                flagged += 1;
            }
            tx.commit().await?;
        }
        Ok(flagged)
    }

    /// Registers the job handlers: receipts, decision letters, the provisional-reply check.
    pub fn register_jobs(&self, handlers: &mut Handlers) {
        for kind in [jobs::RECEIPT, jobs::DECISION_LETTER, jobs::PROVISIONAL_REPLIES] {
            let cases = self.clone();
            handlers.register(kind, move |job| {
                let cases = cases.clone();
                async move { cases.run(job).await }
            });
        }
    }

    /// Enqueues the periodic provisional-reply check for each municipality, once however many
    /// instances ask.
    pub async fn schedule(&self, municipalities: &[Kommunenummer]) -> Result<(), CaseError> {
        for k in municipalities {
            self.inner.db.enqueue(&self.periodic(*k)).await?;
        }
        Ok(())
    }

    fn periodic(&self, k: Kommunenummer) -> NewJob {
        let every =
            i64::try_from(self.inner.config.provisional_reply_check_interval.as_millis()).unwrap_or(i64::MAX).max(1);
        let number = Timestamp::now().millis() / every + 1;
        let mut job = NewJob::new(jobs::PROVISIONAL_REPLIES, serde_json::json!({ "interval": number }))
            .for_kommune(k)
            .idempotency_key(format!("{}:{k}:{number}", jobs::PROVISIONAL_REPLIES));
        job.run_at = Some(Timestamp(number.saturating_mul(every)));
        job
    }

    async fn run(&self, job: ClaimedJob) -> Result<(), String> {
        let k = job.kommunenummer.ok_or("a cases job needs a municipality")?;
        let field = |name: &str| job.payload.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        match job.kind.as_str() {
            jobs::RECEIPT => {
                let id = field("case").ok_or("no case")?;
                let text = field("title").map(|title| LetterText { title, body: field("body").unwrap_or_default() });
                self.send_receipt(k, &id, text).await.map_err(|e| e.to_string())
            }
            jobs::DECISION_LETTER => {
                let id = field("decision").ok_or("no decision")?;
                self.send_decision_letter(k, &id).await.map_err(|e| e.to_string())
            }
            jobs::PROVISIONAL_REPLIES => {
                let outcome = self.flag_provisional_replies(k, kernel::time::today_in_norway()).await;
                self.inner.db.enqueue(&self.periodic(k)).await.map_err(|e| e.to_string())?;
                outcome.map(|_| ()).map_err(|e| e.to_string())
            }
            other => Err(format!("unknown job {other}")),
        }
    }

    /// Sends the receipt letter of a case (once: its external reference is `kvittering:<case>`),
    /// titled and opened with the service's own text when its definition has one.
    async fn send_receipt(&self, k: Kommunenummer, id: &str, text: Option<LetterText>) -> Result<(), CaseError> {
        let case = self.case(k, id).await?.ok_or(CaseError::NotFound)?;
        if case.receipt_letter.is_some() {
            return Ok(());
        }
        let language = case.language;
        let appeal = case.appeal_of.is_some();
        let title = match language {
            Language::English => format!("Receipt: {}", case.service_title),
            _ => format!("Kvittering: {}", case.service_title),
        };
        let innsending = match (language, appeal) {
            (Language::English, false) => format!("your application ({})", case.service_title),
            (Language::English, true) => format!("your appeal ({})", case.service_title),
            (Language::Nynorsk, true) => format!("klaga di ({})", case.service_title),
            (_, true) => format!("klagen din ({})", case.service_title),
            (_, false) => format!("søknaden din ({})", case.service_title),
        };
        let mut fields = BTreeMap::new();
        fields.insert("innsending".to_owned(), innsending);
        fields.insert("mottatt".to_owned(), render::format_date(case.received_on, language));
        fields.insert("saksbehandlingstid".to_owned(), render::format_date(case.deadline, language));
        let number = match language {
            Language::English => format!("Your case number is {}.", case.mappe_id),
            _ => format!("Saksnummeret ditt er {}.", case.mappe_id),
        };
        let mut paragraphs = vec![number];
        let title = match text {
            Some(text) => {
                let body = text.body.trim();
                if !body.is_empty() {
                    paragraphs.insert(0, body.to_owned());
                }
                text.title.trim().to_owned()
            }
            None => title,
        };
        let sent = self
            .inner
            .post
            .send_template(
                k,
                self.letter(&case, format!("kvittering:{id}"), truncate(&title, 200), None),
                TemplateContent { kind: render::LetterKind::Kvittering, fields, paragraphs },
            )
            .await?;
        let mut tx = self.inner.db.begin().await?;
        let changed = tx
            .municipal(k)
            .execute(
                "UPDATE cases SET receipt_letter = $3 WHERE kommunenummer = $1 AND id = $2 AND receipt_letter IS NULL",
                &params![id, sent.id.as_str()],
            )
            .await?;
        if changed == 1 {
            record(&mut tx, k, id, case.status.code(), "kvittering_sendt", SYSTEM, Some(&sent.id)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    fn letter(&self, case: &Case, external_ref: String, title: String, answers: Option<String>) -> NewLetter {
        NewLetter {
            sender: Sender { id: SENDER.to_owned(), name: case.unit.clone() },
            external_ref: Some(external_ref),
            recipient: recipient(&case.applicant),
            kind: String::new(),
            title,
            sender_unit: case.unit.clone(),
            documents: Vec::new(),
            digital_only: false,
            security_level: 3,
            reply_allowed: false,
            case: Some(case.saksmappe.clone()),
            answers,
            language: Some(case.language),
        }
    }

    /// Sends a decision's letter (once: its external reference is `vedtak:<decision>`), and
    /// stores the letter and the appeal deadline, three weeks after it (fvl. § 29).
    async fn send_decision_letter(&self, k: Kommunenummer, decision_id: &str) -> Result<(), CaseError> {
        let decision = self
            .inner
            .db
            .municipal(k)
            .fetch_optional::<Decision>(
                &format!("SELECT {DECISION_COLUMNS} FROM case_decisions WHERE kommunenummer = $1 AND id = $2"),
                &params![decision_id],
            )
            .await?
            .ok_or(CaseError::NotFound)?;
        if decision.letter_id.is_some() {
            return Ok(());
        }
        let case = self.case(k, &decision.case_id).await?.ok_or(CaseError::NotFound)?;
        let mut reasons = decision.reasons.clone();
        for rule in decision.fired() {
            reasons.push_str("\n\n");
            reasons.push_str(&rule.explanation);
        }
        let mut fields = BTreeMap::new();
        fields.insert("tjeneste".to_owned(), case.service_title.clone());
        fields.insert("vedtak".to_owned(), decision.vedtak.clone());
        fields.insert("begrunnelse".to_owned(), reasons);
        fields.insert("hjemmel".to_owned(), decision.legal_basis.clone());
        if let Some(body) = &decision.appeal_body {
            fields.insert("klageinstans".to_owned(), body.clone());
        }
        let title = match case.language {
            Language::English => format!("Decision: {}", case.service_title),
            _ => format!("Vedtak: {}", case.service_title),
        };
        let sent = self
            .inner
            .post
            .send_template(
                k,
                self.letter(
                    &case,
                    format!("vedtak:{decision_id}"),
                    truncate(&title, 200),
                    Some(case.journalpost.clone()),
                ),
                TemplateContent { kind: render::LetterKind::Vedtak, fields, paragraphs: Vec::new() },
            )
            .await?;
        let today = kernel::time::today_in_norway();
        let mut tx = self.inner.db.begin().await?;
        let changed = tx
            .municipal(k)
            .execute(
                "UPDATE case_decisions SET letter_id = $3, letter_sent_on = $4, appeal_deadline = $5 \
                 WHERE kommunenummer = $1 AND id = $2 AND letter_id IS NULL",
                &params![decision_id, sent.id.as_str(), date_text(today), date_text(add_days(today, 21))],
            )
            .await?;
        if changed == 1 {
            record(&mut tx, k, &case.id, case.status.code(), "vedtaksbrev_sendt", SYSTEM, Some(&sent.id)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The requests for information of a case that are not answered yet, oldest first: the
    /// question and the due date, for the applicant's page. Like [`Cases::case`], it checks no
    /// one's rights: the caller shows them only to the case's own party.
    pub async fn open_information_requests(
        &self,
        k: Kommunenummer,
        case_id: &str,
    ) -> Result<Vec<InformationRequest>, CaseError> {
        Ok(self
            .inner
            .db
            .municipal(k)
            .fetch_all::<InformationRequest>(
                "SELECT id, question, due, requested_by, requested_at, answer, answered_at, journalpost \
                 FROM case_information_requests WHERE kommunenummer = $1 AND case_id = $2 AND answered_at IS NULL \
                 ORDER BY requested_at, id",
                &params![case_id],
            )
            .await?)
    }

    /// The history of a case (or an inquiry), oldest first.
    pub async fn history(&self, k: Kommunenummer, id: &str) -> Result<Vec<HistoryEntry>, CaseError> {
        Ok(self
            .inner
            .db
            .municipal(k)
            .fetch_all::<HistoryEntry>(
                "SELECT event, status, actor, detail, at FROM case_history WHERE kommunenummer = $1 AND case_id = $2 \
                 ORDER BY seq",
                &params![id],
            )
            .await?)
    }
}

const DECISION_COLUMNS: &str = "id, case_id, outcome, vedtak, reasons, legal_basis, appeal_body, decided_by, automated, \
    fired_rules, letter_id, letter_sent_on, appeal_deadline, created_at";

pub(crate) fn truncate(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max { text.to_owned() } else { text.chars().take(max).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_after_the_31st_is_the_months_last_day() {
        let date = Date::from_calendar_date(2027, time::Month::January, 31).expect("date");
        assert_eq!(date_text(one_month_after(date)), "2027-02-28");
        let date = Date::from_calendar_date(2026, time::Month::December, 3).expect("date");
        assert_eq!(date_text(one_month_after(date)), "2027-01-03");
    }

    #[test]
    fn dates_round_trip_through_their_text() {
        let date = Date::from_calendar_date(2026, time::Month::March, 9).expect("date");
        assert_eq!(parse_date(&date_text(date)), Some(date));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("nonsense"), None);
    }

    #[test]
    fn texts_are_checked() {
        assert!(line("  ", "x", 10).is_err());
        assert!(line("a\u{7}b", "x", 10).is_err());
        assert!(line("abcdefghijk", "x", 10).is_err());
        assert_eq!(line(" ok ", "x", 10).expect("ok"), "ok");
        assert!(paragraphs("one\n\ntwo", "x", 100).is_ok());
        assert!(paragraphs("one\u{0}", "x", 100).is_err());
    }

    #[test]
    fn statuses_and_modes_round_trip() {
        for status in Status::ALL {
            assert_eq!(Status::from_code(status.code()), Some(status));
        }
        for outcome in [Outcome::Grant, Outcome::PartialGrant, Outcome::Reject] {
            assert_eq!(Outcome::from_code(outcome.code()), Some(outcome));
        }
    }
}
