//! The arkivuttrekk of a small archive, validated with xmllint against the official schemas.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use archive::extract::{Change, Node, Period, Source, export};
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

#[derive(Default)]
struct Memory {
    nodes: Vec<(Option<String>, Node)>,
    changes: Vec<Change>,
    files: HashMap<String, bytes::Bytes>,
}

impl Memory {
    fn add(&mut self, parent: Option<&str>, id: &str, entity: &'static str, body: Value) {
        let position = self.nodes.len() as i64 + 1;
        let mut body = body;
        body["systemID"] = json!(id);
        self.nodes.push((parent.map(str::to_string), Node { id: id.into(), entity, position, body }));
    }
}

impl Source for Memory {
    type Error = Never;
    async fn children(&self, parent: Option<&str>, after: i64, limit: u32) -> Result<Vec<Node>, Never> {
        Ok(self
            .nodes
            .iter()
            .filter(|(p, n)| p.as_deref() == parent && n.position > after)
            .take(limit as usize)
            .map(|(_, n)| n.clone())
            .collect())
    }
    async fn changes(&self, after: i64, limit: u32) -> Result<Vec<Change>, Never> {
        Ok(self.changes.iter().filter(|c| c.position > after).take(limit as usize).cloned().collect())
    }
    async fn file(&self, id: &str) -> Result<Option<bytes::Bytes>, Never> {
        Ok(self.files.get(id).cloned())
    }
}

fn code(kode: &str, navn: &str) -> Value {
    json!({"kode": kode, "kodenavn": navn})
}

const ARKIV: &str = "0a1b2c3d-0000-4000-8000-000000000001";
const ARKIVDEL: &str = "0a1b2c3d-0000-4000-8000-000000000002";
const KLASS: &str = "0a1b2c3d-0000-4000-8000-000000000003";
const KLASSE: &str = "0a1b2c3d-0000-4000-8000-000000000004";
const SAK: &str = "0a1b2c3d-0000-4000-8000-000000000005";
const JP_I: &str = "0a1b2c3d-0000-4000-8000-000000000006";
const JP_U: &str = "0a1b2c3d-0000-4000-8000-000000000007";
const DOK: &str = "0a1b2c3d-0000-4000-8000-000000000008";
const OBJ: &str = "0a1b2c3d-0000-4000-8000-000000000009";
const OLD_SAK: &str = "0a1b2c3d-0000-4000-8000-0000000000e0";
const NEW_SAK: &str = "0a1b2c3d-0000-4000-8000-0000000000f0";
const SECRET_NAME: &str = "Kari Hemmelig Nordmann";

