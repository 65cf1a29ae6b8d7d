//! The Noark 5 v5.0 arkivuttrekk (archive extraction) writer.
//!
//! [`export`] writes, into an empty directory: `arkivstruktur.xml`, `endringslogg.xml`,
//! `loependeJournal.xml`, `offentligJournal.xml` (the last three only when the period has
//! changes or journalposts: their schemas want at least one entry), the six schemas byte for byte, the documents
//! under `dokumenter/` (`<systemID>.<ext>`), and last `arkivuttrekk.xml` (ADDML 8.3 in the
//! Arkivverket's Noark 5 profile: archive, arkivskaper, period, counts and the SHA-256 of every
//! XML file and schema).
//!
//! # What a period includes
//! - every registrering whose `journaldato` (journalposts) or `opprettetDato` (others) falls in
//!   the period, with its dokumentbeskrivelser, dokumentobjekter, files and metadata children,
//!   and all its ancestors;
//! - every mappe created in the period, even with no registrering of the period;
//! - a klasse or klassifikasjonssystem only when it holds something included (the XSD wants a
//!   klasse in every klassifikasjonssystem);
//! - the arkiv and every arkivdel always, so an empty period still gives an arkivstruktur.xml
//!   that validates;
//! - the journals hold the period's journalposts; the endringslogg the changes made in it.
//!
//! # Required elements the data may not have
//! The XSD makes some elements mandatory that an open archive does not know yet. Where the
//! object has no value, this writer uses (the private `fallback` function):
//! - `avsluttetDato` (arkiv, arkivdel, mappe): the end of the period, `<to>T23:59:59`, and
//!   `avsluttetAv`: the `arkivskaper_name` given to [`export`] (the extraction closes the period);
//! - `arkivertDato`/`arkivertAv`: `opprettetDato`/`opprettetAv` (archived when registered);
//! - `saksdato`, `journaldato`, `tilknyttetDato`, `merknadsdato`, `graderingsdato`,
//!   `konvertertDato`, `presedensDato`: the object's `opprettetDato`; `…Av`: its `opprettetAv`;
//! - `mappeID`: `saksaar/sakssekvensnummer`, else the systemID; `klasseID`: the systemID;
//! - `arkivdelstatus` "Aktiv periode", `saksstatus` "Under behandling", `journalstatus`
//!   "Journalført", `dokumentstatus` "Dokumentet er ferdigstilt", `variantformat`
//!   "Produksjonsformat", `versjonsnummer` 1, `dokumentnummer` its place in the registrering,
//!   `tilknyttetRegistreringSom` "Hoveddokument" for the first, "Vedlegg" after;
//! - any other required string "Ikke oppgitt", integer 0, date the period's end.
//!
//! A dokumentobjekt's `referanseDokumentfil`, `sjekksum`, `sjekksumAlgoritme` (`SHA-256`) and
//! `filstoerrelse` are always those of the file written.
//!
//! # What the schemas cannot hold
//! - `endringslogg.xsd`, `loependeJournal.xsd` and `offentligJournal.xsd` want at least one
//!   `endring` / `journalregistrering`: for a period without changes or journalposts those files
//!   are well-formed but do not validate (nothing may be invented to fill them);
//! - a journalpost without korrespondansepart, or one outside any saksmappe, does not validate
//!   in the journals (the XSD wants both); it is written with what there is;
//! - nasjonalidentifikatorer and other children with no element in arkivstruktur.xsd v5.0 are
//!   left out and counted in [`Summary::skipped`];
//! - only one top-level arkiv can be the document's root: more than one is an error.

mod addml;
#[rustfmt::skip]
mod order;
mod values;
mod xml;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::future::Future;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;

use serde_json::Value;

use order::{ARKIVSTRUKTUR, ENDRINGSLOGG, LOEPENDE_JOURNAL, OFFENTLIG_JOURNAL};
use values::{base_of, date_of, format, value, values};
use xml::{El, HashingFile, Xml};

/// One object of the archive as the export reads it.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its systemID.
    pub id: String,
    /// The concrete entity name: `saksmappe`, `journalpost`, `partperson`,
    /// `korrespondansepartperson`, `dokumentobjekt`, `merknad`, `noekkelord`, `arkivskaper`, …
    pub entity: &'static str,
    /// Creation order, increasing.
    pub position: i64,
    /// The object in the tjenestegrensesnitt JSON shape (codes as `{kode, kodenavn}`, embedded
    /// objects such as `skjerming` inline, no `_links`).
    pub body: Value,
}

/// One entry of the endringslogg.
#[derive(Debug, Clone)]
pub struct Change {
    /// Its order, increasing.
    pub position: i64,
    /// The systemID of the changed object.
    pub system_id: String,
    /// The changed attribute.
    pub field: String,
    /// When, RFC 3339.
    pub changed_at: String,
    /// By whom.
    pub changed_by: String,
    /// The value before.
    pub old: Option<String>,
    /// The value after.
    pub new: Option<String>,
}

