//! Paper post through a print vendor reached by a directory or a bucket (`object_store`: the
//! local file system or S3).
//!
//! Under the configured prefix:
//!
//! - `utgaaende/{batch_id}/{letter_id}.pdf`: one file per letter, exactly as archived;
//! - `utgaaende/{batch_id}/manifest.csv`: the same lines for people and spreadsheets;
//! - `utgaaende/{batch_id}/manifest.json`: written **last**, so its presence means the batch is
//!   complete and the vendor may take it. It lists each line: `letter_id`, `file`, `name`,
//!   `address_lines`, `postnummer`, `poststed`, `land`, `pages`, `duplex`, `envelope` and the
//!   `sha256` of the PDF;
//! - `sendt/{batch_id}.json`: our own copy of the manifest once the batch is complete, so that
//!   a batch is not written again even when the vendor has cleared `utgaaende/` after taking it;
//! - `kvitteringer/{name}.csv`: receipts the vendor leaves, `batch_id;letter_id;status;tidspunkt;aarsak`
//!   with a header line, status `PRINTET` or `FEIL`, `tidspunkt` in RFC 3339;
//! - `kvitteringer/behandlet/{name}.csv`: receipts once recorded.
//!
//! Names and addresses are in the manifest (the vendor needs them) but never in an error text,
//! a log line or `Debug` output.

use std::sync::Arc;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::ObjectStore;
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ChannelError, Envelope, PrintLine, PrintReceipt, PrintShop, ReceiptFiles};

/// The most sheets a C5 envelope takes folded.
pub const C5_MAX_SHEETS: u32 = 10;

/// The envelope for a letter: sheets are the pages (halved, rounded up, when printed on both
/// sides); more than ten sheets go flat in a C4.
pub fn envelope_for(pages: u32, duplex: bool) -> Envelope {
    let sheets = if duplex { pages.div_ceil(2) } else { pages };
    if sheets > C5_MAX_SHEETS { Envelope::C4 } else { Envelope::C5 }
}

/// The header line of a receipt file.
pub const RECEIPT_HEADER: &str = "batch_id;letter_id;status;tidspunkt;aarsak";

/// The status of a printed line.
pub const STATUS_PRINTED: &str = "PRINTET";

/// The status of a line that was not printed.
pub const STATUS_FAILED: &str = "FEIL";

/// One line of `manifest.json`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestLine {
    /// The letter (one line per letter, ever).
    pub letter_id: String,
    /// The PDF's file name beside the manifest (`{letter_id}.pdf`).
    pub file: String,
    /// The recipient's name.
    pub name: String,
    /// The address lines.
    pub address_lines: Vec<String>,
    /// Postnummer.
    pub postnummer: String,
    /// Poststed.
    pub poststed: String,
    /// ISO 3166 alpha-2.
    pub land: String,
    /// Pages in the PDF.
    pub pages: u32,
    /// Both sides.
    pub duplex: bool,
    /// `C5` or `C4`.
    pub envelope: Envelope,
    /// The SHA-256 of the PDF, lower-case hex.
    pub sha256: String,
}

impl std::fmt::Debug for ManifestLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManifestLine")
            .field("letter_id", &self.letter_id)
            .field("pages", &self.pages)
            .field("envelope", &self.envelope)
            .finish_non_exhaustive()
    }
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The batch.
    pub batch_id: String,
    /// Its lines, in the order given.
    pub lines: Vec<ManifestLine>,
}

impl Manifest {
    fn csv(&self) -> String {
        let mut text =
            String::from("letter_id;file;name;address_lines;postnummer;poststed;land;pages;duplex;envelope;sha256\r\n");
        for line in &self.lines {
            let fields = [
                line.letter_id.clone(),
                line.file.clone(),
                line.name.clone(),
                line.address_lines.join(", "),
                line.postnummer.clone(),
                line.poststed.clone(),
                line.land.clone(),
                line.pages.to_string(),
                if line.duplex { "ja" } else { "nei" }.to_owned(),
                format!("{:?}", line.envelope),
                line.sha256.clone(),
            ];
            let fields: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
            text.push_str(&fields.join(";"));
            text.push_str("\r\n");
        }
        text
    }
}

