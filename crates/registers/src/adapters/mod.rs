//! HTTP adapters to the real registers, each speaking the service's published API shape and
//! implementing the matching trait from [`crate::source`]:
//!
//! - [`FolkeregisteretClient`] — Skatteetaten's Folkeregisteret ([`crate::PersonSource`]);
//! - [`KrrClient`] — Digdir's Kontakt- og reservasjonsregisteret ([`crate::ContactSource`]);
//! - [`EnhetsregisteretClient`] — Brønnøysundregistrene's Enhetsregisteret
//!   ([`crate::OrganisationSource`]);
//! - [`MatrikkelenClient`] — Kartverket's Matrikkelen, through a small JSON shape of our own
//!   ([`crate::PropertySource`]).
//!
//! All four share one retrying [`HttpConfig`]-driven sender:
//!
//! - 429 waits for `Retry-After` and tries again. Folkeregisteret writes `Retry-After` in
//!   **milliseconds** (its own convention); the others in RFC 9110's delta-seconds or as an HTTP
//!   date. No wait is longer than [`HttpConfig::max_backoff`]: a register asking for more is
//!   logged with what it asked and what we wait instead, and the final
//!   [`RegisterError::RateLimited`] carries both, so a caller sees why it gave up;
//! - 5xx, timeouts and connection errors back off exponentially with jitter and try again;
//! - after [`HttpConfig::max_attempts`] the last failure is returned:
//!   [`RegisterError::RateLimited`] for 429, [`RegisterError::Unavailable`] otherwise;
//! - 404 with an empty body or the register's own JSON error body means "no such entry"
//!   (`None`); 410 is [`RegisterError::Gone`]; any other 4xx with an error body in a shape the
//!   registers document is [`RegisterError::Refused`] with the register's own message;
//! - everything else we cannot read is [`RegisterError::Unreadable`], naming the register and the
//!   field, never a value: an HTML page in place of JSON (a firewall's or proxy's refusal, whatever
//!   its status — so a gateway's 404 page is never read as "no such person"), an error body in no
//!   documented shape, a body that is not JSON, a field of the wrong type. Never a panic.
//!
//! Personal data stays out of logs and error messages: URLs (which carry a fødselsnummer for
//! single lookups) are never logged or put in an error, an unreadable field is named by its path
//! only, and every text that came from a register has its 11-digit runs redacted.

pub mod enhetsregisteret;
pub mod folkeregisteret;
pub mod krr;
pub mod matrikkelen;

use std::fmt;
use std::time::Duration;

pub use enhetsregisteret::EnhetsregisteretClient;
pub use folkeregisteret::{FolkeregisteretClient, Rettighetspakke};
pub use krr::KrrClient;
pub use matrikkelen::MatrikkelenClient;

use kernel::Kommunenummer;
use reqwest::{Method, StatusCode, header};
use serde::de::DeserializeOwned;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use crate::model::Address;
use crate::{Register, RegisterError};

/// How to reach one register and how patiently to retry it.
#[derive(Clone)]
pub struct HttpConfig {
    /// The service's root, e.g. `https://folkeregisteret.api.skatteetaten.no`,
    /// `https://kontaktregisteret.no` or `https://data.brreg.no`; the adapters append the
    /// published paths (`/folkeregisteret/...`, `/rest/v1/personer`, `/enhetsregisteret/...`).
    pub base_url: String,
    /// Sent as `Authorization: Bearer ...` on every request. In production a Maskinporten access
    /// token; acquiring and refreshing it is not this module's job.
    pub bearer_token: Option<String>,
    /// Attempts per lookup, the first included (at least 1).
    pub max_attempts: u32,
    /// The first back-off; it doubles with every further attempt.
    pub base_backoff: Duration,
    /// The longest single wait, for back-off and for `Retry-After` alike.
    pub max_backoff: Duration,
    /// The whole request's time limit, per attempt.
    pub timeout: Duration,
}

