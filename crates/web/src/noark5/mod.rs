//! The Noark 5 tjenestegrensesnitt (version 1.1) under `/noark5/`: any Noark 5 client can
//! read and write this municipality's archive through it.
//!
//! One handler takes every path under `/noark5/` and reads it as the standard's resources:
//! - `/noark5/` the root (anonymous): the packages and the login mechanisms;
//! - `/noark5/{package}/` a package: its collections (templated for OData) and `ny-` rels;
//! - `/noark5/{package}/{entity}/` every object of an entity, with OData;
//! - `/noark5/{package}/{entity}/{systemID}/` one object (GET, PUT, PATCH, DELETE);
//! - `…/{systemID}/{rel}/` its children of that kind (OData), its parent, or `ny-X` (GET a
//!   template, POST to create); `…/dokumentobjekt/{systemID}/fil/` its file;
//! - `/noark5/metadata/{list}/` a code list, `/noark5/admin/system/`,
//!   `/noark5/loggingogsporing/endringslogg/`.
//!
//! Every answer is `application/vnd.noark5+json` with HAL `_links` and CORS headers; every
//! error is the standard's `feil` body.

mod auth;
mod links;

use archive::model::{self, Entity, Package, REL_BASE};
use archive::odata::{self, Query};
use archive::records::{self, parse_etag};
use archive::{ArchiveError, Object};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use kernel::Kommunenummer;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::extract::Municipality;
use auth::NoarkUser;
use links::Links;

/// The media type of every answer.
pub const MEDIA_TYPE: &str = "application/vnd.noark5+json";

/// The largest page of a list, and the page when a client asks for none.
const MAX_PAGE: u64 = 1000;
const DEFAULT_PAGE: u64 = 100;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/noark5", any(handle)).route("/noark5/", any(handle)).route("/noark5/{*path}", any(handle))
}

/// An error in the standard's shape: `{"feil": {"kode": 404, "beskrivelse": "…"}}`.
pub(crate) fn feil(status: StatusCode, beskrivelse: impl Into<String>) -> Response {
    let body = json!({ "feil": { "kode": status.as_u16(), "beskrivelse": beskrivelse.into() } });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    response
}

fn from_archive(error: ArchiveError) -> Response {
    match &error {
        ArchiveError::NotFound => feil(StatusCode::NOT_FOUND, "Fant ikke objektet (not found)"),
        ArchiveError::Conflict => {
            feil(StatusCode::CONFLICT, "Objektet er endret siden det ble lest: hent det på nytt (stale ETag)")
        }
        ArchiveError::FileExists => {
            feil(StatusCode::CONFLICT, "Dokumentobjektet har allerede sin fil; en lagret fil erstattes aldri")
        }
        ArchiveError::TooLarge { limit } => {
            feil(StatusCode::PAYLOAD_TOO_LARGE, format!("Filen er større enn {limit} byte"))
        }
        ArchiveError::Invalid { .. }
        | ArchiveError::WrongParent { .. }
        | ArchiveError::Closed(_)
        | ArchiveError::HasChildren(_)
        | ArchiveError::FileMismatch { .. } => feil(StatusCode::BAD_REQUEST, error.to_string()),
        ArchiveError::Store(_) | ArchiveError::Malformed(_) => {
            tracing::error!(error = %error, "the archive failed");
            feil(StatusCode::INTERNAL_SERVER_ERROR, "Arkivet svarte ikke; prøv igjen senere")
        }
    }
}

/// A JSON answer with the media type.
fn answer(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    response
}

