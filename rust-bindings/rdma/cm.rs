// SPDX-License-Identifier: GPL-2.0

//! The InfiniBand connection manager (ib_cm): communication IDs that listen for, request,
//! accept and tear down reliable connections, and drive their QPs through INIT/RTR/RTS.
//!
//! C header: [`include/rdma/ib_cm.h`](srctree/include/rdma/ib_cm.h).

use super::sa::PathRec;
use super::verbs::Qp;
use super::{Device, Gid, Mtu};
use crate::rust_bindings::raw;
use core::cell::Cell;
use core::ptr::NonNull;
use kernel::error::{from_err_ptr, to_result, Result};
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::types::Opaque;

/// What a communication ID reports to. The same type serves a listener and the connections
/// it accepts (a request arrives on a new ID that inherits the listener's context).
pub(crate) trait CmHandler: Send + Sync + Sized + 'static {
    /// A CM event (process context, the CM's workqueue; events of one ID are serialised).
    ///
    /// Must not drop the [`CmId`] of `id`: destroying an ID waits for its handlers.
    fn event(&self, id: &CmIdRef, event: &CmEvent<'_, Self>);
}

/// A connection request on a new ID, to be taken over with [`NewCm::adopt`]; one that is not
/// adopted is rejected and destroyed by the CM when the handler returns.
pub(crate) struct NewCm<T: CmHandler> {
    ptr: NonNull<raw::ib_cm_id>,
    adopted: Cell<bool>,
    _t: core::marker::PhantomData<T>,
}

impl<T: CmHandler> NewCm<T> {
    /// Takes the new ID over with context `ctx` and stores it in `slot`, from which its owner
    /// destroys it later (never from one of its own handlers: destroying an ID waits for
    /// them); later events of the ID go to `ctx`. Fails with `EBUSY` the second time or if
    /// `slot` holds an ID.
    pub(crate) fn adopt(&self, ctx: Arc<T>, slot: &Mutex<Option<CmId<T>>>) -> Result {
        let mut slot = slot.lock();
        if slot.is_some() || self.adopted.replace(true) {
            return Err(EBUSY);
        }
        // SAFETY: The ID is valid during the handler, and no other event of it runs meanwhile
        // (the CM serialises them), so its context may be changed.
        unsafe { (*self.ptr.as_ptr()).context = (&*ctx as *const T).cast_mut().cast() };
        // INVARIANT: The context is now `ctx`, owned with the ID.
        *slot = Some(CmId { ptr: self.ptr, ctx });
        Ok(())
    }

    /// The new ID, for replies before adoption.
    pub(crate) fn id(&self) -> &CmIdRef {
        // SAFETY: The ID is valid during the handler.
        unsafe { CmIdRef::from_raw(self.ptr.as_ptr()) }
    }
}

/// A connection event.
pub(crate) enum CmEvent<'a, T: CmHandler> {
    /// A REQ arrived on a listening ID (`IB_CM_REQ_RECEIVED`).
    Req {
        new: &'a NewCm<T>,
        remote_qpn: u32,
        starting_psn: u32,
        port: u32,
        private: &'a [u8],
    },
    /// The peer accepted our REQ (`IB_CM_REP_RECEIVED`).
    Rep {
        remote_qpn: u32,
        starting_psn: u32,
        private: &'a [u8],
    },
    /// The active side confirmed the connection (`IB_CM_RTU_RECEIVED`).
    Rtu,
    /// The peer asks to disconnect (`IB_CM_DREQ_RECEIVED`); answer with
    /// [`CmIdRef::send_drep`].
    Dreq,
    /// The peer confirmed our disconnect request (`IB_CM_DREP_RECEIVED`).
    Drep,
    /// The connection left time-wait (`IB_CM_TIMEWAIT_EXIT`).
    TimewaitExit,
    /// Establishment failed or was rejected (REQ/REP/DREQ error, `IB_CM_REJ_RECEIVED`); the raw
    /// `enum ib_cm_event_type`.
    Failed(u32),
    /// Anything else (MRA, LAP, APR, SIDR).
    Other(u32),
}

