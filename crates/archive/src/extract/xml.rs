//! A small streaming XML writer that hashes and counts what it writes.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

/// One element of a complexType's sequence, as generated from the XSD.
#[derive(Debug, Clone, Copy)]
pub(crate) struct El {
    /// The element's name.
    pub name: &'static str,
    /// Its type's local name (a metadatakatalog simple type, or a complexType of the schema).
    pub ty: &'static str,
    /// Whether the type is a simple (metadatakatalog or `xs:`) type.
    pub simple: bool,
    /// `minOccurs` ≥ 1.
    pub required: bool,
    /// `maxOccurs` > 1 (an alternative of an `xs:choice` is listed in place, in order).
    pub many: bool,
}

/// The XSD base of a metadatakatalog simple type (strings are not listed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base {
    Date,
    DateTime,
    Integer,
    Id,
}

/// A file being written: buffered, with its SHA-256 and size computed on the way.
#[derive(Debug)]
pub(crate) struct HashingFile {
    out: BufWriter<File>,
    hash: Sha256,
    size: u64,
}

impl HashingFile {
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
        Ok(HashingFile { out: BufWriter::with_capacity(64 * 1024, File::create(path)?), hash: Sha256::new(), size: 0 })
    }

    /// Flushes and closes the file; returns its SHA-256 (lower-case hex) and size.
    pub(crate) fn finish(mut self) -> io::Result<(String, u64)> {
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        Ok((hex(&self.hash.finalize()), self.size))
    }
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of bytes, lower-case hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// An indenting XML writer over any `Write`.
#[derive(Debug)]
pub(crate) struct Xml<W: Write> {
    pub out: W,
    depth: usize,
}

impl<W: Write> Xml<W> {
    pub(crate) fn new(out: W) -> Self {
        Xml { out, depth: 0 }
    }

    /// A writer that continues at a given depth (for fragments spliced in later).
    pub(crate) fn at_depth(out: W, depth: usize) -> Self {
        Xml { out, depth }
    }

    pub(crate) fn declaration(&mut self) -> io::Result<()> {
        self.out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
    }

    fn indent(&mut self) -> io::Result<()> {
        for _ in 0..self.depth {
            self.out.write_all(b"  ")?;
        }
        Ok(())
    }

    /// `<name a="v" ...>`
    pub(crate) fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
        self.indent()?;
        write!(self.out, "<{name}")?;
        for (k, v) in attrs {
            write!(self.out, " {k}=\"{}\"", escape(v))?;
        }
        self.out.write_all(b">\n")?;
        self.depth += 1;
        Ok(())
    }

    /// `</name>`
    pub(crate) fn close(&mut self, name: &str) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        self.indent()?;
        writeln!(self.out, "</{name}>")
    }

    /// `<name>text</name>`; the text is escaped and cleaned of characters XML does not allow.
    pub(crate) fn leaf(&mut self, name: &str, text: &str) -> io::Result<()> {
        self.leaf_with(name, &[], text)
    }

    pub(crate) fn leaf_with(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> io::Result<()> {
        self.indent()?;
        write!(self.out, "<{name}")?;
        for (k, v) in attrs {
            write!(self.out, " {k}=\"{}\"", escape(v))?;
        }
        writeln!(self.out, ">{}</{name}>", escape(text))
    }
}

/// Whether a character may appear in an XML 1.0 document.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Escapes text and attribute values; characters XML 1.0 does not allow (control characters,
/// U+FFFE, U+FFFF) are dropped. A carriage return is written as `&#13;` so that it survives
/// end-of-line normalisation.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            c if allowed(c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// The text as it will read once written (disallowed characters dropped, trimmed): used to
/// decide whether a value is empty.
pub(crate) fn clean(text: &str) -> String {
    text.chars().filter(|c| allowed(*c)).collect::<String>().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_drops_control_characters() {
        assert_eq!(escape("a<b>&\"c'\u{1}\u{0}d\u{FFFE}"), "a&lt;b&gt;&amp;&quot;c&apos;d");
        assert_eq!(clean(" \u{7} x "), "x");
    }
}
