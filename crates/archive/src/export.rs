//! The extraction's view of one municipality's archive: the tree page by page, the
//! endringslogg, and the files, straight from the store.

use bytes::Bytes;
use kernel::Kommunenummer;

use crate::extract::{Change, Node, Source};
use crate::{ArchiveError, Noark};

/// One municipality's archive as an extraction source.
#[derive(Debug, Clone)]
pub struct MunicipalSource {
    noark: Noark,
    kommunenummer: Kommunenummer,
    arkiv: Option<String>,
}

impl MunicipalSource {
    /// The archive of `kommunenummer`.
    pub fn new(noark: Noark, kommunenummer: Kommunenummer) -> Self {
        MunicipalSource { noark, kommunenummer, arkiv: None }
    }

    /// Only the arkiv with this systemID (one arkivuttrekk holds one arkiv).
    pub fn only_arkiv(mut self, system_id: &str) -> Self {
        self.arkiv = Some(system_id.to_owned());
        self
    }
}

impl Source for MunicipalSource {
    type Error = ArchiveError;

    async fn children(&self, parent: Option<&str>, after: i64, limit: u32) -> Result<Vec<Node>, ArchiveError> {
        let objects = match parent {
            Some(parent) => self.noark.children(self.kommunenummer, parent, &[], after, limit).await?,
            None => {
                let mut roots = self.noark.roots(self.kommunenummer, after, limit).await?;
                if let Some(arkiv) = &self.arkiv {
                    roots.retain(|o| &o.system_id == arkiv);
                }
                roots
            }
        };
        Ok(objects
            .into_iter()
            .map(|o| Node {
                id: o.system_id,
                entity: o.entity.name,
                position: o.position,
                body: serde_json::Value::Object(o.body),
            })
            .collect())
    }

    async fn changes(&self, after: i64, limit: u32) -> Result<Vec<Change>, ArchiveError> {
        Ok(self
            .noark
            .changes(self.kommunenummer, after, limit)
            .await?
            .into_iter()
            .map(|c| Change {
                position: c.position,
                system_id: c.system_id,
                field: c.field,
                changed_at: c.changed_at,
                changed_by: c.changed_by,
                old: c.old_value,
                new: c.new_value,
            })
            .collect())
    }

    async fn file(&self, dokumentobjekt: &str) -> Result<Option<Bytes>, ArchiveError> {
        Ok(self.noark.file(self.kommunenummer, dokumentobjekt).await?.map(|(_, bytes)| bytes))
    }
}
