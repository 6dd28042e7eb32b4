// SPDX-License-Identifier: GPL-2.0

//! Socket buffers (`struct sk_buff`).

use crate::rust_bindings::raw;
use crate::rust_bindings::rdma;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;
use kernel::error::{to_result, Result};
use kernel::page::{Page, PAGE_SIZE};
use kernel::prelude::*;
use kernel::types::Opaque;

use super::NetDevice;

/// `skb->pkt_type` values this driver sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PacketType {
    /// `PACKET_HOST`.
    Host,
    /// `PACKET_BROADCAST`.
    Broadcast,
    /// `PACKET_MULTICAST`.
    Multicast,
}

/// A socket buffer that someone else owns, borrowed for the duration of a call.
///
/// Only the linear part (`skb_headlen`) is ever exposed as bytes.
#[repr(transparent)]
pub(crate) struct SkBuffRef(Opaque<raw::sk_buff>);

impl SkBuffRef {
    /// # Safety
    ///
    /// `ptr` must point to a valid `sk_buff` that the caller may modify for `'a`, and that
    /// nothing else reads or writes for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut raw::sk_buff) -> &'a mut Self {
        // SAFETY: `repr(transparent)`; validity and exclusivity are the caller's promise.
        unsafe { &mut *ptr.cast::<Self>() }
    }

    fn as_raw(&self) -> *mut raw::sk_buff {
        self.0.get()
    }

    // The accessors below read and write the fields themselves, as the C inline functions
    // they stand for do, rather than call out-of-line helpers once or more per packet.

    /// The named fields of the `headers` group (`protocol`, the header offsets, `pkt_type`,
    /// `ip_summed`), the first view of the anonymous union bindgen makes of the group.
    fn headers(&self) -> *mut raw::sk_buff__bindgen_ty_4__bindgen_ty_1 {
        // SAFETY: The skb is valid; only the address of the union is taken, and its first
        // member starts at it.
        unsafe { core::ptr::addr_of_mut!((*self.as_raw()).__bindgen_anon_4) }.cast()
    }

    /// `skb->data - skb->head`: the headroom, also the offset of `data` in the buffer.
    fn data_offset(&self) -> usize {
        // SAFETY: The skb is valid; `data` points into the buffer that starts at `head`.
        unsafe { ((*self.as_raw()).data as usize).wrapping_sub((*self.as_raw()).head as usize) }
    }

    /// The bytes after the data (`skb_tailroom`): none in a nonlinear skb.
    fn tailroom(&self) -> u32 {
        if self.is_nonlinear() {
            return 0;
        }
        // SAFETY: The skb is valid; `tail` and `end` are offsets from `head`, `tail <= end`.
        unsafe { (*self.as_raw()).end.saturating_sub((*self.as_raw()).tail) }
    }

    /// Returns the total length of the data.
    pub(crate) fn len(&self) -> u32 {
        // SAFETY: The skb is valid.
        unsafe { (*self.as_raw()).len }
    }

    /// Returns the length of the linear part.
    pub(crate) fn headlen(&self) -> u32 {
        // SAFETY: The skb is valid; `data_len` (the paged part) is at most `len`.
        unsafe { (*self.as_raw()).len - (*self.as_raw()).data_len }
    }

    /// The segment size of a TCP large send (TSO: the device cuts it into segments of this
    /// much payload), or `None` for a single packet.
    pub(crate) fn tso_size(&self) -> Option<u32> {
        // SAFETY: The skb is valid.
        let mss = unsafe { raw::skb_tso_size(self.as_raw()) };
        (mss != 0).then_some(mss)
    }

    /// The length of the headers up to the end of TCP's, counted from `data` (TSO skbs only:
    /// `None` otherwise).
    pub(crate) fn tcp_all_headers(&self) -> Option<u32> {
        self.tso_size()?;
        // SAFETY: The skb is valid and a TCP GSO skb, whose transport header is set.
        Some(unsafe { raw::skb_tcp_all_headers(self.as_raw()) })
    }

    /// Whether the stack left the IP and TCP/UDP checksums to the device (`CHECKSUM_PARTIAL`).
    pub(crate) fn csum_partial(&self) -> bool {
        // SAFETY: The skb is valid.
        u32::from(unsafe { (*self.headers()).ip_summed() }) == raw::CHECKSUM_PARTIAL
    }

    /// Marks the checksums as verified by the device (`CHECKSUM_UNNECESSARY`).
    pub(crate) fn set_csum_unnecessary(&mut self) {
        // SAFETY: The skb is valid and exclusively ours (`&mut`).
        unsafe { (*self.headers()).set_ip_summed(raw::CHECKSUM_UNNECESSARY as u8) }
    }

    /// Returns whether part of the data lives in page fragments.
    pub(crate) fn is_nonlinear(&self) -> bool {
        // SAFETY: The skb is valid.
        unsafe { (*self.as_raw()).data_len != 0 }
    }

    /// Returns the linear data.
    pub(crate) fn data(&self) -> &[u8] {
        // SAFETY: `data` points to `skb_headlen` readable bytes while the skb is valid and not
        // modified through another path; this borrow of `self` prevents the latter here.
        unsafe { core::slice::from_raw_parts((*self.as_raw()).data, self.headlen() as usize) }
    }

    /// Returns the linear data, writable.
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: `data` points to `skb_headlen` writable bytes while the skb is valid; the
        // `&mut self` borrow is exclusive (`from_raw`'s contract), so no other slice of them
        // exists for as long as the returned one.
        unsafe { core::slice::from_raw_parts_mut((*self.as_raw()).data, self.headlen() as usize) }
    }

    /// Prepends `n` bytes (`skb_push`) and returns them.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the headroom is smaller than `n` (where C would panic).
    pub(crate) fn push(&mut self, n: u32) -> Result<&mut [u8]> {
        // SAFETY: The skb is valid; the headroom check keeps `skb_push` from panicking. The
        // returned bytes are borrowed from `&mut self`, which is exclusive.
        unsafe {
            if self.data_offset() < n as usize {
                return Err(ENOMEM);
            }
            let p = raw::skb_push(self.as_raw(), n);
            Ok(core::slice::from_raw_parts_mut(p.cast::<u8>(), n as usize))
        }
    }

    /// Removes `n` bytes from the start (`skb_pull`).
    ///
    /// # Errors
    ///
    /// `EINVAL` if the linear part is shorter than `n`.
    pub(crate) fn pull(&mut self, n: u32) -> Result {
        if self.headlen() < n {
            return Err(EINVAL);
        }
        // SAFETY: The skb is valid and has `n` linear bytes.
        unsafe { raw::skb_pull(self.as_raw(), n) };
        Ok(())
    }

    /// Extends the data by `n` bytes at the tail (`skb_put`), for a received packet.
    ///
    /// # Errors
    ///
    /// `EINVAL` if the buffer has less tailroom than `n` (where C would panic).
    pub(crate) fn put(&mut self, n: u32) -> Result {
        // SAFETY: The skb is valid; the tailroom check keeps `skb_put` from panicking.
        unsafe {
            if self.is_nonlinear() || self.tailroom() < n {
                return Err(EINVAL);
            }
            raw::skb_put(self.as_raw(), n);
        }
        Ok(())
    }

    /// Reserves `n` bytes of headroom in an empty buffer (`skb_reserve`).
    pub(crate) fn reserve(&mut self, n: u32) -> Result {
        // SAFETY: The skb is valid; only an empty skb with that much tailroom is adjusted.
        unsafe {
            if self.len() != 0 || self.tailroom() < n {
                return Err(EINVAL);
            }
            raw::skb_reserve(self.as_raw(), n as i32);
        }
        Ok(())
    }

    /// Returns `skb->protocol` (network order as stored, i.e. a big-endian EtherType).
    pub(crate) fn protocol_be(&self) -> u16 {
        // SAFETY: The skb is valid.
        unsafe { (*self.headers()).protocol }
    }

    /// Sets `skb->protocol` to the EtherType `proto` (host order).
    pub(crate) fn set_protocol(&self, proto: u16) {
        // SAFETY: The skb is valid and the caller's to modify (`from_raw`).
        unsafe { (*self.headers()).protocol = proto.to_be() }
    }

    /// Sets `skb->pkt_type`.
    pub(crate) fn set_pkt_type(&self, t: PacketType) {
        let v = match t {
            PacketType::Host => raw::PACKET_HOST,
            PacketType::Broadcast => raw::PACKET_BROADCAST,
            PacketType::Multicast => raw::PACKET_MULTICAST,
        };
        // SAFETY: The skb is valid and the caller's to modify (`from_raw`).
        unsafe { (*self.headers()).set_pkt_type(v as u8) }
    }

    /// Marks the current data start as the link-level header (`skb_reset_mac_header`).
    pub(crate) fn reset_mac_header(&self) {
        let off = self.data_offset() as u16;
        // SAFETY: The skb is valid and the caller's to modify (`from_raw`).
        unsafe { (*self.headers()).mac_header = off }
    }
}

