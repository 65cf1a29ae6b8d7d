//! Server-side sessions. The browser holds a random id in an `HttpOnly` cookie; the database
//! holds its SHA-256, who it belongs to, whom they act as, a CSRF token and the times that
//! decide when it ends: after `idle` without a request, or `absolute` after login, whichever
//! comes first.

use std::time::Duration;

use kernel::{Fnr, Kommunenummer};
use store::{Db, params};

use crate::jose::{random_token, sha256_base64url};
use crate::{ActingAs, IdentityError, Principal, now_seconds};

/// How long sessions last.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// Ends a session this long after its last request.
    pub idle: Duration,
    /// Ends a session this long after login, however active.
    pub absolute: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        // ID-porten's own session lasts 30 minutes idle and 120 at most; ours match.
        Self { idle: Duration::from_secs(30 * 60), absolute: Duration::from_secs(2 * 60 * 60) }
    }
}

/// A session as read for a request.
#[derive(Debug, Clone)]
pub struct Session {
    /// The stored key (SHA-256 of the cookie value).
    pub id_hash: String,
    /// Who logged in.
    pub principal: Principal,
    /// Their name, for the page header.
    pub display_name: String,
    /// The municipality an employee session belongs to.
    pub kommunenummer: Option<Kommunenummer>,
    /// Whom they act as.
    pub acting_as: ActingAs,
    /// The name of whom they act for, when not themselves.
    pub acting_name: Option<String>,
    /// The token every state-changing form must carry.
    pub csrf_token: String,
    /// Which identity provider they came through (`idporten`, `employees`).
    pub provider: String,
    /// The level of assurance of the login.
    pub acr: Option<String>,
    /// The identity provider's session id, for front-channel logout.
    pub idp_sid: Option<String>,
    /// The ID token, as a hint for RP-initiated logout.
    pub id_token: Option<String>,
    /// When it started, in seconds since the epoch.
    pub created_at: i64,
}

/// What a new session is made from.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Who logged in.
    pub principal: Principal,
    /// Their name.
    pub display_name: String,
    /// The municipality (employees).
    pub kommunenummer: Option<Kommunenummer>,
    /// Which provider.
    pub provider: String,
    /// The level of assurance.
    pub acr: Option<String>,
    /// The provider's session id.
    pub idp_sid: Option<String>,
    /// The ID token.
    pub id_token: Option<String>,
}

/// A stored session as read by [`Sessions::find`].
#[derive(serde::Deserialize)]
struct Row {
    id_hash: String,
    principal_kind: String,
    principal: String,
    display_name: String,
    kommunenummer: Option<String>,
    acting_as: String,
    csrf_token: String,
    provider: String,
    acr: Option<String>,
    idp_sid: Option<String>,
    id_token: Option<String>,
    created_at: i64,
    last_seen_at: i64,
}

/// The columns [`Sessions::find`] reads, all as text.
const COLUMNS: &str = "id_hash, principal_kind, principal, display_name, kommunenummer, acting_as, csrf_token, \
                       provider, acr, idp_sid, id_token, created_at, last_seen_at";

/// A last-seen time is only written when it is older than this, so reading a page does not
/// always cost a write.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// How often, at most, timed-out sessions are swept away (when someone logs in).
const PURGE_EVERY_SECONDS: i64 = 60;

