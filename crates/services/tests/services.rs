//! The service catalogue end to end, without a server: every definition loads, broken copies
//! are refused with file, line and field, forms validate, the automatic services decide and
//! explain, prefill reads through the access log, and drafts keep on both database backends.

use identity::ActingAs;
use kernel::{Fnr, Kommunenummer, Language, Timestamp};
use registers::synthetic::{self, Persona, PopulationSpec};
use services::form::{ErrorCode, NoScan, Scope, Upload, validate};
use services::{Answers, Catalog, Decision, Sources, Value, evaluate};
use store::testing::TestDatabase;
use time::macros::date;

const BARNEHAGE: &str = include_str!("../../../services/barnehageplass.toml");

fn catalog() -> Catalog {
    Catalog::load(&Sources::embedded()).expect("the embedded catalogue loads")
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn facts(items: &[(&str, Value)]) -> Answers {
    items.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

/// The first problem of loading `text` as `services/barnehageplass.toml`.
fn first_problem(text: String) -> services::Located {
    let sources = Sources { files: vec![("services/barnehageplass.toml".to_owned(), text)], ..Sources::default() };
    let error = Catalog::load(&sources).expect_err("a broken definition is refused");
    error.problems.into_iter().next().expect("a problem")
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|line| line.contains(needle)).expect("needle in text") + 1
}

#[test]
fn every_definition_loads_and_at_least_three_decide_automatically() {
    let catalog = catalog();
    let ids: Vec<&str> = catalog.services().iter().map(|s| s.id.as_str()).collect();
    for id in [
        "barnehageplass",
        "sfo",
        "redusert-foreldrebetaling",
        "startlan",
        "parkeringstillatelse-forflytningshemmede",
        "tt-kort",
        "omsorgsstonad",
        "kulturskoleplass",
        "fritak-eiendomsskatt",
        "serveringsbevilling",
        "skjenkebevilling",
        "skjenkebevilling-enkeltanledning",
    ] {
        assert!(ids.contains(&id), "{id} is in the catalogue: {ids:?}");
    }
    let automatic = catalog.services().iter().filter(|s| s.decision != services::DecisionMode::Manual).count();
    assert!(automatic >= 3, "{automatic} automatic services");
    let barnehage = catalog.get("barnehageplass").expect("barnehage");
    assert_eq!(barnehage.deadline.apply_by_month_day(), Some((time::Month::March, 1)));
    assert_eq!(catalog.search("kulturskolen", Language::Bokmal).len(), 1);
    assert_eq!(catalog.by_theme("https://psi.norge.no/los/tema/barnehage").len(), 2);

    // A service can be switched off, and an unknown id to switch off is an error.
    let sources = Sources { embedded: true, disabled: vec!["tt-kort".to_owned()], ..Sources::default() };
    assert!(Catalog::load(&sources).expect("loads").get("tt-kort").is_none());
    let sources = Sources { embedded: true, disabled: vec!["finnes-ikke".to_owned()], ..Sources::default() };
    assert!(Catalog::load(&sources).is_err());
}

#[test]
fn a_bad_field_type_names_file_line_column_and_field() {
    let broken = BARNEHAGE.replacen("type = \"date\"\nrequired = true", "type = \"nummer\"\nrequired = true", 1);
    let problem = first_problem(broken.clone());
    assert_eq!(problem.file, "services/barnehageplass.toml");
    assert_eq!(problem.line, line_of(&broken, "type = \"nummer\""));
    assert_eq!(problem.field, "form.pages[1].fields[0].type");
    assert!(problem.message.contains("nummer"), "{}", problem.message);
    let shown = problem.to_string();
    assert!(shown.starts_with(&format!("services/barnehageplass.toml:{}:", problem.line)), "{shown}");
}

#[test]
fn a_missing_nynorsk_text_names_its_line_and_field() {
    let broken = BARNEHAGE.replacen("nn = \"Barnehageplass\"\n", "", 1);
    let problem = first_problem(broken);
    assert_eq!(problem.field, "name");
    assert!(problem.message.contains("nn"), "{}", problem.message);
    assert!(problem.line >= 1);
    assert_eq!(problem.line, line_of(BARNEHAGE, "[name]"));

    // An empty text is caught by the checks beyond the shape, with its place.
    let broken = BARNEHAGE.replacen("nn = \"Barnehageplass\"", "nn = \" \"", 1);
    let problem = first_problem(broken.clone());
    assert_eq!(problem.field, "name.nn");
    assert_eq!(problem.line, line_of(&broken, "nn = \" \""));
}

#[test]
fn an_unknown_rule_variable_names_the_rule() {
    let broken = BARNEHAGE.replace("when = \"child.lives_here == false\"", "when = \"barnet.bor_her == false\"");
    let problem = first_problem(broken.clone());
    assert_eq!(problem.field, "rules[0].when");
    assert!(problem.message.contains("barnet.bor_her"), "{}", problem.message);
    assert_eq!(problem.line, line_of(&broken, "barnet.bor_her"));

    // The same for a condition, an unknown fact, a purpose left empty and an unknown template.
    let problem = first_problem(BARNEHAGE.replace(
        "shown_when = \"sarskilte_behov == true\"\nlabel = { nb = \"Beskriv",
        "shown_when = \"behov == true\"\nlabel = { nb = \"Beskriv",
    ));
    assert_eq!(problem.field, "form.pages[2].fields[1].shown_when");
    let problem = first_problem(BARNEHAGE.replacen("fact = \"child.name\"", "fact = \"child.shoe_size\"", 1));
    assert_eq!(problem.field, "prefill[0].fact");
    let problem = first_problem(BARNEHAGE.replacen("purpose = \"Søknad om barnehageplass\"", "purpose = \"\"", 1));
    assert_eq!(problem.field, "prefill[0].purpose");
    let problem = first_problem(BARNEHAGE.replacen("template = \"vedtak\"", "template = \"brev\"", 1));
    assert_eq!(problem.field, "letters.decision.template");
    let problem = first_problem(BARNEHAGE.replacen("https://psi.norge.no/los/tema/barnehage", "barnehage", 1));
    assert_eq!(problem.field, "los[0]");
    let problem = first_problem(BARNEHAGE.replacen("version = 1", "version = 1\ncolour = 1", 1));
    assert!(problem.message.contains("colour"), "{}", problem.message);
    // The receipt letter's title and opening must fit the letter (they are checked at load, not
    // when a resident's application is sent).
    let long = "x".repeat(201);
    let problem = first_problem(BARNEHAGE.replacen(
        "title = { nb = \"Vi har mottatt søknaden om barnehageplass\"",
        &format!("title = {{ nb = \"{long}\""),
        1,
    ));
    assert_eq!(problem.field, "letters.receipt.title.nb");
}

#[test]
fn a_page_validates_into_typed_answers() {
    let catalog = catalog();
    let service = catalog.get("barnehageplass").expect("service");
    let posted =
        pairs(&[("_csrf", "x"), ("oppstart", "01.08.2027"), ("plasstype", "80"), ("barnehage_1", " Solsikken ")]);
    let answers = validate(service, Scope::Page("onsker"), &posted, &[], &NoScan, &Answers::new(), &Answers::new())
        .expect("valid");
    assert_eq!(answers.get("oppstart"), Some(&Value::Date(date!(2027 - 08 - 01))));
    assert_eq!(answers.get("plasstype"), Some(&Value::Choice("80".to_owned())));
    assert_eq!(answers.get("barnehage_1"), Some(&Value::Text("Solsikken".to_owned())));
    // ISO dates are accepted too; JSON round trip keeps the types.
    let iso = pairs(&[("oppstart", "2027-08-01"), ("plasstype", "80"), ("barnehage_1", "Solsikken")]);
    let again =
        validate(service, Scope::Page("onsker"), &iso, &[], &NoScan, &Answers::new(), &Answers::new()).expect("valid");
    assert_eq!(again, answers);
    let json = serde_json::to_string(&answers).expect("json");
    assert_eq!(serde_json::from_str::<Answers>(&json).expect("back"), answers);
}

fn codes(result: Result<Answers, Vec<services::FieldError>>) -> Vec<(String, ErrorCode)> {
    result.expect_err("refused").into_iter().map(|e| (e.field, e.code)).collect()
}

#[test]
fn bad_input_is_refused_field_by_field_and_nothing_is_accepted() {
    let catalog = catalog();
    let service = catalog.get("barnehageplass").expect("service");
    let none = Answers::new();
    let check = |posted: &[(&str, &str)]| {
        codes(validate(service, Scope::Page("onsker"), &pairs(posted), &[], &NoScan, &none, &none))
    };
    let errors = check(&[("oppstart", "1.13.2027"), ("plasstype", "110"), ("barnehage_1", "")]);
    assert!(errors.contains(&("oppstart".to_owned(), ErrorCode::NotADate)), "{errors:?}");
    assert!(errors.contains(&("plasstype".to_owned(), ErrorCode::NotInList)), "{errors:?}");
    assert!(errors.contains(&("barnehage_1".to_owned(), ErrorCode::Required)), "{errors:?}");
    let valid = [("oppstart", "01.08.2027"), ("plasstype", "80"), ("barnehage_1", "Solsikken")];
    let mut tampered = valid.to_vec();
    tampered.push(("inntekt", "1"));
    assert_eq!(check(&tampered), vec![("inntekt".to_owned(), ErrorCode::UnknownField)]);
    let mut tampered = valid.to_vec();
    tampered.push(("barnets_navn", "Noen andre"));
    assert_eq!(check(&tampered), vec![("barnets_navn".to_owned(), ErrorCode::Prefilled)]);
    let mut tampered = valid.to_vec();
    tampered.push(("sarskilte_behov", "ja"));
    assert_eq!(check(&tampered), vec![("sarskilte_behov".to_owned(), ErrorCode::WrongPage)]);
    let mut tampered = valid.to_vec();
    tampered.push(("plasstype", "60"));
    assert_eq!(check(&tampered), vec![("plasstype".to_owned(), ErrorCode::Duplicate)]);
    let mut long = valid.to_vec();
    let text = "x".repeat(101);
    long[2] = ("barnehage_1", text.as_str());
    assert_eq!(check(&long), vec![("barnehage_1".to_owned(), ErrorCode::TooLong)]);

    // A conditional field: required when shown, refused when hidden.
    let behov =
        |posted: &[(&str, &str)]| validate(service, Scope::Page("behov"), &pairs(posted), &[], &NoScan, &none, &none);
    assert_eq!(codes(behov(&[("sarskilte_behov", "ja")])), vec![("behov_beskrivelse".to_owned(), ErrorCode::Required)]);
    assert_eq!(
        codes(behov(&[("sarskilte_behov", "nei"), ("behov_beskrivelse", "Allergi")])),
        vec![("behov_beskrivelse".to_owned(), ErrorCode::NotShown)]
    );
    let answers = behov(&[("sarskilte_behov", "ja"), ("behov_beskrivelse", "Allergi")]).expect("valid");
    assert_eq!(answers.get("sarskilte_behov"), Some(&Value::Bool(true)));
}

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];

