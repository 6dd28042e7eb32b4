// SPDX-License-Identifier: GPL-2.0

//! QP numbers (`mlx4_qp_reserve_range`) and QP state transitions (`mlx4_qp_modify`).
//!
//! C header: [`include/linux/mlx4/qp.h`](srctree/include/linux/mlx4/qp.h).
//!
//! The QP object itself (`struct mlx4_qp`, embedded in the driver's QP and registered with
//! `mlx4_qp_alloc`) belongs to the QP abstraction; the transitions here take a pointer to it,
//! and are unsafe because they hand the HCA the QP's memory.

use super::{Dev, Mtt};
use crate::rust_bindings::raw;
use core::mem::{offset_of, size_of};
use core::ptr::NonNull;
use kernel::error::{to_result, Result};
use kernel::ffi::c_int;
use kernel::prelude::*;

/// The size of a QP context (`struct mlx4_qp_context`).
pub(crate) const QP_CONTEXT_SIZE: usize = 248;

// The layout the context bytes are written in (research/mlx4_ib.md §3.8). The fields of the
// C struct add up to exactly 248 bytes, so with this size it has no padding and every byte of
// it is a byte of some field.
kernel::static_assert!(size_of::<raw::mlx4_qp_context>() == QP_CONTEXT_SIZE);
kernel::static_assert!(size_of::<raw::mlx4_qp_path>() == 44);
kernel::static_assert!(offset_of!(raw::mlx4_qp_context, pri_path) == 0x18);
kernel::static_assert!(offset_of!(raw::mlx4_qp_context, alt_path) == 0x44);
kernel::static_assert!(offset_of!(raw::mlx4_qp_context, params1) == 0x70);
kernel::static_assert!(offset_of!(raw::mlx4_qp_context, db_rec_addr) == 0xa0);
kernel::static_assert!(offset_of!(raw::mlx4_qp_context, qkey) == 0xa8);
kernel::static_assert!(offset_of!(raw::mlx4_qp_context, mtt_base_addr_l) == 0xcc);

/// `MLX4_RESERVE_A0_QP`: a range whose QPs may use A0 (RSS) steering.
pub(crate) const RESERVE_A0_QP: u8 = raw::MLX4_RESERVE_A0_QP as u8;
/// `MLX4_RESERVE_ETH_BF_QP`: a range for Ethernet BlueFlame QPs.
pub(crate) const RESERVE_ETH_BF_QP: u8 = raw::MLX4_RESERVE_ETH_BF_QP as u8;

kernel::static_assert!(raw::MLX4_RESERVE_A0_QP <= 0xff && raw::MLX4_RESERVE_ETH_BF_QP <= 0xff);

/// Who a QP range is for (`enum mlx4_resource_usage`), as resource accounting reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QpUsage {
    /// `MLX4_RES_USAGE_DRIVER`: kernel QPs.
    Driver,
    /// `MLX4_RES_USAGE_USER_VERBS`: QPs of user contexts.
    UserVerbs,
}

/// A range of reserved QP numbers, released on drop.
///
/// # Invariants
///
/// `base..base + count` was reserved by `mlx4_qp_reserve_range(dev, count, ..)` and is owned.
/// `dev` follows the resource lifetime rule of the module documentation.
pub(crate) struct QpRange {
    dev: NonNull<raw::mlx4_dev>,
    base: u32,
    count: u32,
}

// SAFETY: The range can be released from any thread (mlx4_core's bitmap has its own lock).
unsafe impl Send for QpRange {}
// SAFETY: `&QpRange` only reads copies of fields.
unsafe impl Sync for QpRange {}

