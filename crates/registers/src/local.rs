//! The local implementation of the four registers: rows in the platform's own database. It is
//! what demo mode and tests run on, and what the synthetic population is loaded into. Every
//! change is written together with its CloudEvent in the outbox, in one transaction, so the
//! change feed can be replayed from any sequence number.

use kernel::{CloudEvent, Fnr, Kommunenummer, Language, Matrikkelnummer, OrgNr, Timestamp};
use store::{Db, Param, Table, Tx, Value, params};
use time::Date;
use time::macros::format_description;

use crate::RegisterError;
use crate::model::{
    Address, Adressebeskyttelse, Building, Contact, ContactStatus, FamilyRelation, MailboxProvider, Name, Organisation,
    OrganisationRole, Owner, Person, PersonStatus, Property, ProtectedAddress, RelationRole, Residence,
    ResidencePeriod, Sex,
};
use crate::synthetic::Population;

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

/// The columns of `persons`, in insert order; a lookup reads all but the last.
const PERSON_COLUMNS: &[&str] = &[
    "fnr",
    "given_name",
    "middle_name",
    "family_name",
    "birth_date",
    "birth_kommune",
    "birth_country",
    "sex",
    "status",
    "bosted_kommune",
    "adressebeskyttelse",
    "citizenships",
    "death_date",
    "guardian_fnr",
    "residences",
    "relations",
    "responsible_for",
    "updated_at",
];

const PERSONS: Table = Table { name: "persons", columns: PERSON_COLUMNS };

/// One residence period in the `residences` JSON column.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredResidence<A> {
    from: String,
    to: Option<String>,
    address: Option<A>,
}

/// An [`Address`] as stored, read without serde's buffering of tagged enums.
#[derive(serde::Deserialize)]
struct FlatAddress {
    #[serde(rename = "type")]
    kind: String,
    kommunenummer: Option<String>,
    adressenavn: Option<String>,
    husnummer: Option<u16>,
    husbokstav: Option<String>,
    matrikkelnummer: Option<String>,
    tilleggsnavn: Option<String>,
    postnummer: String,
    poststed: String,
}

impl FlatAddress {
    fn into_address(self) -> Result<Address, RegisterError> {
        let missing = |field: &str| RegisterError::Malformed(format!("a stored {} without {field}", self.kind));
        match self.kind.as_str() {
            "vegadresse" => Ok(Address::Vegadresse {
                kommunenummer: self.kommunenummer.clone().ok_or_else(|| missing("kommunenummer"))?,
                adressenavn: self.adressenavn.clone().ok_or_else(|| missing("adressenavn"))?,
                husnummer: self.husnummer.ok_or_else(|| missing("husnummer"))?,
                husbokstav: self.husbokstav,
                postnummer: self.postnummer,
                poststed: self.poststed,
            }),
            "matrikkeladresse" => Ok(Address::Matrikkeladresse {
                matrikkelnummer: self.matrikkelnummer.clone().ok_or_else(|| missing("matrikkelnummer"))?,
                tilleggsnavn: self.tilleggsnavn,
                postnummer: self.postnummer,
                poststed: self.poststed,
            }),
            other => Err(RegisterError::Malformed(format!("unknown address type {other:?}"))),
        }
    }
}

/// A person as the text of the columns of `persons`, built once for either write path.
struct PersonColumns {
    texts: [Option<String>; 17],
}

impl PersonColumns {
    fn new(person: &Person) -> Result<Self, RegisterError> {
        let residences: Vec<StoredResidence<&Address>> = person
            .residences
            .iter()
            .map(|period| StoredResidence {
                from: date_text(period.from),
                to: period.to.map(date_text),
                address: residence_address(&period.residence),
            })
            .collect();
        let relations: Vec<(String, RelationRole)> =
            person.relations.iter().map(|r| (r.related.as_digits(), r.role)).collect();
        let children: Vec<String> = person.parental_responsibility_for.iter().map(Fnr::as_digits).collect();
        Ok(Self {
            texts: [
                Some(person.fnr.as_digits()),
                Some(person.name.given.clone()),
                person.name.middle.clone(),
                Some(person.name.family.clone()),
                Some(date_text(person.birth_date)),
                person.birth_kommune.map(|k| k.to_string()),
                Some(person.birth_country.clone()),
                Some(enum_text(&person.sex)?),
                Some(enum_text(&person.status)?),
                person.bosted_kommune.map(|k| k.to_string()),
                Some(enum_text(&person.adressebeskyttelse)?),
                Some(person.citizenships.join(",")),
                person.death_date.map(date_text),
                person.guardian.map(|g| g.as_digits()),
                Some(json(&residences)?),
                Some(json(&relations)?),
                Some(json(&children)?),
            ],
        })
    }