struct RefuseAll;
impl services::VirusScanner for RefuseAll {
    fn scan(&self, _bytes: &[u8]) -> Result<(), String> {
        Err("EICAR".to_owned())
    }
}

#[test]
fn attachments_are_checked_by_content_size_and_scanner() {
    let catalog = catalog();
    let service = catalog.get("redusert-foreldrebetaling").expect("service");
    let none = Answers::new();
    let upload = |bytes: &[u8], name: &str| Upload {
        field: "skattemelding".to_owned(),
        file_name: name.to_owned(),
        bytes: bytes.to_vec(),
    };
    let posted = pairs(&[("inntekt", "300 000 kr")]);
    let answers =
        validate(service, Scope::All, &posted, &[upload(PDF, "skatt.pdf")], &NoScan, &none, &none).expect("valid");
    assert_eq!(answers.get("inntekt"), Some(&Value::Amount(300_000)));
    let Some(Value::Attachments(files)) = answers.get("skattemelding") else { panic!("attachments") };
    assert_eq!(files[0].media_type, "application/pdf");
    assert_eq!(files[0].size, PDF.len() as u64);

    // A PNG named .pdf is a PNG, which this field does not accept.
    let errors = codes(validate(service, Scope::All, &posted, &[upload(PNG, "skatt.pdf")], &NoScan, &none, &none));
    assert_eq!(errors, vec![("skattemelding".to_owned(), ErrorCode::AttachmentType)]);
    let mut big = PDF.to_vec();
    big.resize(10 * 1024 * 1024 + 1, b' ');
    let errors = codes(validate(service, Scope::All, &posted, &[upload(&big, "stor.pdf")], &NoScan, &none, &none));
    assert_eq!(errors, vec![("skattemelding".to_owned(), ErrorCode::AttachmentTooLarge)]);
    let errors = codes(validate(service, Scope::All, &posted, &[upload(PDF, "skatt.pdf")], &RefuseAll, &none, &none));
    assert_eq!(errors, vec![("skattemelding".to_owned(), ErrorCode::AttachmentInfected)]);
    // Without the required attachment, nothing is accepted.
    let errors = codes(validate(service, Scope::All, &posted, &[], &NoScan, &none, &none));
    assert_eq!(errors, vec![("skattemelding".to_owned(), ErrorCode::Required)]);
}

