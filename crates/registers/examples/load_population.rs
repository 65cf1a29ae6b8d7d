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

    let started = Instant::now();
    let population = synthetic::generate(&spec, |_, _| {});
    let generated = started.elapsed();
    let rows = population.persons.len()
        + population
            .persons
            .iter()
            .map(|p| p.residences.len() + p.relations.len() + p.parental_responsibility_for.len())
            .sum::<usize>()
        + population.contacts.len()
        + population.organisations.len()
        + population.properties.len();

    let registers = LocalRegisters::new(db.clone());
    let started = Instant::now();
    registers.load_population(&population, |_, _| {}).await?;
    let loaded = started.elapsed();

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
    let sample: Vec<_> = population.persons.iter().step_by(7).take(20_000).map(|p| p.fnr).collect();
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
    println!("persons: {}, rows: {rows}", population.persons.len());
    println!("generate: {:.2} s", generated.as_secs_f64());
    println!("load: {:.2} s, {:.0} rows/s", loaded.as_secs_f64(), rate(rows, loaded));
    println!("raw bulk insert baseline: {:.2} s, {:.0} rows/s", raw.as_secs_f64(), rate(rows, raw));
    println!("ratio load / baseline: {:.2}", rate(rows, loaded) / rate(rows, raw));
    Ok(())
}
