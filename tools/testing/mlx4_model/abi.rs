// SPDX-License-Identifier: GPL-2.0

//! The mlx4_core ABI: the 100 functions the C mlx4_ib links against, exported by
//! `mlx4_model_exports.c` under their mlx4_core names.
//!
//! This file is the model's FFI boundary, the counterpart of `rust-bindings/` for a module that
//! provides a C API rather than consuming one: every pointer mlx4_ib hands over is turned into
//! model operations here. Functions that only a multi-function (SR-IOV) device, an Ethernet
//! (RoCE) port or a capability the model does not advertise can reach are listed at the end;
//! each says what it returns and why mlx4_ib cannot call it on the model.
//!
//! # Safety
//!
//! Every function here has the contract of the mlx4_core function of the same name: the
//! `mlx4_dev` is one the model handed out through its auxiliary device and is bound, and every
//! other pointer is valid as mlx4_core's callers (mlx4_ib) guarantee. Only C calls them; the
//! contract is stated once here rather than on each of the hundred.

#![allow(clippy::missing_safety_doc)]

use crate::doorbell::scan_doorbells;
use crate::engine::{be32, now_ms};
use crate::hca::violation;
use crate::hca::{tree_node, CqRec, Hca, MptRec, QpRec, SrqRec};
use crate::rust_bindings::error::code::EOPNOTSUPP;
use crate::rust_bindings::raw;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::error::code::*;
use kernel::ffi::{c_int, c_uint, c_ulong, c_void};
use kernel::prelude::*;

/// The model's module, owner of the drivers registered through it.
pub(crate) static THIS_MODULE: AtomicPtr<raw::module> = AtomicPtr::new(ptr::null_mut());

/// `ERR_PTR(err)`.
fn err_ptr<T>(err: Error) -> *mut T {
    (err.to_errno() as isize) as *mut T
}

/// Returns the HCA behind `dev`.
///
/// # Safety
///
/// `dev` must be a `mlx4_dev` the model handed out (through the auxiliary device), whose HCA is
/// alive: mlx4_ib only holds it while bound, and the HCA unbinds it before going away.
unsafe fn hca<'a>(dev: *mut raw::mlx4_dev) -> &'a Hca {
    // SAFETY: Per the function's contract.
    unsafe { Hca::from_dev(dev) }
}