fn csv_field(value: &str) -> String {
    if value.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// Whether a batch or letter id can be a path segment as it is: letters, digits, `-`, `_` and
/// `.` (not first), at most 100 characters.
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && !id.starts_with('.')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Where the files are, relative to the prefix.
#[derive(Debug, Clone)]
pub struct Layout {
    prefix: Path,
}

impl Layout {
    /// The layout under this prefix (`""` for the root).
    pub fn new(prefix: &str) -> Result<Self, ChannelError> {
        let prefix = Path::parse(prefix.trim_matches('/'))
            .map_err(|_| ChannelError::Permanent("the print prefix is not a valid path".into()))?;
        Ok(Layout { prefix })
    }

    fn join(&self, relative: &str) -> Path {
        let mut path = self.prefix.clone();
        for part in relative.split('/').filter(|part| !part.is_empty()) {
            path = path.child(part);
        }
        path
    }

    /// `utgaaende/`.
    pub fn outgoing(&self) -> Path {
        self.join("utgaaende")
    }

    /// `utgaaende/{batch_id}/`.
    pub fn batch(&self, batch_id: &str) -> Path {
        self.outgoing().child(batch_id)
    }

    /// `utgaaende/{batch_id}/manifest.json`.
    pub fn manifest(&self, batch_id: &str) -> Path {
        self.batch(batch_id).child("manifest.json")
    }

    /// `sendt/{batch_id}.json`.
    pub fn sent(&self, batch_id: &str) -> Path {
        self.join("sendt").child(format!("{batch_id}.json").as_str())
    }

    /// `kvitteringer/`.
    pub fn receipts(&self) -> Path {
        self.join("kvitteringer")
    }

    /// `kvitteringer/behandlet/`.
    pub fn acknowledged(&self) -> Path {
        self.receipts().child("behandlet")
    }

    /// A path relative to the prefix, for a path under it.
    pub fn relative(&self, path: &Path) -> String {
        match path.prefix_match(&self.prefix) {
            Some(parts) => parts.map(|part| part.as_ref().to_owned()).collect::<Vec<_>>().join("/"),
            None => path.to_string(),
        }
    }

    /// A path under the prefix from a relative one.
    pub fn absolute(&self, relative: &str) -> Path {
        self.join(relative)
    }
}

/// The print vendor through an object store.
#[derive(Clone)]
pub struct ObjectStorePrintShop {
    store: Arc<dyn ObjectStore>,
    layout: Layout,
}

impl std::fmt::Debug for ObjectStorePrintShop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStorePrintShop")
            .field("store", &self.store.to_string())
            .field("prefix", &self.layout.prefix.as_ref())
            .finish()
    }
}

/// An object store failure, as a channel error. The store's own text names paths, which hold
/// batch and letter ids only.
pub(crate) fn store_error(what: &str, error: object_store::Error) -> ChannelError {
    ChannelError::Transient(format!("{what}: {error}"))
}

