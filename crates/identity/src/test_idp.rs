//! The built-in test identity provider of demo mode. It speaks the same OpenID Connect as
//! ID-porten — discovery, authorization code with PKCE S256, `state`, `nonce`, `acr`, a `pid`
//! claim, `private_key_jwt`, RP-initiated logout — so the relying party's code path is the same
//! one that runs against the real ID-porten. It also offers the demo employees, for the employee
//! login. Nothing here checks who the person really is: it must never run in production, and
//! the binary refuses to start it unless the configuration says demo mode.

use std::sync::Arc;

use kernel::Fnr;
use serde::Deserialize;
use serde_json::{Value, json};
use store::{Db, params};

use crate::jose::{self, Algorithm, Jwks, SigningKey, TimeRules, random_token, sha256_base64url};
use crate::oidc::{ACR_LEVELS, with_query};
use crate::sessions::constant_time_eq;
use crate::{IdentityError, now_seconds};

/// How long a code may wait to be exchanged.
const CODE_SECONDS: i64 = 60;
/// How long an ID token is valid.
const ID_TOKEN_SECONDS: i64 = 120;

/// Which login page a client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Residents: the personas and any synthetic fødselsnummer; tokens carry `pid`.
    Residents,
    /// Employees: the demo employees; tokens carry `sub`, `name` and `email`.
    Employees,
}

/// A client registered with the test provider.
#[derive(Debug, Clone)]
pub struct TestClient {
    /// The client id.
    pub client_id: String,
    /// Whose login page it gets.
    pub audience: Audience,
    /// Where codes may be sent.
    pub redirect_uris: Vec<String>,
    /// Where the browser may be sent after logout.
    pub post_logout_redirect_uris: Vec<String>,
    /// The client's public keys, for `private_key_jwt`.
    pub jwks: Jwks,
}

/// The query of an authorization request.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuthorizeParams {
    /// Must be `code`.
    pub response_type: Option<String>,
    /// The client.
    pub client_id: Option<String>,
    /// Where to send the code.
    pub redirect_uri: Option<String>,
    /// Must contain `openid`.
    pub scope: Option<String>,
    /// The client's state.
    pub state: Option<String>,
    /// The client's nonce.
    pub nonce: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// Must be `S256`.
    pub code_challenge_method: Option<String>,
    /// The levels asked for.
    pub acr_values: Option<String>,
    /// The page language.
    pub ui_locales: Option<String>,
}

/// A checked authorization request, carried through the login form.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    /// The client.
    pub client_id: String,
    /// Whose login page.
    pub audience: Audience,
    /// Where the code goes.
    pub redirect_uri: String,
    /// Echoed back.
    pub state: String,
    /// Put in the ID token.
    pub nonce: String,
    /// PKCE challenge.
    pub code_challenge: String,
    /// The lowest level asked for.
    pub acr: String,
}

/// Why an authorization request was refused.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or redirect URI is wrong: show an error, never redirect.
    NoRedirect(&'static str),
    /// Send the browser back to the client with this URL (an OAuth error).
    Redirect(String),
}

/// An OAuth error at the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    /// The OAuth error code.
    pub error: &'static str,
    /// Why, for the developer.
    pub description: &'static str,
}

impl TokenError {
    fn new(error: &'static str, description: &'static str) -> Self {
        Self { error, description }
    }

    /// 401 for client authentication failures, 400 otherwise.
    pub fn status(&self) -> u16 {
        if self.error == "invalid_client" { 401 } else { 400 }
    }
}

/// The token endpoint's form.
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    /// Must be `authorization_code`.
    pub grant_type: Option<String>,
    /// The code.
    pub code: Option<String>,
    /// Must match the authorization request.
    pub redirect_uri: Option<String>,
    /// PKCE verifier.
    pub code_verifier: Option<String>,
    /// The client id (also in the assertion).
    pub client_id: Option<String>,
    /// Must be the jwt-bearer assertion type.
    pub client_assertion_type: Option<String>,
    /// The client's signed assertion.
    pub client_assertion: Option<String>,
}

