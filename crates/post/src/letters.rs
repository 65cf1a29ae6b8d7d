//! Letters as stored: their rows, their status history, the tasks they leave, and the status
//! events they publish. Every status change goes through [`set_status`], in the caller's
//! transaction, so the row, the history and the event feed never disagree.

use kernel::{CloudEvent, Kommunenummer, Timestamp};
use store::{StoreError, Tx, params};

/// A letter's status, as SvarUt names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Received and stored.
    Mottatt,
    /// Checked, archived and routed.
    Akseptert,
    /// Refused.
    Avvist,
    /// In the inbox, and the recipient has been notified.
    Varslet,
    /// Opened by the recipient.
    Lest,
    /// Put in the recipient's inbox on Min side.
    SendtDigitalt,
    /// Handed to the integrasjonspunkt for the digital mailbox.
    SendtSdp,
    /// In the recipient's digital mailbox.
    LevertSdp,
    /// In a print batch.
    SendtPrint,
    /// Printed and posted, as the print vendor reports.
    Printet,
    /// Could not be delivered.
    IkkeLevert,
    /// Left to the sending unit to handle by hand.
    ManueltHandtert,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 12] = [
        Status::Mottatt,
        Status::Akseptert,
        Status::Avvist,
        Status::Varslet,
        Status::Lest,
        Status::SendtDigitalt,
        Status::SendtSdp,
        Status::LevertSdp,
        Status::SendtPrint,
        Status::Printet,
        Status::IkkeLevert,
        Status::ManueltHandtert,
    ];

    /// The name as SvarUt writes it (`SENDT_PRINT`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Mottatt => "MOTTATT",
            Status::Akseptert => "AKSEPTERT",
            Status::Avvist => "AVVIST",
            Status::Varslet => "VARSLET",
            Status::Lest => "LEST",
            Status::SendtDigitalt => "SENDT_DIGITALT",
            Status::SendtSdp => "SENDT_SDP",
            Status::LevertSdp => "LEVERT_SDP",
            Status::SendtPrint => "SENDT_PRINT",
            Status::Printet => "PRINTET",
            Status::IkkeLevert => "IKKE_LEVERT",
            Status::ManueltHandtert => "MANUELT_HANDTERT",
        }
    }

    /// Parses the name.
    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether nothing more will happen to the letter.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Avvist | Status::Lest | Status::Printet | Status::IkkeLevert | Status::ManueltHandtert)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The CloudEvents type of a status change.
pub const STATUS_EVENT: &str = "no.allmenning.post.letter.status.v1";

/// A document of a letter, as journaled: the archive holds the bytes, once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredDocument {
    /// Its title.
    pub tittel: String,
    /// The dokumentobjekt whose file is the PDF.
    pub dokumentobjekt: String,
    /// Pages.
    pub pages: u32,
    /// SHA-256 of the PDF, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// A letter row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct LetterRow {
    /// Its id.
    pub id: String,
    /// Who sent it (`klient:{id}`, `ansatt:{id}`, `system:{name}`).
    pub sender: String,
    /// The sender's own reference.
    pub external_ref: Option<String>,
    /// `person` or `organisasjon`.
    pub recipient_kind: String,
    /// Fødselsnummer or organisasjonsnummer.
    pub recipient_id: String,
    /// The recipient's name.
    pub recipient_name: String,
    /// The kind of letter (`vedtak`, `fritt`, `pdf`, …).
    pub kind: String,
    /// Its title.
    pub title: String,
    /// `nb`, `nn` or `en`.
    pub language: String,
    /// The sending unit.
    pub sender_unit: String,
    /// Never on paper.
    pub digital_only: bool,
    /// The security level needed to open it (3 or 4).
    pub security_level: i64,
    /// The recipient may answer.
    pub reply_allowed: bool,
    /// Its status.
    pub status: String,
    /// Its channel (`digital_postkasse`, `innboks`, `papir`, `manuell`, `ingen`).
    pub channel: Option<String>,
    /// Why that channel (a [`crate::routing::Reason`] code, or a later reason).
    pub reason: Option<String>,
    /// Pages of the main document.
    pub pages: i64,
    /// The documents, JSON.
    pub documents: String,
    /// The saksmappe.
    pub case_id: Option<String>,
    /// The outgoing journalpost.
    pub journalpost_id: Option<String>,
    /// Its registreringsID (`2026/17-2`).
    pub registrerings_id: Option<String>,
    /// The incoming journalpost it answers.
    pub answers_journalpost: Option<String>,
    /// When it goes on paper if still unread.
    pub paper_due_at: Option<i64>,
    /// When it was put in the inbox.
    pub inbox_at: Option<i64>,
    /// Its print batch.
    pub print_batch: Option<String>,
    /// When the recipient opened it.
    pub read_at: Option<i64>,
    /// Created.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
    /// Printed when unread in the inbox after the deadline.
    pub paper_fallback: bool,
}

