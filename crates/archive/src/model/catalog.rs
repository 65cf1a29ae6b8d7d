//! Placeholder: the full catalog is generated from chapter 7 of the standard.
use super::{AttrType::*, Attribute, CodeList, Entity, Package};

const fn a(name: &'static str, ty: super::AttrType, required: bool) -> Attribute {
    Attribute { name, ty, required, many: false, server: false }
}
const fn s(name: &'static str, ty: super::AttrType) -> Attribute {
    Attribute { name, ty, required: false, many: false, server: true }
}

/// Every entity.
pub static ENTITIES: &[Entity] = &[Entity {
    name: "arkiv",
    package: Package::Arkivstruktur,
    extends: None,
    attributes: &[
        s("systemID", String),
        a("tittel", String, true),
        a("beskrivelse", String, false),
        a("arkivstatus", Code("arkivstatus"), false),
        a("dokumentmedium", Code("dokumentmedium"), false),
        s("opprettetDato", DateTime),
        s("opprettetAv", String),
        a("avsluttetDato", DateTime, false),
        a("avsluttetAv", String, false),
    ],
    rels: &[],
}];

/// Every code list.
pub static CODE_LISTS: &[CodeList] = &[
    CodeList { name: "arkivstatus", values: &[("O", "Opprettet"), ("A", "Avsluttet")] },
    CodeList {
        name: "dokumentmedium",
        values: &[("E", "Elektronisk arkiv"), ("P", "Fysisk arkiv"), ("B", "Fysisk og elektronisk arkiv")],
    },
];