    fn values(&self, now: Timestamp) -> [Value<'_>; 18] {
        let mut values = [Value::Null; 18];
        for (value, text) in values.iter_mut().zip(&self.texts) {
            *value = Value::from(text);
        }
        values[17] = Value::Int(now.millis());
        values
    }
}

/// A person from the texts of the first 17 columns of `persons`.
/// A row of `persons` as a lookup reads it: every column but `updated_at`, all text.
#[derive(serde::Deserialize)]
struct PersonRow {
    fnr: Option<String>,
    given_name: Option<String>,
    middle_name: Option<String>,
    family_name: Option<String>,
    birth_date: Option<String>,
    birth_kommune: Option<String>,
    birth_country: Option<String>,
    sex: Option<String>,
    status: Option<String>,
    bosted_kommune: Option<String>,
    adressebeskyttelse: Option<String>,
    citizenships: Option<String>,
    death_date: Option<String>,
    guardian_fnr: Option<String>,
    residences: Option<String>,
    relations: Option<String>,
    responsible_for: Option<String>,
}

fn person_from_row(row: PersonRow) -> Result<Person, RegisterError> {
    let PersonRow {
        fnr: fnr_text,
        given_name: given,
        middle_name: middle,
        family_name: family,
        birth_date: birth,
        birth_kommune,
        birth_country: country,
        sex,
        status,
        bosted_kommune: bosted,
        adressebeskyttelse: protection,
        citizenships,
        death_date: death,
        guardian_fnr: guardian,
        residences,
        relations,
        responsible_for: children,
    } = row;
    let required = |text: Option<String>, column: &str| {
        text.ok_or_else(|| RegisterError::Malformed(format!("persons.{column} is empty")))
    };
    let protection: Adressebeskyttelse = enum_from(&required(protection, "adressebeskyttelse")?)?;
    // Read through a flat shape: serde reads an internally tagged enum (Address) by buffering
    // it first, which is most of a lookup's time.
    let residences: Vec<StoredResidence<FlatAddress>> = from_json(&required(residences, "residences")?)?;
    let relations: Vec<(String, RelationRole)> = from_json(&required(relations, "relations")?)?;
    let children: Vec<String> = from_json(&required(children, "responsible_for")?)?;
    Ok(Person {
        fnr: fnr(&required(fnr_text, "fnr")?)?,
        name: Name { given: required(given, "given_name")?, middle, family: required(family, "family_name")? },
        birth_date: parse_date(&required(birth, "birth_date")?)?,
        birth_kommune: kommune(birth_kommune.as_deref())?,
        birth_country: required(country, "birth_country")?,
        sex: enum_from::<Sex>(&required(sex, "sex")?)?,
        status: enum_from::<PersonStatus>(&required(status, "status")?)?,
        bosted_kommune: kommune(bosted.as_deref())?,
        residences: residences
            .into_iter()
            .map(|stored| {
                let residence = match stored.address.map(FlatAddress::into_address).transpose()? {
                    None => Residence::Unknown,
                    Some(address) if protection.is_protected() => {
                        Residence::Protected(ProtectedAddress::new(address, protection))
                    }
                    Some(address) => Residence::Open(address),
                };
                Ok(ResidencePeriod {
                    residence,
                    from: parse_date(&stored.from)?,
                    to: stored.to.as_deref().map(parse_date).transpose()?,
                })
            })
            .collect::<Result<_, RegisterError>>()?,
        relations: relations
            .into_iter()
            .map(|(related, role)| Ok(FamilyRelation { related: fnr(&related)?, role }))
            .collect::<Result<_, RegisterError>>()?,
        parental_responsibility_for: children.iter().map(|c| fnr(c)).collect::<Result<_, _>>()?,
        citizenships: required(citizenships, "citizenships")?
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        death_date: death.as_deref().map(parse_date).transpose()?,
        guardian: guardian.as_deref().map(fnr).transpose()?,
        adressebeskyttelse: protection,
    })
}

