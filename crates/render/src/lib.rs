//! Letters and documents rendered to PDF/A, with Typst as a library.
//!
//! A pure piece: bytes in, PDF bytes out. No file system, network, database or async; the fonts
//! (Typst's own, from `typst-assets`), the layout (`templates/letter.typ`) and the letter
//! templates (`templates/*.toml`) are compiled in.
//!
//! Caller text is data, never Typst markup: [`Renderer`] writes it to an in-memory `data.json`
//! that the layout reads with `json(..)`, so `#panic("x")` or `*bold*` in a name prints as it is.
//! Characters that no embedded font can draw (emoji, scripts such as Arabic) are printed as `?`
//! and control characters are dropped: PDF/A forbids text drawn with a font's "missing glyph",
//! and a letter that fails to render is worse than one with a question mark.
//!
//! # PDF/A level
//!
//! Output is **PDF/A-2a**: archival (PDF/A-2, what Noark 5 arkivformat accepts) *and* tagged
//! with a logical structure and Unicode text ("a", accessible), which Typst 0.15 writes and
//! checks. Plain PDF/A-2b would drop the structure that screen readers need; PDF/A-3 only adds
//! embedded files, which letters do not carry.

#![forbid(unsafe_code)]

mod date;
mod error;
mod letter;
mod template;

use std::panic::{AssertUnwindSafe, catch_unwind};

use kernel::Language;
use serde::Serialize;
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::ecow::EcoVec;
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards};

pub use date::format_date;
pub use error::RenderError;
pub use letter::{
    CaseReference, Document, Letter, LetterKind, Municipality, Pdf, RecipientBlock, Section, UnknownLetterKind,
};
pub use template::{FieldSpec, Template};

use template::{Block, split_paragraphs};

/// The built-in templates, one per kind, in [`LetterKind::ALL`] order.
const BUILT_IN_TEMPLATES: [(&str, &str); 5] = [
    ("vedtak.toml", include_str!("../templates/vedtak.toml")),
    ("kvittering.toml", include_str!("../templates/kvittering.toml")),
    ("informasjon.toml", include_str!("../templates/informasjon.toml")),
    ("paaminnelse.toml", include_str!("../templates/paaminnelse.toml")),
    ("fritt.toml", include_str!("../templates/fritt.toml")),
];

const LAYOUT: &str = include_str!("../templates/letter.typ");
const NEUTRAL_SHIELD: &[u8] = include_bytes!("../templates/shield.svg");

/// Typesets letters and documents. Built once (it parses the fonts and templates) and shared:
/// it is `Send + Sync`, and a render call only lays out the one letter.
pub struct Renderer {
    templates: Vec<Template>,
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    /// Every character some embedded font draws, sorted.
    coverage: Vec<u32>,
    layout: Source,
    data_id: FileId,
    arms_id: FileId,
    standards: PdfStandards,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("templates", &self.templates.len())
            .field("fonts", &self.fonts.len())
            .finish_non_exhaustive()
    }
}

impl Renderer {
    /// A renderer with the built-in letter templates.
    pub fn new() -> Result<Renderer, RenderError> {
        Renderer::with_templates(&[])
    }

    /// A renderer whose templates are the built-in ones, each replaced by a given file of the
    /// same kind (`vedtak.toml` replaces the vedtak template), e.g. a municipality's own wording.
    /// Every file goes through the same checks; an error names the file and the field.
    pub fn with_templates(files: &[(&str, &str)]) -> Result<Renderer, RenderError> {
        let mut templates = BUILT_IN_TEMPLATES
            .iter()
            .map(|(file, source)| Template::parse(file, source))
            .collect::<Result<Vec<_>, _>>()?;
        for (file, source) in files {
            let template = Template::parse(file, source)?;
            let index = kind_index(template.kind);
            templates[index] = template;
        }

        let fonts: Vec<Font> = typst_assets::fonts().flat_map(|data| Font::iter(Bytes::new(data))).collect();
        let mut coverage: Vec<u32> = fonts.iter().flat_map(|font| font.info().coverage.iter()).collect();
        coverage.sort_unstable();
        coverage.dedup();

        let file_id = |path: &str| {
            VirtualPath::new(path)
                .map(|path| RootedPath::new(VirtualRoot::Project, path).intern())
                .map_err(|error| RenderError::Typst(format!("{path}: {error:?}")))
        };
        let layout = Source::new(file_id("letter.typ")?, LAYOUT.to_owned());
        let standards =
            PdfStandards::new(&[PdfStandard::A_2a]).map_err(|error| RenderError::Typst(format!("{error:?}")))?;

        Ok(Renderer {
            templates,
            library: LazyHash::new(Library::default()),
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
            coverage,
            layout,
            data_id: file_id("data.json")?,
            arms_id: file_id("arms.svg")?,
            standards,
        })
    }