/// Where the export reads the archive from.
pub trait Source: Sync {
    /// The source's error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Children of `parent` (None: the top-level arkiv objects) in creation order, those with
    /// position > after, at most limit.
    fn children(
        &self,
        parent: Option<&str>,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Node>, Self::Error>> + Send;
    /// Endringslogg entries with position > after, at most limit, in order.
    fn changes(&self, after: i64, limit: u32) -> impl Future<Output = Result<Vec<Change>, Self::Error>> + Send;
    /// The stored bytes of a dokumentobjekt's file, if it has one.
    fn file(&self, dokumentobjekt: &str) -> impl Future<Output = Result<Option<bytes::Bytes>, Self::Error>> + Send;
}

/// The extraction period, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First day.
    pub from: time::Date,
    /// Last day.
    pub to: time::Date,
}

impl Period {
    fn contains(&self, date: time::Date) -> bool {
        self.from <= date && date <= self.to
    }
}

/// How far the export has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Objects written to arkivstruktur.xml.
    pub objects: u64,
    /// Document files written.
    pub files: u64,
    /// Bytes of document files written.
    pub bytes: u64,
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// `arkiv` elements (1).
    pub arkiv: u64,
    /// `arkivdel` elements.
    pub arkivdeler: u64,
    /// `mappe` elements, of every kind.
    pub mapper: u64,
    /// `registrering` elements, of every kind.
    pub registreringer: u64,
    /// `dokumentbeskrivelse` elements.
    pub dokumentbeskrivelser: u64,
    /// `dokumentobjekt` elements.
    pub dokumentobjekter: u64,
    /// Document files under `dokumenter/`.
    pub files: u64,
    /// `endring` elements.
    pub changes: u64,
    /// `journalregistrering` elements in each journal.
    pub journal_entries: u64,
    /// Children with no element in arkivstruktur.xsd (nasjonalidentifikatorer, …), left out.
    pub skipped: u64,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing the files failed.
    #[error("arkivuttrekk: {0}")]
    Io(#[from] io::Error),
    /// The source failed.
    #[error("arkivuttrekk: reading the archive: {0}")]
    Source(Box<dyn std::error::Error + Send + Sync>),
    /// The output directory exists and is not empty.
    #[error("arkivuttrekk: {0} is not empty")]
    NotEmpty(PathBuf),
    /// The period ends before it starts.
    #[error("arkivuttrekk: the period ends before it starts")]
    Period,
    /// The archive cannot be written as one arkivstruktur.xml.
    #[error("arkivuttrekk: {0}")]
    Unsupported(&'static str),
}

const PAGE: u32 = 500;
const PROGRESS_EVERY: u64 = 100;
const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const NS_BASE: &str = "http://www.arkivverket.no/standarder/noark5/";

/// The schemas, byte for byte as the Arkivverket publishes them (CRLF).
pub const SCHEMAS: &[(&str, &[u8])] = &[
    ("arkivstruktur.xsd", include_bytes!("../../schemas/noark5/arkivstruktur.xsd")),
    ("metadatakatalog.xsd", include_bytes!("../../schemas/noark5/metadatakatalog.xsd")),
    ("endringslogg.xsd", include_bytes!("../../schemas/noark5/endringslogg.xsd")),
    ("loependeJournal.xsd", include_bytes!("../../schemas/noark5/loependeJournal.xsd")),
    ("offentligJournal.xsd", include_bytes!("../../schemas/noark5/offentligJournal.xsd")),
    ("addml.xsd", include_bytes!("../../schemas/noark5/addml.xsd")),
];

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = Result<T, ExportError>> + Send + 'a>>;

fn source_error<E: std::error::Error + Send + Sync + 'static>(e: E) -> ExportError {
    ExportError::Source(Box::new(e))
}

/// A file written, for the ADDML.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

/// How an entity is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An arkivenhet with its own element: (element, complexType).
    Unit(&'static str, &'static str),
    /// A metadata child written inside its parent's element: (element).
    Meta(&'static str),
    /// Nothing in arkivstruktur.xsd.
    None,
}