#[test]
fn repeating_groups_keep_their_entries_and_bounds() {
    let catalog = catalog();
    let service = catalog.get("skjenkebevilling-enkeltanledning").expect("service");
    let none = Answers::new();
    let base = [
        ("arrangement_navn", "Sommerfest"),
        ("sted", "Grendehuset"),
        ("antall_gjester", "80"),
        ("ansvarlig_navn", "Kari"),
        ("ansvarlig_telefon", "912 34 567"),
    ];
    let mut posted = base.to_vec();
    posted.extend([("dager[0].dato", "20.06.2027"), ("dager[0].fra", "18.00"), ("dager[0].til", "01.00")]);
    posted.extend([("dager[1].dato", ""), ("dager[1].fra", ""), ("dager[1].til", "")]);
    let answers = validate(service, Scope::All, &pairs(&posted), &[], &NoScan, &none, &none).expect("valid");
    let Some(Value::Group(days)) = answers.get("dager") else { panic!("group") };
    assert_eq!(days.len(), 1, "a blank row is not an entry");
    assert_eq!(days[0].get("dato"), Some(&Value::Date(date!(2027 - 06 - 20))));

    let errors = codes(validate(service, Scope::All, &pairs(&base), &[], &NoScan, &none, &none));
    assert_eq!(errors, vec![("dager".to_owned(), ErrorCode::TooSmall)]);
    let mut bad = base.to_vec();
    bad.extend([("dager[0].dato", "i morgen"), ("dager[0].fra", "18"), ("dager[0].til", "23")]);
    let errors = codes(validate(service, Scope::All, &pairs(&bad), &[], &NoScan, &none, &none));
    assert!(errors.contains(&("dager[0].dato".to_owned(), ErrorCode::NotADate)), "{errors:?}");
    let mut far = base.to_vec();
    far.push(("dager[10].dato", "20.06.2027"));
    let errors = codes(validate(service, Scope::All, &pairs(&far), &[], &NoScan, &none, &none));
    assert!(errors.contains(&("dager".to_owned(), ErrorCode::TooMany)), "{errors:?}");
    let mut stray = base.to_vec();
    stray.push(("dager[0].pris", "100"));
    let errors = codes(validate(service, Scope::All, &pairs(&stray), &[], &NoScan, &none, &none));
    assert!(errors.contains(&("dager[0].pris".to_owned(), ErrorCode::UnknownField)), "{errors:?}");
}

