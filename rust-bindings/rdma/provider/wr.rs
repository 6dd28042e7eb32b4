// SPDX-License-Identifier: GPL-2.0

//! Work requests, work completions and the attributes of QPs, CQs and AHs as a provider sees
//! them.
//!
//! C header: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h).

use super::{Ah, Cq, Driver, Srq};
use crate::rust_bindings::raw;
use core::marker::PhantomData;
use kernel::prelude::*;

/// The type of a QP (`enum ib_qp_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QpType {
    /// `IB_QPT_SMI`: QP0.
    Smi,
    /// `IB_QPT_GSI`: QP1.
    Gsi,
    /// `IB_QPT_RC`.
    Rc,
    /// `IB_QPT_UC`.
    Uc,
    /// `IB_QPT_UD`.
    Ud,
    /// Any other type (raw packet, XRC, driver-specific).
    Other(u32),
}

impl QpType {
    pub(super) fn from_raw(t: raw::ib_qp_type) -> Self {
        match t {
            raw::ib_qp_type_IB_QPT_SMI => Self::Smi,
            raw::ib_qp_type_IB_QPT_GSI => Self::Gsi,
            raw::ib_qp_type_IB_QPT_RC => Self::Rc,
            raw::ib_qp_type_IB_QPT_UC => Self::Uc,
            raw::ib_qp_type_IB_QPT_UD => Self::Ud,
            t => Self::Other(t),
        }
    }

    /// Whether work requests of this type are `ib_ud_wr`s (UD and the special QPs).
    pub(crate) fn is_datagram(self) -> bool {
        matches!(self, Self::Smi | Self::Gsi | Self::Ud)
    }
}

/// A handle of a QP as completions report it (`ib_wc.qp`).
///
/// # Invariants
///
/// Points to the `ib_qp` of a QP that existed when the handle was made; it is only ever given
/// to the RDMA core in a work completion, and the driver ensures (by cleaning its CQs when a
/// QP is destroyed) that no completion of a destroyed QP is reported.
#[derive(Clone, Copy)]
pub(crate) struct QpHandle(*mut raw::ib_qp);

// SAFETY: The handle is an address given to the core; it is never dereferenced in Rust.
unsafe impl Send for QpHandle {}
// SAFETY: As above.
unsafe impl Sync for QpHandle {}

impl QpHandle {
    pub(super) fn new(qp: *mut raw::ib_qp) -> Self {
        Self(qp)
    }
}

/// A scatter/gather element of a work request (`struct ib_sge`).
#[repr(transparent)]
pub(crate) struct WrSge(raw::ib_sge);

impl WrSge {
    /// The DMA address.
    pub(crate) fn addr(&self) -> u64 {
        self.0.addr
    }

    /// The length in bytes.
    pub(crate) fn length(&self) -> u32 {
        self.0.length
    }

    /// The local key of the memory.
    pub(crate) fn lkey(&self) -> u32 {
        self.0.lkey
    }
}

/// Returns the SGE list of a work request.
///
/// # Safety
///
/// `list` points to `n` valid SGEs for `'a`, or `n` is not positive.
unsafe fn sges<'a>(list: *const raw::ib_sge, n: i32) -> &'a [WrSge] {
    match usize::try_from(n) {
        Ok(n) if n > 0 && !list.is_null() => {
            // SAFETY: The caller's guarantee; `WrSge` is transparent over `ib_sge`.
            unsafe { core::slice::from_raw_parts(list.cast::<WrSge>(), n) }
        }
        _ => &[],
    }
}

/// The opcode of a send work request (`enum ib_wr_opcode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WrOpcode {
    /// `IB_WR_RDMA_WRITE`.
    RdmaWrite,
    /// `IB_WR_RDMA_WRITE_WITH_IMM`.
    RdmaWriteImm,
    /// `IB_WR_SEND`.
    Send,
    /// `IB_WR_SEND_WITH_IMM`.
    SendImm,
    /// `IB_WR_RDMA_READ`.
    RdmaRead,
    /// `IB_WR_ATOMIC_CMP_AND_SWP`.
    AtomicCmpSwp,
    /// `IB_WR_ATOMIC_FETCH_AND_ADD`.
    AtomicFetchAdd,
    /// `IB_WR_LSO`.
    Lso,
    /// `IB_WR_SEND_WITH_INV`.
    SendInv,
    /// `IB_WR_LOCAL_INV`.
    LocalInv,
    /// `IB_WR_MASKED_ATOMIC_CMP_AND_SWP`.
    MaskedAtomicCmpSwp,
    /// `IB_WR_MASKED_ATOMIC_FETCH_AND_ADD`.
    MaskedAtomicFetchAdd,
    /// `IB_WR_REG_MR`.
    RegMr,
    /// Anything else.
    Other(u32),
}

