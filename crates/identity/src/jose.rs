//! JSON Web Signatures and Keys (RFC 7515, 7517, 7518), the little of them OpenID Connect and
//! Maskinporten need: RS256/384/512 and ES256, compact serialisation, JWK sets.
//!
//! Verification is strict: the algorithm must be one the caller allows and must match the key,
//! the key is found by `kid` (or is the only key of its type), and the signature is checked
//! before any claim is looked at. Claims are then checked by [`TimeRules`] and the caller.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Why a token or key was refused. The texts are for logs and problem details; none carries a
/// claim value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    /// Not three base64url parts, or a part is not JSON.
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    /// The header names an algorithm that is not allowed here.
    #[error("the signing algorithm {0} is not accepted")]
    Algorithm(String),
    /// No key with the token's `kid` (or no usable key at all).
    #[error("no key matches the token's key id")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the signature is not valid")]
    Signature,
    /// A time claim is missing or out of bounds.
    #[error("the token {0}")]
    Time(&'static str),
    /// A claim is missing or has the wrong value.
    #[error("the claim `{0}` is missing or wrong")]
    Claim(&'static str),
    /// A key could not be read or used.
    #[error("the key is not usable: {0}")]
    Key(String),
}

/// The signing algorithms we speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256; ID-porten's and Maskinporten's default.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
}

impl Algorithm {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::ES256 => "ES256",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Algorithm::RS256),
            "RS384" => Some(Algorithm::RS384),
            "RS512" => Some(Algorithm::RS512),
            "ES256" => Some(Algorithm::ES256),
            _ => None,
        }
    }

    fn key_type(self) -> &'static str {
        match self {
            Algorithm::ES256 => "EC",
            _ => "RSA",
        }
    }

    /// Every RSA algorithm, the set ID-porten and Maskinporten sign with.
    pub const RSA: [Algorithm; 3] = [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512];
}

/// One public key (RFC 7517). Private members are never read or written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// `RSA` or `EC`.
    pub kty: String,
    /// The key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The algorithm the key is for, when stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// `sig` for signing keys.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// EC curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

impl Jwk {
    /// Parses one key, checking it has the members its type needs and no private ones.
    pub fn parse(json: &str) -> Result<Jwk, JoseError> {
        let value: Value = serde_json::from_str(json).map_err(|_| JoseError::Key("not a JSON object".to_owned()))?;
        if value.get("d").is_some() {
            return Err(JoseError::Key("a private key was given; give the public key only".to_owned()));
        }
        let jwk: Jwk = serde_json::from_value(value).map_err(|e| JoseError::Key(e.to_string()))?;
        jwk.check()?;
        Ok(jwk)
    }

    fn check(&self) -> Result<(), JoseError> {
        let ok = match self.kty.as_str() {
            "RSA" => self.n.is_some() && self.e.is_some(),
            "EC" => self.crv.as_deref() == Some("P-256") && self.x.is_some() && self.y.is_some(),
            _ => false,
        };
        if ok { Ok(()) } else { Err(JoseError::Key(format!("unsupported or incomplete {} key", self.kty))) }
    }

    fn verify(&self, algorithm: Algorithm, message: &[u8], signature_bytes: &[u8]) -> Result<(), JoseError> {
        if self.kty != algorithm.key_type() {
            return Err(JoseError::Algorithm(algorithm.name().to_owned()));
        }
        if let Some(alg) = &self.alg
            && alg != algorithm.name()
        {
            return Err(JoseError::Algorithm(algorithm.name().to_owned()));
        }
        let decode = |part: &Option<String>| {
            part.as_deref()
                .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
                .ok_or_else(|| JoseError::Key("a key member is not base64url".to_owned()))
        };
        match algorithm {
            Algorithm::ES256 => {
                let (x, y) = (decode(&self.x)?, decode(&self.y)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(JoseError::Key("P-256 coordinates must be 32 bytes".to_owned()));
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature_bytes)
                    .map_err(|_| JoseError::Signature)
            }
            rsa => {
                let parameters = match rsa {
                    Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    _ => &signature::RSA_PKCS1_2048_8192_SHA256,
                };
                let components = signature::RsaPublicKeyComponents { n: decode(&self.n)?, e: decode(&self.e)? };
                components.verify(parameters, message, signature_bytes).map_err(|_| JoseError::Signature)
            }
        }
    }
}

