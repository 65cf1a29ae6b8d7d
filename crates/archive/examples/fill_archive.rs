//! Fills a fresh SQLite database with a large archive, fast, for measuring the extraction.
//!
//!   cargo run --release -p archive --example fill_archive -- DATA_DIR [JOURNALPOSTS] [--per-klasse N]
//!
//! Writes `DATA_DIR/allmenning.db` (refuses an existing one) for municipality 4601 through
//! [`archive::records::create`], the function every create of the server goes through, in
//! batches of 1,000 saksmapper per transaction (SQLite, `synchronous = normal`):
//!
//! arkiv (with an arkivskaper) → arkivdel → klassifikasjonssystem → klasser of `--per-klasse`
//! saksmapper each (default 100) → 10 journalposts per saksmappe → one korrespondansepartperson
//! per journalpost. No dokumentbeskrivelser and no files. `JOURNALPOSTS` defaults to 1,000,000
//! (100,000 saksmapper); it is rounded up to a multiple of 10.
//!
//! **The query plan.** Without statistics, SQLite plans the sibling check of
//! `records::create` (`SELECT DISTINCT entity FROM archive_objects WHERE kommunenummer = $1
//! AND parent_id = $2`) on the index `archive_objects_entity (kommunenummer, entity, position)`,
//! because it yields the entities in order, and so reads every object of the municipality for
//! each new mappe, registrering or klasse: the fill becomes quadratic (4,000 journalposts took
//! 8 s of CPU, 10,000 took 110 s). This tool runs `ANALYZE` after its first small batch, after
//! which the plan uses `archive_objects_children (kommunenummer, parent_id, position)`. The
//! server does not run `ANALYZE`, so it has the slow plan (see docs/PERFORMANCE.md).
//!
//! Only the store's and the archive's tables are created; `allmenning archive export` adds the
//! other contexts' tables when it migrates. Prints the counts and the time taken.

// The report is the program's output.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Instant;

use archive::model::{self, Entity};
use archive::records::{self, Actor};
use kernel::Kommunenummer;
use serde_json::{Map, Value, json};
use store::{Db, DbOptions, MunicipalTx, Schema, SqliteOptions, Synchronous};

type Error = Box<dyn std::error::Error + Send + Sync>;

const JOURNALPOSTS_PER_CASE: u64 = 10;
const CASES_PER_TRANSACTION: u64 = 1000;

fn entity(name: &str) -> Result<&'static Entity, Error> {
    model::entity(name).ok_or_else(|| format!("no entity {name}").into())
}

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

