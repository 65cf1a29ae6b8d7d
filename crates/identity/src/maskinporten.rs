//! Machine clients in the Maskinporten style: other organisations' systems, registered with the
//! public keys they sign with, get short-lived access tokens for the platform's API by the JWT
//! bearer grant (RFC 7523), and the API verifies the tokens it is shown — ours, or the real
//! Maskinporten's. There is no HTTP here; the web crate wraps [`Maskinporten::grant`],
//! [`Maskinporten::jwks`], [`Maskinporten::metadata`] and [`AccessTokens::verify`].
//!
//! Invariants:
//! - An assertion is used at most once: its `jti` is inserted into `used_jtis` in the same
//!   transaction that records the issued token, and the primary key refuses the second use,
//!   also when two requests race.
//! - Every issued token and every refusal writes an access-log entry; neither the assertion
//!   nor any token ever reaches the log or `tracing`.
//! - Registry changes are checked before anything is written, and each writes an access-log
//!   entry in the same transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use kernel::{Kommunenummer, OrgNr};
use serde::Serialize;
use serde_json::{Map, Value, json};
use store::{Db, StoreError, Tx, params};

use crate::jose::{self, Algorithm, JoseError, Jwk, Jwks, SigningKey, TimeRules, random_token};
use crate::{IdentityError, now_seconds};

/// The scopes machine clients can be granted, with what each allows (in English).
pub const SCOPES: &[(&str, &str)] = &[
    ("allmenning:enhetsregisteret.read", "Read organisations from the platform's copy of Enhetsregisteret."),
    ("allmenning:notices.read", "Read the municipalities' published notices."),
    ("allmenning:noark5", "Read and write the municipality's Noark 5 archive through /noark5/."),
    ("allmenning:post.send", "Send letters as digital post, and follow the letters this client sent."),
    ("allmenning:post.read", "Follow the status of the letters this client sent."),
];

/// The only grant type the token endpoint speaks (RFC 7523).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How long an issued access token lives, in seconds.
pub const TOKEN_SECONDS: i64 = 120;

/// The most an assertion may live (`exp − iat`), in seconds.
pub const MAX_ASSERTION_SECONDS: i64 = 120;

/// How far the client's clock may be from ours when it stamps `iat`, in seconds.
pub const IAT_WINDOW_SECONDS: i64 = 10;

/// The algorithms assertions and access tokens may be signed with.
pub const ALGORITHMS: [Algorithm; 4] = [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::ES256];

/// The consumer authority of Maskinporten tokens: the ISO 6523 scheme, where `0192` is the
/// Norwegian organisation number.
pub const CONSUMER_AUTHORITY: &str = "iso6523-actorid-upis";

const MAX_NAME_CHARS: usize = 100;
const MAX_KID_CHARS: usize = 100;
const MAX_JTI_CHARS: usize = 200;
const MAX_CLIENT_ID_CHARS: usize = 100;
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;
/// How often spent `jti`s are purged, at most, in seconds.
const PURGE_EVERY_SECONDS: i64 = 60;

/// A registered machine client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineClient {
    /// The client id (a UUIDv7), which is also the `iss` of its assertions.
    pub client_id: String,
    /// What the client is called, for the administrators.
    pub name: String,
    /// The organisation that runs the client; the `consumer` of its tokens.
    pub orgnr: OrgNr,
    /// The scopes it may ask for.
    pub scopes: Vec<String>,
    /// The key ids of its registered public keys, sorted.
    pub kids: Vec<String>,
    /// When it was registered, in seconds since the epoch.
    pub created_at: i64,
    /// Whether it has been disabled; a disabled client gets no tokens.
    pub disabled: bool,
}

/// A successful token response (RFC 6749 §5.1), serialised as the token endpoint's body. Its
/// `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    /// The access token, a JWT.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: i64,
    /// The granted scopes, space-separated.
    pub scope: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// A refused token request (RFC 6749 §5.2), serialised as the token endpoint's error body.
/// The description names the broken rule and never carries a claim value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{error}: {description}")]
pub struct TokenError {
    /// The OAuth error code: `invalid_request`, `unsupported_grant_type`, `invalid_grant`,
    /// `invalid_client`, `invalid_scope`, `invalid_target`, or `server_error` when our own
    /// database failed.
    pub error: &'static str,
    /// Which rule was broken, in English.
    #[serde(rename = "error_description")]
    pub description: String,
}

impl TokenError {
    fn new(error: &'static str, description: &str) -> Self {
        Self { error, description: description.to_owned() }
    }

    /// The HTTP status to answer with: 401 for `invalid_client`, 500 for `server_error`, and
    /// 400 for everything else.
    pub fn status(&self) -> u16 {
        match self.error {
            "invalid_client" => 401,
            "server_error" => 500,
            _ => 400,
        }
    }
}

fn invalid_request(description: &str) -> TokenError {
    TokenError::new("invalid_request", description)
}

fn invalid_grant(description: &str) -> TokenError {
    TokenError::new("invalid_grant", description)
}

fn invalid_client(description: &str) -> TokenError {
    TokenError::new("invalid_client", description)
}

fn invalid_scope(description: &str) -> TokenError {
    TokenError::new("invalid_scope", description)
}

/// Our own failure; the details go to `tracing` once, never to the client.
fn server_error(error: &dyn std::fmt::Display) -> TokenError {
    tracing::error!(error = %error, "the maskinporten token endpoint failed");
    TokenError::new("server_error", "the token could not be issued; try again later")
}

