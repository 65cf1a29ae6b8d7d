//! Finishing (avslutte) a saksmappe or an arkivdel: its status becomes finished and the server
//! sets `avsluttetDato` and `avsluttetAv` (attributes a client cannot write), in one
//! transaction with the endringslogg. A finished parent takes no new mapper or registreringer
//! (`records::create` refuses them).

use kernel::Kommunenummer;
use serde_json::Value;

use crate::records::{self, Actor, Noark, Object};
use crate::validate::{self, CodeBook};
use crate::{ArchiveError, model};

/// What finishing means for an entity: the status field and the finished kode.
fn finished_status(entity: &model::Entity) -> Option<(&'static str, &'static str, &'static str)> {
    if entity.is_a("saksmappe") {
        Some(("saksstatus", "saksstatus", "A"))
    } else if entity.is_a("arkivdel") {
        Some(("arkivdelstatus", "arkivdelstatus", "P"))
    } else {
        None
    }
}

/// Whether an object can be finished here (a saksmappe or an arkivdel).
pub fn can_finish(object: &Object) -> bool {
    finished_status(object.entity).is_some()
}

/// Whether an object is finished.
pub fn is_finished(object: &Object) -> bool {
    object.body.contains_key("avsluttetDato")
}

/// Finishes a saksmappe (saksstatus `A`, Avsluttet) or an arkivdel (arkivdelstatus `P`,
/// Avsluttet periode) in its own transaction.
pub async fn finish(noark: &Noark, k: Kommunenummer, id: &str, actor: &Actor) -> Result<Object, ArchiveError> {
    finish_expecting(noark, k, id, None, actor).await
}

/// [`finish`], refused with [`ArchiveError::Conflict`] when the object's version is no longer
/// `expected_version` (someone changed it since the form was shown).
pub async fn finish_expecting(
    noark: &Noark,
    k: Kommunenummer,
    id: &str,
    expected_version: Option<i64>,
    actor: &Actor,
) -> Result<Object, ArchiveError> {
    let mut tx = noark.db().begin().await?;
    let mut municipal = tx.municipal(k);
    let current = records::get_in(&mut municipal, id).await?;
    if let Some(expected) = expected_version
        && expected != current.version
    {
        return Err(ArchiveError::Conflict);
    }
    let Some((field, list, kode)) = finished_status(current.entity) else {
        return Err(ArchiveError::Invalid {
            field: "entity".to_owned(),
            message: format!("a {} cannot be finished; only a saksmappe or an arkivdel", current.entity.name),
        });
    };
    if is_finished(&current) {
        return Err(ArchiveError::Closed(current.entity.name.to_owned()));
    }
    let status = validate::code(list, kode, &CodeBook::default())
        .ok_or_else(|| ArchiveError::Malformed(format!("{list} has no {kode}")))?;
    let now = kernel::time::now_in_norway();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let now = now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let mut body = current.body.clone();
    body.insert(field.to_owned(), status);
    body.insert("avsluttetDato".to_owned(), Value::String(now));
    body.insert("avsluttetAv".to_owned(), Value::String(actor.name.clone()));
    if current.entity.attribute("referanseAvsluttetAv").is_some() {
        body.insert("referanseAvsluttetAv".to_owned(), Value::String(actor.id.clone()));
    }
    let finished = records::write_body(&mut municipal, &current, body, Some(current.version), actor).await?;
    tx.commit().await?;
    Ok(finished)
}