impl WrOpcode {
    fn from_raw(op: raw::ib_wr_opcode) -> Self {
        match op {
            raw::ib_wr_opcode_IB_WR_RDMA_WRITE => Self::RdmaWrite,
            raw::ib_wr_opcode_IB_WR_RDMA_WRITE_WITH_IMM => Self::RdmaWriteImm,
            raw::ib_wr_opcode_IB_WR_SEND => Self::Send,
            raw::ib_wr_opcode_IB_WR_SEND_WITH_IMM => Self::SendImm,
            raw::ib_wr_opcode_IB_WR_RDMA_READ => Self::RdmaRead,
            raw::ib_wr_opcode_IB_WR_ATOMIC_CMP_AND_SWP => Self::AtomicCmpSwp,
            raw::ib_wr_opcode_IB_WR_ATOMIC_FETCH_AND_ADD => Self::AtomicFetchAdd,
            raw::ib_wr_opcode_IB_WR_LSO => Self::Lso,
            raw::ib_wr_opcode_IB_WR_SEND_WITH_INV => Self::SendInv,
            raw::ib_wr_opcode_IB_WR_LOCAL_INV => Self::LocalInv,
            raw::ib_wr_opcode_IB_WR_MASKED_ATOMIC_CMP_AND_SWP => Self::MaskedAtomicCmpSwp,
            raw::ib_wr_opcode_IB_WR_MASKED_ATOMIC_FETCH_AND_ADD => Self::MaskedAtomicFetchAdd,
            raw::ib_wr_opcode_IB_WR_REG_MR => Self::RegMr,
            op => Self::Other(op),
        }
    }
}

/// `send_flags`: fence (`IB_SEND_FENCE`).
pub(crate) const SEND_FENCE: u32 = raw::ib_send_flags_IB_SEND_FENCE as u32;
/// `send_flags`: generate a completion (`IB_SEND_SIGNALED`).
pub(crate) const SEND_SIGNALED: u32 = raw::ib_send_flags_IB_SEND_SIGNALED as u32;
/// `send_flags`: solicited event (`IB_SEND_SOLICITED`).
pub(crate) const SEND_SOLICITED: u32 = raw::ib_send_flags_IB_SEND_SOLICITED as u32;
/// `send_flags`: inline data (`IB_SEND_INLINE`).
pub(crate) const SEND_INLINE: u32 = raw::ib_send_flags_IB_SEND_INLINE as u32;
/// `send_flags`: IP checksum offload (`IB_SEND_IP_CSUM`).
pub(crate) const SEND_IP_CSUM: u32 = raw::ib_send_flags_IB_SEND_IP_CSUM as u32;

/// A send work request (`struct ib_send_wr` and the structure around it for its opcode).
///
/// # Invariants
///
/// `wr` is valid for `'a`; when `datagram`, it is the `wr` member of an `ib_ud_wr` (the verbs
/// contract for UD and special QPs); otherwise, for RDMA opcodes of an `ib_rdma_wr` and for
/// atomic opcodes of an `ib_atomic_wr`.
pub(crate) struct SendWr<'a, D: Driver> {
    wr: &'a raw::ib_send_wr,
    datagram: bool,
    _d: PhantomData<D>,
}

/// The datagram part of a send work request (`struct ib_ud_wr`).
pub(crate) struct UdWr<'a, D: Driver> {
    /// The address handle of the destination.
    pub(crate) ah: &'a Ah<D>,
    /// The destination QP number.
    pub(crate) remote_qpn: u32,
    /// The Q_Key (high bit set: use the QP's).
    pub(crate) remote_qkey: u32,
    /// The P_Key index (GSI QPs only).
    pub(crate) pkey_index: u16,
    /// The headers to replicate (LSO).
    pub(crate) header: &'a [u8],
    /// The maximum segment size (LSO).
    pub(crate) mss: u32,
}

