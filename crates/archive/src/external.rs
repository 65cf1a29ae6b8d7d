//! An external Noark 5 archive behind its tjenestegrensesnitt (v1.1), as an [`Archive`]: the
//! platform's contexts journal into a municipality's own archive system (or another
//! allmenning's `/noark5/`) through the same calls as into the built-in one.
//!
//! The client follows the standard (chapters 6 and 7) and nothing more: it starts at the root
//! URL, follows rel keys in `_links` (`https://rel.arkivverket.no/noark5/v5/api/arkivstruktur/`,
//! `…/sakarkiv/`, `…/sakarkiv/ny-saksmappe/`, …; hrefs are whatever the server says), finds
//! objects by systemID with OData `$filter` on the advertised lists, GETs the `ny-X` template
//! and POSTs the new object to the same href (`Content-Type: application/vnd.noark5+json`),
//! uploads a file by POST to the dokumentobjekt's `arkivstruktur/fil/` rel with the file's
//! Content-Type, and updates by GET (ETag) then PUT with `If-Match`.
//!
//! **No transaction.** A remote archive cannot take part in the caller's database
//! transaction: each call writes to the remote archive at once, object by object. If the
//! caller's transaction later rolls back, the saksmappe, journalpost, parts and files written
//! remotely **stay there**; if a call fails half-way (say, the third document's upload), what
//! was written before the failure stays too. Nothing here retries or cleans up. A caller that
//! needs all-or-nothing should commit its own work first and journal afterwards (from a job,
//! retried), and treat a partly written journalpost as something for the archivist.
//!
//! Files go up in one POST (the standard's small-file upload). A file above the archive's
//! `bulkgrense` needs the chunked upload, which this client does not do yet: the archive's 403
//! comes back as an error.
//!
//! Errors: the standard's body `{"feil": {"kode", "beskrivelse"}}` is read for every status
//! outside 2xx: 400 and 422 become [`ArchiveError::Invalid`] (field `noark5`, the
//! beskrivelse as the message), 404 [`ArchiveError::NotFound`], 409 and 412
//! [`ArchiveError::Conflict`], 413 [`ArchiveError::TooLarge`]; 401 and 403, and a connection
//! that fails, become [`store::StoreError::Connect`]; any other status (5xx) becomes
//! [`store::StoreError::Busy`] (the archive is there but cannot answer now). Runs of nine or
//! more digits in a beskrivelse are masked, so an identifier echoed by the server does not
//! reach a log through the error.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use kernel::Kommunenummer;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};
use store::{StoreError, Tx};

use crate::journaling::{
    Archive, CaseRef, DEFAULT_ARKIVDEL, DocumentRef, JournalRef, NewCase, NewJournalpost, PartyPlan, Screening,
    WriteOff, case_plan, document_plan, journalpost_plan, write_off_method,
};
use crate::model::{self, REL_BASE};
use crate::{Actor, ArchiveError};

/// The tjenestegrensesnitt's media type.
pub const MEDIA_TYPE: &str = "application/vnd.noark5+json";

/// How the client logs in.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// No `Authorization` header.
    Anonymous,
    /// HTTP Basic.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// A bearer token (e.g. from the archive's OIDC or a Maskinporten token).
    Bearer(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { user, .. } => f.debug_struct("Basic").field("user", user).finish_non_exhaustive(),
            Credentials::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// A remote Noark 5 archive. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ExternalArchive {
    client: reqwest::Client,
    root: String,
    credentials: Credentials,
    default_arkivdel: String,
}

fn connect_error(error: &reqwest::Error) -> ArchiveError {
    // reqwest's text names the URL; ours hold systemIDs, never a person's identifier.
    ArchiveError::Store(StoreError::Connect(format!("the Noark 5 archive did not answer: {error}")))
}

/// Masks runs of nine or more digits (a fødselsnummer or organisasjonsnummer echoed back).
fn mask_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if digits.len() >= 9 {
            out.push_str(&"*".repeat(digits.len()));
        } else {
            out.push_str(&digits);
        }
        digits.clear();
        out.push(c);
    }
    out.pop();
    out.chars().take(300).collect()
}

