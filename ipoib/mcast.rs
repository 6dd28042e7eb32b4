// SPDX-License-Identifier: GPL-2.0

//! Multicast groups: the groups an interface belongs to follow its multicast list
//! (`set_rx_mode`), the broadcast group first.
//!
//! On RoCE a group is joined by attaching the QP and the underlay's IPv6 layer. On InfiniBand
//! it is joined through the subnet administrator (an SA MCMemberRecord join), which gives the
//! group's LID, and the broadcast group's join gives the interface its Q_Key, MTU and the
//! parameters every other group is joined with (RFC 4391). Sending to a group the interface
//! is not in makes a send-only join. C: ipoib_multicast.c.

use crate::dev::{Priv, MCAST_RETRY_WORK};
use crate::proto::mcast::{backoff_secs, MAX_BACKOFF_SECS, MAX_LOGGED_FAILURES};
use crate::rust_bindings::delay::jiffies;
use crate::rust_bindings::error::code::{ENETRESET, ETIMEDOUT};
use crate::rust_bindings::rdma::{Join, JoinHandler, JoinKind, JoinRequest, McMember};
use crate::rust_bindings::sync::{new_spinlock_bh, SpinLockBh};
use crate::rust_bindings::workqueue::{secs_to_jiffies, DelayedWork};
use crate::SA;
use core::sync::atomic::Ordering;
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::workqueue;

/// A multicast group of the interface.
pub(crate) struct Group {
    pub(crate) mgid: [u8; 16],
    /// `jiffies` when it was added.
    pub(crate) created: u64,
    /// The SA join (InfiniBand only); dropped to leave the group.
    join: Option<Join<GroupJoin>>,
}

impl Group {
    fn state(&self) -> JoinState {
        match &self.join {
            Some(j) => *j.handler().state.lock(),
            // RoCE: attached when listed.
            None => JoinState::Joined {
                attached: true,
                mlid: 0,
            },
        }
    }

    /// Whether the group is joined (its address handle exists).
    pub(crate) fn complete(&self) -> bool {
        matches!(self.state(), JoinState::Joined { .. })
    }

    /// Whether the interface only sends to the group.
    pub(crate) fn send_only(&self) -> bool {
        self.join.as_ref().is_some_and(|j| j.handler().send_only)
    }
}

/// Where an InfiniBand join stands.
#[derive(Clone, Copy)]
enum JoinState {
    /// Waiting for the SA.
    Joining,
    /// Joined; the QP is attached unless the join is send-only.
    Joined { attached: bool, mlid: u16 },
    /// The join failed `failures` times in a row; try again at `retry_at` (jiffies).
    Failed { retry_at: u64, failures: u32 },
}

/// What the SA reports a join's outcome to.
#[pin_data]
pub(crate) struct GroupJoin {
    priv_: Arc<Priv>,
    mgid: [u8; 16],
    send_only: bool,
    /// How many joins of the group failed in a row before this one.
    failures: u32,
    #[pin]
    state: SpinLockBh<JoinState>,
}

impl JoinHandler for GroupJoin {
    fn join_done(&self, result: Result<&McMember>) {
        let p = &self.priv_;
        let result = match result {
            // The group was reset: port events restart the joins ("We trap for port events
            // ourselves", as C).
            Err(e) if e == ENETRESET() => return,
            Ok(rec) => p.mcast_joined(self, rec),
            Err(e) => Err(e),
        };
        let Err(e) = result else {
            return;
        };
        let failures = self.failures.saturating_add(1);
        let delay = secs_to_jiffies(backoff_secs(failures));
        *self.state.lock() = JoinState::Failed {
            retry_at: jiffies().wrapping_add(delay),
            failures,
        };
        // As C: timeouts, and send-only joins the SA refuses, are not worth a warning.
        let quiet = e == ETIMEDOUT() || (self.send_only && e == EINVAL);
        if !quiet && failures <= MAX_LOGGED_FAILURES {
            let name = p.netdev();
            pr_warn!(
                "{}: {}multicast join of {} failed: {:?}\n",
                name.as_ref().map_or(c_str!("ipoib"), |n| n.name()),
                if self.send_only { "send-only " } else { "" },
                crate::proto::addr::GidFmt(&self.mgid),
                e
            );
        }
        if self.send_only {
            // As C: the packets that wait for a send-only group are dropped; the next one
            // tries again.
            if let Some(ud) = p.ud() {
                ud.drop_pending(p, &self.mgid);
            }
        } else {
            DelayedWork::<Priv, MCAST_RETRY_WORK>::queue(&self.priv_, delay);
        }
    }
}

