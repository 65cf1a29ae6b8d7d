//! The local registers on both database backends: a generated municipality loads, reads back
//! as it was generated, keeps protected addresses closed, and records changes in the feed.

use kernel::{Fnr, Kommunenummer};
use registers::model::{Adressebeskyttelse, PersonStatus, Residence};
use registers::synthetic::{self, Persona, PopulationSpec};
use registers::{
    Caller, ContactSource, LocalRegisters, OrganisationSource, PersonSource, PropertySource, RegisterError,
};
use store::testing::TestDatabase;

async fn loaded(residents: u32) -> (TestDatabase, LocalRegisters, synthetic::Population) {
    let (guard, db) = TestDatabase::migrated(schema()).await.expect("database");
    let spec = PopulationSpec { kommunenummer: Kommunenummer::parse("4632").expect("Austrheim"), residents, seed: 42 };
    let population = synthetic::generate(&spec, |_, _| {});
    let registers = LocalRegisters::new(db);
    registers.load_population(&population).await.expect("load");
    (guard, registers, population)
}

/// The index definitions of a database, by name.
async fn indexes(db: &store::Db) -> Vec<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Index {
        name: String,
        definition: String,
    }
    let sql = match db.backend() {
        store::Backend::Sqlite => {
            "SELECT name, sql AS definition FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
        }
        store::Backend::Postgres => {
            "SELECT indexname AS name, indexdef AS definition FROM pg_indexes \
             WHERE schemaname = current_schema() ORDER BY indexname"
        }
    };
    db.fetch_all::<Index>(sql, &[]).await.expect("indexes").into_iter().map(|i| (i.name, i.definition)).collect()
}

/// How long a test waits for the change feed (on PostgreSQL another test's transaction that
/// began earlier holds it back until it ends).
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

fn schema() -> store::Schema {
    store::Schema::new(&[&audit::MIGRATIONS, &registers::MIGRATIONS]).expect("schema")
}

#[tokio::test]
async fn a_bulk_load_reads_back_exactly_and_rebuilds_its_indexes() {
    let (_guard, db) = TestDatabase::migrated(schema()).await.expect("database");
    let before = indexes(&db).await;
    let spec =
        PopulationSpec { kommunenummer: Kommunenummer::parse("4632").expect("Austrheim"), residents: 900, seed: 5 };
    // The same batches as the load below, flattened.
    let mut expected = synthetic::Population::default();
    for batch in synthetic::batches(&spec, 400) {
        expected.persons.extend(batch.persons);
        expected.organisations.extend(batch.organisations);
        expected.properties.extend(batch.properties);
        expected.contacts.extend(batch.contacts);
    }
    let registers = LocalRegisters::new(db.clone());
    let mut seen = Vec::new();
    let report = registers
        .load_in_bulk(synthetic::batches(&spec, 400), |batch| seen.push(batch.persons.len()))
        .await
        .expect("bulk load");
    assert!(seen.len() >= 2, "several batches, each reported: {seen:?}");
    assert_eq!(report.persons, u64::try_from(expected.persons.len()).expect("count"));
    let rows = expected.persons.len()
        + expected.organisations.iter().map(|o| 1 + o.roles.len()).sum::<usize>()
        + expected.properties.iter().map(|p| 1 + p.owners.len()).sum::<usize>()
        + expected.contacts.len();
    assert_eq!(report.rows, u64::try_from(rows).expect("count"), "every row is counted once");
    assert_eq!(indexes(&db).await, before, "the deferred indexes are back, exactly as migrated");

    for person in &expected.persons {
        let read = PersonSource::person(&registers, &person.fnr).await.expect("lookup").expect("exists");
        assert_eq!(&read, person);
    }
    let ids: Vec<Fnr> = expected.persons.iter().rev().take(1000).map(|p| p.fnr).collect();
    let batch = PersonSource::persons(&registers, &ids).await.expect("batch");
    assert_eq!(batch.iter().map(|p| p.fnr).collect::<Vec<_>>(), ids, "in the order asked for");
    for organisation in &expected.organisations {
        let read =
            OrganisationSource::organisation(&registers, &organisation.orgnr).await.expect("lookup").expect("exists");
        assert_eq!(&read, organisation);
    }
    for property in expected.properties.iter().step_by(5) {
        let read =
            PropertySource::property(&registers, &property.matrikkelnummer).await.expect("lookup").expect("exists");
        assert_eq!(&read, property);
    }
    let ids: Vec<Fnr> = expected.contacts.iter().take(1000).map(|c| c.fnr).collect();
    assert_eq!(ContactSource::contacts(&registers, &ids).await.expect("contacts").len(), ids.len());
}