#[derive(serde::Deserialize)]
struct ClientRow {
    client_id: String,
    name: String,
    orgnr: String,
    scopes: String,
    created_at: i64,
    disabled_at: Option<i64>,
}

#[derive(serde::Deserialize)]
struct KeyRow {
    kid: String,
    jwk: String,
}

const CLIENT_COLUMNS: &str = "client_id, name, orgnr, scopes, created_at, disabled_at";

impl ClientRow {
    fn into_client(self, kids: Vec<String>) -> Result<MachineClient, IdentityError> {
        let orgnr = OrgNr::parse(&self.orgnr).map_err(|_| {
            StoreError::Malformed("a machine client's stored organisation number is not valid".to_owned())
        })?;
        Ok(MachineClient {
            client_id: self.client_id,
            name: self.name,
            orgnr,
            scopes: self.scopes.split_whitespace().map(str::to_owned).collect(),
            kids,
            created_at: self.created_at,
            disabled: self.disabled_at.is_some(),
        })
    }
}

/// The machine-client registry and token endpoint.
#[derive(Debug, Clone)]
pub struct Maskinporten {
    db: Db,
    issuer: String,
    key: Arc<SigningKey>,
    /// The municipalities served, each with the audience of its API.
    audiences: Arc<[(Kommunenummer, String)]>,
    /// When spent `jti`s were last purged, in seconds since the epoch.
    last_purge: Arc<AtomicI64>,
}

impl Maskinporten {
    /// The registry in `db`, issuing tokens as `issuer` (e.g.
    /// `http://127.0.0.1:8080/maskinporten`, also the `aud` assertions must carry), signed
    /// with `key`, for the municipalities in `audiences`, each with the audience of its API
    /// (`https://bergen.example.no/api`): a client belongs to one of them, and its tokens carry
    /// that audience and no other.
    pub fn new(db: Db, issuer: String, key: Arc<SigningKey>, audiences: Vec<(Kommunenummer, String)>) -> Self {
        Self { db, issuer, key, audiences: audiences.into(), last_purge: Arc::new(AtomicI64::new(0)) }
    }

