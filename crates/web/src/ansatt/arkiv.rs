//! The archivist's pages (`/ansatt/arkiv`), for employees with the Arkivar role: the running
//! journal (løpende journal) by day; any archive object with its fields in plain language, its
//! children, its documents (downloaded as they were stored), warnings beside national
//! identifiers whose control digits are wrong, and its endringslogg; screening (skjerming) of a
//! journalpost or saksmappe; finishing a saksmappe or an arkivdel; and answering requests for
//! access (innsynskrav).

use std::collections::HashMap;

use archive::{ArchiveError, Object, access, finish};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use identity::policy::{self, Action, Asker, Resource};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::PageError;
use crate::extract::{MultiForm, Staff, Visit, check_csrf};
use crate::view::{self, Base};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ansatt/arkiv", get(journal))
        .route("/ansatt/arkiv/innsyn", get(requests))
        .route("/ansatt/arkiv/innsyn/{id}", post(answer_request))
        .route("/ansatt/arkiv/fil/{id}", get(download))
        .route("/ansatt/arkiv/{id}", get(object))
        .route("/ansatt/arkiv/{id}/skjerming", post(screen))
        .route("/ansatt/arkiv/{id}/avslutt", post(finish_object))
}

/// The most journalposts one day's journal shows.
const MAX_DAY: usize = 2000;

/// An archive error as a page error: a missing object is a 404, the rest a 500.
pub(crate) fn page_error(error: ArchiveError) -> PageError {
    match error {
        ArchiveError::NotFound => PageError::NotFound,
        ArchiveError::Store(store) => store.into(),
        other => PageError::Internal(other.to_string()),
    }
}

fn require(staff: &Staff, action: Action) -> Result<(), PageError> {
    let asker = Asker::Employee { roles: &staff.employee.roles };
    if policy::decide(&asker, action, &Resource::Archive).allowed() { Ok(()) } else { Err(PageError::Forbidden) }
}

fn actor(staff: &Staff) -> archive::Actor {
    archive::Actor { id: staff.employee.id.clone(), name: staff.employee.name.clone() }
}

/// A date or date-time of the archive as people read it: `03.12.2026` or `03.12.2026 09:15`
/// (Norwegian time); anything else as it is.
pub(crate) fn show_date(text: &str) -> String {
    if let Ok(at) = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        let at = kernel::time::in_norway(at);
        return format!(
            "{:02}.{:02}.{} {:02}:{:02}",
            at.day(),
            u8::from(at.month()),
            at.year(),
            at.hour(),
            at.minute()
        );
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(text.get(..10).unwrap_or(text), &format) {
        Ok(date) => format!("{:02}.{:02}.{}", date.day(), u8::from(date.month()), date.year()),
        Err(_) => text.to_owned(),
    }
}

/// `journalaar/journalsekvensnummer`, or the registreringsID.
fn journal_number(post: &Object) -> String {
    match (post.body.get("journalaar"), post.body.get("journalsekvensnummer")) {
        (Some(year), Some(sequence)) => format!("{year}/{sequence}"),
        _ => post.text("registreringsID").unwrap_or_default().to_owned(),
    }
}

fn kodenavn(object: &Object, field: &str) -> Option<String> {
    object.body.get(field).and_then(|v| v.get("kodenavn")).and_then(Value::as_str).map(str::to_owned)
}

/// A message if the language has it, else `fallback`.
fn label(state: &AppState, visit: &Visit, key: &str, fallback: &str) -> String {
    if state.i18n.has_message(visit.language, key) {
        state.i18n.message(visit.language, key, &[])
    } else {
        fallback.to_owned()
    }
}

fn entity_label(state: &AppState, visit: &Visit, entity: &str) -> String {
    label(state, visit, &format!("arkiv-entity-{entity}"), entity)
}

/// What an object is called in a list: its title, number or name.
fn object_title(object: &Object) -> String {
    ["tittel", "navn", "arkivskaperNavn", "filnavn", "mappeID", "registreringsID", "systemID"]
        .iter()
        .find_map(|f| object.text(f).filter(|t| !t.trim().is_empty()))
        .map_or_else(|| object.system_id.clone(), str::to_owned)
}

#[derive(Serialize)]
struct ShownError {
    field: String,
    text: String,
}

// ----- The running journal -----

#[derive(Deserialize)]
struct JournalQuery {
    dato: Option<String>,
}

#[derive(Serialize)]
struct JournalRow {
    id: String,
    number: String,
    kind: String,
    title: String,
    parties: Vec<String>,
    case_id: Option<String>,
    case_number: Option<String>,
    screened: bool,
}