/// An owned socket buffer; dropping it frees it (`dev_kfree_skb_any`, any context).
///
/// # Invariants
///
/// `ptr` points to a valid `sk_buff` that this value owns exclusively.
pub(crate) struct SkBuff {
    ptr: NonNull<raw::sk_buff>,
}

// SAFETY: An owned skb can be handed to and freed from any thread.
unsafe impl Send for SkBuff {}
// SAFETY: `&SkBuff` only allows what `SkBuffRef` allows, which is exclusive by ownership.
unsafe impl Sync for SkBuff {}

impl SkBuff {
    /// Takes ownership of a raw skb.
    ///
    /// # Safety
    ///
    /// `ptr` must be null or a valid skb whose ownership the caller hands over.
    pub(crate) unsafe fn from_raw(ptr: *mut raw::sk_buff) -> Option<Self> {
        // INVARIANT: Non-null and owned, per the caller.
        NonNull::new(ptr).map(|ptr| Self { ptr })
    }

    /// Gives up ownership, returning the raw pointer.
    pub(crate) fn into_raw(self) -> *mut raw::sk_buff {
        let p = self.ptr.as_ptr();
        core::mem::forget(self);
        p
    }

    /// Allocates a receive buffer of `len` bytes for `dev` (`netdev_alloc_skb`, atomic).
    pub(crate) fn alloc_rx(dev: &NetDevice, len: u32) -> Result<Self> {
        // SAFETY: `dev` is valid; the function allocates with GFP_ATOMIC.
        let p = unsafe { raw::netdev_alloc_skb(dev.as_raw(), len) };
        // SAFETY: A fresh skb is ours.
        unsafe { Self::from_raw(p) }.ok_or(ENOMEM)
    }

