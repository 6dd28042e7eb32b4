// SPDX-License-Identifier: GPL-2.0

//! The verbs only processes use: their contexts, `mmap` and user memory regions.

use super::super::{
    Driver, MrCore, MrOps, Pd, Sleepable, UContext, UContextOps, UData, User, UserMap, UserRegion,
};
use super::objects::init_data;
use super::Adapter;
use crate::rust_bindings::raw;
use core::ptr::addr_of_mut;
use kernel::error::from_result;
use kernel::ffi::c_int;
use kernel::prelude::*;

impl<D: Driver> Adapter<D> {
    /// `ib_device_ops.alloc_ucontext`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn alloc_ucontext(
        ctx: *mut raw::ib_ucontext,
        udata: *mut raw::ib_udata,
    ) -> c_int {
        from_result(|| {
            let obj = ctx.cast::<UContext<D>>();
            // SAFETY: The core allocated `size_ib_ucontext` bytes and set `device`; the op
            // runs in the process's system call with the udata of the call.
            let (dev, cx, udata) = unsafe {
                (
                    Self::dev((*ctx).device),
                    Sleepable::new(),
                    UData::from_raw(udata).ok_or(EINVAL)?,
                )
            };
            let init = D::UContext::alloc(dev, &udata, &cx);
            // SAFETY: `data` is the uninitialised data of the new object.
            unsafe { init_data(addr_of_mut!((*obj).data), init)? };
            Ok(0)
        })
    }

    /// `ib_device_ops.dealloc_ucontext`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn dealloc_ucontext(ctx: *mut raw::ib_ucontext) {
        // SAFETY: The core deallocates a context `alloc_ucontext` initialised, once, in
        // process context, after every object and mapping of it is gone; the memory is freed
        // by the core afterwards.
        unsafe {
            let cx = Sleepable::new();
            D::UContext::dealloc(UContext::from_raw(ctx), &cx);
            core::ptr::drop_in_place(addr_of_mut!((*ctx.cast::<UContext<D>>()).data));
        }
    }

    /// `ib_device_ops.mmap`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn mmap(
        ctx: *mut raw::ib_ucontext,
        vma: *mut raw::vm_area_struct,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The context exists during the call, which is the process's `mmap`
            // (process context); `vma` is the area being mapped.
            let (c, cx, map) = unsafe {
                (
                    UContext::<D>::from_raw(ctx),
                    Sleepable::new(),
                    UserMap::new(vma, ctx),
                )
            };
            D::UContext::mmap(c, map, &cx)?;
            Ok(0)
        })
    }

    /// `ib_device_ops.disassociate_ucontext`: the core has zapped the process's mappings and
    /// will destroy its objects; nothing else is the driver's to do.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only.
    pub(super) unsafe extern "C" fn disassociate_ucontext(_ctx: *mut raw::ib_ucontext) {}

    /// `ib_device_ops.reg_user_mr`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    pub(super) unsafe extern "C" fn reg_user_mr(
        pd: *mut raw::ib_pd,
        start: u64,
        length: u64,
        virt: u64,
        access: c_int,
        udata: *mut raw::ib_udata,
    ) -> *mut raw::ib_mr {
        // SAFETY: The PD is valid during the call, the process's system call; `udata` is
        // that of this user verb.
        let (p, cx, user) = unsafe {
            (
                Pd::<D>::from_raw(pd),
                Sleepable::new(),
                User::<D>::from_raw(udata),
            )
        };
        let region = UserRegion {
            start,
            length,
            virt,
            access: access as u32,
        };
        let Some(user) = user.as_ref() else {
            return Self::err_mr(EINVAL);
        };
        let obj = match Self::alloc_mr() {
            Ok(o) => o,
            Err(e) => return Self::err_mr(e),
        };
        // SAFETY: The core part of the new MR is the driver's to set, and only through `mc`.
        let mut mc = MrCore(unsafe { &mut *obj.cast::<raw::ib_mr>() });
        let init = D::Mr::reg_user(p, &mut mc, region, user, &cx);
        // SAFETY: `obj` is from `alloc_mr`, its data not initialised.
        unsafe { Self::finish_mr(obj, init) }
    }
}
