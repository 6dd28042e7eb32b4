// SPDX-License-Identifier: GPL-2.0

//! Multicast group membership of QPs on InfiniBand ports (`mlx4_multicast_attach`/`_detach`).
//!
//! C header: [`include/linux/mlx4/device.h`](srctree/include/linux/mlx4/device.h).
//!
//! mlx4_core reads nothing but `qpn` from the `struct mlx4_qp` it is given (B0 steering: the
//! MGM entry; device-managed steering: the rule's destination), so a zeroed one carrying the
//! number stands in for the caller's QP. Steering packets to a QP only fills receive buffers
//! its owner posted, so attaching any QP number is safe.

use super::Dev;
use crate::rust_bindings::raw;
use kernel::error::{to_result, Result};
use kernel::ffi::c_int;
use kernel::prelude::*;

/// A `struct mlx4_qp` standing for QP `qpn` (only `qpn` is read by the steering code).
fn qp_stub(qpn: u32) -> Result<raw::mlx4_qp> {
    Ok(raw::mlx4_qp {
        qpn: c_int::try_from(qpn).map_err(|_| EINVAL)?,
        ..Default::default()
    })
}

impl Dev {
    /// Attaches QP `qpn` to the multicast group `gid` on InfiniBand port `port`
    /// (`mlx4_multicast_attach` with `MLX4_PROT_IB_IPV6`, as mlx4_ib's `mlx4_ib_mcg_attach`),
    /// not looping back its own sends if `block_loopback`.
    ///
    /// Returns the steering rule id under device-managed flow steering, 0 otherwise; give it
    /// back to [`Dev::detach_mcast`]. On a bonded device mlx4_ib also attaches the other port
    /// (a second call, with its own id).
    pub(crate) fn attach_mcast(
        &self,
        port: u32,
        qpn: u32,
        gid: &[u8; 16],
        block_loopback: bool,
    ) -> Result<u64> {
        let num_ports = u32::try_from(self.raw_caps().num_ports).unwrap_or(0);
        if !(1..=num_ports).contains(&port) {
            return Err(EINVAL);
        }
        let port = u8::try_from(port).map_err(|_| EINVAL)?;
        let mut qp = qp_stub(qpn)?;
        // mlx4_core may edit the GID it is given (for Ethernet only): pass a copy.
        let mut gid = *gid;
        let mut reg_id = 0u64;
        // SAFETY: The device is bound; `qp`, `gid` and `reg_id` are valid locals, only used for
        // the call (mlx4_core copies the GID and the QP number).
        to_result(unsafe {
            raw::mlx4_multicast_attach(
                self.as_raw(),
                &mut qp,
                gid.as_mut_ptr(),
                port,
                c_int::from(block_loopback),
                raw::mlx4_protocol_MLX4_PROT_IB_IPV6,
                &mut reg_id,
            )
        })?;
        Ok(reg_id)
    }

    /// Detaches QP `qpn` from the multicast group `gid` (`mlx4_multicast_detach` with
    /// `MLX4_PROT_IB_IPV6`); `reg_id` is what [`Dev::attach_mcast`] returned.
    pub(crate) fn detach_mcast(&self, qpn: u32, gid: &[u8; 16], reg_id: u64) -> Result {
        let mut qp = qp_stub(qpn)?;
        let mut gid = *gid;
        // SAFETY: The device is bound; `qp` and `gid` are valid locals, only used for the call.
        to_result(unsafe {
            raw::mlx4_multicast_detach(
                self.as_raw(),
                &mut qp,
                gid.as_mut_ptr(),
                raw::mlx4_protocol_MLX4_PROT_IB_IPV6,
                reg_id,
            )
        })
    }
}