/// The largest private data of a REQ (`IB_CM_REQ_PRIVATE_DATA_SIZE`).
const REQ_PRIVATE: usize = raw::ib_cm_data_size_IB_CM_REQ_PRIVATE_DATA_SIZE as usize;
/// The largest private data of a REP (`IB_CM_REP_PRIVATE_DATA_SIZE`).
const REP_PRIVATE: usize = raw::ib_cm_data_size_IB_CM_REP_PRIVATE_DATA_SIZE as usize;

/// A borrowed communication ID (`struct ib_cm_id`).
#[repr(transparent)]
pub(crate) struct CmIdRef(Opaque<raw::ib_cm_id>);

/// What a connection request asks for, whatever the link layer.
pub(crate) struct ReqParams<'a> {
    pub(crate) service_id: u64,
    /// Receives of the QP come from an SRQ.
    pub(crate) srq: bool,
    /// Transport and RNR retries (IB CM allows 0-7; 7 retries RNR forever).
    pub(crate) retry_count: u8,
    pub(crate) rnr_retry_count: u8,
    pub(crate) private: &'a [u8],
}

/// A connection request over RoCE, whose path is built locally (as `rdma_cm` builds one).
pub(crate) struct RoceReq {
    pub(crate) port: u32,
    /// Index of the source GID in the port's table.
    pub(crate) sgid_index: u32,
    pub(crate) sgid: Gid,
    pub(crate) dgid: Gid,
    pub(crate) dmac: [u8; 6],
    pub(crate) hop_limit: u8,
    /// Path MTU.
    pub(crate) mtu: Mtu,
    pub(crate) pkey: u16,
}

/// The RoCE packet lifetime `rdma_cm` puts in its paths (`CMA_IBOE_PACKET_LIFETIME`).
const IBOE_PACKET_LIFETIME: u8 = 16;

