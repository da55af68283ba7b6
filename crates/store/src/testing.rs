//! Test support shared by the store's and the binary's tests: a fresh PostgreSQL database (the
//! `testkit` feature; not in the release binary).
//!
//! A crate's integration tests are one binary whose tests run side by side, and some of them
//! restart the PostgreSQL server they all share. [`fresh_postgres`] therefore hands out a database
//! that holds a share of the server, and [`restart_postgres_alone`] waits until no test holds one
//! (and holds off new ones) before a test may restart it: a restart never lands in another test.

use std::sync::Mutex;

use tokio::sync::Notify;

use crate::postgres::scratch::ScratchDatabase;
pub use crate::postgres::scratch::create_database;

/// Who uses the shared server: how many tests hold a database, whether a test waits to restart it,
/// and whether one does. A test waiting to restart does not hold off new users (a test may take a
/// second database while it holds a first), only a restart under way does.
struct Server {
    users: usize,
    restart_claimed: bool,
    restarting: bool,
}

static SERVER: Mutex<Server> = Mutex::new(Server { users: 0, restart_claimed: false, restarting: false });
static CHANGED: Notify = Notify::const_new();

/// Waits until `take` succeeds on the shared server's state (it is retried on every change).
async fn wait_for(mut take: impl FnMut(&mut Server) -> bool) {
    loop {
        let changed = CHANGED.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if take(&mut SERVER.lock().unwrap_or_else(|e| e.into_inner())) {
            return;
        }
        changed.await;
    }
}

fn release(update: impl FnOnce(&mut Server)) {
    update(&mut SERVER.lock().unwrap_or_else(|e| e.into_inner()));
    CHANGED.notify_waiters();
}

/// A test's database on the shared server; the share is let go when it is dropped.
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    database: Option<ScratchDatabase>,
    share: Option<Share>,
}

struct Share;

impl Drop for Share {
    fn drop(&mut self) {
        release(|s| s.users -= 1);
    }
}

impl TestDatabase {
    /// Drops the database (closing whatever still uses it) and lets go of the server.
    pub async fn drop_now(mut self) {
        if let Some(db) = self.database.take() {
            db.drop_now().await;
        }
        self.share.take();
    }
}

/// A test's right to restart the shared server: no other test holds a database while it lives.
pub struct ServerRestart(());

impl Drop for ServerRestart {
    fn drop(&mut self) {
        release(|s| {
            s.restart_claimed = false;
            s.restarting = false;
        });
    }
}

impl ServerRestart {
    /// A database for the test that restarts the server (it needs no share of its own).
    pub async fn fresh_postgres(&self, prefix: &str) -> Option<TestDatabase> {
        let database = create(prefix).await?;
        Some(TestDatabase { url: database.url.clone(), database: Some(database), share: None })
    }
}

/// Waits until no other test uses the shared server, then keeps the others off it until the
/// returned value is dropped: for tests that restart PostgreSQL.
pub async fn restart_postgres_alone() -> ServerRestart {
    // First claim the restart, so that no second restarter gets in; then wait for the users to go.
    wait_for(|s| !std::mem::replace(&mut s.restart_claimed, true)).await;
    let restart = ServerRestart(());
    wait_for(|s| {
        s.restarting = s.users == 0;
        s.restarting
    })
    .await;
    restart
}

/// Creates an empty database on the server `VIGIL_TEST_POSTGRES` (default
/// `postgres://postgres@127.0.0.1:5432/postgres`), waiting while another test restarts that
/// server. When no server answers the test is skipped with a visible `SKIPPED:` message (`None`),
/// unless `VIGIL_REQUIRE_SERVICES=1`, where that panics.
pub async fn fresh_postgres(prefix: &str) -> Option<TestDatabase> {
    let share = share().await;
    let database = create(prefix).await?;
    Some(TestDatabase { url: database.url.clone(), database: Some(database), share: Some(share) })
}

/// A share of the shared server, once no restart is under way.
async fn share() -> Share {
    wait_for(|s| {
        let free = !s.restarting;
        s.users += usize::from(free);
        free
    })
    .await;
    Share
}

async fn create(prefix: &str) -> Option<ScratchDatabase> {
    let admin_url =
        std::env::var("VIGIL_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    match create_database(&admin_url, prefix).await {
        Ok(db) => Some(db),
        Err(msg) => {
            if std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
                panic!("VIGIL_REQUIRE_SERVICES=1 but {msg}");
            }
            eprintln!("SKIPPED: {msg}; set VIGIL_TEST_POSTGRES or start a server to run this test");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls `task` a few times (yielding between) and says whether it ended.
    async fn ends(task: &tokio::task::JoinHandle<impl Sized>) -> bool {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        task.is_finished()
    }

    #[tokio::test]
    async fn a_restart_waits_for_the_users_and_holds_off_new_ones_but_not_a_users_second_share() {
        let first = share().await;
        let restart = tokio::spawn(restart_postgres_alone());
        assert!(!ends(&restart).await, "the restart waits while a test uses the server");
        // The test holding a share takes a second one (two databases): no deadlock.
        let second = tokio::time::timeout(std::time::Duration::from_secs(30), share()).await.expect("a second share");
        drop((first, second));
        let restart = tokio::time::timeout(std::time::Duration::from_secs(60), restart)
            .await
            .expect("the restart goes ahead once the users are gone")
            .unwrap();
        let newcomer = tokio::spawn(share());
        assert!(!ends(&newcomer).await, "a new user waits while the restart is under way");
        drop(restart);
        tokio::time::timeout(std::time::Duration::from_secs(30), newcomer)
            .await
            .expect("the newcomer's share")
            .unwrap();
    }
}
