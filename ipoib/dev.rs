// SPDX-License-Identifier: GPL-2.0

//! One IPoIB network interface: its state and its `net_device_ops`/`header_ops`.

use crate::mcast::Group;
use crate::proto::addr::HwAddr;
use crate::proto::child::{self, ChildKind};
use crate::proto::{header, link, mtu, params};
use crate::rust_bindings::error::code::EOPNOTSUPP;
use crate::rust_bindings::net::{
    self, fill_cstr, Coalesce, DrvInfo, LinkSettings, LinkStats, McList, NetDevice, RingParam,
    SkBuff, SkBuffRef,
};
use crate::rust_bindings::rcu::{RcuArc, ReadGuard};
use crate::rust_bindings::rdma::{
    Device, EventHandler, EventRegistration, McMember, PortEvent, PortState,
};
use crate::rust_bindings::sync::{new_spinlock_bh, SpinLockBh};
use crate::rust_bindings::workqueue::{
    cancel_arc_work_sync, impl_delayed_work, msecs_to_jiffies, DelayedWork,
};
use crate::ud::Ud;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow, Mutex};
use kernel::types::ARef;
use kernel::workqueue::{self, impl_has_work, new_work, Work, WorkItem};

/// Counters of one interface; relaxed atomics, summed by `ndo_get_stats64`.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) rx_packets: AtomicU64,
    pub(crate) rx_bytes: AtomicU64,
    pub(crate) rx_dropped: AtomicU64,
    pub(crate) rx_errors: AtomicU64,
    pub(crate) multicast: AtomicU64,
    pub(crate) tx_packets: AtomicU64,
    pub(crate) tx_bytes: AtomicU64,
    pub(crate) tx_dropped: AtomicU64,
    pub(crate) tx_errors: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The state of one IPoIB interface, shared by its operations, NAPI poll and work items.
#[pin_data]
pub(crate) struct Priv {
    /// The RDMA device (a reference, released when the interface is freed).
    pub(crate) device: ARef<Device>,
    /// The port number.
    pub(crate) port: u32,
    /// The port's link layer is InfiniBand: destinations are resolved and groups joined
    /// through the subnet administrator. Otherwise it is RoCE.
    pub(crate) ib: bool,
    /// The Ethernet device under a RoCE port; its IPv6 layer must accept the multicast groups.
    pub(crate) underlay: Option<ARef<NetDevice>>,
    /// GID index 0 of the port: the GID part of the hardware address (it follows GID 0 when
    /// the GID it had leaves the table).
    #[pin]
    gid: SpinLockBh<[u8; 16]>,
    /// The address's GID left the table and what referred to it was let go.
    gid_released: AtomicBool,
    /// The P_Key (full-member bit set).
    pub(crate) pkey: u16,
    /// The index of the P_Key in the port's table while the interface is up and the table
    /// holds it; `NO_PKEY_INDEX` otherwise (the interface then stays carrier-off, as C's
    /// does without `IPOIB_PKEY_ASSIGNED`).
    pub(crate) pkey_index: AtomicU32,
    /// For a P_Key child: its parent and how it was created.
    pub(crate) child: Option<ChildOf>,
    /// For a parent: its children, under RTNL (added after registration, removed in
    /// `ndo_uninit`).
    #[pin]
    pub(crate) children: Mutex<KVec<Option<ChildEntry>>>,
    /// `umcast` (sysfs) / `IFLA_IPOIB_UMCAST`: ignore multicast groups userspace joined
    /// through the SA (`IPOIB_FLAG_UMCAST`); only meaningful on InfiniBand ports.
    pub(crate) umcast: AtomicBool,
    /// `ethtool -C rx-usecs/rx-frames`, kept even where the device cannot moderate its CQs.
    #[pin]
    pub(crate) coalesce: SpinLockBh<Coalesce>,
    /// The Q_Key of every datagram: fixed on RoCE, the broadcast group's on InfiniBand (0
    /// until it is joined).
    pub(crate) qkey: AtomicU32,
    /// The broadcast group's record, once joined (InfiniBand): its parameters are those of
    /// every other group and path.
    #[pin]
    pub(crate) bcast_rec: SpinLockBh<Option<McMember>>,
    /// The data path is up (`IPOIB_FLAG_OPER_UP`): groups may be joined, and completions
    /// may wake a stopped send queue.
    pub(crate) oper_up: AtomicBool,
    /// A port event asked for the paths and groups to be flushed (InfiniBand).
    flush_requested: AtomicBool,
    /// The broadcast address.
    pub(crate) broadcast: HwAddr,
    /// The IB MTU receive buffers are sized for (the port's maximum).
    pub(crate) max_ib_mtu: u32,
    /// The IB MTU the link carries now (on RoCE it follows the underlay's MTU); read at
    /// creation because the port cannot be queried under RTNL.
    pub(crate) active_ib_mtu: AtomicU32,
    /// The port's `active_speed` and `active_width`, for ethtool.
    #[pin]
    pub(crate) link_speed: SpinLockBh<(u16, u8)>,
    /// The MTU the administrator asked for (`ip link set mtu`); the interface uses the
    /// smaller of it and what the link carries (`admin_mtu` in C).
    pub(crate) admin_mtu: AtomicU32,
    /// Set while the driver itself changes the MTU, so that `admin_mtu` keeps the request.
    internal_mtu_change: AtomicBool,
    /// Whether the port is active, as the last port event said: sends while it is down would
    /// fail and put the QP in the error state, so the data path drops them instead.
    pub(crate) port_up: AtomicBool,
    /// Entries of the receive and send rings (`ethtool -g`): the module parameters' at
    /// creation, changed by `ethtool -G`; read when the rings are made.
    pub(crate) rx_ring: AtomicU32,
    pub(crate) tx_ring: AtomicU32,
    /// Interface counters.
    pub(crate) stats: Stats,
    /// The NAPI context polling both completion queues.
    pub(crate) napi: net::Napi<Priv>,
    /// The verbs resources and rings; `None` once the interface is being removed. Published
    /// with RCU: the data path reads it without a lock or a reference.
    pub(crate) ud: RcuArc<Ud>,
    /// MGIDs of the groups the interface should be attached to (computed in `set_rx_mode`).
    #[pin]
    pub(crate) mcast_wanted: SpinLockBh<KVec<[u8; 16]>>,
    /// The groups the interface is in or joining (process context only).
    #[pin]
    pub(crate) mcast_groups: Mutex<KVec<Group>>,
    /// The interface's debugfs files, while it is registered.
    #[pin]
    pub(crate) debugfs: Mutex<Option<crate::debugfs::Files>>,
    /// Applies `mcast_wanted` in process context.
    #[pin]
    mcast_work: Work<Priv, MCAST_WORK>,
    /// Joins again the groups whose join failed, after their backoff.
    #[pin]
    pub(crate) mcast_retry_work: DelayedWork<Priv, MCAST_RETRY_WORK>,
    /// Creates the address handles of destinations packets wait for.
    #[pin]
    path_work: Work<Priv, PATH_WORK>,
    /// Follows port events (carrier, MTU) in process context.
    #[pin]
    event_work: Work<Priv, EVENT_WORK>,
    /// Restarts the data path after a send error left the QP in the error state.
    #[pin]
    reset_work: Work<Priv, RESET_WORK>,
    /// Requests the connections the data path created and destroys broken ones.
    #[pin]
    cm_work: Work<Priv, CM_WORK>,
    /// Reaps passive connections that went quiet (`stale_task`).
    #[pin]
    pub(crate) cm_stale_work: DelayedWork<Priv, CM_STALE_WORK>,
    /// Tells the peers the new hardware address once the link is up again (`ethtool -G`).
    #[pin]
    announce_work: DelayedWork<Priv, ANNOUNCE_WORK>,
    /// Checks [`Priv::announce`] has left before it gives up.
    announce_tries: AtomicU32,
    /// Connected mode.
    #[pin]
    pub(crate) cm: crate::cm::CmState,
    /// The network device, for work items; cleared before it is unregistered.
    #[pin]
    netdev: Mutex<Option<ARef<NetDevice>>>,
    /// The device event handler; dropped before the network device is unregistered.
    #[pin]
    events: Mutex<Option<EventRegistration<Priv>>>,
}

