//! A print vendor over the same object store as `adapters::print`: it takes every complete batch
//! (its `manifest.json` is there), checks each PDF against the manifest's checksum, "prints" it
//! and leaves one receipt file per batch in `kvitteringer/`.
//!
//! What it has taken it remembers in the store (`behandlet-av-leverandor/{batch_id}`, a JSON
//! record of the lines printed and failed), so a restarted vendor takes no batch twice, and
//! `printed()` can tell a crash test how often each letter went on paper.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use object_store::ObjectStore;
use object_store::path::Path;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::adapters::ChannelError;
use crate::adapters::print::{Layout, Manifest, RECEIPT_HEADER, STATUS_FAILED, STATUS_PRINTED, is_safe_id, sha256_hex};

/// How the simulated vendor behaves.
#[derive(Debug, Clone, Default)]
pub struct PrintVendorOptions {
    /// The share of lines (0.0 to 1.0) that come back `FEIL`.
    pub fail_rate: f64,
    /// The seed of those draws; drawn from the OS when not given.
    pub seed: Option<u64>,
}

/// The record the vendor keeps of a batch it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessedBatch {
    /// The batch.
    pub batch_id: String,
    /// The receipt file written for it, relative to the prefix.
    pub receipt: String,
    /// Letters printed.
    pub printed: Vec<String>,
    /// Letters not printed.
    pub failed: Vec<String>,
}

/// The simulated print vendor.
#[derive(Clone)]
pub struct PrintVendorSim {
    store: Arc<dyn ObjectStore>,
    layout: Layout,
    fail_rate: f64,
    rng: Arc<Mutex<StdRng>>,
}

impl std::fmt::Debug for PrintVendorSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrintVendorSim")
            .field("store", &self.store.to_string())
            .field("fail_rate", &self.fail_rate)
            .finish_non_exhaustive()
    }
}

fn store_error(what: &str, error: object_store::Error) -> ChannelError {
    ChannelError::Transient(format!("print vendor: {what}: {error}"))
}

impl PrintVendorSim {
    /// The vendor over this store and prefix (the same as the print shop's).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str, options: PrintVendorOptions) -> Result<Self, ChannelError> {
        let rng = match options.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Ok(PrintVendorSim {
            store,
            layout: Layout::new(prefix)?,
            fail_rate: options.fail_rate.clamp(0.0, 1.0),
            rng: Arc::new(Mutex::new(rng)),
        })
    }

    fn marker(&self, batch_id: &str) -> Path {
        self.layout.absolute("behandlet-av-leverandor").child(batch_id)
    }

    async fn get(&self, path: &Path) -> Result<Option<Bytes>, ChannelError> {
        match self.store.get(path).await {
            Ok(result) => Ok(Some(result.bytes().await.map_err(|error| store_error("read", error))?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(store_error("read", error)),
        }
    }

    /// Takes every complete batch not taken before; returns what it took, in batch id order.
    pub async fn process(&self) -> Result<Vec<ProcessedBatch>, ChannelError> {
        let listing = match self.store.list_with_delimiter(Some(&self.layout.outgoing())).await {
            Ok(listing) => listing,
            Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(error) => return Err(store_error("list the batches", error)),
        };
        let mut batch_ids: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|path| path.filename().map(str::to_owned))
            .filter(|id| is_safe_id(id))
            .collect();
        batch_ids.sort();

        let mut processed = Vec::new();
        for batch_id in batch_ids {
            if self.get(&self.marker(&batch_id)).await?.is_some() {
                continue;
            }
            // No manifest yet: the batch is still being written.
            let Some(manifest) = self.get(&self.layout.manifest(&batch_id)).await? else { continue };
            let manifest: Manifest = serde_json::from_slice(&manifest)
                .map_err(|error| ChannelError::Permanent(format!("print vendor: batch {batch_id}: {error}")))?;
            processed.push(self.print(&batch_id, &manifest).await?);
        }
        Ok(processed)
    }

    async fn print(&self, batch_id: &str, manifest: &Manifest) -> Result<ProcessedBatch, ChannelError> {
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|error| ChannelError::Permanent(format!("print vendor: the clock: {error}")))?;
        let mut receipt = format!("{RECEIPT_HEADER}\r\n");
        let (mut printed, mut failed) = (Vec::new(), Vec::new());
        for line in &manifest.lines {
            let pdf = self.get(&self.layout.batch(batch_id).child(line.file.as_str())).await?;
            let problem = match pdf {
                None => Some("Filen manglar"),
                Some(pdf) if sha256_hex(&pdf) != line.sha256 => Some("Sjekksummen stemmer ikkje"),
                Some(_) if self.draw_failure() => Some("Simulert feil i trykkeriet"),
                Some(_) => None,
            };
            let (status, reason) = match problem {
                None => {
                    printed.push(line.letter_id.clone());
                    (STATUS_PRINTED, "")
                }
                Some(reason) => {
                    failed.push(line.letter_id.clone());
                    (STATUS_FAILED, reason)
                }
            };
            receipt.push_str(&format!("{batch_id};{};{status};{now};{reason}\r\n", line.letter_id));
        }

        let receipt_path = self.layout.receipts().child(format!("{batch_id}.csv").as_str());
        let record = ProcessedBatch {
            batch_id: batch_id.to_owned(),
            receipt: self.layout.relative(&receipt_path),
            printed,
            failed,
        };
        self.store
            .put(&receipt_path, Bytes::from(receipt).into())
            .await
            .map_err(|error| store_error("write a receipt", error))?;
        let marker = serde_json::to_vec_pretty(&record)
            .map_err(|error| ChannelError::Permanent(format!("print vendor: {error}")))?;
        self.store
            .put(&self.marker(batch_id), Bytes::from(marker).into())
            .await
            .map_err(|error| store_error("write a marker", error))?;
        tracing::info!(print.batch = %batch_id, "print vendor (simulated) printed a batch");
        Ok(record)
    }

    fn draw_failure(&self) -> bool {
        if self.fail_rate <= 0.0 {
            return false;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        rng.random::<f64>() < self.fail_rate
    }

    /// Every batch taken so far, from the records in the store.
    pub async fn processed(&self) -> Result<Vec<ProcessedBatch>, ChannelError> {
        let directory = self.layout.absolute("behandlet-av-leverandor");
        let listing = match self.store.list_with_delimiter(Some(&directory)).await {
            Ok(listing) => listing,
            Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(error) => return Err(store_error("list the markers", error)),
        };
        let mut records = Vec::new();
        for object in listing.objects {
            let Some(bytes) = self.get(&object.location).await? else { continue };
            let record: ProcessedBatch = serde_json::from_slice(&bytes).map_err(|error| {
                ChannelError::Permanent(format!("print vendor: {}: {error}", self.layout.relative(&object.location)))
            })?;
            records.push(record);
        }
        records.sort_by(|a, b| a.batch_id.cmp(&b.batch_id));
        Ok(records)
    }

    /// How many times each letter went on paper, over every batch taken (a crash test asserts
    /// every letter is 1).
    pub async fn printed(&self) -> Result<BTreeMap<String, u32>, ChannelError> {
        let mut counts = BTreeMap::new();
        for record in self.processed().await? {
            for letter_id in record.printed {
                *counts.entry(letter_id).or_insert(0) += 1;
            }
        }
        Ok(counts)
    }
}
