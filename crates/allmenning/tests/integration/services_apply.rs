//! Applying, from a draft to a case, in the demo's setting: Ingrid Solberg applies for a
//! kindergarten place for Emma without typing what the registers know (the prefill read under
//! the service's purpose and in the access log), a bad page saves nothing, the same submission
//! twice makes one case, and an automatically decided service decides by its rules and says why.
//! On SQLite and PostgreSQL.

use std::sync::Arc;

use allmenning::config::Mode;
use identity::ActingAs;
use kernel::{Fnr, Kommunenummer, Language};
use registers::synthetic::Persona;
use services::apply::{Applications, ApplyError, Who};
use services::{Catalog, ErrorCode, Sources, Upload, Value};

use crate::helpers::{InProcess, kommune, test_settings};

async fn applications(app: &InProcess) -> Applications {
    let blobs = store::BlobStore::open(&store::BlobConfig::Memory).expect("blobs");
    let catalog = Catalog::load(&Sources::embedded()).expect("the catalogue loads");
    Applications::new(
        app.app.db().clone(),
        blobs,
        app.app.registers().clone(),
        app.app.cases().clone(),
        Arc::new(catalog),
    )
}

/// Ingrid's first child (Emma), from the local registers.
async fn emma(app: &InProcess) -> Fnr {
    let ingrid = registers::LocalRegisters::new(app.app.db().clone())
        .person(&Persona::ParentOfNewborn.fnr())
        .await
        .expect("read")
        .expect("Ingrid");
    *ingrid.parental_responsibility_for.first().expect("Ingrid has a child")
}

