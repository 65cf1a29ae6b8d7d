//! Benchmark: generate a synthetic population and load it into the local registers, next to a
//! raw bulk insert of the same number of rows into a bare table, in the same run.
//!
//! cargo run --release -p registers --example load_population -- [residents] [sqlite-url]
//! With ALLMENNING_TEST_POSTGRES_URL set, it runs on a fresh PostgreSQL database instead.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use kernel::Kommunenummer;
use registers::LocalRegisters;
use registers::synthetic::{self, PopulationSpec};
use store::testing::TestDatabase;
use store::{Param, params};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let residents: u32 = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(100_000);
    let (_guard, db) = TestDatabase::migrated().await?;
    let spec = PopulationSpec { kommunenummer: Kommunenummer::parse("0301")?, residents, seed: 42 };

    // Generate and load batch by batch, as the demo does, so memory stays flat at any size;
    // the two are timed apart.
    let registers = LocalRegisters::new(db.clone());
    let (mut generated, mut loaded) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    let (mut persons, mut rows) = (0_usize, 0_usize);
    let mut sample = Vec::new();
    let mut batches = synthetic::batches(&spec, 20_000);
    loop {
        let started = Instant::now();
        let Some(batch) = batches.next() else { break };
        generated += started.elapsed();
        persons += batch.persons.len();
        rows += batch.persons.len()
            + batch
                .persons
                .iter()
                .map(|p| p.residences.len() + p.relations.len() + p.parental_responsibility_for.len())
                .sum::<usize>()
            + batch.contacts.len()
            + batch.organisations.len()
            + batch.properties.len();
        sample.extend(batch.persons.iter().step_by(7).take(20_000_usize.saturating_sub(sample.len())).map(|p| p.fnr));
        let started = Instant::now();
        registers.load_population(&batch, |_, _| {}).await?;
        loaded += started.elapsed();
    }

    // Baseline: the same number of rows, 4 columns each, multi-row inserts in one transaction.
    db.execute("CREATE TABLE bench_raw (a TEXT NOT NULL, b TEXT NOT NULL, c TEXT, d BIGINT NOT NULL)", &[]).await?;
    let started = Instant::now();
    let mut tx = db.begin().await?;
    let mut values: Vec<Param> = Vec::with_capacity(500 * 4);
    let mut sql = String::new();
    for row in 0..rows {
        values.extend(params![format!("{row:011}"), "Storgata 1", Some("x"), i64::try_from(row)?]);
        if values.len() == 500 * 4 || row + 1 == rows {
            sql.clear();
            sql.push_str("INSERT INTO bench_raw (a, b, c, d) VALUES ");
            for i in 0..values.len() / 4 {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("(${}, ${}, ${}, ${})", i * 4 + 1, i * 4 + 2, i * 4 + 3, i * 4 + 4));
            }
            tx.execute(&sql, &values).await?;
            values.clear();
        }
    }
    tx.commit().await?;
    let raw = started.elapsed();

    // Point lookups by fødselsnummer, the whole person with addresses and relations.
    let started = Instant::now();
    for id in &sample {
        registers.person(id).await?;
    }
    let lookups = started.elapsed();

    let rate = |n: usize, d: std::time::Duration| n as f64 / d.as_secs_f64();
    println!(
        "person lookups: {} in {:.2} s, {:.0} per second",
        sample.len(),
        lookups.as_secs_f64(),
        rate(sample.len(), lookups)
    );
    println!("backend: {}", db.backend().name());
    println!("persons: {persons}, rows: {rows}");
    println!("generate: {:.2} s", generated.as_secs_f64());
    println!("load: {:.2} s, {:.0} rows/s", loaded.as_secs_f64(), rate(rows, loaded));
    println!("raw bulk insert baseline: {:.2} s, {:.0} rows/s", raw.as_secs_f64(), rate(rows, raw));
    println!("ratio load / baseline: {:.2}", rate(rows, loaded) / rate(rows, raw));
    Ok(())
}
