//! The authorization matrix: every role × action × resource (in and out of the employee's unit),
//! and every way a person can act (themselves, a child, a ward, an organisation, a fullmakt) ×
//! action × owner or not — each answer compared with the table of what is allowed. The facts
//! come from the database (roles as stored, fullmakter as granted and revoked), so the matrix
//! runs on both backends.

use std::collections::BTreeSet;

use identity::acting::{self, Check};
use identity::employees::Employees;
use identity::fullmakt::{Fullmakter, NewFullmakt};
use identity::policy::{Action, Asker, Decision, Party, Resource, Role, decide};
use identity::{ActingAs, Principal};
use kernel::{Fnr, Kommunenummer, OrgNr};
use registers::model::OrganisationRole;
use store::testing::TestDatabase;
use time::macros::date;

const TODAY: time::Date = date!(2026 - 11 - 23);

/// The first synthetic number for `birth` from the individual number `start` on, skipping
/// those whose control digits do not work out, and those outside the birth year's range.
fn person(birth: time::Date, start: u16) -> Fnr {
    let start = if birth.year() >= 2000 { start.max(500) } else { start };
    (start..start + 200).find_map(|individual| Fnr::synthetic(birth, individual)).expect("a synthetic number")
}

const EMPLOYEE_ACTIONS: [Action; 10] = [
    Action::Read,
    Action::Act,
    Action::ManageFullmakt,
    Action::HandleCase,
    Action::DecideCase,
    Action::ManageArchive,
    Action::SeePortfolio,
    Action::ManageEmployees,
    Action::ManageClients,
    Action::CallApi,
];

/// The resources an employee can be asked about, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Thing {
    CaseInOwnUnit,
    CaseInOtherUnit,
    /// The own unit's cases as a whole (which units the employee works in).
    OwnUnitsCases,
    OtherUnitsCases,
    Archive,
    Portfolio,
    Administration,
    SomeonesAffairs,
    Api,
}

const THINGS: [Thing; 9] = [
    Thing::CaseInOwnUnit,
    Thing::CaseInOtherUnit,
    Thing::OwnUnitsCases,
    Thing::OtherUnitsCases,
    Thing::Archive,
    Thing::Portfolio,
    Thing::Administration,
    Thing::SomeonesAffairs,
    Thing::Api,
];

/// What each role may do, written out by hand: the specification the policy must match.
fn employee_allowed(role: Role, action: Action, thing: Thing) -> bool {
    use Action::*;
    use Thing::*;
    matches!(
        (role, action, thing),
        (Role::Saksbehandler, Read | HandleCase | DecideCase, CaseInOwnUnit)
            | (Role::Saksbehandler, Read | HandleCase, OwnUnitsCases)
            | (Role::Leder, Read | HandleCase | DecideCase, CaseInOwnUnit)
            | (Role::Leder, Read | HandleCase, OwnUnitsCases)
            | (Role::Leder, Read | SeePortfolio, Portfolio)
            | (Role::Radgiver, Read | SeePortfolio, Portfolio)
            | (Role::Arkivar, Read | ManageArchive, Archive)
            | (Role::Administrator, ManageEmployees | ManageClients, Administration)
    )
}

