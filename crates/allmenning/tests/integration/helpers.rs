use std::net::SocketAddr;
use std::path::PathBuf;

use allmenning::Application;
use allmenning::config::{Mode, MunicipalityEntry, Settings};
use axum::body::Body;
use axum::http::{Request, Response};
use kernel::Kommunenummer;
use store::Db;
use store::testing::TestDatabase;
use tower::ServiceExt;

/// The repository root, where `npm ci` puts Designsystemet.
pub fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Settings for a test: port 0, a fresh database, a temporary data directory.
pub struct TestSettings {
    pub settings: Settings,
    pub database: TestDatabase,
    /// Kept so the directory lives as long as the test.
    pub _data_dir: tempfile::TempDir,
}

pub async fn test_settings(mode: Mode) -> TestSettings {
    let database = TestDatabase::create().await.expect("test database");
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings { mode, data_dir: data_dir.path().to_owned(), ..Settings::default() };
    settings.server.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    settings.database.url = database.url.clone().into();
    settings.jobs.poll_interval_ms = 20;
    // An hour's window: a bucket refills one attempt per 2 (logins) or 0.5 (tokens) minutes,
    // so tests that count up to a limit do not race the refill.
    settings.rate_limits.window_seconds = 3600;
    // Tests that send feedback or bad tokens many times are not about the limits; the tests of
    // the limits set them low again.
    settings.rate_limits.feedback_per_window = 10_000;
    settings.rate_limits.logged_refusals_per_window = 10_000;
    // A small synthetic municipality keeps demo-mode tests quick.
    settings.demo.residents = 60;
    TestSettings { settings, database, _data_dir: data_dir }
}

/// A handle on a test's database with every context's schema, as the binary opens it.
pub async fn open_db(url: &str) -> Db {
    Db::connect(url, allmenning::app::schema().expect("schema")).await.expect("connect")
}

pub fn kommune(number: &str) -> Kommunenummer {
    Kommunenummer::parse(number).expect("valid kommunenummer")
}

pub fn two_municipalities(settings: &mut Settings) {
    settings.municipalities = vec![
        MunicipalityEntry { kommunenummer: kommune("4601"), hosts: vec!["bergen.test".into()], ..Default::default() },
        MunicipalityEntry {
            kommunenummer: kommune("1103"),
            hosts: vec!["stavanger.test".into()],
            ..Default::default()
        },
    ];
}

/// An application built but not listening: requests go straight into the router.
pub struct InProcess {
    pub app: Application,
    pub _settings: TestSettings,
}

impl InProcess {
    pub async fn new(mode: Mode) -> Self {
        Self::with(test_settings(mode).await).await
    }

    pub async fn with(settings: TestSettings) -> Self {
        let app = Application::build(&settings.settings).await.expect("application builds");
        Self { app, _settings: settings }
    }

    pub fn db(&self) -> &Db {
        self.app.db()
    }

    pub async fn send(&self, request: Request<Body>) -> Response<Body> {
        self.app.router().oneshot(request).await.expect("router answers")
    }

    pub async fn get(&self, path: &str) -> Response<Body> {
        self.send(Request::get(path).body(Body::empty()).expect("request")).await
    }

    pub async fn get_in(&self, path: &str, language: &str) -> Response<Body> {
        self.send(Request::get(path).header("cookie", format!("lang={language}")).body(Body::empty()).expect("request"))
            .await
    }
}

pub async fn body_text(response: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024).await.expect("body");
    String::from_utf8(bytes.to_vec()).expect("utf-8 body")
}

pub async fn body_json(response: Response<Body>) -> serde_json::Value {
    serde_json::from_str(&body_text(response).await).expect("JSON body")
}

/// A real server on a real socket, stopped when dropped.
pub struct Spawned {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub _settings: TestSettings,
}

pub async fn spawn_app(settings: TestSettings) -> Spawned {
    let app = Application::build(&settings.settings).await.expect("application builds");
    let address = app.address();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    Spawned { address, client, stop: Some(stop), task: Some(task), _settings: settings }
}

impl Spawned {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Stops the server gracefully; returns the settings so the database outlives it.
    pub async fn stop(mut self) -> TestSettings {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server stops cleanly");
        }
        self._settings
    }
}

/// The web layer alone over `db`, without the application around it (no migration, no worker).
pub fn bare_state(settings: &TestSettings, db: Db) -> web::AppState {
    let web_config = web::WebConfig {
        demo: false,
        secure_cookies: false,
        max_body_bytes: 1024 * 1024,
        max_archive_file_bytes: archive::records::DEFAULT_MAX_FILE_BYTES,
        trusted_proxies: vec![],
        municipalities: settings.settings.web_municipalities(&settings.settings.public_url()),
        limits: settings.settings.rate_limits.web(),
        metrics_token: None,
    };
    let blobs = store::BlobStore::open(&store::BlobConfig::Memory).expect("blobs");
    let identity = web::IdentityServices::without_login(db.clone()).expect("identity");
    let registers = registers::Registers::new(db.clone(), &Default::default()).expect("registers");
    let noark = archive::Noark::new(db.clone(), blobs.clone());
    let post = post::Post::new(
        db.clone(),
        noark.clone(),
        registers.clone(),
        post::Channels::not_configured(),
        Default::default(),
    );
    let cases = cases::Cases::new(db.clone(), noark, post.clone(), Default::default());
    let catalog = services::Catalog::load(&services::Sources::embedded()).expect("the catalogue");
    let applications =
        services::apply::Applications::new(db.clone(), blobs.clone(), registers, cases, std::sync::Arc::new(catalog));
    web::AppState::new(db, blobs, web_config, Default::default(), identity, post, applications).expect("state")
}

