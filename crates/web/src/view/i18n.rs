//! Translations with Project Fluent, compiled into the binary: `locales/<language>/<module>.ftl`,
//! one file per module of pages (`felles.ftl` for what every page shares). Every file of a
//! language goes into one bundle, so a key defined twice is an error at start. Tests check
//! that every message exists in all three languages and that every key a template or a
//! handler uses exists — over every file found, with no list to keep.

use std::collections::HashMap;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use include_dir::{Dir, include_dir};
use kernel::Language;

/// Every translation file, under its language's folder.
static LOCALES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/locales");

/// The Fluent sources of `language`: (path, text), in path order.
pub fn sources(language: Language) -> Vec<(&'static str, &'static str)> {
    let mut files: Vec<_> = LOCALES
        .get_dir(language.tag())
        .map(|dir| {
            dir.files()
                .filter(|f| f.path().extension().is_some_and(|e| e == "ftl"))
                .filter_map(|f| Some((f.path().to_str()?, f.contents_utf8()?)))
                .collect()
        })
        .unwrap_or_default();
    files.sort_unstable();
    files
}

/// Every translation, ready to format. Built once at start.
pub struct I18n {
    bundles: HashMap<Language, FluentBundle<FluentResource>>,
}

impl std::fmt::Debug for I18n {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("I18n").field("languages", &self.bundles.keys().collect::<Vec<_>>()).finish()
    }
}

/// A translation file failed to parse.
#[derive(Debug, thiserror::Error)]
#[error("translation file for {language} is malformed: {detail}")]
pub struct I18nError {
    language: Language,
    detail: String,
}

impl I18n {
    /// Parses the compiled-in translations.
    pub fn load() -> Result<Self, I18nError> {
        let mut bundles = HashMap::new();
        for language in Language::ALL {
            let tag = language.tag().parse().map_err(|e| I18nError { language, detail: format!("{e:?}") })?;
            let mut bundle = FluentBundle::new_concurrent(vec![tag]);
            // Unicode isolation marks would end up inside HTML attributes and titles.
            bundle.set_use_isolating(false);
            let files = sources(language);
            if files.is_empty() {
                return Err(I18nError { language, detail: "no translation files".to_owned() });
            }
            for (path, source) in files {
                let resource = FluentResource::try_new(source.to_owned())
                    .map_err(|(_, errors)| I18nError { language, detail: format!("{path}: {errors:?}") })?;
                bundle
                    .add_resource(resource)
                    .map_err(|errors| I18nError { language, detail: format!("{path}: {errors:?}") })?;
            }
            bundles.insert(language, bundle);
        }
        Ok(Self { bundles })
    }

    /// Whether `key` exists in `language`.
    pub fn has_message(&self, language: Language, key: &str) -> bool {
        self.bundles.get(&language).is_some_and(|b| b.has_message(key))
    }

    /// The message `key` in `language` with `args`. A missing key yields the key itself (and
    /// the completeness test makes sure none is missing).
    pub fn message(&self, language: Language, key: &str, args: &[(&str, String)]) -> String {
        let Some(bundle) = self.bundles.get(&language) else { return key.to_owned() };
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            tracing::warn!(i18n.key = key, i18n.language = %language, "missing translation");
            return key.to_owned();
        };
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, FluentValue::from(value.clone()));
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
        text.into_owned()
    }
}