#[test]
fn the_parking_permit_grants_and_rejects_with_reasons() {
    let catalog = catalog();
    let service = catalog.get("parkeringstillatelse-forflytningshemmede").expect("service");
    let file = services::value::Attachment {
        file_name: "lege.pdf".to_owned(),
        media_type: "application/pdf".to_owned(),
        size: 10,
        sha256: "0".repeat(64),
    };
    let answers = |distance: &str| {
        facts(&[
            ("gangavstand", Value::Choice(distance.to_owned())),
            ("rolle", Value::Choice("forer".to_owned())),
            ("legeerklaering", Value::Attachments(vec![file.clone()])),
        ])
    };
    let here = facts(&[("person.lives_here", Value::Bool(true))]);
    let granted = evaluate(service, &here, &answers("50_200"));
    assert_eq!(granted.result, Decision::Grant);
    assert!(!granted.needs_review);
    assert_eq!(granted.fired[0].id, "vesentlig_redusert_gangevne");
    assert!(granted.fired[0].explanation.nb.contains("under 200 meter"));
    assert!(granted.fired[0].explanation.en.contains("less than 200 metres"));

    let rejected = evaluate(service, &here, &answers("over_200"));
    assert_eq!(rejected.result, Decision::Reject);
    assert!(!rejected.needs_review, "automatic: the rejection is sent as decided");
    assert_eq!(rejected.fired[0].id, "gangevne_over_200");
    let away = facts(&[("person.lives_here", Value::Bool(false))]);
    assert_eq!(evaluate(service, &away, &answers("under_50")).fired[0].id, "bor_ikke_i_kommunen");
    // A missing fact: the rules cannot decide, so a caseworker does.
    let unknown = evaluate(service, &Answers::new(), &answers("under_50"));
    assert_eq!(unknown.result, Decision::Manual);
    assert!(unknown.needs_review);
}

