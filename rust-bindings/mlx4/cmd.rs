// SPDX-License-Identifier: GPL-2.0

//! Firmware commands: mailboxes, `__mlx4_cmd` and the commands mlx4_ib issues itself
//! (`MAD_IFC`, `SET_PORT`, `INIT_PORT`, `CLOSE_PORT`).
//!
//! C header: [`include/linux/mlx4/cmd.h`](srctree/include/linux/mlx4/cmd.h).
//!
//! A command names its input and output either as an immediate value or as the bus address of
//! a mailbox the device reads or writes. Which one the firmware expects depends on the opcode,
//! so only the opcodes in [`Opcode`], whose parameters are known, are issued by the safe
//! functions: they check the kinds of the parameters against the opcode, and pass mailboxes,
//! never addresses. Any other command goes through the unsafe [`Dev::cmd_raw`].
//!
//! Every command sleeps (it waits for the firmware, up to its [`Timeout`]).

use super::Dev;
use crate::rust_bindings::raw;
use core::ptr::NonNull;
use kernel::error::{from_err_ptr, to_result, Result};
use kernel::ffi::{c_int, c_ulong};
use kernel::prelude::*;

/// The size of a command mailbox (`MLX4_MAILBOX_SIZE`).
pub(crate) const MAILBOX_SIZE: usize = raw::MLX4_MAILBOX_SIZE as usize;

/// The size of a MAD (`struct ib_mad`).
pub(crate) const MAD_SIZE: usize = 256;

/// A command mailbox: a page of DMA memory the firmware reads a command's input from or writes
/// its output to (`mlx4_alloc_cmd_mailbox`); freed on drop.
///
/// The memory is only reachable through `&self` (reads) and `&mut self` (writes, and commands
/// that make the device write it), so the CPU never reads it while the device writes it.
///
/// # Invariants
///
/// `mb` was returned by `mlx4_alloc_cmd_mailbox(dev)` and is owned: `buf` points to
/// [`MAILBOX_SIZE`] initialised bytes of coherent DMA memory (the pool zeroes them) mapped for
/// `dev` at `dma`. `dev` follows the resource lifetime rule of the module documentation.
pub(crate) struct Mailbox {
    dev: NonNull<raw::mlx4_dev>,
    mb: NonNull<raw::mlx4_cmd_mailbox>,
}

// SAFETY: The mailbox is plain memory owned by this object; mlx4_core's pool may be used from any
// thread.
unsafe impl Send for Mailbox {}
// SAFETY: `&Mailbox` only reads the memory.
unsafe impl Sync for Mailbox {}

impl Mailbox {
    /// Allocates a zeroed mailbox (may sleep).
    pub(crate) fn new(dev: &Dev) -> Result<Self> {
        // SAFETY: `dev` is a valid, bound device.
        let mb = from_err_ptr(unsafe { raw::mlx4_alloc_cmd_mailbox(dev.as_raw()) })?;
        let mb = NonNull::new(mb).ok_or(ENOMEM)?;
        // INVARIANT: `mb` was just allocated from `dev`'s pool.
        Ok(Self {
            dev: dev.as_non_null(),
            mb,
        })
    }

    fn buf(&self) -> *mut u8 {
        // SAFETY: `mb` is valid by the type invariant.
        unsafe { (*self.mb.as_ptr()).buf.cast() }
    }

    /// Returns the contents.
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: `buf` points to `MAILBOX_SIZE` initialised bytes owned by `self` (type
        // invariant); the device only writes them during a command, which takes `&mut self`.
        unsafe { core::slice::from_raw_parts(self.buf(), MAILBOX_SIZE) }
    }

    /// Returns the contents, to fill in a command's input.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: As in `as_slice`; `&mut self` excludes every other access.
        unsafe { core::slice::from_raw_parts_mut(self.buf(), MAILBOX_SIZE) }
    }

    /// Zeroes the contents (a new mailbox already is zeroed).
    pub(crate) fn clear(&mut self) {
        self.as_mut_slice().fill(0);
    }

    /// Returns the bus address of the memory, for commands issued by rust-bindings code.
    pub(super) fn dma(&self) -> u64 {
        // SAFETY: `mb` is valid by the type invariant.
        unsafe { (*self.mb.as_ptr()).dma }
    }

    fn is_of(&self, dev: &Dev) -> bool {
        self.dev == dev.as_non_null()
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        // SAFETY: `mb` came from `mlx4_alloc_cmd_mailbox(dev)` (type invariant), whose device is
        // still bound; it is not used after this.
        unsafe { raw::mlx4_free_cmd_mailbox(self.dev.as_ptr(), self.mb.as_ptr()) };
    }
}