fn residence_address(residence: &Residence) -> Option<&Address> {
    match residence {
        Residence::Open(address) => Some(address),
        Residence::Protected(protected) => Some(protected.inner()),
        Residence::Unknown => None,
    }
}

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

/// `SELECT <the 17 person columns> FROM persons`.
static PERSON_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{} WHERE fnr = $1", select_persons()));

fn select_persons() -> String {
    format!("SELECT {} FROM persons", PERSON_COLUMNS[..17].join(", "))
}

const ORGANISATIONS: Table = Table {
    name: "organisations",
    columns: &[
        "orgnr",
        "name",
        "form",
        "business_address",
        "postal_address",
        "kommune",
        "industry_code",
        "employees",
        "founded",
        "deleted",
        "bankrupt",
        "updated_at",
    ],
};
const ORGANISATION_ROLES: Table = Table { name: "organisation_roles", columns: &["orgnr", "role", "fnr"] };
const PROPERTIES: Table =
    Table { name: "properties", columns: &["matrikkelnummer", "property_kommune", "addresses", "buildings"] };
const PROPERTY_OWNERS: Table = Table {
    name: "property_owners",
    columns: &["matrikkelnummer", "owner_fnr", "owner_orgnr", "share_numerator", "share_denominator"],
};
const CONTACTS: Table = Table {
    name: "contacts",
    columns: &[
        "fnr",
        "reserved",
        "status",
        "can_be_notified",
        "email",
        "mobile",
        "mailbox_provider",
        "mailbox_address",
        "language",
        "updated_at",
    ],
};

/// Indexes a bulk load into empty tables builds once at the end instead of row by row: those
/// whose keys arrive in random order (identifiers). Indexes whose keys arrive nearly in order —
/// a batch is one municipality, properties are numbered in sequence — are cheaper to keep.
const DEFERRED_INDEXES: [&str; 6] = [
    "persons_by_fnr",
    "contacts_by_fnr",
    "organisations_by_orgnr",
    "organisation_roles_by_orgnr",
    "organisation_roles_by_person",
    "property_owners_by_person",
];

/// Where the rows of the register tables go: a bulk load's statements or a collector for
/// multi-row inserts. The mapping from our types to columns exists once, in the functions
/// below, for both.
type Sink<'s> = dyn FnMut(&Table, &[Value<'_>]) -> Result<(), RegisterError> + 's;

fn person_rows(persons: &[Person], now: Timestamp, sink: &mut Sink<'_>) -> Result<(), RegisterError> {
    for person in persons {
        sink(&PERSONS, &PersonColumns::new(person)?.values(now))?;
    }
    Ok(())
}

fn organisation_rows(organisations: &[Organisation], now: Timestamp, sink: &mut Sink<'_>) -> Result<(), RegisterError> {
    for org in organisations {
        let orgnr = org.orgnr.as_digits();
        let business = org.business_address.as_ref().map(json).transpose()?;
        let postal = org.postal_address.as_ref().map(json).transpose()?;
        let kommune = org.kommune.map(|k| k.to_string());
        let (founded, deleted) = (org.founded.map(date_text), org.deleted.map(date_text));
        sink(
            &ORGANISATIONS,
            &[
                Value::from(&orgnr),
                Value::from(&org.name),
                Value::from(&org.form),
                Value::from(&business),
                Value::from(&postal),
                Value::from(&kommune),
                Value::from(&org.industry_code),
                Value::Int(i64::from(org.employees)),
                Value::from(&founded),
                Value::from(&deleted),
                Value::Bool(org.bankrupt),
                Value::Int(now.millis()),
            ],
        )?;
        for (role, person) in &org.roles {
            let person = person.as_digits();
            sink(&ORGANISATION_ROLES, &[Value::from(&orgnr), Value::Text(role.code()), Value::from(&person)])?;
        }
    }
    Ok(())
}

