//! The employees' pages: `/ansatt` (who they are, their roles and units) and the
//! administration of employees and roles (`/ansatt/admin`), for administrators only; the
//! archivist's pages are in [`arkiv`], the post pages (free letters, sent letters, tasks) in
//! [`post`].

pub mod arkiv;
pub mod henvendelser;
pub mod post;
pub mod saker;

use axum::Router;
use axum::extract::{Form, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use identity::employees::Employees;
use identity::policy::{self, Action, Asker, Resource, Role};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::PageError;
use crate::extract::{MultiForm, Staff, Visit, check_csrf};
use crate::view::{self, Base};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ansatt", get(home))
        .route("/ansatt/admin", get(admin))
        .route("/ansatt/admin/ansatte", post(add_employee))
        .route("/ansatt/admin/roller", post(change_role))
        .route("/ansatt/admin/klienter", get(clients).post(register_client))
        .route("/ansatt/admin/klienter/nokler", post(add_key))
        .route("/ansatt/admin/klienter/endre", post(change_client))
        .merge(arkiv::routes())
        .merge(self::post::routes())
        .merge(saker::routes())
        .merge(henvendelser::routes())
}

async fn home(State(state): State<AppState>, visit: Visit, staff: Staff) -> Result<Html<String>, PageError> {
    let units = Employees::new(state.db.clone(), visit.kommune).units().await?;
    let roles: Vec<_> = staff
        .employee
        .roles
        .iter()
        .map(|g| {
            let unit = units.iter().find(|u| u.code == g.unit).map_or_else(|| g.unit.clone(), |u| u.name.clone());
            RoleView { role: g.role.code(), unit, whole: g.unit == policy::WHOLE_MUNICIPALITY }
        })
        .collect();
    let asker = Asker::Employee { roles: &staff.employee.roles };
    let is_admin = policy::decide(&asker, Action::ManageEmployees, &Resource::Administration).allowed();
    let is_archivist = policy::decide(&asker, Action::Read, &Resource::Archive).allowed();
    // The units whose cases this employee may see, as the policy says.
    let case_units: Vec<_> = units
        .iter()
        .filter(|u| policy::decide(&asker, Action::Read, &Resource::UnitCases { unit: &u.code }).allowed())
        .map(|u| u.name.clone())
        .collect();
    let page = HomePage {
        base: Base::of(&state, &visit, "ansatt"),
        employee: &staff.employee,
        roles,
        is_admin,
        is_archivist,
        case_units,
    };
    view::page(&state, "ansatt/ansatt.html", &page)
}

#[derive(Serialize)]
struct RoleView {
    role: &'static str,
    unit: String,
    whole: bool,
}

#[derive(Serialize)]
struct HomePage<'a> {
    #[serde(flatten)]
    base: Base,
    employee: &'a identity::employees::Employee,
    roles: Vec<RoleView>,
    is_admin: bool,
    is_archivist: bool,
    case_units: Vec<String>,
}

fn require_client_admin(staff: &Staff) -> Result<(), PageError> {
    let asker = Asker::Employee { roles: &staff.employee.roles };
    if policy::decide(&asker, Action::ManageClients, &Resource::Administration).allowed() {
        Ok(())
    } else {
        Err(PageError::Forbidden)
    }
}

fn require_admin(staff: &Staff) -> Result<(), PageError> {
    let asker = Asker::Employee { roles: &staff.employee.roles };
    if policy::decide(&asker, Action::ManageEmployees, &Resource::Administration).allowed() {
        Ok(())
    } else {
        Err(PageError::Forbidden)
    }
}

async fn admin_page(
    state: &AppState,
    visit: &Visit,
    staff: &Staff,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let employees = Employees::new(state.db.clone(), visit.kommune);
    let units = employees.units().await?;
    let list: Vec<_> = employees
        .list()
        .await?
        .into_iter()
        .map(|e| {
            let roles: Vec<_> = e
                .roles
                .iter()
                .map(|g| {
                    // The unit as people know it; its code only where the unit is gone.
                    let unit_name = units.iter().find(|u| u.code == g.unit).map(|u| u.name.clone());
                    GrantView { role: g.role.code(), unit: g.unit.clone(), unit_name }
                })
                .collect();
            EmployeeView { id: e.id, name: e.name, subject: e.subject, email: e.email, roles }
        })
        .collect();
    let page = AdminPage {
        // Shown again after a form: the language switch returns to the page, not the form's address.
        base: Base::new(state, visit.language, Some(visit.kommune), "/ansatt/admin", "admin", Some(&staff.user)),
        employees: list,
        units,
        roles: Role::ALL.iter().map(|r| r.code()).collect(),
        error,
    };
    view::form_page(state, "ansatt/admin.html", &page, error.is_some())
}