/// The message ids of one Fluent source, for the completeness test.
pub fn message_ids(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|line| !line.starts_with([' ', '#', '\t', '.']) && line.contains(" ="))
        .filter_map(|line| line.split(" =").next())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use include_dir::{Dir, include_dir};

    use super::*;

    /// The crate's own source, to find the keys handlers pass to templates.
    static SRC: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/src");

    fn ids(language: Language) -> BTreeSet<String> {
        sources(language).into_iter().flat_map(|(_, s)| message_ids(s)).collect()
    }

    fn rust_sources() -> Vec<(&'static str, &'static str)> {
        fn walk(dir: &'static Dir<'static>, out: &mut Vec<(&'static str, &'static str)>) {
            for file in dir.files() {
                if let (Some(path), Some(text)) = (file.path().to_str(), file.contents_utf8()) {
                    out.push((path, text));
                }
            }
            for sub in dir.dirs() {
                walk(sub, out);
            }
        }
        let mut out = Vec::new();
        walk(&SRC, &mut out);
        out
    }

    #[test]
    fn every_key_exists_in_every_language_and_in_the_same_module() {
        let all: BTreeSet<String> = Language::ALL.iter().flat_map(|l| ids(*l)).collect();
        assert!(all.len() > 200, "expected the full set of messages, found {}", all.len());
        for language in Language::ALL {
            let have = ids(language);
            let missing: Vec<_> = all.difference(&have).collect();
            assert!(missing.is_empty(), "{language} lacks {missing:?}");
        }
        // Each module's file holds the same keys in every language.
        let files = |l: Language| -> Vec<(String, BTreeSet<String>)> {
            sources(l)
                .into_iter()
                .map(|(path, s)| {
                    (path.split('/').next_back().unwrap_or(path).to_owned(), message_ids(s).into_iter().collect())
                })
                .collect()
        };
        let nb = files(Language::Bokmal);
        assert!(nb.len() >= 5, "one file per module: {:?}", nb.iter().map(|(p, _)| p).collect::<Vec<_>>());
        for language in [Language::Nynorsk, Language::English] {
            assert_eq!(files(language), nb, "{language}'s files differ from bokmål's");
        }
    }

    #[test]
    fn every_file_parses_and_formats_arguments() {
        let i18n = I18n::load().expect("translations parse");
        let args = [("kommune", "Bergen".to_owned())];
        assert_eq!(i18n.message(Language::Bokmal, "front-title", &args), "Velkommen til Bergen kommune");
        assert_eq!(i18n.message(Language::Nynorsk, "front-title", &args), "Velkomen til Bergen kommune");
        assert_eq!(i18n.message(Language::English, "front-title", &args), "Welcome to Bergen municipality");
        assert!(!i18n.has_message(Language::English, "no-such-key"));
    }

    #[test]
    fn every_key_used_by_a_template_exists() {
        let i18n = I18n::load().expect("translations parse");
        let nb = ids(Language::Bokmal);
        let templates = crate::view::templates::sources();
        assert!(templates.len() >= 13, "found {} templates", templates.len());
        let mut used = 0;
        for (name, source) in templates {
            for piece in source.split("t(\"").skip(1) {
                let key = piece.split('"').next().unwrap_or_default();
                // `t("role-" ~ code)` builds its key at run time; keys_built_at_run_time_exist
                // checks those.
                if piece[key.len()..].trim_start_matches('"').trim_start().starts_with('~') {
                    continue;
                }
                used += 1;
                assert!(nb.contains(key), "template {name} uses unknown key {key:?}");
                assert_ne!(i18n.message(Language::English, key, &[]), "", "{key} is empty");
            }
        }
        assert!(used > 20, "templates should use translations, found {used}");
    }

    #[test]
    fn keys_built_at_run_time_exist() {
        let nb = ids(Language::Bokmal);
        let fnr = kernel::Fnr::parse("14839221100").expect("fnr");
        let orgnr = kernel::OrgNr::parse("974760673").expect("orgnr");
        let mut keys: Vec<String> = identity::policy::Role::ALL.iter().map(|r| format!("role-{}", r.code())).collect();
        for acting in [
            identity::ActingAs::Myself,
            identity::ActingAs::Child(fnr),
            identity::ActingAs::Ward(fnr),
            identity::ActingAs::Organisation(orgnr, registers::model::OrganisationRole::DagligLeder),
            identity::ActingAs::Fullmakt { id: String::new(), giver: fnr },
        ] {
            keys.push(format!("acting-kind-{}", acting.kind()));
        }
        keys.extend(crate::minside::EXPLAINED_ACTIONS.iter().filter_map(|a| crate::minside::action_key(a)));
        keys.extend(
            ["log-by-you", "log-by-person", "log-by-employee", "log-by-client", "log-by-system"].map(str::to_owned),
        );
        for kind in ["fullmakt-granted-by-you", "fullmakt-granted-to-you", "fullmakt-revoked"] {
            keys.push(format!("notice-{kind}"));
        }
        // Error keys handlers pass to templates as strings, in every source file.
        let sources = rust_sources();
        assert!(sources.len() > 20, "found {} source files", sources.len());
        for (path, source) in sources {
            if path.ends_with("i18n.rs") {
                continue;
            }
            for piece in source.split('"').filter(|p| p.contains("-error-") && !p.contains(' ')) {
                keys.push(piece.to_owned());
            }
        }
        assert!(keys.len() > 25, "found only {} keys", keys.len());
        for key in keys {
            assert!(nb.contains(&key), "no translation for {key:?}");
        }
    }
}
