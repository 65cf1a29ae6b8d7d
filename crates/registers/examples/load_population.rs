//! Benchmark: generate a synthetic country and bulk-load it into the local registers, next to a
//! raw bulk insert of the same number of rows into a bare table through the same engine path,
//! in the same run; then point lookups by fødselsnummer.
//!
//! cargo run --release -p registers --example load_population -- [persons] [--everything]
//! (default 5,600,000: the whole country; persons with addresses and family relations, and
//! their KRR entries; `--everything` adds businesses, voluntary organisations and homes). With ALLMENNING_TEST_POSTGRES_URL set, it runs on a
//! fresh PostgreSQL database; otherwise on a SQLite file in the temporary directory (TMPDIR
//! chooses another).
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use kernel::{Fnr, Kommunenummer};
use registers::LocalRegisters;
use registers::synthetic;
use store::testing::TestDatabase;
use store::{BulkOptions, Table, Value};

/// Norway's largest municipalities with their populations (Statistics Norway, 1 January 2024,
/// rounded); the rest of the country is spread evenly over the other municipalities.
const LARGEST: [(&str, u32); 12] = [
    ("0301", 717_700),
    ("4601", 291_200),
    ("5001", 214_600),
    ("1103", 149_000),
    ("3201", 131_000),
    ("4204", 116_000),
    ("3301", 103_300),
    ("3203", 98_000),
    ("3205", 92_500),
    ("3107", 84_500),
    ("1108", 83_300),
    ("5501", 78_700),
];
const NORWAY: u64 = 5_550_000;

/// How many residents each municipality gets when the country has `persons`.
fn country(persons: u32) -> anyhow::Result<Vec<(Kommunenummer, u32)>> {
    let scale = |n: u32| u32::try_from(u64::from(n) * u64::from(persons) / NORWAY).unwrap_or(u32::MAX);
    let mut plan = Vec::new();
    for (number, residents) in LARGEST {
        plan.push((Kommunenummer::parse(number)?, scale(residents)));
    }
    let others: Vec<Kommunenummer> = kernel::kommune::kommuner()
        .iter()
        .map(|k| k.nummer)
        .filter(|k| !LARGEST.iter().any(|(n, _)| *n == k.as_str()))
        .collect();
    let placed: u32 = plan.iter().map(|(_, n)| n).sum();
    let rest = persons.saturating_sub(placed);
    let share = rest / u32::try_from(others.len())?;
    for (index, kommune) in others.iter().enumerate() {
        let extra = u32::from(u32::try_from(index)? < rest % u32::try_from(others.len())?);
        plan.push((*kommune, share + extra));
    }
    Ok(plan)
}

/// Peak resident memory of this process so far, from /proc (Linux).
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

