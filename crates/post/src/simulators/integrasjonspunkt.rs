//! A stand-in for the municipality's eFormidling integrasjonspunkt together with the Digital Post
//! til Innbyggere provider behind it, speaking the integrasjonspunkt's "next move" API:
//!
//! - `POST /api/messages/out` creates a message from a Standard Business Document;
//! - `GET /api/messages/out/{messageId}` shows a message not yet sent;
//! - `PUT /api/messages/out/{messageId}` uploads a file (`Content-Disposition` with the file name,
//!   the title in `?title=` or in the disposition's `name`);
//! - `POST /api/messages/out/{messageId}` sends it;
//! - `GET /api/statuses/{messageId}` and `GET /api/statuses?messageId=...` page its statuses
//!   (`sort=id,desc` and `size` are honoured);
//! - `GET /simulator/messages` — outside the real API — lists what it received, for tests and for
//!   scripts that count deliveries.
//!
//! It answers as the real one does where that matters to a client (read from
//! `felleslosninger/efm-integrasjonspunkt`): errors in its JSON shape (`timestamp`, `status`,
//! `error`, `exception`, `message`, `path`, and `errors` for constraint violations); a repeated
//! create is 400 `MessageAlreadyExistsException`; a repeated file name is 400
//! `DuplicateFilenameException`; a sent message leaves the outbox, so touching it again is 404
//! `MessageNotFoundException`; statuses are numbered in the order they are recorded.
//!
//! Where it differs from the real service, on purpose:
//!
//! - It only knows DPI `digital` messages (`urn:no:difi:digitalpost:xsd:digital::digital`) under
//!   the `info` and `vedtak` processes; every other type is an unknown type.
//! - It accepts only PDF (`application/pdf` starting with `%PDF-`); real DPI also takes HTML,
//!   text and images.
//! - A receiver that is not eleven digits is a constraint violation on the receiver field; the
//!   real one asks the service registry and answers from there.
//! - It neither checks the fødselsnummer's control digits nor looks the person up in KRR.
//! - Delivery is simulated by the clock: `SENDT` at once, `MOTTATT` after half of
//!   [`Behaviour::deliver_after`], `LEVERT` (or `FEIL`) after it, and `LEST` after
//!   [`Behaviour::read_after`] more — only when the letter asked for an opening receipt
//!   (`aapningskvittering`), as with the real service.
//! - Timeouts: a request picked by [`Behaviour::timeout_rate`] waits [`Behaviour::stall`] before
//!   it is handled at all (a client that gave up never learns whether it then went through).
//! - No `expectedResponseDateTime`, so no `LEVETID_UTLOPT`; no multipart endpoint, capabilities,
//!   conversations, webhooks or incoming messages.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const EXCEPTIONS: &str = "no.difi.meldingsutveksling.exceptions.";
const DOCUMENT_TYPE_DIGITAL: &str = "urn:no:difi:digitalpost:xsd:digital::digital";
const PROCESSES: [&str; 2] =
    ["urn:no:difi:profile:digitalpost:info:ver1.0", "urn:no:difi:profile:digitalpost:vedtak:ver1.0"];

/// How the simulated integrasjonspunkt and mailbox provider behave.
#[derive(Debug, Clone, PartialEq)]
pub struct Behaviour {
    /// From `SENDT` to `LEVERT` (or `FEIL`).
    pub deliver_after: Duration,
    /// From `LEVERT` to `LEST`, for letters that ask for an opening receipt; `None`: never read.
    pub read_after: Option<Duration>,
    /// The share of sent messages (0 to 1) the provider refuses: they end in `FEIL`.
    pub fail_rate: f64,
    /// The share of API requests (0 to 1) that stall for [`Behaviour::stall`] before they are
    /// handled.
    pub timeout_rate: f64,
    /// How long a stalled request waits before it is handled; longer than the client's timeout.
    pub stall: Duration,
    /// Seeds the dice for failures and stalls, so a run can be repeated.
    pub seed: u64,
    /// The most all files of one message may weigh together (the integrasjonspunkt's
    /// `difi.move.dpi.upload-size-limit`, 50 MB by default).
    pub max_total_bytes: u64,
}

impl Behaviour {
    /// Everything arrives: delivered after a second, read three seconds later, no failures.
    pub fn reliable() -> Self {
        Self {
            deliver_after: Duration::from_secs(1),
            read_after: Some(Duration::from_secs(3)),
            fail_rate: 0.0,
            timeout_rate: 0.0,
            stall: Duration::from_secs(60),
            seed: 1,
            max_total_bytes: 50 * 1024 * 1024,
        }
    }