impl<'a, D: Driver> SendWr<'a, D> {
    /// # Safety
    ///
    /// `wr` is valid for `'a` and, when `datagram`, is the `wr` of an `ib_ud_wr`; otherwise it
    /// is an `ib_rdma_wr` for RDMA opcodes and an `ib_atomic_wr` for atomic ones.
    pub(super) unsafe fn new(wr: &'a raw::ib_send_wr, datagram: bool) -> Self {
        // INVARIANT: The caller's guarantees.
        Self {
            wr,
            datagram,
            _d: PhantomData,
        }
    }

    /// The consumer's identifier of the request.
    pub(crate) fn wr_id(&self) -> u64 {
        // SAFETY: Both members of the union are 64-bit values; reading `wr_id` is always valid.
        unsafe { self.wr.__bindgen_anon_1.wr_id }
    }

    /// The opcode.
    pub(crate) fn opcode(&self) -> WrOpcode {
        WrOpcode::from_raw(self.wr.opcode)
    }

    /// The `IB_SEND_*` flags.
    pub(crate) fn send_flags(&self) -> u32 {
        self.wr.send_flags as u32
    }

    /// The immediate data, big-endian as on the wire, or the rkey to invalidate.
    pub(crate) fn imm_data(&self) -> u32 {
        // SAFETY: Both members are 32-bit integers.
        unsafe { self.wr.ex.imm_data }
    }

    /// The gather list.
    pub(crate) fn sges(&self) -> &'a [WrSge] {
        // SAFETY: A valid work request has `num_sge` SGEs at `sg_list`.
        unsafe { sges(self.wr.sg_list, self.wr.num_sge) }
    }

    /// The datagram fields, for UD and special QPs.
    pub(crate) fn ud(&self) -> Option<UdWr<'a, D>> {
        if !self.datagram {
            return None;
        }
        let wr: *const raw::ib_send_wr = self.wr;
        // SAFETY: For datagram QPs `wr` is the `wr` member of an `ib_ud_wr` (type invariant).
        let ud = unsafe { &*kernel::container_of!(wr, raw::ib_ud_wr, wr) };
        if ud.ah.is_null() {
            return None;
        }
        let header = match usize::try_from(ud.hlen) {
            // SAFETY: The consumer gives `hlen` bytes of headers at `header` for LSO.
            Ok(n) if n > 0 && !ud.header.is_null() => unsafe {
                core::slice::from_raw_parts(ud.header.cast::<u8>(), n)
            },
            _ => &[],
        };
        Some(UdWr {
            // SAFETY: The AH was created on this device (the core posts to the QP's device) and
            // the consumer keeps it alive while the request is posted.
            ah: unsafe { Ah::from_raw(ud.ah) },
            remote_qpn: ud.remote_qpn,
            remote_qkey: ud.remote_qkey,
            pkey_index: ud.pkey_index,
            header,
            mss: ud.mss as u32,
        })
    }

    /// The remote address and key of an RDMA or atomic request.
    pub(crate) fn rdma(&self) -> Option<(u64, u32)> {
        let wr: *const raw::ib_send_wr = self.wr;
        match self.opcode() {
            WrOpcode::RdmaWrite | WrOpcode::RdmaWriteImm | WrOpcode::RdmaRead if !self.datagram => {
                // SAFETY: RDMA opcodes come in an `ib_rdma_wr` (type invariant).
                let r = unsafe { &*kernel::container_of!(wr, raw::ib_rdma_wr, wr) };
                Some((r.remote_addr, r.rkey))
            }
            _ => self.atomic_wr().map(|a| (a.remote_addr, a.rkey)),
        }
    }

    /// The operands of an atomic request: (compare_add, swap, compare_add_mask, swap_mask).
    pub(crate) fn atomic(&self) -> Option<(u64, u64, u64, u64)> {
        self.atomic_wr()
            .map(|a| (a.compare_add, a.swap, a.compare_add_mask, a.swap_mask))
    }

    /// The `ib_atomic_wr` around an atomic request of a connected QP.
    fn atomic_wr(&self) -> Option<&'a raw::ib_atomic_wr> {
        let wr: *const raw::ib_send_wr = self.wr;
        match self.opcode() {
            WrOpcode::AtomicCmpSwp
            | WrOpcode::AtomicFetchAdd
            | WrOpcode::MaskedAtomicCmpSwp
            | WrOpcode::MaskedAtomicFetchAdd
                if !self.datagram =>
            {
                // SAFETY: Atomic opcodes come in an `ib_atomic_wr` (type invariant), valid for
                // `'a` as the request is.
                Some(unsafe { &*kernel::container_of!(wr, raw::ib_atomic_wr, wr) })
            }
            _ => None,
        }
    }
}

