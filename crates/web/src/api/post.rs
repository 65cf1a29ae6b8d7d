//! Digital post for other agencies' systems (fagsystemer), modelled on SvarUt's forsendelse: a
//! machine client with the scope `allmenning:post.send` sends a letter (PDF documents, base64
//! in JSON), follows its status, and polls a feed of status events. A client sees only the
//! letters it sent itself: the sender of a letter is `klient:{client_id}` from the token.

use ::post::{Document, LetterRow, NewLetter, PostError, Recipient, Sender, TemplateContent};
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use kernel::{Fnr, Kommunenummer, OrgNr, Timestamp};
use serde::{Deserialize, Serialize};
use store::events::Position;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::AppState;
use crate::api::machine::{MachineClient, authorize};
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppQuery, Municipality};

/// The scope that sends letters (and reads the letters sent).
pub const SEND_SCOPE: &str = "allmenning:post.send";
/// The scope that only reads the letters sent.
pub const READ_SCOPE: &str = "allmenning:post.read";

/// A one-page PDF, base64: the examples are letters the server takes as they are.
const EXAMPLE_PDF: &str = "JVBERi0xLjcKMSAwIG9iago8PCAvVHlwZSAvQ2F0YWxvZyAvUGFnZXMgMiAwIFIgPj4KZW5kb2JqCjIgMCBvYmoKPDwgL1R5cGUgL1BhZ2VzIC9LaWRzIFszIDAgUl0gL0NvdW50IDEgPj4KZW5kb2JqCjMgMCBvYmoKPDwgL1R5cGUgL1BhZ2UgL1BhcmVudCAyIDAgUiAvTWVkaWFCb3ggWzAgMCA1OTUgODQyXSA+PgplbmRvYmoKeHJlZgowIDQKMDAwMDAwMDAwMCA2NTUzNSBmIAowMDAwMDAwMDA5IDAwMDAwIG4gCjAwMDAwMDAwNTggMDAwMDAgbiAKMDAwMDAwMDExNSAwMDAwMCBuIAp0cmFpbGVyCjw8IC9TaXplIDQgL1Jvb3QgMSAwIFIgPj4Kc3RhcnR4cmVmCjE4NgolJUVPRgo=";

/// Events scanned at most per call of the feed, whoever they belong to: a client whose letters
/// are few among many still gets an answer quickly, and a `neste` to go on from.
const FEED_SCAN_LIMIT: u32 = 1000;
/// Events read from the outbox at a time while scanning.
const FEED_PAGE: u32 = 250;

/// This module's part of the OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    paths(send, letter, letters, events),
    components(schemas(
        NyForsendelse,
        Mottaker,
        MottakerType,
        NyttDokument,
        Mal,
        MalType,
        Forsendelse,
        Statusendring,
        ForsendelseLinks,
        Link,
        ForsendelseListe,
        StatusHendelse,
        StatusHendelseData,
        Hendelser,
    )),
    tags((name = "post", description = "Digital post: letters from other agencies' systems (SvarUt's forsendelse), their status and a feed of status events, with Maskinporten tokens")),
)]
pub(super) struct Fragment;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/post/forsendelser", get(letters).post(send))
        .route("/api/v1/post/forsendelser/{id}", get(letter))
        .route("/api/v1/post/hendelser", get(events))
}

// ----- Who asks -----

/// A client with `allmenning:post.send`.
#[derive(Debug)]
pub struct PostSender(pub MachineClient);

impl axum::extract::FromRequestParts<AppState> for PostSender {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        authorize(parts, state, SEND_SCOPE).await.map(PostSender)
    }
}

/// A client with `allmenning:post.read` or `allmenning:post.send`: both may follow their own
/// letters.
#[derive(Debug)]
pub struct PostReader(pub MachineClient);

impl axum::extract::FromRequestParts<AppState> for PostReader {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match authorize(parts, state, READ_SCOPE).await {
            Ok(client) => Ok(PostReader(client)),
            // A valid token without the read scope may still carry the send scope. Only a
            // refusal for the scope is asked again; a bad token stays refused (and logged once).
            Err(refused) if refused.status() == StatusCode::FORBIDDEN => {
                match authorize(parts, state, SEND_SCOPE).await {
                    Ok(client) => Ok(PostReader(client)),
                    Err(refused) if refused.status() == StatusCode::FORBIDDEN => Err(Problem::new(
                        StatusCode::FORBIDDEN,
                        "insufficient_scope",
                        "The token lacks the scope this API needs",
                        Some(format!("required scope: {READ_SCOPE} or {SEND_SCOPE}")),
                    )
                    .into_response()),
                    Err(refused) => Err(refused),
                }
            }
            Err(refused) => Err(refused),
        }
    }
}

