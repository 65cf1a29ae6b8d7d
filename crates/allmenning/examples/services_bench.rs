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
//! 4. **logging in over HTTP**: as many other residents, each with cookies of its own, log in
//!    through the demo's test OpenID provider (`/logg-inn`, the provider's form with the
//!    person's number, the callback): the sessions the next phase uses;
//! 5. **the submission path over HTTP**: those residents apply for the same permit through the
//!    pages, as a browser would, `--residents` at once: the start page, the start (the draft and
//!    its prefill), the form page, the page posted as `multipart/form-data` with the doctor's
//!    statement, the summary, the send, the receipt page. The timer per resident covers the seven
//!    requests; the form page's own latency is reported on a row of its own.
//!
//! The HTTP phases run the application's router on a real socket (`axum::serve`), without the
//! job worker. Prints a markdown table: rates, ratios to the baseline, p50/p99 latencies and the
//! process's CPU time per item (all threads, server and clients alike).

// The report is the program's output.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
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
    /// SQLite's `synchronous`: `full` (the default setting: a commit is on disk before it is
    /// acknowledged) or `normal`.
    #[arg(long, default_value = "full")]
    sqlite_synchronous: String,
}

const KOMMUNE: &str = "4601";
const SERVICE: &str = "parkeringstillatelse-forflytningshemmede";

struct Phase {
    name: String,
    count: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
    /// Whether a rate means anything (a request inside a longer path has latencies, no rate).
    rated: bool,
    /// The process's CPU time (all threads, client and server) during the phase.
    cpu: Option<Duration>,
}

impl Phase {
    fn new(name: String, count: u64, elapsed: Duration, latencies: Vec<Duration>) -> Self {
        Self { name, count, elapsed, latencies, rated: true, cpu: None }
    }

