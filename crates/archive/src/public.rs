//! The public journal (offentlig journal): what anyone may see of a journalpost, screened as its
//! skjerming (or its saksmappe's) says. One pure function, [`public_entry`], makes the entry; the
//! journal page, its JSON and its CSV all show what it returns, so they cannot disagree.
//!
//! The rule:
//! - a screening basis applies when the journalpost or its saksmappe has `skjerming`;
//! - the title is withheld when that skjerming's `skjermingMetadata` covers a title (`TR1`,
//!   `TRO` for the registrering, `TM1`, `TMO` for the mappe, or `M`, temporary screening):
//!   `offentligTittel` is shown instead, or [`WITHHELD`] when there is none;
//! - the names of korrespondanseparter who are persons (`korrespondansepartperson`) are
//!   withheld whenever a screening basis applies;
//! - the legal basis (`skjermingshjemmel`) is always shown with a screened entry.
//!
//! Not yet: `skjermingOpphoererDato` (a screening that has run out still screens) and the
//! screening of single documents (`skjermingDokument`); the public journal shows no documents.

use serde::Serialize;
use serde_json::Value;

use crate::records::Object;

/// What is shown in place of withheld text.
pub const WITHHELD: &str = "[skjermet]";

/// The skjermingMetadata values that cover a title.
const TITLE_CODES: &[&str] = &["TR1", "TRO", "TM1", "TMO", "M"];

/// One korrespondansepart as the public sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicParty {
    /// The name, or [`WITHHELD`].
    pub name: String,
    /// Whether the name is withheld.
    pub screened: bool,
    /// Avsender, mottaker, … (the korrespondanseparttype's kodenavn), when stated.
    pub role: Option<String>,
}

/// One entry of the public journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicEntry {
    /// The journalpost's systemID (to ask for access to it).
    pub system_id: String,
    /// `journalaar/journalsekvensnummer`, e.g. `2026/14`.
    pub journalpostnummer: String,
    /// The journal date, `YYYY-MM-DD`.
    pub journaldato: String,
    /// The journalposttype's kode (`I`, `U`, `N`, `X`, `S`).
    pub journalposttype: Option<String>,
    /// Its kodenavn, as stored.
    pub journalposttype_navn: Option<String>,
    /// The title as the public may see it.
    pub tittel: String,
    /// Whether the title is withheld (the public title or [`WITHHELD`] is shown).
    pub tittel_skjermet: bool,
    /// The case's mappeID, if the journalpost is in a saksmappe.
    pub saksnummer: Option<String>,
    /// The korrespondanseparter.
    pub korrespondanseparter: Vec<PublicParty>,
    /// Whether a screening basis applies.
    pub skjermet: bool,
    /// The legal basis of the screening, when one applies.
    pub skjermingshjemmel: Option<String>,
}

/// The skjerming that applies: the journalpost's own, else its case's.
fn screening<'a>(journalpost: &'a Object, case: Option<&'a Object>) -> Option<&'a Value> {
    journalpost.body.get("skjerming").or_else(|| case.and_then(|c| c.body.get("skjerming"))).filter(|v| v.is_object())
}

