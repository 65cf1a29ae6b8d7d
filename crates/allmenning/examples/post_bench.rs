//! Digital post's throughput, next to what it is built on, measured in one run.
//!
//!   cargo run --release -p allmenning --example post_bench -- --letters 2000
//!
//! (`scripts/bench-post` builds in release and runs this.) One process, SQLite in a temporary
//! directory, and these phases one after the other:
//!
//! 1. **the job queue, bare**: N no-op jobs enqueued from 16 tasks (one transaction each) and run
//!    by a `Worker` with 16 slots until all are done, on a fresh database of its own with every
//!    context's schema and the server's SQLite settings;
//! 2. **the PDF check alone**: `post::pdf::check` (parse, encryption, pages) on the one-page PDF
//!    the letters carry, N times. Rendering a letter from a template is not measured yet: there
//!    is no renderer in the tree;
//! 3. **the whole path**: the application built as `allmenning demo` builds it
//!    (`Application::build`: the synthetic municipality, the channels simulated in-process —
//!    integrasjonspunkt, SMS gateway, pickup-directory e-mail, print vendor), its job worker
//!    running with 16 slots; N letters are sent with `Post::send` from 16 tasks (checked,
//!    journaled with the PDF, routed; one transaction each) to the seven personas in turn, and
//!    the clock stops when every letter is as far as it goes without a reader or a print
//!    batch: LEVERT_SDP in the digital mailbox, VARSLET in the inbox, SENDT_PRINT (or PRINTET)
//!    on paper, MANUELT_HANDTERT for the protected address. Acceptance alone is timed too, and
//!    before it the register reads an acceptance makes (`Post::resolve`, N times).
//!
//! Prints a markdown table: letters (or jobs, or checks) per second, and each rate's ratio to the
//! job queue's.

// The report is the program's output.
#![allow(clippy::print_stdout)]

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use allmenning::config::{Mode, Settings};
use anyhow::{Context, ensure};
use bytes::Bytes;
use clap::Parser;
use kernel::Kommunenummer;
use post::{Document, NewLetter, Post, Recipient, Sender};
use registers::synthetic::Persona;
use store::jobs::{self, NewJob};
use store::params;

/// The benchmark's options.
#[derive(Debug, Parser)]
#[command(about = "Letters per second through the post engine, next to the job queue and the PDF check")]
struct Args {
    /// Letters (and no-op jobs, and PDF checks).
    #[arg(long, default_value_t = 2000)]
    letters: u64,
    /// Tasks that send at once, and the job worker's slots.
    #[arg(long, default_value_t = 16)]
    tasks: u64,
}

const KOMMUNE: &str = "4601";
/// The statuses a letter reaches without a reader or a print vendor.
const AS_FAR_AS_IT_GOES: &str =
    "('LEVERT_SDP', 'LEST', 'VARSLET', 'SENDT_PRINT', 'PRINTET', 'MANUELT_HANDTERT', 'IKKE_LEVERT', 'AVVIST')";

struct Phase {
    name: String,
    count: u64,
    elapsed: Duration,
    note: String,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }
}

fn settings(dir: &std::path::Path, workers: u64) -> Settings {
    let mut settings = Settings { mode: Mode::Demo, data_dir: dir.to_owned(), ..Settings::default() };
    settings.server.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    settings.demo.residents = 200;
    settings.jobs.workers = usize::try_from(workers).unwrap_or(16);
    settings.jobs.poll_interval_ms = 20;
    let post = &mut settings.post;
    post.print_interval_seconds = 1;
    post.receipts_interval_seconds = 1;
    post.poll_interval_seconds = 1;
    post.organisasjonsnummer.insert(KOMMUNE.into(), "964338531".into());
    settings
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.letters >= args.tasks && args.tasks > 0, "--letters must be at least --tasks");
    let temp = tempfile::tempdir()?;
    let started = time::OffsetDateTime::now_utc();
    let mut phases = Vec::new();
    phases.push(job_queue(&temp.path().join("jobs"), args.letters, args.tasks).await?);
    phases.push(pdf_check(args.letters));
    phases.extend(whole_path(&temp.path().join("post"), args.letters, args.tasks).await?);

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "post_bench, {} letters, {} tasks, {} (load average before the last phase ended: {})",
        args.letters,
        args.tasks,
        started.date(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    println!();
    println!("| phase | count | seconds | per second | ratio to the job queue | note |");
    println!("|---|---:|---:|---:|---:|---|");
    let baseline = phases[0].rate();
    for phase in &phases {
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.2} | {} |",
            phase.name,
            phase.count,
            phase.elapsed.as_secs_f64(),
            phase.rate(),
            phase.rate() / baseline,
            phase.note
        );
    }
    Ok(())
}