#[tokio::test]
async fn a_bulk_load_that_fails_keeps_what_was_committed_and_nothing_of_the_failed_batch() {
    let (_guard, db) = TestDatabase::migrated(schema()).await.expect("database");
    let registers = LocalRegisters::new(db.clone());
    let spec =
        PopulationSpec { kommunenummer: Kommunenummer::parse("4632").expect("Austrheim"), residents: 300, seed: 8 };
    let first = synthetic::generate(&spec, |_, _| {});
    registers.load_population(&first).await.expect("first load");
    let count = registers.person_count().await.expect("count");
    let before = indexes(&db).await;
    // The same population again: its first person is already there, so the batch conflicts.
    let again = synthetic::batches(&spec, 10_000);
    let result = registers.load_in_bulk(again, |_| {}).await;
    assert!(matches!(result, Err(RegisterError::Store(store::StoreError::Conflict(_)))), "{result:?}");
    assert_eq!(registers.person_count().await.expect("count"), count, "nothing of the failed batch stays");
    assert_eq!(indexes(&db).await, before);
}

#[tokio::test]
async fn a_bulk_load_into_empty_registers_is_all_or_nothing() {
    let (_guard, db) = TestDatabase::migrated(schema()).await.expect("database");
    let before = indexes(&db).await;
    let registers = LocalRegisters::new(db.clone());
    let spec =
        PopulationSpec { kommunenummer: Kommunenummer::parse("4632").expect("Austrheim"), residents: 600, seed: 9 };
    let batches: Vec<synthetic::Population> = synthetic::batches(&spec, 200).collect();
    assert!(batches.len() >= 3);
    // The first batch twice: nothing stops it while the unique indexes are deferred, so the
    // duplicates are found when they are built, and the whole load is taken back out.
    let source = batches.clone().into_iter().chain(batches.into_iter().take(1));
    let result = registers.load_in_bulk(source, |_| {}).await;
    assert!(matches!(result, Err(RegisterError::Store(store::StoreError::Conflict(_)))), "{result:?}");
    assert_eq!(registers.person_count().await.expect("count"), 0, "nothing stays");
    assert!(registers.organisation(&registers_first_orgnr(&spec)).await.expect("lookup").is_none());
    assert_eq!(indexes(&db).await, before, "every index is back");
    // And the registers still take a good load afterwards.
    registers.load_in_bulk(synthetic::batches(&spec, 200), |_| {}).await.expect("a clean load");
    assert!(registers.person_count().await.expect("count") >= 600);
}

fn registers_first_orgnr(spec: &PopulationSpec) -> kernel::OrgNr {
    synthetic::batches(spec, 200).next().expect("a batch").organisations[0].orgnr
}