/// Converts a `Result` into the C convention.
fn ret(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

// Registration and events.

/// `mlx4_register_auxiliary_driver`: registers `madrv` for `mlx4_core.<name>.N` devices.
#[no_mangle]
unsafe extern "C" fn mlx4_register_auxiliary_driver(madrv: *mut raw::mlx4_adrv) -> c_int {
    // SAFETY: `madrv` is the caller's static driver; devices are named `mlx4_core.*` as by
    // mlx4_core, so the driver core matches them against its id table.
    unsafe {
        raw::__auxiliary_driver_register(
            &raw mut (*madrv).adrv,
            THIS_MODULE.load(Ordering::Acquire),
            kernel::c_str!("mlx4_core").as_char_ptr(),
        )
    }
}

/// `mlx4_unregister_auxiliary_driver`.
#[no_mangle]
unsafe extern "C" fn mlx4_unregister_auxiliary_driver(madrv: *mut raw::mlx4_adrv) {
    // SAFETY: Registered by `mlx4_register_auxiliary_driver`.
    unsafe { raw::auxiliary_driver_unregister(&raw mut (*madrv).adrv) }
}

/// `mlx4_register_event_notifier`.
#[no_mangle]
unsafe extern "C" fn mlx4_register_event_notifier(
    dev: *mut raw::mlx4_dev,
    nb: *mut raw::notifier_block,
) -> c_int {
    // SAFETY: `dev` is ours; `nb` lives until unregistered (the caller's contract).
    unsafe { raw::atomic_notifier_chain_register(hca(dev).events.get(), nb) }
}

/// `mlx4_unregister_event_notifier`.
#[no_mangle]
unsafe extern "C" fn mlx4_unregister_event_notifier(
    dev: *mut raw::mlx4_dev,
    nb: *mut raw::notifier_block,
) -> c_int {
    // SAFETY: As above.
    unsafe { raw::atomic_notifier_chain_unregister(hca(dev).events.get(), nb) }
}

/// `mlx4_get_devlink_port`.
#[no_mangle]
unsafe extern "C" fn mlx4_get_devlink_port(
    dev: *mut raw::mlx4_dev,
    port: c_int,
) -> *mut raw::devlink_port {
    if port != 1 {
        return ptr::null_mut();
    }
    // SAFETY: `dev` is ours.
    unsafe { hca(dev).dl_port.get() }
}

// Commands.

/// `__mlx4_cmd`: executes a firmware command. Mailboxes are passed by DMA address.
#[no_mangle]
unsafe extern "C" fn __mlx4_cmd(
    dev: *mut raw::mlx4_dev,
    in_param: u64,
    out_param: *mut u64,
    out_is_imm: c_int,
    in_modifier: u32,
    op_modifier: u8,
    op: u16,
    _timeout: c_ulong,
    _native: c_int,
) -> c_int {
    // SAFETY: `dev` is ours.
    let hca = unsafe { hca(dev) };
    if out_is_imm != 0 {
        // No modelled command has an immediate output.
        return EINVAL.to_errno();
    }
    let inbox = if in_param != 0 {
        hca.dma_to_virt(in_param)
    } else {
        ptr::null_mut()
    };
    let outbox = if out_param.is_null() {
        ptr::null_mut()
    } else {
        // SAFETY: `mlx4_cmd_box` passes the address of the outbox's DMA address.
        let a = unsafe { *out_param };
        if a == 0 {
            ptr::null_mut()
        } else {
            hca.dma_to_virt(a)
        }
    };
    ret(hca.command(inbox, outbox, in_modifier, op_modifier, op))
}

/// `mlx4_alloc_cmd_mailbox`.
#[no_mangle]
unsafe extern "C" fn mlx4_alloc_cmd_mailbox(dev: *mut raw::mlx4_dev) -> *mut raw::mlx4_cmd_mailbox {
    // SAFETY: `dev` is ours.
    match unsafe { hca(dev) }.mailbox_alloc() {
        Ok(mb) => mb,
        Err(e) => err_ptr(e),
    }
}

/// `mlx4_free_cmd_mailbox`.
#[no_mangle]
unsafe extern "C" fn mlx4_free_cmd_mailbox(
    dev: *mut raw::mlx4_dev,
    mailbox: *mut raw::mlx4_cmd_mailbox,
) {
    if mailbox.is_null() {
        return;
    }
    // SAFETY: `dev` is ours; `mailbox` came from `mlx4_alloc_cmd_mailbox`.
    unsafe { hca(dev).mailbox_free(mailbox) }
}

/// `mlx4_INIT_PORT`: brings the port up (the link trains once the other end is up too).
#[no_mangle]
unsafe extern "C" fn mlx4_INIT_PORT(dev: *mut raw::mlx4_dev, port: c_int) -> c_int {
    if port != 1 {
        return EINVAL.to_errno();
    }
    // SAFETY: `dev` is ours.
    let hca = unsafe { hca(dev) };
    hca.state.lock().port_open = true;
    hca.fabric.set_open(hca.index, true);
    0
}

/// `mlx4_CLOSE_PORT`.
#[no_mangle]
unsafe extern "C" fn mlx4_CLOSE_PORT(dev: *mut raw::mlx4_dev, port: c_int) -> c_int {
    if port != 1 {
        return EINVAL.to_errno();
    }
    // SAFETY: `dev` is ours.
    let hca = unsafe { hca(dev) };
    hca.state.lock().port_open = false;
    hca.fabric.set_open(hca.index, false);
    0
}

// Protection domains and UARs.

/// `mlx4_pd_alloc`.
#[no_mangle]
unsafe extern "C" fn mlx4_pd_alloc(dev: *mut raw::mlx4_dev, pdn: *mut u32) -> c_int {
    // SAFETY: `dev` is ours.
    match unsafe { hca(dev) }.state.lock().pd_alloc() {
        Some(n) => {
            // SAFETY: `pdn` is the caller's output.
            unsafe { *pdn = n };
            0
        }
        None => ENOMEM.to_errno(),
    }
}

/// `mlx4_pd_free`.
#[no_mangle]
unsafe extern "C" fn mlx4_pd_free(dev: *mut raw::mlx4_dev, pdn: u32) {
    // SAFETY: `dev` is ours.
    let h = unsafe { hca(dev) };
    if !h.state.lock().pd_free(pdn) {
        violation(
            h,
            format_args!("freeing PD {:#x}, which is not allocated", pdn),
        );
    }
}

/// `mlx4_uar_alloc`: a page of the ivshmem BAR.
#[no_mangle]
unsafe extern "C" fn mlx4_uar_alloc(dev: *mut raw::mlx4_dev, uar: *mut raw::mlx4_uar) -> c_int {
    // SAFETY: `dev` is ours.
    let hca = unsafe { hca(dev) };
    let Some(index) = hca.state.lock().uar_alloc(hca.uar_pages) else {
        return ENOMEM.to_errno();
    };
    // SAFETY: `uar` is the caller's object.
    unsafe {
        (*uar).index = index as c_int;
        (*uar).pfn = (hca.uar_pfn + u64::from(index)) as c_ulong;
        (*uar).map = ptr::null_mut();
        (*uar).bf_map = ptr::null_mut();
    }
    0
}

/// `mlx4_uar_free`.
#[no_mangle]
unsafe extern "C" fn mlx4_uar_free(dev: *mut raw::mlx4_dev, uar: *mut raw::mlx4_uar) {
    // SAFETY: `dev` is ours; `uar` was filled by `mlx4_uar_alloc`.
    let index = unsafe { (*uar).index } as u32;
    // SAFETY: `dev` is ours.
    let h = unsafe { hca(dev) };
    // Doorbells rung on the page before it was freed belong to it: take them now, so that
    // they neither count against its next owner nor name QPs that are gone.
    scan_doorbells(h);
    if !h.state.lock().uar_free(index) {
        violation(
            h,
            format_args!("freeing UAR {}, which is not allocated", index),
        );
    }
}

// Buffers, doorbell records and MTTs.

/// `mlx4_buf_alloc`: one coherent block up to `max_direct`, else a list of pages (as
/// mlx4_core does).
#[no_mangle]
unsafe extern "C" fn mlx4_buf_alloc(
    dev: *mut raw::mlx4_dev,
    size: c_int,
    max_direct: c_int,
    buf: *mut raw::mlx4_buf,
) -> c_int {
    if size <= 0 {
        return EINVAL.to_errno();
    }
    // SAFETY: `dev` is ours.
    let ddev = unsafe { hca(dev) }.dma_dev();
    let page = kernel::page::PAGE_SIZE;
    // SAFETY: `buf` is the caller's object, written whole here; the allocations are made on
    // the HCA's DMA device and recorded in it for `mlx4_buf_free`.
    unsafe {
        ptr::write_bytes(buf, 0, 1);
        if size <= max_direct {
            let mut t: raw::dma_addr_t = 0;
            let order = (size as usize).div_ceil(page).next_power_of_two().ilog2();
            (*buf).nbufs = 1;
            (*buf).npages = 1;
            (*buf).page_shift = (order + kernel::page::PAGE_SHIFT as u32) as c_int;
            let p = raw::dma_alloc_attrs(ddev, size as usize, &mut t, raw::GFP_KERNEL, 0);
            if p.is_null() {
                return ENOMEM.to_errno();
            }
            ptr::write_bytes(p.cast::<u8>(), 0, size as usize);
            (*buf).direct.buf = p;
            (*buf).direct.map = t;
            while t & ((1u64 << (*buf).page_shift) - 1) != 0 {
                (*buf).page_shift -= 1;
                (*buf).npages *= 2;
            }
        } else {
            let n = (size as usize).div_ceil(page);
            (*buf).nbufs = n as c_int;
            (*buf).npages = n as c_int;
            (*buf).page_shift = kernel::page::PAGE_SHIFT as c_int;
            let list: *mut raw::mlx4_buf_list =
                raw::kzalloc_zeroed(n * core::mem::size_of::<raw::mlx4_buf_list>()).cast();
            if list.is_null() {
                return ENOMEM.to_errno();
            }
            (*buf).page_list = list;
            for i in 0..n {
                let mut t: raw::dma_addr_t = 0;
                let p = raw::dma_alloc_attrs(ddev, page, &mut t, raw::GFP_KERNEL, 0);
                if p.is_null() {
                    mlx4_buf_free(dev, size, buf);
                    return ENOMEM.to_errno();
                }
                ptr::write_bytes(p.cast::<u8>(), 0, page);
                (*list.add(i)).buf = p;
                (*list.add(i)).map = t;
            }
        }
    }
    0
}

/// `mlx4_buf_free`.
#[no_mangle]
unsafe extern "C" fn mlx4_buf_free(dev: *mut raw::mlx4_dev, size: c_int, buf: *mut raw::mlx4_buf) {
    // SAFETY: `dev` is ours.
    let ddev = unsafe { hca(dev) }.dma_dev();
    // SAFETY: `buf` was filled by `mlx4_buf_alloc` with `size` (possibly partly, on error).
    unsafe {
        if (*buf).nbufs == 1 && !(*buf).direct.buf.is_null() {
            raw::dma_free_attrs(ddev, size as usize, (*buf).direct.buf, (*buf).direct.map, 0);
            (*buf).direct.buf = ptr::null_mut();
        } else if !(*buf).page_list.is_null() {
            for i in 0..(*buf).nbufs as usize {
                let e = (*buf).page_list.add(i);
                if !(*e).buf.is_null() {
                    raw::dma_free_attrs(ddev, kernel::page::PAGE_SIZE, (*e).buf, (*e).map, 0);
                }
            }
            raw::kfree((*buf).page_list.cast());
            (*buf).page_list = ptr::null_mut();
        }
    }
}

/// `mlx4_db_alloc`: a doorbell record. The model gives each record a coherent page of its
/// own (mlx4_core carves them from shared pages); the driver only sees `db`, `dma`, `order`.
#[no_mangle]
unsafe extern "C" fn mlx4_db_alloc(
    dev: *mut raw::mlx4_dev,
    db: *mut raw::mlx4_db,
    order: c_uint,
) -> c_int {
    if order > 1 {
        return EINVAL.to_errno();
    }
    // SAFETY: `dev` is ours.
    let ddev = unsafe { hca(dev) }.dma_dev();
    let mut t: raw::dma_addr_t = 0;
    // SAFETY: Allocation on the HCA's DMA device; `db` is the caller's object.
    unsafe {
        let p = raw::dma_alloc_attrs(ddev, kernel::page::PAGE_SIZE, &mut t, raw::GFP_KERNEL, 0);
        if p.is_null() {
            return ENOMEM.to_errno();
        }
        ptr::write_bytes(p.cast::<u8>(), 0, kernel::page::PAGE_SIZE);
        ptr::write_bytes(db, 0, 1);
        (*db).db = p.cast();
        (*db).dma = t;
        (*db).order = order as c_int;
    }
    0
}

/// `mlx4_db_free`.
#[no_mangle]
unsafe extern "C" fn mlx4_db_free(dev: *mut raw::mlx4_dev, db: *mut raw::mlx4_db) {
    // SAFETY: `dev` is ours; `db` was filled by `mlx4_db_alloc`.
    unsafe {
        let ddev = hca(dev).dma_dev();
        if !(*db).db.is_null() {
            raw::dma_free_attrs(ddev, kernel::page::PAGE_SIZE, (*db).db.cast(), (*db).dma, 0);
            (*db).db = ptr::null_mut();
        }
    }
}

/// `mlx4_mtt_init`: reserves translation entries for `npages` pages of `1 << page_shift`.
#[no_mangle]
unsafe extern "C" fn mlx4_mtt_init(
    dev: *mut raw::mlx4_dev,
    npages: c_int,
    page_shift: c_int,
    mtt: *mut raw::mlx4_mtt,
) -> c_int {
    if npages < 0 || (npages > 0 && !(12..=31).contains(&page_shift)) {
        return EINVAL.to_errno();
    }
    if npages == 0 {
        // SAFETY: `mtt` is the caller's object.
        unsafe {
            (*mtt).order = -1;
            (*mtt).page_shift = 12;
            (*mtt).offset = 0;
        }
        return 0;
    }
    let order = (npages as u32).next_power_of_two().ilog2();
    // SAFETY: `dev` is ours.
    let Some(offset) = unsafe { hca(dev) }.state.lock().mtt_alloc(order) else {
        return ENOMEM.to_errno();
    };
    // SAFETY: `mtt` is the caller's object.
    unsafe {
        (*mtt).page_shift = page_shift;
        (*mtt).order = order as c_int;
        (*mtt).offset = offset;
    }
    0
}

/// `mlx4_mtt_cleanup`.
#[no_mangle]
unsafe extern "C" fn mlx4_mtt_cleanup(dev: *mut raw::mlx4_dev, mtt: *mut raw::mlx4_mtt) {
    // SAFETY: `mtt` was filled by `mlx4_mtt_init`.
    let (offset, order) = unsafe { ((*mtt).offset, (*mtt).order) };
    if order < 0 {
        return;
    }
    // SAFETY: `dev` is ours.
    let h = unsafe { hca(dev) };
    if !h.state.lock().mtt_free(offset, order as u32) {
        violation(
            h,
            format_args!("freeing MTT {:#x}, which is not allocated", offset),
        );
    }
}

/// Writes `pages` into the MTT entries of `mtt` from `start`.
///
/// # Safety
///
/// `dev` is ours and `mtt` was filled by `mlx4_mtt_init`.
unsafe fn write_mtt(
    dev: *mut raw::mlx4_dev,
    mtt: *const raw::mlx4_mtt,
    start: usize,
    pages: impl ExactSizeIterator<Item = u64>,
) -> c_int {
    // SAFETY: Per the function's contract.
    let (offset, order) = unsafe { ((*mtt).offset as usize, (*mtt).order) };
    if order < 0 || start + pages.len() > 1 << order {
        return EINVAL.to_errno();
    }
    // SAFETY: Per the function's contract.
    let h = unsafe { hca(dev) };
    // The smallest MTT page (larger pages: mlx4_ib aligns its blocks, mr.c).
    let align = 0xfffu64;
    let mut s = h.state.lock();
    let inject = crate::hca::take_inject(crate::hca::INJECT_MTT_MISALIGNED);
    for (i, a) in pages.enumerate() {
        let a = if inject && i == 0 { a | 0x800 } else { a };
        // An entry is the DMA address of a page, in RAM (a wild or misaligned one would make
        // the hardware read and write the wrong memory).
        // SAFETY: The PCI device is valid while the HCA exists.
        if a & align != 0 || !unsafe { raw::dma_addr_is_ram(h.dma_dev(), a) } {
            drop(s);
            violation(
                h,
                format_args!(
                    "MTT entry {:#x} + {}: {:#x} is not a {}-byte page of RAM",
                    offset,
                    start + i,
                    a,
                    align + 1
                ),
            );
            return EINVAL.to_errno();
        }
        // MLX4_MTT_FLAG_PRESENT.
        s.mtt[offset + start + i] = a | 1;
    }
    0
}

/// `mlx4_write_mtt`.
#[no_mangle]
unsafe extern "C" fn mlx4_write_mtt(
    dev: *mut raw::mlx4_dev,
    mtt: *mut raw::mlx4_mtt,
    start_index: c_int,
    npages: c_int,
    page_list: *mut u64,
) -> c_int {
    if start_index < 0 || npages < 0 {
        return EINVAL.to_errno();
    }
    // SAFETY: `page_list` holds `npages` addresses (the caller's contract).
    let pages = unsafe { core::slice::from_raw_parts(page_list, npages as usize) };
    // SAFETY: `dev` is ours, `mtt` initialised.
    unsafe { write_mtt(dev, mtt, start_index as usize, pages.iter().copied()) }
}

/// `mlx4_buf_write_mtt`: the pages of `buf`.
#[no_mangle]
unsafe extern "C" fn mlx4_buf_write_mtt(
    dev: *mut raw::mlx4_dev,
    mtt: *mut raw::mlx4_mtt,
    buf: *mut raw::mlx4_buf,
) -> c_int {
    // SAFETY: `buf` was filled by `mlx4_buf_alloc`.
    let (nbufs, npages, shift, direct, list) = unsafe {
        (
            (*buf).nbufs,
            (*buf).npages as usize,
            (*buf).page_shift as u32,
            (*buf).direct.map,
            (*buf).page_list,
        )
    };
    let addr = move |i: usize| {
        if nbufs == 1 {
            direct + ((i as u64) << shift)
        } else {
            // SAFETY: `list` has `npages` entries when `nbufs != 1`.
            unsafe { (*list.add(i)).map }
        }
    };
    // SAFETY: `dev` is ours, `mtt` initialised.
    unsafe { write_mtt(dev, mtt, 0, (0..npages).map(addr)) }
}

// Completion queues.

/// `mlx4_cq_alloc`.
#[no_mangle]
unsafe extern "C" fn mlx4_cq_alloc(
    dev: *mut raw::mlx4_dev,
    nent: c_int,
    mtt: *mut raw::mlx4_mtt,
    uar: *mut raw::mlx4_uar,
    db_rec: u64,
    cq: *mut raw::mlx4_cq,
    vector: c_uint,
    _collapsed: c_int,
    _timestamp_en: c_int,
    _buf_addr: *mut c_void,
    user_cq: bool,
) -> c_int {
    if nent <= 0 || !(nent as u32).is_power_of_two() || vector != 0 || uar.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: `dev` is ours.
    let hca = unsafe { hca(dev) };
    // SAFETY: `mtt` was filled by `mlx4_mtt_init`.
    let mtt = unsafe { ((*mtt).offset, (*mtt).page_shift as u32) };
    let rec = CqRec {
        cq,
        nent: nent as u32,
        mtt,
        db_rec,
        prod: 0,
        // SAFETY: `uar` is the driver's UAR, filled by `mlx4_uar_alloc`.
        uar: unsafe { (*uar).index } as u32,
        arm_db: 0,
        idle_writes: 0,
    };
    let Some(cqn) = hca.state.lock().cqn_alloc() else {
        return ENOMEM.to_errno();
    };
    // The firmware hands every entry to hardware (ownership bit 1 on the first pass: the last
    // byte of each slot), a page of entries per lock hold.
    let slot = u64::from(hca.cqe_size);
    for chunk in (0..nent as u64).step_by(128) {
        let s = hca.state.lock();
        for i in chunk..(chunk + 128).min(nent as u64) {
            match s.buf_dma(mtt, i * slot) {
                // SAFETY: The CQ buffer is mapped by the MTT the driver wrote for it; a slot
                // does not cross a page (`slot` divides the MTT page size).
                Some(dma) => unsafe { *hca.dma_to_virt(dma + slot - 1) = 0x80 },
                None => {
                    drop(s);
                    hca.state.lock().cqn_free(cqn);
                    return EINVAL.to_errno();
                }
            }
        }
    }
    let node = match tree_node(cqn, rec) {
        Ok(n) => n,
        Err(e) => {
            hca.state.lock().cqn_free(cqn);
            return e.to_errno();
        }
    };
    // SAFETY: `cq` is the driver's object, valid until `mlx4_cq_free`; these are the fields
    // mlx4_core sets.
    unsafe {
        (*cq).vector = vector;
        (*cq).cqn = cqn as c_int;
        (*cq).cons_index = 0;
        (*cq).arm_sn = 1;
        (*cq).uar = uar;
        raw::refcount_set_to(&raw mut (*cq).refcount, 1);
        raw::completion_init(&raw mut (*cq).free);
        // As mlx4_core: every CQ starts completing through the tasklet, which calls
        // `tasklet_ctx.comp`; a driver that polls from the interrupt sets `comp` afterwards,
        // and one that set it before the call has lost it.
        let _ = user_cq;
        (*cq).comp = Some(tasklet_comp);
        (*cq).irq = 0;
    }
    hca.state.lock().cqs.insert(node);
    0
}

/// The `mlx4_cq.comp` mlx4_core's `mlx4_cq_alloc` sets (`mlx4_add_cq_to_tasklet`): the
/// engine calls `tasklet_ctx.comp` from its softirq-like pass for CQs that still have it.
pub(crate) unsafe extern "C" fn tasklet_comp(_cq: *mut raw::mlx4_cq) {}

/// Whether `comp` is still mlx4_core's tasklet hook.
pub(crate) fn is_tasklet_comp(comp: Option<unsafe extern "C" fn(*mut raw::mlx4_cq)>) -> bool {
    comp.is_some_and(|f| f as *const () == tasklet_comp as *const ())
}

/// `mlx4_cq_free`: waits until no completion handler runs for it.
#[no_mangle]
unsafe extern "C" fn mlx4_cq_free(dev: *mut raw::mlx4_dev, cq: *mut raw::mlx4_cq) {
    // SAFETY: `dev` is ours; `cq` was allocated by `mlx4_cq_alloc`.
    unsafe {
        let hca = hca(dev);
        let cqn = (*cq).cqn as u32;
        // An arm doorbell rung just before is for this CQ, not a violation.
        scan_doorbells(hca);
        {
            let mut s = hca.state.lock();
            if let Some(uar) = s.cqs.get(&cqn).map(|c| c.uar) {
                s.remember_gone(cqn | crate::hca::GONE_CQ, uar, now_ms());
            }
            let _ = s.cqs.remove(&cqn);
            s.cqn_free(cqn);
        }
        if raw::refcount_dec_test(&raw mut (*cq).refcount) {
            raw::complete(&raw mut (*cq).free);
        }
        raw::wait_for_completion(&raw mut (*cq).free);
    }
}

/// `mlx4_cq_modify`: completion moderation. The model raises an event per arming and
/// completion, so moderation has no effect; accepted as the firmware accepts it.
#[no_mangle]
unsafe extern "C" fn mlx4_cq_modify(
    _dev: *mut raw::mlx4_dev,
    cq: *mut raw::mlx4_cq,
    count: u16,
    period: u16,
) -> c_int {
    // Moderation is not modelled (every completion raises its event); the request is logged
    // so that tests can see a driver made it.
    // SAFETY: `cq` is an allocated CQ (the caller's contract).
    let cqn = unsafe { (*cq).cqn };
    pr_info!(
        "CQ {:#x}: moderation {} completions, {} us\n",
        cqn,
        count,
        period
    );
    0
}

/// `mlx4_cq_resize`: not modelled yet (`ibv_resize_cq` fails with EOPNOTSUPP).
#[no_mangle]
unsafe extern "C" fn mlx4_cq_resize(
    _dev: *mut raw::mlx4_dev,
    _cq: *mut raw::mlx4_cq,
    _entries: c_int,
    _mtt: *mut raw::mlx4_mtt,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

// Queue pairs.

/// `mlx4_qp_reserve_range`.
#[no_mangle]
unsafe extern "C" fn mlx4_qp_reserve_range(
    dev: *mut raw::mlx4_dev,
    cnt: c_int,
    align: c_int,
    base: *mut c_int,
    _flags: u8,
    _usage: u8,
) -> c_int {
    if cnt <= 0 || align <= 0 || !(align as u32).is_power_of_two() {
        return EINVAL.to_errno();
    }
    // SAFETY: `dev` is ours.
    match unsafe { hca(dev) }
        .state
        .lock()
        .qpn_reserve(cnt as u32, align as u32)
    {
        Some(b) => {
            // SAFETY: `base` is the caller's output.
            unsafe { *base = b as c_int };
            0
        }
        None => ENOMEM.to_errno(),
    }
}

/// `mlx4_qp_release_range`.
#[no_mangle]
unsafe extern "C" fn mlx4_qp_release_range(dev: *mut raw::mlx4_dev, base: c_int, cnt: c_int) {
    if base < 0 || cnt <= 0 {
        return;
    }
    // SAFETY: `dev` is ours.
    let h = unsafe { hca(dev) };
    if !h.state.lock().qpn_release(base as u32, cnt as u32) {
        violation(
            h,
            format_args!("releasing QPNs {:#x}+{}, not reserved", base, cnt),
        );
    }
}

/// `mlx4_qp_alloc`: makes `qp` the QP of `qpn` (in reset) and visible to mlx4_ib's lookups.
#[no_mangle]
unsafe extern "C" fn mlx4_qp_alloc(
    dev: *mut raw::mlx4_dev,
    qpn: c_int,
    qp: *mut raw::mlx4_qp,
) -> c_int {
    if qpn <= 0 {
        return EINVAL.to_errno();
    }
    let qpn = qpn as u32;
    // SAFETY: `dev` is ours.
    let hca = unsafe { hca(dev) };
    let ctx = match KBox::<raw::mlx4_qp_context>::new(Default::default(), GFP_KERNEL) {
        Ok(c) => c,
        Err(e) => return Error::from(e).to_errno(),
    };
    let node = match tree_node(qpn, QpRec::new(qp, ctx)) {
        Ok(n) => n,
        Err(e) => return e.to_errno(),
    };
    let mut s = hca.state.lock();
    if !s.qpn_valid(qpn) || s.qps.get(&qpn).is_some() {
        return EINVAL.to_errno();
    }
    // SAFETY: `qp` is the driver's object, valid until `mlx4_qp_free`. The tree is mlx4_dev's
    // (initialised with GFP_ATOMIC, so inserting under the lock is fine); writers are
    // serialised by the state lock, readers use RCU lookups as with mlx4_core.
    let err = unsafe {
        (*qp).qpn = qpn as c_int;
        raw::refcount_set_to(&raw mut (*qp).refcount, 1);
        raw::completion_init(&raw mut (*qp).free);
        let d = hca.mdev.get();
        raw::radix_tree_insert(
            &raw mut (*d).qp_table_tree,
            (qpn & ((1 << 17) - 1)) as c_ulong,
            qp.cast(),
        )
    };
    if err != 0 {
        return err;
    }
    s.qps.insert(node);
    0
}

/// `mlx4_qp_remove`: hides `qp` from lookups.
#[no_mangle]
unsafe extern "C" fn mlx4_qp_remove(dev: *mut raw::mlx4_dev, qp: *mut raw::mlx4_qp) {
    // SAFETY: `dev` is ours and `qp` was allocated by `mlx4_qp_alloc`.
    // The firmware forgets the QP too: the engine takes no new reference once this returns.
    let rec = unsafe {
        let hca = hca(dev);
        // A doorbell rung just before (a process killed while posting) is for this QP.
        scan_doorbells(hca);
        let mut s = hca.state.lock();
        if let Some(uar) = s.qps.get(&((*qp).qpn as u32)).map(|r| be32(r.ctx.usr_page)) {
            s.remember_gone((*qp).qpn as u32, uar & 0xff_ffff, now_ms());
        }
        let d = hca.mdev.get();
        raw::radix_tree_delete(
            &raw mut (*d).qp_table_tree,
            ((*qp).qpn as u32 & ((1 << 17) - 1)) as c_ulong,
        );
        s.qps.remove(&((*qp).qpn as u32))
    };
    // Freed outside the lock.
    drop(rec);
}

/// Drops a reference to `qp` (what `mlx4_put_qp` does).
///
/// # Safety
///
/// The caller holds a reference.
pub(crate) unsafe fn put_qp(qp: *mut raw::mlx4_qp) {
    // SAFETY: Per the function's contract.
    unsafe { mlx4_put_qp(qp) }
}

/// `mlx4_put_qp`.
#[no_mangle]
unsafe extern "C" fn mlx4_put_qp(qp: *mut raw::mlx4_qp) {
    // SAFETY: The caller holds a reference.
    unsafe {
        if raw::refcount_dec_test(&raw mut (*qp).refcount) {
            raw::complete(&raw mut (*qp).free);
        }
    }
}

/// `mlx4_qp_free`: drops the firmware's QP once no event handler holds it.
#[no_mangle]
unsafe extern "C" fn mlx4_qp_free(dev: *mut raw::mlx4_dev, qp: *mut raw::mlx4_qp) {
    // SAFETY: `qp` was allocated by `mlx4_qp_alloc` (and normally removed; an error path of
    // the driver may free it without removing it, so the record goes here at the latest).
    unsafe {
        let qpn = (*qp).qpn as u32;
        let rec = {
            let hca = hca(dev);
            let mut s = hca.state.lock();
            match s.qps.get(&qpn) {
                Some(r) if r.qp == qp => s.qps.remove(&qpn),
                _ => None,
            }
        };
        drop(rec);
        mlx4_put_qp(qp);
        raw::wait_for_completion(&raw mut (*qp).free);
    }
}

/// The firmware command each QP state transition maps to (`__mlx4_qp_modify`); `false` for
/// a transition the hardware refuses.
fn transition_ok(cur: u32, new: u32) -> bool {
    use raw::*;
    let (rst, init, rtr, rts, sqer, sqd, err) = (
        mlx4_qp_state_MLX4_QP_STATE_RST,
        mlx4_qp_state_MLX4_QP_STATE_INIT,
        mlx4_qp_state_MLX4_QP_STATE_RTR,
        mlx4_qp_state_MLX4_QP_STATE_RTS,
        mlx4_qp_state_MLX4_QP_STATE_SQER,
        mlx4_qp_state_MLX4_QP_STATE_SQD,
        mlx4_qp_state_MLX4_QP_STATE_ERR,
    );
    if new == rst || new == err {
        return cur <= err;
    }
    matches!(
        (cur, new),
        (c, n) if (c == rst && n == init)
            || (c == init && (n == init || n == rtr))
            || (c == rtr && n == rts)
            || (c == rts && (n == rts || n == sqd))
            || (c == sqd && (n == rts || n == sqd))
            || (c == sqer && n == rts)
    )
}

/// `mlx4_qp_modify`: a state transition with the QP context.
#[no_mangle]
unsafe extern "C" fn mlx4_qp_modify(
    dev: *mut raw::mlx4_dev,
    mtt: *mut raw::mlx4_mtt,
    cur_state: raw::mlx4_qp_state,
    new_state: raw::mlx4_qp_state,
    context: *mut raw::mlx4_qp_context,
    optpar: raw::mlx4_qp_optpar,
    _sqd_event: c_int,
    qp: *mut raw::mlx4_qp,
) -> c_int {
    if !transition_ok(cur_state, new_state) {
        return EINVAL.to_errno();
    }
    // SAFETY: `context` is the caller's, valid when not null.
    let new_ctx = unsafe { context.as_ref() };
    if let Some(c) = new_ctx.filter(|c| {
        cur_state == raw::mlx4_qp_state_MLX4_QP_STATE_INIT
            && new_state == raw::mlx4_qp_state_MLX4_QP_STATE_RTR
            && matches!((u32::from_be(c.flags) >> 16) & 0xff, 0 | 1)
    }) {
        if let Err(what) = QpRec::rtr_required(c) {
            // The firmware's "bad parameter" status, which mlx4_cmd turns into EINVAL.
            pr_info!("INIT to RTR refused: {}\n", what);
            return EINVAL.to_errno();
        }
    }
    // SAFETY: `dev` is ours, `qp` allocated, `context` and `mtt` the caller's.
    unsafe {
        let hca = hca(dev);
        let qpn = (*qp).qpn as u32;
        if cur_state == raw::mlx4_qp_state_MLX4_QP_STATE_RST
            && new_state == raw::mlx4_qp_state_MLX4_QP_STATE_INIT
            && !context.is_null()
        {
            let addr = u64::from((*mtt).offset) * 8;
            (*context).mtt_base_addr_h = (addr >> 32) as u8;
            (*context).mtt_base_addr_l = ((addr & 0xffff_ffff) as u32).to_be();
            (*context).log_page_size = ((*mtt).page_shift - 12) as u8;
        }
        let mut s = hca.state.lock();
        if cur_state == raw::mlx4_qp_state_MLX4_QP_STATE_RST && !context.is_null() {
            // The firmware resolves the CQs and SRQ the QP names once, here.
            let c = &*context;
            let cq = |v: u32| s.cqs.get(&(u32::from_be(v) & 0xff_ffff)).is_some();
            let srqn = u32::from_be(c.srqn);
            let srq_ok = srqn & (1 << 24) == 0 || s.srqs.get(&(srqn & 0xff_ffff)).is_some();
            if !cq(c.cqn_send) || !cq(c.cqn_recv) || !srq_ok {
                pr_info!("QP {:#x}: RST to INIT refused: no such CQ or SRQ\n", qpn);
                return EINVAL.to_errno();
            }
        }
        let Some(rec) = s.qps.get_mut(&qpn) else {
            return EINVAL.to_errno();
        };
        if rec.state != cur_state {
            return EINVAL.to_errno();
        }
        if new_state != raw::mlx4_qp_state_MLX4_QP_STATE_RST && !context.is_null() {
            if let Err(what) = rec.apply(cur_state, new_state, &*context, optpar) {
                pr_info!(
                    "QP {:#x}: {} to {} refused: {} (optpar {:#x})\n",
                    qpn,
                    cur_state,
                    new_state,
                    what,
                    optpar
                );
                return EINVAL.to_errno();
            }
            rec.ctx.local_qpn = qpn.to_be();
        }
        rec.state = new_state;
        rec.gen = rec.gen.wrapping_add(1);
        if new_state == raw::mlx4_qp_state_MLX4_QP_STATE_RST {
            // The driver resets its queue indexes and doorbell record too.
            rec.sq_cons = 0;
            rec.rq_cons = 0;
            rec.rung = false;
            rec.stall_since = 0;
            rec.rnr_attempts = 0;
            rec.last_wqe_sent = false;
        }
    }
    0
}

/// `mlx4_qp_query`: the context with the current state in `flags[31:28]`.
#[no_mangle]
unsafe extern "C" fn mlx4_qp_query(
    dev: *mut raw::mlx4_dev,
    qp: *mut raw::mlx4_qp,
    context: *mut raw::mlx4_qp_context,
) -> c_int {
    // SAFETY: `dev` is ours, `qp` allocated, `context` the caller's output.
    unsafe {
        let hca = hca(dev);
        let qpn = (*qp).qpn as u32;
        let s = hca.state.lock();
        let Some(rec) = s.qps.get(&qpn) else {
            return EINVAL.to_errno();
        };
        ptr::write(context, ptr::read(&*rec.ctx));
        let flags = u32::from_be((*context).flags) & 0x0fff_ffff;
        (*context).flags = (flags | (rec.state << 28)).to_be();
    }
    0
}

// Shared receive queues.

/// `mlx4_srq_alloc`.
#[no_mangle]
unsafe extern "C" fn mlx4_srq_alloc(
    dev: *mut raw::mlx4_dev,
    pdn: u32,
    cqn: u32,
    _xrcdn: u16,
    mtt: *mut raw::mlx4_mtt,
    db_rec: u64,
    srq: *mut raw::mlx4_srq,
) -> c_int {
    // SAFETY: `dev` is ours.
    let hca = unsafe { hca(dev) };
    // SAFETY: `mtt` was filled by `mlx4_mtt_init`; `srq` has max/max_gs/wqe_shift set.
    let rec = unsafe {
        SrqRec {
            srq,
            pdn,
            cqn,
            mtt: ((*mtt).offset, (*mtt).page_shift as u32),
            db_rec,
            limit: 0,
            max: (*srq).max as u32,
            wqe_shift: (*srq).wqe_shift as u32,
            cons: 0,
            head: 0,
        }
    };
    if rec.max == 0 || !rec.max.is_power_of_two() || !(4..=10).contains(&rec.wqe_shift) {
        return EINVAL.to_errno();
    }
    let Some(srqn) = hca.state.lock().srqn_alloc() else {
        return ENOMEM.to_errno();
    };
    let node = match tree_node(srqn, rec) {
        Ok(n) => n,
        Err(e) => {
            hca.state.lock().srqn_free(srqn);
            return e.to_errno();
        }
    };
    // SAFETY: `srq` is the driver's object, valid until `mlx4_srq_free`.
    unsafe {
        (*srq).srqn = srqn as c_int;
        raw::refcount_set_to(&raw mut (*srq).refcount, 1);
        raw::completion_init(&raw mut (*srq).free);
    }
    hca.state.lock().srqs.insert(node);
    0
}

/// `mlx4_srq_free`.
#[no_mangle]
unsafe extern "C" fn mlx4_srq_free(dev: *mut raw::mlx4_dev, srq: *mut raw::mlx4_srq) {
    // SAFETY: `dev` is ours, `srq` allocated by `mlx4_srq_alloc`.
    unsafe {
        let srqn = (*srq).srqn as u32;
        {
            let mut s = hca(dev).state.lock();
            let _ = s.srqs.remove(&srqn);
            s.srqn_free(srqn);
        }
        if raw::refcount_dec_test(&raw mut (*srq).refcount) {
            raw::complete(&raw mut (*srq).free);
        }
        raw::wait_for_completion(&raw mut (*srq).free);
    }
}

/// `mlx4_srq_arm`: sets the limit event watermark.
#[no_mangle]
unsafe extern "C" fn mlx4_srq_arm(
    dev: *mut raw::mlx4_dev,
    srq: *mut raw::mlx4_srq,
    limit: c_int,
) -> c_int {
    // SAFETY: `dev` is ours, `srq` allocated.
    unsafe {
        let srqn = (*srq).srqn as u32;
        let mut s = hca(dev).state.lock();
        match s.srqs.get_mut(&srqn) {
            Some(r) => {
                r.limit = limit.max(0) as u32;
                0
            }
            None => EINVAL.to_errno(),
        }
    }
}

/// `mlx4_srq_query`: the limit watermark.
#[no_mangle]
unsafe extern "C" fn mlx4_srq_query(
    dev: *mut raw::mlx4_dev,
    srq: *mut raw::mlx4_srq,
    limit: *mut c_int,
) -> c_int {
    // SAFETY: `dev` is ours, `srq` allocated, `limit` the caller's output.
    unsafe {
        let srqn = (*srq).srqn as u32;
        let s = hca(dev).state.lock();
        match s.srqs.get(&srqn) {
            Some(r) => {
                *limit = r.limit as c_int;
                0
            }
            None => EINVAL.to_errno(),
        }
    }
}

/// `mlx4_srq_lookup`.
#[no_mangle]
unsafe extern "C" fn mlx4_srq_lookup(dev: *mut raw::mlx4_dev, srqn: u32) -> *mut raw::mlx4_srq {
    // SAFETY: `dev` is ours.
    let s = unsafe { hca(dev) }.state.lock();
    s.srqs
        .get(&(srqn & 0xff_ffff))
        .map_or(ptr::null_mut(), |r| r.srq)
}

// Memory regions.

/// MPT index to key (`hw_index_to_key`).
fn index_to_key(index: u32) -> u32 {
    index.rotate_left(8)
}

/// `mlx4_mr_alloc`.
#[no_mangle]
unsafe extern "C" fn mlx4_mr_alloc(
    dev: *mut raw::mlx4_dev,
    pd: u32,
    iova: u64,
    size: u64,
    access: u32,
    npages: c_int,
    page_shift: c_int,
    mr: *mut raw::mlx4_mr,
) -> c_int {
    // SAFETY: `dev` is ours.
    let Some(index) = unsafe { hca(dev) }.state.lock().mpt_alloc() else {
        return ENOMEM.to_errno();
    };
    // SAFETY: `mr` is the caller's object.
    let err = unsafe { mlx4_mtt_init(dev, npages, page_shift, &raw mut (*mr).mtt) };
    if err != 0 {
        // SAFETY: `dev` is ours.
        unsafe { hca(dev) }.state.lock().mpt_free(index);
        return err;
    }
    // SAFETY: `mr` is the caller's object.
    unsafe {
        (*mr).iova = iova;
        (*mr).size = size;
        (*mr).pd = pd;
        (*mr).access = access;
        (*mr).enabled = 0;
        (*mr).key = index_to_key(index);
    }
    0
}

/// `mlx4_mr_enable`: the region becomes usable by its key.
#[no_mangle]
unsafe extern "C" fn mlx4_mr_enable(dev: *mut raw::mlx4_dev, mr: *mut raw::mlx4_mr) -> c_int {
    // SAFETY: `mr` was filled by `mlx4_mr_alloc`.
    let rec = unsafe {
        MptRec {
            key: (*mr).key,
            pd: (*mr).pd,
            iova: (*mr).iova,
            size: (*mr).size,
            access: (*mr).access,
            mtt: if (*mr).mtt.order < 0 {
                None
            } else {
                Some(((*mr).mtt.offset, (*mr).mtt.page_shift as u32))
            },
            enabled: true,
        }
    };
    let index = rec.key.rotate_right(8);
    let node = match tree_node(index, rec) {
        Ok(n) => n,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: `dev` is ours.
    unsafe { hca(dev) }.state.lock().mrs.insert(node);
    // SAFETY: As above.
    unsafe { (*mr).enabled = 1 };
    0
}

/// `mlx4_mr_free`.
#[no_mangle]
unsafe extern "C" fn mlx4_mr_free(dev: *mut raw::mlx4_dev, mr: *mut raw::mlx4_mr) -> c_int {
    // SAFETY: `mr` was filled by `mlx4_mr_alloc`; `dev` is ours.
    unsafe {
        let index = (*mr).key.rotate_right(8);
        {
            let mut s = hca(dev).state.lock();
            if (*mr).enabled != 0 {
                let _ = s.mrs.remove(&index);
                (*mr).enabled = 0;
            }
            s.mpt_free(index);
        }
        mlx4_mtt_cleanup(dev, &raw mut (*mr).mtt);
    }
    0
}

// Multicast.

/// `mlx4_multicast_attach`: adds `qp` to the group of `gid` on the port.
#[no_mangle]
unsafe extern "C" fn mlx4_multicast_attach(
    dev: *mut raw::mlx4_dev,
    qp: *mut raw::mlx4_qp,
    gid: *mut u8,
    port: u8,
    _block_mcast_loopback: c_int,
    _prot: raw::mlx4_protocol,
    reg_id: *mut u64,
) -> c_int {
    if port != 1 {
        return EINVAL.to_errno();
    }
    // SAFETY: `gid` points to 16 bytes; `qp` is allocated; `dev` is ours.
    unsafe {
        let mut g = [0u8; 16];
        ptr::copy_nonoverlapping(gid, g.as_mut_ptr(), 16);
        if !reg_id.is_null() {
            *reg_id = 0;
        }
        ret(hca(dev).mcast_attach(g, (*qp).qpn as u32))
    }
}

/// `mlx4_multicast_detach`.
#[no_mangle]
unsafe extern "C" fn mlx4_multicast_detach(
    dev: *mut raw::mlx4_dev,
    qp: *mut raw::mlx4_qp,
    gid: *mut u8,
    _prot: raw::mlx4_protocol,
    _reg_id: u64,
) -> c_int {
    // SAFETY: As in `mlx4_multicast_attach`.
    unsafe {
        let mut g = [0u8; 16];
        ptr::copy_nonoverlapping(gid, g.as_mut_ptr(), 16);
        ret(hca(dev).mcast_detach(g, (*qp).qpn as u32))
    }
}

// Event queues and counters.

/// `mlx4_assign_eq`: the model has one completion vector.
#[no_mangle]
unsafe extern "C" fn mlx4_assign_eq(
    _dev: *mut raw::mlx4_dev,
    _port: u8,
    vector: *mut c_int,
) -> c_int {
    // SAFETY: `vector` is the caller's in/out parameter.
    unsafe { *vector = 0 };
    0
}

/// `mlx4_release_eq`.
#[no_mangle]
unsafe extern "C" fn mlx4_release_eq(_dev: *mut raw::mlx4_dev, _vec: c_int) {}

/// `mlx4_get_eqs_per_port`.
#[no_mangle]
unsafe extern "C" fn mlx4_get_eqs_per_port(_dev: *mut raw::mlx4_dev, _port: u8) -> u32 {
    1
}

/// `mlx4_is_eq_shared`.
#[no_mangle]
unsafe extern "C" fn mlx4_is_eq_shared(_dev: *mut raw::mlx4_dev, _vector: c_int) -> c_int {
    0
}

/// `mlx4_get_default_counter_index`: the sink counter (`max_counters - 1`), which counts
/// nothing, as on a device without flow counters for IB ports.
#[no_mangle]
unsafe extern "C" fn mlx4_get_default_counter_index(
    dev: *mut raw::mlx4_dev,
    _port: c_int,
) -> c_int {
    // SAFETY: `dev` is ours; caps are constant.
    unsafe { (*dev).caps.max_counters as c_int - 1 }
}

/// `mlx4_counter_alloc`: no flow counters (mlx4_ib falls back to the default index).
#[no_mangle]
unsafe extern "C" fn mlx4_counter_alloc(
    _dev: *mut raw::mlx4_dev,
    _idx: *mut u32,
    _usage: u8,
) -> c_int {
    ENOENT.to_errno()
}

/// `mlx4_counter_free`.
#[no_mangle]
unsafe extern "C" fn mlx4_counter_free(_dev: *mut raw::mlx4_dev, _idx: u32) {}

/// `mlx4_get_counter_stats`: flow counters are not modelled (RoCE PMA only).
#[no_mangle]
unsafe extern "C" fn mlx4_get_counter_stats(
    _dev: *mut raw::mlx4_dev,
    _counter_index: c_int,
    _counter_stats: *mut raw::mlx4_counter,
    _reset: c_int,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_query_diag_counters`: the firmware's transport error counters (`DIAG_RPRT`), as
/// the model's engine counts them.
#[no_mangle]
unsafe extern "C" fn mlx4_query_diag_counters(
    dev: *mut raw::mlx4_dev,
    _op_modifier: u8,
    offset: *const u32,
    value: *mut u32,
    array_len: usize,
    port: u8,
) -> c_int {
    if port > 1 {
        return EINVAL.to_errno();
    }
    // SAFETY: `offset` and `value` hold `array_len` entries (the caller's contract).
    let (offsets, values) = unsafe {
        (
            core::slice::from_raw_parts(offset, array_len),
            core::slice::from_raw_parts_mut(value, array_len),
        )
    };
    // SAFETY: `dev` is ours.
    let s = unsafe { hca(dev) }.state.lock();
    for (o, v) in offsets.iter().zip(values.iter_mut()) {
        match s.diag_counter(*o) {
            Some(x) => *v = x,
            None => return EINVAL.to_errno(),
        }
    }
    0
}

/// `mlx4_get_internal_clock_params`: no free-running clock (`hca_core_clock` is 0).
#[no_mangle]
unsafe extern "C" fn mlx4_get_internal_clock_params(
    _dev: *mut raw::mlx4_dev,
    _params: *mut raw::mlx4_clock_params,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

// Unreachable on the model. Each returns what mlx4_core returns when the feature is absent.

/// `mlx4_xrcd_alloc`: XRC is not advertised (`MLX4_DEV_CAP_FLAG_XRC` clear), so mlx4_ib has no
/// `alloc_xrcd`.
#[no_mangle]
unsafe extern "C" fn mlx4_xrcd_alloc(_dev: *mut raw::mlx4_dev, _xrcdn: *mut u32) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_xrcd_free`: see `mlx4_xrcd_alloc`.
#[no_mangle]
unsafe extern "C" fn mlx4_xrcd_free(_dev: *mut raw::mlx4_dev, _xrcdn: u32) {}

/// `mlx4_mw_alloc`: memory windows are not advertised, so mlx4_ib has no `alloc_mw`.
#[no_mangle]
unsafe extern "C" fn mlx4_mw_alloc(
    _dev: *mut raw::mlx4_dev,
    _pd: u32,
    _type: raw::mlx4_mw_type,
    _mw: *mut raw::mlx4_mw,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_mw_enable`: see `mlx4_mw_alloc`.
#[no_mangle]
unsafe extern "C" fn mlx4_mw_enable(_dev: *mut raw::mlx4_dev, _mw: *mut raw::mlx4_mw) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_mw_free`: see `mlx4_mw_alloc`.
#[no_mangle]
unsafe extern "C" fn mlx4_mw_free(_dev: *mut raw::mlx4_dev, _mw: *mut raw::mlx4_mw) {}

/// `mlx4_mr_hw_get_mpt`: re-registration (`ibv_rereg_mr`) is not modelled yet; it fails with
/// EOPNOTSUPP before anything changes.
#[no_mangle]
unsafe extern "C" fn mlx4_mr_hw_get_mpt(
    _dev: *mut raw::mlx4_dev,
    _mmr: *mut raw::mlx4_mr,
    _mpt_entry: *mut *mut *mut raw::mlx4_mpt_entry,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_mr_hw_put_mpt`: see `mlx4_mr_hw_get_mpt`.
#[no_mangle]
unsafe extern "C" fn mlx4_mr_hw_put_mpt(
    _dev: *mut raw::mlx4_dev,
    _mpt_entry: *mut *mut raw::mlx4_mpt_entry,
) {
}

/// `mlx4_mr_hw_write_mpt`: see `mlx4_mr_hw_get_mpt`.
#[no_mangle]
unsafe extern "C" fn mlx4_mr_hw_write_mpt(
    _dev: *mut raw::mlx4_dev,
    _mmr: *mut raw::mlx4_mr,
    _mpt_entry: *mut *mut raw::mlx4_mpt_entry,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_mr_hw_change_pd`: see `mlx4_mr_hw_get_mpt`.
#[no_mangle]
unsafe extern "C" fn mlx4_mr_hw_change_pd(
    _dev: *mut raw::mlx4_dev,
    _mpt_entry: *mut raw::mlx4_mpt_entry,
    _pdn: u32,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_mr_hw_change_access`: see `mlx4_mr_hw_get_mpt`.
#[no_mangle]
unsafe extern "C" fn mlx4_mr_hw_change_access(
    _dev: *mut raw::mlx4_dev,
    _mpt_entry: *mut raw::mlx4_mpt_entry,
    _access: u32,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_mr_rereg_mem_write`: see `mlx4_mr_hw_get_mpt`.
#[no_mangle]
unsafe extern "C" fn mlx4_mr_rereg_mem_write(
    _dev: *mut raw::mlx4_dev,
    _mr: *mut raw::mlx4_mr,
    _iova: u64,
    _size: u64,
    _npages: c_int,
    _page_shift: c_int,
    _mpt_entry: *mut raw::mlx4_mpt_entry,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_mr_rereg_mem_cleanup`: see `mlx4_mr_hw_get_mpt`.
#[no_mangle]
unsafe extern "C" fn mlx4_mr_rereg_mem_cleanup(_dev: *mut raw::mlx4_dev, _mr: *mut raw::mlx4_mr) {}

/// `mlx4_register_mac`: Ethernet (RoCE) ports only; the model's port is InfiniBand.
#[no_mangle]
unsafe extern "C" fn mlx4_register_mac(_dev: *mut raw::mlx4_dev, _port: u8, _mac: u64) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_unregister_mac`: see `mlx4_register_mac`.
#[no_mangle]
unsafe extern "C" fn mlx4_unregister_mac(_dev: *mut raw::mlx4_dev, _port: u8, _mac: u64) {}

/// `mlx4_register_vlan`: see `mlx4_register_mac`.
#[no_mangle]
unsafe extern "C" fn mlx4_register_vlan(
    _dev: *mut raw::mlx4_dev,
    _port: u8,
    _vlan: u16,
    _index: *mut c_int,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_unregister_vlan`: see `mlx4_register_mac`.
#[no_mangle]
unsafe extern "C" fn mlx4_unregister_vlan(_dev: *mut raw::mlx4_dev, _port: u8, _vlan: u16) {}

/// `mlx4_config_roce_v2_port`: RoCE v2 (`MLX4_DEV_CAP_FLAG2_ROCE_V1_V2`) is not advertised.
#[no_mangle]
unsafe extern "C" fn mlx4_config_roce_v2_port(_dev: *mut raw::mlx4_dev, _udp_port: u16) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_FLOW_STEERING_IB_UC_QP_RANGE`: the steering mode is B0, not device-managed, so
/// mlx4_ib never asks for the IB unicast range.
#[no_mangle]
unsafe extern "C" fn mlx4_FLOW_STEERING_IB_UC_QP_RANGE(
    _dev: *mut raw::mlx4_dev,
    _min: u32,
    _max: u32,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_map_sw_to_hw_steering_mode`: see `mlx4_FLOW_STEERING_IB_UC_QP_RANGE`.
#[no_mangle]
unsafe extern "C" fn mlx4_map_sw_to_hw_steering_mode(
    _dev: *mut raw::mlx4_dev,
    _flow_type: raw::mlx4_net_trans_promisc_mode,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_map_sw_to_hw_steering_id`: see `mlx4_FLOW_STEERING_IB_UC_QP_RANGE`.
#[no_mangle]
unsafe extern "C" fn mlx4_map_sw_to_hw_steering_id(
    _dev: *mut raw::mlx4_dev,
    _id: raw::mlx4_net_trans_rule_id,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_hw_rule_sz`: see `mlx4_FLOW_STEERING_IB_UC_QP_RANGE`.
#[no_mangle]
unsafe extern "C" fn mlx4_hw_rule_sz(
    _dev: *mut raw::mlx4_dev,
    _id: raw::mlx4_net_trans_rule_id,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_tunnel_steer_add`: see `mlx4_FLOW_STEERING_IB_UC_QP_RANGE`.
#[no_mangle]
unsafe extern "C" fn mlx4_tunnel_steer_add(
    _dev: *mut raw::mlx4_dev,
    _addr: *const u8,
    _port: c_int,
    _qpn: c_int,
    _prio: u16,
    _reg_id: *mut u64,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_handle_eth_header_mcast_prio`: see `mlx4_FLOW_STEERING_IB_UC_QP_RANGE`.
#[no_mangle]
unsafe extern "C" fn mlx4_handle_eth_header_mcast_prio(
    _ctrl: *mut raw::mlx4_net_trans_rule_hw_ctrl,
    _eth_header: *mut raw::_rule_hw,
) {
}

/// `mlx4_update_qp`: SR-IOV and Ethernet QP updates (SMAC, VLAN, rate limit); unreachable on
/// an InfiniBand port of a single-function device.
#[no_mangle]
unsafe extern "C" fn mlx4_update_qp(
    _dev: *mut raw::mlx4_dev,
    _qpn: u32,
    _attr: raw::mlx4_update_qp_attr,
    _params: *mut raw::mlx4_update_qp_params,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

// SR-IOV: the model is a single function (no MLX4_FLAG_MASTER/SLAVE), so mlx4_ib's SR-IOV
// paths never run. The answers are mlx4_core's for a device that is not a master.

/// `mlx4_gen_pkey_eqe`: SR-IOV only.
#[no_mangle]
unsafe extern "C" fn mlx4_gen_pkey_eqe(
    _dev: *mut raw::mlx4_dev,
    _slave: c_int,
    _port: u8,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_gen_guid_change_eqe`: SR-IOV only.
#[no_mangle]
unsafe extern "C" fn mlx4_gen_guid_change_eqe(
    _dev: *mut raw::mlx4_dev,
    _slave: c_int,
    _port: u8,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_gen_port_state_change_eqe`: SR-IOV only.
#[no_mangle]
unsafe extern "C" fn mlx4_gen_port_state_change_eqe(
    _dev: *mut raw::mlx4_dev,
    _slave: c_int,
    _port: u8,
    _subtype: u8,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_gen_slaves_port_mgt_ev`: SR-IOV only.
#[no_mangle]
unsafe extern "C" fn mlx4_gen_slaves_port_mgt_ev(
    _dev: *mut raw::mlx4_dev,
    _port: u8,
    _attr: c_int,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_get_slave_port_state`: SR-IOV only.
#[no_mangle]
unsafe extern "C" fn mlx4_get_slave_port_state(
    _dev: *mut raw::mlx4_dev,
    _slave: c_int,
    _port: u8,
) -> raw::slave_port_state {
    raw::slave_port_state_SLAVE_PORT_DOWN
}

/// `set_and_calc_slave_port_state`: SR-IOV only.
#[no_mangle]
unsafe extern "C" fn set_and_calc_slave_port_state(
    _dev: *mut raw::mlx4_dev,
    _slave: c_int,
    _port: u8,
    _event: c_int,
    _gen_event: *mut raw::slave_port_gen_event,
) -> c_int {
    EINVAL.to_errno()
}

/// `mlx4_get_active_ports`: every port, as for a function that is not a VF.
#[no_mangle]
unsafe extern "C" fn mlx4_get_active_ports(
    _dev: *mut raw::mlx4_dev,
    _slave: c_int,
) -> raw::mlx4_active_ports {
    let mut p = raw::mlx4_active_ports::default();
    p.ports[0] = 1;
    p
}

/// `mlx4_phys_to_slave_port`: the identity, as for a function that is not a VF.
#[no_mangle]
unsafe extern "C" fn mlx4_phys_to_slave_port(
    _dev: *mut raw::mlx4_dev,
    _slave: c_int,
    port: c_int,
) -> c_int {
    port
}

/// `mlx4_slave_convert_port`: the identity, as for a function that is not a VF.
#[no_mangle]
unsafe extern "C" fn mlx4_slave_convert_port(
    _dev: *mut raw::mlx4_dev,
    _slave: c_int,
    port: c_int,
) -> c_int {
    port
}

/// `mlx4_get_base_gid_ix`: 0 for a device that is not a master.
#[no_mangle]
unsafe extern "C" fn mlx4_get_base_gid_ix(
    _dev: *mut raw::mlx4_dev,
    _slave: c_int,
    _port: c_int,
) -> c_int {
    0
}

/// `mlx4_get_slave_default_vlan`: SR-IOV only (no VST).
#[no_mangle]
unsafe extern "C" fn mlx4_get_slave_default_vlan(
    _dev: *mut raw::mlx4_dev,
    _port: c_int,
    _slave: c_int,
    _vlan: *mut u16,
    _qos: *mut u8,
) -> bool {
    false
}

/// `mlx4_vf_smi_enabled`: SR-IOV only.
#[no_mangle]
unsafe extern "C" fn mlx4_vf_smi_enabled(
    _dev: *mut raw::mlx4_dev,
    _slave: c_int,
    _port: c_int,
) -> c_int {
    0
}

/// `mlx4_vf_get_enable_smi_admin`: SR-IOV only.
#[no_mangle]
unsafe extern "C" fn mlx4_vf_get_enable_smi_admin(
    _dev: *mut raw::mlx4_dev,
    _slave: c_int,
    _port: c_int,
) -> c_int {
    0
}

/// `mlx4_vf_set_enable_smi_admin`: SR-IOV only.
#[no_mangle]
unsafe extern "C" fn mlx4_vf_set_enable_smi_admin(
    _dev: *mut raw::mlx4_dev,
    _slave: c_int,
    _port: c_int,
    _enable: c_int,
) -> c_int {
    EOPNOTSUPP().to_errno()
}

/// `mlx4_get_admin_guid`: SR-IOV only.
#[no_mangle]
unsafe extern "C" fn mlx4_get_admin_guid(
    _dev: *mut raw::mlx4_dev,
    _entry: c_int,
    _port: c_int,
) -> u64 {
    0
}

/// `mlx4_set_admin_guid`: SR-IOV only.
#[no_mangle]
unsafe extern "C" fn mlx4_set_admin_guid(
    _dev: *mut raw::mlx4_dev,
    _guid: u64,
    _entry: c_int,
    _port: c_int,
) {
}

/// `mlx4_get_parav_qkey`: SR-IOV proxy QPs only.
#[no_mangle]
unsafe extern "C" fn mlx4_get_parav_qkey(
    _dev: *mut raw::mlx4_dev,
    _qpn: u32,
    _qkey: *mut u32,
) -> c_int {
    EINVAL.to_errno()
}

/// `mlx4_is_slave_active`: SR-IOV only.
#[no_mangle]
unsafe extern "C" fn mlx4_is_slave_active(_dev: *mut raw::mlx4_dev, _slave: c_int) -> c_int {
    0
}

/// `mlx4_put_slave_node_guid`: SR-IOV only.
#[no_mangle]
unsafe extern "C" fn mlx4_put_slave_node_guid(_dev: *mut raw::mlx4_dev, _slave: c_int, _guid: u64) {
}

/// `mlx4_sync_pkey_table`: SR-IOV only.
#[no_mangle]
unsafe extern "C" fn mlx4_sync_pkey_table(
    _dev: *mut raw::mlx4_dev,
    _slave: c_int,
    _port: c_int,
    _i: c_int,
    _val: c_int,
) {
}

/// `mlx4_get_roce_gid_from_slave`: SR-IOV RoCE only.
#[no_mangle]
unsafe extern "C" fn mlx4_get_roce_gid_from_slave(
    _dev: *mut raw::mlx4_dev,
    _port: c_int,
    _slave_id: c_int,
    _gid: *mut u8,
) -> c_int {
    EINVAL.to_errno()
}

/// `mlx4_get_slave_from_roce_gid`: SR-IOV RoCE only.
#[no_mangle]
unsafe extern "C" fn mlx4_get_slave_from_roce_gid(
    _dev: *mut raw::mlx4_dev,
    _port: c_int,
    _gid: *mut u8,
    _slave_id: *mut c_int,
) -> c_int {
    EINVAL.to_errno()
}
