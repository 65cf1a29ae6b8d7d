//! Digital Post til Innbyggere through the municipality's own eFormidling **integrasjonspunkt**,
//! over its "next move" messages API (eFormidling 2).
//!
//! Documents followed (repository `felleslosninger/docs`, snapshot of 2024-10-17):
//!
//! - `_docs/eFormidling/Utvikling/integrasjonspunkt_eformidling2_api.md` — the multi-step
//!   strategy (create, upload, send) and the message statuses;
//! - `_docs/eFormidling/Utvikling/integrasjonspunkt_eformidling2_api_restdocs.html` — "Create
//!   message, Example 2 - Creating a DPI digital message", "Example 7 - Validation error",
//!   "Example 8 - Constraint violation", "Upload attachment", "Send message", "Find message
//!   statuses by messageId";
//! - `_docs/eFormidling/Utvikling/Dokumenttyper/standard_sbd.md` and `_includes/eformidling/sbd.json`
//!   — the Standard Business Document header;
//! - `_docs/eFormidling/Utvikling/Dokumenttyper/digital.md` — the `digital` business message;
//! - `_includes/eformidling/nextmove/levetidUtlopt.txt` (older tree) — `LEVETID_UTLOPT` and `FEIL`.
//!
//! What the integrasjonspunkt answers to a repeat was read from its public source
//! (`felleslosninger/efm-integrasjonspunkt`, `NextMoveValidator`, `NextMoveMessageService`,
//! `messages.properties`): a create with a known `messageId` is refused with **400** and the
//! exception `MessageAlreadyExistsException`; a second upload of the same file name with 400
//! `DuplicateFilenameException`; and once a message has been handed on it leaves the outbox, so
//! `GET`/`PUT`/`POST /api/messages/out/{messageId}` answer **404** `MessageNotFoundException`
//! while its statuses stay.
//!
//! ## The flow, and why it is safe to repeat
//!
//! 1. `POST /api/messages/out` with the SBD. A 400 `MessageAlreadyExistsException` means an
//!    earlier try got at least this far: `GET /api/messages/out/{messageId}` tells whether it is
//!    still a draft (200: finish it below) or already handed on (404: done).
//! 2. `PUT /api/messages/out/{messageId}` for each file (`Content-Disposition` with the file
//!    name, `Content-Type: application/pdf`, the title in the `title` parameter). A 400
//!    `DuplicateFilenameException` means an earlier try uploaded it: the letter's bytes are the
//!    same on every try, so that is fine.
//! 3. `POST /api/messages/out/{messageId}` sends it.
//!
//! A 404 on step 2 or 3 means the message left the outbox under our feet (another worker sent
//! it): when the integrasjonspunkt has a status for it past `OPPRETTET` that counts as sent,
//! otherwise it was deleted unsent, and as the integrasjonspunkt keeps the id that is permanent. One residual risk is the
//! integrasjonspunkt's own: a second `POST .../{messageId}` while the first still waits in its
//! internal queue is queued again; we only repeat a send after a crash, so the window is small.
//!
//! ## Mapping choices
//!
//! - The process is the client's [`DpiProcess`] (default `vedtak`, which obliges the mailbox to
//!   notify the resident); [`MailboxLetter`] has no field for it.
//! - `aapningskvittering` (an opening receipt, which gives the status `LEST`) is the client's
//!   `opening_receipt` setting, off by default: asking the resident to send a receipt is a step
//!   in their way.
//! - `virkningsdato` is today's UTC date: never later than today in Norway, so the letter is
//!   visible at once.
//! - `spraak` is the letter's language as it stands (`nb`, `nn`, `en` are ISO 639-1 codes).
//! - Statuses: `OPPRETTET`, `SENDT`, `MOTTATT`, `ANNET` → in transit; `LEVERT` → delivered;
//!   `LEST` → read; `FEIL`, `LEVETID_UTLOPT` → failed with the description; no status → unknown;
//!   a status this module does not know is logged and treated as still in transit.
//!
//! Personal data stays out of errors and logs: the fødselsnummer is only in the SBD body, and
//! every text that came from the integrasjonspunkt has the recipient and any 11-digit run
//! redacted before it reaches an error.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use reqwest::{StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{ChannelError, DigitalMailbox, MailboxLetter, MailboxStatus};