/// `Priv::pkey_index` when the P_Key is not in the port's table.
pub(crate) const NO_PKEY_INDEX: u32 = u32::MAX;

/// The parent of a P_Key child.
pub(crate) struct ChildOf {
    /// The parent's state.
    pub(crate) parent: Arc<Priv>,
    /// The parent's device (a reference, as C's `dev_hold(priv->parent)`).
    pub(crate) parent_dev: ARef<NetDevice>,
    /// How the child was created.
    pub(crate) kind: ChildKind,
}

/// A child as its parent lists it.
pub(crate) struct ChildEntry {
    pub(crate) dev: ARef<NetDevice>,
    pub(crate) priv_: Arc<Priv>,
}

pub(crate) const MCAST_WORK: u64 = 0;
const PATH_WORK: u64 = 1;
const EVENT_WORK: u64 = 2;
const RESET_WORK: u64 = 3;
const CM_WORK: u64 = 4;
pub(crate) const CM_STALE_WORK: u64 = 5;
pub(crate) const MCAST_RETRY_WORK: u64 = 6;
const ANNOUNCE_WORK: u64 = 7;
/// How often, and how many times, [`Priv::announce`] checks whether the link is up.
const ANNOUNCE_POLL_MS: u32 = 100;
const ANNOUNCE_TRIES: u32 = 100;

impl_has_work! {
    impl HasWork<Self, MCAST_WORK> for Priv { self.mcast_work }
    impl HasWork<Self, PATH_WORK> for Priv { self.path_work }
    impl HasWork<Self, EVENT_WORK> for Priv { self.event_work }
    impl HasWork<Self, RESET_WORK> for Priv { self.reset_work }
    impl HasWork<Self, CM_WORK> for Priv { self.cm_work }
}

impl WorkItem<CM_WORK> for Priv {
    type Pointer = Arc<Priv>;

    fn run(this: Arc<Priv>) {
        this.cm_work();
    }
}

impl_delayed_work!(Priv, cm_stale_work, CM_STALE_WORK, cm_reap_stale);
impl_delayed_work!(Priv, mcast_retry_work, MCAST_RETRY_WORK, mcast_sync);
impl_delayed_work!(Priv, announce_work, ANNOUNCE_WORK, announce);

impl WorkItem<RESET_WORK> for Priv {
    type Pointer = Arc<Priv>;

    fn run(this: Arc<Priv>) {
        this.reset_data_path();
    }
}

impl WorkItem<EVENT_WORK> for Priv {
    type Pointer = Arc<Priv>;

    fn run(this: Arc<Priv>) {
        this.port_changed();
    }
}

impl EventHandler for Priv {
    fn port_event(this: ArcBorrow<'_, Self>, port: u32, event: PortEvent) {
        if port != this.port {
            return;
        }
        match event {
            PortEvent::Active | PortEvent::Err | PortEvent::LidChange | PortEvent::GidChange => {}
            // C's heavy and light flushes: the P_Key's index is looked up again, the groups
            // joined again. On RoCE there is one P_Key (0xffff) and no subnet manager.
            PortEvent::PkeyChange | PortEvent::ClientReregister if this.ib => {}
            PortEvent::PkeyChange | PortEvent::ClientReregister | PortEvent::Other => return,
        }
        if this.ib && !matches!(event, PortEvent::GidChange | PortEvent::PkeyChange) {
            // Paths and groups may have changed with the LIDs or the subnet manager (a P_Key
            // change is followed on its own, `follow_pkey`).
            this.flush_requested.store(true, Ordering::Relaxed);
        }
        // Each child has its own handler.
        let this: Arc<Priv> = this.into();
        let _ = workqueue::system().enqueue::<Arc<Priv>, EVENT_WORK>(this);
    }
}
net::impl_has_napi!(Priv, napi);

