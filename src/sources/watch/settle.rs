//! Settling: a path is examined once it has been quiet for `watch.settle`,
//! so a file is not hashed (and purged) half-written. Event kinds do not
//! matter here, only which paths changed: a dirty path is later compared
//! with the index, whatever happened to it (created, written, renamed away,
//! turned into a directory).
//!
//! A dirty directory stays unsettled while anything below it is still
//! changing, so that `mkdir` + a slow copy into it is walked once, at the
//! end. The whole root ("") is the directory of every path: a rescan waits
//! for the tree to be quiet. A path that never goes quiet (a file rewritten
//! every second) is taken anyway after `cap`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Dirt {
    first: Instant,
    last: Instant,
}

/// What one settled round asks for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    /// Site-relative paths to reconcile, none below another ("" = all).
    pub scopes: Vec<String>,
    /// Every path that had an event of its own: hashed even when its stamp
    /// looks unchanged.
    pub touched: BTreeSet<String>,
    /// Build the watches again from scratch (overflow, root switch).
    pub rebuild: bool,
    /// Check where the root points (an anchor of it changed).
    pub root_check: bool,
    /// When each taken path last changed (for the event-to-enqueue latency).
    pub last: BTreeMap<String, Instant>,
}

#[derive(Debug, Default)]
pub struct Pending {
    paths: BTreeMap<String, Dirt>,
    rebuild: bool,
    root_check: bool,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Marks `rel` changed now and keeps every dirty ancestor unsettled.
    pub fn touch(&mut self, rel: &str, now: Instant) {
        self.paths
            .entry(rel.to_string())
            .and_modify(|d| d.last = now)
            .or_insert(Dirt {
                first: now,
                last: now,
            });
        for a in ancestors(rel) {
            if let Some(d) = self.paths.get_mut(a) {
                d.last = now;
            }
        }
    }

    /// The whole tree is to be reconciled (and maybe re-watched / re-resolved).
    pub fn touch_root(&mut self, now: Instant, rebuild: bool, root_check: bool) {
        self.touch("", now);
        self.rebuild |= rebuild;
        self.root_check |= root_check;
    }

    /// When the next path settles.
    pub fn next_due(&self, settle: Duration, cap: Duration) -> Option<Instant> {
        self.paths
            .values()
            .map(|d| (d.last + settle).min(d.first + cap))
            .min()
    }

    /// Takes every settled path (and what it covers).
    pub fn take_due(&mut self, now: Instant, settle: Duration, cap: Duration) -> Round {
        let due: Vec<String> = self
            .paths
            .iter()
            .filter(|(_, d)| d.last + settle <= now || d.first + cap <= now)
            .map(|(p, _)| p.clone())
            .collect();
        self.take(due)
    }

    /// Takes everything, settled or not (a hold ends: flush what it holds).
    pub fn take_all(&mut self) -> Round {
        let all: Vec<String> = self.paths.keys().cloned().collect();
        self.take(all)
    }

    /// Paths still waiting, for a round running in another thread.
    pub fn snapshot(&self) -> BTreeSet<String> {
        self.paths.keys().cloned().collect()
    }

    /// Puts a round back (its processing failed; it is tried again).
    pub fn restore(&mut self, round: &Round, now: Instant) {
        for p in round.scopes.iter().chain(round.touched.iter()) {
            let first = round.last.get(p).copied().unwrap_or(now);
            self.paths
                .entry(p.clone())
                .or_insert(Dirt { first, last: now });
        }
        self.rebuild |= round.rebuild;
        self.root_check |= round.root_check;
    }

    fn take(&mut self, mut keys: Vec<String>) -> Round {
        keys.sort();
        let mut round = Round::default();
        let mut scopes = BTreeSet::new();
        if keys.iter().any(|k| k.is_empty()) {
            round.rebuild = std::mem::take(&mut self.rebuild);
            round.root_check = std::mem::take(&mut self.root_check);
        }
        for k in keys {
            let Some(d) = self.paths.remove(&k) else {
                continue;
            };
            round.last.insert(k.clone(), d.last);
            let covered = !k.is_empty() && ancestors(&k).any(|a| scopes.contains(a));
            if !covered {
                scopes.insert(k.clone());
            }
            if !k.is_empty() {
                round.touched.insert(k);
            }
        }
        // Sorted, an ancestor (a prefix) comes before what it covers.
        round.scopes = scopes.into_iter().collect();
        round
    }
}

/// Whether `rel` or one of its ancestors is in `snapshot` (still settling):
/// a round skips such files, they come in a later one.
pub fn waiting(snapshot: &BTreeSet<String>, rel: &str) -> bool {
    snapshot.contains(rel) || ancestors(rel).any(|a| snapshot.contains(a))
}

