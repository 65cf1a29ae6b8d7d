//! Applications per second, next to what they are built on, measured in one run.
//!
//!   cargo run --release -p allmenning --example services_bench -- --submissions 2000
//!
//! (`scripts/bench-services` builds in release and runs this.) One process, SQLite in a
//! temporary directory, the application built as `allmenning demo` builds it
//! (`Application::build`: the synthetic municipality), and these phases one after the other:
//!
//! 1. **`/healthz` over HTTP** (the baseline): the server's router on a real socket, N requests
//!    from `--residents` concurrent clients;
//! 2. **rendering alone**: a submission's PDF/A (`render::Renderer::render_document`, the
//!    renderer the cases use) N / 10 times on one thread;
//! 3. **the submission path**: `--residents` concurrent residents, each a different person of
//!    the synthetic municipality, apply for a parking permit (`services::apply`): the draft
//!    started with its prefill read from the registers (in the access log), the page with a
//!    doctor's statement saved, the application sent — the registers read again, the rules
//!    evaluated, the case, the saksmappe, the incoming journalpost with the submission rendered
//!    as PDF/A and the attachment, the decision and the receipt and decision letters queued —
//!    one transaction per step. The job worker does not run, so the letters stay queued.
//!
//! This is the path in process, not over HTTP: the resident pages' form handling and sessions are
//! not in it. Prints a markdown table: rates, ratios to the baseline, and p50/p99 latencies.

// The report is the program's output.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use allmenning::config::{Mode, Settings};
use anyhow::{Context, ensure};
use clap::Parser;
use identity::ActingAs;
use kernel::{Fnr, Kommunenummer, Language};
use services::apply::{Applications, Who};
use services::{Catalog, Sources, Upload};

/// The benchmark's options.
#[derive(Debug, Parser)]
#[command(about = "Applications per second through services and cases, next to /healthz and rendering")]
struct Args {
    /// Applications sent (and /healthz requests; a tenth as many renderings).
    #[arg(long, default_value_t = 1000)]
    submissions: u64,
    /// Residents (HTTP clients) at once.
    #[arg(long, default_value_t = 100)]
    residents: u64,
}

const KOMMUNE: &str = "4601";
const SERVICE: &str = "parkeringstillatelse-forflytningshemmede";

struct Phase {
    name: String,
    count: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> String {
        if self.latencies.is_empty() {
            return "–".to_owned();
        }
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        format!("{:.1}", sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0)
    }
}

fn settings(dir: &std::path::Path, residents: u64) -> Settings {
    let mut settings = Settings { mode: Mode::Demo, data_dir: dir.to_owned(), ..Settings::default() };
    settings.server.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    settings.demo.residents = u32::try_from(residents).unwrap_or(5000);
    settings
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.submissions >= args.residents && args.residents > 0, "--submissions must be at least --residents");
    let temp = tempfile::tempdir()?;
    let started = time::OffsetDateTime::now_utc();
    // Enough adults for one application each, and more.
    let settings = settings(temp.path(), args.submissions * 3 + 500);
    let app = allmenning::app::Application::build(&settings).await?;

    let mut phases = Vec::new();
    phases.push(healthz(&app, args.submissions, args.residents).await?);
    phases.push(rendering(&app, (args.submissions / 10).max(10))?);
    phases.push(submissions(&app, args.submissions, args.residents).await?);

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "services_bench, {} submissions, {} residents at once, {} (load average at the end: {})",
        args.submissions,
        args.residents,
        started.date(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    println!();
    println!("| phase | count | seconds | per second | ratio to /healthz | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let baseline = phases[0].rate();
    for phase in &phases {
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.4} | {} | {} |",
            phase.name,
            phase.count,
            phase.elapsed.as_secs_f64(),
            phase.rate(),
            phase.rate() / baseline,
            phase.percentile(0.5),
            phase.percentile(0.99),
        );
    }
    app.db().close().await;
    Ok(())
}

/// `/healthz` over a real socket from `clients` concurrent clients.
async fn healthz(app: &allmenning::app::Application, count: u64, clients: u64) -> anyhow::Result<Phase> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let router = app.router();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await;
    });
    let client = reqwest::Client::builder().pool_max_idle_per_host(usize::try_from(clients)?).build()?;
    let url = format!("http://{address}/healthz");
    let per_client = count / clients;
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let client = client.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(usize::try_from(per_client).unwrap_or(0));
                for _ in 0..per_client {
                    let begun = Instant::now();
                    let response = client.get(&url).send().await?;
                    anyhow::ensure!(response.status().is_success(), "/healthz answered {}", response.status());
                    response.bytes().await?;
                    latencies.push(begun.elapsed());
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    server.abort();
    Ok(Phase {
        name: format!("`/healthz` over HTTP, {clients} clients (baseline)"),
        count: per_client * clients,
        elapsed,
        latencies,
    })
}

