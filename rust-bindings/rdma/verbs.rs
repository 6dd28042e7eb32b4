// SPDX-License-Identifier: GPL-2.0

//! Kernel verbs objects: protection domains, completion queues, UD queue pairs, address
//! handles, and DMA mapping through the RDMA device.

use super::{Device, Gid};
use crate::rust_bindings::raw;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::error::{from_err_ptr, to_result, Result};
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::sync::Arc;

/// A DMA direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DmaDir {
    /// Memory the device reads (`DMA_TO_DEVICE`).
    ToDevice,
    /// Memory the device writes (`DMA_FROM_DEVICE`).
    FromDevice,
}

impl DmaDir {
    fn to_raw(self) -> raw::dma_data_direction {
        match self {
            Self::ToDevice => raw::dma_data_direction_DMA_TO_DEVICE,
            Self::FromDevice => raw::dma_data_direction_DMA_FROM_DEVICE,
        }
    }
}

impl Device {
    /// Maps `len` bytes at `ptr` for DMA (`ib_dma_map_single`: software devices such as rxe
    /// use the kernel address itself).
    ///
    /// # Safety
    ///
    /// `ptr` must point to `len` bytes of kernel memory that stay allocated until the mapping is
    /// undone with [`Device::dma_unmap_single`].
    pub(crate) unsafe fn dma_map_single(
        &self,
        ptr: *mut c_void,
        len: usize,
        dir: DmaDir,
    ) -> Result<u64> {
        // SAFETY: The device is valid; the caller guarantees the memory.
        unsafe {
            let addr = raw::ib_dma_map_single(self.as_raw(), ptr, len, dir.to_raw());
            if raw::ib_dma_mapping_error(self.as_raw(), addr) != 0 {
                return Err(ENOMEM);
            }
            Ok(addr)
        }
    }

    /// Maps `len` bytes at `offset` in `page` for DMA (`ib_dma_map_page`).
    pub(crate) fn dma_map_page(
        &self,
        page: &kernel::page::Page,
        offset: usize,
        len: usize,
        dir: DmaDir,
    ) -> Result<u64> {
        // SAFETY: The device is valid and `page` is an allocated page; its owner unmaps it
        // (`dma_unmap_page`) before freeing or handing it on.
        unsafe {
            let addr = raw::ib_dma_map_page(
                self.as_raw(),
                page.as_ptr().cast(),
                offset,
                len,
                dir.to_raw(),
            );
            if raw::ib_dma_mapping_error(self.as_raw(), addr) != 0 {
                return Err(ENOMEM);
            }
            Ok(addr)
        }
    }

    /// Undoes a mapping made by [`Device::dma_map_page`].
    ///
    /// # Safety
    ///
    /// `addr`, `len` and `dir` must be those of a live page mapping on this device.
    pub(crate) unsafe fn dma_unmap_page(&self, addr: u64, len: usize, dir: DmaDir) {
        // SAFETY: The caller guarantees the mapping.
        unsafe { raw::ib_dma_unmap_page(self.as_raw(), addr, len, dir.to_raw()) }
    }

    /// Hands `len` bytes of a mapping at `addr` to the CPU (`ib_dma_sync_single_for_cpu`).
    ///
    /// # Safety
    ///
    /// `addr..addr + len` must lie in a live mapping on this device made with `dir`.
    pub(crate) unsafe fn dma_sync_for_cpu(&self, addr: u64, len: usize, dir: DmaDir) {
        // SAFETY: The caller guarantees the mapping.
        unsafe { raw::ib_dma_sync_single_for_cpu(self.as_raw(), addr, len, dir.to_raw()) }
    }

    /// Hands `len` bytes of a mapping at `addr` back to the device
    /// (`ib_dma_sync_single_for_device`).
    ///
    /// # Safety
    ///
    /// As for [`Device::dma_sync_for_cpu`].
    pub(crate) unsafe fn dma_sync_for_device(&self, addr: u64, len: usize, dir: DmaDir) {
        // SAFETY: The caller guarantees the mapping.
        unsafe { raw::ib_dma_sync_single_for_device(self.as_raw(), addr, len, dir.to_raw()) }
    }

    /// Undoes a mapping made by [`Device::dma_map_single`].
    ///
    /// # Safety
    ///
    /// `addr`, `len` and `dir` must be those of a live mapping on this device.
    pub(crate) unsafe fn dma_unmap_single(&self, addr: u64, len: usize, dir: DmaDir) {
        // SAFETY: The caller guarantees the mapping.
        unsafe { raw::ib_dma_unmap_single(self.as_raw(), addr, len, dir.to_raw()) }
    }
}

/// A protection domain (`struct ib_pd`).
///
/// # Invariants
///
/// `ptr` is a PD allocated by `ib_alloc_pd`, owned by this value.
pub(crate) struct Pd {
    ptr: NonNull<raw::ib_pd>,
}

// SAFETY: A kernel PD is used from any thread.
unsafe impl Send for Pd {}
// SAFETY: As above; the methods only read immutable fields.
unsafe impl Sync for Pd {}