fn property_rows(properties: &[Property], sink: &mut Sink<'_>) -> Result<(), RegisterError> {
    for property in properties {
        let key = property.matrikkelnummer.to_string();
        let kommune = property.matrikkelnummer.kommunenummer.to_string();
        let (addresses, buildings) = (json(&property.addresses)?, json(&property.buildings)?);
        sink(
            &PROPERTIES,
            &[Value::from(&key), Value::from(&kommune), Value::from(&addresses), Value::from(&buildings)],
        )?;
        for (owner, numerator, denominator) in &property.owners {
            let (person, organisation) = match owner {
                Owner::Person(f) => (Some(f.as_digits()), None),
                Owner::Organisation(o) => (None, Some(o.as_digits())),
            };
            sink(
                &PROPERTY_OWNERS,
                &[
                    Value::from(&key),
                    Value::from(&person),
                    Value::from(&organisation),
                    Value::Int(i64::from(*numerator)),
                    Value::Int(i64::from(*denominator)),
                ],
            )?;
        }
    }
    Ok(())
}

fn contact_rows(contacts: &[Contact], now: Timestamp, sink: &mut Sink<'_>) -> Result<(), RegisterError> {
    for contact in contacts {
        let digits = contact.fnr.as_digits();
        let status = enum_text(&contact.status)?;
        sink(
            &CONTACTS,
            &[
                Value::from(&digits),
                Value::Bool(contact.reserved),
                Value::from(&status),
                Value::Bool(contact.can_be_notified),
                Value::from(&contact.email),
                Value::from(&contact.mobile),
                Value::from(contact.mailbox.as_ref().map(|(p, _)| p.orgnr())),
                Value::from(contact.mailbox.as_ref().map(|(_, a)| a.as_str())),
                Value::from(contact.language.map(|l| l.tag())),
                Value::Int(now.millis()),
            ],
        )?;
    }
    Ok(())
}

fn population_rows(population: &Population, now: Timestamp, sink: &mut Sink<'_>) -> Result<(), RegisterError> {
    person_rows(&population.persons, now, sink)?;
    organisation_rows(&population.organisations, now, sink)?;
    property_rows(&population.properties, sink)?;
    contact_rows(&population.contacts, now, sink)
}

/// Rows collected per table, for multi-row inserts through the ordinary query path.
#[derive(Default)]
struct Collected {
    tables: Vec<(Table, Vec<Param>)>,
}