#[test]
fn kulturskole_sfo_tt_and_the_fee_reduction_decide_by_their_rules() {
    let catalog = catalog();
    let kulturskole = catalog.get("kulturskoleplass").expect("service");
    let child = |age: i64, here: bool| {
        facts(&[
            ("child.age_years", Value::Integer(age)),
            ("child.lives_here", Value::Bool(here)),
            ("elevens_navn", Value::Text("Emma".to_owned())),
            ("elevens_alder", Value::Integer(age)),
        ])
    };
    let music = facts(&[("fag", Value::Choice("musikk".to_owned()))]);
    let outcome = evaluate(kulturskole, &child(9, true), &music);
    assert_eq!(outcome.result, Decision::Grant);
    assert_eq!(outcome.fired[0].explanation.nb, "Emma bor i kommunen og er 9 år, og får plass i kulturskolen.");
    let outcome = evaluate(kulturskole, &child(4, true), &music);
    assert_eq!(outcome.result, Decision::Reject);
    assert_eq!(outcome.fired[0].explanation.nn, "Emma er 4 år. Kulturskulen tek imot elevar frå 6 til 19 år.");

    let sfo = catalog.get("sfo").expect("service");
    let grade = |n: i64, needs: bool| facts(&[("trinn", Value::Integer(n)), ("sarskilte_behov", Value::Bool(needs))]);
    assert_eq!(evaluate(sfo, &child(6, true), &grade(1, false)).result, Decision::Grant);
    assert_eq!(evaluate(sfo, &child(11, true), &grade(6, false)).result, Decision::Reject);
    assert_eq!(evaluate(sfo, &child(11, true), &grade(6, true)).result, Decision::Manual);

    let tt = catalog.get("tt-kort").expect("service");
    let person = facts(&[
        ("person.age", Value::Integer(70)),
        ("person.lives_here", Value::Bool(true)),
        ("alder", Value::Integer(70)),
    ]);
    let need = |public: bool| {
        facts(&[("kan_bruke_kollektiv", Value::Bool(public)), ("varighet", Value::Choice("over_2_ar".to_owned()))])
    };
    assert_eq!(evaluate(tt, &person, &need(false)).result, Decision::Grant);
    let rejected = evaluate(tt, &person, &need(true));
    assert_eq!(rejected.result, Decision::Reject);
    assert!(rejected.needs_review, "TT rejections are reviewed by a caseworker");

    let fee = catalog.get("redusert-foreldrebetaling").expect("service");
    let kid = |age: i64| {
        facts(&[
            ("child.age_years", Value::Integer(age)),
            ("barnets_navn", Value::Text("Emma".to_owned())),
            ("barnets_alder", Value::Integer(age)),
        ])
    };
    let income = |kroner: i64| facts(&[("inntekt", Value::Amount(kroner))]);
    let low = evaluate(fee, &kid(3), &income(300_000));
    assert_eq!(low.result, Decision::Grant);
    assert_eq!(low.fired.len(), 2, "both the 6 % rule and free core time");
    assert!(low.fired[0].explanation.nb.contains("300\u{a0}000 kr"), "{}", low.fired[0].explanation.nb);
    let high = evaluate(fee, &kid(3), &income(700_000));
    assert_eq!(high.result, Decision::Reject);
    assert!(high.needs_review);
    assert_eq!(evaluate(fee, &kid(1), &income(400_000)).result, Decision::Reject);
    assert_eq!(evaluate(fee, &kid(3), &income(400_000)).result, Decision::Grant);
}

