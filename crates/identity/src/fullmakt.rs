//! Fullmakt: a person lets another person act for them in chosen service areas for a period.
//! It can be revoked at any time, by the giver or declined by the holder; both are told (a
//! notice on Min side) and both see it in their access log.

use kernel::Fnr;
use serde::Serialize;
use store::{Db, params};
use time::Date;

use crate::{IdentityError, actions, now_seconds};

/// The service areas a fullmakt can cover, with their names in bokmål, nynorsk and English.
pub const SERVICE_AREAS: [(&str, &str, &str, &str); 6] = [
    ("barnehage-skole", "Barnehage og skole", "Barnehage og skule", "Kindergarten and school"),
    ("helse-omsorg", "Helse og omsorg", "Helse og omsorg", "Health and care"),
    ("sosial", "Sosiale tjenester", "Sosiale tenester", "Social services"),
    ("bygg-eiendom", "Bygg og eiendom", "Bygg og eigedom", "Building and property"),
    ("skatt-gebyr", "Skatt og gebyrer", "Skatt og gebyr", "Taxes and fees"),
    ("post", "Brev og varsler", "Brev og varsel", "Letters and notices"),
];

/// The longest a fullmakt may run.
pub const MAX_YEARS: i32 = 5;

/// A fullmakt.
#[derive(Clone, PartialEq, Eq)]
pub struct Fullmakt {
    /// Its id.
    pub id: String,
    /// Who gave it.
    pub giver: Fnr,
    /// Who holds it.
    pub holder: Fnr,
    /// The service area codes it covers.
    pub areas: Vec<String>,
    /// First day.
    pub valid_from: Date,
    /// Last day.
    pub valid_to: Date,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

impl std::fmt::Debug for Fullmakt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fullmakt").field("id", &self.id).field("areas", &self.areas).finish_non_exhaustive()
    }
}

impl Fullmakt {
    /// In force on `day`: not revoked, and `day` inside its period.
    pub fn active_on(&self, day: Date) -> bool {
        self.revoked_at.is_none() && self.valid_from <= day && day <= self.valid_to
    }
}

/// A notice to a person, shown on Min side.
#[derive(Debug, Clone, Serialize)]
pub struct PersonNotice {
    /// What happened: `fullmakt-granted-by-you`, `fullmakt-granted-to-you`, `fullmakt-revoked`.
    pub kind: String,
    /// The other party's name and the fullmakt's id, as JSON.
    pub details: serde_json::Value,
    /// When, in seconds since the epoch.
    pub created_at: i64,
}

#[derive(serde::Deserialize)]
struct Row {
    id: String,
    giver: String,
    holder: String,
    areas: String,
    valid_from: String,
    valid_to: String,
    revoked_at: Option<i64>,
}

const COLUMNS: &str = "id, giver, holder, areas, valid_from, valid_to, revoked_at";

fn parse_date(text: &str) -> Result<Date, IdentityError> {
    Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| IdentityError::Invalid("a date must be written as YYYY-MM-DD".to_owned()))
}

fn format_date(date: Date) -> String {
    date.format(time::macros::format_description!("[year]-[month]-[day]")).unwrap_or_default()
}

impl TryFrom<Row> for Fullmakt {
    type Error = IdentityError;

    fn try_from(row: Row) -> Result<Self, IdentityError> {
        let fnr = |text: &str| {
            Fnr::parse(text).map_err(|_| IdentityError::Conflict("a stored fullmakt has a bad number".to_owned()))
        };
        Ok(Fullmakt {
            id: row.id,
            giver: fnr(&row.giver)?,
            holder: fnr(&row.holder)?,
            areas: serde_json::from_str(&row.areas).unwrap_or_default(),
            valid_from: parse_date(&row.valid_from)?,
            valid_to: parse_date(&row.valid_to)?,
            revoked_at: row.revoked_at,
        })
    }
}

/// What a person asks for when giving a fullmakt, already parsed at the edge.
#[derive(Debug, Clone)]
pub struct NewFullmakt {
    /// Who gets it.
    pub holder: Fnr,
    /// The area codes.
    pub areas: Vec<String>,
    /// First day.
    pub valid_from: Date,
    /// Last day.
    pub valid_to: Date,
}

/// The field a fullmakt rule is about, for form errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullmaktRule {
    /// The holder is the giver.
    HolderIsGiver,
    /// The holder is not in the population register.
    HolderUnknown,
    /// No area, or one we do not know.
    Areas,
    /// The period is backwards, in the past, or too long.
    Period,
}

