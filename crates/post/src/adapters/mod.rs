//! The channels a letter or a notice leaves through, each behind a trait so the delivery engine
//! does not know whether it talks to the real service or to the simulator beside it.
//!
//! Every call carries a **delivery key**: a string that is the same each time the engine tries
//! the same delivery again (after a crash, a restart or a retry). A channel that can, uses it
//! so that the receiver sees one delivery however often it is tried: the integrasjonspunkt's
//! `messageId`, the SMS gateway's reference, the e-mail's `Message-ID`, the print line's
//! letter id.

use futures::future::BoxFuture;

pub mod eformidling;
pub mod email;
pub mod print;
pub mod sms;

/// Why a channel did not take a delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// Worth trying again later: a timeout, a refused connection, a 5xx, a 429.
    #[error("temporarily unavailable: {0}")]
    Transient(String),
    /// Will not work however often it is tried: a 4xx refusal, an unknown recipient, a
    /// malformed address. The text says which, without personal data.
    #[error("refused: {0}")]
    Permanent(String),
}

impl ChannelError {
    /// Whether trying again may help.
    pub fn is_transient(&self) -> bool {
        matches!(self, ChannelError::Transient(_))
    }
}

// --- Digital mailbox (Digital Post til Innbyggere through eFormidling) ----------------------

/// A letter for a resident's digital mailbox (Digipost or e-Boks), sent through the
/// municipality's integrasjonspunkt.
#[derive(Clone)]
pub struct MailboxLetter {
    /// The delivery key as a UUID: the integrasjonspunkt's `messageId` (and the SBD's
    /// `instanceIdentifier`). The same on every try.
    pub message_id: uuid::Uuid,
    /// The conversation: the letter's id.
    pub conversation_id: uuid::Uuid,
    /// The sending municipality's organisasjonsnummer (nine digits).
    pub sender_orgnr: String,
    /// The recipient's fødselsnummer or d-nummer (eleven digits).
    pub recipient: String,
    /// The title the mailbox shows (`ikkeSensitivTittel`): no personal data.
    pub title: String,
    /// `nb`, `nn` or `en`.
    pub language: String,
    /// The ID-porten security level needed to open it (3 or 4).
    pub security_level: u8,
    /// The main document.
    pub pdf: bytes::Bytes,
    /// The main document's file name (`brev.pdf`).
    pub filename: String,
    /// Attachments: (file name, PDF bytes).
    pub attachments: Vec<(String, bytes::Bytes)>,
}

impl std::fmt::Debug for MailboxLetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailboxLetter")
            .field("message_id", &self.message_id)
            .field("conversation_id", &self.conversation_id)
            .field("security_level", &self.security_level)
            .field("pdf", &self.pdf.len())
            .field("attachments", &self.attachments.len())
            .finish_non_exhaustive()
    }
}

/// Where a mailbox message stands, as the integrasjonspunkt reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxStatus {
    /// Accepted by the integrasjonspunkt (`OPPRETTET`, `SENDT`): on its way.
    InTransit,
    /// In the resident's mailbox (`LEVERT`).
    Delivered,
    /// Opened by the resident (`LEST`).
    Read,
    /// Failed (`FEIL`, `LEVETID_UTLOPT`), with the reason.
    Failed(String),
    /// The integrasjonspunkt does not know the message (never received, or lost): send again
    /// with the same message id.
    Unknown,
}

/// A digital mailbox channel: the integrasjonspunkt's "next move" messages API.
pub trait DigitalMailbox: Send + Sync + std::fmt::Debug {
    /// Hands the letter over. Sending the same `message_id` again is harmless: the receiver
    /// keeps the first.
    fn send<'a>(&'a self, letter: &'a MailboxLetter) -> BoxFuture<'a, Result<(), ChannelError>>;

    /// The newest status of a message sent earlier.
    fn status(&self, message_id: uuid::Uuid) -> BoxFuture<'_, Result<MailboxStatus, ChannelError>>;

    /// Whether letters can go this way at all; when not, routing skips the mailbox.
    fn is_configured(&self) -> bool {
        true
    }
}

// --- E-mail -------------------------------------------------------------------------------------

/// An e-mail notice ("you have a letter from the municipality"): never the letter itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The `Message-ID` without angle brackets (`{delivery key}@{domain}`): the same on every try,
    /// so a receiver can tell a repeat.
    pub message_id: String,
    /// The recipient's address.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
    /// `nb`, `nn` or `en` (`Content-Language`).
    pub language: String,
}

/// Sends e-mail.
pub trait Mailer: Send + Sync + std::fmt::Debug {
    /// Sends one message.
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), ChannelError>>;
}

// --- SMS ----------------------------------------------------------------------------------------

/// An SMS notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    /// The delivery key, sent as the gateway's client reference; the gateway ignores a
    /// reference it has seen.
    pub reference: String,
    /// The recipient's number in E.164 (`+4791234567`).
    pub to: String,
    /// The sender name shown (up to 11 characters, e.g. `Bergen`).
    pub sender: String,
    /// The text.
    pub text: String,
}