/// The sessions store.
#[derive(Debug, Clone)]
pub struct Sessions {
    db: Db,
    settings: SessionSettings,
    last_purge: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl Sessions {
    /// Sessions in `db`, lasting as `settings` say.
    pub fn new(db: Db, settings: SessionSettings) -> Self {
        Self { db, settings, last_purge: std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0)) }
    }

    /// The settings.
    pub fn settings(&self) -> SessionSettings {
        self.settings
    }

    /// Starts a session with a fresh id (never one the browser had before), ending `replaces`
    /// if given. Returns the cookie value and the session.
    pub async fn start(&self, new: NewSession, replaces: Option<&str>) -> Result<(String, Session), IdentityError> {
        let cookie = random_token(32);
        let id_hash = sha256_base64url(&cookie);
        let now = now_seconds();
        // Sessions nobody comes back to are swept here, so the table does not grow for ever.
        let last = self.last_purge.load(std::sync::atomic::Ordering::Relaxed);
        if now - last >= PURGE_EVERY_SECONDS
            && self
                .last_purge
                .compare_exchange(last, now, std::sync::atomic::Ordering::Relaxed, std::sync::atomic::Ordering::Relaxed)
                .is_ok()
        {
            self.purge_expired().await?;
        }
        let session = Session {
            id_hash: id_hash.clone(),
            principal: new.principal,
            display_name: new.display_name,
            kommunenummer: new.kommunenummer,
            acting_as: ActingAs::Myself,
            acting_name: None,
            csrf_token: random_token(32),
            provider: new.provider,
            acr: new.acr,
            idp_sid: new.idp_sid,
            id_token: new.id_token,
            created_at: now,
        };
        let mut tx = self.db.begin().await?;
        if let Some(old) = replaces {
            tx.execute("DELETE FROM sessions WHERE id_hash = $1", &params![sha256_base64url(old)]).await?;
        }
        tx.execute(
            &format!(
                "INSERT INTO sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ),
            &params![
                session.id_hash.as_str(),
                session.principal.kind(),
                session.principal.key(),
                session.display_name.as_str(),
                session.kommunenummer.map(|k| k.as_str().to_owned()),
                ActingAs::Myself.to_stored(None),
                session.csrf_token.as_str(),
                session.provider.as_str(),
                session.acr.clone(),
                session.idp_sid.clone(),
                session.id_token.clone(),
                now,
                now,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok((cookie, session))
    }

    /// The live session for a cookie value, or `None` if there is none or it has timed out
    /// (then it is removed).
    pub async fn find(&self, cookie: &str) -> Result<Option<Session>, IdentityError> {
        if cookie.is_empty() || cookie.len() > 100 {
            return Ok(None);
        }
        let id_hash = sha256_base64url(cookie);
        // Every page a logged-in person opens starts here: one primary-key read.
        let found = self
            .db
            .fetch_optional::<Row>(
                &format!("SELECT {COLUMNS} FROM sessions WHERE id_hash = $1"),
                &params![id_hash.as_str()],
            )
            .await?;
        let Some(row) = found else {
            return Ok(None);
        };
        let now = now_seconds();
        let idle = i64::try_from(self.settings.idle.as_secs()).unwrap_or(i64::MAX);
        let absolute = i64::try_from(self.settings.absolute.as_secs()).unwrap_or(i64::MAX);
        if now - row.last_seen_at > idle || now - row.created_at > absolute {
            self.db.execute("DELETE FROM sessions WHERE id_hash = $1", &params![id_hash.as_str()]).await?;
            return Ok(None);
        }
        // Touched often enough that a session in use never reaches its idle limit: at most every
        // minute, and at least twice per idle period.
        if now - row.last_seen_at > TOUCH_EVERY_SECONDS.min(idle / 2) {
            self.db
                .execute("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2", &params![now, id_hash.as_str()])
                .await?;
        }
        let principal = match row.principal_kind.as_str() {
            "person" => match Fnr::parse(&row.principal) {
                Ok(fnr) => Principal::Person(fnr),
                Err(_) => return Ok(None),
            },
            "employee" => Principal::Employee(row.principal.clone()),
            _ => return Ok(None),
        };
        let (acting_as, acting_name) = ActingAs::from_stored(&row.acting_as);
        Ok(Some(Session {
            id_hash: row.id_hash,
            principal,
            display_name: row.display_name,
            kommunenummer: row.kommunenummer.as_deref().and_then(|k| Kommunenummer::parse(k).ok()),
            acting_as,
            acting_name,
            csrf_token: row.csrf_token,
            provider: row.provider,
            acr: row.acr,
            idp_sid: row.idp_sid,
            id_token: row.id_token,
            created_at: row.created_at,
        }))
    }

    /// Records whom the session now acts as, with the name to show.
    pub async fn set_acting_as(
        &self,
        session: &Session,
        acting_as: &ActingAs,
        name: Option<&str>,
    ) -> Result<(), IdentityError> {
        self.db
            .execute(
                "UPDATE sessions SET acting_as = $1 WHERE id_hash = $2",
                &params![acting_as.to_stored(name), session.id_hash.as_str()],
            )
            .await?;
        Ok(())
    }

    /// Ends one session.
    pub async fn end(&self, session: &Session) -> Result<(), IdentityError> {
        self.db.execute("DELETE FROM sessions WHERE id_hash = $1", &params![session.id_hash.as_str()]).await?;
        Ok(())
    }

    /// Ends every session of a principal ("log out everywhere"); returns how many.
    pub async fn end_all(&self, principal: &Principal) -> Result<u64, IdentityError> {
        Ok(self
            .db
            .execute(
                "DELETE FROM sessions WHERE principal_kind = $1 AND principal = $2",
                &params![principal.kind(), principal.key()],
            )
            .await?)
    }

    /// Ends the sessions an identity provider's session started (front-channel logout).
    pub async fn end_for_provider_session(&self, provider: &str, idp_sid: &str) -> Result<u64, IdentityError> {
        Ok(self
            .db
            .execute("DELETE FROM sessions WHERE provider = $1 AND idp_sid = $2", &params![provider, idp_sid])
            .await?)
    }

    /// Removes sessions that have timed out; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, IdentityError> {
        let now = now_seconds();
        let idle = i64::try_from(self.settings.idle.as_secs()).unwrap_or(i64::MAX / 2);
        let absolute = i64::try_from(self.settings.absolute.as_secs()).unwrap_or(i64::MAX / 2);
        Ok(self
            .db
            .execute(
                "DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2",
                &params![now - idle, now - absolute],
            )
            .await?)
    }

    /// How many live sessions a principal has.
    pub async fn count_for(&self, principal: &Principal) -> Result<i64, IdentityError> {
        #[derive(serde::Deserialize)]
        struct Count {
            n: i64,
        }
        let count = self
            .db
            .fetch_optional::<Count>(
                "SELECT COUNT(*) AS n FROM sessions WHERE principal_kind = $1 AND principal = $2",
                &params![principal.kind(), principal.key()],
            )
            .await?;
        Ok(count.map_or(0, |c| c.n))
    }
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
