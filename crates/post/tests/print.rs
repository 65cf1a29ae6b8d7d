//! The print shop and the simulated vendor on a temporary directory (`LocalFileSystem`).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use post::adapters::print::{Manifest, ObjectStorePrintShop, envelope_for, sha256_hex};
use post::adapters::{Envelope, PrintLine, PrintShop};
use post::simulators::print_vendor::{PrintVendorOptions, PrintVendorSim};

fn store(dir: &Path) -> anyhow::Result<Arc<dyn ObjectStore>> {
    Ok(Arc::new(LocalFileSystem::new_with_prefix(dir)?))
}

fn pdf(letter: &str) -> Bytes {
    Bytes::from(format!("%PDF-1.7\n% brev {letter}\n%%EOF\n"))
}

fn line(letter_id: &str, pages: u32) -> PrintLine {
    PrintLine {
        letter_id: letter_id.into(),
        name: "Kari Nordmann".into(),
        address_lines: vec!["Storgata 1".into(), "c/o Ola Nordmann".into()],
        postnummer: "5003".into(),
        poststed: "BERGEN".into(),
        land: "NO".into(),
        pages,
        duplex: true,
        envelope: envelope_for(pages, true),
        pdf: pdf(letter_id),
    }
}

/// Every file under the directory, relative, sorted, with its bytes.
fn files(dir: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> anyhow::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else {
                let relative = path.strip_prefix(root)?.to_string_lossy().replace('\\', "/");
                out.push((relative, std::fs::read(&path)?));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out)?;
    }
    out.sort();
    Ok(out)
}

fn names(files: &[(String, Vec<u8>)]) -> Vec<&str> {
    files.iter().map(|(name, _)| name.as_str()).collect()
}

#[tokio::test]
async fn a_batch_is_its_pdfs_and_a_manifest() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let shop = ObjectStorePrintShop::new(store(dir.path())?, "kommune/print")?;
    let lines = [line("brev-1", 3), line("brev-2", 24)];

    shop.submit("batch-1", &lines).await?;

    let root = dir.path().join("kommune/print");
    assert_eq!(
        names(&files(&root.join("utgaaende"))?),
        ["batch-1/brev-1.pdf", "batch-1/brev-2.pdf", "batch-1/manifest.csv", "batch-1/manifest.json"]
    );
    assert_eq!(std::fs::read(root.join("utgaaende/batch-1/brev-1.pdf"))?, pdf("brev-1"));
    let manifest: Manifest = serde_json::from_slice(&std::fs::read(root.join("utgaaende/batch-1/manifest.json"))?)?;
    assert_eq!(manifest.batch_id, "batch-1");
    assert_eq!(manifest.lines.len(), 2);
    let first = &manifest.lines[0];
    assert_eq!(first.letter_id, "brev-1");
    assert_eq!(first.file, "brev-1.pdf");
    assert_eq!(first.name, "Kari Nordmann");
    assert_eq!(first.address_lines, ["Storgata 1", "c/o Ola Nordmann"]);
    assert_eq!((first.postnummer.as_str(), first.poststed.as_str(), first.land.as_str()), ("5003", "BERGEN", "NO"));
    assert_eq!((first.pages, first.duplex, first.envelope), (3, true, Envelope::C5));
    assert_eq!(first.sha256, sha256_hex(&pdf("brev-1")));
    assert_eq!(manifest.lines[1].envelope, Envelope::C4);
    // The field names as the vendor reads them.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("utgaaende/batch-1/manifest.json"))?)?;
    assert_eq!(json["lines"][1]["envelope"], "C4");
    assert_eq!(json["lines"][0]["postnummer"], "5003");
    let csv = std::fs::read_to_string(root.join("utgaaende/batch-1/manifest.csv"))?;
    assert_eq!(csv.lines().count(), 3);
    // Debug output carries no names or addresses.
    assert!(!format!("{manifest:?} {:?}", lines[0]).contains("Nordmann"));
    Ok(())
}

#[tokio::test]
async fn the_same_batch_twice_is_the_same_files() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let shop = ObjectStorePrintShop::new(store(dir.path())?, "")?;
    let lines = [line("brev-1", 1), line("brev-2", 2)];

    shop.submit("batch-1", &lines).await?;
    let before = files(dir.path())?;
    shop.submit("batch-1", &lines).await?;
    assert_eq!(files(dir.path())?, before);

    // Other lines under the same batch id are refused, and nothing changes.
    let error = shop.submit("batch-1", &[line("brev-3", 1)]).await.expect_err("other lines");
    assert!(!error.is_transient(), "{error}");
    assert_eq!(files(dir.path())?, before);

    // A crash after the PDFs but before the manifest: the next try completes the batch.
    std::fs::remove_file(dir.path().join("utgaaende/batch-1/manifest.json"))?;
    std::fs::remove_file(dir.path().join("sendt/batch-1.json"))?;
    shop.submit("batch-1", &lines).await?;
    assert_eq!(files(dir.path())?, before);

    // The vendor takes it and clears the outgoing directory: writing it again writes nothing.
    let vendor = PrintVendorSim::new(store(dir.path())?, "", PrintVendorOptions::default())?;
    assert_eq!(vendor.process().await?.len(), 1);
    std::fs::remove_dir_all(dir.path().join("utgaaende/batch-1"))?;
    shop.submit("batch-1", &lines).await?;
    assert!(!dir.path().join("utgaaende/batch-1").exists());
    assert_eq!(vendor.process().await?.len(), 0);
    assert_eq!(vendor.printed().await?.values().copied().collect::<Vec<_>>(), [1, 1]);
    Ok(())
}