/// The document type of a digital DPI letter.
pub const DOCUMENT_TYPE_DIGITAL: &str = "urn:no:difi:digitalpost:xsd:digital::digital";
/// The identifier authority for sender and receiver.
pub const AUTHORITY: &str = "iso6523-actorid-upis";
/// The International Code Designator for Norwegian organisasjonsnummer.
pub const ICD_ORGNR: &str = "0192";

/// Which DPI process a letter is sent under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DpiProcess {
    /// `urn:no:difi:profile:digitalpost:info:ver1.0`: information without a duty to notify.
    Info,
    /// `urn:no:difi:profile:digitalpost:vedtak:ver1.0`: letters the resident must be notified of.
    #[default]
    Vedtak,
}

impl DpiProcess {
    /// The process identifier (`businessScope.scope[type=ConversationId].identifier`).
    pub fn identifier(self) -> &'static str {
        match self {
            DpiProcess::Info => "urn:no:difi:profile:digitalpost:info:ver1.0",
            DpiProcess::Vedtak => "urn:no:difi:profile:digitalpost:vedtak:ver1.0",
        }
    }
}

/// A bearer token for the integrasjonspunkt's API (when it sits behind an authenticating proxy).
/// Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(***)")
    }
}

/// How to reach the integrasjonspunkt and what to ask of it.
#[derive(Debug, Clone)]
pub struct IntegrasjonspunktConfig {
    /// Its root, e.g. `http://localhost:9093`; the published paths (`/api/messages/out`, ...)
    /// are appended.
    pub base_url: String,
    /// How long one request may take, from connecting to the last byte of the answer.
    pub timeout: Duration,
    /// Sent as `Authorization: Bearer ...` when set.
    pub bearer_token: Option<BearerToken>,
    /// The process letters are sent under.
    pub process: DpiProcess,
    /// Whether to ask for an opening receipt (`aapningskvittering`), which reports `LEST`.
    pub opening_receipt: bool,
}

impl IntegrasjonspunktConfig {
    /// Defaults for the integrasjonspunkt at `base_url`: a 30 second timeout, no token,
    /// process `vedtak`, no opening receipt.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            timeout: Duration::from_secs(30),
            bearer_token: None,
            process: DpiProcess::default(),
            opening_receipt: false,
        }
    }
}

/// The integrasjonspunkt's "next move" API as a [`DigitalMailbox`].
#[derive(Debug, Clone)]
pub struct Integrasjonspunkt {
    http: reqwest::Client,
    base_url: String,
    bearer_token: Option<BearerToken>,
    process: DpiProcess,
    opening_receipt: bool,
}

