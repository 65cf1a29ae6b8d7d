//! Who is there, and what they may do: citizen login through ID-porten (an OpenID Connect
//! relying party), the built-in test identity provider of demo mode, employees with roles
//! scoped to units, server-side sessions, machine clients with Maskinporten-style tokens,
//! acting for others (a child, a ward, an organisation, a fullmakt), and the one authorization
//! policy every handler asks.
//!
//! Invariants:
//! - A login is finished only by the browser that started it, with the `state`, `nonce` and
//!   PKCE verifier made for it, and an ID token whose signature, issuer, audience, times and
//!   level of assurance (`acr`) all check out. Anything else ends in an audit entry and nothing
//!   created.
//! - Sessions live in the database, so any instance can serve any request; cookies carry a
//!   random id whose SHA-256 is all the database keeps.
//! - Whom a person acts as is checked again on every request ([`acting::still_valid`]), so a
//!   revoked fullmakt or a child's 18th birthday ends access at once.
//! - [`policy::decide`] is the only place that says yes or no.
//! - A token's signature is checked, with an algorithm the caller allows and the key its `kid`
//!   names, before any of its claims is trusted; `alg: none` is never accepted ([`jose`]).
//! - Login and token attempts are limited per client address, and the limiter fails closed
//!   ([`ratelimit`]).
//! - Nothing here logs a fødselsnummer, a token or a secret.
//!
//! Well-kept libraries do the work that is not ours to own: `jsonwebtoken` (over `ring`) signs
//! and verifies JWTs and reads PEM keys, and [`jose`] keeps only what OpenID Connect and
//! Maskinporten add on top (choosing keys by `kid`, the allowed algorithms, time rules, audience);
//! `governor`'s keyed limiter counts attempts for [`ratelimit`].
#![forbid(unsafe_code)]

pub mod acting;
pub mod callers;
pub mod employees;
pub mod fullmakt;
pub mod jose;
pub mod keys;
pub mod maskinporten;
pub mod oidc;
pub mod policy;
pub mod ratelimit;
pub mod sessions;
pub mod test_idp;

use kernel::{Fnr, OrgNr};

/// Identity's tables and their migrations: logins in progress, sessions, employees, units and
/// roles (municipal), fullmakter, notices to persons, machine clients (municipal) and their keys, used token
/// ids, the platform's signing keys, and the test provider's codes.
pub static MIGRATIONS: store::Migrations = store::Migrations {
    context: "identity",
    builds_on: &["registers"],
    tables: &[
        "login_attempts",
        "sessions",
        "staff",
        "org_units",
        "staff_roles",
        "fullmakter",
        "person_notices",
        "machine_clients",
        "machine_client_keys",
        "used_jtis",
        "platform_keys",
        "test_idp_codes",
    ],
    municipal_tables: &["staff", "org_units", "staff_roles", "machine_clients"],
    migrations: &[
        store::Migration {
            version: 1,
            description: "identity",
            sqlite: include_str!("../migrations/sqlite/0001_identity.sql"),
            postgres: include_str!("../migrations/postgres/0001_identity.sql"),
            legacy_version: Some(5),
        },
        store::Migration {
            version: 2,
            description: "machine clients per municipality",
            sqlite: include_str!("../migrations/sqlite/0002_machine_clients_per_municipality.sql"),
            postgres: include_str!("../migrations/postgres/0002_machine_clients_per_municipality.sql"),
            legacy_version: None,
        },
    ],
};
use registers::model::OrganisationRole;
use serde::{Deserialize, Serialize};

/// Why an identity operation failed. Keeps the kinds apart so the web layer can answer each
/// properly: a form error, a 401/403, a 404, or a 500.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Input that breaks a rule; the text names the rule (never the value).
    #[error("{0}")]
    Invalid(String),
    /// Authentication failed: a login or a token was refused.
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but not allowed.
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    /// No such thing.
    #[error("not found")]
    NotFound,
    /// It exists already, or the change conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The change would leave the municipality without an administrator, so nobody could
    /// manage employees and roles any more.
    #[error("the municipality's last administrator keeps the role")]
    LastAdministrator,
    /// Too many attempts; try again later.
    #[error("too many attempts")]
    RateLimited,
    /// An identity provider could not be reached or answered nonsense.
    #[error("the identity provider failed: {0}")]
    Provider(String),
    /// A key or token could not be made or read.
    #[error(transparent)]
    Jose(#[from] jose::JoseError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// A register failed.
    #[error(transparent)]
    Register(#[from] registers::RegisterError),
    /// The access log failed.
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
}

/// Who has logged in.
#[derive(Clone, PartialEq, Eq)]
pub enum Principal {
    /// A resident, by fødselsnummer or d-nummer (ID-porten's `pid`).
    Person(Fnr),
    /// An employee of the municipality, by employee id.
    Employee(String),
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::Person(_) => f.write_str("Person(..)"),
            Principal::Employee(id) => write!(f, "Employee({id})"),
        }
    }
}

