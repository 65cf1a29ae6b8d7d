//! Translations with Project Fluent: one `.ftl` file per language, compiled into the binary.
//! A test checks that every message exists in all three languages and that every key a
//! template uses exists.

use std::collections::HashMap;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use kernel::Language;

/// The Fluent sources, by language.
pub const SOURCES: [(Language, &str); 3] = [
    (Language::Bokmal, include_str!("../locales/nb.ftl")),
    (Language::Nynorsk, include_str!("../locales/nn.ftl")),
    (Language::English, include_str!("../locales/en.ftl")),
];

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
        for (language, source) in SOURCES {
            let resource = FluentResource::try_new(source.to_owned())
                .map_err(|(_, errors)| I18nError { language, detail: format!("{errors:?}") })?;
            let tag = language.tag().parse().map_err(|e| I18nError { language, detail: format!("{e:?}") })?;
            let mut bundle = FluentBundle::new_concurrent(vec![tag]);
            // Unicode isolation marks would end up inside HTML attributes and titles.
            bundle.set_use_isolating(false);
            bundle.add_resource(resource).map_err(|errors| I18nError { language, detail: format!("{errors:?}") })?;
            bundles.insert(language, bundle);
        }
        Ok(Self { bundles })
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

    use super::*;

    #[test]
    fn every_key_exists_in_every_language() {
        let sets: Vec<(Language, BTreeSet<String>)> =
            SOURCES.iter().map(|(l, s)| (*l, message_ids(s).into_iter().collect())).collect();
        let all: BTreeSet<String> = sets.iter().flat_map(|(_, s)| s.iter().cloned()).collect();
        assert!(all.len() > 40, "expected the full set of messages, found {}", all.len());
        for (language, keys) in &sets {
            let missing: Vec<_> = all.difference(keys).collect();
            assert!(missing.is_empty(), "{language} lacks {missing:?}");
        }
    }

    #[test]
    fn every_file_parses_and_formats_arguments() {
        let i18n = I18n::load().expect("translations parse");
        let args = [("kommune", "Bergen".to_owned())];
        assert_eq!(i18n.message(Language::Bokmal, "front-title", &args), "Velkommen til Bergen kommune");
        assert_eq!(i18n.message(Language::Nynorsk, "front-title", &args), "Velkomen til Bergen kommune");
        assert_eq!(i18n.message(Language::English, "front-title", &args), "Welcome to Bergen municipality");
    }

    #[test]
    fn every_key_used_by_a_template_exists() {
        let i18n = I18n::load().expect("translations parse");
        let nb: BTreeSet<String> = message_ids(SOURCES[0].1).into_iter().collect();
        let mut used = 0;
        for (name, source) in crate::templates::TEMPLATES {
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
        let nb: BTreeSet<String> = message_ids(SOURCES[0].1).into_iter().collect();
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
        // Error keys handlers pass to templates as strings.
        for source in [include_str!("minside.rs"), include_str!("staff.rs"), include_str!("test_idp.rs")] {
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
