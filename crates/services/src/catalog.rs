//! The catalogue: every service definition, loaded and checked at start. The repository's
//! `services/` folder is compiled into the binary; a municipality adds its own definitions
//! from directories given at run time, and switches services off by id, with no rebuild.
//!
//! A definition with an error stops the load, and the error names the file, the line and
//! column, and the field: `services/tt-kort.toml:42:5: form.pages[1].fields[0].type: unknown
//! variant ...`. Shape errors come from the TOML parser and serde (with their spans); the
//! checks beyond the shape ([`Service::problems`]) name a field path, which is looked up in
//! the parsed document for its position.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use include_dir::{Dir, include_dir};
use kernel::Language;

use crate::definition::Service;

/// The repository's service definitions, compiled in.
static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../services");

/// One problem at one place in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file, as the source names it (`services/barnehageplass.toml`).
    pub file: String,
    /// The line, from 1 (0 when the problem has no place, e.g. an unreadable file).
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
    /// The field path, e.g. `form.pages[1].fields[0].type` (empty for the whole file).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// Why the catalogue did not load: every problem found, each with its place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DefinitionError {
    /// The problems, in file order.
    pub problems: Vec<Located>,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.problems.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

/// Where definitions come from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Whether to include the definitions compiled into the binary.
    pub embedded: bool,
    /// Further directories of `*.toml` definitions (a municipality's own).
    pub directories: Vec<PathBuf>,
    /// Further definitions as (file name, text), e.g. for tests.
    pub files: Vec<(String, String)>,
    /// Ids of services switched off.
    pub disabled: Vec<String>,
}

impl Sources {
    /// The compiled-in definitions only.
    pub fn embedded() -> Sources {
        Sources { embedded: true, ..Sources::default() }
    }
}

/// The loaded, checked service catalogue.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    services: Vec<Service>,
}

impl Catalog {
    /// Loads and checks every definition from `sources`. Any problem anywhere stops the load.
    pub fn load(sources: &Sources) -> Result<Catalog, DefinitionError> {
        let mut files: Vec<(String, String)> = Vec::new();
        let mut problems = Vec::new();
        if sources.embedded {
            let mut embedded: Vec<_> =
                EMBEDDED.files().filter(|file| file.path().extension().is_some_and(|ext| ext == "toml")).collect();
            embedded.sort_by_key(|file| file.path());
            for file in embedded {
                let name = format!("services/{}", file.path().display());
                match file.contents_utf8() {
                    Some(text) => files.push((name, text.to_owned())),
                    None => problems.push(whole_file(&name, "not UTF-8")),
                }
            }
        }
        for directory in &sources.directories {
            let entries = match std::fs::read_dir(directory) {
                Ok(entries) => entries,
                Err(error) => {
                    problems.push(whole_file(&directory.display().to_string(), &error.to_string()));
                    continue;
                }
            };
            let mut paths: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
                .collect();
            paths.sort();
            for path in paths {
                let name = path.display().to_string();
                match std::fs::read_to_string(&path) {
                    Ok(text) => files.push((name, text)),
                    Err(error) => problems.push(whole_file(&name, &error.to_string())),
                }
            }
        }
        files.extend(sources.files.iter().cloned());

        let mut services = Vec::new();
        let mut ids = BTreeSet::new();
        for (name, text) in &files {
            match parse(name, text) {
                Ok(service) => {
                    if !ids.insert(service.id.clone()) {
                        problems.push(locate(
                            name,
                            text,
                            "id",
                            &format!("the id {:?} is used by another file", service.id),
                        ));
                    }
                    if !sources.disabled.contains(&service.id) {
                        services.push(service);
                    }
                }
                Err(found) => problems.extend(found),
            }
        }
        for id in &sources.disabled {
            if !ids.contains(id) {
                problems.push(whole_file("settings", &format!("cannot disable {id:?}: no such service")));
            }
        }
        if problems.is_empty() { Ok(Catalog { services }) } else { Err(DefinitionError { problems }) }
    }