impl HttpConfig {
    /// Defaults: 4 attempts, 200 ms first back-off, at most 10 s per wait, 15 s per attempt,
    /// no token.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            bearer_token: None,
            max_attempts: 4,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            timeout: Duration::from_secs(15),
        }
    }

    /// The same configuration with a bearer token.
    pub fn with_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is a credential: show only whether there is one.
        f.debug_struct("HttpConfig")
            .field("base_url", &self.base_url)
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "[redacted]"))
            .field("max_attempts", &self.max_attempts)
            .field("base_backoff", &self.base_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The unit a register writes a numeric `Retry-After` in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryAfterUnit {
    /// RFC 9110's delta-seconds.
    Seconds,
    /// Folkeregisteret's milliseconds.
    Milliseconds,
}

/// The shared HTTP plumbing: one `reqwest` client and the retry policy, for one register.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    register: Register,
    config: HttpConfig,
    client: reqwest::Client,
}

/// What went wrong on one attempt, kept to be returned if it was the last.
enum Failure {
    RateLimited(Option<Duration>),
    Unavailable(String),
}

/// An [`RegisterError::Unreadable`] for `register` at `field`.
pub(crate) fn unreadable(register: Register, field: impl Into<String>, problem: impl Into<String>) -> RegisterError {
    RegisterError::Unreadable { register, field: field.into(), problem: problem.into() }
}