fn kind(entity: &str) -> Kind {
    match entity {
        "arkiv" => Kind::Unit("arkiv", "arkiv"),
        "arkivdel" => Kind::Unit("arkivdel", "arkivdel"),
        "klassifikasjonssystem" => Kind::Unit("klassifikasjonssystem", "klassifikasjonssystem"),
        "klasse" => Kind::Unit("klasse", "klasse"),
        "mappe" => Kind::Unit("mappe", "mappe"),
        "saksmappe" => Kind::Unit("mappe", "saksmappe"),
        "moetemappe" => Kind::Unit("mappe", "moetemappe"),
        "registrering" => Kind::Unit("registrering", "registrering"),
        "journalpost" => Kind::Unit("registrering", "journalpost"),
        "arkivnotat" => Kind::Unit("registrering", "arkivnotat"),
        "moeteregistrering" => Kind::Unit("registrering", "moeteregistrering"),
        "dokumentbeskrivelse" => Kind::Unit("dokumentbeskrivelse", "dokumentbeskrivelse"),
        "dokumentobjekt" => Kind::Unit("dokumentobjekt", "dokumentobjekt"),
        "part" | "partperson" | "partenhet" | "partintern" => Kind::Meta("part"),
        "korrespondansepart" | "korrespondansepartperson" | "korrespondansepartenhet" | "korrespondansepartintern" => {
            Kind::Meta("korrespondansepart")
        }
        "arkivskaper" => Kind::Meta("arkivskaper"),
        "merknad" => Kind::Meta("merknad"),
        "kryssreferanse" => Kind::Meta("kryssreferanse"),
        "noekkelord" => Kind::Meta("noekkelord"),
        "avskrivning" => Kind::Meta("avskrivning"),
        "presedens" => Kind::Meta("presedens"),
        "konvertering" => Kind::Meta("konvertering"),
        "dokumentflyt" => Kind::Meta("dokumentflyt"),
        "moetedeltaker" => Kind::Meta("moetedeltaker"),
        _ => Kind::None,
    }
}

fn is_unit_element(name: &str) -> bool {
    matches!(
        name,
        "arkiv"
            | "arkivdel"
            | "klassifikasjonssystem"
            | "klasse"
            | "mappe"
            | "registrering"
            | "dokumentbeskrivelse"
            | "dokumentobjekt"
    )
}

