//! Machine clients and their tokens: a registered client gets a token by Maskinporten's rules
//! and the API accepts it for its scope only; every broken rule of an assertion is refused with
//! the right OAuth error, nothing issued and the refusal logged; an assertion works once; the
//! registry refuses bad input and changes nothing; and access tokens from other keys, expired
//! ones and untrusted issuers are refused, with a remote issuer's keys cached and refetched.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use identity::IdentityError;
use identity::actions::{CLIENT_CHANGED, TOKEN_ISSUED, TOKEN_REFUSED};
use identity::jose::{self, Jwks, SigningKey, random_token};
use identity::maskinporten::{
    AccessTokenError, AccessTokens, GRANT_TYPE, KeySource, MachineClient, Maskinporten, SCOPES, TokenError,
    TokenResponse, TrustedIssuer,
};
use kernel::{Kommunenummer, OrgNr};
use serde_json::{Value, json};
use store::testing::TestDatabase;
use store::{Db, params};

const ISSUER: &str = "http://127.0.0.1:8080/maskinporten";
const NOTICES: &str = "allmenning:notices.read";
const ENHETSREGISTERET: &str = "allmenning:enhetsregisteret.read";
const ORGNR: &str = "974760673";
/// The audience of Bergen's API, where the test clients are registered.
const AUDIENCE: &str = "http://bergen.test/api";
const STAVANGER_AUDIENCE: &str = "http://stavanger.test/api";

fn bergen() -> Kommunenummer {
    Kommunenummer::parse("4601").expect("Bergen")
}

fn stavanger() -> Kommunenummer {
    Kommunenummer::parse("1103").expect("Stavanger")
}

fn admin() -> audit::Actor {
    audit::Actor::Employee("admin-1".to_owned())
}

fn orgnr() -> OrgNr {
    OrgNr::parse(ORGNR).expect("orgnr")
}

fn now() -> i64 {
    kernel::Timestamp::now().millis() / 1000
}

fn rsa_key(kid: &str) -> SigningKey {
    SigningKey::from_pem(include_str!("../fixtures/test-client-rsa.pem"), kid).expect("the RSA test key")
}

fn ec_key(kid: &str) -> SigningKey {
    SigningKey::generate_es256(kid).expect("an EC key").0
}

fn jwk_json(key: &SigningKey) -> String {
    serde_json::to_string(&key.public_jwk()).expect("jwk")
}

