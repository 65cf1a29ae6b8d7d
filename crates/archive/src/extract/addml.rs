//! `arkivuttrekk.xml`: ADDML 8.3 in the Arkivverket's template for Noark 5 extractions.

use std::io::{self, Write};
use std::path::Path;

use super::xml::{HashingFile, Xml};
use super::{Period, Summary, Written};

pub(crate) struct Info<'a> {
    pub period: Period,
    pub arkivskaper_name: &'a str,
    pub summary: &'a Summary,
    pub files: &'a [Written],
}

fn property<W: Write>(x: &mut Xml<W>, name: &str, value: &str) -> io::Result<()> {
    x.open("property", &[("name", name)])?;
    x.leaf("value", value)?;
    x.close("property")
}

fn integer<W: Write>(x: &mut Xml<W>, name: &str, value: u64) -> io::Result<()> {
    x.open("property", &[("dataType", "integer"), ("name", name)])?;
    x.leaf("value", &value.to_string())?;
    x.close("property")
}

/// `<property name="file">` with name, format and SHA-256.
fn file<W: Write>(x: &mut Xml<W>, f: &Written) -> io::Result<()> {
    x.open("property", &[("name", "file")])?;
    x.open("properties", &[])?;
    property(x, "name", &f.name)?;
    x.open("property", &[("name", "format")])?;
    x.leaf("value", "XML")?;
    x.open("properties", &[])?;
    property(x, "version", "1.0")?;
    x.close("properties")?;
    x.close("property")?;
    x.open("property", &[("name", "checksum")])?;
    x.open("properties", &[])?;
    property(x, "algorithm", "SHA-256")?;
    property(x, "value", &f.sha256)?;
    x.close("properties")?;
    x.close("property")?;
    integer(x, "size", f.size)?;
    x.close("properties")?;
    x.close("property")
}

fn schema<W: Write>(x: &mut Xml<W>, f: &Written, main: bool) -> io::Result<()> {
    x.open("property", &[("name", "schema")])?;
    if main {
        x.leaf("value", "main")?;
    }
    x.open("properties", &[])?;
    file(x, f)?;
    x.open("property", &[("name", "type")])?;
    x.leaf("value", "XML Schema")?;
    x.open("properties", &[])?;
    property(x, "version", "1.0")?;
    x.close("properties")?;
    x.close("property")?;
    x.close("properties")?;
    x.close("property")
}

fn occurrences<W: Write>(x: &mut Xml<W>, element: &str, count: u64) -> io::Result<()> {
    x.open("property", &[("name", "numberOfOccurrences")])?;
    x.leaf("value", element)?;
    x.open("properties", &[])?;
    property(x, "elementPath", &format!("//{element}"))?;
    integer(x, "value", count)?;
    x.close("properties")?;
    x.close("property")
}

