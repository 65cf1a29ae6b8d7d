//! Fullmakt: a person lets another person act for them in chosen service areas for a period.
//! It can be revoked at any time, by the giver or declined by the holder; both are told (a
//! notice on Min side) and both see it in their access log.

use kernel::Fnr;
use serde::Serialize;
use store::{Db, params};
use time::Date;

use crate::{IdentityError, actions, now_seconds};

/// The service areas a fullmakt can cover, with their names in bokmål, nynorsk and English.
pub const SERVICE_AREAS: [(&str, &str, &str, &str); 7] = [
    ("barnehage-skole", "Barnehage og skole", "Barnehage og skule", "Kindergarten and school"),
    ("helse-omsorg", "Helse og omsorg", "Helse og omsorg", "Health and care"),
    ("sosial", "Sosiale tjenester", "Sosiale tenester", "Social services"),
    ("bygg-eiendom", "Bygg og eiendom", "Bygg og eigedom", "Building and property"),
    ("skatt-gebyr", "Skatt og gebyrer", "Skatt og gebyr", "Taxes and fees"),
    ("naering", "Næring og bevillinger", "Næring og løyve", "Business and licences"),
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

/// A rule a new fullmakt breaks. [`check`] lists every one broken, so a form can say each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullmaktRule {
    /// The holder is the giver.
    HolderIsGiver,
    /// No service area chosen.
    NoAreas,
    /// A service area we do not know.
    UnknownArea,
    /// It would start before today (a fullmakt is never backdated).
    StartsInPast,
    /// It would start more than [`MAX_YEARS`] years from today.
    StartsTooLate,
    /// Its last day is before its first.
    EndsBeforeStart,
    /// It would run longer than [`MAX_YEARS`] years.
    TooLong,
}

/// Checks a new fullmakt against the rules; `today` decides what "the past" is. Every rule
/// broken is listed, in the order of the form's fields.
pub fn check(giver: &Fnr, new: &NewFullmakt, today: Date) -> Result<(), Vec<FullmaktRule>> {
    let mut broken = Vec::new();
    if new.holder == *giver {
        broken.push(FullmaktRule::HolderIsGiver);
    }
    if new.areas.is_empty() {
        broken.push(FullmaktRule::NoAreas);
    } else if new.areas.iter().any(|a| !SERVICE_AREAS.iter().any(|(code, ..)| code == a)) {
        broken.push(FullmaktRule::UnknownArea);
    }
    // It starts today or later (never backdated) and runs at most five years from its start.
    let latest = new.valid_from.replace_year(new.valid_from.year() + MAX_YEARS).unwrap_or(new.valid_from);
    let furthest_start = today.replace_year(today.year() + MAX_YEARS).unwrap_or(today);
    if new.valid_from < today {
        broken.push(FullmaktRule::StartsInPast);
    }
    if new.valid_from > furthest_start {
        broken.push(FullmaktRule::StartsTooLate);
    }
    if new.valid_to < new.valid_from {
        broken.push(FullmaktRule::EndsBeforeStart);
    } else if new.valid_to > latest {
        broken.push(FullmaktRule::TooLong);
    }
    if broken.is_empty() { Ok(()) } else { Err(broken) }
}

/// The longest surname a form may send; Folkeregisteret's names are far shorter.
pub const MAX_SURNAME_CHARS: usize = 100;

/// A surname as compared: Unicode-normalised (NFKC, so a composed "Ø" and "O" with a combining
/// stroke, or a full-width letter, are the same), lower case, without whitespace.
fn comparable_surname(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfkc().flat_map(char::to_lowercase).filter(|c| !c.is_whitespace()).collect()
}

/// Whether `typed` is the surname `registered`, ignoring case, whitespace and Unicode form.
pub fn surname_matches(registered: &str, typed: &str) -> bool {
    let typed = comparable_surname(typed);
    !typed.is_empty() && typed == comparable_surname(registered)
}

/// The holder of a new fullmakt, found only when both the number and the surname match.
#[derive(Clone)]
pub struct FoundHolder {
    /// The number.
    pub fnr: Fnr,
    /// The name to show the giver, or `None` when the register shields the person
    /// (strengt fortrolig): then not even the name is shown.
    pub name: Option<String>,
}

impl std::fmt::Debug for FoundHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FoundHolder").field("shielded", &self.name.is_none()).finish_non_exhaustive()
    }
}