impl Principal {
    /// `person` or `employee`, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Principal::Person(_) => "person",
            Principal::Employee(_) => "employee",
        }
    }

    /// The stored key: the digits of the number, or the employee id.
    pub fn key(&self) -> String {
        match self {
            Principal::Person(fnr) => fnr.as_digits(),
            Principal::Employee(id) => id.clone(),
        }
    }

    /// The actor of an access-log entry.
    pub fn actor(&self) -> audit::Actor {
        match self {
            Principal::Person(fnr) => audit::Actor::Person(*fnr),
            Principal::Employee(id) => audit::Actor::Employee(id.clone()),
        }
    }
}

/// Whom a logged-in person acts as. Stored with the session and on every audit entry.
#[derive(Clone, PartialEq, Eq)]
pub enum ActingAs {
    /// Themselves.
    Myself,
    /// A minor child they have parental responsibility (foreldreansvar) for.
    Child(Fnr),
    /// A person they are guardian (verge) for.
    Ward(Fnr),
    /// An organisation where they hold a role that may act for it.
    Organisation(OrgNr, OrganisationRole),
    /// A person who has given them a fullmakt.
    Fullmakt {
        /// The fullmakt.
        id: String,
        /// The person who gave it.
        giver: Fnr,
    },
}

impl std::fmt::Debug for ActingAs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

/// How [`ActingAs`] is stored: a small JSON object with plain strings.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredActingAs {
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fnr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    orgnr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fullmakt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

impl ActingAs {
    /// `myself`, `child`, `ward`, `organisation` or `fullmakt`.
    pub fn kind(&self) -> &'static str {
        match self {
            ActingAs::Myself => "myself",
            ActingAs::Child(_) => "child",
            ActingAs::Ward(_) => "ward",
            ActingAs::Organisation(..) => "organisation",
            ActingAs::Fullmakt { .. } => "fullmakt",
        }
    }

    /// The person acted for, when it is a person other than oneself.
    pub fn person(&self) -> Option<&Fnr> {
        match self {
            ActingAs::Child(fnr) | ActingAs::Ward(fnr) | ActingAs::Fullmakt { giver: fnr, .. } => Some(fnr),
            ActingAs::Myself | ActingAs::Organisation(..) => None,
        }
    }

    /// What the access log's `acting_for` says: `child:<fnr>`, `organisation:<orgnr>`, ...;
    /// `None` when acting as oneself.
    pub fn audit_label(&self) -> Option<String> {
        match self {
            ActingAs::Myself => None,
            ActingAs::Child(fnr) => Some(format!("child:{}", fnr.as_digits())),
            ActingAs::Ward(fnr) => Some(format!("ward:{}", fnr.as_digits())),
            ActingAs::Organisation(orgnr, role) => Some(format!("organisation:{}:{}", orgnr.as_digits(), role.code())),
            ActingAs::Fullmakt { id, giver } => Some(format!("fullmakt:{id}:{}", giver.as_digits())),
        }
    }

    /// Stored as JSON, with the display name of whom is acted for.
    pub(crate) fn to_stored(&self, name: Option<&str>) -> String {
        let mut stored = StoredActingAs {
            kind: self.kind().to_owned(),
            fnr: self.person().map(Fnr::as_digits),
            orgnr: None,
            role: None,
            fullmakt: None,
            name: name.map(str::to_owned),
        };
        if let ActingAs::Organisation(orgnr, role) = self {
            stored.orgnr = Some(orgnr.as_digits());
            stored.role = Some(role.code().to_owned());
        }
        if let ActingAs::Fullmakt { id, .. } = self {
            stored.fullmakt = Some(id.clone());
        }
        serde_json::to_string(&stored).unwrap_or_else(|_| r#"{"kind":"myself"}"#.to_owned())
    }

    /// Reads the stored form; anything unreadable is acting as oneself, the safe default.
    pub(crate) fn from_stored(json: &str) -> (ActingAs, Option<String>) {
        let Ok(stored) = serde_json::from_str::<StoredActingAs>(json) else { return (ActingAs::Myself, None) };
        let fnr = stored.fnr.as_deref().and_then(|f| Fnr::parse(f).ok());
        let acting = match (stored.kind.as_str(), fnr) {
            ("child", Some(fnr)) => ActingAs::Child(fnr),
            ("ward", Some(fnr)) => ActingAs::Ward(fnr),
            ("fullmakt", Some(giver)) => match stored.fullmakt {
                Some(id) => ActingAs::Fullmakt { id, giver },
                None => ActingAs::Myself,
            },
            ("organisation", _) => {
                let orgnr = stored.orgnr.as_deref().and_then(|o| OrgNr::parse(o).ok());
                let role = stored.role.as_deref().and_then(OrganisationRole::from_code);
                match (orgnr, role) {
                    (Some(orgnr), Some(role)) => ActingAs::Organisation(orgnr, role),
                    _ => ActingAs::Myself,
                }
            }
            _ => ActingAs::Myself,
        };
        let name = if acting == ActingAs::Myself { None } else { stored.name };
        (acting, name)
    }
}