impl Pd {
    /// Allocates a protection domain on `dev`.
    pub(crate) fn alloc(dev: &Device) -> Result<Self> {
        // SAFETY: The device is valid (registered).
        let p = from_err_ptr(unsafe { raw::ib_alloc_pd(dev.as_raw(), 0) })?;
        // INVARIANT: `ib_alloc_pd` returned a PD, not an error.
        Ok(Self {
            ptr: NonNull::new(p).ok_or(ENOMEM)?,
        })
    }

    fn as_raw(&self) -> *mut raw::ib_pd {
        self.ptr.as_ptr()
    }

    /// Returns the lkey that covers all kernel memory (`pd->local_dma_lkey`).
    pub(crate) fn local_dma_lkey(&self) -> u32 {
        // SAFETY: The PD is valid; the field is set at allocation and never changes.
        unsafe { (*self.as_raw()).local_dma_lkey }
    }
}

impl Drop for Pd {
    fn drop(&mut self) {
        // SAFETY: The PD is ours; the objects created in it are dropped before it (owners
        // declare them after it or drop them explicitly).
        unsafe { raw::ib_dealloc_pd(self.as_raw()) }
    }
}

/// What a completion queue reports to.
pub(crate) trait CqHandler: Send + Sync + 'static {
    /// A completion arrived on an armed CQ (interrupt or softirq context).
    fn completion(&self);
}

/// A completion queue (`struct ib_cq`) with a reference on its handler.
///
/// It knows whether it is armed: [`Cq::arm`] arms it, and its first completion after that
/// disarms it before the handler is called. An armed CQ holds no completion its user has not
/// polled (completions that came before the arm make [`Cq::arm`] report them), so a poller
/// need only poll, and arm again, the CQs that are not ([`Cq::armed`], [`Cq::rearm`]).
///
/// # Invariants
///
/// `ptr` is a CQ created by `ib_create_cq` with `cq_context` = the address of `*ctx`, owned by
/// this value.
pub(crate) struct Cq<T: CqHandler> {
    ptr: NonNull<raw::ib_cq>,
    ctx: KBox<CqCtx<T>>,
}

/// What the completion callback of a [`Cq`] reaches: the handler, and whether the CQ is armed.
struct CqCtx<T> {
    handler: Arc<T>,
    armed: AtomicBool,
}

// SAFETY: A kernel CQ is used from any thread; polling is serialised by its user (one NAPI).
unsafe impl<T: CqHandler> Send for Cq<T> {}
// SAFETY: As above.
unsafe impl<T: CqHandler> Sync for Cq<T> {}

/// Identifies a QP by its address, so that completions can be matched with their QP without
/// touching it. Once a QP is destroyed, a new one may reuse the identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct QpId(usize);

/// A work completion (`struct ib_wc`).
#[derive(Clone, Copy, Default)]
#[repr(transparent)]
pub(crate) struct Wc(raw::ib_wc);

impl Wc {
    /// Returns the work request id.
    pub(crate) fn wr_id(&self) -> u64 {
        // SAFETY: Kernel ULPs that post with `wr_id` (not `wr_cqe`) read back `wr_id`.
        unsafe { self.0.__bindgen_anon_1.wr_id }
    }

    /// Returns whether the work request completed successfully.
    pub(crate) fn is_success(&self) -> bool {
        self.0.status == raw::ib_wc_status_IB_WC_SUCCESS
    }

    /// Returns whether the work request was flushed (the QP left RTS).
    pub(crate) fn is_flush(&self) -> bool {
        self.0.status == raw::ib_wc_status_IB_WC_WR_FLUSH_ERR
    }

    /// Returns the raw status (`enum ib_wc_status`).
    pub(crate) fn status(&self) -> u32 {
        self.0.status
    }

    /// Returns the number of bytes received.
    pub(crate) fn byte_len(&self) -> u32 {
        self.0.byte_len
    }

    /// Returns which QP the work request was posted to (for a receive through an SRQ: the QP
    /// the message arrived on).
    pub(crate) fn qp_id(&self) -> QpId {
        // Only the address: the QP may be gone by the time its completion is polled.
        QpId(self.0.qp as usize)
    }

    /// Returns the source QP number of a received UD packet.
    pub(crate) fn src_qp(&self) -> u32 {
        self.0.src_qp
    }

    /// Returns whether a GRH (or its RoCE equivalent) fills the first 40 bytes of the buffer.
    pub(crate) fn has_grh(&self) -> bool {
        self.0.wc_flags & raw::ib_wc_flags_IB_WC_GRH as i32 != 0
    }

    /// Whether the device verified the IPv4 and TCP/UDP checksums of the datagram
    /// (`IB_WC_IP_CSUM_OK`).
    pub(crate) fn ip_csum_ok(&self) -> bool {
        self.0.wc_flags & raw::ib_wc_flags_IB_WC_IP_CSUM_OK as i32 != 0
    }

    /// Returns the network header type of a RoCEv2 packet, when the device reports it.
    pub(crate) fn network_hdr(&self) -> Option<NetworkHdr> {
        if self.0.wc_flags & raw::ib_wc_flags_IB_WC_WITH_NETWORK_HDR_TYPE as i32 == 0 {
            return None;
        }
        Some(match u32::from(self.0.network_hdr_type) {
            raw::rdma_network_type_RDMA_NETWORK_IPV4 => NetworkHdr::Ipv4,
            raw::rdma_network_type_RDMA_NETWORK_IPV6 => NetworkHdr::Ipv6,
            _ => NetworkHdr::Ib,
        })
    }
}

