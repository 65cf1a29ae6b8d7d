//! The access log (innsynslogg): every read of a person's data from a register is recorded —
//! who read it, acting for whom, what, for which purpose and on which legal basis — before the
//! data is released, and the person it concerns can see every entry about them.
//!
//! Invariants:
//! - Entries are only ever inserted. Each carries the hash of the one before it, so a changed,
//!   removed or reordered entry breaks the chain, which [`AuditLog::verify`] finds.
//! - The chain has one end, the `audit_head` row; a writer locks it (SQLite's single writer,
//!   `FOR UPDATE` on PostgreSQL), so concurrent writers never fork the chain.
//! - No entry without a purpose and a legal basis: both are types that cannot be empty.
//! - Nothing here logs personal data through `tracing`.
#![forbid(unsafe_code)]

use std::fmt;

use kernel::{Fnr, OrgNr, Timestamp};
use sha2::{Digest, Sha256};
use store::{Backend, Db, Migration, Migrations, Param, Tx, params};

/// The access log's tables and their migrations.
pub static MIGRATIONS: Migrations = Migrations {
    context: "audit",
    builds_on: &[],
    tables: &["audit_log", "audit_head"],
    municipal_tables: &[],
    migrations: &[Migration {
        version: 1,
        description: "access log",
        sqlite: include_str!("../migrations/sqlite/0001_audit.sql"),
        postgres: include_str!("../migrations/postgres/0001_audit.sql"),
        legacy_version: Some(4),
    }],
};

/// Why the access log refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A purpose or legal basis was empty or too long.
    #[error("{field} {problem}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The chain does not hold together at this entry.
    #[error("the access log has been altered at entry {seq}")]
    Tampered {
        /// The first entry that does not fit.
        seq: i64,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// The longest purpose or legal basis kept.
pub const MAX_TEXT: usize = 300;

fn checked(text: &str, field: &'static str) -> Result<String, AuditError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(AuditError::Invalid { field, problem: "must not be empty" });
    }
    if trimmed.chars().count() > MAX_TEXT {
        return Err(AuditError::Invalid { field, problem: "is longer than 300 characters" });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(AuditError::Invalid { field, problem: "must not contain control characters" });
    }
    Ok(trimmed.to_owned())
}

/// The legal basis for reading (behandlingsgrunnlag), as the person will be shown it, e.g.
/// `barnehageloven § 16` or `forvaltningsloven § 17`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalBasis(String);

impl LegalBasis {
    /// Parses a legal basis: not empty, at most [`MAX_TEXT`] characters, one line.
    pub fn parse(text: &str) -> Result<Self, AuditError> {
        checked(text, "the legal basis").map(Self)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the data is read for, as the person will be shown it, e.g. `Søknad om barnehageplass`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose(String);

impl Purpose {
    /// Parses a purpose: not empty, at most [`MAX_TEXT`] characters, one line.
    pub fn parse(text: &str) -> Result<Self, AuditError> {
        checked(text, "the purpose").map(Self)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who reads.
#[derive(Clone, PartialEq, Eq)]
pub enum Actor {
    /// A resident, logged in.
    Person(Fnr),
    /// An employee of the municipality, by employee id.
    Employee(String),
    /// Another organisation's system (a Maskinporten client), by its organisation number.
    Client(OrgNr),
    /// The platform itself: a named job or rule.
    System(&'static str),
}

impl fmt::Debug for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Person(_) => f.write_str("Person(..)"),
            Actor::Employee(id) => write!(f, "Employee({id})"),
            Actor::Client(orgnr) => write!(f, "Client({})", orgnr.as_digits()),
            Actor::System(name) => write!(f, "System({name})"),
        }
    }
}

impl Actor {
    /// The stored form: `person:<fnr>`, `employee:<id>`, `client:<orgnr>`, `system:<name>`.
    pub fn stored(&self) -> String {
        match self {
            Actor::Person(fnr) => format!("person:{}", fnr.as_digits()),
            Actor::Employee(id) => format!("employee:{id}"),
            Actor::Client(orgnr) => format!("client:{}", orgnr.as_digits()),
            Actor::System(name) => format!("system:{name}"),
        }
    }
}

/// Who is reading, for whom, why, and on what basis: everything an entry needs except what was
/// read. Built by the identity layer for a request, or by a job for its work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessContext {
    /// Who reads.
    pub actor: Actor,
    /// Whom the actor acts for (a child, a ward, a company, a fullmakt giver), if not themselves.
    pub acting_for: Option<String>,
    /// Why.
    pub purpose: Purpose,
    /// On what legal basis.
    pub legal_basis: LegalBasis,
}

/// One read, as the log will record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access<'a> {
    /// What was done, e.g. `folkeregisteret.person.read`.
    pub action: &'a str,
    /// The person the data is about, if any.
    pub subject: Option<&'a Fnr>,
    /// What else was read, e.g. an orgnr.
    pub resource: Option<&'a str>,
}