    /// The template of a kind: its declared fields, so an API can check input before rendering.
    pub fn template(&self, kind: LetterKind) -> &Template {
        &self.templates[kind_index(kind)]
    }

    /// Renders a letter. Fails with [`RenderError::UnknownField`] or
    /// [`RenderError::MissingField`] if its fields do not fit its template.
    pub fn render_letter(&self, letter: &Letter) -> Result<Pdf, RenderError> {
        let template = self.template(letter.kind);
        template.check(&letter.fields)?;
        let (mut blocks, closing) = template.blocks(letter.language, &letter.fields);
        blocks.extend(
            letter
                .paragraphs
                .iter()
                .flat_map(|paragraph| split_paragraphs(paragraph))
                .map(|paragraph| Block::Paragraph(paragraph.to_owned())),
        );
        blocks.extend(closing);

        let recipient = RecipientData {
            name: self.line(&letter.recipient.name),
            // A withheld address never reaches the layout, so it cannot reach the PDF.
            lines: letter.recipient.address_lines.iter().flatten().map(|line| self.line(line)).collect(),
        };
        let blocks = blocks
            .into_iter()
            .map(|block| match block {
                Block::Heading(text) => BlockData::Heading { text: self.line(&text) },
                Block::Paragraph(text) => BlockData::Paragraph { text: self.text(&text) },
            })
            .collect();
        self.render(Page {
            language: letter.language,
            municipality: &letter.municipality,
            sender_unit: &letter.sender_unit,
            title: &letter.title,
            date: letter.date,
            case_ref: letter.case_ref.as_ref(),
            recipient: Some(recipient),
            blocks,
            signature: true,
        })
    }

    /// Renders a generic document (a submitted form): its title, and its sections as headed
    /// tables of (label, value) rows, under the letterhead and footer of a letter.
    pub fn render_document(&self, document: &Document) -> Result<Pdf, RenderError> {
        let blocks = document
            .sections
            .iter()
            .flat_map(|section| {
                [
                    BlockData::Heading { text: self.line(&section.heading) },
                    BlockData::Rows {
                        rows: section.rows.iter().map(|(label, value)| [self.text(label), self.text(value)]).collect(),
                    },
                ]
            })
            .collect();
        self.render(Page {
            language: document.language,
            municipality: &document.municipality,
            sender_unit: &document.sender_unit,
            title: &document.title,
            date: document.date,
            case_ref: document.case_ref.as_ref(),
            recipient: None,
            blocks,
            signature: false,
        })
    }

