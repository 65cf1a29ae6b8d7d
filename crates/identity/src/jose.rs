//! JSON Web Signatures and Keys (RFC 7515, 7517, 7518), the little of them OpenID Connect and
//! Maskinporten need: RS256/384/512 and ES256, compact serialisation, JWK sets.
//!
//! The cryptography and the compact form are the [`jsonwebtoken`] crate's (over `ring`): it
//! signs, checks that the header's algorithm belongs to the key's family, and verifies the
//! signature before it decodes the claims. What stays here is what it leaves to us:
//!
//! - Choosing the key: by `kid` from a JWK set, or the only key of the algorithm's type, with
//!   [`JoseError::UnknownKey`] kept apart so a relying party can refetch a rotated set.
//! - Refusing early and cheaply: tokens longer than [`MAX_TOKEN_BYTES`], anything but three
//!   non-empty parts, and any algorithm the caller does not allow (`none` included) are refused
//!   before a key is looked at.
//! - Time: [`TimeRules`] checks `exp`, `nbf` and `iat` against a clock the caller gives, with a
//!   leeway, a required `iat` and a longest lifetime; a time claim that is not an integer is
//!   refused. jsonwebtoken's own claim checks are all turned off in [`verify`]: they read the
//!   system clock, know neither `iat` nor a longest lifetime, and (in 9.x) let a time claim of
//!   the wrong JSON type pass as absent.
//! - The OpenID Connect and Maskinporten rules are the callers': issuer, [`audience_contains`],
//!   `azp`, `nonce`, `acr`, `jti`.
//! - Our own keys: made with `ring` ([`SigningKey::generate_es256`]), which also gives the public
//!   half for [`SigningKey::public_jwk`]; jsonwebtoken neither makes keys nor derives public ones.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, EncodingKey, Validation};
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
    /// The header names an algorithm that is not allowed here, or not for this key.
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

    /// The algorithm named `name`, exactly as written (`none`, `HS256` and `rs256` are not ours).
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

    fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::RS384 => jsonwebtoken::Algorithm::RS384,
            Algorithm::RS512 => jsonwebtoken::Algorithm::RS512,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        }
    }

    /// Every RSA algorithm, the set ID-porten and Maskinporten sign with.
    pub const RSA: [Algorithm; 3] = [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512];
}

/// One public key (RFC 7517). Private members are never read or written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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

    /// The key as jsonwebtoken takes it, for `algorithm`. A key that states its algorithm is
    /// used for that one only; the key's type against the algorithm's family is jsonwebtoken's
    /// to check.
    fn decoding_key(&self, algorithm: Algorithm) -> Result<DecodingKey, JoseError> {
        if self.alg.as_deref().is_some_and(|alg| alg != algorithm.name()) {
            return Err(JoseError::Algorithm(algorithm.name().to_owned()));
        }
        self.check()?;
        let key = match self.kty.as_str() {
            "RSA" => DecodingKey::from_rsa_components(member(&self.n), member(&self.e)),
            _ => DecodingKey::from_ec_components(member(&self.x), member(&self.y)),
        };
        key.map_err(|_| JoseError::Key("a key member is not base64url".to_owned()))
    }
}