/// A well-formed assertion's claims for `client_id`, issued now.
fn claims(client_id: &str) -> Value {
    let now = now();
    json!({
        "aud": ISSUER,
        "iss": client_id,
        "iat": now,
        "exp": now + 100,
        "jti": random_token(16),
        "scope": NOTICES,
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    if let Some(object) = claims.as_object_mut() {
        object.remove(name);
    }
    claims
}

fn sign(key: &SigningKey, claims: &Value) -> String {
    key.sign("JWT", claims).expect("signed")
}

struct Setup {
    _database: TestDatabase,
    db: Db,
    maskinporten: Maskinporten,
    platform_key: Arc<SigningKey>,
    client: MachineClient,
    client_key: SigningKey,
}

impl Setup {
    async fn new() -> Setup {
        let (database, db) = TestDatabase::migrated(crate::schema()).await.expect("database");
        let platform_key = Arc::new(ec_key("maskinporten-1"));
        let audiences = vec![(bergen(), AUDIENCE.to_owned()), (stavanger(), STAVANGER_AUDIENCE.to_owned())];
        let maskinporten = Maskinporten::new(db.clone(), ISSUER.to_owned(), platform_key.clone(), audiences);
        let client = maskinporten
            .registry(bergen())
            .register_client(&admin(), "  Skatteetaten, test  ", orgnr(), &[NOTICES.to_owned()])
            .await
            .expect("client");
        let client_key = rsa_key("rsa-1");
        let kid = maskinporten
            .registry(bergen())
            .add_key(&admin(), &client.client_id, &jwk_json(&client_key))
            .await
            .expect("key");
        assert_eq!(kid, "rsa-1");
        Setup { _database: database, db, maskinporten, platform_key, client, client_key }
    }

    fn assertion(&self, claims: &Value) -> String {
        sign(&self.client_key, claims)
    }

    async fn grant(&self, assertion: &str) -> Result<TokenResponse, TokenError> {
        self.maskinporten.grant(Some(GRANT_TYPE), Some(assertion)).await
    }

    fn verifier(&self) -> AccessTokens {
        AccessTokens::new(vec![self.maskinporten.trusted_issuer()]).expect("verifier")
    }

    async fn counts(&self) -> Counts {
        Counts {
            issued: count(&self.db, "SELECT COUNT(*) AS n FROM audit_log WHERE action = $1", TOKEN_ISSUED).await,
            refused: count(&self.db, "SELECT COUNT(*) AS n FROM audit_log WHERE action = $1", TOKEN_REFUSED).await,
            jtis: count(&self.db, "SELECT COUNT(*) AS n FROM used_jtis WHERE issuer <> $1", "").await,
        }
    }

    async fn registry_counts(&self) -> (i64, i64, i64) {
        #[derive(serde::Deserialize)]
        struct Count {
            n: i64,
        }
        let mut clients = 0;
        for kommunenummer in [bergen(), stavanger()] {
            let sql = "SELECT COUNT(*) AS n FROM machine_clients WHERE kommunenummer = $1";
            let found = self.db.municipal(kommunenummer).fetch_optional::<Count>(sql, &[]).await.expect("count");
            clients += found.map_or(0, |c| c.n);
        }
        (
            clients,
            count(&self.db, "SELECT COUNT(*) AS n FROM machine_client_keys WHERE client_id <> $1", "").await,
            count(&self.db, "SELECT COUNT(*) AS n FROM audit_log WHERE action = $1", CLIENT_CHANGED).await,
        )
    }

    /// Asks for a token and checks it is refused with `code`, nothing issued, the refusal
    /// logged.
    async fn assert_refused(&self, label: &str, grant_type: Option<&str>, assertion: Option<&str>, code: &str) {
        let before = self.counts().await;
        let refusal = self.maskinporten.grant(grant_type, assertion).await.expect_err(label);
        assert_eq!(refusal.error, code, "{label}: {}", refusal.description);
        assert_eq!(refusal.status(), if code == "invalid_client" { 401 } else { 400 }, "{label}");
        let after = self.counts().await;
        assert_eq!(after.issued, before.issued, "{label}: nothing issued");
        assert_eq!(after.jtis, before.jtis, "{label}: no jti spent");
        assert_eq!(after.refused, before.refused + 1, "{label}: the refusal is logged");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    issued: i64,
    refused: i64,
    jtis: i64,
}

async fn count(db: &Db, sql: &str, parameter: &str) -> i64 {
    #[derive(serde::Deserialize)]
    struct Count {
        n: i64,
    }
    db.fetch_optional::<Count>(sql, &params![parameter]).await.expect("count").map_or(0, |c| c.n)
}

#[derive(Debug, serde::Deserialize)]
struct LoggedEntry {
    actor: String,
    resource: Option<String>,
}

async fn logged(db: &Db, action: &str) -> Vec<LoggedEntry> {
    db.fetch_all("SELECT actor, resource FROM audit_log WHERE action = $1 ORDER BY seq", &params![action])
        .await
        .expect("entries")
}

#[tokio::test]
async fn a_registered_client_gets_a_token_the_api_accepts_for_its_scope_only() {
    let setup = Setup::new().await;
    let response = setup.grant(&setup.assertion(&claims(&setup.client.client_id))).await.expect("a token");
    assert_eq!((response.token_type, response.expires_in, response.scope.as_str()), ("Bearer", 120, NOTICES));
    assert!(!format!("{response:?}").contains(&response.access_token), "Debug hides the token");
    let body = serde_json::to_value(&response).expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["access_token"], response.access_token.as_str());

    // The token is a JWT by our key, shaped like Maskinporten's.
    let header = jose::header(&response.access_token).expect("header");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let token_claims = jose::verify(&response.access_token, &setup.maskinporten.jwks(), &[jose::Algorithm::ES256])
        .expect("signed by our published key");
    assert_eq!(token_claims["iss"], ISSUER);
    assert_eq!(token_claims["client_id"], setup.client.client_id.as_str());
    assert_eq!(token_claims["client_amr"], "private_key_jwt");
    assert_eq!(token_claims["consumer"], json!({ "authority": "iso6523-actorid-upis", "ID": "0192:974760673" }));
    assert_eq!(token_claims["scope"], NOTICES);
    let (iat, exp) = (token_claims["iat"].as_i64().expect("iat"), token_claims["exp"].as_i64().expect("exp"));
    assert_eq!(exp - iat, 120);
    assert!(token_claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    assert_eq!(token_claims["aud"], AUDIENCE, "the audience is the API of the client's municipality");

    let verifier = setup.verifier();
    let principal = verifier.verify(&response.access_token, NOTICES, AUDIENCE).await.expect("accepted");
    assert_eq!(principal.client_id, setup.client.client_id);
    assert_eq!(principal.orgnr, orgnr());
    assert_eq!(principal.scopes, vec![NOTICES.to_owned()]);
    assert_eq!(
        verifier.verify(&response.access_token, ENHETSREGISTERET, AUDIENCE).await,
        Err(AccessTokenError::InsufficientScope(ENHETSREGISTERET.to_owned()))
    );

    // The issue is logged with the client's organisation as actor, and no token anywhere.
    let issued = logged(&setup.db, TOKEN_ISSUED).await;
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].actor, format!("client:{ORGNR}"));
    assert_eq!(issued[0].resource.as_deref(), Some(setup.client.client_id.as_str()));
    assert_eq!(setup.counts().await.jtis, 1);
}

#[tokio::test]
async fn resource_may_name_only_the_municipalitys_api_and_the_aud_may_be_a_list() {
    let setup = Setup::new().await;
    let both = setup
        .maskinporten
        .registry(bergen())
        .register_client(&admin(), "Both scopes", orgnr(), &[ENHETSREGISTERET.to_owned(), NOTICES.to_owned()])
        .await
        .expect("client");
    let key = ec_key("ec-1");
    setup.maskinporten.registry(bergen()).add_key(&admin(), &both.client_id, &jwk_json(&key)).await.expect("EC key");
    let request = with(
        with(claims(&both.client_id), "aud", json!(["https://other.example/", ISSUER])),
        "resource",
        json!(AUDIENCE),
    );
    let request = with(request, "scope", json!(format!("{ENHETSREGISTERET} {NOTICES} {NOTICES}")));
    let response = setup.grant(&sign(&key, &request)).await.expect("a token");
    assert_eq!(response.scope, format!("{ENHETSREGISTERET} {NOTICES}"));
    let token_claims = jose::unverified_claims(&response.access_token).expect("claims");
    assert_eq!(token_claims["aud"], AUDIENCE);
    let principal =
        setup.verifier().verify(&response.access_token, ENHETSREGISTERET, AUDIENCE).await.expect("accepted");
    assert_eq!(principal.scopes.len(), 2);
    // The token is Bergen's: Stavanger's API refuses it.
    assert!(matches!(
        setup.verifier().verify(&response.access_token, ENHETSREGISTERET, STAVANGER_AUDIENCE).await,
        Err(AccessTokenError::Unauthenticated(_))
    ));

    // Another municipality's API, or any other resource, is refused as a target.
    for resource in [json!(STAVANGER_AUDIENCE), json!("https://api.example.no/"), json!([AUDIENCE, STAVANGER_AUDIENCE])]
    {
        let refused = setup.grant(&sign(&key, &with(claims(&both.client_id), "resource", resource.clone()))).await;
        assert_eq!(refused.map_err(|e| e.error), Err("invalid_target"), "{resource}");
    }

    // A subset of the granted scopes is fine.
    let response = setup.grant(&sign(&key, &claims(&both.client_id))).await.expect("a token");
    assert_eq!(response.scope, NOTICES);
}

#[tokio::test]
async fn a_municipality_sees_and_changes_only_its_own_clients() {
    let setup = Setup::new().await;
    let id = setup.client.client_id.clone();
    let (ours, theirs) = (setup.maskinporten.registry(bergen()), setup.maskinporten.registry(stavanger()));
    let before = setup.registry_counts().await;
    assert_eq!(theirs.clients().await.expect("list"), vec![]);
    assert_eq!(theirs.client(&id).await.expect("read"), None);
    let key = ec_key("stavanger-key");
    assert!(matches!(theirs.add_key(&admin(), &id, &jwk_json(&key)).await, Err(IdentityError::NotFound)));
    assert!(matches!(theirs.remove_key(&admin(), &id, "rsa-1").await, Err(IdentityError::NotFound)));
    assert!(matches!(theirs.disable_client(&admin(), &id).await, Err(IdentityError::NotFound)));
    assert_eq!(setup.registry_counts().await, before, "nothing changed, nothing logged");
    let client = ours.client(&id).await.expect("read").expect("still Bergen's");
    assert!(!client.disabled);
    assert_eq!(client.kids, vec!["rsa-1".to_owned()]);
    // Stavanger's own client is listed there, and not in Bergen.
    let own = theirs.register_client(&admin(), "Stavanger's", orgnr(), &[NOTICES.to_owned()]).await.expect("client");
    let listed: Vec<String> = theirs.clients().await.expect("list").into_iter().map(|c| c.client_id).collect();
    assert_eq!(listed, std::slice::from_ref(&own.client_id));
    assert!(ours.clients().await.expect("list").iter().all(|c| c.client_id != own.client_id));
    // Its tokens name Stavanger's API.
    theirs.add_key(&admin(), &own.client_id, &jwk_json(&key)).await.expect("key");
    let response = setup.grant(&sign(&key, &claims(&own.client_id))).await.expect("a token");
    let token_claims = jose::unverified_claims(&response.access_token).expect("claims");
    assert_eq!(token_claims["aud"], STAVANGER_AUDIENCE);
}

#[tokio::test]
async fn access_tokens_from_other_keys_expired_or_untrusted_issuers_are_refused() {
    let setup = Setup::new().await;
    let verifier = setup.verifier();
    let now = now();
    let access = |iss: &str, iat: i64, exp: i64| {
        json!({
            "iss": iss,
            "client_id": "client-1",
            "client_amr": "private_key_jwt",
            "consumer": { "authority": "iso6523-actorid-upis", "ID": format!("0192:{ORGNR}") },
            "scope": NOTICES,
            "aud": AUDIENCE,
            "iat": iat,
            "exp": exp,
            "jti": random_token(8),
        })
    };
    let good = setup.platform_key.sign("at+jwt", &access(ISSUER, now, now + 120)).expect("token");
    assert_eq!(verifier.verify(&good, NOTICES, AUDIENCE).await.expect("accepted").client_id, "client-1");

    let unauthenticated =
        |result: Result<_, AccessTokenError>| matches!(result, Err(AccessTokenError::Unauthenticated(_)));
    // Another key, even with our kid.
    let impostor = ec_key(setup.platform_key.kid());
    let forged = impostor.sign("at+jwt", &access(ISSUER, now, now + 120)).expect("token");
    assert!(unauthenticated(verifier.verify(&forged, NOTICES, AUDIENCE).await), "another key");
    // A changed claim.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(with(access(ISSUER, now, now + 120), "scope", json!("x y")).to_string());
    assert!(unauthenticated(verifier.verify(&parts.join("."), NOTICES, AUDIENCE).await), "a changed claim");
    // Expired, beyond the leeway.
    let expired = setup.platform_key.sign("at+jwt", &access(ISSUER, now - 200, now - 80)).expect("token");
    assert!(unauthenticated(verifier.verify(&expired, NOTICES, AUDIENCE).await), "expired");
    // Issued in the future.
    let future = setup.platform_key.sign("at+jwt", &access(ISSUER, now + 60, now + 180)).expect("token");
    assert!(unauthenticated(verifier.verify(&future, NOTICES, AUDIENCE).await), "issued in the future");
    // An issuer we do not trust, even signed with our key.
    let untrusted = setup.platform_key.sign("at+jwt", &access("https://evil.example/", now, now + 120)).expect("token");
    assert!(unauthenticated(verifier.verify(&untrusted, NOTICES, AUDIENCE).await), "untrusted issuer");
    // A malformed consumer, no consumer, no client id, garbage.
    for (label, broken) in [
        (
            "consumer",
            with(access(ISSUER, now, now + 120), "consumer", json!({ "authority": "x", "ID": "0192:974760673" })),
        ),
        (
            "consumer id",
            with(
                access(ISSUER, now, now + 120),
                "consumer",
                json!({ "authority": "iso6523-actorid-upis", "ID": "974760673" }),
            ),
        ),
        ("no consumer", without(access(ISSUER, now, now + 120), "consumer")),
        ("no client_id", without(access(ISSUER, now, now + 120), "client_id")),
        ("no exp", without(access(ISSUER, now, now + 120), "exp")),
        ("no aud", without(access(ISSUER, now, now + 120), "aud")),
        ("another municipality's aud", with(access(ISSUER, now, now + 120), "aud", json!(STAVANGER_AUDIENCE))),
    ] {
        let token = setup.platform_key.sign("at+jwt", &broken).expect("token");
        assert!(unauthenticated(verifier.verify(&token, NOTICES, AUDIENCE).await), "{label}");
    }
    assert!(unauthenticated(verifier.verify("not-a-token", NOTICES, AUDIENCE).await), "garbage");

    // A second trusted issuer with its own keys: each issuer's tokens verify with its keys only.
    let other_key = ec_key("test-maskinporten-1");
    let other_issuer = "https://test.maskinporten.no/";
    let both = AccessTokens::new(vec![
        setup.maskinporten.trusted_issuer(),
        TrustedIssuer {
            issuer: other_issuer.to_owned(),
            keys: KeySource::Static(Jwks { keys: vec![other_key.public_jwk()] }),
        },
    ])
    .expect("verifier");
    let theirs = other_key.sign("at+jwt", &access(other_issuer, now, now + 120)).expect("token");
    assert_eq!(both.verify(&theirs, NOTICES, AUDIENCE).await.expect("accepted").orgnr, orgnr());
    assert!(unauthenticated(verifier.verify(&theirs, NOTICES, AUDIENCE).await), "not trusted by the first verifier");
    let crossed = other_key.sign("at+jwt", &access(ISSUER, now, now + 120)).expect("token");
    assert!(unauthenticated(both.verify(&crossed, NOTICES, AUDIENCE).await), "our issuer, their key");
}

#[tokio::test]
async fn every_rule_of_the_grant_is_enforced_and_nothing_is_issued() {
    let setup = Setup::new().await;
    let id = setup.client.client_id.clone();
    let now = now();
    let good = setup.assertion(&claims(&id));

    setup.assert_refused("wrong grant_type", Some("client_credentials"), Some(&good), "unsupported_grant_type").await;
    setup.assert_refused("missing grant_type", None, Some(&good), "invalid_request").await;
    setup.assert_refused("missing assertion", Some(GRANT_TYPE), None, "invalid_request").await;
    setup.assert_refused("empty assertion", Some(GRANT_TYPE), Some(""), "invalid_request").await;
    for garbage in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", &"a".repeat(20_000)] {
        setup.assert_refused("garbage assertion", Some(GRANT_TYPE), Some(garbage), "invalid_grant").await;
    }

    let cases: Vec<(&str, String, &str)> = vec![
        ("unknown client", setup.assertion(&claims(&uuid::Uuid::now_v7().to_string())), "invalid_client"),
        ("no iss", setup.assertion(&without(claims(&id), "iss")), "invalid_grant"),
        ("unknown kid", sign(&rsa_key("rsa-2"), &claims(&id)), "invalid_grant"),
        ("EC signature for an RSA kid", sign(&ec_key("rsa-1"), &claims(&id)), "invalid_grant"),
        ("wrong aud", setup.assertion(&with(claims(&id), "aud", json!("https://maskinporten.no/"))), "invalid_grant"),
        ("no aud", setup.assertion(&without(claims(&id), "aud")), "invalid_grant"),
        (
            "exp - iat = 121",
            setup.assertion(&with(with(claims(&id), "iat", json!(now)), "exp", json!(now + 121))),
            "invalid_grant",
        ),
        ("iat 30 s in the future", setup.assertion(&with(claims(&id), "iat", json!(now + 30))), "invalid_grant"),
        (
            "iat 30 s in the past",
            setup.assertion(&with(with(claims(&id), "iat", json!(now - 30)), "exp", json!(now + 60))),
            "invalid_grant",
        ),
        ("expired", setup.assertion(&with(claims(&id), "exp", json!(now - 1))), "invalid_grant"),
        ("no exp", setup.assertion(&without(claims(&id), "exp")), "invalid_grant"),
        ("no iat", setup.assertion(&without(claims(&id), "iat")), "invalid_grant"),
        ("iat not a number", setup.assertion(&with(claims(&id), "iat", json!(now.to_string()))), "invalid_grant"),
        ("missing jti", setup.assertion(&without(claims(&id), "jti")), "invalid_grant"),
        ("jti too long", setup.assertion(&with(claims(&id), "jti", json!("j".repeat(201)))), "invalid_grant"),
        ("no scope", setup.assertion(&without(claims(&id), "scope")), "invalid_scope"),
        ("scope not granted", setup.assertion(&with(claims(&id), "scope", json!(ENHETSREGISTERET))), "invalid_scope"),
        (
            "one scope of two not granted",
            setup.assertion(&with(claims(&id), "scope", json!(format!("{NOTICES} {ENHETSREGISTERET}")))),
            "invalid_scope",
        ),
        (
            "unknown scope",
            setup.assertion(&with(claims(&id), "scope", json!("krr:global/kontaktinformasjon.read"))),
            "invalid_scope",
        ),
        ("consumer_org", setup.assertion(&with(claims(&id), "consumer_org", json!("991825827"))), "invalid_request"),
        ("resource not a string", setup.assertion(&with(claims(&id), "resource", json!(5))), "invalid_request"),
    ];
    for (label, assertion, code) in &cases {
        setup.assert_refused(label, Some(GRANT_TYPE), Some(assertion), code).await;
    }

    // A changed claim breaks the client's signature.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(with(claims(&id), "scope", json!(NOTICES)).to_string());
    setup.assert_refused("wrong signature", Some(GRANT_TYPE), Some(&parts.join(".")), "invalid_grant").await;
    // Another EC key under a registered EC kid.
    let ec = ec_key("ec-1");
    setup.maskinporten.registry(bergen()).add_key(&admin(), &id, &jwk_json(&ec)).await.expect("EC key");
    setup
        .assert_refused("another EC key", Some(GRANT_TYPE), Some(&sign(&ec_key("ec-1"), &claims(&id))), "invalid_grant")
        .await;

    // Still nothing issued at all, and the good assertion still works: no refusal spent it.
    assert_eq!(setup.counts().await.issued, 0);
    assert_eq!(setup.counts().await.jtis, 0);
    setup.grant(&good).await.expect("the untouched assertion");
    let refusals = logged(&setup.db, TOKEN_REFUSED).await;
    assert!(refusals.iter().all(|e| e.actor == "system:maskinporten"));
    assert_eq!(refusals.len(), 4 + 4 + cases.len() + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assertion_is_used_only_once_even_when_requests_race() {
    let setup = Setup::new().await;
    let assertion = setup.assertion(&claims(&setup.client.client_id));
    setup.grant(&assertion).await.expect("the first use");
    let before = setup.counts().await;
    let replay = setup.grant(&assertion).await.expect_err("the second use");
    assert_eq!(replay.error, "invalid_grant");
    assert!(replay.description.contains("jti reused"), "{}", replay.description);
    let after = setup.counts().await;
    assert_eq!((after.issued, after.jtis, after.refused), (before.issued, before.jtis, before.refused + 1));
    // The replay's refusal names the client.
    let refusals = logged(&setup.db, TOKEN_REFUSED).await;
    assert_eq!(refusals.last().and_then(|e| e.resource.clone()), Some(setup.client.client_id.clone()));

    // Eight requests with one fresh assertion at once: exactly one gets a token.
    let assertion = setup.assertion(&claims(&setup.client.client_id));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (maskinporten, assertion) = (setup.maskinporten.clone(), assertion.clone());
        tasks.push(tokio::spawn(async move { maskinporten.grant(Some(GRANT_TYPE), Some(&assertion)).await }));
    }
    let mut granted = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => granted += 1,
            Err(refusal) => assert_eq!(refusal.error, "invalid_grant", "{}", refusal.description),
        }
    }
    assert_eq!(granted, 1);
    assert_eq!(setup.counts().await.issued, 2);
    assert!(audit::AuditLog::new(setup.db.clone()).verify().await.expect("one unbroken chain") > 0);
}

