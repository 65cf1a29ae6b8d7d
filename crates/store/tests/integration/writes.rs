//! Transactions as callers see them, on both engines; on SQLite with the single writer and
//! group commit underneath.

use std::time::Duration;

use store::{Db, StoreError, params};

async fn names(db: &Db) -> Vec<String> {
    let rows: Vec<(String,)> = db.fetch_all("SELECT name FROM tally ORDER BY name", &[]).await.expect("read");
    rows.into_iter().map(|(name,)| name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_writers_all_commit() {
    let (_guard, db) = crate::database().await;
    let tasks: Vec<_> = (0..64)
        .map(|n| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin().await?;
                tx.execute("INSERT INTO tally (name, n) VALUES ($1, $2)", &params![format!("w{n:02}"), n]).await?;
                tx.commit().await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("commit");
    }
    assert_eq!(names(&db).await.len(), 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_queued_behind_one_share_its_commit_and_a_rollback_undoes_only_its_own_work() {
    let (_guard, db) = crate::database().await;
    let mut first = db.begin().await.expect("begin");
    first.execute("INSERT INTO tally (name, n) VALUES ('first', 0)", &[]).await.expect("insert");
    let queued: Vec<_> = (1..=20)
        .map(|n: i64| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin().await?;
                tx.execute("INSERT INTO tally (name, n) VALUES ($1, $2)", &params![format!("q{n:02}"), n]).await?;
                if n % 5 == 0 {
                    // Dropped without commit: rolled back.
                    return Ok::<bool, StoreError>(false);
                }
                tx.commit().await.map(|()| true)
            })
        })
        .collect();
    if let Some(stats) = db.write_stats() {
        // On SQLite, wait until every one of them is queued for the writer.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while db.write_stats().map_or(0, |s| s.waiting) < 20 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(stats.commits, db.write_stats().map_or(0, |s| s.commits), "nothing committed yet");
    }
    let before = db.write_stats();
    first.commit().await.expect("commit");
    let mut committed = 1;
    for task in queued {
        committed += usize::from(task.await.expect("task").expect("transaction"));
    }
    let mut expected: Vec<String> = std::iter::once("first".to_owned())
        .chain((1..=20).filter(|n| n % 5 != 0).map(|n| format!("q{n:02}")))
        .collect();
    expected.sort();
    assert_eq!(names(&db).await, expected);
    if let (Some(before), Some(after)) = (before, db.write_stats()) {
        let transactions = after.transactions - before.transactions;
        let commits = after.commits - before.commits;
        assert_eq!(transactions, committed as u64);
        assert!(commits < transactions, "{commits} commits for {transactions} transactions: none were shared");
    }
}

#[tokio::test]
async fn a_failed_statement_leaves_the_transaction_usable() {
    let (_guard, db) = crate::database().await;
    db.execute("INSERT INTO tally (name, n) VALUES ('taken', 1)", &[]).await.expect("insert");
    let mut tx = db.begin().await.expect("begin");
    tx.execute("INSERT INTO tally (name, n) VALUES ('new', 1)", &[]).await.expect("insert");
    let duplicate = tx.execute("INSERT INTO tally (name, n) VALUES ('taken', 2)", &[]).await;
    assert!(matches!(duplicate, Err(StoreError::Conflict(_))), "{duplicate:?}");
    if db.backend() == store::Backend::Sqlite {
        // SQLite undoes the one statement; PostgreSQL aborts the whole transaction.
        tx.execute("INSERT INTO tally (name, n) VALUES ('after', 1)", &[]).await.expect("insert");
        tx.commit().await.expect("commit");
        assert_eq!(names(&db).await, ["after", "new", "taken"]);
    } else {
        assert!(tx.commit().await.is_err());
        assert_eq!(names(&db).await, ["taken"]);
    }
}

#[tokio::test]
async fn reads_see_only_committed_writes() {
    let (_guard, db) = crate::database().await;
    let mut tx = db.begin().await.expect("begin");
    tx.execute("INSERT INTO tally (name, n) VALUES ('pending', 1)", &[]).await.expect("insert");
    let inside: Option<(i64,)> =
        tx.fetch_optional("SELECT n FROM tally WHERE name = 'pending'", &[]).await.expect("read in tx");
    assert_eq!(inside, Some((1,)), "a transaction sees its own writes");
    assert!(names(&db).await.is_empty(), "others do not, before it commits");
    tx.commit().await.expect("commit");
    assert_eq!(names(&db).await, ["pending"]);
}
