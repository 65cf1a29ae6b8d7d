//! The delivery engine: a letter is accepted (checked, journaled, routed) in one transaction,
//! and then moved along its channel by jobs. Every step can be run again after a crash: it
//! reads the letter's status first, and talks to a channel with a delivery key the channel
//! (or the `post_deliveries` table) remembers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use archive::{
    Archive, Correspondent, DocumentRole, JournalpostType, NewCase, NewDocument, NewJournalpost, Noark, Party, WriteOff,
};
use bytes::Bytes;
use kernel::{Fnr, Kommunenummer, Language, OrgNr, Timestamp};
use registers::model::{Organisation, OrganisationRole, Person, Residence};
use registers::{Caller, Registers};
use store::jobs::{ClaimedJob, Handlers, NewJob};
use store::{Db, StoreError, params};

use crate::adapters::print::envelope_for;
use crate::adapters::{
    ChannelError, DigitalMailbox, Email, MailboxLetter, MailboxStatus, Mailer, PrintLine, PrintShop, Sms, SmsGateway,
};
use crate::letters::{self, LetterRow, Status, StoredDocument};
use crate::pdf;
use crate::routing::{self, Facts, Krr, Notice, Reason, Route};

/// Job kinds.
pub mod jobs {
    /// Moves one letter along its channel.
    pub const DELIVER: &str = "post.deliver";
    /// Asks the integrasjonspunkt how a mailbox letter is doing.
    pub const POLL: &str = "post.poll";
    /// Puts an unread inbox letter on paper when its time is up.
    pub const FALLBACK: &str = "post.fallback";
    /// Makes and submits print batches (periodic).
    pub const PRINT: &str = "post.print";
    /// Reads the print vendor's receipts (periodic).
    pub const RECEIPTS: &str = "post.receipts";
}

/// Why reads of the registers are made, as the resident sees it in the access log.
const PURPOSE: &str = "Sende brev fra kommunen til riktig kanal";
/// The legal basis of those reads.
const LEGAL_BASIS: &str = "forvaltningsloven § 27 og eForvaltningsforskriften §§ 8–9";

/// The channels, real or simulated.
#[derive(Debug, Clone)]
pub struct Channels {
    /// The integrasjonspunkt.
    pub mailbox: Arc<dyn DigitalMailbox>,
    /// SMTP.
    pub mailer: Arc<dyn Mailer>,
    /// The SMS gateway.
    pub sms: Arc<dyn SmsGateway>,
    /// The print vendor.
    pub print: Arc<dyn PrintShop>,
}

impl Channels {
    /// No channel configured: deliveries wait until one is.
    pub fn not_configured() -> Self {
        let none = Arc::new(crate::adapters::NotConfigured);
        Channels { mailbox: none.clone(), mailer: none.clone(), sms: none.clone(), print: none }
    }
}

/// How the engine behaves.
#[derive(Debug, Clone)]
pub struct PostConfig {
    /// Each municipality's organisasjonsnummer (the sender of digital post).
    pub orgnr: HashMap<Kommunenummer, String>,
    /// The public address of each municipality, for links in notices (`https://…`).
    pub public_url: HashMap<Kommunenummer, String>,
    /// The domain of notice e-mails' `Message-ID`s.
    pub mail_domain: String,
    /// Working days an inbox letter may stay unread before it is printed.
    pub paper_after_working_days: u32,
    /// How often print batches are made (once a day in production).
    pub print_interval: Duration,
    /// How often receipts are read.
    pub receipts_interval: Duration,
    /// How often the integrasjonspunkt is asked about a mailbox letter.
    pub poll_interval: Duration,
    /// How many times it is asked before the engine stops waiting for "read".
    pub max_polls: u32,
    /// The largest PDF taken (each document).
    pub max_document_bytes: u64,
    /// Attempts per delivery step before the letter is IKKE_LEVERT.
    pub max_attempts: u32,
    /// Paper fallback after this long instead of working days (tests, the crash test).
    pub paper_after: Option<Duration>,
    /// How long a claim on a notice holds before another run may take it over (the job lease).
    pub claim_timeout: Duration,
}

impl Default for PostConfig {
    fn default() -> Self {
        Self {
            orgnr: HashMap::new(),
            public_url: HashMap::new(),
            mail_domain: "allmenning.invalid".to_owned(),
            paper_after_working_days: 2,
            print_interval: Duration::from_secs(24 * 3600),
            receipts_interval: Duration::from_secs(3600),
            poll_interval: Duration::from_secs(600),
            max_polls: 200,
            max_document_bytes: 20 * 1024 * 1024,
            max_attempts: 8,
            paper_after: None,
            claim_timeout: Duration::from_secs(300),
        }
    }
}

/// Why a letter was not taken.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// A field is wrong; the text names it.
    #[error("{0}")]
    Invalid(String),
    /// A document is not a usable PDF; the text says why.
    #[error("document {index}: {reason}")]
    Document {
        /// Which (0 = the main document).
        index: usize,
        /// Why.
        reason: String,
    },
    /// The template's fields are wrong, or the letter could not be rendered.
    #[error("template: {0}")]
    Template(String),
    /// The recipient is not in the register.
    #[error("the recipient is not in {0}")]
    UnknownRecipient(&'static str),
    /// No such letter.
    #[error("no such letter")]
    NotFound,
    /// A register failed.
    #[error("register: {0}")]
    Register(#[from] registers::RegisterError),
    /// The archive failed or refused.
    #[error("archive: {0}")]
    Archive(#[from] archive::ArchiveError),
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

/// Who a letter is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A person.
    Person(Fnr),
    /// An organisation.
    Organisation(OrgNr),
}

/// Who sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// Stable id: `klient:{client_id}`, `ansatt:{employee}`, `system:{name}`.
    pub id: String,
    /// The name shown in the archive.
    pub name: String,
}

/// A document to send: a PDF.
#[derive(Clone)]
pub struct Document {
    /// Its title.
    pub tittel: String,
    /// The PDF.
    pub pdf: Bytes,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document").field("tittel", &self.tittel).field("pdf", &self.pdf.len()).finish()
    }
}

/// A letter to send.
#[derive(Debug, Clone)]
pub struct NewLetter {
    /// Who sends.
    pub sender: Sender,
    /// The sender's reference: sending again with the same one gives the first letter back.
    pub external_ref: Option<String>,
    /// To whom.
    pub recipient: Recipient,
    /// The kind (`vedtak`, `kvittering`, `informasjon`, `paaminnelse`, `fritt`, or `pdf`).
    pub kind: String,
    /// The title (shown in the inbox and the archive; no sensitive data for a mailbox).
    pub title: String,
    /// The sending unit.
    pub sender_unit: String,
    /// The main document first, then attachments.
    pub documents: Vec<Document>,
    /// Never on paper.
    pub digital_only: bool,
    /// Security level needed to open it: 3 or 4.
    pub security_level: u8,
    /// The recipient may answer.
    pub reply_allowed: bool,
    /// The saksmappe (systemID) it belongs to; a new one is made when `None`.
    pub case: Option<String>,
    /// The incoming journalpost (systemID) it answers; written off when it is sent.
    pub answers: Option<String>,
    /// The language, when the sender rendered it already; otherwise the recipient's.
    pub language: Option<Language>,
}

/// A letter made from one of the templates (`render`): the PDF is rendered as the letter is
/// accepted, in the recipient's language, with the case reference it is journaled under.
#[derive(Debug, Clone)]
pub struct TemplateContent {
    /// Which template.
    pub kind: render::LetterKind,
    /// Its fields.
    pub fields: std::collections::BTreeMap<String, String>,
    /// Free paragraphs after the template's text.
    pub paragraphs: Vec<String>,
}

