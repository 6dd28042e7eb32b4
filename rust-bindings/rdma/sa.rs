// SPDX-License-Identifier: GPL-2.0

//! Subnet administration (ib_sa): path record queries and multicast group joins, which
//! InfiniBand ports need where RoCE ports derive everything from GIDs and MACs.
//!
//! C header: [`include/rdma/ib_sa.h`](srctree/include/rdma/ib_sa.h).

use super::verbs::{Ah, Pd};
use super::{Device, Gid, Mtu};
use crate::rust_bindings::raw;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::error::{from_err_ptr, to_result, Result};
use kernel::ffi::{c_int, c_uint, c_void};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::{ForeignOwnable, Opaque};

/// `IB_SA_COMP_MASK(n)`: component `n` of a record is valid (big-endian bit mask).
const fn comp(n: u32) -> u64 {
    (1u64 << n).to_be()
}

const PATH_DGID: u64 = comp(2);
const PATH_SGID: u64 = comp(3);
const PATH_TRAFFIC_CLASS: u64 = comp(10);
const PATH_NUMB_PATH: u64 = comp(12);
const PATH_PKEY: u64 = comp(13);

const MC_MGID: u64 = comp(0);
const MC_PORT_GID: u64 = comp(1);
const MC_QKEY: u64 = comp(2);
const MC_MTU_SELECTOR: u64 = comp(4);
const MC_MTU: u64 = comp(5);
const MC_TRAFFIC_CLASS: u64 = comp(6);
const MC_PKEY: u64 = comp(7);
const MC_RATE_SELECTOR: u64 = comp(8);
const MC_RATE: u64 = comp(9);
const MC_SL: u64 = comp(12);
const MC_FLOW_LABEL: u64 = comp(13);
const MC_HOP_LIMIT: u64 = comp(14);
const MC_JOIN_STATE: u64 = comp(16);

/// JoinState bits of an MCMemberRecord (IBA 15.2.5.17).
const JOIN_FULL_MEMBER: u8 = 1;
const JOIN_SENDONLY_FULL_MEMBER: u8 = 8;

/// An SA client (`struct ib_sa_client`): the SA module counts a client's outstanding queries
/// and joins, and unregistering it waits for all of them, so that no callback runs after the
/// module that registered it is gone.
///
/// Place it in a `static`; [`SaClient::register`] registers it.
pub(crate) struct SaClient {
    client: Opaque<raw::ib_sa_client>,
    registered: AtomicBool,
}

// SAFETY: The `ib_sa_client` is written by `register` and `SaRegistration::drop` only, which the
// `registered` flag keeps apart; the SA module serialises its own accesses (atomics).
unsafe impl Sync for SaClient {}

impl SaClient {
    /// Creates the storage; nothing is registered yet.
    pub(crate) const fn new() -> Self {
        Self {
            client: Opaque::uninit(),
            registered: AtomicBool::new(false),
        }
    }

    /// Registers the client (`ib_sa_register_client`); the guard unregisters it.
    pub(crate) fn register(&'static self) -> Result<SaRegistration> {
        if self.registered.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        // SAFETY: The storage is static and not registered; `ib_sa_register_client`
        // initialises every field it uses.
        unsafe { raw::ib_sa_register_client(self.client.get()) };
        Ok(SaRegistration { client: self })
    }

    fn as_raw(&self) -> *mut raw::ib_sa_client {
        self.client.get()
    }

    fn check(&self) -> Result {
        if self.registered.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }
}

/// A registered [`SaClient`]; dropping it waits for the client's queries and joins to finish.
pub(crate) struct SaRegistration {
    client: &'static SaClient,
}

impl Drop for SaRegistration {
    fn drop(&mut self) {
        // SAFETY: Registered by `SaClient::register`; this waits until every query callback
        // returned and every join was freed.
        unsafe { raw::ib_sa_unregister_client(self.client.as_raw()) };
        self.client.registered.store(false, Ordering::Release);
    }
}

/// A path record (`struct sa_path_rec`) the SA returned.
#[derive(Clone, Copy)]
pub(crate) struct PathRec(raw::sa_path_rec);

impl PathRec {
    /// The destination LID.
    pub(crate) fn dlid(&self) -> u16 {
        // SAFETY: IB records carry the `ib` member (queries are made for IB ports only).
        u16::from_be(unsafe { self.0.__bindgen_anon_1.ib.dlid })
    }

    /// The service level.
    pub(crate) fn sl(&self) -> u8 {
        self.0.sl
    }