#[derive(Serialize)]
struct StructureLink {
    id: String,
    kind: String,
    title: String,
    finished: bool,
}

#[derive(Serialize)]
struct JournalPage {
    #[serde(flatten)]
    base: Base,
    date: String,
    date_shown: String,
    previous: String,
    next: String,
    rows: Vec<JournalRow>,
    structure: Vec<StructureLink>,
    open_requests: usize,
    errors: Vec<ShownError>,
}

fn parse_date(text: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format).ok()
}

/// Every journalpost of a day, in creation order.
pub(crate) async fn journal_of(
    state: &AppState,
    kommune: kernel::Kommunenummer,
    from: time::Date,
    to: time::Date,
    max: usize,
) -> Result<Vec<Object>, ArchiveError> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = state.archive.journal(kommune, from, to, after, 500).await?;
        let done = page.len() < 500;
        after = page.last().map_or(after, |o| o.position);
        out.extend(page.into_iter().filter(|o| o.entity.is_a("journalpost")));
        if done || out.len() >= max {
            break;
        }
    }
    out.truncate(max);
    Ok(out)
}

/// The case a journalpost is in (its parent, if a mappe), read once per case.
pub(crate) async fn case_of(
    state: &AppState,
    kommune: kernel::Kommunenummer,
    post: &Object,
    cache: &mut HashMap<String, Option<Object>>,
) -> Result<Option<Object>, ArchiveError> {
    let Some(parent) = &post.parent_id else { return Ok(None) };
    if let Some(found) = cache.get(parent) {
        return Ok(found.clone());
    }
    let case = match state.archive.get(kommune, parent).await {
        Ok(object) if object.entity.is_a("mappe") => Some(object),
        Ok(_) | Err(ArchiveError::NotFound) => None,
        Err(other) => return Err(other),
    };
    cache.insert(parent.clone(), case.clone());
    Ok(case)
}

async fn journal(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Query(query): Query<JournalQuery>,
) -> Result<Response, PageError> {
    require(&staff, Action::Read)?;
    let today = kernel::time::today_in_norway();
    let (date, errors) = match query.dato.as_deref().filter(|d| !d.trim().is_empty()) {
        None => (today, vec![]),
        Some(text) => match parse_date(text) {
            Some(date) => (date, vec![]),
            None => (
                today,
                vec![ShownError {
                    field: "dato".to_owned(),
                    text: state.i18n.message(visit.language, "arkiv-error-date", &[]),
                }],
            ),
        },
    };
    let kommune = visit.kommune;
    let posts = journal_of(&state, kommune, date, date, MAX_DAY).await.map_err(page_error)?;
    let mut cases = HashMap::new();
    let mut rows = Vec::new();
    for post in &posts {
        let case = case_of(&state, kommune, post, &mut cases).await.map_err(page_error)?;
        let parties = state
            .archive
            .children(kommune, &post.system_id, &["korrespondansepart"], 0, 100)
            .await
            .map_err(page_error)?;
        rows.push(JournalRow {
            id: post.system_id.clone(),
            number: journal_number(post),
            kind: kodenavn(post, "journalposttype").unwrap_or_default(),
            title: post.text("tittel").unwrap_or_default().to_owned(),
            parties: parties.iter().map(archive::public::party_name).collect(),
            case_id: case.as_ref().map(|c| c.system_id.clone()),
            case_number: case.as_ref().and_then(|c| c.text("mappeID")).map(str::to_owned),
            screened: post.body.contains_key("skjerming")
                || case.as_ref().is_some_and(|c| c.body.contains_key("skjerming")),
        });
    }
    // The archives and their arkivdeler, to reach what is not in a day's journal.
    let mut structure = Vec::new();
    for root in state.archive.roots(kommune, 0, 50).await.map_err(page_error)? {
        let parts =
            state.archive.children(kommune, &root.system_id, &["arkivdel"], 0, 100).await.map_err(page_error)?;
        structure.push(StructureLink {
            id: root.system_id.clone(),
            kind: entity_label(&state, &visit, root.entity.name),
            title: object_title(&root),
            finished: finish::is_finished(&root),
        });
        structure.extend(parts.iter().map(|part| StructureLink {
            id: part.system_id.clone(),
            kind: entity_label(&state, &visit, part.entity.name),
            title: object_title(part),
            finished: finish::is_finished(part),
        }));
    }
    let open_requests = access::open(&state.archive, kommune).await.map_err(page_error)?.len();
    let day = time::Duration::days(1);
    let page = JournalPage {
        base: Base::of(&state, &visit, "ansatt"),
        date: date.to_string(),
        date_shown: show_date(&date.to_string()),
        previous: (date - day).to_string(),
        next: (date + day).to_string(),
        rows,
        structure,
        open_requests,
        errors,
    };
    let has_errors = !page.errors.is_empty();
    view::form_page(&state, "ansatt/arkiv/journal.html", &page, has_errors)
}