impl QpRange {
    /// Reserves `count` consecutive QP numbers, the first a multiple of `align` (a power of
    /// two); `flags` are `RESERVE_*` bits, which mlx4_core ignores where unsupported.
    pub(crate) fn reserve(
        dev: &Dev,
        count: u32,
        align: u32,
        flags: u8,
        usage: QpUsage,
    ) -> Result<Self> {
        if count == 0 || !align.is_power_of_two() {
            return Err(EINVAL);
        }
        let cnt = c_int::try_from(count).map_err(|_| EINVAL)?;
        let align = c_int::try_from(align).map_err(|_| EINVAL)?;
        let usage = match usage {
            QpUsage::Driver => raw::mlx4_resource_usage_MLX4_RES_USAGE_DRIVER,
            QpUsage::UserVerbs => raw::mlx4_resource_usage_MLX4_RES_USAGE_USER_VERBS,
        };
        let usage = u8::try_from(usage).map_err(|_| EINVAL)?;
        let mut base: c_int = 0;
        // SAFETY: `dev` is a bound device; `base` is a valid out pointer.
        to_result(unsafe {
            raw::mlx4_qp_reserve_range(dev.as_raw(), cnt, align, &mut base, flags, usage)
        })?;
        let Ok(base) = u32::try_from(base) else {
            // SAFETY: Reserved just above.
            unsafe { raw::mlx4_qp_release_range(dev.as_raw(), base, cnt) };
            return Err(EINVAL);
        };
        // INVARIANT: The range was just reserved on `dev`.
        Ok(Self {
            dev: dev.as_non_null(),
            base,
            count,
        })
    }

    /// Returns the first QP number.
    pub(crate) fn base(&self) -> u32 {
        self.base
    }

    /// Returns the number of QP numbers.
    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    /// Returns whether `qpn` is in the range.
    pub(crate) fn contains(&self, qpn: u32) -> bool {
        qpn.checked_sub(self.base).is_some_and(|i| i < self.count)
    }
}

impl Drop for QpRange {
    fn drop(&mut self) {
        // Both fit a `c_int`: they came from one.
        let (base, cnt) = (self.base as c_int, self.count as c_int);
        // SAFETY: The range was reserved on `dev` (type invariant), which is still bound.
        unsafe { raw::mlx4_qp_release_range(self.dev.as_ptr(), base, cnt) };
    }
}

/// A QP state (`enum mlx4_qp_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QpState {
    /// `MLX4_QP_STATE_RST`.
    Reset,
    /// `MLX4_QP_STATE_INIT`.
    Init,
    /// `MLX4_QP_STATE_RTR`.
    Rtr,
    /// `MLX4_QP_STATE_RTS`.
    Rts,
    /// `MLX4_QP_STATE_SQER`.
    SqError,
    /// `MLX4_QP_STATE_SQD`.
    Sqd,
    /// `MLX4_QP_STATE_ERR`.
    Error,
}

impl QpState {
    fn to_raw(self) -> raw::mlx4_qp_state {
        match self {
            Self::Reset => raw::mlx4_qp_state_MLX4_QP_STATE_RST,
            Self::Init => raw::mlx4_qp_state_MLX4_QP_STATE_INIT,
            Self::Rtr => raw::mlx4_qp_state_MLX4_QP_STATE_RTR,
            Self::Rts => raw::mlx4_qp_state_MLX4_QP_STATE_RTS,
            Self::SqError => raw::mlx4_qp_state_MLX4_QP_STATE_SQER,
            Self::Sqd => raw::mlx4_qp_state_MLX4_QP_STATE_SQD,
            Self::Error => raw::mlx4_qp_state_MLX4_QP_STATE_ERR,
        }
    }

    /// Decodes the state field of a QP context (`flags >> 28`).
    pub(crate) fn from_raw(state: u32) -> Option<Self> {
        Some(match state {
            raw::mlx4_qp_state_MLX4_QP_STATE_RST => Self::Reset,
            raw::mlx4_qp_state_MLX4_QP_STATE_INIT => Self::Init,
            raw::mlx4_qp_state_MLX4_QP_STATE_RTR => Self::Rtr,
            raw::mlx4_qp_state_MLX4_QP_STATE_RTS => Self::Rts,
            raw::mlx4_qp_state_MLX4_QP_STATE_SQER => Self::SqError,
            raw::mlx4_qp_state_MLX4_QP_STATE_SQD => Self::Sqd,
            raw::mlx4_qp_state_MLX4_QP_STATE_ERR => Self::Error,
            _ => return None,
        })
    }
}

