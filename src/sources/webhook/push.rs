//! One place that turns a provider's push facts into a [`Push`]: the union
//! of changed files and, above all, the judgement "this change set may be
//! partial". Every provider caps or omits something (GitHub's 2048 commits
//! and 3000 files per commit, GitLab's first 20 commits, Bitbucket's missing
//! file lists, tag and force pushes that list nothing useful); purging only
//! the listed files then would leave stale pages, so each case is named here.

use std::collections::{BTreeSet, HashSet};

use serde::Deserialize;

use super::Push;

/// A commit as GitHub, GitLab, Gitea, Forgejo and Gogs list it. The lists are
/// optional: some Gitea/Gogs versions send commits without them.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Commit {
    #[serde(default)]
    pub added: Option<Vec<String>>,
    #[serde(default)]
    pub modified: Option<Vec<String>>,
    #[serde(default)]
    pub removed: Option<Vec<String>>,
}

impl Commit {
    fn file_count(&self) -> usize {
        [&self.added, &self.modified, &self.removed]
            .iter()
            .map(|l| l.as_ref().map_or(0, Vec::len))
            .sum()
    }

    fn has_lists(&self) -> bool {
        self.added.is_some() || self.modified.is_some() || self.removed.is_some()
    }
}

/// What a provider tells us about one ref update, before judgement.
#[derive(Debug, Default)]
pub(crate) struct PushFacts {
    pub repository: String,
    pub git_ref: String,
    pub after: Option<String>,
    pub commits: Vec<Commit>,
    /// The payload's own deletion flag (an all-zero `after` counts too).
    pub deleted: bool,
    pub forced: bool,
    /// How many commits the push had, when the provider says (GitLab
    /// `total_commits_count`, Gitea `total_commits`).
    pub total_commits: Option<u64>,
    /// The provider caps the `commits` array at this many entries.
    pub max_commits: Option<usize>,
    /// The provider caps each commit's file lists at this many entries.
    pub max_files_per_commit: Option<usize>,
    /// The provider never lists files (Bitbucket): the reason to report.
    pub no_file_lists: Option<&'static str>,
}

/// Git's "no object" id, as `after` of a deletion and `before` of a creation.
pub(crate) fn is_zero_sha(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

impl PushFacts {
    pub(crate) fn into_push(mut self) -> Push {
        let after = self.after.take().filter(|a| !a.is_empty());
        let deleted = self.deleted || after.as_deref().is_some_and(is_zero_sha);
        let after = after.filter(|a| !is_zero_sha(a));
        let incomplete = if deleted {
            None
        } else {
            self.incomplete_reason()
        };
        // A capped push lists hundreds of thousands of paths, mostly the
        // same few thousand again: dedupe by hash first, then sort only the
        // distinct ones (collecting builds the set in bulk).
        let distinct: HashSet<String> = self
            .commits
            .into_iter()
            .flat_map(|c| [c.added, c.modified, c.removed])
            .flatten()
            .flatten()
            .filter(|p| !p.is_empty())
            .collect();
        let changed: BTreeSet<String> = distinct.into_iter().collect();
        Push {
            repository: self.repository,
            git_ref: self.git_ref,
            after,
            changed,
            incomplete,
            deleted,
        }
    }

    /// The first reason the listed files may not be every file that changed.
    fn incomplete_reason(&self) -> Option<String> {
        if let Some(reason) = self.no_file_lists {
            return Some(reason.to_string());
        }
        if self.git_ref.starts_with("refs/tags/") {
            return Some("tag push: a tag lists no changed files".into());
        }
        if self.commits.is_empty() {
            return Some("push carries no commits (force push, new branch or new tag)".into());
        }
        if self.forced {
            return Some("force push: files of replaced commits are not listed".into());
        }
        let n = self.commits.len();
        if self.max_commits.is_some_and(|cap| n >= cap) {
            return Some(format!(
                "payload holds {n} commits, the provider's cap; later ones are missing"
            ));
        }
        if let Some(cap) = self.max_files_per_commit {
            if let Some(c) = self.commits.iter().find(|c| c.file_count() >= cap) {
                return Some(format!(
                    "a commit lists {} files, the provider's cap of {cap} per commit",
                    c.file_count()
                ));
            }
        }
        if let Some(total) = self.total_commits.filter(|t| *t > n as u64) {
            return Some(format!("payload holds {n} of the push's {total} commits"));
        }
        if self.commits.iter().any(|c| !c.has_lists()) {
            return Some("commits carry no file lists".into());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(added: &[&str], modified: &[&str], removed: &[&str]) -> Commit {
        let v = |l: &[&str]| Some(l.iter().map(|s| s.to_string()).collect());
        Commit {
            added: v(added),
            modified: v(modified),
            removed: v(removed),
        }
    }

    fn facts(commits: Vec<Commit>) -> PushFacts {
        PushFacts {
            repository: "o/r".into(),
            git_ref: "refs/heads/main".into(),
            after: Some("abc".into()),
            commits,
            ..Default::default()
        }
    }

    #[test]
    fn union_of_all_lists() {
        let p = facts(vec![
            commit(&["a"], &["b"], &[]),
            commit(&[], &["b", "c"], &["d"]),
        ])
        .into_push();
        let want: BTreeSet<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        assert_eq!(p.changed, want);
        assert_eq!(p.incomplete, None);
        assert!(!p.deleted);
        assert_eq!(p.after.as_deref(), Some("abc"));
    }

    #[test]
    fn zero_after_is_a_deletion() {
        let mut f = facts(vec![]);
        f.after = Some("0".repeat(40));
        let p = f.into_push();
        assert!(p.deleted);
        assert_eq!(p.after, None);
        assert_eq!(p.incomplete, None);
    }

    #[test]
    fn each_incomplete_case() {
        let reason = |f: PushFacts| f.into_push().incomplete.unwrap_or_default();
        assert!(reason(facts(vec![])).contains("no commits"));
        let mut f = facts(vec![commit(&["a"], &[], &[])]);
        f.git_ref = "refs/tags/v1".into();
        assert!(reason(f).contains("tag"));
        let mut f = facts(vec![commit(&["a"], &[], &[])]);
        f.forced = true;
        assert!(reason(f).contains("force"));
        let mut f = facts(vec![commit(&["a"], &[], &[]), commit(&["b"], &[], &[])]);
        f.max_commits = Some(2);
        assert!(reason(f).contains("2 commits"));
        let mut f = facts(vec![commit(&["a", "b"], &["c"], &[])]);
        f.max_files_per_commit = Some(3);
        assert!(reason(f).contains("3 files"));
        let mut f = facts(vec![commit(&["a"], &[], &[])]);
        f.total_commits = Some(4);
        assert!(reason(f).contains("1 of the push's 4"));
        assert!(reason(facts(vec![Commit::default()])).contains("no file lists"));
        let mut f = facts(vec![]);
        f.no_file_lists = Some("bitbucket sends no file lists");
        assert_eq!(reason(f), "bitbucket sends no file lists");
    }
}
