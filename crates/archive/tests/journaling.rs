//! The typed archive API on both engines (PostgreSQL when `ALLMENNING_TEST_POSTGRES_URL` is
//! set): a case, a journalpost with its parties and documents, in the caller's transaction;
//! write-off, screening, and the refusals.

use archive::{
    Actor, Address, Archive, ArchiveError, Avskrivningsmaate, Correspondent, DocumentRole, JournalpostType, NewCase,
    NewDocument, NewJournalpost, Noark, Party, Screening, WriteOff,
};
use bytes::Bytes;
use kernel::Kommunenummer;
use serde_json::json;
use store::testing::TestDatabase;
use store::{BlobConfig, BlobStore, Schema};

fn k(number: &str) -> Kommunenummer {
    Kommunenummer::parse(number).expect("valid kommunenummer")
}

fn actor() -> Actor {
    Actor { id: "post-1".to_owned(), name: "Postmottaket".to_owned() }
}

async fn archive() -> (TestDatabase, tempfile::TempDir, Noark) {
    let (guard, db) =
        TestDatabase::migrated(Schema::new(&[&archive::MIGRATIONS]).expect("schema")).await.expect("database");
    let dir = tempfile::tempdir().expect("tempdir");
    let blobs = BlobStore::open(&BlobConfig::Local { path: dir.path().to_owned() }).expect("blobs");
    (guard, dir, Noark::new(db, blobs).with_max_file_bytes(1024 * 1024))
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n%%EOF\n";

fn new_case(tittel: &str) -> NewCase {
    NewCase {
        tittel: tittel.to_owned(),
        offentlig_tittel: Some("Søknad om barnehageplass".to_owned()),
        administrativ_enhet: "Oppvekst".to_owned(),
        saksansvarlig: "Sara Saksbehandler".to_owned(),
        arkivdel: None,
        klasse: None,
        klasse_id: None,
        parter: vec![Party {
            rolle: Some("KLI".to_owned()),
            ..Party::person("Kari Nordmann").with_identifier("20914695016")
        }],
        screening: None,
    }
}

fn incoming(case: &str) -> NewJournalpost {
    NewJournalpost {
        case: case.to_owned(),
        kind: JournalpostType::Inngaaende,
        tittel: "Søknad om barnehageplass for Ola".to_owned(),
        offentlig_tittel: Some("Søknad om barnehageplass for *****".to_owned()),
        dokumentets_dato: Some(time::macros::datetime!(2026-11-30 09:15 +01:00)),
        korrespondanseparter: vec![
            Correspondent {
                address: Some(Address {
                    lines: vec!["Storgata 1".to_owned()],
                    postnummer: Some("5003".to_owned()),
                    poststed: "Bergen".to_owned(),
                }),
                ..Correspondent::person("Kari Nordmann").with_identifier("20914695016")
            },
            Correspondent::enhet("Barnehagen AS").with_identifier("991825827"),
        ],
        documents: vec![NewDocument {
            tittel: "Søknad".to_owned(),
            role: DocumentRole::Hoveddokument,
            mime_type: "application/pdf".to_owned(),
            format: Some("fmt/354".to_owned()),
            filnavn: Some("soknad.pdf".to_owned()),
            bytes: Bytes::from_static(PDF),
        }],
        screening: None,
    }
}

#[tokio::test]
async fn a_case_and_an_incoming_journalpost_commit_together() {
    let (_guard, _dir, noark) = archive().await;
    let bergen = k("4601");
    let year = i64::from(kernel::time::now_in_norway().year());
    let mut tx = noark.db().begin().await.expect("begin");
    let case = noark.create_case(&mut tx, bergen, &actor(), new_case("Søknad om barnehageplass")).await.expect("case");
    let post = Archive::journal(&noark, &mut tx, bergen, &actor(), incoming(&case.system_id)).await.expect("journal");
    tx.commit().await.expect("commit");

    assert_eq!(case.mappe_id, format!("{year}/1"));
    assert_eq!((post.journalaar, post.journalsekvensnummer, post.journalpostnummer), (year, 1, 1));
    assert_eq!(post.registrerings_id, format!("{year}/1-1"));

    // The default structure: arkiv → arkivskaper + arkivdel «Sakarkiv» → the saksmappe.
    let roots = noark.roots(bergen, 0, 10).await.expect("roots");
    assert_eq!(roots.len(), 1);
    let under_arkiv = noark.children(bergen, &roots[0].system_id, &[], 0, 10).await.expect("children");
    let names: Vec<&str> = under_arkiv.iter().map(|o| o.entity.name).collect();
    assert_eq!(names, ["arkivskaper", "arkivdel"]);
    assert_eq!(under_arkiv[0].text("arkivskaperID"), Some("4601"));
    assert_eq!(under_arkiv[1].text("tittel"), Some("Sakarkiv"));
    let saksmappe = noark.get(bergen, &case.system_id).await.expect("case stored");
    assert_eq!(saksmappe.parent_id.as_deref(), Some(under_arkiv[1].system_id.as_str()));
    assert_eq!(saksmappe.text("saksansvarlig"), Some("Sara Saksbehandler"));
    let parts = noark.children(bergen, &case.system_id, &[], 0, 10).await.expect("parts");
    let names: Vec<&str> = parts.iter().map(|o| o.entity.name).collect();
    assert_eq!(names, ["partperson", "foedselsnummer", "journalpost"]);
    assert_eq!(parts[0].body["partRolle"], json!({"kode": "KLI", "kodenavn": "Klient"}));
    assert_eq!(parts[1].text("foedselsnummer"), Some("20914695016"));

    let journalpost = noark.get(bergen, &post.system_id).await.expect("journalpost stored");
    assert_eq!(journalpost.body["journalposttype"], json!({"kode": "I", "kodenavn": "Inngående dokument"}));
    assert_eq!(journalpost.body["dokumentetsDato"], json!("2026-11-30T09:15:00+01:00"));
    assert_eq!(journalpost.body["antallVedlegg"], json!(0));
    let children = noark.children(bergen, &post.system_id, &[], 0, 10).await.expect("children");
    let names: Vec<&str> = children.iter().map(|o| o.entity.name).collect();
    assert_eq!(names, ["korrespondansepartperson", "foedselsnummer", "korrespondansepartenhet", "dokumentbeskrivelse"]);
    let person = &children[0];
    assert_eq!(person.body["korrespondanseparttype"], json!({"kode": "EA", "kodenavn": "Avsender"}));
    assert_eq!(person.text("navn"), Some("Kari Nordmann"));
    // The postnummer list is open while the municipality has loaded none: the code as stated.
    assert_eq!(person.body["postadresse"]["postnr"], json!({"kode": "5003", "kodenavn": "5003"}));
    assert_eq!(person.body["postadresse"]["poststed"], json!("Bergen"));
    assert_eq!(children[1].text("foedselsnummer"), Some("20914695016"));
    assert_eq!(children[2].body["enhetsidentifikator"], json!({"organisasjonsnummer": "991825827"}));
    let description = &children[3];
    assert_eq!(description.body["dokumentnummer"], json!(1));
    assert_eq!(description.body["tilknyttetRegistreringSom"]["kode"], json!("H"));
    assert_eq!(description.text("tilknyttetAv"), Some("Postmottaket"));
    assert_eq!(post.documents.len(), 1);
    assert_eq!(post.documents[0].dokumentbeskrivelse, description.system_id);
    let object = noark.get(bergen, &post.documents[0].dokumentobjekt).await.expect("dokumentobjekt");
    assert_eq!(object.body["variantformat"]["kode"], json!("A"));
    assert_eq!(object.body["format"]["kode"], json!("fmt/354"));
    assert_eq!(object.text("mimeType"), Some("application/pdf"));
    let (info, bytes) = noark.file(bergen, &object.system_id).await.expect("read").expect("a file");
    assert_eq!(bytes, Bytes::from_static(PDF));
    assert_eq!(info.sha256, store::blobs::sha256_hex(PDF));
    assert!(
        noark.history(bergen, &object.system_id).await.expect("history").is_empty(),
        "nothing changed after creation"
    );

    // The second case finds the structure again.
    let mut tx = noark.db().begin().await.expect("begin");
    let second = noark.create_case(&mut tx, bergen, &actor(), new_case("Neste sak")).await.expect("case");
    tx.commit().await.expect("commit");
    assert_eq!(second.mappe_id, format!("{year}/2"));
    assert_eq!(noark.roots(bergen, 0, 10).await.expect("roots").len(), 1);
    let arkivdel = noark.children(bergen, &under_arkiv[1].system_id, &[], 0, 10).await.expect("cases");
    assert_eq!(arkivdel.len(), 2);
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_nothing_and_gives_its_numbers_back() {
    let (_guard, _dir, noark) = archive().await;
    let bergen = k("4601");
    let year = i64::from(kernel::time::now_in_norway().year());
    let mut tx = noark.db().begin().await.expect("begin");
    let case = noark.create_case(&mut tx, bergen, &actor(), new_case("Angret")).await.expect("case");
    let post = Archive::journal(&noark, &mut tx, bergen, &actor(), incoming(&case.system_id)).await.expect("journal");
    tx.rollback().await.expect("rollback");
    assert!(noark.roots(bergen, 0, 10).await.expect("roots").is_empty());
    assert!(matches!(noark.get(bergen, &case.system_id).await, Err(ArchiveError::NotFound)));
    assert!(matches!(noark.get(bergen, &post.system_id).await, Err(ArchiveError::NotFound)));
    assert!(noark.file_info(bergen, &post.documents[0].dokumentobjekt).await.expect("info").is_none());
    assert!(
        noark
            .list(bergen, &["arkivenhet", "korrespondansepart", "nasjonalidentifikator"], 0, 10)
            .await
            .expect("list")
            .is_empty()
    );

    let mut tx = noark.db().begin().await.expect("begin");
    let case = noark.create_case(&mut tx, bergen, &actor(), new_case("På nytt")).await.expect("case");
    let post = Archive::journal(&noark, &mut tx, bergen, &actor(), incoming(&case.system_id)).await.expect("journal");
    tx.commit().await.expect("commit");
    assert_eq!(case.mappe_id, format!("{year}/1"), "the case number was given back");
    assert_eq!(post.journalsekvensnummer, 1, "the journal number was given back");
    assert_eq!(post.registrerings_id, format!("{year}/1-1"));
}

#[tokio::test]
async fn a_reply_writes_off_the_incoming_journalpost() {
    let (_guard, _dir, noark) = archive().await;
    let bergen = k("4601");
    noark.add_code(bergen, "postnummer", "5003", "BERGEN").await.expect("postnummer");
    let mut tx = noark.db().begin().await.expect("begin");
    let case = noark.create_case(&mut tx, bergen, &actor(), new_case("Sak")).await.expect("case");
    let request =
        Archive::journal(&noark, &mut tx, bergen, &actor(), incoming(&case.system_id)).await.expect("journal");
    let reply = NewJournalpost {
        kind: JournalpostType::Utgaaende,
        tittel: "Svar på søknad".to_owned(),
        offentlig_tittel: None,
        dokumentets_dato: None,
        korrespondanseparter: vec![Correspondent::person("Kari Nordmann")],
        documents: vec![
            NewDocument {
                tittel: "Vedtak".to_owned(),
                role: DocumentRole::Hoveddokument,
                mime_type: "application/pdf; charset=binary".to_owned(),
                format: Some("fmt/276".to_owned()),
                filnavn: None,
                bytes: Bytes::from_static(PDF),
            },
            NewDocument {
                tittel: "Vedlegg".to_owned(),
                role: DocumentRole::Vedlegg,
                mime_type: "text/plain".to_owned(),
                format: None,
                filnavn: Some("vedlegg.txt".to_owned()),
                bytes: Bytes::from_static(b"hei"),
            },
        ],
        ..incoming(&case.system_id)
    };
    let reply = Archive::journal(&noark, &mut tx, bergen, &actor(), reply).await.expect("reply");
    assert_eq!(reply.journalpostnummer, 2);
    assert_eq!(reply.documents.iter().map(|d| d.dokumentnummer).collect::<Vec<_>>(), [1, 2]);

    let refused = noark
        .write_off(&mut tx, bergen, &actor(), &request.system_id, WriteOff::Without(Avskrivningsmaate::BesvartMedBrev))
        .await;
    assert!(
        matches!(&refused, Err(ArchiveError::Invalid { field, .. }) if field == "avskrivningsmaate"),
        "{refused:?}"
    );
    let refused = noark
        .write_off(
            &mut tx,
            bergen,
            &actor(),
            &reply.system_id,
            WriteOff::Without(Avskrivningsmaate::TattTilEtterretning),
        )
        .await;
    assert!(matches!(&refused, Err(ArchiveError::Invalid { field, .. }) if field == "journalposttype"), "{refused:?}");
    noark
        .write_off(
            &mut tx,
            bergen,
            &actor(),
            &request.system_id,
            WriteOff::Reply { journalpost: reply.system_id.clone(), how: Avskrivningsmaate::BesvartMedBrev },
        )
        .await
        .expect("write off");
    tx.commit().await.expect("commit");

    let sender =
        noark.children(bergen, &request.system_id, &["korrespondansepartperson"], 0, 10).await.expect("sender");
    assert_eq!(sender[0].body["postadresse"]["postnr"], json!({"kode": "5003", "kodenavn": "BERGEN"}), "in the list");
    assert_eq!(sender[0].body["postadresse"]["poststed"], json!("Bergen"));
    let written = noark.children(bergen, &request.system_id, &["avskrivning"], 0, 10).await.expect("avskrivning");
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].body["avskrivningsmaate"], json!({"kode": "BU", "kodenavn": "Besvart med brev"}));
    assert_eq!(written[0].text("referanseAvskrivesAvJournalpost"), Some(reply.system_id.as_str()));
    assert_eq!(written[0].text("avskrevetAv"), Some("Postmottaket"));
    assert!(written[0].text("avskrivningsdato").is_some());
    let stored = noark.get(bergen, &reply.system_id).await.expect("reply");
    assert_eq!(stored.body["antallVedlegg"], json!(1));
    let objects = noark.list(bergen, &["dokumentobjekt"], 0, 10).await.expect("objects");
    let vedtak = objects.iter().find(|o| o.system_id == reply.documents[0].dokumentobjekt).expect("vedtak");
    assert_eq!(vedtak.body["variantformat"]["kode"], json!("P"), "fmt/276 is not an arkivformat");
    assert_eq!(vedtak.text("formatDetaljer"), Some("fmt/276"));
}

