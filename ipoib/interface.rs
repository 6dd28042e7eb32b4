// SPDX-License-Identifier: GPL-2.0

//! Creating and removing the IPoIB interface of a port (`ipoib_add_port`).

use crate::dev::{IpoibOps, Priv, PrivInit};
use crate::params;
use crate::proto::addr::HwAddr;
use crate::proto::{header, mtu};
use crate::rust_bindings::net::{self, Config, Registration};
use crate::rust_bindings::rdma::{Device, PortAttr, PortState};
use crate::ud::Ud;
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::ARef;

/// An IPoIB interface on a RoCE port.
///
/// Dropping it unregisters the network device (which stops it) and then frees the verbs
/// resources.
pub(crate) struct Interface {
    reg: Option<Registration<IpoibOps>>,
    priv_: Arc<Priv>,
}

impl Interface {
    /// Creates and registers `ib%d` for `port` of `device`, a RoCE port.
    pub(crate) fn new_roce(device: &Device, port: u32, attr: &PortAttr) -> Result<Self> {
        let underlay = device.netdev(port).ok_or(ENODEV)?;
        let gid = device.query_gid(port, 0)?.0;
        let pkey = device.query_pkey(port, 0)?;
        let max_ib_mtu = attr.max_mtu().ok_or(EINVAL)?.bytes();
        let active_ib_mtu = attr.active_mtu().map_or(max_ib_mtu, |m| m.bytes());
        let priv_ = Priv::new(PrivInit {
            device: ARef::from(device),
            port,
            underlay,
            gid,
            pkey,
            qkey: params::qkey(),
            max_ib_mtu,
            active_ib_mtu,
            port_up: attr.state() == PortState::Active,
            link_speed: (attr.active_speed(), attr.active_width()),
        })?;
        let ud = match Ud::new(&priv_) {
            Ok(ud) => ud,
            Err(e) => {
                priv_.release();
                return Err(e);
            }
        };
        let qpn = ud.qpn();
        *priv_.ud.lock() = Some(ud);
        // No connected mode yet, so the RC flag stays clear and peers use datagrams.
        let addr = HwAddr::new(0, qpn, &gid);
        let broadcast = priv_.broadcast;
        let port_index = u16::try_from(port.saturating_sub(1)).unwrap_or(0);
        let tx_queue_len = u32::try_from(params::send_queue_size::get()).unwrap_or(128) * 2;
        let cfg = Config {
            name: c_str!("ib%d"),
            type_: net::ARPHRD_INFINIBAND,
            addr: &addr.0,
            broadcast: &broadcast.0,
            hard_header_len: header::HARD_LEN as u16,
            flags: net::IFF_BROADCAST | net::IFF_MULTICAST,
            tx_queue_len,
            watchdog_timeo: i32::try_from(kernel::time::msecs_to_jiffies(10_000))
                .unwrap_or(i32::MAX),
            mtu: mtu::ud_mtu(active_ib_mtu),
            min_mtu: 0,
            max_mtu: mtu::CM_MTU,
            dev_port: port_index,
            dev_id: port_index,
            parent: device.parent(),
        };
        match Registration::register(&cfg, priv_.clone()) {
            Ok(reg) => {
                if let Err(e) = priv_.attach_netdev(reg.device()) {
                    priv_.detach_netdev();
                    drop(reg);
                    priv_.release();
                    return Err(e);
                }
                pr_info!(
                    "{}: {} port {} (RoCE), QPN 0x{:06x}, MTU {}\n",
                    reg.device().name(),
                    device.name(),
                    port,
                    qpn,
                    cfg.mtu
                );
                Ok(Self {
                    reg: Some(reg),
                    priv_,
                })
            }
            Err(e) => {
                priv_.release();
                Err(e)
            }
        }
    }
}

impl Drop for Interface {
    fn drop(&mut self) {
        // Stop following events (they hold a device reference), unregister, which stops the
        // interface, and only then free its resources.
        self.priv_.detach_netdev();
        drop(self.reg.take());
        self.priv_.release();
    }
}
