// SPDX-License-Identifier: GPL-2.0

//! Connected mode (RFC 4755): reliable-connected QPs to each peer, set up with the IB CM.
//!
//! Every open interface listens on service ID `0x1000000000000000 | UD QPN`. The resources
//! of the receive side, an SRQ with a ring of 64 KiB buffers (a linear head and page
//! fragments) and its CQ, are allocated when connected mode is entered or a peer first
//! connects, not at interface creation as C does, and freed when the interface goes down or
//! leaves connected mode with no peer connected. In connected mode, unicast packets to a peer
//! whose address carries the RC flag go over a connection of their own (one RC QP, send CQ and
//! send ring per peer), requested on first use; multicast and other peers use datagrams.
//!
//! C: ipoib_cm.c.

use crate::dev::CM_STALE_WORK;
use crate::dev::{inc, Priv};
use crate::params;
use crate::proto::addr::HwAddr;
use crate::proto::cm::{self as wire, CmData, RxGeometry};
use crate::proto::params::ring_slot;
use crate::proto::{header, roce};
use crate::rust_bindings::delay::jiffies;
use crate::rust_bindings::error::code::{ECONNRESET, EHOSTUNREACH};
use crate::rust_bindings::net::{
    MappedPage, MappedSkBuff, Napi, NetDevice, PacketType, SkBuff, TxBuf,
};
use crate::rust_bindings::rcu::{RcuArc, ReadGuard};
use crate::rust_bindings::rdma::{
    CmEvent, CmHandler, CmId, CmIdRef, Cq, Gid, Mtu, NewCm, PathRec, Pd, QpId, QpState, RcQp,
    RcQpCaps, ReqParams, RoceReq, Sge, Srq, Wc, WcBatch, MAX_SGE,
};
use crate::rust_bindings::sync::{new_spinlock_bh, SpinLockBh};
use crate::rust_bindings::workqueue::{secs_to_jiffies, DelayedWork};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use kernel::new_mutex;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow, Mutex};

/// Packets queued per connection being set up (`IPOIB_MAX_PATH_REC_QUEUE`).
const MAX_CONNECT_QUEUE: usize = 3;
/// Transport and RNR retries of connections over RoCE. C uses none on InfiniBand, whose
/// links do not drop packets; a RoCE link without flow control does, and RNR retry 7 waits
/// for SRQ buffers instead of breaking the connection.
const ROCE_RETRIES: u8 = 7;

/// How a connection request reaches its peer.
enum Route {
    /// The path record the SA returned (InfiniBand).
    Ib(PathRec),
    /// A path built from the peer's GID (RoCE).
    Roce(RoceReq),
}
/// Seconds a passive connection may stay quiet before it is torn down
/// (`IPOIB_CM_RX_TIMEOUT`, 512); debugfs `ipoib/cm_rx_timeout` changes it, for tests that cannot
/// wait that long.
pub(crate) static RX_TIMEOUT_SECS: AtomicU32 = AtomicU32::new(512);

/// With an SRQ, receives on buffers whose index has none of these bits set note the time on
/// their connection (`IPOIB_CM_RX_UPDATE_MASK`).
const RX_UPDATE_MASK: usize = 0x3;

/// Nonzero: connected-mode resources allocated from now on use no SRQ, as on a device that
/// has none (debugfs `ipoib/cm_no_srq`; soft-RoCE has SRQs, so this is how tests reach it).
pub(crate) static NO_SRQ: AtomicU32 = AtomicU32::new(0);

fn rx_timeout_secs() -> u32 {
    RX_TIMEOUT_SECS.load(Ordering::Relaxed).max(1)
}

/// How often quiet connections are looked for: 1.5 times the timeout (`IPOIB_CM_RX_DELAY`).
fn stale_scan_delay() -> u64 {
    secs_to_jiffies(rx_timeout_secs()) * 3 / 2
}

/// Completions polled per call.
const WC_BATCH: usize = 16;

/// The handler of every CM ID of an interface.
pub(crate) enum CmEnd {
    /// The listener: requests arrive here.
    Listener(Arc<Priv>),
    /// A connection a peer made to us.
    Passive(Arc<RxConn>),
    /// A connection we made to a peer.
    Active(Arc<TxConn>),
}

impl CmHandler for CmEnd {
    fn event(&self, id: &CmIdRef, event: &CmEvent<'_, Self>) {
        match self {
            Self::Listener(p) => {
                if let CmEvent::Req {
                    new,
                    remote_qpn,
                    private,
                    ..
                } = event
                {
                    p.cm_accept(new, *remote_qpn, private);
                }
            }
            Self::Passive(rx) => rx.event(id, event),
            Self::Active(tx) => tx.event(id, event),
        }
    }
}

/// A receive buffer: a linear head and `sg - 1` pages, all mapped.
struct RxBuf {
    head: MappedSkBuff,
    pages: KVec<Option<MappedPage>>,
}

/// The connected-mode resources of an interface.
#[pin_data]
pub(crate) struct Cm {
    /// Connections peers made to us, sorted by QP (the receive path finds them by QP).
    #[pin]
    passive: SpinLockBh<KVec<Arc<RxConn>>>,
    /// Connections to peers (data path and process context).
    #[pin]
    active: SpinLockBh<KVec<Arc<TxConn>>>,
    /// The SRQ, unless the device has none (then each passive connection has a receive
    /// queue and ring of its own). Declared (and so dropped) before the receive ring: buffers
    /// are freed once the SRQ holding them is gone.
    srq: Option<Srq>,
    rx_cq: Cq<Priv>,
    /// The SRQ's buffers (empty without an SRQ).
    #[pin]
    rx: SpinLockBh<RxRing>,
    /// Without an SRQ, the most passive connections (`max_nonsrq_conn_qp`, and no more than
    /// the receive CQ has room for).
    max_passive: usize,
    pd: Pd,
    lkey: u32,
    geom: RxGeometry,
    rx_size: usize,
    tx_size: usize,
    /// Scatter entries of a send.
    tx_sge: usize,
    /// The largest MTU of connected mode on this device (`max_cm_mtu`).
    pub(crate) max_mtu: u32,
}

