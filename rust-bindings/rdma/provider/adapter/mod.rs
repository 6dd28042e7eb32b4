// SPDX-License-Identifier: GPL-2.0

//! The `ib_device_ops` of a [`Driver`]: `extern "C"` trampolines into its traits; the device
//! and port verbs here, those of the objects in [`objects`].

mod objects;
mod user;

use super::{
    Ah, Cq, Dev, DeviceAttr, Driver, LinkLayer, MadIn, MadOut, MadWc, Mr, Pd, PortAttr, PortModify,
    Qp, Sleepable, Srq, SysfsAttr, SysfsBuf, UContext, UData,
};
use crate::rust_bindings::error::code::EOPNOTSUPP;
use crate::rust_bindings::raw;
use core::marker::PhantomData;
use core::mem::{offset_of, size_of, MaybeUninit};
use core::ptr::addr_of_mut;
use kernel::error::{from_result, Error, Result};
use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;
use kernel::{c_str, str::CStr};

/// `IB_DEVICE_MODIFY_NODE_DESC`.
const DEVICE_MODIFY_NODE_DESC: c_int = 2;

pub(super) struct Adapter<D: Driver>(PhantomData<D>);

impl<D: Driver> Adapter<D> {
    /// The operations, for `ib_set_device_ops` (which copies them).
    pub(super) fn ops() -> raw::ib_device_ops {
        // SAFETY: An all-zero `ib_device_ops` is valid: no operation, no sizes.
        let mut o: raw::ib_device_ops = unsafe { core::mem::zeroed() };
        o.driver_id = D::DRIVER_ID;
        o.query_device = Some(Self::query_device);
        o.query_port = Some(Self::query_port);
        o.get_port_immutable = Some(Self::get_port_immutable);
        o.get_link_layer = Some(Self::get_link_layer);
        o.query_gid = Some(Self::query_gid);
        o.query_pkey = Some(Self::query_pkey);
        if D::HAS_MODIFY_NODE_DESC {
            o.modify_device = Some(Self::modify_device);
        }
        if D::HAS_MODIFY_PORT {
            o.modify_port = Some(Self::modify_port);
        }
        if D::HAS_FW_VERSION {
            o.get_dev_fw_str = Some(Self::get_dev_fw_str);
        }
        if D::HAS_PROCESS_MAD {
            o.process_mad = Some(Self::process_mad);
        }
        o.alloc_pd = Some(Self::alloc_pd);
        o.dealloc_pd = Some(Self::dealloc_pd);
        o.create_cq = Some(Self::create_cq);
        o.destroy_cq = Some(Self::destroy_cq);
        o.poll_cq = Some(Self::poll_cq);
        o.req_notify_cq = Some(Self::req_notify_cq);
        o.modify_cq = Some(Self::modify_cq);
        o.create_qp = Some(Self::create_qp);
        o.modify_qp = Some(Self::modify_qp);
        o.query_qp = Some(Self::query_qp);
        o.destroy_qp = Some(Self::destroy_qp);
        o.post_send = Some(Self::post_send);
        o.post_recv = Some(Self::post_recv);
        o.create_srq = Some(Self::create_srq);
        o.modify_srq = Some(Self::modify_srq);
        o.query_srq = Some(Self::query_srq);
        o.destroy_srq = Some(Self::destroy_srq);
        o.post_srq_recv = Some(Self::post_srq_recv);
        o.attach_mcast = Some(Self::attach_mcast);
        o.detach_mcast = Some(Self::detach_mcast);
        o.create_ah = Some(Self::create_ah);
        o.query_ah = Some(Self::query_ah);
        o.destroy_ah = Some(Self::destroy_ah);
        o.get_dma_mr = Some(Self::get_dma_mr);
        o.reg_user_mr = Some(Self::reg_user_mr);
        o.alloc_ucontext = Some(Self::alloc_ucontext);
        o.dealloc_ucontext = Some(Self::dealloc_ucontext);
        o.mmap = Some(Self::mmap);
        // Nothing to do beyond what the core does (zapping the mappings): its presence lets
        // the device go while processes still hold their contexts.
        o.disassociate_ucontext = Some(Self::disassociate_ucontext);
        o.dereg_mr = Some(Self::dereg_mr);
        if D::HAS_SYSFS_SHOW {
            o.device_group = &Self::GROUP;
        }
        o.size_ib_pd = size_of::<Pd<D>>();
        o.size_ib_cq = size_of::<Cq<D>>();
        o.size_ib_qp = size_of::<Qp<D>>();
        o.size_ib_srq = size_of::<Srq<D>>();
        o.size_ib_ah = size_of::<Ah<D>>();
        o.size_ib_ucontext = size_of::<UContext<D>>();
        o
    }