/// What a path under `/noark5/` names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resource {
    Root,
    Package(Package),
    /// `…/{entity}/` every object of an entity.
    Collection(&'static Entity),
    /// `…/ny-{entity}/` at a package: a top-level object.
    NewTop(&'static Entity),
    Object(&'static Entity, String),
    /// `…/{systemID}/{rel}/`.
    Related(&'static Entity, String, String),
    File(String),
    CodeList(&'static str),
    NewCode(&'static str),
    Code(&'static str, String),
    System,
    Changes,
    /// `metadata/virksomhetsspesifikkeMetadata/`: the registry.
    Vsm,
    /// `metadata/ny-virksomhetsspesifikkeMetadata/`.
    NewVsm,
}

impl Resource {
    /// The methods this resource answers, for `Allow` and CORS.
    fn methods(&self) -> &'static str {
        match self {
            Resource::Root | Resource::Package(_) | Resource::Collection(_) | Resource::CodeList(_) => "GET, OPTIONS",
            Resource::System | Resource::Changes | Resource::Vsm => "GET, OPTIONS",
            Resource::NewTop(_) | Resource::NewCode(_) | Resource::NewVsm => "GET, POST, OPTIONS",
            Resource::Object(..) => "GET, PUT, PATCH, DELETE, OPTIONS",
            Resource::Related(_, _, rel) if rel.starts_with("ny-") => "GET, POST, OPTIONS",
            Resource::Related(..) => "GET, OPTIONS",
            Resource::File(_) => "GET, POST, PUT, OPTIONS",
            Resource::Code(..) => "GET, DELETE, OPTIONS",
        }
    }
}

fn package(name: &str) -> Option<Package> {
    [Package::Arkivstruktur, Package::Sakarkiv, Package::Metadata, Package::Admin, Package::LoggingOgSporing]
        .into_iter()
        .find(|p| p.name() == name)
}

/// Reads the path after `/noark5/`.
fn resolve(path: &str) -> Option<Resource> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [] => Some(Resource::Root),
        ["admin", "system"] => Some(Resource::System),
        ["loggingogsporing", "endringslogg"] => Some(Resource::Changes),
        ["metadata", "virksomhetsspesifikkeMetadata"] => Some(Resource::Vsm),
        ["metadata", "ny-virksomhetsspesifikkeMetadata"] => Some(Resource::NewVsm),
        ["metadata", list] if list.starts_with("ny-") => {
            model::code_list(&list["ny-".len()..]).map(|l| Resource::NewCode(l.name))
        }
        ["metadata", list] => model::code_list(list).map(|l| Resource::CodeList(l.name)),
        ["metadata", list, kode] => model::code_list(list).map(|l| Resource::Code(l.name, (*kode).to_owned())),
        [name] => package(name).map(Resource::Package),
        [pkg, name] => {
            let pkg = package(pkg)?;
            if let Some(child) = name.strip_prefix("ny-") {
                let entity = model::entity(child)?;
                (entity.name == "arkiv").then_some(Resource::NewTop(entity))
            } else {
                let entity = model::entity(name)?;
                (entity.package == pkg || pkg == Package::Arkivstruktur).then_some(Resource::Collection(entity))
            }
        }
        [_, name, id] => Some(Resource::Object(model::entity(name)?, (*id).to_owned())),
        [_, "dokumentobjekt", id, "fil"] => Some(Resource::File((*id).to_owned())),
        [_, name, id, rel] => Some(Resource::Related(model::entity(name)?, (*id).to_owned(), (*rel).to_owned())),
        _ => None,
    }
}

/// CORS on every answer: any origin (credentials are headers, never cookies across origins),
/// the methods this URL allows, and the headers a Noark client sends and reads.
fn with_cors(mut response: Response, methods: &str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if let Ok(value) = HeaderValue::from_str(methods) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, value.clone());
        headers.insert(header::ALLOW, value);
    }
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "Authorization, Content-Type, Accept, ETag, If-Match, Content-Range, X-Upload-Content-Type, X-Upload-Content-Length",
        ),
    );
    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("ETag, Location, Content-Range"));
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}

async fn handle(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().trim_start_matches("/noark5").to_owned();
    let Some(resource) = resolve(&path) else {
        return with_cors(feil(StatusCode::NOT_FOUND, "Ukjent ressurs i tjenestegrensesnittet"), "GET, OPTIONS");
    };
    let methods = resource.methods();
    if request.method() == Method::OPTIONS {
        return with_cors(StatusCode::NO_CONTENT.into_response(), methods);
    }
    let method_allowed = methods.split(", ").any(|m| m == request.method().as_str());
    if !method_allowed {
        return with_cors(feil(StatusCode::METHOD_NOT_ALLOWED, format!("Tillatt her: {methods}")), methods);
    }
    let Some(Municipality(kommune)) = request.extensions().get::<Municipality>().copied() else {
        return with_cors(feil(StatusCode::NOT_FOUND, "Denne adressen tilhører ingen kommune"), methods);
    };
    let base = format!("{}/noark5", state.municipalities.public_url(kommune).trim_end_matches('/'));
    let links = Links::new(base);
    if resource == Resource::Root && request.method() == Method::GET {
        return with_cors(answer(StatusCode::OK, &root(&state, &links)), methods);
    }
    let session = request.extensions().get::<crate::extract::CurrentUser>().cloned();
    let headers = request.headers().clone();
    let user = match auth::authenticate(&state, kommune, &headers, session).await {
        Ok(user) => user,
        Err(response) => return with_cors(response, methods),
    };
    let response = serve(&state, kommune, &links, &user, resource, request).await;
    with_cors(response, methods)
}