/// The error for a status outside 2xx and its body (`{"feil": {"kode", "beskrivelse"}}`).
pub fn error_from(status: u16, body: &[u8]) -> ArchiveError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let beskrivelse = parsed
        .as_ref()
        .and_then(|v| v.get("feil"))
        .and_then(|f| f.get("beskrivelse"))
        .and_then(Value::as_str)
        .map(mask_numbers)
        .unwrap_or_default();
    let said = if beskrivelse.is_empty() {
        format!("the Noark 5 archive answered {status}")
    } else {
        format!("the Noark 5 archive answered {status}: {beskrivelse}")
    };
    match status {
        400 | 422 => ArchiveError::Invalid { field: "noark5".to_owned(), message: said },
        404 | 410 => ArchiveError::NotFound,
        409 | 412 => ArchiveError::Conflict,
        413 => ArchiveError::TooLarge { limit: 0 },
        401 | 403 => ArchiveError::Store(StoreError::Connect(said)),
        _ => ArchiveError::Store(StoreError::Busy(said)),
    }
}

/// The href of a rel in an object's `_links` (a link object or a list of them), without an
/// RFC 6570 template part (`{?$filter,…}`).
pub fn link(object: &Value, rel: &str) -> Option<String> {
    let entry = object.get("_links")?.get(rel)?;
    let entry = match entry {
        Value::Array(items) => items.first()?,
        other => other,
    };
    let href = entry.get("href")?.as_str()?;
    Some(href.split('{').next().unwrap_or(href).to_owned())
}

/// The href to create a `child` under `object`: the rel ending in `/ny-{child}/` (whatever
/// package the server files it under).
fn new_link(object: &Value, child: &str) -> Option<String> {
    let suffix = format!("/ny-{child}/");
    let links = object.get("_links")?.as_object()?;
    let rel = links.keys().find(|rel| rel.starts_with(REL_BASE) && rel.ends_with(&suffix))?;
    link(object, rel)
}

fn text(object: &Value, field: &str) -> String {
    object.get(field).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn integer(object: &Value, field: &str) -> i64 {
    match object.get(field) {
        Some(Value::Number(n)) => n.as_i64().unwrap_or_default(),
        Some(Value::String(s)) => s.trim().parse().unwrap_or_default(),
        _ => 0,
    }
}

fn kode<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get(field)?.get("kode")?.as_str()
}

fn with_query(href: &str, name: &str, value: &str) -> String {
    let separator = if href.contains('?') { '&' } else { '?' };
    format!("{href}{separator}{name}={}", utf8_percent_encode(value, NON_ALPHANUMERIC))
}

/// A template's fields worth sending back: no `_links`, no `null`s.
fn template_fields(template: Value) -> Map<String, Value> {
    match template {
        Value::Object(mut map) => {
            map.remove("_links");
            map.retain(|_, v| !v.is_null());
            map
        }
        _ => Map::new(),
    }
}

