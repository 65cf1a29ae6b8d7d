//! The inbox on Min side (`/min-side/post`): the letters the municipality put in the inbox of
//! the party the session acts for, a letter with its documents, and each document as a PDF.
//!
//! Whose inbox follows the rest of Min side: the session names the party, the registers and
//! fullmakter must back it today, and the policy decides whether the person may read that
//! party's letters (the service area `post`). A letter of anyone else is a 404, never a hint
//! that it exists. A letter that needs security level 4 is shown only to a session logged in
//! at that level; others are told why, and the letter is not marked as read.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use identity::callers::ResidentPurpose;
use identity::policy::{self, Action, Asker, Party, Resource};
use identity::{ActingAs, acting};
use kernel::Language;
use post::LetterRow;
use serde::Serialize;

use crate::AppState;
use crate::error::PageError;
use crate::extract::{Citizen, Visit};
use crate::login::resident_caller;
use crate::view::{self, Base};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/min-side/post", get(inbox))
        .route("/min-side/post/{id}", get(letter))
        .route("/min-side/post/{id}/dokument/{index}", get(document))
}

/// The levels of assurance that open a letter sent at security level 4: ID-porten's "high",
/// and its older name.
const LEVEL_FOUR: [&str; 2] = ["idporten-loa-high", "Level4"];

/// Whether a session logged in at `acr` may open a letter that needs `security_level`.
pub(crate) fn may_open(security_level: i64, acr: Option<&str>) -> bool {
    security_level < 4 || acr.is_some_and(|acr| LEVEL_FOUR.contains(&acr))
}

/// A moment (milliseconds since the epoch) as people in Norway read it: `03.12.2026 09:15`.
pub(crate) fn shown_time(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .map(kernel::time::in_norway)
        .and_then(|t| t.format(time::macros::format_description!("[day].[month].[year] [hour]:[minute]")).ok())
        .unwrap_or_default()
}

/// The `lang` attribute for text written in `text_language` on a page in `page`: `None` when
/// they agree (or the letter's language is unknown).
fn lang_if_other(text_language: &str, page: Language) -> Option<&'static str> {
    let language = text_language.parse::<Language>().ok()?;
    (language != page).then_some(language.tag())
}

/// Whose inbox the session may open: the recipient id (fødselsnummer or organisasjonsnummer)
/// of the party it acts for, or `None` when the person may not read that party's letters
/// (a fullmakt that does not cover them).
async fn whose_inbox(state: &AppState, citizen: &Citizen) -> Result<Option<String>, PageError> {
    let me = citizen.me;
    let claimed = &citizen.user.session.acting_as;
    let caller = resident_caller(&me, claimed, ResidentPurpose::ShowWhomYouCanActFor)?;
    let backed = acting::backed_by_relations(
        &state.identity.registers,
        &state.identity.fullmakter,
        &caller,
        &me,
        claimed,
        kernel::time::today_in_norway(),
    )
    .await?;
    let party = match claimed {
        ActingAs::Organisation(orgnr, _) => Party::Organisation(orgnr),
        other => Party::Person(other.person().unwrap_or(&me)),
    };
    let asker = Asker::Person { me: &me, acting_as: &backed, fullmakt_areas: &citizen.user.fullmakt_areas };
    if !policy::decide(&asker, Action::Read, &Resource::Affairs { party, area: "post" }).allowed() {
        return Ok(None);
    }
    Ok(Some(match party {
        Party::Person(fnr) => fnr.as_digits(),
        Party::Organisation(orgnr) => orgnr.as_digits(),
    }))
}

/// The letter `id` if it lies in the inbox the session may open; anything else is "not found".
async fn own_letter(state: &AppState, visit: &Visit, citizen: &Citizen, id: &str) -> Result<LetterRow, PageError> {
    let recipient = whose_inbox(state, citizen).await?.ok_or(PageError::NotFound)?;
    let letter = state.post.letter(visit.kommune, id).await.map_err(post_error)?.ok_or(PageError::NotFound)?;
    if letter.recipient_id != recipient || letter.inbox_at.is_none() {
        return Err(PageError::NotFound);
    }
    Ok(letter)
}

/// A post error as a page error: a missing letter or document is a 404, the rest a 500.
pub(crate) fn post_error(error: post::PostError) -> PageError {
    match error {
        post::PostError::NotFound => PageError::NotFound,
        post::PostError::Store(store) => store.into(),
        other => PageError::Internal(other.to_string()),
    }
}

#[derive(Serialize)]
struct LetterLine {
    id: String,
    title: String,
    title_lang: Option<&'static str>,
    sender_unit: String,
    date: String,
    read: bool,
    security_level: i64,
}

#[derive(Serialize)]
struct InboxPage {
    #[serde(flatten)]
    base: Base,
    /// The person may not read the letters of whom the session acts for.
    not_covered: bool,
    letters: Vec<LetterLine>,
}