/// What the registers told about a recipient, for a sender that renders the letter itself.
#[derive(Debug, Clone)]
pub struct ResolvedRecipient {
    /// The name.
    pub name: String,
    /// The address lines for a letter's recipient block; `None` when protected or unknown.
    pub address_lines: Option<Vec<String>>,
    /// The language from KRR, bokmål when unknown.
    pub language: Language,
    facts: Facts,
}

/// A letter accepted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sent {
    /// The letter's id.
    pub id: String,
    /// Its status now.
    pub status: Status,
    /// Its channel.
    pub channel: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// The outgoing journalpost's registreringsID.
    pub registrerings_id: Option<String>,
    /// False when the external reference was seen before and this is the first letter.
    pub created: bool,
}

impl Sent {
    fn of(row: &LetterRow, created: bool) -> Self {
        Sent {
            id: row.id.clone(),
            status: row.status(),
            channel: row.channel.clone(),
            reason: row.reason.clone(),
            registrerings_id: row.registrerings_id.clone(),
            created,
        }
    }
}

/// Digital post for every municipality of the deployment.
#[derive(Debug, Clone)]
pub struct Post {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    noark: Noark,
    registers: Registers,
    channels: Channels,
    config: PostConfig,
    renderer: std::sync::OnceLock<Arc<render::Renderer>>,
}

fn caller() -> Result<Caller, PostError> {
    Ok(Caller::system("post", PURPOSE, LEGAL_BASIS)?)
}

fn transient(error: impl std::fmt::Display) -> String {
    error.to_string()
}

impl Post {
    /// The engine over its database, archive, registers and channels.
    pub fn new(db: Db, noark: Noark, registers: Registers, channels: Channels, config: PostConfig) -> Self {
        Self { inner: Arc::new(Inner { db, noark, registers, channels, config, renderer: std::sync::OnceLock::new() }) }
    }

    /// With a renderer of the municipality's own templates (the built-in ones otherwise).
    pub fn with_renderer(self, renderer: render::Renderer) -> Self {
        let _ = self.inner.renderer.set(Arc::new(renderer));
        self
    }

    /// The renderer: the one given, or the built-in templates, made on first use.
    pub fn renderer(&self) -> Result<Arc<render::Renderer>, PostError> {
        if let Some(renderer) = self.inner.renderer.get() {
            return Ok(renderer.clone());
        }
        let renderer = Arc::new(render::Renderer::new().map_err(|e| PostError::Template(e.to_string()))?);
        Ok(self.inner.renderer.get_or_init(|| renderer).clone())
    }

