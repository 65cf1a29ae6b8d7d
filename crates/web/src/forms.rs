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
    // Invalid escapes are kept as they are, and invalid UTF-8 becomes U+FFFD.
    for (name, value) in form_urlencoded::parse(body) {
        let value = serde_json::Value::String(value.into_owned());
        match object.get_mut(name.as_ref()) {
            None => {
                object.insert(name.into_owned(), value);
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
        assert_eq!(parse("name=%zz%4").name.as_deref(), Some("%zz%4"));
        assert_eq!(parse("name=%FF").name.as_deref(), Some("\u{FFFD}"));
    }
}