fn member(part: &Option<String>) -> &str {
    part.as_deref().unwrap_or_default()
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

/// A token's protected header, read loosely enough to name an algorithm we refuse.
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
///
/// Our own reading rather than `jsonwebtoken::decode_header`, which refuses an algorithm it does
/// not know before we could say that the algorithm is what was wrong.
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
/// and returns its claims. Time and audience are the caller's to check ([`TimeRules`]), so an
/// expired token verifies here.
pub fn verify(token: &str, keys: &Jwks, allowed: &[Algorithm]) -> Result<Map<String, Value>, JoseError> {
    let header = header(token)?;
    let algorithm = Algorithm::parse(&header.alg)
        .filter(|a| allowed.contains(a))
        .ok_or_else(|| JoseError::Algorithm(header.alg.chars().take(16).collect()))?;
    let key = keys.find(header.kid.as_deref(), algorithm).ok_or(JoseError::UnknownKey)?.decoding_key(algorithm)?;
    // The one algorithm of the header, already allowed: jsonwebtoken then refuses a key of the
    // other family. Its claim checks are off; see the module documentation.
    let mut validation = Validation::new(algorithm.to_jsonwebtoken());
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    match jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation) {
        Ok(data) => Ok(data.claims),
        Err(error) => Err(match error.kind() {
            ErrorKind::InvalidSignature => JoseError::Signature,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => {
                JoseError::Algorithm(algorithm.name().to_owned())
            }
            ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
                JoseError::Key("the key does not fit the algorithm".to_owned())
            }
            ErrorKind::Base64(_) => JoseError::Malformed("a part is not base64url"),
            ErrorKind::Json(_) | ErrorKind::Utf8(_) => JoseError::Malformed("a part is not a JSON object"),
            _ => JoseError::Malformed("the token could not be read"),
        }),
    }
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
    /// Checks `exp` (required), `nbf` and `iat` against these rules. A time claim that is
    /// present but not an integer is refused, never taken as absent.
    pub fn check(&self, claims: &Map<String, Value>) -> Result<(), JoseError> {
        let number = |name: &'static str| -> Result<Option<i64>, JoseError> {
            match claims.get(name) {
                None => Ok(None),
                Some(value) => value.as_i64().map(Some).ok_or(JoseError::Claim(name)),
            }
        };
        let exp = number("exp")?.ok_or(JoseError::Time("has no expiry (exp)"))?;
        if exp.saturating_add(self.leeway) <= self.now {
            return Err(JoseError::Time("has expired"));
        }
        if let Some(nbf) = number("nbf")?
            && nbf.saturating_sub(self.leeway) > self.now
        {
            return Err(JoseError::Time("is not valid yet (nbf)"));
        }
        let iat = number("iat")?;
        match iat {
            None if self.require_iat => return Err(JoseError::Time("has no issue time (iat)")),
            Some(iat) if iat.saturating_sub(self.leeway) > self.now => {
                return Err(JoseError::Time("is issued in the future (iat)"));
            }
            _ => {}
        }
        if let (Some(max), Some(iat)) = (self.max_lifetime, iat)
            && exp.saturating_sub(iat) > max
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