impl WorkItem<MCAST_WORK> for Priv {
    type Pointer = Arc<Priv>;

    fn run(this: Arc<Priv>) {
        this.mcast_sync();
    }
}

impl WorkItem<PATH_WORK> for Priv {
    type Pointer = Arc<Priv>;

    fn run(this: Arc<Priv>) {
        if let Some(ud) = this.ud() {
            ud.resolve_pending(&this);
        }
    }
}

/// What the interface is built from.
pub(crate) struct PrivInit {
    pub(crate) device: ARef<Device>,
    pub(crate) port: u32,
    pub(crate) ib: bool,
    pub(crate) underlay: Option<ARef<NetDevice>>,
    pub(crate) gid: [u8; 16],
    pub(crate) pkey: u16,
    pub(crate) qkey: u32,
    pub(crate) max_ib_mtu: u32,
    pub(crate) active_ib_mtu: u32,
    pub(crate) port_up: bool,
    pub(crate) link_speed: (u16, u8),
    pub(crate) child: Option<ChildOf>,
}

impl Priv {
    /// Creates the shared state (no verbs resources yet).
    pub(crate) fn new(init: PrivInit) -> Result<Arc<Self>> {
        let mut wanted = KVec::new();
        let broadcast = HwAddr::broadcast(child::effective_pkey(init.pkey));
        wanted.push(broadcast.gid(), GFP_KERNEL)?;
        Arc::pin_init(
            pin_init!(Self {
                device: init.device,
                port: init.port,
                ib: init.ib,
                underlay: init.underlay,
                gid <- new_spinlock_bh!(init.gid, "ipoib:gid"),
                gid_released: AtomicBool::new(false),
                pkey: child::effective_pkey(init.pkey),
                pkey_index: AtomicU32::new(NO_PKEY_INDEX),
                child: init.child,
                children <- new_mutex!(KVec::new(), "ipoib:children"),
                umcast: AtomicBool::new(false),
                coalesce <- new_spinlock_bh!(Coalesce::default(), "ipoib:coalesce"),
                qkey: AtomicU32::new(init.qkey),
                bcast_rec <- new_spinlock_bh!(None, "ipoib:bcast_rec"),
                oper_up: AtomicBool::new(false),
                flush_requested: AtomicBool::new(false),
                broadcast,
                max_ib_mtu: init.max_ib_mtu,
                active_ib_mtu: AtomicU32::new(init.active_ib_mtu),
                port_up: AtomicBool::new(init.port_up),
                admin_mtu: AtomicU32::new(mtu::ud_mtu(init.active_ib_mtu)),
                internal_mtu_change: AtomicBool::new(false),
                link_speed <- new_spinlock_bh!(init.link_speed, "ipoib:link_speed"),
                rx_ring: AtomicU32::new(crate::params::recv_queue_size::get().unsigned_abs()),
                tx_ring: AtomicU32::new(crate::params::send_queue_size::get().unsigned_abs()),
                stats: Stats::default(),
                napi: net::Napi::new(),
                ud: RcuArc::new(None),
                mcast_wanted <- new_spinlock_bh!(wanted, "ipoib:mcast_wanted"),
                mcast_groups <- new_mutex!(KVec::new(), "ipoib:mcast_groups"),
                debugfs <- new_mutex!(None, "ipoib:debugfs"),
                mcast_work <- new_work!("ipoib:mcast_work"),
                mcast_retry_work <- DelayedWork::new(),
                path_work <- new_work!("ipoib:path_work"),
                event_work <- new_work!("ipoib:event_work"),
                reset_work <- new_work!("ipoib:reset_work"),
                cm_work <- new_work!("ipoib:cm_work"),
                cm_stale_work <- DelayedWork::new(),
                announce_work <- DelayedWork::new(),
                announce_tries: AtomicU32::new(0),
                cm <- crate::cm::CmState::new(),
                netdev <- new_mutex!(None, "ipoib:netdev"),
                events <- new_mutex!(None, "ipoib:events"),
            }),
            GFP_KERNEL,
        )
    }

    /// Queues address resolution for the packets waiting in the data path.
    pub(crate) fn schedule_path_work(this: ArcBorrow<'_, Priv>) {
        // The data path only holds a borrow; the queued item needs a reference of its own.
        let this: Arc<Priv> = this.into();
        let _ = workqueue::system().enqueue::<Arc<Priv>, PATH_WORK>(this);
    }

    /// Queues connected-mode housekeeping ([`Priv::cm_work`]).
    pub(crate) fn schedule_cm_work(this: &Arc<Priv>) {
        let _ = workqueue::system().enqueue::<Arc<Priv>, CM_WORK>(this.clone());
    }

    /// Waits for queued connected-mode work and cancels what did not start.
    pub(crate) fn cancel_cm_work(self: &Arc<Self>) {
        cancel_arc_work_sync::<_, CM_WORK>(self);
    }

    /// Returns the GID of the interface's hardware address.
    pub(crate) fn gid(&self) -> [u8; 16] {
        *self.gid.lock()
    }