    /// Every service, in file order.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The service with this id.
    pub fn get(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|service| service.id == id)
    }

    /// The services whose name, description or criteria contain every word of `query`
    /// (case-insensitive), in `language`; all when the query is blank.
    pub fn search(&self, query: &str, language: Language) -> Vec<&Service> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        self.services
            .iter()
            .filter(|service| {
                let haystack = format!(
                    "{} {} {}",
                    service.name.get(language),
                    service.description.get(language),
                    service.criteria.get(language)
                )
                .to_lowercase();
                words.iter().all(|word| haystack.contains(word))
            })
            .collect()
    }

    /// The services under a LOS theme.
    pub fn by_theme(&self, los: &str) -> Vec<&Service> {
        self.services.iter().filter(|service| service.los.iter().any(|theme| theme == los)).collect()
    }
}

fn whole_file(file: &str, message: &str) -> Located {
    Located { file: file.to_owned(), line: 0, column: 0, field: String::new(), message: message.to_owned() }
}

/// Parses and checks one definition.
pub fn parse(file: &str, text: &str) -> Result<Service, Vec<Located>> {
    let deserializer = match toml::Deserializer::parse(text) {
        Ok(deserializer) => deserializer,
        Err(error) => return Err(vec![from_toml(file, text, String::new(), &error)]),
    };
    let service: Service = match serde_path_to_error::deserialize(deserializer) {
        Ok(service) => service,
        Err(error) => {
            let path = error.path().to_string();
            let path = if path == "." { String::new() } else { path };
            return Err(vec![from_toml(file, text, path, error.inner())]);
        }
    };
    let mut problems: Vec<Located> =
        service.problems().into_iter().map(|problem| locate(file, text, &problem.path, &problem.message)).collect();
    let stem = file.rsplit(['/', '\\']).next().and_then(|name| name.strip_suffix(".toml"));
    if stem != Some(service.id.as_str()) {
        problems.push(locate(file, text, "id", &format!("the id {:?} differs from the file's name", service.id)));
    }
    if problems.is_empty() { Ok(service) } else { Err(problems) }
}

fn from_toml(file: &str, text: &str, path: String, error: &toml::de::Error) -> Located {
    let message = error.message().trim().to_owned();
    match error.span() {
        Some(span) => {
            let (line, column) = line_column(text, span.start);
            Located { file: file.to_owned(), line, column, field: path, message }
        }
        None => locate(file, text, &path, &message),
    }
}

/// A problem at `path`, placed at the deepest part of the path the document has.
fn locate(file: &str, text: &str, path: &str, message: &str) -> Located {
    let offset = offset_of(text, path).unwrap_or(0);
    let (line, column) = line_column(text, offset);
    Located { file: file.to_owned(), line, column, field: path.to_owned(), message: message.to_owned() }
}

/// The byte offset of `path` (`form.pages[1].fields[0].type`) in the document: the key of the
/// last part found, or an array element's start.
fn offset_of(text: &str, path: &str) -> Option<usize> {
    let document = toml::de::DeTable::parse(text).ok()?;
    let mut offset = document.span().start;
    let mut table = Some(document.get_ref());
    let mut value: Option<&toml::de::DeValue<'_>> = None;
    for segment in segments(path) {
        match segment {
            Segment::Key(key) => {
                let current = table.or_else(|| value.and_then(|v| v.as_table()));
                let Some((found_key, found)) = current.and_then(|t| t.get_key_value(key)) else { break };
                offset = found_key.span().start;
                value = Some(found.get_ref());
                table = None;
            }
            Segment::Index(index) => {
                let Some(item) = value.and_then(|v| v.as_array()).and_then(|a| a.get(index)) else { break };
                offset = item.span().start;
                value = Some(item.get_ref());
                table = None;
            }
        }
    }
    Some(offset)
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|part| !part.is_empty()) {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(key, rest)| (key, rest));
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        while let Some((index, after)) = rest.split_once(']') {
            if let Ok(index) = index.parse() {
                out.push(Segment::Index(index));
            }
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    out
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |last| last.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_find_their_place_in_the_document() {
        let text = "id = \"x\"\n[form]\n[[form.pages]]\nid = \"a\"\n[[form.pages]]\nid = \"b\"\n  type = 3\n";
        let offset = offset_of(text, "form.pages[1].type").expect("offset");
        assert_eq!(line_column(text, offset), (7, 3));
        // A key that is not there: the deepest part that is.
        let offset = offset_of(text, "form.pages[1].missing").expect("offset");
        assert_eq!(line_column(text, offset).0, 5);
    }
}
