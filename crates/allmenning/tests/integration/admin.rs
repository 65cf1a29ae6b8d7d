//! Administrators: a municipality always keeps one (in the domain, over HTTP, and when two
//! administrators take each other's role at the same moment), taking one's own role is asked
//! once more, the demo makes only its own administrator one, and the machine scopes are
//! described in the visitor's language.

use allmenning::config::Mode;
use identity::IdentityError;
use identity::employees::Employees;
use identity::policy::Role;
use reqwest::StatusCode;
use store::Db;
use store::testing::TestDatabase;

use crate::helpers::{kommune, spawn_app_with_db, test_settings, two_municipalities};
use crate::identity::{Browser, csrf_of};

/// The ids of the municipality's employees who hold the administrator role.
async fn administrators(employees: &Employees) -> Vec<String> {
    employees
        .list()
        .await
        .expect("employees")
        .into_iter()
        .filter(|e| e.roles.iter().any(|g| g.role == Role::Administrator))
        .map(|e| e.id)
        .collect()
}

async fn revocations(db: &Db) -> i64 {
    #[derive(serde::Deserialize)]
    struct Count {
        n: i64,
    }
    db.fetch_optional::<Count>("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'identity.role.revoked'", &[])
        .await
        .expect("count")
        .map_or(0, |c| c.n)
}

async fn migrated() -> (TestDatabase, Db) {
    TestDatabase::migrated(allmenning::app::schema().expect("schema")).await.expect("database")
}

#[tokio::test]
async fn the_last_administrator_keeps_the_role() {
    let (_database, db) = migrated().await;
    let employees = Employees::new(db.clone(), kommune("4601"));
    let by = audit::Actor::System("test");
    let per = employees.add(&by, "per", "Per Admin", None).await.expect("employee");
    let kari = employees.add(&by, "kari", "Kari Nilsen", None).await.expect("employee");
    employees.grant_role(&by, &per.id, Role::Administrator, "*").await.expect("grant");

    let refused = employees.revoke_role(&by, &per.id, Role::Administrator, "*").await;
    assert!(matches!(refused, Err(IdentityError::LastAdministrator)), "{refused:?}");
    assert_eq!(administrators(&employees).await, [per.id.as_str()], "the refusal changed nothing");
    assert_eq!(revocations(&db).await, 0, "nothing was taken, so nothing is logged as taken");

    // With a second administrator, either may go, but not both.
    employees.grant_role(&by, &kari.id, Role::Administrator, "*").await.expect("grant");
    employees.revoke_role(&by, &per.id, Role::Administrator, "*").await.expect("one of two may go");
    assert_eq!(administrators(&employees).await, [kari.id.as_str()]);
    let refused = employees.revoke_role(&by, &kari.id, Role::Administrator, "*").await;
    assert!(matches!(refused, Err(IdentityError::LastAdministrator)), "{refused:?}");
    assert_eq!(administrators(&employees).await, [kari.id.as_str()]);
    assert_eq!(revocations(&db).await, 1);

    // Another municipality's administrators do not count here.
    let stavanger = Employees::new(db.clone(), kommune("1103"));
    let other = stavanger.add(&by, "per", "Per Admin", None).await.expect("employee");
    stavanger.grant_role(&by, &other.id, Role::Administrator, "*").await.expect("grant");
    let refused = employees.revoke_role(&by, &kari.id, Role::Administrator, "*").await;
    assert!(matches!(refused, Err(IdentityError::LastAdministrator)), "{refused:?}");
    // Other roles are not held back by the rule.
    employees.grant_role(&by, &kari.id, Role::Arkivar, "*").await.expect("grant");
    employees.revoke_role(&by, &kari.id, Role::Arkivar, "*").await.expect("revoke");
}

/// Two administrators, each taking the other's role at the same moment, over and over (in a
/// new municipality each round): one succeeds, the other is refused, one administrator is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_administrators_removing_each_other_at_once_leave_one() {
    let (_database, db) = migrated().await;
    let by = audit::Actor::System("test");
    let rounds = 12;
    for municipality in kernel::kommune::kommuner().iter().take(rounds) {
        let employees = Employees::new(db.clone(), municipality.nummer);
        let a = employees.add(&by, "a", "A", None).await.expect("employee");
        let b = employees.add(&by, "b", "B", None).await.expect("employee");
        for id in [&a.id, &b.id] {
            employees.grant_role(&by, id, Role::Administrator, "*").await.expect("grant");
        }
        let (by_a, by_b) = (audit::Actor::Employee(a.id.clone()), audit::Actor::Employee(b.id.clone()));
        let (first, second) = (employees.clone(), employees.clone());
        let (a_id, b_id) = (a.id.clone(), b.id.clone());
        let takes_b = tokio::spawn(async move { first.revoke_role(&by_a, &b_id, Role::Administrator, "*").await });
        let takes_a = tokio::spawn(async move { second.revoke_role(&by_b, &a_id, Role::Administrator, "*").await });
        let results = [takes_b.await.expect("task"), takes_a.await.expect("task")];
        let done = results.iter().filter(|r| r.is_ok()).count();
        let refused = results.iter().filter(|r| matches!(r, Err(IdentityError::LastAdministrator))).count();
        assert_eq!((done, refused), (1, 1), "{}: {results:?}", municipality.navn);
        assert_eq!(administrators(&employees).await.len(), 1, "{}", municipality.navn);
    }
    assert_eq!(revocations(&db).await, i64::try_from(rounds).expect("small"));
}