    /// The configuration.
    pub fn config(&self) -> &PostConfig {
        &self.inner.config
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The archive the letters are journaled in.
    pub fn archive(&self) -> &Noark {
        &self.inner.noark
    }

    /// Looks the recipient up in the registers (logged with post's purpose and legal basis).
    pub async fn resolve(&self, recipient: &Recipient) -> Result<ResolvedRecipient, PostError> {
        let caller = caller()?;
        let registers = &self.inner.registers;
        match recipient {
            Recipient::Person(fnr) => {
                let person =
                    registers.person(&caller, fnr).await?.ok_or(PostError::UnknownRecipient("Folkeregisteret"))?;
                let contact = registers.contacts(&caller, &[*fnr]).await?.into_iter().next();
                let language = contact.as_ref().and_then(|c| c.language).unwrap_or_default();
                let krr = contact.map(|c| Krr {
                    reserved: c.reserved,
                    active: c.status == registers::model::ContactStatus::Aktiv,
                    mailbox: c.mailbox.is_some(),
                    notice: if c.can_be_notified {
                        Notice { email: c.email, sms: c.mobile }
                    } else {
                        Notice::default()
                    },
                });
                let (protected, address) = person_address(&person);
                Ok(ResolvedRecipient {
                    name: person.name.to_string(),
                    address_lines: address.clone(),
                    language,
                    facts: Facts::Person { krr, protected_address: protected, has_postal_address: address.is_some() },
                })
            }
            Recipient::Organisation(orgnr) => {
                let organisation = registers
                    .organisation(&caller, orgnr)
                    .await?
                    .ok_or(PostError::UnknownRecipient("Enhetsregisteret"))?;
                let notice = self.leader_notice(&caller, &organisation).await?;
                let address = organisation_address(&organisation);
                Ok(ResolvedRecipient {
                    name: organisation.name.clone(),
                    address_lines: address.clone(),
                    language: Language::Bokmal,
                    facts: Facts::Organisation { has_postal_address: address.is_some(), notice },
                })
            }
        }
    }

    async fn leader_notice(&self, caller: &Caller, organisation: &Organisation) -> Result<Notice, PostError> {
        let leader =
            organisation.roles.iter().find(|(role, _)| *role == OrganisationRole::DagligLeder).map(|(_, fnr)| *fnr);
        let Some(leader) = leader else { return Ok(Notice::default()) };
        let contact = self.inner.registers.contacts(caller, &[leader]).await?.into_iter().next();
        Ok(contact
            .filter(|c| c.can_be_notified && c.status == registers::model::ContactStatus::Aktiv)
            .map(|c| Notice { email: c.email, sms: c.mobile })
            .unwrap_or_default())
    }

    /// The letter the sender sent earlier with this external reference, if any.
    pub async fn by_external_ref(
        &self,
        k: Kommunenummer,
        sender: &str,
        external_ref: &str,
    ) -> Result<Option<LetterRow>, PostError> {
        Ok(self
            .inner
            .db
            .municipal(k)
            .fetch_optional::<LetterRow>(
                &format!(
                    "SELECT {} FROM post_letters WHERE kommunenummer = $1 AND sender = $2 AND external_ref = $3",
                    letters::COLUMNS
                ),
                &params![sender, external_ref],
            )
            .await?)
    }

    /// Checks, journals and routes a letter in one transaction, and queues its delivery.
    /// Sending again with the same external reference gives the first letter back.
    pub async fn send(&self, k: Kommunenummer, letter: NewLetter) -> Result<Sent, PostError> {
        self.validate(&letter)?;
        if let Some(reference) = &letter.external_ref
            && let Some(existing) = self.by_external_ref(k, &letter.sender.id, reference).await?
        {
            return Ok(Sent::of(&existing, false));
        }
        let mut pages = Vec::with_capacity(letter.documents.len());
        for (index, document) in letter.documents.iter().enumerate() {
            pages.push(
                pdf::check(&document.pdf, self.inner.config.max_document_bytes)
                    .map_err(|reason| PostError::Document { index, reason })?,
            );
        }
        let recipient = self.resolve(&letter.recipient).await?;
        self.accept(k, letter, recipient, pages, None).await
    }

    /// Renders a letter from a template and sends it as [`Post::send`] does; `letter.documents`
    /// are its attachments (none is fine). Unknown or missing fields are refused before anything
    /// is stored.
    pub async fn send_template(
        &self,
        k: Kommunenummer,
        mut letter: NewLetter,
        content: TemplateContent,
    ) -> Result<Sent, PostError> {
        letter.kind = content.kind.as_str().to_owned();
        let renderer = self.renderer()?;
        renderer.template(content.kind).check(&content.fields).map_err(|e| PostError::Template(e.to_string()))?;
        if content.paragraphs.len() > 200 || content.paragraphs.iter().any(|p| p.chars().count() > 20_000) {
            return Err(PostError::Invalid("at most 200 paragraphs of at most 20,000 characters".to_owned()));
        }
        self.validate_with(&letter, false)?;
        if let Some(reference) = &letter.external_ref
            && let Some(existing) = self.by_external_ref(k, &letter.sender.id, reference).await?
        {
            return Ok(Sent::of(&existing, false));
        }
        let mut pages = Vec::with_capacity(letter.documents.len());
        for (index, document) in letter.documents.iter().enumerate() {
            pages.push(
                pdf::check(&document.pdf, self.inner.config.max_document_bytes)
                    .map_err(|reason| PostError::Document { index: index + 1, reason })?,
            );
        }
        let recipient = self.resolve(&letter.recipient).await?;
        self.accept(k, letter, recipient, pages, Some(content)).await
    }

    fn validate(&self, letter: &NewLetter) -> Result<(), PostError> {
        self.validate_with(letter, true)
    }

    fn validate_with(&self, letter: &NewLetter, needs_document: bool) -> Result<(), PostError> {
        let text = |value: &str, field: &str, max: usize| {
            let value = value.trim();
            if value.is_empty() {
                Err(PostError::Invalid(format!("{field} is empty")))
            } else if value.chars().count() > max {
                Err(PostError::Invalid(format!("{field} is longer than {max} characters")))
            } else if value.chars().any(char::is_control) {
                Err(PostError::Invalid(format!("{field} holds control characters")))
            } else {
                Ok(())
            }
        };
        text(&letter.title, "title", 200)?;
        text(&letter.sender_unit, "sender unit", 200)?;
        text(&letter.kind, "kind", 40)?;
        if let Some(reference) = &letter.external_ref {
            text(reference, "external reference", 200)?;
        }
        if !matches!(letter.security_level, 3 | 4) {
            return Err(PostError::Invalid("security level must be 3 or 4".to_owned()));
        }
        if needs_document && letter.documents.is_empty() {
            return Err(PostError::Invalid("a letter needs a main document".to_owned()));
        }
        if letter.documents.len() > 20 {
            return Err(PostError::Invalid("a letter takes at most 20 documents".to_owned()));
        }
        for document in &letter.documents {
            text(&document.tittel, "document title", 200)?;
        }
        Ok(())
    }

    /// Accepts a letter whose recipient is resolved and whose documents are checked PDFs
    /// (`pages` per document).
    async fn accept(
        &self,
        k: Kommunenummer,
        letter: NewLetter,
        recipient: ResolvedRecipient,
        mut pages: Vec<u32>,
        template: Option<TemplateContent>,
    ) -> Result<Sent, PostError> {
        let inner = &self.inner;
        let id = uuid::Uuid::now_v7().to_string();
        let now = Timestamp::now();
        let language = letter.language.unwrap_or(recipient.language);
        let (route, reason) = routing::route(
            &recipient.facts,
            routing::Options {
                digital_only: letter.digital_only,
                no_mailbox_channel: !inner.channels.mailbox.is_configured(),
            },
        );
        let (recipient_kind, recipient_id) = match &letter.recipient {
            Recipient::Person(fnr) => ("person", fnr.as_digits().to_owned()),
            Recipient::Organisation(orgnr) => ("organisasjon", orgnr.as_digits().to_owned()),
        };
        // A template letter carries its case reference; a given case's mappeID is read first.
        let given_mappe_id = match (&letter.case, &template) {
            (Some(case), Some(_)) => {
                Some(inner.noark.get(k, case).await?.text("mappeID").unwrap_or_default().to_owned())
            }
            _ => None,
        };
        let mut tx = inner.db.begin().await?;
        let inserted = tx
            .municipal(k)
            .execute(
                &format!(
                    "INSERT INTO post_letters (kommunenummer, {}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
                     $12, $13, $14, $15, NULL, NULL, $16, '[]', NULL, NULL, NULL, $17, NULL, NULL, NULL, NULL, $18, $18, $19) \
                     ON CONFLICT (kommunenummer, sender, external_ref) DO NOTHING",
                    letters::COLUMNS
                ),
                &params![
                    id.as_str(),
                    letter.sender.id.as_str(),
                    letter.external_ref.clone(),
                    recipient_kind,
                    recipient_id.as_str(),
                    recipient.name.as_str(),
                    letter.kind.as_str(),
                    letter.title.trim(),
                    language.tag(),
                    letter.sender_unit.trim(),
                    letter.digital_only,
                    i64::from(letter.security_level),
                    letter.reply_allowed,
                    Status::Mottatt.as_str(),
                    i64::from(pages.first().copied().unwrap_or(1)),
                    letter.answers.clone(),
                    now,
                    false,
                ],
            )
            .await?;
        if inserted == 0 {
            // The same external reference, sent at the same moment by another request.
            tx.rollback().await?;
            let reference = letter.external_ref.as_deref().unwrap_or_default();
            let existing = self.by_external_ref(k, &letter.sender.id, reference).await?.ok_or(PostError::NotFound)?;
            return Ok(Sent::of(&existing, false));
        }
        letters::log(&mut tx, k, &id, Status::Mottatt, None, now).await?;

        // The archive: the saksmappe, the outgoing journalpost with the exact PDFs, the write-off.
        let actor = archive::Actor { id: letter.sender.id.clone(), name: letter.sender.name.clone() };
        let (case, mappe_id) = match &letter.case {
            Some(case) => (case.clone(), given_mappe_id.unwrap_or_default()),
            None => {
                let party = match &letter.recipient {
                    Recipient::Person(fnr) => Party::person(recipient.name.clone()).with_identifier(fnr.as_digits()),
                    Recipient::Organisation(orgnr) => {
                        Party::enhet(recipient.name.clone()).with_identifier(orgnr.as_digits())
                    }
                };
                let created = inner
                    .noark
                    .create_case(
                        &mut tx,
                        k,
                        &actor,
                        NewCase {
                            tittel: letter.title.trim().to_owned(),
                            offentlig_tittel: Some(public_title(&letter)),
                            administrativ_enhet: letter.sender_unit.trim().to_owned(),
                            saksansvarlig: letter.sender.name.clone(),
                            arkivdel: None,
                            klasse: None,
                            klasse_id: None,
                            parter: vec![party],
                            screening: None,
                        },
                    )
                    .await?;
                (created.system_id, created.mappe_id)
            }
        };
        let correspondent = match &letter.recipient {
            Recipient::Person(fnr) => Correspondent::person(recipient.name.clone()).with_identifier(fnr.as_digits()),
            Recipient::Organisation(orgnr) => {
                Correspondent::enhet(recipient.name.clone()).with_identifier(orgnr.as_digits())
            }
        };
        let as_archived = |documents: &[Document], first_is_main: bool| -> Vec<NewDocument> {
            documents
                .iter()
                .enumerate()
                .map(|(index, document)| NewDocument {
                    tittel: document.tittel.trim().to_owned(),
                    role: if index == 0 && first_is_main { DocumentRole::Hoveddokument } else { DocumentRole::Vedlegg },
                    mime_type: "application/pdf".to_owned(),
                    format: None,
                    filnavn: Some(format!("{}.pdf", index + 1)),
                    bytes: document.pdf.clone(),
                })
                .collect()
        };
        // A template letter is rendered once its journalpost number is known, then attached.
        let documents = if template.is_some() { Vec::new() } else { as_archived(&letter.documents, true) };
        let journaled = Archive::journal(
            &inner.noark,
            &mut tx,
            k,
            &actor,
            NewJournalpost {
                case: case.clone(),
                kind: JournalpostType::Utgaaende,
                tittel: letter.title.trim().to_owned(),
                offentlig_tittel: Some(public_title(&letter)),
                dokumentets_dato: Some(time::OffsetDateTime::now_utc()),
                korrespondanseparter: vec![correspondent],
                documents,
                screening: None,
            },
        )
        .await?;
        if let Some(answered) = &letter.answers {
            inner
                .noark
                .write_off(
                    &mut tx,
                    k,
                    &actor,
                    answered,
                    WriteOff::Reply {
                        journalpost: journaled.system_id.clone(),
                        how: archive::Avskrivningsmaate::BesvartMedBrev,
                    },
                )
                .await?;
        }
        let (all_documents, references) = match &template {
            None => (letter.documents.clone(), journaled.documents.clone()),
            Some(content) => {
                let rendered =
                    self.render(k, &letter, &recipient, content, language, &mappe_id, journaled.journalpostnummer)?;
                pages.insert(0, rendered.pages);
                let mut all =
                    vec![Document { tittel: letter.title.trim().to_owned(), pdf: Bytes::from(rendered.bytes) }];
                all.extend(letter.documents.iter().cloned());
                let references = inner
                    .noark
                    .attach_documents_in(&mut tx, k, &actor, &journaled.system_id, as_archived(&all, true))
                    .await?;
                (all, references)
            }
        };
        let stored: Vec<StoredDocument> = all_documents
            .iter()
            .zip(&references)
            .zip(&pages)
            .map(|((document, reference), pages)| StoredDocument {
                tittel: document.tittel.trim().to_owned(),
                dokumentobjekt: reference.dokumentobjekt.clone(),
                pages: *pages,
                sha256: store::blobs::sha256_hex(&document.pdf),
                size: document.pdf.len() as u64,
            })
            .collect();
        let documents_json = serde_json::to_string(&stored).map_err(|e| StoreError::Malformed(e.to_string()))?;
        tx.municipal(k)
            .execute(
                "UPDATE post_letters SET channel = $3, reason = $4, case_id = $5, journalpost_id = $6, \
                 registrerings_id = $7, documents = $8, paper_fallback = $9, pages = $10 WHERE kommunenummer = $1 AND id = $2",
                &params![
                    id.as_str(),
                    route.channel(),
                    reason.code(),
                    case.as_str(),
                    journaled.system_id.as_str(),
                    journaled.registrerings_id.as_str(),
                    documents_json,
                    matches!(route, Route::Inbox { paper_fallback: true, .. }),
                    i64::from(pages.first().copied().unwrap_or(1)),
                ],
            )
            .await?;
        let row = letters::load_in(&mut tx, k, &id).await?.ok_or(PostError::NotFound)?;
        letters::set_status(&mut tx, k, &row, Status::Akseptert, Some(reason.code())).await?;
        let row = letters::load_in(&mut tx, k, &id).await?.ok_or(PostError::NotFound)?;
        match route {
            Route::Manual => {
                letters::set_status(&mut tx, k, &row, Status::ManueltHandtert, Some(reason.code())).await?;
                letters::add_task(&mut tx, k, &row, reason.code()).await?;
            }
            Route::Undeliverable => {
                letters::set_status(&mut tx, k, &row, Status::IkkeLevert, Some(reason.code())).await?;
                letters::add_task(&mut tx, k, &row, reason.code()).await?;
            }
            Route::DigitalMailbox | Route::Inbox { .. } => {
                tx.enqueue(&self.job(jobs::DELIVER, k, &id, format!("{}:{id}", jobs::DELIVER))).await?;
            }
            // Paper letters wait for the next print batch.
            Route::Paper => {}
        }
        let row = letters::load_in(&mut tx, k, &id).await?.ok_or(PostError::NotFound)?;
        tx.commit().await?;
        tracing::info!(letter = %id, channel = route.channel(), reason = reason.code(), "letter accepted");
        Ok(Sent::of(&row, true))
    }