#[tokio::test]
async fn screening_is_set_and_logged() {
    let (_guard, _dir, noark) = archive().await;
    let bergen = k("4601");
    let screening = Screening {
        tilgangsrestriksjon: "6".to_owned(),
        skjermingshjemmel: "Offl. § 13, jf. fvl. § 13".to_owned(),
        metadata: vec!["TR1".to_owned(), "NA".to_owned()],
        dokument: Some("H".to_owned()),
        duration_years: Some(60),
    };
    let mut tx = noark.db().begin().await.expect("begin");
    let case = noark
        .create_case(&mut tx, bergen, &actor(), NewCase { screening: Some(screening.clone()), ..new_case("Barnevern") })
        .await
        .expect("case");
    let post = Archive::journal(&noark, &mut tx, bergen, &actor(), incoming(&case.system_id)).await.expect("journal");
    noark.set_screening(&mut tx, bergen, &actor(), &post.system_id, screening.clone()).await.expect("screen");
    let refused =
        noark.set_screening(&mut tx, bergen, &actor(), &post.documents[0].dokumentobjekt, screening.clone()).await;
    assert!(matches!(&refused, Err(ArchiveError::Invalid { field, .. }) if field == "skjerming"), "{refused:?}");
    let bad = Screening { tilgangsrestriksjon: "99".to_owned(), ..screening.clone() };
    let refused = noark.set_screening(&mut tx, bergen, &actor(), &case.system_id, bad).await;
    assert!(
        matches!(&refused, Err(ArchiveError::Invalid { field, .. }) if field == "skjerming.tilgangsrestriksjon"),
        "{refused:?}"
    );
    tx.commit().await.expect("commit");

    let stored = noark.get(bergen, &case.system_id).await.expect("case");
    assert_eq!(
        stored.body["skjerming"]["tilgangsrestriksjon"],
        json!({"kode": "6", "kodenavn": "Unntatt etter offentlighetsloven § 6"})
    );
    let stored = noark.get(bergen, &post.system_id).await.expect("journalpost");
    assert_eq!(
        stored.body["skjerming"]["skjermingMetadata"][1],
        json!({"kode": "NA", "kodenavn": "Skjerming navn avsender"})
    );
    assert_eq!(stored.body["skjerming"]["skjermingDokument"]["kode"], json!("H"));
    assert_eq!(stored.body["skjerming"]["skjermingsvarighet"], json!(60));
    let history = noark.history(bergen, &post.system_id).await.expect("history");
    assert_eq!(history.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(), ["skjerming"]);
}

