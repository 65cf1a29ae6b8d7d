//! Load on the Noark 5 tjenestegrensesnitt (`/noark5/`) of a running server, walked the way a
//! client walks it, against a baseline measured in the same run.
//!
//!   cargo run --release -p allmenning --example noark5_load -- http://127.0.0.1:PORT/ \
//!       [--workers 32] [--readers 4] [--duration 20] [--warmup 2] [--file-kb 100]
//!
//! `scripts/bench-noark5` starts `allmenning demo` on a fresh data directory and runs this
//! against it. The server must be in demo mode: the tool logs in over HTTP Basic as the demo
//! archivist (`anne.arkivar:noark5-demo`). Phases, one after the other:
//!
//! 1. **baseline**: `--workers` tasks send `GET /healthz` for `--duration` seconds (after
//!    `--warmup` seconds of the same, not counted);
//! 2. the structure a case lives in, through the rels: the root, `arkivstruktur/`, then
//!    `ny-arkiv`, `ny-arkivdel`, `ny-klassifikasjonssystem`, `ny-klasse`;
//! 3. **units**: `--workers` tasks each create, over and over for `--duration` seconds (after a
//!    warm-up), one unit: a saksmappe in the klasse, a journalpost in it, a dokumentbeskrivelse
//!    in that, a dokumentobjekt in that with `sjekksum` (SHA-256) and `filstoerrelse` stated,
//!    and its file (`--file-kb` KiB, different in every unit) by POST to the `fil` rel with a
//!    Content-Type: five requests. At the same time `--readers` tasks `GET` objects created so
//!    far (the `self` href, `…/{systemID}/`), picked at random;
//! 4. **reads alone**: `--workers` tasks `GET` the objects created, with no writes going on.
//!
//! Every request's latency is kept in memory and the percentiles computed from all of them.
//! Prints a markdown table; nothing is asserted about the times.

// The report is the program's output.
#![allow(clippy::print_stdout)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::{Client, Method, StatusCode, header};
use serde_json::{Value, json};

const REL: &str = "https://rel.arkivverket.no/noark5/v5/api/";
const MEDIA: &str = "application/vnd.noark5+json";
const STEPS: [&str; 5] =
    ["POST ny-saksmappe", "POST ny-journalpost", "POST ny-dokumentbeskrivelse", "POST ny-dokumentobjekt", "POST fil"];

#[derive(Debug, Clone)]
struct Options {
    base: String,
    workers: usize,
    readers: usize,
    duration: Duration,
    warmup: Duration,
    file_bytes: usize,
}

fn options() -> anyhow::Result<Options> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        base: String::new(),
        workers: 32,
        readers: 4,
        duration: Duration::from_secs(20),
        warmup: Duration::from_secs(2),
        file_bytes: 100 * 1024,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> anyhow::Result<u64> {
            let text = args.next().with_context(|| format!("{name} needs a value"))?;
            text.parse().with_context(|| format!("{name}: not a number: {text}"))
        };
        match arg.as_str() {
            "--workers" => options.workers = usize::try_from(value("--workers")?)?.max(1),
            "--readers" => options.readers = usize::try_from(value("--readers")?)?,
            "--duration" => options.duration = Duration::from_secs(value("--duration")?.max(1)),
            "--warmup" => options.warmup = Duration::from_secs(value("--warmup")?),
            "--file-kb" => options.file_bytes = usize::try_from(value("--file-kb")?)?.max(1) * 1024,
            other if other.starts_with("http://") || other.starts_with("https://") => {
                options.base = other.trim_end_matches('/').to_owned();
            }
            other => bail!(
                "unknown argument {other}; usage: noark5_load URL [--workers N] [--readers N] [--duration S] [--warmup S] [--file-kb N]"
            ),
        }
    }
    if options.base.is_empty() {
        bail!("usage: noark5_load URL [--workers N] [--readers N] [--duration S] [--warmup S] [--file-kb N]");
    }
    Ok(options)
}

fn basic() -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("anne.arkivar:noark5-demo"))
}

