//! The file index: what the watcher last saw of every file under a site's
//! root (size, times, inode, content hash). It lives in the store beside the
//! queue so that it survives restarts: identical rewrites are recognised,
//! changes made while the daemon was down are found at startup, a kernel
//! overflow costs a diff instead of a full purge, and a webhook's
//! `purge_site` can list a site's files without walking the disk.

use super::{Millis, StoreResult};
use async_trait::async_trait;
use std::sync::Arc;

/// What `stat` says about a file. Any write changes `ctime`, and a replaced
/// file has another inode, so equal stamps mean equal content without
/// reading the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileStamp {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub inode: u64,
}

/// SHA-256 of a file's bytes.
pub type ContentHash = [u8; 32];

/// One indexed file, by its site-relative path (`blog/a.css`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedFile {
    pub path: String,
    pub stamp: FileStamp,
    pub hash: ContentHash,
}

/// One change to a site's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexUpdate {
    Put(IndexedFile),
    Remove(String),
}

/// The index as the watcher needs it. Writes are durable on return, like
/// every store write; callers enqueue a file's purge before they record its
/// new state here, so a crash in between re-purges rather than forgets.
#[async_trait]
pub trait IndexStore: Send + Sync + 'static {
    /// When the site was first indexed; None before its first full scan.
    async fn index_created(&self, site: &str) -> StoreResult<Option<Millis>>;

    /// Every indexed file of the site, in path order.
    async fn load_index(&self, site: &str) -> StoreResult<Vec<IndexedFile>>;

    /// Applies `updates` in one transaction and marks the site as indexed
    /// (even when `updates` is empty: an empty root is indexed too).
    async fn update_index(&self, site: &str, updates: Vec<IndexUpdate>) -> StoreResult<()>;

    /// The site-relative paths of the site's indexed files, in order.
    async fn site_files(&self, site: &str) -> StoreResult<Vec<String>>;
}

pub type DynIndexStore = Arc<dyn IndexStore>;
