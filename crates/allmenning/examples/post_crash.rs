//! The digital post crash test: kill the server with SIGKILL at random moments while letters are
//! in flight through the simulators, start it again, and repeat; then check on the receivers'
//! side that every letter arrived exactly once and that its final status is recorded.
//!
//!   cargo run -p allmenning --example post_crash -- --letters 1000 --kills 20 [--seed N]
//!
//! (`scripts/crash-post` builds the server and this program and runs it; `--short` there is 100
//! letters and 3 kills.)
//!
//! This process hosts what must outlive the crashes: the integrasjonspunkt simulator and the SMS
//! gateway simulator on loopback ports (both failing or stalling a few per cent of the calls, so
//! retries happen), a real SMTP server (aiosmtpd, `post::testing::SmtpSink`), and the print
//! vendor simulator over the print directory, run every 300 ms. The server is the real binary
//! (`allmenning serve --config …`) in demo mode on SQLite, with every channel pointed at those,
//! intervals of a second, and a job lease of 3 s so that a killed server's jobs are taken over
//! soon.
//!
//! 1. The server starts once to migrate and seed the synthetic municipality (the personas), and
//!    stops.
//! 2. N letters are accepted into its database from here with `Post::send` (acceptance journals
//!    and routes; it talks to no channel), spread over the seven personas, so every route is
//!    taken: digital mailbox, inbox with e-mail and/or SMS notice then paper, paper, manual.
//! 3. `--kills` times: the server starts, works for a random 0.3–3 s after it listens, and is
//!    killed with SIGKILL.
//! 4. It starts a last time and runs until every letter is settled (a final status, or
//!    LEVERT_SDP) and no delivery job is left, or 5 minutes pass; then it is stopped.
//! 5. The receivers are counted — the integrasjonspunkt's messages, the SMS gateway's messages
//!    by reference, the SMTP server's messages by `Message-ID`, the print vendor's printed lines —
//!    and held against every letter's status and history.
//!
//! Prints a table and every problem found; exits 1 when a check fails (the temporary directory
//! is then kept, with the server's log, for a look), 2 when the test could not run.

// The report is the program's output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Parser;
use kernel::Kommunenummer;
use post::letters::{COLUMNS, LetterRow, Status};
use post::simulators::integrasjonspunkt::{Behaviour, IntegrasjonspunktSim, ReceivedMessage};
use post::simulators::print_vendor::{PrintVendorOptions, PrintVendorSim};
use post::simulators::sms::{ReceivedSms, SmsSimulator, SmsSimulatorOptions};
use post::testing::{SmtpSink, SmtpSinkOptions};
use post::{Channels, Document, NewLetter, Post, Recipient, Sender};
use registers::synthetic::Persona;
use store::Db;
use tokio::sync::mpsc;

/// The crash test's options.
#[derive(Debug, Parser)]
#[command(about = "Kill the server at random moments while letters are in flight; check each arrived once")]
struct Args {
    /// Letters accepted before the first kill.
    #[arg(long, default_value_t = 1000)]
    letters: usize,
    /// How many times the server is killed.
    #[arg(long, default_value_t = 20)]
    kills: usize,
    /// Seeds the kill moments, the simulators' failures and stalls.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The `allmenning` binary (default: `$CARGO_TARGET_DIR/debug/allmenning`, or
    /// `target/debug/allmenning`).
    #[arg(long, value_name = "FILE")]
    server: Option<PathBuf>,
    /// How long the last run may take to settle every letter, in seconds.
    #[arg(long, default_value_t = 300)]
    settle_seconds: u64,
    /// How long an unread inbox letter waits before it goes on paper, in seconds.
    #[arg(long, default_value_t = 2)]
    paper_after_seconds: u64,
    /// How long a job's claim lasts (`jobs.lease_seconds`): a killed server's jobs are taken over
    /// after this long, and so is a job that runs longer than this.
    #[arg(long, default_value_t = 3)]
    lease_seconds: u64,
    /// Keep the temporary directory even when every check passes.
    #[arg(long)]
    keep: bool,
}

/// The municipality of the demo.
const KOMMUNE: &str = "4601";
/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the print vendor looks for batches.
const VENDOR_EVERY: Duration = Duration::from_millis(300);

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("post_crash: could not run: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// SplitMix64: a seeded source for the kill moments (the example has no `rand` of its own).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let span = u64::try_from((high - low).as_millis()).unwrap_or(0);
        low + Duration::from_millis(self.next() % (span + 1))
    }
}

