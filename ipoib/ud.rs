// SPDX-License-Identifier: GPL-2.0

//! The datagram-mode data path: a UD QP with its CQs, receive and send rings, the NAPI poll,
//! and the address handles of peers and groups.
//!
//! C: ipoib_ib.c (`ipoib_ib_handle_rx_wc`, `ipoib_send`, `ipoib_poll`), ipoib_verbs.c.

use crate::ah_cache::AhCache;
use crate::dev::{inc, Priv};
use crate::proto::addr::{HwAddr, MULTICAST_QPN};
use crate::proto::header::{self, GrhLayout, TxClass};
use crate::proto::{mtu, params, roce};
use crate::rust_bindings::delay::jiffies;
use crate::rust_bindings::net::{
    self, MappedSkBuff, Napi, NapiPoll, NetDevice, PacketType, SkBuff, TxBuf, TX_SGE,
};
use crate::rust_bindings::rcu::ReadGuard;
use crate::rust_bindings::rdma::{
    query_path, Ah, Cq, CqHandler, Gid, McMember, NetworkHdr, PathHandler, PathRec, PathRequest,
    Pd, RecvChain, Sge, UdOffload, UdQp, UdQpCaps, Wc, WcBatch, MAX_SGE,
};
use crate::rust_bindings::sync::{new_spinlock_bh, SpinLockBh};
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// Completions polled per call (`IPOIB_NUM_WC` is 4; larger batches cost nothing here).
const WC_BATCH: usize = 16;
// A batch of receive completions is refilled with one chained post.
const _: () = assert!(WC_BATCH <= crate::rust_bindings::rdma::RECV_BATCH);
/// The longest LSO header (IPoIB, IP and TCP headers with options: 4 + 60 + 60 bytes).
const LSO_HEADER_MAX: usize = 128;
/// NAPI weight (the C driver's RX weight is 4, its TX weight 64).
const NAPI_WEIGHT: i32 = 64;
/// Scatter entries of a send on `p`'s device: the linear part and every fragment of an skb,
/// if the device takes that many (`NETIF_F_SG` is set when it takes more than one).
pub(crate) fn tx_sge(p: &Priv) -> usize {
    (p.device.max_send_sge() as usize).clamp(1, TX_SGE.min(MAX_SGE))
}

/// Detaches `skb` from its socket and route and maps it into send ring slot `slot` for `p`'s
/// device to send in at most `sge` pieces under `lkey`; returns the scatter entries, or
/// counts the drop if that fails (`tx_errors` for a mapping error, as C).
pub(crate) fn map_for_send<'a>(
    p: &Priv,
    slot: &'a mut TxBuf,
    mut skb: SkBuff,
    (sge, lkey): (usize, u32),
) -> Option<&'a [Sge]> {
    skb.orphan();
    match slot.map(skb, &p.device, lkey, sge) {
        Ok(sges) => Some(sges),
        Err(e) => {
            let s = &p.stats;
            inc(if e == EIO {
                &s.tx_errors
            } else {
                &s.tx_dropped
            });
            None
        }
    }
}

/// Packets queued per unresolved unicast destination (`IPOIB_MAX_PATH_REC_QUEUE`).
const MAX_PATH_QUEUE: usize = 3;
/// Packets queued per unresolved multicast group (`IPOIB_MAX_MCAST_QUEUE`).
const MAX_MCAST_QUEUE: usize = 64;
/// How long the SA has to answer a path query (`path_rec_start`).
const PATH_QUERY_TIMEOUT_MS: u32 = 1000;

/// A send ring slot: the packet, mapped in place, and its destination.
struct TxSlot {
    buf: TxBuf,
    /// The destination's handle, alive until the send completes.
    ah: Option<Arc<Ah>>,
}

/// The send ring and the address handles it sends through: one lock for both, taken once
/// per send.
struct TxRing {
    slots: KVec<TxSlot>,
    /// The destinations' address handles.
    ahs: AhCache,
    /// Sends posted (wr_id of the next one).
    head: u64,
    /// Sends completed.
    tail: u64,
}

/// Packets waiting for the address handle of their destination.
struct Pending {
    gid: [u8; 16],
    multicast: bool,
    skbs: KVec<SkBuff>,
    created: u64,
    /// Resolution started (InfiniBand: a path query or a join is under way).
    started: bool,
}

/// A destination as the debugfs tables show it.
#[derive(Clone, Copy)]
pub(crate) struct Dest {
    pub(crate) gid: [u8; 16],
    /// Whether its address handle exists.
    pub(crate) complete: bool,
    /// Packets waiting for the address handle.
    pub(crate) queued: usize,
    /// `jiffies` when it was first seen.
    pub(crate) created: u64,
    /// The path's LID and service level (InfiniBand; 0 on RoCE).
    pub(crate) dlid: u16,
    pub(crate) sl: u8,
}