    /// Closer to life: delivery takes a few seconds, reading a minute, 3 % of letters fail at the
    /// provider and 2 % of requests stall for a minute.
    pub fn realistic() -> Self {
        Self {
            deliver_after: Duration::from_secs(5),
            read_after: Some(Duration::from_secs(60)),
            fail_rate: 0.03,
            timeout_rate: 0.02,
            stall: Duration::from_secs(60),
            seed: 42,
            max_total_bytes: 50 * 1024 * 1024,
        }
    }
}

/// A file the simulator received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedFile {
    /// The file name from `Content-Disposition`.
    pub filename: String,
    /// The title (`?title=` or the disposition's `name`).
    pub title: Option<String>,
    /// The `Content-Type`.
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
}

/// A message the simulator received, with how often it was created and sent.
#[derive(Clone, Serialize)]
pub struct ReceivedMessage {
    /// `documentIdentification.instanceIdentifier`.
    pub message_id: uuid::Uuid,
    /// The `ConversationId` scope's `instanceIdentifier`.
    pub conversation_id: uuid::Uuid,
    /// The receiver's identifier as sent (a fødselsnummer).
    pub receiver: String,
    /// `digital.tittel`.
    pub title: String,
    /// The process.
    pub process: String,
    /// The files, in the order they were uploaded.
    pub files: Vec<ReceivedFile>,
    /// Create requests with this message id, the refused repeats included.
    pub times_created: u32,
    /// Send requests for this message id, the refused repeats included.
    pub times_sent: u32,
    /// Whether it was sent (handed to the provider). A message is handed on once at most.
    pub sent: bool,
    /// The newest status.
    pub status: String,
    /// The Standard Business Document as the client sent it.
    pub sbd: Value,
}

impl fmt::Debug for ReceivedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The receiver is personal data (synthetic here, but the habit stays).
        f.debug_struct("ReceivedMessage")
            .field("message_id", &self.message_id)
            .field("conversation_id", &self.conversation_id)
            .field("process", &self.process)
            .field("files", &self.files)
            .field("times_created", &self.times_created)
            .field("times_sent", &self.times_sent)
            .field("sent", &self.sent)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// The simulated integrasjonspunkt: its state and its dice.
pub struct IntegrasjonspunktSim {
    behaviour: Behaviour,
    state: Mutex<SimState>,
    dice: Mutex<StdRng>,
}

impl fmt::Debug for IntegrasjonspunktSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntegrasjonspunktSim").field("behaviour", &self.behaviour).finish_non_exhaustive()
    }
}

#[derive(Default)]
struct SimState {
    /// In the order they were created.
    messages: Vec<SimMessage>,
    next_status_id: i64,
}

struct SimMessage {
    received: ReceivedMessage,
    hoveddokument: String,
    opening_receipt: bool,
    sent: Option<Sending>,
    statuses: Vec<SimStatus>,
}

struct Sending {
    at: Instant,
    wall: OffsetDateTime,
    failure: Option<String>,
    /// How many of [`SimMessage::schedule`]'s steps are recorded.
    recorded: usize,
}

#[derive(Clone)]
struct SimStatus {
    id: i64,
    status: &'static str,
    description: String,
    last_update: OffsetDateTime,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; carry on with it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl IntegrasjonspunktSim {
    /// A simulator that behaves as `behaviour` says.
    pub fn new(behaviour: Behaviour) -> Self {
        let dice = StdRng::seed_from_u64(behaviour.seed);
        Self { behaviour, state: Mutex::new(SimState::default()), dice: Mutex::new(dice) }
    }

    /// How it behaves.
    pub fn behaviour(&self) -> &Behaviour {
        &self.behaviour
    }

    /// Everything it received so far, in the order the messages were created, statuses brought
    /// up to date.
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        let mut state = lock(&self.state);
        state.advance(&self.behaviour, Instant::now());
        state.messages.iter().map(|m| m.received.clone()).collect()
    }

    fn roll(&self, rate: f64) -> bool {
        rate > 0.0 && lock(&self.dice).random::<f64>() < rate
    }

    /// Stalls a request picked by the timeout rate.
    async fn maybe_stall(&self) {
        if self.roll(self.behaviour.timeout_rate) {
            tokio::time::sleep(self.behaviour.stall).await;
        }
    }
}

impl SimState {
    fn find(&mut self, message_id: uuid::Uuid) -> Option<&mut SimMessage> {
        self.messages.iter_mut().find(|m| m.received.message_id == message_id)
    }

