//! The archive's objects on both engines (PostgreSQL when `ALLMENNING_TEST_POSTGRES_URL` is
//! set): the structure's rules, the server's numbers, optimistic locking, the endringslogg and
//! files that are checked and never replaced.

use archive::model::entity;
use archive::{Actor, ArchiveError, Noark, Object};
use bytes::Bytes;
use kernel::Kommunenummer;
use serde_json::{Map, Value, json};
use store::testing::TestDatabase;
use store::{BlobConfig, BlobStore, Schema};

fn k(number: &str) -> Kommunenummer {
    Kommunenummer::parse(number).expect("valid kommunenummer")
}

fn body(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("not an object"),
    }
}

fn actor() -> Actor {
    Actor { id: "arkivar-1".to_owned(), name: "Arne Arkivar".to_owned() }
}

async fn archive() -> (TestDatabase, tempfile::TempDir, Noark) {
    let (guard, db) =
        TestDatabase::migrated(Schema::new(&[&archive::MIGRATIONS]).expect("schema")).await.expect("database");
    let dir = tempfile::tempdir().expect("tempdir");
    let blobs = BlobStore::open(&BlobConfig::Local { path: dir.path().to_owned() }).expect("blobs");
    (guard, dir, Noark::new(db, blobs).with_max_file_bytes(1024 * 1024))
}

async fn make(noark: &Noark, kommune: Kommunenummer, parent: Option<&str>, name: &str, fields: Value) -> Object {
    noark
        .create(kommune, parent, entity(name).expect("entity"), &body(fields), &actor())
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e}"))
}

/// arkiv → arkivdel → klassifikasjonssystem → klasse: where saksmapper go.
async fn structure(noark: &Noark, kommune: Kommunenummer) -> (Object, Object) {
    let arkiv = make(noark, kommune, None, "arkiv", json!({"tittel": "Arkiv"})).await;
    make(
        noark,
        kommune,
        Some(&arkiv.system_id),
        "arkivskaper",
        json!({"arkivskaperID": "4601", "arkivskaperNavn": "Bergen kommune"}),
    )
    .await;
    let arkivdel = make(noark, kommune, Some(&arkiv.system_id), "arkivdel", json!({"tittel": "Sakarkiv"})).await;
    let system =
        make(noark, kommune, Some(&arkivdel.system_id), "klassifikasjonssystem", json!({"tittel": "K-koder"})).await;
    let klasse =
        make(noark, kommune, Some(&system.system_id), "klasse", json!({"klasseID": "A10", "tittel": "Barnehage"}))
            .await;
    (arkivdel, klasse)
}