fn sequence(table: &'static [(&'static str, &'static [El])], ty: &str) -> &'static [El] {
    table.iter().find(|(name, _)| *name == ty).map(|(_, els)| *els).unwrap_or(&[])
}

type Meta = HashMap<&'static str, Vec<Node>>;

struct Cx<'a, S: Source> {
    source: &'a S,
    period: Period,
    arkivskaper_name: &'a str,
    out_dir: &'a Path,
    /// Mapper, klasser and klassifikasjonssystemer to write (from the first pass).
    included: HashSet<String>,
    /// The ancestors of the object being written (klasse and saksmappe for the journals).
    stack: Vec<(&'static str, Value)>,
    /// The arkiv's arkivskapere, for the journals' heads.
    arkivskapere: Vec<Value>,
    summary: Summary,
    progress: Progress,
    on_progress: &'a mut (dyn FnMut(&Progress) + Send),
    main: Xml<HashingFile>,
    loepende: Xml<BufWriter<File>>,
    offentlig: Xml<BufWriter<File>>,
}

/// Writes the arkivuttrekk of `period` into `out_dir` (created if missing; an error if it is
/// not empty). `arkivskaper_name` is the ADDML's record creator, and the arkivskaper written
/// when the arkiv has none.
pub async fn export<S: Source>(
    source: &S,
    period: Period,
    arkivskaper_name: &str,
    out_dir: &Path,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<Summary, ExportError> {
    if period.to < period.from {
        return Err(ExportError::Period);
    }
    std::fs::create_dir_all(out_dir)?;
    if std::fs::read_dir(out_dir)?.next().is_some() {
        return Err(ExportError::NotEmpty(out_dir.to_path_buf()));
    }
    std::fs::create_dir(out_dir.join("dokumenter"))?;

    let top = source.children(None, i64::MIN, 2).await.map_err(source_error)?;
    let arkiv = match top.as_slice() {
        [one] => one.clone(),
        [] => return Err(ExportError::Unsupported("there is no arkiv")),
        _ => {
            return Err(ExportError::Unsupported(
                "more than one top-level arkiv (one arkivstruktur.xml has one root): choose one",
            ));
        }
    };

    let mut included = HashSet::new();
    scan(source, &period, &arkiv.id, &mut included).await?;

    let loepende_part = out_dir.join(".loependeJournal.part");
    let offentlig_part = out_dir.join(".offentligJournal.part");
    let mut cx = Cx {
        source,
        period,
        arkivskaper_name,
        out_dir,
        included,
        stack: Vec::new(),
        arkivskapere: Vec::new(),
        summary: Summary::default(),
        progress: Progress::default(),
        on_progress: progress,
        main: Xml::new(HashingFile::create(&out_dir.join("arkivstruktur.xml"))?),
        loepende: Xml::at_depth(BufWriter::new(File::create(&loepende_part)?), 1),
        offentlig: Xml::at_depth(BufWriter::new(File::create(&offentlig_part)?), 1),
    };
    cx.main.declaration()?;
    write_unit(&mut cx, arkiv, "arkiv", "arkiv", true).await?;
    let Cx { main, loepende, offentlig, summary, progress: done, arkivskapere, on_progress, .. } = cx;
    let mut summary = summary;
    on_progress(&done);
    let (sha, size) = main.out.finish()?;
    let mut written = vec![Written { name: "arkivstruktur.xml".into(), sha256: sha, size }];
    let mut loepende = loepende.out;
    loepende.flush()?;
    drop(loepende);
    let mut offentlig = offentlig.out;
    offentlig.flush()?;
    drop(offentlig);

    // The journals' and the endringslogg's schemas want at least one entry: a period without
    // journalposts (or without changes) leaves that file out, and the ADDML lists only the
    // files there are, so everything delivered validates.
    for (name, part) in [("loependeJournal", &loepende_part), ("offentligJournal", &offentlig_part)] {
        if summary.journal_entries > 0 {
            written.push(assemble_journal(
                out_dir,
                name,
                part,
                &period,
                summary.journal_entries,
                &arkivskapere,
                arkivskaper_name,
            )?);
        }
        std::fs::remove_file(part)?;
    }

    let (endringslogg, changes) = write_endringslogg(source, &period, out_dir).await?;
    summary.changes = changes;
    if changes > 0 {
        written.push(endringslogg);
    } else {
        std::fs::remove_file(out_dir.join("endringslogg.xml"))?;
    }

    for (name, bytes) in SCHEMAS {
        std::fs::write(out_dir.join(name), bytes)?;
        written.push(Written { name: (*name).to_string(), sha256: xml::sha256_hex(bytes), size: bytes.len() as u64 });
    }

    addml::write(out_dir, &addml::Info { period, arkivskaper_name, summary: &summary, files: &written })?;
    Ok(summary)
}

/// Pages through the children of `parent`.
async fn each_child<S: Source>(source: &S, parent: &str, mut f: impl FnMut(Node)) -> Result<(), ExportError> {
    let mut after = i64::MIN;
    loop {
        let page = source.children(Some(parent), after, PAGE).await.map_err(source_error)?;
        let n = page.len();
        for node in page {
            after = after.max(node.position);
            f(node);
        }
        if n < PAGE as usize {
            return Ok(());
        }
    }
}

fn in_period(node: &Node, period: &Period) -> bool {
    let date = if node.entity == "journalpost" {
        value(&node.body, "journaldato").or_else(|| value(&node.body, "opprettetDato"))
    } else {
        value(&node.body, "opprettetDato")
    };
    date.as_deref().and_then(date_of).is_some_and(|d| period.contains(d))
}

/// The first pass: which mapper, klasser and klassifikasjonssystemer hold something of the
/// period. Returns whether `parent` does. Holds only their systemIDs.
fn scan<'a, S: Source>(
    source: &'a S,
    period: &'a Period,
    parent: &'a str,
    included: &'a mut HashSet<String>,
) -> BoxFut<'a, bool> {
    Box::pin(async move {
        let mut containers = Vec::new();
        let mut any = false;
        let mut after = i64::MIN;
        loop {
            let page = source.children(Some(parent), after, PAGE).await.map_err(source_error)?;
            let n = page.len();
            for node in page {
                after = after.max(node.position);
                match kind(node.entity) {
                    Kind::Unit("registrering", _) => any |= in_period(&node, period),
                    Kind::Unit("arkiv" | "arkivdel" | "klassifikasjonssystem" | "klasse" | "mappe", _) => {
                        containers.push(node);
                    }
                    _ => {}
                }
            }
            // Descend page by page, so only one page of containers is held per level.
            for node in containers.drain(..) {
                let inside = scan(source, period, &node.id, included).await?;
                let own = node.entity.ends_with("mappe") && in_period(&node, period);
                if inside || own {
                    included.insert(node.id);
                    any = true;
                }
            }
            if n < PAGE as usize {
                return Ok(any);
            }
        }
    })
}

/// The metadata children of a unit, grouped by element.
async fn collect_meta<S: Source>(source: &S, parent: &str, skipped: &mut u64) -> Result<Meta, ExportError> {
    let mut meta: Meta = HashMap::new();
    each_child(source, parent, |node| match kind(node.entity) {
        Kind::Meta(element) => meta.entry(element).or_default().push(node),
        Kind::None => *skipped += 1,
        Kind::Unit(..) => {}
    })
    .await?;
    Ok(meta)
}

fn is_included<S: Source>(cx: &Cx<'_, S>, node: &Node) -> bool {
    match kind(node.entity) {
        Kind::Unit("arkiv" | "arkivdel" | "dokumentbeskrivelse" | "dokumentobjekt", _) => true,
        Kind::Unit("registrering", _) => in_period(node, &cx.period),
        Kind::Unit(..) => cx.included.contains(&node.id),
        _ => false,
    }
}

fn tick<S: Source>(cx: &mut Cx<'_, S>) {
    cx.progress.objects += 1;
    if cx.progress.objects.is_multiple_of(PROGRESS_EVERY) {
        (cx.on_progress)(&cx.progress);
    }
}