/// "a/b/c" -> "a/b", "a", "" (the root is everyone's ancestor).
pub fn ancestors(rel: &str) -> impl Iterator<Item = &str> {
    let mut cur = Some(rel);
    std::iter::from_fn(move || {
        let r = cur?;
        if r.is_empty() {
            cur = None;
            return None;
        }
        let up = r.rfind('/').map_or("", |i| &r[..i]);
        cur = Some(up);
        Some(up)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_millis(500);
    const CAP: Duration = Duration::from_secs(5);

    fn ms(t: Instant, n: u64) -> Instant {
        t + Duration::from_millis(n)
    }

    #[test]
    fn ancestors_go_up_to_the_root() {
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), vec!["a/b", "a", ""]);
        assert_eq!(ancestors("a").collect::<Vec<_>>(), vec![""]);
        assert!(ancestors("").next().is_none());
    }

    #[test]
    fn a_path_settles_after_quiet_time() {
        let t = Instant::now();
        let mut p = Pending::default();
        p.touch("a.css", t);
        p.touch("a.css", ms(t, 300));
        assert_eq!(p.next_due(S, CAP), Some(ms(t, 800)));
        assert_eq!(p.take_due(ms(t, 799), S, CAP), Round::default());
        let r = p.take_due(ms(t, 800), S, CAP);
        assert_eq!(r.scopes, vec!["a.css"]);
        assert!(r.touched.contains("a.css"));
        assert_eq!(r.last["a.css"], ms(t, 300));
        assert!(p.is_empty());
    }

    #[test]
    fn a_directory_waits_for_its_subtree_and_covers_it() {
        let t = Instant::now();
        let mut p = Pending::default();
        p.touch("new", t);
        p.touch("new/a.html", ms(t, 400));
        p.touch("new/deep/b.html", ms(t, 800));
        assert!(waiting(&p.snapshot(), "new/other.html"));
        assert!(!waiting(&p.snapshot(), "old/x.html"));
        // A quiet file goes on its own; its busy directory waits.
        assert_eq!(p.take_due(ms(t, 1200), S, CAP).scopes, vec!["new/a.html"]);
        let r = p.take_due(ms(t, 1300), S, CAP);
        assert_eq!(r.scopes, vec!["new"]);
        assert_eq!(r.touched.len(), 2);
        assert!(p.is_empty());
    }

    #[test]
    fn busy_paths_are_taken_at_the_cap() {
        let t = Instant::now();
        let mut p = Pending::default();
        for i in 0..60 {
            p.touch("live.json", ms(t, i * 100));
        }
        assert_eq!(p.next_due(S, CAP), Some(ms(t, 5000)));
        assert_eq!(p.take_due(ms(t, 5000), S, CAP).scopes, vec!["live.json"]);
    }

    #[test]
    fn root_rounds_carry_their_flags_and_cover_everything() {
        let t = Instant::now();
        let mut p = Pending::default();
        p.touch("a/b.css", t);
        p.touch_root(t, true, false);
        p.touch("c.css", t);
        let r = p.take_all();
        assert_eq!(r.scopes, vec![""]);
        assert!(r.rebuild && !r.root_check);
        assert!(r.touched.contains("a/b.css") && r.touched.contains("c.css"));
        // Flags are only taken with the root.
        p.touch_root(t, false, true);
        p.touch("x", ms(t, 100));
        assert!(p.take_due(ms(t, 550), S, CAP).scopes.is_empty());
        let r = p.take_due(ms(t, 600), S, CAP);
        assert_eq!(r.scopes, vec![""]);
        assert!(r.root_check);
    }

    #[test]
    fn siblings_with_a_common_prefix_stay_apart() {
        let t = Instant::now();
        let mut p = Pending::default();
        p.touch("a", t);
        p.touch("ab/c", t);
        p.touch("a/c", t);
        p.touch("a-b", t);
        let r = p.take_all();
        assert_eq!(r.scopes, vec!["a", "a-b", "ab/c"]);
    }

    #[test]
    fn restore_puts_a_failed_round_back() {
        let t = Instant::now();
        let mut p = Pending::default();
        p.touch_root(t, true, true);
        p.touch("x", t);
        let r = p.take_all();
        assert!(p.is_empty());
        p.restore(&r, ms(t, 10));
        assert_eq!(p.len(), 2);
        let again = p.take_all();
        assert!(again.rebuild && again.root_check);
        assert_eq!(again.last[""], ms(t, 10));
    }
}
