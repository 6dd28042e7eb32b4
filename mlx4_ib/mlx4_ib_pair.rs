// SPDX-License-Identifier: GPL-2.0

//! A test build of mlx4_ib, module `mlx4_ib_pair` (never installed): the same driver under
//! another module name and auxiliary driver name (`mlx4_core.ib_pair`), so that it can be
//! loaded beside the C mlx4_ib. Bound to one HCA by hand through the auxiliary bus, it makes
//! the mixed pair of the tests: one end of the cable on each driver, so that a mistake our
//! driver makes symmetrically on both ends cannot go unseen.

#![deny(unsafe_code)]

#[path = "../rust-bindings/lib.rs"]
#[allow(unsafe_code)]
mod rust_bindings;

mod ah;
mod cq;
mod device;
mod driver;
mod events;
#[allow(dead_code)]
mod hw;
mod layout_check;
mod mad;
mod mr;
mod pd;
mod qp;
mod srq;
mod ucontext;

use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;
use rust_bindings::mlx4;
use rust_bindings::params::c_int_param;

module! {
    type: Mlx4IbPairModule,
    name: "mlx4_ib_pair",
    author: "ipoib-rs developers",
    description: "Mellanox ConnectX HCA InfiniBand driver (test build for the mixed pair)",
    license: "GPL",
}

c_int_param!(
    /// `sm_guid_assign`, as in mlx4_ib.
    sm_guid_assign => mlx4_ib_rs_sm_guid_assign
);

/// The name of the auxiliary driver: `mlx4_core.ib_pair`. Its id table is mlx4_ib's, so it
/// may be bound to any `mlx4_core.ib.N` device the C mlx4_ib does not hold.
const AUX_DRIVER_NAME: &CStr = c_str!("ib_pair");

/// The module: dropping it unregisters the driver, unbinding its devices.
struct Mlx4IbPairModule {
    _driver: mlx4::Registration<driver::Mlx4IbDriver>,
}

impl kernel::Module for Mlx4IbPairModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _driver: mlx4::Registration::new()?,
        })
    }
}