    /// Hands the skb (which must start with its link-level header) to the device's queue
    /// (`dev_queue_xmit`), e.g. to send again once a destination is resolved; process context.
    pub(crate) fn queue_xmit(self) {
        // SAFETY: The skb is valid, ours and has its device set; `dev_queue_xmit` consumes it
        // whatever it returns.
        unsafe { raw::dev_queue_xmit(self.into_raw()) };
    }

    /// Tells the sender that the packet is too big for the path, as IPoIB's connected mode
    /// does (`ipoib_cm_skb_too_long`): lowers the route's PMTU to `mtu` and answers IPv4 with
    /// ICMP "fragmentation needed", IPv6 with ICMPv6 "packet too big" (`icmp_ndo_send`,
    /// meant for `ndo_start_xmit`). Needs the route, so the device keeps it
    /// ([`Config::keep_dst`](super::Config)).
    pub(crate) fn send_too_big(&mut self, mtu: u32) {
        // SAFETY: The skb is valid and ours. The ICMP and ICMPv6 code checks that the network
        // header it reads lies inside the skb (a packet socket may send anything), and does
        // nothing without a route.
        unsafe { raw::skb_send_too_big(self.ptr.as_ptr(), mtu) }
    }

    /// Makes the data linear (`skb_linearize`).
    pub(crate) fn linearize(&mut self) -> Result {
        // SAFETY: The skb is valid and ours.
        to_result(unsafe { raw::skb_linearize(self.ptr.as_ptr()) })
    }

    /// Detaches the skb from its socket and route (`skb_orphan`, `skb_dst_drop`) so that a
    /// long stay in a send queue does not hold them.
    pub(crate) fn orphan(&mut self) {
        // SAFETY: The skb is valid and ours.
        unsafe {
            raw::skb_orphan(self.ptr.as_ptr());
            raw::skb_dst_drop(self.ptr.as_ptr());
        }
    }

    /// Maps `len` bytes from `data` for DMA; the caller checked they lie inside the buffer.
    fn map(self, dev: &rdma::Device, len: u32, dir: rdma::DmaDir) -> Result<MappedSkBuff> {
        // SAFETY: The `len` bytes from `data` are inside the skb's buffer (checked by the
        // callers), which the mapping keeps alive until it is unmapped.
        let addr =
            unsafe { dev.dma_map_single((*self.ptr.as_ptr()).data.cast(), len as usize, dir) }?;
        Ok(MappedSkBuff {
            skb: self,
            dev: dev.as_raw(),
            addr,
            len,
            dir,
        })
    }
}