/// A data object: its name, its main schema and the counts of its elements.
type Part<'a> = (&'a str, &'a str, &'a [(&'a str, u64)]);

pub(crate) fn write(out_dir: &Path, info: &Info<'_>) -> io::Result<()> {
    let find = |name: &str| info.files.iter().find(|f| f.name == name);
    let s = info.summary;
    let mut x = Xml::new(HashingFile::create(&out_dir.join("arkivuttrekk.xml"))?);
    x.declaration()?;
    x.open(
        "addml",
        &[
            ("xmlns", "http://www.arkivverket.no/standarder/addml"),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
            ("name", "Noark 5-arkivuttrekk"),
            ("xsi:schemaLocation", "http://www.arkivverket.no/standarder/addml addml.xsd"),
        ],
    )?;
    x.open("dataset", &[])?;
    x.leaf("description", "Noark 5-arkivuttrekk")?;
    x.open("reference", &[])?;
    x.open("context", &[])?;
    x.open("additionalElements", &[])?;
    x.open("additionalElement", &[("name", "recordCreators")])?;
    x.open("additionalElements", &[])?;
    x.open("additionalElement", &[("name", "recordCreator")])?;
    x.leaf("value", info.arkivskaper_name)?;
    x.close("additionalElement")?;
    x.close("additionalElements")?;
    x.close("additionalElement")?;
    x.open("additionalElement", &[("name", "systemType")])?;
    x.leaf("value", "Sakarkiv (Noark-5)")?;
    x.close("additionalElement")?;
    x.open("additionalElement", &[("name", "systemName")])?;
    x.leaf("value", "allmenning")?;
    x.close("additionalElement")?;
    x.close("additionalElements")?;
    x.close("context")?;
    x.open("content", &[])?;
    x.open("additionalElements", &[])?;
    x.open("additionalElement", &[("name", "archivalPeriod")])?;
    x.open("properties", &[])?;
    property(&mut x, "startDate", &info.period.from.to_string())?;
    property(&mut x, "endDate", &info.period.to.to_string())?;
    x.close("properties")?;
    x.close("additionalElement")?;
    x.close("additionalElements")?;
    x.close("content")?;
    x.close("reference")?;

    x.open("dataObjects", &[])?;
    x.open("dataObject", &[("name", "Noark 5-arkivuttrekk")])?;
    x.open("properties", &[])?;
    x.open("property", &[("name", "info")])?;
    x.open("properties", &[])?;
    x.open("property", &[("name", "type")])?;
    x.leaf("value", "Noark 5")?;
    x.open("properties", &[])?;
    property(&mut x, "version", "5.0")?;
    x.close("properties")?;
    x.close("property")?;
    x.open("property", &[("name", "additionalInfo")])?;
    x.open("properties", &[])?;
    integer(&mut x, "antallDokumentfiler", s.files)?;
    x.close("properties")?;
    x.close("property")?;
    x.close("properties")?;
    x.close("property")?;
    x.close("properties")?;

    x.open("dataObjects", &[])?;
    let parts: [Part<'_>; 4] = [
        (
            "arkivstruktur",
            "arkivstruktur.xsd",
            &[
                ("arkiv", s.arkiv),
                ("arkivdel", s.arkivdeler),
                ("mappe", s.mapper),
                ("registrering", s.registreringer),
                ("dokumentbeskrivelse", s.dokumentbeskrivelser),
                ("dokumentobjekt", s.dokumentobjekter),
            ],
        ),
        ("endringslogg", "endringslogg.xsd", &[("endring", s.changes)]),
        ("loependeJournal", "loependeJournal.xsd", &[("journalregistrering", s.journal_entries)]),
        ("offentligJournal", "offentligJournal.xsd", &[("journalregistrering", s.journal_entries)]),
    ];
    for (name, xsd, counts) in parts {
        let (Some(f), Some(main), Some(katalog)) =
            (find(&format!("{name}.xml")), find(xsd), find("metadatakatalog.xsd"))
        else {
            continue;
        };
        x.open("dataObject", &[("name", name)])?;
        x.open("properties", &[])?;
        file(&mut x, f)?;
        schema(&mut x, main, true)?;
        schema(&mut x, katalog, false)?;
        x.open("property", &[("name", "info")])?;
        x.open("properties", &[])?;
        for (element, count) in counts {
            occurrences(&mut x, element, *count)?;
        }
        x.close("properties")?;
        x.close("property")?;
        x.close("properties")?;
        x.close("dataObject")?;
    }
    if let Some(addml) = find("addml.xsd") {
        x.open("dataObject", &[("name", "addml")])?;
        x.open("properties", &[])?;
        schema(&mut x, addml, true)?;
        x.close("properties")?;
        x.close("dataObject")?;
    }
    x.close("dataObjects")?;
    x.close("dataObject")?;
    x.close("dataObjects")?;
    x.close("dataset")?;
    x.close("addml")?;
    x.out.finish()?;
    Ok(())
}
