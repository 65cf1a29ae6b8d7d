//! Form bodies whose fields may repeat (groups of check boxes): `areas=a&areas=b`. axum's
//! `Form` keeps only one value per name; [`MultiForm`] reads the body with `serde_html_form`,
//! where a `Vec` field takes every value of its name (one, several or none).

use axum::extract::{FromRequest, Request};

use crate::error::PageError;

/// A form body where a repeated name fills a list. A body over the size limit is 413; one that
/// does not fit the form is 400.
#[derive(Debug)]
pub struct MultiForm<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for MultiForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(request, state).await.map_err(|_| PageError::TooLarge)?;
        serde_html_form::from_bytes(&bytes).map(MultiForm).map_err(|_| PageError::BadRequest)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Form {
        name: Option<String>,
        #[serde(default)]
        areas: Vec<String>,
    }

    fn parse(body: &str) -> Form {
        serde_html_form::from_str(body).expect("form")
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