const RAW: Table = Table { name: "bench_raw", columns: &["a", "b", "c", "d"] };

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let persons: u32 = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(5_600_000);
    let everything = std::env::args().any(|a| a == "--everything");
    let (_guard, db) =
        TestDatabase::migrated(store::Schema::new(&[&audit::MIGRATIONS, &registers::MIGRATIONS])?).await?;
    let registers = LocalRegisters::new(db.clone());
    let plan = country(persons)?;

    // 1. The country, generated on one thread and written on another.
    let mut sample: Vec<Fnr> = Vec::new();
    let mut loaded = 0_u64;
    let started = Instant::now();
    let mut last_report = Instant::now();
    let report = registers
        .load_in_bulk(
            {
                let batches = synthetic::several(&plan, 42, 20_000);
                if everything { batches } else { batches.persons_and_contacts_only() }
            },
            |batch| {
                loaded += batch.persons.len() as u64;
                sample.extend(batch.persons.iter().step_by(53).map(|p| p.fnr));
                if last_report.elapsed() > Duration::from_secs(5) {
                    eprintln!("{loaded} persons after {:.0} s", started.elapsed().as_secs_f64());
                    last_report = Instant::now();
                }
            },
        )
        .await?;
    let load = started.elapsed();
    let peak_after_load = peak_rss_mib();

    // 2. Baseline: as many rows of four small columns into a bare table, through the same
    //    engine path (prepared statements on SQLite, COPY on PostgreSQL), from a trivial source.
    db.execute("CREATE TABLE bench_raw (a TEXT NOT NULL, b TEXT NOT NULL, c TEXT, d BIGINT NOT NULL)", &[]).await?;
    let total_rows = report.rows;
    let chunks = (0..total_rows).step_by(100_000).map(move |start| start..(start + 100_000).min(total_rows));
    let raw = db
        .load_in_bulk(
            chunks,
            |range: &std::ops::Range<u64>, rows| {
                for row in range.clone() {
                    let key = format!("{row:011}");
                    rows.insert(
                        &RAW,
                        &[
                            Value::Text(&key),
                            Value::Text("Storgata 1"),
                            Value::Text("x"),
                            Value::Int(i64::try_from(row).unwrap_or(0)),
                        ],
                    )?;
                }
                Ok(())
            },
            &BulkOptions::default(),
            |_| {},
        )
        .await?;

    // 3. Point lookups by fødselsnummer: the whole person, one at a time, then 1,000 at a time.
    sample.truncate(200_000);
    let started = Instant::now();
    let mut found = 0;
    for id in &sample {
        found += usize::from(registers.person(id).await?.is_some());
    }
    let lookups = started.elapsed();
    anyhow::ensure!(found == sample.len(), "every sampled person is found");
    // The same from two tasks at once, one per core.
    let started = Instant::now();
    let halves: Vec<Vec<Fnr>> = sample.chunks(sample.len().div_ceil(2)).map(<[Fnr]>::to_vec).collect();
    let mut tasks = Vec::new();
    for half in halves {
        let registers = registers.clone();
        tasks.push(tokio::spawn(async move {
            let mut found = 0_usize;
            for id in &half {
                found += usize::from(registers.person(id).await?.is_some());
            }
            Ok::<usize, registers::RegisterError>(found)
        }));
    }
    let mut found_in_parallel = 0;
    for task in tasks {
        found_in_parallel += task.await??;
    }
    let parallel_lookups = started.elapsed();
    anyhow::ensure!(found_in_parallel == sample.len(), "every sampled person is found from two tasks");
    let started = Instant::now();
    let mut batched = 0;
    for ids in sample.chunks(1000) {
        batched += registers.persons(ids).await?.len();
    }
    let batch_lookups = started.elapsed();
    anyhow::ensure!(batched == sample.len(), "every sampled person is found in batches");

    // The same through `Registers`, the way the platform reads: each read logged first.
    let audited = registers::Registers::new(db.clone(), &registers::RegistersConfig::default())?;
    let caller = registers::Caller::system("benchmark", "Ytelsesmåling", "Test, syntetiske data")?;
    let few = &sample[..sample.len().min(20_000)];
    let started = Instant::now();
    for id in few {
        audited.person(&caller, id).await?;
    }
    let audited_single = started.elapsed();
    let started = Instant::now();
    for ids in sample.chunks(1000) {
        audited.persons(&caller, ids).await?;
    }
    let audited_batched = started.elapsed();

    let rate = |n: u64, d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "backend: {}, content: {}",
        db.backend().name(),
        if everything { "everything" } else { "persons and KRR" }
    );
    println!("persons: {}, rows: {}", report.persons, report.rows);
    println!(
        "load: {:.1} s ({:.1} s loading, of which {:.1} s inside write transactions; {:.1} s indexes; generating took {:.1} s on its own thread), {:.0} rows/s, {:.0} persons/s",
        load.as_secs_f64(),
        report.bulk.loading.as_secs_f64(),
        report.bulk.writing.as_secs_f64(),
        report.bulk.indexing.as_secs_f64(),
        report.bulk.producing.as_secs_f64(),
        rate(report.rows, load),
        rate(report.persons, load)
    );
    println!(
        "raw bulk insert baseline: {:.1} s, {:.0} rows/s",
        (raw.loading + raw.indexing).as_secs_f64(),
        rate(raw.rows, raw.loading)
    );
    println!("ratio load / baseline: {:.2}", rate(report.rows, load) / rate(raw.rows, raw.loading));
    println!("peak memory after the load: {} MiB", peak_after_load.map_or("?".into(), |m| m.to_string()));
    println!(
        "point lookups: {} in {:.2} s, {:.0} per second",
        sample.len(),
        lookups.as_secs_f64(),
        rate(sample.len() as u64, lookups)
    );
    println!("point lookups from two tasks at once: {:.0} per second", rate(sample.len() as u64, parallel_lookups));
    println!("batched lookups (1,000 per call): {:.0} persons per second", rate(batched as u64, batch_lookups));
    println!(
        "logged lookups through Registers: {:.0} per second one at a time, {:.0} per second 1,000 at a time",
        rate(few.len() as u64, audited_single),
        rate(sample.len() as u64, audited_batched)
    );
    Ok(())
}