/// Writes one unit with everything under it.
fn write_unit<'a, 'c: 'a, S: Source>(
    cx: &'a mut Cx<'c, S>,
    mut node: Node,
    element: &'static str,
    ty: &'static str,
    root: bool,
) -> BoxFut<'a, ()> {
    Box::pin(async move {
        let mut skipped = 0;
        let meta = collect_meta(cx.source, &node.id, &mut skipped).await?;
        cx.summary.skipped += skipped;
        match element {
            "arkiv" => {
                cx.summary.arkiv += 1;
                cx.arkivskapere = meta.get("arkivskaper").into_iter().flatten().map(|n| n.body.clone()).collect();
            }
            "arkivdel" => cx.summary.arkivdeler += 1,
            "mappe" => cx.summary.mapper += 1,
            "registrering" => cx.summary.registreringer += 1,
            "dokumentbeskrivelse" => cx.summary.dokumentbeskrivelser += 1,
            "dokumentobjekt" => {
                cx.summary.dokumentobjekter += 1;
                write_file(cx, &mut node).await?;
            }
            _ => {}
        }
        tick(cx);

        let ns = format!("{NS_BASE}arkivstruktur");
        let location = format!("{ns} arkivstruktur.xsd");
        let mut attrs: Vec<(&str, &str)> = Vec::new();
        if root {
            attrs.extend([("xmlns", ns.as_str()), ("xmlns:xsi", NS_XSI), ("xsi:schemaLocation", location.as_str())]);
        }
        if element != ty {
            attrs.push(("xsi:type", ty));
        }
        cx.main.open(element, &attrs)?;

        let mut units_done = false;
        for el in sequence(ARKIVSTRUKTUR, ty) {
            if !el.simple && is_unit_element(el.name) {
                if !units_done {
                    units_done = true;
                    cx.stack.push((node.entity, node.body.clone()));
                    write_units(cx, &node.id).await?;
                    cx.stack.pop();
                }
                continue;
            }
            if el.name == "arkivskaper" && !meta.contains_key("arkivskaper") {
                let name = cx.arkivskaper_name.to_string();
                let fallback = serde_json::json!({"arkivskaperID": name, "arkivskaperNavn": name});
                write_complex(
                    &mut cx.main,
                    ARKIVSTRUKTUR,
                    "arkivskaper",
                    "arkivskaper",
                    &fallback,
                    &cx.period,
                    cx.arkivskaper_name,
                )?;
                continue;
            }
            write_element(&mut cx.main, ARKIVSTRUKTUR, el, &node.body, &meta, &cx.period, cx.arkivskaper_name)?;
        }
        cx.main.close(element)?;

        if ty == "journalpost" {
            write_journal_entries(cx, &node, &meta)?;
        }
        Ok(())
    })
}

/// Streams the units under `parent` that belong to the extraction.
async fn write_units<S: Source>(cx: &mut Cx<'_, S>, parent: &str) -> Result<(), ExportError> {
    let mut after = i64::MIN;
    let mut dokumentnummer = 0u64;
    loop {
        let page = cx.source.children(Some(parent), after, PAGE).await.map_err(source_error)?;
        let n = page.len();
        for mut node in page {
            after = after.max(node.position);
            let Kind::Unit(element, ty) = kind(node.entity) else { continue };
            if !is_included(cx, &node) {
                continue;
            }
            if element == "dokumentbeskrivelse" {
                dokumentnummer += 1;
                if let Value::Object(o) = &mut node.body {
                    o.entry("dokumentnummer").or_insert(Value::from(dokumentnummer));
                    let role = if dokumentnummer == 1 { "Hoveddokument" } else { "Vedlegg" };
                    o.entry("tilknyttetRegistreringSom").or_insert(Value::from(role));
                }
            }
            write_unit(cx, node, element, ty, false).await?;
        }
        if n < PAGE as usize {
            return Ok(());
        }
    }
}

/// Writes a dokumentobjekt's file under `dokumenter/` and sets its reference, checksum and size.
async fn write_file<S: Source>(cx: &mut Cx<'_, S>, node: &mut Node) -> Result<(), ExportError> {
    let Some(bytes) = cx.source.file(&node.id).await.map_err(source_error)? else { return Ok(()) };
    let name = format!("{}.{}", safe_name(&node.id), extension(&node.body));
    std::fs::write(cx.out_dir.join("dokumenter").join(&name), &bytes)?;
    cx.summary.files += 1;
    cx.progress.files += 1;
    cx.progress.bytes += bytes.len() as u64;
    if let Value::Object(o) = &mut node.body {
        o.insert("referanseDokumentfil".into(), Value::from(format!("dokumenter/{name}")));
        o.insert("sjekksum".into(), Value::from(xml::sha256_hex(&bytes)));
        o.insert("sjekksumAlgoritme".into(), Value::from("SHA-256"));
        o.insert("filstoerrelse".into(), Value::from(bytes.len() as u64));
    }
    Ok(())
}

