//! The generated catalog (`scripts/noark5-catalog.py`) holds together and has what the rest of
//! the archive counts on.
/// The namespace Nikita, the reference implementation, gives the objects the standard has no rel for.
const NIKITA_REL_BASE: &str = "https://nikita.arkivlab.no/noark5/v5/";

use archive::model::{AttrType, CODE_LISTS, ENTITIES, REL_BASE, code_list, entity, xml_order};

/// The code lists of chapter 7 of the standard v1.1 (the issue said 33; the chapter has 31).
const CODE_LIST_COUNT: usize = 31;

#[test]
fn every_type_names_something_that_exists() {
    for e in ENTITIES {
        if let Some(base) = e.extends {
            assert!(entity(base).is_some(), "{} extends unknown {base}", e.name);
        }
        for a in e.attributes {
            match a.ty {
                AttrType::Code(c) => {
                    assert!(code_list(c).is_some(), "{}.{}: no code list {c}", e.name, a.name)
                }
                AttrType::Object(o) => {
                    assert!(entity(o).is_some(), "{}.{}: no entity {o}", e.name, a.name)
                }
                _ => {}
            }
            assert!(!(a.required && a.server), "{}.{} required and server-set", e.name, a.name);
        }
    }
}

#[test]
fn names_are_unique_and_lower_case() {
    for (i, e) in ENTITIES.iter().enumerate() {
        assert_eq!(e.name, e.name.to_lowercase());
        assert!(ENTITIES[..i].iter().all(|o| o.name != e.name), "{} twice", e.name);
        let all = e.all_attributes();
        for (j, a) in all.iter().enumerate() {
            assert!(all[..j].iter().all(|o| o.name != a.name), "{}.{} twice", e.name, a.name);
        }
    }
    for (i, c) in CODE_LISTS.iter().enumerate() {
        assert_eq!(c.name, c.name.to_lowercase());
        assert!(CODE_LISTS[..i].iter().all(|o| o.name != c.name), "{} twice", c.name);
    }
}

#[test]
fn rels_are_full_uris_without_duplicates() {
    for e in ENTITIES {
        for (i, rel) in e.rels.iter().enumerate() {
            assert!(rel.starts_with(REL_BASE) || rel.starts_with(NIKITA_REL_BASE), "{}: {rel}", e.name);
            assert!(rel.ends_with('/'), "{}: {rel}", e.name);
            assert!(!e.rels[..i].contains(rel), "{}: {rel} twice", e.name);
        }
    }
}

fn attr(e: &str, a: &str) -> &'static archive::model::Attribute {
    let ent = entity(e).unwrap_or_else(|| panic!("no entity {e}"));
    ent.attribute(a).unwrap_or_else(|| panic!("{e} has no {a}"))
}

#[test]
fn saksmappe() {
    for a in ["systemID", "opprettetDato", "opprettetAv", "mappeID", "saksaar", "sakssekvensnummer"] {
        assert!(attr("saksmappe", a).server, "saksmappe.{a} not server-set");
        assert!(!attr("saksmappe", a).required);
    }
    assert_eq!(attr("saksmappe", "saksansvarlig").ty, AttrType::String);
    assert!(attr("saksmappe", "tittel").required);
    assert_eq!(attr("saksmappe", "saksstatus").ty, AttrType::Code("saksstatus"));
    assert_eq!(attr("saksmappe", "skjerming").ty, AttrType::Object("skjerming"));
    let saksmappe = entity("saksmappe").expect("in the catalog");
    assert!(saksmappe.is_a("mappe"));
    assert!(saksmappe.all_rels().iter().any(|r| r.ends_with("/arkivstruktur/registrering/")));
}

#[test]
fn journalpost() {
    assert_eq!(attr("journalpost", "journalposttype").ty, AttrType::Code("journalposttype"));
    for a in ["journalpostnummer", "journalaar", "journalsekvensnummer", "registreringsID"] {
        assert!(attr("journalpost", a).server, "journalpost.{a} not server-set");
    }
    assert!(entity("journalpost").expect("in the catalog").is_a("registrering"));
    assert!(attr("journalpost", "noekkelord").many);
}

#[test]
fn dokumentobjekt() {
    for a in ["versjonsnummer", "variantformat", "format", "sjekksum", "sjekksumAlgoritme", "filstoerrelse"] {
        attr("dokumentobjekt", a);
    }
    assert_eq!(attr("dokumentobjekt", "variantformat").ty, AttrType::Code("variantformat"));
    assert_eq!(attr("dokumentobjekt", "format").ty, AttrType::Code("format"));
}

#[test]
fn parts_and_nikita_objects() {
    for e in [
        "partperson",
        "partenhet",
        "korrespondansepartperson",
        "korrespondansepartenhet",
        "korrespondansepartintern",
        "foedselsnummer",
        "dnummer",
        "noekkelord",
        "forfatter",
        "oppbevaringssted",
        "skjermingmetadata",
    ] {
        assert!(entity(e).is_some(), "no entity {e}");
    }
    assert!(entity("partperson").expect("in the catalog").is_a("part"));
    assert_eq!(attr("partperson", "postadresse").ty, AttrType::Object("enkeladresse"));
    let rel = format!("{NIKITA_REL_BASE}noekkelord/");
    for e in ["klasse", "mappe", "registrering"] {
        assert!(entity(e).expect("in the catalog").rels.contains(&rel.as_str()), "{e} lacks {rel}");
    }
}

#[test]
fn code_lists() {
    assert_eq!(CODE_LISTS.len(), CODE_LIST_COUNT);
    let jp = code_list("journalposttype").expect("in the catalog").values;
    assert!(jp.contains(&("I", "Inngående dokument")));
    assert!(jp.contains(&("U", "Utgående dokument")));
    assert!(code_list("dokumentmedium").expect("in the catalog").values.contains(&("E", "Elektronisk arkiv")));
    assert!(code_list("format").expect("in the catalog").values.contains(&("fmt/95", "PDF/A 1a - ISO 19005-1:2005")));
}

#[test]
fn xml_order_follows_the_xsd() {
    let saksmappe = xml_order("saksmappe").expect("in the catalog");
    assert_eq!(&saksmappe[..2], &["saksaar", "sakssekvensnummer"]);
    let mappe = xml_order("mappe").expect("in the catalog");
    assert_eq!(mappe[0], "systemID");
    assert!(mappe.contains(&"mappeID"));
    assert!(xml_order("journalpost").expect("in the catalog").contains(&"journalpostnummer"));
}
