//! Kontakt- og reservasjonsregisteret (Digdir) over its REST API ("oppslagstjenesten"):
//! `POST {base}/rest/v1/personer` with `{"personidentifikatorer":[...]}` (1 to [`MAX_BATCH`]) and
//! a Maskinporten token (scopes `krr:global/kontaktinformasjon.read` and
//! `krr:global/digitalpost.read`) → `{"personer":[...]}`, each with `personidentifikator`,
//! `reservasjon` (`JA`/`NEI`), `status` (`AKTIV`/`SLETTET`/`IKKE_REGISTRERT`), `varslingsstatus`
//! (`KAN_VARSLES`/`KAN_IKKE_VARSLES`), `kontaktinformasjon{epostadresse, mobiltelefonnummer,
//! ..._oppdatert, ..._sist_verifisert}`, `digital_post{postkasseadresse,
//! postkasseleverandoeradresse}`, `sertifikat` and `spraak`.
//!
//! Mapping choices:
//!
//! - every entry the register returns becomes a [`Contact`], `IKKE_REGISTRERT` and `SLETTET`
//!   included (as the local registers keep them); identifiers the register does not mention are
//!   left out;
//! - a missing `status` is `IKKE_REGISTRERT`, a missing `reservasjon` is `NEI`;
//! - `varslingsstatus` decides [`Contact::can_be_notified`]; when the token's scopes leave it out
//!   we derive it: an active, unreserved entry with an e-mail address or mobile number;
//! - the mailbox provider is recognised by `postkasseleverandoeradresse`, the provider's
//!   organisasjonsnummer (Digipost 984661185, e-Boks 922020175); an unknown provider gives no
//!   mailbox, so the letter goes by another channel;
//! - `spraak` `nb`/`nn`/`en` becomes a [`kernel::Language`]; `se` (and anything else the
//!   platform does not speak) gives none.

use kernel::{Fnr, Language};
use serde::Deserialize;

use super::{Http, HttpConfig};
use crate::model::{Contact, ContactStatus, MailboxProvider};
use crate::{ContactSource, MAX_BATCH, RegisterError};

/// KRR's oppslagstjeneste.
#[derive(Debug, Clone)]
pub struct KrrClient {
    http: Http,
}

impl KrrClient {
    /// A client for the service at `config.base_url` (e.g. `https://krr.digdir.no`).
    pub fn new(config: HttpConfig) -> Result<Self, RegisterError> {
        Ok(Self { http: Http::new(config)? })
    }
}

impl ContactSource for KrrClient {
    async fn contacts(&self, ids: &[Fnr]) -> Result<Vec<Contact>, RegisterError> {
        if ids.len() > MAX_BATCH {
            return Err(RegisterError::TooManyInBatch(ids.len()));
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let body = serde_json::json!({ "personidentifikatorer": ids.iter().map(Fnr::as_digits).collect::<Vec<_>>() });
        let url = self.http.url("/rest/v1/personer");
        let Some(answer) = self.http.post::<WireAnswer>("krr.personer", &url, &body).await? else {
            return Ok(Vec::new());
        };
        answer.personer.into_iter().map(WirePerson::into_contact).collect()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireAnswer {
    personer: Vec<WirePerson>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WirePerson {
    personidentifikator: Option<String>,
    reservasjon: Option<String>,
    status: Option<String>,
    varslingsstatus: Option<String>,
    kontaktinformasjon: Option<WireKontaktinformasjon>,
    digital_post: Option<WireDigitalPost>,
    spraak: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireKontaktinformasjon {
    epostadresse: Option<String>,
    mobiltelefonnummer: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireDigitalPost {
    postkasseadresse: Option<String>,
    postkasseleverandoeradresse: Option<String>,
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

impl WirePerson {
    fn into_contact(self) -> Result<Contact, RegisterError> {
        let identifier = self
            .personidentifikator
            .as_deref()
            .ok_or_else(|| RegisterError::Malformed("krr: an entry without personidentifikator".into()))?;
        let fnr = Fnr::parse(identifier)
            .map_err(|e| RegisterError::Malformed(format!("krr: personidentifikator is not valid: {e}")))?;
        let reserved = match self.reservasjon.as_deref() {
            None | Some("NEI") => false,
            Some("JA") => true,
            Some(other) => return Err(RegisterError::Malformed(format!("krr: unknown reservasjon {other:?}"))),
        };
        let status = match self.status.as_deref() {
            Some("AKTIV") => ContactStatus::Aktiv,
            Some("SLETTET") => ContactStatus::Slettet,
            None | Some("IKKE_REGISTRERT") => ContactStatus::IkkeRegistrert,
            Some(other) => return Err(RegisterError::Malformed(format!("krr: unknown status {other:?}"))),
        };
        let contact = self.kontaktinformasjon.unwrap_or_default();
        let email = non_empty(contact.epostadresse);
        let mobile = non_empty(contact.mobiltelefonnummer);
        let can_be_notified = match self.varslingsstatus.as_deref() {
            Some("KAN_VARSLES") => true,
            Some("KAN_IKKE_VARSLES") => false,
            None => !reserved && status == ContactStatus::Aktiv && (email.is_some() || mobile.is_some()),
            Some(other) => return Err(RegisterError::Malformed(format!("krr: unknown varslingsstatus {other:?}"))),
        };
        let mailbox = self.digital_post.and_then(|post| {
            let address = non_empty(post.postkasseadresse)?;
            let provider_orgnr = non_empty(post.postkasseleverandoeradresse)?;
            let provider =
                [MailboxProvider::Digipost, MailboxProvider::EBoks].into_iter().find(|p| p.orgnr() == provider_orgnr);
            if provider.is_none() {
                tracing::warn!(provider.orgnr = provider_orgnr.as_str(), "krr: unknown digital mailbox provider");
            }
            Some((provider?, address))
        });
        let language = self.spraak.as_deref().and_then(|tag| tag.trim().parse::<Language>().ok());
        Ok(Contact { fnr, reserved, status, can_be_notified, email, mobile, mailbox, language })
    }
}
