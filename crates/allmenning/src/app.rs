//! Wiring: from settings to a listening server with its job workers. `main` and the tests
//! build the very same application.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use kernel::Language;
use store::consumers::{ConsumerConfig, Consumers};
use store::jobs::{Handlers, Worker, WorkerConfig};
use store::{BlobStore, Db, Migration, Migrations, Schema};
use tokio::net::TcpListener;
use tokio::sync::watch;

use std::sync::Arc;

use identity::maskinporten::{AccessTokens, KeySource, Maskinporten, TrustedIssuer};
use identity::oidc::{ClientAuth, MunicipalReturn, ProviderConfig};
use identity::policy::Role;
use identity::ratelimit::RateLimiter;
use identity::sessions::{SessionSettings, Sessions};
use identity::test_idp::{Audience, TestClient, TestIdp};

use crate::config::{LoginSettings, Mode, Settings};

/// The binary's own table: what the database was set up for (see [`check_deployment_mode`]).
pub static MIGRATIONS: Migrations = Migrations {
    context: "deployment",
    builds_on: &[],
    tables: &["deployment"],
    municipal_tables: &[],
    migrations: &[Migration {
        version: 1,
        description: "deployment mode",
        sqlite: include_str!("../migrations/sqlite/0001_deployment.sql"),
        postgres: include_str!("../migrations/postgres/0001_deployment.sql"),
        legacy_version: Some(6),
    }],
};

/// Every context this binary runs, in floor order; their migrations run in this order.
pub fn schema() -> anyhow::Result<Schema> {
    Schema::new(&[
        &audit::MIGRATIONS,
        &registers::MIGRATIONS,
        &identity::MIGRATIONS,
        &content::MIGRATIONS,
        &archive::MIGRATIONS,
        &post::MIGRATIONS,
        &cases::MIGRATIONS,
        &services::MIGRATIONS,
        &MIGRATIONS,
    ])
    .context("the contexts' migrations do not fit together")
}

/// Opens the database the settings name, with every context's schema; does not migrate.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    Db::connect_with(&settings.database_url(), schema()?, &settings.database.options())
        .await
        .with_context(|| format!("cannot open the database at {}", settings.database_url_redacted()))
}

/// A built application: bound to its port, migrated, ready to run.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    registers: registers::Registers,
    address: SocketAddr,
    db: Db,
    router: axum::Router,
    worker: Worker,
    post: post::Post,
    cases: cases::Cases,
    consumers: Consumers,
    workers: usize,
    serve_limits: web::ServeLimits,
}

/// The job handlers this binary knows: each context registers its own.
pub fn job_handlers(db: &Db, settings: &Settings) -> Handlers {
    let mut handlers = Handlers::new();
    content::register_jobs(&mut handlers);
    settings.retention.retention().register(&mut handlers, db.clone());
    handlers
}

/// The event consumers this binary runs: none yet (proactive services, webhooks and KPIs will
/// be the first).
pub fn event_consumers(db: &Db, settings: &Settings) -> Consumers {
    Consumers::new(
        db.clone(),
        ConsumerConfig {
            poll_interval: Duration::from_millis(settings.jobs.poll_interval_ms),
            ..ConsumerConfig::default()
        },
    )
}

