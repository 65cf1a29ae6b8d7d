//! The settings: one typed struct, read once from an optional TOML file and
//! `ALLMENNING__SECTION__KEY` environment variables, and passed in from there. Unknown keys and
//! invalid values are refused with one line naming the key.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use kernel::Kommunenummer;
use serde::{Deserialize, Serialize};

/// The prefix of environment variables that set configuration keys.
pub const ENV_PREFIX: &str = "ALLMENNING__";

/// Production or demonstration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The real thing: dev-only parts are refused.
    #[default]
    Production,
    /// A synthetic municipality; dev-only parts allowed.
    Demo,
}

/// A value that is never printed or logged.
#[derive(Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(if self.0.is_empty() { "" } else { "[redacted]" })
    }
}

/// Every setting. Defaults need no configuration at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// `production` (default) or `demo`.
    pub mode: Mode,
    /// Where local data lives: the SQLite file and local blobs.
    pub data_dir: PathBuf,
    /// The HTTP server.
    pub server: ServerSettings,
    /// The database.
    pub database: DatabaseSettings,
    /// The blob store.
    pub blobs: BlobSettings,
    /// Background jobs and event consumers.
    pub jobs: JobSettings,
    /// How long finished jobs and consumed events are kept.
    pub retention: RetentionSettings,
    /// Logging.
    pub log: LogSettings,
    /// Where the base registers are.
    pub registers: RegistersSettings,
    /// The synthetic municipality of demo mode.
    pub demo: DemoSettings,
    /// Citizen login (ID-porten, or the test provider in demo mode).
    pub idporten: LoginSettings,
    /// Employee login (the municipality's own OpenID provider).
    pub employee_login: LoginSettings,
    /// Sessions.
    pub sessions: SessionsSettings,
    /// Rate limits on logins and token requests.
    pub rate_limits: RateLimitSettings,
    /// Machine clients: which Maskinporten's tokens the API accepts.
    pub maskinporten: MaskinportenSettings,
    /// The Noark 5 archive.
    pub archive: ArchiveSettings,
    /// Digital post.
    pub post: PostSettings,
    /// Case handling.
    pub cases: CasesSettings,
    /// The service catalogue: a municipality's own definitions, services switched off, drafts.
    pub services: ServicesSettings,
    /// The municipalities this deployment serves.
    pub municipalities: Vec<MunicipalityEntry>,
}

/// The Noark 5 archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveSettings {
    /// The largest file a dokumentobjekt may hold, in bytes (413 above it).
    pub max_file_bytes: u64,
}

impl Default for ArchiveSettings {
    fn default() -> Self {
        Self { max_file_bytes: archive::records::DEFAULT_MAX_FILE_BYTES }
    }
}

const DAY: u64 = 24 * 3600;
const HOUR: u64 = 3600;

/// Digital post: how letters leave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostSettings {
    /// Each municipality's organisasjonsnummer, the sender of its digital post:
    /// `{ "4601" = "964338531" }`.
    pub organisasjonsnummer: std::collections::BTreeMap<String, String>,
    /// The domain in notice e-mails' `Message-ID`; empty: the public address's host.
    pub mail_domain: String,
    /// Working days a letter may lie unread in the inbox before it is printed.
    pub paper_after_working_days: u32,
    /// Seconds between print batches (a day by default).
    pub print_interval_seconds: u64,
    /// Seconds between readings of the print vendor's receipts.
    pub receipts_interval_seconds: u64,
    /// Seconds between questions to the integrasjonspunkt about a letter.
    pub poll_interval_seconds: u64,
    /// The largest PDF taken, per document, in bytes.
    pub max_document_bytes: u64,
    /// Tries of each delivery step before the letter is IKKE_LEVERT (with a task).
    pub max_attempts: u32,
    /// A directory of the municipality's own letter templates (`vedtak.toml`, …), replacing
    /// the built-in ones of the same kind; checked at start (an unknown field stops the server,
    /// naming the file and the field). Empty: the built-in templates.
    pub templates_dir: PathBuf,
    /// Print an unread inbox letter after this many seconds instead of the working days (for
    /// tests and the crash test); 0 counts working days.
    pub paper_after_seconds: u64,
    /// Run the simulators of the integrasjonspunkt, the SMS gateway and the print vendor inside
    /// the server for every channel without a URL. On in demo mode unless set.
    pub simulate: Option<bool>,
    /// The municipality's integrasjonspunkt (eFormidling), for digital mailboxes.
    pub integrasjonspunkt: IntegrasjonspunktSettings,
    /// The SMS gateway (LINK Mobility's REST API); no `url`: no SMS notices (or simulated).
    pub sms: Option<post::adapters::sms::HttpSmsSettings>,
    /// The SMTP server for e-mail notices; none: written to `<data_dir>/post/epost` in demo
    /// mode, no e-mail notices otherwise.
    pub smtp: Option<post::adapters::email::SmtpSettings>,
    /// The sender address of e-mail notices when no SMTP server is set.
    pub from: String,
    /// Where print batches go and receipts come back: a directory (default
    /// `<data_dir>/post/print`) or a bucket, as `[blobs]`.
    pub print: BlobSettings,
}

