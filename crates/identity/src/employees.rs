//! Employees of a municipality, found by the subject their identity provider gives them, with
//! roles scoped to organisational units. Every change of a role is written to the access log.

use kernel::Kommunenummer;
use serde::Serialize;
use store::{Db, params};

use crate::policy::{Role, RoleGrant, WHOLE_MUNICIPALITY};
use crate::{IdentityError, actions, now_seconds};

/// An employee.
#[derive(Debug, Clone, Serialize)]
pub struct Employee {
    /// The employee id.
    pub id: String,
    /// The identity provider's subject.
    pub subject: String,
    /// The name.
    pub name: String,
    /// E-mail, when known.
    pub email: Option<String>,
    /// Whether they may log in.
    pub active: bool,
    /// Their roles.
    #[serde(skip)]
    pub roles: Vec<RoleGrant>,
}

/// An organisational unit (enhet).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Unit {
    /// The code.
    pub code: String,
    /// The name.
    pub name: String,
    /// The service area it works in.
    pub service_area: String,
}

#[derive(serde::Deserialize)]
struct Row {
    id: String,
    subject: String,
    name: String,
    email: Option<String>,
    active: bool,
}

#[derive(serde::Deserialize)]
struct RoleRow {
    employee_id: String,
    role: String,
    unit: String,
}

fn clean(text: &str, field: &str, max: usize) -> Result<String, IdentityError> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max || trimmed.chars().any(char::is_control) {
        return Err(IdentityError::Invalid(format!("{field} must be 1 to {max} characters on one line")));
    }
    Ok(trimmed.to_owned())
}

/// The employees of one municipality.
#[derive(Debug, Clone)]
pub struct Employees {
    db: Db,
    kommunenummer: Kommunenummer,
}

impl Employees {
    /// The employees of `kommunenummer`.
    pub fn new(db: Db, kommunenummer: Kommunenummer) -> Self {
        Self { db, kommunenummer }
    }

    async fn roles(&self) -> Result<Vec<RoleRow>, IdentityError> {
        Ok(self
            .db
            .municipal(self.kommunenummer)
            .fetch_all::<RoleRow>(
                "SELECT employee_id, role, unit FROM staff_roles WHERE kommunenummer = $1 ORDER BY employee_id, role, unit",
                &[],
            )
            .await?)
    }

    fn with_roles(row: Row, roles: &[RoleRow]) -> Employee {
        Employee {
            roles: roles
                .iter()
                .filter(|r| r.employee_id == row.id)
                .filter_map(|r| Some(RoleGrant { role: Role::from_code(&r.role)?, unit: r.unit.clone() }))
                .collect(),
            id: row.id,
            subject: row.subject,
            name: row.name,
            email: row.email,
            active: row.active,
        }
    }

    /// Every employee, by name.
    pub async fn list(&self) -> Result<Vec<Employee>, IdentityError> {
        let rows = self
            .db
            .municipal(self.kommunenummer)
            .fetch_all::<Row>(
                "SELECT id, subject, name, email, active FROM staff WHERE kommunenummer = $1 ORDER BY name, id",
                &[],
            )
            .await?;
        let roles = self.roles().await?;
        Ok(rows.into_iter().map(|row| Self::with_roles(row, &roles)).collect())
    }

    /// One employee by id.
    pub async fn get(&self, id: &str) -> Result<Option<Employee>, IdentityError> {
        Ok(self.list().await?.into_iter().find(|e| e.id == id))
    }

    /// The active employee with this identity-provider subject.
    pub async fn by_subject(&self, subject: &str) -> Result<Option<Employee>, IdentityError> {
        let row = self
            .db
            .municipal(self.kommunenummer)
            .fetch_optional::<Row>(
                "SELECT id, subject, name, email, active FROM staff WHERE kommunenummer = $1 AND subject = $2",
                &params![subject],
            )
            .await?;
        let Some(row) = row.filter(|r| r.active) else { return Ok(None) };
        let roles = self.roles().await?;
        Ok(Some(Self::with_roles(row, &roles)))
    }

    /// Adds an employee; `by` is who did it.
    pub async fn add(
        &self,
        by: &audit::Actor,
        subject: &str,
        name: &str,
        email: Option<&str>,
    ) -> Result<Employee, IdentityError> {
        let subject = clean(subject, "the login id", 200)?;
        let name = clean(name, "the name", 200)?;
        let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
            Some(email) if email.len() <= 254 && email.contains('@') && !email.chars().any(char::is_whitespace) => {
                Some(email.to_owned())
            }
            Some(_) => return Err(IdentityError::Invalid("the e-mail address is not valid".to_owned())),
            None => None,
        };
        let scoped = self.db.municipal(self.kommunenummer);
        let exists = scoped
            .fetch_optional::<Row>(
                "SELECT id, subject, name, email, active FROM staff WHERE kommunenummer = $1 AND subject = $2",
                &params![subject.as_str()],
            )
            .await?;
        if exists.is_some() {
            return Err(IdentityError::Conflict("an employee with this login id exists".to_owned()));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.db.begin().await?;
        tx.municipal(self.kommunenummer)
            .execute(
                "INSERT INTO staff (kommunenummer, id, subject, name, email, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &params![id.as_str(), subject.as_str(), name.as_str(), email.clone(), true, now_seconds()],
            )
            .await?;
        let context = crate::security_context(by.clone(), None);
        audit::AuditLog::record_in(
            &mut tx,
            &context,
            &[audit::Access { action: actions::EMPLOYEE_CHANGED, subject: None, resource: Some(&id) }],
        )
        .await?;
        tx.commit().await?;
        Ok(Employee { id, subject, name, email, active: true, roles: vec![] })
    }