impl SkBuff {
    /// Appends `len` bytes at the start of `page` as the next fragment of a received packet
    /// (`skb_add_rx_frag`, counting the whole page in the truesize); the skb owns the page.
    ///
    /// # Errors
    ///
    /// `EINVAL` if `len` exceeds the page or the skb has no fragment slot left; the page is
    /// freed then.
    pub(crate) fn add_rx_frag(&mut self, page: Page, len: u32) -> Result {
        let skb = self.ptr.as_ptr();
        // SAFETY: The skb is valid and ours.
        let i = unsafe { raw::skb_nr_frags(skb) };
        if len as usize > PAGE_SIZE || i >= raw::MAX_SKB_FRAGS {
            return Err(EINVAL);
        }
        let page = core::mem::ManuallyDrop::new(page);
        // SAFETY: The skb is valid and ours, slot `i` is the next free one, and the page's
        // reference passes to the skb (which puts it when freed).
        unsafe {
            raw::skb_add_rx_frag(
                skb,
                i as i32,
                page.as_ptr().cast(),
                0,
                len as i32,
                PAGE_SIZE as u32,
            )
        };
        Ok(())
    }

    /// Maps `len` bytes of an empty receive buffer's tailroom for the device to write.
    ///
    /// # Errors
    ///
    /// `EINVAL` if the buffer is not empty or has less tailroom than `len`.
    pub(crate) fn dma_map_rx(self, dev: &rdma::Device, len: u32) -> Result<MappedSkBuff> {
        if self.len() != 0 || self.tailroom() < len {
            return Err(EINVAL);
        }
        // Tailroom checked: the `len` bytes from `data` are inside the buffer.
        self.map(dev, len, rdma::DmaDir::FromDevice)
    }
}

impl Deref for SkBuff {
    type Target = SkBuffRef;

    fn deref(&self) -> &SkBuffRef {
        // SAFETY: By the type invariant the skb is valid and exclusively ours; the shared
        // borrow of `self` keeps every `&mut` to it away for the returned lifetime.
        unsafe { SkBuffRef::from_raw(self.ptr.as_ptr()) }
    }
}

impl DerefMut for SkBuff {
    fn deref_mut(&mut self) -> &mut SkBuffRef {
        // SAFETY: By the type invariant the skb is valid and exclusively ours, and `&mut self`
        // is the only borrow of it.
        unsafe { SkBuffRef::from_raw(self.ptr.as_ptr()) }
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the skb is ours to free.
        unsafe { raw::dev_kfree_skb_any(self.ptr.as_ptr()) }
    }
}

/// An skb whose linear data is mapped for DMA by an RDMA device.
///
/// Dropping it unmaps and frees it; [`MappedSkBuff::unmap`] unmaps and returns the skb.
pub(crate) struct MappedSkBuff {
    skb: SkBuff,
    dev: *mut raw::ib_device,
    addr: u64,
    len: u32,
    dir: rdma::DmaDir,
}

// SAFETY: The device pointer is only used to unmap, which may happen on any thread.
unsafe impl Send for MappedSkBuff {}
// SAFETY: `&MappedSkBuff` exposes only plain values.
unsafe impl Sync for MappedSkBuff {}

impl MappedSkBuff {
    /// Returns the DMA address of the data.
    pub(crate) fn addr(&self) -> u64 {
        self.addr
    }

    /// Returns the mapped length.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// Returns the skb's total length.
    pub(crate) fn skb_len(&self) -> u32 {
        self.skb.len()
    }

    fn do_unmap(&self) {
        // SAFETY: The mapping was made on `dev` with these parameters, and the device outlives
        // its mappings (the owner unmaps before the device goes away).
        unsafe {
            rdma::Device::from_raw(self.dev).dma_unmap_single(
                self.addr,
                self.len as usize,
                self.dir,
            )
        }
    }