    fn push_status(&mut self, index: usize, status: &'static str, description: String, at: OffsetDateTime) {
        self.next_status_id += 1;
        let id = self.next_status_id;
        let message = &mut self.messages[index];
        message.statuses.push(SimStatus { id, status, description, last_update: at });
        message.received.status = status.to_owned();
    }

    /// Records every status that has come due.
    fn advance(&mut self, behaviour: &Behaviour, now: Instant) {
        for index in 0..self.messages.len() {
            let schedule = self.messages[index].schedule(behaviour);
            loop {
                let message = &mut self.messages[index];
                let Some(sending) = message.sent.as_mut() else { break };
                let Some((after, status, description)) = schedule.get(sending.recorded).cloned() else { break };
                if now.duration_since(sending.at) < after {
                    break;
                }
                sending.recorded += 1;
                let at = sending.wall + after;
                self.push_status(index, status, description, at);
            }
        }
    }
}

impl SimMessage {
    /// What happens to a sent message, and when (after `SENDT`).
    fn schedule(&self, behaviour: &Behaviour) -> Vec<(Duration, &'static str, String)> {
        let Some(sending) = &self.sent else { return Vec::new() };
        let deliver = behaviour.deliver_after;
        let mut steps =
            vec![(Duration::ZERO, "SENDT", "Sendt".to_owned()), (deliver / 2, "MOTTATT", "Mottatt".to_owned())];
        match &sending.failure {
            Some(reason) => steps.push((deliver, "FEIL", reason.clone())),
            None => {
                steps.push((deliver, "LEVERT", "Levert".to_owned()));
                if let (true, Some(read)) = (self.opening_receipt, behaviour.read_after) {
                    steps.push((deliver + read, "LEST", "Lest".to_owned()));
                }
            }
        }
        steps
    }

    fn is_in_outbox(&self) -> bool {
        self.sent.is_none()
    }
}

/// The simulator's routes: the integrasjonspunkt's API and `GET /simulator/messages`.
pub fn router(sim: Arc<IntegrasjonspunktSim>) -> Router {
    // Room for one request over the limit, so the simulator can answer it in its own words.
    let body_limit = usize::try_from(sim.behaviour.max_total_bytes).unwrap_or(usize::MAX).saturating_add(1024 * 1024);
    Router::new()
        .route("/api/messages/out", post(create_message))
        .route("/api/messages/out/{message_id}", get(get_message).put(upload_file).post(send_message))
        .route("/api/statuses", get(find_statuses))
        .route("/api/statuses/{message_id}", get(statuses_by_message_id))
        .route("/simulator/messages", get(received_messages))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(sim)
}

/// Serves the simulator on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, sim: Arc<IntegrasjonspunktSim>) -> std::io::Result<()> {
    axum::serve(listener, router(sim)).await
}

// --- Errors in the integrasjonspunkt's shape --------------------------------------------------

fn now_text() -> String {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc())
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn error_body(status: StatusCode, path: &str, exception: &str, message: String) -> Value {
    json!({
        "timestamp": now_text(),
        "status": status.as_u16(),
        "error": status.canonical_reason().unwrap_or(""),
        "exception": format!("{EXCEPTIONS}{exception}"),
        "message": message,
        "path": path,
    })
}

fn refuse(status: StatusCode, path: &str, exception: &str, message: impl Into<String>) -> Response {
    (status, axum::Json(error_body(status, path, exception, message.into()))).into_response()
}

/// One failed constraint: the field, its message, and the rejected value.
struct Violation {
    field: &'static str,
    message: &'static str,
    rejected: Value,
}

fn violations(path: &str, found: Vec<Violation>) -> Response {
    let status = StatusCode::BAD_REQUEST;
    let message = found.iter().map(|v| format!("{}: {}", v.field, v.message)).collect::<Vec<_>>().join(", ");
    let errors: Vec<Value> = found
        .iter()
        .map(|v| {
            json!({
                "codes": ["NotNull"],
                "defaultMessage": v.message,
                "objectName": v.field,
                "field": v.field,
                "rejectedValue": v.rejected,
                "bindingFailure": false,
                "code": "NotNull",
            })
        })
        .collect();
    let mut body = error_body(status, path, "", message);
    body["exception"] = json!("javax.validation.ConstraintViolationException");
    body["errors"] = json!(errors);
    (status, axum::Json(body)).into_response()
}

/// Why a Standard Business Document was refused (always 400).
enum Invalid {
    /// The integrasjonspunkt threw this exception (simple class name) with this message.
    Refused { exception: &'static str, message: String },
    /// Bean validation failed.
    Violations(Vec<Violation>),
}

impl Invalid {
    fn refused(exception: &'static str, message: impl Into<String>) -> Self {
        Invalid::Refused { exception, message: message.into() }
    }

