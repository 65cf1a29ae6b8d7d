//! The one authorization policy: may this principal, acting as this, do this to that? Every
//! handler asks [`decide`]; nothing else says yes. Pure: the caller brings the facts (the
//! session, the employee's roles, the fullmakt's areas, the token's scopes), and the rules here
//! are the whole of what they mean.

use kernel::{Fnr, OrgNr};

use crate::ActingAs;

/// An employee role. Scoped to a unit (or the whole municipality) when granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Handles cases in their units.
    Saksbehandler,
    /// Leads units: sees and decides their cases, sees the portfolio.
    Leder,
    /// Keeps the archive: journal, screening, extraction.
    Arkivar,
    /// Digitalisation adviser: the portfolio, benefits and maturity.
    Radgiver,
    /// Manages employees, roles and machine clients.
    Administrator,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [Role::Saksbehandler, Role::Leder, Role::Arkivar, Role::Radgiver, Role::Administrator];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Role::Saksbehandler => "saksbehandler",
            Role::Leder => "leder",
            Role::Arkivar => "arkivar",
            Role::Radgiver => "radgiver",
            Role::Administrator => "administrator",
        }
    }

    /// The role for a stored code.
    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// The unit code that means the whole municipality.
pub const WHOLE_MUNICIPALITY: &str = "*";

/// A role held in a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrant {
    /// The role.
    pub role: Role,
    /// The unit code, or [`WHOLE_MUNICIPALITY`].
    pub unit: String,
}

impl RoleGrant {
    fn covers(&self, role: Role, unit: &str) -> bool {
        self.role == role && (self.unit == WHOLE_MUNICIPALITY || self.unit == unit)
    }
}

/// Who asks, with the facts the rules need.
#[derive(Debug, Clone, Copy)]
pub enum Asker<'a> {
    /// A resident, acting as someone; `fullmakt_areas` are the areas of the fullmakt when
    /// acting through one (already checked to be active).
    Person {
        /// The person logged in.
        me: &'a Fnr,
        /// Whom they act as.
        acting_as: &'a ActingAs,
        /// The service areas of the fullmakt acted through.
        fullmakt_areas: &'a [String],
    },
    /// An employee with their roles in the request's municipality.
    Employee {
        /// The roles.
        roles: &'a [RoleGrant],
    },
    /// A machine client with the scopes of its token.
    Client {
        /// The organisation.
        orgnr: &'a OrgNr,
        /// The granted scopes.
        scopes: &'a [String],
    },
}

/// Whom a case or a piece of data concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party<'a> {
    /// A person.
    Person(&'a Fnr),
    /// An organisation.
    Organisation(&'a OrgNr),
}

/// What is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See personal data, cases, letters (Min side).
    Read,
    /// Start or change something on the party's behalf (apply, answer, upload).
    Act,
    /// Give or revoke a fullmakt on one's own behalf.
    ManageFullmakt,
    /// Work on a case as a caseworker.
    HandleCase,
    /// Decide a case.
    DecideCase,
    /// Journal, screen and extract in the archive.
    ManageArchive,
    /// See the portfolio, benefits and maturity.
    SeePortfolio,
    /// Manage employees and roles.
    ManageEmployees,
    /// Manage machine clients and their keys.
    ManageClients,
    /// Call an API area with a scope.
    CallApi,
}

/// What it is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// A party's own data or affairs, in a service area (for fullmakt).
    Affairs {
        /// Whose.
        party: Party<'a>,
        /// The service area (e.g. `barnehage`).
        area: &'a str,
    },
    /// A case, owned by a unit, about a party.
    Case {
        /// The unit that handles it.
        unit: &'a str,
        /// Whom it concerns.
        party: Party<'a>,
        /// The service area.
        area: &'a str,
    },
    /// The cases of a unit as a whole, before any one case is chosen: which units an employee
    /// works in. Asks no party, so no one's number stands in for "anybody".
    UnitCases {
        /// The unit.
        unit: &'a str,
    },
    /// One fullmakt, to end it: its giver and its holder.
    Fullmakt {
        /// Who gave it.
        giver: &'a Fnr,
        /// Who holds it.
        holder: &'a Fnr,
    },
    /// The archive of a unit.
    Archive,
    /// The portfolio.
    Portfolio,
    /// The administration pages.
    Administration,
    /// An API area by its scope.
    Api {
        /// The scope the area requires.
        scope: &'a str,
    },
}

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// No, and why (for logs and tests, never shown with personal data).
    Deny(&'static str),
}