/// Room for up to `N` work completions, which [`Cq::poll_batch`] fills. Not zeroed: a NAPI
/// poll sets one up per call, and zeroing a kilobyte of `ib_wc`s each time costs more than
/// the completions it then reads.
pub(crate) struct WcBatch<const N: usize>([MaybeUninit<Wc>; N]);

impl<const N: usize> WcBatch<N> {
    /// Returns an empty batch (uninitialised storage).
    pub(crate) const fn new() -> Self {
        Self([const { MaybeUninit::uninit() }; N])
    }
}

/// What the first 40 bytes of a UD receive buffer hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NetworkHdr {
    /// An IB GRH (also RoCEv1, and RoCEv2 over IPv6, which shares its layout).
    Ib,
    /// RoCEv2 over IPv4: 20 unused bytes, then the IPv4 header.
    Ipv4,
    /// RoCEv2 over IPv6: the IPv6 header.
    Ipv6,
}

impl<T: CqHandler> Cq<T> {
    /// Creates a CQ of at least `entries` entries on completion vector `vector`.
    pub(crate) fn new(dev: &Device, entries: u32, vector: u32, handler: Arc<T>) -> Result<Self> {
        let attr = raw::ib_cq_init_attr {
            cqe: entries,
            comp_vector: vector,
            flags: 0,
        };
        let ctx = KBox::new(
            CqCtx {
                handler,
                armed: AtomicBool::new(false),
            },
            GFP_KERNEL,
        )?;
        let raw_ctx = (&*ctx as *const CqCtx<T>).cast_mut().cast::<c_void>();
        // SAFETY: The device is valid; `raw_ctx` stays valid while the CQ exists since the CQ
        // owns the box (destroyed in `drop` before its fields); `attr` is valid for the call.
        let p = from_err_ptr(unsafe {
            raw::ib_create_cq(
                dev.as_raw(),
                Some(Self::comp_callback),
                None,
                raw_ctx,
                &attr,
            )
        })?;
        // INVARIANT: A CQ, created with the box's contents as context.
        Ok(Self {
            ptr: NonNull::new(p).ok_or(ENOMEM)?,
            ctx,
        })
    }

    fn as_raw(&self) -> *mut raw::ib_cq {
        self.ptr.as_ptr()
    }

    /// Returns the handler the CQ reports to.
    pub(crate) fn handler(&self) -> &Arc<T> {
        &self.ctx.handler
    }

    /// # Safety
    ///
    /// Called by the provider only, for a CQ created by [`Cq::new`].
    unsafe extern "C" fn comp_callback(_cq: *mut raw::ib_cq, ctx: *mut c_void) {
        // SAFETY: `ctx` is the contents of the box the CQ owns (type invariant).
        let ctx = unsafe { &*ctx.cast::<CqCtx<T>>() };
        // Disarmed before the handler runs: a poll it schedules sees it to poll.
        ctx.armed.store(false, Ordering::Release);
        ctx.handler.completion();
    }

    /// Polls up to `max` completions (at most `N`) into `batch`; returns those polled, none
    /// if the provider reports an error (as for an empty CQ, the caller re-arms and is
    /// called again).
    pub(crate) fn poll_batch<'a, const N: usize>(
        &self,
        batch: &'a mut WcBatch<N>,
        max: usize,
    ) -> &'a [Wc] {
        let want = max.min(N);
        let base = batch.0.as_mut_ptr().cast::<Wc>();
        // SAFETY: The CQ is valid; `Wc` is `repr(transparent)` over `ib_wc`, and `base` points
        // to `N >= want` writable (uninitialised) `ib_wc`s, which the provider only writes.
        let ret = unsafe { raw::ib_poll_cq(self.as_raw(), want as c_int, base.cast()) };
        let n = usize::try_from(ret).unwrap_or(0).min(want);
        // SAFETY: `ib_poll_cq` initialised the first `n` entries; the slice borrows `batch`.
        unsafe { core::slice::from_raw_parts(base, n) }
    }

    /// Sets the CQ's interrupt moderation: an event after `count` completions or `usecs`
    /// microseconds (`rdma_set_cq_moderation`); `EOPNOTSUPP` if the provider cannot.
    pub(crate) fn set_moderation(&self, count: u16, usecs: u16) -> Result {
        // SAFETY: The CQ is valid.
        to_result(unsafe { raw::rdma_set_cq_moderation(self.as_raw(), count, usecs) })
    }

    /// Arms the CQ for the next completion; returns true if completions may have been missed
    /// (`IB_CQ_REPORT_MISSED_EVENTS`), in which case the caller polls again. The CQ stays
    /// disarmed then, and if the provider fails.
    pub(crate) fn arm(&self) -> bool {
        let flags = raw::ib_cq_notify_flags_IB_CQ_NEXT_COMP
            | raw::ib_cq_notify_flags_IB_CQ_REPORT_MISSED_EVENTS;
        // Marked before the request: a completion right after it disarms the CQ again.
        self.ctx.armed.store(true, Ordering::Release);
        // SAFETY: The CQ is valid.
        let ret = unsafe { raw::ib_req_notify_cq(self.as_raw(), flags) };
        if ret != 0 {
            self.ctx.armed.store(false, Ordering::Release);
        }
        ret > 0
    }

    /// Whether the CQ is armed and has had no completion since: it then holds nothing to poll,
    /// and calls the handler at its next completion.
    pub(crate) fn armed(&self) -> bool {
        self.ctx.armed.load(Ordering::Acquire)
    }

    /// Arms the CQ unless it is armed ([`Cq::armed`]); returns true if completions may have
    /// been missed, as [`Cq::arm`].
    pub(crate) fn rearm(&self) -> bool {
        !self.armed() && self.arm()
    }
}

