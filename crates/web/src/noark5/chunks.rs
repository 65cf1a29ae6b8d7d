//! The tjenestegrensesnitt's chunked upload: `POST …/fil/` with `X-Upload-Content-Type` and
//! `X-Upload-Content-Length` and no body announces it (200, `Location` to send to); each
//! `PUT …/fil/` with `Content-Range: bytes first-last/total` sends the next part (308 with
//! `Range` while incomplete; 201 with the dokumentobjekt when the last part is stored).

use archive::Object;
use archive::uploads::Progress;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use kernel::Kommunenummer;

use super::auth::NoarkUser;
use super::links::Links;
use super::{feil, from_archive, object_answer};
use crate::AppState;

/// `bytes first-last/total` → (first, last, total).
fn content_range(text: &str) -> Option<(u64, u64, u64)> {
    let rest = text.trim().strip_prefix("bytes")?.trim();
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let (first, last, total) = (first.trim().parse().ok()?, last.trim().parse().ok()?, total.trim().parse().ok()?);
    (first <= last && last < total).then_some((first, last, total))
}

pub(super) async fn receive(
    state: &AppState,
    kommune: Kommunenummer,
    links: &Links,
    user: &NoarkUser,
    object: &Object,
    headers: &HeaderMap,
    bytes: Bytes,
) -> Response {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(length) = text("x-upload-content-length") {
        let Ok(length) = length.trim().parse::<u64>() else {
            return feil(StatusCode::BAD_REQUEST, "X-Upload-Content-Length må være et antall byte");
        };
        let Some(mime_type) = text("x-upload-content-type") else {
            return feil(StatusCode::BAD_REQUEST, "Oppgi X-Upload-Content-Type");
        };
        if !bytes.is_empty() {
            return feil(StatusCode::BAD_REQUEST, "Kunngjøringen av en oppdelt opplasting har ingen kropp");
        }
        return match state.archive.start_upload(kommune, &object.system_id, &mime_type, length).await {
            Ok(()) => {
                let mut response = StatusCode::OK.into_response();
                if let Ok(value) = HeaderValue::from_str(&links.file(object)) {
                    response.headers_mut().insert(header::LOCATION, value);
                }
                response
            }
            Err(error) => from_archive(error),
        };
    }
    let Some((first, last, total)) = text("content-range").as_deref().and_then(content_range) else {
        return feil(StatusCode::BAD_REQUEST, "Content-Range må være «bytes første-siste/totalt»");
    };
    if last - first + 1 != bytes.len() as u64 {
        return feil(StatusCode::BAD_REQUEST, "Content-Range stemmer ikke med antall byte som kom");
    }
    match state.archive.upload_chunk(kommune, &object.system_id, first, total, bytes, &user.actor).await {
        Ok(Progress::Incomplete(received)) => {
            let mut response = StatusCode::PERMANENT_REDIRECT.into_response();
            if let Ok(value) = HeaderValue::from_str(&format!("bytes=0-{}", received - 1)) {
                response.headers_mut().insert(header::RANGE, value);
            }
            response
        }
        Ok(Progress::Done(object)) => {
            let mut response = object_answer(links, &object, StatusCode::CREATED);
            if let Ok(value) = HeaderValue::from_str(&links.file(&object)) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        Err(error) => from_archive(error),
    }
}

#[cfg(test)]
mod tests {
    use super::content_range;

    #[test]
    fn content_ranges_are_read_strictly() {
        assert_eq!(content_range("bytes 0-99/300"), Some((0, 99, 300)));
        assert_eq!(content_range("bytes 100-299/300"), Some((100, 299, 300)));
        assert_eq!(content_range("bytes 5-4/300"), None);
        assert_eq!(content_range("bytes 0-300/300"), None);
        assert_eq!(content_range("bytes */300"), None);
        assert_eq!(content_range("0-1/2"), None);
    }
}