/// Looks up the holder of a new fullmakt by number and surname. "No such person" and "the
/// surname does not match" give the same `None`, so the form cannot be used to find out
/// whether a number exists or whose it is. The read is in the holder's access log.
pub async fn find_holder(
    registers: &registers::Registers,
    caller: &registers::Caller,
    holder: &Fnr,
    surname: &str,
) -> Result<Option<FoundHolder>, IdentityError> {
    let Some(person) = registers.person(caller, holder).await? else { return Ok(None) };
    if person.death_date.is_some() || !surname_matches(&person.name.family, surname) {
        return Ok(None);
    }
    let name = (!person.adressebeskyttelse.is_strengt_fortrolig()).then(|| person.name.to_string());
    Ok(Some(FoundHolder { fnr: person.fnr, name }))
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
    /// it in their access log. An identical one still in force (same holder, same areas,
    /// overlapping period) is refused with [`IdentityError::Conflict`]. `holder_name` is what
    /// the giver's notice names; empty for a shielded holder.
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
        // The same fullmakt twice (same holder, same areas, overlapping periods) is refused:
        // two would only make revoking one look like it ended the holder's access. No unique
        // key can say "overlapping", so grants between the same two people take turns: on
        // PostgreSQL behind a transaction-scoped advisory lock on the pair, on SQLite behind
        // the single writer.
        if tx.backend() == store::Backend::Postgres {
            let pair = format!("fullmakt:{}:{}", giver.as_digits(), new.holder.as_digits());
            tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &params![pair]).await?;
        }
        let existing = tx
            .fetch_all::<Row>(
                &format!("SELECT {COLUMNS} FROM fullmakter WHERE giver = $1 AND holder = $2 AND revoked_at IS NULL"),
                &params![giver.as_digits(), new.holder.as_digits()],
            )
            .await?;
        for row in existing {
            let other = Fullmakt::try_from(row)?;
            if other.areas == areas && other.valid_from <= new.valid_to && new.valid_from <= other.valid_to {
                return Err(IdentityError::Conflict("an identical fullmakt is already given".to_owned()));
            }
        }
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

    /// Revokes a fullmakt; the policy must let `by`, as themselves, end it (its giver or its
    /// holder), else it is not found. Both are told. Revoking one already revoked changes
    /// nothing.
    pub async fn revoke(&self, by: &Fnr, id: &str, names: (&str, &str)) -> Result<Fullmakt, IdentityError> {
        let fullmakt = self.get(id).await?.ok_or(IdentityError::NotFound)?;
        let asker = crate::policy::Asker::Person { me: by, acting_as: &crate::ActingAs::Myself, fullmakt_areas: &[] };
        let resource = crate::policy::Resource::Fullmakt { giver: &fullmakt.giver, holder: &fullmakt.holder };
        if !crate::policy::decide(&asker, crate::policy::Action::ManageFullmakt, &resource).allowed() {
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
        let broken = |holder, areas: &[&str], from, to| check(&giver, &new(holder, areas, from, to), today);
        assert_eq!(broken("14839221100", &["helse-omsorg"], today, today), Err(vec![FullmaktRule::HolderIsGiver]));
        assert_eq!(broken("17825133097", &[], today, today), Err(vec![FullmaktRule::NoAreas]));
        assert_eq!(broken("17825133097", &["mars"], today, today), Err(vec![FullmaktRule::UnknownArea]));
        assert_eq!(
            broken("17825133097", &["post"], today, date!(2026 - 11 - 01)),
            Err(vec![FullmaktRule::EndsBeforeStart])
        );
        assert_eq!(
            broken("17825133097", &["post"], date!(2026 - 01 - 01), date!(2026 - 02 - 01)),
            Err(vec![FullmaktRule::StartsInPast])
        );
        assert_eq!(broken("17825133097", &["post"], today, date!(2032 - 01 - 01)), Err(vec![FullmaktRule::TooLong]));
        assert_eq!(
            broken("17825133097", &["post"], date!(2032 - 01 - 01), date!(2032 - 02 - 01)),
            Err(vec![FullmaktRule::StartsTooLate])
        );
        // Every broken rule is named, not only the first.
        assert_eq!(
            broken("14839221100", &[], date!(2026 - 01 - 01), date!(2025 - 01 - 01)),
            Err(vec![
                FullmaktRule::HolderIsGiver,
                FullmaktRule::NoAreas,
                FullmaktRule::StartsInPast,
                FullmaktRule::EndsBeforeStart
            ])
        );
    }

    #[test]
    fn surnames_compare_without_case_whitespace_or_unicode_form() {
        assert!(surname_matches("Ødegård", "ødegård"));
        assert!(surname_matches("Ødegård", "  ØDEGÅRD "));
        // "Å" written as "A" and a combining ring.
        assert!(surname_matches("Ødegård", "\u{d8}dega\u{30a}rd"));
        assert!(surname_matches("Van der Berg", "vanderberg"));
        assert!(!surname_matches("Ødegård", "Odegard"));
        assert!(!surname_matches("Berg", "Bergen"));
        assert!(!surname_matches("Berg", ""));
        assert!(!surname_matches("Berg", "   "));
    }
}