impl ExternalArchive {
    /// A client for the archive at `root` (the URL a `GET` of which answers the rels of
    /// `arkivstruktur`, `sakarkiv`, …), with its credentials.
    pub fn new(root: impl Into<String>, credentials: Credentials) -> Result<Self, ArchiveError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| connect_error(&e))?;
        Ok(ExternalArchive { client, root: root.into(), credentials, default_arkivdel: DEFAULT_ARKIVDEL.to_owned() })
    }

    /// The title of the arkivdel new cases go to when the caller names none (default
    /// [`DEFAULT_ARKIVDEL`]). The remote structure is the archivists'; the client never
    /// creates an arkiv or arkivdel there.
    pub fn with_default_arkivdel(mut self, tittel: impl Into<String>) -> Self {
        self.default_arkivdel = tittel.into();
        self
    }

    /// The root URL.
    pub fn root(&self) -> &str {
        &self.root
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, url);
        match &self.credentials {
            Credentials::Anonymous => builder,
            Credentials::Basic { user, password } => builder.basic_auth(user, Some(password)),
            Credentials::Bearer(token) => builder.bearer_auth(token),
        }
    }

    async fn answer(response: reqwest::Response) -> Result<(Value, Option<String>), ArchiveError> {
        let status = response.status().as_u16();
        let etag = response.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.bytes().await.map_err(|e| connect_error(&e))?;
        if !(200..300).contains(&status) {
            return Err(error_from(status, &body));
        }
        if body.is_empty() {
            return Ok((Value::Null, etag));
        }
        let value = serde_json::from_slice(&body)
            .map_err(|_| ArchiveError::Malformed(format!("the Noark 5 archive's answer ({status}) is not JSON")))?;
        Ok((value, etag))
    }

    async fn get(&self, url: &str) -> Result<(Value, Option<String>), ArchiveError> {
        let response = self
            .request(reqwest::Method::GET, url)
            .header("Accept", MEDIA_TYPE)
            .send()
            .await
            .map_err(|e| connect_error(&e))?;
        Self::answer(response).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: &Value,
        etag: Option<&str>,
    ) -> Result<Value, ArchiveError> {
        let mut builder = self
            .request(method, url)
            .header("Accept", MEDIA_TYPE)
            .header("Content-Type", MEDIA_TYPE)
            .body(body.to_string());
        if let Some(etag) = etag {
            builder = builder.header("If-Match", etag);
        }
        let response = builder.send().await.map_err(|e| connect_error(&e))?;
        Ok(Self::answer(response).await?.0)
    }

    /// The service document of a package (`arkivstruktur`, `sakarkiv`), from the root.
    async fn service(&self, package: &str) -> Result<Value, ArchiveError> {
        let (root, _) = self.get(&self.root).await?;
        let rel = format!("{REL_BASE}{package}/");
        let href = link(&root, &rel).ok_or_else(|| ArchiveError::Invalid {
            field: "noark5".to_owned(),
            message: format!("the Noark 5 archive does not offer {rel}"),
        })?;
        Ok(self.get(&href).await?.0)
    }

    /// The first object of a list whose `field` equals `value` (OData `$filter`).
    async fn find(
        &self,
        service: &Value,
        package: &str,
        entity: &str,
        field: &str,
        value: &str,
    ) -> Result<Value, ArchiveError> {
        let rel = format!("{REL_BASE}{package}/{entity}/");
        let href = link(service, &rel).ok_or_else(|| ArchiveError::Invalid {
            field: "noark5".to_owned(),
            message: format!("the Noark 5 archive does not offer {rel}"),
        })?;
        let filter = format!("{field} eq '{}'", value.replace('\'', "''"));
        let (list, _) = self.get(&with_query(&href, "$filter", &filter)).await?;
        list.get("results")
            .and_then(Value::as_array)
            .and_then(|results| results.iter().find(|r| r.get(field).and_then(Value::as_str) == Some(value)))
            .cloned()
            .ok_or(ArchiveError::NotFound)
    }

    /// Creates a `child` under `parent`: GET the `ny-child` template, POST it back with the
    /// fields set.
    async fn create_under(
        &self,
        parent: &Value,
        child: &str,
        fields: &Map<String, Value>,
    ) -> Result<Value, ArchiveError> {
        let href = new_link(parent, child).ok_or_else(|| ArchiveError::WrongParent {
            parent: "the remote object".to_owned(),
            child: child.to_owned(),
        })?;
        let (template, _) = self.get(&href).await?;
        let mut body = template_fields(template);
        for (name, value) in fields {
            body.insert(name.clone(), value.clone());
        }
        self.send(reqwest::Method::POST, &href, &Value::Object(body), None).await
    }

    async fn create_party(&self, parent: &Value, plan: &PartyPlan) -> Result<(), ArchiveError> {
        self.create_under(parent, plan.entity, &plan.fields).await?;
        if let Some((entity, body)) = plan.identifier_child() {
            self.create_under(parent, entity, &body).await?;
        }
        Ok(())
    }

    async fn upload(
        &self,
        dokumentobjekt: &Value,
        mime_type: &str,
        bytes: bytes::Bytes,
    ) -> Result<Value, ArchiveError> {
        let href =
            link(dokumentobjekt, &format!("{REL_BASE}arkivstruktur/fil/")).ok_or_else(|| ArchiveError::Invalid {
                field: "noark5".to_owned(),
                message: "the dokumentobjekt offers no fil rel".to_owned(),
            })?;
        // reqwest sets Content-Length from the body.
        let response = self
            .request(reqwest::Method::POST, &href)
            .header("Accept", MEDIA_TYPE)
            .header("Content-Type", mime_type)
            .body(bytes)
            .send()
            .await
            .map_err(|e| connect_error(&e))?;
        Ok(Self::answer(response).await?.0)
    }

    async fn create_case_remote(&self, case: NewCase) -> Result<CaseRef, ArchiveError> {
        let (fields, parts) = case_plan(&case)?;
        let arkivstruktur = self.service("arkivstruktur").await?;
        let wanted = case.klasse_id.as_deref().map(str::trim).filter(|id| !id.is_empty());
        let named = match (&case.klasse, wanted) {
            (None, Some(id)) => match self.find(&arkivstruktur, "arkivstruktur", "klasse", "klasseID", id).await {
                Ok(klasse) => Some(klasse),
                Err(ArchiveError::NotFound) => {
                    tracing::warn!(
                        klasse_id = id,
                        "the Noark 5 archive has no klasse with this klasseID: the saksmappe goes to the default place"
                    );
                    None
                }
                Err(other) => return Err(other),
            },
            _ => None,
        };
        let parent = match (&case.klasse, named, &case.arkivdel) {
            (Some(klasse), ..) => self.find(&arkivstruktur, "arkivstruktur", "klasse", "systemID", klasse).await?,
            (None, Some(klasse), _) => klasse,
            (None, None, Some(arkivdel)) => {
                self.find(&arkivstruktur, "arkivstruktur", "arkivdel", "systemID", arkivdel).await?
            }
            (None, None, None) => {
                self.find(&arkivstruktur, "arkivstruktur", "arkivdel", "tittel", &self.default_arkivdel).await?
            }
        };
        let saksmappe = self.create_under(&parent, "saksmappe", &fields).await?;
        for plan in &parts {
            self.create_party(&saksmappe, plan).await?;
        }
        Ok(CaseRef { system_id: text(&saksmappe, "systemID"), mappe_id: text(&saksmappe, "mappeID") })
    }

    async fn journal_remote(&self, entry: NewJournalpost) -> Result<JournalRef, ArchiveError> {
        let (fields, parties) = journalpost_plan(&entry, u64::MAX)?;
        let sakarkiv = self.service("sakarkiv").await?;
        let case = self.find(&sakarkiv, "sakarkiv", "saksmappe", "systemID", &entry.case).await?;
        if case.get("avsluttetDato").is_some_and(|v| !v.is_null())
            || matches!(kode(&case, "saksstatus"), Some("A" | "U"))
        {
            return Err(ArchiveError::Closed("saksmappe".to_owned()));
        }
        let journalpost = self.create_under(&case, "journalpost", &fields).await?;
        for plan in &parties {
            self.create_party(&journalpost, plan).await?;
        }
        let standard_formats = model::code_list("format").map(|l| l.values).unwrap_or_default();
        let mut documents = Vec::with_capacity(entry.documents.len());
        for (i, document) in entry.documents.into_iter().enumerate() {
            let (description_fields, object_fields, mime_type) =
                document_plan(&document, |code| standard_formats.iter().any(|(k, _)| *k == code));
            let description = self.create_under(&journalpost, "dokumentbeskrivelse", &description_fields).await?;
            let object = self.create_under(&description, "dokumentobjekt", &object_fields).await?;
            self.upload(&object, &mime_type, document.bytes).await?;
            let number = integer(&description, "dokumentnummer");
            documents.push(DocumentRef {
                dokumentbeskrivelse: text(&description, "systemID"),
                dokumentnummer: if number > 0 { number } else { i64::try_from(i + 1).unwrap_or(i64::MAX) },
                dokumentobjekt: text(&object, "systemID"),
            });
        }
        Ok(JournalRef {
            system_id: text(&journalpost, "systemID"),
            journalaar: integer(&journalpost, "journalaar"),
            journalsekvensnummer: integer(&journalpost, "journalsekvensnummer"),
            journalpostnummer: integer(&journalpost, "journalpostnummer"),
            registrerings_id: text(&journalpost, "registreringsID"),
            documents,
        })
    }

    async fn write_off_remote(&self, journalpost: &str, how: WriteOff) -> Result<(), ArchiveError> {
        let method = write_off_method(&how)?;
        let sakarkiv = self.service("sakarkiv").await?;
        let target = self.find(&sakarkiv, "sakarkiv", "journalpost", "systemID", journalpost).await?;
        if !matches!(kode(&target, "journalposttype"), Some("I" | "N")) {
            return Err(ArchiveError::Invalid {
                field: "journalposttype".to_owned(),
                message: "only an incoming (I) or internal (N) journalpost is written off".to_owned(),
            });
        }
        let mut fields = Map::new();
        if let WriteOff::Reply { journalpost: reply, .. } = &how {
            let answer = self.find(&sakarkiv, "sakarkiv", "journalpost", "systemID", reply).await?;
            if reply == journalpost || !matches!(kode(&answer, "journalposttype"), Some("U" | "N" | "X")) {
                return Err(ArchiveError::Invalid {
                    field: "referanseAvskrivesAvJournalpost".to_owned(),
                    message: "the reply must be another, outgoing (U) or internal (N, X) journalpost".to_owned(),
                });
            }
            fields.insert("referanseAvskrivesAvJournalpost".to_owned(), json!(reply));
        }
        fields.insert("avskrivningsmaate".to_owned(), json!({"kode": method.kode()}));
        self.create_under(&target, "avskrivning", &fields).await?;
        Ok(())
    }

    async fn set_screening_remote(&self, target: &str, screening: Screening) -> Result<(), ArchiveError> {
        let sakarkiv = self.service("sakarkiv").await?;
        let found = match self.find(&sakarkiv, "sakarkiv", "saksmappe", "systemID", target).await {
            Err(ArchiveError::NotFound) => self.find(&sakarkiv, "sakarkiv", "journalpost", "systemID", target).await?,
            other => other?,
        };
        let href = link(&found, "self").ok_or_else(|| ArchiveError::Invalid {
            field: "noark5".to_owned(),
            message: "the object offers no self rel".to_owned(),
        })?;
        let (current, etag) = self.get(&href).await?;
        let mut body = template_fields(current);
        body.insert("skjerming".to_owned(), screening.to_json());
        self.send(reqwest::Method::PUT, &href, &Value::Object(body), etag.as_deref()).await?;
        Ok(())
    }
}