/// The integrasjonspunkt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct IntegrasjonspunktSettings {
    /// Its address (`http://localhost:9093`); empty: not configured (or simulated).
    pub url: String,
    /// A bearer token, if it is behind a gateway that wants one.
    pub token: Secret,
}

impl Default for PostSettings {
    fn default() -> Self {
        let engine = post::PostConfig::default();
        Self {
            organisasjonsnummer: std::collections::BTreeMap::new(),
            mail_domain: String::new(),
            paper_after_working_days: engine.paper_after_working_days,
            print_interval_seconds: engine.print_interval.as_secs(),
            receipts_interval_seconds: engine.receipts_interval.as_secs(),
            poll_interval_seconds: engine.poll_interval.as_secs(),
            max_document_bytes: engine.max_document_bytes,
            max_attempts: engine.max_attempts,
            templates_dir: PathBuf::new(),
            paper_after_seconds: 0,
            simulate: None,
            integrasjonspunkt: IntegrasjonspunktSettings::default(),
            sms: None,
            smtp: None,
            from: "Kommunen <ikke-svar@allmenning.invalid>".to_owned(),
            print: BlobSettings::default(),
        }
    }
}

/// One OpenID provider the platform logs people in through. An empty `issuer` means the
/// built-in test provider in demo mode, and no login at all in production.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginSettings {
    /// The issuer, e.g. `https://idporten.no` or `https://test.idporten.no`.
    pub issuer: String,
    /// Our client id at the provider.
    pub client_id: String,
    /// A PEM private key for `private_key_jwt` (preferred); its key id is `client_key_id`.
    pub client_key_file: PathBuf,
    /// The key id registered with the provider for `client_key_file`.
    pub client_key_id: String,
    /// A client secret, used with `client_secret_basic` when no key file is given.
    pub client_secret: Secret,
    /// The scopes asked for.
    pub scopes: String,
    /// The `acr_values` asked for; empty asks for none.
    pub acr_values: String,
    /// The lowest `acr` accepted in the ID token; empty checks none (employee providers).
    pub minimum_acr: String,
    /// The ID-token claim that identifies the user: `pid` for ID-porten, `sub` or `oid` for
    /// employee providers.
    pub subject_claim: String,
    /// How far clocks may disagree, in seconds.
    pub leeway_seconds: u32,
    /// How long discovery metadata and keys are cached, in seconds.
    pub metadata_ttl_seconds: u32,
}

impl LoginSettings {
    fn citizens() -> Self {
        Self {
            issuer: String::new(),
            client_id: String::new(),
            client_key_file: PathBuf::new(),
            client_key_id: String::new(),
            client_secret: Secret::default(),
            scopes: "openid profile".to_owned(),
            acr_values: "idporten-loa-substantial".to_owned(),
            minimum_acr: "idporten-loa-substantial".to_owned(),
            subject_claim: "pid".to_owned(),
            leeway_seconds: 30,
            metadata_ttl_seconds: 24 * 60 * 60,
        }
    }
}

impl Default for LoginSettings {
    fn default() -> Self {
        Self::citizens()
    }
}

fn default_employee_login() -> LoginSettings {
    LoginSettings {
        scopes: "openid profile email".to_owned(),
        acr_values: String::new(),
        minimum_acr: String::new(),
        subject_claim: "sub".to_owned(),
        ..LoginSettings::citizens()
    }
}

/// Sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionsSettings {
    /// A session ends after this many minutes without a request.
    pub idle_minutes: u32,
    /// A session ends this many minutes after login, however active.
    pub absolute_minutes: u32,
}

impl Default for SessionsSettings {
    fn default() -> Self {
        Self { idle_minutes: 30, absolute_minutes: 120 }
    }
}

/// Rate limits on logins and token requests, per client address (see `server.trusted_proxies`)
/// and per instance: each address may make `*_per_window` attempts at once, and gets one back
/// every `window_seconds / *_per_window` seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// Login starts and callbacks per address in a window.
    pub login_per_window: u32,
    /// Token requests per address in a window.
    pub token_per_window: u32,
    /// Feedback sent without logging in (form or API) per address in a window.
    pub feedback_per_window: u32,
    /// Holders looked up by number and surname on the fullmakt form, per person and hour (not
    /// per window): guessing surnames until one matches stays slow.
    pub fullmakt_lookups_per_hour: u32,
    /// Refused access tokens written to the access log per address in a window; more are
    /// refused without an entry each, so nobody grows the log at will.
    pub logged_refusals_per_window: u32,
    /// The window, in seconds.
    pub window_seconds: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            login_per_window: 30,
            token_per_window: 120,
            feedback_per_window: 10,
            fullmakt_lookups_per_hour: 20,
            logged_refusals_per_window: 30,
            window_seconds: 60,
        }
    }
}

impl RateLimitSettings {
    /// The web layer's limits on anonymous traffic.
    pub fn web(&self) -> web::WebLimits {
        web::WebLimits {
            feedback: self.feedback_per_window,
            fullmakt_lookups_per_hour: self.fullmakt_lookups_per_hour,
            logged_refusals: self.logged_refusals_per_window,
            window: self.window(),
        }
    }

    /// The window as a duration.
    pub fn window(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.window_seconds))
    }
}