    /// Lets `f` read the first `len` bytes the device wrote, keeping the buffer mapped for
    /// the next receive (`ib_dma_sync_single_for_cpu`, then `_for_device`), as drivers copy
    /// small packets out.
    ///
    /// # Errors
    ///
    /// `EINVAL` if `len` exceeds the mapping.
    pub(crate) fn peek(&self, len: u32, f: impl FnOnce(&[u8])) -> Result {
        if len > self.len {
            return Err(EINVAL);
        }
        // SAFETY: The mapping was made on `dev`, which outlives it (owners unmap first).
        let dev = unsafe { rdma::Device::from_raw(self.dev) };
        // SAFETY: `addr..addr + len` lies in this live mapping, made with `dir`.
        unsafe { dev.dma_sync_for_cpu(self.addr, len as usize, self.dir) };
        // SAFETY: The mapping covers `len` bytes from `data`, inside the skb's buffer, which the
        // device does not write while the buffer is not posted (the caller holds it).
        let bytes = unsafe {
            core::slice::from_raw_parts((*self.skb.as_raw()).data.cast_const(), len as usize)
        };
        f(bytes);
        // SAFETY: As for the sync for the CPU.
        unsafe { dev.dma_sync_for_device(self.addr, len as usize, self.dir) };
        Ok(())
    }

    /// Unmaps the data and returns the skb.
    pub(crate) fn unmap(self) -> SkBuff {
        self.do_unmap();
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again; the skb is moved out exactly once.
        unsafe { core::ptr::read(&this.skb) }
    }
}

impl Drop for MappedSkBuff {
    fn drop(&mut self) {
        self.do_unmap();
    }
}

/// The most pieces a sent skb is mapped in: its linear part and every page fragment.
pub(crate) const TX_SGE: usize = raw::MAX_SKB_FRAGS as usize + 1;

/// A slot of a send ring: empty, or an skb mapped for an RDMA device to read, its linear
/// part (unless empty) and each page fragment a scatter entry of the send
/// (`struct ipoib_tx_buf`, `ipoib_dma_map_tx`). The skb is mapped in place and the scatter
/// entries are kept in the slot, ready to post: sending a packet copies none of them.
/// Emptying or dropping the slot unmaps and frees the skb.
pub(crate) struct TxBuf {
    /// The skb, while the slot holds one.
    skb: Option<SkBuff>,
    dev: *mut raw::ib_device,
    /// The scatter entries of the send, the first `n` mapped: the linear part if `head`,
    /// then each fragment.
    sges: [rdma::Sge; TX_SGE],
    n: usize,
    /// `sges[0]` is the linear part (the headers of a large send are pulled off it, which
    /// may leave it empty: an empty part is not mapped, as in C).
    head: bool,
}

// SAFETY: The device pointer is only used to unmap, which may happen on any thread.
unsafe impl Send for TxBuf {}
// SAFETY: `&TxBuf` exposes only plain values.
unsafe impl Sync for TxBuf {}

impl SkBuff {
    /// Returns the number of page fragments.
    pub(crate) fn nr_frags(&self) -> usize {
        // SAFETY: The skb is valid.
        (unsafe { raw::skb_nr_frags(self.as_raw()) }) as usize
    }
}

impl TxBuf {
    /// Returns an empty slot.
    pub(crate) fn new() -> Self {
        Self {
            skb: None,
            dev: core::ptr::null_mut(),
            sges: [rdma::Sge::default(); TX_SGE],
            n: 0,
            head: false,
        }
    }

    /// Maps `skb` for `dev` to send under `lkey`, in at most `max_sge` pieces (linearizing it
    /// first if it has more fragments than that allows), into this slot, which is emptied
    /// first. Returns the scatter entries of the send.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if linearizing fails, `EIO` if a mapping fails; the skb is freed and the slot
    /// left empty.
    pub(crate) fn map(
        &mut self,
        mut skb: SkBuff,
        dev: &rdma::Device,
        lkey: u32,
        max_sge: usize,
    ) -> Result<&[rdma::Sge]> {
        self.release();
        let pieces = |s: &SkBuff| s.nr_frags() + usize::from(s.headlen() > 0);
        if pieces(&skb) > max_sge.clamp(1, TX_SGE) {
            skb.linearize()?;
        }
        let head = skb.headlen();
        let frags = skb.nr_frags();
        let raw_skb = skb.as_raw();
        self.dev = dev.as_raw();
        self.head = head > 0;
        // From here on, a failure empties the slot, which unmaps what was mapped.
        self.skb = Some(skb);
        if self.head {
            // SAFETY: The linear part is `head` bytes from `data` inside the skb's buffer,
            // which the slot keeps alive until it unmaps.
            let addr = unsafe {
                dev.dma_map_single(
                    (*raw_skb).data.cast(),
                    head as usize,
                    rdma::DmaDir::ToDevice,
                )
            };
            let Ok(addr) = addr else {
                self.release();
                return Err(EIO);
            };
            self.sges[0] = rdma::Sge::new(addr, head, lkey);
            self.n = 1;
        }
        for i in 0..frags.min(TX_SGE - 1) {
            let mut size = 0;
            // SAFETY: The device and the skb are valid, and fragment `i` exists; the skb (which
            // holds the fragment's page) lives until the mapping is undone in `release`.
            let addr = unsafe {
                let addr = raw::ib_dma_map_skb_frag(dev.as_raw(), raw_skb, i as u32, &mut size);
                (raw::ib_dma_mapping_error(dev.as_raw(), addr) == 0).then_some(addr)
            };
            let (Some(addr), Some(sge)) = (addr, self.sges.get_mut(self.n)) else {
                self.release();
                return Err(EIO);
            };
            *sge = rdma::Sge::new(addr, size, lkey);
            self.n += 1;
        }
        Ok(self.sges())
    }

