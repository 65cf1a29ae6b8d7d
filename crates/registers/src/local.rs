//! The local implementation of the four registers: rows in the platform's own database. It is
//! what demo mode and tests run on, and what the synthetic population is loaded into. Every
//! change is written together with its CloudEvent in the outbox, in one transaction, so the
//! change feed can be replayed from any sequence number.

use kernel::{CloudEvent, Fnr, Kommunenummer, Language, Matrikkelnummer, OrgNr, Timestamp};
use store::{Db, Param, Tx, params};
use time::Date;
use time::macros::format_description;

use crate::RegisterError;
use crate::model::{
    Address, Adressebeskyttelse, Building, Contact, ContactStatus, FamilyRelation, MailboxProvider, Name, Organisation,
    OrganisationRole, Owner, Person, PersonStatus, Property, ProtectedAddress, RelationRole, Residence,
    ResidencePeriod, Sex,
};

/// The registers as rows in the platform's database.
#[derive(Debug, Clone)]
pub struct LocalRegisters {
    db: Db,
}

pub(crate) fn date_text(date: Date) -> String {
    date.to_string()
}

pub(crate) fn parse_date(text: &str) -> Result<Date, RegisterError> {
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map_err(|_| RegisterError::Malformed(format!("date {text:?}")))
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, RegisterError> {
    serde_json::to_string(value).map_err(|e| RegisterError::Malformed(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, RegisterError> {
    serde_json::from_str(text).map_err(|e| RegisterError::Malformed(e.to_string()))
}

fn enum_text<T: serde::Serialize>(value: &T) -> Result<String, RegisterError> {
    match serde_json::to_value(value).map_err(|e| RegisterError::Malformed(e.to_string()))? {
        serde_json::Value::String(text) => Ok(text),
        other => Err(RegisterError::Malformed(format!("expected a string, got {other}"))),
    }
}

fn enum_from<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, RegisterError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| RegisterError::Malformed(format!("unknown value {text:?}")))
}

fn fnr(text: &str) -> Result<Fnr, RegisterError> {
    Fnr::parse(text).map_err(|e| RegisterError::Malformed(format!("stored fødselsnummer: {e}")))
}

fn kommune(text: Option<&str>) -> Result<Option<Kommunenummer>, RegisterError> {
    text.map(|k| Kommunenummer::parse(k).map_err(|e| RegisterError::Malformed(e.to_string()))).transpose()
}

/// Columns of `persons`, in insert order.
const PERSON_COLUMNS: &str = "fnr, given_name, middle_name, family_name, birth_date, birth_kommune, birth_country, \
     sex, status, bosted_kommune, adressebeskyttelse, citizenships, death_date, guardian_fnr, updated_at";
const PERSON_WIDTH: usize = 15;

/// Builds `($1, $2, ...), ($n, ...)` for `rows` rows of `width` values.
fn placeholders(rows: usize, width: usize) -> String {
    let mut sql = String::with_capacity(rows * width * 5);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..width {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * width + column + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

fn person_params(person: &Person, now: Timestamp, out: &mut Vec<Param>) -> Result<(), RegisterError> {
    out.extend(params![
        person.fnr.as_digits(),
        person.name.given.as_str(),
        person.name.middle.clone(),
        person.name.family.as_str(),
        date_text(person.birth_date),
        person.birth_kommune,
        person.birth_country.as_str(),
        enum_text(&person.sex)?,
        enum_text(&person.status)?,
        person.bosted_kommune,
        enum_text(&person.adressebeskyttelse)?,
        person.citizenships.join(","),
        person.death_date.map(date_text),
        person.guardian.map(|g| g.as_digits()),
        now,
    ]);
    Ok(())
}

fn residence_address(residence: &Residence) -> Option<&Address> {
    match residence {
        Residence::Open(address) => Some(address),
        Residence::Protected(protected) => Some(protected.inner()),
        Residence::Unknown => None,
    }
}

/// The rows of a batch of persons, split by table, ready for multi-row inserts.
#[derive(Default)]
struct PersonRows {
    persons: Vec<Param>,
    residences: Vec<Param>,
    relations: Vec<Param>,
    responsibility: Vec<Param>,
}

impl PersonRows {
    fn add(&mut self, person: &Person, now: Timestamp) -> Result<(), RegisterError> {
        person_params(person, now, &mut self.persons)?;
        let digits = person.fnr.as_digits();
        for period in &person.residences {
            let address = residence_address(&period.residence).map(json).transpose()?;
            self.residences.extend(params![digits.as_str(), date_text(period.from), period.to.map(date_text), address]);
        }
        for relation in &person.relations {
            self.relations.extend(params![digits.as_str(), relation.related.as_digits(), enum_text(&relation.role)?]);
        }
        for child in &person.parental_responsibility_for {
            self.responsibility.extend(params![digits.as_str(), child.as_digits()]);
        }
        Ok(())
    }
}

/// Inserts `params` (a whole number of rows of `width`) in statements of at most `chunk` rows.
async fn insert_rows(
    tx: &mut Tx,
    head: &str,
    width: usize,
    params: &[Param],
    chunk: usize,
) -> Result<(), RegisterError> {
    for rows in params.chunks(width * chunk) {
        let sql = format!("{head} VALUES {}", placeholders(rows.len() / width, width));
        tx.execute(&sql, rows).await?;
    }
    Ok(())
}

/// How many rows one multi-row INSERT carries: below both engines' limits on bound values.
const ROWS_PER_STATEMENT: usize = 500;

#[derive(sqlx::FromRow)]
struct PersonRow {
    fnr: String,
    given_name: String,
    middle_name: Option<String>,
    family_name: String,
    birth_date: String,
    birth_kommune: Option<String>,
    birth_country: String,
    sex: String,
    status: String,
    bosted_kommune: Option<String>,
    adressebeskyttelse: String,
    citizenships: String,
    death_date: Option<String>,
    guardian_fnr: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ResidenceRow {
    valid_from: String,
    valid_to: Option<String>,
    address: Option<String>,
}

#[derive(sqlx::FromRow)]
struct RelationRow {
    related_fnr: String,
    role: String,
}

#[derive(sqlx::FromRow)]
struct ChildRow {
    child_fnr: String,
}

impl LocalRegisters {
    /// The registers in `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Loads many persons in one transaction, with multi-row inserts; for the synthetic
    /// population. Publishes no events: a load is the register's starting state, not a change.
    pub async fn load_persons(&self, persons: &[Person]) -> Result<(), RegisterError> {
        let now = Timestamp::now();
        let mut rows = PersonRows::default();
        for person in persons {
            rows.add(person, now)?;
        }
        let mut tx = self.db.begin().await?;
        insert_rows(
            &mut tx,
            &format!("INSERT INTO persons ({PERSON_COLUMNS})"),
            PERSON_WIDTH,
            &rows.persons,
            ROWS_PER_STATEMENT,
        )
        .await?;
        insert_rows(
            &mut tx,
            "INSERT INTO person_residences (fnr, valid_from, valid_to, address)",
            4,
            &rows.residences,
            ROWS_PER_STATEMENT,
        )
        .await?;
        insert_rows(
            &mut tx,
            "INSERT INTO family_relations (fnr, related_fnr, role)",
            3,
            &rows.relations,
            ROWS_PER_STATEMENT,
        )
        .await?;
        insert_rows(
            &mut tx,
            "INSERT INTO parental_responsibility (parent_fnr, child_fnr)",
            2,
            &rows.responsibility,
            ROWS_PER_STATEMENT,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes one person (replacing what was there) inside `tx`.
    pub(crate) async fn save_person(tx: &mut Tx, person: &Person) -> Result<(), RegisterError> {
        let digits = person.fnr.as_digits();
        for table in ["person_residences", "family_relations"] {
            tx.execute(&format!("DELETE FROM {table} WHERE fnr = $1"), &params![digits.as_str()]).await?;
        }
        tx.execute("DELETE FROM parental_responsibility WHERE parent_fnr = $1", &params![digits.as_str()]).await?;
        tx.execute("DELETE FROM persons WHERE fnr = $1", &params![digits.as_str()]).await?;
        let mut rows = PersonRows::default();
        rows.add(person, Timestamp::now())?;
        insert_rows(tx, &format!("INSERT INTO persons ({PERSON_COLUMNS})"), PERSON_WIDTH, &rows.persons, 1).await?;
        insert_rows(tx, "INSERT INTO person_residences (fnr, valid_from, valid_to, address)", 4, &rows.residences, 100)
            .await?;
        insert_rows(tx, "INSERT INTO family_relations (fnr, related_fnr, role)", 3, &rows.relations, 100).await?;
        insert_rows(tx, "INSERT INTO parental_responsibility (parent_fnr, child_fnr)", 2, &rows.responsibility, 100)
            .await?;
        Ok(())
    }

    /// Writes a changed person and its event in one transaction; returns the event's sequence
    /// number in the change feed.
    pub async fn record_change(
        &self,
        person: &Person,
        event_type: &str,
        data: serde_json::Value,
    ) -> Result<i64, RegisterError> {
        self.record_changes(std::slice::from_ref(person), event_type, data).await
    }

    /// Writes several persons changed by one event (a birth changes the child and both parents)
    /// and the event, in one transaction. The event belongs to the first person's municipality.
    pub async fn record_changes(
        &self,
        persons: &[Person],
        event_type: &str,
        data: serde_json::Value,
    ) -> Result<i64, RegisterError> {
        let mut tx = self.db.begin().await?;
        for person in persons {
            Self::save_person(&mut tx, person).await?;
        }
        let kommune = persons.first().and_then(|p| p.bosted_kommune);
        let seq = tx
            .publish(&CloudEvent::new("/allmenning/registers/folkeregisteret", event_type, kommune, None, data))
            .await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Registers a new organisation with its roles and publishes the event, in one transaction.
    pub async fn record_new_organisation(&self, organisation: &Organisation) -> Result<i64, RegisterError> {
        let mut tx = self.db.begin().await?;
        Self::insert_organisations(&mut tx, std::slice::from_ref(organisation)).await?;
        let data = serde_json::json!({ "orgnr": organisation.orgnr.as_digits() });
        let seq = tx
            .publish(&CloudEvent::new(
                "/allmenning/registers/enhetsregisteret",
                crate::simulate::event_types::ORGANISATION_REGISTERED,
                organisation.kommune,
                Some(organisation.orgnr.as_digits()),
                data,
            ))
            .await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// One person, with addresses, relations and responsibilities.
    pub async fn person(&self, id: &Fnr) -> Result<Option<Person>, RegisterError> {
        let digits = id.as_digits();
        let Some(row) = self
            .db
            .fetch_optional::<PersonRow>(
                &format!("SELECT {PERSON_COLUMNS} FROM persons WHERE fnr = $1"),
                &params![digits.as_str()],
            )
            .await?
        else {
            return Ok(None);
        };
        let residences = self
            .db
            .fetch_all::<ResidenceRow>(
                "SELECT valid_from, valid_to, address FROM person_residences WHERE fnr = $1 ORDER BY valid_from DESC",
                &params![digits.as_str()],
            )
            .await?;
        let relations = self
            .db
            .fetch_all::<RelationRow>(
                "SELECT related_fnr, role FROM family_relations WHERE fnr = $1 ORDER BY related_fnr",
                &params![digits.as_str()],
            )
            .await?;
        let children = self
            .db
            .fetch_all::<ChildRow>(
                "SELECT child_fnr FROM parental_responsibility WHERE parent_fnr = $1 ORDER BY child_fnr",
                &params![digits.as_str()],
            )
            .await?;
        let protection: Adressebeskyttelse = enum_from(&row.adressebeskyttelse)?;
        let residences = residences
            .into_iter()
            .map(|r| {
                let residence = match r.address {
                    None => Residence::Unknown,
                    Some(text) => {
                        let address: Address = from_json(&text)?;
                        if protection.is_protected() {
                            Residence::Protected(ProtectedAddress::new(address, protection))
                        } else {
                            Residence::Open(address)
                        }
                    }
                };
                Ok(ResidencePeriod {
                    residence,
                    from: parse_date(&r.valid_from)?,
                    to: r.valid_to.as_deref().map(parse_date).transpose()?,
                })
            })
            .collect::<Result<Vec<_>, RegisterError>>()?;
        Ok(Some(Person {
            fnr: fnr(&row.fnr)?,
            name: Name { given: row.given_name, middle: row.middle_name, family: row.family_name },
            birth_date: parse_date(&row.birth_date)?,
            birth_kommune: kommune(row.birth_kommune.as_deref())?,
            birth_country: row.birth_country,
            sex: enum_from::<Sex>(&row.sex)?,
            status: enum_from::<PersonStatus>(&row.status)?,
            bosted_kommune: kommune(row.bosted_kommune.as_deref())?,
            residences,
            relations: relations
                .into_iter()
                .map(|r| {
                    Ok(FamilyRelation { related: fnr(&r.related_fnr)?, role: enum_from::<RelationRole>(&r.role)? })
                })
                .collect::<Result<_, RegisterError>>()?,
            parental_responsibility_for: children.iter().map(|c| fnr(&c.child_fnr)).collect::<Result<_, _>>()?,
            citizenships: row.citizenships.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect(),
            death_date: row.death_date.as_deref().map(parse_date).transpose()?,
            guardian: row.guardian_fnr.as_deref().map(fnr).transpose()?,
            adressebeskyttelse: protection,
        }))
    }

    /// How many persons the register holds, in every municipality.
    pub async fn person_count(&self) -> Result<i64, RegisterError> {
        #[derive(sqlx::FromRow)]
        struct Count {
            n: i64,
        }
        let row = self.db.fetch_optional::<Count>("SELECT COUNT(*) AS n FROM persons", &[]).await?;
        Ok(row.map_or(0, |r| r.n))
    }

    /// Loads a whole generated population: persons in batches (calling `progress` with the
    /// number loaded so far), then organisations, properties and KRR entries.
    pub async fn load_population(
        &self,
        population: &crate::synthetic::Population,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<(), RegisterError> {
        const BATCH: usize = 20_000;
        let total = population.persons.len();
        for (index, batch) in population.persons.chunks(BATCH).enumerate() {
            self.load_persons(batch).await?;
            progress((index * BATCH + batch.len()).min(total), total);
        }
        self.load_organisations(&population.organisations).await?;
        self.load_properties(&population.properties).await?;
        for batch in population.contacts.chunks(BATCH) {
            self.load_contacts(batch).await?;
        }
        Ok(())
    }

    /// How many persons live in a municipality.
    pub async fn resident_count(&self, kommunenummer: Kommunenummer) -> Result<i64, RegisterError> {
        #[derive(sqlx::FromRow)]
        struct Count {
            n: i64,
        }
        let row = self
            .db
            .fetch_optional::<Count>(
                "SELECT COUNT(*) AS n FROM persons WHERE bosted_kommune = $1 AND status <> 'doed'",
                &params![kommunenummer],
            )
            .await?;
        Ok(row.map_or(0, |r| r.n))
    }

    /// Loads organisations with their roles, in one transaction.
    pub async fn load_organisations(&self, organisations: &[Organisation]) -> Result<(), RegisterError> {
        let mut tx = self.db.begin().await?;
        Self::insert_organisations(&mut tx, organisations).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_organisations(tx: &mut Tx, organisations: &[Organisation]) -> Result<(), RegisterError> {
        let now = Timestamp::now();
        let mut rows = Vec::new();
        let mut roles = Vec::new();
        for org in organisations {
            rows.extend(params![
                org.orgnr.as_digits(),
                org.name.as_str(),
                org.form.as_str(),
                org.business_address.as_ref().map(json).transpose()?,
                org.postal_address.as_ref().map(json).transpose()?,
                org.kommune,
                org.industry_code.clone(),
                i64::from(org.employees),
                org.founded.map(date_text),
                org.deleted.map(date_text),
                org.bankrupt,
                now,
            ]);
            for (role, person) in &org.roles {
                roles.extend(params![org.orgnr.as_digits(), role.code(), person.as_digits()]);
            }
        }
        insert_rows(
            tx,
            "INSERT INTO organisations (orgnr, name, form, business_address, postal_address, kommune, industry_code, \
             employees, founded, deleted, bankrupt, updated_at)",
            12,
            &rows,
            ROWS_PER_STATEMENT,
        )
        .await?;
        insert_rows(tx, "INSERT INTO organisation_roles (orgnr, role, fnr)", 3, &roles, ROWS_PER_STATEMENT).await?;
        Ok(())
    }

    /// One organisation with its roles.
    pub async fn organisation(&self, orgnr: &OrgNr) -> Result<Option<Organisation>, RegisterError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            orgnr: String,
            name: String,
            form: String,
            business_address: Option<String>,
            postal_address: Option<String>,
            kommune: Option<String>,
            industry_code: Option<String>,
            employees: i64,
            founded: Option<String>,
            deleted: Option<String>,
            bankrupt: bool,
        }
        #[derive(sqlx::FromRow)]
        struct RoleRow {
            role: String,
            fnr: String,
        }
        let digits = orgnr.as_digits();
        let Some(row) = self
            .db
            .fetch_optional::<Row>(
                "SELECT orgnr, name, form, business_address, postal_address, kommune, industry_code, employees, founded, \
                 deleted, bankrupt FROM organisations WHERE orgnr = $1",
                &params![digits.as_str()],
            )
            .await?
        else {
            return Ok(None);
        };
        let roles = self
            .db
            .fetch_all::<RoleRow>(
                "SELECT role, fnr FROM organisation_roles WHERE orgnr = $1 ORDER BY role, fnr",
                &params![digits.as_str()],
            )
            .await?;
        Ok(Some(Organisation {
            orgnr: OrgNr::parse(&row.orgnr).map_err(|e| RegisterError::Malformed(e.to_string()))?,
            name: row.name,
            form: row.form,
            business_address: row.business_address.as_deref().map(from_json).transpose()?,
            postal_address: row.postal_address.as_deref().map(from_json).transpose()?,
            kommune: kommune(row.kommune.as_deref())?,
            industry_code: row.industry_code,
            employees: u32::try_from(row.employees).unwrap_or(0),
            founded: row.founded.as_deref().map(parse_date).transpose()?,
            deleted: row.deleted.as_deref().map(parse_date).transpose()?,
            bankrupt: row.bankrupt,
            roles: roles
                .into_iter()
                .filter_map(|r| Some((OrganisationRole::from_code(&r.role)?, r.fnr)))
                .map(|(role, person)| Ok((role, fnr(&person)?)))
                .collect::<Result<_, RegisterError>>()?,
        }))
    }

    /// The organisations where a person holds a role.
    pub async fn roles_of(&self, person: &Fnr) -> Result<Vec<(OrgNr, OrganisationRole)>, RegisterError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            orgnr: String,
            role: String,
        }
        let rows = self
            .db
            .fetch_all::<Row>(
                "SELECT orgnr, role FROM organisation_roles WHERE fnr = $1 ORDER BY orgnr, role",
                &params![person.as_digits()],
            )
            .await?;
        rows.into_iter()
            .filter_map(|r| Some((r.orgnr, OrganisationRole::from_code(&r.role)?)))
            .map(|(orgnr, role)| Ok((OrgNr::parse(&orgnr).map_err(|e| RegisterError::Malformed(e.to_string()))?, role)))
            .collect()
    }

    /// Loads properties with their owners, in one transaction.
    pub async fn load_properties(&self, properties: &[Property]) -> Result<(), RegisterError> {
        let mut rows = Vec::new();
        let mut owners = Vec::new();
        for property in properties {
            let key = property.matrikkelnummer.to_string();
            rows.extend(params![
                key.as_str(),
                property.matrikkelnummer.kommunenummer,
                json(&property.addresses)?,
                json(&property.buildings)?,
            ]);
            for (owner, numerator, denominator) in &property.owners {
                let (person, organisation) = match owner {
                    Owner::Person(f) => (Some(f.as_digits()), None),
                    Owner::Organisation(o) => (None, Some(o.as_digits())),
                };
                owners.extend(params![
                    key.as_str(),
                    person,
                    organisation,
                    i64::from(*numerator),
                    i64::from(*denominator)
                ]);
            }
        }
        let mut tx = self.db.begin().await?;
        insert_rows(
            &mut tx,
            "INSERT INTO properties (matrikkelnummer, property_kommune, addresses, buildings)",
            4,
            &rows,
            ROWS_PER_STATEMENT,
        )
        .await?;
        insert_rows(
            &mut tx,
            "INSERT INTO property_owners (matrikkelnummer, owner_fnr, owner_orgnr, share_numerator, share_denominator)",
            5,
            &owners,
            ROWS_PER_STATEMENT,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One property with its owners.
    pub async fn property(&self, matrikkelnummer: &Matrikkelnummer) -> Result<Option<Property>, RegisterError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            addresses: String,
            buildings: String,
        }
        #[derive(sqlx::FromRow)]
        struct OwnerRow {
            owner_fnr: Option<String>,
            owner_orgnr: Option<String>,
            share_numerator: i64,
            share_denominator: i64,
        }
        let key = matrikkelnummer.to_string();
        let Some(row) = self
            .db
            .fetch_optional::<Row>(
                "SELECT addresses, buildings FROM properties WHERE matrikkelnummer = $1",
                &params![key.as_str()],
            )
            .await?
        else {
            return Ok(None);
        };
        let owners = self
            .db
            .fetch_all::<OwnerRow>(
                "SELECT owner_fnr, owner_orgnr, share_numerator, share_denominator FROM property_owners \
                 WHERE matrikkelnummer = $1 ORDER BY COALESCE(owner_fnr, owner_orgnr)",
                &params![key.as_str()],
            )
            .await?;
        let addresses: Vec<Address> = from_json(&row.addresses)?;
        let buildings: Vec<Building> = from_json(&row.buildings)?;
        let owners = owners
            .into_iter()
            .map(|o| {
                let owner = match (o.owner_fnr, o.owner_orgnr) {
                    (Some(f), _) => Owner::Person(fnr(&f)?),
                    (None, Some(org)) => {
                        Owner::Organisation(OrgNr::parse(&org).map_err(|e| RegisterError::Malformed(e.to_string()))?)
                    }
                    (None, None) => return Err(RegisterError::Malformed("owner without id".to_owned())),
                };
                Ok((
                    owner,
                    u32::try_from(o.share_numerator).unwrap_or(0),
                    u32::try_from(o.share_denominator).unwrap_or(1),
                ))
            })
            .collect::<Result<_, RegisterError>>()?;
        Ok(Some(Property { matrikkelnummer: *matrikkelnummer, addresses, owners, buildings }))
    }

    /// Loads KRR entries, in one transaction.
    pub async fn load_contacts(&self, contacts: &[Contact]) -> Result<(), RegisterError> {
        let now = Timestamp::now();
        let mut rows = Vec::new();
        for contact in contacts {
            rows.extend(params![
                contact.fnr.as_digits(),
                contact.reserved,
                enum_text(&contact.status)?,
                contact.can_be_notified,
                contact.email.clone(),
                contact.mobile.clone(),
                contact.mailbox.as_ref().map(|(p, _)| p.orgnr()),
                contact.mailbox.as_ref().map(|(_, a)| a.clone()),
                contact.language.map(|l| l.tag()),
                now,
            ]);
        }
        let mut tx = self.db.begin().await?;
        insert_rows(
            &mut tx,
            "INSERT INTO contacts (fnr, reserved, status, can_be_notified, email, mobile, mailbox_provider, mailbox_address, \
             language, updated_at)",
            10,
            &rows,
            ROWS_PER_STATEMENT,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// KRR entries for up to 1,000 persons; persons without an entry are left out.
    pub async fn contacts(&self, persons: &[Fnr]) -> Result<Vec<Contact>, RegisterError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            fnr: String,
            reserved: bool,
            status: String,
            can_be_notified: bool,
            email: Option<String>,
            mobile: Option<String>,
            mailbox_provider: Option<String>,
            mailbox_address: Option<String>,
            language: Option<String>,
        }
        if persons.len() > crate::MAX_BATCH {
            return Err(RegisterError::TooManyInBatch(persons.len()));
        }
        if persons.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (1..=persons.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT fnr, reserved, status, can_be_notified, email, mobile, mailbox_provider, mailbox_address, language \
             FROM contacts WHERE fnr IN ({}) ORDER BY fnr",
            list.join(", ")
        );
        let values: Vec<Param> = persons.iter().map(|f| Param::from(f.as_digits())).collect();
        let rows = self.db.fetch_all::<Row>(&sql, &values).await?;
        rows.into_iter()
            .map(|r| {
                let mailbox = match (r.mailbox_provider.as_deref(), r.mailbox_address) {
                    (Some("984661185"), Some(address)) => Some((MailboxProvider::Digipost, address)),
                    (Some("922020175"), Some(address)) => Some((MailboxProvider::EBoks, address)),
                    _ => None,
                };
                Ok(Contact {
                    fnr: fnr(&r.fnr)?,
                    reserved: r.reserved,
                    status: enum_from::<ContactStatus>(&r.status)?,
                    can_be_notified: r.can_be_notified,
                    email: r.email,
                    mobile: r.mobile,
                    mailbox,
                    language: r.language.as_deref().and_then(|l| l.parse::<Language>().ok()),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_every_value() {
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholders(1, 1), "($1)");
    }
}