/// Machine clients.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaskinportenSettings {
    /// The Maskinporten issuer whose access tokens the API accepts, e.g.
    /// `https://maskinporten.no/`; empty accepts none from outside.
    pub issuer: String,
    /// Its key set, e.g. `https://maskinporten.no/jwk`.
    pub jwks_uri: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mode: Mode::Production,
            data_dir: PathBuf::from("./data"),
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            retention: RetentionSettings::default(),
            blobs: BlobSettings::default(),
            jobs: JobSettings::default(),
            log: LogSettings::default(),
            registers: RegistersSettings::default(),
            demo: DemoSettings::default(),
            idporten: LoginSettings::default(),
            employee_login: default_employee_login(),
            sessions: SessionsSettings::default(),
            rate_limits: RateLimitSettings::default(),
            maskinporten: MaskinportenSettings::default(),
            archive: ArchiveSettings::default(),
            post: PostSettings::default(),
            cases: CasesSettings::default(),
            services: ServicesSettings::default(),
            municipalities: vec![MunicipalityEntry::default()],
        }
    }
}

/// Case handling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CasesSettings {
    /// How often the check for cases that need a provisional reply (forvaltningsloven § 11a)
    /// runs, in seconds (a day).
    pub provisional_reply_check_interval_seconds: u64,
    /// How many days before a provisional reply is due the case is flagged.
    pub provisional_reply_warning_days: u32,
}

impl Default for CasesSettings {
    fn default() -> Self {
        Self { provisional_reply_check_interval_seconds: DAY, provisional_reply_warning_days: 7 }
    }
}

impl CasesSettings {
    /// The case engine's configuration.
    pub fn config(&self) -> cases::CasesConfig {
        cases::CasesConfig {
            provisional_reply_check_interval: std::time::Duration::from_secs(
                self.provisional_reply_check_interval_seconds.max(1),
            ),
            provisional_reply_warning_days: self.provisional_reply_warning_days,
        }
    }
}

/// The service catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServicesSettings {
    /// Directories of the municipality's own definitions (`*.toml`), added to those compiled
    /// into the binary.
    pub directories: Vec<PathBuf>,
    /// Ids of services switched off (an unknown id stops the start).
    pub disabled: Vec<String>,
    /// How many days an unsent draft is kept after it was last saved.
    pub draft_retention_days: u32,
}

impl Default for ServicesSettings {
    fn default() -> Self {
        Self { directories: Vec::new(), disabled: Vec::new(), draft_retention_days: 30 }
    }
}

impl ServicesSettings {
    /// Where the catalogue's definitions come from.
    pub fn sources(&self) -> services::Sources {
        services::Sources {
            embedded: true,
            directories: self.directories.clone(),
            files: Vec::new(),
            disabled: self.disabled.clone(),
        }
    }

    /// How long a draft is kept (at least a day).
    pub fn draft_retention(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.draft_retention_days.max(1)) * DAY)
    }
}

/// The HTTP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address and port to listen on.
    pub bind: SocketAddr,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Served over HTTPS (directly or behind a proxy): cookies are marked `Secure` and
    /// responses carry `Strict-Transport-Security`. An `https://` `public_url` implies it.
    pub secure_cookies: bool,
    /// The address people reach the server at, e.g. `https://tjenester.bergen.kommune.no`;
    /// login redirects come back here. Empty means `http://` and the `bind` address.
    pub public_url: String,
    /// Proxies (load balancers) trusted to say where a request came from, as addresses or
    /// networks: `["10.0.0.0/8", "192.0.2.10"]`. Behind them, rate limits key on the address
    /// they report in `X-Forwarded-For`; from anyone else the header is ignored. Empty (the
    /// default): the connection's peer is the client.
    pub trusted_proxies: Vec<String>,
    /// A request's headers must arrive within this many seconds, or the connection is closed
    /// (a client that trickles them in holds nothing for longer).
    pub header_timeout_seconds: u32,
    /// A request's body must arrive within this many seconds (408 otherwise).
    pub body_timeout_seconds: u32,
    /// At most this many connections are served at once; more wait to be accepted.
    pub max_connections: u32,
    /// A token that lets a scraper elsewhere read `/metrics` (`Authorization: Bearer …`).
    /// Empty (the default): only clients on this machine may read them.
    pub metrics_token: Secret,
}

impl ServerSettings {
    /// How the server treats slow and many clients.
    pub fn serve_limits(&self) -> web::ServeLimits {
        web::ServeLimits {
            header_timeout: std::time::Duration::from_secs(u64::from(self.header_timeout_seconds)),
            body_timeout: std::time::Duration::from_secs(u64::from(self.body_timeout_seconds)),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
        }
    }

    /// The trusted proxies as networks (an address alone is a network of one).
    pub fn trusted_proxy_networks(&self) -> Result<Vec<web::IpNet>, String> {
        self.trusted_proxies
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<web::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(web::IpNet::from))
                    .map_err(|_| format!("{entry:?} is neither an IP address nor a network like 10.0.0.0/8"))
            })
            .collect()
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 1024 * 1024,
            secure_cookies: false,
            public_url: String::new(),
            trusted_proxies: Vec::new(),
            header_timeout_seconds: 10,
            body_timeout_seconds: 30,
            max_connections: 1024,
            metrics_token: Secret::default(),
        }
    }
}