/// The verbs resources of one interface. Fields drop in declaration order: buffers and
/// address handles, then the QP, then the CQs, then the PD.
#[pin_data]
pub(crate) struct Ud {
    #[pin]
    rx: SpinLockBh<KVec<Option<MappedSkBuff>>>,
    #[pin]
    tx: SpinLockBh<TxRing>,
    #[pin]
    pending: SpinLockBh<KVec<Pending>>,
    qp: UdQp,
    send_cq: Cq<Priv>,
    recv_cq: Cq<Priv>,
    pd: Pd,
    lkey: u32,
    rx_size: usize,
    tx_size: usize,
    /// Scatter entries of a send.
    tx_sge: usize,
    buf_size: u32,
}

impl CqHandler for Priv {
    fn completion(&self) {
        self.napi.schedule();
    }
}

impl Ud {
    /// Creates the PD, CQs and UD QP of an interface, sized by its ring sizes (`ethtool -g`).
    pub(crate) fn new(p: &Arc<Priv>) -> Result<Arc<Self>> {
        let rx_size = p.rx_ring.load(Ordering::Relaxed) as usize;
        let tx_size = p.tx_ring.load(Ordering::Relaxed) as usize;
        // Slots are found by masking (`ring_slot`); the sizes are rounded so.
        if !tx_size.is_power_of_two() {
            return Err(EINVAL);
        }
        let tx_sge = tx_sge(p);
        let pd = Pd::alloc(&p.device)?;
        let recv_cq = Cq::new(&p.device, rx_size as u32 + 1, 0, p.clone())?;
        let send_cq = Cq::new(&p.device, tx_size as u32, 0, p.clone())?;
        let qp = UdQp::new(
            &pd,
            &send_cq,
            &recv_cq,
            &UdQpCaps {
                send_wr: tx_size as u32,
                recv_wr: rx_size as u32,
                send_sge: tx_sge as u32,
                recv_sge: 1,
                lso: p.device.ud_tso(),
            },
        )?;
        let mut rx = KVec::with_capacity(rx_size, GFP_KERNEL)?;
        for _ in 0..rx_size {
            rx.push(None, GFP_KERNEL)?;
        }
        let mut slots = KVec::with_capacity(tx_size, GFP_KERNEL)?;
        for _ in 0..tx_size {
            slots.push(
                TxSlot {
                    buf: TxBuf::new(),
                    ah: None,
                },
                GFP_KERNEL,
            )?;
        }
        let lkey = pd.local_dma_lkey();
        Arc::pin_init(
            pin_init!(Self {
                rx <- new_spinlock_bh!(rx, "ipoib:rx_ring"),
                tx <- new_spinlock_bh!(
                    TxRing {
                        slots,
                        ahs: AhCache::new(),
                        head: 0,
                        tail: 0
                    },
                    "ipoib:tx_ring"
                ),
                pending <- new_spinlock_bh!(KVec::new(), "ipoib:pending"),
                qp,
                send_cq,
                recv_cq,
                pd,
                lkey,
                rx_size,
                tx_size,
                tx_sge,
                buf_size: mtu::ud_buf_size(p.max_ib_mtu),
            }),
            GFP_KERNEL,
        )
    }

    /// Returns whether the QP can send and receive.
    pub(crate) fn qp_ok(&self) -> bool {
        self.qp.is_rts()
    }

    /// Sets the receive CQ's interrupt moderation (`ethtool -C rx-frames/rx-usecs`).
    pub(crate) fn set_rx_moderation(&self, frames: u16, usecs: u16) -> Result {
        self.recv_cq.set_moderation(frames, usecs)
    }

    /// Returns the QP number (bytes 1-3 of the hardware address).
    pub(crate) fn qpn(&self) -> u32 {
        self.qp.qpn()
    }

    fn sge(&self, buf: &MappedSkBuff) -> Sge {
        Sge::new(buf.addr(), buf.len(), self.lkey)
    }

    fn alloc_rx(&self, dev: &NetDevice, p: &Priv) -> Result<MappedSkBuff> {
        let mut skb = SkBuff::alloc_rx(dev, self.buf_size + header::HARD_LEN as u32)?;
        // Room for the pseudo header pushed on receive, as C reserves.
        skb.reserve(header::PSEUDO_LEN as u32)?;
        skb.dma_map_rx(&p.device, self.buf_size)
    }

    fn post_rx(&self, idx: usize, buf: MappedSkBuff) -> Result {
        let r = self.qp.post_recv(idx as u64, &[self.sge(&buf)]);
        let mut ring = self.rx.lock();
        if let Some(slot) = ring.get_mut(idx) {
            *slot = Some(buf);
        }
        r
    }