/// The kodes of a skjerming's skjermingMetadata.
fn metadata_codes(skjerming: &Value) -> Vec<&str> {
    match skjerming.get("skjermingMetadata") {
        Some(Value::Array(items)) => items.iter().filter_map(|i| i.get("kode").and_then(Value::as_str)).collect(),
        Some(single) => single.get("kode").and_then(Value::as_str).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The name a korrespondansepart goes by: an enhet's or a person's `navn`, an internal one's
/// unit or case officer.
pub fn party_name(party: &Object) -> String {
    ["navn", "administrativEnhet", "saksbehandler"]
        .iter()
        .find_map(|field| party.text(field).filter(|t| !t.trim().is_empty()))
        .unwrap_or_default()
        .to_owned()
}

/// Whether a journalpost belongs in the public journal at all: journalført (not reserved, not
/// a temporary registration, not cancelled).
pub fn is_journalfoert(journalpost: &Object) -> bool {
    !matches!(journalpost.kode("journalstatus"), Some("M" | "S" | "R" | "U"))
}

/// The public entry of a journalpost, its case (the saksmappe it is in, if any) and its
/// korrespondanseparter, screened as described in the module's documentation.
pub fn public_entry(journalpost: &Object, case: Option<&Object>, parties: &[Object]) -> PublicEntry {
    let skjerming = screening(journalpost, case);
    let codes = skjerming.map(metadata_codes).unwrap_or_default();
    let title_covered = codes.iter().any(|c| TITLE_CODES.contains(c));
    let tittel = journalpost.text("tittel").unwrap_or_default().to_owned();
    let (tittel, tittel_skjermet) = if skjerming.is_some() && title_covered {
        let public = journalpost.text("offentligTittel").filter(|t| !t.trim().is_empty());
        (public.unwrap_or(WITHHELD).to_owned(), true)
    } else {
        (tittel, false)
    };
    let korrespondanseparter = parties
        .iter()
        .filter(|p| p.entity.is_a("korrespondansepart"))
        .map(|party| {
            let screened = skjerming.is_some() && party.entity.is_a("korrespondansepartperson");
            PublicParty {
                name: if screened { WITHHELD.to_owned() } else { party_name(party) },
                screened,
                role: party
                    .body
                    .get("korrespondanseparttype")
                    .and_then(|t| t.get("kodenavn"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }
        })
        .collect();
    let number = match (journalpost.body.get("journalaar"), journalpost.body.get("journalsekvensnummer")) {
        (Some(year), Some(sequence)) => format!("{}/{}", text_of(year), text_of(sequence)),
        _ => journalpost.text("registreringsID").unwrap_or_default().to_owned(),
    };
    PublicEntry {
        system_id: journalpost.system_id.clone(),
        journalpostnummer: number,
        journaldato: journalpost.text("journaldato").map(|d| d.chars().take(10).collect()).unwrap_or_default(),
        journalposttype: journalpost.kode("journalposttype").map(str::to_owned),
        journalposttype_navn: journalpost
            .body
            .get("journalposttype")
            .and_then(|t| t.get("kodenavn"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        tittel,
        tittel_skjermet,
        saksnummer: case.filter(|c| c.entity.is_a("mappe")).and_then(|c| c.text("mappeID")).map(str::to_owned),
        korrespondanseparter,
        skjermet: skjerming.is_some(),
        skjermingshjemmel: skjerming
            .and_then(|s| s.get("skjermingshjemmel"))
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The CSV header of the open data, in the order of [`csv_row`].
pub const CSV_HEADER: &[&str] = &[
    "journalpostnummer",
    "journaldato",
    "journalposttype",
    "tittel",
    "saksnummer",
    "korrespondanseparter",
    "skjermingshjemmel",
];

/// One entry as a CSV row's fields (korrespondanseparter joined with `; `).
pub fn csv_row(entry: &PublicEntry) -> Vec<String> {
    vec![
        entry.journalpostnummer.clone(),
        entry.journaldato.clone(),
        entry.journalposttype_navn.clone().or_else(|| entry.journalposttype.clone()).unwrap_or_default(),
        entry.tittel.clone(),
        entry.saksnummer.clone().unwrap_or_default(),
        entry.korrespondanseparter.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join("; "),
        entry.skjermingshjemmel.clone().unwrap_or_default(),
    ]
}

/// One field quoted as RFC 4180 asks: in double quotes when it holds a comma, a quote or a
/// line break, with each quote doubled.
pub fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// Entries as CSV: a header row, then one row per entry, lines ended by CRLF (RFC 4180).
pub fn to_csv(entries: &[PublicEntry]) -> String {
    let mut out = String::new();
    let mut line = |fields: Vec<String>| {
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    };
    line(CSV_HEADER.iter().map(|h| (*h).to_owned()).collect());
    for entry in entries {
        line(csv_row(entry));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::*;
    use crate::model::entity;

    fn object(name: &str, body: Value) -> Object {
        let Value::Object(body) = body else { panic!("an object") };
        Object {
            system_id: format!("id-{name}"),
            entity: entity(name).expect("entity"),
            parent_id: None,
            position: 1,
            version: 1,
            body,
        }
    }

    fn post(extra: Value) -> Object {
        let mut body: Map<String, Value> = match json!({
            "tittel": "Søknad om startlån fra Kari Nordmann",
            "journalaar": 2026, "journalsekvensnummer": 14,
            "journaldato": "2026-12-03T09:00:00+01:00",
            "journalposttype": {"kode": "I", "kodenavn": "Inngående dokument"},
        }) {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        if let Value::Object(extra) = extra {
            body.extend(extra);
        }
        object("journalpost", Value::Object(body))
    }

    fn skjerming(codes: &[&str]) -> Value {
        json!({
            "tilgangsrestriksjon": {"kode": "13", "kodenavn": "Taushetsplikt"},
            "skjermingshjemmel": "Offl. § 13 jf. fvl. § 13",
            "skjermingMetadata": codes.iter().map(|c| json!({"kode": c})).collect::<Vec<_>>(),
        })
    }

    fn parties() -> Vec<Object> {
        vec![
            object(
                "korrespondansepartperson",
                json!({"navn": "Kari Nordmann", "korrespondanseparttype": {"kode": "EA", "kodenavn": "Avsender"}}),
            ),
            object("korrespondansepartenhet", json!({"navn": "Boligbyggelaget AS"})),
            object("korrespondansepartintern", json!({"administrativEnhet": "Økonomi"})),
        ]
    }

    #[test]
    fn an_unscreened_entry_shows_everything() {
        let case = object("saksmappe", json!({"tittel": "Startlån", "mappeID": "2026/3"}));
        let entry = public_entry(&post(json!({})), Some(&case), &parties());
        assert_eq!(entry.journalpostnummer, "2026/14");
        assert_eq!(entry.journaldato, "2026-12-03");
        assert_eq!(entry.tittel, "Søknad om startlån fra Kari Nordmann");
        assert!(!entry.skjermet && !entry.tittel_skjermet);
        assert_eq!(entry.saksnummer.as_deref(), Some("2026/3"));
        let names: Vec<_> = entry.korrespondanseparter.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Kari Nordmann", "Boligbyggelaget AS", "Økonomi"]);
        assert_eq!(entry.korrespondanseparter[0].role.as_deref(), Some("Avsender"));
        assert_eq!(entry.skjermingshjemmel, None);
    }

    #[test]
    fn a_screened_entry_hides_persons_and_shows_the_basis() {
        let entry = public_entry(&post(json!({"skjerming": skjerming(&["NA"])})), None, &parties());
        assert!(entry.skjermet);
        assert_eq!(entry.skjermingshjemmel.as_deref(), Some("Offl. § 13 jf. fvl. § 13"));
        let names: Vec<_> = entry.korrespondanseparter.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, [WITHHELD, "Boligbyggelaget AS", "Økonomi"], "only the person is withheld");
        assert!(entry.korrespondanseparter[0].screened);
        // The metadata does not cover the title: it is shown.
        assert!(!entry.tittel_skjermet);
        assert_eq!(entry.tittel, "Søknad om startlån fra Kari Nordmann");
    }

    #[test]
    fn a_covered_title_gives_way_to_the_public_title_or_to_nothing() {
        let with_public =
            post(json!({"skjerming": skjerming(&["TRO", "NA"]), "offentligTittel": "Søknad om startlån fra *****"}));
        let entry = public_entry(&with_public, None, &[]);
        assert!(entry.tittel_skjermet);
        assert_eq!(entry.tittel, "Søknad om startlån fra *****");
        let without = post(json!({"skjerming": skjerming(&["TR1"])}));
        assert_eq!(public_entry(&without, None, &[]).tittel, WITHHELD);
        let blank = post(json!({"skjerming": skjerming(&["M"]), "offentligTittel": "  "}));
        assert_eq!(public_entry(&blank, None, &[]).tittel, WITHHELD);
    }

    #[test]
    fn the_case_screening_applies_to_its_journalposts() {
        let case =
            object("saksmappe", json!({"tittel": "Barnevern", "mappeID": "2026/9", "skjerming": skjerming(&["TMO"])}));
        let entry = public_entry(&post(json!({})), Some(&case), &parties());
        assert!(entry.skjermet);
        assert!(entry.tittel_skjermet);
        assert_eq!(entry.tittel, WITHHELD);
        assert_eq!(entry.korrespondanseparter[0].name, WITHHELD);
        assert_eq!(entry.skjermingshjemmel.as_deref(), Some("Offl. § 13 jf. fvl. § 13"));
        // The journalpost's own skjerming wins over the case's.
        let own = post(
            json!({"skjerming": {"tilgangsrestriksjon": {"kode": "5"}, "skjermingshjemmel": "Offl. § 5", "skjermingMetadata": [{"kode": "NA"}]}}),
        );
        let entry = public_entry(&own, Some(&case), &[]);
        assert_eq!(entry.skjermingshjemmel.as_deref(), Some("Offl. § 5"));
        assert!(!entry.tittel_skjermet);
    }

    #[test]
    fn csv_quotes_as_rfc_4180_says() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        let entry = public_entry(&post(json!({"skjerming": skjerming(&["NA"])})), None, &parties());
        let csv = to_csv(&[entry]);
        let mut lines = csv.split("\r\n");
        assert_eq!(lines.next(), Some(CSV_HEADER.join(",").as_str()));
        assert_eq!(
            lines.next(),
            Some(
                "2026/14,2026-12-03,Inngående dokument,Søknad om startlån fra Kari Nordmann,,[skjermet]; Boligbyggelaget AS; Økonomi,Offl. § 13 jf. fvl. § 13"
            )
        );
        assert!(csv.ends_with("\r\n"));
    }

    #[test]
    fn only_journalfoerte_posts_are_public() {
        assert!(is_journalfoert(&post(json!({"journalstatus": {"kode": "J"}}))));
        assert!(is_journalfoert(&post(json!({}))));
        assert!(!is_journalfoert(&post(json!({"journalstatus": {"kode": "R"}}))));
        assert!(!is_journalfoert(&post(json!({"journalstatus": {"kode": "U"}}))));
    }
}
