//! Requests for access (innsynskrav) to entries of the public journal, and their answers.
//!
//! Offentleglova § 29 asks for an answer "utan ugrunna opphald" (without undue delay); the
//! Sivilombudet's practice reads that as, as a rule, within one to three working days. The
//! municipality's internal deadline here is therefore [`DEADLINE_WORKING_DAYS`] working days
//! after the day the request came in (Norwegian clock; weekends and public holidays are not
//! working days).
//!
//! The answer is recorded (documents sent, or refused with the legal basis); sending it to the
//! requester by e-mail is not built yet.

use kernel::{Kommunenummer, Timestamp};
use serde::Serialize;
use store::params;
use time::{Date, Duration, Month, Weekday};

use crate::ArchiveError;
use crate::records::{Actor, Noark};

/// Working days the municipality gives itself to answer.
pub const DEADLINE_WORKING_DAYS: u32 = 3;

/// The most entries one request may name.
pub const MAX_ENTRIES: usize = 100;

/// The longest name, e-mail, message or legal basis accepted, in characters.
pub const MAX_TEXT: usize = 2000;

/// A request as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AccessRequest {
    /// Its id (the reference on the receipt).
    pub id: String,
    /// When it came in.
    pub received_at: Timestamp,
    /// The internal deadline, `YYYY-MM-DD`.
    pub deadline: String,
    /// The requester's name, if given.
    pub name: Option<String>,
    /// Where to answer.
    pub email: String,
    /// What the requester wrote, if anything.
    pub message: Option<String>,
    /// The journalposts' systemIDs, as a JSON array.
    pub entries: String,
    /// `open`, `granted` or `refused`.
    pub status: String,
    /// When it was answered.
    pub answered_at: Option<Timestamp>,
    /// By whom.
    pub answered_by: Option<String>,
    /// The legal basis of a refusal.
    pub basis: Option<String>,
}

impl AccessRequest {
    /// The journalposts asked for.
    pub fn entry_ids(&self) -> Vec<String> {
        serde_json::from_str(&self.entries).unwrap_or_default()
    }

    /// Whether it still waits for an answer.
    pub fn is_open(&self) -> bool {
        self.status == "open"
    }
}

/// A field of the request form and the rule it broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// `name`, `email`, `message`, `entries` or `basis`.
    pub field: &'static str,
    /// `required`, `invalid_email`, `too_long`, `too_many`, `unknown`.
    pub rule: &'static str,
}

/// A new request as sent.
#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    /// The requester's name (optional).
    pub name: Option<String>,
    /// The e-mail to answer to (required).
    pub email: String,
    /// A message (optional).
    pub message: Option<String>,
    /// The journalposts' systemIDs.
    pub entries: Vec<String>,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The documents are sent.
    Granted,
    /// Refused, on this legal basis.
    Refused {
        /// The basis (`Offl. § 13 jf. fvl. § 13`), required.
        basis: String,
    },
}

fn blank_to_none(text: Option<&str>) -> Option<String> {
    text.map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

/// Whether `text` looks like an e-mail address: one `@`, something before it, a dot in the
/// domain, no spaces.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Checks a request as sent; every broken rule is reported.
pub fn check(
    name: Option<&str>,
    email: Option<&str>,
    message: Option<&str>,
    entries: &[String],
) -> Result<NewRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = blank_to_none(name);
    let message = blank_to_none(message);
    let email = email.map(str::trim).unwrap_or_default().to_owned();
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        errors.push(FieldError { field: "name", rule: "too_long" });
    }
    if email.is_empty() {
        errors.push(FieldError { field: "email", rule: "required" });
    } else if !is_email(&email) || email.chars().count() > 320 {
        errors.push(FieldError { field: "email", rule: "invalid_email" });
    }
    if message.as_ref().is_some_and(|m| m.chars().count() > MAX_TEXT) {
        errors.push(FieldError { field: "message", rule: "too_long" });
    }
    let mut ids: Vec<String> = entries.iter().map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()).collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        errors.push(FieldError { field: "entries", rule: "required" });
    } else if ids.len() > MAX_ENTRIES {
        errors.push(FieldError { field: "entries", rule: "too_many" });
    }
    if errors.is_empty() { Ok(NewRequest { name, email, message, entries: ids }) } else { Err(errors) }
}

/// Easter Sunday of a year (the anonymous Gregorian algorithm).
fn easter(year: i32) -> Option<Date> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date::from_calendar_date(year, Month::try_from(u8::try_from(month).ok()?).ok()?, u8::try_from(day).ok()?).ok()
}