    fn render(&self, page: Page<'_>) -> Result<Pdf, RenderError> {
        let labels = Labels::of(page.language, &self.line(&page.municipality.name));
        let data = Data {
            lang: page.language.tag(),
            labels,
            municipality: self.line(&page.municipality.name),
            sender_unit: self.line(page.sender_unit),
            title: self.line(page.title),
            date: DateData {
                year: page.date.year(),
                month: u8::from(page.date.month()),
                day: page.date.day(),
                text: format_date(page.date, page.language),
            },
            case_ref: page.case_ref.map(|reference| self.line(&reference.to_string())),
            recipient: page.recipient,
            blocks: page.blocks,
            signature: page.signature,
        };
        let data = serde_json::to_vec(&data).map_err(|error| RenderError::Typst(format!("data.json: {error}")))?;
        let arms = match &page.municipality.coat_of_arms_svg {
            Some(svg) => Bytes::new(svg.clone()),
            None => Bytes::new(NEUTRAL_SHIELD),
        };
        let world = LetterWorld { renderer: self, data: Bytes::new(data), arms };

        // Typst is not expected to panic on any input, but a letter service must not die if it
        // does: a panic becomes an error for this one letter.
        let result = catch_unwind(AssertUnwindSafe(|| {
            let document = typst::compile::<PagedDocument>(&world).output.map_err(diagnostics)?;
            let options = PdfOptions {
                creator: Smart::Custom(Some("allmenning".to_owned())),
                standards: self.standards.clone(),
                tagged: true,
                ..PdfOptions::default()
            };
            let bytes = typst_pdf::pdf(&document, &options).map_err(diagnostics)?;
            let pages = u32::try_from(document.pages().len()).unwrap_or(u32::MAX);
            Ok(Pdf { bytes, pages })
        }))
        .unwrap_or_else(|_| Err(RenderError::Typst("the typesetter panicked".to_owned())));

        // Typst memoizes across compilations; results unused by the last few renders are
        // dropped, so a long-running server does not keep every letter's layout.
        typst::comemo::evict(10);
        result
    }

    /// Caller text for one line: line breaks become spaces.
    fn line(&self, text: &str) -> String {
        self.printable(&text.replace(['\n', '\r'], " "))
    }

    /// Caller text that may hold line breaks (a paragraph, a form value).
    fn text(&self, text: &str) -> String {
        self.printable(&text.replace("\r\n", "\n").replace('\r', "\n"))
    }

    /// Drops control and invisible format characters and replaces what no embedded font can
    /// draw with `?`, since PDF/A allows no text drawn with the "missing glyph".
    fn printable(&self, text: &str) -> String {
        text.chars()
            .filter_map(|c| {
                if c == '\n' {
                    Some('\n')
                } else if c == '\t' {
                    Some(' ')
                } else if c.is_control() || is_invisible_format(c) {
                    None
                } else if is_private_or_noncharacter(c) {
                    // PDF/A-2a requires every character to have a meaning in Unicode.
                    Some('?')
                } else if c.is_whitespace() || self.coverage.binary_search(&u32::from(c)).is_ok() {
                    Some(c)
                } else {
                    Some('?')
                }
            })
            .collect()
    }
}

/// Zero-width and bidirectional formatting characters, and variation selectors: no font draws
/// them, and they carry nothing a printed letter needs.
fn is_invisible_format(c: char) -> bool {
    matches!(u32::from(c),
        0x00AD | 0x061C | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F
        | 0xFE00..=0xFE0F | 0xFEFF | 0xE0000..=0xE0FFF)
}

/// Private-use code points and noncharacters: they have no Unicode meaning, which PDF/A-2a
/// forbids even where a font draws them.
fn is_private_or_noncharacter(c: char) -> bool {
    let c = u32::from(c);
    matches!(c, 0xE000..=0xF8FF | 0xF0000..=0x10FFFF | 0xFDD0..=0xFDEF) || c & 0xFFFE == 0xFFFE
}

fn kind_index(kind: LetterKind) -> usize {
    match kind {
        LetterKind::Vedtak => 0,
        LetterKind::Kvittering => 1,
        LetterKind::Informasjon => 2,
        LetterKind::Paaminnelse => 3,
        LetterKind::Fritt => 4,
    }
}

fn diagnostics(diagnostics: EcoVec<SourceDiagnostic>) -> RenderError {
    RenderError::Typst(diagnostics.iter().map(|diagnostic| diagnostic.message.as_str()).collect::<Vec<_>>().join("; "))
}

/// What a letter and a document share on their way to the layout.
struct Page<'a> {
    language: Language,
    municipality: &'a Municipality,
    sender_unit: &'a str,
    title: &'a str,
    date: time::Date,
    case_ref: Option<&'a CaseReference>,
    recipient: Option<RecipientData>,
    blocks: Vec<BlockData>,
    signature: bool,
}