impl Cm {
    /// Allocates the SRQ, its CQ and receive ring, and fills the ring (process context).
    fn new(p: &Arc<Priv>, dev: &NetDevice) -> Result<Arc<Self>> {
        let rx_size = p.rx_ring.load(Ordering::Relaxed) as usize;
        let tx_size = p.tx_ring.load(Ordering::Relaxed) as usize;
        // Slots are found by masking (`ring_slot`); the sizes are rounded so.
        if !tx_size.is_power_of_two() {
            return Err(EINVAL);
        }
        let geom = RxGeometry::new(PAGE_SIZE as u32);
        let (use_srq, max_sge) = rx_sge_limit(p);
        let sg = geom.sg.min(max_sge);
        if sg == 0 {
            return Err(EINVAL);
        }
        let pd = Pd::alloc(&p.device)?;
        let (cqe, max_passive) = if use_srq {
            (rx_size + 1, 0)
        } else {
            // Room for every buffer of every connection, as C sizes its receive CQ.
            let want = usize::try_from(params::max_nonsrq_conn_qp::get()).unwrap_or(0);
            let cqe = rx_size
                .saturating_mul(want)
                .saturating_add(1)
                .min(p.device.max_cqe() as usize);
            let room = cqe.saturating_sub(1).checked_div(rx_size).unwrap_or(0);
            (cqe.max(1), want.min(room))
        };
        let rx_cq = Cq::new(&p.device, cqe as u32, 0, p.clone())?;
        let srq = if use_srq {
            Some(Srq::new(&pd, rx_size as u32, sg)?)
        } else {
            None
        };
        let ring = new_ring(if use_srq { rx_size } else { 0 }, GFP_KERNEL)?;
        let lkey = pd.local_dma_lkey();
        let cm = Arc::pin_init(
            pin_init!(Self {
                passive <- new_spinlock_bh!(KVec::new(), "ipoib:cm_passive"),
                active <- new_spinlock_bh!(KVec::new(), "ipoib:cm_active"),
                srq,
                rx_cq,
                rx <- new_spinlock_bh!(ring, "ipoib:cm_rx_ring"),
                max_passive,
                pd,
                lkey,
                geom: RxGeometry { sg, ..geom },
                rx_size,
                tx_size,
                tx_sge: crate::ud::tx_sge(p),
                max_mtu: geom.max_mtu(max_sge),
            }),
            GFP_KERNEL,
        )?;
        if let Some(srq) = &cm.srq {
            for idx in 0..rx_size {
                let buf = cm.alloc_rx(p, dev, GFP_KERNEL)?;
                cm.post_into(RxQueue::Srq(srq), &cm.rx, idx as u64, buf)?;
            }
        }
        cm.rx_cq.arm();
        Ok(cm)
    }

    /// Without an SRQ, fills the receive queue of a new passive connection (`nonsrq_init_rx`).
    fn fill_own_ring(&self, p: &Priv, dev: &NetDevice, rx: &RxConn) -> Result {
        if self.has_srq() {
            return Ok(());
        }
        for idx in 0..self.rx_size {
            let buf = self.alloc_rx(p, dev, GFP_KERNEL)?;
            self.post_into(RxQueue::Qp(&rx.qp), &rx.ring, rx_wr_id(rx.tag, idx), buf)?;
        }
        Ok(())
    }

    /// Whether passive connections receive through an SRQ.
    pub(crate) fn has_srq(&self) -> bool {
        self.srq.is_some()
    }

    fn alloc_rx(&self, p: &Priv, dev: &NetDevice, flags: kernel::alloc::Flags) -> Result<RxBuf> {
        let head = self.alloc_head(p, dev)?;
        let mut pages = KVec::with_capacity(self.geom.sg as usize - 1, flags)?;
        for _ in 1..self.geom.sg {
            pages.push(Some(MappedPage::alloc(&p.device, flags)?), flags)?;
        }
        Ok(RxBuf { head, pages })
    }

    /// Posts `buf` to `queue` as `wr_id` and keeps it in `ring` at the index `wr_id` gives.
    fn post_into(
        &self,
        queue: RxQueue<'_>,
        ring: &SpinLockBh<RxRing>,
        wr_id: u64,
        buf: RxBuf,
    ) -> Result {
        let mut sges = [Sge::default(); MAX_SGE];
        sges[0] = Sge::new(buf.head.addr(), buf.head.len(), self.lkey);
        let mut n = 1;
        for pg in buf.pages.iter().flatten() {
            if let Some(s) = sges.get_mut(n) {
                *s = Sge::new(pg.addr(), PAGE_SIZE as u32, self.lkey);
                n += 1;
            }
        }
        // Held across the post: the completion of this buffer cannot be handled before the
        // buffer is in the ring.
        let mut ring = ring.lock();
        let r = match queue {
            RxQueue::Srq(srq) => srq.post_recv(wr_id, &sges[..n]),
            RxQueue::Qp(qp) => qp.post_recv(wr_id, &sges[..n]),
        };
        if let Some(slot) = ring.get_mut(ring_index(wr_id)) {
            *slot = Some(buf);
        }
        r
    }

    /// Takes the buffer of a receive completion out of its ring; `touch` notes that its
    /// connection received a message.
    fn take_rx(&self, slot: RxSlot, touch: bool) -> Option<RxBuf> {
        let idx = ring_index(slot.wr_id);
        if self.srq.is_some() {
            // As C, only for one buffer in four: a lookup per message would cost more.
            if touch && idx & RX_UPDATE_MASK == 0 {
                self.touch(slot.qp);
            }
            return self.rx.lock().get_mut(idx).and_then(Option::take);
        }
        let passive = self.passive.lock();
        let rx = find_passive(&passive, slot)?;
        if touch {
            rx.last_rx.store(jiffies(), Ordering::Relaxed);
        }
        let mut ring = rx.ring.lock();
        let buf = ring.get_mut(idx).and_then(Option::take);
        if rx.dead.load(Ordering::Relaxed) && ring.iter().all(Option::is_none) {
            // Its last receive came back: the work can destroy it now.
            Priv::schedule_cm_work(&rx.priv_);
        }
        buf
    }

    /// Posts `buf` again where its completion came from; without an SRQ, drops it if the
    /// connection is gone.
    fn repost(&self, slot: RxSlot, buf: RxBuf) {
        if let Some(srq) = &self.srq {
            let _ = self.post_into(RxQueue::Srq(srq), &self.rx, slot.wr_id, buf);
            return;
        }
        let passive = self.passive.lock();
        if let Some(rx) = find_passive(&passive, slot) {
            let _ = self.post_into(RxQueue::Qp(&rx.qp), &rx.ring, slot.wr_id, buf);
        }
    }

    /// Handles receive completions, up to `budget` (NAPI poll); returns how many. An armed
    /// CQ has none.
    pub(crate) fn poll_rx(&self, p: &Priv, napi: &Napi<Priv>, budget: usize) -> usize {
        let mut batch = WcBatch::<WC_BATCH>::new();
        let mut done = 0;
        while done < budget && !self.rx_cq.armed() {
            let want = WC_BATCH.min(budget - done);
            let wcs = self.rx_cq.poll_batch(&mut batch, want);
            let n = wcs.len();
            for wc in wcs {
                self.handle_rx(p, napi, wc);
            }
            done += n;
            if n < want {
                break;
            }
        }
        done
    }

