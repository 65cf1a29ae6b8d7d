//! The archive's objects in the database: create, read, replace, patch and delete any object
//! of the model, with the server's fields (systemID, dates, mappeID, journal numbers), the
//! parent rules of the structure, optimistic locking, the endringslogg, and the files of
//! dokumentobjekter in the blob store.
//!
//! Every write takes the caller's transaction, so a case and its journalpost, or an upload and
//! the checksum it sets, commit together or not at all.

use bytes::Bytes;
use kernel::{Kommunenummer, Timestamp};
use serde_json::{Map, Value};
use store::{BlobStore, Db, MunicipalDb, MunicipalTx, Tx, params};

use crate::ArchiveError;
use crate::model::{self, Entity};
use crate::validate::{self, CodeBook};

/// Who does something in the archive: their id (kept in `referanseOpprettetAv`) and the name
/// shown in `opprettetAv` and the endringslogg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// A stable id (an employee's id, a machine client's id).
    pub id: String,
    /// The name shown.
    pub name: String,
}

/// One stored object.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Its systemID.
    pub system_id: String,
    /// What it is.
    pub entity: &'static Entity,
    /// The object it belongs to (`None` for an arkiv at the top).
    pub parent_id: Option<String>,
    /// Its place in the order of creation.
    pub position: i64,
    /// Its version, for optimistic locking.
    pub version: i64,
    /// Its fields, in the tjenestegrensesnitt's JSON shape (no `_links`).
    pub body: Map<String, Value>,
}

impl Object {
    /// Its ETag: the version, quoted.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }

    /// A string field.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.body.get(field).and_then(Value::as_str)
    }

    /// The kode of a code field.
    pub fn kode(&self, field: &str) -> Option<&str> {
        self.body.get(field).and_then(|v| v.get("kode")).and_then(Value::as_str)
    }
}

/// Reads an ETag as a client sends it (`"3"`, `W/"3"`, `3`) into a version.
pub fn parse_etag(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text.strip_prefix("W/").unwrap_or(text);
    text.trim_matches('"').parse().ok()
}

/// The stored file of a dokumentobjekt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct FileInfo {
    /// The blob's key.
    pub blob_key: String,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: i64,
    /// Its media type.
    pub mime_type: String,
}

/// One entry of the endringslogg.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Change {
    /// Its place in the log.
    pub position: i64,
    /// The object changed.
    pub system_id: String,
    /// Its entity.
    pub entity: String,
    /// The field changed (`slettet` when the object was deleted).
    pub field: String,
    /// When (RFC 3339).
    pub changed_at: String,
    /// By whom.
    pub changed_by: String,
    /// The value before (JSON text), if any.
    pub old_value: Option<String>,
    /// The value after (JSON text), if any.
    pub new_value: Option<String>,
}

#[derive(serde::Deserialize)]
struct Row {
    system_id: String,
    entity: String,
    parent_id: Option<String>,
    position: i64,
    version: i64,
    body: String,
}

const COLUMNS: &str = "system_id, entity, parent_id, position, version, body";

fn decode(row: Row) -> Result<Object, ArchiveError> {
    let entity = model::entity(&row.entity).ok_or_else(|| ArchiveError::Malformed(format!("entity {}", row.entity)))?;
    let body = match serde_json::from_str(&row.body) {
        Ok(Value::Object(map)) => map,
        _ => return Err(ArchiveError::Malformed(format!("body of {}", row.system_id))),
    };
    Ok(Object {
        system_id: row.system_id,
        entity,
        parent_id: row.parent_id,
        position: row.position,
        version: row.version,
        body,
    })
}

/// The largest file accepted, unless configured otherwise: 100 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

/// The archive of every municipality: the database and the blob store its files live in.
#[derive(Debug, Clone)]
pub struct Noark {
    pub(crate) db: Db,
    pub(crate) blobs: BlobStore,
    pub(crate) max_file_bytes: u64,
}

/// The families of children an arkivdel, a klasse or a mappe may hold: one family only
/// (arkivstruktur.xsd's `xs:choice`).
fn family(entity: &Entity) -> Option<&'static str> {
    if entity.is_a("klassifikasjonssystem") || entity.is_a("klasse") {
        Some("klassifikasjon")
    } else if entity.is_a("mappe") {
        Some("mappe")
    } else if entity.is_a("registrering") {
        Some("registrering")
    } else {
        None
    }
}

/// Whether `parent` carries the rel to create `child` under it (`ny-child`).
pub fn may_hold(parent: &Entity, child: &Entity) -> bool {
    let suffix = format!("/ny-{}/", child.name);
    parent.all_rels().iter().any(|rel| rel.ends_with(&suffix)) && fits_structure(parent, child)
}

/// Whether any kind of `kind` (itself or a specialisation) may be created under `parent`:
/// `korrespondansepart` under a journalpost, through `ny-korrespondansepartperson`.
pub fn may_hold_kind(parent: &Entity, kind: &Entity) -> bool {
    model::ENTITIES.iter().any(|e| e.is_a(kind.name) && may_hold(parent, e))
}