/// Creates the join of `mgid`, whose joins failed `failures` times in a row before.
fn start_join(
    p: &Arc<Priv>,
    mgid: &[u8; 16],
    send_only: bool,
    failures: u32,
    broadcast: Option<&McMember>,
) -> Result<Join<GroupJoin>> {
    let handler = Arc::pin_init(
        pin_init!(GroupJoin {
            priv_: p.clone(),
            mgid: *mgid,
            send_only,
            failures,
            state <- new_spinlock_bh!(JoinState::Joining, "ipoib:join_state"),
        }),
        GFP_KERNEL,
    )?;
    let kind = match broadcast {
        Some(b) => JoinKind::Like {
            broadcast: b,
            send_only,
        },
        None => JoinKind::Broadcast,
    };
    let req = JoinRequest {
        mgid: *mgid,
        port_gid: p.gid(),
        pkey: p.pkey,
        kind,
    };
    Join::new(&SA, &p.device, p.port, &req, handler)
}

impl Priv {
    /// Makes the groups the interface belongs to those of `mcast_wanted`, leaving the others
    /// (process context: the multicast work, and after the data path comes up).
    pub(crate) fn mcast_sync(self: &Arc<Self>) {
        let Some(ud) = self.ud() else {
            return;
        };
        let mut wanted = KVec::new();
        {
            let w = self.mcast_wanted.lock();
            for g in w.iter() {
                if wanted.push(*g, GFP_ATOMIC).is_err() {
                    return;
                }
            }
        }
        let mut groups = self.mcast_groups.lock();
        // A stopped interface joins nothing (a join finishing late may queue this work).
        if !self.oper_up.load(Ordering::Acquire) {
            return;
        }
        // Leave the groups no longer wanted (InfiniBand send-only groups stay: they are not
        // on the list).
        let mut keep = KVec::new();
        for g in core::mem::replace(&mut *groups, KVec::new()) {
            let promote = g.send_only() && wanted.contains(&g.mgid);
            if (wanted.contains(&g.mgid) || g.send_only()) && !promote {
                if keep.push(g, GFP_KERNEL).is_err() {
                    pr_warn!("multicast: out of memory\n");
                }
            } else {
                self.leave(&ud, g);
            }
        }
        *groups = keep;
        if !self.ib {
            for g in wanted.iter() {
                if groups.iter().any(|k| &k.mgid == g) || ud.attach_mcast(self, g, 0).is_err() {
                    continue;
                }
                let group = Group {
                    mgid: *g,
                    created: jiffies(),
                    join: None,
                };
                if groups.push(group, GFP_KERNEL).is_err() {
                    // Not recorded, so detach it again rather than leak the attachment.
                    ud.detach_mcast(self, g, 0);
                }
            }
            return;
        }
        // InfiniBand: the broadcast group first; the others are joined with its parameters
        // once it is joined.
        let bcast = self.broadcast.gid();
        let broadcast_rec = *self.bcast_rec.lock();
        let now = jiffies();
        let mut next_retry: Option<u64> = None;
        for mgid in wanted.iter() {
            let is_bcast = *mgid == bcast;
            if !is_bcast && broadcast_rec.is_none() {
                continue;
            }
            let rec = if is_bcast {
                None
            } else {
                broadcast_rec.as_ref()
            };
            match groups.iter_mut().find(|g| &g.mgid == mgid) {
                Some(g) => {
                    let JoinState::Failed { retry_at, failures } = g.state() else {
                        continue;
                    };
                    if (now.wrapping_sub(retry_at) as i64) < 0 {
                        let wait = retry_at.wrapping_sub(now);
                        next_retry = Some(next_retry.map_or(wait, |n| n.min(wait)));
                        continue;
                    }
                    // The failed join is freed once the new one exists.
                    match start_join(self, mgid, false, failures, rec) {
                        Ok(j) => g.join = Some(j),
                        Err(e) => {
                            pr_warn!("multicast: cannot join again: {:?}\n", e);
                            next_retry = Some(secs_to_jiffies(MAX_BACKOFF_SECS));
                        }
                    }
                }
                None => match start_join(self, mgid, false, 0, rec) {
                    Ok(j) => {
                        let group = Group {
                            mgid: *mgid,
                            created: jiffies(),
                            join: Some(j),
                        };
                        if groups.push(group, GFP_KERNEL).is_err() {
                            pr_warn!("multicast: out of memory\n");
                        }
                    }
                    Err(e) => pr_warn!("multicast: cannot join: {:?}\n", e),
                },
            }
        }
        if let Some(wait) = next_retry {
            DelayedWork::<Priv, MCAST_RETRY_WORK>::queue(self, wait.max(1));
        }
    }

    /// Leaves `g`: frees the join (waiting for its callback), then detaches the QP if the
    /// join attached it.
    fn leave(&self, ud: &crate::ud::Ud, g: Group) {
        let handler = g.join.as_ref().map(|j| j.handler().clone());
        drop(g.join);
        // Read once the callback cannot run any more: it may have attached the QP meanwhile.
        let state = match handler {
            Some(h) => *h.state.lock(),
            None => JoinState::Joined {
                attached: true,
                mlid: 0,
            },
        };
        if let JoinState::Joined {
            attached: true,
            mlid,
        } = state
        {
            ud.detach_mcast(self, &g.mgid, mlid);
        }
    }

