//! The OpenID Connect relying party: ID-porten for residents, the municipality's own provider
//! (Entra ID, say) for employees, and in demo mode the built-in test provider — one code path
//! for all of them. Authorization code flow with PKCE S256, `state` and `nonce`; client
//! authentication by `private_key_jwt` or a client secret; the ID token checked for signature,
//! issuer, audience, times, nonce and level of assurance; discovery metadata and keys cached.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kernel::{Kommunenummer, Language};
use serde::Deserialize;
use serde_json::{Map, Value};
use store::{Db, params};

use crate::jose::{self, Algorithm, Jwks, SigningKey, TimeRules, random_token, sha256_base64url};
use crate::sessions::constant_time_eq;
use crate::{IdentityError, now_seconds};

/// ID-porten's levels of assurance, lowest first.
pub const ACR_LEVELS: [&str; 2] = ["idporten-loa-substantial", "idporten-loa-high"];

/// How long a login may take at the provider before its state is forgotten.
pub const LOGIN_ATTEMPT_SECONDS: i64 = 10 * 60;

/// How the relying party proves who it is at the token endpoint.
#[derive(Clone)]
pub enum ClientAuth {
    /// A JWT signed with our key (RFC 7523), ID-porten's recommendation.
    PrivateKeyJwt(Arc<SigningKey>),
    /// HTTP Basic with the client secret.
    ClientSecretBasic(String),
    /// The client secret in the form body.
    ClientSecretPost(String),
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAuth::PrivateKeyJwt(key) => write!(f, "PrivateKeyJwt({})", key.kid()),
            ClientAuth::ClientSecretBasic(_) => f.write_str("ClientSecretBasic([redacted])"),
            ClientAuth::ClientSecretPost(_) => f.write_str("ClientSecretPost([redacted])"),
        }
    }
}

/// One OpenID provider as the relying party sees it.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Our name for it, stored with sessions: `idporten` or `employees`.
    pub name: String,
    /// The issuer; discovery is at `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// Our client id there.
    pub client_id: String,
    /// How we authenticate.
    pub client_auth: ClientAuth,
    /// The scopes asked for.
    pub scopes: String,
    /// The `acr_values` asked for, if any.
    pub acr_values: Option<String>,
    /// The lowest `acr` accepted in the ID token, if checked (one of [`ACR_LEVELS`]).
    pub minimum_acr: Option<String>,
    /// The claim that identifies the user: `pid` for ID-porten, `sub` or `oid` for employees.
    pub subject_claim: String,
    /// Where the provider sends the browser back, when no municipality's own is listed.
    pub redirect_uri: String,
    /// Where the provider sends the browser after logout, likewise.
    pub post_logout_redirect_uri: String,
    /// Each municipality's own return addresses, on its own host, so the login cookie set
    /// there comes back with the browser (all registered with the provider).
    pub municipal: Vec<MunicipalReturn>,
    /// How long discovery metadata and keys are cached.
    pub metadata_ttl: Duration,
    /// How far clocks may disagree, in seconds.
    pub leeway_seconds: i64,
}

/// One municipality's return addresses at a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MunicipalReturn {
    /// The municipality.
    pub kommunenummer: Kommunenummer,
    /// Its redirect URI (`https://bergen.example.no/logg-inn/tilbake`).
    pub redirect_uri: String,
    /// Its post-logout redirect URI.
    pub post_logout_redirect_uri: String,
}

/// The parts of the discovery document we use.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    /// The issuer; must equal the configured one.
    pub issuer: String,
    /// Where the browser is sent to log in.
    pub authorization_endpoint: String,
    /// Where codes are exchanged.
    pub token_endpoint: String,
    /// The provider's keys.
    pub jwks_uri: String,
    /// RP-initiated logout.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

#[derive(Debug)]
struct Cached {
    fetched: Instant,
    metadata: Metadata,
    jwks: Jwks,
}