impl Application {
    /// Binds the port first (so a taken port fails before anything is created), then connects
    /// to and migrates the database, opens the blob store and builds the router.
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        // A definition with an error stops the start, naming its file, line and field.
        let catalog = Arc::new(
            services::Catalog::load(&settings.services.sources())
                .map_err(|error| anyhow::anyhow!("the service definitions have errors:\n{error}"))?,
        );
        let listener = TcpListener::bind(settings.server.bind).await.with_context(|| {
            format!("cannot listen on {} (is another process using the port?)", settings.server.bind)
        })?;
        let address = listener.local_addr().context("cannot read the bound address")?;
        let db = open_database(settings).await?;
        db.migrate().await.context("cannot migrate the database")?;
        check_deployment_mode(&db, settings.mode).await?;
        settings.retention.retention().schedule(&db).await.context("cannot schedule the retention purge")?;
        let consumers = event_consumers(&db, settings);
        consumers.register().await.context("cannot register the event consumers")?;
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
        let noark = archive::Noark::new(db.clone(), blobs.clone()).with_max_file_bytes(settings.archive.max_file_bytes);
        let post = post::Post::new(
            db.clone(),
            noark.clone(),
            registers.clone(),
            post_channels(settings).await.context("cannot set up the post channels")?,
            settings.post_config(),
        );
        // The built-in templates are made on first use; a municipality's own are checked now.
        let post = match letter_templates(settings)? {
            Some(renderer) => post.with_renderer(renderer),
            None => post,
        };
        let kommuner: Vec<kernel::Kommunenummer> = settings.municipalities.iter().map(|m| m.kommunenummer).collect();
        post.schedule(&kommuner).await.context("cannot schedule the print batches")?;
        let cases = cases::Cases::new(db.clone(), noark, post.clone(), settings.cases.config());
        cases.schedule(&kommuner).await.context("cannot schedule the provisional-reply check")?;
        let draft_purge = DraftPurge { db: db.clone(), retention: settings.services.draft_retention() };
        draft_purge.schedule(&kommuner).await.context("cannot schedule the purge of old drafts")?;
        ensure_service_units(&db, &kommuner, &catalog).await.context("cannot add the services' units")?;
        let applications =
            services::apply::Applications::new(db.clone(), blobs.clone(), registers.clone(), cases.clone(), catalog);
        let worker = Worker::new(
            db.clone(),
            {
                let mut handlers = job_handlers(&db, settings);
                post.register_jobs(&mut handlers);
                cases.register_jobs(&mut handlers);
                draft_purge.register(&mut handlers);
                handlers
            },
            WorkerConfig {
                concurrency: settings.jobs.workers.max(1),
                poll_interval: Duration::from_millis(settings.jobs.poll_interval_ms),
                lease: Duration::from_secs(settings.jobs.lease_seconds),
                shutdown_grace: Duration::from_secs(settings.jobs.shutdown_grace_seconds),
                ..WorkerConfig::default()
            },
        );
        // Login redirects come back to the public address; by default the address actually
        // bound (which differs from the setting when the port is 0).
        let public_url =
            if settings.server.public_url.is_empty() { format!("http://{address}") } else { settings.public_url() };
        let web_config = web::WebConfig {
            demo: settings.mode == Mode::Demo,
            secure_cookies: settings.served_over_https(),
            max_body_bytes: settings.server.max_body_bytes,
            max_archive_file_bytes: settings.archive.max_file_bytes,
            // Checked when the settings were read.
            trusted_proxies: settings.server.trusted_proxy_networks().unwrap_or_default(),
            municipalities: settings.web_municipalities(&public_url),
            limits: settings.rate_limits.web(),
            metrics_token: Some(settings.server.metrics_token.expose().to_owned()).filter(|t| !t.is_empty()),
        };
        let identity =
            build_identity(&db, settings, &public_url, registers.clone()).await.context("cannot set up login")?;
        let state =
            web::AppState::new(db.clone(), blobs, web_config, worker.stats(), identity, post.clone(), applications)
                .context("cannot build the web layer")?;
        if settings.mode == Mode::Demo {
            seed_demo(&db, &state.archive, state.applications.catalog(), settings)
                .await
                .context("cannot seed the demo data")?;
        }
        Ok(Application {
            listener,
            registers,
            address,
            db,
            router: web::router(state),
            worker,
            post,
            cases,
            consumers,
            workers: settings.jobs.workers,
            serve_limits: settings.server.serve_limits(),
        })
    }

    /// `allmenning demo`'s case in the kindergarten unit's queue: Ingrid Solberg's application
    /// for a place for Emma, submitted once (the same idempotency key on every start), so a
    /// demo caseworker has something to decide before anyone has applied through the forms.
    /// Only the demo command adds it; the tests that build a demo application start empty.
    pub async fn seed_demo_case(&self, settings: &Settings) -> anyhow::Result<()> {
        anyhow::ensure!(settings.mode == Mode::Demo, "the demo case belongs to the demo only");
        // The personas live in the first municipality.
        let Some(kommune) = settings.municipalities.first().map(|m| m.kommunenummer) else { return Ok(()) };
        let ingrid = registers::synthetic::Persona::ParentOfNewborn;
        let today = kernel::time::today_in_norway();
        let hentet = format!("Hentet fra Folkeregisteret {}", render::format_date(today, Language::Bokmal));
        let application = cases::NewApplication {
            idempotency_key: "demo:barnehage:ingrid".to_owned(),
            service: cases::ServiceInfo {
                id: "barnehageplass".to_owned(),
                version: "1".to_owned(),
                title: "Barnehageplass".to_owned(),
                area: "barnehage-skole".to_owned(),
                unit: "barnehage".to_owned(),
                classification: Some("A10".to_owned()),
                // As the service's definition screens it: a private person's application is under
                // taushetsplikt, so the public journal shows neither her name nor the child's.
                screening: Some(archive::Screening {
                    tilgangsrestriksjon: archive::demo::TAUSHETSPLIKT.0.to_owned(),
                    skjermingshjemmel: "Offl. § 13 jf. fvl. § 13".to_owned(),
                    metadata: vec!["NA".to_owned(), "TRO".to_owned()],
                    dokument: Some("H".to_owned()),
                    duration_years: None,
                }),
                decision_mode: cases::DecisionMode::Manual,
                deadline: today + time::Duration::days(60),
                legal_basis: "barnehageloven § 16".to_owned(),
                appeal_body: Some("Statsforvalteren i Vestland".to_owned()),
                receipt: None,
            },
            applicant: cases::Party::Person { fnr: ingrid.fnr(), name: ingrid.name().to_owned() },
            submitted_by: (ingrid.fnr(), ingrid.name().to_owned()),
            subject: None,
            language: Language::Bokmal,
            title: "Søknad om barnehageplass for Emma Solberg".to_owned(),
            public_title: "Søknad om barnehageplass".to_owned(),
            sections: vec![
                render::Section {
                    heading: "Barnet".to_owned(),
                    rows: vec![
                        ("Navn".to_owned(), format!("Emma Solberg ({hentet})")),
                        ("Forelder".to_owned(), format!("{} ({hentet})", ingrid.name())),
                    ],
                },
                render::Section {
                    heading: "Ønsket plass".to_owned(),
                    rows: vec![
                        ("Barnehage".to_owned(), "Solsikken barnehage".to_owned()),
                        ("Ønsket oppstart".to_owned(), "August neste år".to_owned()),
                    ],
                },
            ],
            attachments: Vec::new(),
            automated: None,
        };
        self.cases.submit(kommune, application).await.context("cannot submit the demo case")?;
        Ok(())
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

    /// Digital post, for tests and tools.
    pub fn post(&self) -> &post::Post {
        &self.post
    }

    /// Case handling, for tests and tools (and, later, the web layer).
    pub fn cases(&self) -> &cases::Cases {
        &self.cases
    }

    /// The event consumers, for tests.
    pub fn consumers(&self) -> &Consumers {
        &self.consumers
    }

    /// Serves until `shutdown` resolves; then stops accepting, finishes in-flight requests and
    /// running jobs, and closes the database.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop_sender, stop_receiver) = watch::channel(false);
        let stopped = |mut receiver: watch::Receiver<bool>| async move {
            // Waits for `true`; a dropped sender also means stop.
            let _ = receiver.wait_for(|stop| *stop).await;
        };
        let (worker_task, consumer_task) = if self.workers > 0 {
            let worker = self.worker.clone();
            (
                Some(tokio::spawn(worker.run(stopped(stop_receiver.clone())))),
                Some(tokio::spawn(self.consumers.clone().run(stopped(stop_receiver.clone())))),
            )
        } else {
            (None, None)
        };
        let limits = self.serve_limits;
        let server = web::serve(self.listener, self.router, limits, stopped(stop_receiver));
        let signal = tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests and jobs in flight");
            let _ = stop_sender.send(true);
        });
        let served = server.await;
        signal.abort();
        for task in [worker_task, consumer_task].into_iter().flatten() {
            let _ = task.await;
        }
        self.db.close().await;
        served.context("the HTTP server failed")
    }
}