    fn into_response(self, path: &str) -> Response {
        match self {
            Invalid::Refused { exception, message } => refuse(StatusCode::BAD_REQUEST, path, exception, message),
            Invalid::Violations(found) => violations(path, found),
        }
    }
}

fn message_not_found(path: &str, message_id: &str) -> Response {
    refuse(
        StatusCode::NOT_FOUND,
        path,
        "MessageNotFoundException",
        format!("Message with messageId = {message_id} was not found"),
    )
}

async fn not_found(uri: Uri) -> Response {
    let status = StatusCode::NOT_FOUND;
    let mut body = error_body(status, uri.path(), "", "No message available".to_owned());
    body.as_object_mut().map(|o| o.remove("exception"));
    (status, axum::Json(body)).into_response()
}

// --- Create -------------------------------------------------------------------------------------

fn text_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// What a valid SBD for a digital DPI letter says.
struct DigitalLetter {
    message_id: uuid::Uuid,
    conversation_id: uuid::Uuid,
    receiver: String,
    title: String,
    process: String,
    hoveddokument: String,
    opening_receipt: bool,
}

/// Validates the SBD much as the integrasjonspunkt does, in its order: the message id, a repeat,
/// the bean constraints, the message type, the document type, the process, the business message.
fn validate(sbd: &mut Value, state: &mut SimState) -> Result<DigitalLetter, Invalid> {
    const HEADER: &str = "/standardBusinessDocumentHeader";
    let message_id = match text_at(sbd, "/standardBusinessDocumentHeader/documentIdentification/instanceIdentifier") {
        Some(text) => uuid::Uuid::parse_str(text).map_err(|_| {
            Invalid::refused("NotUUIDException", format!("messageId (value: {text}) is not a valid UUID"))
        })?,
        // The integrasjonspunkt makes one up when it is left out.
        None => uuid::Uuid::now_v7(),
    };
    if let Some(existing) = state.find(message_id) {
        existing.received.times_created += 1;
        return Err(Invalid::refused(
            "MessageAlreadyExistsException",
            format!("Message with messageId = {message_id} already exists"),
        ));
    }

    let mut found = Vec::new();
    let mut require = |pointer: &str, field: &'static str| {
        let value = sbd.pointer(&format!("{HEADER}{pointer}"));
        let missing = match value {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(_) => false,
        };
        if missing {
            found.push(Violation {
                field,
                message: "Must not be null",
                rejected: value.cloned().unwrap_or(Value::Null),
            });
        }
    };
    require("/headerVersion", "standardBusinessDocumentHeader.headerVersion");
    require("/receiver", "standardBusinessDocumentHeader.receiver");
    require("/receiver/0/identifier/value", "standardBusinessDocumentHeader.receiver[].identifier.value");
    require("/documentIdentification/standard", "standardBusinessDocumentHeader.documentIdentification.standard");
    require("/documentIdentification/typeVersion", "standardBusinessDocumentHeader.documentIdentification.typeVersion");
    require("/documentIdentification/type", "standardBusinessDocumentHeader.documentIdentification.type");
    require("/businessScope/scope", "standardBusinessDocumentHeader.businessScope.scope");
    if let Some(receivers) = sbd.pointer(&format!("{HEADER}/receiver")).and_then(Value::as_array)
        && receivers.len() > 1
    {
        found.push(Violation {
            field: "standardBusinessDocumentHeader.receiver",
            message: "Size must be between 1 and 1 inclusive",
            rejected: Value::Null,
        });
    }
    if let Some(created) = text_at(sbd, "/standardBusinessDocumentHeader/documentIdentification/creationDateAndTime") {
        let in_the_past = OffsetDateTime::parse(created, &Rfc3339)
            .is_ok_and(|at| at <= OffsetDateTime::now_utc() + Duration::from_secs(5));
        if !in_the_past {
            found.push(Violation {
                field: "standardBusinessDocumentHeader.documentIdentification.creationDateAndTime",
                message: "Must be in the past",
                rejected: json!(created),
            });
        }
    }
    let conversation_scope = sbd
        .pointer(&format!("{HEADER}/businessScope/scope"))
        .and_then(Value::as_array)
        .and_then(|scopes| scopes.iter().find(|s| s.get("type").and_then(Value::as_str) == Some("ConversationId")))
        .cloned();
    if sbd.pointer(&format!("{HEADER}/businessScope/scope")).and_then(Value::as_array).is_some_and(|s| !s.is_empty())
        && conversation_scope.is_none()
    {
        found.push(Violation {
            field: "standardBusinessDocumentHeader.businessScope.scope[].type",
            message: "Must contain a scope of type ConversationId",
            rejected: Value::Null,
        });
    }
    if !found.is_empty() {
        return Err(Invalid::Violations(found));
    }

