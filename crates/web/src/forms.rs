//! Forms whose fields may repeat (groups of check boxes): `areas=a&areas=b`. axum's `Form`
//! keeps only one value per name; [`MultiForm`] keeps them all, and a field declared with
//! `#[serde(deserialize_with = "one_or_many")]` reads one value or several as a list.

use axum::extract::{FromRequest, Request};
use serde::Deserialize;

use crate::error::PageError;

/// A form body where a repeated name becomes a list.
#[derive(Debug)]
pub struct MultiForm<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for MultiForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(request, state).await.map_err(|_| PageError::TooLarge)?;
        serde_json::from_value(grouped(&bytes)).map(MultiForm).map_err(|_| PageError::BadRequest)
    }
}

/// The body as a JSON object: a name given once maps to a string, a repeated one to a list.
fn grouped(body: &[u8]) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    for (name, value) in pairs(body) {
        let value = serde_json::Value::String(value);
        match object.get_mut(&name) {
            None => {
                object.insert(name, value);
            }
            Some(serde_json::Value::Array(list)) => list.push(value),
            Some(single) => {
                let first = single.take();
                *single = serde_json::Value::Array(vec![first, value]);
            }
        }
    }
    serde_json::Value::Object(object)
}

/// Reads a field given once (a string) or several times (a list) as a list.
pub fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

/// Percent-decoding of one `application/x-www-form-urlencoded` component; invalid escapes
/// are kept as they are, and invalid UTF-8 becomes U+FFFD.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn pairs(bytes: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(bytes)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Form {
        name: Option<String>,
        #[serde(default, deserialize_with = "one_or_many")]
        areas: Vec<String>,
    }

    fn parse(body: &str) -> Form {
        serde_json::from_value(grouped(body.as_bytes())).expect("form")
    }

    #[test]
    fn repeated_names_become_lists_and_escapes_decode() {
        assert_eq!(parse("name=%C3%A6+b&areas=a&areas=b").areas, vec!["a", "b"]);
        assert_eq!(parse("name=%C3%A6+b&areas=a").name.as_deref(), Some("æ b"));
        assert_eq!(parse("areas=x").areas, vec!["x"]);
        assert!(parse("name=").areas.is_empty());
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%FF"), "\u{FFFD}");
    }
}