/// A JWK set, as served at a `jwks_uri`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// The key for `kid`; without a `kid`, the only key of the algorithm's type.
    fn find(&self, kid: Option<&str>, algorithm: Algorithm) -> Option<&Jwk> {
        match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            None => {
                let mut candidates = self.keys.iter().filter(|k| k.kty == algorithm.key_type());
                let first = candidates.next()?;
                candidates.next().is_none().then_some(first)
            }
        }
    }
}

/// A token's protected header.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Header {
    /// The algorithm.
    pub alg: String,
    /// The key id.
    #[serde(default)]
    pub kid: Option<String>,
    /// The token type, e.g. `JWT`.
    #[serde(default)]
    pub typ: Option<String>,
}

/// The longest token accepted, so a hostile one cannot make us decode megabytes.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Reads the header without verifying anything, to choose a key.
pub fn header(token: &str) -> Result<Header, JoseError> {
    let (header, _, _) = split(token)?;
    let bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| JoseError::Malformed("the header is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| JoseError::Malformed("the header is not a JSON object"))
}

/// Reads the claims without verifying anything: only for a token we verified before (an ID
/// token kept for logout) or to choose the keys to verify with (its `iss`).
pub fn unverified_claims(token: &str) -> Result<Map<String, Value>, JoseError> {
    let (_, claims, _) = split(token)?;
    let bytes = URL_SAFE_NO_PAD.decode(claims).map_err(|_| JoseError::Malformed("the claims are not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| JoseError::Malformed("the claims are not a JSON object"))
}

fn split(token: &str) -> Result<(&str, &str, &str), JoseError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(JoseError::Malformed("the token is too long"));
    }
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(c), Some(s), None) if !h.is_empty() && !c.is_empty() && !s.is_empty() => Ok((h, c, s)),
        _ => Err(JoseError::Malformed("a token has three non-empty parts")),
    }
}

/// Verifies the signature of `token` with a key from `keys`, with one of `allowed` algorithms,
/// and returns its claims. Time and audience are the caller's to check ([`TimeRules`]).
pub fn verify(token: &str, keys: &Jwks, allowed: &[Algorithm]) -> Result<Map<String, Value>, JoseError> {
    let (encoded_header, encoded_claims, encoded_signature) = split(token)?;
    let header = header(token)?;
    let algorithm = Algorithm::parse(&header.alg)
        .filter(|a| allowed.contains(a))
        .ok_or_else(|| JoseError::Algorithm(header.alg.chars().take(16).collect()))?;
    let key = keys.find(header.kid.as_deref(), algorithm).ok_or(JoseError::UnknownKey)?;
    let signature_bytes = URL_SAFE_NO_PAD
        .decode(encoded_signature)
        .map_err(|_| JoseError::Malformed("the signature is not base64url"))?;
    let message = &token[..encoded_header.len() + 1 + encoded_claims.len()];
    key.verify(algorithm, message.as_bytes(), &signature_bytes)?;
    unverified_claims(token)
}

/// The time rules for a token, in seconds since the epoch.
#[derive(Debug, Clone, Copy)]
pub struct TimeRules {
    /// Now.
    pub now: i64,
    /// How far clocks may disagree.
    pub leeway: i64,
    /// The most `exp − iat` may be, when there is a bound (Maskinporten: 120 s).
    pub max_lifetime: Option<i64>,
    /// Whether `iat` must be present.
    pub require_iat: bool,
}