/// The sender id of a client's letters.
fn sender_id(client: &MachineClient) -> String {
    format!("klient:{}", client.0.client_id)
}

// ----- The request -----

/// A letter to send (SvarUt's forsendelse). Give the documents as PDFs in `dokumenter`, or let
/// the platform write the letter from one of its templates (`mal`), with PDF attachments in
/// `vedlegg`.
///
/// The whole request body may be at most the server's body limit (`server.max_body_bytes`,
/// 1 MiB by default; base64 makes a PDF a third larger), and each PDF at most the post limit
/// (`post.max_document_bytes`); a larger body is refused with 413.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({
    "mottaker": { "type": "person", "id": "14839221100" },
    "tittel": "Vedtak om barnehageplass",
    "avsenderEnhet": "Barnehagekontoret",
    "dokumenter": [{ "tittel": "Vedtak", "filnavn": "vedtak.pdf", "data": EXAMPLE_PDF }],
    "kunDigitalLevering": false,
    "krevNivaa4": false,
    "kanBesvares": true,
    "eksternReferanse": "barnehage-2026-00017"
}))]
pub struct NyForsendelse {
    /// Who the letter is for.
    pub mottaker: Mottaker,
    /// The title, shown in the recipient's inbox and in the archive: 1–200 characters, not
    /// blank. A letter to a digital mailbox shows it before login, so it must hold no
    /// sensitive information.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$",
        example = "Vedtak om barnehageplass"
    )]
    pub tittel: String,
    /// The sending unit (administrativ enhet) that answers for the letter: 1–200 characters,
    /// not blank.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$",
        example = "Barnehagekontoret"
    )]
    pub avsender_enhet: String,
    /// The documents, main document first, then attachments: 1–20 PDFs. Required unless
    /// `mal` is given.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub dokumenter: Vec<NyttDokument>,
    /// Template mode, instead of `dokumenter`: the platform writes the letter from a template
    /// as PDF/A, in the recipient's language (from KRR), with the case reference it is
    /// journaled under. Every field the template requires must be given, and no field it does
    /// not know (`invalid_template` otherwise).
    #[serde(default)]
    pub mal: Option<Mal>,
    /// Attachments to a letter written from `mal` (PDFs). Only with `mal`.
    #[serde(default)]
    #[schema(max_items = 19)]
    pub vedlegg: Vec<NyttDokument>,
    /// Never on paper: if the recipient cannot be reached digitally, the letter is not
    /// delivered and the sending unit gets a task.
    #[serde(default)]
    pub kun_digital_levering: bool,
    /// Opening the letter requires security level 4 (otherwise 3).
    #[serde(default)]
    pub krev_nivaa4: bool,
    /// The recipient may answer the letter (SvarUt's `svarSendesTil`: the answer comes to the
    /// municipality through Min side).
    #[serde(default)]
    pub kan_besvares: bool,
    /// The sending system's own reference: 1–200 characters. Sending again with the same
    /// reference answers 200 with the first letter instead of sending a second.
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$",
        example = "barnehage-2026-00017"
    )]
    pub ekstern_referanse: Option<String>,
    /// The systemID of an existing saksmappe the outgoing journalpost goes in; without it a
    /// new saksmappe is made.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
    pub saksmappe: Option<String>,
    /// The systemID of an incoming journalpost this letter answers; it is written off
    /// (besvart med brev) when the letter is sent.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
    pub besvarer_journalpost: Option<String>,
}

/// The recipient.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Mottaker {
    /// A person (by fødselsnummer or d-nummer) or an organisation (by organisasjonsnummer).
    #[serde(rename = "type")]
    pub kind: MottakerType,
    /// The fødselsnummer (11 digits) or organisasjonsnummer (9 digits), with valid check digits.
    #[schema(pattern = "^[0-9]{9}([0-9]{2})?$", example = "14839221100")]
    pub id: String,
}

/// What kind of recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MottakerType {
    /// A person in Folkeregisteret.
    Person,
    /// An organisation in Enhetsregisteret.
    Organisasjon,
}

/// A document: a PDF, base64 encoded.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NyttDokument {
    /// The title: 1–200 characters, not blank.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$",
        example = "Vedtak"
    )]
    pub tittel: String,
    /// The file name the sending system knows it by (for its own records; the archive names
    /// the files by their place in the letter).
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$",
        example = "vedtak.pdf"
    )]
    pub filnavn: Option<String>,
    /// The PDF, base64 (RFC 4648, with padding). It must be a readable PDF, not encrypted,
    /// with at least one page.
    #[schema(
        content_encoding = "base64",
        content_media_type = "application/pdf",
        pattern = r"^[A-Za-z0-9+/]*={0,2}$",
        example = json!(EXAMPLE_PDF)
    )]
    pub data: String,
}

