//! Time as milliseconds since the Unix epoch: one integer column that sorts and compares the
//! same on SQLite and PostgreSQL.

use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Self(millis)
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// This time moved forward by `millis` (saturating).
    pub fn plus_millis(self, millis: i64) -> Self {
        Self(self.0.saturating_add(millis))
    }

    /// RFC 3339 in UTC, e.g. `2026-11-22T07:40:35.123Z`.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        ::time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .and_then(|t| t.format(&::time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
    }
}

/// Norway's offset from UTC at `at`: +01:00 (CET), and +02:00 (CEST) from 01:00 UTC on the
/// last Sunday of March to 01:00 UTC on the last Sunday of October, the EU rule Norway follows.
pub fn norway_offset(at: ::time::OffsetDateTime) -> ::time::UtcOffset {
    use ::time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};
    let utc = at.to_offset(UtcOffset::UTC);
    // March and October both have 31 days; step back from the 31st to its Sunday.
    let last_sunday = |month: Month| {
        Date::from_calendar_date(utc.year(), month, 31)
            .ok()
            .and_then(|last| {
                last.checked_sub(::time::Duration::days(i64::from(last.weekday().number_days_from_sunday())))
            })
            .map(|sunday| {
                PrimitiveDateTime::new(sunday, Time::from_hms(1, 0, 0).unwrap_or(Time::MIDNIGHT)).assume_utc()
            })
    };
    let summer = match (last_sunday(Month::March), last_sunday(Month::October)) {
        (Some(start), Some(end)) => utc >= start && utc < end,
        _ => false,
    };
    let hours = if summer { 2 } else { 1 };
    UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// `at` on Norwegian clocks.
pub fn in_norway(at: ::time::OffsetDateTime) -> ::time::OffsetDateTime {
    at.to_offset(norway_offset(at))
}

/// Now, on Norwegian clocks.
pub fn now_in_norway() -> ::time::OffsetDateTime {
    in_norway(::time::OffsetDateTime::now_utc())
}

/// Today's date in Norway.
pub fn today_in_norway() -> ::time::Date {
    now_in_norway().date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::time::macros::datetime;

    #[test]
    fn norwegian_clocks_follow_summer_time() {
        let hours = |at| norway_offset(at).whole_hours();
        assert_eq!(hours(datetime!(2026-01-15 12:00 UTC)), 1);
        assert_eq!(hours(datetime!(2026-07-15 12:00 UTC)), 2);
        // 2026: summer time from Sunday 29 March to Sunday 25 October, at 01:00 UTC.
        assert_eq!(hours(datetime!(2026-03-29 00:59:59 UTC)), 1);
        assert_eq!(hours(datetime!(2026-03-29 01:00 UTC)), 2);
        assert_eq!(hours(datetime!(2026-10-25 00:59:59 UTC)), 2);
        assert_eq!(hours(datetime!(2026-10-25 01:00 UTC)), 1);
        // 2027: 28 March and 31 October (the 31st itself is the last Sunday).
        assert_eq!(hours(datetime!(2027-03-28 01:00 UTC)), 2);
        assert_eq!(hours(datetime!(2027-10-31 00:30 UTC)), 2);
        assert_eq!(hours(datetime!(2027-10-31 01:00 UTC)), 1);
        // Late on New Year's Eve in UTC is already the new year in Norway.
        assert_eq!(in_norway(datetime!(2026-12-31 23:30 UTC)).date(), ::time::macros::date!(2027 - 01 - 01));
    }

    #[test]
    fn formats_rfc3339_in_utc() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp(1_795_333_235_123).to_rfc3339(), "2026-11-22T07:40:35.123Z");
    }

    #[test]
    fn now_is_after_2025() {
        assert!(Timestamp::now().millis() > 1_735_689_600_000);
    }
}