/// The relying party for one configured provider (ID-porten or the employees' own).
fn configured_provider(
    name: &str,
    login: &LoginSettings,
    redirect_uri: String,
    post_logout_redirect_uri: String,
    municipal: Vec<MunicipalReturn>,
) -> anyhow::Result<identity::oidc::Provider> {
    let client_auth = if login.client_key_file.as_os_str().is_empty() {
        ClientAuth::ClientSecretBasic(login.client_secret.expose().to_owned())
    } else {
        let pem = std::fs::read_to_string(&login.client_key_file)
            .with_context(|| format!("cannot read the {name} client key {}", login.client_key_file.display()))?;
        let key = identity::jose::SigningKey::from_pem(&pem, &login.client_key_id)
            .with_context(|| format!("the {name} client key {} is not usable", login.client_key_file.display()))?;
        ClientAuth::PrivateKeyJwt(Arc::new(key))
    };
    let non_empty = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    Ok(identity::oidc::Provider::new(ProviderConfig {
        name: name.to_owned(),
        issuer: login.issuer.clone(),
        client_id: login.client_id.clone(),
        client_auth,
        scopes: login.scopes.clone(),
        acr_values: non_empty(&login.acr_values),
        minimum_acr: non_empty(&login.minimum_acr),
        subject_claim: login.subject_claim.clone(),
        redirect_uri,
        post_logout_redirect_uri,
        municipal,
        metadata_ttl: Duration::from_secs(u64::from(login.metadata_ttl_seconds)),
        leeway_seconds: i64::from(login.leeway_seconds),
    })?)
}