/// Checks a new fullmakt against the rules; `today` decides what "the past" is.
pub fn check(giver: &Fnr, new: &NewFullmakt, today: Date) -> Result<(), FullmaktRule> {
    if new.holder == *giver {
        return Err(FullmaktRule::HolderIsGiver);
    }
    if new.areas.is_empty() || new.areas.iter().any(|a| !SERVICE_AREAS.iter().any(|(code, ..)| code == a)) {
        return Err(FullmaktRule::Areas);
    }
    // It starts today or later (never backdated) and runs at most five years from its start.
    let latest = new.valid_from.replace_year(new.valid_from.year() + MAX_YEARS).unwrap_or(new.valid_from);
    let furthest_start = today.replace_year(today.year() + MAX_YEARS).unwrap_or(today);
    if new.valid_from < today
        || new.valid_to < new.valid_from
        || new.valid_to > latest
        || new.valid_from > furthest_start
    {
        return Err(FullmaktRule::Period);
    }
    Ok(())
}

/// The fullmakt store.
#[derive(Debug, Clone)]
pub struct Fullmakter {
    db: Db,
}

impl Fullmakter {
    /// Fullmakter in `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Gives a fullmakt (already checked with [`check`]): stored, both parties told, both see
    /// it in their access log.
    pub async fn grant(
        &self,
        giver: &Fnr,
        giver_name: &str,
        holder_name: &str,
        new: &NewFullmakt,
    ) -> Result<Fullmakt, IdentityError> {
        let id = uuid::Uuid::now_v7().to_string();
        let mut areas = new.areas.clone();
        areas.sort();
        areas.dedup();
        let now = now_seconds();
        let mut tx = self.db.begin().await?;
        tx.execute(
            &format!("INSERT INTO fullmakter ({COLUMNS}, created_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)"),
            &params![
                id.as_str(),
                giver.as_digits(),
                new.holder.as_digits(),
                serde_json::to_string(&areas).unwrap_or_else(|_| "[]".to_owned()),
                format_date(new.valid_from),
                format_date(new.valid_to),
                now,
            ],
        )
        .await?;
        let details = |name: &str| serde_json::json!({ "fullmakt": id, "name": name, "areas": areas, "to": format_date(new.valid_to) });
        notify(&mut tx, giver, "fullmakt-granted-by-you", &details(holder_name), now).await?;
        notify(&mut tx, &new.holder, "fullmakt-granted-to-you", &details(giver_name), now).await?;
        let context = crate::security_context(audit::Actor::Person(*giver), None);
        let accesses = [
            audit::Access { action: actions::FULLMAKT_GRANTED, subject: Some(giver), resource: Some(&id) },
            audit::Access { action: actions::FULLMAKT_GRANTED, subject: Some(&new.holder), resource: Some(&id) },
        ];
        audit::AuditLog::record_in(&mut tx, &context, &accesses).await?;
        tx.commit().await?;
        Ok(Fullmakt {
            id,
            giver: *giver,
            holder: new.holder,
            areas,
            valid_from: new.valid_from,
            valid_to: new.valid_to,
            revoked_at: None,
        })
    }

    /// One fullmakt.
    pub async fn get(&self, id: &str) -> Result<Option<Fullmakt>, IdentityError> {
        if id.len() > 64 {
            return Ok(None);
        }
        self.db
            .fetch_optional::<Row>(&format!("SELECT {COLUMNS} FROM fullmakter WHERE id = $1"), &params![id])
            .await?
            .map(Fullmakt::try_from)
            .transpose()
    }

    /// Revokes a fullmakt; `by` must be its giver or its holder. Both are told. Revoking one
    /// already revoked changes nothing.
    pub async fn revoke(&self, by: &Fnr, id: &str, names: (&str, &str)) -> Result<Fullmakt, IdentityError> {
        let fullmakt = self.get(id).await?.ok_or(IdentityError::NotFound)?;
        if fullmakt.giver != *by && fullmakt.holder != *by {
            return Err(IdentityError::NotFound);
        }
        if fullmakt.revoked_at.is_some() {
            return Ok(fullmakt);
        }
        let now = now_seconds();
        let mut tx = self.db.begin().await?;
        let changed = tx
            .execute("UPDATE fullmakter SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", &params![now, id])
            .await?;
        if changed == 1 {
            let (giver_name, holder_name) = names;
            let details = |name: &str| serde_json::json!({ "fullmakt": id, "name": name });
            notify(&mut tx, &fullmakt.giver, "fullmakt-revoked", &details(holder_name), now).await?;
            notify(&mut tx, &fullmakt.holder, "fullmakt-revoked", &details(giver_name), now).await?;
            let context = crate::security_context(audit::Actor::Person(*by), None);
            let accesses = [
                audit::Access { action: actions::FULLMAKT_REVOKED, subject: Some(&fullmakt.giver), resource: Some(id) },
                audit::Access {
                    action: actions::FULLMAKT_REVOKED,
                    subject: Some(&fullmakt.holder),
                    resource: Some(id),
                },
            ];
            audit::AuditLog::record_in(&mut tx, &context, &accesses).await?;
        }
        tx.commit().await?;
        Ok(Fullmakt { revoked_at: Some(now), ..fullmakt })
    }