impl ObjectStorePrintShop {
    /// The print shop over this store, under this prefix.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Result<Self, ChannelError> {
        Ok(ObjectStorePrintShop { store, layout: Layout::new(prefix)? })
    }

    /// Where the files are.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The manifest of a batch as it would be written.
    pub fn manifest(batch_id: &str, lines: &[PrintLine]) -> Result<Manifest, ChannelError> {
        if !is_safe_id(batch_id) {
            return Err(ChannelError::Permanent(
                "the batch id is not a safe file name (letters, digits, - _ .)".into(),
            ));
        }
        if lines.is_empty() {
            return Err(ChannelError::Permanent("a batch needs at least one letter".into()));
        }
        let mut seen = std::collections::HashSet::new();
        let mut manifest_lines = Vec::with_capacity(lines.len());
        for line in lines {
            if !is_safe_id(&line.letter_id) {
                return Err(ChannelError::Permanent(format!(
                    "batch {batch_id}: a letter id is not a safe file name (letters, digits, - _ .)"
                )));
            }
            if !seen.insert(line.letter_id.as_str()) {
                return Err(ChannelError::Permanent(format!(
                    "batch {batch_id}: letter {} is in the batch twice",
                    line.letter_id
                )));
            }
            if !line.pdf.starts_with(b"%PDF-") {
                return Err(ChannelError::Permanent(format!(
                    "batch {batch_id}: letter {} is not a PDF (only PDF can be printed)",
                    line.letter_id
                )));
            }
            manifest_lines.push(ManifestLine {
                letter_id: line.letter_id.clone(),
                file: format!("{}.pdf", line.letter_id),
                name: line.name.clone(),
                address_lines: line.address_lines.clone(),
                postnummer: line.postnummer.clone(),
                poststed: line.poststed.clone(),
                land: line.land.clone(),
                pages: line.pages,
                duplex: line.duplex,
                envelope: line.envelope,
                sha256: sha256_hex(&line.pdf),
            });
        }
        Ok(Manifest { batch_id: batch_id.to_owned(), lines: manifest_lines })
    }

    async fn read_json<T: serde::de::DeserializeOwned>(&self, path: &Path) -> Result<Option<T>, ChannelError> {
        match self.store.get(path).await {
            Ok(result) => {
                let bytes = result.bytes().await.map_err(|error| store_error("read", error))?;
                serde_json::from_slice(&bytes).map(Some).map_err(|error| {
                    ChannelError::Permanent(format!("{} is not valid: {error}", self.layout.relative(path)))
                })
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(store_error("read", error)),
        }
    }

    async fn put(&self, path: &Path, bytes: Bytes) -> Result<(), ChannelError> {
        self.store.put(path, bytes.into()).await.map_err(|error| store_error("write", error))?;
        Ok(())
    }

    async fn submit_batch(&self, batch_id: &str, lines: &[PrintLine]) -> Result<(), ChannelError> {
        let manifest = Self::manifest(batch_id, lines)?;
        let manifest_path = self.layout.manifest(batch_id);
        let sent_path = self.layout.sent(batch_id);

        let earlier = match self.read_json::<Manifest>(&sent_path).await? {
            Some(sent) => Some(sent),
            None => self.read_json::<Manifest>(&manifest_path).await?,
        };
        if let Some(earlier) = earlier {
            if earlier == manifest {
                // Written before (a retry after a crash or a lost answer): nothing to do but make
                // sure our own record is there.
                self.put(&sent_path, json_bytes(&manifest)?).await?;
                tracing::debug!(print.batch = %batch_id, "print batch already submitted");
                return Ok(());
            }
            return Err(ChannelError::Permanent(format!("batch {batch_id} was submitted before with other lines")));
        }

        let batch = self.layout.batch(batch_id);
        for (line, manifest_line) in lines.iter().zip(&manifest.lines) {
            self.put(&batch.child(manifest_line.file.as_str()), line.pdf.clone()).await?;
        }
        self.put(&batch.child("manifest.csv"), Bytes::from(manifest.csv())).await?;
        // Last: from here on the vendor may take the batch.
        self.put(&manifest_path, json_bytes(&manifest)?).await?;
        self.put(&sent_path, json_bytes(&manifest)?).await?;
        tracing::info!(print.batch = %batch_id, print.lines = manifest.lines.len(), "print batch submitted");
        Ok(())
    }

    async fn list_receipts(&self) -> Result<ReceiptFiles, ChannelError> {
        let listing = match self.store.list_with_delimiter(Some(&self.layout.receipts())).await {
            Ok(listing) => listing,
            Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(error) => return Err(store_error("list the receipts", error)),
        };
        let mut files: Vec<Path> = listing
            .objects
            .into_iter()
            .map(|object| object.location)
            .filter(|path| path.filename().is_some_and(|name| name.ends_with(".csv") && !name.starts_with('.')))
            .collect();
        files.sort();
        let mut receipts = Vec::with_capacity(files.len());
        for path in files {
            let name = self.layout.relative(&path);
            let bytes = match self.store.get(&path).await {
                Ok(result) => result.bytes().await.map_err(|error| store_error("read a receipt", error))?,
                // Acknowledged by someone else since the listing.
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(error) => return Err(store_error("read a receipt", error)),
            };
            receipts.push((name.clone(), parse_receipts(&name, &bytes)?));
        }
        Ok(receipts)
    }

    async fn acknowledge_file(&self, receipt_file: &str) -> Result<(), ChannelError> {
        let Some(name) = receipt_file.strip_prefix("kvitteringer/") else {
            return Err(ChannelError::Permanent("not a receipt file (kvitteringer/{name}.csv)".into()));
        };
        if !is_safe_id(name) || !name.ends_with(".csv") {
            return Err(ChannelError::Permanent("not a receipt file (kvitteringer/{name}.csv)".into()));
        }
        let from = self.layout.receipts().child(name);
        let to = self.layout.acknowledged().child(name);
        match self.store.rename(&from, &to).await {
            Ok(()) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => match self.store.head(&to).await {
                // Moved already: acknowledging twice is harmless.
                Ok(_) => Ok(()),
                Err(object_store::Error::NotFound { .. }) => {
                    Err(ChannelError::Permanent(format!("{receipt_file} does not exist")))
                }
                Err(error) => Err(store_error("acknowledge a receipt", error)),
            },
            Err(error) => Err(store_error("acknowledge a receipt", error)),
        }
    }
}