impl Http {
    pub(crate) fn new(register: Register, config: HttpConfig) -> Result<Self, RegisterError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|_| RegisterError::Unavailable(format!("{register}: the HTTP client could not be built")))?;
        Ok(Self { register, config, client })
    }

    /// `base_url` joined with `path` (which starts with `/`).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    fn retry_after_unit(&self) -> RetryAfterUnit {
        match self.register {
            Register::Folkeregisteret => RetryAfterUnit::Milliseconds,
            _ => RetryAfterUnit::Seconds,
        }
    }

    /// GET `url` and parse the JSON answer; `None` on 404.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        url: &str,
    ) -> Result<Option<T>, RegisterError> {
        self.send(operation, Method::GET, url, None).await
    }

    /// POST `body` as JSON to `url` and parse the JSON answer; `None` on 404.
    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<Option<T>, RegisterError> {
        let body = serde_json::to_vec(body).map_err(|_| {
            RegisterError::Unavailable(format!("{}: the request body could not be written", self.register))
        })?;
        self.send(operation, Method::POST, url, Some(body)).await
    }

    /// Sends one request with the retry policy of the module documentation, and logs (once,
    /// here) an answer that cannot be read. `operation` names the call in logs (e.g.
    /// `folkeregisteret.person`); the URL is never logged, because it may carry a fødselsnummer.
    async fn send<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Option<T>, RegisterError> {
        let result = self.send_with_retries(operation, method, url, body).await;
        if let Err(RegisterError::Unreadable { register, field, problem }) = &result {
            tracing::warn!(
                register = register.as_str(),
                register.operation = operation,
                register.field = field.as_str(),
                problem = problem.as_str(),
                "a register answered something we cannot read"
            );
        }
        result
    }

    async fn send_with_retries<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Option<T>, RegisterError> {
        let register = self.register;
        let attempts = self.config.max_attempts.max(1);
        let mut last = Failure::Unavailable("no attempt was made".into());
        for attempt in 1..=attempts {
            let mut request = self.client.request(method.clone(), url).header(header::ACCEPT, "application/json");
            if let Some(token) = &self.config.bearer_token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = &body {
                request = request.header(header::CONTENT_TYPE, "application/json").body(body.clone());
            }
            let wait = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let html = is_html_content_type(response.headers());
                    match status {
                        StatusCode::TOO_MANY_REQUESTS => {
                            let retry_after = response
                                .headers()
                                .get(header::RETRY_AFTER)
                                .and_then(|value| value.to_str().ok())
                                .and_then(|value| {
                                    parse_retry_after(value, self.retry_after_unit(), OffsetDateTime::now_utc())
                                });
                            last = Failure::RateLimited(retry_after);
                            match retry_after {
                                None => self.backoff(attempt),
                                Some(asked) if asked > self.config.max_backoff => {
                                    tracing::warn!(
                                        register = register.as_str(),
                                        register.operation = operation,
                                        asked_ms = millis(asked),
                                        wait_ms = millis(self.config.max_backoff),
                                        "the register asked for a longer pause than max_backoff; waiting \
                                         max_backoff instead, so no caller is held for longer"
                                    );
                                    self.config.max_backoff
                                }
                                Some(asked) => asked,
                            }
                        }
                        status if status.is_server_error() => {
                            last = Failure::Unavailable(format!("HTTP {}", status.as_u16()));
                            self.backoff(attempt)
                        }
                        status => match response.bytes().await {
                            Ok(bytes) => return self.answer(status, html, &bytes),
                            Err(_) => {
                                last = Failure::Unavailable("the connection broke while reading the answer".into());
                                self.backoff(attempt)
                            }
                        },
                    }
                }
                Err(error) if error.is_builder() => {
                    return Err(RegisterError::Unavailable(format!(
                        "{register}: the request could not be built; check base_url"
                    )));
                }
                Err(error) => {
                    let what = if error.is_timeout() {
                        "the request timed out"
                    } else if error.is_connect() {
                        "could not connect"
                    } else {
                        "the request failed"
                    };
                    last = Failure::Unavailable(what.into());
                    self.backoff(attempt)
                }
            };
            if attempt < attempts {
                tracing::warn!(
                    register = register.as_str(),
                    register.operation = operation,
                    attempt,
                    wait_ms = millis(wait),
                    "register call failed; retrying"
                );
                pause(wait).await;
            }
        }
        tracing::warn!(
            register = register.as_str(),
            register.operation = operation,
            attempts,
            "register call failed; giving up"
        );
        Err(match last {
            Failure::RateLimited(retry_after) => {
                RegisterError::RateLimited { register, retry_after, longest_wait: self.config.max_backoff }
            }
            Failure::Unavailable(reason) => {
                RegisterError::Unavailable(format!("{register}: {reason} (after {attempts} attempt(s))"))
            }
        })
    }

    /// Reads a complete answer that is neither 429 nor 5xx.
    fn answer<T: DeserializeOwned>(
        &self,
        status: StatusCode,
        html: bool,
        bytes: &[u8],
    ) -> Result<Option<T>, RegisterError> {
        let register = self.register;
        if html || looks_like_html(bytes) {
            // A firewall, proxy or gateway answered in the register's place; whatever the status
            // says, it is not the register's answer (a 404 page is not "no such person").
            return Err(unreadable(
                register,
                "body",
                format!("HTTP {} with an HTML page instead of JSON (a firewall or proxy refusal?)", status.as_u16()),
            ));
        }
        if status.is_success() {
            return parse_body(register, bytes).map(Some);
        }
        let error_body = ErrorBody::read(bytes);
        match status {
            StatusCode::NOT_FOUND => match error_body {
                ErrorBody::Empty | ErrorBody::Known { .. } => Ok(None),
                ErrorBody::Unknown => Err(unreadable(
                    register,
                    "error body",
                    "HTTP 404 with an error body in no shape the register documents; not taken as \"not found\"",
                )),
            },
            StatusCode::GONE => Err(RegisterError::Gone),
            status => match error_body {
                // Other 4xx (and anything unexpected): our request is wrong or not allowed, and
                // asking again will not change that.
                ErrorBody::Empty => Err(RegisterError::Refused(format!("{register}: HTTP {}", status.as_u16()))),
                ErrorBody::Known { code, text } => {
                    Err(RegisterError::Refused(refusal_message(register, status, code, text)))
                }
                ErrorBody::Unknown => Err(unreadable(
                    register,
                    "error body",
                    format!("HTTP {} with an error body in no shape the register documents", status.as_u16()),
                )),
            },
        }
    }

    /// Exponential back-off with "equal jitter": half the step is fixed, half is random, so
    /// clients that failed together do not all come back together.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2_u32.saturating_pow(attempt.saturating_sub(1));
        let step = self.config.base_backoff.saturating_mul(factor).min(self.config.max_backoff);
        let half = step / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn is_html_content_type(headers: &header::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("html"))
}

