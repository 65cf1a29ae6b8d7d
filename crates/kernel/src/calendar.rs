//! Norwegian working days: weekdays that are not public holidays (helligdager and 1 and 17 May).
//! Deadlines such as "printed if not read within 2 working days" and statutory case deadlines
//! count these.

use time::{Date, Duration, Month, Weekday};

/// The public holidays of `year`, in date order: New Year's Day, Maundy Thursday, Good Friday,
/// Easter Sunday and Monday, 1 May, 17 May, Ascension Day, Whit Sunday and Monday, Christmas
/// Day and Boxing Day. `None` outside the years the Gregorian Easter rule covers (1583–9999).
pub fn public_holidays(year: i32) -> Option<Vec<(Date, &'static str)>> {
    let easter = computus::gregorian(year).ok()?;
    let month = Month::try_from(u8::try_from(easter.month).ok()?).ok()?;
    let easter = Date::from_calendar_date(year, month, u8::try_from(easter.day).ok()?).ok()?;
    let fixed = |month: Month, day: u8| Date::from_calendar_date(year, month, day).ok();
    let mut days = vec![
        (fixed(Month::January, 1)?, "1. nyttårsdag"),
        (easter - Duration::days(3), "Skjærtorsdag"),
        (easter - Duration::days(2), "Langfredag"),
        (easter, "1. påskedag"),
        (easter + Duration::days(1), "2. påskedag"),
        (fixed(Month::May, 1)?, "Offentlig høytidsdag"),
        (fixed(Month::May, 17)?, "Grunnlovsdag"),
        (easter + Duration::days(39), "Kristi himmelfartsdag"),
        (easter + Duration::days(49), "1. pinsedag"),
        (easter + Duration::days(50), "2. pinsedag"),
        (fixed(Month::December, 25)?, "1. juledag"),
        (fixed(Month::December, 26)?, "2. juledag"),
    ];
    days.sort_by_key(|(day, _)| *day);
    Some(days)
}

/// Whether `day` is a public holiday in Norway.
pub fn is_public_holiday(day: Date) -> bool {
    public_holidays(day.year()).is_some_and(|days| days.iter().any(|(d, _)| *d == day))
}

/// Whether `day` is a working day: Monday to Friday and not a public holiday.
pub fn is_working_day(day: Date) -> bool {
    !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) && !is_public_holiday(day)
}

/// The day `n` working days after `day` (the day itself does not count): 2 working days after
/// Wednesday 1 April 2026 (before Easter) is Wednesday 8 April. `None` past the calendar's end.
pub fn add_working_days(day: Date, n: u32) -> Option<Date> {
    let mut current = day;
    let mut left = n;
    while left > 0 {
        current = current.next_day()?;
        if is_working_day(current) {
            left -= 1;
        }
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_moving_holidays_follow_easter() {
        // Easter Sunday: 5 April 2026, 28 March 2027, 20 April 2025.
        let days: Vec<Date> = public_holidays(2026).expect("2026").into_iter().map(|(d, _)| d).collect();
        for expected in [
            date!(2026 - 01 - 01),
            date!(2026 - 04 - 02),
            date!(2026 - 04 - 03),
            date!(2026 - 04 - 05),
            date!(2026 - 04 - 06),
            date!(2026 - 05 - 01),
            date!(2026 - 05 - 14),
            date!(2026 - 05 - 17),
            date!(2026 - 05 - 24),
            date!(2026 - 05 - 25),
            date!(2026 - 12 - 25),
            date!(2026 - 12 - 26),
        ] {
            assert!(days.contains(&expected), "{expected} is a holiday in 2026");
        }
        assert_eq!(days.len(), 12);
        assert!(is_public_holiday(date!(2027 - 03 - 25)), "Maundy Thursday 2027");
        assert!(is_public_holiday(date!(2025 - 06 - 09)), "Whit Monday 2025");
        assert!(!is_public_holiday(date!(2026 - 12 - 24)), "Christmas Eve is not a public holiday");
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        // Wednesday before Easter 2026: Thursday–Monday are holidays or weekend.
        assert_eq!(add_working_days(date!(2026 - 04 - 01), 1), Some(date!(2026 - 04 - 07)));
        assert_eq!(add_working_days(date!(2026 - 04 - 01), 2), Some(date!(2026 - 04 - 08)));
        // Friday → Tuesday.
        assert_eq!(add_working_days(date!(2026 - 12 - 04), 2), Some(date!(2026 - 12 - 08)));
        // Over Christmas 2026 (25th Friday, 26th Saturday).
        assert_eq!(add_working_days(date!(2026 - 12 - 24), 2), Some(date!(2026 - 12 - 29)));
        assert_eq!(add_working_days(date!(2026 - 12 - 02), 0), Some(date!(2026 - 12 - 02)));
        assert!(!is_working_day(date!(2026 - 05 - 17)));
        assert!(is_working_day(date!(2026 - 12 - 03)));
        assert_eq!(public_holidays(1000), None);
    }
}