#[tokio::test]
async fn unknown_and_finished_cases_and_bad_identifiers_are_refused() {
    let (_guard, _dir, noark) = archive().await;
    let bergen = k("4601");
    let mut tx = noark.db().begin().await.expect("begin");
    let refused = Archive::journal(&noark, &mut tx, bergen, &actor(), incoming("no-such-case")).await;
    assert!(matches!(refused, Err(ArchiveError::NotFound)), "{refused:?}");
    let case = noark.create_case(&mut tx, bergen, &actor(), new_case("Sak")).await.expect("case");
    tx.commit().await.expect("commit");

    // Another municipality does not see Bergen's case.
    let mut tx = noark.db().begin().await.expect("begin");
    let refused = Archive::journal(&noark, &mut tx, k("1103"), &actor(), incoming(&case.system_id)).await;
    assert!(matches!(refused, Err(ArchiveError::NotFound)), "{refused:?}");
    tx.rollback().await.expect("rollback");

    // A wrong control digit: refused without the number in the message.
    let mut tx = noark.db().begin().await.expect("begin");
    let mut entry = incoming(&case.system_id);
    entry.korrespondanseparter = vec![Correspondent::person("Ola").with_identifier("20914695017")];
    let refused = Archive::journal(&noark, &mut tx, bergen, &actor(), entry).await;
    match &refused {
        Err(error @ ArchiveError::Invalid { field, .. }) => {
            assert_eq!(field, "korrespondanseparter[0].identifier");
            assert!(!error.to_string().contains("2091469501"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    tx.rollback().await.expect("rollback");

    // Two hoveddokumenter.
    let mut tx = noark.db().begin().await.expect("begin");
    let mut entry = incoming(&case.system_id);
    entry.documents.push(entry.documents[0].clone());
    let refused = Archive::journal(&noark, &mut tx, bergen, &actor(), entry).await;
    assert!(matches!(&refused, Err(ArchiveError::Invalid { field, .. }) if field == "documents"), "{refused:?}");
    tx.rollback().await.expect("rollback");

    // A finished case takes nothing new.
    noark
        .patch(bergen, &case.system_id, &json!({"saksstatus": {"kode": "A", "kodenavn": "Avsluttet"}}), None, &actor())
        .await
        .expect("finish the case");
    let mut tx = noark.db().begin().await.expect("begin");
    let refused = Archive::journal(&noark, &mut tx, bergen, &actor(), incoming(&case.system_id)).await;
    assert!(matches!(refused, Err(ArchiveError::Closed(_))), "{refused:?}");
    tx.rollback().await.expect("rollback");
    assert!(noark.list(bergen, &["journalpost"], 0, 10).await.expect("list").is_empty());
}

#[tokio::test]
async fn first_cases_at_once_make_one_default_structure() {
    let (_guard, _dir, noark) = archive().await;
    let bergen = k("4601");
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let noark = noark.clone();
            tokio::spawn(async move {
                let mut tx = noark.db().begin().await.expect("begin");
                let case =
                    noark.create_case(&mut tx, bergen, &actor(), new_case(&format!("Sak {i}"))).await.expect("case");
                tx.commit().await.expect("commit");
                case
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.expect("task").mappe_id);
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 8);
    let roots = noark.roots(bergen, 0, 10).await.expect("roots");
    assert_eq!(roots.len(), 1, "one arkiv");
    let arkivdeler = noark.list(bergen, &["arkivdel"], 0, 10).await.expect("arkivdeler");
    assert_eq!(arkivdeler.len(), 1, "one arkivdel");
}

/// A klasse named by its klasseID gets the case, at any depth; an unknown one, or one that holds
/// sub-klasser, leaves the case where it would go without it (the first klasse), and
/// no case is refused for it.
#[tokio::test]
async fn a_klasse_named_by_its_id_gets_the_case_and_an_unknown_one_the_default_place() {
    let (_guard, _dir, noark) = archive().await;
    let bergen = k("4601");
    let entity = |name: &str| archive::model::entity(name).expect("entity");
    let make = |parent: Option<String>, name: &'static str, body: serde_json::Value| {
        let noark = noark.clone();
        async move {
            let body = body.as_object().cloned().expect("an object");
            noark.create(bergen, parent.as_deref(), entity(name), &body, &actor()).await.expect("created").system_id
        }
    };
    // The municipality's arkivdel, classified by the archivists.
    let arkiv = make(None, "arkiv", json!({"tittel": "Bergen kommune"})).await;
    let arkivdel = make(Some(arkiv), "arkivdel", json!({"tittel": archive::journaling::DEFAULT_ARKIVDEL})).await;
    let system = make(Some(arkivdel), "klassifikasjonssystem", json!({"tittel": "K-koder"})).await;
    let first_klasse = make(Some(system.clone()), "klasse", json!({"klasseID": "100", "tittel": "Først"})).await;
    let a10 = make(Some(system.clone()), "klasse", json!({"klasseID": "A10", "tittel": "Barnehage"})).await;
    let a1 = make(Some(system.clone()), "klasse", json!({"klasseID": "A1", "tittel": "Oppvekst"})).await;
    let a11 = make(Some(a1.clone()), "klasse", json!({"klasseID": "A11", "tittel": "Opptak"})).await;

    let placed = |klasse_id: Option<&str>| {
        let noark = noark.clone();
        let klasse_id = klasse_id.map(str::to_owned);
        async move {
            let mut tx = noark.db().begin().await.expect("begin");
            let case = noark
                .create_case(&mut tx, bergen, &actor(), NewCase { klasse_id, ..new_case("Søknad") })
                .await
                .expect("never refused for its klasse");
            tx.commit().await.expect("commit");
            noark.get(bergen, &case.system_id).await.expect("saksmappe").parent_id.expect("a parent")
        }
    };
    assert_eq!(placed(Some("A10")).await, a10);
    assert_eq!(placed(Some(" A11 ")).await, a11, "a sub-klasse, found by its trimmed id");
    assert_eq!(placed(Some("A1")).await, first_klasse, "a klasse with sub-klasser takes no mapper: the default");
    assert_eq!(placed(None).await, first_klasse, "the first klasse by default");
    assert_eq!(placed(Some("X99")).await, first_klasse, "unknown: the default place");
}