impl CmIdRef {
    /// # Safety
    ///
    /// `ptr` must be a valid CM ID for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut raw::ib_cm_id) -> &'a Self {
        // SAFETY: `CmIdRef` is a transparent wrapper; the caller guarantees validity.
        unsafe { &*ptr.cast() }
    }

    fn as_raw(&self) -> *mut raw::ib_cm_id {
        self.0.get()
    }

    /// Listens for requests to `service_id` (`ib_cm_listen`).
    pub(crate) fn listen(&self, service_id: u64) -> Result {
        // SAFETY: The ID is valid.
        to_result(unsafe { raw::ib_cm_listen(self.as_raw(), service_id.to_be()) })
    }

    /// Requests a connection of the RC QP `qpn` over RoCE (`ib_send_cm_req`), with the RC
    /// defaults of IPoIB (`ipoib_cm_send_req`). Process context.
    pub(crate) fn send_req_roce(
        &self,
        dev: &Device,
        qpn: u32,
        r: &RoceReq,
        params: &ReqParams<'_>,
    ) -> Result {
        let mut path = raw::sa_path_rec {
            dgid: raw::ib_gid { raw: r.dgid.0 },
            sgid: raw::ib_gid { raw: r.sgid.0 },
            hop_limit: r.hop_limit,
            reversible: 1,
            numb_path: 1,
            pkey: r.pkey.to_be(),
            mtu_selector: raw::ib_sa_selector_IB_SA_EQ as u8,
            mtu: r.mtu.to_raw() as u8,
            rate_selector: raw::ib_sa_selector_IB_SA_EQ as u8,
            rate: raw::ib_rate_IB_RATE_PORT_CURRENT as u8,
            packet_life_time_selector: raw::ib_sa_selector_IB_SA_EQ as u8,
            packet_life_time: IBOE_PACKET_LIFETIME,
            rec_type: raw::sa_path_rec_type_SA_PATH_REC_TYPE_ROCE_V2,
            ..Default::default()
        };
        path.__bindgen_anon_1.roce = raw::sa_path_rec_roce {
            route_resolved: true,
            dmac: r.dmac,
        };
        let index = c_int::try_from(r.sgid_index).map_err(|_| EINVAL)?;
        // SAFETY: The device is valid; the returned attribute holds a reference, put below.
        let sgid_attr = from_err_ptr(unsafe {
            raw::rdma_get_gid_attr(dev.as_raw(), r.port, index).cast_mut()
        })?;
        let ret = self.send_req(&mut path, sgid_attr, qpn, params);
        // SAFETY: Our reference from `rdma_get_gid_attr`.
        unsafe { raw::rdma_put_gid_attr(sgid_attr) };
        ret
    }

    /// Requests a connection of the RC QP `qpn` over an InfiniBand path the SA returned
    /// (`ib_send_cm_req`, as `ipoib_cm_send_req`). Process context.
    pub(crate) fn send_req_ib(&self, qpn: u32, path: &PathRec, params: &ReqParams<'_>) -> Result {
        let mut path = *path;
        self.send_req(path.as_raw_mut(), core::ptr::null(), qpn, params)
    }

    fn send_req(
        &self,
        path: *mut raw::sa_path_rec,
        sgid_attr: *const raw::ib_gid_attr,
        qpn: u32,
        r: &ReqParams<'_>,
    ) -> Result {
        if r.private.len() > REQ_PRIVATE {
            return Err(EINVAL);
        }
        let mut req = raw::ib_cm_req_param {
            primary_path: path,
            ppath_sgid_attr: sgid_attr,
            service_id: r.service_id.to_be(),
            qp_num: qpn,
            qp_type: raw::ib_qp_type_IB_QPT_RC,
            starting_psn: 0,
            private_data: r.private.as_ptr().cast(),
            private_data_len: r.private.len() as u8,
            responder_resources: 4,
            remote_cm_response_timeout: 20,
            local_cm_response_timeout: 20,
            retry_count: r.retry_count,
            rnr_retry_count: r.rnr_retry_count,
            max_cm_retries: 15,
            srq: u8::from(r.srq),
            ..Default::default()
        };
        // SAFETY: The ID is valid; `req`, the path and the private data are valid for the call
        // (the CM copies what it keeps and takes its own reference on the GID attribute).
        to_result(unsafe { raw::ib_send_cm_req(self.as_raw(), &mut req) })
    }

    /// Accepts a request with `qp` (`ib_send_cm_rep`).
    pub(crate) fn send_rep(&self, qp: &Qp, psn: u32, srq: bool, private: &[u8]) -> Result {
        if private.len() > REP_PRIVATE {
            return Err(EINVAL);
        }
        let mut rep = raw::ib_cm_rep_param {
            qp_num: qp.qpn(),
            starting_psn: psn,
            private_data: private.as_ptr().cast(),
            private_data_len: private.len() as u8,
            rnr_retry_count: 0,
            srq: u8::from(srq),
            ..Default::default()
        };
        // SAFETY: The ID is valid; `rep` and the private data are valid for the call.
        to_result(unsafe { raw::ib_send_cm_rep(self.as_raw(), &mut rep) })
    }

    /// Confirms an accepted connection (`ib_send_cm_rtu`).
    pub(crate) fn send_rtu(&self) -> Result {
        // SAFETY: The ID is valid; no private data.
        to_result(unsafe { raw::ib_send_cm_rtu(self.as_raw(), core::ptr::null(), 0) })
    }

    /// Asks the peer to disconnect (`ib_send_cm_dreq`).
    pub(crate) fn send_dreq(&self) -> Result {
        // SAFETY: The ID is valid; no private data.
        to_result(unsafe { raw::ib_send_cm_dreq(self.as_raw(), core::ptr::null(), 0) })
    }

    /// Confirms the peer's disconnect request (`ib_send_cm_drep`).
    pub(crate) fn send_drep(&self) -> Result {
        // SAFETY: The ID is valid; no private data.
        to_result(unsafe { raw::ib_send_cm_drep(self.as_raw(), core::ptr::null(), 0) })
    }

    /// Rejects a request (`ib_send_cm_rej`, reason `IB_CM_REJ_NO_QP` when `no_qp`, else
    /// consumer-defined).
    pub(crate) fn send_rej(&self, no_qp: bool) -> Result {
        let reason = if no_qp {
            raw::ib_cm_rej_reason_IB_CM_REJ_NO_QP
        } else {
            raw::ib_cm_rej_reason_IB_CM_REJ_CONSUMER_DEFINED
        };
        // SAFETY: The ID is valid; no ARI or private data.
        to_result(unsafe {
            raw::ib_send_cm_rej(
                self.as_raw(),
                reason,
                core::ptr::null_mut(),
                0,
                core::ptr::null(),
                0,
            )
        })
    }

    /// Moves `qp` to `state` (INIT, RTR or RTS) with the attributes the CM negotiated
    /// (`ib_cm_init_qp_attr`: path, PSNs, timeouts).
    pub(crate) fn modify_qp(&self, qp: &Qp, state: QpState) -> Result {
        let mut attr = raw::ib_qp_attr {
            qp_state: state.to_raw(),
            ..Default::default()
        };
        let mut mask: c_int = 0;
        // SAFETY: The ID is valid; `attr` and `mask` are valid for writes.
        to_result(unsafe { raw::ib_cm_init_qp_attr(self.as_raw(), &mut attr, &mut mask) })?;
        qp.modify(&mut attr, mask as u32)
    }
}