/// Who logs in at the test provider.
#[derive(Debug, Clone)]
pub enum TestLogin {
    /// A resident, at a level.
    Resident {
        /// The number.
        pid: Fnr,
        /// The level chosen.
        acr: String,
    },
    /// A demo employee.
    Employee {
        /// The subject the employee record is found by.
        subject: String,
        /// The name.
        name: String,
    },
}

#[derive(serde::Deserialize)]
struct Code {
    client_id: String,
    redirect_uri: String,
    claims: String,
    nonce: Option<String>,
    code_challenge: String,
    created_at: i64,
    used: bool,
}

/// The test provider.
#[derive(Debug, Clone)]
pub struct TestIdp {
    db: Db,
    issuer: String,
    key: Arc<SigningKey>,
    clients: Vec<TestClient>,
}

fn opt(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty() && v.len() <= 2000)
}

impl TestIdp {
    /// A provider at `issuer`, signing with `key`, knowing `clients`.
    pub fn new(db: Db, issuer: String, key: Arc<SigningKey>, clients: Vec<TestClient>) -> Self {
        Self { db, issuer, key, clients }
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The discovery document.
    pub fn discovery(&self) -> Value {
        let issuer = &self.issuer;
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "end_session_endpoint": format!("{issuer}/endsession"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": [self.key.algorithm().name()],
            "code_challenge_methods_supported": ["S256"],
            "acr_values_supported": ACR_LEVELS,
            "ui_locales_supported": ["nb", "nn", "en", "se"],
            "scopes_supported": ["openid", "profile"],
            "claims_supported": ["sub", "pid", "acr", "amr", "auth_time", "locale", "sid", "name", "email"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "RS384", "RS512", "ES256"],
            "frontchannel_logout_supported": true,
            "frontchannel_logout_session_supported": true,
        })
    }

    /// The provider's public keys.
    pub fn jwks(&self) -> Jwks {
        Jwks { keys: vec![self.key.public_jwk()] }
    }

    fn client(&self, client_id: &str) -> Option<&TestClient> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    /// Checks an authorization request the way ID-porten does.
    pub fn check_authorize(&self, params: &AuthorizeParams) -> Result<AuthorizeRequest, AuthorizeError> {
        let client = opt(&params.client_id)
            .and_then(|id| self.client(id))
            .ok_or(AuthorizeError::NoRedirect("unknown client_id"))?;
        let redirect_uri = opt(&params.redirect_uri)
            .filter(|uri| client.redirect_uris.iter().any(|r| r == uri))
            .ok_or(AuthorizeError::NoRedirect("redirect_uri is not registered for the client"))?;
        let back = |error: &str, description: &str| {
            let mut pairs = vec![("error", error), ("error_description", description)];
            if let Some(state) = opt(&params.state) {
                pairs.push(("state", state));
            }
            AuthorizeError::Redirect(with_query(redirect_uri, &pairs))
        };
        if opt(&params.response_type) != Some("code") {
            return Err(back("unsupported_response_type", "only the code flow is supported"));
        }
        if !opt(&params.scope).is_some_and(|s| s.split(' ').any(|s| s == "openid")) {
            return Err(back("invalid_scope", "scope must contain openid"));
        }
        let state = opt(&params.state).ok_or_else(|| back("invalid_request", "state is required"))?;
        let nonce = opt(&params.nonce).ok_or_else(|| back("invalid_request", "nonce is required"))?;
        let challenge = opt(&params.code_challenge).ok_or_else(|| back("invalid_request", "PKCE is required"))?;
        if opt(&params.code_challenge_method) != Some("S256") {
            return Err(back("invalid_request", "code_challenge_method must be S256"));
        }
        let acr = match opt(&params.acr_values) {
            None => ACR_LEVELS[0].to_owned(),
            Some(values) => values
                .split(' ')
                .find(|v| ACR_LEVELS.contains(v))
                .map(str::to_owned)
                .ok_or_else(|| back("invalid_request", "unknown acr_values"))?,
        };
        Ok(AuthorizeRequest {
            client_id: client.client_id.clone(),
            audience: client.audience,
            redirect_uri: redirect_uri.to_owned(),
            state: state.to_owned(),
            nonce: nonce.to_owned(),
            code_challenge: challenge.to_owned(),
            acr,
        })
    }

