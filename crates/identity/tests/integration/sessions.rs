//! Sessions: only the hash of the cookie is stored; a login makes a new id and ends the old
//! one; idle and absolute timeouts end a session (and remove it); "log out everywhere" ends all
//! of a person's sessions; timed-out sessions are swept when someone logs in.

use std::time::Duration;

use identity::sessions::{NewSession, SessionSettings, Sessions};
use identity::{ActingAs, Principal};
use kernel::Fnr;
use store::testing::TestDatabase;
use store::{Db, params};

fn ingrid() -> Fnr {
    Fnr::parse("14839221100").expect("fnr")
}

fn new_session(fnr: Fnr) -> NewSession {
    NewSession {
        principal: Principal::Person(fnr),
        display_name: "Ingrid Solberg".to_owned(),
        kommunenummer: None,
        provider: "idporten".to_owned(),
        acr: Some("idporten-loa-substantial".to_owned()),
        idp_sid: Some("sid-1".to_owned()),
        id_token: None,
    }
}

#[derive(serde::Deserialize)]
struct Count {
    n: i64,
}

async fn rows(db: &Db) -> i64 {
    db.fetch_optional::<Count>("SELECT COUNT(*) AS n FROM sessions", &[]).await.expect("count").map_or(0, |c| c.n)
}

async fn backdate(db: &Db, column: &str, seconds: i64) {
    let column = if column == "created_at" { "created_at" } else { "last_seen_at" };
    db.execute(&format!("UPDATE sessions SET {column} = {column} - $1"), &params![seconds]).await.expect("backdate");
}

fn settings() -> SessionSettings {
    SessionSettings { idle: Duration::from_secs(30 * 60), absolute: Duration::from_secs(2 * 60 * 60) }
}

#[tokio::test]
async fn the_cookie_is_never_stored_and_a_login_replaces_the_old_session() {
    let (_database, db) = TestDatabase::migrated(crate::schema()).await.expect("database");
    let sessions = Sessions::new(db.clone(), settings());
    let (cookie, started) = sessions.start(new_session(ingrid()), None).await.expect("start");
    assert!(cookie.len() >= 40, "32 random bytes, base64url");
    assert_ne!(started.id_hash, cookie);
    #[derive(serde::Deserialize)]
    struct Stored {
        id_hash: String,
    }
    let stored: Vec<Stored> = db.fetch_all("SELECT id_hash FROM sessions", &[]).await.expect("read");
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].id_hash, cookie, "only the hash is stored");

    let found = sessions.find(&cookie).await.expect("find").expect("live");
    assert_eq!(found.principal, Principal::Person(ingrid()));
    assert_eq!(found.acting_as, ActingAs::Myself);
    assert_eq!(found.csrf_token, started.csrf_token);

    // A new login in the same browser gets a new id; the old one stops working.
    let (second, _) = sessions.start(new_session(ingrid()), Some(&cookie)).await.expect("start");
    assert_ne!(second, cookie);
    assert!(sessions.find(&cookie).await.expect("find").is_none());
    assert!(sessions.find(&second).await.expect("find").is_some());
    assert_eq!(rows(&db).await, 1);

    for garbage in ["", "x", &"a".repeat(500), "'; DROP TABLE sessions; --"] {
        assert!(sessions.find(garbage).await.expect("find").is_none());
    }

    // Whom the session acts as is stored, with the name to show.
    let child = Fnr::parse("11902673778").expect("fnr");
    let session = sessions.find(&second).await.expect("find").expect("live");
    sessions.set_acting_as(&session, &ActingAs::Child(child), Some("Emma Solberg")).await.expect("set");
    let session = sessions.find(&second).await.expect("find").expect("live");
    assert_eq!(session.acting_as, ActingAs::Child(child));
    assert_eq!(session.acting_name.as_deref(), Some("Emma Solberg"));
}

#[tokio::test]
async fn idle_and_absolute_timeouts_end_sessions() {
    let (_database, db) = TestDatabase::migrated(crate::schema()).await.expect("database");
    let sessions = Sessions::new(db.clone(), settings());

    let (idle, _) = sessions.start(new_session(ingrid()), None).await.expect("start");
    backdate(&db, "last_seen_at", 29 * 60).await;
    assert!(sessions.find(&idle).await.expect("find").is_some(), "29 idle minutes are fine");
    // Finding it touched it (it was more than a minute old): another 29 minutes are fine too.
    backdate(&db, "last_seen_at", 29 * 60).await;
    assert!(sessions.find(&idle).await.expect("find").is_some(), "each request starts the idle time again");
    backdate(&db, "last_seen_at", 31 * 60).await;
    assert!(sessions.find(&idle).await.expect("find").is_none(), "31 idle minutes end it");
    assert_eq!(rows(&db).await, 0, "and it is removed");

    let (busy, _) = sessions.start(new_session(ingrid()), None).await.expect("start");
    backdate(&db, "created_at", 2 * 60 * 60 + 1).await;
    assert!(sessions.find(&busy).await.expect("find").is_none(), "two hours after login it ends, however busy");
    assert_eq!(rows(&db).await, 0);
}

#[tokio::test]
async fn log_out_everywhere_and_front_channel_logout() {
    let (_database, db) = TestDatabase::migrated(crate::schema()).await.expect("database");
    let sessions = Sessions::new(db.clone(), settings());
    let per = Fnr::parse("17825133097").expect("fnr");
    let (phone, _) = sessions.start(new_session(ingrid()), None).await.expect("start");
    let (laptop, _) = sessions.start(new_session(ingrid()), None).await.expect("start");
    let (other, _) = sessions
        .start(NewSession { idp_sid: Some("sid-2".to_owned()), ..new_session(per) }, None)
        .await
        .expect("start");
    assert_eq!(sessions.count_for(&Principal::Person(ingrid())).await.expect("count"), 2);
    assert_eq!(sessions.end_all(&Principal::Person(ingrid())).await.expect("end"), 2);
    assert!(sessions.find(&phone).await.expect("find").is_none());
    assert!(sessions.find(&laptop).await.expect("find").is_none());
    assert!(sessions.find(&other).await.expect("find").is_some(), "someone else's session is untouched");

    assert_eq!(
        sessions.end_for_provider_session("employees", "sid-2").await.expect("end"),
        0,
        "another provider's sid"
    );
    assert_eq!(sessions.end_for_provider_session("idporten", "sid-2").await.expect("end"), 1);
    assert!(sessions.find(&other).await.expect("find").is_none());
}

#[tokio::test]
async fn timed_out_sessions_are_swept_at_the_next_login() {
    let (_database, db) = TestDatabase::migrated(crate::schema()).await.expect("database");
    let sessions = Sessions::new(db.clone(), settings());
    for _ in 0..3 {
        sessions.start(new_session(ingrid()), None).await.expect("start");
    }
    backdate(&db, "last_seen_at", 3 * 60 * 60).await;
    // A fresh store has never swept, so the first login sweeps.
    let fresh = Sessions::new(db.clone(), settings());
    fresh.start(new_session(ingrid()), None).await.expect("start");
    assert_eq!(rows(&db).await, 1, "the three abandoned sessions are gone");
}