    /// A read-only device attribute calling `show`.
    const fn attr(
        name: &'static CStr,
        show: unsafe extern "C" fn(
            *mut raw::device,
            *mut raw::device_attribute,
            *mut c_char,
        ) -> isize,
    ) -> raw::device_attribute {
        // SAFETY: An all-zero attribute is valid (no name, no callbacks, no lockdep key).
        let mut a: raw::device_attribute = unsafe { core::mem::zeroed() };
        a.attr.name = name.as_char_ptr();
        a.attr.mode = 0o444;
        a.show = Some(show);
        a
    }

    const HW_REV: raw::device_attribute = Self::attr(c_str!("hw_rev"), Self::show_hw_rev);
    const HCA_TYPE: raw::device_attribute = Self::attr(c_str!("hca_type"), Self::show_hca_type);
    const BOARD_ID: raw::device_attribute = Self::attr(c_str!("board_id"), Self::show_board_id);
    const ATTRS: [*const raw::attribute; 4] = [
        &Self::HW_REV.attr,
        &Self::HCA_TYPE.attr,
        &Self::BOARD_ID.attr,
        core::ptr::null(),
    ];
    /// The attributes of the device directory (`ib_device_ops.device_group`); the driver
    /// core only reads them.
    const GROUP: raw::attribute_group = {
        // SAFETY: An all-zero group is valid.
        let mut g: raw::attribute_group = unsafe { core::mem::zeroed() };
        g.attrs = Self::ATTRS.as_ptr().cast_mut().cast();
        g
    };