/// The client's view of the server: one connection pool, the login, and how hrefs map onto
/// the socket (hrefs are absolute under the municipality's public address).
#[derive(Debug, Clone)]
struct Api {
    client: Client,
    base: String,
    auth: String,
}

impl Api {
    fn url(&self, href: &str) -> String {
        match href.find("/noark5") {
            Some(at) => format!("{}{}", self.base, &href[at..]),
            None if href.starts_with('/') => format!("{}{href}", self.base),
            None => href.to_owned(),
        }
    }

    async fn get(&self, href: &str) -> anyhow::Result<Value> {
        let response = self.client.get(self.url(href)).header(header::AUTHORIZATION, &self.auth).send().await?;
        let status = response.status();
        let text = response.text().await?;
        if status != StatusCode::OK {
            bail!("GET {href}: {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// POSTs `fields` to the `ny-X` rel of `parent` and returns the created object.
    async fn create(&self, parent: &Value, rel: &str, fields: &Value) -> anyhow::Result<Value> {
        let href = link(parent, rel)?;
        let response = self
            .client
            .request(Method::POST, self.url(&href))
            .header(header::AUTHORIZATION, &self.auth)
            .header(header::CONTENT_TYPE, MEDIA)
            .body(fields.to_string())
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if status != StatusCode::CREATED {
            bail!("POST {rel}: {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    async fn upload(&self, href: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        let response = self
            .client
            .post(self.url(href))
            .header(header::AUTHORIZATION, &self.auth)
            .header(header::CONTENT_TYPE, "application/pdf")
            .body(bytes)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if status != StatusCode::CREATED {
            bail!("POST fil: {status}: {text}");
        }
        Ok(())
    }

    /// A GET whose body is read and dropped: for the load, where only the status matters.
    async fn fetch(&self, url: &str, auth: bool) -> anyhow::Result<()> {
        let mut request = self.client.get(url);
        if auth {
            request = request.header(header::AUTHORIZATION, &self.auth);
        }
        let response = request.send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        if status != StatusCode::OK {
            bail!("GET {url}: {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(())
    }
}

fn link(object: &Value, rel: &str) -> anyhow::Result<String> {
    let key = if rel == "self" || rel.starts_with("http") { rel.to_owned() } else { format!("{REL}{rel}") };
    let href = object["_links"][&key]["href"].as_str().with_context(|| format!("no rel {key} in {object}"))?;
    Ok(href.split('{').next().unwrap_or(href).to_owned())
}

/// Latencies in microseconds, and the failures.
#[derive(Debug, Default)]
struct Sample {
    micros: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

impl Sample {
    fn record(&mut self, started: Instant) {
        self.micros.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
    }

    fn fail(&mut self, error: &anyhow::Error) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(format!("{error:#}"));
        }
    }

    fn merge(&mut self, other: Sample) {
        self.micros.extend(other.micros);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    /// (p50, p99) in milliseconds.
    fn percentiles(&mut self) -> (f64, f64) {
        self.micros.sort_unstable();
        let at = |p: f64| -> f64 {
            if self.micros.is_empty() {
                return f64::NAN;
            }
            let rank = ((p * self.micros.len() as f64).ceil() as usize).clamp(1, self.micros.len());
            f64::from(self.micros[rank - 1]) / 1000.0
        };
        (at(0.50), at(0.99))
    }
}

/// A small random generator per task (xorshift64*), so no crate is needed for picking objects.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        usize::try_from(x % n.max(1) as u64).unwrap_or(0)
    }
}

/// `tasks` tasks repeat `GET url` for `duration`; the latencies of every request.
async fn hammer(api: &Api, url: &str, auth: bool, tasks: usize, duration: Duration) -> Sample {
    let stop = Instant::now() + duration;
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let api = api.clone();
        let url = url.to_owned();
        handles.push(tokio::spawn(async move {
            let mut sample = Sample::default();
            while Instant::now() < stop {
                let started = Instant::now();
                match api.fetch(&url, auth).await {
                    Ok(()) => sample.record(started),
                    Err(error) => sample.fail(&error),
                }
            }
            sample
        }));
    }
    let mut all = Sample::default();
    for handle in handles {
        if let Ok(sample) = handle.await {
            all.merge(sample);
        }
    }
    all
}

/// `tasks` tasks GET objects picked at random from `pool` until `stop` is set or `duration`
/// has passed.
async fn readers(
    api: &Api,
    pool: &Arc<RwLock<Vec<String>>>,
    tasks: usize,
    stop: &Arc<AtomicBool>,
    duration: Duration,
) -> Sample {
    let until = Instant::now() + duration;
    let mut handles = Vec::new();
    for seed in 0..tasks {
        let api = api.clone();
        let pool = Arc::clone(pool);
        let stop = Arc::clone(stop);
        handles.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (seed as u64 + 1).wrapping_mul(0x1234_5678_9abc_def1));
            let mut sample = Sample::default();
            while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                let url = {
                    let hrefs = pool.read().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if hrefs.is_empty() { None } else { Some(hrefs[rng.below(hrefs.len())].clone()) }
                };
                let Some(url) = url else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                let started = Instant::now();
                match api.fetch(&url, true).await {
                    Ok(()) => sample.record(started),
                    Err(error) => sample.fail(&error),
                }
            }
            sample
        }));
    }
    let mut all = Sample::default();
    for handle in handles {
        if let Ok(sample) = handle.await {
            all.merge(sample);
        }
    }
    all
}