impl<T: CqHandler> Drop for Cq<T> {
    fn drop(&mut self) {
        // SAFETY: The CQ is ours; the QPs using it are dropped before it (owners order fields).
        unsafe { raw::ib_destroy_cq(self.as_raw()) }
    }
}

/// A scatter/gather element (`struct ib_sge`): `len` bytes at DMA address `addr`, covered by
/// `lkey`. Laid out as `ib_sge`, so that a slice of them is a work request's scatter list as
/// it is, not copied.
#[derive(Clone, Copy, Default)]
#[repr(transparent)]
pub(crate) struct Sge(raw::ib_sge);

impl Sge {
    /// Returns the element for `len` bytes at `addr` under `lkey`.
    pub(crate) const fn new(addr: u64, len: u32, lkey: u32) -> Self {
        Self(raw::ib_sge {
            addr,
            length: len,
            lkey,
        })
    }

    /// Returns the DMA address.
    pub(crate) fn addr(&self) -> u64 {
        self.0.addr
    }

    /// Returns the length in bytes.
    pub(crate) fn len(&self) -> u32 {
        self.0.length
    }
}

/// Capacities of a UD queue pair.
pub(crate) struct UdQpCaps {
    pub(crate) send_wr: u32,
    pub(crate) recv_wr: u32,
    pub(crate) send_sge: u32,
    pub(crate) recv_sge: u32,
    /// Large sends (`IB_QP_CREATE_IPOIB_UD_LSO`), on a device that offers `IBK_UD_TSO`.
    pub(crate) lso: bool,
}

/// How a UD send is offloaded.
#[derive(Clone, Copy)]
pub(crate) enum UdOffload<'a> {
    /// Sent as it is.
    None,
    /// The device fills in the IPv4 and TCP/UDP checksums (`IB_SEND_IP_CSUM`).
    Csum,
    /// A TCP large send (`IB_WR_LSO`): the device sends the payload in segments of `mss`
    /// bytes, each behind a fixed-up copy of `header` (IPoIB, IP and TCP headers), with the
    /// checksums filled in.
    Lso { header: &'a [u8], mss: u16 },
}

/// The largest number of scatter entries one work request takes here.
pub(crate) const MAX_SGE: usize = 32;
/// Most receives a [`RecvChain`] holds.
pub(crate) const RECV_BATCH: usize = 16;

/// Up to [`RECV_BATCH`] receives of one scatter entry each, built in place (not zeroed) and
/// posted as one chain by [`Qp::post_recv_chain`].
pub(crate) struct RecvChain {
    wrs: [MaybeUninit<raw::ib_recv_wr>; RECV_BATCH],
    sges: [MaybeUninit<Sge>; RECV_BATCH],
    /// Entries initialised.
    n: usize,
}

impl RecvChain {
    /// Returns an empty chain.
    pub(crate) const fn new() -> Self {
        Self {
            wrs: [const { MaybeUninit::uninit() }; RECV_BATCH],
            sges: [const { MaybeUninit::uninit() }; RECV_BATCH],
            n: 0,
        }
    }

    /// Adds a receive of `sge` with id `wr_id`; false if the chain is full.
    pub(crate) fn push(&mut self, wr_id: u64, sge: Sge) -> bool {
        let (Some(wr), Some(sg)) = (self.wrs.get_mut(self.n), self.sges.get_mut(self.n)) else {
            return false;
        };
        sg.write(sge);
        // The links are set when the chain is posted.
        wr.write(raw::ib_recv_wr {
            next: core::ptr::null_mut(),
            __bindgen_anon_1: raw::ib_recv_wr__bindgen_ty_1 { wr_id },
            sg_list: core::ptr::null_mut(),
            num_sge: 1,
        });
        self.n += 1;
        true
    }

    /// Returns how many receives the chain holds.
    pub(crate) fn len(&self) -> usize {
        self.n
    }
}

/// Returns the scatter list of a work request gathering `sges` (at most [`MAX_SGE`]): the
/// slice itself, as `Sge` is laid out as `ib_sge`. The field is not `const` in C, but
/// providers only read the scatter list of the WRs they are given (`ib_post_send` and
/// `ib_post_recv` take them `const`).
fn sg_list(sges: &[Sge]) -> Result<(*mut raw::ib_sge, i32)> {
    if sges.len() > MAX_SGE {
        return Err(EINVAL);
    }
    let n = i32::try_from(sges.len()).map_err(|_| EINVAL)?;
    Ok((sges.as_ptr().cast::<raw::ib_sge>().cast_mut(), n))
}

