//! The languages every page and letter is written in.

use std::fmt;
use std::str::FromStr;

/// A language the platform speaks. Bokmål is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub enum Language {
    /// Norwegian bokmål (`nb`).
    #[default]
    #[serde(rename = "nb")]
    Bokmal,
    /// Norwegian nynorsk (`nn`).
    #[serde(rename = "nn")]
    Nynorsk,
    /// English (`en`).
    #[serde(rename = "en")]
    English,
}

impl Language {
    /// Every language, in the order a language switch shows them.
    pub const ALL: [Language; 3] = [Language::Bokmal, Language::Nynorsk, Language::English];

    /// The BCP 47 tag (`nb`, `nn`, `en`), as used in `lang` attributes and ID-porten's
    /// `ui_locales`.
    pub fn tag(self) -> &'static str {
        match self {
            Language::Bokmal => "nb",
            Language::Nynorsk => "nn",
            Language::English => "en",
        }
    }

    /// The language's name in itself, as a language switch shows it.
    pub fn endonym(self) -> &'static str {
        match self {
            Language::Bokmal => "Bokmål",
            Language::Nynorsk => "Nynorsk",
            Language::English => "English",
        }
    }

    /// Picks the best supported language from an `Accept-Language` header, if any matches.
    /// `no` and `nb-NO` count as bokmål, `nn-NO` as nynorsk.
    pub fn from_accept_language(header: &str) -> Option<Language> {
        let mut best: Option<(f32, Language)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality =
                pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            let language = match primary {
                "nb" | "no" => Language::Bokmal,
                "nn" => Language::Nynorsk,
                "en" => Language::English,
                _ => continue,
            };
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, language));
            }
        }
        best.map(|(_, language)| language)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// The text was not one of `nb`, `nn` or `en`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?}: expected nb, nn or en")]
pub struct UnknownLanguage(pub String);

impl FromStr for Language {
    type Err = UnknownLanguage;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "nb" => Ok(Language::Bokmal),
            "nn" => Ok(Language::Nynorsk),
            "en" => Ok(Language::English),
            other => Err(UnknownLanguage(other.chars().take(16).collect())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_tags_and_nothing_else() {
        for language in Language::ALL {
            assert_eq!(language.tag().parse::<Language>(), Ok(language));
        }
        assert!("se".parse::<Language>().is_err());
        assert!("NB".parse::<Language>().is_err());
    }

    #[test]
    fn accept_language_prefers_highest_quality() {
        assert_eq!(Language::from_accept_language("en;q=0.5, nn-NO"), Some(Language::Nynorsk));
        assert_eq!(Language::from_accept_language("de, no;q=0.8"), Some(Language::Bokmal));
        assert_eq!(Language::from_accept_language("en-GB,en;q=0.9"), Some(Language::English));
        assert_eq!(Language::from_accept_language("de, fr"), None);
        assert_eq!(Language::from_accept_language("nn;q=0"), None);
    }
}
