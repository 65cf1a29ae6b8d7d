//! The typed archive API's write path on SQLite: one saksmappe + one incoming journalpost (one
//! korrespondansepart) + one one-page PDF (dokumentbeskrivelse + dokumentobjekt + its file in
//! the blob store on local disk) per transaction, against a baseline measured in the same run:
//! one `INSERT` of a row of the same size as the journalpost's JSON into a scratch table per
//! transaction, through the same `store::Db`.
//!
//! ```sh
//! cargo bench -p archive --bench journaling                 # N = 2000, synchronous = normal
//! cargo bench -p archive --bench journaling -- 5000 full    # another N, synchronous = full
//! ```
//!
//! Prints a markdown table (per second, and the ratio to the baseline), the time per call
//! (create_case / journal / commit), and the rate of the first and last fifth of the run (the
//! cost that grows with the number of cases already in the arkivdel).
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use archive::{
    Actor, Archive, Correspondent, DocumentRole, JournalpostType, NewCase, NewDocument, NewJournalpost, Noark,
};
use bytes::Bytes;
use kernel::{Kommunenummer, Timestamp};
use store::{BlobConfig, BlobStore, Db, DbOptions, Schema, SqliteOptions, Synchronous, params};

/// A one-page PDF (a letter of a few lines, uncompressed: 1.1 KB).
fn one_page_pdf() -> Bytes {
    let text = "BT /F1 11 Tf 72 760 Td (Soknad om barnehageplass) Tj 0 -16 Td (Jeg soker herved om plass for Ola \
                fra 1. august.) Tj 0 -16 Td (Med vennlig hilsen Kari Nordmann) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
    ];
    let mut pdf = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.push_str(&format!("{} 0 obj\n{object}\nendobj\n", i + 1));
    }
    let xref = pdf.len();
    pdf.push_str(&format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1));
    for offset in offsets {
        pdf.push_str(&format!("{offset:010} 00000 n \n"));
    }
    pdf.push_str(&format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1));
    Bytes::from(pdf)
}

fn actor() -> Actor {
    Actor { id: "post-1".to_owned(), name: "Postmottaket".to_owned() }
}

fn case(n: u64) -> NewCase {
    NewCase {
        tittel: format!("Søknad om barnehageplass {n}"),
        offentlig_tittel: Some("Søknad om barnehageplass".to_owned()),
        administrativ_enhet: "Oppvekst".to_owned(),
        saksansvarlig: "Sara Saksbehandler".to_owned(),
        arkivdel: None,
        klasse: None,
        klasse_id: None,
        parter: Vec::new(),
        screening: None,
    }
}

fn entry(case: String, pdf: &Bytes) -> NewJournalpost {
    NewJournalpost {
        case,
        kind: JournalpostType::Inngaaende,
        tittel: "Søknad om barnehageplass".to_owned(),
        offentlig_tittel: None,
        dokumentets_dato: None,
        korrespondanseparter: vec![Correspondent::person("Kari Nordmann")],
        documents: vec![NewDocument {
            tittel: "Søknad".to_owned(),
            role: DocumentRole::Hoveddokument,
            mime_type: "application/pdf".to_owned(),
            format: Some("fmt/95".to_owned()),
            filnavn: Some("soknad.pdf".to_owned()),
            bytes: pdf.clone(),
        }],
        screening: None,
    }
}

#[derive(Default)]
struct Split {
    case: Duration,
    journal: Duration,
    commit: Duration,
}

/// `count` transactions of case + journalpost + document; the rate of each fifth.
async fn typed(noark: &Noark, k: Kommunenummer, first: u64, count: u64, pdf: &Bytes) -> (Duration, Split, Vec<f64>) {
    let mut split = Split::default();
    let mut fifths = Vec::new();
    let fifth = (count / 5).max(1);
    let started = Instant::now();
    let mut mark = Instant::now();
    for n in first..first + count {
        let t0 = Instant::now();
        let mut tx = noark.db().begin().await.unwrap();
        let made = noark.create_case(&mut tx, k, &actor(), case(n)).await.unwrap();
        let t1 = Instant::now();
        Archive::journal(noark, &mut tx, k, &actor(), entry(made.system_id, pdf)).await.unwrap();
        let t2 = Instant::now();
        tx.commit().await.unwrap();
        let t3 = Instant::now();
        split.case += t1 - t0;
        split.journal += t2 - t1;
        split.commit += t3 - t2;
        if (n - first + 1).is_multiple_of(fifth) {
            fifths.push(fifth as f64 / mark.elapsed().as_secs_f64());
            mark = Instant::now();
        }
    }
    (started.elapsed(), split, fifths)
}