fn root(state: &AppState, links: &Links) -> Value {
    let mut out = Map::new();
    for pkg in ["arkivstruktur", "sakarkiv", "metadata", "admin", "loggingogsporing"] {
        out.insert(format!("{REL_BASE}{pkg}/"), json!({ "href": links.at(&format!("{pkg}/")) }));
    }
    out.insert("self".to_owned(), json!({ "href": links.at("") }));
    if let Some(provider) = &state.identity.employees {
        let issuer = provider.config().issuer.trim_end_matches('/');
        out.insert(
            format!("{REL_BASE}login/oidc/"),
            json!({ "href": format!("{issuer}/.well-known/openid-configuration") }),
        );
    }
    let token_endpoint = if state.identity.maskinporten.is_some() {
        links.host_path("/maskinporten/token")
    } else {
        links.host_path("/maskinporten")
    };
    out.insert(format!("{REL_BASE}login/rfc6749/"), json!({ "href": token_endpoint }));
    if state.config.demo {
        out.insert(format!("{REL_BASE}login/rfc7617/"), json!({ "href": links.at("") }));
    }
    json!({ "_links": out })
}

async fn serve(
    state: &AppState,
    kommune: Kommunenummer,
    links: &Links,
    user: &NoarkUser,
    resource: Resource,
    request: Request,
) -> Response {
    let method = request.method().clone();
    let raw_query = request.uri().query().unwrap_or("").to_owned();
    let headers = request.headers().clone();
    let archive = &state.archive;
    match (resource, method) {
        (Resource::Package(pkg), Method::GET) => answer(StatusCode::OK, &links.package(pkg)),
        (Resource::System, Method::GET) => answer(StatusCode::OK, &system(links)),
        (Resource::Changes, Method::GET) => changes(state, kommune, links, &raw_query).await,
        (Resource::CodeList(list), Method::GET) => code_list(state, kommune, links, list).await,
        (Resource::Vsm, Method::GET) => match archive.vsm_fields(kommune).await {
            Ok(fields) => {
                let results: Vec<Value> = fields
                    .into_iter()
                    .map(|mut field| {
                        let id = field.get("systemID").and_then(Value::as_str).unwrap_or_default().to_owned();
                        let href = links.at(&format!("metadata/virksomhetsspesifikkeMetadata/{id}/"));
                        field.insert(
                            "_links".to_owned(),
                            json!({ "self": { "href": href.clone() }, format!("{REL_BASE}metadata/virksomhetsspesifikkeMetadata/"): { "href": href } }),
                        );
                        Value::Object(field)
                    })
                    .collect();
                let mut out = Map::new();
                out.insert("count".to_owned(), json!(results.len()));
                if !results.is_empty() {
                    out.insert("results".to_owned(), Value::Array(results));
                }
                out.insert(
                    "_links".to_owned(),
                    json!({ "self": { "href": links.at("metadata/virksomhetsspesifikkeMetadata/") },
                            format!("{REL_BASE}metadata/ny-virksomhetsspesifikkeMetadata/"): { "href": links.at("metadata/ny-virksomhetsspesifikkeMetadata/") } }),
                );
                answer(StatusCode::OK, &Value::Object(out))
            }
            Err(error) => from_archive(error),
        },
        (Resource::NewVsm, Method::GET) => answer(StatusCode::OK, &json!({ "type": "string", "_links": {} })),
        (Resource::NewVsm, Method::POST) => {
            if !user.may_manage {
                return feil(StatusCode::FORBIDDEN, "Bare arkivarer kan registrere metadatafelt");
            }
            let body = match json_body(request).await {
                Ok(body) => body,
                Err(response) => return response,
            };
            match archive.define_vsm(kommune, &body).await {
                Ok(mut field) => {
                    let id = field.get("systemID").and_then(Value::as_str).unwrap_or_default().to_owned();
                    let href = links.at(&format!("metadata/virksomhetsspesifikkeMetadata/{id}/"));
                    field.insert("_links".to_owned(), json!({ "self": { "href": href.clone() } }));
                    let mut response = answer(StatusCode::CREATED, &Value::Object(field));
                    if let Ok(value) = HeaderValue::from_str(&href) {
                        response.headers_mut().insert(header::LOCATION, value);
                    }
                    response
                }
                Err(error) => from_archive(error),
            }
        }
        (Resource::NewCode(_), Method::GET) => answer(StatusCode::OK, &json!({ "_links": {} })),
        (Resource::NewCode(list), Method::POST) => {
            if !user.may_manage {
                return feil(StatusCode::FORBIDDEN, "Bare arkivarer kan endre kodelister");
            }
            let body = match json_body(request).await {
                Ok(body) => body,
                Err(response) => return response,
            };
            let (Some(kode), Some(kodenavn)) =
                (body.get("kode").and_then(Value::as_str), body.get("kodenavn").and_then(Value::as_str))
            else {
                return feil(StatusCode::BAD_REQUEST, "kode og kodenavn må oppgis som tekst");
            };
            match archive.add_code(kommune, list, kode, kodenavn).await {
                Ok(()) => {
                    let href = links.at(&format!("metadata/{list}/{kode}/"));
                    let body = json!({ "kode": kode, "kodenavn": kodenavn, "_links": { "self": { "href": href } } });
                    let mut response = answer(StatusCode::CREATED, &body);
                    if let Ok(value) = HeaderValue::from_str(&href) {
                        response.headers_mut().insert(header::LOCATION, value);
                    }
                    response
                }
                Err(error) => from_archive(error),
            }
        }
        (Resource::Code(list, kode), Method::GET) => match archive.codebook(kommune).await {
            Ok(book) => match book.lookup(list, &kode) {
                Some(kodenavn) => answer(
                    StatusCode::OK,
                    &json!({ "kode": kode, "kodenavn": kodenavn,
                             "_links": { "self": { "href": links.at(&format!("metadata/{list}/{kode}/")) } } }),
                ),
                None => feil(StatusCode::NOT_FOUND, "Ukjent kodeverdi"),
            },
            Err(error) => from_archive(error),
        },
        (Resource::Code(list, kode), Method::DELETE) => {
            if !user.may_manage {
                return feil(StatusCode::FORBIDDEN, "Bare arkivarer kan endre kodelister");
            }
            match archive.retire_code(kommune, list, &kode).await {
                Ok(()) => StatusCode::NO_CONTENT.into_response(),
                Err(error) => from_archive(error),
            }
        }
        (Resource::Collection(entity), Method::GET) => {
            let query = match odata::parse(&raw_query) {
                Ok(query) => query,
                Err(error) => return feil(StatusCode::BAD_REQUEST, format!("OData: {error}")),
            };
            let href = links.collection(entity);
            list(state, kommune, links, &href, &raw_query, &query, Scope::All(entity)).await
        }
        (Resource::NewTop(entity), Method::GET) => template(state, kommune, entity).await,
        (Resource::NewTop(entity), Method::POST) => create(state, kommune, links, user, None, entity, request).await,
        (Resource::Object(entity, id), method) => {
            let object = match archive.get(kommune, &id).await {
                Ok(object) if object.entity.is_a(entity.name) || entity.is_a(object.entity.name) => object,
                Ok(_) => return feil(StatusCode::NOT_FOUND, "Fant ikke objektet (not found)"),
                Err(error) => return from_archive(error),
            };
            match method {
                Method::GET => object_answer(links, &object, StatusCode::OK),
                Method::DELETE => {
                    if !user.may_manage {
                        return feil(StatusCode::FORBIDDEN, "Du kan ikke slette i arkivet");
                    }
                    let expected = etag(&headers);
                    match archive.delete(kommune, &object.system_id, expected, &user.actor).await {
                        Ok(()) => StatusCode::NO_CONTENT.into_response(),
                        Err(error) => from_archive(error),
                    }
                }
                Method::PUT | Method::PATCH => {
                    let Some(expected) = etag(&headers) else {
                        return feil(
                            StatusCode::PRECONDITION_REQUIRED,
                            "Send objektets ETag i If-Match (eller ETag) for å endre det",
                        );
                    };
                    let is_patch = method == Method::PATCH;
                    let body = match json_body(request).await {
                        Ok(body) => body,
                        Err(response) => return response,
                    };
                    let result = if is_patch {
                        archive
                            .patch(kommune, &object.system_id, &Value::Object(body), Some(expected), &user.actor)
                            .await
                    } else {
                        archive.replace(kommune, &object.system_id, &body, Some(expected), &user.actor).await
                    };
                    match result {
                        Ok(object) => object_answer(links, &object, StatusCode::OK),
                        Err(error) => from_archive(error),
                    }
                }
                _ => feil(StatusCode::METHOD_NOT_ALLOWED, "Metoden er ikke tillatt her"),
            }
        }
        (Resource::Related(entity, id, rel), method) => {
            let parent = match archive.get(kommune, &id).await {
                Ok(object) if object.entity.is_a(entity.name) || entity.is_a(object.entity.name) => object,
                Ok(_) => return feil(StatusCode::NOT_FOUND, "Fant ikke objektet (not found)"),
                Err(error) => return from_archive(error),
            };
            if let Some(child) = rel.strip_prefix("ny-") {
                let Some(child) = model::entity(child).filter(|c| records::may_hold(parent.entity, c)) else {
                    return feil(
                        StatusCode::NOT_FOUND,
                        format!("{} har ingen relasjon ny-{child}", parent.entity.name),
                    );
                };
                return match method {
                    Method::GET => template(state, kommune, child).await,
                    _ => create(state, kommune, links, user, Some(&parent), child, request).await,
                };
            }
            related(state, kommune, links, &parent, &rel, &raw_query).await
        }
        (Resource::File(id), method) => {
            let object = match archive.get(kommune, &id).await {
                Ok(object) if object.entity.is_a("dokumentobjekt") => object,
                Ok(_) => return feil(StatusCode::NOT_FOUND, "Fant ikke dokumentobjektet"),
                Err(error) => return from_archive(error),
            };
            match method {
                Method::GET => download(state, kommune, &object).await,
                _ => upload(state, kommune, links, user, &object, request).await,
            }
        }
        _ => feil(StatusCode::METHOD_NOT_ALLOWED, "Metoden er ikke tillatt her"),
    }
}

