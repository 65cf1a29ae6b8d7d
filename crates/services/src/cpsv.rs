//! The catalogue in CPSV-AP-NO, the Norwegian profile of the Core Public Service Vocabulary
//! that Felles datakatalog harvests, as Turtle. Each service is a `cpsv:PublicService` with its
//! identifier, titles and descriptions in nb, nn and en, the municipality as competent
//! authority (by its Enhetsregisteret IRI), its LOS themes as `dcat:theme`, the legal basis as
//! a `cv:hasLegalResource` (the Lovdata page, typed `eli:LegalResource`), the digital channel
//! (`cv:hasChannel`), the processing time, and fees as `cv:hasCost`.

use std::fmt::Write;

use crate::catalog::Catalog;
use crate::definition::{Service, Text};

/// The municipality publishing the catalogue.
#[derive(Debug, Clone)]
pub struct Publisher<'a> {
    /// The municipality's organisation number (9 digits).
    pub orgnr: &'a str,
    /// Its name.
    pub name: &'a str,
    /// The public base URL of the platform (`https://kommune.example`), without a trailing
    /// slash; service IRIs are `<base>/tjenester/<id>`.
    pub base_url: &'a str,
}

const PREFIXES: &str = "@prefix cpsv: <http://purl.org/vocab/cpsv#> .
@prefix cv: <http://data.europa.eu/m8g/> .
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix eli: <http://data.europa.eu/eli/ontology#> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
";

/// The catalogue as CPSV-AP-NO Turtle.
pub fn turtle(catalog: &Catalog, publisher: &Publisher<'_>) -> String {
    let mut out = String::from(PREFIXES);
    let authority = format!("https://data.brreg.no/enhetsregisteret/api/enheter/{}", publisher.orgnr);
    let _ = write!(
        out,
        "\n<{}> a cv:PublicOrganisation, foaf:Organization ;\n  dct:identifier {} ;\n  foaf:name {} .\n",
        iri(&authority),
        literal(publisher.orgnr),
        literal(publisher.name)
    );
    for service in catalog.services() {
        service_turtle(&mut out, service, publisher, &authority);
    }
    out
}

fn service_turtle(out: &mut String, service: &Service, publisher: &Publisher<'_>, authority: &str) {
    let subject = format!("{}/tjenester/{}", publisher.base_url, service.id);
    let _ = write!(out, "\n<{}> a cpsv:PublicService ;\n", iri(&subject));
    let _ = writeln!(out, "  dct:identifier {} ;", literal(&service.id));
    let _ = writeln!(out, "  dct:title {} ;", texts(&service.name));
    let _ = writeln!(out, "  dct:description {} ;", texts(&service.description));
    let _ = writeln!(out, "  cv:hasCompetentAuthority <{}> ;", iri(authority));
    for theme in &service.los {
        let _ = writeln!(out, "  dcat:theme <{}> ;", iri(theme));
    }
    let _ = writeln!(out, "  cv:hasLegalResource <{}> ;", iri(&service.legal_basis.url));
    let _ = writeln!(out, "  cv:hasChannel <{}#nettskjema> ;", iri(&subject));
    if let Some(weeks) = service.deadline.processing_weeks {
        let _ = writeln!(out, "  cv:processingTime \"P{weeks}W\"^^xsd:duration ;");
    }
    for (i, _) in service.fees.iter().enumerate() {
        let _ = writeln!(out, "  cv:hasCost <{}#gebyr-{i}> ;", iri(&subject));
    }
    let _ = writeln!(out, "  dcat:landingPage <{}> .", iri(&subject));

    let _ = write!(
        out,
        "<{}> a eli:LegalResource ;\n  dct:title {} .\n",
        iri(&service.legal_basis.url),
        literal_lang(&service.legal_basis.text, "nb")
    );
    let _ = write!(
        out,
        "<{}#nettskjema> a cv:Channel ;\n  dct:type <https://data.norge.no/vocabulary/service-channel-type#homepage> ;\n  dcat:landingPage <{}> .\n",
        iri(&subject),
        iri(&subject)
    );
    for (i, fee) in service.fees.iter().enumerate() {
        let _ = write!(out, "<{}#gebyr-{i}> a cv:Cost ;\n  dct:description {}", iri(&subject), texts(&fee.description));
        if let Some(amount) = fee.amount_nok {
            let _ = write!(
                out,
                " ;\n  cv:value \"{amount}\"^^xsd:decimal ;\n  cv:currency <http://publications.europa.eu/resource/authority/currency/NOK>"
            );
        }
        out.push_str(" .\n");
    }
}

fn texts(text: &Text) -> String {
    [literal_lang(&text.nb, "nb"), literal_lang(&text.nn, "nn"), literal_lang(&text.en, "en")].join(", ")
}

fn literal_lang(text: &str, language: &str) -> String {
    format!("{}@{language}", literal(text))
}

/// A Turtle string literal, escaped.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An IRI for `<...>`: characters Turtle forbids there are percent-encoded (the `§` of Lovdata
/// links is allowed as is).
fn iri(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || matches!(c, ' ' | '<' | '>' | '"' | '{' | '}' | '|' | '^' | '`' | '\\') {
            let mut buffer = [0u8; 4];
            for byte in c.encode_utf8(&mut buffer).bytes() {
                let _ = write!(out, "%{byte:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_iris_are_escaped() {
        assert_eq!(literal("a \"b\"\n"), "\"a \\\"b\\\"\\n\"");
        assert_eq!(iri("https://x/a b>"), "https://x/a%20b%3E");
        assert_eq!(iri("https://lovdata.no/lov/1/§7"), "https://lovdata.no/lov/1/§7");
    }
}