fn recv_wr(wr_id: u64, sges: &[Sge]) -> Result<raw::ib_recv_wr> {
    let (sg_list, num_sge) = sg_list(sges)?;
    Ok(raw::ib_recv_wr {
        next: core::ptr::null_mut(),
        __bindgen_anon_1: raw::ib_recv_wr__bindgen_ty_1 { wr_id },
        sg_list,
        num_sge,
    })
}

/// A queue pair of any type (`struct ib_qp`): what UD and RC QPs share.
///
/// # Invariants
///
/// `ptr` is a QP created by `ib_create_qp`, owned by this value.
pub(crate) struct Qp {
    ptr: NonNull<raw::ib_qp>,
}

// SAFETY: Posting to a kernel QP is allowed from any thread; callers serialise posts per queue.
unsafe impl Send for Qp {}
// SAFETY: As above.
unsafe impl Sync for Qp {}

impl Qp {
    fn create(pd: &Pd, attr: &mut raw::ib_qp_init_attr) -> Result<Self> {
        // SAFETY: The PD and the CQs (and SRQ) in `attr` are valid and outlive the QP (owners
        // drop the QP first).
        let p = from_err_ptr(unsafe { raw::ib_create_qp(pd.as_raw(), attr) })?;
        // INVARIANT: A QP, not an error.
        Ok(Self {
            ptr: NonNull::new(p).ok_or(ENOMEM)?,
        })
    }

    pub(super) fn as_raw(&self) -> *mut raw::ib_qp {
        self.ptr.as_ptr()
    }

    /// Returns the identity completions carry ([`Wc::qp_id`]).
    pub(crate) fn id(&self) -> QpId {
        QpId(self.as_raw() as usize)
    }

    /// Returns the QP number.
    pub(crate) fn qpn(&self) -> u32 {
        // SAFETY: The QP is valid; `qp_num` is set at creation.
        unsafe { (*self.as_raw()).qp_num }
    }

    pub(super) fn modify(&self, attr: &mut raw::ib_qp_attr, mask: u32) -> Result {
        // SAFETY: The QP is valid and `attr` is valid for the call.
        to_result(unsafe { raw::ib_modify_qp(self.as_raw(), attr, mask as i32) })
    }

    fn set_state(&self, state: raw::ib_qp_state) -> Result {
        let mut a = raw::ib_qp_attr {
            qp_state: state,
            ..Default::default()
        };
        self.modify(&mut a, raw::ib_qp_attr_mask_IB_QP_STATE)
    }

    /// Returns whether the QP is ready to send (`IB_QPS_RTS`, per `ib_query_qp`); false also
    /// when the query fails.
    pub(crate) fn is_rts(&self) -> bool {
        let mut attr = raw::ib_qp_attr::default();
        let mut init = raw::ib_qp_init_attr::default();
        // SAFETY: The QP is valid; `attr` and `init` are valid for writes.
        let ret = unsafe {
            raw::ib_query_qp(
                self.as_raw(),
                &mut attr,
                raw::ib_qp_attr_mask_IB_QP_STATE as i32,
                &mut init,
            )
        };
        ret == 0 && attr.qp_state == raw::ib_qp_state_IB_QPS_RTS
    }

    /// Moves the QP to the reset state, discarding all work requests.
    pub(crate) fn reset(&self) -> Result {
        self.set_state(raw::ib_qp_state_IB_QPS_RESET)
    }

    /// Moves the QP to the error state, flushing every outstanding WR as a completion.
    pub(crate) fn to_error(&self) -> Result {
        self.set_state(raw::ib_qp_state_IB_QPS_ERR)
    }

    /// Posts a receive scattered over `sges` (at most [`MAX_SGE`]).
    pub(crate) fn post_recv(&self, wr_id: u64, sges: &[Sge]) -> Result {
        let wr = recv_wr(wr_id, sges)?;
        let mut bad = core::ptr::null();
        // SAFETY: The QP is valid; `wr` and `sges` are valid for the call (providers copy
        // them).
        to_result(unsafe { raw::ib_post_recv(self.as_raw(), &wr, &mut bad) })
    }

    /// Posts the receives of `chain` as one chain: the provider takes its queue lock and
    /// writes the doorbell record once. The chain is emptied.
    ///
    /// On failure, returns how many of them (a prefix) were posted, and the error.
    pub(crate) fn post_recv_chain(
        &self,
        chain: &mut RecvChain,
    ) -> core::result::Result<(), (usize, Error)> {
        let n = core::mem::take(&mut chain.n);
        let Some(last) = n.checked_sub(1) else {
            return Ok(());
        };
        let wrs = chain.wrs.as_mut_ptr().cast::<raw::ib_recv_wr>();
        let sges = chain.sges.as_mut_ptr().cast::<raw::ib_sge>();
        for i in 0..n {
            let next = if i < last {
                wrs.wrapping_add(i + 1)
            } else {
                core::ptr::null_mut()
            };
            // SAFETY: `i < n <= RECV_BATCH`: `push` initialised entry `i` of both arrays.
            // The links are set here, not in `push`, since the chain may have moved since.
            unsafe {
                (*wrs.add(i)).next = next;
                (*wrs.add(i)).sg_list = sges.add(i);
            }
        }
        let mut bad: *const raw::ib_recv_wr = core::ptr::null();
        // SAFETY: The QP is valid; the first `n` WRs and scatter entries are initialised and
        // live in `chain` for the call (providers copy them); every `next` points into it or
        // is null.
        let ret = unsafe { raw::ib_post_recv(self.as_raw(), wrs, &mut bad) };
        if ret == 0 {
            return Ok(());
        }
        // The provider points `bad` at the first WR it did not post, an element of the chain.
        let posted = (bad as usize)
            .checked_sub(wrs as usize)
            .map_or(0, |off| off / core::mem::size_of::<raw::ib_recv_wr>())
            .min(n);
        Err((posted, Error::from_errno(ret)))
    }

