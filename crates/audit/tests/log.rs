//! The access log on both database backends: entries are kept with their purpose and legal
//! basis, a person sees the entries about them and no one else's, concurrent writers keep one
//! chain, and any change to a stored entry is found.

use audit::{Access, AccessContext, Actor, AuditError, AuditLog, LegalBasis, Purpose};
use kernel::Fnr;
use store::testing::TestDatabase;

fn person(day: u8) -> Fnr {
    let birth = time::Date::from_calendar_date(1980, time::Month::May, day).expect("date");
    (0..1000).find_map(|i| Fnr::synthetic(birth, i)).expect("a number")
}

fn context() -> AccessContext {
    AccessContext {
        actor: Actor::Employee("saksbehandler-17".into()),
        acting_for: None,
        purpose: Purpose::parse("Søknad om barnehageplass").expect("purpose"),
        legal_basis: LegalBasis::parse("barnehageloven § 16").expect("basis"),
    }
}

fn read(subject: &Fnr) -> Access<'_> {
    Access { action: "folkeregisteret.person.read", subject: Some(subject), resource: None }
}

#[tokio::test]
async fn a_person_sees_the_reads_about_them_and_no_one_elses() {
    let (_guard, db) =
        TestDatabase::migrated(store::Schema::new(&[&audit::MIGRATIONS]).expect("schema")).await.expect("database");
    let log = AuditLog::new(db);
    let (kari, ola) = (person(3), person(4));
    log.record(&context(), &[read(&kari), read(&ola)]).await.expect("record");
    let mut system = context();
    system.actor = Actor::System("proaktiv-barnehage");
    system.purpose = Purpose::parse("Tilbud om barnehageplass").expect("purpose");
    let last = log.record(&system, &[read(&kari)]).await.expect("record");
    assert_eq!(last, 3);

    let about_kari = log.about(&kari, 10).await.expect("about");
    assert_eq!(about_kari.len(), 2);
    assert_eq!(about_kari[0].actor, "system:proaktiv-barnehage", "newest first");
    assert_eq!(about_kari[0].purpose, "Tilbud om barnehageplass");
    assert_eq!(about_kari[1].actor, "employee:saksbehandler-17");
    assert_eq!(about_kari[1].legal_basis, "barnehageloven § 16");
    assert!(about_kari.iter().all(|e| e.subject.as_deref() == Some(kari.as_digits().as_str())));
    assert_eq!(log.about(&ola, 10).await.expect("about").len(), 1);
    assert_eq!(log.verify().await.expect("a whole chain"), 3);
}

#[test]
fn no_entry_without_a_purpose_and_a_legal_basis() {
    assert!(matches!(LegalBasis::parse("  "), Err(AuditError::Invalid { .. })));
    assert!(matches!(Purpose::parse(""), Err(AuditError::Invalid { .. })));
    assert!(matches!(Purpose::parse(&"x".repeat(301)), Err(AuditError::Invalid { .. })));
    assert!(matches!(Purpose::parse("two\nlines"), Err(AuditError::Invalid { .. })));
    assert_eq!(LegalBasis::parse(" forvaltningsloven § 17 ").expect("basis").as_str(), "forvaltningsloven § 17");
    assert!(!format!("{:?}", Actor::Person(person(5))).contains(&person(5).as_digits()), "Debug hides the number");
}

#[tokio::test]
async fn concurrent_writers_keep_one_chain() {
    let (_guard, db) =
        TestDatabase::migrated(store::Schema::new(&[&audit::MIGRATIONS]).expect("schema")).await.expect("database");
    let log = AuditLog::new(db);
    let subject = person(6);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..5 {
                log.record(&context(), &[read(&subject), read(&subject)]).await.expect("record");
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(log.verify().await.expect("one unbroken chain"), 80);
}

#[tokio::test]
async fn a_changed_or_removed_entry_is_found() {
    let (_guard, db) =
        TestDatabase::migrated(store::Schema::new(&[&audit::MIGRATIONS]).expect("schema")).await.expect("database");
    let log = AuditLog::new(db.clone());
    let subject = person(7);
    for _ in 0..4 {
        log.record(&context(), &[read(&subject)]).await.expect("record");
    }
    assert_eq!(log.verify().await.expect("whole"), 4);

    db.execute("UPDATE audit_log SET legal_basis = 'samtykke' WHERE seq = 2", &[]).await.expect("tamper");
    assert!(matches!(log.verify().await, Err(AuditError::Tampered { seq: 2 })));
    db.execute("UPDATE audit_log SET legal_basis = 'barnehageloven § 16' WHERE seq = 2", &[]).await.expect("undo");
    assert_eq!(log.verify().await.expect("whole again"), 4);

    db.execute("DELETE FROM audit_log WHERE seq = 3", &[]).await.expect("remove");
    assert!(matches!(log.verify().await, Err(AuditError::Tampered { seq: 3 })));
}

#[tokio::test]
async fn removing_the_newest_entry_is_found_too() {
    let (_guard, db) =
        TestDatabase::migrated(store::Schema::new(&[&audit::MIGRATIONS]).expect("schema")).await.expect("database");
    let log = AuditLog::new(db.clone());
    let subject = person(8);
    log.record(&context(), &[read(&subject), read(&subject)]).await.expect("record");
    db.execute("DELETE FROM audit_log WHERE seq = 2", &[]).await.expect("remove");
    assert!(matches!(log.verify().await, Err(AuditError::Tampered { .. })));
}