/// What the writers measured: the whole unit, and each of its five requests.
#[derive(Debug, Default)]
struct Units {
    unit: Sample,
    steps: [Sample; 5],
}

/// One unit: five requests. Each request's latency goes into `steps`; the created objects'
/// `self` hrefs into `pool` (as URLs on the socket).
async fn unit(
    api: &Api,
    klasse: &Value,
    file: &mut [u8],
    serial: u64,
    steps: &mut [Sample; 5],
    created: &mut Vec<String>,
) -> anyhow::Result<()> {
    // A different PDF each time: `%PDF-1.7`, then the serial number in the next bytes.
    file[9..17].copy_from_slice(&serial.to_le_bytes());
    let sha = store::blobs::sha256_hex(file);
    let size = file.len();
    let fields = [
        json!({"tittel": format!("Byggesak {serial}"), "administrativEnhet": "Plan og bygg", "saksansvarlig": "Kari Nilsen"}),
        json!({"tittel": format!("Søknad om rammetillatelse {serial}"), "journalposttype": {"kode": "I", "kodenavn": "Inngående dokument"},
               "dokumentetsDato": "2026-11-30T00:00:00+01:00", "antallVedlegg": 0}),
        json!({"tittel": "Søknad", "tilknyttetRegistreringSom": {"kode": "H", "kodenavn": "Hoveddokument"}}),
        json!({"versjonsnummer": 1, "variantformat": {"kode": "A", "kodenavn": "Arkivformat"}, "sjekksum": sha,
               "sjekksumAlgoritme": "SHA-256", "filstoerrelse": size, "mimeType": "application/pdf"}),
    ];
    let rels = [
        "sakarkiv/ny-saksmappe/",
        "sakarkiv/ny-journalpost/",
        "arkivstruktur/ny-dokumentbeskrivelse/",
        "arkivstruktur/ny-dokumentobjekt/",
    ];
    let mut parent = klasse.clone();
    for (index, (rel, body)) in rels.iter().zip(fields.iter()).enumerate() {
        let started = Instant::now();
        let object = api.create(&parent, rel, body).await?;
        steps[index].record(started);
        created.push(api.url(&link(&object, "self")?));
        parent = object;
    }
    let file_href = link(&parent, "arkivstruktur/fil/")?;
    let started = Instant::now();
    api.upload(&file_href, file.to_vec()).await?;
    steps[4].record(started);
    Ok(())
}