    /// Our issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Our issuer as [`AccessTokens`] trusts it, with our public key known in-process.
    pub fn trusted_issuer(&self) -> TrustedIssuer {
        TrustedIssuer { issuer: self.issuer.clone(), keys: KeySource::Static(self.jwks()) }
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}/{path}", self.issuer.trim_end_matches('/'))
    }

    // ----- The registry -----

    /// The clients of one municipality: only its administrators register and manage them, and
    /// another municipality's client ids are unknown here ([`IdentityError::NotFound`]).
    pub fn registry(&self, kommunenummer: Kommunenummer) -> Registry<'_> {
        Registry { maskinporten: self, kommunenummer }
    }

    /// Gives the clients registered before clients belonged to a municipality to
    /// `kommunenummer`; called at start by a deployment that serves only that one. Returns how
    /// many it took over.
    pub async fn adopt_unassigned(&self, kommunenummer: Kommunenummer) -> Result<u64, IdentityError> {
        Ok(self
            .db
            .municipal(kommunenummer)
            .execute("UPDATE machine_clients SET kommunenummer = $1 WHERE kommunenummer = ''", &[])
            .await?)
    }

    /// The audience of `kommunenummer`'s API, which every token issued to its clients carries.
    pub fn audience(&self, kommunenummer: Kommunenummer) -> Option<&str> {
        self.audiences.iter().find(|(k, _)| *k == kommunenummer).map(|(_, audience)| audience.as_str())
    }

    /// A client by id, in whichever municipality it is registered, with its keys.
    async fn find_client(
        &self,
        client_id: &str,
    ) -> Result<Option<(Kommunenummer, MachineClient, Jwks)>, IdentityError> {
        for (kommunenummer, _) in self.audiences.iter() {
            if let Some((client, jwks)) = self.registry(*kommunenummer).client_with_keys(client_id).await? {
                return Ok(Some((*kommunenummer, client, jwks)));
            }
        }
        Ok(None)
    }

    // ----- The token endpoint -----

    /// The token endpoint: checks a JWT bearer grant by Maskinporten's rules and issues an
    /// access token, or says which rule was broken. Every outcome writes an access-log entry.
    ///
    /// The rules, and the error each breaks to: `grant_type` must be [`GRANT_TYPE`]
    /// (`invalid_request` when missing, else `unsupported_grant_type`); the assertion must be
    /// present (`invalid_request`) and a JWT (`invalid_grant`) whose `iss` names an enabled
    /// client (`invalid_client`); its header `kid` must name one of that client's keys and its
    /// signature (RS256/384/512 or ES256) must verify with it; `aud` must be our issuer; `iat`
    /// within ±10 s of now; `exp` present, at most 120 s after `iat` and not passed; `jti`
    /// present, at most 200 characters and never used before (all `invalid_grant`);
    /// `consumer_org` is refused (`invalid_request`, delegation is not supported); `scope`
    /// must be present and each of its scopes granted to the client (`invalid_scope`). The
    /// access token's `aud` is the API of the client's municipality; an optional `resource` (a
    /// URI or a list of them, RFC 8707) must name only that (`invalid_target`).
    pub async fn grant(&self, grant_type: Option<&str>, assertion: Option<&str>) -> Result<TokenResponse, TokenError> {
        let mut client_label = None;
        let outcome = self.grant_inner(grant_type, assertion, &mut client_label).await;
        if let Err(refusal) = &outcome
            && refusal.error != "server_error"
        {
            tracing::info!(
                client.id = client_label.as_deref().unwrap_or("-"),
                error = refusal.error,
                reason = %refusal.description,
                "maskinporten token refused"
            );
            let written = crate::record(
                &self.db,
                audit::Actor::System("maskinporten"),
                None,
                crate::actions::TOKEN_REFUSED,
                None,
                client_label.as_deref(),
            )
            .await;
            if let Err(error) = written {
                // The refusal stands either way; a log that cannot be written is our problem.
                tracing::error!(error = %error, "a refused maskinporten token request could not be logged");
            }
        }
        outcome
    }

    async fn grant_inner(
        &self,
        grant_type: Option<&str>,
        assertion: Option<&str>,
        client_label: &mut Option<String>,
    ) -> Result<TokenResponse, TokenError> {
        match grant_type.map(str::trim) {
            None | Some("") => return Err(invalid_request("grant_type is missing")),
            Some(GRANT_TYPE) => {}
            Some(_) => {
                return Err(TokenError::new("unsupported_grant_type", "grant_type must be the JWT bearer grant"));
            }
        }
        let assertion = match assertion.map(str::trim) {
            None | Some("") => return Err(invalid_request("assertion is missing")),
            Some(assertion) => assertion,
        };
        let header = jose::header(assertion).map_err(|_| invalid_grant("the assertion is not a JWT"))?;
        let unverified = jose::unverified_claims(assertion).map_err(|_| invalid_grant("the assertion is not a JWT"))?;
        let Some(client_id) = unverified.get("iss").and_then(Value::as_str) else {
            return Err(invalid_grant("the assertion has no iss (the client id)"));
        };
        *client_label = Some(loggable(client_id));
        let Some(kid) = header.kid.as_deref().filter(|k| !k.is_empty()) else {
            return Err(invalid_grant("the assertion header has no kid"));
        };

        let found = if client_id.chars().count() > MAX_CLIENT_ID_CHARS {
            None
        } else {
            self.find_client(client_id).await.map_err(|e| server_error(&e))?
        };
        let Some((kommunenummer, client, jwks)) = found else {
            return Err(invalid_client("the client is not registered"));
        };
        if client.disabled {
            return Err(invalid_client("the client is disabled"));
        }
        if !client.kids.iter().any(|k| k == kid) {
            return Err(invalid_grant("the kid is not one of the client's keys"));
        }
        let claims = jose::verify(assertion, &jwks, &ALGORITHMS).map_err(|error| match error {
            JoseError::Algorithm(_) => invalid_grant("the assertion's algorithm is not accepted for this key"),
            JoseError::UnknownKey => invalid_grant("the kid is not one of the client's keys"),
            JoseError::Signature => invalid_grant("the assertion's signature is not valid"),
            _ => invalid_grant("the assertion could not be verified"),
        })?;
        if claims.get("iss").and_then(Value::as_str) != Some(client.client_id.as_str()) {
            return Err(invalid_grant("the assertion has no iss (the client id)"));
        }

        if !jose::audience_contains(&claims, &self.issuer) {
            return Err(invalid_grant("aud must be the token endpoint's issuer"));
        }
        let now = now_seconds();
        let expires_at = assertion_times(&claims, now)?;
        let jti = match claims.get("jti").and_then(Value::as_str) {
            Some(jti) if !jti.is_empty() && jti.chars().count() <= MAX_JTI_CHARS => jti,
            Some(jti) if !jti.is_empty() => return Err(invalid_grant("jti is longer than 200 characters")),
            _ => return Err(invalid_grant("jti is missing")),
        };
        if claims.contains_key("consumer_org") {
            return Err(invalid_request("consumer_org is not supported: delegation is not supported"));
        }
        let scopes = requested_scopes(&claims, &client)?;
        let audience = self
            .audience(kommunenummer)
            .ok_or_else(|| invalid_client("the client's municipality is not served here"))?;
        let names_only_ours = |resource: &Value| resource.as_str() == Some(audience);
        match claims.get("resource") {
            None | Some(Value::Null) => {}
            Some(resource @ Value::String(_)) if names_only_ours(resource) => {}
            Some(Value::Array(list)) if !list.is_empty() && list.iter().all(names_only_ours) => {}
            Some(Value::String(_) | Value::Array(_)) => {
                return Err(TokenError::new("invalid_target", "resource must be the API of the client's municipality"));
            }
            Some(_) => return Err(invalid_request("resource must be a URI or a list of URIs")),
        }

        let scope = scopes.join(" ");
        let token_claims = json!({
            "iss": self.issuer,
            "client_id": client.client_id,
            "client_amr": "private_key_jwt",
            "consumer": { "authority": CONSUMER_AUTHORITY, "ID": format!("0192:{}", client.orgnr.as_digits()) },
            "scope": scope,
            "iat": now,
            "exp": now + TOKEN_SECONDS,
            "jti": random_token(24),
            "aud": audience,
        });
        let access_token = self.key.sign("at+jwt", &token_claims).map_err(|e| server_error(&e))?;

        self.purge_used_jtis(now).await;
        self.record_issue(&client, jti, expires_at).await?;
        tracing::info!(client.id = %client.client_id, scope = %scope, "maskinporten token issued");
        Ok(TokenResponse { access_token, token_type: "Bearer", expires_in: TOKEN_SECONDS, scope })
    }

    /// Spends the `jti` and writes the access-log entry in one transaction. The primary key of
    /// `used_jtis` refuses a second use; on PostgreSQL a racing second insert waits for the
    /// first transaction and then fails the same way.
    async fn record_issue(&self, client: &MachineClient, jti: &str, expires_at: i64) -> Result<(), TokenError> {
        let mut tx = self.db.begin().await.map_err(|e| server_error(&e))?;
        let inserted = tx
            .execute(
                "INSERT INTO used_jtis (issuer, jti, expires_at) VALUES ($1, $2, $3)",
                &params![client.client_id.as_str(), jti, expires_at],
            )
            .await;
        match inserted {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                // Dropping the transaction rolls it back (and frees SQLite's writer lock before
                // the refusal is logged).
                drop(tx);
                return Err(invalid_grant("jti reused: an assertion is used only once"));
            }
            Err(error) => return Err(server_error(&error)),
        }
        let context = crate::security_context(audit::Actor::Client(client.orgnr), None);
        let access =
            audit::Access { action: crate::actions::TOKEN_ISSUED, subject: None, resource: Some(&client.client_id) };
        audit::AuditLog::record_in(&mut tx, &context, &[access]).await.map_err(|e| server_error(&e))?;
        tx.commit().await.map_err(|e| server_error(&e))?;
        Ok(())
    }

    /// Forgets spent `jti`s whose assertions have expired, at most once a minute. A failure is
    /// logged and otherwise ignored: the rows only take room.
    async fn purge_used_jtis(&self, now: i64) {
        let last = self.last_purge.load(Ordering::Relaxed);
        if now - last < PURGE_EVERY_SECONDS
            || self.last_purge.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err()
        {
            return;
        }
        // A margin beyond `exp`, so a clock that steps back a little cannot revive a spent jti.
        let cutoff = now - IAT_WINDOW_SECONDS - MAX_ASSERTION_SECONDS;
        if let Err(error) = self.db.execute("DELETE FROM used_jtis WHERE expires_at < $1", &params![cutoff]).await {
            tracing::warn!(error = %error, "spent jtis could not be purged");
        }
    }

    /// Our public keys, served at `jwks_uri`.
    pub fn jwks(&self) -> Jwks {
        Jwks { keys: vec![self.key.public_jwk()] }
    }

    /// OAuth authorization server metadata (RFC 8414), served at
    /// `/.well-known/oauth-authorization-server`.
    pub fn metadata(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "token_endpoint": self.endpoint("token"),
            "jwks_uri": self.endpoint("jwks"),
            "grant_types_supported": [GRANT_TYPE],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ALGORITHMS.iter().map(|a| a.name()).collect::<Vec<_>>(),
            "scopes_supported": SCOPES.iter().map(|(scope, _)| *scope).collect::<Vec<_>>(),
        })
    }
}

