// SPDX-License-Identifier: GPL-2.0

//! Mellanox ConnectX-3 (mlx4) RDMA driver: module `mlx4_ib`.
//!
//! Binds the `mlx4_core.ib.N` auxiliary devices that the C mlx4_core creates for each HCA, as
//! the C mlx4_ib does (same driver name, id table and module alias, so `modprobe` and udev pick
//! it the same way).
//!
//! Status: registration with mlx4_core only. `probe` reads the HCA's ports and declines the
//! device (`ENODEV`) because the verbs provider (`ib_device_ops`) is not written yet, so a real
//! HCA stays unbound rather than half-bound.

// Only the abstractions in rust-bindings/ may hold unsafe_code; the driver holds none.
#![deny(unsafe_code)]

#[path = "../rust-bindings/lib.rs"]
#[allow(unsafe_code)]
mod rust_bindings;

use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;
use rust_bindings::auxiliary;
use rust_bindings::mlx4::{self, AuxDevice, PortType};
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

/// The module: dropping it unregisters the driver, unbinding every device.
struct Mlx4IbModule {
    _driver: mlx4::Registration<Mlx4Ib>,
}

impl kernel::Module for Mlx4IbModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _driver: mlx4::Registration::new()?,
        })
    }
}

/// The `mlx4_core.ib` driver.
struct Mlx4Ib;

impl mlx4::Driver for Mlx4Ib {
    const NAME: &'static CStr = c_str!("ib");
    const ID: auxiliary::DeviceId = auxiliary::DeviceId::new("mlx4_core.ib");
    const PROTOCOL: mlx4::Protocol = mlx4::Protocol::IbIpv6;
    const BONDING: bool = true;

    type Data = ();

    fn probe(dev: &AuxDevice) -> Result<()> {
        let mdev = dev.mlx4_dev();
        let (major, minor, sub) = mdev.fw_version();
        let mut ib_ports = 0u32;
        for port in 1..=mdev.num_ports() {
            let kind = mdev.port_type(port);
            if kind != PortType::Other {
                ib_ports += 1;
            }
            pr_info!("{}: port {}: {:?}\n", dev.as_aux().name(), port, kind);
        }
        pr_info!(
            "{}: firmware {}.{}.{}, {} RDMA-capable port(s), sm_guid_assign={}\n",
            dev.as_aux().name(),
            major,
            minor,
            sub,
            ib_ports,
            sm_guid_assign::get()
        );
        // The C driver's answer for an HCA it cannot drive; the verbs provider is not written
        // yet, so every HCA is one.
        pr_warn!(
            "{}: verbs provider not implemented yet, not binding\n",
            dev.as_aux().name()
        );
        Err(ENODEV)
    }

    fn remove(dev: &AuxDevice, _data: ()) {
        pr_info!("{}: unbound\n", dev.as_aux().name());
    }
}
