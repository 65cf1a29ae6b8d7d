//! The relying party against a scripted OpenID provider on loopback: the happy path (with the
//! client assertion and the PKCE verifier checked at the provider), and every way an ID token
//! or a callback can be wrong — each refused, with no way round it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use identity::IdentityError;
use identity::jose::{self, Algorithm, Jwks, SigningKey, sha256_base64url};
use identity::oidc::{Callback, ClientAuth, Provider, ProviderConfig};
use kernel::Language;
use serde_json::{Value, json};
use store::testing::TestDatabase;

#[derive(Default)]
struct Script {
    /// The claims the next ID token carries (`iss`, `aud`, `nonce` filled in when absent).
    claims: Value,
    /// Sign with this key instead of the published one.
    signer: Option<Arc<SigningKey>>,
    /// Answer the token request with this status and no token.
    token_status: Option<u16>,
    /// The last token request's form.
    seen: Vec<(String, String)>,
    /// How many times the keys were fetched.
    jwks_fetches: usize,
}

struct Fake {
    issuer: String,
    key: Mutex<Arc<SigningKey>>,
    script: Mutex<Script>,
}

type Shared = Arc<Fake>;

async fn discovery(State(fake): State<Shared>) -> Json<Value> {
    Json(json!({
        "issuer": fake.issuer,
        "authorization_endpoint": format!("{}/authorize", fake.issuer),
        "token_endpoint": format!("{}/token", fake.issuer),
        "jwks_uri": format!("{}/jwks", fake.issuer),
        "end_session_endpoint": format!("{}/logout", fake.issuer),
    }))
}

async fn jwks(State(fake): State<Shared>) -> Json<Jwks> {
    fake.script.lock().expect("lock").jwks_fetches += 1;
    Json(Jwks { keys: vec![fake.key.lock().expect("lock").public_jwk()] })
}

async fn token(State(fake): State<Shared>, Form(form): Form<Vec<(String, String)>>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut script = fake.script.lock().expect("lock");
    script.seen = form;
    if let Some(status) = script.token_status {
        let status = axum::http::StatusCode::from_u16(status).expect("status");
        return (status, Json(json!({ "error": "invalid_grant" }))).into_response();
    }
    let signer = script.signer.clone().unwrap_or_else(|| fake.key.lock().expect("lock").clone());
    let id_token = signer.sign("JWT", &script.claims).expect("sign");
    Json(json!({ "id_token": id_token, "access_token": "opaque", "token_type": "Bearer" })).into_response()
}

fn now() -> i64 {
    kernel::Timestamp::now().millis() / 1000
}

struct Setup {
    fake: Shared,
    provider: Provider,
    rp_key: Arc<SigningKey>,
    db: store::Db,
    _database: TestDatabase,
}

async fn setup(minimum_acr: Option<&str>) -> Setup {
    let (database, db) = TestDatabase::migrated(crate::schema()).await.expect("database");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let issuer = format!("http://{}", listener.local_addr().expect("address"));
    let fake = Arc::new(Fake {
        issuer: issuer.clone(),
        key: Mutex::new(Arc::new(
            SigningKey::from_pem(include_str!("../fixtures/test-client-rsa.pem"), "provider-1").expect("key"),
        )),
        script: Mutex::new(Script::default()),
    });
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let rp_key = Arc::new(SigningKey::generate_es256("rp").expect("key").0);
    let provider = Provider::new(ProviderConfig {
        name: "idporten".to_owned(),
        issuer,
        client_id: "our-client".to_owned(),
        client_auth: ClientAuth::PrivateKeyJwt(rp_key.clone()),
        scopes: "openid profile".to_owned(),
        acr_values: Some("idporten-loa-substantial".to_owned()),
        minimum_acr: minimum_acr.map(str::to_owned),
        subject_claim: "pid".to_owned(),
        redirect_uri: "http://rp.test/logg-inn/tilbake".to_owned(),
        post_logout_redirect_uri: "http://rp.test/logg-ut/ferdig".to_owned(),
        municipal: vec![],
        metadata_ttl: Duration::from_secs(3600),
        leeway_seconds: 30,
    })
    .expect("provider");
    Setup { fake, provider, rp_key, db, _database: database }
}

/// A started login: the query parameters sent to the provider, and the browser secret.
struct Started {
    state: String,
    nonce: String,
    challenge: String,
    secret: String,
}

fn query_value(url: &str, name: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.replace("%20", " ").replace("%3A", ":").replace("%2F", "/"))
        .unwrap_or_default()
}