#[tokio::test]
async fn the_vendor_prints_each_batch_once_and_the_receipts_come_back() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let shop = ObjectStorePrintShop::new(store(dir.path())?, "print")?;
    shop.submit("batch-1", &[line("brev-1", 1), line("brev-2", 2)]).await?;
    shop.submit("batch-2", &[line("brev-3", 30)]).await?;
    // A batch still being written (no manifest) is left alone.
    std::fs::create_dir_all(dir.path().join("print/utgaaende/batch-3"))?;
    std::fs::write(dir.path().join("print/utgaaende/batch-3/brev-4.pdf"), pdf("brev-4"))?;

    let vendor = PrintVendorSim::new(store(dir.path())?, "print", PrintVendorOptions::default())?;
    let processed = vendor.process().await?;
    assert_eq!(processed.iter().map(|batch| batch.batch_id.as_str()).collect::<Vec<_>>(), ["batch-1", "batch-2"]);
    // A restarted vendor takes nothing twice.
    let restarted = PrintVendorSim::new(store(dir.path())?, "print", PrintVendorOptions::default())?;
    assert!(restarted.process().await?.is_empty());
    let printed = restarted.printed().await?;
    assert_eq!(
        printed.into_iter().collect::<Vec<_>>(),
        [("brev-1".into(), 1), ("brev-2".into(), 1), ("brev-3".into(), 1)]
    );

    let receipts = shop.receipts().await?;
    assert_eq!(
        receipts.iter().map(|(file, _)| file.as_str()).collect::<Vec<_>>(),
        ["kvitteringer/batch-1.csv", "kvitteringer/batch-2.csv"]
    );
    let (_, first) = &receipts[0];
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|receipt| receipt.printed && receipt.batch_id == "batch-1" && receipt.reason.is_none()));
    assert_eq!(first[1].letter_id, "brev-2");

    for (file, _) in &receipts {
        shop.acknowledge(file).await?;
        // Twice is harmless.
        shop.acknowledge(file).await?;
    }
    assert!(shop.receipts().await?.is_empty());
    assert!(dir.path().join("print/kvitteringer/behandlet/batch-1.csv").exists());
    assert!(!dir.path().join("print/kvitteringer/batch-1.csv").exists());

    assert!(!shop.acknowledge("kvitteringer/finst-ikkje.csv").await.expect_err("missing").is_transient());
    assert!(shop.acknowledge("../utgaaende/batch-1/manifest.json").await.is_err());
    Ok(())
}

#[tokio::test]
async fn failures_come_back_as_feil_with_a_reason() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let shop = ObjectStorePrintShop::new(store(dir.path())?, "")?;
    let lines: Vec<PrintLine> = (0..10).map(|n| line(&format!("brev-{n}"), 1)).collect();
    shop.submit("batch-1", &lines).await?;
    // A PDF changed after the manifest was written is not printed.
    std::fs::write(dir.path().join("utgaaende/batch-1/brev-0.pdf"), b"%PDF-1.7 other")?;

    let vendor = PrintVendorSim::new(store(dir.path())?, "", PrintVendorOptions { fail_rate: 0.5, seed: Some(1) })?;
    vendor.process().await?;

    let receipts = shop.receipts().await?;
    let lines = &receipts[0].1;
    assert_eq!(lines.len(), 10);
    assert!(!lines[0].printed);
    assert!(lines[0].reason.is_some());
    let failed = lines.iter().filter(|receipt| !receipt.printed).count();
    assert!(failed > 1 && failed < 10, "{failed}");
    assert!(lines.iter().filter(|receipt| !receipt.printed).all(|receipt| receipt.reason.is_some()));
    assert_eq!(vendor.printed().await?.len(), 10 - failed);
    Ok(())
}

#[tokio::test]
async fn a_malformed_receipt_is_an_error_naming_the_file_and_the_line() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let shop = ObjectStorePrintShop::new(store(dir.path())?, "")?;
    std::fs::create_dir_all(dir.path().join("kvitteringer"))?;
    std::fs::write(
        dir.path().join("kvitteringer/2026-12-03.csv"),
        "batch_id;letter_id;status;tidspunkt;aarsak\n\
         batch-1;brev-1;PRINTET;2026-12-03T10:00:00Z;\n\
         batch-1;brev-2;KANSKJE;2026-12-03T10:00:00Z;\n",
    )?;

    let error = shop.receipts().await.expect_err("malformed");

    let text = error.to_string();
    assert!(text.contains("kvitteringer/2026-12-03.csv"), "{text}");
    assert!(text.contains("line 3"), "{text}");
    // Nothing was moved away.
    assert!(dir.path().join("kvitteringer/2026-12-03.csv").exists());
    Ok(())
}

