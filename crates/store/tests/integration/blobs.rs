use bytes::Bytes;
use store::{BlobConfig, BlobStore, StoreError};

#[tokio::test]
async fn local_blobs_round_trip_and_detect_tampering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blobs = BlobStore::open(&BlobConfig::Local { path: dir.path().join("blobs") }).expect("open");
    let content = Bytes::from_static(b"%PDF-1.7 brev");
    let reference = blobs.put("4601/letters/a.pdf", content.clone()).await.expect("put");
    assert_eq!(reference.size, content.len() as u64);
    assert_eq!(reference.sha256, store::blobs::sha256_hex(&content));
    assert_eq!(blobs.get(&reference).await.expect("get"), content);

    std::fs::write(dir.path().join("blobs/4601/letters/a.pdf"), b"changed").expect("tamper");
    let tampered = blobs.get(&reference).await;
    assert!(matches!(tampered, Err(StoreError::Blob(ref m)) if m.contains("checksum")), "{tampered:?}");

    blobs.delete("4601/letters/a.pdf").await.expect("delete");
    assert!(matches!(blobs.get(&reference).await, Err(StoreError::NotFound)));
    // Deleting again is not an error.
    blobs.delete("4601/letters/a.pdf").await.expect("delete twice");
}

#[tokio::test]
async fn keys_that_escape_the_store_are_refused() {
    let blobs = BlobStore::open(&BlobConfig::Memory).expect("open");
    let result = blobs.put("../outside", Bytes::from_static(b"x")).await;
    assert!(matches!(result, Err(StoreError::Blob(_))), "{result:?}");
}

#[test]
fn s3_configuration_never_prints_the_secret() {
    let config = BlobConfig::S3 {
        bucket: "arkiv".into(),
        endpoint: Some("http://127.0.0.1:9000".into()),
        region: "eu-north-1".into(),
        access_key_id: "id".into(),
        secret_access_key: "very-secret".into(),
        allow_http: true,
    };
    let printed = format!("{config:?}");
    assert!(!printed.contains("very-secret"), "{printed}");
    assert!(BlobStore::open(&config).is_ok());
}
