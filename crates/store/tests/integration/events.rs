use std::time::Duration;

use kernel::CloudEvent;
use store::testing::TestDatabase;
use store::{Backend, Position};

fn event(n: i64) -> CloudEvent {
    CloudEvent::new("/test", "no.allmenning.test", None, Some(n.to_string()), serde_json::json!({ "n": n }))
}

fn numbers(events: &[store::StoredEvent]) -> Vec<i64> {
    events.iter().map(|e| e.event.data["n"].as_i64().unwrap_or(-1)).collect()
}

#[tokio::test]
async fn events_replay_in_order_from_any_position_and_rollback_leaves_none() {
    let (_guard, db) = crate::database().await;
    let mut positions = Vec::new();
    for n in 0..5 {
        let mut tx = db.begin().await.expect("begin");
        positions.push(tx.publish(&event(n)).await.expect("publish"));
        tx.commit().await.expect("commit");
    }
    let mut rolled_back = db.begin().await.expect("begin");
    rolled_back.publish(&event(99)).await.expect("publish");
    rolled_back.rollback().await.expect("rollback");

    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    let patience = Duration::from_secs(10);
    let all = db.committed_events_after(Position::START, patience).await.expect("all");
    assert_eq!(numbers(&all), [0, 1, 2, 3, 4]);
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), positions);
    let tail = db.committed_events_after(positions[2], patience).await.expect("tail");
    assert_eq!(numbers(&tail), [3, 4]);
    let page = db.events_after(Position::START, 2).await.expect("page");
    assert!(page.len() <= 2);
    assert_eq!(db.last_committed_event().await.expect("last"), positions[4]);
}

/// The case: two transactions publish in one order and commit in the other, with a
/// reader between the commits. Reading by insertion number alone (as the feed did before) the
/// reader sees the second event first, moves past the first, and never sees it.
#[tokio::test]
async fn a_reader_between_two_commits_in_reverse_order_skips_nothing() {
    let (_guard, db) = crate::database().await;
    if TestDatabase::backend() == Backend::Sqlite {
        // One writer at a time: the second transaction cannot even begin until the first ends,
        // so commit order is insertion order.
        let first = db.begin().await.expect("begin");
        let db2 = db.clone();
        let second = tokio::spawn(async move { db2.begin().await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!second.is_finished(), "a second writer began while the first was open");
        first.commit().await.expect("commit");
        second.await.expect("task").expect("begin after the first commit");
        return;
    }
    let mut earlier = db.begin().await.expect("begin");
    let first = earlier.publish(&event(1)).await.expect("publish 1");
    let mut later = db.begin().await.expect("begin");
    let second = later.publish(&event(2)).await.expect("publish 2");
    assert!(first < second);
    later.commit().await.expect("commit 2");

    // Between the commits the reader is handed nothing: event 2 is committed, but event 1
    // may still come before it.
    let between = db.events_after(Position::START, 10).await.expect("read");
    assert!(between.is_empty(), "{:?}", numbers(&between));

    earlier.commit().await.expect("commit 1");
    let after = db.committed_events_after(Position::START, Duration::from_secs(10)).await.expect("read");
    assert_eq!(numbers(&after), [1, 2]);
}

/// The feed's order is (transaction, sequence): a transaction that began writing first comes
/// first, even if it published its event later.
#[tokio::test]
async fn the_feed_orders_by_writing_transaction_on_postgres() {
    if TestDatabase::backend() != Backend::Postgres {
        return;
    }
    let (_guard, db) = crate::database().await;
    let mut a = db.begin().await.expect("begin a");
    a.execute("INSERT INTO tally (name, n) VALUES ('a', 1)", &[]).await.expect("a writes first");
    let mut b = db.begin().await.expect("begin b");
    let b_position = b.publish(&event(2)).await.expect("b publishes first");
    let a_position = a.publish(&event(1)).await.expect("a publishes second");
    assert!(a_position.seq > b_position.seq && a_position < b_position, "{a_position} {b_position}");
    b.commit().await.expect("commit b");
    assert!(db.events_after(Position::START, 10).await.expect("read").is_empty());
    a.commit().await.expect("commit a");
    let all = db.committed_events_after(Position::START, Duration::from_secs(10)).await.expect("read");
    assert_eq!(numbers(&all), [1, 2]);
}