/// `tasks` tasks create units for `duration`; returns what they measured and how many units
/// were completed.
async fn writers(
    api: &Api,
    klasse: &Value,
    options: &Options,
    duration: Duration,
    pool: &Arc<RwLock<Vec<String>>>,
    serial: &Arc<AtomicU64>,
) -> Units {
    let stop = Instant::now() + duration;
    let mut handles = Vec::new();
    for task in 0..options.workers {
        let api = api.clone();
        let klasse = klasse.clone();
        let pool = Arc::clone(pool);
        let serial = Arc::clone(serial);
        let mut file: Vec<u8> =
            (0..options.file_bytes).map(|i| u8::try_from((i * 31 + task * 7) % 251).unwrap_or(0)).collect();
        file[..9].copy_from_slice(b"%PDF-1.7\n");
        let end = file.len() - 6;
        file[end..].copy_from_slice(b"%%EOF\n");
        handles.push(tokio::spawn(async move {
            let mut units = Units::default();
            let mut created = Vec::with_capacity(4);
            while Instant::now() < stop {
                let n = serial.fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                created.clear();
                match unit(&api, &klasse, &mut file, n, &mut units.steps, &mut created).await {
                    Ok(()) => units.unit.record(started),
                    Err(error) => units.unit.fail(&error),
                }
                pool.write().unwrap_or_else(std::sync::PoisonError::into_inner).append(&mut created);
            }
            units
        }));
    }
    let mut all = Units::default();
    for handle in handles {
        if let Ok(units) = handle.await {
            all.unit.merge(units.unit);
            for (mine, theirs) in all.steps.iter_mut().zip(units.steps) {
                mine.merge(theirs);
            }
        }
    }
    all
}

fn rate(count: usize, duration: Duration) -> f64 {
    count as f64 / duration.as_secs_f64()
}