#[tokio::test]
async fn the_person_rows_migration_carries_existing_persons_over() {
    let guard = TestDatabase::create().await.expect("database");
    let db = store::Db::connect(&guard.url, schema()).await.expect("connect");
    db.migrate_until("registers", 1).await.expect("migrate to registers 1");
    let ingrid = Persona::ParentOfNewborn.fnr().as_digits();
    let child = "0".repeat(11);
    db.execute(
        "INSERT INTO persons (fnr, given_name, family_name, birth_date, birth_country, sex, status, \
         adressebeskyttelse, citizenships, updated_at) VALUES ($1, 'Ingrid', 'Solberg', '1992-03-14', 'NOR', \
         'female', 'bosatt', 'ugradert', 'NOR', 0)",
        &store::params![ingrid.as_str()],
    )
    .await
    .expect("person");
    let address = r#"{"type":"vegadresse","kommunenummer":"4632","adressenavn":"Storgata","husnummer":1,"husbokstav":null,"postnummer":"5943","poststed":"AUSTRHEIM"}"#;
    for (from, to) in [("2010-01-01", Some("2019-06-01")), ("2019-06-01", None)] {
        db.execute(
            "INSERT INTO person_residences (fnr, valid_from, valid_to, address) VALUES ($1, $2, $3, $4)",
            &store::params![ingrid.as_str(), from, to.map(str::to_owned), address],
        )
        .await
        .expect("residence");
    }
    db.execute(
        "INSERT INTO family_relations (fnr, related_fnr, role) VALUES ($1, $2, 'barn')",
        &store::params![ingrid.as_str(), child.as_str()],
    )
    .await
    .expect("relation");
    db.execute(
        "INSERT INTO parental_responsibility (parent_fnr, child_fnr) VALUES ($1, $2)",
        &store::params![ingrid.as_str(), child.as_str()],
    )
    .await
    .expect("responsibility");
    db.migrate().await.expect("migrate to the end");

    #[derive(serde::Deserialize)]
    struct Row {
        residences: String,
        relations: String,
        responsible_for: String,
    }
    let row = db
        .fetch_optional::<Row>(
            "SELECT residences, relations, responsible_for FROM persons WHERE fnr = $1",
            &store::params![ingrid.as_str()],
        )
        .await
        .expect("read")
        .expect("the person is still there");
    let residences: serde_json::Value = serde_json::from_str(&row.residences).expect("json");
    assert_eq!(residences[0]["from"], "2019-06-01", "newest first");
    assert_eq!(residences[0]["to"], serde_json::Value::Null);
    assert_eq!(residences[0]["address"]["adressenavn"], "Storgata");
    assert_eq!(residences[1]["to"], "2019-06-01");
    let relations: serde_json::Value = serde_json::from_str(&row.relations).expect("json");
    assert_eq!(relations, serde_json::json!([[child, "barn"]]));
    let children: serde_json::Value = serde_json::from_str(&row.responsible_for).expect("json");
    assert_eq!(children, serde_json::json!([child]));
    db.close().await;
}

#[tokio::test]
async fn a_generated_municipality_reads_back_exactly() {
    let (_guard, registers, population) = loaded(600).await;
    for person in population.persons.iter().step_by(7) {
        let read = PersonSource::person(&registers, &person.fnr).await.expect("lookup").expect("exists");
        assert_eq!(&read, person);
    }
    for organisation in &population.organisations {
        let read =
            OrganisationSource::organisation(&registers, &organisation.orgnr).await.expect("lookup").expect("exists");
        assert_eq!(&read, organisation);
    }
    for property in population.properties.iter().take(20) {
        let read =
            PropertySource::property(&registers, &property.matrikkelnummer).await.expect("lookup").expect("exists");
        assert_eq!(&read, property);
    }
    let ids: Vec<Fnr> = population.contacts.iter().take(50).map(|c| c.fnr).collect();
    let mut expected: Vec<_> = population.contacts.iter().take(50).cloned().collect();
    expected.sort_by_key(|c| c.fnr.as_digits());
    assert_eq!(ContactSource::contacts(&registers, &ids).await.expect("contacts"), expected);
    let residents = registers.resident_count(Kommunenummer::parse("4632").expect("k")).await.expect("count");
    let alive = population.persons.iter().filter(|p| p.status != PersonStatus::Doed).count();
    assert_eq!(residents, i64::try_from(alive).expect("count"));
}

#[tokio::test]
async fn a_protected_address_opens_only_for_a_caller_with_the_permission() {
    let (_guard, registers, _population) = loaded(50).await;
    let maria =
        PersonSource::person(&registers, &Persona::StrengtFortrolig.fnr()).await.expect("lookup").expect("exists");
    assert_eq!(maria.adressebeskyttelse, Adressebeskyttelse::StrengtFortrolig);
    let Residence::Protected(protected) = maria.current_residence() else { panic!("the address must be protected") };
    let printed = format!("{maria:?}");
    assert!(
        !printed.contains("gata") && !printed.contains("veien") && !printed.contains("Torget"),
        "Debug leaks nothing"
    );
    assert!(test_caller().protected_address_grant().is_none());
    let grant = test_caller().with_protected_address_permission().protected_address_grant().expect("grant");
    assert!(protected.reveal(&grant).postnummer().is_some());
}

