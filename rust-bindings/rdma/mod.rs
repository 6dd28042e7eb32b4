// SPDX-License-Identifier: GPL-2.0

//! RDMA core (ib_core) abstractions: clients of RDMA devices and device/port queries.
//!
//! C headers: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h),
//! [`include/rdma/ib_cache.h`](srctree/include/rdma/ib_cache.h).

mod client;
mod cm;
mod device;
mod event;
pub(crate) mod provider;
mod sa;
mod verbs;

pub(crate) use client::{Client, Registered, Registration};
pub(crate) use cm::{CmEvent, CmHandler, CmId, CmIdRef, NewCm, QpState, ReqParams, RoceReq};
pub(crate) use device::{Device, Gid, LinkLayer, Mtu, PortAttr, PortState, Protocol};
pub(crate) use event::{EventHandler, EventRegistration, PortEvent};
pub(crate) use sa::{
    query_path, Join, JoinHandler, JoinKind, JoinRequest, McMember, PathHandler, PathRec,
    PathRequest, SaClient, SaRegistration,
};
pub(crate) use verbs::{
    Ah, Cq, CqHandler, DmaDir, NetworkHdr, Pd, Qp, QpId, RcQp, RcQpCaps, RecvChain, Sge, Srq,
    UdOffload, UdQp, UdQpCaps, Wc, WcBatch, MAX_SGE, RECV_BATCH,
};