    /// The units, by name.
    pub async fn units(&self) -> Result<Vec<Unit>, IdentityError> {
        Ok(self
            .db
            .municipal(self.kommunenummer)
            .fetch_all::<Unit>(
                "SELECT code, name, service_area FROM org_units WHERE kommunenummer = $1 ORDER BY name, code",
                &[],
            )
            .await?)
    }

    /// Adds a unit (or renames one with the same code).
    pub async fn add_unit(&self, code: &str, name: &str, service_area: &str) -> Result<(), IdentityError> {
        let code = clean(code, "the unit code", 40)?;
        if code == WHOLE_MUNICIPALITY {
            return Err(IdentityError::Invalid("the unit code * means the whole municipality".to_owned()));
        }
        let name = clean(name, "the unit name", 200)?;
        let service_area = clean(service_area, "the service area", 60)?;
        let mut tx = self.db.begin().await?;
        let mut scoped = tx.municipal(self.kommunenummer);
        scoped.execute("DELETE FROM org_units WHERE kommunenummer = $1 AND code = $2", &params![code.as_str()]).await?;
        scoped
            .execute(
                "INSERT INTO org_units (kommunenummer, code, name, service_area) VALUES ($1, $2, $3, $4)",
                &params![code.as_str(), name.as_str(), service_area.as_str()],
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Grants `role` in `unit` (a unit code or `*`) to an employee; `by` is who did it. Granting
    /// a role already held changes nothing.
    pub async fn grant_role(
        &self,
        by: &audit::Actor,
        employee_id: &str,
        role: Role,
        unit: &str,
    ) -> Result<(), IdentityError> {
        self.change_role(by, employee_id, role, unit, true).await
    }

    /// Takes `role` in `unit` from an employee; `by` is who did it.
    pub async fn revoke_role(
        &self,
        by: &audit::Actor,
        employee_id: &str,
        role: Role,
        unit: &str,
    ) -> Result<(), IdentityError> {
        self.change_role(by, employee_id, role, unit, false).await
    }

    async fn change_role(
        &self,
        by: &audit::Actor,
        employee_id: &str,
        role: Role,
        unit: &str,
        grant: bool,
    ) -> Result<(), IdentityError> {
        if self.get(employee_id).await?.is_none() {
            return Err(IdentityError::NotFound);
        }
        if unit != WHOLE_MUNICIPALITY && !self.units().await?.iter().any(|u| u.code == unit) {
            return Err(IdentityError::Invalid("no such unit".to_owned()));
        }
        if grant && role == Role::Administrator && unit != WHOLE_MUNICIPALITY {
            return Err(IdentityError::Invalid("the administrator role is for the whole municipality".to_owned()));
        }
        let takes_administrator = !grant && role == Role::Administrator;
        let mut tx = self.db.begin().await?;
        if takes_administrator {
            lock_administrators(&mut tx, self.kommunenummer).await?;
        }
        let changed = {
            let mut scoped = tx.municipal(self.kommunenummer);
            let deleted = scoped
                .execute(
                    "DELETE FROM staff_roles WHERE kommunenummer = $1 AND employee_id = $2 AND role = $3 AND unit = $4",
                    &params![employee_id, role.code(), unit],
                )
                .await?;
            if grant {
                scoped
                    .execute(
                        "INSERT INTO staff_roles (kommunenummer, employee_id, role, unit) VALUES ($1, $2, $3, $4)",
                        &params![employee_id, role.code(), unit],
                    )
                    .await?
            } else {
                deleted
            }
        };
        // Counted after the change, inside its transaction: with the administrators locked, a
        // second removal at the same moment counts after this one and is refused in its turn.
        if takes_administrator && administrators_in(&mut tx, self.kommunenummer).await? == 0 {
            tx.rollback().await?;
            return Err(IdentityError::LastAdministrator);
        }
        let action = if grant { actions::ROLE_GRANTED } else { actions::ROLE_REVOKED };
        let resource = format!("{employee_id}:{}:{unit}", role.code());
        let context = crate::security_context(by.clone(), None);
        if changed > 0 {
            audit::AuditLog::record_in(
                &mut tx,
                &context,
                &[audit::Access { action, subject: None, resource: Some(&resource) }],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[derive(serde::Deserialize)]
struct Count {
    n: i64,
}

/// Locks the administrator grants of a municipality until the transaction ends, so two
/// transactions that each take one administrator's role run one after the other. PostgreSQL
/// locks the rows, always in the same order so two such transactions cannot deadlock; SQLite
/// has one writer, and a transaction holds it from its start.
async fn lock_administrators(tx: &mut store::Tx, kommunenummer: kernel::Kommunenummer) -> Result<(), IdentityError> {
    if tx.backend() == store::Backend::Postgres {
        tx.municipal(kommunenummer)
            .fetch_all::<RoleRow>(
                "SELECT employee_id, role, unit FROM staff_roles WHERE kommunenummer = $1 AND role = $2 \
                 ORDER BY employee_id, unit FOR UPDATE",
                &params![Role::Administrator.code()],
            )
            .await?;
    }
    Ok(())
}

/// The active employees holding the administrator role, as the transaction sees them.
async fn administrators_in(tx: &mut store::Tx, kommunenummer: kernel::Kommunenummer) -> Result<i64, IdentityError> {
    let count = tx
        .municipal(kommunenummer)
        .fetch_optional::<Count>(
            "SELECT COUNT(DISTINCT r.employee_id) AS n FROM staff_roles r \
             JOIN staff s ON s.kommunenummer = r.kommunenummer AND s.id = r.employee_id \
             WHERE r.kommunenummer = $1 AND r.role = $2 AND r.unit = $3 AND s.active",
            &params![Role::Administrator.code(), WHOLE_MUNICIPALITY],
        )
        .await?;
    Ok(count.map_or(0, |c| c.n))
}