/// The admin page's form for taking `role` in `unit` from `employee`, with `extra` fields.
fn revoke_form<'a>(csrf: &'a str, employee: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields =
        vec![("csrf", csrf), ("employee", employee), ("role", "administrator"), ("unit", "*"), ("action", "revoke")];
    fields.extend_from_slice(extra);
    fields
}

#[tokio::test]
async fn the_only_administrator_is_asked_to_confirm_and_then_refused() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let employees = Employees::new(db.clone(), kommune("4601"));
    let per = employees.by_subject("admin").await.expect("read").expect("the demo administrator");
    assert_eq!(administrators(&employees).await, [per.id.as_str()]);
    let mut admin = Browser::new(&app);
    admin.login_employee("admin").await;
    let csrf = admin.csrf("/ansatt/admin").await;

    // One click on the list's button only asks.
    let asked = admin.post_form("/ansatt/admin/roller", &revoke_form(&csrf, &per.id, &[])).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(asked.body.contains("Fjerne din egen rolle som administrator?"), "{}", asked.body);
    assert!(asked.body.contains("name=\"confirm\" value=\"yes\""), "{}", asked.body);
    assert!(!asked.body.contains("data-testid=\"error-summary\""), "{}", asked.body);
    assert_eq!(administrators(&employees).await, [per.id.as_str()]);

    // The confirmation sent without the box ticked: asked again, with the error beside the box.
    let unticked = admin.post_form("/ansatt/admin/roller", &revoke_form(&csrf, &per.id, &[("step", "confirm")])).await;
    assert_eq!(unticked.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unticked.body);
    assert!(unticked.body.contains("data-testid=\"error-summary\""), "{}", unticked.body);
    assert!(unticked.body.contains("aria-invalid=\"true\""), "{}", unticked.body);
    assert!(unticked.body.contains("Kryss av for at du vil fjerne"), "{}", unticked.body);
    assert_eq!(administrators(&employees).await, [per.id.as_str()]);

    // Confirmed, but the last one: refused with the reason, and nothing changes.
    let confirmed = revoke_form(&csrf, &per.id, &[("step", "confirm"), ("confirm", "yes")]);
    let refused = admin.post_form("/ansatt/admin/roller", &confirmed).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("data-testid=\"error-summary\""), "{}", refused.body);
    assert!(refused.body.contains("kommunen må ha minst én administrator"), "{}", refused.body);
    assert_eq!(administrators(&employees).await, [per.id.as_str()]);
    assert_eq!(revocations(&db).await, 0);
    assert_eq!(admin.get("/ansatt/admin").await.status, StatusCode::OK);

    // The same in English.
    admin.cookies_mut().insert("lang".to_owned(), "en".to_owned());
    let refused = admin.post_form("/ansatt/admin/roller", &confirmed).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("the municipality must have at least one administrator"), "{}", refused.body);
}

#[tokio::test]
async fn an_administrator_takes_their_own_role_only_when_confirmed_and_anothers_at_once() {
    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let employees = Employees::new(db.clone(), kommune("4601"));
    let per = employees.by_subject("admin").await.expect("read").expect("the demo administrator");
    let kari = employees.by_subject("kari.saksbehandler").await.expect("read").expect("a demo employee");
    let ola = employees.by_subject("ola.leder").await.expect("read").expect("a demo employee");
    let mut admin = Browser::new(&app);
    admin.login_employee("admin").await;
    let csrf = admin.csrf("/ansatt/admin").await;
    for employee in [&kari.id, &ola.id] {
        let fields = [
            ("csrf", csrf.as_str()),
            ("employee", employee),
            ("role", "administrator"),
            ("unit", "*"),
            ("action", "grant"),
        ];
        admin.post_form("/ansatt/admin/roller", &fields).await.assert_redirect("/ansatt/admin");
    }

    // Someone else's administrator role goes at once, without a question.
    admin.post_form("/ansatt/admin/roller", &revoke_form(&csrf, &ola.id, &[])).await.assert_redirect("/ansatt/admin");
    let mut left = administrators(&employees).await;
    left.sort();
    let mut expected = vec![per.id.clone(), kari.id.clone()];
    expected.sort();
    assert_eq!(left, expected);

    // One's own only after the confirmation, and then the administration is closed to one.
    let asked = admin.post_form("/ansatt/admin/roller", &revoke_form(&csrf, &per.id, &[])).await;
    assert_eq!(asked.status, StatusCode::OK);
    assert_eq!(administrators(&employees).await.len(), 2);
    let confirmed = revoke_form(&csrf, &per.id, &[("step", "confirm"), ("confirm", "yes")]);
    admin.post_form("/ansatt/admin/roller", &confirmed).await.assert_redirect("/ansatt");
    assert_eq!(administrators(&employees).await, [kari.id.as_str()]);
    assert_eq!(admin.get("/ansatt/admin").await.status, StatusCode::FORBIDDEN);
    assert_eq!(revocations(&db).await, 2);

    let mut kari_browser = Browser::new(&app);
    kari_browser.login_employee("kari.saksbehandler").await;
    let page = kari_browser.get("/ansatt/admin").await;
    assert_eq!(page.status, StatusCode::OK, "the remaining administrator administers");
    assert!(!csrf_of(&page.body).is_empty());
}

