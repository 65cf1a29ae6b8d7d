//! One deployment, several municipalities: every request belongs to exactly one, chosen by
//! host name, and never sees another's records.

use allmenning::config::Mode;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::helpers::{InProcess, body_json, body_text, kommune, test_settings, two_municipalities};

fn get_on(host: &str, path: &str) -> Request<Body> {
    Request::get(path).header(header::HOST, host).body(Body::empty()).expect("request")
}

#[tokio::test]
async fn each_host_sees_only_its_own_municipality() {
    let mut settings = test_settings(Mode::Production).await;
    two_municipalities(&mut settings.settings);
    let app = InProcess::with(settings).await;
    let (bergen, stavanger) = (kommune("4601"), kommune("1103"));
    content::publish_notice(app.db().municipal(bergen), kernel::Language::Bokmal, "Vann i Bergen", "b")
        .await
        .expect("publish");
    content::publish_notice(app.db().municipal(stavanger), kernel::Language::Bokmal, "Vei i Stavanger", "s")
        .await
        .expect("publish");

    let bergen_api = body_json(app.send(get_on("bergen.test", "/api/v1/notices")).await).await;
    let stavanger_api = body_json(app.send(get_on("stavanger.test:8080", "/api/v1/notices")).await).await;
    let titles = |v: &serde_json::Value| -> Vec<String> {
        v["items"].as_array().expect("items").iter().map(|i| i["title"].as_str().unwrap_or("").to_owned()).collect()
    };
    assert_eq!(titles(&bergen_api), ["Vann i Bergen"]);
    assert_eq!(titles(&stavanger_api), ["Vei i Stavanger"]);

    let bergen_page = body_text(app.send(get_on("bergen.test", "/")).await).await;
    assert!(bergen_page.contains("Vann i Bergen") && !bergen_page.contains("Stavanger"), "{bergen_page}");
    let stavanger_page = body_text(app.send(get_on("stavanger.test", "/")).await).await;
    assert!(stavanger_page.contains("Velkommen til Stavanger kommune") && !stavanger_page.contains("Bergen"));

    let info = body_json(app.send(get_on("stavanger.test", "/api/v1/municipality")).await).await;
    assert_eq!(info["kommunenummer"], "1103");
    assert_eq!(info["county_name"], "Rogaland");
}

#[tokio::test]
async fn feedback_lands_in_the_municipality_of_the_host() {
    let mut settings = test_settings(Mode::Production).await;
    two_municipalities(&mut settings.settings);
    let app = InProcess::with(settings).await;
    let request = Request::post("/api/v1/feedback")
        .header(header::HOST, "stavanger.test")
        .header("content-type", "application/json")
        .body(Body::from("{\"message\":\"Kart uten tekstalternativ\"}"))
        .expect("request");
    assert_eq!(app.send(request).await.status(), StatusCode::CREATED);
    let count = |k| content::feedback_count(app.db().municipal(kommune(k)));
    assert_eq!(count("1103").await.expect("count"), 1);
    assert_eq!(count("4601").await.expect("count"), 0);
}

#[tokio::test]
async fn a_host_that_belongs_to_no_municipality_gets_nothing() {
    let mut settings = test_settings(Mode::Production).await;
    two_municipalities(&mut settings.settings);
    let app = InProcess::with(settings).await;

    let page = app.send(get_on("unknown.test", "/")).await;
    assert_eq!(page.status(), StatusCode::MISDIRECTED_REQUEST);
    let html = body_text(page).await;
    assert!(html.contains("Ukjent adresse"));
    assert!(!html.contains("kommune</span>"), "no municipality is named on a host that has none");
    let api = app.send(get_on("unknown.test", "/api/v1/notices")).await;
    assert_eq!(api.status(), StatusCode::MISDIRECTED_REQUEST);
    assert_eq!(body_json(api).await["code"], "unknown_host");
    // Nothing else is reached there: not login, not the APIs.
    for path in
        ["/logg-inn", "/ansatt/logg-inn", "/api/v1/organisations/974760673", "/api/v1/municipality", "/min-side"]
    {
        assert_eq!(app.send(get_on("unknown.test", path)).await.status(), StatusCode::MISDIRECTED_REQUEST, "{path}");
    }
    // Operations endpoints answer whatever the host, for load balancers.
    assert_eq!(app.send(get_on("10.0.0.7", "/healthz")).await.status(), StatusCode::OK);
    // A fully qualified host name, with its trailing dot, is the same host.
    let page = app.send(get_on("bergen.test.", "/api/v1/municipality")).await;
    assert_eq!(page.status(), StatusCode::OK);
}