/// A relying party for one provider, with its metadata cache.
#[derive(Debug)]
pub struct Provider {
    config: ProviderConfig,
    http: reqwest::Client,
    cache: tokio::sync::Mutex<Option<Cached>>,
}

/// A login on its way to the provider.
#[derive(Debug)]
pub struct Begun {
    /// Where to send the browser.
    pub redirect_to: String,
    /// A secret for a short-lived cookie that binds the callback to this browser.
    pub browser_secret: String,
}

/// What the provider sent back to the redirect URI.
#[derive(Debug, Default, Deserialize)]
pub struct Callback {
    /// The authorization code.
    pub code: Option<String>,
    /// Our state, echoed.
    pub state: Option<String>,
    /// An error code instead of a code (`access_denied` when the user cancelled).
    pub error: Option<String>,
}

/// A login that checked out.
#[derive(Debug)]
pub struct Authenticated {
    /// The value of the subject claim (`pid`, `sub`, `oid`).
    pub subject: String,
    /// The level of assurance.
    pub acr: Option<String>,
    /// The provider's session id, for front-channel logout.
    pub sid: Option<String>,
    /// The ID token, kept as a logout hint.
    pub id_token: String,
    /// Every claim of the ID token (name, email, ...).
    pub claims: Map<String, Value>,
    /// Where to send the browser now.
    pub return_to: String,
    /// The municipality the login started in.
    pub kommunenummer: Option<Kommunenummer>,
}

#[derive(serde::Deserialize)]
struct Attempt {
    browser_hash: String,
    provider: String,
    kommunenummer: Option<String>,
    nonce: String,
    code_verifier: String,
    return_to: String,
    created_at: i64,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

fn refused(reason: &str) -> IdentityError {
    IdentityError::Unauthenticated(reason.to_owned())
}

/// Appends query parameters, percent-encoded.
pub fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = base.to_owned();
    let mut separator = if base.contains('?') { '&' } else { '?' };
    for (name, value) in pairs {
        url.push(separator);
        url.push_str(&form_encode(name));
        url.push('=');
        url.push_str(&form_encode(value));
        separator = '&';
    }
    url
}

/// `application/x-www-form-urlencoded` encoding of one component.
pub fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Whether `acr` meets `minimum` on ID-porten's scale. An unknown level never does.
pub fn acr_meets(acr: Option<&str>, minimum: &str) -> bool {
    let rank = |level: &str| ACR_LEVELS.iter().position(|l| *l == level);
    match (acr.and_then(rank), rank(minimum)) {
        (Some(got), Some(needed)) => got >= needed,
        _ => false,
    }
}