#[test]
fn manual_services_never_decide_by_rules() {
    let catalog = catalog();
    let service = catalog.get("serveringsbevilling").expect("service");
    let bankrupt = facts(&[("organisation.bankrupt", Value::Bool(true)), ("organisation.deleted", Value::Bool(false))]);
    let outcome = evaluate(service, &bankrupt, &Answers::new());
    assert_eq!(outcome.result, Decision::Manual);
    assert_eq!(outcome.fired[0].id, "konkurs_eller_slettet", "the rule still advises the caseworker");
}

#[test]
fn the_cpsv_export_holds_every_service() {
    let catalog = catalog();
    let publisher = services::cpsv::Publisher {
        orgnr: "944496394",
        name: "Austrheim kommune",
        base_url: "https://austrheim.example",
    };
    let turtle = services::cpsv::turtle(&catalog, &publisher);
    assert!(turtle.starts_with("@prefix cpsv: <http://purl.org/vocab/cpsv#> ."));
    for service in catalog.services() {
        let subject = format!("<https://austrheim.example/tjenester/{}> a cpsv:PublicService ;", service.id);
        assert!(turtle.contains(&subject), "{} is exported", service.id);
        assert!(turtle.contains(&format!("dct:identifier \"{}\" ;", service.id)));
    }
    assert!(turtle.contains("dcat:theme <https://psi.norge.no/los/tema/barnehage>"));
    assert!(turtle.contains("\"Kindergarten place\"@en"));
    assert!(turtle.contains("cv:value \"420\"^^xsd:decimal"));
    // It parses as Turtle, and holds one cpsv:PublicService per service.
    let mut services = Vec::new();
    let mut triples = 0;
    for triple in oxttl::TurtleParser::new().for_slice(turtle.as_bytes()) {
        let triple = triple.expect("valid Turtle");
        triples += 1;
        if triple.predicate.as_str() == "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
            && triple.object.to_string() == "<http://purl.org/vocab/cpsv#PublicService>"
        {
            services.push(triple.subject.to_string());
        }
    }
    assert_eq!(services.len(), catalog.services().len());
    assert!(services.contains(&"<https://austrheim.example/tjenester/barnehageplass>".to_owned()));
    assert!(triples > 10 * catalog.services().len());
}

async fn population() -> (TestDatabase, store::Db, registers::Registers, Kommunenummer) {
    let schema =
        store::Schema::new(&[&audit::MIGRATIONS, &registers::MIGRATIONS, &services::MIGRATIONS]).expect("schema");
    let (guard, db) = TestDatabase::migrated(schema).await.expect("database");
    let kommunenummer = Kommunenummer::parse("4632").expect("Austrheim");
    let spec = PopulationSpec { kommunenummer, residents: 200, seed: 42 };
    let population = synthetic::generate(&spec, |_, _| {});
    registers::LocalRegisters::new(db.clone()).load_population(&population).await.expect("load");
    let all = registers::Registers::new(db.clone(), &registers::RegistersConfig::default()).expect("registers");
    (guard, db, all, kommunenummer)
}