/// An entry in the log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Entry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When, in milliseconds since the epoch.
    pub at: i64,
    /// Who read (the stored form of [`Actor`]).
    pub actor: String,
    /// For whom.
    pub acting_for: Option<String>,
    /// What was done.
    pub action: String,
    /// The person the data is about.
    pub subject: Option<String>,
    /// What else was read.
    pub resource: Option<String>,
    /// Why.
    pub purpose: String,
    /// On what basis.
    pub legal_basis: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

impl Entry {
    /// The hash of this entry's content after `prev_hash`: SHA-256 over a JSON array of every
    /// field, which has exactly one encoding for each content.
    fn computed_hash(&self) -> String {
        // A tuple serialises exactly as the JSON array of its fields, without building one.
        let content = serde_json::to_vec(&(
            &self.prev_hash,
            self.seq,
            self.at,
            &self.actor,
            &self.acting_for,
            &self.action,
            &self.subject,
            &self.resource,
            &self.purpose,
            &self.legal_basis,
        ))
        .unwrap_or_default();
        hex(&Sha256::digest(&content))
    }
}

/// Lower-case hexadecimal.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

const COLUMNS: &str = "seq, at, actor, acting_for, action, subject, resource, purpose, legal_basis, prev_hash, hash";

/// `INSERT INTO audit_log (...) VALUES (...), (...)` for `rows` entries.
fn insert_sql(rows: usize) -> String {
    let marks: Vec<String> = (0..rows)
        .map(|row| {
            let columns: Vec<String> = (1..=11).map(|column| format!("${}", row * 11 + column)).collect();
            format!("({})", columns.join(", "))
        })
        .collect();
    format!("INSERT INTO audit_log ({COLUMNS}) VALUES {}", marks.join(", "))
}

/// The statement for the commonest case, one entry, built once.
static INSERT_ONE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| insert_sql(1));

#[derive(serde::Deserialize)]
struct Head {
    seq: i64,
    hash: String,
}

/// The access log in the platform's database.
#[derive(Debug, Clone)]
pub struct AuditLog {
    db: Db,
}