/// Whether a day is a Norwegian public holiday (helligdag or 1 and 17 May).
pub fn is_public_holiday(day: Date) -> bool {
    let fixed = matches!(
        (day.month(), day.day()),
        (Month::January, 1) | (Month::May, 1) | (Month::May, 17) | (Month::December, 25) | (Month::December, 26)
    );
    let moving = easter(day.year()).is_some_and(|easter| {
        // Skjærtorsdag, langfredag, første og andre påskedag, Kristi himmelfartsdag, første og
        // andre pinsedag.
        [-3, -2, 0, 1, 39, 49, 50].iter().any(|offset| easter + Duration::days(*offset) == day)
    });
    fixed || moving
}

/// Whether a day is a working day: not a weekend, not a public holiday.
pub fn is_working_day(day: Date) -> bool {
    !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) && !is_public_holiday(day)
}

/// The day `working_days` working days after `from`.
pub fn add_working_days(from: Date, working_days: u32) -> Date {
    let mut day = from;
    let mut left = working_days;
    while left > 0 {
        day = day.next_day().unwrap_or(day);
        if is_working_day(day) {
            left -= 1;
        }
    }
    day
}

/// The internal deadline of a request received on `received`.
pub fn deadline(received: Date) -> Date {
    add_working_days(received, DEADLINE_WORKING_DAYS)
}

const COLUMNS: &str =
    "id, received_at, deadline, name, email, message, entries, status, answered_at, answered_by, basis";

/// Registers a request: every entry must be a journalpost of this municipality's archive (an
/// unknown one is refused as `Invalid` on `entries`).
pub async fn register(noark: &Noark, k: Kommunenummer, request: &NewRequest) -> Result<AccessRequest, ArchiveError> {
    if request.entries.is_empty() || request.entries.len() > MAX_ENTRIES || !is_email(&request.email) {
        return Err(ArchiveError::Invalid {
            field: "entries".to_owned(),
            message: "the request is not complete".to_owned(),
        });
    }
    for id in &request.entries {
        match noark.get(k, id).await {
            Ok(object) if object.entity.is_a("journalpost") => {}
            Ok(_) | Err(ArchiveError::NotFound) => {
                return Err(ArchiveError::Invalid {
                    field: "entries".to_owned(),
                    message: format!("{id} is not a journalpost of the public journal"),
                });
            }
            Err(other) => return Err(other),
        }
    }
    let id = uuid::Uuid::now_v7().to_string();
    let received_at = Timestamp::now();
    let deadline = deadline(kernel::time::today_in_norway()).to_string();
    let entries = serde_json::to_string(&request.entries).map_err(|e| ArchiveError::Malformed(e.to_string()))?;
    noark
        .db()
        .municipal(k)
        .execute(
            "INSERT INTO archive_access_requests (kommunenummer, id, received_at, deadline, name, email, message, entries, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open')",
            &params![
                id.clone(),
                received_at,
                deadline.clone(),
                request.name.clone(),
                request.email.clone(),
                request.message.clone(),
                entries.clone()
            ],
        )
        .await?;
    Ok(AccessRequest {
        id,
        received_at,
        deadline,
        name: request.name.clone(),
        email: request.email.clone(),
        message: request.message.clone(),
        entries,
        status: "open".to_owned(),
        answered_at: None,
        answered_by: None,
        basis: None,
    })
}

/// One request.
pub async fn get(noark: &Noark, k: Kommunenummer, id: &str) -> Result<AccessRequest, ArchiveError> {
    noark
        .db()
        .municipal(k)
        .fetch_optional::<AccessRequest>(
            &format!("SELECT {COLUMNS} FROM archive_access_requests WHERE kommunenummer = $1 AND id = $2"),
            &params![id],
        )
        .await?
        .ok_or(ArchiveError::NotFound)
}

/// The open requests, oldest first.
pub async fn open(noark: &Noark, k: Kommunenummer) -> Result<Vec<AccessRequest>, ArchiveError> {
    Ok(noark
        .db()
        .municipal(k)
        .fetch_all::<AccessRequest>(
            &format!(
                "SELECT {COLUMNS} FROM archive_access_requests WHERE kommunenummer = $1 AND status = 'open' \
                 ORDER BY received_at, id LIMIT 500"
            ),
            &[],
        )
        .await?)
}