fn archive() -> Memory {
    let mut m = Memory::default();
    let created = "2024-05-01T09:00:00+02:00";
    m.add(
        None,
        ARKIV,
        "arkiv",
        json!({"tittel": "Arkiv for Eksempel kommune", "arkivstatus": code("O", "Opprettet"),
            "dokumentmedium": code("E", "Elektronisk arkiv"), "opprettetDato": "2020-01-01T00:00:00+01:00", "opprettetAv": "admin"}),
    );
    m.add(
        Some(ARKIV),
        "0a1b2c3d-0000-4000-8000-0000000000a1",
        "arkivskaper",
        json!({"arkivskaperID": "974760673", "arkivskaperNavn": "Eksempel kommune"}),
    );
    m.add(
        Some(ARKIV),
        ARKIVDEL,
        "arkivdel",
        json!({"tittel": "Sakarkiv 2024", "arkivdelstatus": code("A", "Aktiv periode"),
            "opprettetDato": "2024-01-01T00:00:00+01:00", "opprettetAv": "admin"}),
    );
    m.add(
        Some(ARKIVDEL),
        KLASS,
        "klassifikasjonssystem",
        json!({"tittel": "Funksjonsbasert", "klassifikasjonstype": code("FU", "Funksjonsbasert, hierarkisk"),
            "opprettetDato": "2024-01-01T00:00:00+01:00", "opprettetAv": "admin"}),
    );
    m.add(
        Some(KLASS),
        KLASSE,
        "klasse",
        json!({"klasseID": "A10", "tittel": "Barnehager", "opprettetDato": "2024-01-01T00:00:00+01:00", "opprettetAv": "admin"}),
    );
    m.add(
        Some(KLASSE),
        SAK,
        "saksmappe",
        json!({"mappeID": "2024/17", "tittel": "Barnehageplass for barn av Kari Hemmelig Nordmann",
            "offentligTittel": "Barnehageplass for barn av *****", "opprettetDato": created, "opprettetAv": "sb1",
            "saksaar": 2024, "sakssekvensnummer": 17, "saksdato": "2024-05-01", "administrativEnhet": "Oppvekst",
            "saksansvarlig": "Siri Saksbehandler", "saksstatus": code("B", "Under behandling"),
            "skjerming": {"tilgangsrestriksjon": code("13", "Taushetsplikt"), "skjermingshjemmel": "Offl. § 13",
                "skjermingMetadata": [code("tittel", "Skjerming av tittel")]}}),
    );
    m.add(
        Some(SAK),
        "0a1b2c3d-0000-4000-8000-0000000000b1",
        "partperson",
        json!({"navn": "Kari Hemmelig Nordmann", "partRolle": code("KLI", "Klient"),
            "postadresse": {"adresselinje1": "Storgata 1", "postnummer": "0150", "poststed": "OSLO"}}),
    );
    m.add(Some(SAK), "0a1b2c3d-0000-4000-8000-0000000000b2", "merknad",
        json!({"merknadstekst": "Søker har <spesielle> behov & ønsker\u{1} rask svar", "merknadstype": code("MS", "Merknad fra saksbehandler"),
            "merknadsdato": created, "merknadRegistrertAv": "sb1"}));
    m.add(Some(SAK), "0a1b2c3d-0000-4000-8000-0000000000b3", "noekkelord", json!({"noekkelord": "barnehage"}));
    m.add(
        Some(SAK),
        JP_I,
        "journalpost",
        json!({"tittel": "Søknad om barnehageplass fra Kari Hemmelig Nordmann", "offentligTittel": "Søknad om barnehageplass fra *****",
            "opprettetDato": created, "opprettetAv": "sb1", "journalaar": 2024, "journalsekvensnummer": 101,
            "journalpostnummer": 1, "journalposttype": code("I", "Inngående dokument"),
            "journalstatus": code("J", "Journalført"), "journaldato": "2024-05-02",
            "skjerming": {"tilgangsrestriksjon": code("13", "Taushetsplikt"), "skjermingshjemmel": "Offl. § 13",
                "skjermingMetadata": [code("tittel", "Skjerming av tittel"), code("korrespondansepartNavn", "Skjerming av korrespondansepartNavn")]}}),
    );
    m.add(
        Some(JP_I),
        "0a1b2c3d-0000-4000-8000-0000000000c1",
        "korrespondansepartperson",
        json!({"korrespondanseparttype": code("EA", "Avsender"), "navn": SECRET_NAME}),
    );
    m.add(Some(JP_I), "0a1b2c3d-0000-4000-8000-0000000000c2", "nasjonalidentifikator", json!({}));
    m.add(Some(JP_I), DOK, "dokumentbeskrivelse",
        json!({"tittel": "Søknad", "dokumenttype": code("B", "Brev"), "dokumentstatus": code("F", "Dokumentet er ferdigstilt"),
            "opprettetDato": created, "opprettetAv": "sb1", "tilknyttetRegistreringSom": code("H", "Hoveddokument")}));
    m.add(Some(DOK), OBJ, "dokumentobjekt",
        json!({"versjonsnummer": 1, "variantformat": code("A", "Arkivformat"), "format": code("fmt/95", "PDF/A - ISO 19005-1:2005"),
            "filnavn": "soknad.pdf", "opprettetDato": created, "opprettetAv": "sb1"}));
    m.files.insert(OBJ.into(), bytes::Bytes::from_static(b"%PDF-1.4\n% tiny\n1 0 obj <<>> endobj\n%%EOF\n"));
    m.add(
        Some(SAK),
        JP_U,
        "journalpost",
        json!({"tittel": "Vedtak om barnehageplass", "opprettetDato": "2024-05-10T12:00:00+02:00", "opprettetAv": "sb1",
            "journalaar": 2024, "journalsekvensnummer": 140, "journalpostnummer": 2,
            "journalposttype": code("U", "Utgående dokument"), "journalstatus": code("E", "Ekspedert"), "journaldato": "2024-05-10"}),
    );
    m.add(Some(JP_U), "0a1b2c3d-0000-4000-8000-0000000000d1", "korrespondansepartenhet",
        json!({"korrespondanseparttype": code("EM", "Mottaker"), "navn": "Eksempel barnehage AS", "organisasjonsnummer": "999999999"}));
    // A case of 2023 with a journalpost of 2023: outside May 2024.
    m.add(
        Some(KLASSE),
        OLD_SAK,
        "saksmappe",
        json!({"tittel": "Gammel sak", "opprettetDato": "2023-03-01T10:00:00+01:00", "opprettetAv": "sb1",
            "saksaar": 2023, "sakssekvensnummer": 4, "saksdato": "2023-03-01", "administrativEnhet": "Oppvekst",
            "saksansvarlig": "Siri Saksbehandler", "saksstatus": code("A", "Avsluttet")}),
    );
    m.add(Some(OLD_SAK), "0a1b2c3d-0000-4000-8000-0000000000e1", "journalpost",
        json!({"tittel": "Gammelt brev", "opprettetDato": "2023-03-01T10:00:00+01:00", "opprettetAv": "sb1",
            "journalaar": 2023, "journalsekvensnummer": 9, "journalpostnummer": 1,
            "journalposttype": code("I", "Inngående dokument"), "journalstatus": code("J", "Journalført"), "journaldato": "2023-03-01"}));
    m.add(
        Some("0a1b2c3d-0000-4000-8000-0000000000e1"),
        "0a1b2c3d-0000-4000-8000-0000000000e2",
        "korrespondansepartperson",
        json!({"korrespondanseparttype": code("EA", "Avsender"), "navn": "Ola"}),
    );
    // An empty case created in the period.
    m.add(
        Some(KLASSE),
        NEW_SAK,
        "saksmappe",
        json!({"tittel": "Ny tom sak", "opprettetDato": "2024-05-20T10:00:00+02:00", "opprettetAv": "sb1",
            "saksaar": 2024, "sakssekvensnummer": 30, "saksdato": "2024-05-20", "administrativEnhet": "Oppvekst",
            "saksansvarlig": "Siri Saksbehandler", "saksstatus": code("B", "Under behandling")}),
    );
    m.changes = vec![
        Change {
            position: 1,
            system_id: SAK.into(),
            field: "tittel".into(),
            changed_at: "2024-05-03T10:00:00+02:00".into(),
            changed_by: "sb1".into(),
            old: Some("Barnehageplass".into()),
            new: Some("Barnehageplass for barn".into()),
        },
        Change {
            position: 2,
            system_id: JP_U.into(),
            field: "journalstatus".into(),
            changed_at: "2024-05-11T10:00:00+02:00".into(),
            changed_by: "sb1".into(),
            old: None,
            new: Some("Ekspedert".into()),
        },
    ];
    m
}