    fn handle_rx(&self, p: &Priv, napi: &Napi<Priv>, wc: &Wc) {
        let s = &p.stats;
        let slot = RxSlot {
            qp: wc.qp_id(),
            wr_id: wc.wr_id(),
        };
        let Some(buf) = self.take_rx(slot, wc.is_success()) else {
            return;
        };
        if !wc.is_success() {
            // A connection broke with this receive in progress (its flush included).
            if !wc.is_flush() {
                inc(&s.rx_errors);
            }
            if self.srq.is_some() {
                // Of no use to the connection, but fine for the next message.
                self.repost(slot, buf);
            } else if !wc.is_flush() {
                // The connection's own queue is in error: tear it down.
                if let Some(rx) = find_passive(&self.passive.lock(), slot) {
                    rx.fail_later();
                }
            }
            return;
        }
        let dev = napi.dev();
        let len = wc.byte_len();
        let Some(split) = self.geom.split(len) else {
            inc(&s.rx_dropped);
            self.repost(slot, buf);
            return;
        };
        let skb = if len < wire::COPYBREAK {
            // Small: copy into a small skb, keep the big buffer (`SKB_TSHOLD`).
            let Ok(mut small) = SkBuff::alloc_rx(dev, len + header::PSEUDO_LEN as u32) else {
                inc(&s.rx_dropped);
                self.repost(slot, buf);
                return;
            };
            let copied = small.reserve(header::PSEUDO_LEN as u32).is_ok()
                && small.put(len).is_ok()
                && buf
                    .head
                    .peek(len, |b| small.data_mut().copy_from_slice(b))
                    .is_ok();
            self.repost(slot, buf);
            if !copied {
                inc(&s.rx_dropped);
                return;
            }
            small
        } else {
            // Large: hand the buffer up and put a new one in its place; without memory for
            // the replacement, drop the message and reuse the buffer.
            let Ok(new_head) = self.alloc_head(p, dev) else {
                inc(&s.rx_dropped);
                self.repost(slot, buf);
                return;
            };
            let mut new_pages = KVec::new();
            for _ in 0..split.frags {
                let pushed = MappedPage::alloc(&p.device, GFP_ATOMIC)
                    .and_then(|pg| new_pages.push(pg, GFP_ATOMIC).map_err(|_| ENOMEM));
                if pushed.is_err() {
                    inc(&s.rx_dropped);
                    self.repost(slot, buf);
                    return;
                }
            }
            let RxBuf { head, mut pages } = buf;
            let mut skb = head.unmap();
            let mut ok = skb.put(split.head).is_ok();
            let mut fresh = new_pages.into_iter();
            for i in 0..split.frags as usize {
                let size = if i + 1 == split.frags as usize {
                    split.last
                } else {
                    PAGE_SIZE as u32
                };
                let used = pages.get_mut(i).and_then(|slot| {
                    let old = slot.take();
                    *slot = fresh.next();
                    old
                });
                if let Some(pg) = used {
                    ok &= skb.add_rx_frag(pg.unmap(), size).is_ok();
                }
            }
            self.repost(
                slot,
                RxBuf {
                    head: new_head,
                    pages,
                },
            );
            if !ok {
                inc(&s.rx_dropped);
                return;
            }
            skb
        };
        // C marks every connected-mode packet PACKET_HOST.
        crate::ud::deliver(p, napi, skb, PacketType::Host);
    }

    /// Notes that the passive connection of `qp` received a message.
    fn touch(&self, qp: QpId) {
        if let Some(rx) = passive_by_qp(&self.passive.lock(), qp) {
            rx.last_rx.store(jiffies(), Ordering::Relaxed);
        }
    }

    /// Lists a passive connection, keeping the list sorted.
    fn add_passive(&self, rx: Arc<RxConn>) -> Result {
        let id = rx.qp.id();
        let mut passive = self.passive.lock();
        let at = passive.partition_point(|r| r.qp.id() < id);
        passive.push(rx, GFP_ATOMIC)?;
        passive[at..].rotate_right(1);
        Ok(())
    }

    fn alloc_head(&self, p: &Priv, dev: &NetDevice) -> Result<MappedSkBuff> {
        let mut skb = SkBuff::alloc_rx(dev, self.geom.head + header::PSEUDO_LEN as u32)?;
        skb.reserve(header::PSEUDO_LEN as u32)?;
        skb.dma_map_rx(&p.device, self.geom.head)
    }

    /// Frees completed sends of every connection (NAPI poll); returns whether any connection's
    /// ring is more than half full.
    pub(crate) fn reap_tx(&self) -> bool {
        let mut busy = false;
        for tx in self.active.lock().iter() {
            busy |= tx.reap(self.tx_size);
        }
        busy
    }

    /// Re-arms the CQs that are not armed; returns whether completions arrived meanwhile
    /// (end of a NAPI poll).
    pub(crate) fn arm(&self) -> bool {
        let mut missed = self.rx_cq.rearm();
        for tx in self.active.lock().iter() {
            if let Some(cq) = &tx.inner.lock().cq {
                missed |= cq.rearm();
            }
        }
        missed
    }

    /// Sends `skb` (starting with the IPoIB header) to `dst` over its connection, setting one
    /// up if there is none (data path).
    pub(crate) fn xmit(&self, p: ArcBorrow<'_, Priv>, dev: &NetDevice, skb: SkBuff, dst: &HwAddr) {
        let s = &p.stats;
        let tx = {
            let mut active = self.active.lock();
            let found = active
                .iter()
                .find(|t| t.dest == *dst && t.state() != TxState::Dead)
                .cloned();
            match found {
                Some(t) => t,
                None => {
                    let t = match TxConn::new(p.into(), *dst) {
                        Ok(t) => t,
                        Err(_) => {
                            inc(&s.tx_dropped);
                            return;
                        }
                    };
                    if active.push(t.clone(), GFP_ATOMIC).is_err() {
                        inc(&s.tx_dropped);
                        return;
                    }
                    Priv::schedule_cm_work(&p.into());
                    t
                }
            }
        };
        match tx.state() {
            TxState::Up => tx.send(&p, dev, skb, self),
            TxState::New | TxState::Connecting => {
                if let Some(skb) = tx.queue(&p, skb, dst) {
                    tx.send(&p, dev, skb, self);
                }
            }
            TxState::Dead => inc(&s.tx_dropped),
        }
    }