/// A receive work request (`struct ib_recv_wr`).
pub(crate) struct RecvWr<'a> {
    wr: &'a raw::ib_recv_wr,
}

impl<'a> RecvWr<'a> {
    pub(super) fn new(wr: &'a raw::ib_recv_wr) -> Self {
        Self { wr }
    }

    /// The consumer's identifier of the request.
    pub(crate) fn wr_id(&self) -> u64 {
        // SAFETY: Both members of the union are 64-bit values.
        unsafe { self.wr.__bindgen_anon_1.wr_id }
    }

    /// The scatter list.
    pub(crate) fn sges(&self) -> &'a [WrSge] {
        // SAFETY: A valid work request has `num_sge` SGEs at `sg_list`.
        unsafe { sges(self.wr.sg_list, self.wr.num_sge) }
    }
}

/// The status of a work completion (`enum ib_wc_status`), as the raw value.
pub(crate) type WcStatus = u32;
/// The opcode of a work completion (`enum ib_wc_opcode`), as the raw value.
pub(crate) type WcOpcode = u32;

/// Work completion statuses.
pub(crate) mod wc_status {
    use crate::rust_bindings::raw;
    pub(crate) const SUCCESS: u32 = raw::ib_wc_status_IB_WC_SUCCESS;
    pub(crate) const LOC_LEN_ERR: u32 = raw::ib_wc_status_IB_WC_LOC_LEN_ERR;
    pub(crate) const LOC_QP_OP_ERR: u32 = raw::ib_wc_status_IB_WC_LOC_QP_OP_ERR;
    pub(crate) const LOC_PROT_ERR: u32 = raw::ib_wc_status_IB_WC_LOC_PROT_ERR;
    pub(crate) const WR_FLUSH_ERR: u32 = raw::ib_wc_status_IB_WC_WR_FLUSH_ERR;
    pub(crate) const MW_BIND_ERR: u32 = raw::ib_wc_status_IB_WC_MW_BIND_ERR;
    pub(crate) const BAD_RESP_ERR: u32 = raw::ib_wc_status_IB_WC_BAD_RESP_ERR;
    pub(crate) const LOC_ACCESS_ERR: u32 = raw::ib_wc_status_IB_WC_LOC_ACCESS_ERR;
    pub(crate) const REM_INV_REQ_ERR: u32 = raw::ib_wc_status_IB_WC_REM_INV_REQ_ERR;
    pub(crate) const REM_ACCESS_ERR: u32 = raw::ib_wc_status_IB_WC_REM_ACCESS_ERR;
    pub(crate) const REM_OP_ERR: u32 = raw::ib_wc_status_IB_WC_REM_OP_ERR;
    pub(crate) const RETRY_EXC_ERR: u32 = raw::ib_wc_status_IB_WC_RETRY_EXC_ERR;
    pub(crate) const RNR_RETRY_EXC_ERR: u32 = raw::ib_wc_status_IB_WC_RNR_RETRY_EXC_ERR;
    pub(crate) const REM_ABORT_ERR: u32 = raw::ib_wc_status_IB_WC_REM_ABORT_ERR;
    pub(crate) const GENERAL_ERR: u32 = raw::ib_wc_status_IB_WC_GENERAL_ERR;
}