impl Collected {
    fn sink(&mut self) -> impl FnMut(&Table, &[Value<'_>]) -> Result<(), RegisterError> + '_ {
        |table, values| {
            let index = match self.tables.iter().position(|(t, _)| t.name == table.name) {
                Some(index) => index,
                None => {
                    self.tables.push((*table, Vec::new()));
                    self.tables.len() - 1
                }
            };
            self.tables[index].1.extend(values.iter().copied().map(Param::from));
            Ok(())
        }
    }

    /// Inserts everything collected, table by table in the order first seen, inside `tx`.
    async fn insert(&self, tx: &mut Tx, chunk: usize) -> Result<(), RegisterError> {
        for (table, values) in &self.tables {
            let head = format!("INSERT INTO {} ({})", table.name, table.columns.join(", "));
            insert_rows(tx, &head, table.columns.len(), values, chunk).await?;
        }
        Ok(())
    }
}

/// What [`LocalRegisters::load_in_bulk`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadReport {
    /// Persons loaded.
    pub persons: u64,
    /// Rows written, in every table.
    pub rows: u64,
    /// The engine's own account.
    pub bulk: store::BulkReport,
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

    /// Loads many persons in one transaction; for small populations and tests (a large one
    /// goes through [`LocalRegisters::load_in_bulk`]). Publishes no events: a load is the
    /// register's starting state, not a change.
    pub async fn load_persons(&self, persons: &[Person]) -> Result<(), RegisterError> {
        let mut collected = Collected::default();
        person_rows(persons, Timestamp::now(), &mut collected.sink())?;
        let mut tx = self.db.begin().await?;
        collected.insert(&mut tx, ROWS_PER_STATEMENT).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes one person (replacing what was there) inside `tx`.
    pub(crate) async fn save_person(tx: &mut Tx, person: &Person) -> Result<(), RegisterError> {
        let mut collected = Collected::default();
        person_rows(std::slice::from_ref(person), Timestamp::now(), &mut collected.sink())?;
        tx.execute("DELETE FROM persons WHERE fnr = $1", &params![person.fnr.as_digits()]).await?;
        collected.insert(tx, 1).await
    }

    /// Loads a large population — the whole country, if asked — as fast as the engine allows:
    /// see [`store::bulk`]. `batches` runs on its own thread while the previous batch is
    /// written; `progress` is called with each batch once it is committed. Into empty
    /// registers the load is all or nothing and the indexes are built once at the end; into
    /// registers with people in them, a failed batch leaves nothing and the batches before it
    /// stay. Publishes no events.
    pub async fn load_in_bulk(
        &self,
        batches: impl Iterator<Item = Population> + Send + 'static,
        mut progress: impl FnMut(&Population),
    ) -> Result<LoadReport, RegisterError> {
        if !self.db.supports_bulk() {
            // An in-memory database (tests): batch by batch through the ordinary path.
            let mut report = LoadReport { persons: 0, rows: 0, bulk: store::BulkReport::default() };
            for batch in batches {
                self.load_population(&batch).await?;
                report.persons += batch.persons.len() as u64;
                progress(&batch);
            }
            return Ok(report);
        }
        let empty = self.person_count().await? == 0;
        // Into empty registers the load is all or nothing, with every index built at the end;
        // into registers with people in them, batch by batch with the indexes kept.
        let options = if empty {
            store::BulkOptions {
                deferred_indexes: DEFERRED_INDEXES.to_vec(),
                empty_on_failure: [PERSONS, ORGANISATIONS, ORGANISATION_ROLES, PROPERTIES, PROPERTY_OWNERS, CONTACTS]
                    .iter()
                    .map(|t| t.name)
                    .collect(),
            }
        } else {
            store::BulkOptions::default()
        };
        let now = Timestamp::now();
        let write = move |batch: &Population, rows: &mut store::Rows<'_>| {
            population_rows(batch, now, &mut |table, values| rows.insert(table, values).map_err(RegisterError::from))
                .map_err(|e| match e {
                    RegisterError::Store(store) => store,
                    other => store::StoreError::Malformed(other.to_string()),
                })
        };
        let mut persons = 0_u64;
        let bulk = self
            .db
            .load_in_bulk(batches, write, &options, |batch: &Population| {
                persons += batch.persons.len() as u64;
                progress(batch);
            })
            .await?;
        Ok(LoadReport { persons, rows: bulk.rows, bulk })
    }

    /// Writes a changed person and its event in one transaction; returns the event's position
    /// in the change feed.
    pub async fn record_change(
        &self,
        person: &Person,
        event_type: &str,
        data: serde_json::Value,
    ) -> Result<store::Position, RegisterError> {
        self.record_changes(std::slice::from_ref(person), event_type, data).await
    }

    /// Writes several persons changed by one event (a birth changes the child and both parents)
    /// and the event, in one transaction. The event belongs to the first person's municipality.
    pub async fn record_changes(
        &self,
        persons: &[Person],
        event_type: &str,
        data: serde_json::Value,
    ) -> Result<store::Position, RegisterError> {
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
    pub async fn record_new_organisation(&self, organisation: &Organisation) -> Result<store::Position, RegisterError> {
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

    /// One person, with addresses, relations and responsibilities: one row, read on the
    /// engine's fastest path.
    pub async fn person(&self, id: &Fnr) -> Result<Option<Person>, RegisterError> {
        self.db
            .fetch_optional::<PersonRow>(&PERSON_SQL, &params![id.as_digits()])
            .await?
            .map(person_from_row)
            .transpose()
    }

    /// Up to [`crate::MAX_BATCH`] persons in one query; unknown identifiers are left out, the
    /// rest come in the order asked for.
    pub async fn persons(&self, ids: &[Fnr]) -> Result<Vec<Person>, RegisterError> {
        if ids.len() > crate::MAX_BATCH {
            return Err(RegisterError::TooManyInBatch(ids.len()));
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!("{} WHERE fnr IN ({})", select_persons(), list.join(", "));
        let values: Vec<Param> = ids.iter().map(|f| Param::from(f.as_digits())).collect();
        let mut found: Vec<Person> = self
            .db
            .fetch_all::<PersonRow>(&sql, &values)
            .await?
            .into_iter()
            .map(person_from_row)
            .collect::<Result<_, _>>()?;
        let order: std::collections::HashMap<Fnr, usize> = ids.iter().enumerate().map(|(i, f)| (*f, i)).collect();
        found.sort_by_key(|p| order.get(&p.fnr).copied().unwrap_or(usize::MAX));
        Ok(found)
    }

    /// How many persons the register holds, in every municipality.
    pub async fn person_count(&self) -> Result<i64, RegisterError> {
        #[derive(serde::Deserialize)]
        struct Count {
            n: i64,
        }
        let row = self.db.fetch_optional::<Count>("SELECT COUNT(*) AS n FROM persons", &[]).await?;
        Ok(row.map_or(0, |r| r.n))
    }

    /// Loads a generated population in one transaction, through the ordinary query path; for
    /// small populations and tests. Large ones go through [`LocalRegisters::load_in_bulk`].
    pub async fn load_population(&self, population: &Population) -> Result<(), RegisterError> {
        let mut collected = Collected::default();
        population_rows(population, Timestamp::now(), &mut collected.sink())?;
        let mut tx = self.db.begin().await?;
        collected.insert(&mut tx, ROWS_PER_STATEMENT).await?;
        tx.commit().await?;
        Ok(())
    }

    /// How many persons live in a municipality.
    pub async fn resident_count(&self, kommunenummer: Kommunenummer) -> Result<i64, RegisterError> {
        #[derive(serde::Deserialize)]
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

    async fn insert_organisations(tx: &mut Tx, organisations: &[Organisation]) -> Result<(), RegisterError> {
        let mut collected = Collected::default();
        organisation_rows(organisations, Timestamp::now(), &mut collected.sink())?;
        collected.insert(tx, ROWS_PER_STATEMENT).await
    }

    /// One organisation with its roles.
    pub async fn organisation(&self, orgnr: &OrgNr) -> Result<Option<Organisation>, RegisterError> {
        #[derive(serde::Deserialize)]
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
        #[derive(serde::Deserialize)]
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
            // The local register keeps main units only.
            parent: None,
        }))
    }

    /// The organisations where a person holds a role.
    pub async fn roles_of(&self, person: &Fnr) -> Result<Vec<(OrgNr, OrganisationRole)>, RegisterError> {
        #[derive(serde::Deserialize)]
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

    /// The persons `guardian` is verge for (index `persons_by_guardian`).
    pub async fn wards_of(&self, guardian: &Fnr) -> Result<Vec<Fnr>, RegisterError> {
        #[derive(serde::Deserialize)]
        struct Row {
            fnr: String,
        }
        let rows = self
            .db
            .fetch_all::<Row>(
                "SELECT fnr FROM persons WHERE guardian_fnr = $1 ORDER BY fnr LIMIT 100",
                &params![guardian.as_digits()],
            )
            .await?;
        rows.iter().map(|r| fnr(&r.fnr)).collect()
    }

    /// One property with its owners.
    pub async fn property(&self, matrikkelnummer: &Matrikkelnummer) -> Result<Option<Property>, RegisterError> {
        #[derive(serde::Deserialize)]
        struct Row {
            addresses: String,
            buildings: String,
        }
        #[derive(serde::Deserialize)]
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

    /// KRR entries for up to 1,000 persons; persons without an entry are left out.
    pub async fn contacts(&self, persons: &[Fnr]) -> Result<Vec<Contact>, RegisterError> {
        #[derive(serde::Deserialize)]
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