    let message_type = text_at(sbd, "/standardBusinessDocumentHeader/documentIdentification/type").unwrap_or_default();
    if message_type != "digital" {
        return Err(Invalid::refused(
            "UnknownMessageTypeException",
            format!("Unknown NextMove document type {message_type}. Expected one of the following values: digital"),
        ));
    }
    let standard = text_at(sbd, "/standardBusinessDocumentHeader/documentIdentification/standard").unwrap_or_default();
    if standard != DOCUMENT_TYPE_DIGITAL {
        return Err(Invalid::refused(
            "MessageTypeDoesNotFitDocumentTypeException",
            format!("Message type digital does not match the document type {standard}"),
        ));
    }
    let scope = conversation_scope.unwrap_or(Value::Null);
    let process = scope.get("identifier").and_then(Value::as_str).unwrap_or_default().to_owned();
    if !PROCESSES.contains(&process.as_str()) {
        return Err(Invalid::refused(
            "ReceiverDoesNotAcceptProcessException",
            format!("Receiver do not accept the document process {process}"),
        ));
    }
    let conversation_id = match scope.get("instanceIdentifier").and_then(Value::as_str) {
        Some(text) => uuid::Uuid::parse_str(text).map_err(|_| {
            Invalid::refused("NotUUIDException", format!("conversationId (value: {text}) is not a valid UUID"))
        })?,
        None => uuid::Uuid::now_v7(),
    };
    if let Some(sender) = text_at(sbd, "/standardBusinessDocumentHeader/sender/0/identifier/value") {
        let valid = sender
            .strip_prefix("0192:")
            .is_some_and(|orgnr| orgnr.len() == 9 && orgnr.bytes().all(|b| b.is_ascii_digit()));
        if !valid {
            return Err(Invalid::Violations(vec![Violation {
                field: "standardBusinessDocumentHeader.sender[].identifier.value",
                message: "Must be 0192: followed by a nine-digit organisasjonsnummer",
                rejected: json!(sender),
            }]));
        }
    }
    let receiver =
        text_at(sbd, "/standardBusinessDocumentHeader/receiver/0/identifier/value").unwrap_or_default().to_owned();
    if receiver.len() != 11 || !receiver.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::Violations(vec![Violation {
            field: "standardBusinessDocumentHeader.receiver[].identifier.value",
            message: "Must be a fødselsnummer or d-nummer (11 digits)",
            rejected: json!(receiver),
        }]));
    }

    // The business message.
    let mut found = Vec::new();
    let digital = sbd.get("digital").cloned().unwrap_or(Value::Null);
    let security_level = match digital.get("sikkerhetsnivaa") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    if !matches!(security_level, Some(3 | 4)) {
        found.push(Violation {
            field: "digital.sikkerhetsnivaa",
            message: "Must be 3 or 4",
            rejected: digital.get("sikkerhetsnivaa").cloned().unwrap_or(Value::Null),
        });
    }
    let mut required_text = |pointer: &str, field: &'static str| -> String {
        match text_at(&digital, pointer) {
            Some(text) => text.to_owned(),
            None => {
                found.push(Violation { field, message: "Must not be null", rejected: Value::Null });
                String::new()
            }
        }
    };
    let hoveddokument = required_text("/hoveddokument", "digital.hoveddokument");
    let title = required_text("/tittel", "digital.tittel");
    required_text("/spraak", "digital.spraak");
    required_text("/digitalPostInfo/virkningsdato", "digital.digitalPostInfo.virkningsdato");
    let opening_receipt = match digital.pointer("/digitalPostInfo/aapningskvittering") {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    if opening_receipt.is_none() {
        found.push(Violation {
            field: "digital.digitalPostInfo.aapningskvittering",
            message: "Must not be null",
            rejected: Value::Null,
        });
    }
    if !found.is_empty() {
        return Err(Invalid::Violations(found));
    }

    // Echo what the integrasjonspunkt fills in.
    if let Some(identification) = sbd.pointer_mut("/standardBusinessDocumentHeader/documentIdentification") {
        identification["instanceIdentifier"] = json!(message_id.to_string());
        if identification.get("creationDateAndTime").is_none() {
            identification["creationDateAndTime"] = json!(now_text());
        }
    }
    Ok(DigitalLetter {
        message_id,
        conversation_id,
        receiver,
        title,
        process,
        hoveddokument,
        opening_receipt: opening_receipt.unwrap_or(false),
    })
}