    /// Requests the connections created by the data path (process context).
    pub(crate) fn start_connections(&self, p: &Arc<Priv>) {
        let mut new = KVec::new();
        for t in self.active.lock().iter() {
            if t.state() == TxState::New {
                t.state.store(TxState::Connecting as u8, Ordering::Relaxed);
                if new.push(t.clone(), GFP_ATOMIC).is_err() {
                    t.fail();
                }
            }
        }
        for t in new.iter() {
            if let Err(e) = t.connect(p, self) {
                pr_debug!("connect to QPN 0x{:06x} failed: {:?}\n", t.dest.qpn(), e);
                t.fail();
                Priv::schedule_cm_work(p);
            }
        }
    }

    /// Destroys the connections that broke (process context).
    pub(crate) fn reap(&self, p: &Arc<Priv>) {
        let Some(dead_tx) = take_dead(&mut self.active.lock(), |t| t.state() == TxState::Dead)
        else {
            Priv::schedule_cm_work(p);
            return;
        };
        let reaped_tx = !dead_tx.is_empty();
        for t in dead_tx.iter() {
            t.destroy();
        }
        // Without an SRQ, a broken connection stays listed (and counted against
        // `max_nonsrq_conn_qp`, as in C) until its receives have come back from the shared
        // CQ, which has room for a limited number of them.
        let mut to_flush = KVec::new();
        for r in self.passive.lock().iter() {
            if r.dead.load(Ordering::Relaxed)
                && !r.flushing.load(Ordering::Relaxed)
                && to_flush.push(r.clone(), GFP_ATOMIC).is_err()
            {
                break;
            }
        }
        for r in to_flush.iter() {
            r.flush();
        }
        let Some(dead_rx) = take_dead(&mut self.passive.lock(), |r| {
            r.dead.load(Ordering::Relaxed) && r.drained()
        }) else {
            Priv::schedule_cm_work(p);
            return;
        };
        for r in dead_rx.iter() {
            r.destroy();
        }
        if reaped_tx {
            // A full ring of a destroyed connection may have stopped the queue.
            if let Some(nd) = p.netdev() {
                if nd.queue_stopped() && nd.is_running() && p.oper_up.load(Ordering::Acquire) {
                    nd.wake_queue();
                }
            }
        }
    }

    /// Tears every connection down (process context, NAPI no longer polling these CQs).
    pub(crate) fn shutdown(&self) {
        let active = core::mem::take(&mut *self.active.lock());
        for t in active.iter() {
            t.fail();
            t.destroy();
        }
        let passive = core::mem::take(&mut *self.passive.lock());
        for r in passive.iter() {
            r.dead.store(true, Ordering::Relaxed);
            r.destroy();
        }
    }

    /// Whether peers are connected to us.
    pub(crate) fn has_passive(&self) -> bool {
        !self.passive.lock().is_empty()
    }
}

/// Moves the entries of `list` that `is_dead` picks out into the returned vector; `None` (and
/// `list` unchanged) if memory is short.
fn take_dead<T>(list: &mut KVec<Arc<T>>, is_dead: impl Fn(&T) -> bool) -> Option<KVec<Arc<T>>> {
    let n = list.len();
    let (Ok(mut keep), Ok(mut dead)) = (
        KVec::with_capacity(n, GFP_ATOMIC),
        KVec::with_capacity(n, GFP_ATOMIC),
    ) else {
        return None;
    };
    for e in core::mem::take(list) {
        let to = if is_dead(&e) { &mut dead } else { &mut keep };
        // Both have room for every entry: this does not allocate.
        let _ = to.push(e, GFP_ATOMIC);
    }
    *list = keep;
    Some(dead)
}

/// Receive buffers by index (`wr_id` without the tag of its connection).
type RxRing = KVec<Option<RxBuf>>;

fn new_ring(n: usize, flags: kernel::alloc::Flags) -> Result<RxRing> {
    let mut ring = KVec::with_capacity(n, flags)?;
    for _ in 0..n {
        ring.push(None, flags)?;
    }
    Ok(ring)
}

/// Where receive buffers are posted.
#[derive(Clone, Copy)]
enum RxQueue<'a> {
    Srq(&'a Srq),
    /// The receive queue of a connection, on devices without an SRQ.
    Qp(&'a RcQp),
}

/// Which buffer a receive completion is for: the QP it arrived on and its `wr_id`.
#[derive(Clone, Copy)]
struct RxSlot {
    qp: QpId,
    wr_id: u64,
}

/// The `wr_id` of receive buffer `idx` of the connection tagged `tag` (0 for the SRQ).
fn rx_wr_id(tag: u32, idx: usize) -> u64 {
    (u64::from(tag) << 32) | idx as u64
}

fn ring_index(wr_id: u64) -> usize {
    (wr_id & 0xffff_ffff) as usize
}

/// Finds the passive connection of a completion without an SRQ. The tag makes sure it is the
/// connection the buffer was posted for, not a later one whose QP has the same identity.
fn find_passive(passive: &[Arc<RxConn>], slot: RxSlot) -> Option<&Arc<RxConn>> {
    passive_by_qp(passive, slot.qp).filter(|rx| u64::from(rx.tag) == slot.wr_id >> 32)
}

/// Finds the passive connection of QP `qp` in the sorted list.
fn passive_by_qp(passive: &[Arc<RxConn>], qp: QpId) -> Option<&Arc<RxConn>> {
    let i = passive.binary_search_by_key(&qp, |r| r.qp.id()).ok()?;
    passive.get(i)
}

/// Whether passive connections would receive through an SRQ, and the most scatter entries
/// of a receive (`max_cm_mtu` follows from it).
fn rx_sge_limit(p: &Priv) -> (bool, u32) {
    let srq_sge = p.device.max_srq_sge();
    if srq_sge > 0 && NO_SRQ.load(Ordering::Relaxed) == 0 {
        (true, srq_sge)
    } else {
        (false, p.device.max_recv_sge())
    }
}

/// Tags the receive buffers of each connection without an SRQ (the upper half of `wr_id`).
static NEXT_TAG: AtomicU32 = AtomicU32::new(1);

/// A connection a peer made to us; it receives through the SRQ, or into a ring of its own.
#[pin_data]
pub(crate) struct RxConn {
    priv_: Arc<Priv>,
    qp: RcQp,
    /// Without an SRQ: the buffers posted to `qp` (dropped after it), and the tag of their
    /// `wr_id`s.
    #[pin]
    ring: SpinLockBh<RxRing>,
    tag: u32,
    #[pin]
    id: Mutex<Option<CmId<CmEnd>>>,
    dead: AtomicBool,
    /// The QP was moved to the error state (its receives come back flushed).
    flushing: AtomicBool,
    /// `jiffies` of the last message received.
    last_rx: AtomicU64,
}

impl RxConn {
    fn event(&self, id: &CmIdRef, event: &CmEvent<'_, CmEnd>) {
        match event {
            CmEvent::Rtu | CmEvent::Other(_) | CmEvent::Req { .. } | CmEvent::Rep { .. } => {}
            CmEvent::Dreq => {
                let _ = id.send_drep();
                self.fail();
            }
            CmEvent::Drep | CmEvent::TimewaitExit | CmEvent::Failed(_) => self.fail(),
        }
    }

    fn fail(&self) {
        if !self.dead.swap(true, Ordering::Relaxed) {
            self.flush();
            Priv::schedule_cm_work(&self.priv_);
        }
    }

    /// [`RxConn::fail`] from the data path: the work moves the QP to the error state.
    fn fail_later(&self) {
        if !self.dead.swap(true, Ordering::Relaxed) {
            Priv::schedule_cm_work(&self.priv_);
        }
    }

    /// Moves the QP to the error state, once (process context).
    fn flush(&self) {
        if !self.flushing.swap(true, Ordering::Relaxed) {
            let _ = self.qp.to_error();
        }
    }

    /// Whether no receive buffer is posted to the connection's own queue (always, with an
    /// SRQ).
    fn drained(&self) -> bool {
        self.ring.lock().iter().all(Option::is_none)
    }

    fn destroy(&self) {
        let id = self.id.lock().take();
        drop(id);
        let _ = self.qp.to_error();
    }
}

/// Where a connection to a peer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum TxState {
    /// Created by the data path; the request is not sent yet.
    New = 0,
    /// REQ sent, waiting for the REP.
    Connecting = 1,
    /// Established: packets go over it.
    Up = 2,
    /// Broken or rejected; waiting to be destroyed.
    Dead = 3,
}