/// The client ids the built-in test provider knows.
const TEST_CITIZEN_CLIENT: &str = "allmenning-innbygger";
const TEST_EMPLOYEE_CLIENT: &str = "allmenning-ansatt";

/// Marks a database with the mode it is first started in, and refuses to start in the other
/// mode later: a demo (a test login where anyone can be anyone, synthetic people written into
/// the registers) must never run on a production database, and production must never serve
/// the demo's synthetic people.
pub async fn check_deployment_mode(db: &Db, mode: Mode) -> anyhow::Result<()> {
    let wanted = match mode {
        Mode::Demo => "demo",
        Mode::Production => "production",
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    db.execute(
        "INSERT INTO deployment (id, mode, set_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
        &store::params![wanted, i64::try_from(now).unwrap_or(i64::MAX)],
    )
    .await
    .context("cannot record what the database is for")?;
    let stored = db
        .fetch_optional::<(String,)>("SELECT mode FROM deployment WHERE id = 1", &[])
        .await
        .context("cannot read what the database is for")?
        .map(|(mode,)| mode)
        .unwrap_or_default();
    match (mode, stored.as_str()) {
        (_, found) if found == wanted => Ok(()),
        (Mode::Demo, _) => anyhow::bail!(
            "this database was set up for production; the demo (with its test login and synthetic \
             people) will not run on it. Give the demo its own data directory (--data-dir) or database URL"
        ),
        (Mode::Production, _) => anyhow::bail!(
            "this database holds the demo's synthetic people; production will not run on it. Point \
             database.url (or data_dir) at the production database"
        ),
    }
}

/// The letter templates: the built-in ones, and the municipality's own from
/// `post.templates_dir` in their place. A template with an unknown field stops the start,
/// naming the file and the field.
fn letter_templates(settings: &Settings) -> anyhow::Result<Option<render::Renderer>> {
    let dir = &settings.post.templates_dir;
    if dir.as_os_str().is_empty() {
        return Ok(None);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read post.templates_dir {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            files.push((name, text));
        }
    }
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let renderer = render::Renderer::with_templates(&files)
        .with_context(|| format!("the letter templates in {} do not load", dir.display()))?;
    Ok(Some(renderer))
}

/// The channels letters leave through, as the settings say. A channel without a URL is
/// simulated inside the server when `post.simulate` is on (the demo), and otherwise waits
/// (letters queue until it is configured). The simulators listen on loopback ports of their
/// own and speak the real services' APIs, so the engine cannot tell them apart.
async fn post_channels(settings: &Settings) -> anyhow::Result<post::Channels> {
    use post::adapters::{eformidling, email, print, sms};
    use post::simulators;
    let simulate = settings.simulate_post();
    let mut channels = post::Channels::not_configured();
    let loopback = || TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)));

    let ip = &settings.post.integrasjonspunkt;
    let ip_url = if !ip.url.is_empty() {
        Some(ip.url.clone())
    } else if simulate {
        let listener = loopback().await.context("cannot start the integrasjonspunkt simulator")?;
        let address = listener.local_addr()?;
        let sim = Arc::new(simulators::integrasjonspunkt::IntegrasjonspunktSim::new(
            simulators::integrasjonspunkt::Behaviour::reliable(),
        ));
        tokio::spawn(simulators::integrasjonspunkt::serve(listener, sim));
        Some(format!("http://{address}"))
    } else {
        None
    };
    if let Some(url) = ip_url {
        let mut config = eformidling::IntegrasjonspunktConfig::new(url);
        if !ip.token.expose().is_empty() {
            config.bearer_token = Some(eformidling::BearerToken::new(ip.token.expose()));
        }
        channels.mailbox = Arc::new(eformidling::Integrasjonspunkt::new(config).map_err(|e| anyhow::anyhow!("{e}"))?);
    }

    let sms_settings = match &settings.post.sms {
        Some(sms) => Some(sms.clone()),
        None if simulate => {
            let listener = loopback().await.context("cannot start the SMS gateway simulator")?;
            let address = listener.local_addr()?;
            tokio::spawn(simulators::sms::serve(listener, simulators::sms::SmsSimulator::new(Default::default())));
            Some(sms::HttpSmsSettings::new(format!("http://{address}/sms/send"), "simulator"))
        }
        None => None,
    };
    if let Some(sms_settings) = sms_settings {
        channels.sms = Arc::new(sms::HttpSmsGateway::new(&sms_settings)?);
    }

    if let Some(smtp) = &settings.post.smtp {
        channels.mailer = Arc::new(email::SmtpMailer::new(smtp)?);
    } else if simulate {
        let dir = settings.data_dir.join("post").join("epost");
        channels.mailer = Arc::new(email::PickupDirMailer::new(dir, &settings.post.from)?);
    }

    let print_store = BlobStore::open(&settings.print_config()).context("cannot open the print directory")?;
    channels.print =
        Arc::new(print::ObjectStorePrintShop::new(print_store.object_store(), "").map_err(|e| anyhow::anyhow!("{e}"))?);
    if simulate && settings.post.print.path.as_os_str().is_empty() {
        // The print vendor: takes each complete batch and leaves a receipt.
        let vendor = simulators::print_vendor::PrintVendorSim::new(
            print_store.object_store(),
            "",
            simulators::print_vendor::PrintVendorOptions { fail_rate: 0.0, seed: None },
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let every = Duration::from_secs(settings.post.print_interval_seconds.clamp(1, 10));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(error) = vendor.process().await {
                    tracing::warn!(%error, "the simulated print vendor failed");
                }
            }
        });
    }
    Ok(channels)
}