#[tokio::test]
async fn a_case_gets_its_numbers_and_keeps_every_field_as_it_was_sent() {
    let (_guard, _dir, noark) = archive().await;
    let bergen = k("4601");
    let (_, klasse) = structure(&noark, bergen).await;
    let case = make(
        &noark,
        bergen,
        Some(&klasse.system_id),
        "saksmappe",
        json!({"tittel": "Søknad om barnehageplass", "administrativEnhet": "Oppvekst", "saksansvarlig": "Sara Saksbehandler",
               "saksdato": "2070-02-13T00:00:00-01:00", "mappeID": "1999/1", "systemID": "mine"}),
    )
    .await;
    let year = kernel::time::now_in_norway().year();
    assert_eq!(case.text("mappeID"), Some(format!("{year}/1").as_str()), "the server numbers, not the client");
    assert_ne!(case.text("systemID"), Some("mine"));
    assert_eq!(case.body["saksaar"], json!(year));
    assert_eq!(case.body["sakssekvensnummer"], json!(1));
    assert_eq!(
        case.body["saksdato"],
        json!("2070-02-13T00:00:00-01:00"),
        "a date-time keeps its offset, byte for byte"
    );
    assert_eq!(case.body["dokumentmedium"]["kode"], json!("E"), "electronic by default");
    assert_eq!(case.body["saksstatus"]["kode"], json!("B"));
    assert_eq!(case.text("opprettetAv"), Some("Arne Arkivar"));
    let read = noark.get(bergen, &case.system_id).await.expect("read");
    assert_eq!(read.body, case.body);

    let post = make(
        &noark,
        bergen,
        Some(&case.system_id),
        "journalpost",
        json!({"tittel": "Søknad", "journalposttype": {"kode": "I"}, "dokumentetsDato": "2026-11-30T09:15:00+01:00",
               "forfallsdato": "2026-12-24T00:00:00Z"}),
    )
    .await;
    assert_eq!(
        post.body["journalposttype"],
        json!({"kode": "I", "kodenavn": "Inngående dokument"}),
        "kodenavn copied in"
    );
    assert_eq!(post.body["journalpostnummer"], json!(1));
    assert_eq!(post.body["journalsekvensnummer"], json!(1));
    assert_eq!(post.text("registreringsID"), Some(format!("{year}/1-1").as_str()));
    let second = make(
        &noark,
        bergen,
        Some(&case.system_id),
        "journalpost",
        json!({"tittel": "Svar", "journalposttype": {"kode": "U"}}),
    )
    .await;
    assert_eq!(second.body["journalpostnummer"], json!(2));

    // Another municipality counts from one and sees nothing of Bergen's.
    let (_, stavanger_klasse) = structure(&noark, k("1103")).await;
    let theirs = make(
        &noark,
        k("1103"),
        Some(&stavanger_klasse.system_id),
        "saksmappe",
        json!({"tittel": "Sak", "administrativEnhet": "X", "saksansvarlig": "Y"}),
    )
    .await;
    assert_eq!(theirs.body["sakssekvensnummer"], json!(1));
    assert!(matches!(noark.get(k("1103"), &case.system_id).await, Err(ArchiveError::NotFound)));
}

#[tokio::test]
async fn the_structure_refuses_wrong_parents_unknown_codes_and_fields() {
    let (_guard, _dir, noark) = archive().await;
    let bergen = k("4601");
    let (arkivdel, klasse) = structure(&noark, bergen).await;
    let refused = noark
        .create(
            bergen,
            Some(&arkivdel.system_id),
            entity("mappe").expect("entity"),
            &body(json!({"tittel": "Mappe"})),
            &actor(),
        )
        .await;
    assert!(
        matches!(refused, Err(ArchiveError::WrongParent { .. })),
        "{refused:?}: the arkivdel has a klassifikasjonssystem"
    );
    let refused = noark
        .create(
            bergen,
            Some(&klasse.system_id),
            entity("arkivdel").expect("entity"),
            &body(json!({"tittel": "Del"})),
            &actor(),
        )
        .await;
    assert!(matches!(refused, Err(ArchiveError::WrongParent { .. })), "{refused:?}");
    let refused = noark
        .create(
            bergen,
            Some(&klasse.system_id),
            entity("mappe").expect("entity"),
            &body(json!({"tittel": "M", "dokumentmedium": {"kode": "Q"}})),
            &actor(),
        )
        .await;
    assert!(matches!(&refused, Err(ArchiveError::Invalid { field, .. }) if field == "dokumentmedium"), "{refused:?}");
    let refused = noark
        .create(
            bergen,
            Some(&klasse.system_id),
            entity("mappe").expect("entity"),
            &body(json!({"tittel": "M", "farge": "blå"})),
            &actor(),
        )
        .await;
    assert!(matches!(&refused, Err(ArchiveError::Invalid { field, .. }) if field == "farge"), "{refused:?}");
    let refused = noark
        .create(
            bergen,
            Some(&klasse.system_id),
            entity("mappe").expect("entity"),
            &body(json!({"tittel": 5})),
            &actor(),
        )
        .await;
    assert!(matches!(&refused, Err(ArchiveError::Invalid { field, .. }) if field == "tittel"), "{refused:?}");
    let refused = noark
        .create(
            bergen,
            Some(&klasse.system_id),
            entity("mappe").expect("entity"),
            &body(json!({"beskrivelse": "uten tittel"})),
            &actor(),
        )
        .await;
    assert!(matches!(&refused, Err(ArchiveError::Invalid { field, .. }) if field == "tittel"), "{refused:?}");
    assert!(matches!(
        noark
            .create(
                bergen,
                Some("no-such-id"),
                entity("mappe").expect("entity"),
                &body(json!({"tittel": "M"})),
                &actor()
            )
            .await,
        Err(ArchiveError::NotFound)
    ));
    // Nothing of that was stored.
    assert!(noark.children(bergen, &klasse.system_id, &[], 0, 100).await.expect("children").is_empty());
}