/// A body that starts like markup (`<!DOCTYPE html>`, `<html>`), whatever its content type.
fn looks_like_html(bytes: &[u8]) -> bool {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).map_or(&[][..], |i| &bytes[i..]);
    start.first() == Some(&b'<')
}

/// Parses a success body, naming the field that does not fit and never its value.
fn parse_body<T: DeserializeOwned>(register: Register, bytes: &[u8]) -> Result<T, RegisterError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let field = if path.is_empty() || path == "." { "body".to_owned() } else { path };
        unreadable(register, field, describe_json_error(error.inner()))
    })
}

/// What is wrong, in words that carry no value from the answer: serde's own messages quote the
/// offending value (`invalid type: string "Ingrid", expected u32`), which may be personal data.
fn describe_json_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match error.classify() {
        Category::Eof => "the answer is cut short".to_owned(),
        Category::Syntax | Category::Io => "the answer is not JSON".to_owned(),
        Category::Data => {
            let message = error.to_string();
            if message.starts_with("missing field") {
                // The field's name is ours to say, not a value: keep it.
                message.split(" at line").next().unwrap_or("a required field is missing").to_owned()
            } else if let Some((_, expected)) = message.split_once(", expected ") {
                let expected = expected.split(" at line").next().unwrap_or(expected);
                format!("a value of the wrong type (expected {})", redact(expected))
            } else {
                "a value that does not fit the documented shape".to_owned()
            }
        }
    }
}

/// An error body, read in the shapes the registers use: Folkeregisteret's `{"kode","melding"}`
/// and `{"feilkode","feilmelding","httpStatus"}`, a generic `{"code","message"}`,
/// Enhetsregisteret's Spring-style `{"timestamp","status","error","message","path"}`, OAuth's
/// `{"error","error_description"}` (a Maskinporten token refused at the gateway).
enum ErrorBody {
    /// No body at all.
    Empty,
    /// One of the documented shapes.
    Known { code: Option<String>, text: Option<String> },
    /// Something else: not JSON, or JSON in no shape we know.
    Unknown,
}

impl ErrorBody {
    fn read(bytes: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Wire {
            kode: Option<String>,
            melding: Option<String>,
            feilkode: Option<String>,
            feilmelding: Option<String>,
            code: Option<String>,
            message: Option<String>,
            error: Option<String>,
            error_description: Option<String>,
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return ErrorBody::Empty;
        }
        let Ok(body) = serde_json::from_slice::<Wire>(bytes) else { return ErrorBody::Unknown };
        let code = body.kode.or(body.feilkode).or(body.code);
        let text = body.melding.or(body.feilmelding).or(body.message).or(body.error_description).or(body.error);
        if code.is_none() && text.is_none() { ErrorBody::Unknown } else { ErrorBody::Known { code, text } }
    }
}

/// The register's own words for a refusal, with personal data redacted and the length capped.
fn refusal_message(register: Register, status: StatusCode, code: Option<String>, text: Option<String>) -> String {
    let prefix = format!("{register}: HTTP {}", status.as_u16());
    let message = match (code, text) {
        (Some(code), Some(text)) => format!("{prefix} {code}: {text}"),
        (Some(code), None) => format!("{prefix} {code}"),
        (None, Some(text)) => format!("{prefix}: {text}"),
        (None, None) => prefix,
    };
    let redacted = redact(&message);
    if redacted.chars().count() > 300 { redacted.chars().take(300).collect::<String>() + "…" } else { redacted }
}