async fn start(setup: &Setup) -> Started {
    let begun = setup.provider.begin(&setup.db, Language::Nynorsk, "/min-side", None).await.expect("begin");
    let url = &begun.redirect_to;
    assert!(url.starts_with(&format!("{}/authorize?", setup.fake.issuer)), "{url}");
    assert_eq!(query_value(url, "code_challenge_method"), "S256");
    assert_eq!(query_value(url, "response_type"), "code");
    assert_eq!(query_value(url, "ui_locales"), "nn");
    assert_eq!(query_value(url, "acr_values"), "idporten-loa-substantial");
    assert_eq!(query_value(url, "redirect_uri"), "http://rp.test/logg-inn/tilbake");
    Started {
        state: query_value(url, "state"),
        nonce: query_value(url, "nonce"),
        challenge: query_value(url, "code_challenge"),
        secret: begun.browser_secret,
    }
}

fn good_claims(setup: &Setup, started: &Started) -> Value {
    let now = now();
    json!({
        "iss": setup.fake.issuer, "aud": "our-client", "sub": "pairwise", "pid": "14839221100",
        "acr": "idporten-loa-substantial", "amr": ["TestID"], "nonce": started.nonce,
        "iat": now, "exp": now + 120, "sid": "idp-session-1",
    })
}

async fn finish(setup: &Setup, started: &Started) -> Result<identity::oidc::Authenticated, IdentityError> {
    let callback = Callback { code: Some("the-code".to_owned()), state: Some(started.state.clone()), error: None };
    setup.provider.finish(&setup.db, &callback, Some(&started.secret)).await
}

