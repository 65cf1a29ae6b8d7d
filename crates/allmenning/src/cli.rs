//! The command line: `serve`, `demo`, `migrate`, `config`.
// This module is where the binary talks to its user on standard output.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
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
        Command::Migrate | Command::Config | Command::Id { .. } | Command::Consumers(_) => {
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
    if let Command::Config = cli.command {
        print!("{}", settings.to_redacted_toml());
        return ExitCode::SUCCESS;
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

async fn serve(settings: &Settings, demo: bool) -> anyhow::Result<()> {
    let application = Application::build(settings).await?;
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