/// The latest answered requests, newest first.
pub async fn answered(noark: &Noark, k: Kommunenummer, limit: u32) -> Result<Vec<AccessRequest>, ArchiveError> {
    Ok(noark
        .db()
        .municipal(k)
        .fetch_all::<AccessRequest>(
            &format!(
                "SELECT {COLUMNS} FROM archive_access_requests WHERE kommunenummer = $1 AND status <> 'open' \
                 ORDER BY answered_at DESC, id LIMIT {}",
                limit.max(1)
            ),
            &[],
        )
        .await?)
}

/// Records the answer to an open request. A refusal needs its legal basis (`Invalid` on
/// `basis`); a request already answered is a `Conflict`.
pub async fn answer(
    noark: &Noark,
    k: Kommunenummer,
    id: &str,
    answer: &Answer,
    actor: &Actor,
) -> Result<AccessRequest, ArchiveError> {
    let (status, basis) = match answer {
        Answer::Granted => ("granted", None),
        Answer::Refused { basis } => {
            let basis = basis.trim();
            if basis.is_empty() {
                return Err(ArchiveError::Invalid {
                    field: "basis".to_owned(),
                    message: "a refusal needs its legal basis".to_owned(),
                });
            }
            if basis.chars().count() > MAX_TEXT {
                return Err(ArchiveError::Invalid { field: "basis".to_owned(), message: "is too long".to_owned() });
            }
            ("refused", Some(basis.to_owned()))
        }
    };
    let current = get(noark, k, id).await?;
    if !current.is_open() {
        return Err(ArchiveError::Conflict);
    }
    let updated = noark
        .db()
        .municipal(k)
        .execute(
            "UPDATE archive_access_requests SET status = $2, answered_at = $3, answered_by = $4, basis = $5 \
             WHERE kommunenummer = $1 AND id = $6 AND status = 'open'",
            &params![status, Timestamp::now(), actor.name.clone(), basis, id],
        )
        .await?;
    if updated == 0 {
        return Err(ArchiveError::Conflict);
    }
    get(noark, k, id).await
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn the_deadline_is_three_working_days_later() {
        // Thursday 3 December 2026 → Tuesday 8 December.
        assert_eq!(deadline(date!(2026 - 12 - 03)), date!(2026 - 12 - 08));
        // Monday → Thursday.
        assert_eq!(deadline(date!(2026 - 11 - 30)), date!(2026 - 12 - 03));
        // Over Christmas: 23 Dec 2026 (Wed) → 24 (Thu), 28 (Mon), 29 (Tue); 25 and 26 are holidays.
        assert_eq!(deadline(date!(2026 - 12 - 23)), date!(2026 - 12 - 29));
        // Easter 2027 is 28 March: Wednesday 24 March → 25 (skjærtorsdag), 26 (langfredag), 29
        // (2. påskedag) are holidays → 30, 31 March, 1 April.
        assert_eq!(deadline(date!(2027 - 03 - 24)), date!(2027 - 04 - 01));
        assert_eq!(easter(2026), Some(date!(2026 - 04 - 05)));
        assert!(is_public_holiday(date!(2026 - 05 - 17)));
        assert!(is_public_holiday(date!(2026 - 05 - 14)), "Kristi himmelfartsdag 2026");
        assert!(is_public_holiday(date!(2026 - 05 - 25)), "2. pinsedag 2026");
        assert!(!is_public_holiday(date!(2026 - 05 - 15)));
    }

    #[test]
    fn a_request_needs_an_email_and_an_entry() {
        let errors = check(Some(" "), Some(""), None, &[]).expect_err("refused");
        assert_eq!(
            errors,
            [FieldError { field: "email", rule: "required" }, FieldError { field: "entries", rule: "required" }]
        );
        let errors = check(None, Some("ikke en adresse"), None, &["a".to_owned()]).expect_err("refused");
        assert_eq!(errors, [FieldError { field: "email", rule: "invalid_email" }]);
        let ok =
            check(Some(" Ola "), Some(" ola@example.no "), Some(""), &["b".to_owned(), "a".to_owned(), "b".to_owned()])
                .expect("accepted");
        assert_eq!(ok.name.as_deref(), Some("Ola"));
        assert_eq!(ok.email, "ola@example.no");
        assert_eq!(ok.message, None);
        assert_eq!(ok.entries, ["a", "b"]);
        assert!(!is_email("a@b"));
        assert!(!is_email("@b.no"));
        assert!(is_email("kari.nordmann@kommune.no"));
    }
}