/// Replaces every run of 11 or more digits (a fødselsnummer, or something holding one) with
/// `[redacted]`. Organisation numbers (9 digits) and dates are left alone.
pub(crate) fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() >= 11 {
            out.push_str("[redacted]");
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

/// Reads `Retry-After`: a number in `unit` (`120`), or an HTTP date
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) relative to `now`. A date in the past means "now".
pub(crate) fn parse_retry_after(value: &str, unit: RetryAfterUnit, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(number) = value.parse::<u64>() {
        return Some(match unit {
            RetryAfterUnit::Seconds => Duration::from_secs(number),
            RetryAfterUnit::Milliseconds => Duration::from_millis(number),
        });
    }
    let format =
        format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    let at = PrimitiveDateTime::parse(value, format).ok()?.assume_utc();
    Some(Duration::try_from(at - now).unwrap_or(Duration::ZERO))
}

/// Waits without blocking the executor.
async fn pause(duration: Duration) {
    tokio::time::sleep(duration).await;
}

// ---------------------------------------------------------------------------------------------
// Wire shapes shared by Folkeregisteret and Matrikkelen: vegadresse and matrikkeladresse.
// ---------------------------------------------------------------------------------------------

/// Folkeregisteret's `Vegadresse` (and Matrikkelen's, in our shape).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireVegadresse {
    kommunenummer: Option<String>,
    adressenavn: Option<String>,
    adressenummer: Option<WireAdressenummer>,
    poststed: Option<WirePoststed>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct WireAdressenummer {
    husnummer: Option<StringOrNumber>,
    husbokstav: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct WirePoststed {
    poststedsnavn: Option<String>,
    postnummer: Option<String>,
}

/// Folkeregisteret's `Matrikkeladresse`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireMatrikkeladresse {
    matrikkelnummer: Option<WireMatrikkelnummer>,
    adressetilleggsnavn: Option<String>,
    poststed: Option<WirePoststed>,
}

/// Folkeregisteret's `Matrikkelnummer` (no seksjonsnummer there; Matrikkelen's has one).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct WireMatrikkelnummer {
    pub(crate) kommunenummer: Option<String>,
    pub(crate) gaardsnummer: Option<u32>,
    pub(crate) bruksnummer: Option<u32>,
    pub(crate) festenummer: Option<u32>,
    pub(crate) seksjonsnummer: Option<u32>,
}

/// A value some registers send as a number and others as a string (`husnummer`,
/// `foedselsaar`, `bygningstype`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum StringOrNumber {
    Number(u64),
    Text(String),
}

impl StringOrNumber {
    pub(crate) fn text(&self) -> String {
        match self {
            StringOrNumber::Number(n) => n.to_string(),
            StringOrNumber::Text(t) => t.trim().to_owned(),
        }
    }
}

impl WireVegadresse {
    pub(crate) fn kommunenummer(&self) -> Option<&str> {
        self.kommunenummer.as_deref()
    }

    /// Our [`Address::Vegadresse`]. A missing house number becomes 0 (Matrikkelen requires one,
    /// so this is a data error upstream); a missing postnummer or poststed becomes "".
    pub(crate) fn to_address(&self, register: Register) -> Result<Address, RegisterError> {
        let number = self.adressenummer.as_ref();
        let husnummer = match number.and_then(|n| n.husnummer.as_ref()) {
            None => 0,
            Some(value) => value
                .text()
                .parse::<u16>()
                .map_err(|_| unreadable(register, "vegadresse.adressenummer.husnummer", "not a house number"))?,
        };
        let (postnummer, poststed) = poststed(self.poststed.as_ref());
        Ok(Address::Vegadresse {
            kommunenummer: self.kommunenummer.clone().unwrap_or_default(),
            adressenavn: self.adressenavn.clone().unwrap_or_default(),
            husnummer,
            husbokstav: number.and_then(|n| n.husbokstav.clone()).filter(|b| !b.trim().is_empty()),
            postnummer,
            poststed,
        })
    }
}