/// Every call writes to the remote archive at once; `tx` is not used (see the module's
/// documentation: a rolled-back caller leaves the remote records in place).
impl Archive for ExternalArchive {
    fn create_case(
        &self,
        _tx: &mut Tx,
        _k: Kommunenummer,
        _actor: &Actor,
        case: NewCase,
    ) -> impl Future<Output = Result<CaseRef, ArchiveError>> + Send {
        self.create_case_remote(case)
    }

    fn journal(
        &self,
        _tx: &mut Tx,
        _k: Kommunenummer,
        _actor: &Actor,
        entry: NewJournalpost,
    ) -> impl Future<Output = Result<JournalRef, ArchiveError>> + Send {
        self.journal_remote(entry)
    }

    fn write_off(
        &self,
        _tx: &mut Tx,
        _k: Kommunenummer,
        _actor: &Actor,
        journalpost: &str,
        how: WriteOff,
    ) -> impl Future<Output = Result<(), ArchiveError>> + Send {
        self.write_off_remote(journalpost, how)
    }

    fn set_screening(
        &self,
        _tx: &mut Tx,
        _k: Kommunenummer,
        _actor: &Actor,
        target: &str,
        screening: Screening,
    ) -> impl Future<Output = Result<(), ArchiveError>> + Send {
        self.set_screening_remote(target, screening)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standards_error_body_maps_to_archive_errors() {
        let body = br#"{"feil": {"kode": 400, "beskrivelse": "foedselsnummer 20914695016 er ugyldig"}}"#;
        match error_from(400, body) {
            ArchiveError::Invalid { field, message } => {
                assert_eq!(field, "noark5");
                assert!(message.contains("foedselsnummer *********** er ugyldig"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(error_from(404, b"{}"), ArchiveError::NotFound));
        assert!(matches!(error_from(409, b""), ArchiveError::Conflict));
        assert!(matches!(error_from(401, b"<html>"), ArchiveError::Store(StoreError::Connect(_))));
        assert!(matches!(error_from(503, b""), ArchiveError::Store(StoreError::Busy(_))));
    }

    #[test]
    fn links_are_found_by_rel_with_their_templates_cut() {
        let object = json!({"_links": {
            "https://rel.arkivverket.no/noark5/v5/api/arkivstruktur/arkivdel/": {
                "href": "https://n5.example.com/api/arkivstruktur/arkivdel{?$filter&$orderby&$top&$skip&$search}",
                "templated": true
            },
            "https://rel.arkivverket.no/noark5/v5/api/sakarkiv/ny-saksmappe/": [{"href": "https://n5.example.com/x/ny-saksmappe"}]
        }});
        assert_eq!(
            link(&object, "https://rel.arkivverket.no/noark5/v5/api/arkivstruktur/arkivdel/").as_deref(),
            Some("https://n5.example.com/api/arkivstruktur/arkivdel")
        );
        assert_eq!(new_link(&object, "saksmappe").as_deref(), Some("https://n5.example.com/x/ny-saksmappe"));
        assert_eq!(
            with_query("https://a/b", "$filter", "systemID eq 'x'"),
            "https://a/b?$filter=systemID%20eq%20%27x%27"
        );
        assert!(!format!("{:?}", Credentials::Bearer("secret".to_owned())).contains("secret"));
    }
}