    fn with_cpu(mut self, since: Duration) -> Self {
        self.cpu = Some(cpu_time().saturating_sub(since));
        self
    }

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

/// This process's CPU time so far, user and system, all threads (`/proc/self/stat`, in the
/// kernel's USER_HZ = 100 ticks a second); zero where there is no /proc.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the command name in parentheses: state is field 3, utime 14 and stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn settings(dir: &std::path::Path, residents: u64, public: SocketAddr) -> Settings {
    let mut settings = Settings { mode: Mode::Demo, data_dir: dir.to_owned(), ..Settings::default() };
    settings.server.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    // Logins come back to the socket the benchmark serves on.
    settings.server.public_url = format!("http://{public}");
    // Every resident logs in from the same address.
    settings.rate_limits.login_per_window = u32::MAX;
    settings.rate_limits.token_per_window = u32::MAX;
    settings.demo.residents = u32::try_from(residents).unwrap_or(5000);
    settings
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.submissions >= args.residents && args.residents > 0, "--submissions must be at least --residents");
    let temp = tempfile::tempdir()?;
    let started = time::OffsetDateTime::now_utc();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    // Enough adults for one application each in both submission phases, and more.
    let mut settings = settings(temp.path(), args.submissions * 5 + 500, address);
    settings.database.sqlite_synchronous = match args.sqlite_synchronous.as_str() {
        "full" => store::Synchronous::Full,
        "normal" => store::Synchronous::Normal,
        other => anyhow::bail!("--sqlite-synchronous is full or normal, not {other}"),
    };
    let app = allmenning::app::Application::build(&settings).await?;
    let router = app.router();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await;
    });
    let base = format!("http://{address}");
    let people = adults(&app, args.submissions * 2).await?;
    let (in_process, over_http) = people.split_at(usize::try_from(args.submissions)?);

    let mut phases = Vec::new();
    let cpu = cpu_time();
    phases.push(healthz(&base, args.submissions, args.residents).await?.with_cpu(cpu));
    let cpu = cpu_time();
    phases.push(rendering(&app, (args.submissions / 10).max(10))?.with_cpu(cpu));
    let cpu = cpu_time();
    phases.push(submissions(&app, in_process, args.residents).await?.with_cpu(cpu));
    let cpu = cpu_time();
    let (login, sessions) = log_in(&base, over_http, args.residents).await?;
    phases.push(login.with_cpu(cpu));
    let cpu = cpu_time();
    let (http, form_page) = submissions_over_http(sessions, args.residents).await?;
    phases.push(http.with_cpu(cpu));
    phases.push(form_page);
    server.abort();

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "services_bench, {} submissions, {} residents at once, SQLite synchronous = {}, {} (load average at the \
         end: {})",
        args.submissions,
        args.residents,
        args.sqlite_synchronous,
        started.date(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    println!();
    println!("| phase | count | seconds | per second | ratio to /healthz | p50 ms | p99 ms | CPU ms each |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let baseline = phases[0].rate();
    for phase in &phases {
        let (seconds, rate, ratio) = if phase.rated {
            (
                format!("{:.2}", phase.elapsed.as_secs_f64()),
                format!("{:.0}", phase.rate()),
                format!("{:.4}", phase.rate() / baseline),
            )
        } else {
            ("–".to_owned(), "–".to_owned(), "–".to_owned())
        };
        let cpu = phase
            .cpu
            .map_or_else(|| "–".to_owned(), |cpu| format!("{:.1}", cpu.as_secs_f64() * 1000.0 / phase.count as f64));
        println!(
            "| {} | {} | {seconds} | {rate} | {ratio} | {} | {} | {cpu} |",
            phase.name,
            phase.count,
            phase.percentile(0.5),
            phase.percentile(0.99),
        );
    }
    app.db().close().await;
    Ok(())
}

/// `/healthz` over a real socket from `clients` concurrent clients.
async fn healthz(base: &str, count: u64, clients: u64) -> anyhow::Result<Phase> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(usize::try_from(clients)?).build()?;
    let url = format!("{base}/healthz");
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
    Ok(Phase::new(
        format!("`/healthz` over HTTP, {clients} clients (baseline)"),
        per_client * clients,
        started.elapsed(),
        latencies,
    ))
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
    Ok(Phase::new("rendering a submission's PDF/A alone, one thread".into(), count, started.elapsed(), latencies))
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

/// `residents` concurrent residents apply for a parking permit, one application per person.
async fn submissions(
    app: &allmenning::app::Application,
    people: &[(Fnr, String)],
    residents: u64,
) -> anyhow::Result<Phase> {
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
    let per_task = people.len().div_ceil(usize::try_from(residents)?);
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
    Ok(Phase::new(
        format!(
            "applications in process (start with prefill, a page with an attachment, submit: case, journalpost \
             with PDF/A, decision, letters queued), {residents} residents at once"
        ),
        latencies.len() as u64,
        elapsed,
        latencies,
    ))
}

/// A browser's worth of HTTP for one resident: a client that follows no redirects by itself, and
/// the cookies the server set.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

/// What a request answered: the status, where it redirects, and the body.
struct Answer {
    status: reqwest::StatusCode,
    location: Option<String>,
    body: String,
}

impl Browser {
    /// A browser on a shared client (connections are pooled; the cookies are this browser's).
    /// One client for all: building one reads the system's root certificates, which was a tenth
    /// of the whole run's CPU when each browser built its own.
    fn new(base: &str, client: reqwest::Client) -> Self {
        Self { client, base: base.to_owned(), cookies: Vec::new() }
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") { path_or_url.to_owned() } else { format!("{}{path_or_url}", self.base) }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> anyhow::Result<Answer> {
        let cookie = self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ");
        let request = if cookie.is_empty() { request } else { request.header(reqwest::header::COOKIE, cookie) };
        let response = request.send().await?;
        for set in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let set = set.to_str()?;
            let pair = set.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else { continue };
            self.cookies.retain(|(n, _)| n != name);
            if !set.to_ascii_lowercase().contains("max-age=0") {
                self.cookies.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        let status = response.status();
        let location =
            response.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).map(|l| self.url(l));
        let body = response.text().await?;
        Ok(Answer { status, location, body })
    }

    async fn get(&mut self, path: &str) -> anyhow::Result<Answer> {
        let request = self.client.get(self.url(path));
        self.send(request).await
    }

    async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<Answer> {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let request = self
            .client
            .post(self.url(path))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    /// `multipart/form-data` as a browser sends a form with a file input.
    async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> anyhow::Result<Answer> {
        const BOUNDARY: &str = "allmenning-bench-7d1c2b";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        let (name, file_name, bytes) = file;
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                 Content-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let request = self
            .client
            .post(self.url(path))
            .header(reqwest::header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(body);
        self.send(request).await
    }
}

impl Answer {
    /// The redirect's target, when the request answered 303 (or another redirect).
    fn redirect(&self, what: &str) -> anyhow::Result<String> {
        ensure!(self.status.is_redirection(), "{what}: {} (expected a redirect)", self.status);
        self.location.clone().with_context(|| format!("{what}: a redirect without Location"))
    }

    fn ok(self, what: &str) -> anyhow::Result<String> {
        ensure!(self.status == reqwest::StatusCode::OK, "{what}: {}", self.status);
        Ok(self.body)
    }
}

/// The value of the hidden input `name` in a page.
fn hidden(html: &str, name: &str) -> anyhow::Result<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).with_context(|| format!("no hidden field {name} on the page"))? + marker.len();
    let end = html[start..].find('"').context("an unterminated value")?;
    Ok(html[start..start + end].to_owned())
}

/// Each person logs in through the test provider, `clients` at once: the sessions, in order.
async fn log_in(base: &str, people: &[(Fnr, String)], clients: u64) -> anyhow::Result<(Phase, Vec<Browser>)> {
    let per_task = people.len().div_ceil(usize::try_from(clients)?);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(usize::try_from(clients)?)
        .build()?;
    let started = Instant::now();
    let tasks: Vec<_> = people
        .chunks(per_task)
        .map(|chunk| {
            let chunk = chunk.to_vec();
            let base = base.to_owned();
            let client = client.clone();
            tokio::spawn(async move {
                let mut done = Vec::with_capacity(chunk.len());
                for (fnr, _) in chunk {
                    let begun = Instant::now();
                    let mut browser = Browser::new(&base, client.clone());
                    // /logg-inn sends the browser to the provider with the request in the query.
                    let authorize = browser.get("/logg-inn").await?.redirect("/logg-inn")?;
                    browser.get(&authorize).await?.ok("the provider's login page")?;
                    let query = authorize.split_once('?').map(|(_, q)| q).unwrap_or_default();
                    let mut form: Vec<(String, String)> =
                        form_urlencoded::parse(query.as_bytes()).into_owned().collect();
                    form.push(("pid".to_owned(), fnr.as_digits().to_owned()));
                    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    let callback = browser.post_form("/test-idp/authorize", &pairs).await?.redirect("the provider")?;
                    let landing = browser.get(&callback).await?.redirect("the callback")?;
                    ensure!(landing.ends_with("/min-side"), "the callback sent the resident to {landing}");
                    done.push((browser, begun.elapsed()));
                }
                anyhow::Ok(done)
            })
        })
        .collect();
    let mut browsers = Vec::new();
    let mut latencies = Vec::new();
    for task in tasks {
        for (browser, latency) in task.await?? {
            browsers.push(browser);
            latencies.push(latency);
        }
    }
    let phase = Phase::new(
        format!(
            "logging in over HTTP through the test provider (4 requests: `/logg-inn`, its page, the form, \
             the callback), {clients} at once"
        ),
        latencies.len() as u64,
        started.elapsed(),
        latencies,
    );
    Ok((phase, browsers))
}

/// Each logged-in resident applies for a parking permit through the pages, `clients` at once:
/// the phase, and the form page's latencies as a row of their own.
async fn submissions_over_http(browsers: Vec<Browser>, clients: u64) -> anyhow::Result<(Phase, Phase)> {
    let per_task = browsers.len().div_ceil(usize::try_from(clients)?);
    let pdf = post::testing::minimal_pdf();
    let mut groups: Vec<Vec<Browser>> = Vec::new();
    for browser in browsers {
        match groups.last_mut() {
            Some(group) if group.len() < per_task => group.push(browser),
            _ => groups.push(vec![browser]),
        }
    }
    let started = Instant::now();
    let tasks: Vec<_> = groups
        .into_iter()
        .map(|group| {
            let pdf = pdf.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(group.len());
                let mut form_pages = Vec::with_capacity(group.len());
                for mut browser in group {
                    let begun = Instant::now();
                    let start = format!("/tjenester/{SERVICE}/start");
                    let page = browser.get(&start).await?.ok("the start page")?;
                    let csrf = hidden(&page, "csrf")?;
                    let form_url = browser.post_form(&start, &[("csrf", &csrf)]).await?.redirect("start")?;
                    let shown = Instant::now();
                    browser.get(&form_url).await?.ok("the form page")?;
                    form_pages.push(shown.elapsed());
                    let fields = [("_csrf", csrf.as_str()), ("gangavstand", "under_50"), ("rolle", "forer")];
                    let summary = browser
                        .post_multipart(&form_url, &fields, ("legeerklaering", "lege.pdf", &pdf))
                        .await?
                        .redirect("the page posted")?;
                    ensure!(summary.ends_with("/oppsummering"), "the page sent the resident to {summary}");
                    let page = browser.get(&summary).await?.ok("the summary")?;
                    let key = hidden(&page, "idempotency_key")?;
                    let send = summary.replace("/oppsummering", "/send");
                    let receipt = browser
                        .post_form(&send, &[("csrf", &csrf), ("idempotency_key", &key)])
                        .await?
                        .redirect("send")?;
                    ensure!(receipt.contains("/tjenester/kvittering/"), "send sent the resident to {receipt}");
                    browser.get(&receipt).await?.ok("the receipt")?;
                    latencies.push(begun.elapsed());
                }
                anyhow::Ok((latencies, form_pages))
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut form_pages = Vec::new();
    for task in tasks {
        let (l, f) = task.await??;
        latencies.extend(l);
        form_pages.extend(f);
    }
    let elapsed = started.elapsed();
    let count = latencies.len() as u64;
    let phase = Phase::new(
        format!(
            "**applications over HTTP** (start page, start, form page, the page posted with the attachment, \
             summary, send, receipt page), {clients} residents at once"
        ),
        count,
        elapsed,
        latencies,
    );
    let form_page = Phase {
        name: "… of which the form page (`GET /tjenester/soknad/{draft}/side/gangevne`)".to_owned(),
        count,
        elapsed,
        latencies: form_pages,
        rated: false,
        cpu: None,
    };
    Ok((phase, form_page))
}
