//! Letter templates: one TOML file per kind, holding the declared fields and, per language, the
//! fixed texts with `{field}` placeholders.
//!
//! ```toml
//! [[fields]]
//! name = "tjeneste"
//! required = true
//!
//! [[nb.body]]            # sections before the letter's own paragraphs
//! heading = "Vedtak om {tjeneste}"
//! text = "..."
//!
//! [[nb.closing]]         # sections after them (the appeal rights of a vedtak)
//! text = "..."
//! ```
//!
//! A section's text is split into paragraphs at blank lines; line breaks inside a paragraph are
//! just wrapping in the file and become spaces. `{{` and `}}` write a literal brace. A paragraph
//! that uses an optional field the letter leaves out is dropped, and so is a section whose heading
//! does or that has no paragraph left.

use std::collections::{BTreeMap, BTreeSet};

use kernel::Language;
use serde::Deserialize;

use crate::{LetterKind, RenderError};

/// A declared field of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: String,
    pub required: bool,
}

/// One letter kind's template, checked: every placeholder is a declared field, and every declared
/// field is used in every language.
#[derive(Debug, Clone)]
pub struct Template {
    pub kind: LetterKind,
    /// The file it was loaded from, for error messages.
    pub file: String,
    pub fields: Vec<FieldSpec>,
    texts: [LanguageTexts; 3],
}

#[derive(Debug, Clone, Default)]
struct LanguageTexts {
    body: Vec<SectionText>,
    closing: Vec<SectionText>,
}

#[derive(Debug, Clone)]
struct SectionText {
    heading: Option<Text>,
    paragraphs: Vec<Text>,
}

/// A text split into literal runs and placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Text(Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Field(String),
}