/// Creates a message from its Standard Business Document.
async fn create_message(
    State(sim): State<Arc<IntegrasjonspunktSim>>,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    sim.maybe_stall().await;
    let path = uri.path();
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return refuse(rejection.status(), path, "InputStreamException", rejection.body_text()),
    };
    let Ok(mut sbd) = serde_json::from_slice::<Value>(&body) else {
        return refuse(StatusCode::BAD_REQUEST, path, "HttpMessageNotReadableException", "JSON parse error");
    };
    let mut state = lock(&sim.state);
    let letter = match validate(&mut sbd, &mut state) {
        Ok(letter) => letter,
        Err(invalid) => return invalid.into_response(path),
    };
    let received = ReceivedMessage {
        message_id: letter.message_id,
        conversation_id: letter.conversation_id,
        receiver: letter.receiver,
        title: letter.title,
        process: letter.process,
        files: Vec::new(),
        times_created: 1,
        times_sent: 0,
        sent: false,
        status: String::new(),
        sbd: sbd.clone(),
    };
    state.messages.push(SimMessage {
        received,
        hoveddokument: letter.hoveddokument,
        opening_receipt: letter.opening_receipt,
        sent: None,
        statuses: Vec::new(),
    });
    let index = state.messages.len() - 1;
    state.push_status(index, "OPPRETTET", "Opprettet".to_owned(), OffsetDateTime::now_utc());
    (StatusCode::OK, axum::Json(sbd)).into_response()
}

/// Shows a message that is still in the outbox (created, not yet sent).
async fn get_message(
    State(sim): State<Arc<IntegrasjonspunktSim>>,
    Path(message_id): Path<String>,
    uri: Uri,
) -> Response {
    sim.maybe_stall().await;
    let mut state = lock(&sim.state);
    match uuid::Uuid::parse_str(&message_id).ok().and_then(|id| state.find(id)) {
        Some(message) if message.is_in_outbox() => {
            (StatusCode::OK, axum::Json(message.received.sbd.clone())).into_response()
        }
        _ => message_not_found(uri.path(), &message_id),
    }
}

// --- Upload -------------------------------------------------------------------------------------

/// The `filename` (or RFC 5987 `filename*`) and `name` parameters of a `Content-Disposition`.
fn disposition_parameters(value: &str) -> HashMap<String, String> {
    let mut parameters = HashMap::new();
    for part in value.split(';').skip(1) {
        let Some((key, raw)) = part.split_once('=') else { continue };
        let key = key.trim().to_ascii_lowercase();
        let raw = raw.trim();
        let value = if let Some(encoded) = key.ends_with('*').then(|| raw.split_once("''").map(|(_, v)| v)).flatten() {
            percent_decode(encoded)
        } else {
            raw.trim_matches('"').to_owned()
        };
        parameters.insert(key, value);
    }
    if let Some(extended) = parameters.remove("filename*") {
        parameters.insert("filename".to_owned(), extended);
    }
    parameters
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn readable_size(bytes: u64) -> String {
    if bytes < 1024 * 1024 { format!("{bytes}b") } else { format!("{}MB", bytes / (1024 * 1024)) }
}

/// Uploads one file to a message in the outbox.
async fn upload_file(
    State(sim): State<Arc<IntegrasjonspunktSim>>,
    Path(message_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    sim.maybe_stall().await;
    let path = uri.path();
    let header_text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let Some(disposition) = header_text(header::CONTENT_DISPOSITION) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            path,
            "MissingHttpHeaderException",
            "Expected a HTTP header named 'Content-Disposition'",
        );
    };
    let Some(content_type) = header_text(header::CONTENT_TYPE) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            path,
            "MissingHttpHeaderException",
            "Expected a HTTP header named 'Content-Type'",
        );
    };
    let parameters = disposition_parameters(&disposition);
    let Some(filename) = parameters.get("filename").filter(|f| !f.trim().is_empty()).cloned() else {
        return refuse(
            StatusCode::BAD_REQUEST,
            path,
            "MissingHttpHeaderException",
            "Expected a HTTP header named 'Content-Disposition' with a filename",
        );
    };
    let title =
        query.get("title").or_else(|| parameters.get("name")).map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());

    let mut state = lock(&sim.state);
    let Some(message) =
        uuid::Uuid::parse_str(&message_id).ok().and_then(|id| state.find(id)).filter(|m| m.is_in_outbox())
    else {
        return message_not_found(path, &message_id);
    };
    if message.received.files.iter().any(|f| f.filename == filename) {
        return refuse(
            StatusCode::BAD_REQUEST,
            path,
            "DuplicateFilenameException",
            format!("Filename already exists in message: {filename}."),
        );
    }
    let limit = sim.behaviour.max_total_bytes;
    let body = match body {
        Ok(body) => body,
        Err(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                path,
                "MaxFileSizeExceededException",
                format!(
                    "The combined file size for all attachments (more than {}) exceeds the maximum allowed upload size for the target service (DPI, {})",
                    readable_size(limit),
                    readable_size(limit)
                ),
            );
        }
    };
    let media_type = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if media_type != "application/pdf" || !body.starts_with(b"%PDF-") {
        return refuse(
            StatusCode::BAD_REQUEST,
            path,
            "InvalidContentTypeException",
            format!("Only PDF documents are accepted; {filename} is {media_type}"),
        );
    }
    let size = u64::try_from(body.len()).unwrap_or(u64::MAX);
    let total = message.received.files.iter().map(|f| f.size).sum::<u64>().saturating_add(size);
    if total > limit {
        return refuse(
            StatusCode::BAD_REQUEST,
            path,
            "MaxFileSizeExceededException",
            format!(
                "The combined file size for all attachments ({}) exceeds the maximum allowed upload size for the target service (DPI, {})",
                readable_size(total),
                readable_size(limit)
            ),
        );
    }
    if title.is_none() && filename != message.hoveddokument {
        return refuse(
            StatusCode::BAD_REQUEST,
            path,
            "MissingFileTitleException",
            "Title is required for the following capabilities: DPI",
        );
    }
    let sha256 = Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
    message.received.files.push(ReceivedFile { filename, title, content_type: media_type, size, sha256 });
    StatusCode::OK.into_response()
}