/// A private signing key with its key id. Its `Debug` never shows the key.
pub struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    key: EncodingKey,
    public: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads a private key from PEM: PKCS#8 (`PRIVATE KEY`, RSA or P-256) or PKCS#1
    /// (`RSA PRIVATE KEY`). RSA keys sign RS256, P-256 keys ES256.
    pub fn from_pem(pem: &str, kid: &str) -> Result<Self, JoseError> {
        let block = pem::parse(pem).map_err(|_| JoseError::Key("not a PEM file".to_owned()))?;
        let der = block.contents();
        let key_error = |e: ring::error::KeyRejected| JoseError::Key(e.to_string());
        match block.tag() {
            "RSA PRIVATE KEY" => {
                let pair = RsaKeyPair::from_der(der).map_err(key_error)?;
                Ok(Self::rsa(kid, &pair, EncodingKey::from_rsa_der(der)))
            }
            "PRIVATE KEY" => match RsaKeyPair::from_pkcs8(der) {
                // jsonwebtoken signs with the PKCS#1 key inside the PKCS#8 wrapping, which it
                // takes out itself from the PEM.
                Ok(pair) => {
                    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| JoseError::Key(e.to_string()))?;
                    Ok(Self::rsa(kid, &pair, key))
                }
                Err(_) => Self::es256_from_pkcs8(der, kid),
            },
            other => Err(JoseError::Key(format!("a PEM `{other}` is not a private key we can use"))),
        }
    }

    fn rsa(kid: &str, pair: &RsaKeyPair, key: EncodingKey) -> Self {
        let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public());
        let jwk = Jwk {
            n: Some(URL_SAFE_NO_PAD.encode(&public.n)),
            e: Some(URL_SAFE_NO_PAD.encode(&public.e)),
            ..Self::jwk_shell(kid, Algorithm::RS256)
        };
        Self { kid: kid.to_owned(), algorithm: Algorithm::RS256, key, public: jwk }
    }

    /// Reads a P-256 key from PKCS#8 DER (as made by [`SigningKey::generate_es256`]).
    pub fn es256_from_pkcs8(der: &[u8], kid: &str) -> Result<Self, JoseError> {
        // ring checks the key and gives its public point; jsonwebtoken signs with the same DER.
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
            .map_err(|e| JoseError::Key(e.to_string()))?;
        // An uncompressed point: 0x04, then x and y of 32 bytes each.
        let point = pair.public_key().as_ref();
        let (x, y) = match point.get(1..33).zip(point.get(33..65)) {
            Some(coordinates) if point.len() == 65 => coordinates,
            _ => return Err(JoseError::Key("the public point is not an uncompressed P-256 point".to_owned())),
        };
        let jwk = Jwk {
            crv: Some("P-256".to_owned()),
            x: Some(URL_SAFE_NO_PAD.encode(x)),
            y: Some(URL_SAFE_NO_PAD.encode(y)),
            ..Self::jwk_shell(kid, Algorithm::ES256)
        };
        Ok(Self { kid: kid.to_owned(), algorithm: Algorithm::ES256, key: EncodingKey::from_ec_der(der), public: jwk })
    }

    fn jwk_shell(kid: &str, algorithm: Algorithm) -> Jwk {
        Jwk {
            kty: algorithm.key_type().to_owned(),
            kid: Some(kid.to_owned()),
            alg: Some(algorithm.name().to_owned()),
            key_use: Some("sig".to_owned()),
            ..Jwk::default()
        }
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
        self.public.clone()
    }

    /// Signs `claims` as a compact JWT with this key's `kid` and the header type `typ`.
    pub fn sign(&self, typ: &str, claims: &Value) -> Result<String, JoseError> {
        let mut header = jsonwebtoken::Header::new(self.algorithm.to_jsonwebtoken());
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|e| JoseError::Key(e.to_string()))
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

    fn b64(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    /// `token` with its header replaced by `header`, signature kept.
    fn with_header(token: &str, header: &str) -> String {
        let parts: Vec<&str> = token.split('.').collect();
        format!("{}.{}.{}", b64(header), parts[1], parts[2])
    }

    fn rsa_key() -> SigningKey {
        SigningKey::from_pem(include_str!("../tests/fixtures/test-client-rsa.pem"), "rsa").expect("test value")
    }

    /// A token signed by `der` (a P-256 PKCS#8 key) whose header has no `kid`.
    fn without_kid(der: &[u8]) -> String {
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        jsonwebtoken::encode(&header, &claims(1), &EncodingKey::from_ec_der(der)).expect("test value")
    }

    #[test]
    fn es256_round_trip_and_tampering() {
        let (key, _) = SigningKey::generate_es256("k1").expect("test value");
        let jwks = Jwks { keys: vec![key.public_jwk()] };
        let token = key.sign("JWT", &claims(1000)).expect("test value");
        assert_eq!(header(&token).expect("test value").typ.as_deref(), Some("JWT"));
        let verified = verify(&token, &jwks, &[Algorithm::ES256]).expect("test value");
        assert_eq!(verified["aud"], "client");
        // A changed claim breaks the signature.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = b64(&serde_json::json!({ "aud": "other", "exp": 2000 }).to_string());
        parts[1] = &forged;
        assert_eq!(verify(&parts.join("."), &jwks, &[Algorithm::ES256]), Err(JoseError::Signature));
        // So does a changed header, even one that still names the right key.
        let retyped = with_header(&token, r#"{"alg":"ES256","kid":"k1","typ":"at+jwt"}"#);
        assert_eq!(verify(&retyped, &jwks, &[Algorithm::ES256]), Err(JoseError::Signature));
        // And another token's signature.
        let other = key.sign("JWT", &claims(1001)).expect("test value");
        let transplanted = format!(
            "{}.{}",
            &token[..token.rfind('.').expect("test value")],
            &other[other.rfind('.').expect("test value") + 1..]
        );
        assert_eq!(verify(&transplanted, &jwks, &[Algorithm::ES256]), Err(JoseError::Signature));
        // An algorithm the caller does not allow is refused before any key is tried.
        assert!(matches!(verify(&token, &jwks, &Algorithm::RSA), Err(JoseError::Algorithm(_))));
    }

    #[test]
    fn a_token_signed_with_a_key_not_in_the_set_is_refused() {
        let (key, _) = SigningKey::generate_es256("k1").expect("test value");
        let jwks = Jwks { keys: vec![key.public_jwk()] };
        // Another key with the same kid does not verify.
        let (impostor, impostor_der) = SigningKey::generate_es256("k1").expect("test value");
        let forged = impostor.sign("JWT", &claims(1)).expect("test value");
        assert_eq!(verify(&forged, &jwks, &[Algorithm::ES256]), Err(JoseError::Signature));
        // An unknown kid is its own error, so a relying party knows to refetch the keys.
        let (stranger, _) = SigningKey::generate_es256("k2").expect("test value");
        let unknown = stranger.sign("JWT", &claims(1)).expect("test value");
        assert_eq!(verify(&unknown, &jwks, &[Algorithm::ES256]), Err(JoseError::UnknownKey));
        assert_eq!(verify(&unknown, &Jwks::default(), &[Algorithm::ES256]), Err(JoseError::UnknownKey));
        // Without a kid, the only key of the type is tried, and the impostor still fails...
        assert_eq!(verify(&without_kid(&impostor_der), &jwks, &[Algorithm::ES256]), Err(JoseError::Signature));
        // ...and with two keys of the type, none is guessed.
        let both = Jwks { keys: vec![key.public_jwk(), impostor.public_jwk()] };
        assert_eq!(verify(&without_kid(&impostor_der), &both, &[Algorithm::ES256]), Err(JoseError::UnknownKey));
        let just_impostor = Jwks { keys: vec![impostor.public_jwk()] };
        assert!(verify(&without_kid(&impostor_der), &just_impostor, &[Algorithm::ES256]).is_ok());
    }

    #[test]
    fn rs256_from_pkcs8_and_pkcs1() {
        let mut public_keys = Vec::new();
        for pem in [
            include_str!("../tests/fixtures/test-client-rsa.pem"),
            include_str!("../tests/fixtures/test-client-rsa-pkcs1.pem"),
        ] {
            let key = SigningKey::from_pem(pem, "rsa").expect("test value");
            assert_eq!(key.algorithm(), Algorithm::RS256);
            let jwks = Jwks { keys: vec![key.public_jwk()] };
            let token = key.sign("JWT", &claims(5)).expect("test value");
            assert_eq!(header(&token).expect("test value").alg, "RS256");
            assert_eq!(verify(&token, &jwks, &Algorithm::RSA).expect("test value")["iss"], "https://example");
            assert!(matches!(verify(&token, &jwks, &[Algorithm::ES256]), Err(JoseError::Algorithm(_))));
            public_keys.push(key.public_jwk());
        }
        assert_eq!(public_keys[0], public_keys[1], "the fixtures are one key in two wrappings");
        assert!(SigningKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "x").is_err());
        assert!(SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "x").is_err());
        assert!(
            SigningKey::from_pem("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----", "x").is_err()
        );
        assert!(SigningKey::from_pem("garbage", "x").is_err());
    }

    #[test]
    fn a_p256_key_reads_from_pkcs8_pem() {
        let (key, der) = SigningKey::generate_es256("ec").expect("test value");
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der));
        let read = SigningKey::from_pem(&pem, "ec").expect("test value");
        assert_eq!(read.algorithm(), Algorithm::ES256);
        assert_eq!(read.public_jwk(), key.public_jwk());
        let token = read.sign("JWT", &claims(5)).expect("test value");
        assert!(verify(&token, &Jwks { keys: vec![key.public_jwk()] }, &[Algorithm::ES256]).is_ok());
    }

    #[test]
    fn alg_none_and_garbage_are_refused() {
        let (key, _) = SigningKey::generate_es256("k1").expect("test value");
        let jwks = Jwks { keys: vec![key.public_jwk()] };
        let none_header = b64(r#"{"alg":"none"}"#);
        let body = b64(r#"{"exp":1}"#);
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
    fn algorithm_confusion_is_refused() {
        let rsa = rsa_key();
        let rsa_jwk = rsa.public_jwk();
        let (ec, _) = SigningKey::generate_es256("ec").expect("test value");
        let jwks = Jwks { keys: vec![rsa_jwk.clone(), ec.public_jwk()] };
        let all = [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::ES256];
        let token = rsa.sign("JWT", &claims(1)).expect("test value");
        assert!(verify(&token, &jwks, &all).is_ok());

        // HS256 with the RSA public key as the shared secret: the classic confusion.
        let secret = rsa_jwk.n.clone().expect("test value");
        let mut hmac_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        hmac_header.kid = Some("rsa".to_owned());
        let hmac = jsonwebtoken::encode(&hmac_header, &claims(1), &EncodingKey::from_secret(secret.as_bytes()))
            .expect("test value");
        assert_eq!(verify(&hmac, &jwks, &all), Err(JoseError::Algorithm("HS256".to_owned())));

        // Names we do not speak, in any spelling.
        for alg in ["none", "None", "NONE", "", "rs256", "HS256", "PS256", "EdDSA", "ES384", "RS256 "] {
            let renamed = with_header(&token, &serde_json::json!({ "alg": alg, "kid": "rsa" }).to_string());
            assert!(matches!(verify(&renamed, &jwks, &all), Err(JoseError::Algorithm(_))), "{alg}");
        }
        // `alg: none` with the signature left off is not even a token.
        let unsigned = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(r#"{"exp":1}"#));
        assert!(matches!(verify(&unsigned, &jwks, &all), Err(JoseError::Malformed(_))));

        // An EC algorithm with an RSA key, and an RSA algorithm with an EC key.
        let as_ec = with_header(&token, r#"{"alg":"ES256","kid":"rsa"}"#);
        assert!(matches!(verify(&as_ec, &jwks, &all), Err(JoseError::Algorithm(_))));
        let ec_token = ec.sign("JWT", &claims(1)).expect("test value");
        let as_rsa = with_header(&ec_token, r#"{"alg":"RS256","kid":"ec"}"#);
        assert!(matches!(verify(&as_rsa, &jwks, &all), Err(JoseError::Algorithm(_))));
        // The same without the keys' `alg`, so the family check is jsonwebtoken's.
        let loose = Jwks { keys: jwks.keys.iter().map(|k| Jwk { alg: None, ..k.clone() }).collect() };
        assert!(matches!(verify(&as_ec, &loose, &all), Err(JoseError::Algorithm(_))));
        assert!(matches!(verify(&as_rsa, &loose, &all), Err(JoseError::Algorithm(_))));
        // A key that states RS256 is not used for RS384.
        let as_rs384 = with_header(&token, r#"{"alg":"RS384","kid":"rsa"}"#);
        assert!(matches!(verify(&as_rs384, &jwks, &all), Err(JoseError::Algorithm(_))));
        assert_eq!(verify(&as_rs384, &loose, &all), Err(JoseError::Signature));
    }

    #[test]
    fn an_expired_token_verifies_but_fails_the_time_rules() {
        let (key, _) = SigningKey::generate_es256("k1").expect("test value");
        let jwks = Jwks { keys: vec![key.public_jwk()] };
        let token = key.sign("JWT", &serde_json::json!({ "iat": 100, "exp": 160 })).expect("test value");
        // The signature holds; the time is the caller's to judge, as a logout hint needs.
        let verified = verify(&token, &jwks, &[Algorithm::ES256]).expect("test value");
        let rules = TimeRules { now: 1000, leeway: 10, max_lifetime: None, require_iat: true };
        assert_eq!(rules.check(&verified), Err(JoseError::Time("has expired")));
        assert_eq!(TimeRules { now: 165, ..rules }.check(&verified), Ok(()), "inside the leeway");
        assert_eq!(TimeRules { now: 170, ..rules }.check(&verified), Err(JoseError::Time("has expired")));
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
        assert!(check(serde_json::json!({ "iat": 1000, "exp": 1100, "nbf": 1020 })).is_err(), "not valid yet");
        assert_eq!(check(serde_json::json!({ "iat": 1000, "exp": 1100, "nbf": 1005 })), Ok(()), "nbf in the leeway");
    }

    #[test]
    fn time_claims_of_the_wrong_type_are_refused_not_skipped() {
        // jsonwebtoken 9.x takes a time claim it cannot read as absent (GHSA-h395-gr6q-cpjc);
        // ours are refused.
        let rules = TimeRules { now: 1000, leeway: 10, max_lifetime: None, require_iat: false };
        let check = |v: Value| rules.check(v.as_object().expect("test value"));
        for (claims, name) in [
            (serde_json::json!({ "exp": "99999999999" }), "exp"),
            (serde_json::json!({ "exp": 1100.5 }), "exp"),
            (serde_json::json!({ "exp": null }), "exp"),
            (serde_json::json!({ "exp": 1100, "nbf": "99999999999" }), "nbf"),
            (serde_json::json!({ "exp": 1100, "nbf": [1] }), "nbf"),
            (serde_json::json!({ "exp": 1100, "iat": true }), "iat"),
            (serde_json::json!({ "exp": 18446744073709551615_u64 }), "exp"),
        ] {
            assert_eq!(check(claims.clone()), Err(JoseError::Claim(name)), "{claims}");
        }
        // Extreme integers are judged, not overflowed.
        let extreme = TimeRules { max_lifetime: Some(120), require_iat: true, ..rules };
        for claims in [
            serde_json::json!({ "exp": i64::MAX, "iat": i64::MIN }),
            serde_json::json!({ "exp": i64::MIN, "iat": i64::MIN }),
            serde_json::json!({ "exp": i64::MAX, "iat": 1000, "nbf": i64::MIN }),
        ] {
            assert!(extreme.check(claims.as_object().expect("test value")).is_err(), "{claims}");
        }
        let far = TimeRules { leeway: i64::MAX, ..extreme };
        assert!(
            far.check(serde_json::json!({ "exp": i64::MAX, "iat": i64::MAX }).as_object().expect("test value")).is_ok()
        );
    }

    #[test]
    fn malformed_tokens_of_every_shape_are_errors_not_panics() {
        let (key, _) = SigningKey::generate_es256("k1").expect("test value");
        let jwks = Jwks { keys: vec![key.public_jwk()] };
        let allowed = [Algorithm::ES256];
        let good_header = b64(r#"{"alg":"ES256","kid":"k1"}"#);
        let good_claims = b64(r#"{"exp":1}"#);
        let shapes = [
            String::new(),
            ".".to_owned(),
            "..".to_owned(),
            "...".to_owned(),
            "a".to_owned(),
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            "a..c".to_owned(),
            ".b.c".to_owned(),
            " . . ".to_owned(),
            "\0.\0.\0".to_owned(),
            "é.é.é".to_owned(),
            "🦀.🦀.🦀".to_owned(),
            format!("{good_header}.{good_claims}"),
            format!("{good_header}.{good_claims}."),
            format!("{good_header}.{good_claims}.!!!"),
            format!("{good_header}.{good_claims}.AAAA="),
            format!("{good_header}.{good_claims}.{}", "A".repeat(MAX_TOKEN_BYTES)),
            format!("{good_header}.!!!.AAAA"),
            format!("{good_header}.{}.AAAA", b64("not json")),
            format!("{good_header}.{}.AAAA", b64("[1,2]")),
            format!("{good_header}.{}.AAAA", b64("\"a string\"")),
            format!("{good_header}.{}.AAAA", b64("")),
            format!("!!!.{good_claims}.AAAA"),
            format!("{}.{good_claims}.AAAA", b64("not json")),
            format!("{}.{good_claims}.AAAA", b64("[]")),
            format!("{}.{good_claims}.AAAA", b64("{}")),
            format!("{}.{good_claims}.AAAA", b64(r#"{"alg":5}"#)),
            format!("{}.{good_claims}.AAAA", b64(r#"{"alg":null}"#)),
            format!("{}.{good_claims}.AAAA", b64(r#"{"alg":"ES256","kid":5}"#)),
            format!("{}.{good_claims}.AAAA", b64(r#"{"alg":"ES256","alg":"none"}"#)),
            format!("{}.{good_claims}.AAAA", b64(r#"{"alg":"ES256","kid":"k1","x5c":5}"#)),
            format!("{}.{good_claims}.AAAA", [0xff_u8, 0xfe, 0x00].map(|b| b as char).iter().collect::<String>()),
            "a".repeat(MAX_TOKEN_BYTES + 1),
        ];
        for token in &shapes {
            // None of these may panic, and none may verify.
            let _ = header(token);
            let _ = unverified_claims(token);
            assert!(verify(token, &jwks, &allowed).is_err(), "{token:.60}");
        }
        // Signed, yet the claims are not an object.
        let array = key.sign("JWT", &serde_json::json!([1, 2])).expect("test value");
        assert!(matches!(verify(&array, &jwks, &allowed), Err(JoseError::Malformed(_))));
    }

    #[test]
    fn no_single_character_change_verifies() {
        let (key, _) = SigningKey::generate_es256("k1").expect("test value");
        let jwks = Jwks { keys: vec![key.public_jwk()] };
        let token = key.sign("JWT", &claims(1000)).expect("test value");
        assert!(verify(&token, &jwks, &[Algorithm::ES256]).is_ok());
        for (index, original) in token.char_indices() {
            for replacement in ['A', 'B', '_', '-', '.', '=', 'é'] {
                if replacement == original {
                    continue;
                }
                let mut changed = token.clone();
                changed.replace_range(index..index + original.len_utf8(), replacement.encode_utf8(&mut [0; 4]));
                assert!(verify(&changed, &jwks, &[Algorithm::ES256]).is_err(), "{replacement} at {index}");
            }
        }
    }

    #[test]
    fn broken_public_keys_are_errors_not_panics() {
        let (key, _) = SigningKey::generate_es256("k1").expect("test value");
        let token = key.sign("JWT", &claims(1)).expect("test value");
        let rsa_token = rsa_key().sign("JWT", &claims(1)).expect("test value");
        let good = key.public_jwk();
        let rsa = rsa_key().public_jwk();
        let broken = [
            (Jwk { x: Some("!!!".to_owned()), ..good.clone() }, &token),
            (Jwk { x: Some("AAAA".to_owned()), ..good.clone() }, &token),
            (Jwk { x: None, ..good.clone() }, &token),
            (Jwk { crv: Some("P-384".to_owned()), ..good.clone() }, &token),
            (Jwk { kty: "oct".to_owned(), ..good.clone() }, &token),
            (Jwk { n: Some("!!!".to_owned()), ..rsa.clone() }, &rsa_token),
            (Jwk { n: Some("AQAB".to_owned()), ..rsa.clone() }, &rsa_token),
            (Jwk { e: Some(String::new()), ..rsa.clone() }, &rsa_token),
            (Jwk { e: None, ..rsa.clone() }, &rsa_token),
        ];
        for (jwk, token) in broken {
            let kid = jwk.kid.clone();
            let result = verify(token, &Jwks { keys: vec![jwk] }, &[Algorithm::ES256, Algorithm::RS256]);
            assert!(result.is_err(), "{kid:?}");
        }
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