/// The ETag a client sends back, in `If-Match` or `ETag`.
fn etag(headers: &HeaderMap) -> Option<i64> {
    headers
        .get(header::IF_MATCH)
        .or_else(|| headers.get(header::ETAG))
        .and_then(|v| v.to_str().ok())
        .and_then(parse_etag)
}

async fn json_body(request: Request) -> Result<Map<String, Value>, Response> {
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if !(content_type.starts_with("application/json") || content_type.contains("+json")) {
        return Err(feil(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Send JSON ({MEDIA_TYPE} eller application/merge-patch+json)"),
        ));
    }
    let bytes = axum::body::to_bytes(request.into_body(), 4 * 1024 * 1024)
        .await
        .map_err(|_| feil(StatusCode::PAYLOAD_TOO_LARGE, "Kroppen er for stor"))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(feil(StatusCode::BAD_REQUEST, "Kroppen må være et JSON-objekt")),
        Err(error) => Err(feil(StatusCode::BAD_REQUEST, format!("Ugyldig JSON: {error}"))),
    }
}

async fn template(state: &AppState, kommune: Kommunenummer, entity: &'static Entity) -> Response {
    match state.archive.codebook(kommune).await {
        Ok(codes) => {
            let mut body = records::template(entity, &codes);
            body.insert("_links".to_owned(), json!({}));
            answer(StatusCode::OK, &Value::Object(body))
        }
        Err(error) => from_archive(error),
    }
}