struct TxInner {
    /// Shared so that process context can use it without this lock (the CM and QP state
    /// changes must not run under it).
    qp: Option<Arc<RcQp>>,
    cq: Option<Cq<Priv>>,
    slots: KVec<TxBuf>,
    head: u64,
    tail: u64,
    /// Packets (with their pseudo header) waiting for the connection.
    pending: KVec<SkBuff>,
}

/// A connection we make to a peer.
#[pin_data]
pub(crate) struct TxConn {
    priv_: Arc<Priv>,
    dest: HwAddr,
    state: AtomicU8,
    /// The largest message the peer accepts (its receive buffer size).
    mtu: AtomicU32,
    #[pin]
    inner: SpinLockBh<TxInner>,
    #[pin]
    id: Mutex<Option<CmId<CmEnd>>>,
}

impl TxConn {
    fn new(p: Arc<Priv>, dest: HwAddr) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                priv_: p,
                dest,
                state: AtomicU8::new(TxState::New as u8),
                mtu: AtomicU32::new(0),
                inner <- new_spinlock_bh!(
                    TxInner {
                        qp: None,
                        cq: None,
                        slots: KVec::new(),
                        head: 0,
                        tail: 0,
                        pending: KVec::new(),
                    },
                    "ipoib:cm_tx"
                ),
                id <- new_mutex!(None, "ipoib:cm_tx_id"),
            }),
            GFP_ATOMIC,
        )
    }

    fn state(&self) -> TxState {
        // Acquire: a connection seen Up has its `mtu` and QP (stored before the Release).
        match self.state.load(Ordering::Acquire) {
            0 => TxState::New,
            1 => TxState::Connecting,
            2 => TxState::Up,
            _ => TxState::Dead,
        }
    }

    /// Keeps `skb` until the connection is up; returns it if it came up meanwhile.
    fn queue(&self, p: &Priv, mut skb: SkBuff, dst: &HwAddr) -> Option<SkBuff> {
        let mut inner = self.inner.lock();
        // The state moves to Up (and the queue is emptied) under this lock.
        match self.state() {
            TxState::Up => return Some(skb),
            TxState::Dead => {
                drop(inner);
                inc(&p.stats.tx_dropped);
                return None;
            }
            TxState::New | TxState::Connecting => {}
        }
        if inner.pending.len() >= MAX_CONNECT_QUEUE {
            drop(inner);
            inc(&p.stats.tx_dropped);
            return None;
        }
        // Restore the pseudo header so the packet can go through the queue again.
        match skb.push(header::PSEUDO_LEN as u32) {
            Ok(ph) => ph.copy_from_slice(&dst.0),
            Err(_) => {
                drop(inner);
                inc(&p.stats.tx_dropped);
                return None;
            }
        }
        // Keeps its route: once connected, it may turn out too long for the peer, and the
        // ICMP error needs the route.
        // On failure the skb is freed with the error.
        if inner.pending.push(skb, GFP_ATOMIC).is_err() {
            drop(inner);
            inc(&p.stats.tx_dropped);
        }
        None
    }

    fn send(&self, p: &Priv, dev: &NetDevice, mut skb: SkBuff, cm: &Cm) {
        let tx_size = cm.tx_size;
        let s = &p.stats;
        let mtu = self.mtu.load(Ordering::Relaxed);
        if skb.len() > mtu {
            // Longer than the peer's buffers (`ipoib_cm_skb_too_long`).
            inc(&s.tx_dropped);
            inc(&s.tx_errors);
            skb.send_too_big(mtu.saturating_sub(header::ENCAP_LEN as u32));
            return;
        }
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        let outstanding = inner.head - inner.tail;
        let wr_id = inner.head;
        let idx = ring_slot(wr_id, tx_size);
        let (Some(qp), Some(slot)) = (inner.qp.as_ref(), inner.slots.get_mut(idx)) else {
            drop(guard);
            inc(&s.tx_dropped);
            return;
        };
        if outstanding >= tx_size as u64 || slot.is_busy() {
            dev.stop_queue();
            drop(guard);
            inc(&s.tx_dropped);
            return;
        }
        // Mapped in place: the scatter entries are posted from the slot.
        let Some(sges) = crate::ud::map_for_send(p, slot, skb, (cm.tx_sge, cm.lkey)) else {
            return;
        };
        if qp.post_send(wr_id, sges).is_err() {
            slot.release();
            drop(guard);
            inc(&s.tx_errors);
            return;
        }
        inner.head += 1;
        if inner.head - inner.tail >= tx_size as u64 - 1 {
            dev.stop_queue();
        }
    }

    /// Frees completed sends (none if the CQ is armed); returns whether the ring is still more
    /// than half full.
    fn reap(&self, tx_size: usize) -> bool {
        let s = &self.priv_.stats;
        let mut batch = WcBatch::<WC_BATCH>::new();
        let mut failed = false;
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        loop {
            let wcs = match &inner.cq {
                Some(cq) if !cq.armed() => cq.poll_batch(&mut batch, WC_BATCH),
                _ => &[],
            };
            if wcs.is_empty() {
                break;
            }
            for wc in wcs {
                let idx = ring_slot(wc.wr_id(), tx_size);
                // Freed in its slot.
                let Some(len) = inner.slots.get_mut(idx).and_then(TxBuf::release) else {
                    continue;
                };
                inner.tail += 1;
                if wc.is_success() {
                    inc(&s.tx_packets);
                    s.tx_bytes.fetch_add(u64::from(len), Ordering::Relaxed);
                } else {
                    if !wc.is_flush() {
                        inc(&s.tx_errors);
                    }
                    failed = true;
                }
            }
        }
        let busy = inner.head - inner.tail > tx_size as u64 / 2;
        drop(guard);
        if failed {
            // The QP is in the error state: the connection is gone (C frees it, and the next
            // packet to the peer connects again).
            self.fail();
        }
        busy
    }

    fn fail(&self) {
        let prev = self.state.swap(TxState::Dead as u8, Ordering::Relaxed);
        if prev != TxState::Dead as u8 {
            let pending = core::mem::take(&mut self.inner.lock().pending);
            for _ in pending.iter() {
                inc(&self.priv_.stats.tx_dropped);
            }
            drop(pending);
            Priv::schedule_cm_work(&self.priv_);
        }
    }

    /// Creates the QP and CQ and sends the REQ (process context).
    fn connect(self: &Arc<Self>, p: &Arc<Priv>, cm: &Cm) -> Result {
        let gid = self.dest.gid();
        let ud = p.ud().ok_or(ENODEV)?;
        let ud_qpn = ud.qpn();
        // The path: the SA's on InfiniBand (resolved before the packet got here), built from
        // the GID on RoCE.
        let route = if p.ib {
            Route::Ib(ud.path_of(&gid).ok_or(EHOSTUNREACH())?)
        } else {
            Route::Roce(RoceReq {
                port: p.port,
                sgid_index: 0,
                sgid: Gid(p.gid()),
                dgid: Gid(gid),
                dmac: roce::mac_from_link_local_gid(&gid).ok_or(EINVAL)?,
                hop_limit: roce::hop_limit(&gid),
                mtu: Mtu::from_bytes(p.active_ib_mtu.load(Ordering::Relaxed)).ok_or(EINVAL)?,
                pkey: p.pkey,
            })
        };
        drop(ud);
        let pkey_index = u16::try_from(p.pkey_index.load(Ordering::Relaxed)).map_err(|_| EINVAL)?;
        let cq = Cq::new(&p.device, cm.tx_size as u32, 0, p.clone())?;
        let qp = RcQp::new(
            &cm.pd,
            &cq,
            &cm.rx_cq,
            cm.srq.as_ref(),
            &RcQpCaps {
                send_wr: cm.tx_size as u32,
                send_sge: cm.tx_sge as u32,
                recv_wr: 0,
                recv_sge: 0,
            },
        )?;
        qp.init(p.port, pkey_index)?;
        let mut slots = KVec::with_capacity(cm.tx_size, GFP_KERNEL)?;
        for _ in 0..cm.tx_size {
            slots.push(TxBuf::new(), GFP_KERNEL)?;
        }
        let id = CmId::new(
            &p.device,
            Arc::new(CmEnd::Active(self.clone()), GFP_KERNEL)?,
        )?;
        let data = CmData {
            qpn: ud_qpn,
            mtu: wire::BUF_SIZE,
        }
        .to_bytes();
        // No retries on InfiniBand, as C ("RFC draft warns against retries"); Ethernet drops
        // packets, so RoCE retries.
        let retries = if p.ib { 0 } else { ROCE_RETRIES };
        let params = ReqParams {
            service_id: wire::service_id(self.dest.qpn()),
            srq: cm.has_srq(),
            retry_count: retries,
            rnr_retry_count: retries,
            private: &data,
        };
        let qpn = qp.qpn();
        let qp = Arc::new(qp, GFP_KERNEL)?;
        // Send completions must raise events from the start (C arms it in `ipoib_cm_tx_init`).
        cq.arm();
        {
            let mut inner = self.inner.lock();
            inner.slots = slots;
            inner.cq = Some(cq);
            inner.qp = Some(qp);
        }
        // Events may arrive as soon as the REQ is out: the ID is in place first.
        let mut idg = self.id.lock();
        let r = match &route {
            Route::Ib(path) => id.send_req_ib(qpn, path, &params),
            Route::Roce(req) => id.send_req_roce(&p.device, qpn, req, &params),
        };
        *idg = Some(id);
        drop(idg);
        if self.state() == TxState::Dead {
            // Torn down meanwhile (the interface left connected mode): nobody else will
            // destroy what was just set up.
            self.destroy();
        }
        r
    }

    fn event(&self, id: &CmIdRef, event: &CmEvent<'_, CmEnd>) {
        match event {
            CmEvent::Rep { private, .. } => {
                if let Err(e) = self.established(id, private) {
                    pr_debug!("connection to QPN 0x{:06x}: {:?}\n", self.dest.qpn(), e);
                    self.fail();
                }
            }
            CmEvent::Dreq => {
                let _ = id.send_drep();
                self.fail();
            }
            CmEvent::Drep | CmEvent::TimewaitExit | CmEvent::Failed(_) => self.fail(),
            CmEvent::Rtu | CmEvent::Req { .. } | CmEvent::Other(_) => {}
        }
    }

    fn established(&self, id: &CmIdRef, private: &[u8]) -> Result {
        let data = CmData::parse(private).ok_or(EINVAL)?;
        let mtu = data.peer_mtu().ok_or(EINVAL)?;
        let qp = self.inner.lock().qp.clone().ok_or(ENODEV)?;
        id.modify_qp(&qp, QpState::Rtr)?;
        id.modify_qp(&qp, QpState::Rts)?;
        id.send_rtu()?;
        // The peer's buffers hold the IPoIB header too.
        self.mtu
            .store(mtu + header::ENCAP_LEN as u32, Ordering::Relaxed);
        let pending = {
            let mut inner = self.inner.lock();
            // Not if it was torn down meanwhile (`fail` marks it dead first).
            self.state
                .compare_exchange(
                    TxState::Connecting as u8,
                    TxState::Up as u8,
                    Ordering::Release,
                    Ordering::Relaxed,
                )
                .map_err(|_| ECONNRESET())?;
            core::mem::take(&mut inner.pending)
        };
        for skb in pending.into_iter() {
            skb.queue_xmit();
        }
        Ok(())
    }

    fn destroy(&self) {
        let id = self.id.lock().take();
        drop(id);
        let (qp, cq, slots, pending) = {
            let mut inner = self.inner.lock();
            (
                inner.qp.take(),
                inner.cq.take(),
                core::mem::take(&mut inner.slots),
                core::mem::take(&mut inner.pending),
            )
        };
        // The QP goes before its CQ, and before the buffers it may still read.
        drop(qp);
        drop(cq);
        drop(slots);
        drop(pending);
    }
}

