//! The HTTP surface, in process and on a real socket.

use allmenning::config::Mode;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use store::jobs::Worker;

use crate::helpers::{InProcess, body_json, body_text, spawn_app, test_settings};

#[tokio::test]
async fn the_front_page_speaks_all_three_languages() {
    let app = InProcess::new(Mode::Production).await;
    for (language, heading) in [
        ("nb", "Velkommen til Bergen kommune"),
        ("nn", "Velkomen til Bergen kommune"),
        ("en", "Welcome to Bergen municipality"),
    ] {
        let response = app.get_in("/", language).await;
        assert_eq!(response.status(), StatusCode::OK);
        let html = body_text(response).await;
        assert!(html.contains(&format!("<html lang=\"{language}\"")), "{language}");
        assert!(html.contains(heading), "{language}: {html}");
        assert!(html.contains("href=\"#hovedinnhold\""), "skip link");
    }
    // Without a cookie the page is in bokmål.
    let html = body_text(app.get("/").await).await;
    assert!(html.contains("<html lang=\"nb\""));
    assert!(!html.contains("demonstrasjon"), "no demo banner outside demo mode");
}

#[tokio::test]
async fn a_notice_in_another_language_than_the_page_is_marked_with_its_language() {
    let app = InProcess::new(Mode::Production).await;
    let bergen = app.db().municipal(crate::helpers::kommune("4601"));
    content::publish_notice(bergen, kernel::Language::Bokmal, "Stengt skranke", "Skranken er stengt i dag.")
        .await
        .expect("publish");
    for (language, marker) in
        [("nn", Some("Berre på bokmål.")), ("en", Some("Only in Norwegian (Bokmål).")), ("nb", None)]
    {
        let html = body_text(app.get_in("/", language).await).await;
        assert!(
            html.contains("<li class=\"ds-card site-notice\" lang=\"nb\">"),
            "{language}: the notice has its lang: {html}"
        );
        assert!(html.contains("Stengt skranke"), "{language}");
        match marker {
            Some(marker) => assert!(
                html.contains(&format!("lang=\"{language}\">{marker}</p>")),
                "{language}: says, in the page's language, that the notice is in bokmål: {html}"
            ),
            None => assert!(!html.contains("Bare på bokmål"), "a bokmål page needs no marker"),
        }
    }
}