    /// The path MTU.
    pub(crate) fn mtu(&self) -> Option<Mtu> {
        Mtu::from_raw(u32::from(self.0.mtu))
    }

    pub(super) fn as_raw(&self) -> *const raw::sa_path_rec {
        &self.0
    }

    pub(super) fn as_raw_mut(&mut self) -> *mut raw::sa_path_rec {
        &mut self.0
    }
}

/// Receives the answer to a path record query.
pub(crate) trait PathHandler: Send + Sync + Sized + 'static {
    /// The query for `dgid` completed with a path or failed (process context, the SA's MAD
    /// completion or timeout work; no lock of the caller is held).
    fn path_done(this: Arc<Self>, dgid: Gid, result: Result<&PathRec>);
}

/// What travels with a query to its callback.
struct PathQuery<T: PathHandler> {
    handler: Arc<T>,
    dgid: Gid,
}

/// What a path query asks for.
pub(crate) struct PathRequest {
    pub(crate) sgid: Gid,
    pub(crate) dgid: Gid,
    pub(crate) pkey: u16,
    pub(crate) traffic_class: u8,
    pub(crate) timeout_ms: u32,
}

/// Asks the SA for a path from `r.sgid` to `r.dgid` on `port` (`ib_sa_path_rec_get`, with
/// the components IPoIB gives: DGID, SGID, NumbPath 1, TClass and P_Key). Callable in atomic
/// context. On success `handler` is called exactly once, later, with the result; the query
/// cannot be cancelled, but it ends with a timeout, and the device's removal ends it early.
pub(crate) fn query_path<T: PathHandler>(
    client: &'static SaClient,
    dev: &Device,
    port: u32,
    r: &PathRequest,
    handler: Arc<T>,
) -> Result {
    client.check()?;
    let mut rec = raw::sa_path_rec {
        dgid: raw::ib_gid { raw: r.dgid.0 },
        sgid: raw::ib_gid { raw: r.sgid.0 },
        pkey: r.pkey.to_be(),
        numb_path: 1,
        traffic_class: r.traffic_class,
        rec_type: raw::sa_path_rec_type_SA_PATH_REC_TYPE_IB,
        ..Default::default()
    };
    let ctx = KBox::new(
        PathQuery {
            handler,
            dgid: Gid(r.dgid.0),
        },
        GFP_ATOMIC,
    )?;
    let ctx = ctx.into_foreign().cast_mut();
    let mut query: *mut raw::ib_sa_query = core::ptr::null_mut();
    // SAFETY: The client is registered and the device valid; `rec` is copied by the call. On
    // success the callback gets `ctx` exactly once; on failure it never runs.
    let id = unsafe {
        raw::ib_sa_path_rec_get(
            client.as_raw(),
            dev.as_raw(),
            port,
            &mut rec,
            PATH_DGID | PATH_SGID | PATH_NUMB_PATH | PATH_TRAFFIC_CLASS | PATH_PKEY,
            r.timeout_ms as _,
            raw::GFP_ATOMIC,
            Some(path_callback::<T>),
            ctx,
            &mut query,
        )
    };
    if id < 0 {
        // SAFETY: The callback will not run, so the context is still ours.
        drop(unsafe { KBox::<PathQuery<T>>::from_foreign(ctx.cast_const()) });
        return to_result(id);
    }
    Ok(())
}

/// # Safety
///
/// Called by the SA only, once per query started by [`query_path`], with its context.
unsafe extern "C" fn path_callback<T: PathHandler>(
    status: c_int,
    resp: *mut raw::sa_path_rec,
    num_prs: c_uint,
    ctx: *mut c_void,
) {
    // SAFETY: `ctx` is the context `query_path` handed over, given back exactly once.
    let q = unsafe { KBox::<PathQuery<T>>::from_foreign(ctx.cast_const()) };
    let q = KBox::into_inner(q);
    let result = if status != 0 {
        Err(Error::from_errno(status))
    } else if resp.is_null() || num_prs == 0 {
        Err(ENOENT)
    } else {
        // SAFETY: With status 0 the SA passes at least one record, valid for the call.
        Ok(PathRec(unsafe { *resp }))
    };
    T::path_done(q.handler, q.dgid, result.as_ref().map_err(|e| *e));
}

/// A multicast member record (`struct ib_sa_mcmember_rec`) the SA returned for a join.
#[derive(Clone, Copy)]
pub(crate) struct McMember(raw::ib_sa_mcmember_rec);

impl McMember {
    /// The group's MGID.
    pub(crate) fn mgid(&self) -> [u8; 16] {
        // SAFETY: Every bit pattern is a valid `ib_gid`.
        unsafe { self.0.mgid.raw }
    }