/// How long a command may take (`MLX4_CMD_TIME_CLASS_*`; 60 s each on 6.12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timeout {
    /// `MLX4_CMD_TIME_CLASS_A`.
    ClassA,
    /// `MLX4_CMD_TIME_CLASS_B`.
    ClassB,
    /// `MLX4_CMD_TIME_CLASS_C`.
    ClassC,
}

impl Timeout {
    fn ms(self) -> c_ulong {
        let ms = match self {
            Self::ClassA => raw::MLX4_CMD_TIME_CLASS_A,
            Self::ClassB => raw::MLX4_CMD_TIME_CLASS_B,
            Self::ClassC => raw::MLX4_CMD_TIME_CLASS_C,
        };
        c_ulong::try_from(ms).unwrap_or(c_ulong::MAX)
    }
}

/// Who executes a command on a multi-function (SR-IOV) device (`MLX4_CMD_WRAPPED`/`_NATIVE`);
/// without SR-IOV both go straight to the firmware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dispatch {
    /// `MLX4_CMD_WRAPPED`: a VF's command is checked by the PF first.
    Wrapped,
    /// `MLX4_CMD_NATIVE`: the PF issues it to the firmware as is.
    Native,
}

/// The modifiers, timeout and dispatch of a command.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CmdArgs {
    /// The input modifier (`in_modifier`), often a port or object number.
    pub(crate) in_mod: u32,
    /// The opcode modifier (`op_modifier`).
    pub(crate) op_mod: u8,
    /// How long the command may take.
    pub(crate) timeout: Timeout,
    /// Who executes it.
    pub(crate) dispatch: Dispatch,
}

impl CmdArgs {
    /// Arguments of a wrapped command.
    pub(crate) const fn new(in_mod: u32, op_mod: u8, timeout: Timeout) -> Self {
        Self {
            in_mod,
            op_mod,
            timeout,
            dispatch: Dispatch::Wrapped,
        }
    }

    /// The same arguments, dispatched natively.
    pub(crate) const fn native(self) -> Self {
        Self {
            dispatch: Dispatch::Native,
            ..self
        }
    }
}

/// The input of a command.
#[derive(Clone, Copy)]
pub(crate) enum Input<'a> {
    /// No input (`in_param` 0).
    None,
    /// An immediate value.
    Imm(u64),
    /// A mailbox the device reads.
    Mailbox(&'a Mailbox),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    None,
    Imm,
    Mailbox,
}

/// The commands the safe functions issue: their mailboxes are plain data (no bus addresses)
/// and their effects stay within port and steering configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Opcode {
    /// `MAD_IFC`: a MAD to the HCA's agents; input and output mailboxes.
    MadIfc,
    /// `QUERY_PORT`: output mailbox.
    QueryPort,
    /// `SET_PORT`: input mailbox.
    SetPort,
    /// `SET_NODE`: the node description; input mailbox.
    SetNode,
    /// `QUERY_QP`: a QP's context; output mailbox.
    QueryQp,
    /// `QP_FLOW_STEERING_ATTACH`: input mailbox (the rule), immediate output (its id).
    FlowSteeringAttach,
    /// `QP_FLOW_STEERING_DETACH`: immediate input (the rule id).
    FlowSteeringDetach,
}