#[tokio::test]
async fn changes_need_the_current_version_and_are_logged() {
    let (_guard, _dir, noark) = archive().await;
    let bergen = k("4601");
    let (_, klasse) = structure(&noark, bergen).await;
    let mappe = make(&noark, bergen, Some(&klasse.system_id), "mappe", json!({"tittel": "Før"})).await;
    let mut fields = mappe.body.clone();
    fields.insert("tittel".to_owned(), json!("Etter"));
    let changed =
        noark.replace(bergen, &mappe.system_id, &fields, Some(mappe.version), &actor()).await.expect("replace");
    assert_eq!(changed.text("tittel"), Some("Etter"));
    assert_eq!(changed.text("mappeID"), mappe.text("mappeID"));
    let stale = noark.replace(bergen, &mappe.system_id, &fields, Some(mappe.version), &actor()).await;
    assert!(matches!(stale, Err(ArchiveError::Conflict)), "{stale:?}");
    let patched = noark
        .patch(bergen, &mappe.system_id, &json!({"beskrivelse": "Ny", "tittel": null}), Some(changed.version), &actor())
        .await;
    assert!(
        matches!(&patched, Err(ArchiveError::Invalid { field, .. }) if field == "tittel"),
        "tittel is required: {patched:?}"
    );
    let patched = noark
        .patch(bergen, &mappe.system_id, &json!({"beskrivelse": "Ny"}), Some(changed.version), &actor())
        .await
        .expect("patch");
    assert_eq!(patched.text("beskrivelse"), Some("Ny"));
    let history = noark.history(bergen, &mappe.system_id).await.expect("history");
    let fields: Vec<(&str, Option<&str>, Option<&str>)> =
        history.iter().map(|c| (c.field.as_str(), c.old_value.as_deref(), c.new_value.as_deref())).collect();
    assert_eq!(fields, [("tittel", Some("Før"), Some("Etter")), ("beskrivelse", None, Some("Ny"))]);
    assert!(history.iter().all(|c| c.changed_by == "Arne Arkivar"));

    let refused = noark.delete(bergen, &klasse.system_id, None, &actor()).await;
    assert!(matches!(refused, Err(ArchiveError::HasChildren(_))), "{refused:?}");
    noark.delete(bergen, &mappe.system_id, Some(patched.version), &actor()).await.expect("delete");
    assert!(matches!(noark.get(bergen, &mappe.system_id).await, Err(ArchiveError::NotFound)));
    let last = noark.history(bergen, &mappe.system_id).await.expect("history");
    assert_eq!(last.last().map(|c| c.field.as_str()), Some("slettet"));
}