/// Template mode: which template, and what goes into it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Mal {
    /// The template.
    #[serde(rename = "type")]
    pub kind: MalType,
    /// The template's fields, by name, as text: for `vedtak` `tjeneste`, `vedtak` and
    /// `begrunnelse` (required), `hjemmel` and `klageinstans`; for `kvittering` `innsending` and
    /// `mottatt` (required) and `saksbehandlingstid`; for the others see `docs/POST.md`.
    #[serde(default)]
    #[schema(schema_with = fields_schema)]
    pub felter: std::collections::BTreeMap<String, String>,
    /// Free paragraphs, in order.
    #[serde(default)]
    #[schema(schema_with = paragraphs_schema)]
    pub avsnitt: Vec<String>,
}

/// What the edge lets through in any text (`middleware::edge`): no control characters but tab,
/// line feed and carriage return.
const NO_CONTROL: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$";

fn text_without_control() -> utoipa::openapi::ObjectBuilder {
    utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::String).pattern(Some(NO_CONTROL))
}

fn fields_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Object)
        .property_names(Some(text_without_control()))
        .additional_properties(Some(text_without_control()))
        .description(Some("The template's fields, by name, as text."))
        .build()
}

fn paragraphs_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(text_without_control().build())
        .description(Some("Free paragraphs, in order."))
        .build()
}

/// The letter templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MalType {
    /// A decision (vedtak), with the right to appeal.
    Vedtak,
    /// A receipt.
    Kvittering,
    /// Information.
    Informasjon,
    /// A reminder.
    Paaminnelse,
    /// A free letter.
    Fritt,
}

impl MalType {
    fn kind(self) -> render::LetterKind {
        match self {
            MalType::Vedtak => render::LetterKind::Vedtak,
            MalType::Kvittering => render::LetterKind::Kvittering,
            MalType::Informasjon => render::LetterKind::Informasjon,
            MalType::Paaminnelse => render::LetterKind::Paaminnelse,
            MalType::Fritt => render::LetterKind::Fritt,
        }
    }
}

// ----- The answers -----

/// A letter as its sender follows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Forsendelse {
    /// Its id.
    #[schema(format = "uuid")]
    pub id: String,
    /// Its status, as SvarUt names them.
    #[schema(schema_with = status_schema)]
    pub status: String,
    /// The channel chosen: the recipient's digital mailbox, the Min side inbox, paper, manual
    /// handling by the sending unit, or none.
    #[schema(schema_with = channel_schema)]
    pub kanal: Option<String>,
    /// Why that channel or status: a stable code (`digital_postkasse_i_krr`, `reservert_i_krr`,
    /// …) or, after a failed delivery, a sentence.
    pub aarsak: Option<String>,
    /// The outgoing journalpost's registreringsID in the archive (`2026/17-2`).
    #[schema(example = "2026/17-2")]
    pub registrerings_id: Option<String>,
    /// The sending system's reference.
    pub ekstern_referanse: Option<String>,
    /// The title.
    pub tittel: String,
    /// The saksmappe (systemID).
    pub saksmappe: Option<String>,
    /// The outgoing journalpost (systemID).
    pub journalpost: Option<String>,
    /// When it was received, RFC 3339.
    #[schema(format = DateTime)]
    pub opprettet: String,
    /// When its status last changed, RFC 3339.
    #[schema(format = DateTime)]
    pub sist_endret: String,
    /// Every status it has had, oldest first (not in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub historikk: Option<Vec<Statusendring>>,
    /// Links: itself, and its journalpost in the Noark 5 API (which needs the scope
    /// `allmenning:noark5`).
    #[serde(rename = "_links")]
    pub links: ForsendelseLinks,
}

/// One status a letter reached.
#[derive(Debug, Serialize, ToSchema)]
pub struct Statusendring {
    /// The status.
    #[schema(schema_with = status_schema)]
    pub status: String,
    /// Why, when there is a reason.
    pub aarsak: Option<String>,
    /// When, RFC 3339.
    #[schema(format = DateTime)]
    pub tidspunkt: String,
}

/// A letter's links (HAL).
#[derive(Debug, Serialize, ToSchema)]
pub struct ForsendelseLinks {
    /// The letter.
    #[serde(rename = "self")]
    pub self_link: Link,
    /// Its outgoing journalpost in the Noark 5 API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journalpost: Option<Link>,
}