/// A submission's PDF/A, rendered `count` times on this thread.
fn rendering(app: &allmenning::app::Application, count: u64) -> anyhow::Result<Phase> {
    let renderer = app.post().renderer().context("the renderer")?;
    let document = render::Document {
        language: Language::Bokmal,
        municipality: render::Municipality { name: "Bergen kommune".into(), coat_of_arms_svg: None },
        sender_unit: "Parkeringsenheten".into(),
        title: "Søknad om parkeringstillatelse for forflytningshemmede".into(),
        date: kernel::time::today_in_norway(),
        case_ref: Some(render::CaseReference { mappe_id: "2026/17".into(), journalpostnummer: Some(1) }),
        sections: vec![
            render::Section {
                heading: "Søker".into(),
                rows: vec![
                    ("Navn".into(), "Ola Nordmann (Hentet fra Folkeregisteret 03.12.2026)".into()),
                    ("Bor i kommunen".into(), "Ja (Hentet fra Folkeregisteret 03.12.2026)".into()),
                ],
            },
            render::Section {
                heading: "Gangevne".into(),
                rows: vec![
                    ("Hvor langt kan du gå uten hvile?".into(), "Under 50 meter".into()),
                    ("Skal du kjøre selv?".into(), "Ja, jeg er fører".into()),
                    ("Legeerklæring".into(), "lege.pdf (1 side)".into()),
                ],
            },
        ],
    };
    let started = Instant::now();
    let mut latencies = Vec::new();
    for _ in 0..count {
        let begun = Instant::now();
        let pdf = renderer.render_document(&document).context("rendered")?;
        ensure!(pdf.pages >= 1, "a page at least");
        latencies.push(begun.elapsed());
    }
    Ok(Phase {
        name: "rendering a submission's PDF/A alone, one thread".into(),
        count,
        elapsed: started.elapsed(),
        latencies,
    })
}

/// Adults of the municipality, one per application.
async fn adults(app: &allmenning::app::Application, count: u64) -> anyhow::Result<Vec<(Fnr, String)>> {
    let rows: Vec<(String, String, String)> = app
        .db()
        .fetch_all(
            "SELECT fnr, given_name, family_name FROM persons WHERE bosted_kommune = $1 AND death_date IS NULL \
             AND birth_date < '2000-01-01' AND adressebeskyttelse = 'ugradert' ORDER BY fnr",
            &store::params![KOMMUNE],
        )
        .await?;
    let residents: Vec<(Fnr, String)> = rows
        .into_iter()
        .filter_map(|(fnr, given, family)| Fnr::parse(&fnr).ok().map(|fnr| (fnr, format!("{given} {family}"))))
        .take(usize::try_from(count)?)
        .collect();
    ensure!(residents.len() as u64 == count, "only {} adult residents for {count} applications", residents.len());
    Ok(residents)
}

/// `residents` concurrent residents apply for a parking permit, `count` in all.
async fn submissions(app: &allmenning::app::Application, count: u64, residents: u64) -> anyhow::Result<Phase> {
    let k = Kommunenummer::parse(KOMMUNE)?;
    let catalog = Catalog::load(&Sources::embedded()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let blobs = store::BlobStore::open(&store::BlobConfig::Memory)?;
    let applications = Applications::new(
        app.db().clone(),
        blobs,
        app.registers().clone(),
        app.cases().clone(),
        std::sync::Arc::new(catalog),
    );
    let people = adults(app, count).await?;
    let per_task = usize::try_from(count / residents)?;
    let pdf = post::testing::minimal_pdf();
    let started = Instant::now();
    let tasks: Vec<_> = people
        .chunks(per_task)
        .take(usize::try_from(residents)?)
        .map(|chunk| {
            let chunk = chunk.to_vec();
            let applications = applications.clone();
            let pdf = pdf.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(chunk.len());
                for (fnr, name) in chunk {
                    let begun = Instant::now();
                    let who = Who { me: fnr, name, acting: ActingAs::Myself, acting_name: None };
                    let draft = applications.start(k, &who, SERVICE).await?;
                    let pairs = vec![
                        ("gangavstand".to_owned(), "under_50".to_owned()),
                        ("rolle".to_owned(), "forer".to_owned()),
                    ];
                    let upload =
                        Upload { field: "legeerklaering".into(), file_name: "lege.pdf".into(), bytes: pdf.clone() };
                    applications.save_page(k, &who, &draft.id, "gangevne", &pairs, vec![upload]).await?;
                    let sent = applications.submit(k, &who, &draft.id, &draft.id, Language::Bokmal).await?;
                    anyhow::ensure!(sent.created, "a new case");
                    latencies.push(begun.elapsed());
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    Ok(Phase {
        name: format!(
            "applications (start with prefill, a page with an attachment, submit: case, journalpost with PDF/A, \
             decision, letters queued), {residents} residents at once"
        ),
        count: latencies.len() as u64,
        elapsed,
        latencies,
    })
}