/// QP states the CM computes attributes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QpState {
    Init,
    Rtr,
    Rts,
}

impl QpState {
    fn to_raw(self) -> raw::ib_qp_state {
        match self {
            Self::Init => raw::ib_qp_state_IB_QPS_INIT,
            Self::Rtr => raw::ib_qp_state_IB_QPS_RTR,
            Self::Rts => raw::ib_qp_state_IB_QPS_RTS,
        }
    }
}

/// An owned communication ID with a reference on its handler.
///
/// # Invariants
///
/// `ptr` is a CM ID whose context is `Arc::as_ptr(&ctx)` and whose handler is
/// [`CmId::callback`] for `T`, owned by this value.
pub(crate) struct CmId<T: CmHandler> {
    ptr: NonNull<raw::ib_cm_id>,
    ctx: Arc<T>,
}

// SAFETY: CM IDs are used from any thread; the CM serialises their events.
unsafe impl<T: CmHandler> Send for CmId<T> {}
// SAFETY: As above.
unsafe impl<T: CmHandler> Sync for CmId<T> {}

impl<T: CmHandler> CmId<T> {
    /// Creates a communication ID on `dev` reporting to `ctx` (`ib_create_cm_id`).
    pub(crate) fn new(dev: &Device, ctx: Arc<T>) -> Result<Self> {
        let c = (&*ctx as *const T).cast_mut().cast::<c_void>();
        // SAFETY: The device is valid; `c` stays valid while the ID exists (we hold `ctx`).
        let p =
            from_err_ptr(unsafe { raw::ib_create_cm_id(dev.as_raw(), Some(Self::callback), c) })?;
        // INVARIANT: An ID with our handler and context.
        Ok(Self {
            ptr: NonNull::new(p).ok_or(ENOMEM)?,
            ctx,
        })
    }

    /// The handler this ID reports to.
    pub(crate) fn handler(&self) -> &Arc<T> {
        &self.ctx
    }

