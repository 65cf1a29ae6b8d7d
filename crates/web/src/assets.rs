//! Static assets: our own stylesheet (compiled in) and Designsystemet's CSS, read at start from
//! the npm package the set-up command installs. Every asset is served from memory under a URL
//! that carries its content hash, so browsers may cache it for a year.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

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

impl Assets {
    /// Loads our stylesheet and, from `designsystemet_dir` (the package's `dist` folder),
    /// Designsystemet's CSS and theme. Missing Designsystemet files are logged, not fatal: the
    /// pages stay usable without them.
    pub fn load(designsystemet_dir: &Path) -> Self {
        let mut by_name = HashMap::new();
        let mut add = |name: &'static str, bytes: Bytes, content_type: &'static str| {
            let version = version_of(&bytes);
            by_name.insert(name, Asset { bytes, content_type, version });
        };
        add("site.css", Bytes::from_static(include_bytes!("../assets/site.css")), "text/css; charset=utf-8");
        for (name, relative) in [("ds/index.css", "src/index.css"), ("ds/theme.css", "theme/designsystemet.css")] {
            let path = designsystemet_dir.join(relative);
            match std::fs::read(&path) {
                Ok(bytes) => add(name, Bytes::from(bytes), "text/css; charset=utf-8"),
                Err(error) => {
                    tracing::warn!(asset.path = %path.display(), error = %error,
                        "Designsystemet CSS not found; run `npm ci` in the repository (pages will be unstyled)");
                    add(name, Bytes::new(), "text/css; charset=utf-8");
                }
            }
        }
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