/// The database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://path` or `postgres://...`; empty means `sqlite://<data_dir>/allmenning.db`.
    pub url: Secret,
    /// Connections in the pool (PostgreSQL).
    pub max_connections: u32,
    /// SQLite only: `full` (the default: a commit is on disk before it is acknowledged, so not
    /// even a power cut loses it) or `normal` (a commit reaches the operating system but not
    /// the disk: a killed process loses nothing, a power cut can lose the last commits).
    pub sqlite_synchronous: store::Synchronous,
    /// SQLite only: transactions committing at the same time share one commit (one flush).
    pub group_commit: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Secret::default(),
            max_connections: 10,
            sqlite_synchronous: store::Synchronous::Full,
            group_commit: true,
        }
    }
}

impl DatabaseSettings {
    /// The store's options.
    pub fn options(&self) -> store::DbOptions {
        store::DbOptions {
            max_connections: self.max_connections,
            sqlite: store::SqliteOptions { synchronous: self.sqlite_synchronous, group_commit: self.group_commit },
        }
    }
}

/// How long finished work is kept; 0 keeps it for ever.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// Days a finished job is kept.
    pub done_jobs_days: u32,
    /// Days a dead-lettered job is kept (long enough for someone to look at it).
    pub dead_jobs_days: u32,
    /// Days an event is kept once every consumer has passed it.
    pub events_days: u32,
    /// How often the purge runs, in minutes.
    pub interval_minutes: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self { done_jobs_days: 14, dead_jobs_days: 90, events_days: 90, interval_minutes: 60 }
    }
}

impl RetentionSettings {
    /// The store's retention.
    pub fn retention(&self) -> store::retention::Retention {
        let days = |n: u32| (n > 0).then(|| std::time::Duration::from_secs(u64::from(n) * 24 * 3600));
        store::retention::Retention {
            done_jobs: days(self.done_jobs_days),
            dead_jobs: days(self.dead_jobs_days),
            events: days(self.events_days),
            interval: std::time::Duration::from_secs(u64::from(self.interval_minutes.max(1)) * 60),
        }
    }
}

/// Where blobs go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobBackend {
    /// A local directory.
    #[default]
    Local,
    /// S3-compatible object storage.
    S3,
}

/// The blob store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlobSettings {
    /// `local` (default) or `s3`.
    pub backend: BlobBackend,
    /// For `local`: the directory; empty means `<data_dir>/blobs`.
    pub path: PathBuf,
    /// For `s3`: the bucket.
    pub bucket: String,
    /// For `s3`: the endpoint (MinIO, Ceph); empty for AWS.
    pub endpoint: String,
    /// For `s3`: the region.
    pub region: String,
    /// For `s3`: the access key id.
    pub access_key_id: String,
    /// For `s3`: the secret key.
    pub secret_access_key: Secret,
    /// For `s3`: allow plain HTTP (a local MinIO).
    pub allow_http: bool,
}

impl Default for BlobSettings {
    fn default() -> Self {
        Self {
            backend: BlobBackend::Local,
            path: PathBuf::new(),
            bucket: String::new(),
            endpoint: String::new(),
            region: "us-east-1".to_owned(),
            access_key_id: String::new(),
            secret_access_key: Secret::default(),
            allow_http: false,
        }
    }
}

/// Background jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobSettings {
    /// Jobs run at once in this process; 0 runs no worker here.
    pub workers: usize,
    /// How often to look for due jobs, in milliseconds.
    pub poll_interval_ms: u64,
    /// How long a claimed job is held before another worker may take it, in seconds.
    pub lease_seconds: u64,
    /// How long shutdown waits for running jobs, in seconds.
    pub shutdown_grace_seconds: u64,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self { workers: 4, poll_interval_ms: 250, lease_seconds: 300, shutdown_grace_seconds: 20 }
    }
}

/// Log output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `text` (default) or `json`.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `info,store=debug`; `RUST_LOG` overrides it.
    pub filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: LogFormat::Text, filter: "info".to_owned() }
    }
}

/// Where each base register is: an empty URL means the local database (filled by demo mode);
/// a URL means the real service's API at that root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistersSettings {
    /// Folkeregisteret's API root, e.g. `https://folkeregisteret.api.skatteetaten.no`.
    pub folkeregisteret_url: String,
    /// The Folkeregisteret rettighetspakke the municipality has a legal basis for:
    /// `offentlig-med-hjemmel` (the default), or another package's path name from Skatteetaten's
    /// Endepunkter.md (`offentligutenhjemmel`, ...); the path and bulk lookups follow from it.
    pub folkeregisteret_rettighetspakke: String,
    /// KRR's API root: `https://kontaktregisteret.no`, or `https://test.kontaktregisteret.no`.
    pub krr_url: String,
    /// Enhetsregisteret's API root, e.g. `https://data.brreg.no`.
    pub enhetsregisteret_url: String,
    /// Read organisations' roles, with the holders' fødselsnummer, from Enhetsregisteret's
    /// authorised API (`/enhetsregisteret/autorisert-api/...`) with `token`, which must then be a
    /// Maskinporten token Brønnøysundregistrene accepts there. Off: organisations come without
    /// role holders (the open API names none by number); see docs/IDENTITY.md.
    pub enhetsregisteret_authorised_roles: bool,
    /// Matrikkelen's API root.
    pub matrikkelen_url: String,
    /// A bearer token sent to the registers (a Maskinporten access token) until the platform
    /// fetches its own.
    pub token: Secret,
}