impl Priv {
    /// Accepts a connection request (`ipoib_cm_req_handler`; CM workqueue).
    fn cm_accept(self: &Arc<Self>, new: &NewCm<CmEnd>, remote_qpn: u32, private: &[u8]) {
        let Some(peer) = CmData::parse(private) else {
            let _ = new.id().send_rej(false);
            return;
        };
        // Held to the end, so the resources cannot be freed as idle before the new connection
        // is listed (`cm_release_idle` takes it too).
        let _create = self.cm.create.lock();
        let Some(cm) = self.cm_resources_locked() else {
            let _ = new.id().send_rej(true);
            return;
        };
        let Some(nd) = self.netdev() else {
            let _ = new.id().send_rej(true);
            return;
        };
        if !cm.has_srq() && cm.passive.lock().len() >= cm.max_passive {
            // C's `max_nonsrq_conn_qp` check; only this function adds, under `create`.
            pr_debug!(
                "{}: connection from QPN 0x{:06x} rejected: {} without SRQ already\n",
                nd.name(),
                remote_qpn,
                cm.max_passive
            );
            let _ = new.id().send_rej(true);
            return;
        }
        let (recv_wr, recv_sge) = if cm.has_srq() {
            (0, 0)
        } else {
            (cm.rx_size as u32, cm.geom.sg)
        };
        let qp = match RcQp::new(
            &cm.pd,
            &cm.rx_cq,
            &cm.rx_cq,
            cm.srq.as_ref(),
            &RcQpCaps {
                send_wr: 1,
                send_sge: 1,
                recv_wr,
                recv_sge,
            },
        ) {
            Ok(qp) => qp,
            Err(_) => {
                let _ = new.id().send_rej(true);
                return;
            }
        };
        let ring = match new_ring(if cm.has_srq() { 0 } else { cm.rx_size }, GFP_KERNEL) {
            Ok(ring) => ring,
            Err(_) => {
                let _ = new.id().send_rej(true);
                return;
            }
        };
        let rx = match Arc::pin_init(
            pin_init!(RxConn {
                priv_: self.clone(),
                qp,
                ring <- new_spinlock_bh!(ring, "ipoib:cm_rx_conn_ring"),
                tag: NEXT_TAG.fetch_add(1, Ordering::Relaxed),
                id <- new_mutex!(None, "ipoib:cm_rx_id"),
                dead: AtomicBool::new(false),
                flushing: AtomicBool::new(false),
                last_rx: AtomicU64::new(jiffies()),
            }),
            GFP_KERNEL,
        ) {
            Ok(rx) => rx,
            Err(_) => {
                let _ = new.id().send_rej(true);
                return;
            }
        };
        let Ok(end) = Arc::new(CmEnd::Passive(rx.clone()), GFP_KERNEL) else {
            let _ = new.id().send_rej(true);
            return;
        };
        // Listed before its ID is adopted: from then on, the list is where it is destroyed.
        if cm.add_passive(rx.clone()).is_err() {
            let _ = new.id().send_rej(true);
            return;
        }
        DelayedWork::<Priv, CM_STALE_WORK>::queue(self, stale_scan_delay());
        if new.adopt(end, &rx.id).is_err() {
            // The CM destroys the unadopted ID; the work drops the listed connection.
            rx.fail();
            return;
        }
        let data = CmData {
            qpn: self.ud().map_or(0, |u| u.qpn()),
            mtu: wire::BUF_SIZE,
        }
        .to_bytes();
        let r = match rx.id.lock().as_ref() {
            Some(id) => id
                .modify_qp(&rx.qp, QpState::Init)
                .and_then(|()| id.modify_qp(&rx.qp, QpState::Rtr))
                .and_then(|()| id.modify_qp(&rx.qp, QpState::Rts))
                .and_then(|()| cm.fill_own_ring(self, &nd, &rx))
                .and_then(|()| id.send_rep(&rx.qp, 0, cm.has_srq(), &data)),
            None => Err(ENODEV),
        };
        match r {
            Ok(()) => pr_debug!(
                "connection from QPN 0x{:06x} (UD QPN 0x{:06x}) accepted\n",
                remote_qpn,
                peer.qpn
            ),
            Err(e) => {
                pr_debug!("accepting QPN 0x{:06x} failed: {:?}\n", remote_qpn, e);
                rx.fail();
            }
        }
    }
}