#[tokio::test]
async fn removed_keys_and_disabled_clients_get_no_tokens() {
    let setup = Setup::new().await;
    let id = setup.client.client_id.clone();
    let ec = ec_key("ec-1");
    setup.maskinporten.registry(bergen()).add_key(&admin(), &id, &jwk_json(&ec)).await.expect("EC key");
    setup.grant(&sign(&ec, &claims(&id))).await.expect("ES256 works");
    setup.grant(&setup.assertion(&claims(&id))).await.expect("RS256 works");

    let listed = setup.maskinporten.registry(bergen()).client(&id).await.expect("read").expect("the client");
    assert_eq!(listed.kids, vec!["ec-1".to_owned(), "rsa-1".to_owned()], "sorted");

    setup.maskinporten.registry(bergen()).remove_key(&admin(), &id, "ec-1").await.expect("removed");
    setup.assert_refused("a removed key", Some(GRANT_TYPE), Some(&sign(&ec, &claims(&id))), "invalid_grant").await;
    setup.grant(&setup.assertion(&claims(&id))).await.expect("the other key still works");
    assert!(matches!(
        setup.maskinporten.registry(bergen()).remove_key(&admin(), &id, "ec-1").await,
        Err(IdentityError::NotFound)
    ));
    assert!(matches!(
        setup.maskinporten.registry(bergen()).remove_key(&admin(), "no-such-client", "rsa-1").await,
        Err(IdentityError::NotFound)
    ));

    setup.maskinporten.registry(bergen()).disable_client(&admin(), &id).await.expect("disabled");
    let refusal = setup.grant(&setup.assertion(&claims(&id))).await.expect_err("disabled");
    assert_eq!((refusal.error, refusal.status()), ("invalid_client", 401));
    setup
        .assert_refused("a disabled client", Some(GRANT_TYPE), Some(&setup.assertion(&claims(&id))), "invalid_client")
        .await;
    assert!(matches!(
        setup.maskinporten.registry(bergen()).disable_client(&admin(), "no-such-client").await,
        Err(IdentityError::NotFound)
    ));

    let clients = setup.maskinporten.registry(bergen()).clients().await.expect("clients");
    assert_eq!(clients.len(), 1);
    assert!(clients[0].disabled);
    assert_eq!(clients[0].kids, vec!["rsa-1".to_owned()]);
    // Register, add, add, remove, disable: five changes, each logged by the administrator.
    let changes = logged(&setup.db, CLIENT_CHANGED).await;
    assert_eq!(changes.len(), 5);
    assert!(changes.iter().all(|e| e.actor == "employee:admin-1" && e.resource.as_deref() == Some(id.as_str())));
}