async fn create(
    state: &AppState,
    kommune: Kommunenummer,
    links: &Links,
    user: &NoarkUser,
    parent: Option<&Object>,
    entity: &'static Entity,
    request: Request,
) -> Response {
    if !user.may_manage {
        return feil(StatusCode::FORBIDDEN, "Du kan ikke opprette i arkivet");
    }
    let body = match json_body(request).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    match state.archive.create(kommune, parent.map(|p| p.system_id.as_str()), entity, &body, &user.actor).await {
        Ok(object) => {
            let mut response = object_answer(links, &object, StatusCode::CREATED);
            if let Ok(value) = HeaderValue::from_str(&links.object(&object)) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        Err(error) => from_archive(error),
    }
}

/// An object with its `_links` and `ETag`.
fn object_answer(links: &Links, object: &Object, status: StatusCode) -> Response {
    let mut body = object.body.clone();
    body.insert("_links".to_owned(), Value::Object(links.for_object(object)));
    let mut response = answer(status, &Value::Object(body));
    if let Ok(value) = HeaderValue::from_str(&object.etag()) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// Where a list's candidates come from.
enum Scope<'a> {
    All(&'static Entity),
    Children(&'a Object, Vec<&'static str>),
}

/// Candidates are read in pages and filtered here (see `docs/NOARK5.md`, "OData"); paths
/// through sub-objects (`part/navn`, `korrespondansepart/korrespondansepartNavn`) load the
/// children they name into the candidate before it is matched.
async fn list(
    state: &AppState,
    kommune: Kommunenummer,
    links: &Links,
    href: &str,
    raw_query: &str,
    query: &Query,
    scope: Scope<'_>,
) -> Response {
    let archive = &state.archive;
    let embedded: Vec<String> = query
        .filter
        .as_ref()
        .map(|f| f.paths())
        .unwrap_or_default()
        .into_iter()
        .chain(query.orderby.iter().map(|(p, _)| p.clone()))
        .filter_map(|p| p.0.first().cloned())
        .filter(|first| model::entity(first).is_some())
        .collect();
    let mut matches: Vec<(Object, Value)> = Vec::new();
    let mut after = 0;
    loop {
        let page = match &scope {
            Scope::All(entity) => archive.list(kommune, &[entity.name], after, 500).await,
            Scope::Children(parent, names) => archive.children(kommune, &parent.system_id, names, after, 500).await,
        };
        let page = match page {
            Ok(page) => page,
            Err(error) => return from_archive(error),
        };
        let Some(last) = page.last() else { break };
        after = last.position;
        for object in page {
            let mut doc = object.body.clone();
            for name in &embedded {
                if doc.contains_key(name.as_str()) {
                    continue;
                }
                match archive.children(kommune, &object.system_id, &[name.as_str()], 0, 1000).await {
                    Ok(children) => {
                        doc.insert(
                            name.clone(),
                            Value::Array(children.into_iter().map(|c| Value::Object(c.body)).collect()),
                        );
                    }
                    Err(error) => return from_archive(error),
                }
            }
            let doc = Value::Object(doc);
            if query.matches(&doc) {
                matches.push((object, doc));
            }
        }
    }
    if !query.orderby.is_empty() {
        matches.sort_by(|a, b| query.compare(&a.1, &b.1));
    }
    let count = matches.len() as u64;
    let top = query.top.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE);
    let skip = query.skip;
    let mut results = Vec::new();
    for (object, _) in
        matches.into_iter().skip(usize::try_from(skip).unwrap_or(usize::MAX)).take(usize::try_from(top).unwrap_or(0))
    {
        let mut body = object.body.clone();
        body.insert("_links".to_owned(), Value::Object(links.for_object(&object)));
        results.push(Value::Object(body));
    }
    let self_href = if raw_query.is_empty() { href.to_owned() } else { format!("{href}?{raw_query}") };
    let mut link_map = Map::new();
    link_map.insert("self".to_owned(), json!({ "href": self_href }));
    if skip.saturating_add(results.len() as u64) < count {
        link_map.insert(
            "next".to_owned(),
            json!({ "href": links::next_page(href, raw_query, skip.saturating_add(top), top) }),
        );
    }
    let mut out = Map::new();
    out.insert("count".to_owned(), json!(count));
    if !results.is_empty() {
        out.insert("results".to_owned(), Value::Array(results));
    }
    out.insert("_links".to_owned(), Value::Object(link_map));
    answer(StatusCode::OK, &Value::Object(out))
}

async fn related(
    state: &AppState,
    kommune: Kommunenummer,
    links: &Links,
    parent: &Object,
    rel: &str,
    raw_query: &str,
) -> Response {
    let href = links.related(parent, rel);
    // The arkivdel before or after this one (two-way, from referanseForloeper/-Arvtaker).
    if let Some(field) = match rel {
        "forrigearkivdel" => Some("referanseForloeper"),
        "nestearkivdel" => Some("referanseArvtaker"),
        _ => None,
    } {
        let Some(id) = parent.text(field) else {
            return feil(StatusCode::NOT_FOUND, format!("Arkivdelen har ingen {rel}"));
        };
        return match state.archive.get(kommune, id).await {
            Ok(object) => object_answer(links, &object, StatusCode::OK),
            Err(error) => from_archive(error),
        };
    }
    // The parent of the object, when the rel names its kind (`arkiv` on an arkivdel).
    if let Some(parent_id) = &parent.parent_id
        && let Some(kind) = model::entity(rel)
        && !records::may_hold_kind(parent.entity, kind)
    {
        return match state.archive.get(kommune, parent_id).await {
            Ok(object) if object.entity.is_a(kind.name) => object_answer(links, &object, StatusCode::OK),
            Ok(_) => feil(StatusCode::NOT_FOUND, format!("{} har ingen {rel}", parent.entity.name)),
            Err(error) => from_archive(error),
        };
    }
    let Some(kind) = model::entity(rel) else {
        return feil(StatusCode::NOT_FOUND, format!("{} har ingen relasjon {rel}", parent.entity.name));
    };
    let query = match odata::parse(raw_query) {
        Ok(query) => query,
        Err(error) => return feil(StatusCode::BAD_REQUEST, format!("OData: {error}")),
    };
    list(state, kommune, links, &href, raw_query, &query, Scope::Children(parent, vec![kind.name])).await
}

async fn code_list(state: &AppState, kommune: Kommunenummer, links: &Links, list: &'static str) -> Response {
    let book = match state.archive.codebook(kommune).await {
        Ok(book) => book,
        Err(error) => return from_archive(error),
    };
    let results: Vec<Value> = book
        .values(list)
        .into_iter()
        .map(|(kode, kodenavn)| {
            let href = links.at(&format!("metadata/{list}/{kode}/"));
            json!({ "kode": kode, "kodenavn": kodenavn, "_links": { "self": { "href": href } } })
        })
        .collect();
    let mut link_map = Map::new();
    link_map.insert("self".to_owned(), json!({ "href": links.at(&format!("metadata/{list}/")) }));
    link_map
        .insert(format!("{REL_BASE}metadata/ny-{list}/"), json!({ "href": links.at(&format!("metadata/ny-{list}/")) }));
    let mut out = Map::new();
    out.insert("count".to_owned(), json!(results.len()));
    if !results.is_empty() {
        out.insert("results".to_owned(), Value::Array(results));
    }
    out.insert("_links".to_owned(), Value::Object(link_map));
    answer(StatusCode::OK, &Value::Object(out))
}

fn system(links: &Links) -> Value {
    json!({
        "systemID": "allmenning",
        "systemnavn": "allmenning",
        "versjon": env!("CARGO_PKG_VERSION"),
        "standard": "Noark 5 tjenestegrensesnitt 1.1",
        "_links": { "self": { "href": links.at("admin/system/") } }
    })
}

async fn changes(state: &AppState, kommune: Kommunenummer, links: &Links, raw_query: &str) -> Response {
    let query = match odata::parse(raw_query) {
        Ok(query) => query,
        Err(error) => return feil(StatusCode::BAD_REQUEST, format!("OData: {error}")),
    };
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = match state.archive.changes(kommune, after, 1000).await {
            Ok(page) => page,
            Err(error) => return from_archive(error),
        };
        let Some(last) = page.last() else { break };
        after = last.position;
        for change in page {
            let doc = json!({
                "referanseArkivenhet": change.system_id,
                "referanseMetadata": change.field,
                "endretDato": change.changed_at,
                "endretAv": change.changed_by,
                "tidligereVerdi": change.old_value,
                "nyVerdi": change.new_value,
            });
            let mut doc = strip_nulls(doc);
            if query.matches(&doc) {
                // Every object has its _links; an endringslogg entry has no address of its own.
                if let Value::Object(map) = &mut doc {
                    map.insert("_links".to_owned(), json!({}));
                }
                all.push(doc);
            }
        }
    }
    let count = all.len();
    let top = usize::try_from(query.top.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE)).unwrap_or(100);
    let results: Vec<Value> =
        all.into_iter().skip(usize::try_from(query.skip).unwrap_or(usize::MAX)).take(top).collect();
    let href = links.at("loggingogsporing/endringslogg/");
    let mut out = Map::new();
    out.insert("count".to_owned(), json!(count));
    if !results.is_empty() {
        out.insert("results".to_owned(), Value::Array(results));
    }
    out.insert("_links".to_owned(), json!({ "self": { "href": href } }));
    answer(StatusCode::OK, &Value::Object(out))
}

fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    }
}

async fn download(state: &AppState, kommune: Kommunenummer, object: &Object) -> Response {
    match state.archive.file(kommune, &object.system_id).await {
        Ok(Some((info, bytes))) => {
            let mut response = (StatusCode::OK, Body::from(bytes)).into_response();
            if let Ok(value) = HeaderValue::from_str(&info.mime_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            response
        }
        Ok(None) => feil(StatusCode::NOT_FOUND, "Dokumentobjektet har ingen fil ennå"),
        Err(error) => from_archive(error),
    }
}

async fn upload(
    state: &AppState,
    kommune: Kommunenummer,
    links: &Links,
    user: &NoarkUser,
    object: &Object,
    request: Request,
) -> Response {
    if !user.may_manage {
        return feil(StatusCode::FORBIDDEN, "Du kan ikke laste opp til arkivet");
    }
    let headers = request.headers().clone();
    let limit = state.archive.max_file_bytes();
    if let Some(length) =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok())
        && length > limit
    {
        return from_archive(ArchiveError::TooLarge { limit });
    }
    let chunked = headers.contains_key("x-upload-content-length") || headers.contains_key(header::CONTENT_RANGE);
    let limit_usize = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
    let bytes = match axum::body::to_bytes(request.into_body(), limit_usize).await {
        Ok(bytes) => bytes,
        Err(_) => return from_archive(ArchiveError::TooLarge { limit }),
    };
    if chunked {
        return chunks::receive(state, kommune, links, user, object, &headers, bytes).await;
    }
    let Some(content_type) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return feil(StatusCode::BAD_REQUEST, "Oppgi filens Content-Type");
    };
    if bytes.is_empty() {
        return feil(StatusCode::BAD_REQUEST, "Filen er tom");
    }
    match state.archive.store_file(kommune, &object.system_id, content_type, bytes, &user.actor).await {
        Ok(object) => {
            let mut response = object_answer(links, &object, StatusCode::CREATED);
            if let Ok(value) = HeaderValue::from_str(&links.file(&object)) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        Err(error) => from_archive(error),
    }
}