#[tokio::test]
async fn unknown_identifiers_and_oversized_batches() {
    let (_guard, registers, _population) = loaded(30).await;
    let birth = time::macros::date!(1930 - 01 - 01);
    let unknown = (0..500).find_map(|i| Fnr::synthetic(birth, i)).expect("a number");
    assert!(PersonSource::person(&registers, &unknown).await.expect("lookup").is_none());
    let too_many = vec![unknown; 1001];
    assert!(matches!(ContactSource::contacts(&registers, &too_many).await, Err(RegisterError::TooManyInBatch(1001))));
    assert!(matches!(PersonSource::persons(&registers, &too_many).await, Err(RegisterError::TooManyInBatch(1001))));
    assert!(ContactSource::contacts(&registers, &[]).await.expect("empty").is_empty());
}

#[tokio::test]
async fn a_change_is_written_with_its_event() {
    let (_guard, registers, _population) = loaded(30).await;
    let mut per =
        PersonSource::person(&registers, &Persona::NextOfKinOfDeceased.fnr()).await.expect("lookup").expect("exists");
    per.name.middle = Some("Kristian".into());
    let seq = registers
        .record_change(
            &per,
            "no.allmenning.folkeregister.person.name-changed.v1",
            serde_json::json!({"fnr": per.fnr.as_digits()}),
        )
        .await
        .expect("change");
    let read = PersonSource::person(&registers, &per.fnr).await.expect("lookup").expect("exists");
    assert_eq!(read.name.to_string(), "Per Kristian Olsen");
    let events = registers.db().committed_events_after(store::Position::START, PATIENCE).await.expect("feed");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].position, seq);
    assert_eq!(events[0].event.event_type, "no.allmenning.folkeregister.person.name-changed.v1");
}

#[tokio::test]
async fn simulated_days_change_the_registers_and_fill_the_change_feed() {
    let (_guard, registers, _population) = loaded(3000).await;
    let before = registers.person_count().await.expect("count");
    let report = registers.simulate(60, 9).await.expect("simulate");
    assert_eq!(report.today, Some(registers::synthetic::POPULATION_DATE + time::Duration::days(60)));
    assert_eq!(registers.today().await.expect("today"), report.today.expect("date"));
    // 3,000 residents over 60 days: about 5 births, 4 deaths, 25 moves within, 20 in, 20 out.
    assert!(report.births >= 1 && report.deaths >= 1, "{report:?}");
    assert!(report.moves_within + report.moves_in + report.moves_out >= 20, "{report:?}");
    let changes = report.births
        + report.deaths
        + report.moves_within
        + report.moves_in
        + report.moves_out
        + report.new_businesses;
    let feed = registers.db().committed_events_after(store::Position::START, PATIENCE).await.expect("feed");
    assert_eq!(feed.len(), usize::try_from(changes).expect("count"), "one event per change");
    assert_eq!(registers.person_count().await.expect("count"), before + i64::from(report.births + report.moves_in));

    // A newborn is in the register with a mother who has parental responsibility for it.
    let born = feed.iter().find(|e| e.event.event_type.ends_with("person.born.v1")).expect("a birth event");
    let child = Fnr::parse(born.event.data["fnr"].as_str().expect("fnr")).expect("valid");
    let child = PersonSource::person(&registers, &child).await.expect("lookup").expect("exists");
    let mother = child.relations.iter().find(|r| r.role == registers::model::RelationRole::Mor).expect("mother");
    let mother = PersonSource::person(&registers, &mother.related).await.expect("lookup").expect("exists");
    assert!(mother.parental_responsibility_for.contains(&child.fnr));
    assert_eq!(child.current_residence(), mother.current_residence());
}

fn test_caller() -> Caller {
    Caller::system("registers-test", "Test av registrene", "Test, ingen personopplysninger").expect("caller")
}