#[tokio::test]
async fn prefill_reads_through_the_access_log_with_the_services_purpose() {
    let (_guard, db, registers, kommunenummer) = population().await;
    let catalog = catalog();
    let service = catalog.get("barnehageplass").expect("service");
    let ingrid = Persona::ParentOfNewborn.fnr();
    let local = registers::LocalRegisters::new(db.clone());
    let emma = registers::PersonSource::person(&local, &ingrid)
        .await
        .expect("read")
        .expect("Ingrid")
        .parental_responsibility_for[0];
    let acting = ActingAs::Child(emma);
    let today = date!(2026 - 11 - 12);
    let request = services::PrefillRequest { service, applicant: ingrid, acting: &acting, kommunenummer, today };
    let prefill = services::prefill(&registers, &request).await.expect("prefill");

    let name = prefill.get("barnets_navn").expect("the child's name");
    assert_eq!(name.source, "Folkeregisteret");
    assert_eq!(name.fetched_on, today);
    assert!(prefill.get("barnets_fodselsdato").is_some());
    assert_eq!(prefill.get("soker_navn").map(|v| v.display.as_str()), Some("Ingrid Solberg"));
    let facts = prefill.facts();
    assert!(matches!(facts.get("child.age_months"), Some(Value::Integer(months)) if *months < 12));

    let log = audit::AuditLog::new(db.clone());
    let about_emma = log.about(&emma, 10).await.expect("log");
    assert!(!about_emma.is_empty(), "the child's read is logged");
    assert!(
        about_emma
            .iter()
            .all(|e| e.purpose == "Søknad om barnehageplass" && e.legal_basis == "Barnehageloven §§ 16–17")
    );
    let about_ingrid = log.about(&ingrid, 10).await.expect("log");
    assert!(about_ingrid.iter().any(|e| e.purpose == "Søknad om barnehageplass: kontaktopplysninger"
        && e.action == registers::select::actions::CONTACT));
    assert!(about_ingrid.iter().all(|e| e.actor == format!("person:{}", ingrid.as_digits())));

    // Somebody else's child is refused, and the summary marks prefilled values with their source.
    let stranger = ActingAs::Child(Persona::JustMovedIn.fnr());
    let request = services::PrefillRequest { acting: &stranger, ..request.clone() };
    assert!(matches!(services::prefill(&registers, &request).await, Err(services::PrefillError::Forbidden("child"))));
    let sections = services::summary::sections(service, &Answers::new(), &prefill, Language::Bokmal);
    let child_rows = &sections.iter().find(|s| s.heading == "Barnet").expect("page").rows;
    assert!(child_rows[0].1.ends_with("(Hentet fra Folkeregisteret 12.11.2026)"), "{:?}", child_rows);
    let registers_rows = &sections[0].rows;
    assert_eq!(sections[0].heading, "Opplysninger fra registrene");
    assert!(
        registers_rows.iter().any(|(label, value)| label == "Navn" && value.starts_with("Ingrid Solberg (Hentet fra"))
    );
    let english = services::summary::sections(service, &Answers::new(), &prefill, Language::English);
    assert!(
        english[0]
            .rows
            .iter()
            .any(|(label, value)| label == "Name" && value.contains("(From Folkeregisteret 12.11.2026)"))
    );
}