async fn inbox(State(state): State<AppState>, visit: Visit, citizen: Citizen) -> Result<Html<String>, PageError> {
    let recipient = whose_inbox(&state, &citizen).await?;
    let letters = match &recipient {
        Some(recipient) => {
            state.post.inbox(visit.kommune, std::slice::from_ref(recipient)).await.map_err(post_error)?
        }
        None => vec![],
    };
    let letters = letters
        .into_iter()
        .map(|l| LetterLine {
            title_lang: lang_if_other(&l.language, visit.language),
            date: shown_time(l.inbox_at.unwrap_or(l.created_at)),
            read: l.read_at.is_some(),
            security_level: l.security_level,
            id: l.id,
            title: l.title,
            sender_unit: l.sender_unit,
        })
        .collect();
    view::page(
        &state,
        "minside/post.html",
        &InboxPage { base: Base::of(&state, &visit, "min-side"), not_covered: recipient.is_none(), letters },
    )
}

#[derive(Serialize)]
struct DocumentLine {
    index: usize,
    title: String,
    pages: u32,
    kilobytes: u64,
}

#[derive(Serialize)]
struct LetterPage {
    #[serde(flatten)]
    base: Base,
    id: String,
    title: String,
    title_lang: Option<&'static str>,
    sender_unit: String,
    date: String,
    registrerings_id: Option<String>,
    /// The letter needs level 4 and the session is not: nothing of it but the title is shown.
    needs_level_four: bool,
    documents: Vec<DocumentLine>,
}

async fn letter(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let letter = own_letter(&state, &visit, &citizen, &id).await?;
    let open = may_open(letter.security_level, citizen.user.session.acr.as_deref());
    if open {
        // The sender sees LEST from here on; only the first opening counts.
        state.post.mark_read(visit.kommune, &letter.id).await.map_err(post_error)?;
    }
    let documents = if open {
        letter
            .documents()
            .into_iter()
            .enumerate()
            .map(|(index, d)| DocumentLine { index, title: d.tittel, pages: d.pages, kilobytes: d.size.div_ceil(1024) })
            .collect()
    } else {
        vec![]
    };
    let page = LetterPage {
        base: Base::of(&state, &visit, "min-side"),
        title_lang: lang_if_other(&letter.language, visit.language),
        date: shown_time(letter.inbox_at.unwrap_or(letter.created_at)),
        registrerings_id: if open { letter.registrerings_id } else { None },
        needs_level_four: !open,
        documents,
        id: letter.id,
        title: letter.title,
        sender_unit: letter.sender_unit,
    };
    let html = view::page(&state, "minside/post_brev.html", &page)?;
    let status = if open { StatusCode::OK } else { StatusCode::FORBIDDEN };
    Ok((status, html).into_response())
}

/// A file name safe in a header: ASCII letters, digits, `-` and `_`, then `.pdf`.
pub(crate) fn pdf_file_name(title: &str) -> String {
    let cleaned: String = title
        .chars()
        .map(|c| match c {
            'æ' | 'Æ' => 'e',
            'ø' | 'Ø' => 'o',
            'å' | 'Å' => 'a',
            c if c.is_ascii_alphanumeric() || c == '-' => c,
            _ => '_',
        })
        .collect();
    let cleaned = cleaned.trim_matches('_');
    let cleaned = if cleaned.is_empty() { "dokument" } else { cleaned };
    format!("{}.pdf", cleaned.chars().take(80).collect::<String>())
}

async fn document(
    State(state): State<AppState>,
    visit: Visit,
    citizen: Citizen,
    Path((id, index)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let index: usize = index.parse().map_err(|_| PageError::NotFound)?;
    let letter = own_letter(&state, &visit, &citizen, &id).await?;
    if !may_open(letter.security_level, citizen.user.session.acr.as_deref()) {
        return Err(PageError::Forbidden);
    }
    let title = letter.documents().get(index).map(|d| d.tittel.clone()).ok_or(PageError::NotFound)?;
    let bytes = state.post.document(visit.kommune, &letter, index).await.map_err(post_error)?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{}\"", pdf_file_name(&title))) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The letter's page shows the PDF in a frame: this response may be framed by the site
    // itself, and runs nothing of its own.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'self'"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_level_four_login_opens_a_level_four_letter() {
        assert!(may_open(3, None));
        assert!(may_open(3, Some("idporten-loa-substantial")));
        assert!(!may_open(4, None));
        assert!(!may_open(4, Some("idporten-loa-substantial")));
        assert!(!may_open(4, Some("Level3")));
        assert!(may_open(4, Some("idporten-loa-high")));
        assert!(may_open(4, Some("Level4")));
    }

    #[test]
    fn a_documents_file_name_is_plain_ascii() {
        assert_eq!(pdf_file_name("Vedtak om barnehageplass"), "Vedtak_om_barnehageplass.pdf");
        assert_eq!(pdf_file_name("Søknad på skjønn"), "Soknad_pa_skjonn.pdf");
        assert_eq!(pdf_file_name("\"; x=\r\n"), "x.pdf");
        assert_eq!(pdf_file_name("///"), "dokument.pdf");
    }

    #[test]
    fn times_are_shown_in_norwegian_time() {
        // 1 July 2026 10:00 UTC is 12:00 in Norway (summer time).
        assert_eq!(shown_time(1_782_900_000_000), "01.07.2026 12:00");
    }
}