/// Login, sessions and machine clients, as the settings say. In demo mode a provider without
/// an issuer is the built-in test provider; in production it is switched off.
async fn build_identity(
    db: &Db,
    settings: &Settings,
    public: &str,
    registers: registers::Registers,
) -> anyhow::Result<web::IdentityServices> {
    let demo = settings.mode == Mode::Demo;
    const CITIZEN_RETURN: &str = "/logg-inn/tilbake";
    const EMPLOYEE_RETURN: &str = "/ansatt/logg-inn/tilbake";
    const LOGGED_OUT: &str = "/logg-ut/ferdig";
    let citizen_redirect = format!("{public}{CITIZEN_RETURN}");
    let employee_redirect = format!("{public}{EMPLOYEE_RETURN}");
    let logged_out = format!("{public}{LOGGED_OUT}");
    // Each municipality's own public address: login comes back to the host it started on.
    let addresses: Vec<(kernel::Kommunenummer, String)> =
        settings.municipalities.iter().map(|m| (m.kommunenummer, m.public_url(public))).collect();
    let returns_to = |path: &str| -> Vec<MunicipalReturn> {
        addresses
            .iter()
            .map(|(kommunenummer, base)| MunicipalReturn {
                kommunenummer: *kommunenummer,
                redirect_uri: format!("{base}{path}"),
                post_logout_redirect_uri: format!("{base}{LOGGED_OUT}"),
            })
            .collect()
    };
    let mut test_clients = Vec::new();
    let test_issuer = format!("{public}/test-idp");
    let rp_key = if demo { Some(identity::keys::platform_key(db, "demo-rp").await?) } else { None };
    let mut provider_for = |name: &str,
                            login: &LoginSettings,
                            redirect: &str,
                            audience|
     -> anyhow::Result<Option<identity::oidc::Provider>> {
        let path = if audience == Audience::Residents { CITIZEN_RETURN } else { EMPLOYEE_RETURN };
        let municipal = returns_to(path);
        if !login.issuer.is_empty() {
            return Ok(Some(configured_provider(name, login, redirect.to_owned(), logged_out.clone(), municipal)?));
        }
        let Some(rp_key) = &rp_key else {
            tracing::warn!(login.provider = name, "no issuer configured: this login is switched off");
            return Ok(None);
        };
        let client_id = if audience == Audience::Residents { TEST_CITIZEN_CLIENT } else { TEST_EMPLOYEE_CLIENT };
        test_clients.push(TestClient {
            client_id: client_id.to_owned(),
            audience,
            redirect_uris: std::iter::once(redirect.to_owned())
                .chain(municipal.iter().map(|r| r.redirect_uri.clone()))
                .collect(),
            post_logout_redirect_uris: std::iter::once(logged_out.clone())
                .chain(municipal.iter().map(|r| r.post_logout_redirect_uri.clone()))
                .collect(),
            jwks: identity::jose::Jwks { keys: vec![rp_key.public_jwk()] },
        });
        let test_login = LoginSettings {
            issuer: test_issuer.clone(),
            client_id: client_id.to_owned(),
            subject_claim: if audience == Audience::Residents { "pid".to_owned() } else { "sub".to_owned() },
            ..login.clone()
        };
        let mut provider = configured_provider(
            name,
            &LoginSettings { client_secret: "unused".to_owned().into(), ..test_login.clone() },
            redirect.to_owned(),
            logged_out.clone(),
            municipal,
        )?;
        provider = identity::oidc::Provider::new(ProviderConfig {
            client_auth: ClientAuth::PrivateKeyJwt(rp_key.clone()),
            ..provider.config().clone()
        })?;
        Ok(Some(provider))
    };
    let citizens = provider_for("idporten", &settings.idporten, &citizen_redirect, Audience::Residents)?;
    let employees = provider_for("employees", &settings.employee_login, &employee_redirect, Audience::Employees)?;
    let test_idp = if demo && !test_clients.is_empty() {
        let key = identity::keys::platform_key(db, "test-idp").await?;
        Some(TestIdp::new(db.clone(), test_issuer, key, test_clients))
    } else {
        None
    };
    let maskinporten = if demo {
        let key = identity::keys::platform_key(db, "maskinporten").await?;
        let audiences = addresses.iter().map(|(k, base)| (*k, web::api_audience(base))).collect();
        let maskinporten = Maskinporten::new(db.clone(), format!("{public}/maskinporten"), key, audiences);
        if let [(only, _)] = addresses.as_slice() {
            let adopted = maskinporten.adopt_unassigned(*only).await?;
            if adopted > 0 {
                tracing::info!(clients = adopted, "machine clients from before municipalities given to the one served");
            }
        }
        Some(maskinporten)
    } else {
        None
    };
    let mut trusted = Vec::new();
    if let Some(own) = &maskinporten {
        trusted.push(own.trusted_issuer());
    }
    if !settings.maskinporten.issuer.is_empty() {
        trusted.push(TrustedIssuer {
            issuer: settings.maskinporten.issuer.clone(),
            keys: KeySource::Remote { jwks_uri: settings.maskinporten.jwks_uri.clone() },
        });
    }
    Ok(web::IdentityServices {
        sessions: Sessions::new(
            db.clone(),
            SessionSettings {
                idle: Duration::from_secs(u64::from(settings.sessions.idle_minutes) * 60),
                absolute: Duration::from_secs(u64::from(settings.sessions.absolute_minutes) * 60),
            },
        ),
        citizens,
        employees,
        test_idp,
        maskinporten,
        access_tokens: AccessTokens::new(trusted)?,
        registers,
        fullmakter: identity::fullmakt::Fullmakter::new(db.clone()),
        login_limiter: RateLimiter::new(settings.rate_limits.login_per_window, settings.rate_limits.window()),
        token_limiter: RateLimiter::new(settings.rate_limits.token_per_window, settings.rate_limits.window()),
    })
}

