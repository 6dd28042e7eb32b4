// SPDX-License-Identifier: GPL-2.0

//! Modifying a QP (C: `__mlx4_ib_modify_qp`): the QP context comes from `hw/qpc.rs`, the
//! side effects (send ring ownership, QP0's port, CQ cleaning at RESET) are done here.

use super::{hw_err, mlx4_state, Mlx4Qp, ModState};
use crate::device::Mlx4Ib;
use crate::hw::qp_state::IbQpState;
use crate::hw::{qpc, QpType as HwQpType};
use crate::rust_bindings::rdma::provider::Qp;
use kernel::prelude::*;

impl Mlx4Qp {
    pub(super) fn modify_locked(
        qp: &Qp<Mlx4Ib>,
        st: &mut ModState,
        attr: &qpc::QpAttrs,
        mask: u32,
    ) -> Result {
        let dev = qp.device();
        let (cur, new) = qpc::states(st.state, mask, attr);
        let m = qpc::ModifyQp {
            caps: dev.qpc_caps(),
            qp: st.info,
            cur,
            new,
            mask,
            attr: *attr,
        };
        if !qpc::check(&m).map_err(hw_err)? {
            // RESET to RESET: nothing to tell the hardware.
            return Ok(());
        }
        let mut ctx = [0u8; qpc::QPC_SIZE];
        let optpar = qpc::build(&m, &mut ctx).map_err(hw_err)?;
        if cur == IbQpState::Reset && new == IbQpState::Init {
            qp.q.init_send_ring();
        }
        qp.hw.modify(
            Some(qp.q.mem.mtt()),
            mlx4_state(cur)?,
            mlx4_state(new)?,
            &ctx,
            optpar,
            qpc::sqd_event(&m),
        )?;
        st.info = qpc::after(&m);
        st.state = new;
        if qp.q.special {
            qp.q.sq.lock().sqp.store(attr, mask);
        }
        if qp.q.kind == HwQpType::Smi {
            let port = qp.q.port;
            if cur != IbQpState::Rtr && new == IbQpState::Rtr {
                if let Err(e) = dev.mdev().init_port(port) {
                    pr_warn!("INIT_PORT failed for port {}: {:?}\n", port, e);
                }
            }
            if cur != IbQpState::Reset
                && cur != IbQpState::Err
                && (new == IbQpState::Reset || new == IbQpState::Err)
            {
                let _ = dev.mdev().close_port(port);
            }
        }
        if new == IbQpState::Reset {
            super::clean_cqs(qp);
            qp.q.reset();
        }
        Ok(())
    }
}