/// A link.
#[derive(Debug, Serialize, ToSchema)]
pub struct Link {
    /// Where, on this host.
    #[schema(example = "/api/v1/post/forsendelser/01938a6e-7c1a-7b3e-9f00-3c2d1e0f4a5b")]
    pub href: String,
}

/// Letters this client sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct ForsendelseListe {
    /// Newest first.
    pub forsendelser: Vec<Forsendelse>,
}

/// A page of the status feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Hendelser {
    /// This client's status events, in the order they happened.
    pub hendelser: Vec<StatusHendelse>,
    /// The cursor to ask from next time (`etter`): the position of the last event looked at,
    /// which may be past the last event shown. Opaque; keep it as it is.
    #[schema(pattern = r"^[0-9]{1,18}\.[0-9]{1,18}$", example = "0.42")]
    pub neste: String,
}

/// A status event, as a CloudEvents 1.0 envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusHendelse {
    /// Always `1.0`.
    #[schema(example = "1.0")]
    pub specversion: String,
    /// The event's id.
    pub id: String,
    /// What produced it.
    #[schema(example = "/post")]
    pub source: String,
    /// Always `no.allmenning.post.letter.status.v1`.
    #[serde(rename = "type")]
    #[schema(example = "no.allmenning.post.letter.status.v1")]
    pub event_type: String,
    /// The letter's id.
    pub subject: Option<String>,
    /// When, RFC 3339.
    #[schema(format = DateTime)]
    pub time: String,
    /// Always `application/json`.
    pub datacontenttype: String,
    /// The municipality.
    #[schema(pattern = "^[0-9]{4}$", example = "4601")]
    pub kommunenummer: Option<String>,
    /// The change.
    pub data: StatusHendelseData,
}

/// What changed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusHendelseData {
    /// The letter's id.
    #[schema(format = "uuid")]
    pub forsendelse: String,
    /// The status it reached.
    #[schema(schema_with = status_schema)]
    pub status: String,
    /// Why, when there is a reason.
    pub aarsak: Option<String>,
    /// The sender: `klient:{client_id}`.
    pub avsender: String,
    /// The sending system's reference.
    pub ekstern_referanse: Option<String>,
}

fn status_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(::post::Status::ALL.map(::post::Status::as_str)))
        .description(Some("SvarUt's status: MOTTATT, AKSEPTERT, AVVIST, VARSLET, LEST, SENDT_PRINT, PRINTET, SENDT_DIGITALT, SENDT_SDP, LEVERT_SDP, IKKE_LEVERT or MANUELT_HANDTERT."))
        .build()
}

/// The channels a letter can take (`post::routing::Route::channel`), or none yet.
const CHANNELS: [&str; 5] = ["digital_postkasse", "innboks", "papir", "manuell", "ingen"];

fn channel_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    let values = CHANNELS.iter().map(|c| serde_json::Value::from(*c)).chain([serde_json::Value::Null]);
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
        .description(Some(
            "The channel: `digital_postkasse`, `innboks`, `papir`, `manuell` or `ingen`; null before it is routed.",
        ))
        .build()
}

fn rfc3339(millis: i64) -> String {
    Timestamp(millis).to_rfc3339()
}

fn view(letter: &LetterRow, history: Option<Vec<::post::StatusEntry>>) -> Forsendelse {
    Forsendelse {
        id: letter.id.clone(),
        status: letter.status().as_str().to_owned(),
        kanal: letter.channel.clone(),
        aarsak: letter.reason.clone(),
        registrerings_id: letter.registrerings_id.clone(),
        ekstern_referanse: letter.external_ref.clone(),
        tittel: letter.title.clone(),
        saksmappe: letter.case_id.clone(),
        journalpost: letter.journalpost_id.clone(),
        opprettet: rfc3339(letter.created_at),
        sist_endret: rfc3339(letter.updated_at),
        historikk: history.map(|entries| {
            entries
                .into_iter()
                .map(|entry| Statusendring { status: entry.status, aarsak: entry.reason, tidspunkt: rfc3339(entry.at) })
                .collect()
        }),
        links: ForsendelseLinks {
            self_link: Link { href: format!("/api/v1/post/forsendelser/{}", letter.id) },
            journalpost: letter
                .journalpost_id
                .as_ref()
                .map(|id| Link { href: format!("/noark5/arkivstruktur/journalpost/{id}/") }),
        },
    }
}

// ----- Errors -----

fn bad_request(code: &str, title: &str, detail: String) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, code, title, Some(detail))
}

fn invalid(detail: String) -> Problem {
    bad_request("invalid_forsendelse", "The letter cannot be taken as it is", detail)
}