impl Integrasjonspunkt {
    /// A client for the integrasjonspunkt described by `config`.
    pub fn new(config: IntegrasjonspunktConfig) -> Result<Self, ChannelError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("allmenning-post/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ChannelError::Permanent(format!("integrasjonspunkt: cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            bearer_token: config.bearer_token,
            process: config.process,
            opening_receipt: config.opening_receipt,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, self.url(path)).header(header::ACCEPT, "application/json");
        match &self.bearer_token {
            Some(token) => builder.bearer_auth(&token.0),
            None => builder,
        }
    }

    /// Sends one request and sorts the answer: `Ok(Ok(body))` for 2xx, `Ok(Err(refusal))` for any
    /// other status, `Err` when no answer came (transient).
    async fn call(
        &self,
        what: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<Result<Bytes, Refusal>, ChannelError> {
        let response = request.send().await.map_err(|e| transport_error(what, e))?;
        let status = response.status();
        let content_type =
            response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let body = response.bytes().await.map_err(|e| transport_error(what, e))?;
        if status.is_success() {
            return Ok(Ok(body));
        }
        Ok(Err(Refusal::read(what, status, &content_type, &body)))
    }

    async fn create(&self, letter: &MailboxLetter) -> Result<Created, ChannelError> {
        let sbd = standard_business_document(letter, self.process, self.opening_receipt, OffsetDateTime::now_utc());
        let request = self.request(reqwest::Method::POST, "/api/messages/out").json(&sbd);
        match self.call("create message", request).await? {
            Ok(_) => Ok(Created::New),
            Err(refusal) if refusal.is(MESSAGE_ALREADY_EXISTS) => {
                let path = format!("/api/messages/out/{}", letter.message_id);
                match self.call("look up message", self.request(reqwest::Method::GET, &path)).await? {
                    Ok(_) => Ok(Created::DraftFromEarlierTry),
                    Err(refusal) if refusal.status == StatusCode::NOT_FOUND => Ok(Created::HandedOnEarlier),
                    Err(refusal) => Err(refusal.into_error(letter)),
                }
            }
            Err(refusal) => Err(refusal.into_error(letter)),
        }
    }

    async fn upload(&self, letter: &MailboxLetter, file: &Upload<'_>) -> Result<Step, ChannelError> {
        let path = format!("/api/messages/out/{}", letter.message_id);
        let request = self
            .request(reqwest::Method::PUT, &path)
            .query(&[("title", file.title)])
            .header(header::CONTENT_TYPE, "application/pdf")
            .header(header::CONTENT_DISPOSITION, content_disposition(file.filename))
            .body(file.bytes.clone());
        match self.call("upload file", request).await? {
            Ok(_) => Ok(Step::Done),
            Err(refusal) if refusal.is(DUPLICATE_FILENAME) => Ok(Step::Done),
            Err(refusal) if refusal.status == StatusCode::NOT_FOUND => Ok(Step::Gone),
            Err(refusal) => Err(refusal.into_error(letter)),
        }
    }

    async fn hand_on(&self, letter: &MailboxLetter) -> Result<Step, ChannelError> {
        let path = format!("/api/messages/out/{}", letter.message_id);
        match self.call("send message", self.request(reqwest::Method::POST, &path)).await? {
            Ok(_) => Ok(Step::Done),
            Err(refusal) if refusal.status == StatusCode::NOT_FOUND => Ok(Step::Gone),
            Err(refusal) => Err(refusal.into_error(letter)),
        }
    }

    /// The message left the outbox while we were working on it: sent by another try when the
    /// integrasjonspunkt has a status for it past `OPPRETTET` (it records `SENDT`, or `FEIL`,
    /// before it clears the outbox), lost for good otherwise (deleted by hand, say).
    async fn gone(&self, letter: &MailboxLetter) -> Result<(), ChannelError> {
        match self.statuses(letter.message_id).await? {
            Some(statuses) if statuses.iter().any(|s| s.status != "OPPRETTET") => {
                tracing::info!(message.id = %letter.message_id, "integrasjonspunkt: message already handed on by an earlier try");
                Ok(())
            }
            // The integrasjonspunkt keeps the id, so it can never be created again.
            _ => Err(ChannelError::Permanent(format!(
                "integrasjonspunkt: message {} left the outbox before it was sent (deleted?) and its id is taken",
                letter.message_id
            ))),
        }
    }

    async fn deliver(&self, letter: &MailboxLetter) -> Result<(), ChannelError> {
        // A repeated upload counts as done (see the module's comment), so two files of one
        // letter must never share a name: the second would be dropped without a word.
        let files = uploads(letter);
        for (index, file) in files.iter().enumerate() {
            if files[..index].iter().any(|earlier| earlier.filename == file.filename) {
                return Err(ChannelError::Permanent(format!(
                    "integrasjonspunkt: message {} has two files named {:?}",
                    letter.message_id, file.filename
                )));
            }
        }
        match self.create(letter).await? {
            Created::New => {}
            Created::DraftFromEarlierTry => {
                tracing::info!(message.id = %letter.message_id, "integrasjonspunkt: finishing a draft from an earlier try");
            }
            Created::HandedOnEarlier => return self.gone(letter).await,
        }
        for file in &files {
            if self.upload(letter, file).await? == Step::Gone {
                return self.gone(letter).await;
            }
        }
        match self.hand_on(letter).await? {
            Step::Done => Ok(()),
            Step::Gone => self.gone(letter).await,
        }
    }

    /// All statuses of a message, or `None` when the integrasjonspunkt does not know it.
    async fn statuses(&self, message_id: uuid::Uuid) -> Result<Option<Vec<WireStatus>>, ChannelError> {
        let path = format!("/api/statuses/{message_id}");
        // Newest first, and a page large enough for every status a message can have.
        let request = self.request(reqwest::Method::GET, &path).query(&[("sort", "id,desc"), ("size", "100")]);
        match self.call("read statuses", request).await? {
            Ok(body) => {
                let page: WirePage = serde_json::from_slice(&body).map_err(|e| {
                    ChannelError::Transient(format!(
                        "integrasjonspunkt: read statuses: the answer is not a status page: {e}"
                    ))
                })?;
                Ok(Some(page.content))
            }
            Err(refusal) if refusal.status == StatusCode::NOT_FOUND => Ok(None),
            Err(refusal) => Err(refusal.into_error_without_letter()),
        }
    }
}

