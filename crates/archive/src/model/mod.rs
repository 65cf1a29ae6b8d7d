//! The Noark 5 information model as data: every entity of the tjenestegrensesnitt (chapter 7 of
//! the standard), its attributes with their types and multiplicity, the rel keys it carries,
//! and the 31 code lists of the `metadata` package with their standard values.
//!
//! Everything else is derived from these tables: validation of what a client sends, the
//! templates `ny-X` returns, the rels on an object, the OData property types, and the element
//! order of the arkivuttrekk.

mod catalog;

pub use catalog::{CODE_LISTS, ENTITIES};

/// The base of every rel key.
pub const REL_BASE: &str = "https://rel.arkivverket.no/noark5/v5/api/";

/// The package (top-level service) an entity or a rel belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Package {
    /// `arkivstruktur`: the archive's structure.
    Arkivstruktur,
    /// `sakarkiv`: cases and journal entries.
    Sakarkiv,
    /// `metadata`: code lists.
    Metadata,
    /// `admin`: users, units, the system.
    Admin,
    /// `loggingogsporing`: the change log.
    LoggingOgSporing,
}

impl Package {
    /// Its name in URLs and rel keys.
    pub fn name(self) -> &'static str {
        match self {
            Package::Arkivstruktur => "arkivstruktur",
            Package::Sakarkiv => "sakarkiv",
            Package::Metadata => "metadata",
            Package::Admin => "admin",
            Package::LoggingOgSporing => "loggingogsporing",
        }
    }
}

/// The value type of an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// A JSON string.
    String,
    /// A JSON integer.
    Integer,
    /// A JSON number (integer or decimal).
    Decimal,
    /// `true` or `false`.
    Boolean,
    /// A date `YYYY-MM-DD`, optionally with an offset (`2070-02-13+01:00`, `Z`).
    Date,
    /// A date-time with an offset (RFC 3339, `Z` for UTC).
    DateTime,
    /// A code value `{kode, kodenavn}` from the named code list.
    Code(&'static str),
    /// An embedded object of the named [`Entity`] (e.g. `skjerming`, `gradering`).
    Object(&'static str),
}

/// One attribute of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute {
    /// Its JSON name (and XML element name), e.g. `offentligTittel`.
    pub name: &'static str,
    /// Its type.
    pub ty: AttrType,
    /// Whether a client must give it when creating (`[1..1]` and not set by the server).
    pub required: bool,
    /// Whether it holds a list (`[0..*]`, `[1..*]`).
    pub many: bool,
    /// Whether the server sets it (systemID, opprettetDato, opprettetAv, mappeID, journal
    /// numbers, …): a client's value is ignored on create and may not change it afterwards.
    pub server: bool,
}

/// One entity of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entity {
    /// Its name in URLs and rels, lower case: `saksmappe`, `dokumentobjekt`.
    pub name: &'static str,
    /// The package it belongs to.
    pub package: Package,
    /// The entity it specialises (`saksmappe` → `mappe`, `journalpost` → `registrering`).
    pub extends: Option<&'static str>,
    /// Its own attributes (those of `extends` are added), in the order of the standard's
    /// table, which is also the arkivuttrekk's element order.
    pub attributes: &'static [Attribute],
    /// The rel keys the standard lists for it (full URIs, ending in `/`), `self` left out.
    pub rels: &'static [&'static str],
}

/// A code list of the `metadata` package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeList {
    /// Its name in URLs and rels: `dokumentmedium`, `journalposttype`.
    pub name: &'static str,
    /// The standard's values: `(kode, kodenavn)`.
    pub values: &'static [(&'static str, &'static str)],
}

/// The entity with this name.
pub fn entity(name: &str) -> Option<&'static Entity> {
    ENTITIES.iter().find(|e| e.name == name)
}

/// The code list with this name.
pub fn code_list(name: &str) -> Option<&'static CodeList> {
    CODE_LISTS.iter().find(|c| c.name == name)
}

impl Entity {
    /// Every attribute, the inherited ones first (in the standard's order).
    pub fn all_attributes(&self) -> Vec<&'static Attribute> {
        let mut out = match self.extends.and_then(entity) {
            Some(base) => base.all_attributes(),
            None => Vec::new(),
        };
        out.extend(self.attributes.iter());
        out
    }

    /// The attribute with this name, inherited ones included.
    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.all_attributes().into_iter().find(|a| a.name == name)
    }

    /// Whether this entity is `other` or specialises it.
    pub fn is_a(&self, other: &str) -> bool {
        self.name == other || self.extends.and_then(entity).is_some_and(|base| base.is_a(other))
    }

    /// Every rel key, the inherited ones included, without duplicates.
    pub fn all_rels(&self) -> Vec<&'static str> {
        let mut out = match self.extends.and_then(entity) {
            Some(base) => base.all_rels(),
            None => Vec::new(),
        };
        for rel in self.rels {
            if !out.contains(rel) {
                out.push(rel);
            }
        }
        out
    }
}

pub use catalog::XML_ORDER;

/// The arkivuttrekk's element order for an XSD complexType of `arkivstruktur.xsd` (its own
/// elements, those of an extended base type not repeated).
pub fn xml_order(xsd_type: &str) -> Option<&'static [&'static str]> {
    XML_ORDER.iter().find(|(name, _)| *name == xsd_type).map(|(_, order)| *order)
}