/// Sends SMS through an HTTP gateway.
pub trait SmsGateway: Send + Sync + std::fmt::Debug {
    /// Sends one message.
    fn send<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<(), ChannelError>>;
}

// --- Print --------------------------------------------------------------------------------------

/// The envelope a letter goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Envelope {
    /// C5 window envelope, up to 10 sheets folded.
    C5,
    /// C4 window envelope, more than 10 sheets, flat.
    C4,
}

/// One letter in a print batch.
#[derive(Clone)]
pub struct PrintLine {
    /// The letter's id (also the delivery key: one line per letter, ever).
    pub letter_id: String,
    /// The recipient's name.
    pub name: String,
    /// The address lines (street, c/o).
    pub address_lines: Vec<String>,
    /// Postnummer (Norway) or postal code.
    pub postnummer: String,
    /// Poststed.
    pub poststed: String,
    /// ISO 3166 alpha-2 country code (`NO`).
    pub land: String,
    /// Pages in the PDF.
    pub pages: u32,
    /// Printed on both sides.
    pub duplex: bool,
    /// Which envelope.
    pub envelope: Envelope,
    /// The PDF to print, exactly as archived.
    pub pdf: bytes::Bytes,
}

impl std::fmt::Debug for PrintLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names and addresses are personal data: not in logs.
        f.debug_struct("PrintLine")
            .field("letter_id", &self.letter_id)
            .field("pages", &self.pages)
            .field("duplex", &self.duplex)
            .field("envelope", &self.envelope)
            .finish_non_exhaustive()
    }
}

/// What the print vendor reports about one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintReceipt {
    /// The batch.
    pub batch_id: String,
    /// The letter.
    pub letter_id: String,
    /// Printed and handed to the postal service.
    pub printed: bool,
    /// Why not, when not.
    pub reason: Option<String>,
    /// When the vendor says it happened (RFC 3339).
    pub at: String,
}

/// Receipt files and their lines, as [`PrintShop::receipts`] returns them: (file, lines).
pub type ReceiptFiles = Vec<(String, Vec<PrintReceipt>)>;

/// A print vendor reached through a directory or a bucket: batches go out, receipts come back.
pub trait PrintShop: Send + Sync + std::fmt::Debug {
    /// Writes a batch (its PDFs and its manifest). Writing the same batch id again with the same
    /// lines is harmless: the result is the same files, and a batch the vendor has already
    /// taken is not written twice.
    fn submit<'a>(&'a self, batch_id: &'a str, lines: &'a [PrintLine]) -> BoxFuture<'a, Result<(), ChannelError>>;

    /// Receipt files the vendor has left, not yet acknowledged: every line of each, with the
    /// file they came from.
    fn receipts(&self) -> BoxFuture<'_, Result<ReceiptFiles, ChannelError>>;

    /// Moves a receipt file away once its lines are recorded (so it is read once; reading it
    /// twice must be harmless anyway).
    fn acknowledge<'a>(&'a self, receipt_file: &'a str) -> BoxFuture<'a, Result<(), ChannelError>>;
}

/// A channel that is not configured: every delivery through it waits (a transient error), so
/// letters queue up rather than being lost until the channel is set up.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotConfigured;

const NOT_CONFIGURED: &str = "this channel is not configured";

impl DigitalMailbox for NotConfigured {
    fn send<'a>(&'a self, _letter: &'a MailboxLetter) -> BoxFuture<'a, Result<(), ChannelError>> {
        Box::pin(async { Err(ChannelError::Transient(NOT_CONFIGURED.to_owned())) })
    }

    fn status(&self, _message_id: uuid::Uuid) -> BoxFuture<'_, Result<MailboxStatus, ChannelError>> {
        Box::pin(async { Err(ChannelError::Transient(NOT_CONFIGURED.to_owned())) })
    }

    fn is_configured(&self) -> bool {
        false
    }
}

impl Mailer for NotConfigured {
    fn send<'a>(&'a self, _email: &'a Email) -> BoxFuture<'a, Result<(), ChannelError>> {
        Box::pin(async { Err(ChannelError::Transient(NOT_CONFIGURED.to_owned())) })
    }
}

impl SmsGateway for NotConfigured {
    fn send<'a>(&'a self, _sms: &'a Sms) -> BoxFuture<'a, Result<(), ChannelError>> {
        Box::pin(async { Err(ChannelError::Transient(NOT_CONFIGURED.to_owned())) })
    }
}

impl PrintShop for NotConfigured {
    fn submit<'a>(&'a self, _batch_id: &'a str, _lines: &'a [PrintLine]) -> BoxFuture<'a, Result<(), ChannelError>> {
        Box::pin(async { Err(ChannelError::Transient(NOT_CONFIGURED.to_owned())) })
    }

    fn receipts(&self) -> BoxFuture<'_, Result<Vec<(String, Vec<PrintReceipt>)>, ChannelError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn acknowledge<'a>(&'a self, _receipt_file: &'a str) -> BoxFuture<'a, Result<(), ChannelError>> {
        Box::pin(async { Ok(()) })
    }
}