fn internal(error: &dyn std::fmt::Display, what: &str) -> Problem {
    tracing::error!(error = %error, "{what}");
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Internal server error", None)
}

/// The engine names its fields in English; the API names them as the request does.
fn api_field(message: &str) -> String {
    const NAMES: [(&str, &str); 5] = [
        ("document title", "dokumenter[].tittel"),
        ("title", "tittel"),
        ("sender unit", "avsenderEnhet"),
        ("external reference", "eksternReferanse"),
        ("kind", "mal.type"),
    ];
    for (engine, api) in NAMES {
        if let Some(rest) = message.strip_prefix(engine) {
            return format!("{api}{rest}");
        }
    }
    if message.contains("document") {
        return format!("dokumenter: {message}");
    }
    message.to_owned()
}

/// A refusal of the engine as the client sees it; internal failures are logged here, once.
/// `documents` names the request's documents; `referenced` says whether the request named a
/// saksmappe or journalpost, the only archive objects a client can get wrong.
fn post_problem(error: PostError, documents: &[&str], referenced: bool) -> Problem {
    match error {
        PostError::Invalid(message) => invalid(api_field(&message)),
        PostError::Document { index, reason } => bad_request(
            "invalid_document",
            "A document is not a usable PDF",
            format!("{}.data {reason}", documents.get(index).copied().unwrap_or("dokumenter[]")),
        ),
        PostError::UnknownRecipient(register) => Problem::new(
            StatusCode::NOT_FOUND,
            "unknown_recipient",
            "The recipient is not in the register",
            Some(format!("mottaker.id: not in {register}")),
        ),
        PostError::Register(registers::RegisterError::NotFound | registers::RegisterError::Gone) => Problem::new(
            StatusCode::NOT_FOUND,
            "unknown_recipient",
            "The recipient is not in the register",
            Some("mottaker.id: not in the register".to_owned()),
        ),
        PostError::Register(error) => {
            tracing::error!(error = %error, "a register failed while a letter was sent");
            Problem::new(StatusCode::BAD_GATEWAY, "register_unavailable", "The register could not be read", None)
        }
        PostError::Template(message) => {
            bad_request("invalid_template", "The template cannot be filled", format!("mal: {message}"))
        }
        PostError::NotFound => ApiError::NotFound.problem(),
        PostError::Archive(
            error @ (archive::ArchiveError::Invalid { .. }
            | archive::ArchiveError::WrongParent { .. }
            | archive::ArchiveError::Closed(_)
            | archive::ArchiveError::NotFound),
        ) if referenced => bad_request(
            "archive_refused",
            "The archive refused the saksmappe or journalpost",
            format!("saksmappe or besvarerJournalpost: {error}"),
        ),
        PostError::Archive(error) => internal(&error, "the archive failed while a letter was sent"),
        PostError::Store(error) => internal(&error, "the database failed in the post API"),
    }
}

// ----- Sending -----