impl Opcode {
    /// Returns the opcode, input kind and output kind.
    fn desc(self) -> (u32, Kind, Kind) {
        match self {
            Self::MadIfc => (raw::MLX4_CMD_MAD_IFC, Kind::Mailbox, Kind::Mailbox),
            Self::QueryPort => (raw::MLX4_CMD_QUERY_PORT, Kind::None, Kind::Mailbox),
            Self::SetPort => (raw::MLX4_CMD_SET_PORT, Kind::Mailbox, Kind::None),
            Self::SetNode => (raw::MLX4_CMD_SET_NODE, Kind::Mailbox, Kind::None),
            Self::QueryQp => (raw::MLX4_CMD_QUERY_QP, Kind::None, Kind::Mailbox),
            Self::FlowSteeringAttach => {
                (raw::MLX4_QP_FLOW_STEERING_ATTACH, Kind::Mailbox, Kind::Imm)
            }
            Self::FlowSteeringDetach => (raw::MLX4_QP_FLOW_STEERING_DETACH, Kind::Imm, Kind::None),
        }
    }
}

/// The output of a command issued by [`Dev::cmd_raw`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum RawOut {
    /// No output.
    None,
    /// The device writes a mailbox at this bus address.
    Mailbox(u64),
    /// An immediate value, returned.
    Imm,
}

impl Dev {
    /// Issues a command (`__mlx4_cmd`) and returns its immediate output (0 if it has none).
    ///
    /// # Safety
    ///
    /// The command must not make the device access memory other than what the caller provides
    /// for it (`in_param` and `out`, when the opcode takes addresses), which must be mapped for
    /// this device and stay valid and otherwise unused until the command completes. It must
    /// not change any HCA object that memory safety elsewhere relies on (another user's QP,
    /// CQ, SRQ, EQ, MPT or MTT, or the HCA's own set-up).
    pub(crate) unsafe fn cmd_raw(
        &self,
        op: u16,
        in_param: u64,
        out: RawOut,
        args: CmdArgs,
    ) -> Result<u64> {
        let (mut out_param, out_is_imm) = match out {
            RawOut::None => (0, 0),
            RawOut::Mailbox(dma) => (dma, 0),
            RawOut::Imm => (0, 1),
        };
        let out_ptr = match out {
            RawOut::None => core::ptr::null_mut(),
            _ => &raw mut out_param,
        };
        let native = c_int::from(args.dispatch == Dispatch::Native);
        // SAFETY: The device is bound; `out_ptr` is null or points to a local; the command's
        // effects are the caller's responsibility.
        to_result(unsafe {
            raw::__mlx4_cmd(
                self.as_raw(),
                in_param,
                out_ptr,
                out_is_imm,
                args.in_mod,
                args.op_mod,
                op,
                args.timeout.ms(),
                native,
            )
        })?;
        Ok(if out_is_imm != 0 { out_param } else { 0 })
    }

    /// Issues `op` with `input` and `output` after checking they are what it takes.
    fn cmd_checked(
        &self,
        op: Opcode,
        input: Input<'_>,
        output: (Kind, u64),
        args: CmdArgs,
    ) -> Result<u64> {
        let (code, in_kind, out_kind) = op.desc();
        let (kind, in_param) = match input {
            Input::None => (Kind::None, 0),
            Input::Imm(v) => (Kind::Imm, v),
            Input::Mailbox(mb) if mb.is_of(self) => (Kind::Mailbox, mb.dma()),
            Input::Mailbox(_) => return Err(EINVAL),
        };
        if kind != in_kind || output.0 != out_kind {
            return Err(EINVAL);
        }
        let out = match out_kind {
            Kind::None => RawOut::None,
            Kind::Imm => RawOut::Imm,
            Kind::Mailbox => RawOut::Mailbox(output.1),
        };
        let code = u16::try_from(code).map_err(|_| EINVAL)?;
        // SAFETY: `op` is one of the commands whose parameters `desc` gives: the only memory
        // the device accesses is the input mailbox (borrowed for the call) and the output
        // mailbox (borrowed mutably by the caller), both allocated for this device; their
        // effects are limited to port, node and steering configuration and reading state.
        unsafe { self.cmd_raw(code, in_param, out, args) }
    }

    /// Issues a command without output (`mlx4_cmd`).
    pub(crate) fn cmd(&self, op: Opcode, input: Input<'_>, args: CmdArgs) -> Result {
        self.cmd_checked(op, input, (Kind::None, 0), args)
            .map(|_| ())
    }

    /// Issues a command whose output the device writes to `out` (`mlx4_cmd_box`).
    pub(crate) fn cmd_box(
        &self,
        op: Opcode,
        input: Input<'_>,
        out: &mut Mailbox,
        args: CmdArgs,
    ) -> Result {
        if !out.is_of(self) {
            return Err(EINVAL);
        }
        self.cmd_checked(op, input, (Kind::Mailbox, out.dma()), args)
            .map(|_| ())
    }