    /// Renders a template letter with its recipient block (no address when it is protected)
    /// and its case reference.
    #[allow(clippy::too_many_arguments)]
    fn render(
        &self,
        k: Kommunenummer,
        letter: &NewLetter,
        recipient: &ResolvedRecipient,
        content: &TemplateContent,
        language: Language,
        mappe_id: &str,
        journalpostnummer: i64,
    ) -> Result<render::Pdf, PostError> {
        let renderer = self.renderer()?;
        renderer
            .render_letter(&render::Letter {
                kind: content.kind,
                language,
                municipality: render::Municipality { name: format!("{} kommune", k.navn()), coat_of_arms_svg: None },
                sender_unit: letter.sender_unit.trim().to_owned(),
                recipient: render::RecipientBlock {
                    name: recipient.name.clone(),
                    address_lines: recipient.address_lines.clone(),
                },
                date: kernel::time::today_in_norway(),
                case_ref: Some(render::CaseReference {
                    mappe_id: mappe_id.to_owned(),
                    journalpostnummer: Some(journalpostnummer),
                }),
                title: letter.title.trim().to_owned(),
                fields: content.fields.clone(),
                paragraphs: content.paragraphs.clone(),
            })
            .map_err(|e| PostError::Template(e.to_string()))
    }

    fn job(&self, kind: &str, k: Kommunenummer, letter: &str, key: String) -> NewJob {
        NewJob::new(kind, serde_json::json!({ "letter": letter }))
            .for_kommune(k)
            .idempotency_key(key)
            .max_attempts(self.inner.config.max_attempts)
    }

    /// A letter by id.
    pub async fn letter(&self, k: Kommunenummer, id: &str) -> Result<Option<LetterRow>, PostError> {
        Ok(self
            .inner
            .db
            .municipal(k)
            .fetch_optional::<LetterRow>(
                &format!("SELECT {} FROM post_letters WHERE kommunenummer = $1 AND id = $2", letters::COLUMNS),
                &params![id],
            )
            .await?)
    }

    /// A letter's history, oldest first.
    pub async fn history(&self, k: Kommunenummer, id: &str) -> Result<Vec<letters::StatusEntry>, PostError> {
        Ok(self
            .inner
            .db
            .municipal(k)
            .fetch_all::<letters::StatusEntry>(
                "SELECT status, reason, at FROM post_status_log WHERE kommunenummer = $1 AND letter_id = $2 ORDER BY seq",
                &params![id],
            )
            .await?)
    }

    /// The bytes of a letter's document (`index` 0 is the main document), from the archive.
    pub async fn document(&self, k: Kommunenummer, letter: &LetterRow, index: usize) -> Result<Bytes, PostError> {
        let documents = letter.documents();
        let document = documents.get(index).ok_or(PostError::NotFound)?;
        let (_, bytes) = self.inner.noark.file(k, &document.dokumentobjekt).await?.ok_or(PostError::NotFound)?;
        Ok(bytes)
    }

    /// Letters in the inboxes of `recipients` (fødselsnumre and organisasjonsnumre), unread
    /// first, newest first.
    pub async fn inbox(&self, k: Kommunenummer, recipients: &[String]) -> Result<Vec<LetterRow>, PostError> {
        let mut all = Vec::new();
        for recipient in recipients {
            all.extend(
                self.inner
                    .db
                    .municipal(k)
                    .fetch_all::<LetterRow>(
                        &format!(
                            "SELECT {} FROM post_letters WHERE kommunenummer = $1 AND recipient_id = $2 \
                             AND inbox_at IS NOT NULL",
                            letters::COLUMNS
                        ),
                        &params![recipient.as_str()],
                    )
                    .await?,
            );
        }
        all.sort_by_key(|l| (l.read_at.is_some(), std::cmp::Reverse(l.inbox_at)));
        Ok(all)
    }

