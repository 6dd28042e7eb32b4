// SPDX-License-Identifier: GPL-2.0

//! The address handles of an interface's destinations, keyed by GID (C keeps them with its
//! paths and neighbours, `struct ipoib_path` and `struct ipoib_neigh`).
//!
//! At most [`AH_CACHE_MAX`] destinations are kept. A new unicast destination past that evicts
//! the unicast destination used least recently, which is resolved again when it is next sent
//! to (C instead reaps neighbours that were idle for a while, and has no limit). Multicast
//! groups are never evicted: their handles are only made again when the group is joined.
//!
//! Sends hold a reference to the handle they use, so a replaced or evicted handle is destroyed
//! once the last send through it completed, in whatever context that happens
//! ([`Ah`]'s drop does not sleep).

use crate::rust_bindings::delay::jiffies;
use crate::rust_bindings::rdma::{Ah, PathRec};
use kernel::prelude::*;
use kernel::rbtree::{RBTree, RBTreeNode};
use kernel::sync::Arc;

/// Destinations kept per interface.
pub(crate) const AH_CACHE_MAX: usize = 1024;

/// A destination's address handle.
pub(crate) struct AhEntry {
    pub(crate) ah: Arc<Ah>,
    /// The SA's path to a unicast destination (InfiniBand), for connection requests.
    pub(crate) path: Option<PathRec>,
    /// `jiffies` when the destination was first seen.
    pub(crate) created: u64,
    /// `jiffies` when a packet was last sent to it.
    used: u64,
}

/// A cache entry allocated ahead of taking the cache's lock.
pub(crate) type AhNode = RBTreeNode<[u8; 16], AhEntry>;

/// The address handles, keyed by GID.
pub(crate) struct AhCache {
    tree: RBTree<[u8; 16], AhEntry>,
    len: usize,
}

fn is_multicast(gid: &[u8; 16]) -> bool {
    gid[0] == 0xff
}

impl AhCache {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        Self {
            tree: RBTree::new(),
            len: 0,
        }
    }

    /// Allocates the entry for `gid` (process context, before taking the cache's lock).
    pub(crate) fn node(gid: &[u8; 16], ah: Ah, path: Option<PathRec>) -> Result<AhNode> {
        let now = jiffies();
        let entry = AhEntry {
            ah: Arc::new(ah, GFP_KERNEL)?,
            path,
            created: now,
            used: now,
        };
        RBTreeNode::new(*gid, entry, GFP_KERNEL)
    }

    /// Returns the address handle of `gid` for a send, and notes the use.
    pub(crate) fn get_for_send(&mut self, gid: &[u8; 16]) -> Option<Arc<Ah>> {
        let e = self.tree.get_mut(gid)?;
        e.used = jiffies();
        Some(e.ah.clone())
    }

    /// Whether `gid` has an address handle.
    pub(crate) fn contains(&self, gid: &[u8; 16]) -> bool {
        self.tree.get(gid).is_some()
    }

    /// The SA's path to `gid`, if it is cached.
    pub(crate) fn path(&self, gid: &[u8; 16]) -> Option<PathRec> {
        self.tree.get(gid).and_then(|e| e.path)
    }

    /// The destinations, in GID order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8; 16], &AhEntry)> {
        self.tree.iter()
    }

    /// Caches `node`, made for `gid`. A destination already cached keeps its age and takes the
    /// new handle and path; a new one past [`AH_CACHE_MAX`] evicts the unicast destination
    /// used least recently. Returns the handle replaced or evicted, for the caller to drop
    /// after it released the cache's lock.
    ///
    /// # Errors
    ///
    /// `ENOSPC` if the cache is full of multicast groups.
    pub(crate) fn insert(&mut self, gid: &[u8; 16], node: AhNode) -> Result<Option<Arc<Ah>>> {
        if let Some(e) = self.tree.get_mut(gid) {
            let (_, new) = node.to_key_value();
            e.path = new.path;
            return Ok(Some(core::mem::replace(&mut e.ah, new.ah)));
        }
        let mut evicted = None;
        if self.len >= AH_CACHE_MAX {
            let victim = self
                .tree
                .iter()
                .filter(|(g, _)| !is_multicast(g))
                .min_by_key(|(_, e)| e.used)
                .map(|(g, _)| *g)
                .ok_or(ENOSPC)?;
            evicted = self.tree.remove(&victim).map(|e| e.ah);
            self.len -= 1;
        }
        // `gid` is not in the tree, so nothing is replaced.
        self.tree.insert(node);
        self.len += 1;
        Ok(evicted)
    }
}