    /// Follows a change of the port's GID table (`ipoib_dev_addr_changed_valid`). The address
    /// was made from GID 0 and users cannot change it here, so it is valid while GID 0 is the
    /// same. When GID 0 is gone (on RoCE: the underlay's MAC changed), what still refers to
    /// the old GID (address handles, connections) is let go, since it keeps the table from
    /// reusing the slot; when GID 0 is valid again the address takes it and the stack is told.
    ///
    /// Only while the port is active: a link going down may empty the table, which fills
    /// again when it comes back.
    fn follow_gid(self: &Arc<Self>, nd: &NetDevice, port_active: bool) {
        let cur = self.gid();
        let gid0 = self
            .device
            .query_gid(self.port, 0)
            .ok()
            .filter(|g| g.0 != [0; 16]);
        if gid0.is_some_and(|g| g.0 == cur) {
            self.gid_released.store(false, Ordering::Relaxed);
            return;
        }
        if !port_active {
            return;
        }
        let rtnl = net::Rtnl::lock();
        if !self.gid_released.swap(true, Ordering::Relaxed) {
            if let Some(cm) = self.cm() {
                cm.shutdown();
            }
            if nd.is_running() && self.pkey_index.load(Ordering::Relaxed) != NO_PKEY_INDEX {
                self.restart_data_path(nd);
            }
        }
        let Some(gid0) = gid0 else {
            pr_info!(
                "{}: port GID {} left the table; waiting for a GID 0\n",
                nd.name(),
                crate::proto::addr::GidFmt(&cur)
            );
            return;
        };
        *self.gid.lock() = gid0.0;
        self.gid_released.store(false, Ordering::Relaxed);
        if let Some(mut addr) = nd.dev_addr::<20>() {
            addr[4..].copy_from_slice(&gid0.0);
            nd.set_dev_addr(&rtnl, &addr);
            nd.notify_addr_changed(&rtnl);
        }
        drop(rtnl);
        pr_info!(
            "{}: port GID changed, hardware address now uses {}\n",
            nd.name(),
            crate::proto::addr::GidFmt(&gid0.0)
        );
    }

    /// Returns the network device while it is registered.
    pub(crate) fn netdev(&self) -> Option<ARef<NetDevice>> {
        self.netdev.lock().clone()
    }

    /// Returns the most receive and send ring entries the device allows (`ethtool -g`):
    /// its queues' limits (an SRQ's too for receiving, in connected mode) within the driver's.
    pub(crate) fn ring_max(&self) -> (u32, u32) {
        let qp = self.device.max_qp_wr();
        let srq = self.device.max_srq_wr();
        let rx_limit = if srq > 0 { qp.min(srq) } else { qp };
        (
            params::ring_max(rx_limit, params::MIN_QUEUE_SIZE),
            params::ring_max(qp, params::MIN_SEND_QUEUE_SIZE),
        )
    }

    /// Returns the verbs resources, if the interface still has them.
    pub(crate) fn ud(&self) -> Option<Arc<Ud>> {
        self.ud.get_arc()
    }

    fn port_active(&self) -> bool {
        let active = self
            .device
            .cached_port_state(self.port)
            .is_ok_and(|s| s == PortState::Active);
        self.port_up.store(active, Ordering::Relaxed);
        active
    }

    /// Starts following port events for `ndev`, the interface's registered device.
    pub(crate) fn attach_netdev(self: &Arc<Self>, ndev: &NetDevice) -> Result {
        *self.netdev.lock() = Some(ARef::from(ndev));
        let reg = EventRegistration::new(&self.device, self.clone())?;
        *self.events.lock() = Some(reg);
        Ok(())
    }

    /// Stops following port events and drops the device reference, from `ndo_uninit` (RTNL
    /// held) or when registration failed: unregistration waits for device references to go.
    /// Work items already queued find no device and return; [`Priv::release`] cancels them.
    pub(crate) fn detach_netdev(&self) {
        let events = self.events.lock().take();
        drop(events);
        let nd = self.netdev.lock().take();
        drop(nd);
    }

    /// Queues a re-read of the port (carrier, link MTU), for this interface and its children.
    pub(crate) fn schedule_port_check(this: &Arc<Priv>) {
        let _ = workqueue::system().enqueue::<Arc<Priv>, EVENT_WORK>(this.clone());
        for e in this.children.lock().iter().flatten() {
            let _ = workqueue::system().enqueue::<Arc<Priv>, EVENT_WORK>(e.priv_.clone());
        }
    }

    /// Queues a re-read of the port for this interface only.
    pub(crate) fn schedule_port_check_one(this: &Arc<Priv>) {
        let _ = workqueue::system().enqueue::<Arc<Priv>, EVENT_WORK>(this.clone());
    }

    /// Queues a restart of the data path (the send side reported an error).
    pub(crate) fn schedule_reset(this: &Arc<Priv>) {
        let _ = workqueue::system().enqueue::<Arc<Priv>, RESET_WORK>(this.clone());
    }

    /// Restarts the data path as C's TX timeout work does (`ipoib_stop` + `ipoib_open` under
    /// RTNL) if the QP left RTS: a send that fails, or soft-RoCE losing its link, moves the QP
    /// to the error state, which flushes every receive and stops all traffic until the QP is
    /// brought up again.
    fn reset_data_path(self: &Arc<Self>) {
        let Some(nd) = self.netdev.lock().clone() else {
            return;
        };
        let _rtnl = net::Rtnl::lock();
        if !nd.is_running() {
            return;
        }
        let Some(ud) = self.ud() else {
            return;
        };
        if ud.qp_ok() || self.pkey_index.load(Ordering::Relaxed) == NO_PKEY_INDEX {
            return;
        }
        pr_warn!(
            "{}: QP in error state, restarting the data path\n",
            nd.name()
        );
        self.restart_data_path(&nd);
    }

