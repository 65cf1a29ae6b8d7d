//! Chunked uploads of a dokumentobjekt's file, as the tjenestegrensesnitt describes them: the
//! client announces the type and length (`X-Upload-Content-Type`, `X-Upload-Content-Length`),
//! then sends the bytes in order with `Content-Range`. Each chunk is a blob of its own; when
//! the last arrives the file is assembled and stored like a one-request upload (checked
//! against the dokumentobjekt, never replacing a stored file), and the chunks are removed.

use bytes::{Bytes, BytesMut};
use kernel::{Kommunenummer, Timestamp};
use store::params;

use crate::ArchiveError;
use crate::records::{Actor, Noark, Object};

/// Where a chunked upload stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// More bytes are expected; this many have arrived.
    Incomplete(u64),
    /// The file is stored; the dokumentobjekt as it now is.
    Done(Box<Object>),
}

#[derive(serde::Deserialize)]
struct UploadRow {
    mime_type: String,
    expected_size: i64,
    received: i64,
    chunks: String,
}

impl Noark {
    /// Announces a chunked upload (a new announcement replaces an unfinished one).
    pub async fn start_upload(
        &self,
        kommunenummer: Kommunenummer,
        dokumentobjekt: &str,
        mime_type: &str,
        length: u64,
    ) -> Result<(), ArchiveError> {
        if length > self.max_file_bytes {
            return Err(ArchiveError::TooLarge { limit: self.max_file_bytes });
        }
        if length == 0 {
            return Err(ArchiveError::Invalid {
                field: "X-Upload-Content-Length".to_owned(),
                message: "must be above 0".to_owned(),
            });
        }
        let object = self.get(kommunenummer, dokumentobjekt).await?;
        if !object.entity.is_a("dokumentobjekt") {
            return Err(ArchiveError::NotFound);
        }
        if self.file_info(kommunenummer, dokumentobjekt).await?.is_some() {
            return Err(ArchiveError::FileExists);
        }
        let db = self.db.municipal(kommunenummer);
        db.execute(
            "DELETE FROM archive_uploads WHERE kommunenummer = $1 AND dokumentobjekt_id = $2",
            &params![dokumentobjekt],
        )
        .await?;
        db.execute(
            "INSERT INTO archive_uploads (kommunenummer, dokumentobjekt_id, mime_type, expected_size, received, chunks, started_at) \
             VALUES ($1, $2, $3, $4, 0, '[]', $5)",
            &params![dokumentobjekt, mime_type, i64::try_from(length).unwrap_or(i64::MAX), Timestamp::now()],
        )
        .await?;
        Ok(())
    }

    /// Receives the chunk that starts at `offset` (the next byte expected) of an announced
    /// upload of `total` bytes.
    pub async fn upload_chunk(
        &self,
        kommunenummer: Kommunenummer,
        dokumentobjekt: &str,
        offset: u64,
        total: u64,
        bytes: Bytes,
        actor: &Actor,
    ) -> Result<Progress, ArchiveError> {
        let db = self.db.municipal(kommunenummer);
        let Some(row) = db
            .fetch_optional::<UploadRow>(
                "SELECT mime_type, expected_size, received, chunks FROM archive_uploads WHERE kommunenummer = $1 AND dokumentobjekt_id = $2",
                &params![dokumentobjekt],
            )
            .await?
        else {
            return Err(ArchiveError::Invalid {
                field: "Content-Range".to_owned(),
                message: "announce the upload first (X-Upload-Content-Type and X-Upload-Content-Length)".to_owned(),
            });
        };
        let expected = u64::try_from(row.expected_size).unwrap_or(0);
        let received = u64::try_from(row.received).unwrap_or(0);
        let invalid = |message: String| ArchiveError::Invalid { field: "Content-Range".to_owned(), message };
        if total != expected {
            return Err(invalid(format!("the upload was announced as {expected} bytes")));
        }
        if offset != received {
            return Err(invalid(format!("the next byte expected is {received}")));
        }
        let size = bytes.len() as u64;
        if size == 0 || received + size > expected {
            return Err(invalid("the chunk does not fit the announced length".to_owned()));
        }
        let mut chunks: Vec<(String, String)> =
            serde_json::from_str(&row.chunks).map_err(|_| ArchiveError::Malformed("upload chunks".to_owned()))?;
        let key = format!("archive-uploads/{}/{}/{offset}", kommunenummer.as_str(), dokumentobjekt);
        let stored = self.blobs.put(&key, bytes).await?;
        chunks.push((stored.key, stored.sha256));
        let now_received = received + size;
        let updated = db
            .execute(
                "UPDATE archive_uploads SET received = $3, chunks = $4 WHERE kommunenummer = $1 AND dokumentobjekt_id = $2 AND received = $5",
                &params![
                    dokumentobjekt,
                    i64::try_from(now_received).unwrap_or(i64::MAX),
                    serde_json::to_string(&chunks).unwrap_or_default(),
                    row.received
                ],
            )
            .await?;
        if updated == 0 {
            return Err(ArchiveError::Conflict);
        }
        if now_received < expected {
            return Ok(Progress::Incomplete(now_received));
        }
        let mut whole = BytesMut::with_capacity(usize::try_from(expected).unwrap_or(0));
        for (key, sha256) in &chunks {
            let part = self.blobs.get(&store::BlobRef { key: key.clone(), size: 0, sha256: sha256.clone() }).await?;
            whole.extend_from_slice(&part);
        }
        let result = self.store_file(kommunenummer, dokumentobjekt, &row.mime_type, whole.freeze(), actor).await;
        db.execute(
            "DELETE FROM archive_uploads WHERE kommunenummer = $1 AND dokumentobjekt_id = $2",
            &params![dokumentobjekt],
        )
        .await?;
        for (key, _) in &chunks {
            if let Err(error) = self.blobs.delete(key).await {
                tracing::warn!(error = %error, "an upload chunk was not removed");
            }
        }
        result.map(|object| Progress::Done(Box::new(object)))
    }
}