async fn make(
    tx: &mut MunicipalTx<'_>,
    parent: Option<&str>,
    name: &str,
    body: Value,
    actor: &Actor,
) -> Result<String, Error> {
    let object = records::create(tx, parent, entity(name)?, &fields(body), actor).await?;
    Ok(object.system_id)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let mut dir: Option<PathBuf> = None;
    let mut journalposts: u64 = 1_000_000;
    let mut per_klasse: u64 = 100;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--per-klasse" => {
                per_klasse = args.next().ok_or("--per-klasse needs a number")?.parse::<u64>()?.max(1);
            }
            other if dir.is_none() => dir = Some(PathBuf::from(other)),
            other => journalposts = other.replace(['_', ','], "").parse()?,
        }
    }
    let dir = dir.ok_or("usage: fill_archive DATA_DIR [JOURNALPOSTS] [--per-klasse N]")?;
    let cases = journalposts.div_ceil(JOURNALPOSTS_PER_CASE);
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("allmenning.db");
    if file.exists() {
        return Err(format!("{} exists: fill_archive wants a fresh data directory", file.display()).into());
    }
    let options = DbOptions {
        sqlite: SqliteOptions { synchronous: Synchronous::Normal, group_commit: false },
        ..DbOptions::default()
    };
    let db = Db::connect_with(&format!("sqlite://{}", file.display()), Schema::new(&[&archive::MIGRATIONS])?, &options)
        .await?;
    db.migrate().await?;
    let kommune = Kommunenummer::parse("4601")?;
    let actor = Actor { id: "fill-archive".to_owned(), name: "Arne Arkivar".to_owned() };
    let started = Instant::now();

    let mut tx = db.begin().await?;
    let mut m = tx.municipal(kommune);
    let arkiv = make(&mut m, None, "arkiv", json!({"tittel": "Bergen kommunes arkiv"}), &actor).await?;
    make(
        &mut m,
        Some(&arkiv),
        "arkivskaper",
        json!({"arkivskaperID": "4601", "arkivskaperNavn": "Bergen kommune"}),
        &actor,
    )
    .await?;
    let arkivdel = make(&mut m, Some(&arkiv), "arkivdel", json!({"tittel": "Sakarkiv"}), &actor).await?;
    let system = make(&mut m, Some(&arkivdel), "klassifikasjonssystem", json!({"tittel": "Emnekoder"}), &actor).await?;
    tx.commit().await?;

    let mut done: u64 = 0;
    let mut klasse = String::new();
    let mut objects: u64 = 4;
    while done < cases {
        let mut tx = db.begin().await?;
        let mut m = tx.municipal(kommune);
        // A small first batch, then ANALYZE (below): see the module's note on the query plan.
        let batch = if done == 0 { 10 } else { CASES_PER_TRANSACTION }.min(cases - done);
        for _ in 0..batch {
            if done.is_multiple_of(per_klasse) {
                let number = done / per_klasse + 1;
                klasse = make(
                    &mut m,
                    Some(&system),
                    "klasse",
                    json!({"klasseID": format!("K{number}"), "tittel": format!("Klasse {number}")}),
                    &actor,
                )
                .await?;
                objects += 1;
            }
            let case = make(
                &mut m,
                Some(&klasse),
                "saksmappe",
                json!({"tittel": format!("Byggesak {}", done + 1), "administrativEnhet": "Plan og bygg",
                       "saksansvarlig": "Kari Nilsen"}),
                &actor,
            )
            .await?;
            objects += 1;
            for n in 0..JOURNALPOSTS_PER_CASE {
                let kind = if n % 2 == 0 { ("I", "Inngående dokument") } else { ("U", "Utgående dokument") };
                let journalpost = make(
                    &mut m,
                    Some(&case),
                    "journalpost",
                    json!({"tittel": format!("Brev {} i byggesak {}", n + 1, done + 1),
                           "journalposttype": {"kode": kind.0, "kodenavn": kind.1},
                           "dokumentetsDato": "2026-11-30T00:00:00+01:00", "antallVedlegg": 0}),
                    &actor,
                )
                .await?;
                make(
                    &mut m,
                    Some(&journalpost),
                    "korrespondansepartperson",
                    json!({"navn": "Ola Nordmann",
                           "korrespondanseparttype": {"kode": "EA", "kodenavn": "Avsender"}}),
                    &actor,
                )
                .await?;
                objects += 2;
            }
            done += 1;
        }
        tx.commit().await?;
        if done == batch {
            db.execute_script("ANALYZE").await?;
        }
        let elapsed = started.elapsed().as_secs_f64();
        eprint!(
            "\rfill_archive: {done} saksmapper, {} journalposts, {objects} objects, {elapsed:.0} s ({:.0} journalposts/s)",
            done * JOURNALPOSTS_PER_CASE,
            (done * JOURNALPOSTS_PER_CASE) as f64 / elapsed.max(0.001)
        );
    }
    eprintln!();
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "filled {}: {cases} saksmapper, {} journalposts, {objects} objects in {elapsed:.1} s ({:.0} journalposts/s, {:.0} objects/s)",
        file.display(),
        cases * JOURNALPOSTS_PER_CASE,
        (cases * JOURNALPOSTS_PER_CASE) as f64 / elapsed,
        objects as f64 / elapsed
    );
    Ok(())
}