#[derive(Serialize)]
struct GrantView {
    role: &'static str,
    unit: String,
    unit_name: Option<String>,
}

#[derive(Serialize)]
struct EmployeeView {
    id: String,
    name: String,
    subject: String,
    email: Option<String>,
    roles: Vec<GrantView>,
}

#[derive(Serialize)]
struct AdminPage<'a> {
    #[serde(flatten)]
    base: Base,
    employees: Vec<EmployeeView>,
    units: Vec<identity::employees::Unit>,
    roles: Vec<&'static str>,
    error: Option<&'a str>,
}

async fn admin(State(state): State<AppState>, visit: Visit, staff: Staff) -> Result<Response, PageError> {
    require_admin(&staff)?;
    admin_page(&state, &visit, &staff, None).await
}

#[derive(Debug, Deserialize)]
struct AddEmployee {
    csrf: Option<String>,
    subject: Option<String>,
    name: Option<String>,
    email: Option<String>,
}

async fn add_employee(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Form(form): Form<AddEmployee>,
) -> Result<Response, PageError> {
    check_csrf(&staff.user, form.csrf.as_deref())?;
    require_admin(&staff)?;
    let by = audit::Actor::Employee(staff.employee.id.clone());
    let employees = Employees::new(state.db.clone(), visit.kommune);
    match employees
        .add(&by, form.subject.as_deref().unwrap_or(""), form.name.as_deref().unwrap_or(""), form.email.as_deref())
        .await
    {
        Ok(_) => Ok(Redirect::to("/ansatt/admin").into_response()),
        Err(identity::IdentityError::Invalid(_)) => {
            admin_page(&state, &visit, &staff, Some("admin-error-employee")).await
        }
        Err(identity::IdentityError::Conflict(_)) => {
            admin_page(&state, &visit, &staff, Some("admin-error-exists")).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize)]
struct ChangeRole {
    csrf: Option<String>,
    employee: Option<String>,
    role: Option<String>,
    unit: Option<String>,
    action: Option<String>,
    /// `confirm` when the form is the confirmation step of removing one's own administrator role.
    step: Option<String>,
    /// `yes` when that step's box is ticked.
    confirm: Option<String>,
}

async fn change_role(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Form(form): Form<ChangeRole>,
) -> Result<Response, PageError> {
    check_csrf(&staff.user, form.csrf.as_deref())?;
    require_admin(&staff)?;
    let by = audit::Actor::Employee(staff.employee.id.clone());
    let employees = Employees::new(state.db.clone(), visit.kommune);
    let (Some(employee), Some(role), Some(unit)) =
        (form.employee.as_deref(), form.role.as_deref().and_then(Role::from_code), form.unit.as_deref())
    else {
        return admin_page(&state, &visit, &staff, Some("admin-error-role")).await;
    };
    let revoke = form.action.as_deref() == Some("revoke");
    // Taking one's own administrator role ends one's access to these pages: asked once more,
    // and done only with the box ticked.
    if revoke && role == Role::Administrator && employee == staff.employee.id && form.confirm.as_deref() != Some("yes")
    {
        let unticked = form.step.as_deref() == Some("confirm");
        return confirm_page(&state, &visit, &staff, unit, unticked);
    }
    let result = if revoke {
        employees.revoke_role(&by, employee, role, unit).await
    } else {
        employees.grant_role(&by, employee, role, unit).await
    };
    match result {
        Ok(()) if revoke && employee == staff.employee.id && role == Role::Administrator => {
            Ok(Redirect::to("/ansatt").into_response())
        }
        Ok(()) => Ok(Redirect::to("/ansatt/admin").into_response()),
        Err(identity::IdentityError::Invalid(_) | identity::IdentityError::NotFound) => {
            admin_page(&state, &visit, &staff, Some("admin-error-role")).await
        }
        Err(identity::IdentityError::LastAdministrator) => {
            admin_page(&state, &visit, &staff, Some("admin-error-last-administrator")).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Serialize)]
struct ConfirmPage<'a> {
    #[serde(flatten)]
    base: Base,
    employee: &'a str,
    unit: &'a str,
    error: Option<&'static str>,
}

/// The confirmation step before an administrator takes their own administrator role: 200 the
/// first time, 422 when it comes back without the box ticked.
fn confirm_page(
    state: &AppState,
    visit: &Visit,
    staff: &Staff,
    unit: &str,
    unticked: bool,
) -> Result<Response, PageError> {
    let page = ConfirmPage {
        base: Base::new(state, visit.language, Some(visit.kommune), "/ansatt/admin", "admin", Some(&staff.user)),
        employee: &staff.employee.id,
        unit,
        error: unticked.then_some("admin-confirm-error"),
    };
    view::form_page(state, "ansatt/admin_confirm.html", &page, unticked)
}

async fn clients_page(
    state: &AppState,
    visit: &Visit,
    staff: &Staff,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let (available, clients) = match &state.identity.maskinporten {
        Some(maskinporten) => (true, maskinporten.registry(visit.kommune).clients().await?),
        None => (false, vec![]),
    };
    let clients: Vec<_> = clients
        .into_iter()
        .map(|c| ClientView {
            orgnr: c.orgnr.as_digits(),
            client_id: c.client_id,
            name: c.name,
            scopes: c.scopes,
            kids: c.kids,
            disabled: c.disabled,
        })
        .collect();
    let page = ClientsPage {
        base: Base::new(
            state,
            visit.language,
            Some(visit.kommune),
            "/ansatt/admin/klienter",
            "admin",
            Some(&staff.user),
        ),
        available,
        clients,
        scopes: identity::maskinporten::SCOPES
            .iter()
            .map(|(scope, _)| ScopeView { scope, about_key: scope_key(scope) })
            .collect(),
        error,
        token_endpoint: state.identity.maskinporten.as_ref().map(|m| format!("{}/token", m.issuer())),
    };
    view::form_page(state, "ansatt/admin_clients.html", &page, error.is_some())
}

#[derive(Serialize)]
struct ClientView {
    client_id: String,
    name: String,
    orgnr: String,
    scopes: Vec<String>,
    kids: Vec<String>,
    disabled: bool,
}

#[derive(Serialize)]
struct ScopeView {
    scope: &'static str,
    /// The message that says, in the visitor's language, what the scope gives access to.
    about_key: String,
}

/// The message key for a scope's description: `allmenning:notices.read` is
/// `scope-allmenning-notices-read` (Fluent keys hold no `:` or `.`).
fn scope_key(scope: &str) -> String {
    format!("scope-{}", scope.replace([':', '.'], "-"))
}

#[derive(Serialize)]
struct ClientsPage<'a> {
    #[serde(flatten)]
    base: Base,
    available: bool,
    clients: Vec<ClientView>,
    scopes: Vec<ScopeView>,
    error: Option<&'a str>,
    token_endpoint: Option<String>,
}