impl DigitalMailbox for Integrasjonspunkt {
    fn send<'a>(&'a self, letter: &'a MailboxLetter) -> BoxFuture<'a, Result<(), ChannelError>> {
        self.deliver(letter).boxed()
    }

    fn status(&self, message_id: uuid::Uuid) -> BoxFuture<'_, Result<MailboxStatus, ChannelError>> {
        async move {
            let Some(statuses) = self.statuses(message_id).await? else {
                return Ok(MailboxStatus::Unknown);
            };
            // The integrasjonspunkt numbers statuses in the order it records them.
            let Some(newest) = statuses.into_iter().max_by_key(|s| s.id) else {
                return Ok(MailboxStatus::Unknown);
            };
            Ok(mailbox_status(&newest.status, newest.description.as_deref()))
        }
        .boxed()
    }
}

/// Maps one of the integrasjonspunkt's message statuses (and its description) to a
/// [`MailboxStatus`].
pub fn mailbox_status(status: &str, description: Option<&str>) -> MailboxStatus {
    let reason = |fallback: &str| {
        let text = description.map(str::trim).filter(|d| !d.is_empty()).unwrap_or(fallback);
        format!("{status}: {}", redact(text, None))
    };
    match status {
        "OPPRETTET" | "SENDT" | "MOTTATT" | "ANNET" => MailboxStatus::InTransit,
        "LEVERT" => MailboxStatus::Delivered,
        "LEST" => MailboxStatus::Read,
        "FEIL" => MailboxStatus::Failed(reason("unexpected error")),
        "LEVETID_UTLOPT" => MailboxStatus::Failed(reason("not delivered before the deadline; send it again")),
        other => {
            tracing::warn!(message.status = other, "integrasjonspunkt: unknown message status, taken as in transit");
            MailboxStatus::InTransit
        }
    }
}

/// The Standard Business Document that creates `letter` (JSON, as `POST /api/messages/out`
/// takes it), stamped `now`.
pub fn standard_business_document(
    letter: &MailboxLetter,
    process: DpiProcess,
    opening_receipt: bool,
    now: OffsetDateTime,
) -> serde_json::Value {
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let created = now.format(&Rfc3339).unwrap_or_default();
    let today = now.date();
    let virkningsdato = format!("{:04}-{:02}-{:02}", today.year(), u8::from(today.month()), today.day());
    json!({
        "standardBusinessDocumentHeader": {
            "headerVersion": "1.0",
            "sender": [{
                "identifier": { "authority": AUTHORITY, "value": format!("{ICD_ORGNR}:{}", letter.sender_orgnr) }
            }],
            "receiver": [{
                "identifier": { "authority": AUTHORITY, "value": letter.recipient }
            }],
            "documentIdentification": {
                "standard": DOCUMENT_TYPE_DIGITAL,
                "typeVersion": "1.0",
                "instanceIdentifier": letter.message_id.to_string(),
                "type": "digital",
                "creationDateAndTime": created
            },
            "businessScope": {
                "scope": [{
                    "type": "ConversationId",
                    "instanceIdentifier": letter.conversation_id.to_string(),
                    "identifier": process.identifier()
                }]
            }
        },
        "digital": {
            "sikkerhetsnivaa": letter.security_level,
            "hoveddokument": letter.filename,
            "tittel": letter.title,
            "spraak": letter.language,
            "digitalPostInfo": {
                "virkningsdato": virkningsdato,
                "aapningskvittering": opening_receipt
            }
        }
    })
}

