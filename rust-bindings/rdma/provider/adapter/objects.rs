// SPDX-License-Identifier: GPL-2.0

//! The object verbs of the `ib_device_ops`: PDs, CQs, QPs, SRQs, multicast, AHs and MRs.

use super::super::{
    Ah, AhAttr, AhOps, Atomic, Cq, CqCore, CqInitAttr, CqOps, Driver, Mr, MrCore, MrOps,
    NotifyFlags, Pd, PdOps, Qp, QpAttr, QpCap, QpCore, QpInitAttr, QpOps, RecvWr, SendWr,
    Sleepable, Srq, SrqAttr, SrqCore, SrqInitAttr, SrqOps, SrqType, User, WcOut,
};
use super::Adapter;
use crate::rust_bindings::raw;
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;
use kernel::error::{from_result, Error, Result};
use kernel::ffi::c_int;
use kernel::prelude::*;

/// `IB_CQ_SOLICITED`.
const CQ_SOLICITED: u32 = 1;
/// `IB_CQ_REPORT_MISSED_EVENTS`.
const CQ_REPORT_MISSED_EVENTS: u32 = 4;

/// Initialises the driver data of a core-allocated object in place.
///
/// # Safety
///
/// `slot` is the (uninitialised) data field of an object the core just allocated.
pub(super) unsafe fn init_data<T>(slot: *mut T, init: Result<impl PinInit<T, Error>>) -> Result {
    // SAFETY: The caller's guarantee; the core never moves the object.
    unsafe { init?.__pinned_init(slot) }
}

/// The receive requests of a chain.
///
/// # Safety
///
/// `wr` is NULL or the first of a chain of valid receive requests that live for `'a`.
unsafe fn recv_chain<'a>(wr: *const raw::ib_recv_wr) -> impl Iterator<Item = RecvWr<'a>> {
    let mut cur = wr;
    core::iter::from_fn(move || {
        if cur.is_null() {
            return None;
        }
        // SAFETY: The caller's guarantee.
        let w = unsafe { &*cur };
        cur = w.next;
        Some(RecvWr::new(w))
    })
}