/// Every enabled service's handling unit exists in each municipality (added when missing, with
/// the service's policy area), so its cases have a queue from the start.
async fn ensure_service_units(
    db: &Db,
    kommuner: &[kernel::Kommunenummer],
    catalog: &services::Catalog,
) -> anyhow::Result<()> {
    for kommune in kommuner {
        let employees = identity::employees::Employees::new(db.clone(), *kommune);
        let mut have: std::collections::BTreeSet<String> =
            employees.units().await?.into_iter().map(|unit| unit.code).collect();
        // The contact form's inquiries about nothing in particular go to the service desk.
        if have.insert(web::offentlig::kontakt::SERVICE_DESK_UNIT.to_owned()) {
            employees.add_unit(web::offentlig::kontakt::SERVICE_DESK_UNIT, "Servicetorget", "generelt").await?;
        }
        for service in catalog.services() {
            if have.insert(service.unit.id.clone()) {
                employees.add_unit(&service.unit.id, &service.unit.name.nb, &service.area).await?;
            }
        }
    }
    Ok(())
}

/// The periodic purge of drafts not saved for longer than the retention: one job per
/// municipality and interval, which enqueues the next when it runs.
#[derive(Debug, Clone)]
struct DraftPurge {
    db: Db,
    retention: Duration,
}