impl Provider {
    /// A relying party for `config`.
    pub fn new(config: ProviderConfig) -> Result<Self, IdentityError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| IdentityError::Provider(e.to_string()))?;
        Ok(Self { config, http, cache: tokio::sync::Mutex::new(None) })
    }

    /// The configuration.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, IdentityError> {
        let response = self.http.get(url).send().await.map_err(|e| IdentityError::Provider(format!("{url}: {e}")))?;
        if !response.status().is_success() {
            return Err(IdentityError::Provider(format!("{url} answered {}", response.status())));
        }
        response.json().await.map_err(|e| IdentityError::Provider(format!("{url}: {e}")))
    }

    async fn fetch(&self) -> Result<Cached, IdentityError> {
        let url = format!("{}/.well-known/openid-configuration", self.config.issuer.trim_end_matches('/'));
        let metadata: Metadata = self.get_json(&url).await?;
        if metadata.issuer != self.config.issuer {
            return Err(IdentityError::Provider("the discovery document names another issuer".to_owned()));
        }
        let jwks: Jwks = self.get_json(&metadata.jwks_uri).await?;
        Ok(Cached { fetched: Instant::now(), metadata, jwks })
    }

    /// The provider's metadata, from the cache while it is fresh.
    pub async fn metadata(&self) -> Result<Metadata, IdentityError> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref()
            && cached.fetched.elapsed() < self.config.metadata_ttl
        {
            return Ok(cached.metadata.clone());
        }
        let fresh = self.fetch().await?;
        let metadata = fresh.metadata.clone();
        *cache = Some(fresh);
        Ok(metadata)
    }

    /// The provider's keys; `refresh` fetches them again (a key we have not seen may be new).
    async fn keys(&self, refresh: bool) -> Result<Jwks, IdentityError> {
        let mut cache = self.cache.lock().await;
        match cache.as_mut() {
            Some(cached) if !refresh && cached.fetched.elapsed() < self.config.metadata_ttl => Ok(cached.jwks.clone()),
            Some(cached) if refresh => {
                let uri = cached.metadata.jwks_uri.clone();
                drop(cache);
                let jwks: Jwks = self.get_json(&uri).await?;
                if let Some(cached) = self.cache.lock().await.as_mut() {
                    cached.jwks = jwks.clone();
                }
                Ok(jwks)
            }
            _ => {
                let fresh = self.fetch().await?;
                let jwks = fresh.jwks.clone();
                *cache = Some(fresh);
                Ok(jwks)
            }
        }
    }

    /// The redirect URI for a login started at `kommunenummer`'s host.
    pub fn redirect_uri(&self, kommunenummer: Option<Kommunenummer>) -> &str {
        self.municipal_return(kommunenummer).map_or(&self.config.redirect_uri, |r| &r.redirect_uri)
    }

    /// The post-logout redirect URI for `kommunenummer`'s host.
    pub fn post_logout_redirect_uri(&self, kommunenummer: Option<Kommunenummer>) -> &str {
        self.municipal_return(kommunenummer)
            .map_or(&self.config.post_logout_redirect_uri, |r| &r.post_logout_redirect_uri)
    }

    fn municipal_return(&self, kommunenummer: Option<Kommunenummer>) -> Option<&MunicipalReturn> {
        let kommunenummer = kommunenummer?;
        self.config.municipal.iter().find(|r| r.kommunenummer == kommunenummer)
    }

    /// Starts a login: remembers state, nonce and PKCE verifier, and returns where to send the
    /// browser, back to `kommunenummer`'s own redirect URI. `return_to` must already be a local
    /// path.
    pub async fn begin(
        &self,
        db: &Db,
        language: Language,
        return_to: &str,
        kommunenummer: Option<Kommunenummer>,
    ) -> Result<Begun, IdentityError> {
        let metadata = self.metadata().await?;
        let state = random_token(24);
        let nonce = random_token(24);
        let code_verifier = random_token(48);
        let browser_secret = random_token(24);
        let now = now_seconds();
        db.execute("DELETE FROM login_attempts WHERE created_at < $1", &params![now - LOGIN_ATTEMPT_SECONDS]).await?;
        db.execute(
            "INSERT INTO login_attempts (state, browser_hash, provider, kommunenummer, nonce, code_verifier, return_to, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &params![
                state.as_str(),
                sha256_base64url(&browser_secret),
                self.config.name.as_str(),
                kommunenummer.map(|k| k.as_str().to_owned()),
                nonce.as_str(),
                code_verifier.as_str(),
                return_to,
                now,
            ],
        )
        .await?;
        let challenge = sha256_base64url(&code_verifier);
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", self.config.client_id.as_str()),
            ("redirect_uri", self.redirect_uri(kommunenummer)),
            ("scope", self.config.scopes.as_str()),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("ui_locales", language.tag()),
        ];
        if let Some(acr_values) = &self.config.acr_values {
            pairs.push(("acr_values", acr_values.as_str()));
        }
        Ok(Begun { redirect_to: with_query(&metadata.authorization_endpoint, &pairs), browser_secret })
    }

    /// Finishes a login from the provider's callback. The attempt is used up whatever happens.
    pub async fn finish(
        &self,
        db: &Db,
        callback: &Callback,
        browser_secret: Option<&str>,
    ) -> Result<Authenticated, IdentityError> {
        let state = callback
            .state
            .as_deref()
            .filter(|s| !s.is_empty() && s.len() <= 200)
            .ok_or_else(|| refused("the callback has no state"))?;
        let attempt = db
            .fetch_optional::<Attempt>(
                "DELETE FROM login_attempts WHERE state = $1 \
                 RETURNING browser_hash, provider, kommunenummer, nonce, code_verifier, return_to, created_at",
                &params![state],
            )
            .await?
            .ok_or_else(|| refused("the state is unknown or used"))?;
        if attempt.provider != self.config.name {
            return Err(refused("the state belongs to another provider"));
        }
        let bound =
            browser_secret.is_some_and(|secret| constant_time_eq(&sha256_base64url(secret), &attempt.browser_hash));
        if !bound {
            return Err(refused("the callback came to another browser than the one that started the login"));
        }
        if now_seconds() - attempt.created_at > LOGIN_ATTEMPT_SECONDS {
            return Err(refused("the login took too long"));
        }
        if let Some(error) = &callback.error {
            let code: String = error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(40).collect();
            return Err(refused(&format!("the provider answered {code}")));
        }
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty() && c.len() <= 2000)
            .ok_or_else(|| refused("the callback has no code"))?;
        let metadata = self.metadata().await?;
        let kommunenummer = attempt.kommunenummer.as_deref().and_then(|k| Kommunenummer::parse(k).ok());
        let redirect_uri = self.redirect_uri(kommunenummer).to_owned();
        let id_token = self.exchange(&metadata, code, &attempt.code_verifier, redirect_uri).await?;
        let claims = self.check_id_token(&metadata, &id_token, &attempt.nonce).await?;
        let subject = claims
            .get(&self.config.subject_claim)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| refused("the ID token has no subject claim"))?
            .to_owned();
        Ok(Authenticated {
            subject,
            acr: claims.get("acr").and_then(Value::as_str).map(str::to_owned),
            sid: claims.get("sid").and_then(Value::as_str).map(str::to_owned),
            id_token,
            claims,
            return_to: attempt.return_to,
            kommunenummer,
        })
    }

    fn client_assertion(&self, key: &SigningKey, audience: &str) -> Result<String, IdentityError> {
        let now = now_seconds();
        let claims = serde_json::json!({
            "iss": self.config.client_id,
            "sub": self.config.client_id,
            "aud": audience,
            "iat": now,
            "exp": now + 60,
            "jti": random_token(16),
        });
        Ok(key.sign("JWT", &claims)?)
    }

    async fn exchange(
        &self,
        metadata: &Metadata,
        code: &str,
        code_verifier: &str,
        redirect_uri: String,
    ) -> Result<String, IdentityError> {
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", code_verifier.to_owned()),
        ];
        let mut request = self.http.post(&metadata.token_endpoint);
        match &self.config.client_auth {
            ClientAuth::PrivateKeyJwt(key) => {
                form.push(("client_id", self.config.client_id.clone()));
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
                ));
                // RFC 7523 and ID-porten: the audience is the issuer.
                form.push(("client_assertion", self.client_assertion(key, &metadata.issuer)?));
            }
            ClientAuth::ClientSecretBasic(secret) => {
                request = request.basic_auth(form_encode(&self.config.client_id), Some(form_encode(secret)));
            }
            ClientAuth::ClientSecretPost(secret) => {
                form.push(("client_id", self.config.client_id.clone()));
                form.push(("client_secret", secret.clone()));
            }
        }
        let body: String =
            form.iter().map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v))).collect::<Vec<_>>().join("&");
        let response = request
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| IdentityError::Provider(format!("token endpoint: {e}")))?;
        let status = response.status();
        if status.is_client_error() {
            return Err(refused(&format!("the token endpoint refused the code ({status})")));
        }
        if !status.is_success() {
            return Err(IdentityError::Provider(format!("the token endpoint answered {status}")));
        }
        let tokens: TokenResponse =
            response.json().await.map_err(|_| IdentityError::Provider("the token response is not JSON".to_owned()))?;
        tokens.id_token.ok_or_else(|| IdentityError::Provider("the token response has no id_token".to_owned()))
    }

    async fn check_id_token(
        &self,
        metadata: &Metadata,
        id_token: &str,
        nonce: &str,
    ) -> Result<Map<String, Value>, IdentityError> {
        let allowed = [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::ES256];
        let claims = match jose::verify(id_token, &self.keys(false).await?, &allowed) {
            Err(jose::JoseError::UnknownKey) => jose::verify(id_token, &self.keys(true).await?, &allowed),
            other => other,
        }
        .map_err(|e| refused(&format!("ID token: {e}")))?;
        if claims.get("iss").and_then(Value::as_str) != Some(metadata.issuer.as_str()) {
            return Err(refused("ID token: wrong issuer"));
        }
        if !jose::audience_contains(&claims, &self.config.client_id) {
            return Err(refused("ID token: wrong audience"));
        }
        if let Some(azp) = claims.get("azp").and_then(Value::as_str)
            && azp != self.config.client_id
        {
            return Err(refused("ID token: wrong authorized party"));
        }
        TimeRules { now: now_seconds(), leeway: self.config.leeway_seconds, max_lifetime: None, require_iat: true }
            .check(&claims)
            .map_err(|e| refused(&format!("ID token: {e}")))?;
        let token_nonce = claims.get("nonce").and_then(Value::as_str).unwrap_or_default();
        if !constant_time_eq(token_nonce, nonce) {
            return Err(refused("ID token: the nonce does not match"));
        }
        if let Some(minimum) = &self.config.minimum_acr
            && !acr_meets(claims.get("acr").and_then(Value::as_str), minimum)
        {
            return Err(refused("ID token: the level of assurance (acr) is too low"));
        }
        Ok(claims)
    }

    /// Where to send the browser to log out at the provider, if it offers RP-initiated logout;
    /// it comes back to `kommunenummer`'s host.
    pub async fn logout_url(
        &self,
        id_token_hint: Option<&str>,
        state: &str,
        kommunenummer: Option<Kommunenummer>,
    ) -> Option<String> {
        let metadata = self.metadata().await.ok()?;
        let endpoint = metadata.end_session_endpoint?;
        let mut pairs =
            vec![("post_logout_redirect_uri", self.post_logout_redirect_uri(kommunenummer)), ("state", state)];
        if let Some(hint) = id_token_hint {
            pairs.push(("id_token_hint", hint));
        } else {
            pairs.push(("client_id", self.config.client_id.as_str()));
        }
        Some(with_query(&endpoint, &pairs))
    }

    /// Whether a front-channel logout's `iss` is this provider's.
    pub fn is_issuer(&self, iss: &str) -> bool {
        iss == self.config.issuer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acr_levels_are_ordered_and_unknown_ones_fail() {
        assert!(acr_meets(Some("idporten-loa-high"), "idporten-loa-substantial"));
        assert!(acr_meets(Some("idporten-loa-substantial"), "idporten-loa-substantial"));
        assert!(!acr_meets(Some("idporten-loa-substantial"), "idporten-loa-high"));
        assert!(!acr_meets(Some("Level4"), "idporten-loa-substantial"));
        assert!(!acr_meets(None, "idporten-loa-substantial"));
    }

    #[test]
    fn queries_are_encoded() {
        assert_eq!(with_query("https://x/a", &[("a", "b c"), ("d", "æ&=")]), "https://x/a?a=b%20c&d=%C3%A6%26%3D");
        assert_eq!(with_query("https://x/a?z=1", &[("a", "b")]), "https://x/a?z=1&a=b");
    }
}