// --- Send ---------------------------------------------------------------------------------------

/// Sends a message: it leaves the outbox for the provider.
async fn send_message(
    State(sim): State<Arc<IntegrasjonspunktSim>>,
    Path(message_id): Path<String>,
    uri: Uri,
) -> Response {
    sim.maybe_stall().await;
    let path = uri.path();
    let failure = sim.roll(sim.behaviour.fail_rate).then(|| {
        "Postkasseleverandøren avviste meldingen: mottakerens postkasse tar ikke imot post (simulert)".to_owned()
    });
    let mut state = lock(&sim.state);
    let Some(index) = uuid::Uuid::parse_str(&message_id)
        .ok()
        .and_then(|id| state.messages.iter().position(|m| m.received.message_id == id))
    else {
        return message_not_found(path, &message_id);
    };
    let message = &mut state.messages[index];
    message.received.times_sent += 1;
    if !message.is_in_outbox() {
        return message_not_found(path, &message_id);
    }
    if message.received.files.is_empty() {
        return refuse(
            StatusCode::BAD_REQUEST,
            path,
            "MissingFileException",
            "There must always be at least one attachment",
        );
    }
    if !message.received.files.iter().any(|f| f.filename == message.hoveddokument) {
        return refuse(
            StatusCode::BAD_REQUEST,
            path,
            "MissingPrimaryDocumentException",
            "Missing a primary document. Please specify the hoveddokument property in the business message and verify that is equal to one of the filenames.",
        );
    }
    message.received.sent = true;
    message.sent = Some(Sending { at: Instant::now(), wall: OffsetDateTime::now_utc(), failure, recorded: 0 });
    state.advance(&sim.behaviour, Instant::now());
    StatusCode::OK.into_response()
}

// --- Statuses -----------------------------------------------------------------------------------

