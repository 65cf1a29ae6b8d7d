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
//! - 429 waits for `Retry-After` (delta-seconds or an HTTP date, capped at
//!   [`HttpConfig::max_backoff`]) and tries again;
//! - 5xx, timeouts and connection errors back off exponentially with jitter and try again;
//! - after [`HttpConfig::max_attempts`] the last failure is returned:
//!   [`RegisterError::RateLimited`] for 429, [`RegisterError::Unavailable`] otherwise;
//! - 404 means "no such entry" (`None`), 410 is [`RegisterError::Gone`], any other 4xx is
//!   [`RegisterError::Refused`] with the register's own error message;
//! - a body that does not parse is [`RegisterError::Malformed`], never a panic.
//!
//! Personal data stays out of logs and error messages: URLs (which carry a fødselsnummer for
//! single lookups) are never logged or put in an error, and every text that came from a register
//! has its 11-digit runs redacted before it reaches an error.
//!
//! Folkeregisteret documents its `Retry-After` in *milliseconds*, unlike RFC 9110's seconds.
//! We read the header as RFC 9110 says; a millisecond value read as seconds only makes us wait
//! longer, and never longer than `max_backoff`.

pub mod enhetsregisteret;
pub mod folkeregisteret;
pub mod krr;
pub mod matrikkelen;

use std::fmt;
use std::time::Duration;

pub use enhetsregisteret::EnhetsregisteretClient;
pub use folkeregisteret::FolkeregisteretClient;
pub use krr::KrrClient;
pub use matrikkelen::MatrikkelenClient;

use kernel::Kommunenummer;
use reqwest::{Method, StatusCode, header};
use serde::de::DeserializeOwned;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use crate::RegisterError;
use crate::model::Address;

/// How to reach one register and how patiently to retry it.
#[derive(Clone)]
pub struct HttpConfig {
    /// The service's root, e.g. `https://folkeregisteret.api.skatteetaten.no`; the adapters append
    /// the published paths (`/folkeregisteret/...`, `/rest/v1/personer`, ...).
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

/// The shared HTTP plumbing: one `reqwest` client and the retry policy.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    config: HttpConfig,
    client: reqwest::Client,
}

/// What went wrong on one attempt, kept to be returned if it was the last.
enum Failure {
    RateLimited(Option<Duration>),
    Unavailable(String),
}

impl Http {
    pub(crate) fn new(config: HttpConfig) -> Result<Self, RegisterError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|_| RegisterError::Unavailable("the HTTP client could not be built".into()))?;
        Ok(Self { config, client })
    }

    /// `base_url` joined with `path` (which starts with `/`).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
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
        let body = serde_json::to_vec(body).map_err(|e| RegisterError::Malformed(redact(&e.to_string())))?;
        self.send(operation, Method::POST, url, Some(body)).await
    }

    /// Sends one request with the retry policy of the module documentation. `operation` names
    /// the call in logs (e.g. `folkeregisteret.person`); the URL is never logged, because it may
    /// carry a fødselsnummer.
    async fn send<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Option<T>, RegisterError> {
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
                    match status {
                        StatusCode::NOT_FOUND => return Ok(None),
                        StatusCode::GONE => return Err(RegisterError::Gone),
                        StatusCode::TOO_MANY_REQUESTS => {
                            let retry_after = response
                                .headers()
                                .get(header::RETRY_AFTER)
                                .and_then(|value| value.to_str().ok())
                                .and_then(|value| parse_retry_after(value, OffsetDateTime::now_utc()));
                            last = Failure::RateLimited(retry_after);
                            retry_after.map_or_else(|| self.backoff(attempt), |d| d.min(self.config.max_backoff))
                        }
                        status if status.is_server_error() => {
                            last = Failure::Unavailable(format!("HTTP {}", status.as_u16()));
                            self.backoff(attempt)
                        }
                        status if status.is_success() => match response.bytes().await {
                            Ok(bytes) => return parse_body(&bytes).map(Some),
                            Err(_) => {
                                last = Failure::Unavailable("the connection broke while reading the answer".into());
                                self.backoff(attempt)
                            }
                        },
                        status => {
                            // Other 4xx (and anything unexpected): our request is wrong or not
                            // allowed, and asking again will not change that.
                            let bytes = response.bytes().await.unwrap_or_default();
                            return Err(RegisterError::Refused(refusal_message(status, &bytes)));
                        }
                    }
                }
                Err(error) if error.is_builder() => {
                    return Err(RegisterError::Unavailable("the request could not be built; check base_url".into()));
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
                    register.operation = operation,
                    attempt,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "register call failed; retrying"
                );
                pause(wait).await;
            }
        }
        tracing::warn!(register.operation = operation, attempts, "register call failed; giving up");
        Err(match last {
            Failure::RateLimited(retry_after) => RegisterError::RateLimited { retry_after },
            Failure::Unavailable(reason) => {
                RegisterError::Unavailable(format!("{reason} (after {attempts} attempt(s))"))
            }
        })
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

fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, RegisterError> {
    serde_json::from_slice(bytes).map_err(|e| RegisterError::Malformed(redact(&e.to_string())))
}

/// The register's own words for a refusal, from the error shapes the registers use:
/// Folkeregisteret `{"kode","melding"}` (and its OpenAPI's `{"feilkode","feilmelding"}` and
/// `{"code","message"}`), Enhetsregisteret's Spring-style `{"error","message"}`, OAuth's
/// `{"error","error_description"}`. Falls back to the status code alone: a body we cannot read
/// is not echoed, as it may hold personal data.
fn refusal_message(status: StatusCode, bytes: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        kode: Option<String>,
        melding: Option<String>,
        feilkode: Option<String>,
        feilmelding: Option<String>,
        code: Option<String>,
        message: Option<String>,
        error: Option<String>,
        error_description: Option<String>,
    }
    let prefix = format!("HTTP {}", status.as_u16());
    let Ok(body) = serde_json::from_slice::<ErrorBody>(bytes) else { return prefix };
    let code = body.kode.or(body.feilkode).or(body.code);
    let text = body.melding.or(body.feilmelding).or(body.message).or(body.error_description).or(body.error);
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

/// Reads `Retry-After`: delta-seconds (`120`) or an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`),
/// relative to `now`. A date in the past means "now".
pub(crate) fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
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
    pub(crate) fn to_address(&self) -> Result<Address, RegisterError> {
        let number = self.adressenummer.as_ref();
        let husnummer = match number.and_then(|n| n.husnummer.as_ref()) {
            None => 0,
            Some(value) => value
                .text()
                .parse::<u16>()
                .map_err(|_| RegisterError::Malformed("vegadresse: husnummer is not a number".into()))?,
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
    pub(crate) fn to_address(&self) -> Result<Address, RegisterError> {
        let number = self
            .matrikkelnummer
            .as_ref()
            .ok_or_else(|| RegisterError::Malformed("matrikkeladresse without matrikkelnummer".into()))?;
        let (postnummer, poststed) = poststed(self.poststed.as_ref());
        Ok(Address::Matrikkeladresse {
            matrikkelnummer: number.written()?,
            tilleggsnavn: self.adressetilleggsnavn.clone().filter(|t| !t.trim().is_empty()),
            postnummer,
            poststed,
        })
    }
}

impl WireMatrikkelnummer {
    /// `kommunenummer-gnr/bnr/fnr/snr`.
    pub(crate) fn written(&self) -> Result<String, RegisterError> {
        let (Some(kommune), Some(gnr), Some(bnr)) = (&self.kommunenummer, self.gaardsnummer, self.bruksnummer) else {
            return Err(RegisterError::Malformed(
                "matrikkelnummer needs kommunenummer, gaardsnummer and bruksnummer".into(),
            ));
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

/// The date part of an ISO 8601 date or date-time (`2021-06-01`, `2021-06-01T00:00:00+02:00`);
/// the date is taken as written, in the offset the register wrote it in.
pub(crate) fn iso_date(text: &str) -> Result<Date, RegisterError> {
    let day = text.trim().get(..10).unwrap_or(text);
    Date::parse(day, format_description!("[year]-[month]-[day]"))
        .map_err(|_| RegisterError::Malformed(format!("not a date: {:?}", redact(text))))
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
    fn retry_after_in_seconds_and_as_a_date() {
        let now = datetime!(2024-05-17 12:00:00 UTC);
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Fri, 17 May 2024 12:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Fri, 17 May 2024 11:00:00 GMT", now), Some(Duration::ZERO), "past dates");
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
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
        let http = Http::new(config).expect("client");
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
        assert_eq!(
            refusal_message(StatusCode::BAD_REQUEST, body),
            "HTTP 400 FREG-001: Ugyldig identifikator [redacted]"
        );
        assert_eq!(refusal_message(StatusCode::FORBIDDEN, b"<html>20914695016</html>"), "HTTP 403");
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
        assert_eq!(iso_date("2021-06-01").expect("date"), time::macros::date!(2021 - 06 - 01));
        assert_eq!(iso_date("2021-06-01T00:00:00+02:00").expect("date"), time::macros::date!(2021 - 06 - 01));
        assert!(iso_date("01.06.2021").is_err());
    }
}