/// Audit actions of the identity context.
pub mod actions {
    /// A login succeeded.
    pub const LOGIN: &str = "identity.login";
    /// A login was refused (bad state, nonce, token, acr, ...).
    pub const LOGIN_REFUSED: &str = "identity.login.refused";
    /// A logout (one session, everywhere, or front-channel).
    pub const LOGOUT: &str = "identity.logout";
    /// Whom a person acts as changed.
    pub const ACTING_AS: &str = "identity.acting-as";
    /// A fullmakt was granted.
    pub const FULLMAKT_GRANTED: &str = "identity.fullmakt.granted";
    /// A fullmakt was revoked.
    pub const FULLMAKT_REVOKED: &str = "identity.fullmakt.revoked";
    /// An employee was added or changed.
    pub const EMPLOYEE_CHANGED: &str = "identity.employee.changed";
    /// A role was granted to an employee.
    pub const ROLE_GRANTED: &str = "identity.role.granted";
    /// A role was taken from an employee.
    pub const ROLE_REVOKED: &str = "identity.role.revoked";
    /// A machine client or key was registered or changed.
    pub const CLIENT_CHANGED: &str = "identity.client.changed";
    /// A machine token was issued.
    pub const TOKEN_ISSUED: &str = "maskinporten.token.issued";
    /// A machine token request or a presented token was refused.
    pub const TOKEN_REFUSED: &str = "maskinporten.token.refused";
}

/// The purpose and legal basis of the identity context's own audit entries: recording logins,
/// changes of access and refusals is a security measure (GDPR art. 32).
pub fn security_context(actor: audit::Actor, acting_for: Option<String>) -> audit::AccessContext {
    // Both texts are constants within the length rules, so parsing cannot fail; the fallback
    // keeps this function total anyway.
    let purpose = audit::Purpose::parse("Innlogging og tilgangskontroll").unwrap_or_else(|_| unreachable_text());
    let legal_basis = audit::LegalBasis::parse("personvernforordningen art. 32 (sikkerhet ved behandlingen)")
        .unwrap_or_else(|_| unreachable_basis());
    audit::AccessContext { actor, acting_for, purpose, legal_basis }
}

#[allow(clippy::panic)]
fn unreachable_text() -> audit::Purpose {
    panic!("the security purpose is a valid constant")
}

#[allow(clippy::panic)]
fn unreachable_basis() -> audit::LegalBasis {
    panic!("the security legal basis is a valid constant")
}

/// Writes one security entry to the access log: who, for whom, what, about whom.
pub async fn record(
    db: &store::Db,
    actor: audit::Actor,
    acting_for: Option<String>,
    action: &str,
    subject: Option<&Fnr>,
    resource: Option<&str>,
) -> Result<(), IdentityError> {
    let context = security_context(actor, acting_for);
    audit::AuditLog::new(db.clone()).record(&context, &[audit::Access { action, subject, resource }]).await?;
    Ok(())
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now_seconds() -> i64 {
    kernel::Timestamp::now().millis() / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acting_as_survives_storage_and_garbage_means_myself() {
        let child = Fnr::parse("14839221100").expect("test value");
        let orgnr = OrgNr::parse("974760673").expect("test value");
        for acting in [
            ActingAs::Myself,
            ActingAs::Child(child),
            ActingAs::Ward(child),
            ActingAs::Organisation(orgnr, OrganisationRole::DagligLeder),
            ActingAs::Fullmakt { id: "f1".to_owned(), giver: child },
        ] {
            let (back, name) = ActingAs::from_stored(&acting.to_stored(Some("Navn")));
            assert_eq!(back, acting);
            assert_eq!(name.is_some(), acting != ActingAs::Myself);
        }
        for garbage in [
            "",
            "{}",
            r#"{"kind":"child"}"#,
            r#"{"kind":"child","fnr":"123"}"#,
            r#"{"kind":"organisation","orgnr":"1"}"#,
        ] {
            assert_eq!(ActingAs::from_stored(garbage).0, ActingAs::Myself, "{garbage}");
        }
    }
}