impl AuditLog {
    /// The log in `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Records `accesses` in their own transaction, committed before this returns: call it
    /// before releasing what was read. Returns the last entry's sequence number.
    pub async fn record(&self, context: &AccessContext, accesses: &[Access<'_>]) -> Result<i64, AuditError> {
        let mut tx = self.db.begin().await?;
        let seq = Self::record_in(&mut tx, context, accesses).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Records `accesses` inside `tx`, so they stand or fall with the rest of it.
    pub async fn record_in(tx: &mut Tx, context: &AccessContext, accesses: &[Access<'_>]) -> Result<i64, AuditError> {
        let head_sql = match tx.backend() {
            Backend::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
            Backend::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
        };
        let head = tx.fetch_optional::<Head>(head_sql, &[]).await?.ok_or(AuditError::Tampered { seq: 0 })?;
        if accesses.is_empty() {
            return Ok(head.seq);
        }
        let at = Timestamp::now().millis();
        let actor = context.actor.stored();
        let (mut seq, mut prev) = (head.seq, head.hash);
        let mut values: Vec<Param> = Vec::with_capacity(accesses.len() * 11);
        for access in accesses {
            seq += 1;
            let mut entry = Entry {
                seq,
                at,
                actor: actor.clone(),
                acting_for: context.acting_for.clone(),
                action: access.action.to_owned(),
                subject: access.subject.map(Fnr::as_digits),
                resource: access.resource.map(str::to_owned),
                purpose: context.purpose.as_str().to_owned(),
                legal_basis: context.legal_basis.as_str().to_owned(),
                prev_hash: prev,
                hash: String::new(),
            };
            entry.hash = entry.computed_hash();
            prev = entry.hash.clone();
            values.extend(params![
                entry.seq,
                entry.at,
                entry.actor,
                entry.acting_for,
                entry.action,
                entry.subject,
                entry.resource,
                entry.purpose,
                entry.legal_basis,
                entry.prev_hash,
                entry.hash,
            ]);
        }
        // At most 500 entries per statement, well below both engines' limits on bound values.
        for chunk in values.chunks(11 * 500) {
            let rows = chunk.len() / 11;
            if rows == 1 {
                tx.execute(&INSERT_ONE, chunk).await?;
            } else {
                tx.execute(&insert_sql(rows), chunk).await?;
            }
        }
        tx.execute("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", &params![seq, prev.as_str()]).await?;
        Ok(seq)
    }

    /// The newest entries about a person, newest first: what the person sees on Min side.
    pub async fn about(&self, subject: &Fnr, limit: u32) -> Result<Vec<Entry>, AuditError> {
        Ok(self
            .db
            .fetch_all(
                &format!("SELECT {COLUMNS} FROM audit_log WHERE subject = $1 ORDER BY seq DESC LIMIT $2"),
                &params![subject.as_digits(), i64::from(limit)],
            )
            .await?)
    }

    /// Walks the whole chain and checks every link and hash, and that the head points at the
    /// last entry. Returns how many entries were checked.
    pub async fn verify(&self) -> Result<u64, AuditError> {
        const PAGE: i64 = 10_000;
        let head = self
            .db
            .fetch_optional::<Head>("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
            .await?
            .ok_or(AuditError::Tampered { seq: 0 })?;
        let (mut expected_seq, mut prev) = (1_i64, "0".repeat(64));
        let mut checked = 0_u64;
        loop {
            let page: Vec<Entry> = self
                .db
                .fetch_all(
                    &format!("SELECT {COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2"),
                    &params![expected_seq, PAGE],
                )
                .await?;
            let last_page = page.len() < usize::try_from(PAGE).unwrap_or(usize::MAX);
            for entry in page {
                if entry.seq != expected_seq || entry.prev_hash != prev || entry.computed_hash() != entry.hash {
                    return Err(AuditError::Tampered { seq: expected_seq });
                }
                prev = entry.hash;
                expected_seq += 1;
                checked += 1;
            }
            if last_page {
                break;
            }
        }
        if head.seq != expected_seq - 1 || head.hash != prev {
            return Err(AuditError::Tampered { seq: expected_seq });
        }
        Ok(checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chains written before must still verify: the hash is the same as when it was computed
    /// from a `serde_json::Value` array.
    #[test]
    fn the_hash_is_the_one_written_before() {
        let entry = Entry {
            seq: 7,
            at: 1_764_700_000_000,
            actor: "person:20914695016".into(),
            acting_for: None,
            action: "folkeregisteret.person.read".into(),
            subject: Some("20914695016".into()),
            resource: None,
            purpose: "Søknad om barnehageplass \"med\" anførselstegn".into(),
            legal_basis: "barnehageloven § 16".into(),
            prev_hash: "0".repeat(64),
            hash: String::new(),
        };
        let value = serde_json::json!([
            entry.prev_hash,
            entry.seq,
            entry.at,
            entry.actor,
            entry.acting_for,
            entry.action,
            entry.subject,
            entry.resource,
            entry.purpose,
            entry.legal_basis,
        ]);
        let digest = Sha256::digest(value.to_string().as_bytes());
        let before: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(entry.computed_hash(), before);
    }
}