fn default_server() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("debug").join("allmenning"),
        _ => PathBuf::from("target").join("debug").join("allmenning"),
    }
}

/// What the test runs against: the simulators and sink that outlive the server.
struct Receivers {
    mailbox: Arc<IntegrasjonspunktSim>,
    mailbox_url: String,
    sms: SmsSimulator,
    sms_url: String,
    smtp: SmtpSink,
    smtp_dir: PathBuf,
    vendor: PrintVendorSim,
    print_dir: PathBuf,
}

async fn start_receivers(dir: &Path, seed: u64) -> anyhow::Result<Receivers> {
    let loopback = || tokio::net::TcpListener::bind(("127.0.0.1", 0));

    // Delivered 0.8 s after it is handed on; 3 % of the letters fail at the provider (they go on
    // paper), 2 % of the requests stall for 2 s (long enough for a kill to land in one).
    let mailbox = Arc::new(IntegrasjonspunktSim::new(Behaviour {
        deliver_after: Duration::from_millis(800),
        read_after: None,
        fail_rate: 0.03,
        timeout_rate: 0.02,
        stall: Duration::from_secs(2),
        seed,
        max_total_bytes: 50 * 1024 * 1024,
    }));
    let listener = loopback().await.context("integrasjonspunkt simulator")?;
    let mailbox_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(post::simulators::integrasjonspunkt::serve(listener, mailbox.clone()));

    let sms = SmsSimulator::new(SmsSimulatorOptions { fail_rate: 0.05, seed: Some(seed), token: None });
    let listener = loopback().await.context("SMS simulator")?;
    let sms_url = format!("http://{}/sms/send", listener.local_addr()?);
    tokio::spawn(post::simulators::sms::serve(listener, sms.clone()));

    // The first five messages get a 451, so the e-mail step is retried too.
    let smtp_dir = dir.join("smtp");
    let smtp = SmtpSink::start(&smtp_dir, &SmtpSinkOptions { fail_first: 5, ..SmtpSinkOptions::default() })
        .context("the SMTP server (aiosmtpd)")?;

    let print_dir = dir.join("print");
    let print_store = store::BlobStore::open(&store::BlobConfig::Local { path: print_dir.clone() })?;
    let vendor =
        PrintVendorSim::new(print_store.object_store(), "", PrintVendorOptions { fail_rate: 0.02, seed: Some(seed) })
            .map_err(|e| anyhow::anyhow!("print vendor: {e}"))?;
    Ok(Receivers { mailbox, mailbox_url, sms, sms_url, smtp, smtp_dir, vendor, print_dir })
}

fn settings_toml(dir: &Path, receivers: &Receivers, args: &Args) -> String {
    let data_dir = dir.join("data");
    format!(
        r#"# Written by examples/post_crash.rs.
mode = "demo"
data_dir = "{data_dir}"

[server]
bind = "127.0.0.1:0"

[jobs]
poll_interval_ms = 100
# A killed server's jobs are taken over this long after they were claimed.
lease_seconds = {lease_seconds}
shutdown_grace_seconds = 5

[demo]
residents = 200

[post]
simulate = false
print_interval_seconds = 1
receipts_interval_seconds = 1
poll_interval_seconds = 1
paper_after_seconds = {paper_after_seconds}

[post.organisasjonsnummer]
"{KOMMUNE}" = "964338531"

[post.integrasjonspunkt]
url = "{mailbox}"

[post.sms]
url = "{sms}"
token = "crash-test"
timeout_seconds = 5

[post.smtp]
host = "127.0.0.1"
port = {smtp}
tls = "none"
from = "Bergen kommune <post@bergen.invalid>"
timeout_seconds = 5

[post.print]
backend = "local"
path = "{print}"
"#,
        data_dir = data_dir.display(),
        mailbox = receivers.mailbox_url,
        sms = receivers.sms_url,
        smtp = receivers.smtp.port(),
        print = receivers.print_dir.display(),
        lease_seconds = args.lease_seconds,
        paper_after_seconds = args.paper_after_seconds,
    )
}

/// A running server: the child, and the lines of its standard output.
struct Server {
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
}

