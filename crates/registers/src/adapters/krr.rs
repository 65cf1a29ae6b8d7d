//! Kontakt- og reservasjonsregisteret (Digdir) over its REST API ("oppslagstjenesten"), as
//! Digdir's `felleslosninger/docs` (`_docs/Kontaktregisteret/oppslagstjenesten_rest.md`) and
//! "Attributter i KRR" describe it: `POST {base}/rest/v1/personer` with
//! `{"personidentifikatorer":[...]}` (1 to [`MAX_BATCH`]) and a Maskinporten token (scopes
//! `krr:global/kontaktinformasjon.read` and `krr:global/digitalpost.read`) →
//! `{"personer":[...]}`, each with `personidentifikator`, `reservasjon` (`JA`/`NEI`), `status`
//! (`AKTIV`/`SLETTET`/`IKKE_REGISTRERT`), `varslingsstatus` (`KAN_VARSLES`/`KAN_IKKE_VARSLES`),
//! `kontaktinformasjon{epostadresse, epostadresse_oppdatert, epostadresse_sist_verifisert,
//! mobiltelefonnummer, mobiltelefonnummer_oppdatert, mobiltelefonnummer_sist_verifisert}`,
//! `digital_post{postkasseadresse, postkasseleverandoeradresse}`, `sertifikat` and `spraak`.
//!
//! Hosts: `https://kontaktregisteret.no` in production and `https://test.kontaktregisteret.no`
//! for testing (the old `krr.digdir.no` hosts were shut down in 2023); `base_url` is the host,
//! the client adds `/rest/v1/personer`.
//!
//! Mapping choices:
//!
//! - every entry the register returns becomes a [`Contact`], `IKKE_REGISTRERT` (a person KRR
//!   does not know: it answers with this status rather than leaving the person out) and
//!   `SLETTET` included, as the local registers keep them; such entries carry no contact data,
//!   cannot be notified and have no mailbox. Identifiers the register does not mention at all
//!   are left out;
//! - a missing `status` is `IKKE_REGISTRERT`, a missing `reservasjon` is `NEI`;
//! - `varslingsstatus` decides [`Contact::can_be_notified`] when KRR gives it (KRR applies
//!   eForvaltningsforskriften § 32 itself). When it is missing, we apply the rule: contact data
//!   neither updated (`*_oppdatert`) nor verified (`*_sist_verifisert`) in the last 18 months
//!   is not used for notices. Such an e-mail address or mobile number is left out of the
//!   [`Contact`], and the entry may be notified only if it is active, unreserved and has a
//!   channel left;
//! - the mailbox provider is recognised by `postkasseleverandoeradresse`, the provider's
//!   organisasjonsnummer (Digipost 984661185, e-Boks 922020175); an unknown provider gives no
//!   mailbox, so the letter goes by another channel;
//! - `spraak` `nb`/`nn`/`en` becomes a [`kernel::Language`]; `se` (and anything else the
//!   platform does not speak) gives none;
//! - a code outside these lists is [`RegisterError::Unreadable`], naming the field.

use kernel::{Fnr, Language};
use serde::Deserialize;
use time::{Date, OffsetDateTime};

use super::{Http, HttpConfig, iso_date, not_in_code_list, unreadable};
use crate::model::{Contact, ContactStatus, MailboxProvider};
use crate::{ContactSource, MAX_BATCH, Register, RegisterError};

const REGISTER: Register = Register::Krr;

/// How old contact data may be and still be used for notices, in months.
pub const NOTICE_FRESHNESS_MONTHS: u8 = 18;

/// KRR's oppslagstjeneste.
#[derive(Debug, Clone)]
pub struct KrrClient {
    http: Http,
    today: Option<Date>,
}

impl KrrClient {
    /// A client for the service at `config.base_url` (`https://kontaktregisteret.no`, or
    /// `https://test.kontaktregisteret.no`).
    pub fn new(config: HttpConfig) -> Result<Self, RegisterError> {
        Ok(Self { http: Http::new(REGISTER, config)?, today: None })
    }

    /// The same client judging the 18-month rule as of `today` rather than the current UTC
    /// date (for tests and replays).
    pub fn with_today(mut self, today: Date) -> Self {
        self.today = Some(today);
        self
    }

    fn today(&self) -> Date {
        self.today.unwrap_or_else(|| OffsetDateTime::now_utc().date())
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
        let oldest_usable = months_before(self.today(), NOTICE_FRESHNESS_MONTHS);
        answer
            .personer
            .into_iter()
            .enumerate()
            .map(|(index, person)| person.into_contact(index, oldest_usable))
            .collect()
    }
}