    /// The group's LID.
    pub(crate) fn mlid(&self) -> u16 {
        u16::from_be(self.0.mlid)
    }

    /// The group's Q_Key.
    pub(crate) fn qkey(&self) -> u32 {
        u32::from_be(self.0.qkey)
    }

    /// The group's MTU.
    pub(crate) fn mtu(&self) -> Option<Mtu> {
        Mtu::from_raw(u32::from(self.0.mtu))
    }

    /// The group's service level.
    pub(crate) fn sl(&self) -> u8 {
        self.0.sl
    }

    /// The group's traffic class.
    pub(crate) fn traffic_class(&self) -> u8 {
        self.0.traffic_class
    }

    /// The group's static rate (`enum ib_rate`).
    pub(crate) fn rate(&self) -> u8 {
        self.0.rate
    }

    /// The group's P_Key.
    pub(crate) fn pkey(&self) -> u16 {
        u16::from_be(self.0.pkey)
    }

    /// Creates the address handle for sending to the group from `port` through GID index 0
    /// (`ipoib_mcast_join_finish`: IB address vector to the MLID, with a GRH for the MGID).
    /// Process context.
    pub(crate) fn create_ah(&self, pd: &Pd, port: u32) -> Result<Ah> {
        let mut attr = raw::rdma_ah_attr {
            type_: raw::rdma_ah_attr_type_RDMA_AH_ATTR_TYPE_IB,
            port_num: port,
            sl: self.0.sl,
            static_rate: self.0.rate,
            ah_flags: raw::ib_ah_flags_IB_AH_GRH as u8,
            ..Default::default()
        };
        attr.grh.dgid = self.0.mgid;
        attr.grh.flow_label = u32::from_be(self.0.flow_label);
        attr.grh.sgid_index = 0;
        attr.grh.hop_limit = self.0.hop_limit;
        attr.grh.traffic_class = self.0.traffic_class;
        attr.__bindgen_anon_1.ib = raw::ib_ah_attr {
            dlid: self.mlid(),
            src_path_bits: 0,
        };
        // SAFETY: `attr` is a complete IB address vector without a GID attribute reference.
        unsafe { Ah::create(pd, &mut attr) }
    }
}

impl Ah {
    /// Creates the address handle of a path the SA returned (`ib_init_ah_attr_from_path`,
    /// `rdma_create_ah`). Process context.
    pub(crate) fn from_path(pd: &Pd, dev: &Device, port: u32, path: &PathRec) -> Result<Self> {
        let mut attr = raw::rdma_ah_attr::default();
        // SAFETY: The device and path are valid for the call; on success `attr` may hold a
        // reference to a GID attribute, released below.
        to_result(unsafe {
            raw::ib_init_ah_attr_from_path(
                dev.as_raw(),
                port,
                path.as_raw().cast_mut(),
                &mut attr,
                core::ptr::null(),
            )
        })?;
        // SAFETY: `attr` was initialised by the core.
        let ah = unsafe { Ah::create(pd, &mut attr) };
        // SAFETY: Releases what `ib_init_ah_attr_from_path` took (the AH has its own).
        unsafe { raw::rdma_destroy_ah_attr(&mut attr) };
        ah
    }
}

/// Receives the outcome of a multicast join.
pub(crate) trait JoinHandler: Send + Sync + Sized + 'static {
    /// The join completed, failed, or the group was reset (`-ENETRESET`). Called in process
    /// context (the SA's multicast work), possibly before [`Join::new`] returned and possibly
    /// more than once; never after the [`Join`] was dropped. Must not wait for anything that
    /// drops a `Join`: dropping one waits for its callback to return.
    fn join_done(&self, result: Result<&McMember>);
}

/// What a join asks for.
pub(crate) enum JoinKind<'a> {
    /// A full-member join giving only MGID, port GID and P_Key: the group must exist (the
    /// subnet manager creates the IPoIB broadcast group of each partition).
    Broadcast,
    /// A join with the broadcast group's parameters (RFC 4391: same Q_Key, MTU, SL, rate,
    /// traffic class, flow label and hop limit), creating the group if needed.
    Like {
        broadcast: &'a McMember,
        /// A send-only full member (not attached; for sending to a group one is not in).
        send_only: bool,
    },
}

/// What a join asks for: group `mgid`, joined as `port_gid` in partition `pkey`.
pub(crate) struct JoinRequest<'a> {
    pub(crate) mgid: [u8; 16],
    pub(crate) port_gid: [u8; 16],
    pub(crate) pkey: u16,
    pub(crate) kind: JoinKind<'a>,
}