impl TimeRules {
    /// Checks `exp` (required), `nbf` and `iat` against these rules.
    pub fn check(&self, claims: &Map<String, Value>) -> Result<(), JoseError> {
        let number = |name: &'static str| -> Result<Option<i64>, JoseError> {
            match claims.get(name) {
                None => Ok(None),
                Some(value) => value.as_i64().map(Some).ok_or(JoseError::Claim(name)),
            }
        };
        let exp = number("exp")?.ok_or(JoseError::Time("has no expiry (exp)"))?;
        if exp + self.leeway <= self.now {
            return Err(JoseError::Time("has expired"));
        }
        if let Some(nbf) = number("nbf")?
            && nbf - self.leeway > self.now
        {
            return Err(JoseError::Time("is not valid yet (nbf)"));
        }
        let iat = number("iat")?;
        match iat {
            None if self.require_iat => return Err(JoseError::Time("has no issue time (iat)")),
            Some(iat) if iat - self.leeway > self.now => return Err(JoseError::Time("is issued in the future (iat)")),
            _ => {}
        }
        if let (Some(max), Some(iat)) = (self.max_lifetime, iat)
            && exp - iat > max
        {
            return Err(JoseError::Time("lives longer than allowed (exp - iat)"));
        }
        Ok(())
    }
}

/// Whether the `aud` claim (a string or an array) contains `expected`.
pub fn audience_contains(claims: &Map<String, Value>, expected: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(aud)) => aud == expected,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expected)),
        _ => false,
    }
}

enum PrivateKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A private signing key with its key id. Its `Debug` never shows the key.
pub struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    key: PrivateKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

fn pem_body(pem: &str) -> Result<(String, Vec<u8>), JoseError> {
    let mut label = None;
    let mut body = String::new();
    for line in pem.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            label = Some(rest.trim_end_matches('-').to_owned());
        } else if line.starts_with("-----END ") {
            break;
        } else if label.is_some() {
            body.push_str(line);
        }
    }
    let label = label.ok_or_else(|| JoseError::Key("not a PEM file".to_owned()))?;
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| JoseError::Key("the PEM body is not base64".to_owned()))?;
    Ok((label, der))
}

impl SigningKey {
    /// Reads a private key from PEM: PKCS#8 (`PRIVATE KEY`, RSA or P-256) or PKCS#1
    /// (`RSA PRIVATE KEY`). RSA keys sign RS256, P-256 keys ES256.
    pub fn from_pem(pem: &str, kid: &str) -> Result<Self, JoseError> {
        let (label, der) = pem_body(pem)?;
        let key = match label.as_str() {
            "RSA PRIVATE KEY" => {
                PrivateKey::Rsa(RsaKeyPair::from_der(&der).map_err(|e| JoseError::Key(e.to_string()))?)
            }
            "PRIVATE KEY" => match RsaKeyPair::from_pkcs8(&der) {
                Ok(rsa) => PrivateKey::Rsa(rsa),
                Err(_) => return Self::es256_from_pkcs8(&der, kid),
            },
            other => return Err(JoseError::Key(format!("a PEM `{other}` is not a private key we can use"))),
        };
        Ok(Self { kid: kid.to_owned(), algorithm: Algorithm::RS256, key })
    }

    /// Reads a P-256 key from PKCS#8 DER (as made by [`SigningKey::generate_es256`]).
    pub fn es256_from_pkcs8(der: &[u8], kid: &str) -> Result<Self, JoseError> {
        let key = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
            .map_err(|e| JoseError::Key(e.to_string()))?;
        Ok(Self { kid: kid.to_owned(), algorithm: Algorithm::ES256, key: PrivateKey::Ec(key) })
    }