impl<D: Driver> Adapter<D> {
    /// `ib_device_ops.alloc_pd`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn alloc_pd(
        pd: *mut raw::ib_pd,
        udata: *mut raw::ib_udata,
    ) -> c_int {
        from_result(|| {
            let obj = pd.cast::<Pd<D>>();
            // SAFETY: The core allocated `size_ib_pd` bytes and set `device`; process context;
            // `udata` is NULL or that of this user verb.
            let (dev, cx, user) = unsafe {
                (
                    Self::dev((*pd).device),
                    Sleepable::new(),
                    User::<D>::from_raw(udata),
                )
            };
            let init = D::Pd::alloc(dev, user.as_ref(), &cx);
            // SAFETY: `data` is the uninitialised data of the new object.
            unsafe { init_data(addr_of_mut!((*obj).data), init)? };
            Ok(0)
        })
    }

    /// `ib_device_ops.dealloc_pd`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn dealloc_pd(
        pd: *mut raw::ib_pd,
        _udata: *mut raw::ib_udata,
    ) -> c_int {
        // SAFETY: The core deallocates a PD that `alloc_pd` initialised, once, in process
        // context; the data is dropped here and the core frees the memory afterwards.
        unsafe {
            let cx = Sleepable::new();
            D::Pd::dealloc(Pd::from_raw(pd), &cx);
            core::ptr::drop_in_place(addr_of_mut!((*pd.cast::<Pd<D>>()).data));
        }
        0
    }

    /// `ib_device_ops.create_cq`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn create_cq(
        cq: *mut raw::ib_cq,
        attr: *const raw::ib_cq_init_attr,
        attrs: *mut raw::uverbs_attr_bundle,
    ) -> c_int {
        from_result(|| {
            let obj = cq.cast::<Cq<D>>();
            // SAFETY: `attrs` is NULL (a kernel consumer) or the bundle of this user verb.
            let user = unsafe {
                if attrs.is_null() {
                    None
                } else {
                    User::<D>::from_raw(raw::bundle_udata(attrs))
                }
            };
            // SAFETY: The core allocated `size_ib_cq` bytes and set `device`; `attr` is valid
            // during the call; process context.
            let (dev, cx, a) = unsafe { (Self::dev((*cq).device), Sleepable::new(), &*attr) };
            let a = CqInitAttr {
                cqe: a.cqe,
                comp_vector: a.comp_vector,
                flags: a.flags,
            };
            // SAFETY: `core` is the valid core part; the data is not read through it.
            let core = CqCore(unsafe { &*obj.cast() });
            let init = D::Cq::create(dev, core, &a, user.as_ref(), &cx);
            // SAFETY: `data` is the uninitialised data of the new object.
            unsafe { init_data(addr_of_mut!((*obj).data), init)? };
            Ok(0)
        })
    }

    /// `ib_device_ops.destroy_cq`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn destroy_cq(
        cq: *mut raw::ib_cq,
        _udata: *mut raw::ib_udata,
    ) -> c_int {
        // SAFETY: As in `dealloc_pd`, for a CQ `create_cq` initialised.
        unsafe {
            let cx = Sleepable::new();
            D::Cq::destroy(Cq::from_raw(cq), &cx);
            core::ptr::drop_in_place(addr_of_mut!((*cq.cast::<Cq<D>>()).data));
        }
        0
    }

    /// `ib_device_ops.poll_cq`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn poll_cq(
        cq: *mut raw::ib_cq,
        n: c_int,
        wc: *mut raw::ib_wc,
    ) -> c_int {
        let n = usize::try_from(n).unwrap_or(0);
        if n == 0 || wc.is_null() {
            return 0;
        }
        // SAFETY: The CQ exists while the consumer polls it; `wc` has room for `n` entries
        // (`WcOut` is transparent over `ib_wc`).
        let (cq, wcs) = unsafe {
            (
                Cq::<D>::from_raw(cq),
                core::slice::from_raw_parts_mut(wc.cast::<WcOut>(), n),
            )
        };
        match D::Cq::poll(cq, wcs, &Atomic::new()) {
            Ok(k) => k as c_int,
            Err(e) => e.to_errno(),
        }
    }

    /// `ib_device_ops.req_notify_cq`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn req_notify_cq(
        cq: *mut raw::ib_cq,
        flags: raw::ib_cq_notify_flags,
    ) -> c_int {
        let f = NotifyFlags {
            solicited: flags & 3 == CQ_SOLICITED,
            report_missed: flags & CQ_REPORT_MISSED_EVENTS != 0,
        };
        // SAFETY: The CQ exists while the consumer arms it.
        match D::Cq::req_notify(unsafe { Cq::from_raw(cq) }, f, &Atomic::new()) {
            Ok(missed) => c_int::from(missed && f.report_missed),
            Err(e) => e.to_errno(),
        }
    }

    /// `ib_device_ops.modify_cq`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn modify_cq(
        cq: *mut raw::ib_cq,
        count: u16,
        period: u16,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The CQ exists during the call; process context.
            let (cq, cx) = unsafe { (Cq::<D>::from_raw(cq), Sleepable::new()) };
            D::Cq::modify(cq, count, period, &cx)?;
            Ok(0)
        })
    }

    /// `ib_device_ops.create_qp`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn create_qp(
        qp: *mut raw::ib_qp,
        init: *mut raw::ib_qp_init_attr,
        udata: *mut raw::ib_udata,
    ) -> c_int {
        from_result(|| {
            let obj = qp.cast::<Qp<D>>();
            // SAFETY: The core allocated `size_ib_qp` bytes and set `device` and `pd` (a PD of
            // this device); `init` is valid during the call; process context; `udata` is NULL
            // or that of this user verb.
            let (pd, cx, mut attr, user) = unsafe {
                (
                    Pd::<D>::from_raw((*qp).pd),
                    Sleepable::new(),
                    QpInitAttr::<D>::new(&mut *init),
                    User::<D>::from_raw(udata),
                )
            };
            // SAFETY: `core` is the valid core part; the data is not read through it.
            let core = QpCore(unsafe { &*obj.cast() });
            let init = D::Qp::create(pd, core, &mut attr, user.as_ref(), &cx);
            // SAFETY: `data` is the uninitialised data of the new object.
            unsafe { init_data(addr_of_mut!((*obj).data), init)? };
            Ok(0)
        })
    }

    /// `ib_device_ops.modify_qp`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn modify_qp(
        qp: *mut raw::ib_qp,
        attr: *mut raw::ib_qp_attr,
        mask: c_int,
        udata: *mut raw::ib_udata,
    ) -> c_int {
        // A user QP's modify carries udata; mlx4 has nothing in it for QPs other than RSS.
        let _ = udata;
        from_result(|| {
            // SAFETY: The QP exists during the call; `attr` is valid; process context.
            let (qp, cx, a) = unsafe { (Qp::<D>::from_raw(qp), Sleepable::new(), &*attr) };
            D::Qp::modify(qp, &QpAttr::from_raw(a), mask as u32, &cx)?;
            Ok(0)
        })
    }

    /// `ib_device_ops.query_qp`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn query_qp(
        qp: *mut raw::ib_qp,
        attr: *mut raw::ib_qp_attr,
        mask: c_int,
        init: *mut raw::ib_qp_init_attr,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The QP exists during the call; process context.
            let (q, cx) = unsafe { (Qp::<D>::from_raw(qp), Sleepable::new()) };
            let mut a = QpAttr::default();
            let mut cap = QpCap::default();
            D::Qp::query(q, mask as u32, &mut a, &mut cap, &cx)?;
            // SAFETY: `attr` and `init` are valid for writes during the call; `qp` is valid.
            unsafe {
                a.write(&mut *attr);
                let i = &mut *init;
                cap.write(&mut i.cap);
                i.qp_type = (*qp).qp_type;
                i.send_cq = (*qp).send_cq;
                i.recv_cq = (*qp).recv_cq;
                i.srq = (*qp).srq;
                i.event_handler = (*qp).event_handler;
                i.qp_context = (*qp).qp_context;
            }
            Ok(0)
        })
    }

    /// `ib_device_ops.destroy_qp`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn destroy_qp(
        qp: *mut raw::ib_qp,
        _udata: *mut raw::ib_udata,
    ) -> c_int {
        // SAFETY: As in `dealloc_pd`, for a QP `create_qp` initialised.
        unsafe {
            let cx = Sleepable::new();
            D::Qp::destroy(Qp::from_raw(qp), &cx);
            core::ptr::drop_in_place(addr_of_mut!((*qp.cast::<Qp<D>>()).data));
        }
        0
    }

    /// `ib_device_ops.post_send`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn post_send(
        qp: *mut raw::ib_qp,
        wr: *const raw::ib_send_wr,
        bad: *mut *const raw::ib_send_wr,
    ) -> c_int {
        // SAFETY: The QP exists while the consumer posts to it.
        let q = unsafe { Qp::<D>::from_raw(qp) };
        let datagram = q.qp_type().is_datagram();
        let mut cur = wr;
        let mut it = core::iter::from_fn(|| {
            if cur.is_null() {
                return None;
            }
            // SAFETY: The chain consists of valid work requests of the QP's kind.
            let w = unsafe { &*cur };
            cur = w.next;
            // SAFETY: As above: `ib_ud_wr` for datagram QPs, the opcode's type otherwise.
            Some(unsafe { SendWr::<D>::new(w, datagram) })
        });
        match D::Qp::post_send(q, &mut it, &Atomic::new()) {
            Ok(()) => 0,
            Err((n, e)) => {
                let mut w = wr;
                for _ in 0..n {
                    // SAFETY: `n` requests of the chain were posted, so they exist.
                    w = unsafe { (*w).next };
                }
                // SAFETY: `bad` is valid (never NULL, ib_verbs.h).
                unsafe { *bad = w };
                e.to_errno()
            }
        }
    }

    /// `ib_device_ops.post_recv`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn post_recv(
        qp: *mut raw::ib_qp,
        wr: *const raw::ib_recv_wr,
        bad: *mut *const raw::ib_recv_wr,
    ) -> c_int {
        // SAFETY: The QP exists while the consumer posts to it.
        let q = unsafe { Qp::<D>::from_raw(qp) };
        // SAFETY: The chain consists of valid work requests, alive during the call.
        let mut it = unsafe { recv_chain(wr) };
        let r = D::Qp::post_recv(q, &mut it, &Atomic::new());
        // SAFETY: `wr` is the chain the requests came from; `bad` is valid (never NULL).
        unsafe { Self::bad_recv(r, wr, bad) }
    }

    /// `ib_device_ops.create_srq`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn create_srq(
        srq: *mut raw::ib_srq,
        init: *mut raw::ib_srq_init_attr,
        udata: *mut raw::ib_udata,
    ) -> c_int {
        from_result(|| {
            let obj = srq.cast::<Srq<D>>();
            // SAFETY: The core allocated `size_ib_srq` bytes and set `device` and `pd` (a PD of
            // this device); `init` is valid during the call; process context; `udata` is NULL
            // or that of this user verb.
            let (pd, cx, i, user) = unsafe {
                (
                    Pd::<D>::from_raw((*srq).pd),
                    Sleepable::new(),
                    &mut *init,
                    User::<D>::from_raw(udata),
                )
            };
            let mut a = SrqInitAttr {
                srq_type: match i.srq_type {
                    raw::ib_srq_type_IB_SRQT_BASIC => SrqType::Basic,
                    raw::ib_srq_type_IB_SRQT_XRC => SrqType::Xrc,
                    _ => SrqType::Tm,
                },
                max_wr: i.attr.max_wr,
                max_sge: i.attr.max_sge,
            };
            // SAFETY: `core` is the valid core part; the data is not read through it.
            let core = SrqCore(unsafe { &*obj.cast() });
            let init = D::Srq::create(pd, core, &mut a, user.as_ref(), &cx);
            // SAFETY: `data` is the uninitialised data of the new object.
            unsafe { init_data(addr_of_mut!((*obj).data), init)? };
            i.attr.max_wr = a.max_wr;
            i.attr.max_sge = a.max_sge;
            Ok(0)
        })
    }

    /// `ib_device_ops.modify_srq`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn modify_srq(
        srq: *mut raw::ib_srq,
        attr: *mut raw::ib_srq_attr,
        mask: raw::ib_srq_attr_mask,
        udata: *mut raw::ib_udata,
    ) -> c_int {
        // mlx4 has nothing in a user SRQ's modify udata.
        let _ = udata;
        from_result(|| {
            // SAFETY: The SRQ exists during the call; `attr` is valid; process context.
            let (s, cx, a) = unsafe { (Srq::<D>::from_raw(srq), Sleepable::new(), &*attr) };
            D::Srq::modify(s, &SrqAttr::from_raw(a), mask, &cx)?;
            Ok(0)
        })
    }

    /// `ib_device_ops.query_srq`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn query_srq(
        srq: *mut raw::ib_srq,
        attr: *mut raw::ib_srq_attr,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The SRQ exists during the call; process context.
            let (s, cx) = unsafe { (Srq::<D>::from_raw(srq), Sleepable::new()) };
            let a = D::Srq::query(s, &cx)?;
            // SAFETY: `attr` is valid for writes during the call.
            a.write(unsafe { &mut *attr });
            Ok(0)
        })
    }

    /// `ib_device_ops.destroy_srq`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn destroy_srq(
        srq: *mut raw::ib_srq,
        _udata: *mut raw::ib_udata,
    ) -> c_int {
        // SAFETY: As in `dealloc_pd`, for an SRQ `create_srq` initialised (the core destroys
        // an SRQ only once no QP uses it).
        unsafe {
            let cx = Sleepable::new();
            D::Srq::destroy(Srq::from_raw(srq), &cx);
            core::ptr::drop_in_place(addr_of_mut!((*srq.cast::<Srq<D>>()).data));
        }
        0
    }

    /// `ib_device_ops.post_srq_recv`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn post_srq_recv(
        srq: *mut raw::ib_srq,
        wr: *const raw::ib_recv_wr,
        bad: *mut *const raw::ib_recv_wr,
    ) -> c_int {
        // SAFETY: The SRQ exists while the consumer posts to it.
        let s = unsafe { Srq::<D>::from_raw(srq) };
        // SAFETY: The chain consists of valid work requests, alive during the call.
        let mut it = unsafe { recv_chain(wr) };
        let r = D::Srq::post_recv(s, &mut it, &Atomic::new());
        // SAFETY: `wr` is the chain the requests came from; `bad` is valid.
        unsafe { Self::bad_recv(r, wr, bad) }
    }

    /// Reports the outcome of posting a receive chain: 0, or the errno with `*bad` set to the
    /// request that failed.
    ///
    /// # Safety
    ///
    /// `wr` is a valid chain of which at least the first `n` of an error `(n, e)` were posted,
    /// and `bad` is valid for a write.
    unsafe fn bad_recv(
        r: core::result::Result<(), (usize, Error)>,
        wr: *const raw::ib_recv_wr,
        bad: *mut *const raw::ib_recv_wr,
    ) -> c_int {
        match r {
            Ok(()) => 0,
            Err((n, e)) => {
                let mut w = wr;
                for _ in 0..n {
                    // SAFETY: `n` requests of the chain were posted, so they exist.
                    w = unsafe { (*w).next };
                }
                // SAFETY: The caller's guarantee.
                unsafe { *bad = w };
                e.to_errno()
            }
        }
    }

    /// `ib_device_ops.attach_mcast`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn attach_mcast(
        qp: *mut raw::ib_qp,
        gid: *mut raw::ib_gid,
        lid: u16,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The QP and GID are valid during the call; process context.
            let (q, cx, g) = unsafe { (Qp::<D>::from_raw(qp), Sleepable::new(), (*gid).raw) };
            D::Qp::attach_mcast(q, &g, lid, &cx)?;
            Ok(0)
        })
    }

    /// `ib_device_ops.detach_mcast`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn detach_mcast(
        qp: *mut raw::ib_qp,
        gid: *mut raw::ib_gid,
        lid: u16,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As in `attach_mcast`.
            let (q, cx, g) = unsafe { (Qp::<D>::from_raw(qp), Sleepable::new(), (*gid).raw) };
            D::Qp::detach_mcast(q, &g, lid, &cx)?;
            Ok(0)
        })
    }

    /// `ib_device_ops.create_ah`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn create_ah(
        ah: *mut raw::ib_ah,
        init: *mut raw::rdma_ah_init_attr,
        udata: *mut raw::ib_udata,
    ) -> c_int {
        // A user AH (one the library asks the kernel for) has nothing in its udata for mlx4
        // on an InfiniBand port.
        let _ = udata;
        from_result(|| {
            let obj = ah.cast::<Ah<D>>();
            // SAFETY: The core allocated `size_ib_ah` bytes and set `device` and `pd`; `init`
            // and its `ah_attr` are valid during the call.
            let (pd, attr) = unsafe {
                (
                    Pd::<D>::from_raw((*ah).pd),
                    AhAttr::from_raw(&*(*init).ah_attr),
                )
            };
            let cx = Atomic::new();
            // SAFETY: `data` is the uninitialised data of the new object.
            unsafe { init_data(addr_of_mut!((*obj).data), D::Ah::create(pd, &attr, &cx))? };
            Ok(0)
        })
    }

    /// `ib_device_ops.query_ah`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn query_ah(
        ah: *mut raw::ib_ah,
        attr: *mut raw::rdma_ah_attr,
    ) -> c_int {
        from_result(|| {
            let mut a = AhAttr::default();
            // SAFETY: The AH exists during the call.
            D::Ah::query(unsafe { Ah::from_raw(ah) }, &mut a, &Atomic::new())?;
            // SAFETY: `attr` is valid for writes.
            a.write(unsafe { &mut *attr });
            Ok(0)
        })
    }

    /// `ib_device_ops.destroy_ah`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn destroy_ah(ah: *mut raw::ib_ah, _flags: u32) -> c_int {
        // SAFETY: The core destroys an AH `create_ah` initialised, once; the memory is freed
        // by the core afterwards.
        unsafe { core::ptr::drop_in_place(addr_of_mut!((*ah.cast::<Ah<D>>()).data)) };
        0
    }

    /// Allocates an MR (a `KBox`), its core part zeroed as the core expects of driver-made
    /// MRs and its data not initialised: [`Adapter::finish_mr`] completes it.
    pub(super) fn alloc_mr() -> Result<*mut Mr<D>> {
        let b = KBox::<Mr<D>>::new_uninit(GFP_KERNEL)?;
        let obj: *mut Mr<D> = KBox::into_raw(b).cast();
        // SAFETY: `obj` is a fresh allocation of `Mr<D>`; nothing else refers to it.
        unsafe { obj.cast::<raw::ib_mr>().write(core::mem::zeroed()) };
        Ok(obj)
    }

    /// Initialises the data of an MR from [`Adapter::alloc_mr`] with `init`: the MR, or an
    /// `ERR_PTR` with the MR freed.
    ///
    /// # Safety
    ///
    /// `obj` comes from `alloc_mr`, its data is not initialised and nothing else owns it.
    pub(super) unsafe fn finish_mr(
        obj: *mut Mr<D>,
        init: Result<impl PinInit<D::Mr, Error>>,
    ) -> *mut raw::ib_mr {
        // SAFETY: `data` is the uninitialised data of the new MR.
        match unsafe { init_data(addr_of_mut!((*obj).data), init) } {
            Ok(()) => obj.cast(),
            Err(e) => {
                // SAFETY: Nothing else refers to the allocation; the data is not initialised.
                drop(unsafe { KBox::from_raw(obj.cast::<MaybeUninit<Mr<D>>>()) });
                Self::err_mr(e)
            }
        }
    }

    /// An `ERR_PTR` MR.
    pub(super) fn err_mr(e: Error) -> *mut raw::ib_mr {
        // SAFETY: `ERR_PTR` only encodes the errno.
        unsafe { kernel::bindings::ERR_PTR(e.to_errno() as isize).cast() }
    }

    /// `ib_device_ops.get_dma_mr`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn get_dma_mr(
        pd: *mut raw::ib_pd,
        access: c_int,
    ) -> *mut raw::ib_mr {
        // SAFETY: The PD is valid during the call; process context.
        let (p, cx) = unsafe { (Pd::<D>::from_raw(pd), Sleepable::new()) };
        let obj = match Self::alloc_mr() {
            Ok(o) => o,
            Err(e) => return Self::err_mr(e),
        };
        // SAFETY: The core part of the new MR is the driver's to set, and only through `mc`.
        let mut mc = MrCore(unsafe { &mut *obj.cast::<raw::ib_mr>() });
        let init = D::Mr::get_dma_mr(p, &mut mc, access as u32, &cx);
        // SAFETY: `obj` is from `alloc_mr`, its data not initialised.
        unsafe { Self::finish_mr(obj, init) }
    }

    /// `ib_device_ops.dereg_mr`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn dereg_mr(
        mr: *mut raw::ib_mr,
        _udata: *mut raw::ib_udata,
    ) -> c_int {
        from_result(|| {
            let obj = mr.cast::<Mr<D>>();
            // SAFETY: The MR was made by `finish_mr` (a `KBox<Mr<D>>` with initialised data)
            // and the core deregisters it once, in process context.
            let (m, cx) = unsafe { (&*obj, Sleepable::new()) };
            D::Mr::dereg(m, &cx)?;
            // SAFETY: Deregistered: nothing refers to the MR any more.
            drop(unsafe { KBox::from_raw(obj) });
            Ok(0)
        })
    }
}