/// `data.json`, as `letter.typ` reads it.
#[derive(Serialize)]
struct Data {
    lang: &'static str,
    labels: Labels,
    municipality: String,
    sender_unit: String,
    title: String,
    date: DateData,
    case_ref: Option<String>,
    recipient: Option<RecipientData>,
    blocks: Vec<BlockData>,
    signature: bool,
}

#[derive(Serialize)]
struct DateData {
    year: i32,
    month: u8,
    day: u8,
    text: String,
}

#[derive(Serialize)]
struct RecipientData {
    name: String,
    lines: Vec<String>,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum BlockData {
    Heading { text: String },
    Paragraph { text: String },
    Rows { rows: Vec<[String; 2]> },
}

/// The layout's fixed texts in the letter's language.
#[derive(Serialize)]
struct Labels {
    date: &'static str,
    our_ref: &'static str,
    page: &'static str,
    of: &'static str,
    greeting: &'static str,
    approved: &'static str,
    arms_alt: String,
}

impl Labels {
    fn of(language: Language, municipality: &str) -> Labels {
        match language {
            Language::Bokmal => Labels {
                date: "Dato",
                our_ref: "Vår ref.",
                page: "Side",
                of: "av",
                greeting: "Med vennlig hilsen",
                approved: "Dokumentet er elektronisk godkjent og har derfor ingen håndskrevet \
                           signatur.",
                arms_alt: format!("Kommunevåpenet til {municipality}"),
            },
            Language::Nynorsk => Labels {
                date: "Dato",
                our_ref: "Vår ref.",
                page: "Side",
                of: "av",
                greeting: "Med venleg helsing",
                approved: "Dokumentet er elektronisk godkjent og har difor inga handskriven \
                           underskrift.",
                arms_alt: format!("Kommunevåpenet til {municipality}"),
            },
            Language::English => Labels {
                date: "Date",
                our_ref: "Our ref.",
                page: "Page",
                of: "of",
                greeting: "Kind regards",
                approved: "This document has been approved electronically and so has no \
                           handwritten signature.",
                arms_alt: format!("Coat of arms of {municipality}"),
            },
        }
    }
}

/// The world of one render: the renderer's fonts and layout, and this letter's data and coat of
/// arms. Nothing else exists; every other path is "not found".
struct LetterWorld<'a> {
    renderer: &'a Renderer,
    data: Bytes,
    arms: Bytes,
}

impl World for LetterWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.renderer.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.renderer.book
    }

    fn main(&self) -> FileId {
        self.renderer.layout.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.renderer.layout.id() { Ok(self.renderer.layout.clone()) } else { Err(not_found(id)) }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.renderer.data_id {
            Ok(self.data.clone())
        } else if id == self.renderer.arms_id {
            Ok(self.arms.clone())
        } else if id == self.renderer.layout.id() {
            Ok(Bytes::from_string(self.renderer.layout.clone()))
        } else {
            Err(not_found(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.renderer.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        None
    }
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.vpath().get_without_slash().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_templates_load_one_per_kind() {
        let renderer = match Renderer::new() {
            Ok(renderer) => renderer,
            Err(error) => panic!("{error}"),
        };
        for kind in LetterKind::ALL {
            assert_eq!(renderer.template(kind).kind, kind);
        }
        assert!(
            renderer.template(LetterKind::Vedtak).fields.iter().any(|field| field.name == "tjeneste" && field.required)
        );
    }

    #[test]
    fn text_is_made_printable() {
        let Ok(renderer) = Renderer::new() else {
            panic!("the renderer builds");
        };
        assert_eq!(renderer.line("a\nb\u{0}c\u{200D}"), "a bc");
        assert_eq!(renderer.text("a\r\nb\tc"), "a\nb c");
        assert_eq!(renderer.line("Оксана"), "Оксана");
        assert_eq!(renderer.line("æøå ÆØÅ"), "æøå ÆØÅ");
        assert_eq!(renderer.line("🙂"), "?");
        assert_eq!(renderer.line("\u{e000}\u{fffe}\u{10ffff}"), "???");
    }
}