impl Default for RegistersSettings {
    fn default() -> Self {
        Self {
            folkeregisteret_url: String::new(),
            folkeregisteret_rettighetspakke: "offentlig-med-hjemmel".to_owned(),
            krr_url: String::new(),
            enhetsregisteret_url: String::new(),
            enhetsregisteret_authorised_roles: false,
            matrikkelen_url: String::new(),
            token: Secret::default(),
        }
    }
}

/// The synthetic population demo mode generates (once, into an empty database).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoSettings {
    /// About how many residents each municipality gets.
    pub residents: u32,
    /// The random seed; the same seed gives the same population.
    pub seed: u64,
}

impl Default for DemoSettings {
    fn default() -> Self {
        Self { residents: 2000, seed: 42 }
    }
}

/// One municipality served by this deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MunicipalityEntry {
    /// Its kommunenummer (four digits, e.g. "4601").
    pub kommunenummer: Kommunenummer,
    /// Host names that reach it; leave empty for the one that answers every other host.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Its public address (`https://bergen.example.no`): login comes back here and its API's
    /// tokens name it. Empty: `server.public_url` with the host replaced by the first of
    /// `hosts` (or `server.public_url` itself for the municipality without hosts).
    #[serde(default)]
    pub public_url: String,
}

impl Default for MunicipalityEntry {
    fn default() -> Self {
        Self { kommunenummer: default_kommune(), hosts: Vec::new(), public_url: String::new() }
    }
}

impl MunicipalityEntry {
    /// Its public address without a trailing slash, given the deployment's (`deployment`).
    pub fn public_url(&self, deployment: &str) -> String {
        if !self.public_url.is_empty() {
            return self.public_url.trim_end_matches('/').to_owned();
        }
        let Some(host) = self.hosts.first() else { return deployment.trim_end_matches('/').to_owned() };
        let (scheme, rest) = deployment.split_once("://").unwrap_or(("http", deployment));
        let authority = rest.split('/').next().unwrap_or_default();
        let port = authority
            .rsplit_once(':')
            .map(|(_, port)| port)
            .filter(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
        match port {
            Some(port) if !host.contains(':') => format!("{scheme}://{host}:{port}"),
            _ => format!("{scheme}://{host}"),
        }
    }
}

/// Bergen, the municipality a configuration without any serves.
fn default_kommune() -> Kommunenummer {
    // 4601 is on the compiled-in list, so this cannot fail; the fallback keeps it total.
    Kommunenummer::parse("4601").unwrap_or_else(|_| kernel::kommune::kommuner()[0].nummer)
}

/// A configuration that cannot be used. Printed as one line; the process exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML.
    #[error("configuration file {path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// An environment variable does not fit its key.
    #[error("environment variable {variable}: {message}")]
    Environment {
        /// The variable.
        variable: String,
        /// Why.
        message: String,
    },
    /// A key is unknown or its value invalid.
    #[error("configuration key `{key}`: {message}")]
    Key {
        /// The dotted key, e.g. `server.bind`.
        key: String,
        /// Why.
        message: String,
    },
}

/// Values given on the command line, which win over file and environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--port`.
    pub port: Option<u16>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// Set by `allmenning demo`.
    pub demo: bool,
    /// `demo --kommune`: serve this one municipality.
    pub kommune: Option<Kommunenummer>,
    /// `demo --residents`.
    pub residents: Option<u32>,
    /// `demo --seed`.
    pub seed: Option<u64>,
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else { return Err("empty key".to_owned()) };
    let mut current = table;
    for segment in parents {
        let entry = current.entry(segment.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = match entry {
            toml::Value::Table(inner) => inner,
            _ => return Err(format!("`{segment}` is not a section")),
        };
    }
    current.insert(last.clone(), value);
    Ok(())
}

fn lookup<'v>(value: &'v toml::Value, path: &[String]) -> Option<&'v toml::Value> {
    path.iter().try_fold(value, |v, segment| v.as_table()?.get(segment))
}

/// Turns an environment variable's text into the TOML type the default setting has, so that
/// `"0301"` stays a string and `"8080"` becomes a number where a number is expected.
fn coerce(text: &str, template: Option<&toml::Value>) -> Result<toml::Value, String> {
    match template {
        Some(toml::Value::Integer(_)) => text
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| format!("expected a whole number, got {text:?}")),
        Some(toml::Value::Boolean(_)) => match text.trim() {
            "true" => Ok(toml::Value::Boolean(true)),
            "false" => Ok(toml::Value::Boolean(false)),
            _ => Err(format!("expected true or false, got {text:?}")),
        },
        Some(toml::Value::Array(_)) | Some(toml::Value::Table(_)) => {
            let wrapped = format!("value = {text}");
            let mut table: toml::Table =
                wrapped.parse().map_err(|e: toml::de::Error| format!("expected a TOML value: {}", e.message()))?;
            table.remove("value").ok_or_else(|| "expected a TOML value".to_owned())
        }
        _ => Ok(toml::Value::String(text.to_owned())),
    }
}