impl LetterRow {
    /// The status, parsed.
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Mottatt)
    }

    /// The documents, main document first.
    pub fn documents(&self) -> Vec<StoredDocument> {
        serde_json::from_str(&self.documents).unwrap_or_default()
    }
}

/// The columns of [`LetterRow`].
pub const COLUMNS: &str = "id, sender, external_ref, recipient_kind, recipient_id, recipient_name, kind, title, \
    language, sender_unit, digital_only, security_level, reply_allowed, status, channel, reason, pages, documents, \
    case_id, journalpost_id, registrerings_id, answers_journalpost, paper_due_at, inbox_at, print_batch, read_at, \
    created_at, updated_at, paper_fallback";

/// Loads a letter in a transaction.
pub async fn load_in(tx: &mut Tx, k: Kommunenummer, id: &str) -> Result<Option<LetterRow>, StoreError> {
    tx.municipal(k)
        .fetch_optional::<LetterRow>(
            &format!("SELECT {COLUMNS} FROM post_letters WHERE kommunenummer = $1 AND id = $2"),
            &params![id],
        )
        .await
}

/// One entry of a letter's history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct StatusEntry {
    /// The status reached.
    pub status: String,
    /// Why, when there is a reason.
    pub reason: Option<String>,
    /// When, in milliseconds since the epoch.
    pub at: i64,
}

/// Moves a letter to `status` (recording `reason`), appends it to the history and publishes the
/// status event, all in `tx`. Moving to the status it already has is a no-op (a repeated step
/// after a crash); moving out of a final status is refused quietly (returns false), except to
/// LEST, which a reader may reach after paper.
pub async fn set_status(
    tx: &mut Tx,
    k: Kommunenummer,
    letter: &LetterRow,
    status: Status,
    reason: Option<&str>,
) -> Result<bool, StoreError> {
    let current = letter.status();
    if current == status || (current.is_final() && status != Status::Lest) {
        return Ok(false);
    }
    let now = Timestamp::now();
    let changed = tx
        .municipal(k)
        .execute(
            "UPDATE post_letters SET status = $3, reason = COALESCE($4, reason), updated_at = $5 \
             WHERE kommunenummer = $1 AND id = $2 AND status = $6",
            &params![letter.id.as_str(), status.as_str(), reason, now, current.as_str()],
        )
        .await?;
    if changed == 0 {
        // Someone else moved it first.
        return Ok(false);
    }
    log(tx, k, &letter.id, status, reason, now).await?;
    let event = CloudEvent::new(
        "/post",
        STATUS_EVENT,
        Some(k),
        Some(letter.id.clone()),
        serde_json::json!({
            "forsendelse": letter.id,
            "status": status.as_str(),
            "aarsak": reason,
            "avsender": letter.sender,
            "eksternReferanse": letter.external_ref,
        }),
    );
    tx.publish(&event).await?;
    Ok(true)
}

/// Appends a status to the history.
pub async fn log(
    tx: &mut Tx,
    k: Kommunenummer,
    letter: &str,
    status: Status,
    reason: Option<&str>,
    at: Timestamp,
) -> Result<(), StoreError> {
    #[derive(serde::Deserialize)]
    struct Next {
        next: i64,
    }
    let next = tx
        .municipal(k)
        .fetch_optional::<Next>(
            "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM post_status_log WHERE kommunenummer = $1 AND letter_id = $2",
            &params![letter],
        )
        .await?
        .map_or(1, |n| n.next);
    tx.municipal(k)
        .execute(
            "INSERT INTO post_status_log (kommunenummer, letter_id, seq, status, reason, at) VALUES ($1, $2, $3, $4, $5, $6)",
            &params![letter, next, status.as_str(), reason, at],
        )
        .await?;
    Ok(())
}

/// Leaves a task for the sending unit (once per letter and reason).
pub async fn add_task(tx: &mut Tx, k: Kommunenummer, letter: &LetterRow, reason: &str) -> Result<(), StoreError> {
    tx.municipal(k)
        .execute(
            "INSERT INTO post_tasks (kommunenummer, id, letter_id, unit, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (kommunenummer, letter_id, reason) DO NOTHING",
            &params![
                uuid::Uuid::now_v7().to_string(),
                letter.id.as_str(),
                letter.sender_unit.as_str(),
                reason,
                Timestamp::now()
            ],
        )
        .await?;
    Ok(())
}