    /// Leaves every group (the data path goes down or restarts).
    pub(crate) fn mcast_flush(&self) {
        let groups = core::mem::replace(&mut *self.mcast_groups.lock(), KVec::new());
        match self.ud() {
            Some(ud) => {
                for g in groups {
                    self.leave(&ud, g);
                }
            }
            // Without the QP there is nothing to detach; the joins are freed all the same.
            None => drop(groups),
        }
        // Only now: a join callback that was running may have set it.
        *self.bcast_rec.lock() = None;
    }

    /// Whether the broadcast group is joined and attached (carrier needs it).
    pub(crate) fn broadcast_attached(&self) -> bool {
        let bcast = self.broadcast.gid();
        self.mcast_groups.lock().iter().any(|g| {
            g.mgid == bcast && matches!(g.state(), JoinState::Joined { attached: true, .. })
        })
    }

    /// Starts a send-only join of `mgid` for packets waiting to be sent to it (InfiniBand);
    /// returns whether the packets must keep waiting (a join is under way).
    pub(crate) fn mcast_send_only(self: &Arc<Self>, mgid: &[u8; 16]) -> bool {
        let mut groups = self.mcast_groups.lock();
        if !self.oper_up.load(Ordering::Acquire) {
            return false;
        }
        if let Some(g) = groups.iter_mut().find(|g| &g.mgid == mgid) {
            match g.state() {
                JoinState::Joining | JoinState::Joined { .. } => return true,
                JoinState::Failed { retry_at, failures } if g.send_only() => {
                    // Not before the backoff is over: until then what is sent to the group
                    // is dropped.
                    if (jiffies().wrapping_sub(retry_at) as i64) < 0 {
                        return false;
                    }
                    let rec = *self.bcast_rec.lock();
                    let Some(j) =
                        rec.and_then(|r| start_join(self, mgid, true, failures, Some(&r)).ok())
                    else {
                        return false;
                    };
                    g.join = Some(j);
                    return true;
                }
                // A full join that failed is retried by `mcast_sync`.
                JoinState::Failed { .. } => return true,
            }
        }
        let Some(rec) = *self.bcast_rec.lock() else {
            // Not before the broadcast group: its join sends what waits for it.
            return *mgid == self.broadcast.gid();
        };
        match start_join(self, mgid, true, 0, Some(&rec)) {
            Ok(j) => {
                let group = Group {
                    mgid: *mgid,
                    created: jiffies(),
                    join: Some(j),
                };
                groups.push(group, GFP_KERNEL).is_ok()
            }
            Err(e) => {
                pr_debug!("send-only join failed to start: {:?}\n", e);
                false
            }
        }
    }

    /// Finishes a join the SA accepted (`ipoib_mcast_join_finish`; in the SA's callback,
    /// process context): the broadcast group sets the Q_Key and the MTU; the QP is attached
    /// unless the join is send-only; the address handle is made and the packets waiting for
    /// the group are sent.
    fn mcast_joined(&self, join: &GroupJoin, rec: &McMember) -> Result {
        let ud = self.ud().ok_or(ENODEV)?;
        let is_bcast = join.mgid == self.broadcast.gid();
        if is_bcast {
            let qkey = rec.qkey();
            ud.set_qkey(qkey)?;
            self.qkey.store(qkey, Ordering::Relaxed);
            *self.bcast_rec.lock() = Some(*rec);
            if let Some(mtu) = rec.mtu() {
                self.active_ib_mtu.store(mtu.bytes(), Ordering::Relaxed);
            }
        }
        let attached = !join.send_only;
        if attached {
            ud.attach_mcast(self, &join.mgid, rec.mlid())?;
        }
        if let Err(e) = ud.add_group_ah(self, &join.mgid, rec) {
            if attached {
                ud.detach_mcast(self, &join.mgid, rec.mlid());
            }
            return Err(e);
        }
        *join.state.lock() = JoinState::Joined {
            attached,
            mlid: rec.mlid(),
        };
        pr_debug!(
            "joined {} (MLID 0x{:04x}, Q_Key 0x{:x})\n",
            crate::proto::addr::GidFmt(&join.mgid),
            rec.mlid(),
            rec.qkey()
        );
        ud.flush_pending(&join.mgid);
        if is_bcast {
            // The other groups can be joined now; carrier and MTU follow in process context
            // without RTNL held here (leaving a group under RTNL waits for this callback).
            let this = join.priv_.clone();
            let _ =
                workqueue::system().enqueue::<Arc<Priv>, { crate::dev::MCAST_WORK }>(this.clone());
            Priv::schedule_port_check_one(&this);
        }
        Ok(())
    }
}