/// Work completion opcodes.
pub(crate) mod wc_opcode {
    use crate::rust_bindings::raw;
    pub(crate) const SEND: u32 = raw::ib_wc_opcode_IB_WC_SEND;
    pub(crate) const RDMA_WRITE: u32 = raw::ib_wc_opcode_IB_WC_RDMA_WRITE;
    pub(crate) const RDMA_READ: u32 = raw::ib_wc_opcode_IB_WC_RDMA_READ;
    pub(crate) const COMP_SWAP: u32 = raw::ib_wc_opcode_IB_WC_COMP_SWAP;
    pub(crate) const FETCH_ADD: u32 = raw::ib_wc_opcode_IB_WC_FETCH_ADD;
    pub(crate) const MASKED_COMP_SWAP: u32 = raw::ib_wc_opcode_IB_WC_MASKED_COMP_SWAP;
    pub(crate) const MASKED_FETCH_ADD: u32 = raw::ib_wc_opcode_IB_WC_MASKED_FETCH_ADD;
    pub(crate) const LSO: u32 = raw::ib_wc_opcode_IB_WC_LSO;
    pub(crate) const LOCAL_INV: u32 = raw::ib_wc_opcode_IB_WC_LOCAL_INV;
    pub(crate) const REG_MR: u32 = raw::ib_wc_opcode_IB_WC_REG_MR;
    pub(crate) const BIND_MW: u32 = raw::ib_wc_opcode_IB_WC_BIND_MW;
    pub(crate) const RECV: u32 = raw::ib_wc_opcode_IB_WC_RECV;
    pub(crate) const RECV_RDMA_WITH_IMM: u32 = raw::ib_wc_opcode_IB_WC_RECV_RDMA_WITH_IMM;
}

/// `wc_flags`: a GRH is in the first 40 bytes of the buffer (`IB_WC_GRH`).
pub(crate) const WC_GRH: u32 = raw::ib_wc_flags_IB_WC_GRH;
/// `wc_flags`: immediate data is valid (`IB_WC_WITH_IMM`).
pub(crate) const WC_WITH_IMM: u32 = raw::ib_wc_flags_IB_WC_WITH_IMM;
/// `wc_flags`: an rkey was invalidated (`IB_WC_WITH_INVALIDATE`).
pub(crate) const WC_WITH_INVALIDATE: u32 = raw::ib_wc_flags_IB_WC_WITH_INVALIDATE;
/// `wc_flags`: the IP checksum was verified (`IB_WC_IP_CSUM_OK`).
pub(crate) const WC_IP_CSUM_OK: u32 = raw::ib_wc_flags_IB_WC_IP_CSUM_OK;

/// A work completion being filled by `poll_cq` (`struct ib_wc`).
#[repr(transparent)]
pub(crate) struct WcOut(raw::ib_wc);

impl WcOut {
    /// Clears every field (the consumer's array holds whatever it held before).
    pub(crate) fn reset(&mut self) {
        // SAFETY: An all-zero `ib_wc` is valid.
        self.0 = unsafe { core::mem::zeroed() };
    }

    /// Sets the consumer's identifier.
    pub(crate) fn set_wr_id(&mut self, id: u64) {
        self.0.__bindgen_anon_1.wr_id = id;
    }

    /// Sets the status and the vendor syndrome.
    pub(crate) fn set_status(&mut self, status: WcStatus, vendor_err: u32) {
        self.0.status = status;
        self.0.vendor_err = vendor_err;
    }

    /// Sets the opcode.
    pub(crate) fn set_opcode(&mut self, op: WcOpcode) {
        self.0.opcode = op;
    }

    /// Sets the byte count.
    pub(crate) fn set_byte_len(&mut self, n: u32) {
        self.0.byte_len = n;
    }

    /// Sets the QP the completion belongs to.
    pub(crate) fn set_qp(&mut self, qp: QpHandle) {
        self.0.qp = qp.0;
    }

    /// Adds `IB_WC_*` flags.
    pub(crate) fn add_flags(&mut self, flags: u32) {
        self.0.wc_flags |= flags as i32;
    }

    /// Sets the immediate data (big-endian as on the wire) or invalidated rkey.
    pub(crate) fn set_imm_data(&mut self, v: u32) {
        self.0.ex.imm_data = v;
    }