    /// Formats attribute `which` of the device whose `struct device` is `dev` into `buf`.
    ///
    /// # Safety
    ///
    /// `dev` is the `dev` of a registered device of `D` and `buf` a sysfs page.
    unsafe fn show(dev: *mut raw::device, buf: *mut c_char, which: SysfsAttr) -> isize {
        let off = offset_of!(raw::ib_device, __bindgen_anon_1);
        // SAFETY: The attributes are in the group of the `ib_device`'s own `struct device`,
        // the first member of the union at `off`; the device is registered while sysfs shows
        // its attributes.
        let (d, page) = unsafe {
            (
                Self::dev(dev.cast::<u8>().sub(off).cast()),
                core::slice::from_raw_parts_mut(buf.cast::<u8>(), kernel::page::PAGE_SIZE),
            )
        };
        let mut w = SysfsBuf { buf: page, len: 0 };
        match D::sysfs_show(d, which, &mut w) {
            Ok(()) => w.len as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// `hw_rev` show.
    ///
    /// # Safety
    ///
    /// Called by sysfs only, for an attribute of [`Self::GROUP`].
    unsafe extern "C" fn show_hw_rev(
        dev: *mut raw::device,
        _a: *mut raw::device_attribute,
        buf: *mut c_char,
    ) -> isize {
        // SAFETY: As the caller guarantees.
        unsafe { Self::show(dev, buf, SysfsAttr::HwRev) }
    }

    /// `hca_type` show.
    ///
    /// # Safety
    ///
    /// As for `show_hw_rev`.
    unsafe extern "C" fn show_hca_type(
        dev: *mut raw::device,
        _a: *mut raw::device_attribute,
        buf: *mut c_char,
    ) -> isize {
        // SAFETY: As the caller guarantees.
        unsafe { Self::show(dev, buf, SysfsAttr::HcaType) }
    }

    /// `board_id` show.
    ///
    /// # Safety
    ///
    /// As for `show_hw_rev`.
    unsafe extern "C" fn show_board_id(
        dev: *mut raw::device,
        _a: *mut raw::device_attribute,
        buf: *mut c_char,
    ) -> isize {
        // SAFETY: As the caller guarantees.
        unsafe { Self::show(dev, buf, SysfsAttr::BoardId) }
    }

    /// `INIT_RDMA_OBJ_SIZE` checks the core structure is first; so do these.
    const _CORE_FIRST: () = {
        assert!(offset_of!(Pd<D>, core) == 0);
        assert!(offset_of!(Cq<D>, core) == 0);
        assert!(offset_of!(Qp<D>, core) == 0);
        assert!(offset_of!(Srq<D>, core) == 0);
        assert!(offset_of!(Ah<D>, core) == 0);
        assert!(offset_of!(Mr<D>, core) == 0);
        assert!(offset_of!(UContext<D>, core) == 0);
        assert!(offset_of!(Dev<D>, core) == 0);
    };

    /// # Safety
    ///
    /// `ib` is a registered (or registering) device of `D`.
    unsafe fn dev<'a>(ib: *mut raw::ib_device) -> &'a Dev<D> {
        let () = Self::_CORE_FIRST;
        // SAFETY: The caller's guarantee; the data is initialised before registration.
        unsafe { Dev::from_raw(ib) }
    }

    /// `ib_device_ops.query_device`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    unsafe extern "C" fn query_device(
        ib: *mut raw::ib_device,
        attr: *mut raw::ib_device_attr,
        udata: *mut raw::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls this op in process context for its own device, with the
            // udata of this call (or NULL).
            let (dev, cx, uhw) =
                unsafe { (Self::dev(ib), Sleepable::new(), UData::from_raw(udata)) };
            let mut a = DeviceAttr::default();
            D::query_device(dev, &mut a, uhw.as_ref(), &cx)?;
            // SAFETY: `attr` is valid for writes during the call.
            a.write(unsafe { &mut *attr });
            Ok(0)
        })
    }

    /// `ib_device_ops.query_port`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    unsafe extern "C" fn query_port(
        ib: *mut raw::ib_device,
        port: u32,
        attr: *mut raw::ib_port_attr,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As in `query_device`.
            let (dev, cx) = unsafe { (Self::dev(ib), Sleepable::new()) };
            let mut a = PortAttr::default();
            D::query_port(dev, port, &mut a, &cx)?;
            // SAFETY: `attr` is valid for writes during the call.
            a.write(unsafe { &mut *attr });
            Ok(0)
        })
    }

    /// `ib_device_ops.get_port_immutable`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    unsafe extern "C" fn get_port_immutable(
        ib: *mut raw::ib_device,
        port: u32,
        imm: *mut raw::ib_port_immutable,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As in `query_device`.
            let (dev, cx) = unsafe { (Self::dev(ib), Sleepable::new()) };
            let i = D::port_immutable(dev, port, &cx)?;
            // SAFETY: `imm` is valid for writes during the call.
            let imm = unsafe { &mut *imm };
            imm.pkey_tbl_len = i.pkey_tbl_len as c_int;
            imm.gid_tbl_len = i.gid_tbl_len as c_int;
            imm.core_cap_flags = i.core_cap_flags;
            imm.max_mad_size = i.max_mad_size;
            Ok(0)
        })
    }

    /// `ib_device_ops.get_link_layer`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    unsafe extern "C" fn get_link_layer(
        ib: *mut raw::ib_device,
        port: u32,
    ) -> raw::rdma_link_layer {
        // SAFETY: The core calls this op for its own device.
        match D::link_layer(unsafe { Self::dev(ib) }, port) {
            LinkLayer::Infiniband => raw::rdma_link_layer_IB_LINK_LAYER_INFINIBAND,
            LinkLayer::Ethernet => raw::rdma_link_layer_IB_LINK_LAYER_ETHERNET,
        }
    }

    /// `ib_device_ops.query_gid`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    unsafe extern "C" fn query_gid(
        ib: *mut raw::ib_device,
        port: u32,
        index: c_int,
        gid: *mut raw::ib_gid,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As in `query_device`.
            let (dev, cx) = unsafe { (Self::dev(ib), Sleepable::new()) };
            let g = D::query_gid(dev, port, u32::try_from(index)?, &cx)?;
            // SAFETY: `gid` is valid for writes during the call.
            unsafe { (*gid).raw = g };
            Ok(0)
        })
    }

    /// `ib_device_ops.query_pkey`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    unsafe extern "C" fn query_pkey(
        ib: *mut raw::ib_device,
        port: u32,
        index: u16,
        pkey: *mut u16,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As in `query_device`.
            let (dev, cx) = unsafe { (Self::dev(ib), Sleepable::new()) };
            let p = D::query_pkey(dev, port, index, &cx)?;
            // SAFETY: `pkey` is valid for writes during the call.
            unsafe { *pkey = p };
            Ok(0)
        })
    }

    /// `ib_device_ops.modify_device`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    unsafe extern "C" fn modify_device(
        ib: *mut raw::ib_device,
        mask: c_int,
        modify: *mut raw::ib_device_modify,
    ) -> c_int {
        from_result(|| {
            if mask & !DEVICE_MODIFY_NODE_DESC != 0 {
                return Err(EOPNOTSUPP());
            }
            if mask & DEVICE_MODIFY_NODE_DESC == 0 {
                return Ok(0);
            }
            // SAFETY: As in `query_device`; `modify` is valid during the call and its
            // `node_desc` is 64 bytes.
            let (dev, cx, desc) = unsafe {
                (
                    Self::dev(ib),
                    Sleepable::new(),
                    &*(*modify).node_desc.as_ptr().cast::<[u8; 64]>(),
                )
            };
            D::modify_node_desc(dev, desc, &cx)?;
            dev.set_node_desc(desc);
            Ok(0)
        })
    }

    /// `ib_device_ops.modify_port`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    unsafe extern "C" fn modify_port(
        ib: *mut raw::ib_device,
        port: u32,
        mask: c_int,
        modify: *mut raw::ib_port_modify,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As in `query_device`; `modify` is valid during the call.
            let (dev, cx, m) = unsafe { (Self::dev(ib), Sleepable::new(), &*modify) };
            let pm = PortModify {
                mask: mask as u32,
                set_port_cap_mask: m.set_port_cap_mask,
                clr_port_cap_mask: m.clr_port_cap_mask,
                init_type: m.init_type,
            };
            D::modify_port(dev, port, &pm, &cx)?;
            Ok(0)
        })
    }

    /// `ib_device_ops.get_dev_fw_str`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    unsafe extern "C" fn get_dev_fw_str(ib: *mut raw::ib_device, s: *mut c_char) {
        // SAFETY: The core calls this op for its own device with a buffer of
        // `IB_FW_VERSION_NAME_MAX` bytes.
        let (dev, buf) = unsafe {
            (
                Self::dev(ib),
                core::slice::from_raw_parts_mut(
                    s.cast::<u8>(),
                    raw::IB_FW_VERSION_NAME_MAX as usize,
                ),
            )
        };
        buf[0] = 0;
        D::fw_version(dev, buf);
        // Always NUL-terminated, whatever the driver wrote.
        if let Some(last) = buf.last_mut() {
            *last = 0;
        }
    }

    /// `ib_device_ops.process_mad`.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core only, for a device of `D` and with arguments as the op's
    /// contract in `ib_verbs.h` describes them.
    #[allow(clippy::too_many_arguments)]
    unsafe extern "C" fn process_mad(
        ib: *mut raw::ib_device,
        flags: c_int,
        port: u32,
        in_wc: *const raw::ib_wc,
        in_grh: *const raw::ib_grh,
        in_mad: *const raw::ib_mad,
        out_mad: *mut raw::ib_mad,
        out_size: *mut usize,
        _out_pkey_index: *mut u16,
    ) -> c_int {
        const _: () = assert!(size_of::<raw::ib_mad>() == 256);
        // SAFETY: The core calls this op in process context with valid MADs of 256 bytes (an
        // `ib_mad`; larger OPA MADs only on OPA devices), the output as large as `*out_size`.
        let (dev, cx, mad, out) = unsafe {
            (
                Self::dev(ib),
                Sleepable::new(),
                &*in_mad.cast::<[u8; 256]>(),
                &mut *out_mad.cast::<[u8; 256]>(),
            )
        };
        let wc = if in_wc.is_null() {
            None
        } else {
            // SAFETY: `in_wc` is the completion of the received MAD, valid during the call.
            let w = unsafe { &*in_wc };
            Some(MadWc {
                qp_num: if w.qp.is_null() {
                    0
                } else {
                    // SAFETY: The completion of a received MAD names its (valid) QP.
                    unsafe { (*w.qp).qp_num }
                },
                slid: w.slid,
                src_qp: w.src_qp,
                pkey_index: w.pkey_index,
                sl: w.sl,
                dlid_path_bits: w.dlid_path_bits,
                has_grh: w.wc_flags as u32 & raw::ib_wc_flags_IB_WC_GRH != 0,
            })
        };
        const _: () = assert!(size_of::<raw::ib_grh>() == 40);
        // SAFETY: A non-null `in_grh` is the 40-byte GRH of the MAD, valid during the call.
        let grh = (!in_grh.is_null()).then(|| unsafe { &*in_grh.cast::<[u8; 40]>() });
        let min = MadIn {
            mad,
            flags: flags as u32,
            wc,
            grh,
        };
        let r = D::process_mad(dev, port, &min, &mut MadOut { mad: out }, &cx);
        if r.0 & 2 != 0 {
            // SAFETY: `out_size` is valid during the call.
            unsafe { *out_size = 256 };
        }
        r.0 as c_int
    }
}