/// The tree of arkivstruktur.xsd: the rel lists of the standard also name the way *up*
/// (`ny-arkivdel` on a registrering), which must not create a level below.
fn fits_structure(parent: &Entity, child: &Entity) -> bool {
    let under = |names: &[&str]| names.iter().any(|n| parent.is_a(n));
    if child.is_a("arkiv") || child.is_a("arkivdel") || child.is_a("arkivskaper") {
        under(&["arkiv"])
    } else if child.is_a("klassifikasjonssystem") {
        under(&["arkivdel"])
    } else if child.is_a("klasse") {
        under(&["klassifikasjonssystem", "klasse"])
    } else if child.is_a("mappe") || child.is_a("registrering") {
        under(&["arkivdel", "klasse", "mappe"])
    } else if child.is_a("dokumentbeskrivelse") {
        under(&["registrering"])
    } else if child.is_a("dokumentobjekt") {
        under(&["dokumentbeskrivelse"])
    } else {
        true
    }
}

/// The defaults of a new object, as `(entity it applies to, field, code list, kode)`.
const CODE_DEFAULTS: &[(&str, &str, &str, &str)] = &[
    ("arkiv", "arkivstatus", "arkivstatus", "O"),
    ("arkivdel", "arkivdelstatus", "arkivdelstatus", "A"),
    ("mappe", "dokumentmedium", "dokumentmedium", "E"),
    ("saksmappe", "saksstatus", "saksstatus", "B"),
    ("journalpost", "journalstatus", "journalstatus", "J"),
    ("dokumentbeskrivelse", "dokumentstatus", "dokumentstatus", "B"),
];

/// The template a client gets from `ny-X`: the defaults a new object would have.
pub fn template(entity: &Entity, codes: &CodeBook) -> Map<String, Value> {
    let mut out = Map::new();
    let today = kernel::time::today_in_norway().to_string();
    for (applies, field, list, kode) in CODE_DEFAULTS {
        if entity.is_a(applies)
            && entity.attribute(field).is_some()
            && let Some(value) = validate::code(list, kode, codes)
        {
            out.insert((*field).to_owned(), value);
        }
    }
    for date_field in ["saksdato", "journaldato"] {
        match entity.attribute(date_field).map(|a| a.ty) {
            Some(model::AttrType::DateTime) => {
                out.insert(date_field.to_owned(), Value::String(now_text()));
            }
            Some(_) => {
                out.insert(date_field.to_owned(), Value::String(today.clone()));
            }
            None => {}
        }
    }
    out
}