fn thousands(value: f64) -> String {
    let whole = value.round() as u64;
    let text = whole.to_string();
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i > 0 && (text.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn warn_errors(what: &str, sample: &Sample) {
    if sample.errors > 0 {
        eprintln!(
            "noark5_load: {what}: {} failed; the first: {}",
            sample.errors,
            sample.first_error.as_deref().unwrap_or("?")
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    let client = Client::builder()
        .pool_max_idle_per_host(options.workers + options.readers)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()?;
    let api = Api { client, base: options.base.clone(), auth: basic() };
    let workers = options.workers;
    let duration = options.duration;

    // 1. The baseline: GET /healthz.
    let healthz = format!("{}/healthz", options.base);
    eprintln!("noark5_load: baseline GET /healthz, {workers} tasks, warm-up {:?}, then {duration:?}", options.warmup);
    let _ = hammer(&api, &healthz, false, workers, options.warmup).await;
    let mut baseline = hammer(&api, &healthz, false, workers, duration).await;
    warn_errors("GET /healthz", &baseline);

    // 2. The structure, through the rels.
    let root = api.get("/noark5/").await.context("the root")?;
    let structure = api.get(&link(&root, &format!("{REL}arkivstruktur/"))?).await.context("arkivstruktur")?;
    let arkiv = api
        .create(&structure, "arkivstruktur/ny-arkiv/", &json!({"tittel": "Lasttest", "beskrivelse": "noark5_load"}))
        .await?;
    api.create(
        &arkiv,
        "arkivstruktur/ny-arkivskaper/",
        &json!({"arkivskaperID": "4601", "arkivskaperNavn": "Bergen kommune"}),
    )
    .await?;
    let arkivdel = api.create(&arkiv, "arkivstruktur/ny-arkivdel/", &json!({"tittel": "Sakarkiv"})).await?;
    let system =
        api.create(&arkivdel, "arkivstruktur/ny-klassifikasjonssystem/", &json!({"tittel": "Emnekoder"})).await?;
    let klasse =
        api.create(&system, "arkivstruktur/ny-klasse/", &json!({"klasseID": "611", "tittel": "Byggesaker"})).await?;

    // 3. Units, with readers beside them.
    let pool = Arc::new(RwLock::new(Vec::<String>::new()));
    let serial = Arc::new(AtomicU64::new(1));
    eprintln!(
        "noark5_load: units ({} KiB files), {workers} writers + {} readers, warm-up {:?}, then {duration:?}",
        options.file_bytes / 1024,
        options.readers,
        options.warmup
    );
    let _ = writers(&api, &klasse, &options, options.warmup, &pool, &serial).await;
    let stop = Arc::new(AtomicBool::new(false));
    let reading = {
        let api = api.clone();
        let pool = Arc::clone(&pool);
        let stop = Arc::clone(&stop);
        let tasks = options.readers;
        tokio::spawn(async move { readers(&api, &pool, tasks, &stop, duration + Duration::from_secs(5)).await })
    };
    let started = Instant::now();
    let mut units = writers(&api, &klasse, &options, duration, &pool, &serial).await;
    let write_time = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut under_load = reading.await.unwrap_or_default();
    let read_time = started.elapsed();
    warn_errors("units", &units.unit);
    warn_errors("GET object under load", &under_load);

    // 4. Reads alone.
    let objects = pool.read().unwrap_or_else(std::sync::PoisonError::into_inner).len();
    eprintln!("noark5_load: GET objects alone, {workers} tasks, {duration:?} ({objects} objects to pick from)");
    let alone_stop = Arc::new(AtomicBool::new(false));
    let alone_started = Instant::now();
    let mut alone = readers(&api, &pool, workers, &alone_stop, duration).await;
    let alone_time = alone_started.elapsed();
    warn_errors("GET object alone", &alone);

    // The report.
    let base_rate = rate(baseline.micros.len(), duration);
    let (b50, b99) = baseline.percentiles();
    let unit_rate = rate(units.unit.micros.len(), write_time);
    let request_rate = unit_rate * 5.0;
    let (u50, u99) = units.unit.percentiles();
    let load_rate = rate(under_load.micros.len(), read_time);
    let (l50, l99) = under_load.percentiles();
    let alone_rate = rate(alone.micros.len(), alone_time);
    let (a50, a99) = alone.percentiles();
    let kib = options.file_bytes / 1024;
    println!();
    println!(
        "{} cores, {} writers, {} readers under load, {} s measured per phase, {kib} KiB files, {}.",
        std::thread::available_parallelism().map(std::num::NonZero::get).unwrap_or(0),
        workers,
        options.readers,
        duration.as_secs(),
        objects_note(objects),
    );
    println!();
    println!("| measurement | per second | p50 | p99 | ÷ baseline |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| baseline: `GET /healthz`, {workers} tasks | {} requests | {b50:.2} ms | {b99:.2} ms | 1.00 |",
        thousands(base_rate)
    );
    println!(
        "| **unit**: saksmappe + journalpost + dokumentbeskrivelse + dokumentobjekt + {kib} KiB file (5 requests), {workers} tasks | **{} units** ({} requests) | {u50:.2} ms | {u99:.2} ms | {:.3} (requests) |",
        thousands(unit_rate),
        thousands(request_rate),
        request_rate / base_rate
    );
    for (name, sample) in STEPS.iter().zip(units.steps.iter_mut()) {
        let (p50, p99) = sample.percentiles();
        println!("| &nbsp;&nbsp;{name} | | {p50:.2} ms | {p99:.2} ms | |");
    }
    println!(
        "| `GET …/{{systemID}}/` under that load, {} tasks | {} requests | {l50:.2} ms | {l99:.2} ms | {:.3} |",
        options.readers,
        thousands(load_rate),
        load_rate / base_rate
    );
    println!(
        "| `GET …/{{systemID}}/` alone, {workers} tasks | {} requests | {a50:.2} ms | {a99:.2} ms | {:.3} |",
        thousands(alone_rate),
        alone_rate / base_rate
    );
    let failures = baseline.errors + units.unit.errors + under_load.errors + alone.errors;
    println!();
    println!(
        "Units completed: {} in {:.1} s; failed requests: {failures}.",
        units.unit.micros.len(),
        write_time.as_secs_f64()
    );
    Ok(())
}

fn objects_note(objects: usize) -> String {
    format!(
        "{objects} objects created (the saksmapper, journalposter, dokumentbeskrivelser and dokumentobjekter read back)"
    )
}