impl Priv {
    /// Whether the device can run connected mode: RC QPs receiving through an SRQ or, on a
    /// device without one, each into a ring of its own (the RC flag of the hardware address
    /// says so to peers).
    pub(crate) fn cm_capable(&self) -> bool {
        rx_sge_limit(self).1 > 0
    }

    /// The largest MTU of connected mode (`ipoib_cm_max_mtu`).
    pub(crate) fn cm_max_mtu(&self) -> u32 {
        RxGeometry::new(PAGE_SIZE as u32).max_mtu(rx_sge_limit(self).1)
    }

    /// Returns the connected-mode resources, if allocated.
    pub(crate) fn cm(&self) -> Option<Arc<Cm>> {
        self.cm.res.get_arc()
    }

    /// Borrows the connected-mode resources, if allocated, in a read-side critical section
    /// (data path).
    pub(crate) fn cm_in<'a>(&'a self, rcu: &'a ReadGuard) -> Option<ArcBorrow<'a, Cm>> {
        self.cm.res.get(rcu)
    }

    /// Returns whether the interface is in connected mode.
    pub(crate) fn cm_connected(&self) -> bool {
        self.cm.connected.load(Ordering::Relaxed)
    }

    /// Returns the connected-mode resources, allocating them first if needed (process
    /// context; `None` if the interface is down or memory is short).
    pub(crate) fn cm_resources(self: &Arc<Self>) -> Option<Arc<Cm>> {
        let _guard = self.cm.create.lock();
        self.cm_resources_locked()
    }

