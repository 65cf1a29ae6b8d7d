//! Renders letters and documents and reads the PDFs back with poppler-utils (`pdfinfo`,
//! `pdffonts`, `pdftotext`) and `qpdf`, as an archive or a reader would.
//!
//! A test that needs a tool that is not installed says so and passes; CI installs them
//! (`apt-get install poppler-utils qpdf`).

// A skipped test says why on its output.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Command;
use std::sync::LazyLock;

use kernel::Language;
use render::{
    CaseReference, Document, Letter, LetterKind, Municipality, Pdf, RecipientBlock, RenderError, Renderer, Section,
};
use time::macros::date;

static RENDERER: LazyLock<Renderer> = LazyLock::new(|| Renderer::new().expect("the built-in templates load"));

const TOOLS: [&str; 4] = ["pdfinfo", "pdffonts", "pdftotext", "qpdf"];

fn tools_missing() -> bool {
    for tool in TOOLS {
        if Command::new(tool).arg("-v").output().is_err() && Command::new(tool).arg("--version").output().is_err() {
            println!("skipped: {tool} is not installed (apt-get install poppler-utils qpdf)");
            return true;
        }
    }
    false
}

/// The PDF in a temporary file, for the tools; removed when dropped. (No tempfile crate: its
/// features would rebuild a good part of Typst's tree for the tests alone.)
struct PdfFile {
    path: std::path::PathBuf,
}