#[tokio::test]
async fn a_file_is_checked_against_what_its_dokumentobjekt_states_and_never_replaced() {
    let (_guard, _dir, noark) = archive().await;
    let bergen = k("4601");
    let (_, klasse) = structure(&noark, bergen).await;
    let case = make(
        &noark,
        bergen,
        Some(&klasse.system_id),
        "saksmappe",
        json!({"tittel": "Sak", "administrativEnhet": "X", "saksansvarlig": "Y"}),
    )
    .await;
    let post = make(
        &noark,
        bergen,
        Some(&case.system_id),
        "journalpost",
        json!({"tittel": "Brev", "journalposttype": {"kode": "U"}}),
    )
    .await;
    let description = make(
        &noark,
        bergen,
        Some(&post.system_id),
        "dokumentbeskrivelse",
        json!({"tittel": "Brev", "tilknyttetRegistreringSom": {"kode": "H"}, "dokumenttype": {"kode": "B"}}),
    )
    .await;
    let pdf = Bytes::from_static(b"%PDF-1.7\n% a tiny letter\n%%EOF\n");
    let sha = store::blobs::sha256_hex(&pdf);
    let wrong = make(&noark, bergen, Some(&description.system_id), "dokumentobjekt",
        json!({"versjonsnummer": 1, "variantformat": {"kode": "A"}, "sjekksum": "00".repeat(32), "sjekksumAlgoritme": "SHA-256"})).await;
    let refused = noark.store_file(bergen, &wrong.system_id, "application/pdf", pdf.clone(), &actor()).await;
    assert!(matches!(&refused, Err(ArchiveError::FileMismatch { field, .. }) if field == "sjekksum"), "{refused:?}");
    assert!(noark.file_info(bergen, &wrong.system_id).await.expect("info").is_none(), "nothing stored");

    let object = make(&noark, bergen, Some(&description.system_id), "dokumentobjekt",
        json!({"versjonsnummer": 1, "variantformat": {"kode": "A"}, "format": {"kode": "fmt/95"}, "sjekksum": sha, "sjekksumAlgoritme": "SHA-256", "filstoerrelse": pdf.len()})).await;
    let refused = noark
        .store_file(bergen, &object.system_id, "application/pdf", Bytes::from_static(b"not a pdf"), &actor())
        .await;
    assert!(matches!(refused, Err(ArchiveError::FileMismatch { .. })), "{refused:?}");
    let too_big = noark
        .store_file(bergen, &object.system_id, "application/pdf", Bytes::from(vec![b'%'; 2 * 1024 * 1024]), &actor())
        .await;
    assert!(matches!(too_big, Err(ArchiveError::TooLarge { .. })), "{too_big:?}");
    let stored =
        noark.store_file(bergen, &object.system_id, "application/pdf", pdf.clone(), &actor()).await.expect("stored");
    assert_eq!(stored.text("mimeType"), Some("application/pdf"));
    let again = noark.store_file(bergen, &object.system_id, "application/pdf", pdf.clone(), &actor()).await;
    assert!(matches!(again, Err(ArchiveError::FileExists)), "{again:?}");
    let (info, bytes) = noark.file(bergen, &object.system_id).await.expect("read").expect("a file");
    assert_eq!(bytes, pdf);
    assert_eq!(info.sha256, sha);
}

#[tokio::test]
async fn concurrent_journalposts_never_repeat_or_skip_a_number() {
    let (_guard, _dir, noark) = archive().await;
    let bergen = k("4601");
    let (_, klasse) = structure(&noark, bergen).await;
    let case = make(
        &noark,
        bergen,
        Some(&klasse.system_id),
        "saksmappe",
        json!({"tittel": "Sak", "administrativEnhet": "X", "saksansvarlig": "Y"}),
    )
    .await;
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let noark = noark.clone();
            let case = case.system_id.clone();
            tokio::spawn(async move {
                let fields = body(json!({"tittel": format!("Post {i}"), "journalposttype": {"kode": "I"}}));
                let mut tx = noark.db().begin().await.expect("begin");
                let made = archive::records::create(
                    &mut tx.municipal(bergen),
                    Some(&case),
                    entity("journalpost").expect("entity"),
                    &fields,
                    &actor(),
                )
                .await;
                // Every third one rolls back: its numbers must be given back, not skipped.
                if i % 3 == 0 {
                    tx.rollback().await.expect("rollback");
                    None
                } else {
                    let made = made.expect("create");
                    tx.commit().await.expect("commit");
                    Some((made.body["journalsekvensnummer"].as_i64(), made.body["journalpostnummer"].as_i64()))
                }
            })
        })
        .collect();
    let mut sequence = Vec::new();
    let mut numbers = Vec::new();
    for task in tasks {
        if let Some((s, n)) = task.await.expect("task") {
            sequence.push(s.expect("sekvens"));
            numbers.push(n.expect("nummer"));
        }
    }
    sequence.sort_unstable();
    numbers.sort_unstable();
    assert_eq!(sequence, (1..=16).collect::<Vec<i64>>());
    assert_eq!(numbers, (1..=16).collect::<Vec<i64>>());
}

