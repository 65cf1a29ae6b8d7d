//! A municipality's own content: notices (driftsmeldinger) on the front page, and feedback on
//! accessibility, which the accessibility statement must offer. Both belong to one
//! municipality (tables `notices` and `feedback`, municipal).
//!
//! Invariants:
//! - Feedback is stored, its notification job enqueued and its event published in one
//!   transaction; the event and the job carry the id only, never the message or the sender.
//! - Every rule a feedback field breaks is reported at once, as a [`FeedbackError`] this crate
//!   owns (the web layer turns it into its own wire shape).
#![forbid(unsafe_code)]

use kernel::{CloudEvent, Kommunenummer, Language, Timestamp};
use store::jobs::NewJob;
use store::{Db, Migration, Migrations, MunicipalDb, StoreError, params};

/// The tables this context owns, and their migrations.
pub static MIGRATIONS: Migrations = Migrations {
    context: "content",
    builds_on: &[],
    tables: &["notices", "feedback"],
    municipal_tables: &["notices", "feedback"],
    migrations: &[Migration {
        version: 1,
        description: "notices and feedback",
        sqlite: include_str!("../migrations/sqlite/0001_notices_and_feedback.sql"),
        postgres: include_str!("../migrations/postgres/0001_notices_and_feedback.sql"),
        legacy_version: Some(1),
    }],
};

/// The job that tells the municipality's accessibility contact about new feedback.
pub const FEEDBACK_NOTIFY_JOB: &str = "feedback.notify";

/// Why content could not be read or stored.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored row does not read back.
    #[error("stored content is malformed: {0}")]
    Malformed(String),
}

impl ContentError {
    /// The shared error kind, for mapping to a response.
    pub fn kind(&self) -> kernel::ErrorKind {
        match self {
            ContentError::Store(error) => error.kind(),
            ContentError::Malformed(_) => kernel::ErrorKind::Other,
        }
    }
}

kernel::uuid_id!(
    /// Identifies one notice.
    NoticeId
);
kernel::uuid_id!(
    /// Identifies one piece of feedback.
    FeedbackId
);

/// A notice shown on a municipality's front page, written in one language.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notice {
    /// Its id.
    pub id: String,
    /// The language it is written in.
    pub language: Language,
    /// Headline.
    pub title: String,
    /// Body text (plain text).
    pub body: String,
    /// When it was published.
    pub published_at: Timestamp,
}

#[derive(serde::Deserialize)]
struct NoticeRow {
    id: String,
    language: String,
    title: String,
    body: String,
    published_at: i64,
}

/// The newest notices of one municipality, newest first.
pub async fn notices(db: MunicipalDb<'_>, limit: u32) -> Result<Vec<Notice>, ContentError> {
    let rows = db
        .fetch_all::<NoticeRow>(
            "SELECT id, language, title, body, published_at FROM notices WHERE kommunenummer = $1 \
             ORDER BY published_at DESC, id DESC LIMIT $2",
            &params![i64::from(limit)],
        )
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Notice {
                language: row.language.parse().map_err(|_| ContentError::Malformed(format!("notice {}", row.id)))?,
                id: row.id,
                title: row.title,
                body: row.body,
                published_at: Timestamp(row.published_at),
            })
        })
        .collect()
}

/// Publishes a notice for one municipality.
pub async fn publish_notice(
    db: MunicipalDb<'_>,
    language: Language,
    title: &str,
    body: &str,
) -> Result<NoticeId, ContentError> {
    let id = NoticeId::new();
    db.execute(
        "INSERT INTO notices (kommunenummer, id, language, title, body, published_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &params![id.to_string(), language.tag(), title, body, Timestamp::now()],
    )
    .await?;
    Ok(id)
}

/// The longest feedback message accepted, in characters.
pub const FEEDBACK_MAX_CHARS: usize = 5000;
/// The longest page reference accepted, in characters.
pub const FEEDBACK_PAGE_MAX_CHARS: usize = 500;

/// A field of feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackField {
    /// What the person wants to say.
    Message,
    /// The page it is about.
    Page,
    /// Where to answer, if anywhere.
    ContactEmail,
}

impl FeedbackField {
    /// Its name in the form and the API body.
    pub fn name(self) -> &'static str {
        match self {
            FeedbackField::Message => "message",
            FeedbackField::Page => "page",
            FeedbackField::ContactEmail => "contact_email",
        }
    }
}

/// A rule a feedback field broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackRule {
    /// The field must be filled in.
    Required,
    /// The field is longer than allowed.
    TooLong,
    /// The field is not an e-mail address.
    InvalidEmail,
}

impl FeedbackRule {
    /// A stable code: `required`, `too_long`, `invalid_email`.
    pub fn code(self) -> &'static str {
        match self {
            FeedbackRule::Required => "required",
            FeedbackRule::TooLong => "too_long",
            FeedbackRule::InvalidEmail => "invalid_email",
        }
    }
}

/// One broken rule on one field of feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedbackError {
    /// The field.
    pub field: FeedbackField,
    /// The rule it broke.
    pub rule: FeedbackRule,
}

/// Feedback that has passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    message: String,
    page: Option<String>,
    contact_email: Option<String>,
    language: Language,
}

fn blank_to_none(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// A deliberately modest e-mail check: one `@`, something on each side, a dot in the domain,
/// no spaces. The only real check is sending to it.
fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !text.chars().any(char::is_whitespace)
        && text.len() <= 254
}