    /// Brings the data path of a running interface up (RTNL held): the P_Key's index, the
    /// QP and rings, the connected-mode listener, the groups; carrier once the broadcast group
    /// is attached (`ipoib_ib_dev_open` + `ipoib_ib_dev_up`). Without the P_Key in the port's
    /// table nothing starts and the carrier stays off, as C's without `IPOIB_PKEY_ASSIGNED`;
    /// a P_Key change event tries again.
    fn data_path_up(self: &Arc<Self>, nd: &NetDevice) -> Result {
        let ud = self.ud().ok_or(ENODEV)?;
        // The device's table, not ib_core's cache, as C's `ipoib_pkey_dev_check_presence`.
        let Some(index) = self.device.find_pkey(self.port, self.pkey) else {
            pr_info!(
                "{}: P_Key 0x{:04x} not in the port's table: carrier stays off\n",
                nd.name(),
                self.pkey
            );
            self.pkey_index.store(NO_PKEY_INDEX, Ordering::Relaxed);
            return Ok(());
        };
        self.pkey_index.store(u32::from(index), Ordering::Relaxed);
        if let Err(e) = ud.open(self, nd) {
            self.pkey_index.store(NO_PKEY_INDEX, Ordering::Relaxed);
            return Err(e);
        }
        if self.cm_capable() {
            if let Err(e) = self.cm_listen(ud.qpn()) {
                pr_warn!("{}: cannot listen for connections: {:?}\n", nd.name(), e);
            }
            if self.cm_connected() && self.cm_resources().is_none() {
                pr_warn!(
                    "{}: connected mode without resources: datagrams only\n",
                    nd.name()
                );
            }
        }
        self.oper_up.store(true, Ordering::Release);
        // Read before the joins start. The core's cached state may be older than the port's
        // (its update is work of its own), and the broadcast join has the port read again
        // when it completes (`port_changed`, from the port itself): that later reading must
        // not be overwritten by this one, or sends are dropped with the carrier on.
        let active = self.port_active();
        self.mcast_sync();
        if active && self.broadcast_attached() {
            nd.carrier_on();
        } else if !self.ib {
            pr_info!(
                "{}: port {} not active or broadcast group not attached: carrier stays off\n",
                nd.name(),
                self.port
            );
        }
        Ok(())
    }

    /// Takes the data path down (RTNL held): groups left, QP stopped and its buffers, paths
    /// and address handles freed, connections closed (`ipoib_ib_dev_down` +
    /// `ipoib_ib_dev_stop`).
    /// Stops the send queue before the data path goes down while the interface stays up
    /// (RTNL held). The data path is marked down first: otherwise a NAPI poll that frees
    /// sends could wake the queue again before NAPI is disabled, and the stack would send on
    /// a QP being reset (seen as `post_send failed: EINVAL` during `ethtool -G`).
    fn stop_sending(&self, nd: &NetDevice) {
        self.oper_up.store(false, Ordering::Release);
        nd.tx_disable();
    }

    fn data_path_down(self: &Arc<Self>, nd: &NetDevice) {
        nd.carrier_off();
        self.oper_up.store(false, Ordering::Release);
        cancel_arc_work_sync::<_, MCAST_WORK>(self);
        DelayedWork::<Priv, MCAST_RETRY_WORK>::cancel_sync(self);
        cancel_arc_work_sync::<_, PATH_WORK>(self);
        self.mcast_flush();
        if self.pkey_index.load(Ordering::Relaxed) != NO_PKEY_INDEX {
            if let Some(ud) = self.ud() {
                ud.stop(self);
            }
        }
        // NAPI is stopped: the connected-mode CQs can go.
        self.cm_close();
        if self.ib {
            // The next broadcast join gives the Q_Key again.
            self.qkey.store(0, Ordering::Relaxed);
        }
        self.pkey_index.store(NO_PKEY_INDEX, Ordering::Relaxed);
    }

    /// Stops and restarts the data path of a running interface (RTNL held): QP reset, rings
    /// refilled, paths and address handles dropped (in process context, once no send uses
    /// them), groups joined again.
    fn restart_data_path(self: &Arc<Self>, nd: &NetDevice) {
        self.stop_sending(nd);
        self.data_path_down(nd);
        if let Err(e) = self.data_path_up(nd) {
            pr_err!("{}: cannot restart the data path: {:?}\n", nd.name(), e);
            return;
        }
        nd.wake_queue();
    }

    /// Gives the interface receive and send rings of `rx` and `tx` entries (`ethtool -G`,
    /// RTNL held): the data path stops, the UD QP and its CQs are made anew with the new
    /// sizes (connected mode's when next needed), and the data path starts again. The new
    /// QP has another number, so the hardware address changes and the peers are told, as
    /// after a GID change. If the new QP cannot be made, the old one stays, with its sizes.
    pub(crate) fn resize_rings(
        self: &Arc<Self>,
        rtnl: &net::Rtnl,
        nd: &NetDevice,
        rx: u32,
        tx: u32,
    ) -> Result {
        self.ud().ok_or(ENODEV)?;
        let running = nd.is_running();
        if running {
            self.stop_sending(nd);
            self.data_path_down(nd);
        }
        let old = (
            self.rx_ring.swap(rx, Ordering::Relaxed),
            self.tx_ring.swap(tx, Ordering::Relaxed),
        );
        let made = Ud::new(self);
        let result = match made {
            Ok(ud) => {
                let qpn = ud.qpn();
                let old_ud = self.ud.replace(Some(ud));
                drop(old_ud);
                if let Some(mut addr) = nd.dev_addr::<20>() {
                    addr[1..4].copy_from_slice(&qpn.to_be_bytes()[1..]);
                    nd.set_dev_addr(rtnl, &addr);
                    nd.notify_addr_changed(rtnl);
                }
                Ok(())
            }
            Err(e) => {
                pr_warn!(
                    "{}: cannot make rings of {}/{}: {:?}\n",
                    nd.name(),
                    rx,
                    tx,
                    e
                );
                self.rx_ring.store(old.0, Ordering::Relaxed);
                self.tx_ring.store(old.1, Ordering::Relaxed);
                Err(e)
            }
        };
        if running {
            match self.data_path_up(nd) {
                Ok(()) => nd.wake_queue(),
                Err(e) => pr_err!("{}: cannot restart the data path: {:?}\n", nd.name(), e),
            }
        }
        if result.is_ok() {
            // Peers still map our IP addresses to the old QP number.
            self.announce_tries.store(ANNOUNCE_TRIES, Ordering::Relaxed);
            DelayedWork::<Priv, ANNOUNCE_WORK>::queue(self, msecs_to_jiffies(ANNOUNCE_POLL_MS));
        }
        result
    }