fn json_bytes<T: Serialize>(value: &T) -> Result<Bytes, ChannelError> {
    serde_json::to_vec_pretty(value)
        .map(Bytes::from)
        .map_err(|error| ChannelError::Permanent(format!("cannot write JSON: {error}")))
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Parses a receipt file. Every line must be good: a bad one is an error naming the file and the
/// line (its contents are not repeated).
pub fn parse_receipts(file: &str, bytes: &[u8]) -> Result<Vec<PrintReceipt>, ChannelError> {
    let bad = |line: usize, what: &str| ChannelError::Permanent(format!("{file} line {line}: {what}"));
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let line = bytes[..error.valid_up_to()].iter().filter(|&&byte| byte == b'\n').count() + 1;
        bad(line, "not UTF-8")
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines =
        text.split('\n').enumerate().map(|(index, line)| (index + 1, line.strip_suffix('\r').unwrap_or(line)));

    match lines.next() {
        Some((_, header)) if header.trim().eq_ignore_ascii_case(RECEIPT_HEADER) => {}
        _ => return Err(bad(1, &format!("the header line is not `{RECEIPT_HEADER}`"))),
    }
    let mut receipts = Vec::new();
    for (number, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_csv_line(line).ok_or_else(|| bad(number, "an unterminated quoted field"))?;
        let [batch_id, letter_id, status, at, reason]: [String; 5] = fields
            .try_into()
            .map_err(|fields: Vec<String>| bad(number, &format!("5 fields expected, {} found", fields.len())))?;
        if batch_id.is_empty() || letter_id.is_empty() {
            return Err(bad(number, "batch_id and letter_id must not be empty"));
        }
        let printed = match status.as_str() {
            STATUS_PRINTED => true,
            STATUS_FAILED => false,
            _ => return Err(bad(number, "status must be PRINTET or FEIL")),
        };
        if time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339).is_err() {
            return Err(bad(number, "tidspunkt is not an RFC 3339 time"));
        }
        let reason = (!reason.trim().is_empty()).then(|| reason.trim().to_owned());
        receipts.push(PrintReceipt { batch_id, letter_id, printed, reason, at });
    }
    Ok(receipts)
}

/// Splits one line on `;`, with `"…"` quoting and `""` for a quote inside. `None` when a quote
/// is not closed.
fn split_csv_line(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == '"' && at_field_start {
            quoted = true;
            at_field_start = false;
        } else if c == ';' {
            fields.push(std::mem::take(&mut field));
            at_field_start = true;
        } else {
            field.push(c);
            at_field_start = false;
        }
    }
    if quoted {
        return None;
    }
    fields.push(field);
    Some(fields)
}