    /// Sets the datagram fields of a receive completion.
    pub(crate) fn set_source(&mut self, src_qp: u32, slid: u32, sl: u8, path_bits: u8) {
        self.0.src_qp = src_qp;
        self.0.slid = slid;
        self.0.sl = sl;
        self.0.dlid_path_bits = path_bits;
    }

    /// Sets the P_Key index of a receive completion.
    pub(crate) fn set_pkey_index(&mut self, i: u16) {
        self.0.pkey_index = i;
    }

    /// Sets the port of a receive completion (special QPs).
    pub(crate) fn set_port(&mut self, port: u32) {
        self.0.port_num = port;
    }
}

/// The capabilities of a QP's queues (`struct ib_qp_cap`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct QpCap {
    /// Send queue depth.
    pub(crate) max_send_wr: u32,
    /// Receive queue depth.
    pub(crate) max_recv_wr: u32,
    /// Gather entries per send request.
    pub(crate) max_send_sge: u32,
    /// Scatter entries per receive request.
    pub(crate) max_recv_sge: u32,
    /// Inline data per send request.
    pub(crate) max_inline_data: u32,
}

impl QpCap {
    fn from_raw(c: &raw::ib_qp_cap) -> Self {
        Self {
            max_send_wr: c.max_send_wr,
            max_recv_wr: c.max_recv_wr,
            max_send_sge: c.max_send_sge,
            max_recv_sge: c.max_recv_sge,
            max_inline_data: c.max_inline_data,
        }
    }

    pub(super) fn write(&self, c: &mut raw::ib_qp_cap) {
        c.max_send_wr = self.max_send_wr;
        c.max_recv_wr = self.max_recv_wr;
        c.max_send_sge = self.max_send_sge;
        c.max_recv_sge = self.max_recv_sge;
        c.max_inline_data = self.max_inline_data;
    }
}

/// The creation attributes of a QP (`struct ib_qp_init_attr`).
pub(crate) struct QpInitAttr<'a, D: Driver> {
    raw: &'a mut raw::ib_qp_init_attr,
    _d: PhantomData<D>,
}

impl<'a, D: Driver> QpInitAttr<'a, D> {
    /// # Safety
    ///
    /// `raw` is the init attr of a `create_qp` of a device of `D`, so its CQs are CQs of `D`.
    pub(super) unsafe fn new(raw: &'a mut raw::ib_qp_init_attr) -> Self {
        Self {
            raw,
            _d: PhantomData,
        }
    }

    /// The type of the QP.
    pub(crate) fn qp_type(&self) -> QpType {
        QpType::from_raw(self.raw.qp_type)
    }

    /// The requested capabilities.
    pub(crate) fn cap(&self) -> QpCap {
        QpCap::from_raw(&self.raw.cap)
    }

    /// Reports the capabilities the QP actually has.
    pub(crate) fn set_cap(&mut self, cap: &QpCap) {
        cap.write(&mut self.raw.cap);
    }

    /// Whether every send request generates a completion (`IB_SIGNAL_ALL_WR`).
    pub(crate) fn sq_sig_all(&self) -> bool {
        self.raw.sq_sig_type == raw::ib_sig_type_IB_SIGNAL_ALL_WR
    }

    /// The `IB_QP_CREATE_*` flags.
    pub(crate) fn create_flags(&self) -> u32 {
        self.raw.create_flags
    }

    /// The port of a special QP.
    pub(crate) fn port_num(&self) -> u32 {
        self.raw.port_num
    }

    /// The shared receive queue the QP receives from, if any.
    pub(crate) fn srq(&self) -> Option<&Srq<D>> {
        let srq = self.raw.srq;
        // SAFETY: The SRQ of a create is an SRQ of this device (constructor's guarantee) whose
        // create succeeded, alive during the create (and, held by the core, the QP's life).
        (!srq.is_null()).then(|| unsafe { Srq::from_raw(srq) })
    }

    /// Whether the QP belongs to an XRC domain or an RSS table.
    pub(crate) fn has_xrcd_or_rss(&self) -> bool {
        !self.raw.xrcd.is_null() || !self.raw.rwq_ind_tbl.is_null()
    }

