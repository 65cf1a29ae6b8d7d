//! Feeds arbitrary text to `Kommunenummer::parse`: it must return, never panic, and whatever it
//! accepts must parse again to the same value from its own text form.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(value) = kernel::Kommunenummer::parse(text) {
        let again = kernel::Kommunenummer::parse(&value.to_string()).expect("a parsed value parses again");
        assert_eq!(again, value);
    }
});