/// Sends a letter (SvarUt's `sendForsendelse`). It is checked, journaled as an outgoing
/// journalpost (U) in the archive and routed — to the recipient's digital mailbox, the Min
/// side inbox with a notice, or paper — all at once; delivery follows. Needs a token with the
/// scope `allmenning:post.send`.
///
/// Sending again with the same `eksternReferanse` answers 200 with the first letter and sends
/// nothing. A refused letter leaves nothing behind: nothing is journaled or queued.
#[utoipa::path(
    post,
    path = "/api/v1/post/forsendelser",
    request_body(content = NyForsendelse, content_type = "application/json",
        description = "The letter. The body may be at most the server's body limit (`server.max_body_bytes`, 1 MiB by default)."),
    security(("maskinporten" = ["allmenning:post.send"])),
    responses(
        (status = 201, description = "Sent: checked, journaled and routed", body = Forsendelse,
            headers(("Location" = String, description = "The letter: /api/v1/post/forsendelser/{id}"))),
        (status = 200, description = "A letter with this `eksternReferanse` was sent before: that letter, and nothing new is sent", body = Forsendelse),
        (status = 400, description = "The letter cannot be taken, and `detail` names the field: malformed JSON or JSON of another shape (`malformed_json`: a missing field, an unknown field, a wrong type); a field that breaks its rule, an invalid fødselsnummer or organisasjonsnummer, bad base64, or a missing or unknown saksmappe or journalpost (`invalid_forsendelse`); a document that is not a PDF, is broken, encrypted, has no pages or is over the size limit (`invalid_document`); the archive refusing the saksmappe or journalpost given, say a finished saksmappe or a journalpost that is not incoming (`archive_refused`); a template field missing or unknown (`invalid_template`); or text with control characters", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the scope `allmenning:post.send`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The recipient is not in Folkeregisteret or Enhetsregisteret (`unknown_recipient`)", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body did not arrive in time", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the server's body limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 421, description = "The host belongs to no municipality", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "A register could not be read", body = Problem, content_type = "application/problem+json"),
    ),
    tag = "post"
)]
pub async fn send(
    State(state): State<AppState>,
    PostSender(client): PostSender,
    Municipality(kommune): Municipality,
    AppJson(body): AppJson<NyForsendelse>,
) -> Result<Response, Problem> {
    let (letter, template, documents) = new_letter(&state, kommune, &client, body).await?;
    let names: Vec<&str> = documents.iter().map(String::as_str).collect();
    let referenced = letter.case.is_some() || letter.answers.is_some();
    let sent = match template {
        Some(content) => state.post.send_template(kommune, letter, content).await,
        None => state.post.send(kommune, letter).await,
    }
    .map_err(|error| post_problem(error, &names, referenced))?;
    let row = state
        .post
        .letter(kommune, &sent.id)
        .await
        .map_err(|error| post_problem(error, &[], false))?
        .ok_or_else(|| internal(&"the letter just sent is gone", "a sent letter could not be read"))?;
    let history = state.post.history(kommune, &row.id).await.map_err(|error| post_problem(error, &[], false))?;
    let body = Json(view(&row, Some(history)));
    if !sent.created {
        return Ok((StatusCode::OK, body).into_response());
    }
    let mut response = (StatusCode::CREATED, body).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/post/forsendelser/{}", row.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The engine's letter from the request: the recipient parsed, the documents decoded, the
/// references checked, the template content when the letter is written from one. Also the
/// request's name of each document as the engine counts them (the template's letter first), for
/// the engine's refusals.
async fn new_letter(
    state: &AppState,
    kommune: Kommunenummer,
    client: &MachineClient,
    body: NyForsendelse,
) -> Result<(NewLetter, Option<TemplateContent>, Vec<String>), Problem> {
    let (template, given, field) = match body.mal {
        Some(mal) => {
            if !body.dokumenter.is_empty() {
                return Err(invalid(
                    "dokumenter: a letter written from mal has no dokumenter; give its attachments in vedlegg"
                        .to_owned(),
                ));
            }
            let content = TemplateContent { kind: mal.kind.kind(), fields: mal.felter, paragraphs: mal.avsnitt };
            (Some(content), body.vedlegg, "vedlegg")
        }
        None => {
            if !body.vedlegg.is_empty() {
                return Err(invalid(
                    "vedlegg: attachments go in dokumenter, after the main document; vedlegg is only for mal"
                        .to_owned(),
                ));
            }
            if body.dokumenter.is_empty() {
                return Err(invalid("dokumenter: a letter needs a main document".to_owned()));
            }
            (None, body.dokumenter, "dokumenter")
        }
    };
    let recipient = match body.mottaker.kind {
        MottakerType::Person => Recipient::Person(
            Fnr::parse(body.mottaker.id.trim())
                .map_err(|error| invalid(format!("mottaker.id: not a valid fødselsnummer: {error}")))?,
        ),
        MottakerType::Organisasjon => Recipient::Organisation(
            OrgNr::parse(body.mottaker.id.trim())
                .map_err(|error| invalid(format!("mottaker.id: not a valid organisasjonsnummer: {error}")))?,
        ),
    };
    let mut documents = Vec::with_capacity(given.len());
    let mut names = Vec::with_capacity(given.len() + 1);
    if template.is_some() {
        names.push("mal".to_owned());
    }
    for (index, document) in given.into_iter().enumerate() {
        let name = format!("{field}[{index}]");
        if document.filnavn.as_ref().is_some_and(|f| f.chars().count() > 200) {
            return Err(invalid(format!("{name}.filnavn is longer than 200 characters")));
        }
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(document.data.trim())
            .map_err(|error| invalid(format!("{name}.data is not valid base64: {error}")))?;
        if document.tittel.trim().is_empty() {
            return Err(invalid(format!("{name}.tittel is empty")));
        }
        documents.push(Document { tittel: document.tittel, pdf: pdf.into() });
        names.push(name);
    }
    if let Some(saksmappe) = &body.saksmappe {
        check_reference(state, kommune, "saksmappe", saksmappe, "saksmappe").await?;
    }
    if let Some(journalpost) = &body.besvarer_journalpost {
        check_reference(state, kommune, "besvarerJournalpost", journalpost, "journalpost").await?;
    }
    let letter = NewLetter {
        sender: Sender { id: sender_id(client), name: format!("{} ({})", client.0.client_id, client.0.orgnr) },
        external_ref: body.ekstern_referanse,
        recipient,
        kind: "pdf".to_owned(), // the engine names a template letter by its template
        title: body.tittel,
        sender_unit: body.avsender_enhet,
        documents,
        digital_only: body.kun_digital_levering,
        security_level: if body.krev_nivaa4 { 4 } else { 3 },
        reply_allowed: body.kan_besvares,
        case: body.saksmappe.map(|id| id.trim().to_owned()),
        answers: body.besvarer_journalpost.map(|id| id.trim().to_owned()),
        language: None,
    };
    Ok((letter, template, names))
}

/// A reference to the archive names an object of the right kind in this municipality.
async fn check_reference(
    state: &AppState,
    kommune: Kommunenummer,
    field: &str,
    system_id: &str,
    entity: &str,
) -> Result<(), Problem> {
    match state.archive.get(kommune, system_id.trim()).await {
        Ok(object) if object.entity.name == entity => Ok(()),
        Ok(object) => Err(invalid(format!("{field}: {system_id} is a {}, not a {entity}", object.entity.name))),
        Err(archive::ArchiveError::NotFound | archive::ArchiveError::Invalid { .. }) => {
            Err(invalid(format!("{field}: there is no {entity} with this systemID")))
        }
        Err(error) => Err(internal(&error, "the archive failed while a reference was checked")),
    }
}

// ----- Following -----

/// One letter this client sent, with its status history. Needs a token with the scope
/// `allmenning:post.read` or `allmenning:post.send`. Another client's letter is not found.
#[utoipa::path(
    get,
    path = "/api/v1/post/forsendelser/{id}",
    params(("id" = String, Path, format = "uuid", description = "The letter's id, as sending it answered")),
    security(("maskinporten" = ["allmenning:post.read"]), ("maskinporten" = ["allmenning:post.send"])),
    responses(
        (status = 200, description = "The letter", body = Forsendelse),
        (status = 400, description = "Control characters in the path", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token has neither `allmenning:post.read` nor `allmenning:post.send`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No letter with this id that this client sent", body = Problem, content_type = "application/problem+json"),
        (status = 421, description = "The host belongs to no municipality", body = Problem, content_type = "application/problem+json"),
    ),
    tag = "post"
)]
pub async fn letter(
    State(state): State<AppState>,
    PostReader(client): PostReader,
    Municipality(kommune): Municipality,
    Path(id): Path<String>,
) -> Result<Json<Forsendelse>, Problem> {
    let letter = state
        .post
        .letter(kommune, &id)
        .await
        .map_err(|error| post_problem(error, &[], false))?
        .filter(|letter| letter.sender == sender_id(&client))
        .ok_or_else(|| ApiError::NotFound.problem())?;
    let history = state.post.history(kommune, &letter.id).await.map_err(|error| post_problem(error, &[], false))?;
    Ok(Json(view(&letter, Some(history))))
}