#[tokio::test]
async fn the_registry_refuses_bad_input_and_changes_nothing() {
    let setup = Setup::new().await;
    assert_eq!(setup.client.name, "Skatteetaten, test", "the name is trimmed");
    assert_eq!(setup.client.scopes, vec![NOTICES.to_owned()]);
    assert!(uuid::Uuid::parse_str(&setup.client.client_id).is_ok_and(|u| u.get_version_num() == 7));
    let before = setup.registry_counts().await;
    assert_eq!(before, (1, 1, 2));

    let maskinporten = &setup.maskinporten;
    for (label, name, scopes) in [
        ("unknown scope", "Klient", vec!["krr:global/kontaktinformasjon.read".to_owned()]),
        ("one unknown scope", "Klient", vec![NOTICES.to_owned(), "allmenning:everything".to_owned()]),
        ("no scope", "Klient", vec![]),
        ("empty name", "", vec![NOTICES.to_owned()]),
        ("blank name", "   ", vec![NOTICES.to_owned()]),
        ("long name", &"n".repeat(101), vec![NOTICES.to_owned()]),
        ("control character", "Klient\u{0}", vec![NOTICES.to_owned()]),
        ("newline", "Kli\nent", vec![NOTICES.to_owned()]),
    ] {
        let result = maskinporten.registry(bergen()).register_client(&admin(), name, orgnr(), &scopes).await;
        assert!(matches!(result, Err(IdentityError::Invalid(_))), "{label}: {result:?}");
    }
    assert!(
        maskinporten
            .registry(bergen())
            .register_client(&admin(), &"n".repeat(100), orgnr(), &[NOTICES.to_owned()])
            .await
            .is_ok()
    );
    let before = setup.registry_counts().await;

    let id = setup.client.client_id.as_str();
    let ec = ec_key("ec-1");
    let mut private = ec.public_jwk();
    private.kid = Some("private".to_owned());
    let mut private = serde_json::to_value(&private).expect("json");
    private["d"] = json!(URL_SAFE_NO_PAD.encode([7_u8; 32]));
    // A 1024-bit modulus: add_key counts the bits, so no real key is needed to be refused.
    let small_rsa = json!({ "kty": "RSA", "kid": "small", "n": URL_SAFE_NO_PAD.encode([0xc5_u8; 128]), "e": "AQAB" });
    let with_kid = |kid: Value| {
        let mut jwk = serde_json::to_value(ec.public_jwk()).expect("json");
        jwk["kid"] = kid;
        jwk.to_string()
    };
    let short_ec = json!({ "kty": "EC", "crv": "P-256", "kid": "short", "x": "AAAA", "y": "AAAA" });
    let mut wrong_alg = serde_json::to_value(setup.client_key.public_jwk()).expect("json");
    wrong_alg["kid"] = json!("wrong-alg");
    wrong_alg["alg"] = json!("ES256");
    let mut encryption = serde_json::to_value(ec.public_jwk()).expect("json");
    encryption["kid"] = json!("enc");
    encryption["use"] = json!("enc");
    for (label, jwk) in [
        ("private key", private.to_string()),
        ("1024-bit RSA", small_rsa.to_string()),
        ("no kid", with_kid(Value::Null)),
        ("empty kid", with_kid(json!(" "))),
        ("long kid", with_kid(json!("k".repeat(101)))),
        ("short EC coordinates", short_ec.to_string()),
        ("RSA key with alg ES256", wrong_alg.to_string()),
        ("encryption key", encryption.to_string()),
        ("another curve", json!({ "kty": "EC", "crv": "P-384", "kid": "p384", "x": "AAAA", "y": "AAAA" }).to_string()),
        ("symmetric key", json!({ "kty": "oct", "kid": "oct", "k": "c2VjcmV0" }).to_string()),
        ("not JSON", "not json".to_owned()),
    ] {
        let result = maskinporten.registry(bergen()).add_key(&admin(), id, &jwk).await;
        assert!(matches!(result, Err(IdentityError::Invalid(_))), "{label}: {result:?}");
    }
    let duplicate = maskinporten.registry(bergen()).add_key(&admin(), id, &jwk_json(&rsa_key("rsa-1"))).await;
    assert!(matches!(duplicate, Err(IdentityError::Conflict(_))), "{duplicate:?}");
    let unknown = maskinporten.registry(bergen()).add_key(&admin(), "no-such-client", &jwk_json(&ec)).await;
    assert!(matches!(unknown, Err(IdentityError::NotFound)), "{unknown:?}");
    assert_eq!(setup.registry_counts().await, before, "nothing changed");

    assert_eq!(maskinporten.registry(bergen()).client("no-such-client").await.expect("read"), None);

    // A modulus with a leading zero byte (a DER sign byte some encoders keep) is accepted, and
    // assertions verify with the key.
    let other = maskinporten
        .registry(bergen())
        .register_client(&admin(), "Padded key", orgnr(), &[NOTICES.to_owned()])
        .await
        .expect("client");
    let mut padded = serde_json::to_value(rsa_key("padded").public_jwk()).expect("json");
    let mut modulus = vec![0_u8];
    modulus.extend(URL_SAFE_NO_PAD.decode(padded["n"].as_str().expect("n")).expect("base64url"));
    padded["n"] = json!(URL_SAFE_NO_PAD.encode(&modulus));
    maskinporten.registry(bergen()).add_key(&admin(), &other.client_id, &padded.to_string()).await.expect("padded key");
    setup.grant(&sign(&rsa_key("padded"), &claims(&other.client_id))).await.expect("a token");
    let listed = maskinporten.registry(bergen()).client(id).await.expect("read").expect("the client");
    assert_eq!(listed, MachineClient { kids: vec!["rsa-1".to_owned()], ..setup.client.clone() });
}

