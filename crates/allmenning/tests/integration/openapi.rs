//! The OpenAPI document says what the server does: each rule of a field in the document
//! accepts exactly what the server accepts, query-string errors are problems like every other
//! API error, and pages answer a query string that does not fit with the error page.
//! `scripts/schemathesis` checks the same with generated requests; these tests pin the
//! boundaries.

use allmenning::config::Mode;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{InProcess, body_json, body_text};

/// The schema of `name` under the document's components.
fn schema<'a>(document: &'a Value, name: &str) -> &'a Value {
    &document["components"]["schemas"][name]
}

/// The document's pattern for a property, compiled. The patterns are ECMA-262 regular
/// expressions; the ones used here mean the same in the `regex` crate's syntax.
fn pattern(property: &Value) -> regex::Regex {
    let text = property["pattern"].as_str().unwrap_or_else(|| panic!("a pattern in {property}"));
    regex::RegexBuilder::new(text).size_limit(64 << 20).build().expect("a valid pattern")
}

/// Whether `value` fits a string property whose one rule is its pattern.
fn fits(property: &Value, value: &str) -> bool {
    pattern(property).is_match(value)
}

fn json_post(body: &Value) -> Request<Body> {
    Request::post("/api/v1/feedback")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

/// Every field of feedback on the near side and the far side of each rule: the document's
/// pattern accepts a value exactly when the server does (201), and what the server refuses
/// is a problem (400 for control characters, 422 for a broken rule). The one difference is on
/// purpose: the e-mail pattern promises only a part of what the server takes.
#[tokio::test]
async fn the_feedback_schema_accepts_exactly_what_the_server_accepts() {
    let app = InProcess::new(Mode::Production).await;
    let document = body_json(app.get("/api/openapi.json").await).await;
    let body = schema(&document, "FeedbackBody");
    assert_eq!(body["additionalProperties"], false);
    assert_eq!(body["required"], json!(["message"]));
    let properties = &body["properties"];
    // The server trims white space before it counts; a `maxLength` counts it too, so a padded
    // value would fit the server and not the document. The patterns carry the lengths.
    for field in ["message", "page", "contact_email"] {
        let keywords = &properties[field];
        assert!(keywords["maxLength"].is_null() && keywords["minLength"].is_null(), "{field}: {keywords}");
    }

    let long = |n: usize| "æ".repeat(n);
    let messages = [
        "Knappen mangler fokus".to_owned(),
        "x".to_owned(),
        "  hei  ".to_owned(),
        "linje en\r\nlinje\tto".to_owned(),
        "\u{a0}\u{3000}mellomrom\u{2028}".to_owned(),
        "emoji 🙂".to_owned(),
        long(5000),
        format!(" \n{}\t\u{2003}", long(5000)),
        String::new(),
        "   ".to_owned(),
        "\u{a0}\u{3000}\u{2028}\u{85}".to_owned(),
        long(5001),
        format!(" {} ", long(5001)),
        "hei\u{1}der".to_owned(),
        "hei\u{7f}".to_owned(),
        "hei\u{b}".to_owned(),
    ];
    let pages = [
        String::new(),
        "   ".to_owned(),
        "/tilgjengelighet".to_owned(),
        long(500),
        format!("\t{}  ", long(500)),
        long(501),
        "side\u{0}".to_owned(),
    ];
    let emails = [
        "",
        " ",
        "kari@example.no",
        " kari.nordmann+x@bergen.kommune.no\n",
        "a@b.c",
        "a@b..c",
        "kari@example",
        "kari@.no",
        "kari@no.",
        "@example.no",
        "kari@exa@mple.no",
        "kari nordmann@example.no",
        "kari@example.no\u{1}",
    ];
    let mut cases = Vec::new();
    for message in &messages {
        cases.push(json!({ "message": message }));
    }
    for page in &pages {
        cases.push(json!({ "message": "hei", "page": page }));
    }
    for email in emails {
        cases.push(json!({ "message": "hei", "contact_email": email }));
    }
    // 254 characters in all, the most the server takes; one more is refused by both.
    let (local, label) = ("k".repeat(64), "e".repeat(94));
    cases.push(json!({ "message": "hei", "contact_email": format!("{local}@{label}.{label}") }));
    cases.push(json!({ "message": "hei", "contact_email": format!("{local}@{label}e.{label}") }));
    cases.push(json!({ "message": "hei", "contact_email": format!("k{local}@{label}.{label}") }));
    cases.push(json!({ "message": "hei", "page": null, "contact_email": null, "language": null }));

    for case in &cases {
        let schema_accepts = ["message", "page", "contact_email"].iter().all(|field| match &case[field] {
            Value::String(text) => fits(&properties[field], text),
            _ => true,
        });
        let response = app.send(json_post(case)).await;
        let status = response.status();
        let shown: String = case.to_string().chars().take(120).collect();
        assert_eq!(
            schema_accepts,
            status == StatusCode::CREATED,
            "the document {} what the server answers with {status}: {shown}",
            if schema_accepts { "allows" } else { "refuses" },
        );
        if !schema_accepts {
            assert!(matches!(status, StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY), "{status}: {shown}");
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
        }
    }

    // Where the document promises less than the server takes: an address the pattern refuses
    // that the server stores. Its pattern allows only a part of the server's rule (printable
    // ASCII, at most 64 characters before the `@`).
    for email in ["kåre@example.no", &format!("{}@example.no", "k".repeat(65))] {
        assert!(!fits(&properties["contact_email"], email), "{email}");
        let response = app.send(json_post(&json!({ "message": "hei", "contact_email": email }))).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{email}");
    }

    // The language: exactly the enum's values (and null) are taken.
    let languages = properties["language"]["enum"].as_array().expect("an enum").clone();
    assert_eq!(languages, vec![json!("nb"), json!("nn"), json!("en"), Value::Null]);
    for language in languages {
        let response = app.send(json_post(&json!({ "message": "hei", "language": language }))).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{language}");
    }
    for language in ["de", "NB", "", "nb-NO"] {
        let response = app.send(json_post(&json!({ "message": "hei", "language": language }))).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{language}");
        assert_eq!(body_json(response).await["code"], "malformed_json");
    }
}

/// The notice list's `limit` is 1–100 in the document and on the server; anything else, and
/// a parameter given twice, is a 400 problem that says what was wrong.
#[tokio::test]
async fn the_notice_limit_is_what_the_document_says_and_errors_are_problems() {
    let app = InProcess::new(Mode::Demo).await;
    let document = body_json(app.get("/api/openapi.json").await).await;
    let limit = &document["paths"]["/api/v1/notices"]["get"]["parameters"][0];
    assert_eq!((limit["name"].as_str(), limit["in"].as_str()), (Some("limit"), Some("query")));
    assert_eq!((limit["schema"]["minimum"].as_u64(), limit["schema"]["maximum"].as_u64()), (Some(1), Some(100)));
    for status in ["400", "421"] {
        let answer = &document["paths"]["/api/v1/notices"]["get"]["responses"][status];
        assert!(answer["content"]["application/problem+json"].is_object(), "{status} is documented");
    }

    for query in ["", "?limit=1", "?limit=100", "?limit=20&other=ignored"] {
        let response = app.get(&format!("/api/v1/notices{query}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{query}");
        let items = body_json(response).await["items"].as_array().map(Vec::len).expect("items");
        assert!(items >= 1, "the demo has notices");
        if query == "?limit=1" {
            assert_eq!(items, 1);
        }
    }
    for query in ["limit=0", "limit=101", "limit=-1", "limit=abc", "limit=", "limit=4294967296", "limit=2.5"] {
        let response = app.get(&format!("/api/v1/notices?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json", "{query}");
        let problem = body_json(response).await;
        assert_eq!(problem["code"], "malformed_query", "{query}: {problem}");
        assert_eq!(problem["detail"], "limit: must be a whole number from 1 to 100", "{query}");
    }
    let twice = body_json(app.get("/api/v1/notices?limit=1&limit=2").await).await;
    assert_eq!(twice["code"], "malformed_query");
    assert!(twice["detail"].as_str().is_some_and(|d| d.contains("duplicate field `limit`")), "{twice}");
}

/// A page whose query string does not fit (a parameter given twice) answers with the error
/// page in the visitor's language, not axum's plain text.
#[tokio::test]
async fn pages_answer_a_query_string_that_does_not_fit_with_the_error_page() {
    let app = InProcess::new(Mode::Production).await;
    for path in
        ["/sprak/nn?tilbake=/&tilbake=/x", "/tilgjengelighet?mottatt=1&mottatt=2", "/logg-inn?tilbake=/&tilbake=/"]
    {
        let response = app.get_in(path, "en").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(response.headers()[header::CONTENT_TYPE].to_str().expect("type").starts_with("text/html"), "{path}");
        let html = body_text(response).await;
        assert!(html.contains("<html lang=\"en\""), "{path}: {html}");
    }
}

/// Every answer of every operation that can carry a body is described, and every error answer
/// is a problem: a client can rely on `application/problem+json` for anything but 2xx.
#[tokio::test]
async fn every_error_answer_in_the_document_is_a_problem() {
    let app = InProcess::new(Mode::Production).await;
    let document = body_json(app.get("/api/openapi.json").await).await;
    let paths = document["paths"].as_object().expect("paths");
    let mut errors = 0;
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().expect("operations") {
            for (status, answer) in operation["responses"].as_object().expect("responses") {
                if status.starts_with('4') || status.starts_with('5') {
                    errors += 1;
                    assert_eq!(
                        answer["content"]["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    assert!(errors >= 15, "the error answers are listed ({errors})");
}
