//! Dates as a letter writes them.

use kernel::Language;
use time::Date;

const MONTHS_NORWEGIAN: [&str; 12] = [
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
];

const MONTHS_ENGLISH: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The date in words: "3. desember 2026" in bokmål and nynorsk (the month names are the same in
/// both), "3 December 2026" in British English.
pub fn format_date(date: Date, language: Language) -> String {
    let month = usize::from(u8::from(date.month())) - 1;
    match language {
        Language::Bokmal | Language::Nynorsk => {
            format!("{}. {} {}", date.day(), MONTHS_NORWEGIAN[month], date.year())
        }
        Language::English => format!("{} {} {}", date.day(), MONTHS_ENGLISH[month], date.year()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn norwegian_dates_have_a_day_with_a_full_stop_and_a_lower_case_month() {
        assert_eq!(format_date(date!(2026 - 12 - 03), Language::Bokmal), "3. desember 2026");
        assert_eq!(format_date(date!(2026 - 12 - 03), Language::Nynorsk), "3. desember 2026");
        assert_eq!(format_date(date!(2027 - 01 - 31), Language::Bokmal), "31. januar 2027");
        assert_eq!(format_date(date!(2026 - 05 - 17), Language::Nynorsk), "17. mai 2026");
    }

    #[test]
    fn english_dates_are_day_month_year_without_a_full_stop() {
        assert_eq!(format_date(date!(2026 - 12 - 03), Language::English), "3 December 2026");
        assert_eq!(format_date(date!(2026 - 10 - 10), Language::English), "10 October 2026");
    }

    #[test]
    fn every_month_has_a_name() {
        for month in 1..=12u8 {
            let Ok(month) = time::Month::try_from(month) else {
                panic!("{month} is a month");
            };
            let Ok(date) = Date::from_calendar_date(2026, month, 1) else {
                panic!("the first of {month} is a date");
            };
            for language in Language::ALL {
                assert!(!format_date(date, language).contains("  "));
            }
        }
    }
}
