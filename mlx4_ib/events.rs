// SPDX-License-Identifier: GPL-2.0

//! HCA events (C: `mlx4_ib_event` in main.c, `handle_port_mgmt_change_event` in mad.c): port
//! state changes, port management changes and catastrophic errors become RDMA core events.
//!
//! mlx4_core calls the notifier from its EQ interrupt; everything here is done there (the
//! core queues its handlers' work), so it must not sleep.

use crate::device::Mlx4Ib;
use crate::hw::eqe::{
    PortMgmtChange, PORT_INFO_CLIENT_REREG, PORT_INFO_GID_PFX_CHANGE, PORT_INFO_LID_CHANGE,
};
use crate::rust_bindings::mlx4::{Event, EventHandler};
use crate::rust_bindings::rdma::provider::{DevHandle, DeviceEvent};
use kernel::prelude::*;
use kernel::sync::ArcBorrow;

/// What the notifier of an HCA reports to.
pub(crate) struct Events {
    dev: DevHandle<Mlx4Ib>,
}

impl Events {
    pub(crate) fn new(dev: DevHandle<Mlx4Ib>) -> Self {
        Self { dev }
    }
}

impl EventHandler for Events {
    fn event(this: ArcBorrow<'_, Self>, ev: Event) {
        let d = &this.dev;
        match ev {
            Event::PortUp(p) => {
                d.dispatch_event(p, DeviceEvent::PortActive);
            }
            Event::PortDown(p) => {
                d.dispatch_event(p, DeviceEvent::PortErr);
            }
            Event::CatastrophicError => {
                d.dispatch_event(0, DeviceEvent::DeviceFatal);
            }
            Event::PortMgmtChange(eqe) => match PortMgmtChange::parse(&eqe) {
                PortMgmtChange::PortInfo { port, changed, .. } => {
                    let port = u32::from(port);
                    if changed & PORT_INFO_LID_CHANGE != 0 {
                        d.dispatch_event(port, DeviceEvent::LidChange);
                    }
                    if changed & PORT_INFO_GID_PFX_CHANGE != 0 {
                        d.dispatch_event(port, DeviceEvent::GidChange);
                    }
                    if changed & PORT_INFO_CLIENT_REREG != 0 {
                        d.dispatch_event(port, DeviceEvent::ClientReregister);
                    }
                }
                PortMgmtChange::PkeyTable { port } => {
                    d.dispatch_event(u32::from(port), DeviceEvent::PkeyChange);
                }
                PortMgmtChange::GuidInfo { port } => {
                    d.dispatch_event(u32::from(port), DeviceEvent::GidChange);
                }
                PortMgmtChange::SlToVl { port, table } => {
                    d.with(|dev| dev.set_sl2vl(u32::from(port), table));
                }
                PortMgmtChange::Unknown { subtype } => {
                    pr_warn!(
                        "mlx4_ib: unsupported port management change subtype {:#x}\n",
                        subtype
                    );
                }
            },
            Event::Other(_) => {}
        }
    }
}
