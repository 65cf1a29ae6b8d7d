//! Which municipality a request belongs to, chosen by host name. A deployment lists its
//! municipalities with their host names; one of them may have no host names and then serves
//! every host no other municipality claims (a single-municipality deployment is just that).

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kernel::Kommunenummer;

use crate::error::PageError;

/// One municipality a deployment serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MunicipalitySetting {
    /// Its number.
    pub kommunenummer: Kommunenummer,
    /// The host names that reach it (`bergen.example.no`); empty for the fallback.
    pub hosts: Vec<String>,
    /// Its public address without a trailing slash (`https://bergen.example.no`): where login
    /// comes back to, and `{public_url}/api` is the audience its API's tokens must name.
    pub public_url: String,
}

/// Why a list of municipalities cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenancyError {
    /// No municipality at all.
    #[error("at least one municipality must be configured")]
    Empty,
    /// Two municipalities claim the same host.
    #[error("host {0} is listed for more than one municipality")]
    DuplicateHost(String),
    /// The same municipality is listed twice.
    #[error("municipality {0} is listed more than once")]
    DuplicateMunicipality(String),
    /// More than one municipality without host names.
    #[error("only one municipality may be the fallback (have no hosts); {0} and {1} both are")]
    TwoFallbacks(String, String),
}

/// Host name → municipality.
#[derive(Debug, Clone)]
pub struct Municipalities {
    by_host: HashMap<String, Kommunenummer>,
    fallback: Option<Kommunenummer>,
    all: Vec<Kommunenummer>,
    public_urls: HashMap<Kommunenummer, String>,
}

fn normalise_host(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    // Strip a port, but leave IPv6 literals ("[::1]:8080") intact up to the bracket.
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.ends_with(':') => name.to_owned(),
        _ => host,
    };
    // A fully qualified name ends with a dot ("bergen.example.no."): the same host.
    name.strip_suffix('.').map_or_else(|| name.clone(), str::to_owned)
}

impl Municipalities {
    /// Checks the list and builds the lookup.
    pub fn new(settings: &[MunicipalitySetting]) -> Result<Self, TenancyError> {
        if settings.is_empty() {
            return Err(TenancyError::Empty);
        }
        let mut by_host = HashMap::new();
        let mut fallback: Option<Kommunenummer> = None;
        let mut all = Vec::new();
        let mut public_urls = HashMap::new();
        for setting in settings {
            public_urls.insert(setting.kommunenummer, setting.public_url.trim_end_matches('/').to_owned());
            if all.contains(&setting.kommunenummer) {
                return Err(TenancyError::DuplicateMunicipality(setting.kommunenummer.to_string()));
            }
            all.push(setting.kommunenummer);
            if setting.hosts.is_empty() {
                if let Some(existing) = fallback {
                    return Err(TenancyError::TwoFallbacks(existing.to_string(), setting.kommunenummer.to_string()));
                }
                fallback = Some(setting.kommunenummer);
            }
            for host in &setting.hosts {
                let host = normalise_host(host);
                if by_host.insert(host.clone(), setting.kommunenummer).is_some() {
                    return Err(TenancyError::DuplicateHost(host));
                }
            }
        }
        Ok(Self { by_host, fallback, all, public_urls })
    }

    /// The municipality for a `Host` header value, if any.
    pub fn resolve(&self, host: Option<&str>) -> Option<Kommunenummer> {
        host.and_then(|h| self.by_host.get(&normalise_host(h)).copied()).or(self.fallback)
    }

    /// Every municipality served.
    pub fn all(&self) -> &[Kommunenummer] {
        &self.all
    }

    /// A municipality's public address, without a trailing slash.
    pub fn public_url(&self, kommunenummer: Kommunenummer) -> &str {
        self.public_urls.get(&kommunenummer).map_or("", String::as_str)
    }

    /// The audience a token for `kommunenummer`'s API must name: `{public_url}/api`.
    pub fn api_audience(&self, kommunenummer: Kommunenummer) -> String {
        api_audience(self.public_url(kommunenummer))
    }
}

/// The audience of the API at `public_url`: what tokens for it must carry in `aud`.
pub fn api_audience(public_url: &str) -> String {
    format!("{}/api", public_url.trim_end_matches('/'))
}

/// The municipality of the current request. Extracting it fails (421) when the host belongs
/// to none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Municipality(pub Kommunenummer);

impl<S: Send + Sync> FromRequestParts<S> for Municipality {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Municipality>().copied().ok_or(PageError::UnknownHost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: &str) -> Kommunenummer {
        Kommunenummer::parse(n).expect("valid")
    }

    #[test]
    fn hosts_pick_municipalities_and_the_fallback_takes_the_rest() {
        let m = Municipalities::new(&[
            MunicipalitySetting {
                kommunenummer: k("4601"),
                hosts: vec!["bergen.example.no".into()],
                public_url: String::new(),
            },
            MunicipalitySetting { kommunenummer: k("1103"), hosts: vec![], public_url: String::new() },
        ])
        .expect("valid");
        assert_eq!(m.resolve(Some("Bergen.Example.no:8080")), Some(k("4601")));
        assert_eq!(m.resolve(Some("bergen.example.no.")), Some(k("4601")));
        assert_eq!(m.resolve(Some("bergen.example.no.:443")), Some(k("4601")));
        assert_eq!(m.resolve(Some("other.example.no")), Some(k("1103")));
        assert_eq!(m.resolve(None), Some(k("1103")));
    }

    #[test]
    fn without_a_fallback_unknown_hosts_resolve_to_nothing() {
        let m = Municipalities::new(&[MunicipalitySetting {
            kommunenummer: k("4601"),
            hosts: vec!["a.no".into()],
            public_url: String::new(),
        }])
        .expect("valid");
        assert_eq!(m.resolve(Some("b.no")), None);
        assert_eq!(m.resolve(Some("[::1]:8080")), None);
    }

    #[test]
    fn ambiguous_lists_are_refused() {
        let two = |a: Vec<String>, b: Vec<String>| {
            Municipalities::new(&[
                MunicipalitySetting { kommunenummer: k("4601"), hosts: a, public_url: String::new() },
                MunicipalitySetting { kommunenummer: k("1103"), hosts: b, public_url: String::new() },
            ])
        };
        assert!(matches!(two(vec![], vec![]), Err(TenancyError::TwoFallbacks(..))));
        assert!(matches!(two(vec!["x.no".into()], vec!["X.no".into()]), Err(TenancyError::DuplicateHost(_))));
        assert!(matches!(Municipalities::new(&[]), Err(TenancyError::Empty)));
    }
}