fn now_text() -> String {
    let now = kernel::time::now_in_norway();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn json_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Noark {
    /// The archive over a database and a blob store.
    pub fn new(db: Db, blobs: BlobStore) -> Self {
        Noark { db, blobs, max_file_bytes: DEFAULT_MAX_FILE_BYTES }
    }

    /// Sets the largest file accepted.
    pub fn with_max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }

    /// The largest file accepted.
    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_bytes
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// One municipality's view for reading.
    pub fn read(&self, kommunenummer: Kommunenummer) -> MunicipalDb<'_> {
        self.db.municipal(kommunenummer)
    }

    /// The code values in force for a municipality.
    pub async fn codebook(&self, kommunenummer: Kommunenummer) -> Result<CodeBook, ArchiveError> {
        codebook_in(self.db.municipal(kommunenummer)).await
    }

    /// One object.
    pub async fn get(&self, kommunenummer: Kommunenummer, id: &str) -> Result<Object, ArchiveError> {
        let row = self
            .db
            .municipal(kommunenummer)
            .fetch_optional::<Row>(
                &format!("SELECT {COLUMNS} FROM archive_objects WHERE kommunenummer = $1 AND system_id = $2"),
                &params![id],
            )
            .await?;
        decode(row.ok_or(ArchiveError::NotFound)?)
    }

    /// Objects of the given entities (and their specialisations) anywhere in the archive, in
    /// creation order, after a position.
    pub async fn list(
        &self,
        kommunenummer: Kommunenummer,
        entities: &[&str],
        after: i64,
        limit: u32,
    ) -> Result<Vec<Object>, ArchiveError> {
        let names = with_specialisations(entities);
        let placeholders = placeholders(3, names.len());
        let sql = format!(
            "SELECT {COLUMNS} FROM archive_objects WHERE kommunenummer = $1 AND position > $2 AND entity IN ({placeholders}) \
             ORDER BY position LIMIT {}",
            limit.max(1)
        );
        let mut bound = vec![store::Param::from(after)];
        bound.extend(names.iter().map(|n| store::Param::from(*n)));
        let rows = self.db.municipal(kommunenummer).fetch_all::<Row>(&sql, &bound).await?;
        rows.into_iter().map(decode).collect()
    }

    /// The children of an object, of the given entities (all when empty), in creation order.
    pub async fn children(
        &self,
        kommunenummer: Kommunenummer,
        parent: &str,
        entities: &[&str],
        after: i64,
        limit: u32,
    ) -> Result<Vec<Object>, ArchiveError> {
        children_in(self.db.municipal(kommunenummer), parent, entities, after, limit).await
    }

    /// The top-level objects (arkiv with no parent), in creation order.
    pub async fn roots(
        &self,
        kommunenummer: Kommunenummer,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Object>, ArchiveError> {
        let rows = self
            .db
            .municipal(kommunenummer)
            .fetch_all::<Row>(
                &format!(
                    "SELECT {COLUMNS} FROM archive_objects WHERE kommunenummer = $1 AND parent_id IS NULL AND position > $2 \
                     ORDER BY position LIMIT {}",
                    limit.max(1)
                ),
                &params![after],
            )
            .await?;
        rows.into_iter().map(decode).collect()
    }

    /// Journalposts by journal date (inclusive), in creation order, after a position.
    pub async fn journal(
        &self,
        kommunenummer: Kommunenummer,
        from: time::Date,
        to: time::Date,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Object>, ArchiveError> {
        let rows = self
            .db
            .municipal(kommunenummer)
            .fetch_all::<Row>(
                &format!(
                    "SELECT {COLUMNS} FROM archive_objects WHERE kommunenummer = $1 AND journal_date >= $2 AND journal_date <= $3 \
                     AND position > $4 ORDER BY position LIMIT {}",
                    limit.max(1)
                ),
                &params![from.to_string(), to.to_string(), after],
            )
            .await?;
        rows.into_iter().map(decode).collect()
    }

    /// Endringslogg entries after a position.
    pub async fn changes(
        &self,
        kommunenummer: Kommunenummer,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Change>, ArchiveError> {
        Ok(self
            .db
            .municipal(kommunenummer)
            .fetch_all::<Change>(
                &format!(
                    "SELECT position, system_id, entity, field, changed_at, changed_by, old_value, new_value FROM archive_changes \
                     WHERE kommunenummer = $1 AND position > $2 ORDER BY position LIMIT {}",
                    limit.max(1)
                ),
                &params![after],
            )
            .await?)
    }

    /// The endringslogg of one object.
    pub async fn history(&self, kommunenummer: Kommunenummer, id: &str) -> Result<Vec<Change>, ArchiveError> {
        Ok(self
            .db
            .municipal(kommunenummer)
            .fetch_all::<Change>(
                "SELECT position, system_id, entity, field, changed_at, changed_by, old_value, new_value FROM archive_changes \
                 WHERE kommunenummer = $1 AND system_id = $2 ORDER BY position",
                &params![id],
            )
            .await?)
    }

    /// Creates an object in its own transaction.
    pub async fn create(
        &self,
        kommunenummer: Kommunenummer,
        parent: Option<&str>,
        entity: &'static Entity,
        input: &Map<String, Value>,
        actor: &Actor,
    ) -> Result<Object, ArchiveError> {
        let mut tx = self.db.begin().await?;
        let object = create(&mut tx.municipal(kommunenummer), parent, entity, input, actor).await?;
        tx.commit().await?;
        Ok(object)
    }

    /// Replaces an object's fields (PUT) in its own transaction.
    pub async fn replace(
        &self,
        kommunenummer: Kommunenummer,
        id: &str,
        input: &Map<String, Value>,
        expected_version: Option<i64>,
        actor: &Actor,
    ) -> Result<Object, ArchiveError> {
        let mut tx = self.db.begin().await?;
        let object = replace(&mut tx.municipal(kommunenummer), id, input, expected_version, actor).await?;
        tx.commit().await?;
        Ok(object)
    }

    /// Applies a merge patch (PATCH) in its own transaction.
    pub async fn patch(
        &self,
        kommunenummer: Kommunenummer,
        id: &str,
        patch: &Value,
        expected_version: Option<i64>,
        actor: &Actor,
    ) -> Result<Object, ArchiveError> {
        let mut tx = self.db.begin().await?;
        let mut municipal = tx.municipal(kommunenummer);
        let current = get_in(&mut municipal, id).await?;
        // A code value is replaced whole: `{"kode": "A"}` must not keep the old kodenavn.
        let mut base = current.body.clone();
        if let Value::Object(fields) = patch {
            for (name, value) in fields {
                let is_code = current.entity.attribute(name).is_some_and(|a| matches!(a.ty, model::AttrType::Code(_)));
                if is_code && value.is_object() {
                    base.remove(name);
                }
            }
        }
        let mut merged = Value::Object(base);
        validate::merge_patch(&mut merged, patch);
        let Value::Object(merged) = merged else {
            return Err(ArchiveError::Invalid {
                field: String::new(),
                message: "a patch must be a JSON object".to_owned(),
            });
        };
        let object = replace(&mut municipal, id, &merged, expected_version, actor).await?;
        tx.commit().await?;
        Ok(object)
    }

    /// Deletes an object that has no children, in its own transaction.
    pub async fn delete(
        &self,
        kommunenummer: Kommunenummer,
        id: &str,
        expected_version: Option<i64>,
        actor: &Actor,
    ) -> Result<(), ArchiveError> {
        let mut tx = self.db.begin().await?;
        delete(&mut tx.municipal(kommunenummer), id, expected_version, actor).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The stored file of a dokumentobjekt, if any.
    pub async fn file_info(
        &self,
        kommunenummer: Kommunenummer,
        dokumentobjekt: &str,
    ) -> Result<Option<FileInfo>, ArchiveError> {
        Ok(self
            .db
            .municipal(kommunenummer)
            .fetch_optional::<FileInfo>(
                "SELECT blob_key, sha256, size, mime_type FROM archive_files WHERE kommunenummer = $1 AND dokumentobjekt_id = $2",
                &params![dokumentobjekt],
            )
            .await?)
    }

    /// The stored file of a dokumentobjekt with its bytes.
    pub async fn file(
        &self,
        kommunenummer: Kommunenummer,
        dokumentobjekt: &str,
    ) -> Result<Option<(FileInfo, Bytes)>, ArchiveError> {
        let Some(info) = self.file_info(kommunenummer, dokumentobjekt).await? else {
            return Ok(None);
        };
        let reference = store::BlobRef {
            key: info.blob_key.clone(),
            size: u64::try_from(info.size).unwrap_or(0),
            sha256: info.sha256.clone(),
        };
        let bytes = self.blobs.get(&reference).await?;
        Ok(Some((info, bytes)))
    }

    /// Stores the file of a dokumentobjekt in its own transaction. See [`Noark::store_file_in`].
    pub async fn store_file(
        &self,
        kommunenummer: Kommunenummer,
        dokumentobjekt: &str,
        mime_type: &str,
        bytes: Bytes,
        actor: &Actor,
    ) -> Result<Object, ArchiveError> {
        let mut tx = self.db.begin().await?;
        let object = self.store_file_in(&mut tx, kommunenummer, dokumentobjekt, mime_type, bytes, actor).await?;
        tx.commit().await?;
        Ok(object)
    }

    /// Stores the file of a dokumentobjekt in the caller's transaction: checked against the
    /// object's `sjekksum`, `filstoerrelse` and `mimeType` where it states them (and filling
    /// them in where it does not), and refused if the object already has a file. The blob's
    /// key holds the checksum, so a refused or rolled-back upload never replaces stored bytes.
    pub async fn store_file_in(
        &self,
        tx: &mut Tx,
        kommunenummer: Kommunenummer,
        dokumentobjekt: &str,
        mime_type: &str,
        bytes: Bytes,
        actor: &Actor,
    ) -> Result<Object, ArchiveError> {
        let size = bytes.len() as u64;
        if size > self.max_file_bytes {
            return Err(ArchiveError::TooLarge { limit: self.max_file_bytes });
        }
        let mut municipal = tx.municipal(kommunenummer);
        let object = get_in(&mut municipal, dokumentobjekt).await?;
        if !object.entity.is_a("dokumentobjekt") {
            return Err(ArchiveError::NotFound);
        }
        let existing = municipal
            .fetch_optional::<(String,)>(
                "SELECT sha256 FROM archive_files WHERE kommunenummer = $1 AND dokumentobjekt_id = $2",
                &params![dokumentobjekt],
            )
            .await?;
        if existing.is_some() {
            return Err(ArchiveError::FileExists);
        }
        let mime_type = mime_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let sha256 = store::blobs::sha256_hex(&bytes);
        check_file(&object, &mime_type, &sha256, size, &bytes)?;
        // Spread over 256 folders by checksum, not one folder per file (a directory per upload
        // was two fifths of the time of journaling a document on local disk).
        let key = format!("archive/{}/{}/{}-{}", kommunenummer.as_str(), &sha256[..2], dokumentobjekt, sha256);
        self.blobs.put(&key, bytes).await?;
        municipal
            .execute(
                "INSERT INTO archive_files (kommunenummer, dokumentobjekt_id, blob_key, sha256, size, mime_type, stored_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &params![dokumentobjekt, key, sha256.clone(), i64::try_from(size).unwrap_or(i64::MAX), mime_type.clone(), Timestamp::now()],
            )
            .await?;
        let mut body = object.body.clone();
        body.entry("sjekksum").or_insert_with(|| Value::String(sha256.clone()));
        body.entry("sjekksumAlgoritme").or_insert_with(|| Value::String("SHA-256".to_owned()));
        if !body.contains_key("filstoerrelse") {
            let value = match object.entity.attribute("filstoerrelse").map(|a| a.ty) {
                Some(model::AttrType::String) => Value::String(size.to_string()),
                _ => Value::from(size),
            };
            body.insert("filstoerrelse".to_owned(), value);
        }
        if object.entity.attribute("mimeType").is_some() {
            body.entry("mimeType").or_insert_with(|| Value::String(mime_type.clone()));
        }
        write_body(&mut municipal, &object, body, None, actor).await
    }

    /// Adds a value to a code list, or renames an added one.
    pub async fn add_code(
        &self,
        kommunenummer: Kommunenummer,
        list: &str,
        kode: &str,
        kodenavn: &str,
    ) -> Result<(), ArchiveError> {
        if model::code_list(list).is_none() {
            return Err(ArchiveError::NotFound);
        }
        if kode.trim().is_empty() || kodenavn.trim().is_empty() {
            return Err(ArchiveError::Invalid {
                field: "kode".to_owned(),
                message: "kode and kodenavn must be given".to_owned(),
            });
        }
        let standard = model::code_list(list).and_then(|l| l.values.iter().find(|(k, _)| *k == kode));
        if let Some((_, name)) = standard
            && *name != kodenavn
        {
            return Err(ArchiveError::Invalid {
                field: "kode".to_owned(),
                message: format!("{kode} is a standard value of {list}"),
            });
        }
        let db = self.db.municipal(kommunenummer);
        let updated = db
            .execute(
                "UPDATE archive_codes SET kodenavn = $4, retired = 0, changed_at = $5 WHERE kommunenummer = $1 AND list = $2 AND kode = $3",
                &params![list, kode, kodenavn, Timestamp::now()],
            )
            .await?;
        if updated == 0 {
            db.execute(
                "INSERT INTO archive_codes (kommunenummer, list, kode, kodenavn, retired, changed_at) VALUES ($1, $2, $3, $4, 0, $5)",
                &params![list, kode, kodenavn, Timestamp::now()],
            )
            .await?;
        }
        Ok(())
    }

    /// Retires a value of a code list: objects keep it, new ones cannot use it.
    pub async fn retire_code(&self, kommunenummer: Kommunenummer, list: &str, kode: &str) -> Result<(), ArchiveError> {
        let book = self.codebook(kommunenummer).await?;
        let Some(kodenavn) = book.lookup(list, kode) else {
            return Err(ArchiveError::NotFound);
        };
        let db = self.db.municipal(kommunenummer);
        let updated = db
            .execute(
                "UPDATE archive_codes SET retired = 1, changed_at = $4 WHERE kommunenummer = $1 AND list = $2 AND kode = $3",
                &params![list, kode, Timestamp::now()],
            )
            .await?;
        if updated == 0 {
            db.execute(
                "INSERT INTO archive_codes (kommunenummer, list, kode, kodenavn, retired, changed_at) VALUES ($1, $2, $3, $4, 1, $5)",
                &params![list, kode, kodenavn, Timestamp::now()],
            )
            .await?;
        }
        Ok(())
    }
}

fn placeholders(first: usize, count: usize) -> String {
    (first..first + count.max(1)).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The names of these entities and every entity that specialises them.
pub fn with_specialisations(entities: &[&str]) -> Vec<&'static str> {
    model::ENTITIES.iter().filter(|e| entities.iter().any(|name| e.is_a(name))).map(|e| e.name).collect()
}

const CODES_SQL: &str = "SELECT list, kode, kodenavn, retired FROM archive_codes WHERE kommunenummer = $1";

fn codebook_of(rows: Vec<(String, String, String, i64)>) -> CodeBook {
    let mut book = CodeBook::default();
    for (list, kode, kodenavn, retired) in rows {
        book.local.insert((list, kode), (kodenavn, retired != 0));
    }
    book
}

pub(crate) async fn codebook_in(db: MunicipalDb<'_>) -> Result<CodeBook, ArchiveError> {
    Ok(codebook_of(db.fetch_all(CODES_SQL, &[]).await?))
}

async fn codebook_tx(tx: &mut MunicipalTx<'_>) -> Result<CodeBook, ArchiveError> {
    Ok(codebook_of(tx.fetch_all(CODES_SQL, &[]).await?))
}

async fn children_in(
    db: MunicipalDb<'_>,
    parent: &str,
    entities: &[&str],
    after: i64,
    limit: u32,
) -> Result<Vec<Object>, ArchiveError> {
    let rows = if entities.is_empty() {
        db.fetch_all::<Row>(
            &format!(
                "SELECT {COLUMNS} FROM archive_objects WHERE kommunenummer = $1 AND parent_id = $2 AND position > $3 \
                 ORDER BY position LIMIT {}",
                limit.max(1)
            ),
            &params![parent, after],
        )
        .await?
    } else {
        let names = with_specialisations(entities);
        let sql = format!(
            "SELECT {COLUMNS} FROM archive_objects WHERE kommunenummer = $1 AND parent_id = $2 AND position > $3 \
             AND entity IN ({}) ORDER BY position LIMIT {}",
            placeholders(4, names.len()),
            limit.max(1)
        );
        let mut bound = vec![store::Param::from(parent), store::Param::from(after)];
        bound.extend(names.iter().map(|n| store::Param::from(*n)));
        db.fetch_all::<Row>(&sql, &bound).await?
    };
    rows.into_iter().map(decode).collect()
}

pub(crate) async fn get_in(tx: &mut MunicipalTx<'_>, id: &str) -> Result<Object, ArchiveError> {
    let row = tx
        .fetch_optional::<Row>(
            &format!("SELECT {COLUMNS} FROM archive_objects WHERE kommunenummer = $1 AND system_id = $2"),
            &params![id],
        )
        .await?;
    decode(row.ok_or(ArchiveError::NotFound)?)
}

/// The first of `id` and its ancestors that is finished (avsluttet), by entity: nothing new
/// goes anywhere below a finished arkivdel, klasse or mappe. One query up the tree.
async fn finished_ancestor(tx: &mut MunicipalTx<'_>, id: &str) -> Result<Option<String>, ArchiveError> {
    let row = tx
        .fetch_optional::<(String,)>(
            "WITH RECURSIVE up (system_id, parent_id, entity, body, depth) AS ( \
               SELECT system_id, parent_id, entity, body, 0 FROM archive_objects WHERE kommunenummer = $1 AND system_id = $2 \
               UNION ALL \
               SELECT o.system_id, o.parent_id, o.entity, o.body, up.depth + 1 FROM archive_objects o \
               JOIN up ON o.system_id = up.parent_id WHERE o.kommunenummer = $1 AND up.depth < 32 \
             ) SELECT entity FROM up WHERE body LIKE '%\"avsluttetDato\"%' ORDER BY depth LIMIT 1",
            &params![id],
        )
        .await?;
    Ok(row.map(|(entity,)| entity))
}

/// The next number of a series, gap-free: the counter row is updated in the caller's
/// transaction, so a rolled-back transaction gives its number back and concurrent ones wait.
pub(crate) async fn next_number(tx: &mut MunicipalTx<'_>, series: &str, year: i64) -> Result<i64, ArchiveError> {
    let row = tx
        .fetch_optional::<(i64,)>(
            "INSERT INTO archive_numbers (kommunenummer, series, year, last) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (kommunenummer, series, year) DO UPDATE SET last = archive_numbers.last + 1 RETURNING last",
            &params![series, year],
        )
        .await?;
    row.map(|(n,)| n).ok_or_else(|| ArchiveError::Malformed(format!("counter {series}")))
}

/// Creates an object under a parent in the caller's transaction.
pub async fn create(
    tx: &mut MunicipalTx<'_>,
    parent: Option<&str>,
    entity: &'static Entity,
    input: &Map<String, Value>,
    actor: &Actor,
) -> Result<Object, ArchiveError> {
    let codes = codebook_tx(tx).await?;
    let mut body = template(entity, &codes);
    for (key, value) in validate::body(entity, input, &codes)? {
        body.insert(key, value);
    }
    let parent = match parent {
        Some(id) => Some(get_in(tx, id).await?),
        None => None,
    };
    match &parent {
        None if entity.name != "arkiv" => {
            return Err(ArchiveError::WrongParent { parent: "(none)".to_owned(), child: entity.name.to_owned() });
        }
        None => {}
        Some(parent) => {
            if !may_hold(parent.entity, entity) {
                return Err(ArchiveError::WrongParent {
                    parent: parent.entity.name.to_owned(),
                    child: entity.name.to_owned(),
                });
            }
            if (family(entity).is_some() || entity.is_a("dokumentbeskrivelse"))
                && let Some(finished) = finished_ancestor(tx, &parent.system_id).await?
            {
                return Err(ArchiveError::Closed(finished));
            }
            if let Some(mine) = family(entity)
                && (family(parent.entity).is_some() || parent.entity.name == "arkivdel")
            {
                // Every child with a family is of one family (checked at each insert), so the
                // first one stands for all: an index range on (parent_id, position). A DISTINCT
                // over the children made SQLite scan the entity index, every object of the
                // municipality, at each create.
                let names: Vec<&str> = model::ENTITIES.iter().filter(|e| family(e).is_some()).map(|e| e.name).collect();
                let sql = format!(
                    "SELECT entity FROM archive_objects WHERE kommunenummer = $1 AND parent_id = $2 \
                     AND entity IN ({}) ORDER BY position LIMIT 1",
                    placeholders(3, names.len())
                );
                let mut bound = vec![store::Param::from(parent.system_id.clone())];
                bound.extend(names.iter().map(|n| store::Param::from(*n)));
                let siblings = tx.fetch_all::<(String,)>(&sql, &bound).await?;
                let clash =
                    siblings.iter().filter_map(|(name,)| model::entity(name)).filter_map(family).find(|other| {
                        *other != mine
                            && !(parent.entity.name == "arkivdel"
                                && *other == "klassifikasjon"
                                && mine == "klassifikasjon")
                    });
                if let Some(other) = clash {
                    return Err(ArchiveError::WrongParent {
                        parent: format!("{} (it holds {other})", parent.entity.name),
                        child: entity.name.to_owned(),
                    });
                }
            }
        }
    }
    let now = kernel::time::now_in_norway();
    let year = i64::from(now.year());
    let system_id = uuid::Uuid::now_v7().to_string();
    let set = |body: &mut Map<String, Value>, field: &str, value: Value| {
        if entity.attribute(field).is_some() {
            body.insert(field.to_owned(), value);
        }
    };
    set(&mut body, "systemID", Value::String(system_id.clone()));
    set(&mut body, "opprettetDato", Value::String(now_text()));
    set(&mut body, "opprettetAv", Value::String(actor.name.clone()));
    set(&mut body, "referanseOpprettetAv", Value::String(actor.id.clone()));
    if entity.is_a("saksmappe") {
        let number = next_number(tx, "saksmappe", year).await?;
        set(&mut body, "saksaar", Value::from(year));
        set(&mut body, "sakssekvensnummer", Value::from(number));
        set(&mut body, "mappeID", Value::String(format!("{year}/{number}")));
    } else if entity.is_a("mappe") {
        let number = next_number(tx, "mappe", year).await?;
        set(&mut body, "mappeID", Value::String(format!("{year}/{number}")));
    }
    let mut journal_date = None;
    if entity.is_a("journalpost") {
        let sequence = next_number(tx, "journalpost", year).await?;
        set(&mut body, "journalaar", Value::from(year));
        set(&mut body, "journalsekvensnummer", Value::from(sequence));
        let in_case = parent.as_ref().filter(|p| p.entity.is_a("mappe"));
        let number = match in_case {
            Some(case) => next_number(tx, &format!("dokumentnummer:{}", case.system_id), 0).await?,
            None => sequence,
        };
        set(&mut body, "journalpostnummer", Value::from(number));
        let registrerings_id = match in_case.and_then(|c| c.text("mappeID")) {
            Some(mappe_id) => format!("{mappe_id}-{number}"),
            None => format!("{year}/{sequence}"),
        };
        set(&mut body, "registreringsID", Value::String(registrerings_id));
        journal_date = body.get("journaldato").and_then(Value::as_str).map(|d| d.chars().take(10).collect::<String>());
    } else if entity.is_a("registrering") {
        let number = next_number(tx, "registrering", year).await?;
        set(&mut body, "registreringsID", Value::String(format!("{year}/{number}")));
    }
    check_vsm(tx, &body).await?;
    let position = next_number(tx, "object", 0).await?;
    let created = Timestamp::now();
    tx.execute(
        "INSERT INTO archive_objects (kommunenummer, system_id, entity, parent_id, position, version, body, created_at, journal_date) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8)",
        &params![
            system_id.clone(),
            entity.name,
            parent.as_ref().map(|p| p.system_id.clone()),
            position,
            Value::Object(body.clone()).to_string(),
            created,
            journal_date
        ],
    )
    .await?;
    let object = Object { system_id, entity, parent_id: parent.map(|p| p.system_id), position, version: 1, body };
    link_periods(tx, &object, None, actor).await?;
    Ok(object)
}

async fn check_vsm(tx: &mut MunicipalTx<'_>, body: &Map<String, Value>) -> Result<(), ArchiveError> {
    let Some(Value::Object(vsm)) = body.get("virksomhetsspesifikkeMetadata") else {
        return Ok(());
    };
    for (name, value) in vsm {
        let known = tx
            .fetch_optional::<(String,)>(
                "SELECT body FROM archive_vsm WHERE kommunenummer = $1 AND name = $2",
                &params![name],
            )
            .await?;
        let field = format!("virksomhetsspesifikkeMetadata.{name}");
        let Some((definition,)) = known else {
            return Err(ArchiveError::Invalid {
                field,
                message: format!("{name} is not in the registry of virksomhetsspesifikke metadata"),
            });
        };
        let definition: Value =
            serde_json::from_str(&definition).map_err(|_| ArchiveError::Malformed(field.clone()))?;
        let kind = definition.get("type").and_then(Value::as_str).unwrap_or("string");
        if !crate::vsm::value_fits(kind, value) {
            return Err(ArchiveError::Invalid { field, message: format!("must be of the registered type {kind}") });
        }
    }
    Ok(())
}

/// Replaces the client's fields of an object (PUT) in the caller's transaction; the server's
/// fields stay. Each changed field is written to the endringslogg.
pub async fn replace(
    tx: &mut MunicipalTx<'_>,
    id: &str,
    input: &Map<String, Value>,
    expected_version: Option<i64>,
    actor: &Actor,
) -> Result<Object, ArchiveError> {
    let current = get_in(tx, id).await?;
    if let Some(expected) = expected_version
        && expected != current.version
    {
        return Err(ArchiveError::Conflict);
    }
    let codes = codebook_tx(tx).await?;
    let mut body = validate::body(current.entity, input, &codes)?;
    for attribute in current.entity.all_attributes() {
        if attribute.server
            && let Some(value) = current.body.get(attribute.name)
        {
            body.insert(attribute.name.to_owned(), value.clone());
        }
    }
    check_vsm(tx, &body).await?;
    let object = write_body(tx, &current, body, expected_version, actor).await?;
    link_periods(tx, &object, Some(&current), actor).await?;
    Ok(object)
}

/// Keeps forrige/neste arkivdel two-way (chapter 6: a link set on one side shows on the
/// other): an arkivdel naming its predecessor (`referanseForloeper`) becomes that one's
/// successor (`referanseArvtaker`), and the other way round. Either must name another arkivdel
/// of the same archive of the municipality.
async fn link_periods(
    tx: &mut MunicipalTx<'_>,
    object: &Object,
    before: Option<&Object>,
    actor: &Actor,
) -> Result<(), ArchiveError> {
    if !object.entity.is_a("arkivdel") {
        return Ok(());
    }
    for (field, other_field) in
        [("referanseForloeper", "referanseArvtaker"), ("referanseArvtaker", "referanseForloeper")]
    {
        let Some(target) = object.text(field) else { continue };
        if before.and_then(|b| b.text(field)) == Some(target) {
            continue;
        }
        let invalid = |message: &str| ArchiveError::Invalid { field: field.to_owned(), message: message.to_owned() };
        if target == object.system_id {
            return Err(invalid("an arkivdel cannot follow itself"));
        }
        let other = match get_in(tx, target).await {
            Ok(other) if other.entity.is_a("arkivdel") => other,
            Ok(_) | Err(ArchiveError::NotFound) => return Err(invalid("must be the systemID of another arkivdel")),
            Err(error) => return Err(error),
        };
        if other.text(other_field) == Some(object.system_id.as_str()) {
            continue;
        }
        let mut body = other.body.clone();
        body.insert(other_field.to_owned(), Value::String(object.system_id.clone()));
        write_body(tx, &other, body, None, actor).await?;
    }
    Ok(())
}

pub(crate) async fn write_body(
    tx: &mut MunicipalTx<'_>,
    current: &Object,
    body: Map<String, Value>,
    expected_version: Option<i64>,
    actor: &Actor,
) -> Result<Object, ArchiveError> {
    let version = expected_version.unwrap_or(current.version);
    let journal_date = if current.entity.is_a("journalpost") {
        body.get("journaldato").and_then(Value::as_str).map(|d| d.chars().take(10).collect::<String>())
    } else {
        None
    };
    let updated = tx
        .execute(
            "UPDATE archive_objects SET body = $2, version = version + 1, journal_date = $3 \
             WHERE kommunenummer = $1 AND system_id = $4 AND version = $5",
            &params![Value::Object(body.clone()).to_string(), journal_date, current.system_id.clone(), version],
        )
        .await?;
    if updated == 0 {
        return Err(ArchiveError::Conflict);
    }
    let changed_at = now_text();
    let mut names: Vec<&String> = current.body.keys().chain(body.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let old = current.body.get(name);
        let new = body.get(name);
        if old == new {
            continue;
        }
        log_change(tx, &current.system_id, current.entity.name, name, &changed_at, &actor.name, old, new).await?;
    }
    Ok(Object { version: version + 1, body, ..current.clone() })
}

#[allow(clippy::too_many_arguments)]
async fn log_change(
    tx: &mut MunicipalTx<'_>,
    system_id: &str,
    entity: &str,
    field: &str,
    changed_at: &str,
    changed_by: &str,
    old: Option<&Value>,
    new: Option<&Value>,
) -> Result<(), ArchiveError> {
    let position = next_number(tx, "change", 0).await?;
    tx.execute(
        "INSERT INTO archive_changes (kommunenummer, position, system_id, entity, field, changed_at, changed_by, old_value, new_value) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &params![position, system_id, entity, field, changed_at, changed_by, old.map(json_text), new.map(json_text)],
    )
    .await?;
    Ok(())
}

/// Deletes an object that has no children, in the caller's transaction; the endringslogg
/// keeps that it was deleted, by whom, and its last fields.
pub async fn delete(
    tx: &mut MunicipalTx<'_>,
    id: &str,
    expected_version: Option<i64>,
    actor: &Actor,
) -> Result<(), ArchiveError> {
    let current = get_in(tx, id).await?;
    if let Some(expected) = expected_version
        && expected != current.version
    {
        return Err(ArchiveError::Conflict);
    }
    let child = tx
        .fetch_optional::<(String,)>(
            "SELECT entity FROM archive_objects WHERE kommunenummer = $1 AND parent_id = $2 LIMIT 1",
            &params![id],
        )
        .await?;
    if let Some((entity,)) = child {
        return Err(ArchiveError::HasChildren(entity));
    }
    tx.execute("DELETE FROM archive_files WHERE kommunenummer = $1 AND dokumentobjekt_id = $2", &params![id]).await?;
    tx.execute("DELETE FROM archive_objects WHERE kommunenummer = $1 AND system_id = $2", &params![id]).await?;
    let last = Value::Object(current.body.clone());
    log_change(tx, id, current.entity.name, "slettet", &now_text(), &actor.name, Some(&last), None).await
}

/// PDF formats (PRONOM) and media types whose bytes must start with `%PDF-`.
fn is_pdf(object: &Object, mime_type: &str) -> bool {
    mime_type == "application/pdf"
        || object.text("mimeType").is_some_and(|m| m.eq_ignore_ascii_case("application/pdf"))
        || object.kode("format").is_some_and(|f| {
            matches!(
                f,
                "fmt/95"
                    | "fmt/354"
                    | "fmt/476"
                    | "fmt/477"
                    | "fmt/478"
                    | "fmt/479"
                    | "fmt/480"
                    | "fmt/14"
                    | "fmt/15"
                    | "fmt/16"
                    | "fmt/17"
                    | "fmt/18"
                    | "fmt/19"
                    | "fmt/20"
                    | "fmt/276"
            )
        })
}

fn check_file(object: &Object, mime_type: &str, sha256: &str, size: u64, bytes: &[u8]) -> Result<(), ArchiveError> {
    let mismatch = |what: &str, message: String| Err(ArchiveError::FileMismatch { field: what.to_owned(), message });
    if let Some(algorithm) = object.text("sjekksumAlgoritme")
        && !algorithm.eq_ignore_ascii_case("SHA-256")
        && !algorithm.eq_ignore_ascii_case("SHA256")
    {
        return mismatch("sjekksumAlgoritme", format!("{algorithm} is not supported; use SHA-256"));
    }
    if let Some(expected) = object.text("sjekksum")
        && !expected.eq_ignore_ascii_case(sha256)
    {
        return mismatch("sjekksum", format!("the file's SHA-256 is {sha256}, the dokumentobjekt states {expected}"));
    }
    let stated = match object.body.get("filstoerrelse") {
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or(()),
        Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| ()),
        Some(_) => Err(()),
        None => Ok(None),
    };
    match stated {
        Ok(Some(expected)) if expected != size => {
            return mismatch(
                "filstoerrelse",
                format!("the file has {size} bytes, the dokumentobjekt states {expected}"),
            );
        }
        Err(()) => return mismatch("filstoerrelse", "is not a size in bytes".to_owned()),
        _ => {}
    }
    if let Some(expected) = object.text("mimeType")
        && !mime_type.is_empty()
        && !expected.eq_ignore_ascii_case(mime_type)
    {
        return mismatch("mimeType", format!("the upload is {mime_type}, the dokumentobjekt states {expected}"));
    }
    if is_pdf(object, mime_type) && !bytes.starts_with(b"%PDF-") {
        return mismatch("format", "the file is not a PDF".to_owned());
    }
    Ok(())
}