    /// Brings the QP up, fills the receive ring and starts polling (`ndo_open`).
    pub(crate) fn open(&self, p: &Priv, dev: &NetDevice) -> Result {
        self.qp.reset()?;
        let pkey_index = u16::try_from(p.pkey_index.load(Ordering::Relaxed)).map_err(|_| EINVAL)?;
        self.qp
            .bring_up(p.port, pkey_index, p.qkey.load(Ordering::Relaxed))?;
        for idx in 0..self.rx_size {
            let buf = self.alloc_rx(dev, p)?;
            if let Err(e) = self.post_rx(idx, buf) {
                pr_warn!("{}: posting receive {} failed: {:?}\n", dev.name(), idx, e);
                self.stop(p);
                return Err(e);
            }
        }
        p.napi.add(dev, NAPI_WEIGHT)?;
        p.napi.enable();
        self.recv_cq.arm();
        self.send_cq.arm();
        p.napi.schedule();
        Ok(())
    }

    /// Stops the data path and frees every buffer (`ndo_stop`, and on a failed open).
    pub(crate) fn stop(&self, p: &Priv) {
        let _ = self.qp.to_error();
        p.napi.disable();
        // The QP in the error state flushes every posted WR; collect those completions so the
        // buffers come back, for up to 5 s like C, then free what is left.
        let mut batch = WcBatch::<WC_BATCH>::new();
        for _ in 0..500 {
            loop {
                let wcs = self.recv_cq.poll_batch(&mut batch, WC_BATCH);
                if wcs.is_empty() {
                    break;
                }
                for wc in wcs {
                    self.take_rx(wc.wr_id());
                }
            }
            loop {
                let wcs = self.send_cq.poll_batch(&mut batch, WC_BATCH);
                if wcs.is_empty() {
                    break;
                }
                self.complete_tx(p, wcs);
            }
            if self.rx_empty() && self.tx_empty() {
                break;
            }
            crate::rust_bindings::delay::msleep(10);
        }
        for slot in self.rx.lock().iter_mut() {
            *slot = None;
        }
        {
            let mut tx = self.tx.lock();
            for slot in tx.slots.iter_mut() {
                slot.buf.release();
                slot.ah = None;
            }
            tx.tail = tx.head;
        }
        let pending = core::mem::replace(&mut *self.pending.lock(), KVec::new());
        drop(pending);
        let ahs = core::mem::replace(&mut self.tx.lock().ahs, AhCache::new());
        drop(ahs);
        p.napi.del();
        let _ = self.qp.reset();
    }

    fn rx_empty(&self) -> bool {
        self.rx.lock().iter().all(|s| s.is_none())
    }

    fn tx_empty(&self) -> bool {
        let tx = self.tx.lock();
        tx.head == tx.tail
    }

    fn take_rx(&self, wr_id: u64) -> Option<MappedSkBuff> {
        let idx = usize::try_from(wr_id).ok()?;
        self.rx.lock().get_mut(idx)?.take()
    }

