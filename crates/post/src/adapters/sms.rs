//! SMS notices through an HTTP gateway speaking LINK Mobility's SMS REST API ("Common"
//! platform, `POST /sms/send`), the bulk-SMS service most Norwegian municipalities buy.
//!
//! The request carries the fields of LINK's published `sendRequest` that a notice needs:
//!
//! ```json
//! { "source": "Bergen", "sourceTON": "ALPHANUMERIC",
//!   "destination": "+4791234567", "destinationTON": "MSISDN",
//!   "userData": "Du har fått brev …",
//!   "platformId": "COMMON_API", "platformPartnerId": "12345",
//!   "refId": "<delivery key>", "useDeliveryReport": false }
//! ```
//!
//! and LINK answers `{"messageId": "…", "resultCode": 1005, "description": "Queued"}`. The
//! delivery key goes in `refId` (LINK's client reference); the simulator beside this adapter
//! keeps the first message for a reference and counts the rest as repeats. Authentication is
//! `Authorization: Bearer <token>` (LINK's OAuth 2.0 access token).

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::email::Secret;
use super::{ChannelError, Sms, SmsGateway};

/// The request body of `POST /sms/send`, field names as LINK Mobility publishes them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRequest {
    /// The sender shown: up to 11 letters and digits (`ALPHANUMERIC`), or a number.
    pub source: String,
    /// `ALPHANUMERIC` for a name, `MSISDN` for a number.
    #[serde(rename = "sourceTON", default)]
    pub source_ton: Option<String>,
    /// The recipient in E.164 (`+4791234567`).
    pub destination: String,
    /// `MSISDN`.
    #[serde(rename = "destinationTON", default)]
    pub destination_ton: Option<String>,
    /// The text.
    #[serde(rename = "userData")]
    pub user_data: String,
    /// The platform (given by LINK, usually `COMMON_API`).
    #[serde(rename = "platformId", default)]
    pub platform_id: Option<String>,
    /// The account on the platform (given by LINK).
    #[serde(rename = "platformPartnerId", default)]
    pub platform_partner_id: Option<String>,
    /// The client's own reference: the delivery key.
    #[serde(rename = "refId", default)]
    pub ref_id: Option<String>,
    /// Whether LINK should call back with a delivery report.
    #[serde(rename = "useDeliveryReport", default)]
    pub use_delivery_report: bool,
}

impl std::fmt::Debug for SendRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The number and the text are personal data.
        f.debug_struct("SendRequest").field("ref_id", &self.ref_id).finish_non_exhaustive()
    }
}

/// The answer to `POST /sms/send`, on success and on refusal alike.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SendResponse {
    /// The gateway's id of the message (on success).
    #[serde(rename = "messageId", default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// LINK's result code: 1005 queued; 1xxx otherwise.
    #[serde(rename = "resultCode", default)]
    pub result_code: i32,
    /// What the code means.
    #[serde(default)]
    pub description: String,
}

/// LINK's "queued" result code.
pub const RESULT_QUEUED: i32 = 1005;

/// The gateway, as `[post.sms]` in the server's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSmsSettings {
    /// The full URL of the send call (`https://n-eu.linkmobility.io/sms/send`).
    pub url: String,
    /// The access token.
    pub token: Secret,
    /// How long a call may take, connection included.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// LINK's `platformId`.
    #[serde(default = "default_platform_id")]
    pub platform_id: String,
    /// LINK's `platformPartnerId`.
    #[serde(default)]
    pub platform_partner_id: String,
}

fn default_timeout_seconds() -> u64 {
    15
}

fn default_platform_id() -> String {
    "COMMON_API".into()
}

impl HttpSmsSettings {
    /// Settings with the defaults: 15 seconds, platform `COMMON_API`, no partner id.
    pub fn new(url: impl Into<String>, token: impl Into<Secret>) -> Self {
        HttpSmsSettings {
            url: url.into(),
            token: token.into(),
            timeout_seconds: default_timeout_seconds(),
            platform_id: default_platform_id(),
            platform_partner_id: String::new(),
        }
    }
}

/// Why the SMS settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsConfigError {
    /// The URL is not an http(s) URL.
    #[error("post.sms.url is not an http or https URL")]
    Url,
    /// The HTTP client cannot be built.
    #[error("post.sms: the HTTP client cannot be built: {0}")]
    Client(String),
}

/// Sends SMS through LINK Mobility's REST API (or the simulator).
#[derive(Clone)]
pub struct HttpSmsGateway {
    client: reqwest::Client,
    url: reqwest::Url,
    token: Secret,
    platform_id: String,
    platform_partner_id: String,
}

