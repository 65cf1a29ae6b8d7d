//! Wiring: from settings to a listening server with its job workers. `main` and the tests
//! build the very same application.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use kernel::Language;
use store::jobs::{Handlers, Worker, WorkerConfig};
use store::{BlobStore, Db};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{Mode, Settings};

/// A built application: bound to its port, migrated, ready to run.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    registers: registers::Registers,
    address: SocketAddr,
    db: Db,
    router: axum::Router,
    worker: Worker,
    workers: usize,
}

/// The job handlers this binary knows.
pub fn job_handlers() -> Handlers {
    let mut handlers = Handlers::new();
    // Until the post context can send e-mail, the accessibility contact learns of new feedback
    // from this log line (which carries ids only, never the message or the sender).
    handlers.register("feedback.notify", |job| async move {
        let feedback_id = job.payload.get("feedback_id").and_then(|v| v.as_str()).map(str::to_owned);
        match feedback_id {
            Some(id) => {
                let kommune = job.kommunenummer.map_or_else(|| "-".to_owned(), |k| k.to_string());
                tracing::info!(feedback.id = %id, kommune = %kommune, "accessibility feedback received");
                Ok(())
            }
            None => Err("payload has no feedback_id".to_owned()),
        }
    });
    handlers
}

impl Application {
    /// Binds the port first (so a taken port fails before anything is created), then connects
    /// to and migrates the database, opens the blob store and builds the router.
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(settings.server.bind).await.with_context(|| {
            format!("cannot listen on {} (is another process using the port?)", settings.server.bind)
        })?;
        let address = listener.local_addr().context("cannot read the bound address")?;
        let db = Db::connect(&settings.database_url(), settings.database.max_connections)
            .await
            .with_context(|| format!("cannot open the database at {}", settings.database_url_redacted()))?;
        db.migrate().await.context("cannot migrate the database")?;
        let blobs = BlobStore::open(&settings.blob_config()).context("cannot open the blob store")?;
        let registers = registers::Registers::new(db.clone(), &settings.registers_config())
            .context("cannot set up the register adapters")?;
        let [folkeregisteret, enhetsregisteret, matrikkelen, krr] = registers.kinds().map(|(_, kind)| kind);
        tracing::info!(
            registers.folkeregisteret = folkeregisteret,
            registers.krr = krr,
            registers.enhetsregisteret = enhetsregisteret,
            registers.matrikkelen = matrikkelen,
            "base registers"
        );
        let worker = Worker::new(
            db.clone(),
            job_handlers(),
            WorkerConfig {
                concurrency: settings.jobs.workers.max(1),
                poll_interval: Duration::from_millis(settings.jobs.poll_interval_ms),
                lease: Duration::from_secs(settings.jobs.lease_seconds),
                shutdown_grace: Duration::from_secs(settings.jobs.shutdown_grace_seconds),
                ..WorkerConfig::default()
            },
        );
        let web_config = web::WebConfig {
            demo: settings.mode == Mode::Demo,
            secure_cookies: settings.server.secure_cookies,
            max_body_bytes: settings.server.max_body_bytes,
            designsystemet_dir: settings.server.designsystemet_dir.clone(),
            municipalities: settings.web_municipalities(),
        };
        let state =
            web::AppState::new(db.clone(), blobs, web_config, worker.stats()).context("cannot build the web layer")?;
        if settings.mode == Mode::Demo {
            seed_demo(&db, settings).await.context("cannot seed the demo data")?;
        }
        Ok(Application {
            listener,
            registers,
            address,
            db,
            router: web::router(state),
            worker,
            workers: settings.jobs.workers,
        })
    }

    /// The address the server listens on (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The database, for tests.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The base registers as configured.
    pub fn registers(&self) -> &registers::Registers {
        &self.registers
    }

    /// The router, for in-process tests.
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// The job worker, for tests.
    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    /// Serves until `shutdown` resolves; then stops accepting, finishes in-flight requests and
    /// running jobs, and closes the database.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop_sender, stop_receiver) = watch::channel(false);
        let stopped = |mut receiver: watch::Receiver<bool>| async move {
            // Waits for `true`; a dropped sender also means stop.
            let _ = receiver.wait_for(|stop| *stop).await;
        };
        let worker_task = if self.workers > 0 {
            let worker = self.worker.clone();
            Some(tokio::spawn(worker.run(stopped(stop_receiver.clone()))))
        } else {
            None
        };
        let server = web::serve(self.listener, self.router, stopped(stop_receiver));
        let signal = tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests and jobs in flight");
            let _ = stop_sender.send(true);
        });
        let served = server.await;
        signal.abort();
        if let Some(task) = worker_task {
            let _ = task.await;
        }
        self.db.close().await;
        served.context("the HTTP server failed")
    }
}

/// Generates the synthetic municipality into empty registers; leaves existing ones alone, so a
/// restarted demo keeps its people.
async fn seed_population(db: &Db, settings: &Settings) -> anyhow::Result<()> {
    let registers = registers::LocalRegisters::new(db.clone());
    if registers.person_count().await? > 0 {
        return Ok(());
    }
    // One generator for every municipality served, so no number is used twice; the personas
    // live in the first. Generated on its own thread while the previous batch is written.
    let plan: Vec<_> = settings.municipalities.iter().map(|m| (m.kommunenummer, settings.demo.residents)).collect();
    let batches = registers::synthetic::several(&plan, settings.demo.seed, 20_000);
    let target = batches.target();
    let long = target >= 50_000;
    let mut persons = 0;
    let started = std::time::Instant::now();
    let report = registers
        .load_in_bulk(batches, |batch| {
            persons += batch.persons.len();
            if long {
                let name = batch.persons.first().and_then(|p| p.bosted_kommune).map_or("", |k| k.navn());
                eprintln!("generating {name}: {persons} of about {target} residents");
            }
        })
        .await?;
    tracing::info!(
        persons = report.persons,
        rows = report.rows,
        seconds = started.elapsed().as_secs(),
        "synthetic population generated"
    );
    Ok(())
}

/// Demo content that makes the front page look lived in. Added once; never duplicated.
async fn seed_demo(db: &Db, settings: &Settings) -> anyhow::Result<()> {
    seed_population(db, settings).await?;
    for municipality in &settings.municipalities {
        let scoped = db.municipal(municipality.kommunenummer);
        if !store::content::notices(scoped, 1).await?.is_empty() {
            continue;
        }
        let name = municipality.kommunenummer.navn();
        store::content::publish_notice(
            scoped,
            Language::Bokmal,
            "Planlagt vedlikehold natt til søndag",
            &format!("{name} kommunes digitale tjenester kan være utilgjengelige mellom kl. 02 og 04 natt til søndag."),
        )
        .await?;
        store::content::publish_notice(
            scoped,
            Language::Bokmal,
            "Ny innlogging kommer",
            "Snart kan du logge inn med ID-porten og se saker, brev og tilbud samlet på Min side.",
        )
        .await?;
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