impl WireMatrikkeladresse {
    pub(crate) fn kommunenummer(&self) -> Option<&str> {
        self.matrikkelnummer.as_ref().and_then(|m| m.kommunenummer.as_deref())
    }

    /// Our [`Address::Matrikkeladresse`], with the matrikkelnummer written as
    /// [`kernel::Matrikkelnummer`] prints it (`4601-12/345/0/0`).
    pub(crate) fn to_address(&self, register: Register) -> Result<Address, RegisterError> {
        let number = self
            .matrikkelnummer
            .as_ref()
            .ok_or_else(|| unreadable(register, "matrikkeladresse.matrikkelnummer", "missing"))?;
        let (postnummer, poststed) = poststed(self.poststed.as_ref());
        Ok(Address::Matrikkeladresse {
            matrikkelnummer: number.written(register)?,
            tilleggsnavn: self.adressetilleggsnavn.clone().filter(|t| !t.trim().is_empty()),
            postnummer,
            poststed,
        })
    }
}

impl WireMatrikkelnummer {
    /// `kommunenummer-gnr/bnr/fnr/snr`.
    pub(crate) fn written(&self, register: Register) -> Result<String, RegisterError> {
        let (Some(kommune), Some(gnr), Some(bnr)) = (&self.kommunenummer, self.gaardsnummer, self.bruksnummer) else {
            return Err(unreadable(register, "matrikkelnummer", "needs kommunenummer, gaardsnummer and bruksnummer"));
        };
        Ok(format!("{kommune}-{gnr}/{bnr}/{}/{}", self.festenummer.unwrap_or(0), self.seksjonsnummer.unwrap_or(0)))
    }
}

fn poststed(poststed: Option<&WirePoststed>) -> (String, String) {
    (
        poststed.and_then(|p| p.postnummer.clone()).unwrap_or_default(),
        poststed.and_then(|p| p.poststedsnavn.clone()).unwrap_or_default(),
    )
}

/// A kommunenummer from a register, leniently: a number missing from our 2024 list (an older
/// or newer numbering) becomes `None` rather than failing the whole lookup.
pub(crate) fn lenient_kommune(text: Option<&str>) -> Option<Kommunenummer> {
    let text = text?;
    match Kommunenummer::parse(text) {
        Ok(kommune) => Some(kommune),
        Err(_) => {
            tracing::warn!(kommunenummer = text, "a register gave a kommunenummer not in the 2024 list");
            None
        }
    }
}

/// The date part of an ISO 8601 date or date-time (`2021-06-01`, `2021-06-01T00:00:00+02:00`,
/// KRR's `2023-06-13T13:42:34+02`); the date is taken as written, in the offset the register
/// wrote it in. The error names `field`, never the text (a birth date is personal data).
pub(crate) fn iso_date(register: Register, field: &str, text: &str) -> Result<Date, RegisterError> {
    let day = text.trim().get(..10).unwrap_or(text);
    Date::parse(day, format_description!("[year]-[month]-[day]"))
        .map_err(|_| unreadable(register, field, "not an ISO 8601 date"))
}

/// "Not in the code list", quoting the value only when it looks like a code (short, letters,
/// digits and `_`): anything else might be personal data in the wrong field, and is only
/// measured.
pub(crate) fn not_in_code_list(value: &str) -> String {
    let looks_like_a_code = value.len() <= 40 && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let has_long_digit_run = redact(value) != value;
    if looks_like_a_code && !has_long_digit_run {
        format!("not in the code list: {value:?}")
    } else {
        format!("not in the code list (a value of {} characters)", value.chars().count())
    }
}

