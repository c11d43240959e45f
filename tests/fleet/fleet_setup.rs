//! Starting a fleet: a test schema, a simulator, and N daemons whose config
//! differs only in ports and folders, all with `[store] url` on the schema.

use crate::common::daemon::{Daemon, DaemonConfig};
use crate::common::sim;
use crate::pgdb::TestDb;
use edgeflush::simulator::SimHandle;
use std::time::{Duration, Instant};

/// Field order matters for drop: daemons first, then the schema.
pub struct Fleet {
    pub nodes: Vec<Daemon>,
    pub sim: SimHandle,
    /// Dropped last: the schema outlives the daemons using it.
    pub db: TestDb,
}

pub async fn fleet(n: usize, tweak: impl Fn(&mut DaemonConfig)) -> Option<Fleet> {
    let db = TestDb::create().await?;
    let sim = sim().await;
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.store = Some(db.url());
    tweak(&mut cfg);
    // Each daemon is its own node: its own file index in the shared schema.
    let nodes = (0..n)
        .map(|i| {
            let mut c = cfg.clone();
            c.env.push(("EDGEFLUSH_NODE".into(), format!("node{i}")));
            Daemon::start(&c)
        })
        .collect();
    Some(Fleet { nodes, sim, db })
}

/// What `lead.rs` logs when a node takes the roles that spend the API.
pub const TOOK_ROLE: &str = "this node now holds the role for the fleet";

impl Fleet {
    /// The index of the node that holds the API roles, once exactly one
    /// does.
    pub async fn leader(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let holders: Vec<usize> = (0..self.nodes.len())
                .filter(|i| self.nodes[*i].logs().contains(TOOK_ROLE))
                .collect();
            match holders[..] {
                [one] => return one,
                [] => {}
                _ => panic!("several nodes took the roles: {holders:?}"),
            }
            assert!(Instant::now() < deadline, "no node took the roles");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the shared store counts `n` confirmed purges (read on
    /// node `via`, which must be alive).
    pub async fn wait_confirmed(&self, via: usize, n: u64, within: Duration) {
        self.nodes[via]
            .wait_for(&format!("{n} confirmed"), within, |s| {
                s["queue"]["confirmed"].as_u64() == Some(n)
            })
            .await;
    }
}

pub fn paths(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("assets/{prefix}{i}.css")).collect()
}

pub fn url_of(path: &str) -> String {
    format!("https://www.example.com/{path}")
}