/// A `Content-Disposition` for an upload: the file name quoted, and for a name outside plain
/// ASCII also in RFC 5987 form (`filename*=UTF-8''...`), which the integrasjonspunkt prefers.
pub fn content_disposition(filename: &str) -> String {
    let plain: String = filename
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    if plain == filename {
        return format!("attachment; filename=\"{plain}\"");
    }
    let mut encoded = String::new();
    for byte in filename.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Created {
    New,
    DraftFromEarlierTry,
    HandedOnEarlier,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Done,
    Gone,
}

struct Upload<'a> {
    filename: &'a str,
    title: &'a str,
    bytes: &'a Bytes,
}

/// The main document (titled with the letter's title), then each attachment (titled with its
/// file name without `.pdf`: DPI needs a title for every attachment).
fn uploads(letter: &MailboxLetter) -> Vec<Upload<'_>> {
    let mut files = vec![Upload { filename: &letter.filename, title: &letter.title, bytes: &letter.pdf }];
    for (filename, bytes) in &letter.attachments {
        let title = filename.strip_suffix(".pdf").or_else(|| filename.strip_suffix(".PDF")).unwrap_or(filename);
        files.push(Upload { filename, title, bytes });
    }
    files
}

const MESSAGE_ALREADY_EXISTS: &str = "MessageAlreadyExistsException";
const DUPLICATE_FILENAME: &str = "DuplicateFilenameException";

/// A non-2xx answer.
#[derive(Debug)]
struct Refusal {
    what: &'static str,
    status: StatusCode,
    /// The Java exception's class name, when the body is the integrasjonspunkt's error JSON.
    exception: Option<String>,
    /// What went wrong, not yet redacted.
    message: String,
}

/// The integrasjonspunkt's error body (Spring Boot's, with the exception's class name).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireError {
    exception: Option<String>,
    message: Option<String>,
    error: Option<String>,
    description: Option<String>,
}

impl Refusal {
    fn read(what: &'static str, status: StatusCode, content_type: &str, body: &[u8]) -> Self {
        match serde_json::from_slice::<WireError>(body) {
            Ok(wire) => {
                let message = [wire.message, wire.description, wire.error]
                    .into_iter()
                    .flatten()
                    .map(|m| m.trim().to_owned())
                    .find(|m| !m.is_empty())
                    .unwrap_or_else(|| "no message".to_owned());
                Refusal { what, status, exception: wire.exception, message }
            }
            Err(_) if body.is_empty() => Refusal { what, status, exception: None, message: "no body".to_owned() },
            Err(_) => {
                let kind = if content_type.is_empty() { "unknown type" } else { content_type };
                Refusal {
                    what,
                    status,
                    exception: None,
                    message: format!(
                        "a body that is not the integrasjonspunkt's error JSON ({kind}, {} bytes)",
                        body.len()
                    ),
                }
            }
        }
    }

    /// Whether the integrasjonspunkt threw the exception with this simple class name.
    fn is(&self, simple_name: &str) -> bool {
        self.status == StatusCode::BAD_REQUEST
            && self.exception.as_deref().is_some_and(|e| e.rsplit('.').next() == Some(simple_name))
    }

    fn into_error(self, letter: &MailboxLetter) -> ChannelError {
        self.error_redacting(Some(&letter.recipient))
    }

    fn into_error_without_letter(self) -> ChannelError {
        self.error_redacting(None)
    }

    fn error_redacting(self, recipient: Option<&str>) -> ChannelError {
        let exception =
            self.exception.as_deref().and_then(|e| e.rsplit('.').next()).map(|e| format!(" {e}")).unwrap_or_default();
        let text = format!(
            "integrasjonspunkt: {}: {}{exception}: {}",
            self.what,
            self.status,
            redact(&self.message, recipient)
        );
        if is_transient(self.status) { ChannelError::Transient(text) } else { ChannelError::Permanent(text) }
    }
}

fn is_transient(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT
}

fn transport_error(what: &'static str, error: reqwest::Error) -> ChannelError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    };
    // The URL carries only the message id, but it says nothing the text does not.
    let detail = error.without_url();
    ChannelError::Transient(format!("integrasjonspunkt: {what}: {kind}: {detail}"))
}