async fn clients(State(state): State<AppState>, visit: Visit, staff: Staff) -> Result<Response, PageError> {
    require_client_admin(&staff)?;
    clients_page(&state, &visit, &staff, None).await
}

#[derive(Debug, Deserialize)]
struct RegisterClient {
    csrf: Option<String>,
    name: Option<String>,
    orgnr: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

/// What a registry change came to: done, or the message to show with the form again. A client
/// this municipality does not have (another's, or none) is a plain 404.
fn client_outcome(result: Result<(), identity::IdentityError>) -> Result<Option<&'static str>, PageError> {
    match result {
        Ok(()) => Ok(None),
        Err(identity::IdentityError::Invalid(_)) => Ok(Some("clients-error-invalid")),
        Err(identity::IdentityError::Conflict(_)) => Ok(Some("clients-error-duplicate-key")),
        Err(other) => Err(other.into()),
    }
}

async fn client_change(
    state: &AppState,
    visit: &Visit,
    staff: &Staff,
    csrf: Option<&str>,
    change: impl AsyncFnOnce(identity::maskinporten::Registry<'_>, &audit::Actor) -> Result<(), identity::IdentityError>,
) -> Result<Response, PageError> {
    check_csrf(&staff.user, csrf)?;
    require_client_admin(staff)?;
    let maskinporten = state.identity.maskinporten.as_ref().ok_or(PageError::NotFound)?;
    let by = audit::Actor::Employee(staff.employee.id.clone());
    match client_outcome(change(maskinporten.registry(visit.kommune), &by).await)? {
        None => Ok(Redirect::to("/ansatt/admin/klienter").into_response()),
        Some(error) => clients_page(state, visit, staff, Some(error)).await,
    }
}

async fn register_client(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    MultiForm(form): MultiForm<RegisterClient>,
) -> Result<Response, PageError> {
    let orgnr = form.orgnr.as_deref().map(|o| o.replace(' ', "")).and_then(|o| kernel::OrgNr::parse(&o).ok());
    client_change(&state, &visit, &staff, form.csrf.as_deref(), async |maskinporten, by| {
        let orgnr =
            orgnr.ok_or_else(|| identity::IdentityError::Invalid("the organisation number is not valid".to_owned()))?;
        maskinporten.register_client(by, form.name.as_deref().unwrap_or(""), orgnr, &form.scopes).await.map(|_| ())
    })
    .await
}

#[derive(Debug, Deserialize)]
struct AddKey {
    csrf: Option<String>,
    client_id: Option<String>,
    jwk: Option<String>,
}

async fn add_key(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Form(form): Form<AddKey>,
) -> Result<Response, PageError> {
    client_change(&state, &visit, &staff, form.csrf.as_deref(), async |maskinporten, by| {
        maskinporten
            .add_key(by, form.client_id.as_deref().unwrap_or(""), form.jwk.as_deref().unwrap_or(""))
            .await
            .map(|_| ())
    })
    .await
}

#[derive(Debug, Deserialize)]
struct ChangeClient {
    csrf: Option<String>,
    client_id: Option<String>,
    kid: Option<String>,
    action: Option<String>,
}

async fn change_client(
    State(state): State<AppState>,
    visit: Visit,
    staff: Staff,
    Form(form): Form<ChangeClient>,
) -> Result<Response, PageError> {
    let client_id = form.client_id.clone().unwrap_or_default();
    client_change(&state, &visit, &staff, form.csrf.as_deref(), async |maskinporten, by| {
        match (form.action.as_deref(), form.kid.as_deref()) {
            (Some("remove-key"), Some(kid)) => maskinporten.remove_key(by, &client_id, kid).await,
            (Some("disable"), _) => maskinporten.disable_client(by, &client_id).await,
            _ => Err(identity::IdentityError::Invalid("unknown change".to_owned())),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use kernel::Language;

    use super::scope_key;
    use crate::view::i18n::I18n;

    #[test]
    fn every_machine_scope_is_described_in_every_language() {
        let i18n = I18n::load().expect("translations parse");
        assert!(!identity::maskinporten::SCOPES.is_empty());
        for (scope, _) in identity::maskinporten::SCOPES {
            let key = scope_key(scope);
            let mut texts = Vec::new();
            for language in Language::ALL {
                assert!(i18n.has_message(language, &key), "no {language} text for the scope {scope} ({key})");
                texts.push(i18n.message(language, &key, &[]));
            }
            // Three languages, three texts: none is a copy of another language's.
            texts.sort();
            texts.dedup();
            assert_eq!(texts.len(), Language::ALL.len(), "{scope}: {texts:?}");
        }
        assert_eq!(scope_key("allmenning:notices.read"), "scope-allmenning-notices-read");
    }

    #[test]
    fn the_confirmation_step_speaks_every_language() {
        let i18n = I18n::load().expect("translations parse");
        for key in [
            "admin-confirm-title",
            "admin-confirm-lead",
            "admin-confirm-box",
            "admin-confirm-submit",
            "admin-confirm-cancel",
            "admin-confirm-error",
            "admin-error-last-administrator",
        ] {
            for language in Language::ALL {
                assert!(i18n.has_message(language, key), "no {language} text for {key}");
            }
        }
    }
}