    /// Announces the interface's addresses with its new hardware address (gratuitous ARP,
    /// unsolicited neighbour advertisements: `NETDEV_NOTIFY_PEERS`) once it is running with
    /// its queue started by the link watch (sent earlier, they would be dropped), checking
    /// every 100 ms for 10 s. RTNL is only tried, as bonding's peer notification does, so
    /// that cancelling this under RTNL cannot deadlock.
    fn announce(self: &Arc<Self>) {
        let left = self.announce_tries.load(Ordering::Relaxed);
        let Some(nd) = self.netdev() else {
            return;
        };
        if left == 0 {
            return;
        }
        if let Some(rtnl) = net::Rtnl::try_lock() {
            if nd.is_running() && nd.oper_up() {
                nd.notify_peers(&rtnl);
                self.announce_tries.store(0, Ordering::Relaxed);
                return;
            }
        }
        self.announce_tries.store(left - 1, Ordering::Relaxed);
        if left > 1 {
            DelayedWork::<Priv, ANNOUNCE_WORK>::queue(self, msecs_to_jiffies(ANNOUNCE_POLL_MS));
        } else {
            pr_info!(
                "{}: link not up: peers not told of the new address\n",
                nd.name()
            );
        }
    }

    /// Follows a P_Key table change (C's heavy flush): the data path starts when the
    /// interface's P_Key appears, stops when it goes, and restarts when its index moves.
    fn follow_pkey(self: &Arc<Self>, nd: &NetDevice) {
        let _rtnl = net::Rtnl::lock();
        if !nd.is_running() {
            return;
        }
        let now = self.device.find_pkey(self.port, self.pkey);
        let was = self.pkey_index.load(Ordering::Relaxed);
        match now {
            Some(i) if u32::from(i) == was => {}
            Some(_) if was == NO_PKEY_INDEX => {
                pr_info!("{}: P_Key 0x{:04x} appeared\n", nd.name(), self.pkey);
                match self.data_path_up(nd) {
                    Ok(()) => nd.wake_queue(),
                    Err(e) => pr_err!("{}: cannot start the data path: {:?}\n", nd.name(), e),
                }
            }
            Some(_) => self.restart_data_path(nd),
            None if was != NO_PKEY_INDEX => {
                pr_info!(
                    "{}: P_Key 0x{:04x} left the port's table: carrier off\n",
                    nd.name(),
                    self.pkey
                );
                self.stop_sending(nd);
                self.data_path_down(nd);
                nd.wake_queue();
            }
            None => {}
        }
    }

    /// Sets the MTU to the smaller of the administrator's and what the link now carries
    /// (C does this when the broadcast group's MTU changes).
    fn follow_link_mtu(&self, nd: &NetDevice) {
        if self.cm_connected() {
            // Connected mode's MTU does not depend on the link's (C: only UD follows the
            // broadcast group's MTU).
            return;
        }
        let link_max = mtu::ud_mtu(self.active_ib_mtu.load(Ordering::Relaxed));
        let target = self.admin_mtu.load(Ordering::Relaxed).min(link_max);
        let rtnl = net::Rtnl::lock();
        if nd.mtu() == target {
            return;
        }
        self.internal_mtu_change.store(true, Ordering::Relaxed);
        let r = nd.set_mtu(&rtnl, target);
        self.internal_mtu_change.store(false, Ordering::Relaxed);
        match r {
            Ok(()) => pr_info!("{}: link MTU changed, MTU now {}\n", nd.name(), target),
            Err(e) => pr_warn!("{}: cannot set MTU {}: {:?}\n", nd.name(), target, e),
        }
    }

    /// Re-reads the port after an event: carrier follows the port state, and the datagram MTU
    /// bound follows the active MTU (process context, not under RTNL).
    fn port_changed(self: &Arc<Self>) {
        let Ok(attr) = self.device.query_port(self.port) else {
            return;
        };
        // On InfiniBand the link's MTU is the broadcast group's, set when it is joined.
        let mtu_changed = self.ib
            || attr
                .active_mtu()
                .map(|m| self.active_ib_mtu.swap(m.bytes(), Ordering::Relaxed) != m.bytes())
                .unwrap_or(false);
        *self.link_speed.lock() = (attr.active_speed(), attr.active_width());
        let Some(nd) = self.netdev.lock().clone() else {
            return;
        };
        self.follow_gid(&nd, attr.state() == PortState::Active);
        let active = attr.state() == PortState::Active;
        self.port_up.store(active, Ordering::Relaxed);
        if self.ib {
            self.follow_pkey(&nd);
            if self.flush_requested.swap(false, Ordering::Relaxed) && active {
                // LIDs, the subnet manager or its records may have changed: paths and
                // groups are looked up again (C's light and normal flushes).
                let _rtnl = net::Rtnl::lock();
                if nd.is_running() && self.pkey_index.load(Ordering::Relaxed) != NO_PKEY_INDEX {
                    self.restart_data_path(&nd);
                }
            }
        }
        if mtu_changed {
            self.follow_link_mtu(&nd);
        }
        if active && self.ud().is_some_and(|ud| !ud.qp_ok()) {
            // Restart the QP the provider put in the error state while the port was down;
            // the restart turns the carrier on.
            Priv::schedule_reset(self);
        }
        let up = active && self.broadcast_attached();
        if nd.is_running() && up && !nd.carrier_ok() {
            pr_info!("{}: port {} active, carrier on\n", nd.name(), self.port);
            nd.carrier_on();
        } else if !up && nd.carrier_ok() {
            pr_info!(
                "{}: port {} {}, carrier off\n",
                nd.name(),
                self.port,
                attr.state()
            );
            nd.carrier_off();
        }
    }