mod chunks;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_as_the_standards_resources() {
        assert_eq!(resolve("/"), Some(Resource::Root));
        assert_eq!(resolve("/arkivstruktur/"), Some(Resource::Package(Package::Arkivstruktur)));
        assert!(matches!(resolve("/arkivstruktur/mappe/"), Some(Resource::Collection(e)) if e.name == "mappe"));
        assert!(matches!(resolve("/arkivstruktur/ny-arkiv/"), Some(Resource::NewTop(e)) if e.name == "arkiv"));
        assert!(
            matches!(resolve("/sakarkiv/saksmappe/abc/"), Some(Resource::Object(e, id)) if e.name == "saksmappe" && id == "abc")
        );
        assert!(
            matches!(resolve("/arkivstruktur/arkivdel/abc/ny-saksmappe/"), Some(Resource::Related(_, _, rel)) if rel == "ny-saksmappe")
        );
        assert_eq!(resolve("/arkivstruktur/dokumentobjekt/abc/fil/"), Some(Resource::File("abc".to_owned())));
        assert_eq!(resolve("/metadata/dokumentmedium/"), Some(Resource::CodeList("dokumentmedium")));
        assert_eq!(resolve("/metadata/ny-dokumentmedium/"), Some(Resource::NewCode("dokumentmedium")));
        assert_eq!(resolve("/metadata/ukjent/"), None);
        assert_eq!(resolve("/arkivstruktur/ukjent/"), None);
        assert_eq!(resolve("/a/b/c/d/e/f"), None);
    }
}