    /// Issues a command with an immediate output, which it returns (`mlx4_cmd_imm`).
    pub(crate) fn cmd_imm(&self, op: Opcode, input: Input<'_>, args: CmdArgs) -> Result<u64> {
        self.cmd_checked(op, input, (Kind::Imm, 0), args)
    }

    fn check_port(&self, port: u32) -> Result<c_int> {
        let num_ports = u32::try_from(self.raw_caps().num_ports).unwrap_or(0);
        if !(1..=num_ports).contains(&port) {
            return Err(EINVAL);
        }
        c_int::try_from(port).map_err(|_| EINVAL)
    }

    /// Brings `port` up (`mlx4_INIT_PORT`): mlx4_ib does it when QP0 goes to RTR.
    pub(crate) fn init_port(&self, port: u32) -> Result {
        let port = self.check_port(port)?;
        // SAFETY: The device is bound and `port` one of its ports (the old-firmware path reads
        // per-port caps with it).
        to_result(unsafe { raw::mlx4_INIT_PORT(self.as_raw(), port) })
    }

    /// Takes `port` down (`mlx4_CLOSE_PORT`): mlx4_ib does it when QP0 goes to RESET or ERROR.
    pub(crate) fn close_port(&self, port: u32) -> Result {
        let port = self.check_port(port)?;
        // SAFETY: The device is bound and `port` one of its ports.
        to_result(unsafe { raw::mlx4_CLOSE_PORT(self.as_raw(), port) })
    }

    /// Sets the IB capability mask of `port`, resetting its Q_Key violation counter if asked
    /// (`SET_PORT` with `MLX4_SET_PORT_IB_OPCODE`, as mlx4_ib's `mlx4_ib_SET_PORT`).
    pub(crate) fn set_port_cap_mask(
        &self,
        port: u32,
        reset_qkey_viols: bool,
        cap_mask: u32,
    ) -> Result {
        self.check_port(port)?;
        let mut mb = Mailbox::new(self)?;
        let b = mb.as_mut_slice();
        let reset = u8::from(reset_qkey_viols);
        if self.flags().old_port_cmds() {
            b[0] = reset << 6;
            b[8..12].copy_from_slice(&cap_mask.to_be_bytes());
        } else {
            b[3] = reset;
            b[4..8].copy_from_slice(&cap_mask.to_be_bytes());
        }
        let op_mod = u8::try_from(raw::MLX4_SET_PORT_IB_OPCODE).map_err(|_| EINVAL)?;
        let args = CmdArgs::new(port, op_mod, Timeout::ClassB);
        self.cmd(Opcode::SetPort, Input::Mailbox(&mb), args)
    }
}

impl Dev {
    /// Gives the firmware the node description (`SET_NODE`), so it can send trap 144
    /// (`mlx4_ib_modify_device`).
    pub(crate) fn set_node(&self, desc: &[u8; 64]) -> Result {
        let mut mb = Mailbox::new(self)?;
        mb.as_mut_slice()[..64].copy_from_slice(desc);
        let args = CmdArgs::new(1, 0, Timeout::ClassA);
        self.cmd(Opcode::SetNode, Input::Mailbox(&mb), args)
    }
}

/// How `MAD_IFC` treats a MAD's keys (mlx4_ib's `MLX4_MAD_IFC_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MadIfcFlags(u32);

impl MadIfcFlags {
    /// No flags.
    pub(crate) const NONE: Self = Self(0);
    /// `MLX4_MAD_IFC_IGNORE_MKEY`.
    pub(crate) const IGNORE_MKEY: Self = Self(1);
    /// `MLX4_MAD_IFC_IGNORE_BKEY`.
    pub(crate) const IGNORE_BKEY: Self = Self(2);
    /// `MLX4_MAD_IFC_IGNORE_KEYS`.
    pub(crate) const IGNORE_KEYS: Self = Self(3);
    /// `MLX4_MAD_IFC_NET_VIEW`: the network view of a multi-function device.
    pub(crate) const NET_VIEW: Self = Self(4);