#[tokio::test]
async fn the_demo_makes_one_administrator_per_municipality_and_no_one_else() {
    let mut settings = test_settings(Mode::Demo).await;
    two_municipalities(&mut settings.settings);
    let (_app, db) = spawn_app_with_db(settings).await;
    for number in ["4601", "1103"] {
        let employees = Employees::new(db.clone(), kommune(number));
        let admin = employees.by_subject("admin").await.expect("read").expect("the demo administrator");
        assert_eq!(administrators(&employees).await, [admin.id], "{number}");
        // Every other demo employee holds exactly the one role the demo names for them.
        for employee in employees.list().await.expect("employees") {
            assert_eq!(employee.roles.len(), 1, "{}: {:?}", employee.subject, employee.roles);
        }
    }
}

#[tokio::test]
async fn the_machine_scopes_are_described_in_the_visitors_language() {
    let (app, _db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let mut admin = Browser::new(&app);
    admin.login_employee("admin").await;
    for (language, text) in [
        ("nb", "Lese virksomheter fra plattformens kopi av Enhetsregisteret."),
        ("nn", "Lese verksemder frå kopien plattforma har av Einingsregisteret."),
        ("en", "Read organisations from the platform's copy of Enhetsregisteret."),
    ] {
        admin.cookies_mut().insert("lang".to_owned(), language.to_owned());
        let page = admin.get("/ansatt/admin/klienter").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let html_text = text.replace('\'', "&#x27;");
        assert!(page.body.contains(text) || page.body.contains(&html_text), "{language}: {}", page.body);
    }
}

/// The employee pages say yes exactly where `policy::decide` does: for each demo employee, the
/// administration pages and forms answer 200 (or do the change) only when the policy allows
/// managing employees or clients, the links to them show only then, and the units listed as
/// the employee's are those whose cases the policy lets them read.
#[tokio::test]
async fn the_employee_pages_answer_as_the_policy_decides() {
    use identity::policy::{Action, Asker, Resource, decide};

    let (app, db) = spawn_app_with_db(test_settings(Mode::Demo).await).await;
    let employees = Employees::new(db.clone(), kommune("4601"));
    let units = employees.units().await.expect("units");
    let mut allowed_somewhere = 0;
    for (subject, name, _) in web::DEMO_EMPLOYEES {
        let employee = employees.by_subject(subject).await.expect("read").expect("a demo employee");
        let asker = Asker::Employee { roles: &employee.roles };
        let manages_employees = decide(&asker, Action::ManageEmployees, &Resource::Administration).allowed();
        let manages_clients = decide(&asker, Action::ManageClients, &Resource::Administration).allowed();
        let mut browser = Browser::new(&app);
        browser.login_employee(subject).await;

        let home = browser.get("/ansatt").await;
        assert_eq!(home.status, StatusCode::OK, "{subject}");
        assert_eq!(home.body.contains("href=\"/ansatt/admin\""), manages_employees, "{subject}: the link");
        let expected_units: Vec<_> = units
            .iter()
            .filter(|u| decide(&asker, Action::Read, &Resource::UnitCases { unit: &u.code }).allowed())
            .map(|u| u.name.as_str())
            .collect();
        for unit in &units {
            let listed = home.body.contains(&format!("<li>{}</li>", unit.name));
            assert_eq!(listed, expected_units.contains(&unit.name.as_str()), "{subject}: {}", unit.name);
        }

        let status = |allowed: bool| if allowed { StatusCode::OK } else { StatusCode::FORBIDDEN };
        assert_eq!(browser.get("/ansatt/admin").await.status, status(manages_employees), "{subject}");
        assert_eq!(browser.get("/ansatt/admin/klienter").await.status, status(manages_clients), "{subject}");

        // A form: adding an employee named after this one succeeds only where the policy says yes.
        let csrf = browser.csrf("/ansatt").await;
        let new_subject = format!("lagt-til-av-{subject}");
        let added = browser
            .post_form(
                "/ansatt/admin/ansatte",
                &[("csrf", &csrf), ("subject", &new_subject), ("name", &format!("Lagt til av {name}"))],
            )
            .await;
        let exists = employees.by_subject(&new_subject).await.expect("read").is_some();
        assert_eq!(exists, manages_employees, "{subject}: {}", added.status);
        if !manages_employees {
            assert_eq!(added.status, StatusCode::FORBIDDEN, "{subject}");
        }
        allowed_somewhere += usize::from(manages_employees);
    }
    assert_eq!(allowed_somewhere, 1, "the demo has one administrator");
}