/// The same day `months` months earlier (the last day of the month where that day does not
/// exist: 31 August less 18 months is 28 or 29 February).
pub(crate) fn months_before(day: Date, months: u8) -> Date {
    let total = day.year() * 12 + i32::from(u8::from(day.month()) - 1) - i32::from(months);
    let year = total.div_euclid(12);
    let month =
        time::Month::try_from(u8::try_from(total.rem_euclid(12) + 1).unwrap_or(1)).unwrap_or(time::Month::January);
    let last = month.length(year);
    Date::from_calendar_date(year, month, day.day().min(last)).unwrap_or(day)
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
    epostadresse_oppdatert: Option<String>,
    epostadresse_sist_verifisert: Option<String>,
    mobiltelefonnummer: Option<String>,
    mobiltelefonnummer_oppdatert: Option<String>,
    mobiltelefonnummer_sist_verifisert: Option<String>,
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

/// The later of two optional timestamps' dates; `field` names the first for errors.
fn last_confirmed(
    index: usize,
    field: &str,
    updated: Option<&str>,
    verified: Option<&str>,
) -> Result<Option<Date>, RegisterError> {
    let read = |suffix: &str, text: Option<&str>| -> Result<Option<Date>, RegisterError> {
        match text.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(text) => {
                iso_date(REGISTER, &format!("personer[{index}].kontaktinformasjon.{field}_{suffix}"), text).map(Some)
            }
        }
    };
    Ok(read("oppdatert", updated)?.max(read("sist_verifisert", verified)?))
}

impl WirePerson {
    fn into_contact(self, index: usize, oldest_usable: Date) -> Result<Contact, RegisterError> {
        let field = |name: &str| format!("personer[{index}].{name}");
        let identifier = self
            .personidentifikator
            .as_deref()
            .ok_or_else(|| unreadable(REGISTER, field("personidentifikator"), "missing"))?;
        let fnr = Fnr::parse(identifier)
            .map_err(|e| unreadable(REGISTER, field("personidentifikator"), format!("not a valid identifier: {e}")))?;
        let reserved = match self.reservasjon.as_deref() {
            None | Some("NEI") => false,
            Some("JA") => true,
            Some(other) => {
                return Err(unreadable(REGISTER, field("reservasjon"), not_in_code_list(other)));
            }
        };
        let status = match self.status.as_deref() {
            Some("AKTIV") => ContactStatus::Aktiv,
            Some("SLETTET") => ContactStatus::Slettet,
            None | Some("IKKE_REGISTRERT") => ContactStatus::IkkeRegistrert,
            Some(other) => {
                return Err(unreadable(REGISTER, field("status"), not_in_code_list(other)));
            }
        };
        let varslingsstatus = match self.varslingsstatus.as_deref() {
            Some("KAN_VARSLES") => Some(true),
            Some("KAN_IKKE_VARSLES") => Some(false),
            None => None,
            Some(other) => {
                return Err(unreadable(REGISTER, field("varslingsstatus"), not_in_code_list(other)));
            }
        };
        let contact = self.kontaktinformasjon.unwrap_or_default();
        let mut email = non_empty(contact.epostadresse);
        let mut mobile = non_empty(contact.mobiltelefonnummer);
        let can_be_notified = match varslingsstatus {
            Some(decided) => decided,
            None => {
                // KRR did not decide: apply the 18-month rule to each channel ourselves.
                let fresh = |confirmed: Option<Date>| confirmed.is_some_and(|day| day >= oldest_usable);
                let email_confirmed = last_confirmed(
                    index,
                    "epostadresse",
                    contact.epostadresse_oppdatert.as_deref(),
                    contact.epostadresse_sist_verifisert.as_deref(),
                )?;
                let mobile_confirmed = last_confirmed(
                    index,
                    "mobiltelefonnummer",
                    contact.mobiltelefonnummer_oppdatert.as_deref(),
                    contact.mobiltelefonnummer_sist_verifisert.as_deref(),
                )?;
                if !fresh(email_confirmed) {
                    email = None;
                }
                if !fresh(mobile_confirmed) {
                    mobile = None;
                }
                !reserved && status == ContactStatus::Aktiv && (email.is_some() || mobile.is_some())
            }
        };
        if status != ContactStatus::Aktiv {
            // SLETTET and IKKE_REGISTRERT carry no contact data (Digdir's "Person" definition).
            email = None;
            mobile = None;
        }
        let mailbox = self.digital_post.filter(|_| status == ContactStatus::Aktiv).and_then(|post| {
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
        Ok(Contact {
            fnr,
            reserved,
            status,
            can_be_notified: can_be_notified && status == ContactStatus::Aktiv,
            email,
            mobile,
            mailbox,
            language,
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::months_before;

    #[test]
    fn eighteen_months_back() {
        assert_eq!(months_before(date!(2026 - 12 - 03), 18), date!(2025 - 06 - 03));
        assert_eq!(months_before(date!(2025 - 08 - 31), 18), date!(2024 - 02 - 29));
        assert_eq!(months_before(date!(2026 - 08 - 31), 18), date!(2025 - 02 - 28));
        assert_eq!(months_before(date!(2026 - 01 - 15), 1), date!(2025 - 12 - 15));
    }
}
