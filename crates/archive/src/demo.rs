//! A small archive for demo mode: an arkiv with its arkivskaper, the arkivdel "Sakarkiv", a
//! klassifikasjonssystem with one klasse, two saksmapper and three journalposts of today — one
//! incoming from a private person, screened (taushetsplikt; the sender's name and the title),
//! one outgoing to an organisation, one internal — each with a one-page PDF.
//!
//! Every name and number is made up (the persons are the synthetic population's personas).

use bytes::Bytes;
use kernel::Kommunenummer;
use serde_json::{Map, Value, json};

use crate::ArchiveError;
use crate::model;
use crate::records::{Actor, Noark, Object};

/// The tilgangsrestriksjon the demo adds for taushetsplikt (offentleglova § 13), which the
/// standard's list does not carry; municipalities add it as a local value.
pub const TAUSHETSPLIKT: (&str, &str) = ("13", "Taushetsplikt etter offentleglova § 13");

fn actor() -> Actor {
    Actor { id: "demo".to_owned(), name: "Demo-arkivar".to_owned() }
}

fn body(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

async fn make(
    noark: &Noark,
    k: Kommunenummer,
    parent: Option<&str>,
    name: &str,
    fields: Value,
) -> Result<Object, ArchiveError> {
    let entity = model::entity(name).ok_or_else(|| ArchiveError::Malformed(format!("no entity {name}")))?;
    noark.create(k, parent, entity, &body(fields), &actor()).await
}

/// Adds the klasser `(klasseID, tittel)` that are missing to a klassifikasjonssystem titled
/// `system_title` in the demo's arkivdel (created when missing), so the cases of the services
/// that name them are filed there. Does nothing before `seed`; a second call adds nothing.
pub async fn seed_klasser(
    noark: &Noark,
    k: Kommunenummer,
    system_title: &str,
    klasser: &[(String, String)],
) -> Result<(), ArchiveError> {
    let Some(arkiv) = noark.roots(k, 0, 1).await?.into_iter().next() else { return Ok(()) };
    let Some(arkivdel) = noark.children(k, &arkiv.system_id, &["arkivdel"], 0, 1).await?.into_iter().next() else {
        return Ok(());
    };
    let systems = noark.children(k, &arkivdel.system_id, &["klassifikasjonssystem"], 0, 100).await?;
    let system = match systems.into_iter().find(|s| s.text("tittel") == Some(system_title)) {
        Some(system) => system,
        None => {
            make(noark, k, Some(&arkivdel.system_id), "klassifikasjonssystem", json!({"tittel": system_title})).await?
        }
    };
    let existing = noark.children(k, &system.system_id, &["klasse"], 0, 1000).await?;
    for (id, tittel) in klasser {
        if existing.iter().any(|klasse| klasse.text("klasseID") == Some(id.as_str())) {
            continue;
        }
        make(noark, k, Some(&system.system_id), "klasse", json!({"klasseID": id, "tittel": tittel})).await?;
    }
    Ok(())
}

/// A one-page PDF (PDF 1.4, Helvetica) that says `text`; the cross-reference table's offsets
/// are counted, so readers accept it without repair.
pub fn one_page_pdf(text: &str) -> Vec<u8> {
    let escaped: String = text
        .chars()
        .filter(char::is_ascii)
        .map(|c| match c {
            '(' | ')' | '\\' => format!("\\{c}"),
            other => other.to_string(),
        })
        .collect();
    let content = format!("BT /F1 14 Tf 72 770 Td ({escaped}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

/// A dokumentbeskrivelse with one dokumentobjekt holding a one-page PDF, under a journalpost.
async fn document(
    noark: &Noark,
    k: Kommunenummer,
    journalpost: &str,
    title: &str,
    file: &str,
) -> Result<(), ArchiveError> {
    let description = make(
        noark,
        k,
        Some(journalpost),
        "dokumentbeskrivelse",
        json!({"tittel": title, "tilknyttetRegistreringSom": {"kode": "H"}, "dokumenttype": {"kode": "B"}}),
    )
    .await?;
    let object = make(
        noark,
        k,
        Some(&description.system_id),
        "dokumentobjekt",
        json!({"versjonsnummer": 1, "variantformat": {"kode": "A"}, "format": {"kode": "fmt/95"}, "filnavn": file}),
    )
    .await?;
    noark.store_file(k, &object.system_id, "application/pdf", Bytes::from(one_page_pdf(title)), &actor()).await?;
    Ok(())
}

/// Seeds the demo archive of a municipality; does nothing when it already has an arkiv.
pub async fn seed(noark: &Noark, k: Kommunenummer, municipality_name: &str) -> Result<(), ArchiveError> {
    if !noark.roots(k, 0, 1).await?.is_empty() {
        return Ok(());
    }
    let (kode, kodenavn) = TAUSHETSPLIKT;
    if noark.codebook(k).await?.lookup("tilgangsrestriksjon", kode).is_none() {
        noark.add_code(k, "tilgangsrestriksjon", kode, kodenavn).await?;
    }
    let arkiv = make(noark, k, None, "arkiv", json!({"tittel": format!("Arkiv for {municipality_name}")})).await?;
    make(
        noark,
        k,
        Some(&arkiv.system_id),
        "arkivskaper",
        json!({"arkivskaperID": k.as_str(), "arkivskaperNavn": municipality_name}),
    )
    .await?;
    let arkivdel = make(noark, k, Some(&arkiv.system_id), "arkivdel", json!({"tittel": "Sakarkiv"})).await?;
    let system = make(
        noark,
        k,
        Some(&arkivdel.system_id),
        "klassifikasjonssystem",
        json!({"tittel": "Funksjonsbasert arkivnøkkel"}),
    )
    .await?;
    let klasse = make(
        noark,
        k,
        Some(&system.system_id),
        "klasse",
        json!({"klasseID": "200", "tittel": "Tjenester til innbyggere"}),
    )
    .await?;

    let loan = make(
        noark,
        k,
        Some(&klasse.system_id),
        "saksmappe",
        json!({"tittel": "Søknad om startlån", "administrativEnhet": "Økonomi", "saksansvarlig": "Kari Nilsen"}),
    )
    .await?;
    let plan = make(
        noark,
        k,
        Some(&klasse.system_id),
        "saksmappe",
        json!({"tittel": "Reguleringsplan for sentrum nord", "administrativEnhet": "Plan og bygg", "saksansvarlig": "Ola Dahl"}),
    )
    .await?;

    // Incoming from a private person, under taushetsplikt: the sender's name and the title are
    // screened in the public journal, and the hjemmel is shown.
    let incoming = make(
        noark,
        k,
        Some(&loan.system_id),
        "journalpost",
        json!({
            "tittel": "Søknad om startlån fra Ingrid Solberg",
            "offentligTittel": "Søknad om startlån fra *****",
            "journalposttype": {"kode": "I"},
            "skjerming": {
                "tilgangsrestriksjon": {"kode": kode},
                "skjermingshjemmel": "Offl. § 13 jf. fvl. § 13",
                "skjermingMetadata": [{"kode": "NA"}, {"kode": "TRO"}]
            }
        }),
    )
    .await?;
    make(
        noark,
        k,
        Some(&incoming.system_id),
        "korrespondansepartperson",
        json!({"navn": "Ingrid Solberg", "korrespondanseparttype": {"kode": "EA"}}),
    )
    .await?;
    document(noark, k, &incoming.system_id, "Soknad om startlan", "soknad-startlan.pdf").await?;

    // Outgoing to an organisation.
    let outgoing = make(
        noark,
        k,
        Some(&plan.system_id),
        "journalpost",
        json!({"tittel": "Varsel om oppstart av planarbeid", "journalposttype": {"kode": "U"}}),
    )
    .await?;
    make(
        noark,
        k,
        Some(&outgoing.system_id),
        "korrespondansepartenhet",
        json!({"navn": "Statens vegvesen", "enhetsidentifikator": {"organisasjonsnummer": "971032081"},
               "korrespondanseparttype": {"kode": "EM"}}),
    )
    .await?;
    document(noark, k, &outgoing.system_id, "Varsel om oppstart av planarbeid", "varsel-oppstart.pdf").await?;

    // Internal.
    let internal = make(
        noark,
        k,
        Some(&plan.system_id),
        "journalpost",
        json!({"tittel": "Notat om medvirkning i planarbeidet", "journalposttype": {"kode": "N"}}),
    )
    .await?;
    make(
        noark,
        k,
        Some(&internal.system_id),
        "korrespondansepartintern",
        json!({"administrativEnhet": "Plan og bygg", "saksbehandler": "Ola Dahl", "korrespondanseparttype": {"kode": "IM"}}),
    )
    .await?;
    document(noark, k, &internal.system_id, "Notat om medvirkning", "notat-medvirkning.pdf").await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pdf_has_a_header_an_end_and_counted_offsets() {
        let pdf = one_page_pdf("Hei (verden)");
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        let text = String::from_utf8(pdf.clone()).expect("ascii");
        let xref: usize = text
            .split("startxref\n")
            .nth(1)
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .expect("startxref");
        assert!(text[xref..].starts_with("xref\n"));
        let second = text.find("2 0 obj").expect("object 2");
        assert!(text.contains(&format!("{second:010} 00000 n ")));
        assert!(text.contains("(Hei \\(verden\\)) Tj"));
    }
}