    /// Brings the children up or down with their parent (C's `ipoib_open`/`ipoib_stop`).
    fn set_children_up(&self, rtnl: &net::Rtnl, up: bool) {
        let mut devs = KVec::new();
        for e in self.children.lock().iter().flatten() {
            if devs.push(e.dev.clone(), GFP_KERNEL).is_err() {
                break;
            }
        }
        for d in devs.iter() {
            let is_up = d.flags() & net::IFF_UP != 0;
            if is_up != up {
                if let Err(e) = d.set_up(rtnl, up) {
                    pr_warn!(
                        "{}: cannot bring {} {}: {:?}\n",
                        d.name(),
                        if up { "up" } else { "down" },
                        d.name(),
                        e
                    );
                }
            }
        }
    }

    /// Tears down the verbs resources once the device is unregistered and freed (no operation
    /// runs any more, RTNL is not held).
    pub(crate) fn release(self: &Arc<Self>) {
        // The joins go first: their callbacks queue work.
        self.oper_up.store(false, Ordering::Release);
        self.mcast_flush();
        cancel_arc_work_sync::<_, MCAST_WORK>(self);
        DelayedWork::<Priv, MCAST_RETRY_WORK>::cancel_sync(self);
        cancel_arc_work_sync::<_, PATH_WORK>(self);
        cancel_arc_work_sync::<_, EVENT_WORK>(self);
        cancel_arc_work_sync::<_, RESET_WORK>(self);
        DelayedWork::<Priv, ANNOUNCE_WORK>::cancel_sync(self);
        self.cm_close();
        let ud = self.ud.replace(None);
        drop(ud);
    }
}

/// The operations of an IPoIB interface.
pub(crate) struct IpoibOps;

#[vtable]
impl net::DeviceOps for IpoibOps {
    type Data = Arc<Priv>;

    fn open(rtnl: &net::Rtnl, dev: &NetDevice, p: ArcBorrow<'_, Priv>) -> Result {
        p.ud().ok_or(ENODEV)?;
        p.set_children_up(rtnl, true);
        let arc: Arc<Priv> = p.into();
        arc.data_path_up(dev)?;
        dev.start_queue();
        Ok(())
    }

    fn stop(rtnl: &net::Rtnl, dev: &NetDevice, p: ArcBorrow<'_, Priv>) -> Result {
        p.set_children_up(rtnl, false);
        dev.tx_disable();
        let arc: Arc<Priv> = p.into();
        arc.data_path_down(dev);
        Ok(())
    }

    fn uninit(_rtnl: &net::Rtnl, dev: &NetDevice, p: ArcBorrow<'_, Priv>) {
        p.detach_netdev();
        if let Some(c) = &p.child {
            let removed = c.parent.children.lock().iter_mut().find_map(|slot| {
                if slot.as_ref().is_some_and(|e| e.dev.is(dev)) {
                    slot.take()
                } else {
                    None
                }
            });
            drop(removed);
        }
    }

    /// Connected mode sends through RC QPs, which compute no checksums and cut no large sends
    /// (`ipoib_fix_features`).
    fn fix_features(
        _rtnl: &net::Rtnl,
        _dev: &NetDevice,
        p: ArcBorrow<'_, Priv>,
        features: u64,
    ) -> u64 {
        if p.cm_connected() {
            features & !(net::NETIF_F_IP_CSUM | net::NETIF_F_TSO)
        } else {
            features
        }
    }

    fn get_iflink(dev: &NetDevice, p: ArcBorrow<'_, Priv>) -> i32 {
        match &p.child {
            Some(c) => c.parent_dev.ifindex(),
            None => dev.ifindex(),
        }
    }

    fn release(p: Arc<Priv>) {
        p.release();
    }

    fn start_xmit(skb: SkBuff, dev: &NetDevice, p: ArcBorrow<'_, Priv>) {
        let rcu = ReadGuard::new();
        match p.ud.get(&rcu) {
            Some(ud) => ud.xmit(p, dev, skb),
            None => inc(&p.stats.tx_dropped),
        }
    }

    fn get_stats64(_dev: &NetDevice, p: ArcBorrow<'_, Priv>) -> LinkStats {
        let s = &p.stats;
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        LinkStats {
            rx_packets: r(&s.rx_packets),
            rx_bytes: r(&s.rx_bytes),
            rx_dropped: r(&s.rx_dropped),
            rx_errors: r(&s.rx_errors),
            multicast: r(&s.multicast),
            tx_packets: r(&s.tx_packets),
            tx_bytes: r(&s.tx_bytes),
            tx_dropped: r(&s.tx_dropped),
            tx_errors: r(&s.tx_errors),
        }
    }

    fn change_mtu(
        rtnl: &net::Rtnl,
        dev: &NetDevice,
        p: ArcBorrow<'_, Priv>,
        new_mtu: i32,
    ) -> Result {
        let ud_max = mtu::ud_mtu(p.active_ib_mtu.load(Ordering::Relaxed));
        if p.cm_connected() {
            // Connected mode: up to what the receive buffers hold.
            if !crate::proto::cm::mtu_valid(new_mtu, p.cm_max_mtu()) {
                return Err(EINVAL);
            }
            if u32::try_from(new_mtu).is_ok_and(|m| m > ud_max) {
                pr_warn!(
                    "{}: mtu > {} will cause multicast packet drops.\n",
                    dev.name(),
                    ud_max
                );
            }
        } else if !mtu::ud_mtu_valid(new_mtu, p.active_ib_mtu.load(Ordering::Relaxed)) {
            // Datagram mode: up to the IB MTU the link carries now, less the IPoIB header.
            return Err(EINVAL);
        }
        let new_mtu = u32::try_from(new_mtu).map_err(|_| EINVAL)?;
        if !p.internal_mtu_change.load(Ordering::Relaxed) {
            p.admin_mtu.store(new_mtu, Ordering::Relaxed);
        }
        dev.set_mtu_field(rtnl, new_mtu);
        Ok(())
    }