    /// Attaches the QP to group `mgid` of LID `mlid` (0 on RoCE). On RoCE the group is also
    /// joined on the underlay's IPv6 layer, without which the peer's IPv6 stack drops the
    /// datagrams before soft-RoCE sees them.
    pub(crate) fn attach_mcast(&self, p: &Priv, mgid: &[u8; 16], mlid: u16) -> Result {
        self.qp.attach_mcast(&Gid(*mgid), mlid)?;
        if let Some(underlay) = &p.underlay {
            if let Err(e) = underlay.ipv6_mc_inc(mgid) {
                let _ = self.qp.detach_mcast(&Gid(*mgid), mlid);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Undoes [`Ud::attach_mcast`].
    pub(crate) fn detach_mcast(&self, p: &Priv, mgid: &[u8; 16], mlid: u16) {
        if let Some(underlay) = &p.underlay {
            let _ = underlay.ipv6_mc_dec(mgid);
        }
        let _ = self.qp.detach_mcast(&Gid(*mgid), mlid);
    }

    /// Sets the Q_Key the QP accepts (the broadcast group's, on InfiniBand).
    pub(crate) fn set_qkey(&self, qkey: u32) -> Result {
        self.qp.set_qkey(qkey)
    }

    /// Returns the SA's path to `gid`, if it was resolved (InfiniBand).
    pub(crate) fn path_of(&self, gid: &[u8; 16]) -> Option<PathRec> {
        self.tx.lock().ahs.path(gid)
    }

    /// Returns the destinations with an address handle or packets waiting for one (for the
    /// debugfs tables; a snapshot, possibly partial if memory is short).
    pub(crate) fn destinations(&self) -> KVec<Dest> {
        let mut out = KVec::new();
        for (gid, e) in self.tx.lock().ahs.iter() {
            let d = Dest {
                gid: *gid,
                complete: true,
                queued: 0,
                created: e.created,
                dlid: e.path.map_or(0, |p| p.dlid()),
                sl: e.path.map_or(0, |p| p.sl()),
            };
            if out.push(d, GFP_ATOMIC).is_err() {
                break;
            }
        }
        for e in self.pending.lock().iter() {
            if let Some(d) = out.iter_mut().find(|d| d.gid == e.gid) {
                d.queued = e.skbs.len();
                continue;
            }
            let d = Dest {
                gid: e.gid,
                complete: false,
                queued: e.skbs.len(),
                created: e.created,
                dlid: 0,
                sl: 0,
            };
            if out.push(d, GFP_ATOMIC).is_err() {
                break;
            }
        }
        out
    }

    fn has_ah(&self, gid: &[u8; 16]) -> bool {
        self.tx.lock().ahs.contains(gid)
    }

    /// Queues `skb` (pseudo header restored) until the address handle of `gid` exists; returns
    /// whether resolution must be started.
    fn queue_pending(&self, p: &Priv, gid: &[u8; 16], multicast: bool, skb: SkBuff) -> bool {
        let mut pending = self.pending.lock();
        if let Some(e) = pending.iter_mut().find(|e| &e.gid == gid) {
            let limit = if multicast {
                MAX_MCAST_QUEUE
            } else {
                MAX_PATH_QUEUE
            };
            if e.skbs.len() >= limit || e.skbs.push(skb, GFP_ATOMIC).is_err() {
                inc(&p.stats.tx_dropped);
            }
            return false;
        }
        let mut skbs = KVec::new();
        if skbs.push(skb, GFP_ATOMIC).is_err()
            || pending
                .push(
                    Pending {
                        gid: *gid,
                        multicast,
                        skbs,
                        created: jiffies(),
                        started: false,
                    },
                    GFP_ATOMIC,
                )
                .is_err()
        {
            inc(&p.stats.tx_dropped);
            return false;
        }
        true
    }

    /// Creates the address handles of the queued destinations and sends their packets again
    /// (process context: the "path record query" of RoCE, which completes locally), or starts
    /// resolving them on InfiniBand.
    pub(crate) fn resolve_pending(&self, p: &Arc<Priv>) {
        if p.ib {
            self.resolve_pending_ib(p);
            return;
        }
        loop {
            let batch = core::mem::replace(&mut *self.pending.lock(), KVec::new());
            if batch.is_empty() {
                return;
            }
            for e in batch.into_iter() {
                match self.create_ah(p, &e.gid, e.multicast) {
                    Ok(()) => {
                        for skb in e.skbs.into_iter() {
                            skb.queue_xmit();
                        }
                    }
                    Err(err) => {
                        pr_debug!("no address handle for a destination: {:?}\n", err);
                        for _ in e.skbs.iter() {
                            inc(&p.stats.tx_dropped);
                        }
                    }
                }
            }
        }
    }

    fn create_ah(&self, p: &Priv, gid: &[u8; 16], multicast: bool) -> Result {
        if self.has_ah(gid) {
            return Ok(());
        }
        let dmac = if multicast {
            roce::multicast_mac(gid)
        } else {
            // Peers are addressed by their default GID, from which the MAC follows; other GIDs
            // would need neighbour resolution on the underlay.
            roce::mac_from_link_local_gid(gid).ok_or(EINVAL)?
        };
        let ah = Ah::new_roce(&self.pd, p.port, 0, &Gid(*gid), dmac, roce::hop_limit(gid))?;
        self.insert_ah(gid, ah, None)
    }

    /// Caches the address handle of `gid` (replacing an older one, or evicting the least
    /// recently used destination when the cache is full).
    fn insert_ah(&self, gid: &[u8; 16], ah: Ah, path: Option<PathRec>) -> Result {
        let node = AhCache::node(gid, ah, path)?;
        let old = self.tx.lock().ahs.insert(gid, node)?;
        // Outside the lock; sends through the old handle keep it until they complete.
        drop(old);
        Ok(())
    }

    /// Caches the address handle of a group the SA let the interface join (InfiniBand).
    pub(crate) fn add_group_ah(&self, p: &Priv, mgid: &[u8; 16], rec: &McMember) -> Result {
        let ah = rec.create_ah(&self.pd, p.port)?;
        self.insert_ah(mgid, ah, None)
    }

    /// Removes and returns the packets waiting for `gid`.
    fn take_pending(&self, gid: &[u8; 16]) -> Option<Pending> {
        let mut pending = self.pending.lock();
        if !pending.iter().any(|e| &e.gid == gid) {
            return None;
        }
        let mut rest = KVec::with_capacity(pending.len(), GFP_ATOMIC).ok()?;
        let mut found = None;
        for e in core::mem::take(&mut *pending) {
            if &e.gid == gid {
                found = Some(e);
            } else {
                // Room was reserved for every entry: this does not allocate.
                let _ = rest.push(e, GFP_ATOMIC);
            }
        }
        *pending = rest;
        found
    }

    /// Sends again what waited for `gid`, whose address handle now exists.
    pub(crate) fn flush_pending(&self, gid: &[u8; 16]) {
        let Some(e) = self.take_pending(gid) else {
            return;
        };
        for skb in e.skbs.into_iter() {
            skb.queue_xmit();
        }
    }

    /// Drops what waited for `gid`, which could not be resolved.
    pub(crate) fn drop_pending(&self, p: &Priv, gid: &[u8; 16]) {
        let Some(e) = self.take_pending(gid) else {
            return;
        };
        for _ in e.skbs.iter() {
            inc(&p.stats.tx_dropped);
        }
    }

    /// Starts resolving the destinations packets wait for on InfiniBand: a path query for a
    /// unicast GID (`path_rec_start`), a send-only join for a group the interface is not in
    /// (`ipoib_mcast_send`). Their completions send the packets.
    fn resolve_pending_ib(&self, p: &Arc<Priv>) {
        let mut todo = KVec::new();
        {
            let mut pending = self.pending.lock();
            for e in pending.iter_mut().filter(|e| !e.started) {
                if todo.push((e.gid, e.multicast), GFP_ATOMIC).is_err() {
                    break;
                }
                e.started = true;
            }
        }
        let traffic_class = p.bcast_rec.lock().map(|r| r.traffic_class());
        for (gid, multicast) in todo.iter() {
            if self.has_ah(gid) {
                self.flush_pending(gid);
                continue;
            }
            if *multicast {
                if !p.mcast_send_only(gid) {
                    self.drop_pending(p, gid);
                }
                continue;
            }
            // No path before the broadcast group is joined (`path_rec_create`).
            let Some(traffic_class) = traffic_class else {
                self.drop_pending(p, gid);
                continue;
            };
            let req = PathRequest {
                sgid: Gid(p.gid()),
                dgid: Gid(*gid),
                pkey: p.pkey,
                traffic_class,
                timeout_ms: PATH_QUERY_TIMEOUT_MS,
            };
            if let Err(e) = query_path(&crate::SA, &p.device, p.port, &req, p.clone()) {
                pr_warn!("path record query failed to start: {:?}\n", e);
                self.drop_pending(p, gid);
            }
        }
    }

    /// Finishes a path query (`path_rec_completion`): the address handle is made from the
    /// path and what waited is sent, or dropped if there is no path.
    fn path_done(&self, p: &Priv, gid: &[u8; 16], result: Result<&PathRec>) {
        if !self.pending.lock().iter().any(|e| &e.gid == gid) {
            // The data path restarted meanwhile.
            return;
        }
        let r = result.and_then(|path| {
            let ah = Ah::from_path(&self.pd, &p.device, p.port, path)?;
            self.insert_ah(gid, ah, Some(*path))
        });
        match r {
            Ok(()) => self.flush_pending(gid),
            Err(e) => {
                pr_debug!("no path to a destination: {:?}\n", e);
                self.drop_pending(p, gid);
            }
        }
    }

    /// Sends `skb`, which starts with the pseudo header holding the destination
    /// (`ndo_start_xmit`).
    pub(crate) fn xmit(&self, p: ArcBorrow<'_, Priv>, dev: &NetDevice, mut skb: SkBuff) {
        let s = &p.stats;
        if !p.port_up.load(Ordering::Relaxed) {
            inc(&s.tx_dropped);
            return;
        }
        let Some(mut dst) = skb.data().get(..header::PSEUDO_LEN).map(|d| {
            let mut a = [0u8; header::PSEUDO_LEN];
            a.copy_from_slice(d);
            HwAddr(a)
        }) else {
            inc(&s.tx_dropped);
            return;
        };
        if skb.pull(header::PSEUDO_LEN as u32).is_err() {
            inc(&s.tx_dropped);
            return;
        }
        let multicast = dst.is_multicast();
        let Some(proto) = header::ethertype(skb.data()) else {
            inc(&s.tx_dropped);
            return;
        };
        if header::tx_class(proto, multicast) == TxClass::Drop {
            inc(&s.tx_dropped);
            return;
        }
        // On InfiniBand a connection needs the SA's path first: until it is known the
        // packet waits with those of the datagram path.
        let to_cm = !multicast && dst.cm_supported() && p.cm_connected();
        let await_path = to_cm && p.ib && self.path_of(&dst.gid()).is_none();
        if to_cm && !await_path {
            let rcu = ReadGuard::new();
            if let Some(cm) = p.cm_in(&rcu) {
                cm.xmit(p, dev, skb, &dst);
                return;
            }
        }
        // Datagrams carry at most the link's MTU, whatever the interface's (connected mode):
        // the sender learns the path's MTU as from a router (`ipoib_cm_skb_too_long`).
        // A TCP large send goes out in segments the HCA cuts (LSO); anything else must fit.
        let tso = skb.tso_size().zip(skb.tcp_all_headers());
        let ud_mtu = mtu::ud_mtu(p.active_ib_mtu.load(Ordering::Relaxed));
        if tso.is_none() && !await_path && skb.len() > ud_mtu + header::ENCAP_LEN as u32 {
            inc(&s.tx_dropped);
            inc(&s.tx_errors);
            skb.send_too_big(ud_mtu);
            return;
        }
        let qpn = if multicast {
            // The partition is the interface's, whatever the stack put there (as C does).
            dst.0[8..10].copy_from_slice(&p.pkey.to_be_bytes());
            MULTICAST_QPN
        } else {
            dst.qpn()
        };
        let mut tx = self.tx.lock();
        let Some(ah) = tx.ahs.get_for_send(&dst.gid()) else {
            drop(tx);
            // Restore the pseudo header so the packet can go through the queue again.
            match skb.push(header::PSEUDO_LEN as u32) {
                Ok(ph) => ph.copy_from_slice(&dst.0),
                Err(_) => {
                    inc(&s.tx_dropped);
                    return;
                }
            }
            if self.queue_pending(&p, &dst.gid(), multicast, skb) {
                Priv::schedule_path_work(p);
            }
            return;
        };
        // LSO: the headers (IPoIB, IP, TCP) go into the WQE, the payload is gathered.
        let mut lso_header = [0u8; LSO_HEADER_MAX];
        let mut lso = None;
        if let Some((mss, hlen)) = tso {
            let (Ok(mss), Some(h)) = (u16::try_from(mss), skb.data().get(..hlen as usize)) else {
                inc(&s.tx_dropped);
                return;
            };
            let Some(dst) = lso_header.get_mut(..h.len()) else {
                inc(&s.tx_dropped);
                return;
            };
            dst.copy_from_slice(h);
            if skb.pull(hlen).is_err() {
                inc(&s.tx_dropped);
                return;
            }
            lso = Some((mss, hlen as usize));
        }
        let offload = match lso {
            Some((mss, hlen)) => UdOffload::Lso {
                header: &lso_header[..hlen],
                mss,
            },
            None if skb.csum_partial() => UdOffload::Csum,
            None => UdOffload::None,
        };
        let tx = &mut *tx;
        let outstanding = tx.head - tx.tail;
        let wr_id = tx.head;
        let idx = params::ring_slot(wr_id, self.tx_size);
        let slot = match tx.slots.get_mut(idx) {
            // The queue is stopped before the ring fills, so a busy slot does not happen.
            Some(slot) if outstanding < self.tx_size as u64 && !slot.buf.is_busy() => slot,
            _ => {
                dev.stop_queue();
                inc(&s.tx_dropped);
                return;
            }
        };
        // Mapped in place: the scatter entries are posted from the slot.
        let Some(sges) = map_for_send(&p, &mut slot.buf, skb, (self.tx_sge, self.lkey)) else {
            return;
        };
        if let Err(e) = self.qp.post_send(
            wr_id,
            sges,
            &ah,
            (qpn, p.qkey.load(Ordering::Relaxed)),
            offload,
        ) {
            pr_debug!("{}: post_send failed: {:?}\n", dev.name(), e);
            inc(&s.tx_errors);
            slot.buf.release();
            return;
        }
        slot.ah = Some(ah);
        tx.head += 1;
        if tx.head - tx.tail >= self.tx_size as u64 - 1 {
            dev.stop_queue();
        }
    }

    /// Frees the sends of a batch of completions (at most [`WC_BATCH`]) under one lock of
    /// the ring, counts them, and returns the sends still outstanding. The buffers are freed
    /// in their slots, under the lock; the address handles are let go after it, since one may
    /// be the last reference to a handle the cache replaced.
    fn complete_tx(&self, p: &Priv, wcs: &[Wc]) -> u64 {
        let s = &p.stats;
        let (mut packets, mut bytes) = (0, 0);
        let mut ahs: [Option<Arc<Ah>>; WC_BATCH] = [const { None }; WC_BATCH];
        let mut tx = self.tx.lock();
        for (wc, ah) in wcs.iter().zip(ahs.iter_mut()) {
            let idx = params::ring_slot(wc.wr_id(), self.tx_size);
            let Some(slot) = tx.slots.get_mut(idx) else {
                continue;
            };
            let Some(len) = slot.buf.release() else {
                continue;
            };
            *ah = slot.ah.take();
            tx.tail += 1;
            if wc.is_success() {
                packets += 1;
                bytes += u64::from(len);
            } else if !wc.is_flush() {
                inc(&s.tx_errors);
                pr_debug!("send completion error {}\n", wc.status());
                // The QP is in the error state now: restart it from process context.
                Priv::schedule_reset(self.send_cq.handler());
            }
        }
        let outstanding = tx.head - tx.tail;
        drop(tx);
        drop(ahs);
        s.tx_packets.fetch_add(packets, Ordering::Relaxed);
        s.tx_bytes.fetch_add(bytes, Ordering::Relaxed);
        outstanding
    }

    /// Frees completed sends and wakes the queue (also from the TX watchdog).
    /// The queue is woken only if `others_busy` (connected-mode rings) is false and the data
    /// path is up. Returns how
    /// many completions it handled.
    pub(crate) fn reap_tx(&self, p: &Priv, dev: &NetDevice, others_busy: bool) -> usize {
        let mut batch = WcBatch::<WC_BATCH>::new();
        let mut reaped = 0;
        let mut outstanding = None;
        loop {
            let wcs = self.send_cq.poll_batch(&mut batch, WC_BATCH);
            if wcs.is_empty() {
                break;
            }
            outstanding = Some(self.complete_tx(p, wcs));
            reaped += wcs.len();
        }
        // Not while the data path is going down: the queue was stopped for that
        // (`Priv::stop_sending`), and a send now would meet a QP being reset.
        if dev.queue_stopped()
            && !others_busy
            && dev.is_running()
            && p.oper_up.load(Ordering::Acquire)
        {
            let outstanding = outstanding.unwrap_or_else(|| {
                let tx = self.tx.lock();
                tx.head - tx.tail
            });
            if outstanding <= self.tx_size as u64 / 2 {
                dev.wake_queue();
            }
        }
        reaped
    }

    /// Returns the send ring's (head, tail): sends posted and completed.
    pub(crate) fn tx_counters(&self) -> (u64, u64) {
        let tx = self.tx.lock();
        (tx.head, tx.tail)
    }

    /// Takes the buffers of a batch of receive completions (at most [`WC_BATCH`]) out of the
    /// ring under one lock, puts a fresh buffer in each slot (or the same one back when the
    /// packet is dropped), posts them as one chain, and returns the packets to hand up with
    /// [`Ud::receive`], in completion order. The slots are filled before the post: no
    /// completion for them can come before it.
    ///
    /// Not inlined: its frame (the chain of work requests) is gone before the packets go up
    /// the stack, on the interrupt stack NAPI may run on.
    #[inline(never)]
    fn refill_rx(&self, p: &Priv, dev: &NetDevice, wcs: &[Wc]) -> [Option<SkBuff>; WC_BATCH] {
        let s = &p.stats;
        let mut got: [Option<SkBuff>; WC_BATCH] = [const { None }; WC_BATCH];
        let mut chain = RecvChain::new();
        {
            let mut ring = self.rx.lock();
            for (wc, got) in wcs.iter().zip(got.iter_mut()) {
                let Some(slot) = usize::try_from(wc.wr_id())
                    .ok()
                    .and_then(|idx| ring.get_mut(idx))
                else {
                    continue;
                };
                let Some(buf) = slot.take() else {
                    continue;
                };
                let repost = if wc.is_success() {
                    // Replace the buffer before handing this one up; without one, drop the
                    // packet and reuse its buffer.
                    match self.alloc_rx(dev, p) {
                        Ok(new) => {
                            *got = Some(buf.unmap());
                            new
                        }
                        Err(_) => {
                            inc(&s.rx_dropped);
                            buf
                        }
                    }
                } else if wc.is_flush() {
                    // Flushes outside `stop` mean the provider moved the QP to the error
                    // state (soft-RoCE does when its link goes away): restart it. The buffer
                    // is freed.
                    Priv::schedule_reset(self.recv_cq.handler());
                    continue;
                } else {
                    // The buffer is still mapped and its contents are of no use: post it
                    // again.
                    inc(&s.rx_errors);
                    buf
                };
                chain.push(wc.wr_id(), self.sge(&repost));
                *slot = Some(repost);
            }
        }
        let n = chain.len();
        if let Err((posted, e)) = self.qp.post_recv_chain(&mut chain) {
            // The rest stay in the ring unposted, freed when the interface stops; the QP is
            // in the error state or being reset.
            pr_debug!(
                "{}: posting {} receives failed after {}: {:?}\n",
                dev.name(),
                n,
                posted,
                e
            );
        }
        got
    }

    /// Hands up the packet of receive completion `wc`, in `skb` (unmapped).
    fn receive(&self, p: &Priv, napi: &Napi<Priv>, mut skb: SkBuff, wc: &Wc) {
        let s = &p.stats;
        let dev = napi.dev();
        let len = wc.byte_len();
        if (len as usize) < header::GRH_LEN + header::ENCAP_LEN || skb.put(len).is_err() {
            inc(&s.rx_dropped);
            inc(&s.rx_errors);
            return;
        }
        let layout = match wc.network_hdr() {
            Some(NetworkHdr::Ipv4) => GrhLayout::Ipv4,
            _ => GrhLayout::Ipv6,
        };
        let mut pkt_type = PacketType::Host;
        if wc.has_grh() {
            if let Some(g) = header::grh_gids(skb.data(), layout) {
                // Multicast the HCA looped back to the sender: drop silently, as C does.
                if wc.src_qp() == self.qpn() && g.sgid == p.gid() {
                    return;
                }
                if g.dgid[0] == 0xff {
                    pkt_type = if g.dgid == p.broadcast.gid() {
                        PacketType::Broadcast
                    } else {
                        PacketType::Multicast
                    };
                }
            }
        }
        if skb.pull(header::GRH_LEN as u32).is_err() {
            inc(&s.rx_dropped);
            return;
        }
        // The HCA verified the IPv4 and TCP/UDP checksums.
        if wc.ip_csum_ok() && dev.features() & net::NETIF_F_RXCSUM != 0 {
            skb.set_csum_unnecessary();
        }
        deliver(p, napi, skb, pkt_type);
    }
}

/// Hands a received packet that starts with its IPoIB header to the stack, behind the zeroed
/// pseudo header C gives it (`skb_add_pseudo_hdr`); datagram and connected mode.
pub(crate) fn deliver(p: &Priv, napi: &Napi<Priv>, mut skb: SkBuff, pkt_type: PacketType) {
    let s = &p.stats;
    let Some(proto) = header::ethertype(skb.data()) else {
        inc(&s.rx_dropped);
        return;
    };
    skb.set_protocol(proto);
    skb.set_pkt_type(pkt_type);
    // The link-level header the stack sees: a zeroed pseudo header and the IPoIB header.
    match skb.push(header::PSEUDO_LEN as u32) {
        Ok(ph) => ph.fill(0),
        Err(_) => {
            inc(&s.rx_dropped);
            return;
        }
    }
    skb.reset_mac_header();
    if skb.pull(header::HARD_LEN as u32).is_err() {
        inc(&s.rx_dropped);
        return;
    }
    if pkt_type == PacketType::Multicast {
        inc(&s.multicast);
    }
    inc(&s.rx_packets);
    s.rx_bytes
        .fetch_add(u64::from(skb.len()), Ordering::Relaxed);
    napi.gro_receive(skb);
}

impl PathHandler for Priv {
    fn path_done(this: Arc<Self>, dgid: Gid, result: Result<&PathRec>) {
        if let Some(ud) = this.ud() {
            ud.path_done(&this, &dgid.0, result);
        }
    }
}

impl NapiPoll for Priv {
    /// Polls the CQs that had completions since they were last armed, and arms those again
    /// when done: an armed CQ holds nothing and schedules the next poll itself. So a ping's
    /// receive polls and arms only the receive CQ, and its send only the send CQ, as with
    /// C's separate RX and TX NAPI contexts.
    fn poll(&self, napi: &Napi<Self>, budget: i32) -> i32 {
        let rcu = ReadGuard::new();
        let Some(ud) = self.ud.get(&rcu) else {
            napi.complete_done(0);
            return 0;
        };
        let dev = napi.dev();
        let budget_u = usize::try_from(budget).unwrap_or(0);
        let mut done = 0usize;
        let mut batch = WcBatch::<WC_BATCH>::new();
        while done < budget_u && !ud.recv_cq.armed() {
            let want = WC_BATCH.min(budget_u - done);
            let wcs = ud.recv_cq.poll_batch(&mut batch, want);
            let n = wcs.len();
            let got = ud.refill_rx(self, dev, wcs);
            for (skb, wc) in got.into_iter().zip(wcs) {
                if let Some(skb) = skb {
                    ud.receive(self, napi, skb, wc);
                }
            }
            done += n;
            if n < want {
                break;
            }
        }
        let cm = self.cm_in(&rcu);
        if let Some(cm) = &cm {
            done += cm.poll_rx(self, napi, budget_u.saturating_sub(done));
        }
        let cm_busy = cm.as_ref().is_some_and(|cm| cm.reap_tx());
        // A stopped queue may wait for room the connections' completions made.
        if !ud.send_cq.armed() || dev.queue_stopped() {
            ud.reap_tx(self, dev, cm_busy);
        }
        if done >= budget_u {
            return budget;
        }
        let work = i32::try_from(done).unwrap_or(budget);
        if napi.complete_done(work) {
            // Re-arm what was polled; if completions slipped in meanwhile, poll again.
            let missed_rx = ud.recv_cq.rearm();
            let missed_tx = ud.send_cq.rearm();
            let missed_cm = cm.as_ref().is_some_and(|cm| cm.arm());
            if missed_rx || missed_tx || missed_cm {
                napi.schedule();
            }
        }
        work
    }
}