    fn post_send(&self, wr: &raw::ib_send_wr) -> Result {
        let mut bad = core::ptr::null();
        // SAFETY: The QP is valid; `wr`, its scatter list and (for UD) the containing
        // `ib_ud_wr` with its AH are valid for the call.
        to_result(unsafe { raw::ib_post_send(self.as_raw(), wr, &mut bad) })
    }
}

impl Drop for Qp {
    fn drop(&mut self) {
        // SAFETY: The QP is ours. A failure leaves nothing we could do differently.
        let _ = unsafe { raw::ib_destroy_qp(self.as_raw()) };
    }
}

/// An unreliable-datagram queue pair (`IB_QPT_UD`).
pub(crate) struct UdQp {
    qp: Qp,
}

impl core::ops::Deref for UdQp {
    type Target = Qp;

    fn deref(&self) -> &Qp {
        &self.qp
    }
}

impl UdQp {
    /// Creates a UD QP using `send_cq`/`recv_cq`, all send WRs signalled.
    pub(crate) fn new<S: CqHandler, R: CqHandler>(
        pd: &Pd,
        send_cq: &Cq<S>,
        recv_cq: &Cq<R>,
        caps: &UdQpCaps,
    ) -> Result<Self> {
        let mut attr = raw::ib_qp_init_attr {
            send_cq: send_cq.as_raw(),
            recv_cq: recv_cq.as_raw(),
            sq_sig_type: raw::ib_sig_type_IB_SIGNAL_ALL_WR,
            qp_type: raw::ib_qp_type_IB_QPT_UD,
            ..Default::default()
        };
        attr.cap.max_send_wr = caps.send_wr;
        attr.cap.max_recv_wr = caps.recv_wr;
        attr.cap.max_send_sge = caps.send_sge;
        attr.cap.max_recv_sge = caps.recv_sge;
        if caps.lso {
            attr.create_flags = raw::ib_qp_create_flags_IB_QP_CREATE_IPOIB_UD_LSO as u32;
        }
        Ok(Self {
            qp: Qp::create(pd, &mut attr)?,
        })
    }

    /// Moves the QP RESET → INIT → RTR → RTS with `port`, `pkey_index` and `qkey`, as a UD QP
    /// must be before it sends and receives.
    pub(crate) fn bring_up(&self, port: u32, pkey_index: u16, qkey: u32) -> Result {
        let mut a = raw::ib_qp_attr {
            qp_state: raw::ib_qp_state_IB_QPS_INIT,
            qkey,
            port_num: port,
            pkey_index,
            ..Default::default()
        };
        self.modify(
            &mut a,
            raw::ib_qp_attr_mask_IB_QP_STATE
                | raw::ib_qp_attr_mask_IB_QP_PKEY_INDEX
                | raw::ib_qp_attr_mask_IB_QP_PORT
                | raw::ib_qp_attr_mask_IB_QP_QKEY,
        )?;
        a.qp_state = raw::ib_qp_state_IB_QPS_RTR;
        self.modify(&mut a, raw::ib_qp_attr_mask_IB_QP_STATE)?;
        a.qp_state = raw::ib_qp_state_IB_QPS_RTS;
        a.sq_psn = 0;
        self.modify(
            &mut a,
            raw::ib_qp_attr_mask_IB_QP_STATE | raw::ib_qp_attr_mask_IB_QP_SQ_PSN,
        )
    }

    /// Changes the Q_Key the QP accepts (an InfiniBand interface learns it from the
    /// broadcast group, `ipoib_mcast_attach`).
    pub(crate) fn set_qkey(&self, qkey: u32) -> Result {
        let mut a = raw::ib_qp_attr {
            qkey,
            ..Default::default()
        };
        self.modify(&mut a, raw::ib_qp_attr_mask_IB_QP_QKEY)
    }