    /// A new P-256 key and its PKCS#8 DER, for the platform's own tokens in demo and test mode.
    pub fn generate_es256(kid: &str) -> Result<(Self, Vec<u8>), JoseError> {
        let document = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map_err(|e| JoseError::Key(e.to_string()))?;
        let der = document.as_ref().to_vec();
        Ok((Self::es256_from_pkcs8(&der, kid)?, der))
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm it signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The public half as a JWK.
    pub fn public_jwk(&self) -> Jwk {
        let mut jwk = Jwk {
            kty: self.algorithm.key_type().to_owned(),
            kid: Some(self.kid.clone()),
            alg: Some(self.algorithm.name().to_owned()),
            key_use: Some("sig".to_owned()),
            n: None,
            e: None,
            crv: None,
            x: None,
            y: None,
        };
        match &self.key {
            PrivateKey::Rsa(rsa) => {
                let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(rsa.public());
                jwk.n = Some(URL_SAFE_NO_PAD.encode(&public.n));
                jwk.e = Some(URL_SAFE_NO_PAD.encode(&public.e));
            }
            PrivateKey::Ec(ec) => {
                let point = ec.public_key().as_ref();
                jwk.crv = Some("P-256".to_owned());
                jwk.x = Some(URL_SAFE_NO_PAD.encode(&point[1..33]));
                jwk.y = Some(URL_SAFE_NO_PAD.encode(&point[33..65]));
            }
        }
        jwk
    }

    /// Signs `claims` as a compact JWT with this key's `kid` and the header type `typ`.
    pub fn sign(&self, typ: &str, claims: &Value) -> Result<String, JoseError> {
        let header = serde_json::json!({ "alg": self.algorithm.name(), "kid": self.kid, "typ": typ });
        let mut token =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let rng = SystemRandom::new();
        let signature_bytes = match &self.key {
            PrivateKey::Rsa(rsa) => {
                let mut out = vec![0; rsa.public().modulus_len()];
                rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, token.as_bytes(), &mut out)
                    .map_err(|e| JoseError::Key(e.to_string()))?;
                out
            }
            PrivateKey::Ec(ec) => {
                ec.sign(&rng, token.as_bytes()).map_err(|e| JoseError::Key(e.to_string()))?.as_ref().to_vec()
            }
        };
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature_bytes));
        Ok(token)
    }
}

/// A random URL-safe string of `bytes` random bytes: session ids, state, nonce, PKCE verifiers.
pub fn random_token(bytes: usize) -> String {
    use ring::rand::SecureRandom;
    let mut buffer = vec![0_u8; bytes];
    // The system generator does not fail on the platforms we run on; if it ever did, a
    // predictable token would be worse than stopping.
    #[allow(clippy::expect_used)]
    SystemRandom::new().fill(&mut buffer).expect("the system random generator failed");
    URL_SAFE_NO_PAD.encode(buffer)
}