impl Settings {
    /// Reads the file (if any), applies `ALLMENNING__...` variables from `environment`, then
    /// the command-line `overrides`, and checks every key.
    pub fn load(
        file: Option<&Path>,
        environment: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Settings, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
                text.parse::<toml::Table>().map_err(|e| ConfigError::Syntax {
                    path: path.to_owned(),
                    message: e.to_string().replace('\n', " "),
                })?
            }
            None => toml::Table::new(),
        };
        let template = toml::Value::try_from(Settings::default()).ok();
        let mut variables: Vec<(String, String)> =
            environment.into_iter().filter(|(name, _)| name.starts_with(ENV_PREFIX)).collect();
        variables.sort();
        for (variable, text) in variables {
            let path: Vec<String> = variable[ENV_PREFIX.len()..].split("__").map(str::to_ascii_lowercase).collect();
            if path.iter().any(String::is_empty) {
                return Err(ConfigError::Environment { variable, message: "empty key segment".to_owned() });
            }
            let value = coerce(&text, template.as_ref().and_then(|t| lookup(t, &path)))
                .map_err(|message| ConfigError::Environment { variable: variable.clone(), message })?;
            set_path(&mut table, &path, value).map_err(|message| ConfigError::Environment { variable, message })?;
        }
        if overrides.demo {
            table.insert("mode".to_owned(), toml::Value::String("demo".to_owned()));
            if !table.contains_key("data_dir") {
                table.insert("data_dir".to_owned(), toml::Value::String("./data/demo".to_owned()));
            }
        }
        let mut settings: Settings = serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|error| {
            let key = error.path().to_string();
            ConfigError::Key {
                key: if key == "." { "(top level)".to_owned() } else { key },
                // The TOML deserialiser adds "in `key`" on further lines; the key is named already.
                message: error.into_inner().to_string().lines().next().unwrap_or_default().to_owned(),
            }
        })?;
        if let Some(port) = overrides.port {
            settings.server.bind.set_port(port);
        }
        if let Some(dir) = &overrides.data_dir {
            settings.data_dir = dir.clone();
        }
        if let Some(kommunenummer) = overrides.kommune {
            settings.municipalities = vec![MunicipalityEntry { kommunenummer, ..MunicipalityEntry::default() }];
        }
        if let Some(residents) = overrides.residents {
            settings.demo.residents = residents;
        }
        if let Some(seed) = overrides.seed {
            settings.demo.seed = seed;
        }
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let key_error =
            |key: &str, message: &str| ConfigError::Key { key: key.to_owned(), message: message.to_owned() };
        let url = self.database_url();
        let scheme = url.split(':').next().unwrap_or_default();
        if !matches!(scheme, "sqlite" | "postgres" | "postgresql") {
            return Err(key_error(
                "database.url",
                &format!("unsupported scheme {scheme:?}: use sqlite:// or postgres://"),
            ));
        }
        if self.database.max_connections == 0 {
            return Err(key_error("database.max_connections", "must be at least 1"));
        }
        if self.server.max_body_bytes < 1024 {
            return Err(key_error("server.max_body_bytes", "must be at least 1024"));
        }
        if self.blobs.backend == BlobBackend::S3 && self.blobs.bucket.is_empty() {
            return Err(key_error("blobs.bucket", "is required when blobs.backend = \"s3\""));
        }
        if self.municipalities.is_empty() {
            return Err(key_error("municipalities", "at least one municipality is required"));
        }
        for (key, url) in [
            ("registers.folkeregisteret_url", &self.registers.folkeregisteret_url),
            ("registers.krr_url", &self.registers.krr_url),
            ("registers.enhetsregisteret_url", &self.registers.enhetsregisteret_url),
            ("registers.matrikkelen_url", &self.registers.matrikkelen_url),
        ] {
            if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
                return Err(key_error(key, "must be an http:// or https:// URL, or empty for the local register"));
            }
        }
        if self.registers.enhetsregisteret_authorised_roles
            && (self.registers.enhetsregisteret_url.is_empty() || self.registers.token.expose().is_empty())
        {
            return Err(key_error(
                "registers.enhetsregisteret_authorised_roles",
                "needs registers.enhetsregisteret_url and a registers.token (a Maskinporten token) to read the authorised API",
            ));
        }
        if registers::adapters::Rettighetspakke::parse(&self.registers.folkeregisteret_rettighetspakke).is_none() {
            return Err(key_error(
                "registers.folkeregisteret_rettighetspakke",
                "must be a package Skatteetaten lists, e.g. offentlig-med-hjemmel or offentligutenhjemmel",
            ));
        }
        for (section, login) in [("idporten", &self.idporten), ("employee_login", &self.employee_login)] {
            if login.issuer.is_empty() {
                continue;
            }
            if !(login.issuer.starts_with("https://") || login.issuer.starts_with("http://")) {
                return Err(key_error(&format!("{section}.issuer"), "must be an http:// or https:// URL"));
            }
            if login.client_id.is_empty() {
                return Err(key_error(&format!("{section}.client_id"), "is required when an issuer is set"));
            }
            let has_key = !login.client_key_file.as_os_str().is_empty();
            if !has_key && login.client_secret.expose().is_empty() {
                return Err(key_error(
                    &format!("{section}.client_key_file"),
                    "a key file (private_key_jwt) or a client_secret is required when an issuer is set",
                ));
            }
            if has_key && login.client_key_id.is_empty() {
                return Err(key_error(&format!("{section}.client_key_id"), "is required with client_key_file"));
            }
            if !login.minimum_acr.is_empty() && !identity::oidc::ACR_LEVELS.contains(&login.minimum_acr.as_str()) {
                return Err(key_error(
                    &format!("{section}.minimum_acr"),
                    "must be idporten-loa-substantial, idporten-loa-high, or empty",
                ));
            }
        }
        let server = &self.server;
        if server.header_timeout_seconds == 0 || server.body_timeout_seconds == 0 || server.max_connections == 0 {
            return Err(key_error(
                "server",
                "header_timeout_seconds, body_timeout_seconds and max_connections must be above 0",
            ));
        }
        let limits = &self.rate_limits;
        if limits.login_per_window == 0 || limits.token_per_window == 0 || limits.window_seconds == 0 {
            return Err(key_error(
                "rate_limits",
                "login_per_window, token_per_window and window_seconds must be above 0",
            ));
        }
        if let Err(message) = self.server.trusted_proxy_networks() {
            return Err(key_error("server.trusted_proxies", &message));
        }
        if self.sessions.idle_minutes == 0 || self.sessions.absolute_minutes < self.sessions.idle_minutes {
            return Err(key_error("sessions", "idle_minutes must be above 0 and at most absolute_minutes"));
        }
        let public_url = &self.server.public_url;
        if !(public_url.is_empty() || public_url.starts_with("https://") || public_url.starts_with("http://")) {
            return Err(key_error("server.public_url", "must be an http:// or https:// URL"));
        }
        if !self.maskinporten.issuer.is_empty() && self.maskinporten.jwks_uri.is_empty() {
            return Err(key_error("maskinporten.jwks_uri", "is required when maskinporten.issuer is set"));
        }
        if !(1..=6_000_000).contains(&self.demo.residents) {
            return Err(key_error("demo.residents", "must be between 1 and 6000000"));
        }
        if self.jobs.poll_interval_ms == 0 || self.jobs.lease_seconds == 0 {
            return Err(key_error("jobs", "poll_interval_ms and lease_seconds must be above 0"));
        }
        if self.retention.interval_minutes == 0 {
            return Err(key_error("retention.interval_minutes", "must be at least 1"));
        }
        for municipality in &self.municipalities {
            let url = &municipality.public_url;
            if url.is_empty() {
                continue;
            }
            let key = format!("municipalities.{}.public_url", municipality.kommunenummer);
            let Some((_, rest)) = url.split_once("://").filter(|(scheme, _)| ["http", "https"].contains(scheme)) else {
                return Err(key_error(&key, "must be an http:// or https:// URL"));
            };
            let authority = rest.split('/').next().unwrap_or_default().to_ascii_lowercase();
            let host = authority.rsplit_once(':').map_or(authority.as_str(), |(host, _)| host);
            if !municipality.hosts.is_empty()
                && !municipality
                    .hosts
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(host) || h.eq_ignore_ascii_case(&authority))
            {
                return Err(key_error(&key, "its host must be one of the municipality's hosts"));
            }
        }
        web::Municipalities::new(&self.web_municipalities(&self.public_url()))
            .map_err(|e| key_error("municipalities", &e.to_string()))?;
        Ok(())
    }

    /// Served over HTTPS: `server.secure_cookies` is on or `server.public_url` is an `https://`
    /// address. Cookies are then `Secure` and responses carry `Strict-Transport-Security`.
    pub fn served_over_https(&self) -> bool {
        self.server.secure_cookies || self.server.public_url.starts_with("https://")
    }

    /// The public address, with the default filled in, without a trailing slash.
    pub fn public_url(&self) -> String {
        if self.server.public_url.is_empty() {
            format!("http://{}", self.server.bind)
        } else {
            self.server.public_url.trim_end_matches('/').to_owned()
        }
    }

    /// The database URL, with the default filled in.
    pub fn database_url(&self) -> String {
        if self.database.url.expose().is_empty() {
            format!("sqlite://{}", self.data_dir.join("allmenning.db").display())
        } else {
            self.database.url.expose().to_owned()
        }
    }

    /// The database URL with any password replaced, for printing.
    pub fn database_url_redacted(&self) -> String {
        let url = self.database_url();
        match (url.find("://"), url.rfind('@')) {
            (Some(start), Some(at)) if at > start => {
                let credentials = &url[start + 3..at];
                match credentials.split_once(':') {
                    Some((user, _)) => format!("{}{user}:[redacted]{}", &url[..start + 3], &url[at..]),
                    None => url,
                }
            }
            _ => url,
        }
    }

    /// The blob store configuration, with the default path filled in.
    pub fn blob_config(&self) -> store::BlobConfig {
        match self.blobs.backend {
            BlobBackend::Local => store::BlobConfig::Local {
                path: if self.blobs.path.as_os_str().is_empty() {
                    self.data_dir.join("blobs")
                } else {
                    self.blobs.path.clone()
                },
            },
            BlobBackend::S3 => store::BlobConfig::S3 {
                bucket: self.blobs.bucket.clone(),
                endpoint: Some(self.blobs.endpoint.clone()).filter(|e| !e.is_empty()),
                region: self.blobs.region.clone(),
                access_key_id: self.blobs.access_key_id.clone(),
                secret_access_key: self.blobs.secret_access_key.expose().to_owned(),
                allow_http: self.blobs.allow_http,
            },
        }
    }

    /// Where the registers are, in the registers crate's terms.
    pub fn registers_config(&self) -> registers::RegistersConfig {
        let settings = &self.registers;
        let http = |url: &str| {
            (!url.is_empty()).then(|| {
                let config = registers::adapters::HttpConfig::new(url);
                if settings.token.expose().is_empty() {
                    config
                } else {
                    config.with_bearer_token(settings.token.expose())
                }
            })
        };
        registers::RegistersConfig {
            folkeregisteret: http(&settings.folkeregisteret_url)
                .map(|config| (config, settings.folkeregisteret_rettighetspakke.clone())),
            krr: http(&settings.krr_url),
            enhetsregisteret: http(&settings.enhetsregisteret_url),
            enhetsregisteret_authorised_roles: settings.enhetsregisteret_authorised_roles,
            matrikkelen: http(&settings.matrikkelen_url),
        }
    }

    /// The municipalities in the web layer's terms, given the deployment's public address.
    pub fn web_municipalities(&self, deployment: &str) -> Vec<web::MunicipalitySetting> {
        self.municipalities
            .iter()
            .map(|m| web::MunicipalitySetting {
                kommunenummer: m.kommunenummer,
                hosts: m.hosts.clone(),
                public_url: m.public_url(deployment),
            })
            .collect()
    }

    /// The effective configuration as TOML, secrets redacted, for `allmenning config`.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database.url = Secret(self.database_url_redacted());
        let mut value = toml::Value::try_from(&shown).unwrap_or(toml::Value::Table(toml::Table::new()));
        // The URL is already redacted above; show it rather than the generic marker.
        if let Some(database) = value.get_mut("database").and_then(toml::Value::as_table_mut) {
            database.insert("url".to_owned(), toml::Value::String(self.database_url_redacted()));
        }
        toml::to_string_pretty(&value).unwrap_or_default()
    }
}