/// A multicast join (`struct ib_sa_multicast`); dropping it leaves the group.
///
/// # Invariants
///
/// `mc` was returned by `ib_sa_join_multicast` with `handler`'s address as context, and is not
/// freed yet.
pub(crate) struct Join<T: JoinHandler> {
    mc: NonNull<raw::ib_sa_multicast>,
    handler: Arc<T>,
}

// SAFETY: The join is only freed, from any process context.
unsafe impl<T: JoinHandler> Send for Join<T> {}
// SAFETY: `&Join` gives no access to the C object.
unsafe impl<T: JoinHandler> Sync for Join<T> {}

impl<T: JoinHandler> Join<T> {
    /// Joins a group through port `port` (`ib_sa_join_multicast`, as `ipoib_mcast_join`
    /// builds the record); `handler` learns the outcome.
    pub(crate) fn new(
        client: &'static SaClient,
        dev: &Device,
        port: u32,
        req: &JoinRequest<'_>,
        handler: Arc<T>,
    ) -> Result<Self> {
        client.check()?;
        let mut rec = raw::ib_sa_mcmember_rec {
            mgid: raw::ib_gid { raw: req.mgid },
            port_gid: raw::ib_gid { raw: req.port_gid },
            pkey: req.pkey.to_be(),
            join_state: JOIN_FULL_MEMBER,
            ..Default::default()
        };
        let mut mask = MC_MGID | MC_PORT_GID | MC_PKEY | MC_JOIN_STATE;
        if let JoinKind::Like {
            broadcast,
            send_only,
        } = req.kind
        {
            let b = &broadcast.0;
            rec.qkey = b.qkey;
            rec.mtu_selector = raw::ib_sa_selector_IB_SA_EQ as u8;
            rec.mtu = b.mtu;
            rec.traffic_class = b.traffic_class;
            rec.rate_selector = raw::ib_sa_selector_IB_SA_EQ as u8;
            rec.rate = b.rate;
            rec.sl = b.sl;
            rec.flow_label = b.flow_label;
            rec.hop_limit = b.hop_limit;
            if send_only {
                rec.join_state = JOIN_SENDONLY_FULL_MEMBER;
            }
            mask |= MC_QKEY
                | MC_MTU_SELECTOR
                | MC_MTU
                | MC_TRAFFIC_CLASS
                | MC_RATE_SELECTOR
                | MC_RATE
                | MC_SL
                | MC_FLOW_LABEL
                | MC_HOP_LIMIT;
        }
        let ctx = (&*handler as *const T).cast_mut().cast::<c_void>();
        // SAFETY: The client is registered and the device valid; `rec` is copied. `ctx`
        // stays valid until the join is freed (the `Join` holds the `Arc`), and the callback
        // never runs after `ib_sa_free_multicast` returned.
        let mc = from_err_ptr(unsafe {
            raw::ib_sa_join_multicast(
                client.as_raw(),
                dev.as_raw(),
                port,
                &mut rec,
                mask,
                raw::GFP_KERNEL,
                Some(join_callback::<T>),
                ctx,
            )
        })?;
        // INVARIANT: A join with `handler` as context.
        Ok(Self {
            mc: NonNull::new(mc).ok_or(ENOMEM)?,
            handler,
        })
    }

    /// The handler.
    pub(crate) fn handler(&self) -> &Arc<T> {
        &self.handler
    }
}

impl<T: JoinHandler> Drop for Join<T> {
    fn drop(&mut self) {
        // SAFETY: By the invariants the join is live; this waits for a running callback and
        // leaves the group. Callbacks never drop a `Join` (trait contract), so this is not
        // called from one.
        unsafe { raw::ib_sa_free_multicast(self.mc.as_ptr()) };
    }
}

/// # Safety
///
/// Called by the SA only, for a join created by [`Join::new`] and not freed yet.
unsafe extern "C" fn join_callback<T: JoinHandler>(
    status: c_int,
    mc: *mut raw::ib_sa_multicast,
) -> c_int {
    // SAFETY: The SA passes the join it created, whose context is the handler `Join` keeps
    // alive until the join is freed, which waits for this callback.
    let (handler, rec) = unsafe { (&*((*mc).context as *const T), McMember((*mc).rec)) };
    if status == 0 {
        handler.join_done(Ok(&rec));
    } else {
        handler.join_done(Err(Error::from_errno(status)));
    }
    // Never let the SA free the join: its owner does, by dropping the `Join`.
    0
}