#[tokio::test]
async fn ids_that_are_not_file_names_and_non_pdfs_are_refused() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let shop = ObjectStorePrintShop::new(store(dir.path())?, "")?;

    assert!(!shop.submit("../batch", &[line("brev-1", 1)]).await.expect_err("batch id").is_transient());
    assert!(!shop.submit("batch-1", &[line("../brev", 1)]).await.expect_err("letter id").is_transient());
    assert!(shop.submit("batch-1", &[line("brev-1", 1), line("brev-1", 1)]).await.is_err());
    let mut not_pdf = line("brev-1", 1);
    not_pdf.pdf = Bytes::from_static(b"<html>");
    assert!(shop.submit("batch-1", &[not_pdf]).await.is_err());
    assert!(shop.submit("batch-1", &[]).await.is_err());
    assert!(files(dir.path())?.is_empty());

    // An empty store: no receipts, nothing to print.
    assert!(shop.receipts().await?.is_empty());
    let vendor = PrintVendorSim::new(store(dir.path())?, "", PrintVendorOptions::default())?;
    assert!(vendor.process().await?.is_empty());
    assert!(vendor.printed().await?.is_empty());
    Ok(())
}

/// A store that fails every write after the first `writes_left`: a crash in the middle of a
/// batch, at every possible point.
#[derive(Debug)]
struct CutOffStore {
    inner: Arc<dyn ObjectStore>,
    writes_left: AtomicUsize,
}

impl std::fmt::Display for CutOffStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CutOffStore({})", self.inner)
    }
}

impl CutOffStore {
    fn write(&self) -> object_store::Result<()> {
        let allowed = self.writes_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1));
        allowed.map(|_| ()).map_err(|_| object_store::Error::Generic { store: "CutOffStore", source: "cut off".into() })
    }
}

#[async_trait::async_trait]
impl ObjectStore for CutOffStore {
    async fn put_opts(
        &self,
        location: &object_store::path::Path,
        payload: object_store::PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        self.write()?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &object_store::path::Path,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.write()?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &object_store::path::Path,
        options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn delete(&self, location: &object_store::path::Path) -> object_store::Result<()> {
        self.write()?;
        self.inner.delete(location).await
    }

    fn list(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> object_store::Result<object_store::ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy(&self, from: &object_store::path::Path, to: &object_store::path::Path) -> object_store::Result<()> {
        self.write()?;
        self.inner.copy(from, to).await
    }

    async fn copy_if_not_exists(
        &self,
        from: &object_store::path::Path,
        to: &object_store::path::Path,
    ) -> object_store::Result<()> {
        self.write()?;
        self.inner.copy_if_not_exists(from, to).await
    }
}

#[tokio::test]
async fn a_crash_at_any_point_of_a_batch_prints_every_letter_exactly_once() -> anyhow::Result<()> {
    let lines = [line("brev-1", 1), line("brev-2", 4), line("brev-3", 30)];
    for cut_after in 0..8 {
        let dir = tempfile::tempdir()?;
        let vendor = PrintVendorSim::new(store(dir.path())?, "", PrintVendorOptions::default())?;
        let crashing: Arc<dyn ObjectStore> =
            Arc::new(CutOffStore { inner: store(dir.path())?, writes_left: AtomicUsize::new(cut_after) });

        let first = ObjectStorePrintShop::new(crashing, "")?.submit("batch-1", &lines).await;
        // The vendor may look at any time: it takes a batch only when it is complete.
        for record in vendor.process().await? {
            assert_eq!(record.printed.len(), 3, "cut after {cut_after} writes: an incomplete batch was taken");
        }
        if let Err(error) = first {
            assert!(error.is_transient(), "{error}");
        }

        // The engine tries again after the restart, as often as it likes.
        let shop = ObjectStorePrintShop::new(store(dir.path())?, "")?;
        shop.submit("batch-1", &lines).await?;
        shop.submit("batch-1", &lines).await?;
        vendor.process().await?;
        vendor.process().await?;

        let printed = vendor.printed().await?;
        assert_eq!(
            printed.into_iter().collect::<Vec<_>>(),
            [("brev-1".into(), 1), ("brev-2".into(), 1), ("brev-3".into(), 1)],
            "cut after {cut_after} writes"
        );
    }
    Ok(())
}

#[test]
fn envelopes_by_sheets() {
    assert_eq!(envelope_for(10, false), Envelope::C5);
    assert_eq!(envelope_for(11, false), Envelope::C4);
    assert_eq!(envelope_for(20, true), Envelope::C5);
    assert_eq!(envelope_for(21, true), Envelope::C4);
}
