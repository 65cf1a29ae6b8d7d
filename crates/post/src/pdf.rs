//! The checks a PDF passes before it is taken: a PDF at all, not broken, not encrypted, not too
//! large, with at least one page. Only PDF can be printed, and only what can be read can be
//! archived.

/// The number of pages, or why the bytes are refused (in words for the sender).
pub fn check(bytes: &[u8], max_bytes: u64) -> Result<u32, String> {
    if bytes.len() as u64 > max_bytes {
        return Err(format!("is {} bytes; the limit is {max_bytes}", bytes.len()));
    }
    if !bytes.starts_with(b"%PDF-") {
        return Err("is not a PDF (it does not start with %PDF-)".to_owned());
    }
    let document = lopdf::Document::load_mem(bytes).map_err(|e| format!("is a broken PDF: {e}"))?;
    if document.is_encrypted() || document.trailer.get(b"Encrypt").is_ok() {
        return Err("is encrypted; send it without a password".to_owned());
    }
    let pages = document.get_pages().len();
    if pages == 0 {
        return Err("has no pages".to_owned());
    }
    u32::try_from(pages).map_err(|_| "has too many pages".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::minimal_pdf;

    #[test]
    fn a_pdf_is_taken_with_its_pages() {
        assert_eq!(check(&minimal_pdf(), 1_000_000), Ok(1));
    }

    #[test]
    fn what_is_not_a_usable_pdf_is_refused_with_the_reason() {
        assert!(check(b"hello", 1000).expect_err("refused").contains("not a PDF"));
        assert!(check(b"%PDF-1.7\ngarbage", 1000).expect_err("refused").contains("broken"));
        assert!(check(&minimal_pdf(), 10).expect_err("refused").contains("limit"));
        let encrypted = String::from_utf8(minimal_pdf())
            .expect("ascii")
            .replace("/Root 1 0 R", "/Root 1 0 R /Encrypt << /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4 >>");
        let error = check(encrypted.as_bytes(), 1_000_000).expect_err("refused");
        assert!(error.contains("encrypted") || error.contains("broken"), "{error}");
    }
}