/// A client id as the access log and `tracing` may carry it: at most 100 characters, without
/// control characters (it may be anything a caller wrote into `iss`).
fn loggable(client_id: &str) -> String {
    client_id.chars().filter(|c| !c.is_control()).take(MAX_CLIENT_ID_CHARS).collect()
}

/// Checks `iat`, `exp` (and `nbf` if present) of an assertion; returns `exp`.
fn assertion_times(claims: &Map<String, Value>, now: i64) -> Result<i64, TokenError> {
    let number = |name: &str| claims.get(name).and_then(Value::as_i64);
    let iat = number("iat").ok_or_else(|| invalid_grant("iat is missing or not a number"))?;
    let exp = number("exp").ok_or_else(|| invalid_grant("exp is missing or not a number"))?;
    if iat.abs_diff(now) > IAT_WINDOW_SECONDS.unsigned_abs() {
        return Err(invalid_grant("iat must be within 10 seconds of the server's clock"));
    }
    if exp.saturating_sub(iat) > MAX_ASSERTION_SECONDS {
        return Err(invalid_grant("exp may be at most 120 seconds after iat"));
    }
    if exp <= now {
        return Err(invalid_grant("the assertion has expired"));
    }
    if let Some(nbf) = claims.get("nbf") {
        match nbf.as_i64() {
            Some(nbf) if nbf <= now + IAT_WINDOW_SECONDS => {}
            _ => return Err(invalid_grant("the assertion is not valid yet (nbf)")),
        }
    }
    Ok(exp)
}