fn date(s: &str) -> time::Date {
    let p: Vec<u32> = s.split('-').map(|x| x.parse().unwrap()).collect();
    time::Date::from_calendar_date(p[0] as i32, time::Month::try_from(p[1] as u8).unwrap(), p[2] as u8).unwrap()
}

/// Runs xmllint; fails (does not skip) when it is missing unless ALLMENNING_SKIP_XMLLINT=1.
fn xmllint(dir: &Path, xml: &str, xsd: &str) -> Option<(bool, String)> {
    let run = Command::new("xmllint").arg("--noout").arg("--schema").arg(dir.join(xsd)).arg(dir.join(xml)).output();
    match run {
        Ok(out) => Some((out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())),
        Err(e) => {
            if std::env::var("ALLMENNING_SKIP_XMLLINT").as_deref() == Ok("1") {
                None
            } else {
                panic!("xmllint is needed (libxml2-utils), or set ALLMENNING_SKIP_XMLLINT=1: {e}")
            }
        }
    }
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_small_archive_validates() {
    let dir = std::env::temp_dir().join(format!("allmenning-uttrekk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let source = archive();
    let mut calls = 0;
    let mut progress = |_: &archive::extract::Progress| calls += 1;
    let period = Period { from: date("2024-05-01"), to: date("2024-05-31") };
    let summary = export(&source, period, "Eksempel kommune", &dir, &mut progress).await.unwrap();
    assert!(calls >= 1);
    assert_eq!((summary.arkiv, summary.arkivdeler, summary.mapper, summary.registreringer), (1, 1, 2, 2));
    assert_eq!((summary.dokumentbeskrivelser, summary.dokumentobjekter, summary.files), (1, 1, 1));
    assert_eq!((summary.changes, summary.journal_entries, summary.skipped), (2, 2, 1));

    for (xml, xsd) in [
        ("arkivstruktur.xml", "arkivstruktur.xsd"),
        ("endringslogg.xml", "endringslogg.xsd"),
        ("loependeJournal.xml", "loependeJournal.xsd"),
        ("offentligJournal.xml", "offentligJournal.xsd"),
        ("arkivuttrekk.xml", "addml.xsd"),
    ] {
        if let Some((ok, err)) = xmllint(&dir, xml, xsd) {
            assert!(ok, "{xml} does not validate against {xsd}:\n{err}");
        }
    }

    // The schemas are the official ones, byte for byte.
    for name in ["arkivstruktur.xsd", "metadatakatalog.xsd", "addml.xsd", "offentligJournal.xsd"] {
        let official = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/noark5").join(name);
        assert_eq!(std::fs::read(dir.join(name)).unwrap(), std::fs::read(official).unwrap());
    }

    // Every checksum in the ADDML is the file's real SHA-256, and every file is listed.
    let addml = std::fs::read_to_string(dir.join("arkivuttrekk.xml")).unwrap();
    for name in [
        "arkivstruktur.xml",
        "endringslogg.xml",
        "loependeJournal.xml",
        "offentligJournal.xml",
        "arkivstruktur.xsd",
        "metadatakatalog.xsd",
        "endringslogg.xsd",
        "loependeJournal.xsd",
        "offentligJournal.xsd",
        "addml.xsd",
    ] {
        let at = addml.find(&format!("<value>{name}</value>")).unwrap_or_else(|| panic!("{name} not in the ADDML"));
        let rest = &addml[at..];
        let key = "<property name=\"value\">";
        let v = &rest[rest.find(key).unwrap() + key.len()..];
        let v = &v[v.find("<value>").unwrap() + 7..];
        let v = &v[..v.find("</value>").unwrap()];
        assert_eq!(v, sha256(&dir.join(name)), "{name}");
    }
    assert!(addml.contains("<value>2024-05-01</value>") && addml.contains("<value>2024-05-31</value>"));

    // The document, referenced relatively, with its checksum.
    let structure = std::fs::read_to_string(dir.join("arkivstruktur.xml")).unwrap();
    let file = format!("dokumenter/{OBJ}.pdf");
    assert!(structure.contains(&format!("<referanseDokumentfil>{file}</referanseDokumentfil>")));
    assert!(structure.contains(&sha256(&dir.join(&file))));
    assert!(structure.contains("<journalposttype>Inngående dokument</journalposttype>"));
    assert!(structure.contains("xsi:type=\"saksmappe\"") && structure.contains("xsi:type=\"journalpost\""));
    assert!(structure.contains("&lt;spesielle&gt; behov &amp; ønsker rask"));
    assert!(
        structure.contains("Ny tom sak") && !structure.contains("Gammel sak") && !structure.contains("Gammelt brev")
    );

    // The screened name is in the løpende journal, not in the offentlig journal.
    let loepende = std::fs::read_to_string(dir.join("loependeJournal.xml")).unwrap();
    let offentlig = std::fs::read_to_string(dir.join("offentligJournal.xml")).unwrap();
    assert!(loepende.contains(SECRET_NAME));
    assert!(!offentlig.contains(SECRET_NAME) && !offentlig.contains("Hemmelig"));
    assert!(offentlig.contains("Søknad om barnehageplass fra *****"));
    assert!(offentlig.contains("Eksempel barnehage AS"));

    // A non-empty directory is refused.
    let again = export(&source, period, "Eksempel kommune", &dir, &mut |_| {}).await;
    assert!(matches!(again, Err(archive::extract::ExportError::NotEmpty(_))));
    if std::env::var("ALLMENNING_KEEP_UTTREKK").is_err() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[tokio::test]
async fn an_empty_period_gives_an_empty_extraction_in_which_every_file_validates() {
    let dir = std::env::temp_dir().join(format!("allmenning-uttrekk-tom-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let source = archive();
    let period = Period { from: date("2022-01-01"), to: date("2022-12-31") };
    let summary = export(&source, period, "Eksempel kommune", &dir, &mut |_| {}).await.unwrap();
    assert_eq!((summary.arkiv, summary.arkivdeler, summary.mapper, summary.registreringer), (1, 1, 0, 0));
    assert_eq!((summary.changes, summary.journal_entries, summary.files), (0, 0, 0));
    for (xml, xsd) in [("arkivstruktur.xml", "arkivstruktur.xsd"), ("arkivuttrekk.xml", "addml.xsd")] {
        if let Some((ok, err)) = xmllint(&dir, xml, xsd) {
            assert!(ok, "{xml} does not validate against {xsd}:\n{err}");
        }
    }
    // The journals and the endringslogg would need one entry to validate: they are left out,
    // and the ADDML names only the files delivered.
    for xml in ["endringslogg.xml", "loependeJournal.xml", "offentligJournal.xml"] {
        assert!(!dir.join(xml).exists(), "{xml} is left out of an empty period");
    }
    let addml = std::fs::read_to_string(dir.join("arkivuttrekk.xml")).unwrap();
    assert!(!addml.contains("loependeJournal.xml") && addml.contains("arkivstruktur.xml"));
    std::fs::remove_dir_all(&dir).unwrap();
}
