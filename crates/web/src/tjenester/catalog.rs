//! The public catalogue: every service the municipality offers, searchable and by LOS theme,
//! a page per service with its criteria, who may apply, legal basis, deadline and fees, and
//! the whole catalogue as CPSV-AP-NO Turtle for Felles datakatalog.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use kernel::Language;
use serde::{Deserialize, Serialize};
use services::definition::Applicant;
use services::{DecisionMode, Service};

use super::{catalog, is_theme, los_label, los_slug};
use crate::AppState;
use crate::error::PageError;
use crate::extract::Visit;
use crate::view::{self, Base};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/tjenester", get(list))
        .route("/tjenester.ttl", get(turtle))
        .route("/tjenester/{id}", get(service_page))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    tema: Option<String>,
}

#[derive(Serialize)]
struct ServiceLine {
    id: String,
    name: String,
    description: String,
    themes: Vec<String>,
}

#[derive(Serialize)]
struct ThemeChoice {
    slug: String,
    label: String,
    selected: bool,
    count: usize,
}

#[derive(Serialize)]
struct ListPage {
    #[serde(flatten)]
    base: Base,
    q: String,
    tema: String,
    themes: Vec<ThemeChoice>,
    services: Vec<ServiceLine>,
    total: usize,
}

/// The LOS themes of the catalogue, by slug, with how many services each has.
fn themes(all: &[Service]) -> BTreeMap<String, (String, usize)> {
    let mut out: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for service in all {
        for uri in service.los.iter().filter(|uri| is_theme(uri)) {
            out.entry(los_slug(uri).to_owned()).or_insert_with(|| (los_label(uri), 0)).1 += 1;
        }
    }
    out
}

async fn list(
    State(state): State<AppState>,
    visit: Visit,
    Query(query): Query<ListQuery>,
) -> Result<Html<String>, PageError> {
    let q: String = query.q.unwrap_or_default().chars().take(200).collect();
    let tema = query.tema.unwrap_or_default();
    let catalog = catalog(&state);
    let found: Vec<&Service> = catalog
        .search(&q, visit.language)
        .into_iter()
        .filter(|service| tema.is_empty() || service.los.iter().any(|uri| is_theme(uri) && los_slug(uri) == tema))
        .collect();
    let services = found
        .iter()
        .map(|service| ServiceLine {
            id: service.id.clone(),
            name: service.name.get(visit.language).to_owned(),
            description: service.description.get(visit.language).to_owned(),
            themes: service.los.iter().filter(|uri| is_theme(uri)).map(|uri| los_label(uri)).collect(),
        })
        .collect();
    let themes = themes(catalog.services())
        .into_iter()
        .map(|(slug, (label, count))| ThemeChoice { selected: slug == tema, slug, label, count })
        .collect();
    let page = ListPage {
        base: Base::of(&state, &visit, "tjenester"),
        q,
        tema,
        themes,
        services,
        total: catalog.services().len(),
    };
    view::page(&state, "tjenester/liste.html", &page)
}

#[derive(Serialize)]
struct ServicePage {
    #[serde(flatten)]
    base: Base,
    id: String,
    name: String,
    description: String,
    criteria: String,
    applicants: Vec<&'static str>,
    legal_basis: String,
    legal_basis_url: String,
    deadline: String,
    unit: String,
    decision: &'static str,
    fees: Vec<FeeLine>,
    themes: Vec<ThemeLink>,
}

#[derive(Serialize)]
struct FeeLine {
    description: String,
    amount: Option<String>,
}

#[derive(Serialize)]
struct ThemeLink {
    slug: String,
    label: String,
}

/// The translation key naming a kind of applicant.
pub(crate) fn applicant_key(applicant: Applicant) -> &'static str {
    match applicant {
        Applicant::Myself => "tjenester-applicant-self",
        Applicant::Child => "tjenester-applicant-child",
        Applicant::Ward => "tjenester-applicant-ward",
        Applicant::Organisation => "tjenester-applicant-organisation",
    }
}

/// The translation key of how a service decides.
fn decision_key(mode: DecisionMode) -> &'static str {
    match mode {
        DecisionMode::Automatic => "tjenester-decided-automatic",
        DecisionMode::Manual => "tjenester-decided-manual",
        DecisionMode::AutomaticWithReviewOfRejections => "tjenester-decided-reviewed",
    }
}

/// An amount in kroner as written in Norway.
pub(crate) fn kroner(amount: i64) -> String {
    services::Value::Amount(amount).display(Language::Bokmal)
}

async fn service_page(
    State(state): State<AppState>,
    visit: Visit,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let service = catalog(&state).get(&id).ok_or(PageError::NotFound)?;
    let language = visit.language;
    let page = ServicePage {
        base: Base::of(&state, &visit, "tjenester"),
        id: service.id.clone(),
        name: service.name.get(language).to_owned(),
        description: service.description.get(language).to_owned(),
        criteria: service.criteria.get(language).to_owned(),
        applicants: service.applicants.iter().map(|a| applicant_key(*a)).collect(),
        legal_basis: service.legal_basis.text.clone(),
        legal_basis_url: service.legal_basis.url.clone(),
        deadline: service.deadline.text.get(language).to_owned(),
        unit: service.unit.name.get(language).to_owned(),
        decision: decision_key(service.decision),
        fees: service
            .fees
            .iter()
            .map(|fee| FeeLine {
                description: fee.description.get(language).to_owned(),
                amount: fee.amount_nok.map(kroner),
            })
            .collect(),
        themes: service
            .los
            .iter()
            .filter(|uri| is_theme(uri))
            .map(|uri| ThemeLink { slug: los_slug(uri).to_owned(), label: los_label(uri) })
            .collect(),
    };
    view::page(&state, "tjenester/tjeneste.html", &page)
}

/// The catalogue as CPSV-AP-NO Turtle, published by the municipality.
async fn turtle(State(state): State<AppState>, visit: Visit) -> Response {
    let orgnr = state.post.config().orgnr.get(&visit.kommune).cloned().unwrap_or_default();
    let name = format!("{} kommune", visit.kommune.navn());
    let base_url = state.municipalities.public_url(visit.kommune).trim_end_matches('/').to_owned();
    let text = services::cpsv::turtle(
        catalog(&state),
        &services::cpsv::Publisher { orgnr: &orgnr, name: &name, base_url: &base_url },
    );
    let mut response = text.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/turtle; charset=utf-8"));
    response
}