/// A real server on a real socket, like [`spawn_app`], with a handle on its database (the same
/// pool the server uses) for checks in SQL.
pub async fn spawn_app_with_db(settings: TestSettings) -> (Spawned, Db) {
    let app = Application::build(&settings.settings).await.expect("application builds");
    let db = app.db().clone();
    let address = app.address();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    (Spawned { address, client, stop: Some(stop), task: Some(task), _settings: settings }, db)
}

/// A command for the `allmenning` binary at `binary`, with none of this process's
/// `ALLMENNING__` variables and quiet logs.
pub fn server_command(binary: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(binary);
    for (name, _) in std::env::vars() {
        if name.starts_with("ALLMENNING__") {
            command.env_remove(name);
        }
    }
    command.env("RUST_LOG", "warn");
    command
}

/// Starts `command` (an `allmenning serve` on port 0) and waits for its first line, which names
/// the address it listens on: the child and its base URL.
pub async fn start_server(mut command: std::process::Command) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("server starts");
    let stdout = child.stdout.take().expect("stdout");
    let first_line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .expect("join")
    .expect("read");
    let base = first_line.trim().rsplit(' ').next().expect("url").trim_end_matches('/').to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{first_line}");
    (child, base)
}

/// One answer to a [`Visitor`], read whole.
pub struct Page {
    pub status: axum::http::StatusCode,
    pub location: Option<String>,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub body: String,
}

/// Someone logged in (or not), talking to the router in process with the session cookie and a
/// language cookie, as a browser does.
pub struct Visitor<'a> {
    pub app: &'a InProcess,
    pub cookie: Option<String>,
    pub csrf: String,
    pub session: Option<identity::sessions::Session>,
    pub language: &'static str,
}

impl<'a> Visitor<'a> {
    pub fn anonymous(app: &'a InProcess) -> Self {
        Self { app, cookie: None, csrf: String::new(), session: None, language: "nb" }
    }

    async fn logged_in(app: &'a InProcess, new: identity::sessions::NewSession) -> Self {
        let sessions = identity::sessions::Sessions::new(app.db().clone(), Default::default());
        let (cookie, session) = sessions.start(new, None).await.expect("a session");
        Self { app, cookie: Some(cookie), csrf: session.csrf_token.clone(), session: Some(session), language: "nb" }
    }

    /// A resident logged in with ID-porten (substantial).
    pub async fn resident(app: &'a InProcess, persona: registers::synthetic::Persona) -> Self {
        Self::logged_in(
            app,
            identity::sessions::NewSession {
                principal: identity::Principal::Person(persona.fnr()),
                display_name: persona.name().to_owned(),
                kommunenummer: None,
                provider: "idporten".to_owned(),
                acr: Some("idporten-loa-substantial".to_owned()),
                idp_sid: None,
                id_token: None,
            },
        )
        .await
    }

    /// A demo employee of Bergen (4601) logged in, by their login subject.
    pub async fn employee(app: &'a InProcess, subject: &str) -> Self {
        let bergen = kommune("4601");
        let employee = identity::employees::Employees::new(app.db().clone(), bergen)
            .by_subject(subject)
            .await
            .expect("lookup")
            .expect("an employee");
        Self::logged_in(
            app,
            identity::sessions::NewSession {
                principal: identity::Principal::Employee(employee.id),
                display_name: employee.name,
                kommunenummer: Some(bergen),
                provider: "employees".to_owned(),
                acr: None,
                idp_sid: None,
                id_token: None,
            },
        )
        .await
    }

    /// Whom the session acts for from now on.
    pub async fn act_as(&self, acting: identity::ActingAs, name: &str) {
        identity::sessions::Sessions::new(self.app.db().clone(), Default::default())
            .set_acting_as(self.session.as_ref().expect("logged in"), &acting, Some(name))
            .await
            .expect("acting");
    }

    fn cookies(&self) -> String {
        match &self.cookie {
            Some(cookie) => format!("sesjon={cookie}; lang={}", self.language),
            None => format!("lang={}", self.language),
        }
    }

    async fn read(&self, request: Request<Body>) -> Page {
        let response = self.app.send(request).await;
        let status = response.status();
        let text = |name: axum::http::header::HeaderName| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
        };
        let location = Some(text(axum::http::header::LOCATION)).filter(|l| !l.is_empty());
        let content_type = text(axum::http::header::CONTENT_TYPE);
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024).await.expect("body").to_vec();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        Page { status, location, content_type, bytes, body }
    }

    pub async fn get(&self, path: &str) -> Page {
        let request = Request::get(path).header(axum::http::header::COOKIE, self.cookies()).body(Body::empty());
        self.read(request.expect("request")).await
    }

    /// Posts `fields` as a form, as they are (see [`Visitor::form`] for one with the CSRF token).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let request = Request::post(path)
            .header(axum::http::header::COOKIE, self.cookies())
            .header(axum::http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.read(request).await
    }

    /// Posts `fields` as a form with the session's CSRF token as `csrf`.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    /// Posts a multipart form: text fields and files (field, file name, bytes).
    pub async fn post_multipart(&self, path: &str, fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Page {
        let boundary = "----allmenning-test-boundary";
        let mut body: Vec<u8> = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        for (name, file_name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let request = Request::post(path)
            .header(axum::http::header::COOKIE, self.cookies())
            .header(axum::http::header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(Body::from(body))
            .expect("request");
        self.read(request).await
    }
}