#[tokio::test]
async fn the_language_switch_remembers_the_choice_and_only_returns_to_this_site() {
    let app = InProcess::new(Mode::Production).await;
    let response = app.get("/sprak/nn?tilbake=/tilgjengelighet").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/tilgjengelighet");
    let cookie = response.headers()[header::SET_COOKIE].to_str().expect("cookie");
    assert!(
        cookie.starts_with("lang=nn;") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let elsewhere = app.get("/sprak/en?tilbake=//evil.example/").await;
    assert_eq!(elsewhere.headers()[header::LOCATION], "/");
    let unknown = app.get("/sprak/de").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_accessibility_statement_exists_in_every_language_and_is_linked_from_the_footer() {
    let app = InProcess::new(Mode::Production).await;
    for (language, title) in
        [("nb", "Tilgjengelighetserklæring"), ("nn", "Tilgjengeerklæring"), ("en", "Accessibility statement")]
    {
        let html = body_text(app.get_in("/tilgjengelighet", language).await).await;
        assert!(!html.contains("None"), "a fresh form is empty: {html}");
        assert!(html.contains("></textarea>") && html.contains("id=\"page\" name=\"page\" value=\"\""), "{html}");
        assert!(html.contains(&format!("<h1 class=\"ds-heading\" data-size=\"lg\">{title}</h1>")), "{language}");
        assert!(html.contains("uutilsynet.no"));
    }
    let front = body_text(app.get("/").await).await;
    assert!(front.contains("href=\"/tilgjengelighet\""));
}

#[tokio::test]
async fn unknown_pages_are_404_in_the_chosen_language_and_problems_under_api() {
    let app = InProcess::new(Mode::Production).await;
    let page = app.get_in("/finnes/ikke", "en").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.headers()[header::CONTENT_TYPE].to_str().expect("type").starts_with("text/html"));
    let html = body_text(page).await;
    assert!(html.contains("Page not found") && html.contains("<html lang=\"en\""), "{html}");

    let nynorsk = body_text(app.get_in("/finst-ikkje", "nn").await).await;
    assert!(nynorsk.contains("Fann ikkje sida"));

    let api = app.get("/api/v1/finnes-ikke").await;
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert_eq!(api.headers()[header::CONTENT_TYPE], "application/problem+json");
    let problem = body_json(api).await;
    assert_eq!(problem["code"], "not_found");
    assert_eq!(problem["status"], 404);
}

#[tokio::test]
async fn the_500_page_exists_only_in_demo_mode_and_hides_details() {
    let demo = InProcess::new(Mode::Demo).await;
    let response = demo.get_in("/demo/feil", "nn").await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let html = body_text(response).await;
    assert!(html.contains("Noko gjekk gale hos oss"), "{html}");
    assert!(html.contains("Referanse:"), "a reference for support");
    assert!(!html.contains("demonstration error page was requested"), "internal detail leaked");

    let production = InProcess::new(Mode::Production).await;
    assert_eq!(production.get("/demo/feil").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_a_request_id() {
    let app = InProcess::new(Mode::Production).await;
    for path in ["/", "/api/v1/municipality", "/finnes-ikke"] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().expect("csp");
        assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers.contains_key("referrer-policy"));
        assert!(headers.contains_key("x-request-id"), "{path}");
    }
}

#[tokio::test]
async fn only_a_server_behind_https_tells_browsers_to_keep_to_https() {
    let language_cookie = async |app: &InProcess| {
        let response = app.get("/sprak/en?tilbake=/").await;
        response.headers()[header::SET_COOKIE].to_str().expect("a cookie").to_owned()
    };
    let plain = InProcess::new(Mode::Production).await;
    assert!(!plain.get("/").await.headers().contains_key(header::STRICT_TRANSPORT_SECURITY));
    assert!(!language_cookie(&plain).await.contains("Secure"));

    // Either setting says so: `secure_cookies`, or a public address that is https://.
    let mut by_flag = test_settings(Mode::Production).await;
    by_flag.settings.server.secure_cookies = true;
    let mut by_address = test_settings(Mode::Production).await;
    by_address.settings.server.public_url = "https://tjenester.example.no".to_owned();
    for settings in [by_flag, by_address] {
        let https = InProcess::with(settings).await;
        for path in ["/", "/api/v1/municipality", "/finnes-ikke"] {
            let response = https.get(path).await;
            assert_eq!(response.headers()[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000", "{path}");
        }
        let cookie = language_cookie(&https).await;
        assert!(cookie.split("; ").any(|attribute| attribute == "Secure"), "{cookie}");
    }
}

#[tokio::test]
async fn a_form_that_is_not_a_form_gets_the_error_page_in_the_visitors_language() {
    let app = InProcess::new(Mode::Demo).await;
    let post = |content_type: &str, body: Vec<u8>| {
        Request::post("/logg-ut")
            .header(header::CONTENT_TYPE, content_type)
            .header(header::COOKIE, "lang=nn")
            .body(Body::from(body))
            .expect("request")
    };
    let response = app.send(post("application/json", b"{}".to_vec())).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers()[header::CONTENT_TYPE].to_str().expect("type").starts_with("text/html"));
    let html = body_text(response).await;
    assert!(html.contains("Førespurnaden kunne ikkje handsamast"), "{html}");

    let too_large = format!("csrf={}", "x".repeat(2 * 1024 * 1024)).into_bytes();
    let response = app.send(post("application/x-www-form-urlencoded", too_large)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let html = body_text(response).await;
    assert!(html.contains("For mykje innhald"), "{html}");

    // The API keeps its problem+json.
    let response = app
        .send(
            Request::post("/api/v1/feedback")
                .header(header::CONTENT_TYPE, "text/csv")
                .body(Body::from("a"))
                .expect("request"),
        )
        .await;
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
}

#[tokio::test]
async fn responses_are_compressed_when_asked() {
    let app = InProcess::new(Mode::Production).await;
    let response =
        app.send(Request::get("/").header("accept-encoding", "gzip").body(Body::empty()).expect("request")).await;
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
}

#[tokio::test]
async fn assets_are_cached_for_a_year_only_under_their_versioned_url() {
    let app = InProcess::new(Mode::Production).await;
    let html = body_text(app.get("/").await).await;
    let start = html.find("/assets/site.css?v=").expect("versioned link");
    let url: String = html[start..].chars().take_while(|c| *c != '"').collect::<String>().replace("&#x2f;", "/");
    let response = app.get(&url).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[header::CACHE_CONTROL].to_str().expect("cc").contains("immutable"));
    assert!(response.headers()[header::CONTENT_TYPE].to_str().expect("ct").starts_with("text/css"));
    let unversioned = app.get("/assets/site.css").await;
    assert!(unversioned.headers()[header::CACHE_CONTROL].to_str().expect("cc").contains("must-revalidate"));
    assert_eq!(app.get("/assets/none.css").await.status(), StatusCode::NOT_FOUND);
}

fn json_post(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path).header("content-type", "application/json").body(body.into()).expect("request")
}

#[tokio::test]
async fn bad_api_bodies_get_problems_and_change_nothing() {
    let app = InProcess::new(Mode::Production).await;
    let malformed = app.send(json_post("/api/v1/feedback", "{\"message\": ")).await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(malformed.headers()[header::CONTENT_TYPE], "application/problem+json");
    let problem = body_json(malformed).await;
    assert_eq!(problem["code"], "malformed_json");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("EOF")), "{problem}");

    let wrong_shape = body_json(app.send(json_post("/api/v1/feedback", "{\"message\": 5}")).await).await;
    assert_eq!(wrong_shape["code"], "malformed_json");
    assert!(wrong_shape["detail"].as_str().is_some_and(|d| d.contains("message")), "names the field: {wrong_shape}");

    let unknown_field =
        body_json(app.send(json_post("/api/v1/feedback", "{\"message\":\"x\",\"extra\":1}")).await).await;
    assert!(unknown_field["detail"].as_str().is_some_and(|d| d.contains("extra")), "{unknown_field}");

    let not_json = app.send(Request::post("/api/v1/feedback").body(Body::from("message=x")).expect("request")).await;
    assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let invalid = app.send(json_post("/api/v1/feedback", "{\"message\":\"  \",\"contact_email\":\"nei\"}")).await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem = body_json(invalid).await;
    assert_eq!(problem["code"], "validation_failed");
    assert_eq!(problem["errors"].as_array().map(Vec::len), Some(2));

    let oversized = format!("{{\"message\":\"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let too_large = app.send(json_post("/api/v1/feedback", oversized)).await;
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body_json(too_large).await["code"], "payload_too_large");

    let counts = app.db().job_counts_of(content::FEEDBACK_NOTIFY_JOB).await.expect("counts");
    assert_eq!(counts.queued, 0, "no bad request may enqueue anything");
    assert!(app.db().events_after(store::Position::START, 10).await.expect("events").is_empty());
}