#[tokio::test]
async fn a_protected_address_is_never_prefilled_and_an_organisation_is() {
    let (_guard, db, registers, kommunenummer) = population().await;
    let catalog = catalog();
    let today = date!(2026 - 11 - 12);
    let maria = Persona::StrengtFortrolig.fnr();
    let service = catalog.get("omsorgsstonad").expect("service");
    let request =
        services::PrefillRequest { service, applicant: maria, acting: &ActingAs::Myself, kommunenummer, today };
    let prefill = services::prefill(&registers, &request).await.expect("prefill");
    assert!(prefill.get("soker_navn").is_some());
    assert!(prefill.get("soker_adresse").is_none(), "a strengt fortrolig address is not shown");

    let lars = Persona::DagligLederOfNewBusiness.fnr();
    let local = registers::LocalRegisters::new(db.clone());
    let (orgnr, role) = local.roles_of(&lars).await.expect("roles")[0];
    let acting = ActingAs::Organisation(orgnr, role);
    let service = catalog.get("serveringsbevilling").expect("service");
    let request = services::PrefillRequest { service, applicant: lars, acting: &acting, kommunenummer, today };
    let prefill = services::prefill(&registers, &request).await.expect("prefill");
    let company = prefill.get("virksomhet").expect("the company's name");
    assert_eq!(company.source, "Enhetsregisteret");
    assert!(company.display.contains("Haugen"), "{}", company.display);
    assert_eq!(prefill.facts().get("organisation.bankrupt"), Some(&Value::Bool(false)));
    assert_eq!(prefill.get("soker_rolle").map(|v| v.display.as_str()), Some(role.code()));
}

#[tokio::test]
async fn drafts_are_saved_replaced_listed_and_purged_per_municipality() {
    let (_guard, db, _registers, kommunenummer) = population().await;
    let drafts = services::Drafts::new(db.clone(), kommunenummer);
    let ingrid = Persona::ParentOfNewborn.fnr();
    let emma = Fnr::parse(&Persona::JustMovedIn.fnr().as_digits()).expect("fnr");
    let subject = services::subject_key(&ActingAs::Child(emma));
    let mut answers = facts(&[("plasstype", Value::Choice("80".to_owned()))]);
    fn draft<'a>(owner: &'a Fnr, subject: &'a str, answers: &'a Answers) -> services::NewDraft<'a> {
        services::NewDraft {
            owner,
            service: "barnehageplass",
            subject,
            service_version: 1,
            page: Some("onsker"),
            answers,
        }
    }

    let first = drafts.save(draft(&ingrid, &subject, &answers), Timestamp(1_000)).await.expect("save");
    answers.insert("barnehage_1".to_owned(), Value::Text("Solsikken".to_owned()));
    let second = drafts.save(draft(&ingrid, &subject, &answers), Timestamp(2_000)).await.expect("save again");
    assert_eq!(first, second, "one draft per owner, service and subject");
    let loaded = drafts.load(&ingrid, &first).await.expect("load");
    assert_eq!(loaded.answers, answers);
    assert_eq!(loaded.created_at, Timestamp(1_000));
    assert_eq!(loaded.updated_at, Timestamp(2_000));
    drafts
        .save(services::NewDraft { service: "sfo", ..draft(&ingrid, &subject, &answers) }, Timestamp(5_000))
        .await
        .expect("another service");
    let listed = drafts.list(&ingrid).await.expect("list");
    assert_eq!(listed.iter().map(|d| d.service.as_str()).collect::<Vec<_>>(), vec!["sfo", "barnehageplass"]);

    // Another person and another municipality see nothing.
    let sofie = Persona::JustMovedIn.fnr();
    assert!(matches!(drafts.load(&sofie, &first).await, Err(services::DraftError::NotFound)));
    let elsewhere = services::Drafts::new(db.clone(), Kommunenummer::parse("0301").expect("Oslo"));
    assert!(elsewhere.list(&ingrid).await.expect("list").is_empty());
    assert_eq!(elsewhere.purge_older_than(std::time::Duration::ZERO, Timestamp(10_000)).await.expect("purge"), 0);

    // Purging keeps what is newer than the retention.
    let purged =
        drafts.purge_older_than(std::time::Duration::from_millis(4_000), Timestamp(8_000)).await.expect("purge");
    assert_eq!(purged, 1);
    assert_eq!(drafts.list(&ingrid).await.expect("list").len(), 1);
    drafts.delete(&ingrid, &listed[0].id).await.expect("delete");
    assert!(drafts.list(&ingrid).await.expect("list").is_empty());
    assert!(matches!(drafts.delete(&ingrid, &listed[0].id).await, Err(services::DraftError::NotFound)));
}