impl Server {
    fn start(binary: &Path, config: &Path, log: &Path) -> anyhow::Result<Server> {
        let mut command = Command::new(binary);
        for (name, _) in std::env::vars() {
            if name.starts_with("ALLMENNING_") {
                command.env_remove(name);
            }
        }
        let stderr = std::fs::File::options().create(true).append(true).open(log)?;
        let mut child = command
            .arg("--config")
            .arg(config)
            .arg("serve")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = child.stdout.take().context("the server's stdout")?;
        let (sender, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Server { child, lines })
    }

    /// Waits for the line that says it listens (printed once it is built: migrated, seeded,
    /// its periodic jobs scheduled).
    async fn listening(&mut self, log: &Path) -> anyhow::Result<()> {
        match tokio::time::timeout(START_TIMEOUT, self.lines.recv()).await {
            Ok(Some(line)) if line.contains("listening on http://") => Ok(()),
            Ok(Some(line)) => bail!("unexpected first line from the server: {line}"),
            Ok(None) => bail!("the server exited before it listened; its log:\n{}", tail(log)),
            Err(_) => bail!("the server did not listen within {START_TIMEOUT:?}; its log:\n{}", tail(log)),
        }
    }

    /// SIGKILL (`Child::kill` on unix), and reap it.
    fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM, and wait up to 30 s for it to finish its requests and jobs.
    async fn stop(mut self) -> anyhow::Result<()> {
        let status = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status()?;
        if !status.success() {
            bail!("kill -TERM failed: {status}");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.kill()
    }
}

fn nanos_now() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// Every message the SMTP sink took: its `Message-ID` and when it arrived (the sink names each
/// file `{nanoseconds since the epoch}-{uuid}.eml`, next to its decoding in `.json`).
fn received_emails(dir: &Path) -> anyhow::Result<Vec<(Option<String>, u128)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('.') || !name.ends_with(".eml") {
            continue;
        }
        let arrived = name.split('-').next().and_then(|n| n.parse::<u128>().ok()).unwrap_or(0);
        let decoded: serde_json::Value = serde_json::from_slice(&std::fs::read(path.with_extension("json"))?)?;
        let message_id = decoded["headers"].as_array().and_then(|headers| {
            headers.iter().find_map(|pair| {
                let name = pair[0].as_str()?;
                name.eq_ignore_ascii_case("Message-ID").then(|| pair[1].as_str().map(str::to_owned)).flatten()
            })
        });
        found.push((message_id, arrived));
    }
    Ok(found)
}