#[tokio::test]
async fn every_read_through_the_registers_is_logged_with_its_legal_basis_first() {
    let (_guard, registers, population) = loaded(200).await;
    let db = registers.db().clone();
    let all = registers::Registers::new(db.clone(), &registers::RegistersConfig::default()).expect("registers");
    let log = audit::AuditLog::new(db.clone());
    let caller = Caller::system("barnehage-tilbud", "Tilbud om barnehageplass", "barnehageloven § 16").expect("caller");
    let ingrid = Persona::ParentOfNewborn.fnr();

    let person = all.person(&caller, &ingrid).await.expect("read").expect("exists");
    let entries = log.about(&ingrid, 10).await.expect("log");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, registers::select::actions::PERSON);
    assert_eq!(entries[0].actor, "system:barnehage-tilbud");
    assert_eq!(entries[0].purpose, "Tilbud om barnehageplass");
    assert_eq!(entries[0].legal_basis, "barnehageloven § 16");

    let family: Vec<Fnr> = person.relations.iter().map(|r| r.related).collect();
    assert!(!family.is_empty());
    assert_eq!(all.persons(&caller, &family).await.expect("read").len(), family.len());
    all.contacts(&caller, &[ingrid]).await.expect("contacts");
    for member in &family {
        assert_eq!(log.about(member, 10).await.expect("log").len(), 1, "one entry per person read");
    }
    let about_ingrid = log.about(&ingrid, 10).await.expect("log");
    assert_eq!(about_ingrid[0].action, registers::select::actions::CONTACT);
    let organisation = &population.organisations[0];
    all.organisation(&caller, &organisation.orgnr).await.expect("organisation");
    let too_many = vec![ingrid; 1001];
    assert!(matches!(all.persons(&caller, &too_many).await, Err(RegisterError::TooManyInBatch(1001))));
    let entries = 3 + family.len() as u64;
    assert_eq!(log.verify().await.expect("chain"), entries, "an oversized batch logs nothing");

    // No log, no data: with the log broken, the read is refused.
    db.execute("DROP TABLE audit_head", &[]).await.expect("break the log");
    assert!(matches!(all.person(&caller, &ingrid).await, Err(RegisterError::Audit(_))));
}

#[tokio::test]
async fn reads_inside_a_callers_transaction_are_logged_with_it_or_not_at_all() {
    let (_guard, registers, population) = loaded(200).await;
    let db = registers.db().clone();
    let all = registers::Registers::new(db.clone(), &registers::RegistersConfig::default()).expect("registers");
    let log = audit::AuditLog::new(db.clone());
    let caller =
        Caller::system("vedtak", "Automatisk vedtak om barnehageplass", "barnehageloven § 16").expect("caller");
    let ingrid = Persona::ParentOfNewborn.fnr();
    let orgnr = population.organisations[0].orgnr;

    // A decision that reads and then fails: its reads leave no entry, like the rest of it.
    let mut tx = db.begin().await.expect("begin");
    let person = all.person_in(&mut tx, &caller, &ingrid).await.expect("read").expect("exists");
    let family: Vec<Fnr> = person.relations.iter().map(|r| r.related).collect();
    all.persons_in(&mut tx, &caller, &family).await.expect("read");
    all.contacts_in(&mut tx, &caller, &[ingrid]).await.expect("read");
    all.organisation_in(&mut tx, &caller, &orgnr).await.expect("read");
    tx.rollback().await.expect("rollback");
    assert!(log.about(&ingrid, 10).await.expect("log").is_empty());
    assert_eq!(log.verify().await.expect("chain"), 0);

    // The same decision committed: one entry per read, written with it.
    let mut tx = db.begin().await.expect("begin");
    all.person_in(&mut tx, &caller, &ingrid).await.expect("read");
    all.persons_in(&mut tx, &caller, &family).await.expect("read");
    all.contacts_in(&mut tx, &caller, &[ingrid]).await.expect("read");
    all.organisation_in(&mut tx, &caller, &orgnr).await.expect("read");
    tx.commit().await.expect("commit");
    assert_eq!(log.about(&ingrid, 10).await.expect("log").len(), 2);
    assert_eq!(log.verify().await.expect("chain"), 3 + family.len() as u64);
    let too_many = vec![ingrid; 1001];
    let mut tx = db.begin().await.expect("begin");
    assert!(matches!(all.persons_in(&mut tx, &caller, &too_many).await, Err(RegisterError::TooManyInBatch(1001))));
}