// ----- One object -----

#[derive(Serialize)]
struct FieldView {
    label: String,
    value: String,
}

#[derive(Serialize)]
struct LinkView {
    id: String,
    kind: String,
    title: String,
    number: Option<String>,
}

#[derive(Serialize)]
struct PartyView {
    id: String,
    kind: String,
    name: String,
    role: Option<String>,
    identifiers: Vec<IdentifierView>,
}

#[derive(Serialize)]
struct IdentifierView {
    kind: String,
    value: String,
    wrong: bool,
}

#[derive(Serialize)]
struct FileView {
    id: String,
    name: String,
    format: Option<String>,
    size: Option<i64>,
    mime_type: Option<String>,
    stored: bool,
}

#[derive(Serialize)]
struct DocumentView {
    id: String,
    title: String,
    role: Option<String>,
    files: Vec<FileView>,
}

#[derive(Serialize)]
struct ChangeView {
    when: String,
    by: String,
    field: String,
    old: String,
    new: String,
}

#[derive(Serialize)]
struct CodeOption {
    kode: String,
    name: String,
    selected: bool,
}

#[derive(Serialize)]
struct ScreeningForm {
    restriction: Vec<CodeOption>,
    basis: String,
    metadata: Vec<CodeOption>,
    has_screening: bool,
}

#[derive(Serialize)]
struct ObjectPage {
    #[serde(flatten)]
    base: Base,
    id: String,
    kind: String,
    title: String,
    version: i64,
    fields: Vec<FieldView>,
    parent: Option<LinkView>,
    records: Vec<LinkView>,
    parties: Vec<PartyView>,
    identifiers: Vec<IdentifierView>,
    documents: Vec<DocumentView>,
    others: Vec<LinkView>,
    history: Vec<ChangeView>,
    screening: Option<ScreeningForm>,
    can_finish: bool,
    finished: bool,
    saved: Option<&'static str>,
    errors: Vec<ShownError>,
    stale: bool,
}

/// Fields shown in plain language, in this order; others follow under their own names.
const FIELDS: &[&str] = &[
    "tittel",
    "offentligTittel",
    "beskrivelse",
    "mappeID",
    "registreringsID",
    "journalposttype",
    "journalstatus",
    "journaldato",
    "dokumentetsDato",
    "mottattDato",
    "sendtDato",
    "forfallsdato",
    "saksdato",
    "saksstatus",
    "saksansvarlig",
    "administrativEnhet",
    "journalenhet",
    "arkivstatus",
    "arkivdelstatus",
    "klasseID",
    "arkivskaperID",
    "arkivskaperNavn",
    "dokumenttype",
    "dokumentstatus",
    "tilknyttetRegistreringSom",
    "dokumentmedium",
    "skjerming",
    "opprettetDato",
    "opprettetAv",
    "avsluttetDato",
    "avsluttetAv",
];

/// Fields not worth showing to a person (references, and numbers shown combined).
const HIDDEN: &[&str] = &[
    "systemID",
    "journalaar",
    "journalsekvensnummer",
    "saksaar",
    "sakssekvensnummer",
    "referanseOpprettetAv",
    "referanseAvsluttetAv",
    "referanseEndretAv",
    "referanseArkivertAv",
];