fn safe_name(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// The file extension: the `filnavn`'s, else from `mimeType` or the `format` code, else `bin`.
fn extension(body: &Value) -> String {
    let from_name = value(body, "filnavn").and_then(|f| {
        let ext = f.rsplit_once('.')?.1.to_ascii_lowercase();
        (!ext.is_empty() && ext.len() <= 8 && ext.chars().all(|c| c.is_ascii_alphanumeric())).then_some(ext)
    });
    if let Some(ext) = from_name {
        return ext;
    }
    let hint = [
        value(body, "mimeType"),
        value(body, "format"),
        body.get("format").and_then(|f| f.get("kode")).and_then(values::text),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
    .to_ascii_lowercase();
    for (needle, ext) in [
        ("pdf", "pdf"),
        ("fmt/95", "pdf"),
        ("fmt/354", "pdf"),
        ("fmt/476", "pdf"),
        ("fmt/477", "pdf"),
        ("fmt/478", "pdf"),
        ("xml", "xml"),
        ("tiff", "tif"),
        ("fmt/353", "tif"),
        ("jpeg", "jpg"),
        ("png", "png"),
        ("text/plain", "txt"),
        ("tekst", "txt"),
        ("opendocument", "odt"),
    ] {
        if hint.contains(needle) {
            return ext.to_string();
        }
    }
    "bin".to_string()
}

/// The value of a required element the object does not have (see the module's documentation).
fn fallback(name: &str, ty: &str, body: &Value, period: &Period, arkivskaper_name: &str) -> String {
    let end = format!("{}T23:59:59", period.to);
    let created = || value(body, "opprettetDato");
    let created_by = || value(body, "opprettetAv");
    let chosen = match name {
        "avsluttetDato" => Some(end.clone()),
        "avsluttetAv" => Some(arkivskaper_name.to_string()),
        "arkivertDato" | "saksdato" | "journaldato" | "tilknyttetDato" | "merknadsdato" | "graderingsdato"
        | "konvertertDato" | "presedensDato" => created(),
        "arkivertAv" | "tilknyttetAv" | "merknadRegistrertAv" | "gradertAv" | "konvertertAv" => created_by(),
        "mappeID" => match (value(body, "saksaar"), value(body, "sakssekvensnummer")) {
            (Some(year), Some(seq)) => Some(format!("{year}/{seq}")),
            _ => value(body, "systemID"),
        },
        "klasseID" | "arkivskaperID" => value(body, "systemID"),
        "arkivdelstatus" => Some("Aktiv periode".into()),
        "saksstatus" => Some("Under behandling".into()),
        "journalstatus" => Some("Journalført".into()),
        "dokumentstatus" => Some("Dokumentet er ferdigstilt".into()),
        "variantformat" => Some("Produksjonsformat".into()),
        "versjonsnummer" => Some("1".into()),
        "sjekksumAlgoritme" => Some("SHA-256".into()),
        _ => None,
    };
    chosen.unwrap_or_else(|| match base_of(ty) {
        Some(xml::Base::Integer) => "0".into(),
        Some(xml::Base::Date) => period.to.to_string(),
        Some(xml::Base::DateTime) => end,
        _ => "Ikke oppgitt".into(),
    })
}

/// Writes one element of a sequence (any number of occurrences) from an object's body and its
/// metadata children. Units are written elsewhere.
fn write_element<W: Write>(
    out: &mut Xml<W>,
    table: &'static [(&'static str, &'static [El])],
    el: &El,
    body: &Value,
    meta: &Meta,
    period: &Period,
    arkivskaper_name: &str,
) -> io::Result<()> {
    if el.ty == "anyType" {
        return Ok(());
    }
    if el.simple {
        let mut found = values(body, el.name);
        if el.name == "noekkelord" {
            for n in meta.get("noekkelord").into_iter().flatten() {
                found.extend(values(&n.body, "noekkelord"));
            }
        }
        if !el.many {
            found.truncate(1);
        }
        if found.is_empty() && el.required {
            found.push(fallback(el.name, el.ty, body, period, arkivskaper_name));
        }
        let base = base_of(el.ty);
        for v in found {
            out.leaf(el.name, &format(base, &v))?;
        }
        return Ok(());
    }
    // An embedded object (skjerming, gradering, kassasjon, …) or metadata children.
    if let Some(children) = meta.get(el.name) {
        for child in children {
            write_complex(out, table, el.name, el.ty, &child.body, period, arkivskaper_name)?;
            if !el.many {
                break;
            }
        }
        return Ok(());
    }
    match body.get(el.name) {
        Some(Value::Object(_)) => {
            let inner = body.get(el.name).unwrap_or(&Value::Null);
            write_complex(out, table, el.name, el.ty, inner, period, arkivskaper_name)
        }
        Some(Value::Array(items)) => {
            for item in items.iter().filter(|i| i.is_object()) {
                write_complex(out, table, el.name, el.ty, item, period, arkivskaper_name)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Writes a complexType element whose content is all in `body`.
fn write_complex<W: Write>(
    out: &mut Xml<W>,
    table: &'static [(&'static str, &'static [El])],
    element: &str,
    ty: &str,
    body: &Value,
    period: &Period,
    arkivskaper_name: &str,
) -> io::Result<()> {
    out.open(element, &[])?;
    let empty = Meta::new();
    for el in sequence(table, ty) {
        write_element(out, table, el, body, &empty, period, arkivskaper_name)?;
    }
    out.close(element)
}

/// The codes of a skjerming's `skjermingMetadata`, lower-cased `kode` and `kodenavn`.
fn screened_fields(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let list = body.get("skjerming").and_then(|s| s.get("skjermingMetadata"));
    let items: Vec<&Value> = match list {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v) => vec![v],
        None => Vec::new(),
    };
    for item in items {
        match item {
            Value::Object(o) => {
                for key in ["kode", "kodenavn"] {
                    if let Some(s) = o.get(key).and_then(|v| v.as_str()) {
                        out.push(s.to_lowercase());
                    }
                }
            }
            Value::String(s) => out.push(s.to_lowercase()),
            _ => {}
        }
    }
    out
}

/// A body flattened for the journals: the skjerming's and gradering's fields, and the first
/// avskrivning's, at the top; `skjermingMetadata` joined into one value.
fn flat(body: &Value, avskrivning: Option<&Value>) -> Value {
    let mut out = body.clone();
    let Value::Object(o) = &mut out else { return out };
    if let Some(Value::Object(s)) = body.get("skjerming") {
        for (k, v) in s {
            o.entry(k.clone()).or_insert(v.clone());
        }
        let joined = values(&Value::Object(s.clone()), "skjermingMetadata").join(", ");
        if !joined.is_empty() {
            o.insert("skjermingMetadata".into(), Value::from(joined));
        }
    }
    if let Some(grad) = body.get("gradering").and_then(|g| g.get("grad")) {
        o.insert("grad".into(), grad.clone());
    }
    if let Some(Value::Object(a)) = avskrivning {
        for (k, v) in a {
            o.entry(k.clone()).or_insert(v.clone());
        }
    }
    out
}

/// Writes a journalpost's entry into both journals.
fn write_journal_entries<S: Source>(cx: &mut Cx<'_, S>, node: &Node, meta: &Meta) -> io::Result<()> {
    cx.summary.journal_entries += 1;
    let klasse = cx.stack.iter().rev().find(|(e, _)| *e == "klasse").map(|(_, b)| flat(b, None));
    // A klasse that is screened, or of a classification by person (fødselsnummer, D-nummer),
    // names a person: it is left out of the offentlig journal (the XSD makes klasse optional).
    let system = cx.stack.iter().rev().find(|(e, _)| *e == "klassifikasjonssystem").map(|(_, b)| b);
    let by_person = system.is_some_and(|s| {
        let kind = [
            value(s, "klassifikasjonstype"),
            s.get("klassifikasjonstype").and_then(|k| k.get("kode")).and_then(values::text),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
        ["fødselsnummer", "foedselsnummer", "personnummer", "d-nummer", "gbn", "pnr"].iter().any(|k| kind.contains(k))
    });
    let public_klasse = klasse.as_ref().filter(|k| !by_person && k.get("skjerming").is_none());
    let saksmappe = cx.stack.iter().rev().find(|(e, _)| e.ends_with("mappe")).map(|(_, b)| b);
    let saksmappe = saksmappe.map(|b| flat(b, None)).unwrap_or(Value::Object(Default::default()));
    let avskrivning = meta.get("avskrivning").and_then(|a| a.first()).map(|n| &n.body);
    let jp = flat(&node.body, avskrivning);
    let parter: Vec<Value> =
        meta.get("korrespondansepart").into_iter().flatten().map(|n| flat(&n.body, None)).collect();
    let period = cx.period;
    let name = cx.arkivskaper_name;

    for public in [false, true] {
        let table = if public { OFFENTLIG_JOURNAL } else { LOEPENDE_JOURNAL };
        let out = if public { &mut cx.offentlig } else { &mut cx.loepende };
        out.open("journalregistrering", &[])?;
        if let Some(k) = if public { public_klasse } else { klasse.as_ref() } {
            journal_object(out, table, "klasse", k, &[], public, &period, name)?;
        }
        journal_object(out, table, "saksmappe", &saksmappe, &[], public, &period, name)?;
        journal_object(out, table, "journalpost", &jp, &parter, public, &period, name)?;
        out.close("journalregistrering")?;
    }
    Ok(())
}

/// One object of a journal entry. In the offentlig journal, `offentligTittel` falls back to the
/// `tittel` unless the title is screened, and a screened korrespondansepart's name is written
/// as "Skjermet" (the XSD requires the element).
#[allow(clippy::too_many_arguments)]
fn journal_object<W: Write>(
    out: &mut Xml<W>,
    table: &'static [(&'static str, &'static [El])],
    element: &str,
    body: &Value,
    parter: &[Value],
    public: bool,
    period: &Period,
    arkivskaper_name: &str,
) -> io::Result<()> {
    let screened = screened_fields(body);
    let title_screened = screened.iter().any(|s| s.contains("tittel"));
    let names_screened = screened.iter().any(|s| s.contains("korrespondansepart") || s.contains("navn"));
    let mut body = body.clone();
    if public && !title_screened && value(&body, "offentligTittel").is_none() {
        let title = value(&body, "tittel");
        if let (Value::Object(o), Some(t)) = (&mut body, title) {
            o.insert("offentligTittel".into(), Value::from(t));
        }
    }
    out.open(element, &[])?;
    let empty = Meta::new();
    for el in sequence(table, element) {
        if el.name == "korrespondansepart" {
            for part in parter {
                let mut part = part.clone();
                if public && (names_screened || !screened_fields(&part).is_empty()) {
                    let ty = part.get("korrespondanseparttype").cloned().unwrap_or(Value::Null);
                    if let Value::Object(o) = &mut part {
                        o.clear();
                        o.insert("korrespondanseparttype".into(), ty);
                        o.insert("korrespondansepartNavn".into(), Value::from("Skjermet"));
                    }
                }
                write_complex(out, table, "korrespondansepart", "korrespondansepart", &part, period, arkivskaper_name)?;
            }
            continue;
        }
        write_element(out, table, el, &body, &empty, period, arkivskaper_name)?;
    }
    out.close(element)
}

/// Writes a journal's final file: its head, then the entries written during the walk.
fn assemble_journal(
    out_dir: &Path,
    name: &str,
    part: &Path,
    period: &Period,
    entries: u64,
    arkivskapere: &[Value],
    arkivskaper_name: &str,
) -> Result<Written, ExportError> {
    let file = format!("{name}.xml");
    let table = if name == "offentligJournal" { OFFENTLIG_JOURNAL } else { LOEPENDE_JOURNAL };
    let mut x = Xml::new(HashingFile::create(&out_dir.join(&file))?);
    x.declaration()?;
    let ns = format!("{NS_BASE}{name}");
    let location = format!("{ns} {name}.xsd");
    x.open(name, &[("xmlns", &ns), ("xmlns:xsi", NS_XSI), ("xsi:schemaLocation", &location)])?;
    x.open("journalhode", &[])?;
    x.leaf("journalStartDato", &period.from.to_string())?;
    x.leaf("journalSluttDato", &period.to.to_string())?;
    x.leaf("antallJournalposter", &entries.to_string())?;
    let fallback = [serde_json::json!({"arkivskaperID": arkivskaper_name, "arkivskaperNavn": arkivskaper_name})];
    let list = if arkivskapere.is_empty() { &fallback[..] } else { arkivskapere };
    for a in list {
        write_complex(&mut x, table, "arkivskaper", "arkivskaper", a, period, arkivskaper_name)?;
    }
    x.close("journalhode")?;
    io::copy(&mut File::open(part)?, &mut x.out)?;
    x.close(name)?;
    let (sha256, size) = x.out.finish()?;
    Ok(Written { name: file, sha256, size })
}

/// Writes endringslogg.xml with the changes made in the period.
async fn write_endringslogg<S: Source>(
    source: &S,
    period: &Period,
    out_dir: &Path,
) -> Result<(Written, u64), ExportError> {
    let mut x = Xml::new(HashingFile::create(&out_dir.join("endringslogg.xml"))?);
    x.declaration()?;
    let ns = format!("{NS_BASE}endringslogg");
    let location = format!("{ns} endringslogg.xsd");
    x.open("endringslogg", &[("xmlns", &ns), ("xmlns:xsi", NS_XSI), ("xsi:schemaLocation", &location)])?;
    let els = sequence(ENDRINGSLOGG, "endring");
    let mut count = 0;
    let mut after = i64::MIN;
    loop {
        let page = source.changes(after, PAGE).await.map_err(source_error)?;
        let n = page.len();
        for change in page {
            after = after.max(change.position);
            if !date_of(&change.changed_at).is_some_and(|d| period.contains(d)) {
                continue;
            }
            count += 1;
            let body = serde_json::json!({
                "referanseArkivenhet": change.system_id,
                "referanseMetadata": change.field,
                "endretDato": change.changed_at,
                "endretAv": change.changed_by,
                // The XSD wants both values, non-empty: a value that did not exist is "(ingen)".
                "tidligereVerdi": change.old.filter(|v| !xml::clean(v).is_empty()).unwrap_or_else(|| "(ingen)".into()),
                "nyVerdi": change.new.filter(|v| !xml::clean(v).is_empty()).unwrap_or_else(|| "(ingen)".into()),
            });
            x.open("endring", &[])?;
            for el in els {
                write_element(&mut x, ENDRINGSLOGG, el, &body, &Meta::new(), period, "")?;
            }
            x.close("endring")?;
        }
        if n < PAGE as usize {
            break;
        }
    }
    x.close("endringslogg")?;
    let (sha256, size) = x.out.finish()?;
    Ok((Written { name: "endringslogg.xml".into(), sha256, size }, count))
}