impl Feedback {
    /// Checks every field and reports every broken rule at once.
    pub fn parse(
        message: Option<&str>,
        page: Option<&str>,
        contact_email: Option<&str>,
        language: Language,
    ) -> Result<Self, Vec<FeedbackError>> {
        let mut errors = Vec::new();
        let message = blank_to_none(message);
        match &message {
            None => errors.push(FeedbackError { field: FeedbackField::Message, rule: FeedbackRule::Required }),
            Some(m) if m.chars().count() > FEEDBACK_MAX_CHARS => {
                errors.push(FeedbackError { field: FeedbackField::Message, rule: FeedbackRule::TooLong });
            }
            Some(_) => {}
        }
        let page = blank_to_none(page);
        if page.as_ref().is_some_and(|p| p.chars().count() > FEEDBACK_PAGE_MAX_CHARS) {
            errors.push(FeedbackError { field: FeedbackField::Page, rule: FeedbackRule::TooLong });
        }
        let contact_email = blank_to_none(contact_email);
        if contact_email.as_ref().is_some_and(|e| !looks_like_email(e)) {
            errors.push(FeedbackError { field: FeedbackField::ContactEmail, rule: FeedbackRule::InvalidEmail });
        }
        match message {
            Some(message) if errors.is_empty() => Ok(Self { message, page, contact_email, language }),
            _ => Err(errors),
        }
    }
}

/// Stores feedback for a municipality and, in the same transaction, enqueues the job that
/// tells the municipality's accessibility contact and publishes an event (with no content,
/// only the id).
pub async fn record_feedback(
    db: &Db,
    kommunenummer: Kommunenummer,
    feedback: &Feedback,
) -> Result<FeedbackId, ContentError> {
    let id = FeedbackId::new();
    let mut tx = db.begin().await?;
    tx.municipal(kommunenummer)
        .execute(
            "INSERT INTO feedback (kommunenummer, id, page, message, contact_email, language, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &params![
                id.to_string(),
                feedback.page.clone(),
                feedback.message.as_str(),
                feedback.contact_email.clone(),
                feedback.language.tag(),
                Timestamp::now(),
            ],
        )
        .await?;
    let payload = serde_json::json!({ "feedback_id": id.to_string() });
    tx.enqueue(
        &NewJob::new(FEEDBACK_NOTIFY_JOB, payload.clone())
            .for_kommune(kommunenummer)
            .idempotency_key(format!("feedback.notify:{id}")),
    )
    .await?;
    tx.publish(&CloudEvent::new(
        "/allmenning/feedback",
        "no.allmenning.feedback.received",
        Some(kommunenummer),
        Some(id.to_string()),
        payload,
    ))
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Registers this context's job handlers. Until the post context can send e-mail, the
/// accessibility contact learns of new feedback from a log line (which carries ids only,
/// never the message or the sender).
pub fn register_jobs(handlers: &mut store::jobs::Handlers) {
    handlers.register(FEEDBACK_NOTIFY_JOB, |job| async move {
        let feedback_id = job.payload.get("feedback_id").and_then(|v| v.as_str()).map(str::to_owned);
        match feedback_id {
            Some(id) => {
                let kommune = job.kommunenummer.map_or_else(|| "-".to_owned(), |k| k.to_string());
                tracing::info!(feedback.id = %id, kommune = %kommune, "accessibility feedback received");
                Ok(())
            }
            None => Err("payload has no feedback_id".to_owned()),
        }
    });
}

/// How much feedback a municipality has received.
pub async fn feedback_count(db: MunicipalDb<'_>) -> Result<i64, ContentError> {
    let row = db.fetch_optional::<(i64,)>("SELECT COUNT(*) AS n FROM feedback WHERE kommunenummer = $1", &[]).await?;
    Ok(row.map_or(0, |(n,)| n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_reports_every_broken_rule() {
        let errors = Feedback::parse(Some("   "), Some(&"x".repeat(501)), Some("not an address"), Language::Bokmal)
            .expect_err("three rules broken");
        assert_eq!(
            errors,
            vec![
                FeedbackError { field: FeedbackField::Message, rule: FeedbackRule::Required },
                FeedbackError { field: FeedbackField::Page, rule: FeedbackRule::TooLong },
                FeedbackError { field: FeedbackField::ContactEmail, rule: FeedbackRule::InvalidEmail },
            ]
        );
        let long = "æ".repeat(FEEDBACK_MAX_CHARS + 1);
        assert_eq!(
            Feedback::parse(Some(&long), None, None, Language::English),
            Err(vec![FeedbackError { field: FeedbackField::Message, rule: FeedbackRule::TooLong }])
        );
    }

    #[test]
    fn valid_feedback_is_trimmed_and_blank_optionals_dropped() {
        let feedback =
            Feedback::parse(Some("  Kontrasten er for lav  "), Some(""), Some(" ola@example.no "), Language::Nynorsk)
                .expect("valid");
        assert_eq!(feedback.message, "Kontrasten er for lav");
        assert_eq!(feedback.page, None);
        assert_eq!(feedback.contact_email.as_deref(), Some("ola@example.no"));
    }

    #[test]
    fn email_check_is_modest_but_real() {
        assert!(looks_like_email("kari.nordmann@bergen.kommune.no"));
        for bad in ["", "a@", "@b.no", "a@b", "a b@c.no", "a@.no", "a@b.no.", "a@@b.no"] {
            assert!(!looks_like_email(bad), "{bad:?}");
        }
    }
}