fn show_value(value: &Value) -> String {
    match value {
        Value::String(s) => show_date_if_date(s),
        Value::Object(map) if map.contains_key("kode") => {
            let kode = map.get("kode").and_then(Value::as_str).unwrap_or_default();
            match map.get("kodenavn").and_then(Value::as_str) {
                Some(name) => format!("{name} ({kode})"),
                None => kode.to_owned(),
            }
        }
        Value::Array(items) => items.iter().map(show_value).collect::<Vec<_>>().join(", "),
        Value::Object(map) => map.iter().map(|(k, v)| format!("{k}: {}", show_value(v))).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

fn show_date_if_date(text: &str) -> String {
    let looks_like_date = text.len() >= 10
        && text.as_bytes().get(4) == Some(&b'-')
        && text.as_bytes().get(7) == Some(&b'-')
        && text[..4].chars().all(|c| c.is_ascii_digit());
    if looks_like_date { show_date(text) } else { text.to_owned() }
}

fn fields_of(state: &AppState, visit: &Visit, object: &Object) -> Vec<FieldView> {
    let field_label = |name: &str| label(state, visit, &format!("arkiv-field-{}", name.to_lowercase()), name);
    let mut out = Vec::new();
    if object.entity.is_a("journalpost") {
        out.push(FieldView {
            label: label(state, visit, "arkiv-field-journalnumber", "journalnummer"),
            value: journal_number(object),
        });
    }
    if object.entity.is_a("skjerming") {
        return out;
    }
    for name in FIELDS {
        if let Some(value) = object.body.get(*name) {
            let value = if *name == "skjerming" { show_screening(state, visit, value) } else { show_value(value) };
            out.push(FieldView { label: field_label(name), value });
        }
    }
    let mut rest: Vec<_> =
        object.body.iter().filter(|(k, _)| !FIELDS.contains(&k.as_str()) && !HIDDEN.contains(&k.as_str())).collect();
    rest.sort_by(|a, b| a.0.cmp(b.0));
    for (name, value) in rest {
        out.push(FieldView { label: field_label(name), value: show_value(value) });
    }
    out
}

fn show_screening(state: &AppState, visit: &Visit, value: &Value) -> String {
    let restriction = value.get("tilgangsrestriksjon").map(show_value).unwrap_or_default();
    let basis = value.get("skjermingshjemmel").and_then(Value::as_str).unwrap_or_default();
    let metadata = value.get("skjermingMetadata").map(show_value).unwrap_or_default();
    state.i18n.message(
        visit.language,
        "arkiv-screening-summary",
        &[("restriction", restriction), ("basis", basis.to_owned()), ("metadata", metadata)],
    )
}

/// A national identifier's kind, value and whether its control digits are wrong.
fn identifier(state: &AppState, visit: &Visit, entity: &str, value: &str) -> IdentifierView {
    let wrong = match entity {
        "enhetsidentifikator" => kernel::OrgNr::parse(value).is_err(),
        _ => kernel::Fnr::parse(value).is_err(),
    };
    IdentifierView { kind: entity_label(state, visit, entity), value: value.to_owned(), wrong }
}

fn identifier_of(state: &AppState, visit: &Visit, object: &Object) -> Option<IdentifierView> {
    let (entity, field) = if object.entity.is_a("foedselsnummer") {
        ("foedselsnummer", "foedselsnummer")
    } else if object.entity.is_a("dnummer") {
        ("dnummer", "dNummer")
    } else if object.entity.is_a("enhetsidentifikator") {
        ("enhetsidentifikator", "organisasjonsnummer")
    } else {
        return None;
    };
    Some(identifier(state, visit, entity, object.text(field).unwrap_or_default()))
}

#[derive(Default)]
struct Shown {
    saved: Option<&'static str>,
    errors: Vec<ShownError>,
    stale: bool,
    screening: Option<ScreenForm>,
}

async fn object_page(
    state: &AppState,
    visit: &Visit,
    staff: &Staff,
    id: &str,
    shown: Shown,
) -> Result<Response, PageError> {
    let kommune = visit.kommune;
    let object = state.archive.get(kommune, id).await.map_err(page_error)?;
    let may_manage =
        policy::decide(&Asker::Employee { roles: &staff.employee.roles }, Action::ManageArchive, &Resource::Archive)
            .allowed();
    let parent = match &object.parent_id {
        Some(parent) => match state.archive.get(kommune, parent).await {
            Ok(p) => Some(LinkView {
                id: p.system_id.clone(),
                kind: entity_label(state, visit, p.entity.name),
                title: object_title(&p),
                number: None,
            }),
            Err(ArchiveError::NotFound) => None,
            Err(other) => return Err(page_error(other)),
        },
        None => None,
    };
    let children = state.archive.children(kommune, id, &[], 0, 500).await.map_err(page_error)?;
    let (mut records, mut parties, mut identifiers, mut documents, mut others) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for child in &children {
        let entity = child.entity;
        if entity.is_a("korrespondansepart") || entity.is_a("part") {
            let mut ids = Vec::new();
            if let Some(orgnr) =
                child.body.get("enhetsidentifikator").and_then(|e| e.get("organisasjonsnummer")).and_then(Value::as_str)
            {
                ids.push(identifier(state, visit, "enhetsidentifikator", orgnr));
            }
            parties.push(PartyView {
                id: child.system_id.clone(),
                kind: entity_label(state, visit, entity.name),
                name: archive::public::party_name(child),
                role: kodenavn(child, "korrespondanseparttype").or_else(|| kodenavn(child, "partRolle")),
                identifiers: ids,
            });
        } else if let Some(view) = identifier_of(state, visit, child) {
            identifiers.push(view);
        } else if entity.is_a("dokumentbeskrivelse") {
            let mut files = Vec::new();
            for file in state
                .archive
                .children(kommune, &child.system_id, &["dokumentobjekt"], 0, 100)
                .await
                .map_err(page_error)?
            {
                let info = state.archive.file_info(kommune, &file.system_id).await.map_err(page_error)?;
                files.push(FileView {
                    id: file.system_id.clone(),
                    name: file.text("filnavn").map_or_else(
                        || {
                            format!(
                                "{} {}",
                                entity_label(state, visit, "dokumentobjekt"),
                                file.body.get("versjonsnummer").map(show_value).unwrap_or_default()
                            )
                        },
                        str::to_owned,
                    ),
                    format: kodenavn(&file, "variantformat"),
                    size: info.as_ref().map(|i| i.size),
                    mime_type: info.as_ref().map(|i| i.mime_type.clone()),
                    stored: info.is_some(),
                });
            }
            documents.push(DocumentView {
                id: child.system_id.clone(),
                title: object_title(child),
                role: kodenavn(child, "tilknyttetRegistreringSom"),
                files,
            });
        } else {
            let link = LinkView {
                id: child.system_id.clone(),
                kind: entity_label(state, visit, entity.name),
                title: object_title(child),
                number: if entity.is_a("journalpost") {
                    Some(journal_number(child))
                } else {
                    child.text("mappeID").map(str::to_owned)
                },
            };
            if entity.is_a("mappe") || entity.is_a("registrering") || entity.is_a("arkivdel") || entity.is_a("klasse") {
                records.push(link);
            } else {
                others.push(link);
            }
        }
    }
    let history = state
        .archive
        .history(kommune, id)
        .await
        .map_err(page_error)?
        .into_iter()
        .rev()
        .take(200)
        .map(|c| ChangeView {
            when: show_date(&c.changed_at),
            by: c.changed_by,
            field: c.field,
            old: shorten(c.old_value.as_deref().unwrap_or("")),
            new: shorten(c.new_value.as_deref().unwrap_or("")),
        })
        .collect();
    let screenable = may_manage && (object.entity.is_a("journalpost") || object.entity.is_a("saksmappe"));
    let screening = if screenable {
        let codes = state.archive.codebook(kommune).await.map_err(page_error)?;
        let current = object.body.get("skjerming");
        let (chosen_restriction, basis, chosen_metadata) = match &shown.screening {
            Some(form) => (
                form.tilgangsrestriksjon.clone().unwrap_or_default(),
                form.skjermingshjemmel.clone().unwrap_or_default(),
                form.skjermingmetadata.clone(),
            ),
            None => (
                current
                    .and_then(|s| s.get("tilgangsrestriksjon"))
                    .and_then(|t| t.get("kode"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                current.and_then(|s| s.get("skjermingshjemmel")).and_then(Value::as_str).unwrap_or_default().to_owned(),
                current
                    .and_then(|s| s.get("skjermingMetadata"))
                    .and_then(Value::as_array)
                    .map(|items| {
                        items.iter().filter_map(|i| i.get("kode").and_then(Value::as_str)).map(str::to_owned).collect()
                    })
                    .unwrap_or_default(),
            ),
        };
        Some(ScreeningForm {
            restriction: codes
                .values("tilgangsrestriksjon")
                .into_iter()
                .map(|(kode, name)| CodeOption { selected: kode == chosen_restriction, kode, name })
                .collect(),
            basis,
            metadata: codes
                .values("skjermingmetadata")
                .into_iter()
                .map(|(kode, name)| CodeOption { selected: chosen_metadata.contains(&kode), kode, name })
                .collect(),
            has_screening: current.is_some(),
        })
    } else {
        None
    };
    let page = ObjectPage {
        base: Base::new(
            state,
            visit.language,
            Some(kommune),
            &format!("/ansatt/arkiv/{id}"),
            "ansatt",
            Some(&staff.user),
        ),
        id: object.system_id.clone(),
        kind: entity_label(state, visit, object.entity.name),
        title: object_title(&object),
        version: object.version,
        fields: fields_of(state, visit, &object),
        parent,
        records,
        parties,
        identifiers,
        documents,
        others,
        history,
        screening,
        can_finish: may_manage && finish::can_finish(&object) && !finish::is_finished(&object),
        finished: finish::is_finished(&object),
        saved: shown.saved,
        stale: shown.stale,
        errors: shown.errors,
    };
    let has_errors = !page.errors.is_empty();
    let mut response = view::form_page(state, "ansatt/arkiv/objekt.html", &page, has_errors)?;
    if page.stale {
        *response.status_mut() = StatusCode::CONFLICT;
    }
    Ok(response)
}

fn shorten(text: &str) -> String {
    const MAX: usize = 160;
    if text.chars().count() > MAX {
        let mut out: String = text.chars().take(MAX).collect();
        out.push('…');
        out
    } else {
        text.to_owned()
    }
}

#[derive(Deserialize)]
struct ObjectQuery {
    lagret: Option<String>,
}

async fn object(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path(id): Path<String>,
    Query(query): Query<ObjectQuery>,
) -> Result<Response, PageError> {
    require(&staff, Action::Read)?;
    let saved = match query.lagret.as_deref() {
        Some("skjerming") => Some("arkiv-saved-screening"),
        Some("avsluttet") => Some("arkiv-saved-finished"),
        _ => None,
    };
    object_page(&state, &visit, &staff, &id, Shown { saved, ..Shown::default() }).await
}

// ----- Screening -----

#[derive(Debug, Default, Clone, Deserialize)]
struct ScreenForm {
    csrf: Option<String>,
    version: Option<String>,
    tilgangsrestriksjon: Option<String>,
    skjermingshjemmel: Option<String>,
    #[serde(default)]
    skjermingmetadata: Vec<String>,
}

/// The longest skjermingshjemmel accepted.
const MAX_BASIS: usize = 300;

async fn screen(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path(id): Path<String>,
    MultiForm(form): MultiForm<ScreenForm>,
) -> Result<Response, PageError> {
    check_csrf(&staff.user, form.csrf.as_deref())?;
    require(&staff, Action::ManageArchive)?;
    let version: i64 = form.version.as_deref().and_then(|v| v.trim().parse().ok()).ok_or(PageError::BadRequest)?;
    let kommune = visit.kommune;
    let object = state.archive.get(kommune, &id).await.map_err(page_error)?;
    if !(object.entity.is_a("journalpost") || object.entity.is_a("saksmappe")) {
        return Err(PageError::NotFound);
    }
    let codes = state.archive.codebook(kommune).await.map_err(page_error)?;
    let restriction = form.tilgangsrestriksjon.as_deref().map(str::trim).unwrap_or_default();
    let basis = form.skjermingshjemmel.as_deref().map(str::trim).unwrap_or_default();
    let message = |key: &str| state.i18n.message(visit.language, key, &[]);
    let mut errors = Vec::new();
    if restriction.is_empty() && !object.body.contains_key("skjerming") {
        // Nothing to remove: no write, no new version.
        return Ok(Redirect::to(&format!("/ansatt/arkiv/{id}?lagret=skjerming")).into_response());
    }
    let patch = if restriction.is_empty() {
        json!({"skjerming": null})
    } else {
        if codes.lookup("tilgangsrestriksjon", restriction).is_none() {
            errors
                .push(ShownError { field: "tilgangsrestriksjon".to_owned(), text: message("arkiv-error-restriction") });
        }
        if basis.is_empty() {
            errors.push(ShownError {
                field: "skjermingshjemmel".to_owned(),
                text: message("arkiv-error-basis-required"),
            });
        } else if basis.chars().count() > MAX_BASIS {
            errors.push(ShownError {
                field: "skjermingshjemmel".to_owned(),
                text: message("arkiv-error-basis-too-long"),
            });
        }
        let metadata: Vec<&String> = form.skjermingmetadata.iter().filter(|m| !m.trim().is_empty()).collect();
        if metadata.is_empty() || metadata.iter().any(|m| codes.lookup("skjermingmetadata", m).is_none()) {
            errors.push(ShownError { field: "skjermingmetadata-0".to_owned(), text: message("arkiv-error-metadata") });
        }
        json!({"skjerming": {
            "tilgangsrestriksjon": {"kode": restriction},
            "skjermingshjemmel": basis,
            "skjermingMetadata": metadata.iter().map(|m| json!({"kode": m})).collect::<Vec<_>>(),
        }})
    };
    if !errors.is_empty() {
        return object_page(&state, &visit, &staff, &id, Shown { errors, screening: Some(form), ..Shown::default() })
            .await;
    }
    match state.archive.patch(kommune, &id, &patch, Some(version), &actor(&staff)).await {
        Ok(_) => Ok(Redirect::to(&format!("/ansatt/arkiv/{id}?lagret=skjerming")).into_response()),
        Err(ArchiveError::Conflict) => {
            let errors = vec![ShownError { field: "skjerming".to_owned(), text: message("arkiv-error-stale") }];
            object_page(&state, &visit, &staff, &id, Shown { errors, stale: true, ..Shown::default() }).await
        }
        Err(ArchiveError::Invalid { .. }) => {
            let errors =
                vec![ShownError { field: "tilgangsrestriksjon".to_owned(), text: message("arkiv-error-screening") }];
            object_page(&state, &visit, &staff, &id, Shown { errors, screening: Some(form), ..Shown::default() }).await
        }
        Err(other) => Err(page_error(other)),
    }
}

// ----- Finishing -----

#[derive(Debug, Deserialize)]
struct FinishForm {
    csrf: Option<String>,
    version: Option<String>,
    confirm: Option<String>,
}

async fn finish_object(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<FinishForm>,
) -> Result<Response, PageError> {
    check_csrf(&staff.user, form.csrf.as_deref())?;
    require(&staff, Action::ManageArchive)?;
    let version: i64 = form.version.as_deref().and_then(|v| v.trim().parse().ok()).ok_or(PageError::BadRequest)?;
    let message = |key: &str| state.i18n.message(visit.language, key, &[]);
    if form.confirm.as_deref() != Some("yes") {
        let errors = vec![ShownError { field: "confirm-finish".to_owned(), text: message("arkiv-error-confirm") }];
        return object_page(&state, &visit, &staff, &id, Shown { errors, ..Shown::default() }).await;
    }
    match finish::finish_expecting(&state.archive, visit.kommune, &id, Some(version), &actor(&staff)).await {
        Ok(_) => Ok(Redirect::to(&format!("/ansatt/arkiv/{id}?lagret=avsluttet")).into_response()),
        Err(ArchiveError::Conflict) => {
            let errors = vec![ShownError { field: "avslutt".to_owned(), text: message("arkiv-error-stale") }];
            object_page(&state, &visit, &staff, &id, Shown { errors, stale: true, ..Shown::default() }).await
        }
        Err(ArchiveError::Closed(_) | ArchiveError::Invalid { .. }) => {
            let errors = vec![ShownError { field: "avslutt".to_owned(), text: message("arkiv-error-finish") }];
            object_page(&state, &visit, &staff, &id, Shown { errors, ..Shown::default() }).await
        }
        Err(other) => Err(page_error(other)),
    }
}

// ----- Files -----

/// A file name safe in a header: ASCII letters, digits, `.`, `-` and `_`.
fn safe_file_name(name: &str) -> String {
    let cleaned: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect();
    let cleaned = cleaned.trim_matches('.').to_owned();
    if cleaned.is_empty() { "dokument".to_owned() } else { cleaned }
}

async fn download(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require(&staff, Action::Read)?;
    let object = state.archive.get(visit.kommune, &id).await.map_err(page_error)?;
    if !object.entity.is_a("dokumentobjekt") {
        return Err(PageError::NotFound);
    }
    file_response(&state, visit.kommune, &object).await
}

/// A dokumentobjekt's file as a download: its media type, its file name made safe, never cached.
pub(crate) async fn file_response(
    state: &AppState,
    k: kernel::Kommunenummer,
    object: &Object,
) -> Result<Response, PageError> {
    let (info, bytes) =
        state.archive.file(k, &object.system_id).await.map_err(page_error)?.ok_or(PageError::NotFound)?;
    let name = safe_file_name(object.text("filnavn").unwrap_or("dokument"));
    let mime = if info.mime_type.is_empty() { "application/octet-stream".to_owned() } else { info.mime_type.clone() };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}

// ----- Requests for access -----

#[derive(Serialize)]
struct RequestView {
    id: String,
    received: String,
    deadline: String,
    overdue: bool,
    name: Option<String>,
    email: String,
    message: Option<String>,
    entries: Vec<LinkView>,
    status: String,
    answered_by: Option<String>,
    answered: Option<String>,
    basis: Option<String>,
}

#[derive(Serialize)]
struct RequestsPage {
    #[serde(flatten)]
    base: Base,
    open: Vec<RequestView>,
    answered: Vec<RequestView>,
    deadline_days: u32,
    errors: Vec<ShownError>,
    error_for: Option<String>,
    form_decision: String,
    form_basis: String,
    done: bool,
}

async fn request_view(
    state: &AppState,
    visit: &Visit,
    request: access::AccessRequest,
) -> Result<RequestView, PageError> {
    let today = kernel::time::today_in_norway().to_string();
    let mut entries = Vec::new();
    for id in request.entry_ids() {
        match state.archive.get(visit.kommune, &id).await {
            Ok(post) => entries.push(LinkView {
                id: post.system_id.clone(),
                kind: entity_label(state, visit, post.entity.name),
                title: object_title(&post),
                number: Some(journal_number(&post)),
            }),
            Err(ArchiveError::NotFound) => {}
            Err(other) => return Err(page_error(other)),
        }
    }
    Ok(RequestView {
        received: show_date(&request.received_at.to_rfc3339()),
        overdue: request.is_open() && request.deadline < today,
        deadline: show_date(&request.deadline),
        answered: request.answered_at.map(|a| show_date(&a.to_rfc3339())),
        id: request.id,
        name: request.name,
        email: request.email,
        message: request.message,
        entries,
        status: request.status,
        answered_by: request.answered_by,
        basis: request.basis,
    })
}

async fn requests_page(
    state: &AppState,
    visit: &Visit,
    staff: &Staff,
    done: bool,
    errors: Vec<ShownError>,
    error_for: Option<String>,
    form: Option<&AnswerForm>,
) -> Result<Response, PageError> {
    let mut open = Vec::new();
    for request in access::open(&state.archive, visit.kommune).await.map_err(page_error)? {
        open.push(request_view(state, visit, request).await?);
    }
    let mut answered = Vec::new();
    for request in access::answered(&state.archive, visit.kommune, 20).await.map_err(page_error)? {
        answered.push(request_view(state, visit, request).await?);
    }
    let page = RequestsPage {
        base: Base::new(
            state,
            visit.language,
            Some(visit.kommune),
            "/ansatt/arkiv/innsyn",
            "ansatt",
            Some(&staff.user),
        ),
        open,
        answered,
        deadline_days: access::DEADLINE_WORKING_DAYS,
        form_decision: form.and_then(|f| f.decision.clone()).unwrap_or_default(),
        form_basis: form.and_then(|f| f.basis.clone()).unwrap_or_default(),
        errors,
        error_for,
        done,
    };
    let has_errors = !page.errors.is_empty();
    view::form_page(state, "ansatt/arkiv/innsyn.html", &page, has_errors)
}

#[derive(Deserialize)]
struct RequestsQuery {
    besvart: Option<String>,
}

async fn requests(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Query(query): Query<RequestsQuery>,
) -> Result<Response, PageError> {
    require(&staff, Action::Read)?;
    requests_page(&state, &visit, &staff, query.besvart.is_some(), vec![], None, None).await
}

#[derive(Debug, Deserialize)]
struct AnswerForm {
    csrf: Option<String>,
    decision: Option<String>,
    basis: Option<String>,
}

async fn answer_request(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<AnswerForm>,
) -> Result<Response, PageError> {
    check_csrf(&staff.user, form.csrf.as_deref())?;
    require(&staff, Action::ManageArchive)?;
    let message = |key: &str| state.i18n.message(visit.language, key, &[]);
    let basis = form.basis.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let answer = match form.decision.as_deref() {
        Some("granted") => access::Answer::Granted,
        Some("refused") if basis.is_empty() => {
            let errors = vec![ShownError { field: format!("basis-{id}"), text: message("arkiv-error-refusal-basis") }];
            return requests_page(&state, &visit, &staff, false, errors, Some(id), Some(&form)).await;
        }
        Some("refused") => access::Answer::Refused { basis },
        _ => {
            let errors =
                vec![ShownError { field: format!("decision-{id}-granted"), text: message("arkiv-error-decision") }];
            return requests_page(&state, &visit, &staff, false, errors, Some(id), Some(&form)).await;
        }
    };
    match access::answer(&state.archive, visit.kommune, &id, &answer, &actor(&staff)).await {
        Ok(_) => Ok(Redirect::to("/ansatt/arkiv/innsyn?besvart=1").into_response()),
        Err(ArchiveError::Conflict) => {
            let errors = vec![ShownError { field: "apne".to_owned(), text: message("arkiv-error-answered") }];
            requests_page(&state, &visit, &staff, false, errors, None, None).await
        }
        Err(ArchiveError::Invalid { .. }) => {
            let errors = vec![ShownError { field: format!("basis-{id}"), text: message("arkiv-error-refusal-basis") }];
            requests_page(&state, &visit, &staff, false, errors, Some(id), Some(&form)).await
        }
        Err(other) => Err(page_error(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_the_norwegian_way() {
        assert_eq!(show_date("2026-12-03"), "03.12.2026");
        assert_eq!(show_date("2026-12-03T08:15:00Z"), "03.12.2026 09:15");
        assert_eq!(show_date("2026-07-01T08:15:00Z"), "01.07.2026 10:15");
        assert_eq!(show_date("i morgen"), "i morgen");
        assert_eq!(show_value(&json!({"kode": "I", "kodenavn": "Inngående dokument"})), "Inngående dokument (I)");
    }

    #[test]
    fn a_file_name_is_safe_in_a_header() {
        assert_eq!(safe_file_name("søknad om lån.pdf"), "s_knad_om_l_n.pdf");
        assert_eq!(safe_file_name("a\"b\r\n.pdf"), "a_b__.pdf");
        assert_eq!(safe_file_name(".."), "dokument");
    }
}