/// An optional date that registers sometimes write as `""` (Enhetsregisteret): empty or blank
/// reads as absent, anything else must be a date.
pub(crate) fn optional_date(
    register: Register,
    field: &str,
    text: Option<&str>,
) -> Result<Option<Date>, RegisterError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => iso_date(register, field, text).map(Some),
    }
}

/// Compares enumeration values the way the registers write them: Folkeregisteret's JSON uses
/// lower camel case (`strengtFortrolig`), its OpenAPI document upper snake case
/// (`STRENGT_FORTROLIG`). Both are accepted.
pub(crate) fn code_eq(value: &str, expected: &str) -> bool {
    let normalise =
        |s: &str| s.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect::<String>();
    normalise(value) == normalise(expected)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn retry_after_in_seconds_milliseconds_and_as_a_date() {
        use RetryAfterUnit::{Milliseconds, Seconds};
        let now = datetime!(2024-05-17 12:00:00 UTC);
        assert_eq!(parse_retry_after("120", Seconds, now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("120", Milliseconds, now), Some(Duration::from_millis(120)));
        assert_eq!(parse_retry_after(" 0 ", Seconds, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Fri, 17 May 2024 12:00:30 GMT", Seconds, now), Some(Duration::from_secs(30)));
        assert_eq!(
            parse_retry_after("Fri, 17 May 2024 12:00:30 GMT", Milliseconds, now),
            Some(Duration::from_secs(30)),
            "a date is a date in either unit"
        );
        assert_eq!(
            parse_retry_after("Fri, 17 May 2024 11:00:00 GMT", Seconds, now),
            Some(Duration::ZERO),
            "past dates"
        );
        assert_eq!(parse_retry_after("soon", Seconds, now), None);
        assert_eq!(parse_retry_after("-5", Milliseconds, now), None);
    }

    #[test]
    fn folkeregisteret_reads_retry_after_in_milliseconds_and_the_others_in_seconds() {
        let folkeregisteret =
            Http::new(Register::Folkeregisteret, HttpConfig::new("http://localhost")).expect("client");
        let krr = Http::new(Register::Krr, HttpConfig::new("http://localhost")).expect("client");
        assert_eq!(folkeregisteret.retry_after_unit(), RetryAfterUnit::Milliseconds);
        assert_eq!(krr.retry_after_unit(), RetryAfterUnit::Seconds);
    }

    #[test]
    fn wrong_types_are_named_by_field_without_the_value() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Wire {
            navn: Vec<Navn>,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Navn {
            fornavn: Option<String>,
            antall: Option<u32>,
        }
        let error =
            parse_body::<Wire>(Register::Folkeregisteret, br#"{"navn":[{"fornavn":"Ingrid","antall":"Ingrid"}]}"#)
                .expect_err("wrong type");
        let RegisterError::Unreadable { register, field, problem } = &error else { panic!("{error:?}") };
        assert_eq!(*register, Register::Folkeregisteret);
        assert_eq!(field, "navn[0].antall");
        assert!(problem.contains("wrong type") && problem.contains("u32"), "{problem}");
        assert!(!format!("{error} {error:?}").contains("Ingrid"), "the value stays out: {error}");

        let error = parse_body::<Wire>(Register::Krr, b"{\"navn\": [").expect_err("cut short");
        assert!(
            matches!(&error, RegisterError::Unreadable { problem, .. } if problem.contains("cut short")),
            "{error:?}"
        );
    }

    #[test]
    fn fodselsnumre_are_redacted_but_organisation_numbers_kept() {
        assert_eq!(redact("Ugyldig 20914695016 hos 974760673"), "Ugyldig [redacted] hos 974760673");
        assert_eq!(redact("20914695016"), "[redacted]");
        assert_eq!(redact("2024-05-17 and 1234567890"), "2024-05-17 and 1234567890");
    }

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let mut config = HttpConfig::new("http://localhost");
        config.base_backoff = Duration::from_millis(100);
        config.max_backoff = Duration::from_millis(500);
        let http = Http::new(Register::Folkeregisteret, config).expect("client");
        for _ in 0..50 {
            let first = http.backoff(1);
            assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first), "{first:?}");
            let third = http.backoff(3);
            assert!((Duration::from_millis(200)..=Duration::from_millis(400)).contains(&third), "{third:?}");
            let tenth = http.backoff(10);
            assert!(tenth <= Duration::from_millis(500), "{tenth:?}");
        }
    }

    #[test]
    fn refusals_quote_the_register_without_personal_data() {
        let body = br#"{"kode":"FREG-001","melding":"Ugyldig identifikator 20914695016"}"#;
        let ErrorBody::Known { code, text } = ErrorBody::read(body) else { panic!("a known shape") };
        assert_eq!(
            refusal_message(Register::Folkeregisteret, StatusCode::BAD_REQUEST, code, text),
            "folkeregisteret: HTTP 400 FREG-001: Ugyldig identifikator [redacted]"
        );
        let body = br#"{"feilkode":"FREG-002","feilmelding":"Mangler tilgang","httpStatus":403}"#;
        let ErrorBody::Known { code, text } = ErrorBody::read(body) else { panic!("the other known shape") };
        assert_eq!(
            refusal_message(Register::Folkeregisteret, StatusCode::FORBIDDEN, code, text),
            "folkeregisteret: HTTP 403 FREG-002: Mangler tilgang"
        );
        assert!(matches!(ErrorBody::read(b"<html>20914695016</html>"), ErrorBody::Unknown));
        assert!(matches!(ErrorBody::read(br#"{"oops":1}"#), ErrorBody::Unknown));
        assert!(matches!(ErrorBody::read(b"  "), ErrorBody::Empty));
        assert!(looks_like_html(b"\n <!DOCTYPE html><html>"));
        assert!(!looks_like_html(b"{}"));
    }

    #[test]
    fn the_token_stays_out_of_debug() {
        let config = HttpConfig::new("http://localhost").with_bearer_token("secret-token");
        assert!(!format!("{config:?}").contains("secret-token"));
    }

    #[test]
    fn codes_match_in_either_spelling() {
        assert!(code_eq("strengtFortrolig", "strengtFortrolig"));
        assert!(code_eq("STRENGT_FORTROLIG", "strengtFortrolig"));
        assert!(!code_eq("fortrolig", "strengtFortrolig"));
    }

    #[test]
    fn dates_and_date_times() {
        let f = Register::Folkeregisteret;
        assert_eq!(iso_date(f, "d", "2021-06-01").expect("date"), time::macros::date!(2021 - 06 - 01));
        assert_eq!(iso_date(f, "d", "2021-06-01T00:00:00+02:00").expect("date"), time::macros::date!(2021 - 06 - 01));
        assert_eq!(iso_date(f, "d", "2023-06-13T13:42:34+02").expect("KRR's"), time::macros::date!(2023 - 06 - 13));
        let error = iso_date(f, "foedsel.foedselsdato", "01.06.2021").expect_err("not ISO");
        assert!(!error.to_string().contains("01.06.2021"), "{error}");
        assert_eq!(optional_date(Register::Enhetsregisteret, "stiftelsesdato", Some("")).expect("empty"), None);
        assert_eq!(optional_date(Register::Enhetsregisteret, "stiftelsesdato", None).expect("absent"), None);
        assert!(optional_date(Register::Enhetsregisteret, "stiftelsesdato", Some("i går")).is_err());
    }

    #[test]
    fn only_code_like_values_are_quoted() {
        assert_eq!(not_in_code_list("UKJENT_STATUS"), "not in the code list: \"UKJENT_STATUS\"");
        assert_eq!(not_in_code_list("Ola Nordmann"), "not in the code list (a value of 12 characters)");
        assert_eq!(not_in_code_list("20914695016"), "not in the code list (a value of 11 characters)");
    }
}