    /// The CM's event handler for IDs of this type.
    ///
    /// # Safety
    ///
    /// Called by the CM only, with a valid ID created by [`CmId::new`] (or spawned from one
    /// by a REQ) and a valid event.
    unsafe extern "C" fn callback(id: *mut raw::ib_cm_id, ev: *const raw::ib_cm_event) -> c_int {
        // SAFETY: The CM passes a valid ID and event; the ID's context is the `T` of the
        // `CmId` owning it, or of the listener a new ID came from, both alive during the call
        // (destroying an ID waits for its handlers; a listener outlives its REQ handlers).
        let (ctx, e) = unsafe { (&*(*id).context.cast::<T>(), &*ev) };
        // SAFETY: As above.
        let idref = unsafe { CmIdRef::from_raw(id) };
        let private = |len: usize| -> &[u8] {
            if e.private_data.is_null() {
                &[]
            } else {
                // SAFETY: The CM's private data buffer holds the message's full private data
                // area (`len` bytes for this event type) during the handler.
                unsafe { core::slice::from_raw_parts(e.private_data.cast::<u8>(), len) }
            }
        };
        match e.event {
            raw::ib_cm_event_type_IB_CM_REQ_RECEIVED => {
                // SAFETY: `req_rcvd` is the active member for this event.
                let p = unsafe { &e.param.req_rcvd };
                let Some(ptr) = NonNull::new(id) else {
                    return -(EINVAL.to_errno());
                };
                let new = NewCm::<T> {
                    ptr,
                    adopted: Cell::new(false),
                    _t: core::marker::PhantomData,
                };
                ctx.event(
                    idref,
                    &CmEvent::Req {
                        new: &new,
                        remote_qpn: p.remote_qpn,
                        starting_psn: p.starting_psn,
                        port: u32::from(p.port),
                        private: private(REQ_PRIVATE),
                    },
                );
                // Not adopted: the CM destroys the new ID.
                if new.adopted.get() {
                    0
                } else {
                    EINVAL.to_errno()
                }
            }
            ev => {
                let event = match ev {
                    raw::ib_cm_event_type_IB_CM_REP_RECEIVED => {
                        // SAFETY: `rep_rcvd` is the active member for this event.
                        let p = unsafe { &e.param.rep_rcvd };
                        CmEvent::Rep {
                            remote_qpn: p.remote_qpn,
                            starting_psn: p.starting_psn,
                            private: private(REP_PRIVATE),
                        }
                    }
                    raw::ib_cm_event_type_IB_CM_RTU_RECEIVED => CmEvent::Rtu,
                    raw::ib_cm_event_type_IB_CM_DREQ_RECEIVED => CmEvent::Dreq,
                    raw::ib_cm_event_type_IB_CM_DREP_RECEIVED => CmEvent::Drep,
                    raw::ib_cm_event_type_IB_CM_TIMEWAIT_EXIT => CmEvent::TimewaitExit,
                    raw::ib_cm_event_type_IB_CM_REQ_ERROR
                    | raw::ib_cm_event_type_IB_CM_REP_ERROR
                    | raw::ib_cm_event_type_IB_CM_DREQ_ERROR
                    | raw::ib_cm_event_type_IB_CM_REJ_RECEIVED => CmEvent::Failed(ev),
                    other => CmEvent::Other(other),
                };
                ctx.event(idref, &event);
                // The ID is owned by a `CmId`: the CM must not destroy it.
                0
            }
        }
    }
}

impl<T: CmHandler> core::ops::Deref for CmId<T> {
    type Target = CmIdRef;

    fn deref(&self) -> &CmIdRef {
        // SAFETY: The ID is valid while owned.
        unsafe { CmIdRef::from_raw(self.ptr.as_ptr()) }
    }
}

impl<T: CmHandler> Drop for CmId<T> {
    fn drop(&mut self) {
        // SAFETY: The ID is ours. Destroying it sends what its state calls for (REJ, DREQ)
        // and waits for running handlers, so `ctx` outlives them. Owners never drop it from
        // its own handler.
        unsafe { raw::ib_destroy_cm_id(self.ptr.as_ptr()) }
    }
}