#[tokio::test]
async fn feedback_through_the_api_is_stored_with_its_job() {
    let app = InProcess::new(Mode::Production).await;
    let response =
        app.send(json_post("/api/v1/feedback", "{\"message\":\"Knappen mangler fokus\",\"language\":\"nn\"}")).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let receipt = body_json(response).await;
    assert!(receipt["id"].as_str().is_some_and(|id| id.len() == 36));
    let handlers = allmenning::app::job_handlers(app.db(), &allmenning::config::Settings::default());
    Worker::new(app.db().clone(), handlers, Default::default()).drain().await.expect("the notify job runs");
    assert_eq!(app.db().job_counts_of(content::FEEDBACK_NOTIFY_JOB).await.expect("counts").done, 1);
}

fn form_post(path: &str, body: &str, language: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("lang={language}"))
        .body(Body::from(body.to_owned()))
        .expect("request")
}

#[tokio::test]
async fn the_feedback_form_shows_errors_in_the_visitors_language_and_keeps_the_input() {
    let app = InProcess::new(Mode::Production).await;
    let response = app
        .send(form_post("/tilgjengelighet/tilbakemelding", "message=&page=%2Fskjema&contact_email=feil", "en"))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body_text(response).await;
    assert!(html.contains("data-testid=\"error-summary\""));
    assert!(html.contains("Write what your feedback is about."), "{html}");
    assert!(html.contains("Enter a valid e-mail address"));
    assert!(html.contains("href=\"#message\""), "the summary links to the field");
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(html.contains("value=\"feil\""), "the visitor's input is kept");
    assert!(html.contains("<title>Error: Accessibility statement"), "the title says there are errors: {html}");
    assert!(html.contains("tabindex=\"-1\" autofocus>"), "the error summary takes focus: {html}");
    assert_eq!(app.db().job_counts_of(content::FEEDBACK_NOTIFY_JOB).await.expect("counts").queued, 0);

    let garbage = app.send(form_post("/tilgjengelighet/tilbakemelding", "%%%", "nb")).await;
    assert_eq!(garbage.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let too_large = app
        .send(form_post("/tilgjengelighet/tilbakemelding", &format!("message={}", "a".repeat(2 * 1024 * 1024)), "nb"))
        .await;
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body_text(too_large).await.contains("For mye innhold"));
}