fn tail(log: &Path) -> String {
    let mut text = String::new();
    let _ = std::fs::File::open(log).and_then(|mut file| file.read_to_string(&mut text));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn letter_to(persona: Persona, external_ref: String) -> NewLetter {
    NewLetter {
        sender: Sender { id: "system:krasjtest".into(), name: "Krasjtesten".into() },
        external_ref: Some(external_ref),
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

/// The engine over the server's database. Acceptance talks to no channel, but routing asks
/// whether an integrasjonspunkt is configured (a mailbox in KRR is unreachable without one), so
/// the mailbox is the server's; the others stay unconfigured.
async fn open_post(settings: &allmenning::config::Settings, mailbox_url: &str) -> anyhow::Result<Post> {
    let db = allmenning::app::open_database(settings).await?;
    let blobs = store::BlobStore::open(&settings.blob_config())?;
    let noark = archive::Noark::new(db.clone(), blobs).with_max_file_bytes(settings.archive.max_file_bytes);
    let registers = registers::Registers::new(db.clone(), &settings.registers_config())?;
    let mut channels = Channels::not_configured();
    channels.mailbox = Arc::new(
        post::adapters::eformidling::Integrasjonspunkt::new(post::adapters::eformidling::IntegrasjonspunktConfig::new(
            mailbox_url,
        ))
        .map_err(|e| anyhow::anyhow!("integrasjonspunkt client: {e}"))?,
    );
    Ok(Post::new(db, noark, registers, channels, settings.post_config()))
}

/// Which notices a persona's inbox letters should get, from KRR as the engine reads it.
#[derive(Debug, Clone, Copy, Default)]
struct Expected {
    email: bool,
    sms: bool,
}

async fn expected_notices(db: &Db) -> anyhow::Result<[Expected; 7]> {
    let local = registers::LocalRegisters::new(db.clone());
    let mut expected = [Expected::default(); 7];
    for (index, persona) in Persona::ALL.into_iter().enumerate() {
        let contact = local.contacts(&[persona.fnr()]).await?.into_iter().next();
        if let Some(c) = contact.filter(|c| c.can_be_notified && c.status == registers::model::ContactStatus::Aktiv) {
            expected[index] = Expected {
                email: c.email.is_some(),
                sms: c.mobile.as_deref().is_some_and(|m| post::simulators::sms::is_norwegian_e164(&e164(m))),
            };
        }
    }
    Ok(expected)
}

/// As the engine writes a number for the gateway.
fn e164(number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if number.trim_start().starts_with('+') {
        format!("+{digits}")
    } else if digits.len() == 8 {
        format!("+47{digits}")
    } else {
        format!("+{digits}")
    }
}

async fn accept_letters(post: &Post, k: Kommunenummer, count: usize) -> anyhow::Result<Vec<(String, usize)>> {
    const TASKS: usize = 4;
    let handles: Vec<_> = (0..TASKS)
        .map(|task| {
            let post = post.clone();
            tokio::spawn(async move {
                let mut sent = Vec::new();
                for n in (task..count).step_by(TASKS) {
                    let persona = n % Persona::ALL.len();
                    let letter = letter_to(Persona::ALL[persona], format!("krasj-{n:05}"));
                    let accepted = post.send(k, letter).await.with_context(|| format!("letter {n}"))?;
                    anyhow::ensure!(accepted.created, "letter {n} was not new");
                    sent.push((n, accepted.id, persona));
                }
                anyhow::Ok(sent)
            })
        })
        .collect();
    let mut all = Vec::new();
    for handle in handles {
        all.extend(handle.await??);
    }
    all.sort();
    Ok(all.into_iter().map(|(_, id, persona)| (id, persona)).collect())
}

async fn letters(db: &Db, k: Kommunenummer) -> anyhow::Result<Vec<LetterRow>> {
    Ok(db
        .municipal(k)
        .fetch_all::<LetterRow>(&format!("SELECT {COLUMNS} FROM post_letters WHERE kommunenummer = $1"), &[])
        .await?)
}

/// Nothing more will happen to it without a reader: a final status, delivered to the mailbox, or
/// an inbox letter that will never go on paper.
fn settled(letter: &LetterRow) -> bool {
    let status = letter.status();
    status.is_final()
        || status == Status::LevertSdp
        || (matches!(status, Status::SendtDigitalt | Status::Varslet)
            && !letter.paper_fallback
            && letter.channel.as_deref() == Some("innboks"))
}

async fn delivery_jobs_left(db: &Db) -> anyhow::Result<i64> {
    let (left,): (i64,) = db
        .fetch_optional(
            "SELECT COUNT(*) AS n FROM jobs WHERE kind IN ('post.deliver', 'post.poll', 'post.fallback') \
             AND status IN ('queued', 'running')",
            &[],
        )
        .await?
        .unwrap_or((0,));
    Ok(left)
}

fn status_counts(rows: &[LetterRow]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for row in rows {
        *counts.entry(row.status.as_str()).or_default() += 1;
    }
    counts.iter().map(|(status, n)| format!("{status} {n}")).collect::<Vec<_>>().join(", ")
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let started = Instant::now();
    let binary = args.server.clone().unwrap_or_else(default_server);
    anyhow::ensure!(binary.exists(), "no server binary at {} (cargo build -p allmenning)", binary.display());
    let temp = tempfile::Builder::new().prefix("post-crash-").tempdir()?;
    let dir = temp.path().to_owned();
    let log = dir.join("server.log");
    let k = Kommunenummer::parse(KOMMUNE)?;
    let mut dice = Dice(args.seed);
    println!("# Digital post crash test");
    println!();
    println!(
        "{} letters, {} kills, seed {}, paper after {} s, job lease {} s; server {}; directory {}",
        args.letters,
        args.kills,
        args.seed,
        args.paper_after_seconds,
        args.lease_seconds,
        binary.display(),
        dir.display()
    );

    let receivers = start_receivers(&dir, args.seed).await?;
    let vendor = receivers.vendor.clone();
    let vendor_task = tokio::spawn(async move {
        loop {
            tokio::time::sleep(VENDOR_EVERY).await;
            if let Err(error) = vendor.process().await {
                eprintln!("post_crash: the print vendor failed: {error}");
            }
        }
    });
    let config = dir.join("allmenning.toml");
    std::fs::write(&config, settings_toml(&dir, &receivers, &args))?;

    // 1. Migrate and seed.
    let mut server = Server::start(&binary, &config, &log)?;
    server.listening(&log).await.context("the first start (migrate, seed)")?;
    server.stop().await?;

    // 2. Accept the letters.
    let settings = allmenning::config::Settings::load(
        Some(&config),
        std::iter::empty(),
        &allmenning::config::Overrides::default(),
    )
    .map_err(|e| anyhow::anyhow!("the settings: {e}"))?;
    let post = open_post(&settings, &receivers.mailbox_url).await?;
    let db = post.db().clone();
    let expected = expected_notices(&db).await?;
    let accepting = Instant::now();
    let sent = accept_letters(&post, k, args.letters).await?;
    println!(
        "accepted {} letters in {:.1} s; routes: {}",
        sent.len(),
        accepting.elapsed().as_secs_f64(),
        status_counts(&letters(&db, k).await?)
    );
    println!();

    // 3. Kill it at random moments.
    let mut killed_at = Vec::new();
    let mut kill_moments = Vec::new();
    for round in 1..=args.kills {
        let mut server = Server::start(&binary, &config, &log)?;
        server.listening(&log).await.with_context(|| format!("start {round}"))?;
        let after = dice.between(Duration::from_millis(300), Duration::from_millis(3000));
        tokio::time::sleep(after).await;
        kill_moments.push(nanos_now());
        server.kill()?;
        killed_at.push(after);
        let rows = letters(&db, k).await?;
        let done = rows.iter().filter(|r| settled(r)).count();
        println!(
            "kill {round:>2}/{} after {:.2} s: {done}/{} settled ({})",
            args.kills,
            after.as_secs_f64(),
            rows.len(),
            status_counts(&rows)
        );
    }

    // 4. A last run, until every letter is settled and no delivery job is left.
    let mut server = Server::start(&binary, &config, &log)?;
    server.listening(&log).await.context("the last start")?;
    let settling = Instant::now();
    let deadline = settling + Duration::from_secs(args.settle_seconds);
    let mut settled_in = None;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rows = letters(&db, k).await?;
        if rows.iter().all(settled) && delivery_jobs_left(&db).await? == 0 {
            settled_in = Some(settling.elapsed());
            break;
        }
    }
    server.stop().await?;
    // The vendor's last look: a batch found now was submitted after every letter was settled.
    vendor_task.abort();
    let late = receivers.vendor.process().await.map_err(|e| anyhow::anyhow!("print vendor: {e}"))?;
    match settled_in {
        Some(took) => println!("\nlast run: every letter settled {:.1} s after it listened", took.as_secs_f64()),
        None => println!("\nlast run: NOT every letter settled within {} s", args.settle_seconds),
    }

    // 5. Count on the receivers' side.
    let report = check(&db, k, &sent, &expected, &receivers, late.len(), &kill_moments).await?;
    db.close().await;
    println!();
    print!("{report}");
    let passed = settled_in.is_some() && report.problems.is_empty();
    println!(
        "\n{} in {:.0} s ({} kills, {:.2}–{:.2} s after listening).",
        if passed { "PASSED" } else { "FAILED" },
        started.elapsed().as_secs_f64(),
        killed_at.len(),
        killed_at.iter().min().map_or(0.0, Duration::as_secs_f64),
        killed_at.iter().max().map_or(0.0, Duration::as_secs_f64),
    );
    if !passed || args.keep {
        let kept = temp.keep();
        println!("kept {} (server.log, data/, smtp/, print/)", kept.display());
    }
    Ok(passed)
}

/// One persona's row in the table.
#[derive(Debug, Default)]
struct Tally {
    letters: usize,
    statuses: BTreeMap<String, usize>,
    mailbox_messages: usize,
    mailbox_repeat_creates: u32,
    emails_distinct: usize,
    emails_total: usize,
    sms_distinct: usize,
    sms_repeats: u32,
    printed: usize,
    print_failed: usize,
}

#[derive(Debug, Default)]
struct Report {
    tallies: Vec<(usize, Tally)>,
    problems: Vec<String>,
    notes: Vec<String>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "| persona | letters | final status | mailbox messages (repeated creates) | e-mails distinct / received | SMS distinct (repeats) | printed (vendor failed) |"
        )?;
        writeln!(f, "|---|---:|---|---:|---:|---:|---:|")?;
        for (persona, tally) in &self.tallies {
            let statuses =
                tally.statuses.iter().map(|(status, n)| format!("{status} {n}")).collect::<Vec<_>>().join(", ");
            writeln!(
                f,
                "| {} | {} | {statuses} | {} ({}) | {} / {} | {} ({}) | {} ({}) |",
                Persona::ALL[*persona].name(),
                tally.letters,
                tally.mailbox_messages,
                tally.mailbox_repeat_creates,
                tally.emails_distinct,
                tally.emails_total,
                tally.sms_distinct,
                tally.sms_repeats,
                tally.printed,
                tally.print_failed,
            )?;
        }
        if !self.notes.is_empty() {
            writeln!(f)?;
            for note in &self.notes {
                writeln!(f, "note: {note}")?;
            }
        }
        writeln!(f)?;
        if self.problems.is_empty() {
            writeln!(f, "No problem found: every letter arrived once where it should, and its status says so.")?;
        } else {
            writeln!(f, "{} problem(s):", self.problems.len())?;
            for problem in self.problems.iter().take(50) {
                writeln!(f, "- {problem}")?;
            }
            if self.problems.len() > 50 {
                writeln!(f, "- … and {} more", self.problems.len() - 50)?;
            }
        }
        Ok(())
    }
}