    /// Posts a UD send gathered from `sges` to `remote_qpn` through `ah`, with `offload`.
    pub(crate) fn post_send(
        &self,
        wr_id: u64,
        sges: &[Sge],
        ah: &Ah,
        (remote_qpn, remote_qkey): (u32, u32),
        offload: UdOffload<'_>,
    ) -> Result {
        let (sg_list, n) = sg_list(sges)?;
        let mut wr = raw::ib_ud_wr {
            ah: ah.as_raw(),
            remote_qpn,
            remote_qkey,
            ..Default::default()
        };
        wr.wr.__bindgen_anon_1.wr_id = wr_id;
        wr.wr.sg_list = sg_list;
        wr.wr.num_sge = n;
        wr.wr.opcode = raw::ib_wr_opcode_IB_WR_SEND;
        wr.wr.send_flags = raw::ib_send_flags_IB_SEND_SIGNALED;
        match offload {
            UdOffload::None => {}
            UdOffload::Csum => wr.wr.send_flags |= raw::ib_send_flags_IB_SEND_IP_CSUM,
            UdOffload::Lso { header, mss } => {
                wr.wr.opcode = raw::ib_wr_opcode_IB_WR_LSO;
                wr.wr.send_flags |= raw::ib_send_flags_IB_SEND_IP_CSUM;
                // The provider copies the headers into the WQE during the call.
                wr.header = header.as_ptr().cast_mut().cast();
                wr.hlen = c_int::try_from(header.len()).map_err(|_| EINVAL)?;
                wr.mss = i32::from(mss);
            }
        }
        // The `ib_send_wr` is the first member of the `ib_ud_wr`, as providers expect.
        self.qp.post_send(&wr.wr)
    }

    /// Attaches the QP to multicast group `mgid` (`ib_attach_mcast`; the MLID is unused on
    /// Ethernet link layers).
    pub(crate) fn attach_mcast(&self, mgid: &Gid, mlid: u16) -> Result {
        let mut g = raw::ib_gid { raw: mgid.0 };
        // SAFETY: The QP is valid; `g` is valid for the call.
        to_result(unsafe { raw::ib_attach_mcast(self.as_raw(), &mut g, mlid) })
    }

    /// Detaches the QP from multicast group `mgid`.
    pub(crate) fn detach_mcast(&self, mgid: &Gid, mlid: u16) -> Result {
        let mut g = raw::ib_gid { raw: mgid.0 };
        // SAFETY: As in `attach_mcast`.
        to_result(unsafe { raw::ib_detach_mcast(self.as_raw(), &mut g, mlid) })
    }
}

/// Capacities of a reliable-connected queue pair.
pub(crate) struct RcQpCaps {
    pub(crate) send_wr: u32,
    /// Scatter entries of a send (at least 1).
    pub(crate) send_sge: u32,
    /// Receive WRs of the QP's own receive queue (unused with an SRQ).
    pub(crate) recv_wr: u32,
    pub(crate) recv_sge: u32,
}

/// A reliable-connected queue pair (`IB_QPT_RC`), moved through its states by the IB CM.
pub(crate) struct RcQp {
    qp: Qp,
}

impl core::ops::Deref for RcQp {
    type Target = Qp;

    fn deref(&self) -> &Qp {
        &self.qp
    }
}

impl RcQp {
    /// Creates an RC QP using `send_cq`/`recv_cq`, receiving through `srq` if given; all send
    /// WRs signalled.
    pub(crate) fn new<S: CqHandler, R: CqHandler>(
        pd: &Pd,
        send_cq: &Cq<S>,
        recv_cq: &Cq<R>,
        srq: Option<&Srq>,
        caps: &RcQpCaps,
    ) -> Result<Self> {
        let mut attr = raw::ib_qp_init_attr {
            send_cq: send_cq.as_raw(),
            recv_cq: recv_cq.as_raw(),
            srq: srq.map_or(core::ptr::null_mut(), Srq::as_raw),
            sq_sig_type: raw::ib_sig_type_IB_SIGNAL_ALL_WR,
            qp_type: raw::ib_qp_type_IB_QPT_RC,
            ..Default::default()
        };
        attr.cap.max_send_wr = caps.send_wr;
        attr.cap.max_send_sge = caps.send_sge.max(1);
        if srq.is_none() {
            attr.cap.max_recv_wr = caps.recv_wr;
            attr.cap.max_recv_sge = caps.recv_sge;
        }
        Ok(Self {
            qp: Qp::create(pd, &mut attr)?,
        })
    }

    /// Moves a fresh QP to INIT on `port` with `pkey_index`, local writes allowed (what the
    /// active side does before the CM takes over).
    pub(crate) fn init(&self, port: u32, pkey_index: u16) -> Result {
        let mut a = raw::ib_qp_attr {
            qp_state: raw::ib_qp_state_IB_QPS_INIT,
            qp_access_flags: raw::ib_access_flags_IB_ACCESS_LOCAL_WRITE as i32,
            port_num: port,
            pkey_index,
            ..Default::default()
        };
        self.modify(
            &mut a,
            raw::ib_qp_attr_mask_IB_QP_STATE
                | raw::ib_qp_attr_mask_IB_QP_ACCESS_FLAGS
                | raw::ib_qp_attr_mask_IB_QP_PKEY_INDEX
                | raw::ib_qp_attr_mask_IB_QP_PORT,
        )
    }

    /// Posts a signalled send gathered from `sges`.
    pub(crate) fn post_send(&self, wr_id: u64, sges: &[Sge]) -> Result {
        let (sg_list, n) = sg_list(sges)?;
        let mut wr = raw::ib_send_wr::default();
        wr.__bindgen_anon_1.wr_id = wr_id;
        wr.sg_list = sg_list;
        wr.num_sge = n;
        wr.opcode = raw::ib_wr_opcode_IB_WR_SEND;
        wr.send_flags = raw::ib_send_flags_IB_SEND_SIGNALED;
        self.qp.post_send(&wr)
    }
}

