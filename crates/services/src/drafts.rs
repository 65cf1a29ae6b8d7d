//! Drafts: an application not yet sent, saved as the person moves through the form and
//! resumable from Min side. One draft per owner, service and subject (whom the owner applies
//! for); saving again replaces it. Drafts older than the retention are purged by a job
//! ([`Drafts::purge_older_than`]).
//!
//! The table is municipal: every statement is scoped to the municipality's kommunenummer.

use identity::ActingAs;
use kernel::{Fnr, Kommunenummer, Timestamp};
use store::{Db, StoreError, params};

use crate::prefill::PrefilledValue;
use crate::value::Answers;

/// Why a draft operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    /// No such draft.
    #[error("no such draft")]
    NotFound,
    /// A stored draft could not be read back (a draft written by a newer version).
    #[error("the stored draft is unreadable: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A saved draft.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The draft's id (UUIDv7).
    pub id: String,
    /// Who is applying.
    pub owner: Fnr,
    /// The service id.
    pub service: String,
    /// Whom for, as [`subject_key`] writes it.
    pub subject: String,
    /// The definition's version the answers were given under.
    pub service_version: u32,
    /// The page the person was on.
    pub page: Option<String>,
    /// The answers so far.
    pub answers: Answers,
    /// The values read from the registers when the draft was started, as shown on its pages
    /// (read again at submission).
    pub prefill: Vec<PrefilledValue>,
    /// First saved.
    pub created_at: Timestamp,
    /// Last saved.
    pub updated_at: Timestamp,
}

/// The stored key of whom an application is for: `self`, `child:<fnr>`, `ward:<fnr>`,
/// `organisation:<orgnr>`, `fullmakt:<fnr>`.
pub fn subject_key(acting: &ActingAs) -> String {
    match acting {
        ActingAs::Myself => "self".to_owned(),
        ActingAs::Child(fnr) => format!("child:{}", fnr.as_digits()),
        ActingAs::Ward(fnr) => format!("ward:{}", fnr.as_digits()),
        ActingAs::Organisation(orgnr, _) => format!("organisation:{}", orgnr.as_digits()),
        ActingAs::Fullmakt { giver, .. } => format!("fullmakt:{}", giver.as_digits()),
    }
}

#[derive(serde::Deserialize)]
struct Row {
    id: String,
    owner: String,
    service: String,
    subject: String,
    service_version: i64,
    page: Option<String>,
    answers: String,
    prefill: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl Row {
    fn draft(self) -> Result<Draft, DraftError> {
        Ok(Draft {
            id: self.id,
            owner: Fnr::parse(&self.owner).map_err(|e| DraftError::Corrupt(e.to_string()))?,
            service: self.service,
            subject: self.subject,
            service_version: u32::try_from(self.service_version).map_err(|e| DraftError::Corrupt(e.to_string()))?,
            page: self.page,
            answers: serde_json::from_str(&self.answers).map_err(|e| DraftError::Corrupt(e.to_string()))?,
            prefill: match self.prefill {
                Some(text) => serde_json::from_str(&text).map_err(|e| DraftError::Corrupt(e.to_string()))?,
                None => Vec::new(),
            },
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
        })
    }
}

const COLUMNS: &str = "id, owner, service, subject, service_version, page, answers, prefill, created_at, updated_at";

/// One municipality's drafts.
#[derive(Debug, Clone)]
pub struct Drafts {
    db: Db,
    kommunenummer: Kommunenummer,
}

/// What [`Drafts::save`] stores.
#[derive(Debug, Clone, Copy)]
pub struct NewDraft<'a> {
    /// Who is applying.
    pub owner: &'a Fnr,
    /// The service id.
    pub service: &'a str,
    /// Whom for ([`subject_key`]).
    pub subject: &'a str,
    /// The definition's version.
    pub service_version: u32,
    /// The page the person is on.
    pub page: Option<&'a str>,
    /// The answers so far.
    pub answers: &'a Answers,
}

impl Drafts {
    /// The drafts of the municipality `kommunenummer`.
    pub fn new(db: Db, kommunenummer: Kommunenummer) -> Drafts {
        Drafts { db, kommunenummer }
    }

