//! Static assets, all compiled into the binary: our own stylesheet and Designsystemet's CSS
//! (a pinned, byte-exact copy of the npm package's built files in `assets/designsystemet/`,
//! with its licence and version; `scripts/update-designsystemet` refreshes it). The binary
//! needs no files beside it. Every asset is served from memory under a URL that carries its
//! content hash, so browsers may cache it for a year.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::AppState;

struct Asset {
    bytes: Bytes,
    content_type: &'static str,
    version: String,
}

/// The assets this process serves.
pub struct Assets {
    by_name: HashMap<&'static str, Asset>,
}

impl std::fmt::Debug for Assets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assets").field("names", &self.by_name.keys().collect::<Vec<_>>()).finish()
    }
}

fn version_of(bytes: &[u8]) -> String {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Every asset: URL name, the file's bytes, its content type.
const FILES: [(&str, &[u8], &str); 3] = [
    ("site.css", include_bytes!("../../assets/site.css"), "text/css; charset=utf-8"),
    ("ds/index.css", include_bytes!("../../assets/designsystemet/index.css"), "text/css; charset=utf-8"),
    ("ds/theme.css", include_bytes!("../../assets/designsystemet/theme.css"), "text/css; charset=utf-8"),
];

/// The version of Designsystemet's CSS compiled in, e.g. `@digdir/designsystemet-css 1.22.0`.
pub fn designsystemet_version() -> &'static str {
    include_str!("../../assets/designsystemet/VERSION").lines().next().unwrap_or_default()
}

impl Assets {
    /// The assets compiled into the binary.
    pub fn load() -> Self {
        let by_name = FILES
            .into_iter()
            .map(|(name, bytes, content_type)| {
                (name, Asset { bytes: Bytes::from_static(bytes), content_type, version: version_of(bytes) })
            })
            .collect();
        Self { by_name }
    }

    /// The versioned URL of asset `name`, e.g. `/assets/site.css?v=0123abcd...`.
    pub fn url(&self, name: &str) -> Option<String> {
        self.by_name.get(name).map(|a| format!("/assets/{name}?v={}", a.version))
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct VersionQuery {
    v: Option<String>,
}

/// Serves one asset. With the current version in `?v=` it may be cached for a year; without,
/// it must be revalidated.
pub(crate) async fn serve(
    State(state): State<AppState>,
    UrlPath(name): UrlPath<String>,
    Query(query): Query<VersionQuery>,
) -> Response {
    let Some(asset) = state.assets.by_name.get(name.as_str()) else {
        return crate::error::PageError::NotFound.into_response();
    };
    let cache = if query.v.as_deref() == Some(asset.version.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=0, must-revalidate"
    };
    let mut response = Response::new(Body::from(asset.bytes.clone()));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", asset.version)) {
        headers.insert(header::ETAG, etag);
    }
    *response.status_mut() = StatusCode::OK;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_compiled_in_with_a_versioned_url() {
        let assets = Assets::load();
        for (name, bytes, _) in FILES {
            assert!(bytes.len() > 500, "{name} is nearly empty");
            let url = assets.url(name).expect("url");
            assert!(url.starts_with(&format!("/assets/{name}?v=")), "{url}");
        }
        let version = designsystemet_version();
        assert!(version.starts_with("@digdir/designsystemet-css "), "{version}");
        // Designsystemet's stylesheet, not a placeholder: it styles its buttons.
        assert!(String::from_utf8_lossy(FILES[1].1).contains(".ds-button"));
    }
}
