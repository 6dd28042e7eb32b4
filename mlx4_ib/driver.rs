// SPDX-License-Identifier: GPL-2.0

//! The `mlx4_core.ib` auxiliary driver: binding an HCA registers its RDMA device
//! (C: `mlx4_ib_probe`, `mlx4_ib_remove` in main.c).

use crate::device::Mlx4Ib;
use crate::events;
use crate::hw;
use crate::rust_bindings::auxiliary;
use crate::rust_bindings::mlx4::{self, AuxDevice, EventNotifier, PortType};
use crate::rust_bindings::rdma::provider::{DeviceConfig, Registration};
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;

/// A bound HCA. The event notifier goes first: no event may be reported once the device is
/// being unregistered.
pub(crate) struct Bound {
    _events: EventNotifier<events::Events>,
    _reg: mlx4::IbRegistration<Mlx4Ib>,
}

/// The `mlx4_core.ib` driver.
pub(crate) struct Mlx4IbDriver;

/// The uverbs ABI of the C driver: 4 with the userspace capabilities (64-byte CQEs), else 3.
pub(crate) fn uverbs_abi(caps: &mlx4::Caps) -> u32 {
    if caps.userspace_caps != 0 {
        crate::hw::abi::ABI_VERSION
    } else {
        crate::hw::abi::NO_DEV_CAPS_ABI_VERSION
    }
}

impl mlx4::Driver for Mlx4IbDriver {
    const NAME: &'static CStr = crate::AUX_DRIVER_NAME;
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
        let reg = Registration::new(&crate::THIS_MODULE, &cfg, Mlx4Ib::new(mdev, ni.revision)?)?;
        // The ports are the device's in devlink once it is active (`mlx4_ib_probe`).
        let reg = mlx4::IbRegistration::new(mdev, reg);
        let ctx = Arc::new(events::Events::new(reg.handle()), GFP_KERNEL)?;
        let ev = EventNotifier::new(mdev, ctx)?;
        pr_info!(
            "{}: {} registered, firmware {}.{}.{}, sm_guid_assign={}\n",
            name,
            reg.device().name(),
            caps.fw_version().0,
            caps.fw_version().1,
            caps.fw_version().2,
            crate::sm_guid_assign::get()
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