/// A block of a letter's body as the layout receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Block {
    Heading(String),
    Paragraph(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    #[serde(default)]
    fields: Vec<FieldFile>,
    nb: LanguageFile,
    nn: LanguageFile,
    en: LanguageFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldFile {
    name: String,
    required: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LanguageFile {
    #[serde(default)]
    body: Vec<SectionFile>,
    #[serde(default)]
    closing: Vec<SectionFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SectionFile {
    heading: Option<String>,
    text: String,
}

impl Template {
    /// Parses and checks one template file. The kind comes from the file name (`vedtak.toml`).
    pub fn parse(file: &str, source: &str) -> Result<Template, RenderError> {
        let kind = file.strip_suffix(".toml").and_then(|stem| stem.parse::<LetterKind>().ok()).ok_or_else(|| {
            RenderError::template(
                file,
                None,
                "the file name must be a letter kind and .toml (vedtak.toml, kvittering.toml, \
                     informasjon.toml, paaminnelse.toml, fritt.toml)",
            )
        })?;
        let parsed: TemplateFile = toml::from_str(source).map_err(|error| {
            let at = error.span().map(|span| format!("line {}: ", line_of(source, span.start))).unwrap_or_default();
            RenderError::template(file, None, format!("{at}{}", error.message().trim()))
        })?;

        let mut fields = Vec::with_capacity(parsed.fields.len());
        let mut names = BTreeSet::new();
        for field in parsed.fields {
            let valid = field.name.starts_with(|c: char| c.is_ascii_lowercase())
                && field.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(RenderError::template(
                    file,
                    Some(&field.name),
                    "a field name is lower-case ASCII letters, digits and _",
                ));
            }
            if !names.insert(field.name.clone()) {
                return Err(RenderError::template(file, Some(&field.name), "the field is declared twice"));
            }
            fields.push(FieldSpec { name: field.name, required: field.required });
        }

        let mut texts: [LanguageTexts; 3] = Default::default();
        for (language, language_file) in
            [(Language::Bokmal, parsed.nb), (Language::Nynorsk, parsed.nn), (Language::English, parsed.en)]
        {
            let tag = language.tag();
            let mut used = BTreeSet::new();
            let mut sections = |list: Vec<SectionFile>| -> Result<Vec<SectionText>, RenderError> {
                list.into_iter()
                    .map(|section| {
                        let heading = section
                            .heading
                            .map(|heading| Text::parse(&collapse_whitespace(&heading)))
                            .transpose()
                            .map_err(|message| RenderError::template(file, None, format!("{tag}: {message}")))?;
                        let paragraphs = split_paragraphs(&section.text)
                            .map(|paragraph| Text::parse(&collapse_whitespace(paragraph)))
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(|message| RenderError::template(file, None, format!("{tag}: {message}")))?;
                        for text in heading.iter().chain(&paragraphs) {
                            for name in text.fields() {
                                if !names.contains(name) {
                                    return Err(RenderError::template(
                                        file,
                                        Some(name),
                                        format!("{tag}: the placeholder {{{name}}} is not a declared field"),
                                    ));
                                }
                                used.insert(name.to_owned());
                            }
                        }
                        Ok(SectionText { heading, paragraphs })
                    })
                    .collect()
            };
            let body = sections(language_file.body)?;
            let closing = sections(language_file.closing)?;
            if let Some(unused) = names.difference(&used).next() {
                return Err(RenderError::template(
                    file,
                    Some(unused),
                    format!("{tag}: the field is declared but the text never uses it"),
                ));
            }
            texts[language_index(language)] = LanguageTexts { body, closing };
        }

        Ok(Template { kind, file: file.to_owned(), fields, texts })
    }

    /// The declared field of that name.
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// Checks the given values against the declared fields: none unknown, every required one
    /// there and not blank.
    pub fn check(&self, values: &BTreeMap<String, String>) -> Result<(), RenderError> {
        if let Some(unknown) = values.keys().find(|name| self.field(name).is_none()) {
            return Err(RenderError::UnknownField { kind: self.kind, field: unknown.clone() });
        }
        if let Some(missing) = self
            .fields
            .iter()
            .find(|field| field.required && values.get(&field.name).is_none_or(|value| value.trim().is_empty()))
        {
            return Err(RenderError::MissingField { kind: self.kind, field: missing.name.clone() });
        }
        Ok(())
    }

    /// The body and closing blocks in a language, with the values filled in. Call
    /// [`Template::check`] first.
    pub(crate) fn blocks(&self, language: Language, values: &BTreeMap<String, String>) -> (Vec<Block>, Vec<Block>) {
        let texts = &self.texts[language_index(language)];
        let expand = |sections: &[SectionText]| {
            let mut blocks = Vec::new();
            for section in sections {
                let heading = match &section.heading {
                    Some(heading) => match heading.fill(values) {
                        Some(heading) => Some(heading),
                        None => continue,
                    },
                    None => None,
                };
                let paragraphs: Vec<String> = section
                    .paragraphs
                    .iter()
                    .filter_map(|paragraph| paragraph.fill(values))
                    .flat_map(|paragraph| split_paragraphs(&paragraph).map(str::to_owned).collect::<Vec<_>>())
                    .collect();
                if paragraphs.is_empty() {
                    continue;
                }
                blocks.extend(heading.map(Block::Heading));
                blocks.extend(paragraphs.into_iter().map(Block::Paragraph));
            }
            blocks
        };
        (expand(&texts.body), expand(&texts.closing))
    }
}

impl Text {
    fn parse(source: &str) -> Result<Text, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(format!("a placeholder {{{name} is not closed")),
                        }
                    }
                    if name.is_empty() || name.contains(['{', ' ', '\n']) {
                        return Err(format!("{{{name}}} is not a placeholder"));
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Field(name));
                }
                '}' => return Err("a lone } (write }} for a brace)".to_owned()),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(Text(pieces))
    }

    fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|piece| match piece {
            Piece::Field(name) => Some(name.as_str()),
            Piece::Literal(_) => None,
        })
    }

    /// The text with the values in, or `None` if a field it uses has no (or a blank) value.
    fn fill(&self, values: &BTreeMap<String, String>) -> Option<String> {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Literal(literal) => out.push_str(literal),
                Piece::Field(name) => {
                    let value = values.get(name).filter(|value| !value.trim().is_empty())?;
                    out.push_str(value.trim());
                }
            }
        }
        Some(out)
    }
}

fn language_index(language: Language) -> usize {
    match language {
        Language::Bokmal => 0,
        Language::Nynorsk => 1,
        Language::English => 2,
    }
}