/// The scopes asked for, each granted to the client, without repeats.
fn requested_scopes(claims: &Map<String, Value>, client: &MachineClient) -> Result<Vec<String>, TokenError> {
    let requested = claims.get("scope").and_then(Value::as_str).unwrap_or_default();
    let mut scopes: Vec<String> = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        if !client.scopes.iter().any(|granted| granted == scope) {
            return Err(invalid_scope("a requested scope is not granted to the client"));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.is_empty() {
        return Err(invalid_scope("scope is missing"));
    }
    Ok(scopes)
}

/// Parses a client's public key and checks it by our rules.
fn checked_client_key(jwk_json: &str) -> Result<Jwk, IdentityError> {
    let invalid = |rule: &str| IdentityError::Invalid(rule.to_owned());
    let mut jwk = Jwk::parse(jwk_json).map_err(|error| match error {
        JoseError::Key(text) if text.contains("private") => invalid("give the public key only, not a private key"),
        _ => invalid("the key must be a public JWK of type RSA or EC P-256"),
    })?;
    match jwk.kid.as_deref().map(str::trim) {
        None | Some("") => return Err(invalid("the key must have a kid")),
        Some(kid) if kid.chars().count() > MAX_KID_CHARS => {
            return Err(invalid("the kid must be at most 100 characters"));
        }
        Some(kid) if kid.chars().any(char::is_control) => {
            return Err(invalid("the kid must not contain control characters"));
        }
        Some(_) => {}
    }
    if jwk.key_use.as_deref().is_some_and(|u| u != "sig") {
        return Err(invalid("the key's use must be sig"));
    }
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let decode = |member: &Option<String>| member.as_deref().and_then(|m| URL_SAFE_NO_PAD.decode(m).ok());
    let encode = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    match jwk.kty.as_str() {
        "RSA" => {
            if jwk.alg.as_deref().is_some_and(|a| !["RS256", "RS384", "RS512"].contains(&a)) {
                return Err(invalid("an RSA key's alg must be RS256, RS384 or RS512"));
            }
            let modulus = decode(&jwk.n).ok_or_else(|| invalid("the RSA modulus must be base64url"))?;
            let exponent = decode(&jwk.e).ok_or_else(|| invalid("the RSA exponent must be base64url"))?;
            let bits = significant_bits(&modulus);
            if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                return Err(invalid("an RSA key must have 2048 to 8192 bits"));
            }
            if significant_bits(&exponent) == 0 {
                return Err(invalid("the RSA exponent must not be zero"));
            }
            // RFC 7518 forbids leading zero bytes, yet some encoders add one (a DER sign byte);
            // the verifier refuses them, so they are dropped here rather than at every token.
            jwk.n = Some(encode(without_leading_zeros(&modulus)));
            jwk.e = Some(encode(without_leading_zeros(&exponent)));
        }
        _ => {
            if jwk.alg.as_deref().is_some_and(|a| a != "ES256") {
                return Err(invalid("an EC key's alg must be ES256"));
            }
            let x = decode(&jwk.x).unwrap_or_default();
            let y = decode(&jwk.y).unwrap_or_default();
            if x.len() != 32 || y.len() != 32 {
                return Err(invalid("a P-256 key's coordinates must be 32 bytes of base64url"));
            }
        }
    }
    // Stored without surrounding blanks, so the kid matched at the token endpoint is the one
    // shown.
    jwk.kid = jwk.kid.map(|kid| kid.trim().to_owned());
    Ok(jwk)
}

/// A big-endian unsigned integer without its leading zero bytes.
fn without_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The number of bits of a big-endian unsigned integer, leading zeros not counted.
fn significant_bits(bytes: &[u8]) -> usize {
    match bytes.iter().position(|b| *b != 0) {
        None => 0,
        Some(first) => {
            let leading = usize::try_from(bytes[first].leading_zeros()).unwrap_or(0);
            (bytes.len() - first) * 8 - leading
        }
    }
}

/// The access-log entry of a registry change, written in the change's own transaction: the
/// same entry [`crate::record`] writes, but standing or falling with the change.
async fn record_change(tx: &mut Tx, actor: &audit::Actor, client_id: &str) -> Result<(), IdentityError> {
    let context = crate::security_context(actor.clone(), None);
    let access = audit::Access { action: crate::actions::CLIENT_CHANGED, subject: None, resource: Some(client_id) };
    audit::AuditLog::record_in(tx, &context, &[access]).await?;
    Ok(())
}

/// One municipality's machine clients (see [`Maskinporten::registry`]).
#[derive(Debug, Clone, Copy)]
pub struct Registry<'a> {
    maskinporten: &'a Maskinporten,
    kommunenummer: Kommunenummer,
}

