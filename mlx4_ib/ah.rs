// SPDX-License-Identifier: GPL-2.0

//! Address handles (C: drivers/infiniband/hw/mlx4/ah.c, InfiniBand addresses).

use crate::device::Mlx4Ib;
use crate::hw::av::{Av, Grh};
use crate::hw::qpc::rate_to_hw;
use crate::rust_bindings::rdma::provider::{Ah, AhAttr, AhOps, Atomic, GlobalRoute, Pd};
use kernel::prelude::*;

/// An AH: the address vector the datagram segment of a send copies.
pub(crate) struct Mlx4Ah {
    pub(crate) av: Av,
    /// What `query_ah` reports.
    attr: AhAttr,
}

impl AhOps<Mlx4Ib> for Mlx4Ah {
    fn create<'a>(
        pd: &'a Pd<Mlx4Ib>,
        attr: &'a AhAttr,
        _cx: &'a Atomic<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a> {
        // RoCE addresses need the Ethernet AV; only InfiniBand ports are bound.
        if attr.not_ib {
            return Err(EINVAL);
        }
        let dev = pd.device();
        let av = Av {
            port: attr.port as u8,
            pd: pd.pdn(),
            loopback: false,
            src_path_bits: attr.src_path_bits,
            dlid: attr.dlid,
            grh: attr.grh.map(|g| Grh {
                gid_index: g.sgid_index,
                hop_limit: g.hop_limit,
                tclass: g.traffic_class,
                flow_label: g.flow_label,
                dgid: g.dgid,
            }),
            stat_rate: rate_to_hw(attr.static_rate, dev.caps.stat_rate_support),
            sl: attr.sl,
        };
        Ok(Self { av, attr: *attr })
    }

    fn query(ah: &Ah<Mlx4Ib>, out: &mut AhAttr, _cx: &Atomic<'_>) -> Result {
        *out = ah.attr;
        out.grh = ah.attr.grh.map(|g| GlobalRoute { ..g });
        Ok(())
    }
}