impl Settings {
    /// The post engine's configuration.
    pub fn post_config(&self) -> post::PostConfig {
        let public = self.public_url();
        let post = &self.post;
        let orgnr = post
            .organisasjonsnummer
            .iter()
            .filter_map(|(k, orgnr)| Some((Kommunenummer::parse(k).ok()?, orgnr.clone())))
            .collect();
        let public_url = self.municipalities.iter().map(|m| (m.kommunenummer, m.public_url(&public))).collect();
        let host = public.split("://").nth(1).unwrap_or("").split(['/', ':']).next().unwrap_or("").to_owned();
        let seconds = |s: u64| std::time::Duration::from_secs(s.max(1));
        post::PostConfig {
            orgnr,
            public_url,
            mail_domain: if post.mail_domain.is_empty() {
                if host.is_empty() { "allmenning.invalid".to_owned() } else { host }
            } else {
                post.mail_domain.clone()
            },
            paper_after_working_days: post.paper_after_working_days,
            // The demo prints (and reads receipts) every half minute, so a letter on paper is
            // seen to go the whole way.
            print_interval: seconds(if self.mode == Mode::Demo && post.print_interval_seconds == DAY {
                30
            } else {
                post.print_interval_seconds
            }),
            receipts_interval: seconds(if self.mode == Mode::Demo && post.receipts_interval_seconds == HOUR {
                30
            } else {
                post.receipts_interval_seconds
            }),
            poll_interval: seconds(post.poll_interval_seconds),
            max_document_bytes: post.max_document_bytes,
            paper_after: (post.paper_after_seconds > 0).then(|| seconds(post.paper_after_seconds)),
            max_attempts: post.max_attempts.max(1),
            claim_timeout: std::time::Duration::from_secs(self.jobs.lease_seconds.max(1)),
            ..post::PostConfig::default()
        }
    }

    /// Whether the post channels without a URL are simulated inside the server.
    pub fn simulate_post(&self) -> bool {
        self.post.simulate.unwrap_or(self.mode == Mode::Demo)
    }

    /// Where print batches go.
    pub fn print_config(&self) -> store::BlobConfig {
        let print = &self.post.print;
        match print.backend {
            BlobBackend::Local => store::BlobConfig::Local {
                path: if print.path.as_os_str().is_empty() {
                    self.data_dir.join("post").join("print")
                } else {
                    print.path.clone()
                },
            },
            BlobBackend::S3 => store::BlobConfig::S3 {
                bucket: print.bucket.clone(),
                endpoint: Some(print.endpoint.clone()).filter(|e| !e.is_empty()),
                region: print.region.clone(),
                access_key_id: print.access_key_id.clone(),
                secret_access_key: print.secret_access_key.expose().to_owned(),
                allow_http: print.allow_http,
            },
        }
    }

    /// `sqlite` or `postgres`, for logs.
    pub fn db_backend_name(&self) -> &'static str {
        if self.database_url().starts_with("sqlite") { "sqlite" } else { "postgres" }
    }
}