/// Replaces the recipient's number and any run of exactly eleven digits (a fødselsnummer or
/// d-nummer) with asterisks.
fn redact(text: &str, recipient: Option<&str>) -> String {
    let text = match recipient.map(str::trim).filter(|r| !r.is_empty()) {
        Some(recipient) => text.replace(recipient, "***"),
        None => text.to_owned(),
    };
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() == 11 {
            out.push_str("***********");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WirePage {
    content: Vec<WireStatus>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireStatus {
    id: i64,
    status: String,
    description: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_mailbox_statuses() {
        for status in ["OPPRETTET", "SENDT", "MOTTATT", "ANNET"] {
            assert_eq!(mailbox_status(status, None), MailboxStatus::InTransit, "{status}");
        }
        assert_eq!(mailbox_status("LEVERT", Some("Levert")), MailboxStatus::Delivered);
        assert_eq!(mailbox_status("LEST", None), MailboxStatus::Read);
        assert_eq!(
            mailbox_status("FEIL", Some("Mottaker 12889912345 har ingen postkasse")),
            MailboxStatus::Failed("FEIL: Mottaker *********** har ingen postkasse".into())
        );
        assert_eq!(mailbox_status("FEIL", Some("  ")), MailboxStatus::Failed("FEIL: unexpected error".into()));
        match mailbox_status("LEVETID_UTLOPT", None) {
            MailboxStatus::Failed(reason) => assert!(reason.starts_with("LEVETID_UTLOPT: "), "{reason}"),
            other => panic!("expected Failed, got {other:?}"),
        }
        assert_eq!(mailbox_status("INNKOMMENDE_MOTTATT", None), MailboxStatus::InTransit);
    }

    #[test]
    fn redaction_takes_eleven_digit_runs_and_the_recipient() {
        assert_eq!(redact("a 12345678901 b", None), "a *********** b");
        assert_eq!(redact("orgnr 974760673, 123456789012", None), "orgnr 974760673, 123456789012");
        assert_eq!(redact("value 1234 rejected", Some("1234")), "value *** rejected");
    }

    #[test]
    fn content_disposition_quotes_plain_names_and_encodes_others() {
        assert_eq!(content_disposition("brev.pdf"), "attachment; filename=\"brev.pdf\"");
        assert_eq!(
            content_disposition("vedtak søknad.pdf"),
            "attachment; filename=\"vedtak s_knad.pdf\"; filename*=UTF-8''vedtak%20s%C3%B8knad.pdf"
        );
    }

    #[test]
    fn refusals_read_the_error_json_and_survive_html() {
        let body = br#"{"status":400,"error":"Bad Request","exception":"no.difi.meldingsutveksling.exceptions.MessageAlreadyExistsException","message":"Message with messageId = x already exists","path":"/api/messages/out"}"#;
        let refusal = Refusal::read("create message", StatusCode::BAD_REQUEST, "application/json", body);
        assert!(refusal.is(MESSAGE_ALREADY_EXISTS));
        assert!(!refusal.is(DUPLICATE_FILENAME));

        let kind = |status: StatusCode| {
            let body = br#"{"status":0,"message":"Mottaker 20914695016 finnes ikke"}"#;
            match Refusal::read("send message", status, "application/json", body).into_error_without_letter() {
                ChannelError::Transient(text) => ("transient", text),
                ChannelError::Permanent(text) => ("permanent", text),
            }
        };
        for status in
            [StatusCode::TOO_MANY_REQUESTS, StatusCode::SERVICE_UNAVAILABLE, StatusCode::INTERNAL_SERVER_ERROR]
        {
            assert_eq!(kind(status).0, "transient", "{status}");
        }
        for status in [StatusCode::BAD_REQUEST, StatusCode::NOT_FOUND, StatusCode::FORBIDDEN] {
            let (kind, text) = kind(status);
            assert_eq!(kind, "permanent", "{status}");
            assert!(text.contains("Mottaker *********** finnes ikke"), "{text}");
        }

        let html = Refusal::read("send message", StatusCode::BAD_GATEWAY, "text/html", b"<html>Bad gateway</html>");
        match html.into_error_without_letter() {
            ChannelError::Transient(text) => assert!(text.contains("502") && text.contains("text/html"), "{text}"),
            other => panic!("expected Transient, got {other:?}"),
        }
    }
}