/// How many letters or events a page holds: 1 to 100. Anything else is refused rather than
/// quietly clamped.
#[derive(Debug, Clone, Copy)]
struct Count(u32);

impl Count {
    const MAX: u32 = 100;
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse::<u32>()
            .ok()
            .filter(|n| (1..=Self::MAX).contains(n))
            .map(Count)
            .ok_or_else(|| serde::de::Error::custom(format!("must be a whole number from 1 to {}", Self::MAX)))
    }
}

/// Which letters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct LettersQuery {
    /// Only the letter with this reference of the sending system.
    #[param(value_type = String, required = false, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
    ekstern_referanse: Option<String>,
    /// At most this many, newest first (1–100, default 20).
    #[param(value_type = u32, required = false, minimum = 1, maximum = 100)]
    antall: Option<Count>,
}

/// The letters this client sent, newest first; with `eksternReferanse`, the one letter sent
/// with that reference (or none). Needs a token with the scope `allmenning:post.read` or
/// `allmenning:post.send`.
#[utoipa::path(
    get,
    path = "/api/v1/post/forsendelser",
    params(LettersQuery),
    security(("maskinporten" = ["allmenning:post.read"]), ("maskinporten" = ["allmenning:post.send"])),
    responses(
        (status = 200, description = "The letters (without their history)", body = ForsendelseListe),
        (status = 400, description = "A query parameter broke its rule (`malformed_query`), or the query string holds control characters", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token has neither `allmenning:post.read` nor `allmenning:post.send`", body = Problem, content_type = "application/problem+json"),
        (status = 421, description = "The host belongs to no municipality", body = Problem, content_type = "application/problem+json"),
    ),
    tag = "post"
)]
pub async fn letters(
    State(state): State<AppState>,
    PostReader(client): PostReader,
    Municipality(kommune): Municipality,
    AppQuery(query): AppQuery<LettersQuery>,
) -> Result<Json<ForsendelseListe>, Problem> {
    let sender = sender_id(&client);
    let found = match &query.ekstern_referanse {
        Some(reference) => state
            .post
            .by_external_ref(kommune, &sender, reference)
            .await
            .map_err(|error| post_problem(error, &[], false))?
            .into_iter()
            .collect(),
        None => {
            let antall = query.antall.map_or(20, |Count(n)| n);
            state
                .post
                .sent_by(kommune, &sender, i64::from(antall))
                .await
                .map_err(|error| post_problem(error, &[], false))?
        }
    };
    Ok(Json(ForsendelseListe { forsendelser: found.iter().map(|letter| view(letter, None)).collect() }))
}