#[tokio::test]
async fn forrige_and_neste_arkivdel_are_kept_two_way() {
    let (_guard, _dir, noark) = archive().await;
    let bergen = k("4601");
    let arkiv = make(&noark, bergen, None, "arkiv", json!({"tittel": "Arkiv"})).await;
    let old = make(&noark, bergen, Some(&arkiv.system_id), "arkivdel", json!({"tittel": "2025"})).await;
    let new = make(
        &noark,
        bergen,
        Some(&arkiv.system_id),
        "arkivdel",
        json!({"tittel": "2026", "referanseForloeper": old.system_id}),
    )
    .await;
    let old = noark.get(bergen, &old.system_id).await.expect("read");
    assert_eq!(old.text("referanseArvtaker"), Some(new.system_id.as_str()), "the link shows on the other side");
    let refused = noark
        .create(
            bergen,
            Some(&arkiv.system_id),
            entity("arkivdel").expect("entity"),
            &body(json!({"tittel": "X", "referanseForloeper": arkiv.system_id})),
            &actor(),
        )
        .await;
    assert!(
        matches!(&refused, Err(ArchiveError::Invalid { field, .. }) if field == "referanseForloeper"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn nothing_new_goes_anywhere_below_a_finished_arkivdel() {
    let (_guard, _dir, noark) = archive().await;
    let bergen = k("4601");
    let (arkivdel, klasse) = structure(&noark, bergen).await;
    let case = make(
        &noark,
        bergen,
        Some(&klasse.system_id),
        "saksmappe",
        json!({"tittel": "Sak", "administrativEnhet": "X", "saksansvarlig": "Y"}),
    )
    .await;
    archive::finish::finish(&noark, bergen, &arkivdel.system_id, &actor()).await.expect("finished");
    for (parent, name, fields) in [
        (&klasse.system_id, "saksmappe", json!({"tittel": "Ny sak", "administrativEnhet": "X", "saksansvarlig": "Y"})),
        (&case.system_id, "journalpost", json!({"tittel": "Nytt brev", "journalposttype": {"kode": "I"}})),
    ] {
        let refused = noark.create(bergen, Some(parent), entity(name).expect("entity"), &body(fields), &actor()).await;
        assert!(matches!(&refused, Err(ArchiveError::Closed(what)) if what == "arkivdel"), "{name}: {refused:?}");
    }
}

#[tokio::test]
async fn a_patched_code_value_takes_its_own_name_and_open_lists_take_any_code() {
    let (_guard, _dir, noark) = archive().await;
    let bergen = k("4601");
    let (_, klasse) = structure(&noark, bergen).await;
    let case = make(
        &noark,
        bergen,
        Some(&klasse.system_id),
        "saksmappe",
        json!({"tittel": "Sak", "administrativEnhet": "X", "saksansvarlig": "Y"}),
    )
    .await;
    let patched = noark
        .patch(bergen, &case.system_id, &json!({"saksstatus": {"kode": "A"}}), Some(case.version), &actor())
        .await
        .expect("a code alone is enough");
    assert_eq!(patched.body["saksstatus"], json!({"kode": "A", "kodenavn": "Avsluttet"}));
    let part = make(&noark, bergen, Some(&case.system_id), "partperson",
        json!({"navn": "Kari", "postadresse": {"adresselinje1": "Gate 1", "postnr": {"kode": "5003", "kodenavn": "Bergen"}, "poststed": "Bergen"}})).await;
    assert_eq!(part.body["postadresse"]["postnr"], json!({"kode": "5003", "kodenavn": "Bergen"}));
}