async fn check(
    db: &Db,
    k: Kommunenummer,
    sent: &[(String, usize)],
    expected: &[Expected; 7],
    receivers: &Receivers,
    late_batches: usize,
    kill_moments: &[u128],
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let rows: HashMap<String, LetterRow> = letters(db, k).await?.into_iter().map(|r| (r.id.clone(), r)).collect();
    let mut histories: HashMap<String, Vec<String>> = HashMap::new();
    for (letter, status) in db
        .municipal(k)
        .fetch_all::<(String, String)>(
            "SELECT letter_id, status FROM post_status_log WHERE kommunenummer = $1 ORDER BY letter_id, seq",
            &[],
        )
        .await?
    {
        histories.entry(letter).or_default().push(status);
    }
    let recorded: std::collections::HashSet<String> = db
        .municipal(k)
        .fetch_all::<(String,)>("SELECT key FROM post_deliveries WHERE kommunenummer = $1", &[])
        .await?
        .into_iter()
        .map(|(key,)| key)
        .collect();

    // The receivers.
    let mailbox: HashMap<String, ReceivedMessage> =
        receivers.mailbox.messages().into_iter().map(|m| (m.message_id.to_string(), m)).collect();
    let sms: HashMap<String, ReceivedSms> =
        receivers.sms.messages().into_iter().filter_map(|m| Some((m.reference.clone()?, m))).collect();
    let mut emails: HashMap<String, usize> = HashMap::new();
    let mut stray_emails = Vec::new();
    let mut arrivals: HashMap<String, Vec<u128>> = HashMap::new();
    for (message_id, arrived) in received_emails(&receivers.smtp_dir)? {
        match message_id {
            Some(id) => {
                *emails.entry(id.clone()).or_default() += 1;
                arrivals.entry(id).or_default().push(arrived);
            }
            None => stray_emails.push("an e-mail without a Message-ID".to_owned()),
        }
    }
    anyhow::ensure!(
        emails.values().sum::<usize>() == receivers.smtp.messages()?.len(),
        "the SMTP sink's directory and its list disagree"
    );
    // A second copy under the same Message-ID is explained only by a kill between the two: the
    // server had the SMTP server's 250 but died before it recorded the delivery.
    let mut repeated_over_a_kill = 0usize;
    for (message_id, mut times) in arrivals {
        times.sort_unstable();
        for pair in times.windows(2) {
            if kill_moments.iter().any(|kill| pair[0] <= *kill && *kill <= pair[1]) {
                repeated_over_a_kill += 1;
            } else {
                report.problems.push(format!(
                    "the e-mail {message_id} arrived twice with no kill between the copies ({:.3} s apart): \
                     sent twice by a running server (a job that outlived its lease, run again beside itself?)",
                    (pair[1] - pair[0]) as f64 / 1e9
                ));
            }
        }
    }
    let printed = receivers.vendor.printed().await.map_err(|e| anyhow::anyhow!("print vendor: {e}"))?;
    let mut print_failed: HashMap<String, usize> = HashMap::new();
    for batch in receivers.vendor.processed().await.map_err(|e| anyhow::anyhow!("print vendor: {e}"))? {
        for letter in batch.failed {
            *print_failed.entry(letter).or_default() += 1;
        }
    }

    let ours: std::collections::HashSet<&str> = sent.iter().map(|(id, _)| id.as_str()).collect();
    if rows.len() != sent.len() {
        report.problems.push(format!("{} letters in the database, {} accepted", rows.len(), sent.len()));
    }
    for id in mailbox.keys().filter(|id| !ours.contains(id.as_str())) {
        report.problems.push(format!("the integrasjonspunkt has a message {id} for no letter"));
    }
    for reference in sms.keys().filter(|r| !ours.contains(r.trim_end_matches(".sms"))) {
        report.problems.push(format!("the SMS gateway has a message {reference} for no letter"));
    }
    for id in printed.keys().filter(|id| !ours.contains(id.as_str())) {
        report.problems.push(format!("the print vendor printed {id}, no letter of ours"));
    }
    let email_letter = |message_id: &str| -> Option<String> {
        let inner = message_id.trim().trim_start_matches('<').trim_end_matches('>');
        inner.split_once(".epost@").map(|(id, _)| id.to_owned())
    };
    for (message_id, _) in emails.iter() {
        match email_letter(message_id) {
            Some(id) if ours.contains(id.as_str()) => {}
            _ => report.problems.push(format!("an e-mail with Message-ID {message_id} belongs to no letter")),
        }
    }
    report.problems.extend(stray_emails);
    if late_batches > 0 {
        report.problems.push(format!("{late_batches} print batch(es) were submitted after every letter was settled"));
    }

    let mut tallies: BTreeMap<usize, Tally> = BTreeMap::new();
    let mut recorded_missing = 0usize;
    for (id, persona) in sent {
        let tally = tallies.entry(*persona).or_default();
        tally.letters += 1;
        let name = Persona::ALL[*persona].name();
        let Some(row) = rows.get(id) else {
            report.problems.push(format!("letter {id} ({name}) is not in the database"));
            continue;
        };
        let status = row.status();
        *tally.statuses.entry(row.status.clone()).or_default() += 1;
        let history = histories.get(id).cloned().unwrap_or_default();
        let went = |s: Status| history.iter().any(|h| h == s.as_str());
        let mut seen = Vec::new();
        let mut problem = |what: String| {
            report.problems.push(format!(
                "letter {id} ({name}): {what}; status {status}, channel {}, reason {}, history {}",
                row.channel.as_deref().unwrap_or("-"),
                row.reason.as_deref().unwrap_or("-"),
                history.join(" → ")
            ))
        };

        if !settled(row) {
            problem("not settled".into());
        }
        if history.last().map(String::as_str) != Some(row.status.as_str()) {
            problem("the history does not end in the letter's status".into());
        }
        for s in &history {
            if history.iter().filter(|h| *h == s).count() > 1 {
                problem(format!("{s} is in the history more than once"));
                break;
            }
        }

        // The digital mailbox: one message per letter handed on, and it agrees with the status.
        let message = mailbox.get(id);
        if let Some(message) = message {
            tally.mailbox_messages += 1;
            tally.mailbox_repeat_creates += message.times_created.saturating_sub(1);
            seen.push(format!("mailbox {}", message.status));
            if !message.sent {
                problem("its message sits in the integrasjonspunkt's outbox, never sent".into());
            }
        }
        let mailbox_route =
            row.reason.as_deref() == Some(post::routing::Reason::MailboxInKrr.code()) || went(Status::SendtSdp);
        match (status, message) {
            (Status::LevertSdp, Some(m)) if m.status == "LEVERT" => {}
            (Status::LevertSdp, other) => {
                problem(format!("LEVERT_SDP, but the integrasjonspunkt says {:?}", other.map(|m| &m.status)))
            }
            (_, Some(m)) if m.status == "LEVERT" => problem("delivered to the mailbox, but not LEVERT_SDP".into()),
            (_, Some(_)) if !mailbox_route => problem("a mailbox message for a letter not routed there".into()),
            (_, None) if went(Status::SendtSdp) => {
                problem("SENDT_SDP, but the integrasjonspunkt has no message".into())
            }
            _ => {}
        }

        // Paper: printed once when PRINTET, never otherwise.
        let times_printed = printed.get(id).copied().unwrap_or(0);
        let times_failed = print_failed.get(id).copied().unwrap_or(0);
        tally.printed += usize::try_from(times_printed).unwrap_or(usize::MAX);
        tally.print_failed += times_failed;
        if times_printed > 0 {
            seen.push(format!("printed {times_printed}×"));
        }
        match (status, times_printed) {
            (Status::Printet, 1) => {}
            (Status::Printet, n) => problem(format!("PRINTET, but printed {n} times")),
            (_, 0) => {}
            (_, n) => problem(format!("printed {n} times, but not PRINTET")),
        }
        if status == Status::IkkeLevert
            && row.reason.as_deref().is_some_and(|r| r.starts_with("trykkeriet"))
            && times_failed != 1
        {
            problem(format!("IKKE_LEVERT by the print vendor, which failed it {times_failed} times"));
        }
        if times_failed > 0 && status != Status::IkkeLevert {
            problem("the print vendor failed it, but it is not IKKE_LEVERT".into());
        }

        // Manual handling: nobody got anything.
        if Persona::ALL[*persona] == Persona::StrengtFortrolig {
            if status != Status::ManueltHandtert {
                problem("a protected address, but not MANUELT_HANDTERT".into());
            }
            if message.is_some() || times_printed > 0 {
                problem("a protected address, yet it left".into());
            }
        }

        // Notices: one e-mail (one Message-ID) and one SMS per inbox letter whose recipient takes
        // them.
        let in_inbox = went(Status::SendtDigitalt);
        let email_key = format!("{id}.epost");
        let email_count: usize =
            emails.iter().filter(|(m, _)| email_letter(m).as_deref() == Some(id.as_str())).map(|(_, n)| *n).sum();
        let email_distinct = emails.keys().filter(|m| email_letter(m).as_deref() == Some(id.as_str())).count();
        tally.emails_distinct += email_distinct;
        tally.emails_total += email_count;
        let sms_message = sms.get(&format!("{id}.sms"));
        if let Some(s) = sms_message {
            tally.sms_distinct += 1;
            tally.sms_repeats += s.repeats;
        }
        if email_count > 0 {
            seen.push(format!("e-mail {email_count}×"));
        }
        if sms_message.is_some() {
            seen.push("SMS".into());
        }
        let want = expected[*persona];
        let overtaken = row.reason.as_deref() == Some("ikke_lest_innen_fristen") && !went(Status::Varslet);
        let why = if overtaken {
            " — the paper fallback moved it to paper before the notice step ran again, which then skipped it"
        } else {
            ""
        };
        if in_inbox && want.email {
            match email_distinct {
                0 => problem(format!("no e-mail notice{why} (receivers saw: {})", seen.join(", "))),
                1 => {}
                n => problem(format!("{n} e-mail notices with different Message-IDs")),
            }
            if email_distinct > 0 && !recorded.contains(&email_key) {
                recorded_missing += 1;
            }
        } else if email_count > 0 {
            problem("an e-mail notice it should not have".into());
        }
        if in_inbox && want.sms {
            if sms_message.is_none() {
                problem(format!("no SMS notice{why} (receivers saw: {})", seen.join(", ")));
            }
        } else if sms_message.is_some() {
            problem("an SMS notice it should not have".into());
        }
    }
    if repeated_over_a_kill > 0 {
        report.notes.push(format!(
            "{repeated_over_a_kill} e-mail(s) arrived a second time with the same Message-ID, each with a kill between \
             the copies: the server died between the SMTP server's 250 and recording the delivery (at least once \
             at that one step; a receiver can tell a repeat by its id)"
        ));
    }
    if recorded_missing > 0 {
        report.notes.push(format!(
            "{recorded_missing} e-mail notice(s) arrived but are not in post_deliveries (the letter moved on before \
             the notice step ran again)"
        ));
    }
    let repeats: u32 = tallies.values().map(|t| t.mailbox_repeat_creates).sum();
    if repeats > 0 {
        report.notes.push(format!(
            "{repeats} repeated create(s) at the integrasjonspunkt (a try after a kill or a stall); each refused as \
             MessageAlreadyExists, none delivered twice"
        ));
    }
    let sms_repeats: u32 = tallies.values().map(|t| t.sms_repeats).sum();
    if sms_repeats > 0 {
        report.notes.push(format!(
            "{sms_repeats} repeated SMS request(s) with a reference seen before: recognised by the gateway, not sent \
             again"
        ));
    }
    report.notes.push(format!("injected: {} SMS gateway 503s", receivers.sms.injected_failures()));
    report.tallies = tallies.into_iter().collect();
    Ok(report)
}