impl std::fmt::Debug for HttpSmsGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSmsGateway")
            .field("url", &self.url.as_str())
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl HttpSmsGateway {
    /// A gateway for these settings.
    pub fn new(settings: &HttpSmsSettings) -> Result<Self, SmsConfigError> {
        let url = reqwest::Url::parse(&settings.url).map_err(|_| SmsConfigError::Url)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SmsConfigError::Url);
        }
        // Between one second and an hour, whatever the setting says.
        let timeout = Duration::from_secs(settings.timeout_seconds.clamp(1, 3600));
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|error| SmsConfigError::Client(error.to_string()))?;
        Ok(HttpSmsGateway {
            client,
            url,
            token: settings.token.clone(),
            platform_id: settings.platform_id.clone(),
            platform_partner_id: settings.platform_partner_id.clone(),
        })
    }

    /// The request body for one SMS.
    pub fn request(&self, sms: &Sms) -> SendRequest {
        let number = sms
            .sender
            .strip_prefix('+')
            .is_some_and(|digits| !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()));
        SendRequest {
            source: sms.sender.clone(),
            source_ton: Some(if number { "MSISDN" } else { "ALPHANUMERIC" }.into()),
            destination: sms.to.clone(),
            destination_ton: Some("MSISDN".into()),
            user_data: sms.text.clone(),
            platform_id: Some(self.platform_id.clone()),
            platform_partner_id: (!self.platform_partner_id.is_empty()).then(|| self.platform_partner_id.clone()),
            ref_id: Some(sms.reference.clone()),
            use_delivery_report: false,
        }
    }

    async fn send_sms(&self, sms: &Sms) -> Result<(), ChannelError> {
        let response = self
            .client
            .post(self.url.clone())
            .bearer_auth(self.token.expose())
            .json(&self.request(sms))
            .send()
            .await
            .map_err(|error| {
                // reqwest's text names the URL, never the body; still, say only what kind.
                if error.is_timeout() {
                    ChannelError::Transient("the SMS gateway did not answer in time".into())
                } else {
                    ChannelError::Transient("the SMS gateway cannot be reached".into())
                }
            })?;
        let status = response.status();
        // The gateway's description is shown only as its result code: some gateways quote the
        // number back.
        let answer: SendResponse = response.json().await.unwrap_or_default();
        classify(status, &answer)?;
        tracing::debug!(sms.reference = %sms.reference, sms.gateway_id = ?answer.message_id, "SMS handed over");
        Ok(())
    }
}

/// Sorts an answer into success, "try again" and "give up".
fn classify(status: reqwest::StatusCode, answer: &SendResponse) -> Result<(), ChannelError> {
    let code = status.as_u16();
    let what = if answer.result_code != 0 {
        format!("the SMS gateway answered {code} (result code {})", answer.result_code)
    } else {
        format!("the SMS gateway answered {code}")
    };
    match code {
        200..=299 => Ok(()),
        // 429 and 408 are "later"; 401 and 403 are the municipality's token, not the message:
        // giving up on every notice until the token is renewed would lose them all.
        401 | 403 | 408 | 429 => Err(ChannelError::Transient(what)),
        400..=499 => Err(ChannelError::Permanent(what)),
        _ => Err(ChannelError::Transient(what)),
    }
}

impl SmsGateway for HttpSmsGateway {
    fn send<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<(), ChannelError>> {
        self.send_sms(sms).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_uses_links_field_names() {
        let gateway = HttpSmsGateway::new(&HttpSmsSettings::new("http://127.0.0.1:9/sms/send", "t")).expect("gateway");
        let sms = Sms {
            reference: "key-1".into(),
            to: "+4791234567".into(),
            sender: "Bergen".into(),
            text: "Du har fått brev".into(),
        };
        let json = serde_json::to_value(gateway.request(&sms)).expect("json");
        assert_eq!(json["source"], "Bergen");
        assert_eq!(json["sourceTON"], "ALPHANUMERIC");
        assert_eq!(json["destination"], "+4791234567");
        assert_eq!(json["userData"], "Du har fått brev");
        assert_eq!(json["refId"], "key-1");
        assert_eq!(json["platformId"], "COMMON_API");
        assert!(!format!("{:?}", gateway.request(&sms)).contains("4791234567"));
    }

    #[test]
    fn statuses_sort_into_transient_and_permanent() {
        let answer = SendResponse::default();
        let status = |code| reqwest::StatusCode::from_u16(code).expect("status");
        assert!(classify(status(200), &answer).is_ok());
        assert!(classify(status(429), &answer).expect_err("429").is_transient());
        assert!(classify(status(503), &answer).expect_err("503").is_transient());
        assert!(!classify(status(400), &answer).expect_err("400").is_transient());
        assert!(!classify(status(422), &answer).expect_err("422").is_transient());
    }

    #[test]
    fn the_token_is_not_in_debug() {
        let settings = HttpSmsSettings::new("https://n-eu.linkmobility.io/sms/send", "hemmeleg-token");
        assert!(!format!("{settings:?}").contains("hemmeleg"));
        let gateway = HttpSmsGateway::new(&settings).expect("gateway");
        assert!(!format!("{gateway:?}").contains("hemmeleg"));
        assert_eq!(HttpSmsGateway::new(&HttpSmsSettings::new("ftp://x", "t")).err(), Some(SmsConfigError::Url));
    }
}
