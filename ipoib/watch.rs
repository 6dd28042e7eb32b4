// SPDX-License-Identifier: GPL-2.0

//! The module's netdevice notifier, registered at module init (registering one from the
//! ib_core client callbacks would take `pernet_ops_rwsem` under ib_core's device locks, an
//! order ib_core's own module exit reverses). It
//!
//! - creates, renames and removes the interfaces' debugfs files (as C's `ipoib_netdev_event`);
//! - follows the Ethernet device under RoCE interfaces: soft-RoCE raises no port event when its
//!   netdev's MTU changes (it only updates the port's active MTU), so the interfaces on that
//!   netdev are asked to re-read their port.

use crate::debugfs::Files;
use crate::dev::{IpoibOps, Priv};
use crate::rust_bindings::debugfs::Dir;
use crate::rust_bindings::net::{self, NetDevice, NetdevEvent, NetdevEvents, Rtnl};
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// The notifier's context.
pub(crate) struct NetdevWatch {
    /// `/sys/kernel/debug/ipoib`, if debugfs is available.
    debugfs: Option<Dir>,
}

impl NetdevWatch {
    fn update_debugfs(&self, rtnl: &Rtnl, dev: &NetDevice, event: NetdevEvent) {
        let (Some(dir), Some(p)) = (&self.debugfs, dev.driver_data::<IpoibOps>(rtnl)) else {
            return;
        };
        let mut files = p.debugfs.lock();
        // Renamed: recreate under the new name; gone (or leaving the namespace): remove.
        *files = None;
        if matches!(event, NetdevEvent::Register | NetdevEvent::ChangeName) {
            match Files::new(dir, dev, p.into()) {
                Ok(f) => *files = Some(f),
                Err(e) => pr_warn!("{}: no debugfs files ({:?})\n", dev.name(), e),
            }
        }
    }
}

impl NetdevEvents for NetdevWatch {
    fn netdev_event(this: ArcBorrow<'_, Self>, rtnl: &Rtnl, dev: &NetDevice, event: NetdevEvent) {
        match event {
            NetdevEvent::Register | NetdevEvent::Unregister | NetdevEvent::ChangeName => {
                if dev.is_driver::<IpoibOps>() {
                    this.update_debugfs(rtnl, dev, event);
                }
            }
            NetdevEvent::ChangeMtu if !dev.is_driver::<IpoibOps>() => {
                // Parents live in the initial namespace; each one schedules its children too.
                net::for_each_init_net_device(rtnl, |d| {
                    if let Some(p) = d.driver_data::<IpoibOps>(rtnl) {
                        if p.child.is_none() && p.underlay.as_ref().is_some_and(|u| u.is(dev)) {
                            Priv::schedule_port_check(&p.into());
                        }
                    }
                });
            }
            _ => {}
        }
    }
}

/// Creates the debugfs directory and registers the notifier (module init, not under RTNL).
pub(crate) fn register() -> Result<net::NetdevNotifier<NetdevWatch>> {
    let debugfs = Dir::new(c_str!("ipoib")).ok();
    if let Some(dir) = &debugfs {
        dir.create_u32(c_str!("cm_rx_timeout"), &crate::cm::RX_TIMEOUT_SECS);
        dir.create_u32(c_str!("cm_no_srq"), &crate::cm::NO_SRQ);
    }
    net::NetdevNotifier::new(Arc::new(NetdevWatch { debugfs }, GFP_KERNEL)?)
}
