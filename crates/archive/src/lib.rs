//! The Noark 5 archive, a context of its own: arkivstruktur and sakarkiv objects, gap-free
//! journal and case numbers per municipality and year, files in the blob store that are never
//! overwritten, an endringslogg of every change, OData search, and the arkivuttrekk.
#![forbid(unsafe_code)]

pub mod extract;
pub mod model;