    /// Saves a draft, replacing the owner's earlier draft for the same service and subject.
    /// Returns the draft's id (kept across saves).
    pub async fn save(&self, draft: NewDraft<'_>, now: Timestamp) -> Result<String, DraftError> {
        let answers = serde_json::to_string(draft.answers).map_err(|e| DraftError::Corrupt(e.to_string()))?;
        let id = uuid::Uuid::now_v7().to_string();
        self.db
            .municipal(self.kommunenummer)
            .execute(
                "INSERT INTO service_drafts (kommunenummer, id, owner, service, subject, service_version, page, \
                 answers, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                 ON CONFLICT (kommunenummer, owner, service, subject) DO UPDATE SET \
                 service_version = excluded.service_version, page = excluded.page, answers = excluded.answers, \
                 updated_at = excluded.updated_at",
                &params![
                    id.as_str(),
                    draft.owner.as_digits(),
                    draft.service,
                    draft.subject,
                    i64::from(draft.service_version),
                    draft.page,
                    answers,
                    now
                ],
            )
            .await?;
        let row = self.find(draft.owner, draft.service, draft.subject).await?.ok_or(DraftError::NotFound)?;
        Ok(row.id)
    }

    /// The owner's draft for a service and subject.
    pub async fn find(&self, owner: &Fnr, service: &str, subject: &str) -> Result<Option<Draft>, DraftError> {
        let row: Option<Row> = self
            .db
            .municipal(self.kommunenummer)
            .fetch_optional(
                &format!(
                    "SELECT {COLUMNS} FROM service_drafts WHERE kommunenummer = $1 AND owner = $2 AND service = $3 \
                     AND subject = $4"
                ),
                &params![owner.as_digits(), service, subject],
            )
            .await?;
        row.map(Row::draft).transpose()
    }

    /// A draft by id, only if `owner` owns it.
    pub async fn load(&self, owner: &Fnr, id: &str) -> Result<Draft, DraftError> {
        let row: Option<Row> = self
            .db
            .municipal(self.kommunenummer)
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM service_drafts WHERE kommunenummer = $1 AND id = $2 AND owner = $3"),
                &params![id, owner.as_digits()],
            )
            .await?;
        row.ok_or(DraftError::NotFound)?.draft()
    }

    /// The owner's drafts, the most recently saved first.
    pub async fn list(&self, owner: &Fnr) -> Result<Vec<Draft>, DraftError> {
        let rows: Vec<Row> = self
            .db
            .municipal(self.kommunenummer)
            .fetch_all(
                &format!(
                    "SELECT {COLUMNS} FROM service_drafts WHERE kommunenummer = $1 AND owner = $2 \
                     ORDER BY updated_at DESC, id DESC"
                ),
                &params![owner.as_digits()],
            )
            .await?;
        rows.into_iter().map(Row::draft).collect()
    }

    /// Keeps the values read from the registers with the owner's draft.
    pub async fn set_prefill(&self, owner: &Fnr, id: &str, values: &[PrefilledValue]) -> Result<(), DraftError> {
        let text = serde_json::to_string(values).map_err(|e| DraftError::Corrupt(e.to_string()))?;
        let updated = self
            .db
            .municipal(self.kommunenummer)
            .execute(
                "UPDATE service_drafts SET prefill = $2 WHERE kommunenummer = $1 AND id = $3 AND owner = $4",
                &params![text, id, owner.as_digits()],
            )
            .await?;
        if updated == 0 { Err(DraftError::NotFound) } else { Ok(()) }
    }

    /// Deletes the owner's draft (after submission, or when the person discards it).
    pub async fn delete(&self, owner: &Fnr, id: &str) -> Result<(), DraftError> {
        let deleted = self
            .db
            .municipal(self.kommunenummer)
            .execute(
                "DELETE FROM service_drafts WHERE kommunenummer = $1 AND id = $2 AND owner = $3",
                &params![id, owner.as_digits()],
            )
            .await?;
        if deleted == 0 { Err(DraftError::NotFound) } else { Ok(()) }
    }

    /// Deletes every draft not saved for `retention`; returns how many. A job the app
    /// schedules (daily is enough).
    pub async fn purge_older_than(&self, retention: std::time::Duration, now: Timestamp) -> Result<u64, DraftError> {
        let millis = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        let cutoff = Timestamp(now.millis().saturating_sub(millis));
        let deleted = self
            .db
            .municipal(self.kommunenummer)
            .execute("DELETE FROM service_drafts WHERE kommunenummer = $1 AND updated_at < $2", &params![cutoff])
            .await?;
        Ok(deleted)
    }
}