#[tokio::test]
async fn refusals_are_logged_with_a_readable_client_id_cut_short() {
    let setup = Setup::new().await;
    let long_iss = format!("{}\u{7}{}", "c".repeat(80), "d".repeat(300));
    setup
        .assert_refused(
            "unknown long client",
            Some(GRANT_TYPE),
            Some(&setup.assertion(&claims(&long_iss))),
            "invalid_client",
        )
        .await;
    setup.assert_refused("garbage", Some(GRANT_TYPE), Some("garbage"), "invalid_grant").await;
    setup
        .assert_refused(
            "a known client",
            Some(GRANT_TYPE),
            Some(&setup.assertion(&with(claims(&setup.client.client_id), "aud", json!("x")))),
            "invalid_grant",
        )
        .await;
    let refusals = logged(&setup.db, TOKEN_REFUSED).await;
    let resources: Vec<Option<String>> = refusals.iter().map(|e| e.resource.clone()).collect();
    assert_eq!(
        resources,
        vec![Some(format!("{}{}", "c".repeat(80), "d".repeat(20))), None, Some(setup.client.client_id.clone())]
    );
    assert!(refusals.iter().all(|e| e.actor == "system:maskinporten"));
}

#[tokio::test]
async fn metadata_and_keys_describe_the_token_endpoint() {
    let setup = Setup::new().await;
    let metadata = setup.maskinporten.metadata();
    assert_eq!(metadata["issuer"], ISSUER);
    assert_eq!(metadata["token_endpoint"], format!("{ISSUER}/token"));
    assert_eq!(metadata["jwks_uri"], format!("{ISSUER}/jwks"));
    assert_eq!(metadata["grant_types_supported"], json!([GRANT_TYPE]));
    assert_eq!(metadata["token_endpoint_auth_methods_supported"], json!(["private_key_jwt"]));
    assert_eq!(
        metadata["token_endpoint_auth_signing_alg_values_supported"],
        json!(["RS256", "RS384", "RS512", "ES256"])
    );
    let scopes: Vec<&str> = SCOPES.iter().map(|(scope, _)| *scope).collect();
    assert_eq!(metadata["scopes_supported"], json!(scopes));
    assert_eq!(&scopes[..2], [ENHETSREGISTERET, NOTICES]);
    let jwks = setup.maskinporten.jwks();
    assert_eq!(jwks.keys, vec![setup.platform_key.public_jwk()]);
    assert!(serde_json::to_string(&jwks).is_ok_and(|json| !json.contains("\"d\"")), "public members only");
}