/// No-op jobs through the queue: enqueued from `tasks` tasks, run by a worker with as many slots.
async fn job_queue(dir: &std::path::Path, count: u64, tasks: u64) -> anyhow::Result<Phase> {
    let settings = settings(dir, tasks);
    std::fs::create_dir_all(dir)?;
    let db = allmenning::app::open_database(&settings).await?;
    db.migrate().await?;
    let per_task = count / tasks;
    let mut handlers = jobs::Handlers::new();
    handlers.register("bench.noop", |_job| async { Ok(()) });
    let worker = jobs::Worker::new(
        db.clone(),
        handlers,
        jobs::WorkerConfig {
            concurrency: usize::try_from(tasks)?,
            poll_interval: Duration::from_millis(5),
            ..jobs::WorkerConfig::default()
        },
    );
    let stats = worker.stats();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let running = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    let senders: Vec<_> = (0..tasks)
        .map(|task| {
            let db = db.clone();
            tokio::spawn(async move {
                for n in 0..per_task {
                    db.enqueue(&NewJob::new("bench.noop", serde_json::json!({ "task": task, "n": n }))).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for sender in senders {
        sender.await??;
    }
    while stats.completed.load(Ordering::Relaxed) < per_task * tasks {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(());
    running.await?;
    db.close().await;
    Ok(Phase {
        name: format!("job queue: no-op jobs, enqueued from {tasks} tasks, a worker with {tasks} slots"),
        count: per_task * tasks,
        elapsed,
        note: "baseline".into(),
    })
}

fn pdf_check(count: u64) -> Phase {
    let pdf = post::testing::minimal_pdf();
    let started = Instant::now();
    let mut pages = 0u64;
    for _ in 0..count {
        pages += u64::from(post::pdf::check(&pdf, 20 * 1024 * 1024).unwrap_or(0));
    }
    Phase {
        name: "PDF check alone (`post::pdf::check`, one page)".into(),
        count,
        elapsed: started.elapsed(),
        note: format!("{pages} pages; rendering is not measured yet (no renderer in the tree)"),
    }
}

fn letter(persona: Persona, sender: &str, n: u64) -> NewLetter {
    NewLetter {
        sender: Sender { id: sender.to_owned(), name: "Ytelsesmålingen".into() },
        external_ref: Some(format!("maaling-{n:06}")),
        recipient: Recipient::Person(persona.fnr()),
        kind: "informasjon".into(),
        title: "Informasjon om renovasjon".into(),
        sender_unit: "Teknisk drift".into(),
        documents: vec![Document { tittel: "Brev".into(), pdf: Bytes::from(post::testing::minimal_pdf()) }],
        digital_only: false,
        security_level: 3,
        reply_allowed: false,
        case: None,
        answers: None,
        language: None,
    }
}

/// Sends `count` letters from `tasks` tasks, the personas in turn.
async fn send_all(post: &Post, k: Kommunenummer, sender: &'static str, count: u64, tasks: u64) -> anyhow::Result<()> {
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let post = post.clone();
            tokio::spawn(async move {
                let mut n = task;
                while n < count {
                    let index = usize::try_from(n)? % Persona::ALL.len();
                    post.send(k, letter(Persona::ALL[index], sender, n))
                        .await
                        .with_context(|| format!("letter {n}"))?;
                    n += tasks;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for handle in handles {
        handle.await??;
    }
    Ok(())
}

async fn settled(post: &Post, k: Kommunenummer, sender: &str) -> anyhow::Result<i64> {
    let (n,): (i64,) = post
        .db()
        .municipal(k)
        .fetch_optional(
            &format!(
                "SELECT COUNT(*) AS n FROM post_letters WHERE kommunenummer = $1 AND sender = $2 \
                 AND status IN {AS_FAR_AS_IT_GOES}"
            ),
            &params![sender],
        )
        .await?
        .unwrap_or((0,));
    Ok(n)
}

async fn whole_path(dir: &std::path::Path, count: u64, tasks: u64) -> anyhow::Result<Vec<Phase>> {
    let settings = settings(dir, tasks);
    let app = allmenning::app::Application::build(&settings).await?;
    let post = app.post().clone();
    let k = Kommunenummer::parse(KOMMUNE)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.worker().clone().run(async move {
        let _ = stopped.await;
    }));

    // A warm-up: a letter to each persona, the whole way.
    let warm = u64::try_from(Persona::ALL.len())?;
    send_all(&post, k, "system:oppvarming", warm, 1).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while settled(&post, k, "system:oppvarming").await? < i64::try_from(warm)? {
        ensure!(Instant::now() < deadline, "the warm-up letters did not arrive within a minute");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The register reads of an acceptance alone (person, KRR contact; each access logged).
    let started = Instant::now();
    let lookups: Vec<_> = (0..tasks)
        .map(|task| {
            let post = post.clone();
            tokio::spawn(async move {
                let mut n = task;
                while n < count {
                    let persona = Persona::ALL[usize::try_from(n)? % Persona::ALL.len()];
                    post.resolve(&Recipient::Person(persona.fnr())).await?;
                    n += tasks;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for lookup in lookups {
        lookup.await??;
    }
    let resolved = started.elapsed();

    let stats = app.worker().stats();
    let writes_before = post.db().write_stats();
    let jobs_before = stats.completed.load(Ordering::Relaxed);
    let started = Instant::now();
    send_all(&post, k, "system:maaling", count, tasks).await?;
    let accepted = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let done = settled(&post, k, "system:maaling").await?;
        if done >= i64::try_from(count)? {
            break;
        }
        ensure!(Instant::now() < deadline, "only {done} of {count} letters arrived within 10 minutes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered = started.elapsed();
    let jobs_run = stats.completed.load(Ordering::Relaxed) - jobs_before;
    let _ = stop.send(());
    running.await?;
    let routes: Vec<(String, i64)> = post
        .db()
        .municipal(k)
        .fetch_all(
            "SELECT status, COUNT(*) AS n FROM post_letters WHERE kommunenummer = $1 AND sender = 'system:maaling' \
             GROUP BY status ORDER BY status",
            &[],
        )
        .await?;
    let routes = routes.iter().map(|(status, n)| format!("{status} {n}")).collect::<Vec<_>>().join(", ");
    let commits = match (writes_before, post.db().write_stats()) {
        (Some(before), Some(after)) => format!(
            "{} transactions in {} commits",
            after.transactions - before.transactions,
            after.commits - before.commits
        ),
        _ => String::new(),
    };
    app.db().close().await;
    Ok(vec![
        Phase {
            name: format!("recipients looked up (`Post::resolve`: person + KRR, audited), {tasks} tasks"),
            count,
            elapsed: resolved,
            note: "the register reads of an acceptance".into(),
        },
        Phase {
            name: format!("letters accepted (checked, journaled, routed), {tasks} tasks, the worker running"),
            count,
            elapsed: accepted,
            note: String::new(),
        },
        Phase {
            name: format!("letters accepted and delivered through the simulators, worker with {tasks} slots"),
            count,
            elapsed: delivered,
            note: format!("{routes}; {jobs_run} jobs; {commits}"),
        },
    ])
}