    /// The CQ of the send queue.
    pub(crate) fn send_cq(&self) -> Option<&Cq<D>> {
        let cq = self.raw.send_cq;
        // SAFETY: The CQs of a create are CQs of this device (constructor's guarantee), alive
        // during the create.
        (!cq.is_null()).then(|| unsafe { Cq::from_raw(cq) })
    }

    /// The CQ of the receive queue.
    pub(crate) fn recv_cq(&self) -> Option<&Cq<D>> {
        let cq = self.raw.recv_cq;
        // SAFETY: As in `send_cq`.
        (!cq.is_null()).then(|| unsafe { Cq::from_raw(cq) })
    }
}

/// The global route of an address (`struct ib_global_route`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct GlobalRoute {
    /// The destination GID.
    pub(crate) dgid: [u8; 16],
    /// The flow label.
    pub(crate) flow_label: u32,
    /// The index of the source GID.
    pub(crate) sgid_index: u8,
    /// The hop limit.
    pub(crate) hop_limit: u8,
    /// The traffic class.
    pub(crate) traffic_class: u8,
}

/// The attributes of an InfiniBand address (`struct rdma_ah_attr` of type IB).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AhAttr {
    /// The port.
    pub(crate) port: u32,
    /// The service level.
    pub(crate) sl: u8,
    /// The static rate (`enum ib_rate`).
    pub(crate) static_rate: u8,
    /// The destination LID.
    pub(crate) dlid: u16,
    /// The source path bits.
    pub(crate) src_path_bits: u8,
    /// The global route, if the address has a GRH.
    pub(crate) grh: Option<GlobalRoute>,
    /// Whether the address is of another type than InfiniBand (RoCE, OPA).
    pub(crate) not_ib: bool,
}

impl AhAttr {
    pub(super) fn from_raw(a: &raw::rdma_ah_attr) -> Self {
        // SAFETY: `ib` is the member of the union for IB addresses, and plain integers
        // otherwise (only read for IB).
        let ib = unsafe { a.__bindgen_anon_1.ib };
        let grh = (u32::from(a.ah_flags) & raw::ib_ah_flags_IB_AH_GRH != 0).then(|| {
            // SAFETY: Every bit pattern of the GID union is a valid byte array.
            let dgid = unsafe { a.grh.dgid.raw };
            GlobalRoute {
                dgid,
                flow_label: a.grh.flow_label,
                sgid_index: a.grh.sgid_index,
                hop_limit: a.grh.hop_limit,
                traffic_class: a.grh.traffic_class,
            }
        });
        Self {
            port: a.port_num,
            sl: a.sl,
            static_rate: a.static_rate,
            dlid: ib.dlid,
            src_path_bits: ib.src_path_bits,
            grh,
            not_ib: a.type_ != raw::rdma_ah_attr_type_RDMA_AH_ATTR_TYPE_IB,
        }
    }

    pub(super) fn write(&self, a: &mut raw::rdma_ah_attr) {
        // SAFETY: An all-zero `rdma_ah_attr` is valid.
        *a = unsafe { core::mem::zeroed() };
        a.type_ = raw::rdma_ah_attr_type_RDMA_AH_ATTR_TYPE_IB;
        a.port_num = self.port;
        a.sl = self.sl;
        a.static_rate = self.static_rate;
        a.__bindgen_anon_1.ib = raw::ib_ah_attr {
            dlid: self.dlid,
            src_path_bits: self.src_path_bits,
        };
        if let Some(g) = &self.grh {
            a.ah_flags = raw::ib_ah_flags_IB_AH_GRH as u8;
            a.grh.dgid.raw = g.dgid;
            a.grh.flow_label = g.flow_label;
            a.grh.sgid_index = g.sgid_index;
            a.grh.hop_limit = g.hop_limit;
            a.grh.traffic_class = g.traffic_class;
        }
    }
}