    /// Fullmakter a person has given, newest first.
    pub async fn given_by(&self, giver: &Fnr) -> Result<Vec<Fullmakt>, IdentityError> {
        self.list("giver", giver).await
    }

    /// Fullmakter a person holds, newest first.
    pub async fn given_to(&self, holder: &Fnr) -> Result<Vec<Fullmakt>, IdentityError> {
        self.list("holder", holder).await
    }

    async fn list(&self, column: &str, person: &Fnr) -> Result<Vec<Fullmakt>, IdentityError> {
        let column = if column == "giver" { "giver" } else { "holder" };
        self.db
            .fetch_all::<Row>(
                &format!(
                    "SELECT {COLUMNS} FROM fullmakter WHERE {column} = $1 ORDER BY created_at DESC, id DESC LIMIT 200"
                ),
                &params![person.as_digits()],
            )
            .await?
            .into_iter()
            .map(Fullmakt::try_from)
            .collect()
    }

    /// The notices to a person, newest first.
    pub async fn notices(&self, person: &Fnr, limit: u32) -> Result<Vec<PersonNotice>, IdentityError> {
        #[derive(serde::Deserialize)]
        struct NoticeRow {
            kind: String,
            details: String,
            created_at: i64,
        }
        let rows = self
            .db
            .fetch_all::<NoticeRow>(
                "SELECT kind, details, created_at FROM person_notices WHERE recipient = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
                &params![person.as_digits(), i64::from(limit)],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| PersonNotice {
                kind: r.kind,
                details: serde_json::from_str(&r.details).unwrap_or_default(),
                created_at: r.created_at,
            })
            .collect())
    }
}

async fn notify(
    tx: &mut store::Tx,
    recipient: &Fnr,
    kind: &str,
    details: &serde_json::Value,
    now: i64,
) -> Result<(), IdentityError> {
    tx.execute(
        "INSERT INTO person_notices (id, recipient, kind, details, created_at) VALUES ($1, $2, $3, $4, $5)",
        &params![uuid::Uuid::now_v7().to_string(), recipient.as_digits(), kind, details.to_string(), now],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn new(holder: &str, areas: &[&str], from: Date, to: Date) -> NewFullmakt {
        NewFullmakt {
            holder: Fnr::parse(holder).expect("test value"),
            areas: areas.iter().map(|a| (*a).to_owned()).collect(),
            valid_from: from,
            valid_to: to,
        }
    }

    #[test]
    fn rules() {
        let giver = Fnr::parse("14839221100").expect("test value");
        let today = date!(2026 - 11 - 23);
        let ok = new("17825133097", &["helse-omsorg"], today, date!(2027 - 11 - 23));
        assert_eq!(check(&giver, &ok, today), Ok(()));
        assert_eq!(
            check(&giver, &new("14839221100", &["helse-omsorg"], today, today), today),
            Err(FullmaktRule::HolderIsGiver)
        );
        assert_eq!(check(&giver, &new("17825133097", &[], today, today), today), Err(FullmaktRule::Areas));
        assert_eq!(check(&giver, &new("17825133097", &["mars"], today, today), today), Err(FullmaktRule::Areas));
        assert_eq!(
            check(&giver, &new("17825133097", &["post"], today, date!(2026 - 11 - 01)), today),
            Err(FullmaktRule::Period)
        );
        assert_eq!(
            check(&giver, &new("17825133097", &["post"], date!(2026 - 01 - 01), date!(2026 - 02 - 01)), today),
            Err(FullmaktRule::Period)
        );
        assert_eq!(
            check(&giver, &new("17825133097", &["post"], today, date!(2032 - 01 - 01)), today),
            Err(FullmaktRule::Period)
        );
    }
}