impl Registry<'_> {
    fn db(&self) -> store::MunicipalDb<'_> {
        self.maskinporten.db.municipal(self.kommunenummer)
    }

    /// Registers a client for the organisation `orgnr`, allowed `scopes` (each one of
    /// [`SCOPES`], at least one). The name is trimmed and must be 1–100 characters without
    /// control characters.
    pub async fn register_client(
        &self,
        actor: &audit::Actor,
        name: &str,
        orgnr: OrgNr,
        scopes: &[String],
    ) -> Result<MachineClient, IdentityError> {
        let name = name.trim();
        let length = name.chars().count();
        if length == 0 || length > MAX_NAME_CHARS {
            return Err(IdentityError::Invalid("the name must be 1 to 100 characters".to_owned()));
        }
        if name.chars().any(char::is_control) {
            return Err(IdentityError::Invalid("the name must not contain control characters".to_owned()));
        }
        let mut granted: Vec<String> = Vec::new();
        for scope in scopes {
            let scope = scope.trim();
            if !SCOPES.iter().any(|(known, _)| *known == scope) {
                return Err(IdentityError::Invalid("every scope must be one of the platform's scopes".to_owned()));
            }
            if !granted.iter().any(|s| s == scope) {
                granted.push(scope.to_owned());
            }
        }
        if granted.is_empty() {
            return Err(IdentityError::Invalid("a client needs at least one scope".to_owned()));
        }
        let client = MachineClient {
            client_id: uuid::Uuid::now_v7().to_string(),
            name: name.to_owned(),
            orgnr,
            scopes: granted,
            kids: Vec::new(),
            created_at: now_seconds(),
            disabled: false,
        };
        let mut tx = self.maskinporten.db.begin().await?;
        tx.municipal(self.kommunenummer)
            .execute(
                "INSERT INTO machine_clients (kommunenummer, client_id, name, orgnr, scopes, created_at, disabled_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, NULL)",
                &params![
                    client.client_id.as_str(),
                    client.name.as_str(),
                    orgnr.as_digits(),
                    client.scopes.join(" "),
                    client.created_at
                ],
            )
            .await?;
        record_change(&mut tx, actor, &client.client_id).await?;
        tx.commit().await?;
        Ok(client)
    }

    /// Adds a public key (a JWK) to a client and returns its `kid`. The key must be public,
    /// have a `kid` of at most 100 characters that the client does not have yet
    /// ([`IdentityError::Conflict`] otherwise), and be RSA of 2048 to 8192 bits or EC P-256.
    pub async fn add_key(
        &self,
        actor: &audit::Actor,
        client_id: &str,
        jwk_json: &str,
    ) -> Result<String, IdentityError> {
        let jwk = checked_client_key(jwk_json)?;
        let kid = jwk.kid.clone().ok_or_else(|| IdentityError::Invalid("the key must have a kid".to_owned()))?;
        let stored =
            serde_json::to_string(&jwk).map_err(|_| IdentityError::Invalid("the key cannot be stored".to_owned()))?;
        let mut tx = self.maskinporten.db.begin().await?;
        if !self.owns(&mut tx, client_id).await? {
            return Err(IdentityError::NotFound);
        }
        let inserted = tx
            .execute(
                "INSERT INTO machine_client_keys (client_id, kid, jwk, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
                &params![client_id, kid.as_str(), stored, now_seconds()],
            )
            .await?;
        if inserted == 0 {
            return Err(IdentityError::Conflict("the client already has a key with this kid".to_owned()));
        }
        record_change(&mut tx, actor, client_id).await?;
        tx.commit().await?;
        Ok(kid)
    }

    /// Removes a client's key; assertions signed with it are refused from now on.
    pub async fn remove_key(&self, actor: &audit::Actor, client_id: &str, kid: &str) -> Result<(), IdentityError> {
        let mut tx = self.maskinporten.db.begin().await?;
        if !self.owns(&mut tx, client_id).await? {
            return Err(IdentityError::NotFound);
        }
        let removed = tx
            .execute("DELETE FROM machine_client_keys WHERE client_id = $1 AND kid = $2", &params![client_id, kid])
            .await?;
        if removed == 0 {
            return Err(IdentityError::NotFound);
        }
        record_change(&mut tx, actor, client_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Disables a client: it gets no more tokens. Tokens already issued live out their two
    /// minutes. Disabling a disabled client changes nothing.
    pub async fn disable_client(&self, actor: &audit::Actor, client_id: &str) -> Result<(), IdentityError> {
        let mut tx = self.maskinporten.db.begin().await?;
        if !self.owns(&mut tx, client_id).await? {
            return Err(IdentityError::NotFound);
        }
        let changed = tx
            .municipal(self.kommunenummer)
            .execute(
                "UPDATE machine_clients SET disabled_at = $2 WHERE kommunenummer = $1 AND client_id = $3 \
                 AND disabled_at IS NULL",
                &params![now_seconds(), client_id],
            )
            .await?;
        if changed > 0 {
            record_change(&mut tx, actor, client_id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every client of the municipality with its key ids, oldest first.
    pub async fn clients(&self) -> Result<Vec<MachineClient>, IdentityError> {
        let rows: Vec<ClientRow> = self
            .db()
            .fetch_all(
                &format!(
                    "SELECT {CLIENT_COLUMNS} FROM machine_clients WHERE kommunenummer = $1 ORDER BY created_at, client_id"
                ),
                &[],
            )
            .await?;
        let mut clients = Vec::with_capacity(rows.len());
        for row in rows {
            let keys: Vec<KeyRow> = self
                .maskinporten
                .db
                .fetch_all(
                    "SELECT kid, jwk FROM machine_client_keys WHERE client_id = $1 ORDER BY kid",
                    &params![row.client_id.as_str()],
                )
                .await?;
            clients.push(row.into_client(keys.into_iter().map(|k| k.kid).collect())?);
        }
        Ok(clients)
    }

    /// One of the municipality's clients with its key ids, if it exists.
    pub async fn client(&self, client_id: &str) -> Result<Option<MachineClient>, IdentityError> {
        Ok(self.client_with_keys(client_id).await?.map(|(client, _)| client))
    }

    async fn client_with_keys(&self, client_id: &str) -> Result<Option<(MachineClient, Jwks)>, IdentityError> {
        let Some(row) = self
            .db()
            .fetch_optional::<ClientRow>(
                &format!("SELECT {CLIENT_COLUMNS} FROM machine_clients WHERE kommunenummer = $1 AND client_id = $2"),
                &params![client_id],
            )
            .await?
        else {
            return Ok(None);
        };
        let keys: Vec<KeyRow> = self
            .maskinporten
            .db
            .fetch_all(
                "SELECT kid, jwk FROM machine_client_keys WHERE client_id = $1 ORDER BY kid",
                &params![client_id],
            )
            .await?;
        let kids = keys.iter().map(|k| k.kid.clone()).collect();
        // A stored key was checked when added; one that no longer reads is skipped, not fatal.
        let jwks = Jwks { keys: keys.iter().filter_map(|k| serde_json::from_str::<Jwk>(&k.jwk).ok()).collect() };
        Ok(Some((row.into_client(kids)?, jwks)))
    }

    /// Whether the client exists and is this municipality's, read inside `tx`.
    async fn owns(&self, tx: &mut Tx, client_id: &str) -> Result<bool, IdentityError> {
        #[derive(serde::Deserialize)]
        struct Found {
            #[allow(dead_code)]
            client_id: String,
        }
        Ok(tx
            .municipal(self.kommunenummer)
            .fetch_optional::<Found>(
                "SELECT client_id FROM machine_clients WHERE kommunenummer = $1 AND client_id = $2",
                &params![client_id],
            )
            .await?
            .is_some())
    }
}

// ----- Verifying access tokens -----

/// Where an issuer's public keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Known in-process: our own token endpoint's keys.
    Static(Jwks),
    /// Fetched from a JWK set URL (the real Maskinporten's), cached for an hour and fetched
    /// again when a token names a key we have not seen.
    Remote {
        /// The issuer's `jwks_uri`.
        jwks_uri: String,
    },
}

/// An issuer whose access tokens the API accepts.
#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    /// The exact `iss` of its tokens, e.g. `https://maskinporten.no/`.
    pub issuer: String,
    /// Its keys.
    pub keys: KeySource,
}

/// The machine client behind a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachinePrincipal {
    /// The client id at its issuer.
    pub client_id: String,
    /// The organisation the token was issued to (its `consumer`).
    pub orgnr: OrgNr,
    /// The scopes the token carries.
    pub scopes: Vec<String>,
}

/// Why a presented access token was refused. The texts name the broken rule, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessTokenError {
    /// The token is not one we accept (answer 401).
    #[error("the access token is not valid: {0}")]
    Unauthenticated(String),
    /// The token is good but lacks the scope needed (answer 403); holds the scope needed.
    #[error("the access token lacks the scope {0}")]
    InsufficientScope(String),
}