/// Moves a QP from `cur` to `new` with `context` (bytes of a `struct mlx4_qp_context`, see
/// research/mlx4_ib.md §3.8) and the optional-parameter mask `optpar` (`mlx4_qp_modify`; may
/// sleep). `sqd_event` asks for an event when the QP drains (to SQD).
///
/// mlx4_core fills in `local_qpn`, and on RESET to INIT the MTT address and page size from
/// `mtt`, which that transition requires (`EINVAL` without it). A transition the firmware does
/// not know gives `EINVAL`.
///
/// # Safety
///
/// - `qp` points to the `struct mlx4_qp` of a QP the caller owns, registered on `dev` with
///   `mlx4_qp_alloc`, valid for reads for the duration of the call (mlx4_core reads `qpn`);
///   no other transition of that QP runs concurrently, and `cur` is its current state.
/// - From a successful transition out of RESET until the QP is back in RESET or is freed, the
///   HCA may access everything the contexts given name: the queue memory through `mtt` (as
///   large as the sizes and strides in the context say), the doorbell record at
///   `db_rec_addr`, the CQs `cqn_send`/`cqn_recv`, the SRQ `srqn` and the UAR `usr_page`, and
///   the buffers of posted work requests. All of them must stay valid (allocated, mapped for
///   this HCA, the objects existing on it) for that time; `mtt`'s entries are bound by the
///   contract of [`Mtt::write`].
#[allow(clippy::too_many_arguments)] // The parameters of mlx4_qp_modify.
pub(crate) unsafe fn qp_modify(
    dev: &Dev,
    mtt: Option<&Mtt>,
    cur: QpState,
    new: QpState,
    context: &[u8; QP_CONTEXT_SIZE],
    optpar: u32,
    sqd_event: bool,
    qp: *mut raw::mlx4_qp,
) -> Result {
    if cur == QpState::Reset && new == QpState::Init && mtt.is_none() {
        return Err(EINVAL);
    }
    let mut ctx = raw::mlx4_qp_context::default();
    // SAFETY: `ctx` is `QP_CONTEXT_SIZE` bytes of plain data without padding (asserted above),
    // so any bytes are a valid value; the two do not overlap.
    unsafe {
        core::ptr::copy_nonoverlapping(
            context.as_ptr(),
            core::ptr::from_mut(&mut ctx).cast::<u8>(),
            QP_CONTEXT_SIZE,
        )
    };
    let mtt = mtt.map_or(core::ptr::null_mut(), Mtt::as_raw);
    // SAFETY: `dev` is bound; `mtt` is null (only allowed off the RESET to INIT transition,
    // the only one that reads it) or an MTT of ours that mlx4_core only reads; `ctx` is a
    // local it may edit; `qp` and what the HCA may access afterwards are the caller's
    // contract.
    to_result(unsafe {
        raw::mlx4_qp_modify(
            dev.as_raw(),
            mtt,
            cur.to_raw(),
            new.to_raw(),
            &mut ctx,
            optpar,
            c_int::from(sqd_event),
            qp,
        )
    })
}

/// Returns the context of a QP as the firmware has it (`mlx4_qp_query`; may sleep).
///
/// # Safety
///
/// `qp` points to the `struct mlx4_qp` of a QP registered on `dev` with `mlx4_qp_alloc`,
/// valid for reads for the duration of the call (mlx4_core reads `qpn`).
pub(crate) unsafe fn qp_query(dev: &Dev, qp: *mut raw::mlx4_qp) -> Result<[u8; QP_CONTEXT_SIZE]> {
    let mut ctx = raw::mlx4_qp_context::default();
    // SAFETY: `dev` is bound; `ctx` is a local mlx4_core writes; `qp` is the caller's contract.
    to_result(unsafe { raw::mlx4_qp_query(dev.as_raw(), qp, &mut ctx) })?;
    let mut out = [0u8; QP_CONTEXT_SIZE];
    // SAFETY: `ctx` is `QP_CONTEXT_SIZE` initialised bytes without padding (asserted above).
    unsafe {
        core::ptr::copy_nonoverlapping(
            core::ptr::from_ref(&ctx).cast::<u8>(),
            out.as_mut_ptr(),
            QP_CONTEXT_SIZE,
        )
    };
    Ok(out)
}