    /// Logs `login` in for `request`: stores a single-use code and returns the URL that sends
    /// the browser back to the client.
    pub async fn approve(&self, request: &AuthorizeRequest, login: &TestLogin) -> Result<String, IdentityError> {
        let now = now_seconds();
        let mut claims = match (login, request.audience) {
            (TestLogin::Resident { pid, acr }, Audience::Residents) => {
                if !crate::oidc::acr_meets(Some(acr), &request.acr) {
                    return Err(IdentityError::Invalid(
                        "the level chosen is lower than the service asks for".to_owned(),
                    ));
                }
                json!({
                    // ID-porten's `sub` is pairwise: the same person has another `sub` at another client.
                    "sub": sha256_base64url(&format!("{}:{}", request.client_id, pid.as_digits())),
                    "pid": pid.as_digits(),
                    "acr": acr,
                    "amr": ["TestID"],
                    "locale": "nb",
                })
            }
            (TestLogin::Employee { subject, name }, Audience::Employees) => json!({
                "sub": subject,
                "name": name,
                "email": format!("{subject}@demo.allmenning.no"),
            }),
            _ => return Err(IdentityError::Invalid("this login does not fit the client".to_owned())),
        };
        if let Some(object) = claims.as_object_mut() {
            object.insert("auth_time".to_owned(), json!(now));
            object.insert("sid".to_owned(), json!(random_token(12)));
        }
        let code = random_token(32);
        self.db.execute("DELETE FROM test_idp_codes WHERE created_at < $1", &params![now - 10 * CODE_SECONDS]).await?;
        self.db
            .execute(
                "INSERT INTO test_idp_codes (code_hash, client_id, redirect_uri, claims, nonce, code_challenge, created_at, used) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &params![
                    sha256_base64url(&code),
                    request.client_id.as_str(),
                    request.redirect_uri.as_str(),
                    claims.to_string(),
                    request.nonce.as_str(),
                    request.code_challenge.as_str(),
                    now,
                    false,
                ],
            )
            .await?;
        Ok(with_query(&request.redirect_uri, &[("code", &code), ("state", &request.state)]))
    }

    /// The URL that tells the client the user cancelled.
    pub fn cancel(&self, request: &AuthorizeRequest) -> String {
        with_query(
            &request.redirect_uri,
            &[("error", "access_denied"), ("error_description", "the user cancelled"), ("state", &request.state)],
        )
    }

    fn authenticate_client(&self, form: &TokenForm) -> Result<&TestClient, TokenError> {
        if opt(&form.client_assertion_type) != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
            return Err(TokenError::new("invalid_client", "client authentication must be private_key_jwt"));
        }
        let assertion = opt(&form.client_assertion).ok_or(TokenError::new("invalid_client", "no client_assertion"))?;
        let unverified =
            jose::unverified_claims(assertion).map_err(|_| TokenError::new("invalid_client", "malformed assertion"))?;
        let client = unverified
            .get("iss")
            .and_then(Value::as_str)
            .and_then(|iss| self.client(iss))
            .ok_or(TokenError::new("invalid_client", "unknown client"))?;
        let allowed = [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::ES256];
        let claims = jose::verify(assertion, &client.jwks, &allowed)
            .map_err(|_| TokenError::new("invalid_client", "the assertion's signature does not verify"))?;
        let rules = TimeRules { now: now_seconds(), leeway: 10, max_lifetime: Some(120), require_iat: true };
        if rules.check(&claims).is_err() {
            return Err(TokenError::new("invalid_client", "the assertion's times are wrong"));
        }
        if claims.get("sub").and_then(Value::as_str) != Some(client.client_id.as_str())
            || !jose::audience_contains(&claims, &self.issuer)
            || claims.get("jti").and_then(Value::as_str).is_none_or(str::is_empty)
        {
            return Err(TokenError::new("invalid_client", "the assertion's sub, aud or jti is wrong"));
        }
        if opt(&form.client_id).is_some_and(|id| id != client.client_id) {
            return Err(TokenError::new("invalid_client", "client_id does not match the assertion"));
        }
        Ok(client)
    }

    /// Exchanges a code for an ID token (and an opaque access token).
    pub async fn token(&self, form: &TokenForm) -> Result<Value, TokenError> {
        let internal = |_| TokenError::new("server_error", "the provider failed");
        if opt(&form.grant_type) != Some("authorization_code") {
            return Err(TokenError::new("unsupported_grant_type", "only authorization_code is supported"));
        }
        let client = self.authenticate_client(form)?;
        let code = opt(&form.code).ok_or(TokenError::new("invalid_request", "no code"))?;
        let verifier = opt(&form.code_verifier).ok_or(TokenError::new("invalid_request", "no code_verifier"))?;
        let invalid = TokenError::new("invalid_grant", "the code is unknown, used, expired or not yours");
        let code_hash = sha256_base64url(code);
        let row = self
            .db
            .fetch_optional::<Code>(
                "SELECT client_id, redirect_uri, claims, nonce, code_challenge, created_at, used FROM test_idp_codes WHERE code_hash = $1",
                &params![code_hash.as_str()],
            )
            .await
            .map_err(internal)?
            .ok_or_else(|| invalid.clone())?;
        // Used up on the first exchange, right or wrong, so a stolen code is worth one try.
        let claimed = self
            .db
            .execute(
                "UPDATE test_idp_codes SET used = $1 WHERE code_hash = $2 AND used = $3",
                &params![true, code_hash.as_str(), false],
            )
            .await
            .map_err(internal)?;
        let now = now_seconds();
        if row.used || claimed != 1 || row.client_id != client.client_id || now - row.created_at > CODE_SECONDS {
            return Err(invalid);
        }
        if opt(&form.redirect_uri) != Some(row.redirect_uri.as_str()) {
            return Err(TokenError::new("invalid_grant", "redirect_uri does not match"));
        }
        if !constant_time_eq(&sha256_base64url(verifier), &row.code_challenge) {
            return Err(TokenError::new("invalid_grant", "the PKCE verifier does not match"));
        }
        let mut claims: Value =
            serde_json::from_str(&row.claims).map_err(|_| TokenError::new("server_error", "stored claims"))?;
        if let Some(object) = claims.as_object_mut() {
            object.insert("iss".to_owned(), json!(self.issuer));
            object.insert("aud".to_owned(), json!(client.client_id));
            object.insert("iat".to_owned(), json!(now));
            object.insert("exp".to_owned(), json!(now + ID_TOKEN_SECONDS));
            object.insert("jti".to_owned(), json!(random_token(12)));
            if let Some(nonce) = &row.nonce {
                object.insert("nonce".to_owned(), json!(nonce));
            }
        }
        let id_token = self.key.sign("JWT", &claims).map_err(|_| TokenError::new("server_error", "signing failed"))?;
        Ok(json!({
            "id_token": id_token,
            "access_token": random_token(32),
            "token_type": "Bearer",
            "expires_in": ID_TOKEN_SECONDS,
            "scope": "openid profile",
        }))
    }

    /// RP-initiated logout: where to send the browser. Only a registered
    /// `post_logout_redirect_uri` is followed, and only with a hint naming its client.
    pub fn end_session(
        &self,
        id_token_hint: Option<&str>,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> Option<String> {
        let hinted_client = id_token_hint
            .and_then(|hint| jose::verify(hint, &self.jwks(), &[self.key.algorithm()]).ok())
            .and_then(|claims| claims.get("aud").and_then(Value::as_str).map(str::to_owned))
            .or_else(|| client_id.map(str::to_owned))?;
        let client = self.client(&hinted_client)?;
        let uri = post_logout_redirect_uri.filter(|uri| client.post_logout_redirect_uris.iter().any(|r| r == uri))?;
        Some(match state.filter(|s| !s.is_empty() && s.len() <= 200) {
            Some(state) => with_query(uri, &[("state", state)]),
            None => uri.to_owned(),
        })
    }
}