fn refused(result: Result<identity::oidc::Authenticated, IdentityError>, why: &str) {
    match result {
        Err(IdentityError::Unauthenticated(reason)) => {
            assert!(reason.contains(why), "refused for {reason:?}, expected {why:?}")
        }
        other => panic!("expected a refusal for {why:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_good_login_checks_out_and_proves_the_client_and_the_verifier() {
    let setup = setup(Some("idporten-loa-substantial")).await;
    let started = start(&setup).await;
    setup.fake.script.lock().expect("lock").claims = good_claims(&setup, &started);
    let authenticated = finish(&setup, &started).await.expect("a good login");
    assert_eq!(authenticated.subject, "14839221100");
    assert_eq!(authenticated.acr.as_deref(), Some("idporten-loa-substantial"));
    assert_eq!(authenticated.sid.as_deref(), Some("idp-session-1"));
    assert_eq!(authenticated.return_to, "/min-side");

    // What the provider saw: the code, the PKCE verifier that hashes to the challenge, and a
    // client assertion signed with our key for the issuer.
    let seen = setup.fake.script.lock().expect("lock").seen.clone();
    let field = |name: &str| seen.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
    assert_eq!(field("grant_type"), "authorization_code");
    assert_eq!(field("code"), "the-code");
    assert_eq!(sha256_base64url(&field("code_verifier")), started.challenge);
    assert_eq!(field("client_assertion_type"), "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    let assertion =
        jose::verify(&field("client_assertion"), &Jwks { keys: vec![setup.rp_key.public_jwk()] }, &[Algorithm::ES256])
            .expect("the assertion is signed with our key");
    assert_eq!(assertion["iss"], "our-client");
    assert_eq!(assertion["sub"], "our-client");
    assert_eq!(assertion["aud"], setup.fake.issuer.as_str());
    assert!(assertion["jti"].as_str().is_some_and(|j| j.len() >= 16));

    // The state is used up: the same callback again is refused.
    refused(finish(&setup, &started).await, "state is unknown or used");
}

/// A change to good claims, making them wrong.
type Change = Box<dyn Fn(&mut Value)>;

#[tokio::test]
async fn every_wrong_id_token_is_refused() {
    let setup = setup(Some("idporten-loa-substantial")).await;
    let now = now();
    let cases: Vec<(&str, Change)> = vec![
        ("nonce", Box::new(|c| c["nonce"] = json!("another"))),
        ("nonce", Box::new(|c| drop(c.as_object_mut().map(|o| o.remove("nonce"))))),
        ("audience", Box::new(|c| c["aud"] = json!("someone-else"))),
        ("issuer", Box::new(|c| c["iss"] = json!("https://evil.example"))),
        ("expired", Box::new(move |c| c["exp"] = json!(now - 60))),
        ("future", Box::new(move |c| c["iat"] = json!(now + 600))),
        ("no expiry", Box::new(|c| drop(c.as_object_mut().map(|o| o.remove("exp"))))),
        ("level of assurance", Box::new(|c| c["acr"] = json!("Level3"))),
        ("level of assurance", Box::new(|c| drop(c.as_object_mut().map(|o| o.remove("acr"))))),
        ("subject claim", Box::new(|c| drop(c.as_object_mut().map(|o| o.remove("pid"))))),
        ("authorized party", Box::new(|c| c["azp"] = json!("someone-else"))),
    ];
    for (why, change) in cases {
        let started = start(&setup).await;
        let mut claims = good_claims(&setup, &started);
        change(&mut claims);
        setup.fake.script.lock().expect("lock").claims = claims;
        refused(finish(&setup, &started).await, why);
    }
    // Within the leeway, a small clock skew is tolerated.
    let started = start(&setup).await;
    let mut claims = good_claims(&setup, &started);
    claims["iat"] = json!(now + 20);
    setup.fake.script.lock().expect("lock").claims = claims;
    finish(&setup, &started).await.expect("20 s of skew is inside the leeway");
}

#[tokio::test]
async fn a_token_signed_with_an_unknown_key_is_refused_after_one_refetch_and_a_rotated_key_is_accepted() {
    let setup = setup(None).await;
    let started = start(&setup).await;
    let fetches_before = setup.fake.script.lock().expect("lock").jwks_fetches;
    {
        let mut script = setup.fake.script.lock().expect("lock");
        script.claims = good_claims(&setup, &started);
        script.signer = Some(Arc::new(SigningKey::generate_es256("stranger").expect("key").0));
    }
    refused(finish(&setup, &started).await, "no key matches");
    assert_eq!(
        setup.fake.script.lock().expect("lock").jwks_fetches,
        fetches_before + 1,
        "one refetch for an unknown kid"
    );

    // The provider rotates its key: the new kid is fetched once and accepted.
    let rotated = Arc::new(SigningKey::generate_es256("provider-2").expect("key").0);
    *setup.fake.key.lock().expect("lock") = rotated;
    let started = start(&setup).await;
    {
        let mut script = setup.fake.script.lock().expect("lock");
        script.claims = good_claims(&setup, &started);
        script.signer = None;
    }
    finish(&setup, &started).await.expect("a rotated key is fetched and accepted");

    // The same kid with another key: the signature does not verify.
    let started = start(&setup).await;
    {
        let mut script = setup.fake.script.lock().expect("lock");
        script.claims = good_claims(&setup, &started);
        script.signer = Some(Arc::new(SigningKey::generate_es256("provider-2").expect("key").0));
    }
    refused(finish(&setup, &started).await, "signature");
}

#[tokio::test]
async fn callbacks_without_their_browser_state_or_code_are_refused() {
    let setup = setup(None).await;

    let started = start(&setup).await;
    setup.fake.script.lock().expect("lock").claims = good_claims(&setup, &started);
    let callback = Callback { code: Some("c".to_owned()), state: Some(started.state.clone()), error: None };
    refused(setup.provider.finish(&setup.db, &callback, None).await, "another browser");
    // The attempt was used up by the failed try: the right browser cannot reuse it.
    refused(setup.provider.finish(&setup.db, &callback, Some(&started.secret)).await, "unknown or used");

    let started = start(&setup).await;
    refused(setup.provider.finish(&setup.db, &callback, Some("wrong-secret")).await, "unknown or used");
    let tampered = Callback { code: Some("c".to_owned()), state: Some(format!("{}x", started.state)), error: None };
    refused(setup.provider.finish(&setup.db, &tampered, Some(&started.secret)).await, "unknown or used");
    refused(setup.provider.finish(&setup.db, &Callback::default(), Some(&started.secret)).await, "no state");
    let no_code = Callback { code: None, state: Some(started.state.clone()), error: None };
    refused(setup.provider.finish(&setup.db, &no_code, Some(&started.secret)).await, "no code");

    let started = start(&setup).await;
    let cancelled =
        Callback { code: None, state: Some(started.state.clone()), error: Some("access_denied".to_owned()) };
    refused(setup.provider.finish(&setup.db, &cancelled, Some(&started.secret)).await, "access_denied");

    // The provider refuses the code: a refusal; the provider failing: not a refusal.
    let started = start(&setup).await;
    setup.fake.script.lock().expect("lock").token_status = Some(400);
    refused(finish(&setup, &started).await, "refused the code");
    let started = start(&setup).await;
    setup.fake.script.lock().expect("lock").token_status = Some(503);
    assert!(matches!(finish(&setup, &started).await, Err(IdentityError::Provider(_))));
}

#[tokio::test]
async fn too_low_a_level_is_refused_and_a_higher_one_accepted() {
    let setup = setup(Some("idporten-loa-high")).await;
    let started = start(&setup).await;
    setup.fake.script.lock().expect("lock").claims = good_claims(&setup, &started);
    refused(finish(&setup, &started).await, "level of assurance");
    let started = start(&setup).await;
    let mut claims = good_claims(&setup, &started);
    claims["acr"] = json!("idporten-loa-high");
    setup.fake.script.lock().expect("lock").claims = claims;
    assert_eq!(finish(&setup, &started).await.expect("high is enough").acr.as_deref(), Some("idporten-loa-high"));
}