    fn has(self, f: Self) -> bool {
        self.0 & f.0 != 0
    }
}

impl core::ops::BitOr for MadIfcFlags {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// The completion a MAD arrived with, from which `MAD_IFC` builds its extended input (what
/// mlx4_ib's `mlx4_MAD_IFC` takes from the `ib_wc`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MadWc {
    /// The QP that received it (`wc->qp->qp_num`).
    pub(crate) qp_num: u32,
    /// `wc->src_qp`.
    pub(crate) src_qp: u32,
    /// `wc->sl`.
    pub(crate) sl: u8,
    /// `wc->dlid_path_bits`.
    pub(crate) dlid_path_bits: u8,
    /// Whether it came with a GRH (`IB_WC_GRH` in `wc->wc_flags`).
    pub(crate) has_grh: bool,
    /// `wc->pkey_index`.
    pub(crate) pkey_index: u16,
    /// `wc->slid`, host order.
    pub(crate) slid: u16,
}

/// Offset of the extended input in a `MAD_IFC` mailbox.
const MAD_EXT: usize = MAD_SIZE;
/// The length of a GRH.
const GRH_SIZE: usize = 40;

impl Dev {
    /// Hands `in_mad` to the HCA's agent of `port` and copies the response to `out_mad`
    /// (`MAD_IFC`, as mlx4_ib's `mlx4_MAD_IFC`; may sleep).
    ///
    /// Without `in_wc` the keys are not checked (the HCA cannot trap without a source to send
    /// the trap to). With it, the extended input carries the receiving and source QP, SL, path
    /// bits, P_Key index, source LID and, if given, `in_grh` (the GRH the MAD came with).
    pub(crate) fn mad_ifc(
        &self,
        port: u32,
        flags: MadIfcFlags,
        in_wc: Option<&MadWc>,
        in_grh: Option<&[u8; GRH_SIZE]>,
        in_mad: &[u8; MAD_SIZE],
        out_mad: &mut [u8; MAD_SIZE],
    ) -> Result {
        self.check_port(port)?;
        let mut in_mod = port;
        let mut inbox = Mailbox::new(self)?;
        let mut outbox = Mailbox::new(self)?;
        let devf = self.flags();
        let b = inbox.as_mut_slice();
        b[..MAD_SIZE].copy_from_slice(in_mad);

        let mut op_mod = 0u8;
        if flags.has(MadIfcFlags::IGNORE_MKEY) || in_wc.is_none() {
            op_mod |= 0x1;
        }
        if flags.has(MadIfcFlags::IGNORE_BKEY) || in_wc.is_none() {
            op_mod |= 0x2;
        }
        if devf.is_mfunc() && (flags.has(MadIfcFlags::NET_VIEW) || in_wc.is_some()) {
            op_mod |= 0x8;
        }
        if let Some(wc) = in_wc {
            // The extended input (`ext_info` in mad.c): my_qpn @0, rqpn @8, sl @12,
            // g_path @13, pkey @18, grh @64; the rest reserved (the mailbox is zeroed).
            let e = &mut b[MAD_EXT..MAD_EXT + MAD_SIZE];
            e[0..4].copy_from_slice(&wc.qp_num.to_be_bytes());
            e[8..12].copy_from_slice(&wc.src_qp.to_be_bytes());
            e[12] = wc.sl << 4;
            e[13] = wc.dlid_path_bits | if wc.has_grh { 0x80 } else { 0 };
            e[18..20].copy_from_slice(&wc.pkey_index.to_be_bytes());
            if let Some(grh) = in_grh {
                e[64..64 + GRH_SIZE].copy_from_slice(grh);
            }
            op_mod |= 0x4;
            in_mod |= u32::from(wc.slid) << 16;
        }

        let native = op_mod & 0x8 != 0;
        if devf.is_master() {
            op_mod &= !0x8;
        }
        let mut args = CmdArgs::new(in_mod, op_mod, Timeout::ClassC);
        if native {
            args = args.native();
        }
        self.cmd_box(Opcode::MadIfc, Input::Mailbox(&inbox), &mut outbox, args)?;
        out_mad.copy_from_slice(&outbox.as_slice()[..MAD_SIZE]);
        Ok(())
    }
}