/// How long a fetched JWK set is used.
const REMOTE_KEYS_TTL: Duration = Duration::from_secs(60 * 60);
/// The least time between two fetches caused by unknown key ids, so tokens with made-up `kid`s
/// cannot make us hammer the issuer.
const REFETCH_COOLDOWN: Duration = Duration::from_secs(60);

/// How long to wait after a failed fetch before fetching again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct RemoteCache {
    /// The keys and when they were fetched.
    keys: Option<(Instant, Jwks)>,
    /// When an unknown `kid` last made us fetch.
    last_refetch: Option<Instant>,
    /// When a fetch last failed, if the latest did.
    last_failure: Option<Instant>,
}

fn keys_unavailable() -> AccessTokenError {
    AccessTokenError::Unauthenticated("its issuer's keys could not be fetched".to_owned())
}

#[derive(Debug)]
struct Issuer {
    issuer: String,
    keys: KeySource,
    cache: tokio::sync::Mutex<RemoteCache>,
}

/// Verifies the access tokens presented to the API, from a fixed list of trusted issuers.
/// Cheap to clone; clones share the key cache.
#[derive(Debug, Clone)]
pub struct AccessTokens {
    issuers: Arc<[Issuer]>,
    http: reqwest::Client,
}

impl AccessTokens {
    /// A verifier that trusts `issuers`.
    pub fn new(issuers: Vec<TrustedIssuer>) -> Result<Self, IdentityError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| IdentityError::Provider(e.to_string()))?;
        let issuers = issuers
            .into_iter()
            .map(|t| Issuer { issuer: t.issuer, keys: t.keys, cache: tokio::sync::Mutex::new(RemoteCache::default()) })
            .collect();
        Ok(Self { issuers, http })
    }

    /// Verifies `token` and that it carries `required_scope`: the signature with its issuer's
    /// keys (RS256/384/512 or ES256), a trusted `iss`, `exp` present and not passed (10 s
    /// leeway), `iat` present and not in the future, an `aud` that names `audience` (the API
    /// of the municipality whose host the token was shown to: a token is good for one
    /// municipality only), a `client_id`, and a `consumer` of the form
    /// `{"authority": "iso6523-actorid-upis", "ID": "0192:<orgnr>"}`.
    pub async fn verify(
        &self,
        token: &str,
        required_scope: &str,
        audience: &str,
    ) -> Result<MachinePrincipal, AccessTokenError> {
        let refused = |rule: &str| AccessTokenError::Unauthenticated(rule.to_owned());
        let unverified = jose::unverified_claims(token).map_err(|_| refused("it is not a JWT"))?;
        let iss = unverified.get("iss").and_then(Value::as_str).ok_or_else(|| refused("it has no issuer"))?;
        let issuer =
            self.issuers.iter().find(|i| i.issuer == iss).ok_or_else(|| refused("its issuer is not trusted"))?;

        let claims = match &issuer.keys {
            KeySource::Static(jwks) => jose::verify(token, jwks, &ALGORITHMS),
            KeySource::Remote { jwks_uri } => {
                let jwks = self.remote_keys(issuer, jwks_uri, false).await?;
                match jose::verify(token, &jwks, &ALGORITHMS) {
                    Err(JoseError::UnknownKey) => {
                        let jwks = self.remote_keys(issuer, jwks_uri, true).await?;
                        jose::verify(token, &jwks, &ALGORITHMS)
                    }
                    other => other,
                }
            }
        }
        .map_err(|error| match error {
            JoseError::UnknownKey => refused("it is signed with a key its issuer does not have"),
            JoseError::Signature => refused("its signature is not valid"),
            JoseError::Algorithm(_) => refused("its signing algorithm is not accepted"),
            _ => refused("it could not be verified"),
        })?;
        if claims.get("iss").and_then(Value::as_str) != Some(issuer.issuer.as_str()) {
            return Err(refused("its issuer is not trusted"));
        }
        TimeRules { now: now_seconds(), leeway: 10, max_lifetime: None, require_iat: true }
            .check(&claims)
            .map_err(|error| AccessTokenError::Unauthenticated(error.to_string()))?;
        if !jose::audience_contains(&claims, audience) {
            return Err(refused("its audience (aud) is not this municipality's API"));
        }
        let client_id = claims
            .get("client_id")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| refused("it has no client_id"))?
            .to_owned();
        let orgnr = consumer(&claims).ok_or_else(|| refused("its consumer is missing or malformed"))?;
        let scopes: Vec<String> = claims
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if !scopes.iter().any(|s| s == required_scope) {
            return Err(AccessTokenError::InsufficientScope(required_scope.to_owned()));
        }
        Ok(MachinePrincipal { client_id, orgnr, scopes })
    }

    /// A remote issuer's keys: from the cache while it is fresh, else fetched. `unknown_kid`
    /// asks for a fresh copy because a token named a key we have not seen; that happens at
    /// most once a minute, and otherwise the cached keys are returned. When a fetch fails, the
    /// keys fetched before (if any) go on serving until a later fetch succeeds.
    async fn remote_keys(&self, issuer: &Issuer, jwks_uri: &str, unknown_kid: bool) -> Result<Jwks, AccessTokenError> {
        let mut cache = issuer.cache.lock().await;
        let fresh = cache.keys.as_ref().filter(|(fetched, _)| fetched.elapsed() < REMOTE_KEYS_TTL);
        match (fresh, unknown_kid) {
            (Some((_, jwks)), false) => return Ok(jwks.clone()),
            (Some((_, jwks)), true) if cache.last_refetch.is_some_and(|at| at.elapsed() < REFETCH_COOLDOWN) => {
                return Ok(jwks.clone());
            }
            _ => {}
        }
        // After a failed fetch, wait a little before trying again, so an issuer that is down
        // does not make every request wait out a timeout; meanwhile older keys, if any, serve.
        if cache.last_failure.is_some_and(|at| at.elapsed() < RETRY_AFTER_FAILURE) {
            return cache.keys.as_ref().map(|(_, jwks)| jwks.clone()).ok_or_else(keys_unavailable);
        }
        if unknown_kid {
            cache.last_refetch = Some(Instant::now());
        }
        // The lock is held across the fetch so concurrent requests wait for one fetch rather
        // than each starting their own; the fetch times out after 10 s.
        match self.fetch_jwks(jwks_uri).await {
            Ok(jwks) => {
                cache.keys = Some((Instant::now(), jwks.clone()));
                cache.last_failure = None;
                Ok(jwks)
            }
            Err(reason) => {
                tracing::warn!(
                    issuer = %issuer.issuer,
                    reason = %reason,
                    "an access token issuer's keys could not be fetched"
                );
                cache.last_failure = Some(Instant::now());
                cache.keys.as_ref().map(|(_, jwks)| jwks.clone()).ok_or_else(keys_unavailable)
            }
        }
    }

    async fn fetch_jwks(&self, jwks_uri: &str) -> Result<Jwks, String> {
        let response = self.http.get(jwks_uri).send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("{jwks_uri} answered {}", response.status()));
        }
        response.json::<Jwks>().await.map_err(|e| e.to_string())
    }
}