#[tokio::test]
async fn feedback_sent_through_the_form_is_stored_and_confirmed() {
    let app = InProcess::new(Mode::Production).await;
    let response = app.send(form_post("/tilgjengelighet/tilbakemelding", "message=Lenkene+er+utydelige", "nb")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[header::LOCATION].to_str().expect("location").to_owned();
    assert!(location.starts_with("/tilgjengelighet?mottatt=1"));
    let confirmation = body_text(app.get(&location).await).await;
    assert!(confirmation.contains("data-testid=\"feedback-received\""));
    assert!(confirmation.contains("<title>Tilgjengelighetserklæring"), "no error in the title once received");
    assert!(!confirmation.contains("autofocus"), "nothing takes focus on a page without errors");
    assert_eq!(app.db().job_counts_of(content::FEEDBACK_NOTIFY_JOB).await.expect("counts").queued, 1);
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = InProcess::new(Mode::Production).await;
    assert_eq!(body_json(app.get("/healthz").await).await["status"], "ok");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(body_json(ready).await["status"], "ready");
    app.get("/").await;
    let metrics = body_text(app.get("/metrics").await).await;
    assert!(metrics.contains("http_requests_total{method=\"GET\",route=\"/\",status=\"200\"} 1"), "{metrics}");
    assert!(metrics.contains("http_request_duration_seconds_bucket"));
    // The retention purge, post's print batch and receipt reading, and the cases' check for
    // provisional replies, and the purge of old drafts, scheduled at start.
    assert!(metrics.contains("jobs{status=\"queued\"} 5"), "{metrics}");
    assert!(metrics.contains("jobs_dead_lettered_total 0"));
    assert!(metrics.contains("jobs_stale_outcomes_total 0"));
    assert!(metrics.contains("# TYPE event_consumers_parked gauge"));
}

#[tokio::test]
async fn readiness_fails_on_an_unmigrated_database() {
    let settings = test_settings(Mode::Production).await;
    let db = crate::helpers::open_db(&settings.database.url).await;
    let state = crate::helpers::bare_state(&settings, db);
    let response =
        tower::ServiceExt::oneshot(web::router(state), Request::get("/readyz").body(Body::empty()).expect("request"))
            .await
            .expect("answer");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
    let problem = body_json(response).await;
    assert_eq!(problem["detail"], "database migrations are not applied", "no engine text: {problem}");
}

/// A NUL byte reached PostgreSQL as a 500; any control character but tab and line breaks is
/// refused at the edge, on both engines, and nothing is stored.
#[tokio::test]
async fn control_characters_are_refused_at_the_edge_and_change_nothing() {
    let app = InProcess::new(Mode::Demo).await;
    let count =
        async || content::feedback_count(app.db().municipal(crate::helpers::kommune("4601"))).await.expect("count");
    let api = app.send(json_post("/api/v1/feedback", r#"{"message":"hei\u0000der"}"#)).await;
    assert_eq!(api.status(), StatusCode::BAD_REQUEST);
    assert_eq!(api.headers()[header::CONTENT_TYPE], "application/problem+json");
    let problem = body_json(api).await;
    assert_eq!(problem["code"], "malformed_json", "in the body");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("control characters")));
    let query = app.get("/api/v1/notices?limit=1%1B").await;
    assert_eq!(body_json(query).await["code"], "malformed_query", "in the query string");
    let form = app.send(form_post("/tilgjengelighet/tilbakemelding", "message=hei%00der", "nb")).await;
    assert_eq!(form.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(form).await.contains("<html"), "the error page, not plain text");
    for path in [
        "/logg-inn/tilbake?state=a%00b&code=c",
        "/logg-ut/frontkanal?iss=x&sid=%00",
        "/min-side/fullmakt/%00/trekk",
        "/api/v1/notices?limit=1%1B",
    ] {
        assert_eq!(app.get(path).await.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    assert_eq!(count().await, 0);
    // Line breaks and tabs are text.
    let multi_line = app.send(json_post("/api/v1/feedback", r#"{"message":"linje en\r\nlinje\tto"}"#)).await;
    assert_eq!(multi_line.status(), StatusCode::CREATED);
    assert_eq!(count().await, 1);
}

/// Anonymous feedback is limited per address: past the limit the API answers 429 and the form
/// the too-many page, and nothing more is stored.
#[tokio::test]
async fn anonymous_feedback_is_limited_per_address() {
    let mut settings = test_settings(Mode::Production).await;
    settings.settings.rate_limits.feedback_per_window = 3;
    let app = InProcess::with(settings).await;
    let count =
        async || content::feedback_count(app.db().municipal(crate::helpers::kommune("4601"))).await.expect("count");
    for n in 0..3 {
        let sent = app.send(json_post("/api/v1/feedback", format!("{{\"message\":\"melding {n}\"}}"))).await;
        assert_eq!(sent.status(), StatusCode::CREATED);
    }
    let api = app.send(json_post("/api/v1/feedback", r#"{"message":"en for mye"}"#)).await;
    assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body_json(api).await["code"], "too_many_requests");
    let form = app.send(form_post("/tilgjengelighet/tilbakemelding", "message=en+for+mye", "nb")).await;
    assert_eq!(form.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(body_text(form).await.contains("<html"));
    assert_eq!(count().await, 3);
}

/// A client's request id reaches the logs, so only a well-formed one is kept.
#[tokio::test]
async fn only_a_well_formed_request_id_is_kept() {
    let app = InProcess::new(Mode::Production).await;
    let with_id = async |id: &str| {
        let response =
            app.send(Request::get("/healthz").header("x-request-id", id).body(Body::empty()).expect("request")).await;
        response.headers()["x-request-id"].to_str().expect("id").to_owned()
    };
    assert_eq!(with_id("abc-123_DEF.4").await, "abc-123_DEF.4");
    for forged in ["a b", "id\" request.id=forged", &"x".repeat(65), "ø"] {
        let answered = with_id(forged).await;
        assert_ne!(answered, forged);
        assert_eq!(answered.len(), 36, "a fresh UUID in place of {forged:?}: {answered}");
    }
}

#[tokio::test]
async fn the_openapi_description_is_3_1_and_matches_its_snapshot() {
    let app = InProcess::new(Mode::Production).await;
    let document = body_json(app.get("/api/openapi.json").await).await;
    assert!(document["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", document["openapi"]);
    for path in ["/api/v1/feedback", "/api/v1/notices", "/api/v1/municipality", "/readyz", "/healthz"] {
        assert!(document["paths"].get(path).is_some(), "{path} is described");
    }
    let pretty = serde_json::to_string_pretty(&document).expect("json") + "\n";
    let snapshot = crate::helpers::repository_root().join("crates/allmenning/tests/snapshots/openapi.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snapshot, &pretty).expect("write snapshot");
    }
    let expected =
        std::fs::read_to_string(&snapshot).expect("snapshot exists; run with UPDATE_SNAPSHOTS=1 to create it");
    assert_eq!(pretty, expected, "the API changed: review it, then run with UPDATE_SNAPSHOTS=1");
}

#[tokio::test]
async fn the_real_server_serves_pages_and_stops_gracefully() {
    let app = spawn_app(test_settings(Mode::Demo).await).await;
    let ready = app.client.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 200);
    let front = app.client.get(app.url("/")).send().await.expect("front");
    assert_eq!(front.status(), 200);
    let html = front.text().await.expect("text");
    assert!(html.contains("Planlagt vedlikehold"), "demo notices are seeded");
    assert!(!html.contains("Ny innlogging kommer"), "no notice of a coming login beside a working one");
    assert!(html.contains("demonstrasjon"), "demo banner");
    let feedback = app
        .client
        .post(app.url("/api/v1/feedback"))
        .json(&serde_json::json!({ "message": "Fin side" }))
        .send()
        .await
        .expect("feedback");
    assert_eq!(feedback.status(), 201);
    let settings = app.stop().await;
    // The background worker ran the job before the server stopped, or left it queued for the
    // next start; either way it is there.
    let db = crate::helpers::open_db(&settings.database.url).await;
    let counts = db.job_counts_of(content::FEEDBACK_NOTIFY_JOB).await.expect("counts");
    assert_eq!(counts.queued + counts.running + counts.done, 1);
}

#[tokio::test]
async fn demo_mode_generates_the_synthetic_municipality_once_with_its_personas() {
    let settings = crate::helpers::test_settings(Mode::Demo).await;
    let url = settings.database.url.clone();
    let first = InProcess::with(settings).await;
    let registers = registers::LocalRegisters::new(first.db().clone());
    let count = registers.person_count().await.expect("count");
    assert!(count >= 60, "{count}");
    for persona in registers::synthetic::Persona::ALL {
        let person = registers.person(&persona.fnr()).await.expect("lookup").expect("persona exists");
        assert_eq!(person.name.to_string(), persona.name());
    }
    // Building again on the same database keeps the population as it is.
    let mut again = crate::helpers::test_settings(Mode::Demo).await;
    again.settings.database.url = url.into();
    let second = InProcess::with(again).await;
    assert_eq!(registers::LocalRegisters::new(second.db().clone()).person_count().await.expect("count"), count);
}

#[tokio::test]
async fn each_register_is_local_or_remote_as_configured() {
    let local = InProcess::new(Mode::Production).await;
    assert_eq!(
        local.app.registers().kinds(),
        [("folkeregisteret", "local"), ("enhetsregisteret", "local"), ("matrikkelen", "local"), ("krr", "local")]
    );

    let mut settings = test_settings(Mode::Production).await;
    settings.settings.registers.folkeregisteret_url = "https://folkeregisteret.example.no".into();
    settings.settings.registers.krr_url = "https://krr.example.no".into();
    let remote = InProcess::with(settings).await;
    assert_eq!(
        remote.app.registers().kinds(),
        [("folkeregisteret", "http"), ("enhetsregisteret", "local"), ("matrikkelen", "local"), ("krr", "http")]
    );
}

#[tokio::test]
async fn a_panicking_handler_gives_the_500_page_or_a_problem_and_the_server_carries_on() {
    let settings = test_settings(Mode::Production).await;
    let db = crate::helpers::open_db(&settings.database.url).await;
    db.migrate().await.expect("migrate");
    let state = crate::helpers::bare_state(&settings, db);
    #[allow(clippy::panic)]
    async fn explode() -> &'static str {
        panic!("a bug");
    }
    let extra = axum::Router::new()
        .route("/eksplosjon", axum::routing::get(explode))
        .route("/api/v1/eksplosjon", axum::routing::get(explode));
    let router = web::router_with(state, extra);
    let send = |path: &'static str| {
        let router = router.clone();
        async move {
            tower::ServiceExt::oneshot(
                router,
                Request::get(path).header("cookie", "lang=en").body(Body::empty()).expect("request"),
            )
            .await
            .expect("answer")
        }
    };
    let page = send("/eksplosjon").await;
    assert_eq!(page.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(page.headers().contains_key("content-security-policy"));
    let html = body_text(page).await;
    assert!(html.contains("Something went wrong on our side") && !html.contains("a bug"), "{html}");
    let api = send("/api/v1/eksplosjon").await;
    assert_eq!(api.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(api.headers()[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body_json(api).await["code"], "internal_error");
    assert_eq!(send("/healthz").await.status(), StatusCode::OK);
}
