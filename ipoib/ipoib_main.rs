// SPDX-License-Identifier: GPL-2.0

//! IP over InfiniBand (RFC 4391, 4392) for InfiniBand and RoCE ports: module `ib_ipoib`.
//!
//! Unlike the C driver, which only attaches to ports where `rdma_protocol_ib()` holds, this one
//! also attaches to RoCE ports (e.g. soft-RoCE `rdma_rxe`). iWARP ports have no UD transport and
//! are skipped.
//!
//! On InfiniBand ports destinations are resolved with SA path records and multicast groups
//! joined through the SA; on RoCE ports both follow from GIDs and MACs.

#![recursion_limit = "512"]
// Only the abstractions in rust-bindings/ may hold unsafe_code; the driver holds none.
#![deny(unsafe_code)]

#[path = "../rust-bindings/lib.rs"]
#[allow(unsafe_code)]
mod rust_bindings;

mod ah_cache;
mod cm;
mod debugfs;
mod dev;
mod interface;
mod mcast;
mod netlink;
mod params;
#[allow(
    dead_code,
    reason = "pure protocol library; not every definition is used yet"
)]
mod proto;
mod sysfs;
mod ud;
mod watch;

use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;
use rust_bindings::error::code::EOPNOTSUPP;
use rust_bindings::net;
use rust_bindings::rdma::{self, Device, LinkLayer, Mtu, PortState, Protocol};

module! {
    type: IpoibModule,
    name: "ib_ipoib",
    author: "ipoib-rs developers",
    description: "IP-over-InfiniBand net driver",
    license: "GPL",
    // `ip link add ... type ipoib` loads the module.
    alias: ["rtnl-link-ipoib"],
}

/// The module: dropping it unregisters the client, which removes every interface, then the SA
/// client (which waits for the queries still under way), the netdevice notifier and the link
/// kind (fields drop in declaration order).
struct IpoibModule {
    _client: rdma::Registered<IpoibClient>,
    _sa: rdma::SaRegistration,
    _watch: net::NetdevNotifier<watch::NetdevWatch>,
    _link: net::LinkRegistration<dev::IpoibOps>,
}

impl kernel::Module for IpoibModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        params::apply_limits();
        // The kind first: interfaces name it as soon as they exist.
        let link = LINK_OPS.register()?;
        let watch = watch::register()?;
        let sa = SA.register()?;
        Ok(Self {
            _client: CLIENT.register()?,
            _sa: sa,
            _watch: watch,
            _link: link,
        })
    }
}

net::link_ops!(pub(crate) static LINK_OPS: dev::IpoibOps);
net::attr_group!(pub(crate) static SYSFS: dev::IpoibOps);

static CLIENT: rdma::Registration<IpoibClient> = rdma::Registration::new();

/// The SA client of path queries and multicast joins (`ipoib_sa_client`).
pub(crate) static SA: rdma::SaClient = rdma::SaClient::new();

/// The ib_core client (`"ipoib"`, as the C driver's).
struct IpoibClient;

/// What the client keeps for one port it attached to.
struct Port {
    num: u32,
    link_layer: LinkLayer,
    /// The port's interface; dropped (unregistered) before the port record.
    interface: Option<interface::Interface>,
}

/// What the client keeps for one RDMA device.
struct IpoibDevice {
    ports: KVec<Port>,
}

impl rdma::Client for IpoibClient {
    const NAME: &'static CStr = c_str!("ipoib");
    type Data = KBox<IpoibDevice>;

    fn registration() -> &'static rdma::Registration<Self> {
        &CLIENT
    }

    fn add(device: &Device) -> Result<KBox<IpoibDevice>> {
        let mut ports = KVec::new();
        for num in device.ports() {
            match device.protocol(num) {
                Protocol::Ib | Protocol::Roce => {}
                Protocol::Iwarp | Protocol::Other => {
                    pr_info!("{} port {}: no UD transport, skipped\n", device.name(), num);
                    continue;
                }
            }
            let attr = match device.query_port(num) {
                Ok(attr) => attr,
                Err(e) => {
                    pr_warn!(
                        "{} port {}: query_port failed ({:?}), skipped\n",
                        device.name(),
                        num,
                        e
                    );
                    continue;
                }
            };
            let link_layer = device.link_layer(num);
            let gid = device.query_gid(num, 0).unwrap_or_default();
            let pkey = device.query_pkey(num, 0).unwrap_or(0);
            pr_info!(
                "{} port {}: link layer {}, state {}, active MTU {}, max MTU {}, GID[0] {}, P_Key[0] 0x{:04x}\n",
                device.name(),
                num,
                link_layer,
                attr.state(),
                attr.active_mtu().map_or(0, Mtu::bytes),
                attr.max_mtu().map_or(0, Mtu::bytes),
                gid,
                pkey
            );
            if attr.state() != PortState::Active {
                pr_info!("{} port {}: not active yet\n", device.name(), num);
            }
            let ib = device.protocol(num) == Protocol::Ib;
            let interface = match interface::Interface::new(device, num, &attr, ib) {
                Ok(i) => Some(i),
                Err(e) => {
                    pr_warn!(
                        "{} port {}: cannot create the interface ({:?})\n",
                        device.name(),
                        num,
                        e
                    );
                    None
                }
            };
            ports.push(
                Port {
                    num,
                    link_layer,
                    interface,
                },
                GFP_KERNEL,
            )?;
        }
        if ports.is_empty() {
            // The C driver's answer for a device without a usable port.
            return Err(EOPNOTSUPP());
        }
        Ok(KBox::new(IpoibDevice { ports }, GFP_KERNEL)?)
    }

    fn remove(device: &Device, mut data: KBox<IpoibDevice>) {
        for port in data.ports.iter_mut() {
            drop(port.interface.take());
            pr_info!(
                "{} port {}: detached ({})\n",
                device.name(),
                port.num,
                port.link_layer
            );
        }
    }
}