    fn set_rx_mode(_dev: &NetDevice, mc: &McList<'_>, p: ArcBorrow<'_, Priv>) {
        let mut wanted = KVec::new();
        let bcast = p.broadcast;
        if wanted.push(bcast.gid(), GFP_ATOMIC).is_err() {
            return;
        }
        let mut oom = false;
        let res = mc.for_each(|a| {
            let a = HwAddr(*a);
            if a.mcast_matches(&bcast) && !wanted.contains(&a.gid()) {
                oom |= wanted.push(a.gid(), GFP_ATOMIC).is_err();
            }
        });
        if oom || res.is_err() {
            return;
        }
        *p.mcast_wanted.lock() = wanted;
        let arc: Arc<Priv> = p.into();
        let _ = workqueue::system().enqueue::<Arc<Priv>, MCAST_WORK>(arc);
    }

    fn tx_timeout(dev: &NetDevice, p: ArcBorrow<'_, Priv>) {
        let Some(ud) = p.ud() else {
            pr_warn!("{}: transmit timeout\n", dev.name());
            return;
        };
        // As C ipoib_timeout reports it, plus what the watchdog found in the send CQ.
        let (head, tail) = ud.tx_counters();
        let stopped = dev.queue_stopped();
        let reaped = ud.reap_tx(&p, dev, false);
        pr_warn!(
            "{}: transmit timeout: queue stopped {}, tx_head {}, tx_tail {}, completions waiting {}\n",
            dev.name(),
            u8::from(stopped),
            head,
            tail,
            reaped
        );
    }
}

#[vtable]
impl net::EthtoolOps for IpoibOps {
    fn get_drvinfo(_dev: &NetDevice, p: ArcBorrow<'_, Priv>, info: &mut DrvInfo) {
        fill_cstr(&mut info.driver, b"ib_ipoib");
        p.device.fw_version(&mut info.fw_version);
        if let Some(bus) = p.device.parent_name() {
            fill_cstr(&mut info.bus_info, bus.as_bytes());
        }
    }

    fn get_link_ksettings(dev: &NetDevice, p: ArcBorrow<'_, Priv>) -> Result<LinkSettings> {
        if !dev.carrier_ok() {
            return Ok(LinkSettings::Unknown);
        }
        // Read at creation and on port events: the port cannot be queried under RTNL.
        let (speed, width) = *p.link_speed.lock();
        let speed = link::speed_mbps(speed, width).ok_or(EINVAL)?;
        Ok(LinkSettings::Full { speed })
    }

    fn ethtool_stat_names() -> &'static [&'static str] {
        &[
            "rx_packets",
            "tx_packets",
            "rx_bytes",
            "tx_bytes",
            "tx_errors",
            "rx_dropped",
            "tx_dropped",
            "multicast",
        ]
    }

    fn get_ethtool_stats(_dev: &NetDevice, p: ArcBorrow<'_, Priv>, out: &mut [u64]) {
        let s = &p.stats;
        let vals = [
            &s.rx_packets,
            &s.tx_packets,
            &s.rx_bytes,
            &s.tx_bytes,
            &s.tx_errors,
            &s.rx_dropped,
            &s.tx_dropped,
            &s.multicast,
        ];
        for (o, v) in out.iter_mut().zip(vals) {
            *o = v.load(Ordering::Relaxed);
        }
    }

    fn get_ringparam(_dev: &NetDevice, p: ArcBorrow<'_, Priv>) -> RingParam {
        let (rx_max, tx_max) = p.ring_max();
        RingParam {
            rx: p.rx_ring.load(Ordering::Relaxed),
            tx: p.tx_ring.load(Ordering::Relaxed),
            rx_max,
            tx_max,
        }
    }

    fn set_ringparam(
        rtnl: &net::Rtnl,
        dev: &NetDevice,
        p: ArcBorrow<'_, Priv>,
        rx: u32,
        tx: u32,
    ) -> Result {
        // Rounded as the module parameters are (C can change its rings only with them, by
        // loading the module again).
        let (rx_max, tx_max) = p.ring_max();
        let rx = params::ring_request(rx, params::MIN_QUEUE_SIZE, rx_max);
        let tx = params::ring_request(tx, params::MIN_SEND_QUEUE_SIZE, tx_max);
        if (rx, tx)
            == (
                p.rx_ring.load(Ordering::Relaxed),
                p.tx_ring.load(Ordering::Relaxed),
            )
        {
            return Ok(());
        }
        let arc: Arc<Priv> = p.into();
        arc.resize_rings(rtnl, dev, rx, tx)
    }

    fn get_coalesce(_dev: &NetDevice, p: ArcBorrow<'_, Priv>) -> Coalesce {
        *p.coalesce.lock()
    }

    fn set_coalesce(dev: &NetDevice, p: ArcBorrow<'_, Priv>, c: Coalesce) -> Result {
        // C's bounds; a device that cannot moderate its CQs (EOPNOTSUPP, e.g. rxe) still
        // gets the values stored, as C does.
        let frames = u16::try_from(c.rx_frames).map_err(|_| EINVAL)?;
        let usecs = u16::try_from(c.rx_usecs).map_err(|_| EINVAL)?;
        if let Some(ud) = p.ud() {
            match ud.set_rx_moderation(frames, usecs) {
                Ok(()) => {}
                Err(e) if e == EOPNOTSUPP() => {}
                Err(e) => {
                    pr_warn!("{}: failed modifying CQ ({:?})\n", dev.name(), e);
                    return Err(e);
                }
            }
        }
        *p.coalesce.lock() = c;
        Ok(())
    }
}

#[vtable]
impl net::HeaderOps for IpoibOps {
    fn create_header(
        skb: &mut SkBuffRef,
        _dev: &NetDevice,
        proto: u16,
        daddr: Option<&[u8]>,
    ) -> Result<i32> {
        // C dereferences the destination unconditionally; every caller passes one.
        let daddr = daddr.ok_or(EINVAL)?;
        skb.push(header::ENCAP_LEN as u32)?
            .copy_from_slice(&header::encap(proto));
        skb.push(header::PSEUDO_LEN as u32)?
            .copy_from_slice(daddr.get(..header::PSEUDO_LEN).ok_or(EINVAL)?);
        Ok(header::HARD_LEN as i32)
    }
}