impl PrintShop for ObjectStorePrintShop {
    fn submit<'a>(&'a self, batch_id: &'a str, lines: &'a [PrintLine]) -> BoxFuture<'a, Result<(), ChannelError>> {
        self.submit_batch(batch_id, lines).boxed()
    }

    fn receipts(&self) -> BoxFuture<'_, Result<ReceiptFiles, ChannelError>> {
        self.list_receipts().boxed()
    }

    fn acknowledge<'a>(&'a self, receipt_file: &'a str) -> BoxFuture<'a, Result<(), ChannelError>> {
        self.acknowledge_file(receipt_file).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes() {
        assert_eq!(envelope_for(0, false), Envelope::C5);
        assert_eq!(envelope_for(1, false), Envelope::C5);
        assert_eq!(envelope_for(10, false), Envelope::C5);
        assert_eq!(envelope_for(11, false), Envelope::C4);
        assert_eq!(envelope_for(20, true), Envelope::C5);
        assert_eq!(envelope_for(21, true), Envelope::C4);
        assert_eq!(envelope_for(19, true), Envelope::C5);
        assert_eq!(envelope_for(u32::MAX, true), Envelope::C4);
    }

    #[test]
    fn receipts_parse_with_quotes_and_crlf() {
        let text = "\u{feff}batch_id;letter_id;status;tidspunkt;aarsak\r\n\
                    b1;l1;PRINTET;2026-12-03T10:00:00Z;\r\n\
                    b1;l2;FEIL;2026-12-03T10:00:01+01:00;\"Adressa manglar; \"\"ukjend\"\"\"\r\n\r\n";
        let receipts = parse_receipts("kvitteringer/x.csv", text.as_bytes()).expect("parse");
        assert_eq!(receipts.len(), 2);
        assert!(receipts[0].printed);
        assert_eq!(receipts[0].reason, None);
        assert!(!receipts[1].printed);
        assert_eq!(receipts[1].reason.as_deref(), Some("Adressa manglar; \"ukjend\""));
    }

    #[test]
    fn a_bad_receipt_line_names_the_file_and_the_line() {
        let cases = [
            ("batch_id;letter_id;status;tidspunkt;aarsak\nb1;l1;PRINTET;2026-12-03T10:00:00Z\n", "line 2"),
            (
                "batch_id;letter_id;status;tidspunkt;aarsak\nb1;l1;PRINTET;2026-12-03T10:00:00Z;\nb1;l2;OK;2026-12-03T10:00:00Z;\n",
                "line 3",
            ),
            ("batch_id;letter_id;status;tidspunkt;aarsak\nb1;l1;PRINTET;i går;\n", "line 2"),
            ("batch_id;letter_id;status;tidspunkt;aarsak\nb1;l1;FEIL;2026-12-03T10:00:00Z;\"open\n", "line 2"),
            ("b1;l1;PRINTET;2026-12-03T10:00:00Z;\n", "line 1"),
            ("", "line 1"),
        ];
        for (text, line) in cases {
            let error = parse_receipts("kvitteringer/x.csv", text.as_bytes()).expect_err(text);
            assert!(!error.is_transient());
            assert!(error.to_string().contains("kvitteringer/x.csv"), "{error}");
            assert!(error.to_string().contains(line), "{error} for {text:?}");
        }
        let error = parse_receipts("kvitteringer/x.csv", b"batch_id;letter_id;status;tidspunkt;aarsak\n\xff\n")
            .expect_err("not utf-8");
        assert!(error.to_string().contains("line 2"), "{error}");
    }

    #[test]
    fn ids_that_are_not_file_names_are_refused() {
        assert!(is_safe_id("0190f0d2-1c1e-7a3b-9d1e-0123456789ab"));
        assert!(is_safe_id("batch_2026.12.03"));
        for id in ["", "..", ".hidden", "a/b", "a\\b", "æ", "a b", &"x".repeat(101)] {
            assert!(!is_safe_id(id), "{id}");
        }
    }
}