impl Drop for PdfFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl PdfFile {
    fn new(pdf: &Pdf) -> PdfFile {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let number = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("render-test-{}-{number}.pdf", std::process::id()));
        let mut file = std::fs::File::create(&path).expect("a temporary file");
        file.write_all(&pdf.bytes).expect("the PDF is written");
        PdfFile { path }
    }

    fn run(&self, tool: &str, args: &[&str]) -> (bool, Vec<u8>) {
        let output = Command::new(tool).args(args).arg(&self.path).output().expect("the tool runs");
        (output.status.success(), output.stdout)
    }

    fn stdout(&self, tool: &str, args: &[&str]) -> String {
        let (success, stdout) = self.run(tool, args);
        assert!(success, "{tool} {args:?} failed");
        String::from_utf8_lossy(&stdout).into_owned()
    }

    fn text(&self) -> String {
        let mut args = vec!["-layout"];
        args.push(self.path.to_str().expect("a UTF-8 path"));
        args.push("-");
        let output = Command::new("pdftotext").args(&args).output().expect("pdftotext runs");
        assert!(output.status.success(), "pdftotext failed");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn pages(&self) -> u32 {
        self.stdout("pdfinfo", &[])
            .lines()
            .find_map(|line| line.strip_prefix("Pages:"))
            .and_then(|count| count.trim().parse().ok())
            .expect("pdfinfo tells the page count")
    }

    /// Every byte of the file with every stream uncompressed and no object streams.
    fn uncompressed(&self) -> Vec<u8> {
        let output = Command::new("qpdf")
            .args(["--qdf", "--object-streams=disable"])
            .arg(&self.path)
            .arg("-")
            .output()
            .expect("qpdf runs");
        assert!(output.status.success(), "qpdf --qdf failed");
        output.stdout
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

fn municipality() -> Municipality {
    Municipality { name: "Fjordvik kommune".into(), coat_of_arms_svg: None }
}

fn fields(kind: LetterKind) -> BTreeMap<String, String> {
    let pairs: &[(&str, &str)] = match kind {
        LetterKind::Vedtak => &[
            ("tjeneste", "barnehageplass"),
            ("vedtak", "Du får plass i Solsikken barnehage fra 1. august 2027."),
            ("begrunnelse", "Barnet har rett til plass etter barnehageloven § 16."),
            ("hjemmel", "barnehageloven § 16"),
            ("klageinstans", "Statsforvalteren i Vestland"),
        ],
        LetterKind::Kvittering => &[
            ("innsending", "søknaden din om barnehageplass"),
            ("mottatt", "1. desember 2026"),
            ("saksbehandlingstid", "fire uker"),
        ],
        LetterKind::Informasjon => {
            &[("melding", "Solsikken barnehage holder stengt i romjulen."), ("kontakt", "servicetorget på 55 00 00 00")]
        }
        LetterKind::Paaminnelse => &[("gjelder", "legeerklæringen vi ba om"), ("frist", "15. januar 2027")],
        LetterKind::Fritt => &[],
    };
    pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

/// A value of the kind's fields that must show in the letter.
fn field_value(kind: LetterKind) -> &'static str {
    match kind {
        LetterKind::Vedtak => "Statsforvalteren i Vestland",
        LetterKind::Kvittering => "fire uker",
        LetterKind::Informasjon => "stengt i romjulen",
        LetterKind::Paaminnelse => "15. januar 2027",
        LetterKind::Fritt => "Hilsen fra rådhuset",
    }
}

fn letter(kind: LetterKind, language: Language) -> Letter {
    Letter {
        kind,
        language,
        municipality: municipality(),
        sender_unit: "Oppvekst og utdanning".into(),
        recipient: RecipientBlock {
            name: "Kari Nordmann".into(),
            address_lines: Some(vec!["Storgata 1".into(), "5003 Bergen".into()]),
        },
        date: date!(2026 - 12 - 03),
        case_ref: Some(CaseReference { mappe_id: "2026/17".into(), journalpostnummer: Some(3) }),
        title: format!("Brev om {}", kind.as_str()),
        fields: fields(kind),
        paragraphs: if kind == LetterKind::Fritt {
            vec!["Hilsen fra rådhuset.".into(), "Andre avsnitt.".into()]
        } else {
            Vec::new()
        },
    }
}

fn render(letter: &Letter) -> Pdf {
    match RENDERER.render_letter(letter) {
        Ok(pdf) => pdf,
        Err(error) => panic!("{} in {:?}: {error}", letter.kind, letter.language),
    }
}

/// Text as pdftotext gives it, with runs of spaces (from -layout) made single.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The checks every rendered PDF must pass: page count, embedded fonts, PDF/A-2a in the XMP,
/// and a structurally sound file.
fn assert_valid_pdf_a(pdf: &Pdf, file: &PdfFile) {
    assert_eq!(file.pages(), pdf.pages, "pdfinfo's page count");

    let fonts = file.stdout("pdffonts", &[]);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "the PDF uses fonts:\n{fonts}");
    for row in rows {
        // name, type and encoding may hold spaces; the last five columns never do:
        // emb sub uni object ID.
        let columns: Vec<&str> = row.split_whitespace().collect();
        let emb = columns.len().checked_sub(5).map(|index| columns[index]);
        assert_eq!(emb, Some("yes"), "a font not embedded: {row}");
    }

    let meta = file.stdout("pdfinfo", &["-meta"]);
    assert!(
        meta.contains("<pdfaid:part>2</pdfaid:part>") || meta.contains("pdfaid:part=\"2\""),
        "XMP identifies PDF/A-2:\n{meta}"
    );
    assert!(
        meta.contains("<pdfaid:conformance>A</pdfaid:conformance>") || meta.contains("pdfaid:conformance=\"A\""),
        "XMP identifies conformance level A:\n{meta}"
    );
    let tagged = file.stdout("pdfinfo", &[]);
    assert!(
        tagged.lines().any(|line| line.starts_with("Tagged:") && line.ends_with("yes")),
        "the PDF is tagged:\n{tagged}"
    );

    let (success, output) = file.run("qpdf", &["--check"]);
    assert!(success, "qpdf --check: {}", String::from_utf8_lossy(&output));
}

#[test]
fn every_kind_renders_in_every_language_as_pdf_a() {
    if tools_missing() {
        return;
    }
    for kind in LetterKind::ALL {
        for language in Language::ALL {
            let letter = letter(kind, language);
            let pdf = render(&letter);
            let file = PdfFile::new(&pdf);
            assert_valid_pdf_a(&pdf, &file);

            let text = words(&file.text());
            let (date, page) = match language {
                Language::Bokmal | Language::Nynorsk => ("3. desember 2026", "Side 1 av"),
                Language::English => ("3 December 2026", "Page 1 of"),
            };
            for expected in [
                letter.title.as_str(),
                "Kari Nordmann",
                "Storgata 1",
                "Fjordvik kommune",
                "Oppvekst og utdanning",
                page,
                "2026/17-3",
                date,
                field_value(kind),
            ] {
                assert!(text.contains(expected), "{kind} {language:?}: {expected:?} not in\n{text}");
            }
            let reference = match language {
                Language::English => "Our ref.: 2026/17-3",
                _ => "Vår ref.: 2026/17-3",
            };
            assert!(text.contains(reference), "{kind} {language:?}: {text}");
        }
    }
}

#[test]
fn a_vedtak_tells_the_appeal_rights_in_each_language() {
    if tools_missing() {
        return;
    }
    for (language, expected) in [
        (Language::Bokmal, ["Vedtak om barnehageplass", "tre uker", "Klagen sendes til oss", "§ 18"]),
        (Language::Nynorsk, ["Vedtak om barnehageplass", "tre veker", "Klaga sender du til oss", "§ 18"]),
        (Language::English, ["Decision on barnehageplass", "three weeks", "Send your appeal to us", "section 18"]),
    ] {
        let pdf = render(&letter(LetterKind::Vedtak, language));
        let text = words(&PdfFile::new(&pdf).text());
        for expected in expected {
            assert!(text.contains(expected), "{language:?}: {expected:?} not in\n{text}");
        }
    }
}

#[test]
fn a_withheld_address_reaches_neither_the_text_nor_the_bytes() {
    if tools_missing() {
        return;
    }
    let mut with_address = letter(LetterKind::Informasjon, Language::Bokmal);
    with_address.recipient.address_lines = Some(vec!["Hemmeligveien 7".into(), "9999 Skjult".into()]);
    let file = PdfFile::new(&render(&with_address));
    // The sibling: the same letter with the address does print it, so its absence below means
    // something.
    assert!(words(&file.text()).contains("Hemmeligveien 7"));

    let mut withheld = with_address.clone();
    withheld.recipient.address_lines = None;
    let pdf = render(&withheld);
    let file = PdfFile::new(&pdf);
    assert_valid_pdf_a(&pdf, &file);
    let text = words(&file.text());
    assert!(text.contains("Kari Nordmann"), "{text}");
    for secret in ["Hemmeligveien", "9999 Skjult"] {
        assert!(!text.contains(secret), "{secret} in the text");
        assert!(!contains(&pdf.bytes, secret), "{secret} in the raw bytes");
        assert!(!contains(&file.uncompressed(), secret), "{secret} in a stream");
    }
}

#[test]
fn a_long_letter_runs_onto_more_pages_each_numbered() {
    if tools_missing() {
        return;
    }
    let mut long = letter(LetterKind::Fritt, Language::Bokmal);
    long.paragraphs =
        (1..=40).map(|n| format!("Avsnitt {n}. {}", "Dette er en setning i et langt brev. ".repeat(8))).collect();
    let pdf = render(&long);
    assert!(pdf.pages >= 2, "{} pages", pdf.pages);
    let file = PdfFile::new(&pdf);
    assert_valid_pdf_a(&pdf, &file);
    let text = words(&file.text());
    let last = pdf.pages;
    for page in 1..=last {
        let footer = format!("Side {page} av {last}");
        assert!(text.contains(&footer), "{footer} not in the text");
    }
    assert!(text.contains("Avsnitt 40."));

    let mut english = long.clone();
    english.language = Language::English;
    let pdf = render(&english);
    let text = words(&PdfFile::new(&pdf).text());
    assert!(text.contains(&format!("Page 2 of {}", pdf.pages)), "{text}");
}

#[test]
fn an_unknown_or_missing_field_is_refused() {
    let mut unknown = letter(LetterKind::Vedtak, Language::Bokmal);
    unknown.fields.insert("frist".into(), "i morgen".into());
    match RENDERER.render_letter(&unknown) {
        Err(RenderError::UnknownField { kind, field }) => {
            assert_eq!((kind, field.as_str()), (LetterKind::Vedtak, "frist"));
        }
        other => panic!("expected UnknownField, got {other:?}"),
    }

    let mut missing = letter(LetterKind::Vedtak, Language::Bokmal);
    missing.fields.remove("begrunnelse");
    match RENDERER.render_letter(&missing) {
        Err(RenderError::MissingField { kind, field }) => {
            assert_eq!((kind, field.as_str()), (LetterKind::Vedtak, "begrunnelse"));
        }
        other => panic!("expected MissingField, got {other:?}"),
    }

    let mut optional_left_out = letter(LetterKind::Vedtak, Language::Bokmal);
    optional_left_out.fields.remove("hjemmel");
    assert!(RENDERER.render_letter(&optional_left_out).is_ok());
}

#[test]
fn a_template_with_an_undeclared_placeholder_is_refused_by_file_and_field() {
    let source = r#"
[[fields]]
name = "gjelder"
required = true

[[nb.body]]
text = "Vi minner om {gjelder} innen {frist}."
[[nn.body]]
text = "{gjelder}"
[[en.body]]
text = "{gjelder}"
"#;
    match Renderer::with_templates(&[("paaminnelse.toml", source)]) {
        Err(error @ RenderError::Template { .. }) => {
            let RenderError::Template { file, field, .. } = &error else { unreachable!() };
            assert_eq!(file, "paaminnelse.toml");
            assert_eq!(field.as_deref(), Some("frist"));
            let shown = error.to_string();
            assert!(shown.contains("paaminnelse.toml") && shown.contains("frist"), "{shown}");
        }
        other => panic!("expected a template error, got {other:?}"),
    }
}

#[test]
fn a_municipality_s_own_template_replaces_the_built_in_one() {
    let source = r#"
[[fields]]
name = "gjelder"
required = true

[[nb.body]]
text = "Eget påminnelsesbrev om {gjelder}."
[[nn.body]]
text = "Eige brev om {gjelder}."
[[en.body]]
text = "Our own reminder about {gjelder}."
"#;
    let renderer = Renderer::with_templates(&[("paaminnelse.toml", source)]).expect("the template is valid");
    let template = renderer.template(LetterKind::Paaminnelse);
    assert_eq!(template.fields.len(), 1);
    assert_eq!(renderer.template(LetterKind::Vedtak).file, "vedtak.toml");
    if tools_missing() {
        return;
    }
    let mut reminder = letter(LetterKind::Paaminnelse, Language::Bokmal);
    reminder.fields.remove("frist");
    let pdf = renderer.render_letter(&reminder).expect("it renders");
    let text = words(&PdfFile::new(&pdf).text());
    assert!(text.contains("Eget påminnelsesbrev om legeerklæringen vi ba om."), "{text}");
}

#[test]
fn caller_text_is_printed_literally_never_read_as_markup() {
    if tools_missing() {
        return;
    }
    let hostile = [
        r#"#panic("x")"#,
        "*bold*",
        "_emph_",
        "$x$",
        r"back\slash",
        "close]bracket",
        "= not a heading",
        "<label> @ref // not a comment",
        "#{ 1 + 1 } #let a = 1",
    ];
    let mut letter = letter(LetterKind::Fritt, Language::Bokmal);
    letter.title = r#"Tittel #panic("tittel") *fet*"#.into();
    letter.recipient.name = "Navn ] $y$".into();
    letter.paragraphs = hostile.iter().map(|text| (*text).to_owned()).collect();
    let pdf = render(&letter);
    let file = PdfFile::new(&pdf);
    assert_valid_pdf_a(&pdf, &file);
    let text = words(&file.text());
    for expected in hostile.iter().copied().chain([r#"Tittel #panic("tittel") *fet*"#, "Navn ] $y$"]) {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
}

#[test]
fn cyrillic_text_comes_back() {
    if tools_missing() {
        return;
    }
    let mut letter = letter(LetterKind::Fritt, Language::English);
    letter.recipient.name = "Оксана Коваленко".into();
    letter.paragraphs = vec!["Ми отримали вашу заяву. Дякуємо!".into()];
    let pdf = render(&letter);
    let file = PdfFile::new(&pdf);
    assert_valid_pdf_a(&pdf, &file);
    let text = words(&file.text());
    assert!(text.contains("Оксана Коваленко"), "{text}");
    assert!(text.contains("Ми отримали вашу заяву."), "{text}");
}

#[test]
fn odd_input_renders_without_a_panic() {
    let long_word = "x".repeat(10_000);
    let long_prose = "ord ".repeat(2_500);
    let odd = [
        String::new(),
        " ".into(),
        "\n\n\n".into(),
        long_word,
        long_prose,
        "Emoji 🙂👨‍👩‍👧 🇳🇴 ✅".into(),
        "RTL: مرحبا بالعالم שלום עולם \u{202E}reversed\u{202C}".into(),
        "Control: \u{0}\u{1}\u{7}\u{8}\u{1b}[31m\u{7f}\u{85}\u{2028}\u{2029}".into(),
        "Combining: e\u{301} a\u{30a} ø\u{338}".into(),
        "Surrogates and privates: \u{e000} \u{f8ff} \u{10ffff} \u{fffd} \u{fffe}".into(),
        "Han: 你好 日本語 한국어".into(),
    ];
    for text in &odd {
        let mut letter = letter(LetterKind::Fritt, Language::Nynorsk);
        letter.title = text.clone();
        letter.sender_unit = text.clone();
        letter.municipality.name = text.clone();
        letter.recipient.name = text.clone();
        letter.recipient.address_lines = Some(vec![text.clone(), String::new()]);
        letter.case_ref = Some(CaseReference { mappe_id: text.clone(), journalpostnummer: Some(i64::MIN) });
        letter.paragraphs = vec![text.clone(), String::new()];
        let pdf = RENDERER.render_letter(&letter).unwrap_or_else(|error| panic!("{:?}: {error}", text.get(..40)));
        if !tools_missing() {
            let file = PdfFile::new(&pdf);
            assert_valid_pdf_a(&pdf, &file);
        }
    }
}

#[test]
fn a_vedtak_with_a_required_field_of_odd_text_still_renders() {
    let mut letter = letter(LetterKind::Vedtak, Language::English);
    letter.fields.insert("vedtak".into(), "🙂\u{0}".repeat(5_000));
    assert!(RENDERER.render_letter(&letter).is_ok());
}

#[test]
fn a_coat_of_arms_is_drawn_and_a_broken_one_is_an_error_not_a_panic() {
    let arms = br##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 12"><path d="M0 0H10V6C10 9 5 12 5 12C5 12 0 9 0 6Z" fill="#c00"/></svg>"##;
    let mut letter = letter(LetterKind::Informasjon, Language::Bokmal);
    letter.municipality.coat_of_arms_svg = Some(arms.to_vec());
    let pdf = render(&letter);
    if !tools_missing() {
        assert_valid_pdf_a(&pdf, &PdfFile::new(&pdf));
    }

    letter.municipality.coat_of_arms_svg = Some(b"<svg not really".to_vec());
    assert!(matches!(RENDERER.render_letter(&letter), Err(RenderError::Typst(_))));
    letter.municipality.coat_of_arms_svg = Some(Vec::new());
    assert!(matches!(RENDERER.render_letter(&letter), Err(RenderError::Typst(_))));
}

#[test]
fn a_document_shows_its_sections_of_rows() {
    if tools_missing() {
        return;
    }
    let document = Document {
        language: Language::Nynorsk,
        municipality: municipality(),
        sender_unit: "Oppvekst og utdanning".into(),
        title: "Søknad om barnehageplass".into(),
        date: date!(2026 - 12 - 03),
        case_ref: Some(CaseReference { mappe_id: "2026/17".into(), journalpostnummer: None }),
        sections: vec![
            Section {
                heading: "Barnet".into(),
                rows: vec![("Namn".into(), "Ola Nordmann".into()), ("Fødd".into(), "1. mars 2024".into())],
            },
            Section {
                heading: "Ønske".into(),
                rows: vec![("Barnehage".into(), "Solsikken barnehage\nSubsidiært: Lia barnehage".into())],
            },
        ],
    };
    let pdf = RENDERER.render_document(&document).expect("it renders");
    let file = PdfFile::new(&pdf);
    assert_valid_pdf_a(&pdf, &file);
    let text = words(&file.text());
    for expected in [
        "Søknad om barnehageplass",
        "Barnet",
        "Namn",
        "Ola Nordmann",
        "Solsikken barnehage",
        "Subsidiært: Lia barnehage",
        "Vår ref.: 2026/17",
        "3. desember 2026",
        "Side 1 av 1",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
}

#[test]
fn the_renderer_is_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Renderer>();
    let letters: Vec<Letter> =
        Language::ALL.into_iter().map(|language| letter(LetterKind::Kvittering, language)).collect();
    std::thread::scope(|scope| {
        for letter in &letters {
            scope.spawn(move || render(letter));
        }
    });
}