/// `count` one-row transactions into the scratch table, rows of `size` bytes.
async fn baseline(db: &Db, first: u64, count: u64, size: usize) -> Duration {
    let padding = "x".repeat(size);
    let started = Instant::now();
    for n in first..first + count {
        let mut tx = db.begin().await.unwrap();
        tx.execute(
            "INSERT INTO bench_archive_rows (id, body, n, created_at) VALUES ($1, $2, $3, $4)",
            &params![format!("r{n}"), format!("{{\"n\":{n},\"pad\":\"{padding}\"}}"), n as i64, Timestamp::now()],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    started.elapsed()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let count: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let synchronous = if args.iter().any(|a| a == "full") { Synchronous::Full } else { Synchronous::Normal };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(run(count, synchronous));
}

async fn run(count: u64, synchronous: Synchronous) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let options = DbOptions { sqlite: SqliteOptions { synchronous, group_commit: true }, ..DbOptions::default() };
    let db = Db::connect_with(&url, Schema::new(&[&archive::MIGRATIONS]).unwrap(), &options).await.unwrap();
    db.migrate().await.unwrap();
    db.execute(
        "CREATE TABLE bench_archive_rows (id TEXT PRIMARY KEY, body TEXT NOT NULL, n BIGINT NOT NULL, created_at BIGINT NOT NULL)",
        &[],
    )
    .await
    .unwrap();
    let blobs = BlobStore::open(&BlobConfig::Local { path: dir.path().join("blobs") }).unwrap();
    let noark = Noark::new(db.clone(), blobs);
    let bergen = Kommunenummer::parse("4601").unwrap();
    let pdf = one_page_pdf();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    // Warm-up (and the default structure), then the journalpost's size for the baseline's row.
    typed(&noark, bergen, 0, 50, &pdf).await;
    let sample = noark.list(bergen, &["journalpost"], 0, 1).await.unwrap();
    let size = serde_json::to_string(&sample[0].body).unwrap().len();
    baseline(&db, 0, 50, size).await;

    let base = baseline(&db, 1_000_000, count, size).await;
    let (elapsed, split, fifths) = typed(&noark, bergen, 1_000_000, count, &pdf).await;
    let base_again = baseline(&db, 2_000_000, count, size).await;

    let per_second = |d: Duration| count as f64 / d.as_secs_f64();
    let base_rate = (per_second(base) + per_second(base_again)) / 2.0;
    let rate = per_second(elapsed);
    let mode = if synchronous == Synchronous::Full { "full" } else { "normal" };
    println!("SQLite, synchronous = {mode}, N = {count}, PDF {} bytes, journalpost JSON {size} bytes", pdf.len());
    println!("load average before: {}", load.trim());
    println!();
    println!("| phase | per second | ÷ baseline |");
    println!("|---|---:|---:|");
    println!(
        "| baseline: `Db`, 1 INSERT ({size}-byte row)/tx (before / after) | {:.0} / {:.0} | 1.00 |",
        per_second(base),
        per_second(base_again)
    );
    println!("| typed API: case + journalpost + document, 1 set/tx | {rate:.0} sets | {:.3} |", rate / base_rate);
    println!("| — counted as records (saksmappe, journalpost, document) | {:.0} | |", rate * 3.0);
    println!(
        "| — counted as archive objects (+ korrespondansepart, dokumentbeskrivelse + dokumentobjekt) | {:.0} | |",
        rate * 5.0
    );
    println!();
    let per = |d: Duration| d.as_secs_f64() * 1e6 / count as f64;
    println!(
        "per set: create_case {:.0} µs, journal {:.0} µs, commit {:.0} µs",
        per(split.case),
        per(split.journal),
        per(split.commit)
    );
    println!(
        "sets per second by fifth of the run: {}",
        fifths.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", ")
    );
    println!("load average after: {}", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());
    db.close().await;
}
