//! Feeds arbitrary text to `OrgNr::parse`: it must return, never panic, and whatever it
//! accepts must parse again to the same value from its own text form.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(value) = kernel::OrgNr::parse(text) {
        let again = kernel::OrgNr::parse(&value.as_digits()).expect("a parsed value parses again");
        assert_eq!(again, value);
    }
});
