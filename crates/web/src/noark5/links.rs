//! The HAL `_links` of the tjenestegrensesnitt: the official rel keys exactly as the catalog
//! lists them (Nikita's for the objects the standard has no rel for), hrefs under the
//! municipality's public address, collections advertised as OData templates.

use archive::Object;
use archive::model::{self, Entity, Package, REL_BASE};
use archive::records;
use serde_json::{Map, Value, json};

/// The OData parameters a collection's templated href offers (RFC 6570).
const ODATA_TEMPLATE: &str = "{?$filter,$orderby,$top,$skip,$search}";

/// Builds hrefs under one municipality's `/noark5`.
#[derive(Debug, Clone)]
pub(crate) struct Links {
    base: String,
}

impl Links {
    /// Links under `base` (`https://host/noark5`).
    pub(crate) fn new(base: String) -> Self {
        Links { base }
    }

    /// `{base}/{path}`.
    pub(crate) fn at(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// A path on the same host, outside `/noark5`.
    pub(crate) fn host_path(&self, path: &str) -> String {
        format!("{}{path}", self.base.trim_end_matches("/noark5"))
    }

    /// An object's own address.
    pub(crate) fn object(&self, object: &Object) -> String {
        self.at(&format!("{}/{}/{}/", object.entity.package.name(), object.entity.name, object.system_id))
    }

    /// Every object of an entity.
    pub(crate) fn collection(&self, entity: &Entity) -> String {
        self.at(&format!("{}/{}/", entity.package.name(), entity.name))
    }

    /// `…/{systemID}/{rel}/`.
    pub(crate) fn related(&self, object: &Object, rel: &str) -> String {
        format!("{}{rel}/", self.object(object))
    }

    /// A dokumentobjekt's file.
    pub(crate) fn file(&self, object: &Object) -> String {
        self.related(object, "fil")
    }

    /// A package's entry: its collections and the `ny-` rels of what can be created at the top.
    pub(crate) fn package(&self, package: Package) -> Value {
        let mut out = Map::new();
        out.insert("self".to_owned(), json!({ "href": self.at(&format!("{}/", package.name())) }));
        match package {
            Package::Metadata => {
                out.insert(
                    format!("{REL_BASE}metadata/virksomhetsspesifikkeMetadata/"),
                    json!({ "href": self.at("metadata/virksomhetsspesifikkeMetadata/") }),
                );
                for list in model::CODE_LISTS {
                    out.insert(
                        format!("{REL_BASE}metadata/{}/", list.name),
                        json!({ "href": self.at(&format!("metadata/{}/", list.name)) }),
                    );
                }
            }
            Package::Admin => {
                out.insert(format!("{REL_BASE}admin/system/"), json!({ "href": self.at("admin/system/") }));
            }
            Package::LoggingOgSporing => {
                out.insert(
                    format!("{REL_BASE}loggingogsporing/endringslogg/"),
                    json!({ "href": self.at("loggingogsporing/endringslogg/") }),
                );
            }
            Package::Arkivstruktur | Package::Sakarkiv => {
                for entity in model::ENTITIES.iter().filter(|e| e.package == package && has_own_rels(e)) {
                    out.insert(
                        format!("{REL_BASE}{}/{}/", package.name(), entity.name),
                        json!({ "href": format!("{}{ODATA_TEMPLATE}", self.collection(entity)), "templated": true }),
                    );
                }
                if package == Package::Arkivstruktur {
                    out.insert(
                        format!("{REL_BASE}arkivstruktur/ny-arkiv/"),
                        json!({ "href": self.at("arkivstruktur/ny-arkiv/") }),
                    );
                }
            }
        }
        json!({ "_links": out })
    }

    /// An object's `_links`: `self` and every rel the standard lists for its entity.
    pub(crate) fn for_object(&self, object: &Object) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert("self".to_owned(), json!({ "href": self.object(object) }));
        for rel in object.entity.all_rels() {
            let Some(name) = rel.trim_end_matches('/').rsplit('/').next() else { continue };
            let link = if rel.contains("/api/metadata/") {
                json!({ "href": self.at(&format!("metadata/{name}/")) })
            } else if name.starts_with("ny-") || name == "fil" {
                json!({ "href": self.related(object, name) })
            } else if let Some(kind) = model::entity(name)
                && records::may_hold_kind(object.entity, kind)
            {
                json!({ "href": format!("{}{ODATA_TEMPLATE}", self.related(object, name)), "templated": true })
            } else {
                json!({ "href": self.related(object, name) })
            };
            out.insert(rel.to_owned(), link);
        }
        out
    }
}

/// Entities that are objects of their own (with rels), not only embedded values.
fn has_own_rels(entity: &Entity) -> bool {
    !entity.all_rels().is_empty()
}

/// The next page of a list: the client's query with `$skip` and `$top` replaced.
pub(crate) fn next_page(href: &str, raw_query: &str, skip: u64, top: u64) -> String {
    let decoded = percent_encoding::percent_decode_str(raw_query).decode_utf8_lossy().into_owned();
    let kept: Vec<String> = split_outside_quotes(&decoded)
        .into_iter()
        .filter(|p| {
            let lower = p.to_ascii_lowercase();
            !p.is_empty() && !lower.starts_with("$skip=") && !lower.starts_with("$top=")
        })
        .map(|p| encode(&p))
        .collect();
    let mut params = kept;
    params.push(format!("$top={top}"));
    params.push(format!("$skip={skip}"));
    format!("{href}?{}", params.join("&"))
}

fn encode(part: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'$')
        .remove(b'=')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(part, SET).to_string()
}

fn split_outside_quotes(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (None, '&') => parts.push(std::mem::take(&mut current)),
            (None, '\'' | '"') => {
                quote = Some(c);
                current.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_keeps_the_filter_and_moves_skip() {
        let next = next_page(
            "https://x/noark5/arkivstruktur/mappe/",
            "%24filter%3Dtittel%20eq%20%27a%26b%27%26%24top%3D2",
            2,
            2,
        );
        assert_eq!(next, "https://x/noark5/arkivstruktur/mappe/?$filter=tittel%20eq%20%27a%26b%27&$top=2&$skip=2");
    }
}