/// The attributes of `modify_qp`/`query_qp` (`struct ib_qp_attr`); states are the raw
/// `enum ib_qp_state` values, `path_mtu` the `enum ib_mtu`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct QpAttr {
    pub(crate) qp_state: u32,
    pub(crate) cur_qp_state: u32,
    pub(crate) path_mtu: u32,
    pub(crate) path_mig_state: u32,
    pub(crate) qkey: u32,
    pub(crate) rq_psn: u32,
    pub(crate) sq_psn: u32,
    pub(crate) dest_qp_num: u32,
    pub(crate) qp_access_flags: u32,
    pub(crate) cap: QpCap,
    pub(crate) ah_attr: AhAttr,
    pub(crate) alt_ah_attr: AhAttr,
    pub(crate) pkey_index: u16,
    pub(crate) alt_pkey_index: u16,
    pub(crate) en_sqd_async_notify: u8,
    pub(crate) sq_draining: u8,
    pub(crate) max_rd_atomic: u8,
    pub(crate) max_dest_rd_atomic: u8,
    pub(crate) min_rnr_timer: u8,
    pub(crate) port_num: u32,
    pub(crate) timeout: u8,
    pub(crate) retry_cnt: u8,
    pub(crate) rnr_retry: u8,
    pub(crate) alt_port_num: u32,
    pub(crate) alt_timeout: u8,
}

impl QpAttr {
    pub(super) fn from_raw(a: &raw::ib_qp_attr) -> Self {
        Self {
            qp_state: a.qp_state,
            cur_qp_state: a.cur_qp_state,
            path_mtu: a.path_mtu,
            path_mig_state: a.path_mig_state,
            qkey: a.qkey,
            rq_psn: a.rq_psn,
            sq_psn: a.sq_psn,
            dest_qp_num: a.dest_qp_num,
            qp_access_flags: a.qp_access_flags as u32,
            cap: QpCap::from_raw(&a.cap),
            ah_attr: AhAttr::from_raw(&a.ah_attr),
            alt_ah_attr: AhAttr::from_raw(&a.alt_ah_attr),
            pkey_index: a.pkey_index,
            alt_pkey_index: a.alt_pkey_index,
            en_sqd_async_notify: a.en_sqd_async_notify,
            sq_draining: a.sq_draining,
            max_rd_atomic: a.max_rd_atomic,
            max_dest_rd_atomic: a.max_dest_rd_atomic,
            min_rnr_timer: a.min_rnr_timer,
            port_num: a.port_num,
            timeout: a.timeout,
            retry_cnt: a.retry_cnt,
            rnr_retry: a.rnr_retry,
            alt_port_num: a.alt_port_num,
            alt_timeout: a.alt_timeout,
        }
    }

    pub(super) fn write(&self, a: &mut raw::ib_qp_attr) {
        a.qp_state = self.qp_state;
        a.cur_qp_state = self.cur_qp_state;
        a.path_mtu = self.path_mtu;
        a.path_mig_state = self.path_mig_state;
        a.qkey = self.qkey;
        a.rq_psn = self.rq_psn;
        a.sq_psn = self.sq_psn;
        a.dest_qp_num = self.dest_qp_num;
        a.qp_access_flags = self.qp_access_flags as i32;
        self.cap.write(&mut a.cap);
        self.ah_attr.write(&mut a.ah_attr);
        self.alt_ah_attr.write(&mut a.alt_ah_attr);
        a.pkey_index = self.pkey_index;
        a.alt_pkey_index = self.alt_pkey_index;
        a.en_sqd_async_notify = self.en_sqd_async_notify;
        a.sq_draining = self.sq_draining;
        a.max_rd_atomic = self.max_rd_atomic;
        a.max_dest_rd_atomic = self.max_dest_rd_atomic;
        a.min_rnr_timer = self.min_rnr_timer;
        a.port_num = self.port_num;
        a.timeout = self.timeout;
        a.retry_cnt = self.retry_cnt;
        a.rnr_retry = self.rnr_retry;
        a.alt_port_num = self.alt_port_num;
        a.alt_timeout = self.alt_timeout;
    }
}

/// The creation attributes of a CQ (`struct ib_cq_init_attr`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CqInitAttr {
    /// The number of entries asked for.
    pub(crate) cqe: u32,
    /// The completion vector.
    pub(crate) comp_vector: u32,
    /// The `IB_UVERBS_CQ_FLAGS_*`.
    pub(crate) flags: u32,
}