/// A position in the event feed, as the client holds it: `{txid}.{seq}`.
#[derive(Debug, Clone, Copy)]
struct Cursor(Position);

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let parse =
            |part: &str| part.parse::<i64>().ok().filter(|n| *n >= 0 && part.bytes().all(|b| b.is_ascii_digit()));
        text.split_once('.')
            .and_then(|(txid, seq)| Some(Cursor(Position { txid: parse(txid)?, seq: parse(seq)? })))
            .ok_or_else(|| serde::de::Error::custom("must be a cursor this API gave (`neste`), such as 0.42"))
    }
}

/// Where to read the feed from.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// The `neste` of the previous page; from the start of the feed when left out.
    #[param(value_type = String, required = false, pattern = r"^[0-9]{1,18}\.[0-9]{1,18}$", example = "0.42")]
    etter: Option<Cursor>,
    /// At most this many events (1–100, default 50).
    #[param(value_type = u32, required = false, minimum = 1, maximum = 100)]
    antall: Option<Count>,
}

/// The status events of the letters this client sent, in the order they happened, after the
/// cursor `etter`: poll with the `neste` of each answer. Each call looks at a bounded number of
/// events, so a page may be empty while `neste` moves on; ask again until a page is empty and
/// `neste` stays. Needs a token with the scope `allmenning:post.read` or `allmenning:post.send`.
#[utoipa::path(
    get,
    path = "/api/v1/post/hendelser",
    params(EventsQuery),
    security(("maskinporten" = ["allmenning:post.read"]), ("maskinporten" = ["allmenning:post.send"])),
    responses(
        (status = 200, description = "A page of events, and the cursor for the next", body = Hendelser),
        (status = 400, description = "A query parameter broke its rule (`malformed_query`), or the query string holds control characters", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token has neither `allmenning:post.read` nor `allmenning:post.send`", body = Problem, content_type = "application/problem+json"),
        (status = 421, description = "The host belongs to no municipality", body = Problem, content_type = "application/problem+json"),
    ),
    tag = "post"
)]
pub async fn events(
    State(state): State<AppState>,
    PostReader(client): PostReader,
    Municipality(kommune): Municipality,
    AppQuery(query): AppQuery<EventsQuery>,
) -> Result<Json<Hendelser>, Problem> {
    let sender = sender_id(&client);
    let kommunenummer = kommune.to_string();
    let wanted = query.antall.map_or(50, |Count(n)| n) as usize;
    let mut position = query.etter.map_or(Position::START, |Cursor(position)| position);
    let mut hendelser = Vec::new();
    let mut scanned = 0;
    'scan: while scanned < FEED_SCAN_LIMIT {
        let page = state
            .db
            .events_after(position, FEED_PAGE.min(FEED_SCAN_LIMIT - scanned))
            .await
            .map_err(|error| internal(&error, "the event feed could not be read"))?;
        if page.is_empty() {
            break;
        }
        for stored in page {
            scanned += 1;
            position = stored.position;
            let event = stored.event;
            if event.event_type != ::post::letters::STATUS_EVENT
                || event.kommunenummer.as_deref() != Some(kommunenummer.as_str())
            {
                continue;
            }
            let Ok(data) = serde_json::from_value::<StatusHendelseData>(event.data) else { continue };
            if data.avsender != sender {
                continue;
            }
            hendelser.push(StatusHendelse {
                specversion: event.specversion,
                id: event.id,
                source: event.source,
                event_type: event.event_type,
                subject: event.subject,
                time: event.time,
                datacontenttype: event.datacontenttype,
                kommunenummer: event.kommunenummer,
                data,
            });
            if hendelser.len() >= wanted {
                // The next page starts right after the last event shown.
                break 'scan;
            }
        }
    }
    Ok(Json(Hendelser { hendelser, neste: position.to_string() }))
}