/// A shared receive queue (`struct ib_srq`).
///
/// # Invariants
///
/// `ptr` is an SRQ created by `ib_create_srq`, owned by this value.
pub(crate) struct Srq {
    ptr: NonNull<raw::ib_srq>,
}

// SAFETY: Posting to a kernel SRQ is allowed from any thread; callers serialise posts.
unsafe impl Send for Srq {}
// SAFETY: As above.
unsafe impl Sync for Srq {}

impl Srq {
    /// Creates an SRQ of `max_wr` receives of up to `max_sge` scatter entries each.
    pub(crate) fn new(pd: &Pd, max_wr: u32, max_sge: u32) -> Result<Self> {
        let mut attr = raw::ib_srq_init_attr {
            attr: raw::ib_srq_attr {
                max_wr,
                max_sge,
                srq_limit: 0,
            },
            srq_type: raw::ib_srq_type_IB_SRQT_BASIC,
            ..Default::default()
        };
        // SAFETY: The PD is valid and outlives the SRQ (owners drop the SRQ first).
        let p = from_err_ptr(unsafe { raw::ib_create_srq(pd.as_raw(), &mut attr) })?;
        // INVARIANT: An SRQ, not an error.
        Ok(Self {
            ptr: NonNull::new(p).ok_or(ENOMEM)?,
        })
    }

    fn as_raw(&self) -> *mut raw::ib_srq {
        self.ptr.as_ptr()
    }

    /// Posts a receive scattered over `sges`.
    pub(crate) fn post_recv(&self, wr_id: u64, sges: &[Sge]) -> Result {
        let wr = recv_wr(wr_id, sges)?;
        let mut bad = core::ptr::null();
        // SAFETY: The SRQ is valid; `wr` and its scatter list are valid for the call.
        to_result(unsafe { raw::ib_post_srq_recv(self.as_raw(), &wr, &mut bad) })
    }
}

impl Drop for Srq {
    fn drop(&mut self) {
        // SAFETY: The SRQ is ours and the QPs using it are destroyed (owners order fields).
        unsafe { raw::ib_destroy_srq(self.as_raw()) };
    }
}

/// An address handle (`struct ib_ah`).
///
/// # Invariants
///
/// `ptr` is an AH created by `rdma_create_ah`, owned by this value.
pub(crate) struct Ah {
    ptr: NonNull<raw::ib_ah>,
}

// SAFETY: AHs are used and destroyed from any context.
unsafe impl Send for Ah {}
// SAFETY: As above; the AH is immutable.
unsafe impl Sync for Ah {}

impl Ah {
    /// Creates a RoCE AH for `dgid` through `dmac` from GID index `sgid_index` of `port`
    /// (`rdma_create_ah`, `RDMA_CREATE_AH_SLEEPABLE`: process context).
    ///
    /// Soft-RoCE's object pools take plain spinlocks, so creating (or destroying) an AH from
    /// softirq context makes lockdep report an inconsistent lock state; users create and
    /// destroy AHs in process context.
    pub(crate) fn new_roce(
        pd: &Pd,
        port: u32,
        sgid_index: u8,
        dgid: &Gid,
        dmac: [u8; 6],
        hop_limit: u8,
    ) -> Result<Self> {
        let mut attr = raw::rdma_ah_attr {
            type_: raw::rdma_ah_attr_type_RDMA_AH_ATTR_TYPE_ROCE,
            port_num: port,
            ah_flags: raw::ib_ah_flags_IB_AH_GRH as u8,
            ..Default::default()
        };
        attr.grh.dgid = raw::ib_gid { raw: dgid.0 };
        attr.grh.sgid_index = sgid_index;
        attr.grh.hop_limit = hop_limit;
        attr.__bindgen_anon_1.roce = raw::roce_ah_attr { dmac };
        // SAFETY: `attr` is a complete RoCE address vector; the core resolves and then
        // releases the source GID attribute itself.
        unsafe { Self::create(pd, &mut attr) }
    }

    /// Creates an AH from `attr` (`rdma_create_ah`, `RDMA_CREATE_AH_SLEEPABLE`: process
    /// context).
    ///
    /// # Safety
    ///
    /// `attr` must be a valid address vector for the PD's device.
    pub(super) unsafe fn create(pd: &Pd, attr: &mut raw::rdma_ah_attr) -> Result<Self> {
        // SAFETY: The PD is valid; the caller guarantees `attr`.
        let p = from_err_ptr(unsafe {
            raw::rdma_create_ah(
                pd.as_raw(),
                attr,
                raw::rdma_create_ah_flags_RDMA_CREATE_AH_SLEEPABLE,
            )
        })?;
        // INVARIANT: An AH, not an error.
        Ok(Self {
            ptr: NonNull::new(p).ok_or(ENOMEM)?,
        })
    }

    fn as_raw(&self) -> *mut raw::ib_ah {
        self.ptr.as_ptr()
    }
}

impl Drop for Ah {
    fn drop(&mut self) {
        // SAFETY: The AH is ours and no posted WR uses it any more (owners keep it alive until
        // the sends through it completed). Without `RDMA_DESTROY_AH_SLEEPABLE` the provider
        // must not sleep, so this may run in any context (C ipoib destroys its AHs this way).
        unsafe { raw::rdma_destroy_ah(self.as_raw(), 0) }
    }
}