/// The organisation number of a token's `consumer`, if it is well-formed.
fn consumer(claims: &Map<String, Value>) -> Option<OrgNr> {
    let consumer = claims.get("consumer")?.as_object()?;
    if consumer.get("authority")?.as_str()? != CONSUMER_AUTHORITY {
        return None;
    }
    let digits = consumer.get("ID")?.as_str()?.strip_prefix("0192:")?;
    if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    OrgNr::parse(digits).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_counted_without_leading_zeros() {
        assert_eq!(significant_bits(&[]), 0);
        assert_eq!(significant_bits(&[0, 0]), 0);
        assert_eq!(significant_bits(&[0, 1]), 1);
        assert_eq!(significant_bits(&[0x80, 0]), 16);
        assert_eq!(significant_bits(&[0, 0x7f, 0xff]), 15);
    }

    #[test]
    fn consumers_must_be_norwegian_organisation_numbers() {
        let claims = |value: Value| json!({ "consumer": value }).as_object().cloned().unwrap_or_default();
        let good = claims(json!({ "authority": CONSUMER_AUTHORITY, "ID": "0192:974760673" }));
        assert_eq!(consumer(&good).map(|o| o.as_digits()), Some("974760673".to_owned()));
        for bad in [
            json!({ "authority": CONSUMER_AUTHORITY, "ID": "0192:974760674" }),
            json!({ "authority": CONSUMER_AUTHORITY, "ID": "0192:974 760 673" }),
            json!({ "authority": CONSUMER_AUTHORITY, "ID": "0088:974760673" }),
            json!({ "authority": "other", "ID": "0192:974760673" }),
            json!({ "ID": "0192:974760673" }),
            json!("0192:974760673"),
        ] {
            assert_eq!(consumer(&claims(bad.clone())), None, "{bad}");
        }
    }

    #[test]
    fn loggable_client_ids_are_short_and_plain() {
        assert_eq!(loggable("abc\n\u{7}def"), "abcdef");
        assert_eq!(loggable(&"é".repeat(300)).chars().count(), 100);
    }

    #[test]
    fn token_error_statuses_and_wire_form() {
        assert_eq!(invalid_client("x").status(), 401);
        assert_eq!(invalid_grant("x").status(), 400);
        let body = serde_json::to_value(invalid_scope("scope is missing")).unwrap_or_default();
        assert_eq!(body, json!({ "error": "invalid_scope", "error_description": "scope is missing" }));
    }
}