fn ingrid_for(child: Fnr) -> Who {
    Who {
        me: Persona::ParentOfNewborn.fnr(),
        name: Persona::ParentOfNewborn.name().to_owned(),
        acting: ActingAs::Child(child),
        acting_name: None,
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

async fn access_log_purposes(app: &InProcess, subject: &Fnr) -> Vec<String> {
    audit::AuditLog::new(app.app.db().clone())
        .about(subject, 200)
        .await
        .expect("the access log")
        .into_iter()
        .map(|entry| entry.purpose)
        .collect()
}

#[tokio::test]
async fn ingrid_applies_for_a_kindergarten_place_for_emma_and_types_nothing_the_registers_know() {
    let app = InProcess::with(test_settings(Mode::Demo).await).await;
    let k: Kommunenummer = kommune("4601");
    let applications = applications(&app).await;
    let emma = emma(&app).await;
    let who = ingrid_for(emma);

    // Not for herself: the service takes applications for a child.
    let myself = Who { acting: ActingAs::Myself, ..who.clone() };
    let refused = applications.start(k, &myself, "barnehageplass").await.expect_err("not as herself");
    assert!(matches!(refused, ApplyError::Forbidden(_)), "{refused:?}");
    assert_eq!(refused.kind(), kernel::ErrorKind::Forbidden);

    // The draft starts with the facts read from the registers, with their source and date.
    let draft = applications.start(k, &who, "barnehageplass").await.expect("started");
    let name = draft.prefill.iter().find(|v| v.field == "barnets_navn").expect("the child's name is prefilled");
    assert_eq!(name.source, "Folkeregisteret");
    assert_eq!(name.fetched_on, kernel::time::today_in_norway());
    assert!(name.display.contains("Emma"), "{}", name.display);
    assert!(
        access_log_purposes(&app, &emma).await.iter().any(|p| p == "Søknad om barnehageplass"),
        "the read of Emma is in the access log with the service's purpose"
    );
    // Starting again resumes the same draft.
    assert_eq!(applications.start(k, &who, "barnehageplass").await.expect("resumed").id, draft.id);

    // A prefilled field posted from the form, a date in the wrong form, a value outside the code
    // list: field errors, and nothing saved.
    let tampered = applications
        .save_page(k, &who, &draft.id, "barnet", &pairs(&[("barnets_navn", "Noen andre")]), vec![])
        .await
        .expect_err("a prefilled field is not taken from the form");
    let ApplyError::Invalid(errors) = tampered else { panic!("{tampered:?}") };
    assert!(errors.iter().any(|e| e.field == "barnets_navn" && e.code == ErrorCode::Prefilled), "{errors:?}");
    let bad = applications
        .save_page(
            k,
            &who,
            &draft.id,
            "onsker",
            &pairs(&[("oppstart", "1. august"), ("plasstype", "150"), ("barnehage_1", "Solsikken")]),
            vec![],
        )
        .await
        .expect_err("bad answers");
    let ApplyError::Invalid(errors) = bad else { panic!("{bad:?}") };
    let codes: Vec<(&str, ErrorCode)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
    assert!(codes.contains(&("oppstart", ErrorCode::NotADate)), "{codes:?}");
    assert!(codes.contains(&("plasstype", ErrorCode::NotInList)), "{codes:?}");
    let (unchanged, _) = applications.draft(k, &who, &draft.id).await.expect("the draft");
    assert!(unchanged.answers.is_empty(), "nothing saved: {:?}", unchanged.answers.keys());

    // Sending before the form is complete sends nothing.
    let incomplete =
        applications.submit(k, &who, &draft.id, "token-1", Language::Bokmal).await.expect_err("incomplete");
    assert!(matches!(incomplete, ApplyError::Incomplete(_)), "{incomplete:?}");

    applications
        .save_page(
            k,
            &who,
            &draft.id,
            "onsker",
            &pairs(&[("oppstart", "01.08.2027"), ("plasstype", "100"), ("barnehage_1", "Solsikken barnehage")]),
            vec![],
        )
        .await
        .expect("the place");
    let saved = applications
        .save_page(
            k,
            &who,
            &draft.id,
            "behov",
            &pairs(&[("sarskilte_behov", "ja"), ("behov_beskrivelse", "Astma.")]),
            vec![Upload {
                field: "dokumentasjon".to_owned(),
                file_name: "erklaering.pdf".to_owned(),
                bytes: post::testing::minimal_pdf(),
            }],
        )
        .await
        .expect("the needs, with a document");
    assert!(matches!(saved.answers.get("dokumentasjon"), Some(Value::Attachments(files)) if files.len() == 1));
    applications.save_page(k, &who, &draft.id, "kontakt", &[], vec![]).await.expect("contact details");

    let reads_before = access_log_purposes(&app, &emma).await.len();
    let sent = applications.submit(k, &who, &draft.id, "token-1", Language::Bokmal).await.expect("sent");
    assert!(sent.created);
    assert!(
        access_log_purposes(&app, &emma).await.len() > reads_before,
        "the facts are read from the registers again at submission, not taken from the draft"
    );
    assert!(sent.mappe_id.contains('/'), "a case number: {}", sent.mappe_id);
    // Filed under the klasse the definition names (A10), which the demo's archive has.
    let case = app.app.cases().case(k, &sent.case_id).await.expect("read").expect("the case");
    assert_eq!(case.classification.as_deref(), Some("A10"));
    let noark = app.app.post().archive();
    let saksmappe = noark.get(k, &case.saksmappe).await.expect("saksmappe");
    let klasse = noark.get(k, saksmappe.parent_id.as_deref().expect("a parent")).await.expect("klasse");
    assert_eq!(klasse.text("klasseID"), Some("A10"));
    // The receipt letter has the definition's own title and opening, and the case number.
    crate::cases_flow::run_jobs(&app).await;
    let case = app.app.cases().case(k, &sent.case_id).await.expect("read").expect("the case");
    let receipt = case.receipt_letter.clone().expect("a receipt letter was sent");
    let letter = app.app.post().letter(k, &receipt).await.expect("read").expect("the letter");
    assert_eq!(letter.title, "Vi har mottatt søknaden om barnehageplass");
    let text = crate::cases_flow::pdf_text(&app.app.post().document(k, &letter, 0).await.expect("pdf"));
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("Søknaden er med i hovedopptaket når den er sendt innen 1. mars."), "{text}");
    assert!(text.contains(&sent.mappe_id), "{text}");
    // A double click: the same case, and no second.
    let again = applications.submit(k, &who, &draft.id, "token-1", Language::Bokmal).await.expect("the first case");
    assert_eq!((again.case_id.as_str(), again.created), (sent.case_id.as_str(), false));
    assert!(applications.drafts_of(k, &who.me).await.expect("drafts").is_empty(), "the draft is gone");
    // Someone else replaying the same request learns nothing about the case.
    let sofie = Who {
        me: Persona::JustMovedIn.fnr(),
        name: Persona::JustMovedIn.name().to_owned(),
        acting: ActingAs::Myself,
        acting_name: None,
    };
    let replayed = applications.submit(k, &sofie, &draft.id, "token-1", Language::Bokmal).await;
    assert!(matches!(replayed, Err(ApplyError::NotFound)), "{replayed:?}");

    let case = app.app.cases().case(k, &sent.case_id).await.expect("read").expect("the case");
    assert_eq!(case.service_id, "barnehageplass");
    assert_eq!(case.unit, "barnehage");
    assert_eq!(case.applicant.fnr(), Some(&Persona::ParentOfNewborn.fnr()));
    assert_eq!(case.subject.as_ref().and_then(|s| s.fnr()), Some(&emma));
    assert_eq!(case.public_title, "Søknad om barnehageplass", "no personal data in the public title");
    assert!(case.deadline > kernel::time::today_in_norway());
    // The receipt letter goes out through post.
    app.app.worker().run_until_idle().await.expect("worker");
    let letters = app.app.post().sent_by(k, "system:cases", 20).await.expect("letters");
    assert!(letters.iter().any(|l| l.kind == "kvittering" && l.case_id.as_deref() == Some(case.saksmappe.as_str())));
}

#[tokio::test]
async fn a_parking_permit_is_decided_by_its_rules_and_explains_why() {
    let app = InProcess::with(test_settings(Mode::Demo).await).await;
    let k = kommune("4601");
    let applications = applications(&app).await;
    let arne = Persona::ReservedAgainstDigitalPost;
    let who = Who { me: arne.fnr(), name: arne.name().to_owned(), acting: ActingAs::Myself, acting_name: None };
    let service = "parkeringstillatelse-forflytningshemmede";

    let draft = applications.start(k, &who, service).await.expect("started");
    applications
        .save_page(
            k,
            &who,
            &draft.id,
            "gangevne",
            &pairs(&[("gangavstand", "under_50"), ("rolle", "forer")]),
            vec![Upload {
                field: "legeerklaering".to_owned(),
                file_name: "lege.pdf".to_owned(),
                bytes: post::testing::minimal_pdf(),
            }],
        )
        .await
        .expect("saved");
    let service_def = applications.catalog().get(service).expect("the service");
    for page in service_def.form.pages.iter().skip(1) {
        applications.save_page(k, &who, &draft.id, &page.id, &[], vec![]).await.expect("an optional page");
    }
    let sent = applications.submit(k, &who, &draft.id, "p-1", Language::Bokmal).await.expect("sent");
    let decision = app.app.cases().decision(k, &sent.case_id).await.expect("read").expect("decided at once");
    let fired = decision.fired();
    assert!(fired.iter().any(|rule| rule.id == "vesentlig_redusert_gangevne"), "{fired:?}");
    assert!(fired.iter().all(|rule| !rule.explanation.trim().is_empty()), "each rule explained: {fired:?}");
    assert_eq!(decision.decided_by, "system");
}
