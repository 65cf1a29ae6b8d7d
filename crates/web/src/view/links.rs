//! Addresses on this site: percent-encoding a path for a query parameter, and following a
//! return address only when it stays here.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but unreserved characters (RFC 3986) and `/` is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');

/// Percent-encodes `text` for a query parameter, keeping `/` readable.
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// `candidate` when it is a path on this site; `/` otherwise. Only local paths are followed
/// back, so a return address cannot be used to send people elsewhere.
pub fn safe_return_path(candidate: Option<&str>) -> &str {
    match candidate {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control)
                && path.len() <= 2000 =>
        {
            path
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_stay_on_this_site() {
        assert_eq!(safe_return_path(Some("/tilgjengelighet?x=1")), "/tilgjengelighet?x=1");
        for bad in ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)", "", "/a\nb"] {
            assert_eq!(safe_return_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_return_path(None), "/");
    }

    #[test]
    fn components_are_percent_encoded() {
        assert_eq!(encode("/a b?c=d&e"), "/a%20b%3Fc%3Dd%26e");
        assert_eq!(encode("/ø"), "/%C3%B8");
        assert_eq!(encode("/a-b_c.d~e"), "/a-b_c.d~e");
    }
}
