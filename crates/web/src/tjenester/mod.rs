//! The services: the public catalogue (`/tjenester`, `/tjenester/{id}`, the CPSV-AP-NO export
//! at `/tjenester.ttl`, the JSON under `/api/v1/tjenester`) and the application flow of a
//! logged-in resident (`/tjenester/{id}/soknad/...`): one question group per page, prefilled
//! facts shown with their source, a summary to check, and a receipt with the case number.
//!
//! Handlers ask `services` (the catalogue, forms, summaries) and `services::apply` (drafts,
//! prefill, submission); they hold no rules of their own beyond rendering.

pub(crate) mod api;
pub(crate) mod catalog;
pub(crate) mod flow;
pub(crate) mod form_view;

use axum::Router;

use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().merge(catalog::routes()).merge(flow::routes())
}

/// The catalogue the server loaded at start.
pub(crate) fn catalog(state: &AppState) -> &services::Catalog {
    state.applications.catalog()
}

/// The last segment of a LOS URI (`barnehage` of `https://psi.norge.no/los/tema/barnehage`).
pub(crate) fn los_slug(uri: &str) -> &str {
    uri.rsplit('/').next().unwrap_or(uri)
}

/// A LOS theme's name as shown: the slug with spaces, capitalised (`Skatt og avgift`).
pub(crate) fn los_label(uri: &str) -> String {
    let words = los_slug(uri).replace('-', " ");
    let mut chars = words.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Whether `uri` is a LOS theme (tema), not a word (ord).
pub(crate) fn is_theme(uri: &str) -> bool {
    uri.contains("/los/tema/")
}

#[cfg(test)]
mod tests {
    use services::ErrorCode;

    use super::*;

    /// Keys built at run time: every error code, kind of applicant, decision mode and outcome.
    #[test]
    fn keys_built_at_run_time_exist_in_every_language() {
        let i18n = crate::view::i18n::I18n::load().expect("translations");
        let codes = [
            ErrorCode::Required,
            ErrorCode::TooLong,
            ErrorCode::NotANumber,
            ErrorCode::NotADate,
            ErrorCode::NotInList,
            ErrorCode::TooSmall,
            ErrorCode::TooLarge,
            ErrorCode::UnknownField,
            ErrorCode::WrongPage,
            ErrorCode::NotShown,
            ErrorCode::Prefilled,
            ErrorCode::Duplicate,
            ErrorCode::BadEmail,
            ErrorCode::BadPhone,
            ErrorCode::BadOrgnr,
            ErrorCode::BadText,
            ErrorCode::TooMany,
            ErrorCode::AttachmentType,
            ErrorCode::AttachmentTooLarge,
            ErrorCode::AttachmentEmpty,
            ErrorCode::AttachmentInfected,
        ];
        let mut keys: Vec<String> = codes.iter().map(|code| form_view::error_key(*code)).collect();
        for applicant in [
            services::Applicant::Myself,
            services::Applicant::Child,
            services::Applicant::Ward,
            services::Applicant::Organisation,
        ] {
            keys.push(catalog::applicant_key(applicant).to_owned());
        }
        for outcome in ["innvilget", "delvis_innvilget", "avslag"] {
            keys.push(flow::outcome_key(outcome).to_owned());
        }
        for language in kernel::Language::ALL {
            for key in &keys {
                assert!(i18n.has_message(language, key), "{language} lacks {key}");
            }
        }
    }

    #[test]
    fn los_themes_read_as_words() {
        assert_eq!(los_label("https://psi.norge.no/los/tema/skatt-og-avgift"), "Skatt og avgift");
        assert!(is_theme("https://psi.norge.no/los/tema/barnehage"));
        assert!(!is_theme("https://psi.norge.no/los/ord/barnehageplass"));
    }
}