impl DraftPurge {
    const KIND: &'static str = "services.purge_drafts";
    /// Once a day.
    const EVERY_MILLIS: i64 = 24 * 3600 * 1000;

    fn job(k: kernel::Kommunenummer) -> store::jobs::NewJob {
        let number = kernel::Timestamp::now().millis() / Self::EVERY_MILLIS + 1;
        let mut job = store::jobs::NewJob::new(Self::KIND, serde_json::json!({ "interval": number }))
            .for_kommune(k)
            .idempotency_key(format!("{}:{k}:{number}", Self::KIND));
        job.run_at = Some(kernel::Timestamp(number.saturating_mul(Self::EVERY_MILLIS)));
        job
    }

    async fn schedule(&self, kommuner: &[kernel::Kommunenummer]) -> anyhow::Result<()> {
        for k in kommuner {
            self.db.enqueue(&Self::job(*k)).await?;
        }
        Ok(())
    }

    fn register(&self, handlers: &mut Handlers) {
        let purge = self.clone();
        handlers.register(Self::KIND, move |job| {
            let purge = purge.clone();
            async move {
                let k = job.kommunenummer.ok_or("the draft purge needs a municipality")?;
                let drafts = services::Drafts::new(purge.db.clone(), k);
                let outcome = drafts.purge_older_than(purge.retention, kernel::Timestamp::now()).await;
                purge.db.enqueue(&Self::job(k)).await.map_err(|e| e.to_string())?;
                let purged = outcome.map_err(|e| e.to_string())?;
                tracing::info!(drafts.purged = purged, "purged old drafts");
                Ok(())
            }
        });
    }
}