/// SHA-256 as base64url: PKCE challenges (`S256`) and stored session ids.
pub fn sha256_base64url(text: &str) -> String {
    use sha2::Digest;
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: i64) -> Value {
        serde_json::json!({ "iss": "https://example", "aud": "client", "iat": now, "exp": now + 60 })
    }

    #[test]
    fn es256_round_trip_and_tampering() {
        let (key, _) = SigningKey::generate_es256("k1").expect("test value");
        let jwks = Jwks { keys: vec![key.public_jwk()] };
        let token = key.sign("JWT", &claims(1000)).expect("test value");
        let verified = verify(&token, &jwks, &[Algorithm::ES256]).expect("test value");
        assert_eq!(verified["aud"], "client");
        // A changed claim breaks the signature.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(serde_json::json!({ "aud": "other", "exp": 2000 }).to_string());
        parts[1] = &forged;
        assert_eq!(verify(&parts.join("."), &jwks, &[Algorithm::ES256]), Err(JoseError::Signature));
        // An algorithm the caller does not allow is refused before any key is tried.
        assert!(matches!(verify(&token, &jwks, &Algorithm::RSA), Err(JoseError::Algorithm(_))));
        // Another key with the same kid does not verify.
        let (other, _) = SigningKey::generate_es256("k1").expect("test value");
        let other_jwks = Jwks { keys: vec![other.public_jwk()] };
        assert_eq!(verify(&token, &other_jwks, &[Algorithm::ES256]), Err(JoseError::Signature));
        // An unknown kid is its own error.
        let (stranger, _) = SigningKey::generate_es256("k2").expect("test value");
        assert_eq!(
            verify(&stranger.sign("JWT", &claims(1)).expect("test value"), &jwks, &[Algorithm::ES256]),
            Err(JoseError::UnknownKey)
        );
    }

    #[test]
    fn rs256_from_pkcs8_and_pkcs1() {
        for pem in [
            include_str!("../tests/fixtures/test-client-rsa.pem"),
            include_str!("../tests/fixtures/test-client-rsa-pkcs1.pem"),
        ] {
            let key = SigningKey::from_pem(pem, "rsa").expect("test value");
            assert_eq!(key.algorithm(), Algorithm::RS256);
            let jwks = Jwks { keys: vec![key.public_jwk()] };
            let token = key.sign("JWT", &claims(5)).expect("test value");
            assert_eq!(verify(&token, &jwks, &Algorithm::RSA).expect("test value")["iss"], "https://example");
            assert!(matches!(verify(&token, &jwks, &[Algorithm::ES256]), Err(JoseError::Algorithm(_))));
        }
        assert!(SigningKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "x").is_err());
        assert!(SigningKey::from_pem("garbage", "x").is_err());
    }

    #[test]
    fn alg_none_and_garbage_are_refused() {
        let (key, _) = SigningKey::generate_es256("k1").expect("test value");
        let jwks = Jwks { keys: vec![key.public_jwk()] };
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        let body = URL_SAFE_NO_PAD.encode(r#"{"exp":1}"#);
        assert!(matches!(
            verify(&format!("{none_header}.{body}.x"), &jwks, &[Algorithm::ES256]),
            Err(JoseError::Algorithm(_))
        ));
        for garbage in ["", "a.b", "a.b.c.d", "...", "é.é.é", &"a".repeat(MAX_TOKEN_BYTES + 1)] {
            assert!(
                matches!(verify(garbage, &jwks, &[Algorithm::ES256]), Err(JoseError::Malformed(_))),
                "{garbage:.20}"
            );
        }
    }

    #[test]
    fn time_rules() {
        let rules = TimeRules { now: 1000, leeway: 10, max_lifetime: Some(120), require_iat: true };
        let check = |v: Value| rules.check(v.as_object().expect("test value"));
        assert_eq!(check(serde_json::json!({ "iat": 1000, "exp": 1100 })), Ok(()));
        assert!(check(serde_json::json!({ "iat": 1000 })).is_err(), "no exp");
        assert!(check(serde_json::json!({ "iat": 900, "exp": 990 })).is_err(), "expired");
        assert_eq!(check(serde_json::json!({ "iat": 900, "exp": 1005 })), Ok(()), "inside the leeway");
        assert!(check(serde_json::json!({ "iat": 1020, "exp": 1100 })).is_err(), "issued in the future");
        assert!(check(serde_json::json!({ "iat": 1000, "exp": 1121 })).is_err(), "lives too long");
        assert!(check(serde_json::json!({ "exp": 1100 })).is_err(), "no iat");
        assert!(check(serde_json::json!({ "iat": "1000", "exp": 1100 })).is_err(), "iat not a number");
    }

    #[test]
    fn public_keys_are_checked_on_parse() {
        assert!(Jwk::parse(r#"{"kty":"RSA","n":"AQAB"}"#).is_err());
        assert!(Jwk::parse(r#"{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"secret"}"#).is_err());
        assert!(Jwk::parse("not json").is_err());
        let (key, _) = SigningKey::generate_es256("k").expect("test value");
        let json = serde_json::to_string(&key.public_jwk()).expect("test value");
        assert_eq!(Jwk::parse(&json).expect("test value"), key.public_jwk());
    }

    #[test]
    fn pkce_challenge_matches_rfc7636_example() {
        // RFC 7636, appendix B.
        assert_eq!(
            sha256_base64url("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