    /// Returns the scatter entries of the send (none if the slot is empty).
    pub(crate) fn sges(&self) -> &[rdma::Sge] {
        &self.sges[..self.n]
    }

    /// Returns whether the slot holds an skb.
    pub(crate) fn is_busy(&self) -> bool {
        self.skb.is_some()
    }

    /// Unmaps and frees the skb the slot holds, if any; returns its length.
    pub(crate) fn release(&mut self) -> Option<u32> {
        let skb = self.skb.take()?;
        if !self.dev.is_null() {
            // SAFETY: The device outlives its mappings (owners empty their slots before it
            // goes away), and `dev` is the one the skb was mapped on.
            let dev = unsafe { rdma::Device::from_raw(self.dev) };
            for (i, sge) in self.sges[..self.n].iter().enumerate() {
                // SAFETY: The linear part (entry 0 if `head`) was mapped with
                // `dma_map_single`, the others as pages, with these addresses, lengths and
                // direction.
                unsafe {
                    if i == 0 && self.head {
                        dev.dma_unmap_single(
                            sge.addr(),
                            sge.len() as usize,
                            rdma::DmaDir::ToDevice,
                        );
                    } else {
                        dev.dma_unmap_page(sge.addr(), sge.len() as usize, rdma::DmaDir::ToDevice);
                    }
                }
            }
        }
        self.n = 0;
        Some(skb.len())
    }
}

impl Drop for TxBuf {
    fn drop(&mut self) {
        self.release();
    }
}

/// A page mapped for an RDMA device to write into, e.g. a fragment of a receive buffer.
///
/// Dropping it unmaps and frees the page; [`MappedPage::unmap`] unmaps and returns it.
pub(crate) struct MappedPage {
    page: Page,
    dev: *mut raw::ib_device,
    addr: u64,
}

// SAFETY: The device pointer is only used to unmap, which may happen on any thread.
unsafe impl Send for MappedPage {}
// SAFETY: `&MappedPage` exposes only the DMA address.
unsafe impl Sync for MappedPage {}

impl MappedPage {
    /// Allocates a page with `flags` and maps it for `dev` to write.
    pub(crate) fn alloc(dev: &rdma::Device, flags: kernel::alloc::Flags) -> Result<Self> {
        let page = Page::alloc_page(flags)?;
        let addr = dev.dma_map_page(&page, 0, PAGE_SIZE, rdma::DmaDir::FromDevice)?;
        Ok(Self {
            page,
            dev: dev.as_raw(),
            addr,
        })
    }

    /// Returns the DMA address of the page.
    pub(crate) fn addr(&self) -> u64 {
        self.addr
    }

    fn do_unmap(&self) {
        // SAFETY: The mapping was made on `dev` for a whole page, written by the device, and
        // the device outlives its mappings (the owner unmaps before it goes away).
        unsafe {
            rdma::Device::from_raw(self.dev).dma_unmap_page(
                self.addr,
                PAGE_SIZE,
                rdma::DmaDir::FromDevice,
            )
        }
    }

    /// Unmaps the page and returns it.
    pub(crate) fn unmap(self) -> Page {
        self.do_unmap();
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again; the page is moved out exactly once.
        unsafe { core::ptr::read(&this.page) }
    }
}

impl Drop for MappedPage {
    fn drop(&mut self) {
        self.do_unmap();
    }
}
