// SPDX-License-Identifier: GPL-2.0

//! Following the Ethernet device under RoCE interfaces: soft-RoCE raises no port event when
//! its netdev's MTU changes (it only updates the port's active MTU), so a module-wide netdevice
//! notifier asks the interfaces on that netdev to re-read their port.
//!
//! The notifier is registered at module init, outside ib_core's client callbacks: registering
//! one from `add()` would take `pernet_ops_rwsem` under ib_core's device locks, an order
//! ib_core's own module exit reverses.

use crate::dev::{IpoibOps, Priv};
use crate::rust_bindings::net::{self, NetDevice, NetdevEvent, NetdevEvents, Rtnl};
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// The notifier's (empty) context.
pub(crate) struct UnderlayWatch;

impl NetdevEvents for UnderlayWatch {
    fn netdev_event(_this: ArcBorrow<'_, Self>, rtnl: &Rtnl, dev: &NetDevice, event: NetdevEvent) {
        if event != NetdevEvent::ChangeMtu || dev.is_driver::<IpoibOps>() {
            return;
        }
        // Parents live in the initial namespace; each one schedules its children too.
        net::for_each_init_net_device(rtnl, |d| {
            if let Some(p) = d.driver_data::<IpoibOps>(rtnl) {
                if p.child.is_none() && p.underlay.is(dev) {
                    Priv::schedule_port_check(&p.into());
                }
            }
        });
    }
}

/// Registers the notifier (module init, not under RTNL).
pub(crate) fn watch() -> Result<net::NetdevNotifier<UnderlayWatch>> {
    net::NetdevNotifier::new(Arc::new(UnderlayWatch, GFP_KERNEL)?)
}
