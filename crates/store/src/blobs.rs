//! Documents and other large values: a local directory by default, S3-compatible storage
//! (MinIO, Ceph, a cloud) by configuration, both through the `object_store` crate. The database
//! keeps the key, the size and the SHA-256 checksum; reading checks the checksum.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use object_store::ObjectStore;
use object_store::path::Path;
use sha2::{Digest, Sha256};

use crate::StoreError;

/// Where blobs go.
#[derive(Clone, PartialEq, Eq)]
pub enum BlobConfig {
    /// A directory on local disk.
    Local {
        /// The directory; created if missing.
        path: std::path::PathBuf,
    },
    /// An S3-compatible bucket.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Endpoint URL, for non-AWS services (MinIO, Ceph).
        endpoint: Option<String>,
        /// Region.
        region: String,
        /// Access key id.
        access_key_id: String,
        /// Secret access key; never printed.
        secret_access_key: String,
        /// Allow plain HTTP to the endpoint (for a local MinIO).
        allow_http: bool,
    },
    /// In memory, for tests.
    Memory,
}

impl fmt::Debug for BlobConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobConfig::Local { path } => f.debug_struct("Local").field("path", path).finish(),
            BlobConfig::S3 { bucket, endpoint, region, .. } => f
                .debug_struct("S3")
                .field("bucket", bucket)
                .field("endpoint", endpoint)
                .field("region", region)
                .field("secret_access_key", &"[redacted]")
                .finish(),
            BlobConfig::Memory => f.write_str("Memory"),
        }
    }
}

/// Where a stored blob is and what it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRef {
    /// The key inside the store.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
}

/// The blob store. Cheap to clone.
#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
}

impl fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobStore({})", self.inner)
    }
}

fn blob_error(error: impl fmt::Display) -> StoreError {
    StoreError::Blob(error.to_string())
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn key_path(key: &str) -> Result<Path, StoreError> {
    Path::parse(key).map_err(blob_error)
}

impl BlobStore {
    /// Opens the store `config` describes.
    pub fn open(config: &BlobConfig) -> Result<Self, StoreError> {
        let inner: Arc<dyn ObjectStore> = match config {
            BlobConfig::Local { path } => {
                std::fs::create_dir_all(path).map_err(blob_error)?;
                Arc::new(object_store::local::LocalFileSystem::new_with_prefix(path).map_err(blob_error)?)
            }
            BlobConfig::S3 { bucket, endpoint, region, access_key_id, secret_access_key, allow_http } => {
                let mut builder = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(access_key_id)
                    .with_secret_access_key(secret_access_key)
                    .with_allow_http(*allow_http);
                if let Some(endpoint) = endpoint {
                    builder = builder.with_endpoint(endpoint).with_virtual_hosted_style_request(false);
                }
                Arc::new(builder.build().map_err(blob_error)?)
            }
            BlobConfig::Memory => Arc::new(object_store::memory::InMemory::new()),
        };
        Ok(Self { inner })
    }

    /// The object store underneath, for a context that writes its own layout (the print
    /// vendor's directory or bucket).
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.inner.clone()
    }

    /// Stores `bytes` under `key` (e.g. `4601/letters/0190...pdf`), replacing what was there.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<BlobRef, StoreError> {
        let path = key_path(key)?;
        let reference = BlobRef { key: path.to_string(), size: bytes.len() as u64, sha256: sha256_hex(&bytes) };
        self.inner.put(&path, bytes.into()).await.map_err(blob_error)?;
        Ok(reference)
    }

    /// Reads a blob and checks it against its reference; a changed blob is an error.
    pub async fn get(&self, reference: &BlobRef) -> Result<Bytes, StoreError> {
        let path = key_path(&reference.key)?;
        let bytes = match self.inner.get(&path).await {
            Ok(result) => result.bytes().await.map_err(blob_error)?,
            Err(object_store::Error::NotFound { .. }) => return Err(StoreError::NotFound),
            Err(other) => return Err(blob_error(other)),
        };
        let actual = sha256_hex(&bytes);
        if actual != reference.sha256 {
            return Err(StoreError::Blob(format!(
                "checksum mismatch for {}: stored {}, read {actual}",
                reference.key, reference.sha256
            )));
        }
        Ok(bytes)
    }

    /// Removes a blob; removing one that is not there is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.inner.delete(&key_path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(other) => Err(blob_error(other)),
        }
    }
}