/// Paragraphs are separated by a line with nothing but whitespace on it.
pub(crate) fn split_paragraphs(text: &str) -> impl Iterator<Item = &str> {
    let mut paragraphs = Vec::new();
    let mut start = None;
    let mut end = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        if content.trim().is_empty() {
            if let Some(begin) = start.take() {
                paragraphs.push(&text[begin..end]);
            }
        } else {
            start.get_or_insert(offset);
            end = offset + content.len();
        }
        offset += line.len();
    }
    if let Some(begin) = start {
        paragraphs.push(&text[begin..end]);
    }
    paragraphs.into_iter()
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn line_of(source: &str, byte: usize) -> usize {
    source.get(..byte).map_or(0, |before| before.matches('\n').count()) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[[fields]]
name = "tjeneste"
required = true

[[fields]]
name = "merknad"
required = false

[[nb.body]]
heading = "Vedtak om {tjeneste}"
text = """
Første avsnitt om {tjeneste},
over to linjer.

Merknad: {merknad}
"""
[[nn.body]]
text = "{tjeneste} {merknad}"
[[en.body]]
text = "{tjeneste} {merknad} {{literal}}"
"#;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    fn template_error(file: &str, source: &str) -> (String, Option<String>, String) {
        match Template::parse(file, source) {
            Err(RenderError::Template { file, field, message }) => (file, field, message),
            other => panic!("expected a template error, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_template_fills_in_and_drops_paragraphs_without_their_optional_field() {
        let Ok(template) = Template::parse("vedtak.toml", MINIMAL) else {
            panic!("the template is valid");
        };
        assert_eq!(template.kind, LetterKind::Vedtak);
        assert_eq!(
            template.fields,
            vec![
                FieldSpec { name: "tjeneste".into(), required: true },
                FieldSpec { name: "merknad".into(), required: false },
            ]
        );
        let (body, closing) = template.blocks(Language::Bokmal, &values(&[("tjeneste", "barnehageplass")]));
        assert_eq!(
            body,
            vec![
                Block::Heading("Vedtak om barnehageplass".into()),
                Block::Paragraph("Første avsnitt om barnehageplass, over to linjer.".into()),
            ]
        );
        assert!(closing.is_empty());
        let (body, _) = template.blocks(Language::English, &values(&[("tjeneste", "a"), ("merknad", "b")]));
        assert_eq!(body, vec![Block::Paragraph("a b {literal}".into())]);
    }

    #[test]
    fn a_value_with_blank_lines_becomes_several_paragraphs() {
        let Ok(template) = Template::parse("vedtak.toml", MINIMAL) else {
            panic!("the template is valid");
        };
        let (body, _) =
            template.blocks(Language::Nynorsk, &values(&[("tjeneste", "ein\n\nto\nlinje"), ("merknad", "x")]));
        assert_eq!(body, vec![Block::Paragraph("ein".into()), Block::Paragraph("to\nlinje x".into())]);
    }

    #[test]
    fn an_undeclared_placeholder_names_the_file_and_the_field() {
        let source = MINIMAL.replace("Merknad: {merknad}", "Merknad: {merknad} {frist}");
        let (file, field, message) = template_error("vedtak.toml", &source);
        assert_eq!(file, "vedtak.toml");
        assert_eq!(field.as_deref(), Some("frist"));
        assert!(message.contains("nb"), "{message}");
    }

    #[test]
    fn a_declared_field_that_a_language_never_uses_is_an_error() {
        let source = MINIMAL.replace(r#"text = "{tjeneste} {merknad}""#, r#"text = "{tjeneste}""#);
        let (_, field, message) = template_error("vedtak.toml", &source);
        assert_eq!(field.as_deref(), Some("merknad"));
        assert!(message.starts_with("nn"), "{message}");
    }

    #[test]
    fn malformed_toml_names_the_file_and_the_line() {
        let (file, field, message) = template_error("kvittering.toml", "[[fields]]\nname = \"a\"\nrequired = yes\n");
        assert_eq!(file, "kvittering.toml");
        assert_eq!(field, None);
        assert!(message.contains("line 3"), "{message}");
    }

    #[test]
    fn a_missing_language_is_an_error() {
        let source = "[nb]\n[nn]\n";
        let (_, _, message) = template_error("fritt.toml", source);
        assert!(message.contains("en"), "{message}");
    }

    #[test]
    fn a_file_name_that_is_no_kind_is_an_error() {
        let (file, _, _) = template_error("brev.toml", "[nb]\n[nn]\n[en]\n");
        assert_eq!(file, "brev.toml");
    }

    #[test]
    fn broken_placeholders_are_errors() {
        for broken in ["{tjeneste", "tjeneste}", "{}", "{a b}"] {
            let source =
                MINIMAL.replace(r#""{tjeneste} {merknad}""#, &format!("\"{broken} {{merknad}} {{tjeneste}}\""));
            let (file, _, _) = template_error("vedtak.toml", &source);
            assert_eq!(file, "vedtak.toml", "{broken}");
        }
    }

    #[test]
    fn values_are_checked_against_the_declared_fields() {
        let Ok(template) = Template::parse("vedtak.toml", MINIMAL) else {
            panic!("the template is valid");
        };
        assert!(template.check(&values(&[("tjeneste", "x")])).is_ok());
        assert!(matches!(
            template.check(&values(&[("tjeneste", "x"), ("frist", "y")])),
            Err(RenderError::UnknownField { field, .. }) if field == "frist"
        ));
        assert!(matches!(
            template.check(&values(&[("merknad", "x")])),
            Err(RenderError::MissingField { field, .. }) if field == "tjeneste"
        ));
        assert!(matches!(
            template.check(&values(&[("tjeneste", "  ")])),
            Err(RenderError::MissingField { field, .. }) if field == "tjeneste"
        ));
    }

    #[test]
    fn paragraphs_split_at_blank_lines_only() {
        let paragraphs: Vec<_> = split_paragraphs("a\nb\n\n  \nc\r\n\r\nd\n").collect();
        assert_eq!(paragraphs, vec!["a\nb", "c", "d"]);
        assert_eq!(split_paragraphs("").count(), 0);
        assert_eq!(split_paragraphs("\n\n").count(), 0);
    }
}
