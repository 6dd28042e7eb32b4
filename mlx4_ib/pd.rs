// SPDX-License-Identifier: GPL-2.0

//! Protection domains (C: `mlx4_ib_alloc_pd`, `mlx4_ib_dealloc_pd` in main.c).

use crate::device::Mlx4Ib;
use crate::rust_bindings::mlx4;
use crate::rust_bindings::rdma::provider::{Dev, PdOps, Sleepable, User};
use kernel::prelude::*;

/// A PD: a protection domain number of the HCA.
pub(crate) struct Mlx4Pd {
    pd: mlx4::Pd,
}

impl Mlx4Pd {
    /// The PD of mlx4_core.
    pub(crate) fn raw_pd(&self) -> &mlx4::Pd {
        &self.pd
    }

    /// The protection domain number.
    pub(crate) fn pdn(&self) -> u32 {
        self.pd.pdn()
    }
}

impl PdOps<Mlx4Ib> for Mlx4Pd {
    fn alloc<'a>(
        dev: &'a Dev<Mlx4Ib>,
        user: Option<&'a User<'a, Mlx4Ib>>,
        cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a> {
        let pd = mlx4::Pd::new(dev.mdev())?;
        if let Some(u) = user {
            // The PD number only (`sizeof(__u32)`), as C.
            u.udata.respond(&pd.pdn(), cx)?;
        }
        Ok(Self { pd })
    }
}
