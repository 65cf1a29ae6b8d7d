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
    let (guard, db) = TestDatabase::migrated().await.expect("database");
    let spec = PopulationSpec { kommunenummer: Kommunenummer::parse("4632").expect("Austrheim"), residents, seed: 42 };
    let population = synthetic::generate(&spec, |_, _| {});
    let registers = LocalRegisters::new(db);
    registers.load_persons(&population.persons).await.expect("persons");
    registers.load_organisations(&population.organisations).await.expect("organisations");
    registers.load_properties(&population.properties).await.expect("properties");
    registers.load_contacts(&population.contacts).await.expect("contacts");
    (guard, registers, population)
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
    assert!(Caller::ordinary().protected_address_grant().is_none());
    let grant = Caller::with_protected_address_permission().protected_address_grant().expect("grant");
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
    let events = registers.db().events_after(seq - 1, 10).await.expect("feed");
    assert_eq!(events.len(), 1);
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
    let feed = registers.db().events_after(0, 10_000).await.expect("feed");
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