#[tokio::test]
async fn employees_roles_by_actions_by_resources() {
    let (_database, db) = TestDatabase::migrated(crate::schema()).await.expect("database");
    let bergen = Kommunenummer::parse("4601").expect("kommunenummer");
    let employees = Employees::new(db.clone(), bergen);
    employees.add_unit("barnehage", "Barnehageavdelingen", "barnehage-skole").await.expect("unit");
    employees.add_unit("helse", "Helse og omsorg", "helse-omsorg").await.expect("unit");
    let by = audit::Actor::System("test");
    let someone = person(date!(1980 - 01 - 01), 100);
    let mut checked = 0;
    let mut allowed = BTreeSet::new();
    for role in Role::ALL {
        // Administrators hold their role for the whole municipality; the others in one unit.
        let unit = if role == Role::Administrator || role == Role::Arkivar || role == Role::Radgiver {
            "*"
        } else {
            "barnehage"
        };
        let employee =
            employees.add(&by, &format!("ansatt-{}", role.code()), role.code(), None).await.expect("employee");
        employees.grant_role(&by, &employee.id, role, unit).await.expect("role");
        // The roles as a login would read them.
        let stored = employees.by_subject(&employee.subject).await.expect("read").expect("active");
        assert_eq!(stored.roles.len(), 1);
        for action in EMPLOYEE_ACTIONS {
            for thing in THINGS {
                let resource = match thing {
                    Thing::CaseInOwnUnit => {
                        Resource::Case { unit: "barnehage", party: Party::Person(&someone), area: "barnehage-skole" }
                    }
                    Thing::CaseInOtherUnit => {
                        Resource::Case { unit: "helse", party: Party::Person(&someone), area: "helse-omsorg" }
                    }
                    Thing::OwnUnitsCases => Resource::UnitCases { unit: "barnehage" },
                    Thing::OtherUnitsCases => Resource::UnitCases { unit: "helse" },
                    Thing::Archive => Resource::Archive,
                    Thing::Portfolio => Resource::Portfolio,
                    Thing::Administration => Resource::Administration,
                    Thing::SomeonesAffairs => {
                        Resource::Affairs { party: Party::Person(&someone), area: "helse-omsorg" }
                    }
                    Thing::Api => Resource::Api { scope: "allmenning:notices.read" },
                };
                // A role held for the whole municipality covers every unit's cases.
                let expected = employee_allowed(role, action, thing)
                    || (unit == "*"
                        && thing == Thing::CaseInOtherUnit
                        && employee_allowed(role, action, Thing::CaseInOwnUnit))
                    || (unit == "*"
                        && thing == Thing::OtherUnitsCases
                        && employee_allowed(role, action, Thing::OwnUnitsCases));
                let decision = decide(&Asker::Employee { roles: &stored.roles }, action, &resource);
                assert_eq!(decision.allowed(), expected, "{role:?} {action:?} {thing:?}: {decision:?}");
                if expected {
                    allowed.insert((role, thing));
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 5 * 10 * 9);
    // Each role may do something, and none may read a person's affairs outside a case.
    assert_eq!(allowed.iter().map(|(role, _)| *role).collect::<BTreeSet<_>>().len(), 5);
    assert!(
        !allowed.iter().any(|(_, thing)| matches!(
            thing,
            Thing::SomeonesAffairs | Thing::CaseInOtherUnit | Thing::OtherUnitsCases
        ))
    );

    // A role taken away is gone at the next read.
    let kari = employees.by_subject("ansatt-saksbehandler").await.expect("read").expect("active");
    employees.revoke_role(&by, &kari.id, Role::Saksbehandler, "barnehage").await.expect("revoke");
    let kari = employees.by_subject("ansatt-saksbehandler").await.expect("read").expect("active");
    let case = Resource::Case { unit: "barnehage", party: Party::Person(&someone), area: "barnehage-skole" };
    assert_eq!(
        decide(&Asker::Employee { roles: &kari.roles }, Action::Read, &case),
        Decision::Deny("no role for this")
    );
    // Every role change is in the access log.
    #[derive(serde::Deserialize)]
    struct Count {
        n: i64,
    }
    let changes = db
        .fetch_optional::<Count>(
            "SELECT COUNT(*) AS n FROM audit_log WHERE action IN ('identity.role.granted', 'identity.role.revoked')",
            &[],
        )
        .await
        .expect("count")
        .expect("row");
    assert_eq!(changes.n, 6);
}

/// The ways a person can act, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum As {
    Myself,
    MinorChild,
    ChildNowAdult,
    Ward,
    Company,
    FullmaktForHealth,
    RevokedFullmakt,
}

#[tokio::test]
async fn persons_acting_as_by_actions_by_owner() {
    let (_database, db) = TestDatabase::migrated(crate::schema()).await.expect("database");
    let fullmakter = Fullmakter::new(db.clone());
    let me = person(date!(1985 - 03 - 14), 200);
    let minor = person(date!(2015 - 06 - 01), 300);
    let adult = person(date!(2008 - 11 - 22), 300);
    let ward = person(date!(1940 - 02 - 02), 300);
    let giver = person(date!(1950 - 05 - 05), 300);
    let other_giver = person(date!(1951 - 05 - 05), 300);
    let stranger = person(date!(1970 - 07 - 07), 300);
    let company = OrgNr::parse("974760673").expect("orgnr");
    let other_company = OrgNr::parse("971524960").expect("orgnr");

    let health = fullmakter
        .grant(
            &giver,
            "Giver",
            "Me",
            &NewFullmakt {
                holder: me,
                areas: vec!["helse-omsorg".to_owned()],
                valid_from: TODAY,
                valid_to: date!(2027 - 11 - 23),
            },
        )
        .await
        .expect("grant");
    let revoked = fullmakter
        .grant(
            &other_giver,
            "Other",
            "Me",
            &NewFullmakt {
                holder: me,
                areas: vec!["post".to_owned()],
                valid_from: TODAY,
                valid_to: date!(2027 - 11 - 23),
            },
        )
        .await
        .expect("grant");
    fullmakter.revoke(&other_giver, &revoked.id, ("Other", "Me")).await.expect("revoke");

    let cases = [
        (As::Myself, ActingAs::Myself, Party::Person(&me)),
        (As::MinorChild, ActingAs::Child(minor), Party::Person(&minor)),
        (As::ChildNowAdult, ActingAs::Child(adult), Party::Person(&adult)),
        (As::Ward, ActingAs::Ward(ward), Party::Person(&ward)),
        (As::Company, ActingAs::Organisation(company, OrganisationRole::DagligLeder), Party::Organisation(&company)),
        (As::FullmaktForHealth, ActingAs::Fullmakt { id: health.id.clone(), giver }, Party::Person(&giver)),
        (
            As::RevokedFullmakt,
            ActingAs::Fullmakt { id: revoked.id.clone(), giver: other_giver },
            Party::Person(&other_giver),
        ),
    ];
    let strangers = [Party::Person(&stranger), Party::Organisation(&other_company)];
    let mut checked = 0;
    for (name, acting_as, own_party) in &cases {
        // What the session layer does on every request: check the choice still holds.
        let areas = match acting::still_valid(&fullmakter, &me, acting_as, TODAY).await.expect("check") {
            Check::Valid { fullmakt_areas } => Some(fullmakt_areas),
            Check::Ended => None,
        };
        let ends = matches!(name, As::ChildNowAdult | As::RevokedFullmakt);
        assert_eq!(areas.is_none(), ends, "{name:?}");
        let Some(areas) = areas else { continue };
        let asker = Asker::Person { me: &me, acting_as, fullmakt_areas: &areas };
        for action in EMPLOYEE_ACTIONS {
            for area in ["helse-omsorg", "barnehage-skole"] {
                for (owner, party) in std::iter::once((true, *own_party)).chain(strangers.iter().map(|p| (false, *p))) {
                    let resource = Resource::Affairs { party, area };
                    let expected = owner
                        && match action {
                            Action::Read | Action::Act => *name != As::FullmaktForHealth || area == "helse-omsorg",
                            Action::ManageFullmakt => *name == As::Myself,
                            _ => false,
                        };
                    let decision = decide(&asker, action, &resource);
                    assert_eq!(decision.allowed(), expected, "{name:?} {action:?} {area} owner={owner}: {decision:?}");
                    // A case about the party follows the same rules as the party's affairs.
                    let case = Resource::Case { unit: "barnehage", party, area };
                    assert_eq!(
                        decide(&asker, action, &case).allowed(),
                        expected,
                        "case: {name:?} {action:?} {area} owner={owner}"
                    );
                    checked += 1;
                }
            }
        }
        // Residents never reach the archive, the portfolio, the administration or a unit's cases.
        for resource in [
            Resource::Archive,
            Resource::Portfolio,
            Resource::Administration,
            Resource::UnitCases { unit: "barnehage" },
        ] {
            assert!(!decide(&asker, Action::Read, &resource).allowed(), "{name:?} {resource:?}");
        }
    }
    assert_eq!(checked, 5 * 10 * 2 * 3);

    // A revoked fullmakt stops working at the next check; a child stops being a child on the
    // eighteenth birthday.
    fullmakter.revoke(&me, &health.id, ("Giver", "Me")).await.expect("the holder may decline");
    let through_health = ActingAs::Fullmakt { id: health.id.clone(), giver };
    assert_eq!(acting::still_valid(&fullmakter, &me, &through_health, TODAY).await.expect("check"), Check::Ended);
    let child = ActingAs::Child(person(date!(2008 - 11 - 24), 300));
    assert!(matches!(acting::still_valid(&fullmakter, &me, &child, TODAY).await.expect("check"), Check::Valid { .. }));
    assert_eq!(
        acting::still_valid(&fullmakter, &me, &child, date!(2026 - 11 - 24)).await.expect("check"),
        Check::Ended
    );
    // Someone else cannot use a fullmakt that was not given to them.
    let fresh = fullmakter
        .grant(
            &giver,
            "Giver",
            "Me",
            &NewFullmakt {
                holder: me,
                areas: vec!["post".to_owned()],
                valid_from: TODAY,
                valid_to: date!(2027 - 01 - 01),
            },
        )
        .await
        .expect("grant");
    let borrowed = ActingAs::Fullmakt { id: fresh.id, giver };
    assert_eq!(acting::still_valid(&fullmakter, &stranger, &borrowed, TODAY).await.expect("check"), Check::Ended);
    let _ = Principal::Person(me);
}

#[test]
fn machine_clients_only_call_apis_in_their_scopes() {
    let orgnr = OrgNr::parse("974760673").expect("orgnr");
    let scopes = vec!["allmenning:enhetsregisteret.read".to_owned()];
    let asker = Asker::Client { orgnr: &orgnr, scopes: &scopes };
    assert!(decide(&asker, Action::CallApi, &Resource::Api { scope: "allmenning:enhetsregisteret.read" }).allowed());
    assert!(!decide(&asker, Action::CallApi, &Resource::Api { scope: "allmenning:notices.read" }).allowed());
    let someone = person(date!(1980 - 01 - 01), 100);
    for action in EMPLOYEE_ACTIONS {
        for resource in [
            Resource::Affairs { party: Party::Person(&someone), area: "post" },
            Resource::Archive,
            Resource::Administration,
            Resource::Portfolio,
            Resource::UnitCases { unit: "barnehage" },
        ] {
            assert!(!decide(&asker, action, &resource).allowed(), "{action:?} {resource:?}");
        }
    }
}

#[test]
fn only_its_giver_or_its_holder_ends_a_fullmakt_and_only_as_themselves() {
    let (giver, holder, stranger) =
        (person(date!(1970 - 01 - 01), 100), person(date!(1975 - 01 - 01), 200), person(date!(1980 - 01 - 01), 300));
    let fullmakt = Resource::Fullmakt { giver: &giver, holder: &holder };
    let as_self = |me| Asker::Person { me, acting_as: &ActingAs::Myself, fullmakt_areas: &[] };
    assert!(decide(&as_self(&giver), Action::ManageFullmakt, &fullmakt).allowed());
    assert!(decide(&as_self(&holder), Action::ManageFullmakt, &fullmakt).allowed());
    assert!(!decide(&as_self(&stranger), Action::ManageFullmakt, &fullmakt).allowed());
    for action in [Action::Read, Action::Act] {
        assert!(!decide(&as_self(&giver), action, &fullmakt).allowed(), "{action:?}");
    }
    // Acting for a child, the parent does not end the fullmakter of their own.
    let child = ActingAs::Child(person(date!(2015 - 01 - 01), 400));
    let for_child = Asker::Person { me: &giver, acting_as: &child, fullmakt_areas: &[] };
    assert!(!decide(&for_child, Action::ManageFullmakt, &fullmakt).allowed());
    // Nobody else does either.
    let orgnr = OrgNr::parse("974760673").expect("orgnr");
    let scopes = vec!["allmenning:notices.read".to_owned()];
    assert!(!decide(&Asker::Client { orgnr: &orgnr, scopes: &scopes }, Action::ManageFullmakt, &fullmakt).allowed());
}

/// Two identical fullmakter given at the same instant: one is given, the other refused.
#[tokio::test]
async fn an_identical_fullmakt_given_twice_at_once_is_given_once() {
    let (_database, db) = TestDatabase::migrated(crate::schema()).await.expect("database");
    let fullmakter = Fullmakter::new(db.clone());
    let holder = person(date!(1975 - 01 - 01), 200);
    let today = kernel::time::today_in_norway();
    let new = NewFullmakt {
        holder,
        areas: vec!["post".to_owned()],
        valid_from: today,
        valid_to: today.saturating_add(time::Duration::days(30)),
    };
    for round in 0..5_u8 {
        let birth = time::Date::from_calendar_date(1960, time::Month::January, round + 1).expect("a date");
        let giver = person(birth, 100);
        let (first, second) = tokio::join!(
            fullmakter.grant(&giver, "Giver", "Holder", &new),
            fullmakter.grant(&giver, "Giver", "Holder", &new)
        );
        let given = [first.is_ok(), second.is_ok()].iter().filter(|ok| **ok).count();
        assert_eq!(given, 1, "round {round}: {:?} {:?}", first.err(), second.err());
        assert_eq!(fullmakter.given_by(&giver).await.expect("list").len(), 1, "round {round}");
    }
}
