//! The command line: `serve`, `demo`, `migrate`, `config`, and the operator's commands.
// This module is where the binary talks to its user on standard output.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app::{Application, shutdown_signal};
use crate::config::{Overrides, Settings};

/// allmenning: a digital public sector for a Norwegian municipality, in one binary.
#[derive(Debug, Parser)]
#[command(name = "allmenning", version, about, long_about = None)]
pub struct Cli {
    /// A TOML configuration file. Environment variables ALLMENNING__SECTION__KEY override it.
    #[arg(long, global = true, env = "ALLMENNING_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrates the database first).
    Serve(ServerArgs),
    /// Start a synthetic municipality with its own data directory (./data/demo).
    Demo(DemoArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Work on the local registers of the demo municipality.
    #[command(subcommand)]
    Registers(RegistersCommand),
    /// The event consumers: list them with their position and state, or start a parked one
    /// again.
    #[command(subcommand)]
    Consumers(ConsumersCommand),
    /// The Noark 5 archive.
    #[command(subcommand)]
    Archive(ArchiveCommand),
    /// Copy the SQLite database and the blob directory into DIR while the server keeps serving
    /// (SQLite and local blobs only; PostgreSQL and S3 have their own tools, see
    /// docs/OPERATIONS.md).
    Backup(BackupArgs),
    /// Put a backup made by `allmenning backup` in place. Stop the server first: the restore
    /// replaces the database file under it. Every file is checked against the backup's manifest
    /// before anything is put in place.
    Restore(RestoreArgs),
    /// Ask a running server whether it is ready (GET /readyz): exit 0 when it is, 1 when not.
    /// For container health checks; needs no curl.
    Health {
        /// The address to ask (plain http). Default: /readyz on server.bind, with 127.0.0.1 for
        /// an unspecified address.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Tell what kind of identifier a number is and whether it is valid (exit 0 valid, 1 not):
    /// fødselsnummer, d-nummer, h-nummer, organisasjonsnummer, kommunenummer, postnummer,
    /// matrikkelnummer.
    Id {
        /// The number, e.g. 20914695016 or 4601-12/345/0/0.
        number: String,
    },
}

/// Options shared by `serve` and `demo`.
#[derive(Debug, Args, Default)]
pub struct ServerArgs {
    /// Listen on this port (overrides server.bind's port).
    #[arg(long)]
    pub port: Option<u16>,
    /// Keep data here (overrides data_dir).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Options of `backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// A new or empty directory to write the backup into.
    pub dir: PathBuf,
    /// The data directory to back up (overrides data_dir).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Options of `restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup directory (with its manifest.json).
    pub dir: PathBuf,
    /// Replace an existing database and blob directory: they are moved aside (renamed with a
    /// `.before-restore-<time>` suffix), never deleted.
    #[arg(long)]
    pub force: bool,
    /// The data directory to restore into (overrides data_dir).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `allmenning registers ...`.
#[derive(Debug, Subcommand)]
pub enum RegistersCommand {
    /// Move the demo registers forward in time: births, deaths, moves and new businesses at
    /// realistic rates, each written to the change feed. Uses the demo's data directory.
    Simulate {
        /// How many days to move forward.
        #[arg(long)]
        days: u32,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The demo's data directory (default ./data/demo).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

/// `allmenning archive ...`.
#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Write a Noark 5 v5.0 arkivuttrekk (arkivuttrekk.xml with its ADDML counts and checksums,
    /// arkivstruktur.xml, endringslogg.xml, loependeJournal.xml, offentligJournal.xml, the
    /// schemas and the documents) of one municipality's archive for a period.
    Export {
        /// First day of the period (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        from: String,
        /// Last day of the period (YYYY-MM-DD), included.
        #[arg(long, value_name = "DATE")]
        to: String,
        /// The directory to write (created; must be empty).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The municipality (default: the first configured).
        #[arg(long)]
        kommune: Option<String>,
        /// The arkiv to extract, by systemID, when the municipality has more than one.
        #[arg(long, value_name = "SYSTEMID")]
        arkiv: Option<String>,
        /// Export the demo's archive (its data directory, ./data/demo unless --data-dir).
        #[arg(long)]
        demo: bool,
        /// The data directory.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

/// `allmenning consumers ...`.
#[derive(Debug, Subcommand)]
pub enum ConsumersCommand {
    /// Every consumer: its position in the event feed, whether it is parked, and its last error.
    List,
    /// Start a parked consumer again at the event it failed on (after the cause is mended).
    Resume {
        /// The consumer's name.
        name: String,
    },
    /// Move a parked consumer past the event it failed on, without handling it, and start it
    /// again. The event is not handled by this consumer at all: use it when handling it is
    /// known to be impossible or unnecessary.
    Skip {
        /// The consumer's name.
        name: String,
    },
}

/// Options of `demo`.
#[derive(Debug, Args, Default)]
pub struct DemoArgs {
    /// Port and data directory.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The municipality to simulate, by kommunenummer (e.g. 4601 for Bergen, 1103 for
    /// Stavanger). Numbers are in SSB's list: https://www.ssb.no/klass/klassifikasjoner/131
    #[arg(long, value_name = "KOMMUNENUMMER", value_parser = parse_kommune)]
    pub kommune: Option<kernel::Kommunenummer>,
    /// About how many residents to generate (default 2000, quick to start).
    #[arg(long)]
    pub residents: Option<u32>,
    /// Random seed; the same seed gives the same population.
    #[arg(long)]
    pub seed: Option<u64>,
}

fn parse_kommune(text: &str) -> Result<kernel::Kommunenummer, String> {
    kernel::Kommunenummer::parse(text).map_err(|error| error.to_string())
}

/// Exit code for a configuration that cannot be used.
pub const EXIT_CONFIG: u8 = 2;
/// Exit code for a failure at start or while running.
pub const EXIT_FAILURE: u8 = 1;

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Id { number } = &cli.command {
        return identify(number);
    }
    let (overrides, demo) = match &cli.command {
        Command::Serve(args) => {
            (Overrides { port: args.port, data_dir: args.data_dir.clone(), ..Overrides::default() }, false)
        }
        Command::Demo(args) => (
            Overrides {
                port: args.server.port,
                data_dir: args.server.data_dir.clone(),
                demo: true,
                kommune: args.kommune,
                residents: args.residents,
                seed: args.seed,
            },
            true,
        ),
        // The simulator is a demo tool: it works on the demo's database, like `demo`.
        Command::Registers(RegistersCommand::Simulate { data_dir, .. }) => {
            (Overrides { data_dir: data_dir.clone(), demo: true, ..Overrides::default() }, false)
        }
        Command::Archive(ArchiveCommand::Export { demo, data_dir, .. }) => {
            (Overrides { data_dir: data_dir.clone(), demo: *demo, ..Overrides::default() }, false)
        }
        Command::Backup(BackupArgs { data_dir, .. }) | Command::Restore(RestoreArgs { data_dir, .. }) => {
            (Overrides { data_dir: data_dir.clone(), ..Overrides::default() }, false)
        }
        Command::Migrate | Command::Config | Command::Id { .. } | Command::Consumers(_) | Command::Health { .. } => {
            (Overrides::default(), false)
        }
    };
    let settings = match Settings::load(cli.config.as_deref(), std::env::vars(), &overrides) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("allmenning: configuration error: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match &cli.command {
        Command::Config => {
            print!("{}", settings.to_redacted_toml());
            return ExitCode::SUCCESS;
        }
        Command::Health { url } => return health(&settings, url.as_deref()),
        _ => {}
    }
    crate::telemetry::init(&settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("allmenning: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Migrate => migrate(&settings).await,
            Command::Consumers(command) => consumers(&settings, command).await,
            Command::Registers(RegistersCommand::Simulate { days, seed, .. }) => simulate(&settings, days, seed).await,
            Command::Archive(ArchiveCommand::Export { from, to, out, kommune, arkiv, .. }) => {
                archive_export(&settings, &from, &to, &out, kommune.as_deref(), arkiv.as_deref()).await
            }
            Command::Backup(args) => backup(&settings, &args.dir).await,
            Command::Restore(args) => restore(&settings, &args.dir, args.force).await,
            _ => serve(&settings, demo).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("allmenning: {error:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// `allmenning archive export`: streams the arkivuttrekk, with progress on the terminal.
async fn archive_export(
    settings: &Settings,
    from: &str,
    to: &str,
    out: &std::path::Path,
    kommune: Option<&str>,
    arkiv: Option<&str>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let from =
        time::Date::parse(from.trim(), &format).map_err(|_| anyhow::anyhow!("--from must be a date YYYY-MM-DD"))?;
    let to = time::Date::parse(to.trim(), &format).map_err(|_| anyhow::anyhow!("--to must be a date YYYY-MM-DD"))?;
    if to < from {
        anyhow::bail!("--to comes before --from");
    }
    let kommune = match kommune {
        Some(number) => kernel::Kommunenummer::parse(number).map_err(|e| anyhow::anyhow!("--kommune: {e}"))?,
        None => settings
            .municipalities
            .first()
            .map(|m| m.kommunenummer)
            .ok_or_else(|| anyhow::anyhow!("no municipality is configured; give --kommune"))?,
    };
    let db = crate::app::open_database(settings).await?;
    db.migrate().await.context("cannot migrate the database")?;
    let blobs = store::BlobStore::open(&settings.blob_config()).context("cannot open the blob store")?;
    let noark = archive::Noark::new(db, blobs);
    let mut source = archive::export::MunicipalSource::new(noark, kommune);
    if let Some(arkiv) = arkiv {
        source = source.only_arkiv(arkiv);
    }
    let name = format!("{} kommune", kommune.navn());
    let mut last = std::time::Instant::now();
    let mut progress = |p: &archive::extract::Progress| {
        if last.elapsed() >= std::time::Duration::from_millis(500) {
            last = std::time::Instant::now();
            eprint!("\r{} objects, {} files, {} bytes", p.objects, p.files, p.bytes);
        }
    };
    let summary = archive::extract::export(&source, archive::extract::Period { from, to }, &name, out, &mut progress)
        .await
        .with_context(|| format!("cannot write the extraction to {}", out.display()))?;
    eprintln!();
    eprintln!(
        "wrote {}: {} arkivdeler, {} mapper, {} registreringer, {} dokumentobjekter, {} files, {} changes",
        out.display(),
        summary.arkivdeler,
        summary.mapper,
        summary.registreringer,
        summary.dokumentobjekter,
        summary.files,
        summary.changes
    );
    Ok(())
}

/// `allmenning id`: needs no configuration and touches nothing.
fn identify(number: &str) -> ExitCode {
    let found = kernel::identify::identify(number);
    match &found.verdict {
        Ok(details) => {
            println!("{}: valid {}", number.trim(), found.kind);
            for line in details {
                println!("  {line}");
            }
            ExitCode::SUCCESS
        }
        Err(rule) => {
            println!("{}: not a valid {}", number.trim(), found.kind);
            println!("  {rule}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    use anyhow::Context;
    let db = crate::app::open_database(settings).await?;
    db.migrate().await.context("migration failed")?;
    let status = db.migration_status().await?;
    println!("database migrated: {} of {} migrations applied", status.applied.len(), status.known.len());
    db.close().await;
    Ok(())
}

async fn consumers(settings: &Settings, command: ConsumersCommand) -> anyhow::Result<()> {
    use anyhow::Context;
    let db = crate::app::open_database(settings).await?;
    db.migrate().await.context("migration failed")?;
    let result = match command {
        ConsumersCommand::List => {
            let states = store::consumers::states(&db).await?;
            if states.is_empty() {
                println!("no event consumers yet");
            }
            for state in states {
                println!(
                    "{}\t{}\tposition {}\thandled {}\tattempts {}{}",
                    state.name,
                    state.status,
                    state.position,
                    state.handled,
                    state.attempts,
                    state.last_error.map(|e| format!("\tlast error: {e}")).unwrap_or_default()
                );
            }
            Ok(())
        }
        ConsumersCommand::Resume { name } => {
            anyhow::ensure!(store::consumers::resume(&db, &name).await?, "no parked consumer is named {name:?}");
            println!("{name} resumed");
            Ok(())
        }
        ConsumersCommand::Skip { name } => match store::consumers::skip(&db, &name).await? {
            Some(position) => {
                println!("{name} moved past the event at {position} and resumed");
                Ok(())
            }
            None => Err(anyhow::anyhow!("no parked consumer named {name:?} has an event to skip")),
        },
    };
    db.close().await;
    result
}

async fn simulate(settings: &Settings, days: u32, seed: u64) -> anyhow::Result<()> {
    use anyhow::Context;
    let db = crate::app::open_database(settings).await?;
    db.migrate().await.context("migration failed")?;
    // The simulator rewrites register data: only ever on a demo's database.
    crate::app::check_deployment_mode(&db, settings.mode).await?;
    let registers = registers::LocalRegisters::new(db.clone());
    anyhow::ensure!(
        registers.person_count().await? > 0,
        "the registers are empty: start `allmenning demo` with the same data directory first"
    );
    let report = registers.simulate(days, seed).await.context("the simulation failed")?;
    println!(
        "{days} days simulated, registers now at {}: {} births, {} deaths, {} moves within, {} in, {} out, {} new businesses",
        report.today.map(|d| d.to_string()).unwrap_or_default(),
        report.births,
        report.deaths,
        report.moves_within,
        report.moves_in,
        report.moves_out,
        report.new_businesses
    );
    db.close().await;
    Ok(())
}

/// Where the settings keep a deployment's data, for `backup` and `restore`.
fn local_data(settings: &Settings) -> anyhow::Result<store::backup::LocalData> {
    Ok(store::backup::LocalData::from_config(&settings.database_url(), &settings.blob_config())?)
}

fn blobs(count: usize) -> String {
    if count == 1 { "1 blob".to_owned() } else { format!("{count} blobs") }
}

async fn backup(settings: &Settings, dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let data = local_data(settings)?;
    let started = std::time::Instant::now();
    let manifest = store::backup::backup(&data, &crate::app::schema()?, dir, env!("CARGO_PKG_VERSION"))
        .await
        .with_context(|| format!("no backup was made in {}", dir.display()))?;
    println!(
        "backup written to {}: the database as of {} and {}, {} bytes in all, in {:.1} s",
        dir.display(),
        manifest.created_at,
        blobs(manifest.blob_count()),
        manifest.bytes(),
        started.elapsed().as_secs_f64()
    );
    if !manifest.migrations.current {
        println!("note: the database was not fully migrated; the server migrates it when it starts");
    }
    Ok(())
}

async fn restore(settings: &Settings, dir: &Path, force: bool) -> anyhow::Result<()> {
    let data = local_data(settings)?;
    let restored = match store::backup::restore(dir, &data, &crate::app::schema()?, force).await {
        Ok(restored) => restored,
        Err(store::backup::BackupError::Exists(path)) => anyhow::bail!(
            "{} already exists: stop the server, then `allmenning restore --force {}` moves the existing data \
             aside (it is never deleted)",
            path.display(),
            dir.display()
        ),
        Err(error) => {
            return Err(anyhow::Error::new(error).context(format!("nothing was restored from {}", dir.display())));
        }
    };
    for path in &restored.moved_aside {
        println!("moved aside: {}", path.display());
    }
    let manifest = &restored.manifest;
    println!(
        "restored {} (the database as of {}, made by allmenning {}, and {}) into {} and {}",
        dir.display(),
        manifest.created_at,
        manifest.allmenning_version,
        blobs(manifest.blob_count()),
        data.database.display(),
        data.blobs.display()
    );
    println!("start the server: it applies any migration the backup lacks");
    Ok(())
}

/// `allmenning health`: one GET over plain HTTP, no client library, so a container image needs
/// nothing beside the binary for its health check.
fn health(settings: &Settings, url: Option<&str>) -> ExitCode {
    let url = url.map_or_else(
        || {
            let mut address = settings.server.bind;
            if address.ip().is_unspecified() {
                address.set_ip(if address.is_ipv4() {
                    std::net::Ipv4Addr::LOCALHOST.into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                });
            }
            format!("http://{address}/readyz")
        },
        str::to_owned,
    );
    match probe(&url, std::time::Duration::from_secs(5)) {
        Ok(200) => {
            println!("{url}: ready");
            ExitCode::SUCCESS
        }
        Ok(status) => {
            println!("{url}: not ready (HTTP {status})");
            ExitCode::from(EXIT_FAILURE)
        }
        Err(error) => {
            println!("{url}: no answer ({error})");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// The status code of `GET url`, for a plain `http://host:port/path` URL.
fn probe(url: &str, timeout: std::time::Duration) -> std::io::Result<u16> {
    use std::io::{BufRead, BufReader, Error, ErrorKind, Write};
    use std::net::ToSocketAddrs;
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| Error::new(ErrorKind::InvalidInput, "only http:// URLs can be probed"))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let with_port = if authority.rsplit_once(':').is_some_and(|(_, port)| port.bytes().all(|b| b.is_ascii_digit())) {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let address = with_port
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("{authority} has no address")))?;
    let mut stream = std::net::TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: allmenning-health\r\nConnection: close\r\n\r\n"
    )?;
    let mut status_line = String::new();
    BufReader::new(stream).read_line(&mut status_line)?;
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| Error::new(ErrorKind::InvalidData, format!("not an HTTP answer: {:?}", status_line.trim())))
}

async fn serve(settings: &Settings, demo: bool) -> anyhow::Result<()> {
    let application = Application::build(settings).await?;
    if demo {
        application.seed_demo_case(settings).await?;
    }
    let address = application.address();
    tracing::info!(server.address = %address, database = settings.db_backend_name(), "allmenning is listening");
    if demo {
        let host = if address.ip().is_unspecified() { "127.0.0.1".to_owned() } else { address.ip().to_string() };
        println!("allmenning demo is running at http://{host}:{}/  (Ctrl-C stops it)", address.port());
        println!("data directory: {}", settings.data_dir.display());
    } else {
        println!("allmenning is listening on http://{address}/");
    }
    application.run(shutdown_signal()).await
}
