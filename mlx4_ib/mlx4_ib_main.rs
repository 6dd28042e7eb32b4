// SPDX-License-Identifier: GPL-2.0

//! Mellanox ConnectX-3 (mlx4) RDMA driver: module `mlx4_ib`.
//!
//! Binds the `mlx4_core.ib.N` auxiliary devices that the C mlx4_core creates for each HCA, as
//! the C mlx4_ib does (same driver name, id table and module alias, so `modprobe` and udev pick
//! it the same way), and registers an RDMA device `mlx4_N` for each HCA whose ports are all
//! InfiniBand, with the verbs of kernel consumers (ib_mad, ib_cm, IPoIB). Userspace verbs, SRQs
//! and RoCE ports are not supported yet; an HCA with an Ethernet port is declined (`ENODEV`).

// Only the abstractions in rust-bindings/ may hold unsafe_code; the driver holds none.
#![deny(unsafe_code)]

#[path = "../rust-bindings/lib.rs"]
#[allow(unsafe_code)]
mod rust_bindings;

mod ah;
mod cq;
mod device;
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

use device::Mlx4Ib;
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;
use rust_bindings::auxiliary;
use rust_bindings::mlx4::{self, AuxDevice, EventNotifier, PortType};
use rust_bindings::params::c_int_param;
use rust_bindings::rdma::provider::{DeviceConfig, Registration};

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
    _driver: mlx4::Registration<Mlx4IbDriver>,
}

impl kernel::Module for Mlx4IbModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _driver: mlx4::Registration::new()?,
        })
    }
}

/// A bound HCA. The event notifier goes first: no event may be reported once the device is
/// being unregistered.
struct Bound {
    _events: EventNotifier<events::Events>,
    _reg: Registration<Mlx4Ib>,
}

/// The `mlx4_core.ib` driver.
struct Mlx4IbDriver;

/// The uverbs ABI of the C driver: 4 with the userspace capabilities (64-byte CQEs), else 3.
fn uverbs_abi(caps: &mlx4::Caps) -> u32 {
    if caps.userspace_caps != 0 {
        4
    } else {
        3
    }
}

impl mlx4::Driver for Mlx4IbDriver {
    const NAME: &'static CStr = c_str!("ib");
    const ID: auxiliary::DeviceId = auxiliary::DeviceId::new("mlx4_core.ib");
    const PROTOCOL: mlx4::Protocol = mlx4::Protocol::IbIpv6;
    const BONDING: bool = true;

    type Data = KBox<Bound>;

    fn probe(adev: &AuxDevice) -> Result<KBox<Bound>> {
        let mdev = adev.mlx4_dev();
        let caps = mdev.caps();
        let name = adev.as_aux().name();
        for port in 1..=caps.num_ports {
            if caps.port_type(port) != PortType::Ib {
                pr_info!(
                    "{}: port {} is not InfiniBand; RoCE is not supported yet\n",
                    name,
                    port
                );
                return Err(ENODEV);
            }
        }
        if caps.dev_flags.is_mfunc() {
            pr_info!("{}: SR-IOV functions are not supported\n", name);
            return Err(ENODEV);
        }
        // The node description and GUID, as `init_node_data` reads them.
        let mut out = [0u8; 256];
        mdev.mad_ifc(
            1,
            mlx4::MadIfcFlags::IGNORE_KEYS,
            None,
            None,
            &hw::smp::query_node_desc(),
            &mut out,
        )?;
        let node_desc = hw::smp::node_desc(hw::smp::data(&out));
        mdev.mad_ifc(
            1,
            mlx4::MadIfcFlags::IGNORE_KEYS,
            None,
            None,
            &hw::smp::query_node_info(),
            &mut out,
        )?;
        let ni = hw::smp::NodeInfo::parse(hw::smp::data(&out));
        let cfg = DeviceConfig {
            name: c_str!("mlx4_%d"),
            phys_port_cnt: caps.num_ports,
            num_comp_vectors: caps.num_comp_vectors.max(1),
            local_dma_lkey: caps.has_reserved_lkey().then_some(caps.reserved_lkey),
            node_guid: ni.node_guid.to_be_bytes(),
            node_desc,
            uverbs_abi_ver: uverbs_abi(&caps),
            parent: core::ptr::NonNull::new(mdev.dma_device()).ok_or(ENODEV)?,
        };
        let reg = Registration::new(&THIS_MODULE, &cfg, Mlx4Ib::new(mdev, ni.revision)?)?;
        let ctx = Arc::new(events::Events::new(reg.handle()), GFP_KERNEL)?;
        let ev = EventNotifier::new(mdev, ctx)?;
        pr_info!(
            "{}: {} registered, firmware {}.{}.{}, sm_guid_assign={}\n",
            name,
            reg.device().name(),
            caps.fw_version().0,
            caps.fw_version().1,
            caps.fw_version().2,
            sm_guid_assign::get()
        );
        Ok(KBox::new(
            Bound {
                _events: ev,
                _reg: reg,
            },
            GFP_KERNEL,
        )?)
    }

    fn remove(adev: &AuxDevice, data: KBox<Bound>) {
        drop(data);
        pr_info!("{}: unbound\n", adev.as_aux().name());
    }
}