fn status_page(
    state: &SimState,
    message_id: Option<uuid::Uuid>,
    status: Option<&str>,
    query: &HashMap<String, String>,
) -> Value {
    let mut statuses: Vec<(&SimMessage, &SimStatus)> = state
        .messages
        .iter()
        .filter(|m| message_id.is_none_or(|id| m.received.message_id == id))
        .flat_map(|m| m.statuses.iter().map(move |s| (m, s)))
        .filter(|(_, s)| status.is_none_or(|wanted| s.status == wanted))
        .collect();
    statuses.sort_by_key(|(_, s)| s.id);
    let descending = query.get("sort").is_some_and(|s| s.to_ascii_lowercase().ends_with(",desc"));
    if descending {
        statuses.reverse();
    }
    let size = query.get("size").and_then(|s| s.parse::<usize>().ok()).filter(|s| *s > 0).unwrap_or(10).min(2000);
    let number = query.get("page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(0);
    let total = statuses.len();
    let content: Vec<Value> = statuses
        .iter()
        .skip(number.saturating_mul(size))
        .take(size)
        .map(|(m, s)| {
            json!({
                "id": s.id,
                "lastUpdate": s.last_update.replace_nanosecond(0).unwrap_or(s.last_update).format(&Rfc3339).unwrap_or_default(),
                "status": s.status,
                "description": s.description,
                "convId": state.messages.iter().position(|x| x.received.message_id == m.received.message_id).map_or(0, |p| p + 1),
                "conversationId": m.received.conversation_id.to_string(),
                "messageId": m.received.message_id.to_string(),
            })
        })
        .collect();
    let total_pages = total.div_ceil(size);
    json!({
        "content": content,
        "totalElements": total,
        "totalPages": total_pages,
        "last": number + 1 >= total_pages,
        "first": number == 0,
        "size": size,
        "number": number,
        "numberOfElements": content.len(),
        "empty": content.is_empty(),
        "sort": { "sorted": true, "unsorted": false, "empty": false },
    })
}

/// Finds statuses, optionally for one `messageId` and one `status`.
async fn find_statuses(
    State(sim): State<Arc<IntegrasjonspunktSim>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    sim.maybe_stall().await;
    let message_id = match query.get("messageId").map(|id| uuid::Uuid::parse_str(id)) {
        Some(Ok(id)) => Some(id),
        // An id that is not a UUID matches nothing.
        Some(Err(_)) => return axum::Json(status_page(&SimState::default(), None, None, &query)).into_response(),
        None => None,
    };
    let mut state = lock(&sim.state);
    state.advance(&sim.behaviour, Instant::now());
    axum::Json(status_page(&state, message_id, query.get("status").map(String::as_str), &query)).into_response()
}

/// All statuses of one message (an empty page for a message it does not know).
async fn statuses_by_message_id(
    State(sim): State<Arc<IntegrasjonspunktSim>>,
    Path(message_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    sim.maybe_stall().await;
    let Ok(message_id) = uuid::Uuid::parse_str(&message_id) else {
        return axum::Json(status_page(&SimState::default(), None, None, &query)).into_response();
    };
    let mut state = lock(&sim.state);
    state.advance(&sim.behaviour, Instant::now());
    axum::Json(status_page(&state, Some(message_id), None, &query)).into_response()
}

/// What the simulator received (not part of the real API).
async fn received_messages(State(sim): State<Arc<IntegrasjonspunktSim>>) -> Response {
    axum::Json(sim.messages()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_give_their_file_name_and_title() {
        let plain = disposition_parameters("attachment; name=Before The Law; filename=before_the_law.txt");
        assert_eq!(plain.get("filename").map(String::as_str), Some("before_the_law.txt"));
        assert_eq!(plain.get("name").map(String::as_str), Some("Before The Law"));
        let extended = disposition_parameters("attachment; filename=\"s_knad.pdf\"; filename*=UTF-8''s%C3%B8knad.pdf");
        assert_eq!(extended.get("filename").map(String::as_str), Some("søknad.pdf"));
    }

    #[test]
    fn a_read_receipt_is_scheduled_only_when_asked_for() {
        let behaviour = Behaviour::reliable();
        let mut message = SimMessage {
            received: ReceivedMessage {
                message_id: uuid::Uuid::nil(),
                conversation_id: uuid::Uuid::nil(),
                receiver: String::new(),
                title: String::new(),
                process: String::new(),
                files: Vec::new(),
                times_created: 1,
                times_sent: 1,
                sent: true,
                status: String::new(),
                sbd: Value::Null,
            },
            hoveddokument: String::new(),
            opening_receipt: false,
            sent: Some(Sending { at: Instant::now(), wall: OffsetDateTime::now_utc(), failure: None, recorded: 0 }),
            statuses: Vec::new(),
        };
        let names = |m: &SimMessage| m.schedule(&behaviour).into_iter().map(|(_, s, _)| s).collect::<Vec<_>>();
        assert_eq!(names(&message), ["SENDT", "MOTTATT", "LEVERT"]);
        message.opening_receipt = true;
        assert_eq!(names(&message), ["SENDT", "MOTTATT", "LEVERT", "LEST"]);
        if let Some(sending) = message.sent.as_mut() {
            sending.failure = Some("refused".into());
        }
        assert_eq!(names(&message), ["SENDT", "MOTTATT", "FEIL"]);
    }
}