    /// Records that the recipient opened the letter: LEST, which the sender sees. Only the
    /// first opening counts.
    pub async fn mark_read(&self, k: Kommunenummer, id: &str) -> Result<(), PostError> {
        let mut tx = self.inner.db.begin().await?;
        let letter = letters::load_in(&mut tx, k, id).await?.ok_or(PostError::NotFound)?;
        if letter.read_at.is_none() {
            tx.municipal(k)
                .execute(
                    "UPDATE post_letters SET read_at = $3 WHERE kommunenummer = $1 AND id = $2",
                    &params![id, Timestamp::now()],
                )
                .await?;
            if letter.status() != Status::Printet {
                letters::set_status(&mut tx, k, &letter, Status::Lest, None).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The open tasks of the municipality (manual handling, failed deliveries), oldest first.
    pub async fn tasks(&self, k: Kommunenummer) -> Result<Vec<Task>, PostError> {
        Ok(self
            .inner
            .db
            .municipal(k)
            .fetch_all::<Task>(
                "SELECT t.id, t.letter_id, t.unit, t.reason, t.created_at, l.title FROM post_tasks t \
                 JOIN post_letters l ON l.kommunenummer = t.kommunenummer AND l.id = t.letter_id \
                 WHERE t.kommunenummer = $1 AND t.done_at IS NULL ORDER BY t.created_at",
                &[],
            )
            .await?)
    }

    /// The letters a sender sent, newest first (at most `limit`).
    pub async fn sent_by(&self, k: Kommunenummer, sender: &str, limit: i64) -> Result<Vec<LetterRow>, PostError> {
        Ok(self
            .inner
            .db
            .municipal(k)
            .fetch_all::<LetterRow>(
                &format!(
                    "SELECT {} FROM post_letters WHERE kommunenummer = $1 AND sender = $2 ORDER BY created_at DESC, id DESC LIMIT $3",
                    letters::COLUMNS
                ),
                &params![sender, limit],
            )
            .await?)
    }

    /// Registers the engine's job handlers.
    pub fn register_jobs(&self, handlers: &mut Handlers) {
        for kind in [jobs::DELIVER, jobs::POLL, jobs::FALLBACK, jobs::PRINT, jobs::RECEIPTS] {
            let post = self.clone();
            handlers.register(kind, move |job| {
                let post = post.clone();
                async move { post.run(job).await }
            });
        }
    }

    /// Enqueues the periodic jobs (print batches, receipts) for every municipality configured,
    /// once however many instances ask.
    pub async fn schedule(&self, municipalities: &[Kommunenummer]) -> Result<(), StoreError> {
        for k in municipalities {
            for (kind, every) in
                [(jobs::PRINT, self.inner.config.print_interval), (jobs::RECEIPTS, self.inner.config.receipts_interval)]
            {
                // The first run at the start of the next interval (a day's batch at midnight).
                let next = Timestamp::now().plus_millis(i64::try_from(every.as_millis()).unwrap_or(i64::MAX));
                self.inner.db.enqueue(&periodic(kind, *k, every, next)).await?;
            }
        }
        Ok(())
    }

    async fn run(&self, job: ClaimedJob) -> Result<(), String> {
        let k = job.kommunenummer.ok_or("a post job needs a municipality")?;
        let letter = job.payload.get("letter").and_then(|v| v.as_str()).map(str::to_owned);
        let last_attempt = job.attempt >= job.max_attempts;
        let outcome = match (job.kind.as_str(), &letter) {
            (jobs::PRINT, _) => self.print(k).await.map_err(transient),
            (jobs::RECEIPTS, _) => self.read_receipts(k).await.map_err(transient),
            (jobs::DELIVER, Some(id)) => self.deliver(k, id).await,
            (jobs::POLL, Some(id)) => self.poll(k, id, &job).await,
            (jobs::FALLBACK, Some(id)) => self.fallback(k, id).await.map_err(transient),
            _ => Err(format!("job {} has no letter", job.kind)),
        };
        if matches!(job.kind.as_str(), jobs::PRINT | jobs::RECEIPTS) {
            // The next run, whatever happened to this one.
            let every = if job.kind == jobs::PRINT {
                self.inner.config.print_interval
            } else {
                self.inner.config.receipts_interval
            };
            let next = Timestamp::now().plus_millis(i64::try_from(every.as_millis()).unwrap_or(i64::MAX));
            self.inner.db.enqueue(&periodic(&job.kind, k, every, next)).await.map_err(transient)?;
            return outcome;
        }
        match (outcome, letter) {
            (Err(error), Some(id)) if last_attempt => {
                // Out of attempts: the letter is not delivered, and the unit gets a task.
                self.give_up(k, &id, &format!("levering feilet etter {} forsøk: {error}", job.attempt))
                    .await
                    .map_err(transient)?;
                Ok(())
            }
            (outcome, _) => outcome,
        }
    }

    /// A step ran out of attempts. A letter that had not reached the recipient anywhere is not
    /// delivered; one already in the inbox or the mailbox stays there (its paper fallback still
    /// follows), and only the failed notice or status question is left as a task.
    async fn give_up(&self, k: Kommunenummer, id: &str, reason: &str) -> Result<(), PostError> {
        let mut tx = self.inner.db.begin().await?;
        if let Some(letter) = letters::load_in(&mut tx, k, id).await? {
            if letter.status() == Status::Akseptert {
                if letters::set_status(&mut tx, k, &letter, Status::IkkeLevert, Some(reason)).await? {
                    letters::add_task(&mut tx, k, &letter, "ikke_levert").await?;
                }
                tracing::warn!(letter = %id, "letter not delivered; a task is left for the sending unit");
            } else {
                letters::add_task(&mut tx, k, &letter, "oppfolging_feilet").await?;
                tracing::warn!(letter = %id, "a follow-up step of a delivered letter failed; a task is left");
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks the letter's journalpost as dispatched (journalstatus `E`, Ekspedert), before the
    /// letter's own status says so; doing it again changes nothing.
    async fn expedite(&self, k: Kommunenummer, letter: &LetterRow) -> Result<(), PostError> {
        let Some(journalpost) = &letter.journalpost_id else { return Ok(()) };
        let current = self.inner.noark.get(k, journalpost).await?;
        if current.kode("journalstatus") == Some("E") {
            return Ok(());
        }
        let actor = archive::Actor { id: "system:post".to_owned(), name: "Digital post".to_owned() };
        self.inner
            .noark
            .patch(k, journalpost, &serde_json::json!({"journalstatus": {"kode": "E"}}), None, &actor)
            .await?;
        Ok(())
    }

    /// One step along the letter's channel.
    async fn deliver(&self, k: Kommunenummer, id: &str) -> Result<(), String> {
        let letter = self.letter(k, id).await.map_err(transient)?.ok_or("no such letter")?;
        match (letter.channel.as_deref(), letter.status()) {
            (Some("digital_postkasse"), Status::Akseptert) => self.send_to_mailbox(k, &letter).await,
            (Some("innboks"), Status::Akseptert) => self.put_in_inbox(k, &letter).await,
            // In the inbox: the notices go out (each once) even when the paper deadline came
            // first and the letter is on its way to print.
            (_, status) if letter.inbox_at.is_some() && status != Status::Lest => self.put_in_inbox(k, &letter).await,
            // Already further along (a repeated job), or waiting for a print batch.
            _ => Ok(()),
        }
    }

    async fn send_to_mailbox(&self, k: Kommunenummer, letter: &LetterRow) -> Result<(), String> {
        let sender_orgnr = self
            .inner
            .config
            .orgnr
            .get(&k)
            .cloned()
            .ok_or_else(|| format!("no organisasjonsnummer is configured for municipality {k}"))?;
        let letter_uuid = uuid::Uuid::parse_str(&letter.id).map_err(transient)?;
        let mut files = Vec::new();
        for (index, document) in letter.documents().iter().enumerate() {
            let bytes = self.document(k, letter, index).await.map_err(transient)?;
            files.push((format!("{}.pdf", index + 1), document.tittel.clone(), bytes));
        }
        let mut files = files.into_iter();
        let (filename, _, pdf) = files.next().ok_or("the letter has no document")?;
        let message = MailboxLetter {
            message_id: letter_uuid,
            conversation_id: letter_uuid,
            sender_orgnr,
            recipient: letter.recipient_id.clone(),
            title: letter.title.clone(),
            language: letter.language.clone(),
            security_level: u8::try_from(letter.security_level).unwrap_or(4),
            pdf,
            filename,
            attachments: files.map(|(name, _, bytes)| (name, bytes)).collect(),
        };
        match self.inner.channels.mailbox.send(&message).await {
            Ok(()) => {
                self.expedite(k, letter).await.map_err(transient)?;
                let mut tx = self.inner.db.begin().await.map_err(transient)?;
                let current = letters::load_in(&mut tx, k, &letter.id).await.map_err(transient)?.ok_or("gone")?;
                letters::set_status(&mut tx, k, &current, Status::SendtSdp, None).await.map_err(transient)?;
                tx.enqueue(&self.poll_job(k, &letter.id, 0)).await.map_err(transient)?;
                tx.commit().await.map_err(transient)?;
                Ok(())
            }
            Err(ChannelError::Permanent(reason)) => self
                .mailbox_failed(k, &letter.id, &format!("den digitale postkassen avviste brevet: {reason}"))
                .await
                .map_err(transient),
            Err(error) => Err(error.to_string()),
        }
    }

    fn poll_job(&self, k: Kommunenummer, id: &str, polls: u32) -> NewJob {
        let mut job = NewJob::new(jobs::POLL, serde_json::json!({ "letter": id, "polls": polls }))
            .for_kommune(k)
            .idempotency_key(format!("{}:{id}:{polls}", jobs::POLL))
            .max_attempts(self.inner.config.max_attempts);
        job.run_at = Some(
            Timestamp::now().plus_millis(i64::try_from(self.inner.config.poll_interval.as_millis()).unwrap_or(60_000)),
        );
        job
    }

    /// A mailbox delivery failed for good: paper, unless the letter is digital only.
    async fn mailbox_failed(&self, k: Kommunenummer, id: &str, reason: &str) -> Result<(), PostError> {
        let mut tx = self.inner.db.begin().await?;
        let letter = letters::load_in(&mut tx, k, id).await?.ok_or(PostError::NotFound)?;
        if letter.digital_only {
            if letters::set_status(&mut tx, k, &letter, Status::IkkeLevert, Some(reason)).await? {
                letters::add_task(&mut tx, k, &letter, "ikke_levert").await?;
            }
        } else {
            to_paper(&mut tx, k, &letter, reason).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn poll(&self, k: Kommunenummer, id: &str, job: &ClaimedJob) -> Result<(), String> {
        let polls = job.payload.get("polls").and_then(serde_json::Value::as_u64).unwrap_or(0);
        let polls = u32::try_from(polls).unwrap_or(u32::MAX);
        let letter = self.letter(k, id).await.map_err(transient)?.ok_or("no such letter")?;
        if !matches!(letter.status(), Status::SendtSdp | Status::LevertSdp) {
            return Ok(());
        }
        let uuid = uuid::Uuid::parse_str(id).map_err(transient)?;
        let status = self.inner.channels.mailbox.status(uuid).await.map_err(|e| e.to_string())?;
        let mut tx = self.inner.db.begin().await.map_err(transient)?;
        let current = letters::load_in(&mut tx, k, id).await.map_err(transient)?.ok_or("gone")?;
        let again = match status {
            MailboxStatus::Read => {
                letters::set_status(&mut tx, k, &current, Status::Lest, None).await.map_err(transient)?;
                false
            }
            // Delivered is as far as the mailbox tells without an opening receipt (which asks
            // the resident for an extra step, so it is not asked for): polling stops here.
            MailboxStatus::Delivered => {
                letters::set_status(&mut tx, k, &current, Status::LevertSdp, None).await.map_err(transient)?;
                false
            }
            MailboxStatus::InTransit => true,
            MailboxStatus::Unknown => {
                // The integrasjonspunkt lost it: send again (the same message id).
                tx.commit().await.map_err(transient)?;
                return self.send_to_mailbox_again(k, &current, polls).await;
            }
            MailboxStatus::Failed(reason) => {
                tx.commit().await.map_err(transient)?;
                return self
                    .mailbox_failed(k, id, &format!("den digitale postkassen meldte feil: {reason}"))
                    .await
                    .map_err(transient);
            }
        };
        if again && polls + 1 < self.inner.config.max_polls {
            tx.enqueue(&self.poll_job(k, id, polls + 1)).await.map_err(transient)?;
        }
        tx.commit().await.map_err(transient)?;
        Ok(())
    }

    async fn send_to_mailbox_again(&self, k: Kommunenummer, letter: &LetterRow, polls: u32) -> Result<(), String> {
        // `send_to_mailbox` moves AKSEPTERT → SENDT_SDP, a no-op here; only the poll follows.
        self.send_to_mailbox(k, letter).await?;
        let mut tx = self.inner.db.begin().await.map_err(transient)?;
        tx.enqueue(&self.poll_job(k, &letter.id, polls + 1)).await.map_err(transient)?;
        tx.commit().await.map_err(transient)?;
        Ok(())
    }

    async fn put_in_inbox(&self, k: Kommunenummer, letter: &LetterRow) -> Result<(), String> {
        // 1. In the inbox, with the paper deadline, in one transaction.
        if letter.status() == Status::Akseptert {
            self.expedite(k, letter).await.map_err(transient)?;
            let now = Timestamp::now();
            let due = self.paper_due(now);
            let mut tx = self.inner.db.begin().await.map_err(transient)?;
            let current = letters::load_in(&mut tx, k, &letter.id).await.map_err(transient)?.ok_or("gone")?;
            let paper = current.paper_fallback && !current.digital_only;
            tx.municipal(k)
                .execute(
                    "UPDATE post_letters SET inbox_at = $3, paper_due_at = $4 WHERE kommunenummer = $1 AND id = $2",
                    &params![letter.id.as_str(), now, paper.then_some(due.millis())],
                )
                .await
                .map_err(transient)?;
            letters::set_status(&mut tx, k, &current, Status::SendtDigitalt, None).await.map_err(transient)?;
            if paper {
                let mut job = self.job(jobs::FALLBACK, k, &letter.id, format!("{}:{}", jobs::FALLBACK, letter.id));
                job.run_at = Some(due);
                tx.enqueue(&job).await.map_err(transient)?;
            }
            tx.commit().await.map_err(transient)?;
        }
        // 2. The notices, each once (the deliveries table remembers what went out).
        let recipient = match letter.recipient_kind.as_str() {
            "person" => Recipient::Person(Fnr::parse(&letter.recipient_id).map_err(transient)?),
            _ => Recipient::Organisation(OrgNr::parse(&letter.recipient_id).map_err(transient)?),
        };
        let resolved = self.resolve(&recipient).await.map_err(transient)?;
        let notice = match &resolved.facts {
            Facts::Person { krr: Some(krr), .. } => krr.notice.clone(),
            Facts::Organisation { notice, .. } => notice.clone(),
            Facts::Person { krr: None, .. } => Notice::default(),
        };
        let mut notified = false;
        if let Some(address) = &notice.email {
            notified |= self.notify_email(k, letter, address).await?;
        }
        if let Some(number) = &notice.sms {
            notified |= self.notify_sms(k, letter, number).await?;
        }
        let mut tx = self.inner.db.begin().await.map_err(transient)?;
        let current = letters::load_in(&mut tx, k, &letter.id).await.map_err(transient)?.ok_or("gone")?;
        if notified && current.status() == Status::SendtDigitalt {
            letters::set_status(&mut tx, k, &current, Status::Varslet, None).await.map_err(transient)?;
        }
        tx.commit().await.map_err(transient)?;
        Ok(())
    }

    fn paper_due(&self, now: Timestamp) -> Timestamp {
        if let Some(after) = self.inner.config.paper_after {
            return now.plus_millis(i64::try_from(after.as_millis()).unwrap_or(i64::MAX));
        }
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now.millis()) * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let local = kernel::time::in_norway(at);
        let due_day = kernel::calendar::add_working_days(local.date(), self.inner.config.paper_after_working_days)
            .unwrap_or(local.date());
        let due = local.replace_date(due_day);
        Timestamp(i64::try_from(due.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
    }

    /// Claims a delivery key before the channel is called, so that two runs of the same step
    /// (a job taken over after its lease ran out while the first run still works) do not both
    /// send. A claim older than `claim_timeout` belonged to a run that died and is taken over.
    async fn claim(&self, k: Kommunenummer, key: &str, letter: &str, channel: &str) -> Result<Claim, String> {
        let now = Timestamp::now();
        let stale = now.plus_millis(-i64::try_from(self.inner.config.claim_timeout.as_millis()).unwrap_or(i64::MAX));
        let db = self.inner.db.municipal(k);
        let claimed = db
            .execute(
                "INSERT INTO post_deliveries (kommunenummer, key, letter_id, channel, done, at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (kommunenummer, key) DO UPDATE SET at = excluded.at \
                 WHERE post_deliveries.done = $5 AND post_deliveries.at < $7",
                &params![key, letter, channel, false, now, stale],
            )
            .await
            .map_err(transient)?;
        if claimed == 1 {
            return Ok(Claim::Mine);
        }
        let done = db
            .fetch_optional::<(bool,)>(
                "SELECT done FROM post_deliveries WHERE kommunenummer = $1 AND key = $2",
                &params![key],
            )
            .await
            .map_err(transient)?
            .is_some_and(|(done,)| done);
        Ok(if done { Claim::Done } else { Claim::Busy })
    }

    async fn record_delivery(&self, k: Kommunenummer, key: &str) -> Result<(), String> {
        self.inner
            .db
            .municipal(k)
            .execute(
                "UPDATE post_deliveries SET done = $3, at = $4 WHERE kommunenummer = $1 AND key = $2",
                &params![key, true, Timestamp::now()],
            )
            .await
            .map_err(transient)?;
        Ok(())
    }

    /// Gives a claim back after a failed call, so the retry need not wait for it to go stale.
    async fn release(&self, k: Kommunenummer, key: &str) {
        let released = self
            .inner
            .db
            .municipal(k)
            .execute(
                "DELETE FROM post_deliveries WHERE kommunenummer = $1 AND key = $2 AND done = $3",
                &params![key, false],
            )
            .await;
        if let Err(error) = released {
            tracing::warn!(%error, "a delivery claim was not given back; it goes stale instead");
        }
    }

    fn link(&self, k: Kommunenummer) -> String {
        let base = self.inner.config.public_url.get(&k).map_or("", String::as_str).trim_end_matches('/');
        format!("{base}/min-side/post")
    }

    async fn notify_email(&self, k: Kommunenummer, letter: &LetterRow, address: &str) -> Result<bool, String> {
        let key = format!("{}.epost", letter.id);
        let language = letter.language.parse::<Language>().unwrap_or_default();
        let (subject, body) = notice_text(language, k.navn(), &self.link(k));
        let email = Email {
            message_id: format!("{key}@{}", self.inner.config.mail_domain),
            to: address.to_owned(),
            subject,
            body,
            language: letter.language.clone(),
        };
        self.notify(k, letter, &key, "epost", self.inner.channels.mailer.send(&email)).await
    }

    async fn notify_sms(&self, k: Kommunenummer, letter: &LetterRow, number: &str) -> Result<bool, String> {
        let key = format!("{}.sms", letter.id);
        let language = letter.language.parse::<Language>().unwrap_or_default();
        let name = k.navn();
        let (_, body) = notice_text(language, name, &self.link(k));
        let sms = Sms {
            reference: key.clone(),
            to: e164(number),
            sender: name.chars().filter(char::is_ascii_alphanumeric).take(11).collect(),
            text: body,
        };
        self.notify(k, letter, &key, "sms", self.inner.channels.sms.send(&sms)).await
    }

    /// Sends one notice under its claim: true when it went out (now or before). A refused
    /// address is not worth retrying (the other notice, or paper, still follows); a transient
    /// failure gives the claim back and is retried. `send` is not polled unless the claim is
    /// this run's.
    async fn notify(
        &self,
        k: Kommunenummer,
        letter: &LetterRow,
        key: &str,
        channel: &str,
        send: impl Future<Output = Result<(), ChannelError>>,
    ) -> Result<bool, String> {
        match self.claim(k, key, &letter.id, channel).await? {
            Claim::Mine => {}
            Claim::Done => return Ok(true),
            Claim::Busy => return Err(format!("the notice {key} is being sent by another run")),
        }
        match send.await {
            Ok(()) => {
                self.record_delivery(k, key).await?;
                Ok(true)
            }
            Err(ChannelError::Permanent(reason)) => {
                self.record_delivery(k, key).await?;
                tracing::warn!(letter = %letter.id, channel, %reason, "notice refused");
                Ok(false)
            }
            Err(error) => {
                self.release(k, key).await;
                Err(error.to_string())
            }
        }
    }

    /// An inbox letter's time is up: on paper if still unread.
    async fn fallback(&self, k: Kommunenummer, id: &str) -> Result<(), PostError> {
        let mut tx = self.inner.db.begin().await?;
        let letter = letters::load_in(&mut tx, k, id).await?.ok_or(PostError::NotFound)?;
        if letter.read_at.is_none()
            && !letter.digital_only
            && matches!(letter.status(), Status::SendtDigitalt | Status::Varslet)
        {
            to_paper(&mut tx, k, &letter, "ikke_lest_innen_fristen").await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Makes a print batch of the letters waiting for paper and submits every batch not yet
    /// submitted (so a crash between the two submits it on the next run, under the same id).
    pub async fn print(&self, k: Kommunenummer) -> Result<(), PostError> {
        let inner = &self.inner;
        let mut tx = inner.db.begin().await?;
        let waiting = tx
            .municipal(k)
            .fetch_all::<(String,)>(
                "SELECT id FROM post_letters WHERE kommunenummer = $1 AND channel = 'papir' AND print_batch IS NULL \
                 AND status IN ('AKSEPTERT', 'SENDT_DIGITALT', 'VARSLET', 'SENDT_SDP', 'LEVERT_SDP') \
                 ORDER BY created_at, id LIMIT 10000",
                &[],
            )
            .await?;
        if !waiting.is_empty() {
            let batch = format!("{}-{}", today_in(Timestamp::now()), uuid::Uuid::now_v7().simple());
            tx.municipal(k)
                .execute(
                    "INSERT INTO post_print_batches (kommunenummer, id, created_at, submitted_at, lines) VALUES ($1, $2, $3, NULL, $4)",
                    &params![batch.as_str(), Timestamp::now(), i64::try_from(waiting.len()).unwrap_or(i64::MAX)],
                )
                .await?;
            for (id,) in &waiting {
                tx.municipal(k)
                    .execute(
                        "UPDATE post_letters SET print_batch = $3 WHERE kommunenummer = $1 AND id = $2",
                        &params![id.as_str(), batch.as_str()],
                    )
                    .await?;
            }
        }
        tx.commit().await?;
        let open = inner
            .db
            .municipal(k)
            .fetch_all::<(String,)>(
                "SELECT id FROM post_print_batches WHERE kommunenummer = $1 AND submitted_at IS NULL ORDER BY created_at",
                &[],
            )
            .await?;
        for (batch,) in open {
            self.submit_batch(k, &batch).await?;
        }
        Ok(())
    }

    async fn submit_batch(&self, k: Kommunenummer, batch: &str) -> Result<(), PostError> {
        let inner = &self.inner;
        let members = inner
            .db
            .municipal(k)
            .fetch_all::<LetterRow>(
                &format!(
                    "SELECT {} FROM post_letters WHERE kommunenummer = $1 AND print_batch = $2 ORDER BY id",
                    letters::COLUMNS
                ),
                &params![batch],
            )
            .await?;
        let caller = caller()?;
        let mut lines = Vec::new();
        let mut unprintable = Vec::new();
        for letter in &members {
            if letter.status().is_final() && letter.status() != Status::Printet {
                continue;
            }
            let address = match letter.recipient_kind.as_str() {
                "person" => {
                    let fnr = Fnr::parse(&letter.recipient_id).map_err(|e| PostError::Invalid(e.to_string()))?;
                    let person = inner.registers.person(&caller, &fnr).await?;
                    match person.as_ref().map(|p| (p.adressebeskyttelse.is_protected(), p.current_residence())) {
                        Some((false, Residence::Open(address))) => Some(address.clone()),
                        _ => None,
                    }
                }
                _ => {
                    let orgnr = OrgNr::parse(&letter.recipient_id).map_err(|e| PostError::Invalid(e.to_string()))?;
                    inner
                        .registers
                        .organisation(&caller, &orgnr)
                        .await?
                        .and_then(|o| o.postal_address.or(o.business_address))
                }
            };
            let Some(address) = address else {
                // A protected or vanished address is never printed.
                unprintable.push(letter.id.clone());
                continue;
            };
            let pdf = self.document(k, letter, 0).await?;
            let pages = u32::try_from(letter.pages).unwrap_or(1);
            let (lines_of_address, postnummer, poststed) = address_parts(&address);
            lines.push(PrintLine {
                letter_id: letter.id.clone(),
                name: letter.recipient_name.clone(),
                address_lines: lines_of_address,
                postnummer,
                poststed,
                land: "NO".to_owned(),
                pages,
                duplex: true,
                envelope: envelope_for(pages, true),
                pdf,
            });
        }
        inner.channels.print.submit(batch, &lines).await.map_err(|e| PostError::Invalid(e.to_string()))?;
        for letter in members.iter().filter(|l| !unprintable.contains(&l.id)) {
            self.expedite(k, letter).await?;
        }
        let mut tx = inner.db.begin().await?;
        for letter in &members {
            let Some(current) = letters::load_in(&mut tx, k, &letter.id).await? else { continue };
            if unprintable.contains(&letter.id) {
                if letters::set_status(
                    &mut tx,
                    k,
                    &current,
                    Status::ManueltHandtert,
                    Some(Reason::ProtectedAddress.code()),
                )
                .await?
                {
                    letters::add_task(&mut tx, k, &current, Reason::ProtectedAddress.code()).await?;
                }
            } else {
                letters::set_status(&mut tx, k, &current, Status::SendtPrint, None).await?;
            }
        }
        tx.municipal(k)
            .execute(
                "UPDATE post_print_batches SET submitted_at = $3 WHERE kommunenummer = $1 AND id = $2",
                &params![batch, Timestamp::now()],
            )
            .await?;
        tx.commit().await?;
        tracing::info!(batch, lines = lines.len(), "print batch submitted");
        Ok(())
    }

    /// Reads the print vendor's receipts: PRINTET, or IKKE_LEVERT with the vendor's reason.
    pub async fn read_receipts(&self, k: Kommunenummer) -> Result<(), PostError> {
        let files = self.inner.channels.print.receipts().await.map_err(|e| PostError::Invalid(e.to_string()))?;
        for (file, receipts) in files {
            let mut tx = self.inner.db.begin().await?;
            for receipt in receipts {
                let Some(letter) = letters::load_in(&mut tx, k, &receipt.letter_id).await? else { continue };
                if letter.print_batch.as_deref() != Some(receipt.batch_id.as_str()) {
                    continue;
                }
                if receipt.printed {
                    letters::set_status(&mut tx, k, &letter, Status::Printet, None).await?;
                } else {
                    let reason = format!("trykkeriet: {}", receipt.reason.as_deref().unwrap_or("ukjent feil"));
                    if letters::set_status(&mut tx, k, &letter, Status::IkkeLevert, Some(&reason)).await? {
                        letters::add_task(&mut tx, k, &letter, "ikke_levert").await?;
                    }
                }
            }
            tx.commit().await?;
            self.inner.channels.print.acknowledge(&file).await.map_err(|e| PostError::Invalid(e.to_string()))?;
        }
        Ok(())
    }
}

/// Who may call a channel for a delivery key.
enum Claim {
    /// This run.
    Mine,
    /// Nobody: it went out.
    Done,
    /// Another run, right now.
    Busy,
}

/// An open task for a sending unit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Task {
    /// Its id.
    pub id: String,
    /// The letter.
    pub letter_id: String,
    /// The unit that sent it.
    pub unit: String,
    /// Why (a reason code).
    pub reason: String,
    /// When.
    pub created_at: i64,
    /// The letter's title.
    pub title: String,
}

async fn to_paper(tx: &mut store::Tx, k: Kommunenummer, letter: &LetterRow, reason: &str) -> Result<(), StoreError> {
    tx.municipal(k)
        .execute(
            "UPDATE post_letters SET channel = 'papir', reason = $3 WHERE kommunenummer = $1 AND id = $2 AND print_batch IS NULL",
            &params![letter.id.as_str(), reason],
        )
        .await?;
    Ok(())
}

fn periodic(kind: &str, k: Kommunenummer, every: Duration, at: Timestamp) -> NewJob {
    let every = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(1);
    let number = at.millis() / every;
    let mut job = NewJob::new(kind, serde_json::json!({ "interval": number }))
        .for_kommune(k)
        .idempotency_key(format!("{kind}:{k}:{number}"));
    job.run_at = Some(Timestamp(number * every));
    job
}

fn today_in(now: Timestamp) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now.millis()) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let day = kernel::time::in_norway(at).date();
    format!("{}{:02}{:02}", day.year(), u8::from(day.month()), day.day())
}

/// The title the public journal shows: the title as given (it names no person; the
/// korrespondansepart is not in the public title).
fn public_title(letter: &NewLetter) -> String {
    letter.title.trim().to_owned()
}

fn person_address(person: &Person) -> (bool, Option<Vec<String>>) {
    if person.adressebeskyttelse.is_protected() {
        return (true, None);
    }
    match person.current_residence() {
        Residence::Open(address) => {
            let (mut lines, postnummer, poststed) = address_parts(address);
            lines.push(format!("{postnummer} {poststed}"));
            (false, Some(lines))
        }
        Residence::Protected(_) => (true, None),
        Residence::Unknown => (false, None),
    }
}

fn organisation_address(organisation: &Organisation) -> Option<Vec<String>> {
    organisation.postal_address.as_ref().or(organisation.business_address.as_ref()).map(|address| {
        let (mut lines, postnummer, poststed) = address_parts(address);
        lines.push(format!("{postnummer} {poststed}"));
        lines
    })
}

fn address_parts(address: &registers::model::Address) -> (Vec<String>, String, String) {
    match address {
        registers::model::Address::Vegadresse { adressenavn, husnummer, husbokstav, postnummer, poststed, .. } => (
            vec![format!("{adressenavn} {husnummer}{}", husbokstav.as_deref().unwrap_or(""))],
            postnummer.clone(),
            poststed.clone(),
        ),
        registers::model::Address::Matrikkeladresse { matrikkelnummer, tilleggsnavn, postnummer, poststed } => (
            vec![tilleggsnavn.clone().unwrap_or_else(|| matrikkelnummer.clone())],
            postnummer.clone(),
            poststed.clone(),
        ),
    }
}

fn e164(number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if number.trim_start().starts_with('+') {
        format!("+{digits}")
    } else if digits.len() == 8 {
        format!("+47{digits}")
    } else {
        format!("+{digits}")
    }
}

/// The notice's subject and text: that a letter has come, never what it says.
fn notice_text(language: Language, municipality: &str, link: &str) -> (String, String) {
    match language {
        Language::Bokmal => (
            format!("Du har fått brev fra {municipality} kommune"),
            format!("Du har fått et brev fra {municipality} kommune. Logg inn på Min side for å lese det: {link}"),
        ),
        Language::Nynorsk => (
            format!("Du har fått brev frå {municipality} kommune"),
            format!("Du har fått eit brev frå {municipality} kommune. Logg inn på Mi side for å lese det: {link}"),
        ),
        Language::English => (
            format!("You have a letter from {municipality} municipality"),
            format!("You have a letter from {municipality} municipality. Log in to My page to read it: {link}"),
        ),
    }
}