impl Decision {
    /// Whether it is [`Decision::Allow`].
    pub fn allowed(self) -> bool {
        self == Decision::Allow
    }
}

/// The party a person acting as `acting_as` stands for.
fn represented<'a>(me: &'a Fnr, acting_as: &'a ActingAs) -> Party<'a> {
    match acting_as {
        ActingAs::Myself => Party::Person(me),
        ActingAs::Child(fnr) | ActingAs::Ward(fnr) | ActingAs::Fullmakt { giver: fnr, .. } => Party::Person(fnr),
        ActingAs::Organisation(orgnr, _) => Party::Organisation(orgnr),
    }
}

fn decide_person(
    me: &Fnr,
    acting_as: &ActingAs,
    fullmakt_areas: &[String],
    action: Action,
    resource: &Resource<'_>,
) -> Decision {
    let (party, area) = match resource {
        Resource::Affairs { party, area } | Resource::Case { party, area, .. } => (*party, *area),
        // Either party may end a fullmakt, as themselves.
        Resource::Fullmakt { giver, holder } => {
            return match action {
                Action::ManageFullmakt if *acting_as != ActingAs::Myself => Decision::Deny("only for oneself"),
                Action::ManageFullmakt if *giver == me || *holder == me => Decision::Allow,
                _ => Decision::Deny("only its giver or its holder may end a fullmakt"),
            };
        }
        _ => return Decision::Deny("residents reach only their own affairs"),
    };
    if party != represented(me, acting_as) {
        return Decision::Deny("not the party acted for");
    }
    if matches!(acting_as, ActingAs::Fullmakt { .. }) && !fullmakt_areas.iter().any(|a| a == area) {
        return Decision::Deny("the fullmakt does not cover this service area");
    }
    match action {
        Action::Read | Action::Act => Decision::Allow,
        // A fullmakt is one's own to give: not for a child, a ward, a company or a giver.
        Action::ManageFullmakt if *acting_as == ActingAs::Myself => Decision::Allow,
        Action::ManageFullmakt => Decision::Deny("only for oneself"),
        _ => Decision::Deny("not a resident's action"),
    }
}

fn has(roles: &[RoleGrant], role: Role, unit: &str) -> bool {
    roles.iter().any(|g| g.covers(role, unit))
}

fn has_anywhere(roles: &[RoleGrant], role: Role) -> bool {
    roles.iter().any(|g| g.role == role)
}

fn decide_employee(roles: &[RoleGrant], action: Action, resource: &Resource<'_>) -> Decision {
    let deny = Decision::Deny("no role for this");
    let allow_if = |ok: bool| if ok { Decision::Allow } else { deny };
    match (action, resource) {
        (Action::Read | Action::HandleCase, Resource::Case { unit, .. } | Resource::UnitCases { unit }) => {
            allow_if(has(roles, Role::Saksbehandler, unit) || has(roles, Role::Leder, unit))
        }
        // Municipalities delegate the decisions of their units' services to the caseworkers
        // (delegert vedtaksmyndighet) as well as to the leaders.
        (Action::DecideCase, Resource::Case { unit, .. }) => {
            allow_if(has(roles, Role::Saksbehandler, unit) || has(roles, Role::Leder, unit))
        }
        (Action::Read | Action::ManageArchive, Resource::Archive) => allow_if(has_anywhere(roles, Role::Arkivar)),
        (Action::SeePortfolio | Action::Read, Resource::Portfolio) => {
            allow_if(has_anywhere(roles, Role::Leder) || has_anywhere(roles, Role::Radgiver))
        }
        (Action::ManageEmployees | Action::ManageClients, Resource::Administration) => {
            allow_if(has(roles, Role::Administrator, WHOLE_MUNICIPALITY))
        }
        // Employees see a person's affairs only through a case of their unit.
        _ => deny,
    }
}

/// The decision.
pub fn decide(asker: &Asker<'_>, action: Action, resource: &Resource<'_>) -> Decision {
    match asker {
        Asker::Person { me, acting_as, fullmakt_areas } => {
            decide_person(me, acting_as, fullmakt_areas, action, resource)
        }
        Asker::Employee { roles } => decide_employee(roles, action, resource),
        Asker::Client { scopes, .. } => match (action, resource) {
            (Action::CallApi, Resource::Api { scope }) if scopes.iter().any(|s| s == scope) => Decision::Allow,
            (Action::CallApi, Resource::Api { .. }) => Decision::Deny("the token lacks the scope"),
            _ => Decision::Deny("machine clients only call APIs"),
        },
    }
}