/// The demo's units and employees, one of each role: added once per municipality.
async fn seed_employees(db: &Db, settings: &Settings) -> anyhow::Result<()> {
    let by = audit::Actor::System("demo");
    for municipality in &settings.municipalities {
        let employees = identity::employees::Employees::new(db.clone(), municipality.kommunenummer);
        if !employees.list().await?.is_empty() {
            continue;
        }
        employees.add_unit("barnehage", "Barnehageavdelingen", "barnehage-skole").await?;
        employees.add_unit("helse", "Helse og omsorg", "helse-omsorg").await?;
        employees.add_unit("byggesak", "Byggesak", "bygg-eiendom").await?;
        for (subject, name, _) in web::DEMO_EMPLOYEES {
            let employee = employees.add(&by, subject, name, None).await?;
            if let Some((role, unit)) = demo_role(subject) {
                employees.grant_role(&by, &employee.id, role, unit).await?;
            }
        }
    }
    Ok(())
}

/// The role a demo employee starts with, named one by one: a demo employee added later gets
/// none until an administrator grants one, never the administrator role by default.
fn demo_role(subject: &str) -> Option<(Role, &'static str)> {
    match subject {
        "kari.saksbehandler" => Some((Role::Saksbehandler, "barnehage")),
        "ola.leder" => Some((Role::Leder, "barnehage")),
        "anne.arkivar" => Some((Role::Arkivar, "*")),
        "admin" => Some((Role::Administrator, "*")),
        _ => None,
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
async fn seed_demo(
    db: &Db,
    noark: &archive::Noark,
    catalog: &services::Catalog,
    settings: &Settings,
) -> anyhow::Result<()> {
    seed_population(db, settings).await?;
    seed_employees(db, settings).await?;
    // The klasser the services' definitions name (K-koder), titled by the first service that
    // names each, so the demo's cases are filed where their definitions say.
    let mut klasser: Vec<(String, String)> = Vec::new();
    for service in catalog.services() {
        let id = service.archive.klasse.trim();
        if !klasser.iter().any(|(known, _)| known == id) {
            klasser.push((id.to_owned(), service.name.get(Language::Bokmal).to_owned()));
        }
    }
    for municipality in &settings.municipalities {
        let kommune = municipality.kommunenummer;
        archive::demo::seed(noark, kommune, &format!("{} kommune", kommune.navn())).await?;
        archive::demo::seed_klasser(noark, kommune, "K-koder", &klasser).await?;
        let scoped = db.municipal(municipality.kommunenummer);
        if !content::notices(scoped, 1).await?.is_empty() {
            continue;
        }
        let name = municipality.kommunenummer.navn();
        content::publish_notice(
            scoped,
            Language::Bokmal,
            "Planlagt vedlikehold natt til søndag",
            &format!("{name} kommunes digitale tjenester kan være utilgjengelige mellom kl. 02 og 04 natt til søndag."),
        )
        .await?;
        // No notice that login is coming: the demo has a working login beside it.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_demo_administrator_administers_and_a_new_demo_employee_gets_no_role() {
        assert_eq!(demo_role("ny.ansatt"), None);
        assert_eq!(demo_role(""), None);
        for (subject, ..) in web::DEMO_EMPLOYEES {
            assert!(demo_role(subject).is_some(), "the demo employee {subject} has a role");
        }
        let administrators: Vec<_> = web::DEMO_EMPLOYEES
            .iter()
            .filter(|(subject, ..)| demo_role(subject).is_some_and(|(role, _)| role == Role::Administrator))
            .map(|(subject, ..)| *subject)
            .collect();
        assert_eq!(administrators, ["admin"]);
    }
}