    /// [`Priv::cm_resources`] with `cm.create` held.
    fn cm_resources_locked(self: &Arc<Self>) -> Option<Arc<Cm>> {
        if let Some(cm) = self.cm() {
            return Some(cm);
        }
        let nd = self.netdev()?;
        if !nd.is_running() {
            return None;
        }
        match Cm::new(self, &nd) {
            Ok(cm) => {
                drop(self.cm.res.replace(Some(cm.clone())));
                let how = if cm.has_srq() {
                    ""
                } else {
                    " (no SRQ: a receive ring per connection)"
                };
                pr_info!("{}: connected-mode resources allocated{}\n", nd.name(), how);
                Some(cm)
            }
            Err(e) => {
                pr_warn!(
                    "{}: cannot allocate connected-mode resources: {:?}\n",
                    nd.name(),
                    e
                );
                None
            }
        }
    }

    /// Listens for connections to the UD QP `qpn` (`ipoib_cm_dev_open`, from `ndo_open`).
    pub(crate) fn cm_listen(self: &Arc<Self>, qpn: u32) -> Result {
        let end = Arc::new(CmEnd::Listener(self.clone()), GFP_KERNEL)?;
        let id = CmId::new(&self.device, end)?;
        id.listen(wire::service_id(qpn))?;
        *self.cm.listener.lock() = Some(id);
        Ok(())
    }

    /// Stops listening and frees every connection and the connected-mode resources
    /// (`ndo_stop` with NAPI disabled, or when the interface is freed).
    pub(crate) fn cm_close(self: &Arc<Self>) {
        let listener = self.cm.listener.lock().take();
        drop(listener);
        let cm = {
            let _guard = self.cm.create.lock();
            self.cm.res.replace(None)
        };
        if let Some(cm) = cm {
            self.cm_free(cm);
        }
        // After the shutdown, which queues the work (no ID is left to queue it again), and
        // after the stale scan, which may queue it too.
        DelayedWork::<Priv, CM_STALE_WORK>::cancel_sync(self);
        self.cancel_cm_work();
    }

    /// Frees the connected-mode resources when no connection needs them any more: the
    /// interface left connected mode and no peer is connected. The caller makes sure NAPI
    /// does not poll meanwhile (it is disabled or the interface is down).
    pub(crate) fn cm_release_idle(self: &Arc<Self>) {
        let cm = {
            let _guard = self.cm.create.lock();
            let idle = self
                .cm()
                .is_some_and(|cm| !self.cm_connected() && !cm.has_passive());
            if idle {
                self.cm.res.replace(None)
            } else {
                None
            }
        };
        if let Some(cm) = cm {
            self.cm_free(cm);
        }
    }

    /// Tears down the connections of resources taken out of `cm.res` and frees them.
    fn cm_free(&self, cm: Arc<Cm>) {
        // Transmits and NAPI polls that took a reference before `res` was emptied finish
        // first, so that the last reference, which destroys the QPs and CQs, is this one.
        crate::rust_bindings::net::synchronize_net();
        cm.shutdown();
        drop(cm);
        if let Some(nd) = self.netdev() {
            pr_info!("{}: connected-mode resources freed\n", nd.name());
        }
    }

    /// Connected-mode housekeeping (process context): requests new connections, destroys
    /// broken ones, and frees the resources once datagram mode no longer needs them.
    pub(crate) fn cm_work(self: &Arc<Self>) {
        let Some(cm) = self.cm() else {
            return;
        };
        cm.start_connections(self);
        cm.reap(self);
        let idle = !self.cm_connected() && !cm.has_passive();
        drop(cm);
        if !idle {
            return;
        }
        // Freeing needs NAPI stopped, which needs RTNL; `ndo_stop` holds RTNL while it waits
        // for this work, so never block on it: try again later instead.
        let Some(_rtnl) = crate::rust_bindings::net::Rtnl::try_lock() else {
            crate::rust_bindings::delay::msleep(20);
            Priv::schedule_cm_work(self);
            return;
        };
        self.with_napi_stopped(|| self.cm_release_idle());
    }

    /// Tears down the passive connections that received nothing for `cm_rx_timeout` seconds,
    /// as a peer that went away without a DREQ leaves them (`ipoib_cm_stale_task`); runs
    /// again later while any are left.
    pub(crate) fn cm_reap_stale(self: &Arc<Self>) {
        let Some(cm) = self.cm() else {
            return;
        };
        let timeout = secs_to_jiffies(rx_timeout_secs());
        let now = jiffies();
        let mut stale = KVec::new();
        let mut live = 0;
        for r in cm.passive.lock().iter() {
            if r.dead.load(Ordering::Relaxed) {
                continue;
            }
            let quiet = now.wrapping_sub(r.last_rx.load(Ordering::Relaxed));
            if quiet <= timeout || stale.push(r.clone(), GFP_ATOMIC).is_err() {
                live += 1;
            }
        }
        for r in stale.iter() {
            pr_debug!(
                "connection on QPN 0x{:06x} went quiet: reaped\n",
                r.qp.qpn()
            );
            r.fail();
        }
        if live > 0 {
            DelayedWork::<Priv, CM_STALE_WORK>::queue(self, stale_scan_delay());
        }
    }

    /// Runs `f` with NAPI disabled if it is enabled (RTNL held, which serialises enabling).
    pub(crate) fn with_napi_stopped(&self, f: impl FnOnce()) {
        let was_enabled = self.napi.disable();
        f();
        if was_enabled {
            self.napi.enable();
            // A completion event that came while NAPI was disabled scheduled nothing, and its
            // CQ is only armed again by a poll: poll once, or the data path stalls.
            self.napi.schedule();
        }
    }

    /// Tears down the connections to peers (leaving connected mode, as C flushes its paths).
    pub(crate) fn cm_flush_active(self: &Arc<Self>) {
        if let Some(cm) = self.cm() {
            for t in cm.active.lock().iter() {
                t.fail();
            }
            cm.reap(self);
        }
    }
}

/// Connected-mode state of an interface.
#[pin_data]
pub(crate) struct CmState {
    /// Connected mode is on (`IPOIB_FLAG_ADMIN_CM`).
    pub(crate) connected: AtomicBool,
    /// The listening CM ID while the interface is up.
    #[pin]
    listener: Mutex<Option<CmId<CmEnd>>>,
    /// The resources, while connected mode or a peer needs them; published with RCU for the
    /// data path.
    res: RcuArc<Cm>,
    /// Serialises allocating and freeing `res`.
    #[pin]
    create: Mutex<()>,
}

impl CmState {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            connected: AtomicBool::new(false),
            listener <- new_mutex!(None, "ipoib:cm_listener"),
            res: RcuArc::new(None),
            create <- new_mutex!((), "ipoib:cm_create"),
        })
    }
}