#[tokio::test]
async fn a_remote_issuers_keys_are_cached_and_refetched_on_an_unknown_kid() {
    let first = ec_key("mp-1");
    let second = ec_key("mp-2");
    let served = Arc::new(std::sync::Mutex::new(Jwks { keys: vec![first.public_jwk()] }));
    let fetches = Arc::new(AtomicUsize::new(0));
    let app = {
        let (served, fetches) = (served.clone(), fetches.clone());
        axum::Router::new().route(
            "/jwk",
            axum::routing::get(move || {
                let (served, fetches) = (served.clone(), fetches.clone());
                async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    let jwks = served.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
                    axum::Json(jwks)
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let issuer = "https://test.maskinporten.no/";
    let verifier = AccessTokens::new(vec![TrustedIssuer {
        issuer: issuer.to_owned(),
        keys: KeySource::Remote { jwks_uri: format!("http://{address}/jwk") },
    }])
    .expect("verifier");
    let now = now();
    let token = |key: &SigningKey| {
        key.sign(
            "at+jwt",
            &json!({
                "iss": issuer,
                "client_id": "0a1b2c",
                "consumer": { "authority": "iso6523-actorid-upis", "ID": "0192:991825827" },
                "scope": format!("{NOTICES} krr:global/kontaktinformasjon.read"),
                "aud": [AUDIENCE, "https://other.example/api"],
                "iat": now,
                "exp": now + 120,
                "jti": random_token(8),
            }),
        )
        .expect("token")
    };

    let principal = verifier.verify(&token(&first), NOTICES, AUDIENCE).await.expect("accepted");
    assert_eq!(principal.orgnr.as_digits(), "991825827");
    assert_eq!(principal.client_id, "0a1b2c");
    verifier.verify(&token(&first), NOTICES, AUDIENCE).await.expect("accepted again");
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "the keys are cached");

    // The issuer rotates: a token with the new kid makes the verifier fetch the keys again.
    served.lock().unwrap_or_else(std::sync::PoisonError::into_inner).keys.push(second.public_jwk());
    verifier.verify(&token(&second), NOTICES, AUDIENCE).await.expect("the new key");
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    // Made-up kids do not make it fetch again within the minute.
    let stranger = ec_key("mp-3");
    assert!(matches!(
        verifier.verify(&token(&stranger), NOTICES, AUDIENCE).await,
        Err(AccessTokenError::Unauthenticated(_))
    ));
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    // A key with a known kid but other material is refused without fetching.
    let impostor = ec_key("mp-1");
    assert!(matches!(
        verifier.verify(&token(&impostor), NOTICES, AUDIENCE).await,
        Err(AccessTokenError::Unauthenticated(_))
    ));
    assert_eq!(fetches.load(Ordering::SeqCst), 2);

    // An issuer whose keys cannot be fetched accepts nothing.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let closed_address = closed.local_addr().expect("address");
    drop(closed);
    let unreachable = AccessTokens::new(vec![TrustedIssuer {
        issuer: issuer.to_owned(),
        keys: KeySource::Remote { jwks_uri: format!("http://{closed_address}/jwk") },
    }])
    .expect("verifier");
    for _ in 0..2 {
        let refused = unreachable.verify(&token(&first), NOTICES, AUDIENCE).await;
        assert!(matches!(refused, Err(AccessTokenError::Unauthenticated(_))), "{refused:?}");
    }
}

#[tokio::test]
async fn spent_jtis_are_forgotten_once_their_assertions_have_expired() {
    let setup = Setup::new().await;
    let now = now();
    for (issuer, jti, expires_at) in [("old-client", "stale", now - 3600), ("other-client", "recent", now + 60)] {
        setup
            .db
            .execute(
                "INSERT INTO used_jtis (issuer, jti, expires_at) VALUES ($1, $2, $3)",
                &params![issuer, jti, expires_at],
            )
            .await
            .expect("insert");
    }
    setup.grant(&setup.assertion(&claims(&setup.client.client_id))).await.expect("a token");
    assert_eq!(count(&setup.db, "SELECT COUNT(*) AS n FROM used_jtis WHERE issuer = $1", "old-client").await, 0);
    assert_eq!(count(&setup.db, "SELECT COUNT(*) AS n FROM used_jtis WHERE issuer = $1", "other-client").await, 1);
    assert_eq!(
        count(&setup.db, "SELECT COUNT(*) AS n FROM used_jtis WHERE issuer = $1", &setup.client.client_id).await,
        1
    );
}

#[tokio::test]
async fn clients_from_before_municipalities_are_given_to_the_one_served() {
    let setup = Setup::new().await;
    let id = setup.client.client_id.clone();
    // As the migration leaves a client registered before clients had a municipality.
    let unassigned = "UPDATE machine_clients SET kommunenummer = '' WHERE kommunenummer = $1 AND client_id = $2";
    setup.db.municipal(bergen()).execute(unassigned, &params![id.as_str()]).await.expect("unassigned");
    assert_eq!(setup.maskinporten.registry(bergen()).client(&id).await.expect("read"), None);
    let refused = setup.grant(&setup.assertion(&claims(&id))).await;
    assert_eq!(refused.map_err(|e| e.error), Err("invalid_client"), "no municipality, no token");

    assert_eq!(setup.maskinporten.adopt_unassigned(stavanger()).await.expect("adopted"), 1);
    assert_eq!(setup.maskinporten.adopt_unassigned(stavanger()).await.expect("nothing left"), 0);
    assert!(setup.maskinporten.registry(stavanger()).client(&id).await.expect("read").is_some());
    let response = setup.grant(&setup.assertion(&claims(&id))).await.expect("a token again");
    let token_claims = jose::unverified_claims(&response.access_token).expect("claims");
    assert_eq!(token_claims["aud"], STAVANGER_AUDIENCE);
}
