//! A PostgreSQL schema of its own for one test: created from
//! `EDGEFLUSH_TEST_POSTGRES_URL`, reached through the URL's `search_path`,
//! dropped when the test ends (even when it fails). Shared by the store
//! suite and the fleet test.
#![allow(dead_code)]

use std::time::Duration;

pub const ENV: &str = "EDGEFLUSH_TEST_POSTGRES_URL";

pub struct TestDb {
    base: String,
    pub schema: String,
}

impl TestDb {
    /// `None` (and a printed reason) when the variable is unset.
    pub async fn create() -> Option<TestDb> {
        let Ok(base) = std::env::var(ENV) else {
            println!("skipped: {ENV} not set");
            return None;
        };
        let schema = format!("ef_test_{:016x}", rand::random::<u64>());
        let client = admin(&base).await;
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("create test schema");
        Some(TestDb { base, schema })
    }

    /// The store URL: the server of the variable, this test's schema.
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!(
            "{}{sep}options=-c%20search_path%3D{s}&application_name={s}",
            self.base,
            s = self.schema
        )
    }

    /// A direct connection, for looking at tables and seeding odd states.
    pub async fn client(&self) -> tokio_postgres::Client {
        admin(&self.url()).await
    }
}

pub async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_postgres::connect(url, tokio_postgres::NoTls),
    )
    .await
    .expect("PostgreSQL answers within 10 s")
    .expect("connect to the test PostgreSQL");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

impl Drop for TestDb {
    /// On a thread of its own with its own runtime: works inside or outside
    /// a test's runtime, and after a panic. Sessions still open on the
    /// schema (their runtime may be blocked by this very drop) are ended
    /// first, so that the drop never waits on their locks.
    fn drop(&mut self) {
        let (base, schema) = (self.base.clone(), self.schema.clone());
        let done = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok((c, conn)) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await {
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                    let _ = c
                        .execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                             WHERE application_name = $1 AND pid <> pg_backend_pid()",
                            &[&schema],
                        )
                        .await;
                    let _ = c
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .await;
                }
            });
        });
        let _ = done.join();
    }
}
