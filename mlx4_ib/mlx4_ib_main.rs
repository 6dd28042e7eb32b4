// SPDX-License-Identifier: GPL-2.0

//! Mellanox ConnectX-3 (mlx4) RDMA driver: module `mlx4_ib`.
//!
//! Binds the `mlx4_core.ib.N` auxiliary devices that the C mlx4_core creates for each HCA, as
//! the C mlx4_ib does (same driver name, id table and module alias, so `modprobe` and udev pick
//! it the same way), and registers an RDMA device `mlx4_N` for each HCA whose ports are all
//! InfiniBand, with the verbs of kernel consumers (ib_mad, ib_cm, IPoIB). Userspace verbs and
//! RoCE ports are not supported yet; an HCA with an Ethernet port is declined (`ENODEV`).

// Only the abstractions in rust-bindings/ may hold unsafe_code; the driver holds none.
#![deny(unsafe_code)]

#[path = "../rust-bindings/lib.rs"]
#[allow(unsafe_code)]
mod rust_bindings;

mod ah;
mod cq;
mod device;
mod driver;
mod events;
// The formats are shared with the software ConnectX-3, which reads what this driver writes:
// each side uses a part of them.
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
    type: Mlx4IbModule,
    name: "mlx4_ib",
    author: "ipoib-rs developers",
    description: "Mellanox ConnectX HCA InfiniBand driver",
    license: "GPL",
    alias: ["auxiliary:mlx4_core.ib"],
}

c_int_param!(
    /// `sm_guid_assign`: let the SM assign alias GUIDs when positive (SR-IOV).
    sm_guid_assign => mlx4_ib_rs_sm_guid_assign
);

/// The name of the auxiliary driver: `mlx4_core.ib`, as the C driver's.
const AUX_DRIVER_NAME: &CStr = c_str!("ib");

/// The module: dropping it unregisters the driver, unbinding every device.
struct Mlx4IbModule {
    _driver: mlx4::Registration<driver::Mlx4IbDriver>,
}

impl kernel::Module for Mlx4IbModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _driver: mlx4::Registration::new()?,
        })
    }
}
