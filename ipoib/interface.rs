// SPDX-License-Identifier: GPL-2.0

//! Creating and removing IPoIB interfaces: the interface of a port (`ipoib_add_port`) and its
//! P_Key children (`ipoib_vlan_add`, `ipoib_new_child_link`).

use crate::dev::{ChildEntry, ChildOf, IpoibOps, Priv, PrivInit, NO_PKEY_INDEX};
use crate::proto::addr::{self, HwAddr};
use crate::proto::child::{self, ChildError, ChildKind};
use crate::proto::{header, mtu};
use crate::rust_bindings::error::code::ENOTUNIQ;
use crate::rust_bindings::net::{self, Config, NetDevice, NewLink, Registration, Rtnl};
use crate::rust_bindings::rdma::{Device, PortAttr, PortState};
use crate::ud::Ud;
use crate::{params, LINK_OPS, SYSFS};
use core::sync::atomic::Ordering;
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;
use kernel::types::ARef;

/// The IPoIB interface of a port.
///
/// Dropping it unregisters its children and itself (which stops them); their verbs resources
/// are freed with the devices.
pub(crate) struct Interface {
    reg: Option<Registration<IpoibOps>>,
    priv_: Arc<Priv>,
}

/// Creates the verbs resources of `init` and returns the interface state with its address.
fn new_priv(init: PrivInit) -> Result<(Arc<Priv>, HwAddr)> {
    let gid = init.gid;
    let priv_ = Priv::new(init)?;
    let ud = match Ud::new(&priv_) {
        Ok(ud) => ud,
        Err(e) => {
            priv_.release();
            return Err(e);
        }
    };
    let qpn = ud.qpn();
    drop(priv_.ud.replace(Some(ud)));
    // The RC flag tells peers they may connect (set whatever the mode, as C does).
    let flags = if priv_.cm_capable() { addr::FLAG_RC } else { 0 };
    Ok((priv_, HwAddr::new(flags, qpn, &gid)))
}

/// The features of an interface (`ipoib_setup_common`, `ipoib_transport_dev_init`): no
/// VLANs on top, any memory for DMA, and scattered sends when the QPs can gather.
fn features(p: &Priv) -> u64 {
    let sg = if p.device.max_send_sge() > 1 {
        net::NETIF_F_SG
    } else {
        0
    };
    net::NETIF_F_VLAN_CHALLENGED | net::NETIF_F_HIGHDMA | sg
}

/// The offloads of the HCA's UD QPs, on from the start and switchable with ethtool
/// (`ipoib_set_dev_features`): checksums both ways, then TCP segmentation.
fn offloads(p: &Priv) -> u64 {
    if !p.device.ud_ip_csum() {
        return 0;
    }
    let tso = if p.device.ud_tso() {
        net::NETIF_F_TSO
    } else {
        0
    };
    net::NETIF_F_IP_CSUM | net::NETIF_F_RXCSUM | tso
}

/// How an interface looks to the stack (`ipoib_setup_common`, `ipoib_ndo_init`).
fn config<'a>(p: &Priv, name: &'a CStr, addr: &'a HwAddr, broadcast: &'a HwAddr) -> Config<'a> {
    let port_index = u16::try_from(p.port.saturating_sub(1)).unwrap_or(0);
    Config {
        name,
        type_: net::ARPHRD_INFINIBAND,
        addr: &addr.0,
        broadcast: &broadcast.0,
        hard_header_len: header::HARD_LEN as u16,
        flags: net::IFF_BROADCAST | net::IFF_MULTICAST,
        tx_queue_len: u32::try_from(params::send_queue_size::get()).unwrap_or(128) * 2,
        watchdog_timeo: i32::try_from(kernel::time::msecs_to_jiffies(10_000)).unwrap_or(i32::MAX),
        mtu: mtu::ud_mtu(p.active_ib_mtu.load(Ordering::Relaxed)),
        min_mtu: 0,
        max_mtu: mtu::CM_MTU,
        dev_port: port_index,
        dev_id: port_index,
        // Children too sit under the HCA's parent device (`ipoib_intf_init`).
        parent: p.device.parent(),
        sysfs: Some(SYSFS.handle()),
        link_ops: Some(LINK_OPS.handle()),
        // For ICMP "fragmentation needed" (`ipoib_setup_common`).
        keep_dst: true,
        features: features(p),
        hw_features: offloads(p),
    }
}

impl Interface {
    /// Creates and registers `ib%d` for `port` of `device`, an InfiniBand port (`ib` true)
    /// or a RoCE port.
    pub(crate) fn new(device: &Device, port: u32, attr: &PortAttr, ib: bool) -> Result<Self> {
        let underlay = if ib {
            None
        } else {
            Some(device.netdev(port).ok_or(ENODEV)?)
        };
        let max_ib_mtu = attr.max_mtu().ok_or(EINVAL)?.bytes();
        let (priv_, addr) = new_priv(PrivInit {
            device: ARef::from(device),
            port,
            ib,
            underlay,
            gid: device.query_gid(port, 0)?.0,
            // The parent's P_Key is the first of the port's table (`ipoib_parent_init`).
            pkey: device.query_pkey(port, 0)?,
            // On InfiniBand the broadcast group gives the Q_Key.
            qkey: if ib { 0 } else { params::qkey() },
            max_ib_mtu,
            // On InfiniBand the broadcast group gives the MTU; until then the port's largest
            // (C's initial `mcast_mtu`).
            active_ib_mtu: if ib {
                max_ib_mtu
            } else {
                attr.active_mtu().map_or(max_ib_mtu, |m| m.bytes())
            },
            port_up: attr.state() == PortState::Active,
            link_speed: (attr.active_speed(), attr.active_width()),
            child: None,
        })?;
        let broadcast = priv_.broadcast;
        let cfg = config(&priv_, c_str!("ib%d"), &addr, &broadcast);
        // On failure the device's destructor released the verbs resources.
        let reg = Registration::register(&cfg, priv_.clone())?;
        if let Err(e) = priv_.attach_netdev(reg.device()) {
            drop(reg);
            return Err(e);
        }
        pr_info!(
            "{}: {} port {} ({}), QPN 0x{:06x}, MTU {}\n",
            reg.device().name(),
            device.name(),
            port,
            if ib { "InfiniBand" } else { "RoCE" },
            addr.qpn(),
            cfg.mtu
        );
        Ok(Self {
            reg: Some(reg),
            priv_,
        })
    }
}

impl Drop for Interface {
    fn drop(&mut self) {
        // Children first (C's `ipoib_remove_one`), then the interface, in one RTNL hold so
        // that no child can be added in between; the devices are freed, and their verbs
        // resources with them, when RTNL is released.
        let rtnl = Rtnl::lock();
        let mut devs = KVec::new();
        for e in self.priv_.children.lock().iter().flatten() {
            if devs.push(e.dev.clone(), GFP_KERNEL).is_err() {
                pr_warn!("ipoib: out of memory removing children\n");
            }
        }
        for d in devs.iter() {
            d.unregister(&rtnl);
        }
        drop(devs);
        if let Some(reg) = self.reg.take() {
            reg.unregister_locked(&rtnl);
        }
        drop(rtnl);
    }
}

/// Where a new child's device comes from.
pub(crate) enum NewChild<'a> {
    /// `create_child`: allocate it, named after the parent and the P_Key.
    Legacy,
    /// `ip link add`: the core allocated it.
    Rtnl(NewLink<'a>),
}

/// Creates a P_Key child of `parent_dev` (RTNL held); returns its device.
pub(crate) fn add_child<'r>(
    rtnl: &'r Rtnl,
    parent_dev: &NetDevice,
    parent: &Arc<Priv>,
    pkey: u16,
    how: NewChild<'r>,
) -> Result<&'r NetDevice> {
    let kind = match how {
        NewChild::Legacy => ChildKind::Legacy,
        NewChild::Rtnl(_) => ChildKind::Rtnl,
    };
    if parent.child.is_some() || !parent_dev.is_registered() {
        return Err(EINVAL);
    }
    {
        let children = parent.children.lock();
        let legacy = children
            .iter()
            .flatten()
            .filter(|e| {
                e.priv_
                    .child
                    .as_ref()
                    .is_some_and(|c| c.kind == ChildKind::Legacy)
            })
            .map(|e| e.priv_.pkey);
        match child::check_new_child(pkey, kind, parent.pkey, legacy) {
            Ok(()) => {}
            Err(ChildError::InvalidPkey) => return Err(EINVAL),
            Err(ChildError::NotUnique) => return Err(ENOTUNIQ()),
        }
    }
    // Read before the call: a guard in the initialiser would be held across it.
    let link_speed = *parent.link_speed.lock();
    let (priv_, addr) = new_priv(PrivInit {
        device: parent.device.clone(),
        port: parent.port,
        ib: parent.ib,
        underlay: parent.underlay.clone(),
        gid: parent.gid(),
        pkey,
        // On InfiniBand the child's own broadcast group gives its Q_Key.
        qkey: if parent.ib {
            0
        } else {
            parent.qkey.load(Ordering::Relaxed)
        },
        max_ib_mtu: parent.max_ib_mtu,
        active_ib_mtu: parent.active_ib_mtu.load(Ordering::Relaxed),
        port_up: parent.port_up.load(Ordering::Relaxed),
        link_speed,
        child: Some(ChildOf {
            parent: parent.clone(),
            parent_dev: ARef::from(parent_dev),
            kind,
        }),
    })?;
    debug_assert_eq!(priv_.pkey_index.load(Ordering::Relaxed), NO_PKEY_INDEX);
    let broadcast = priv_.broadcast;
    let mut name_buf = [0u8; 16];
    let n = child::legacy_child_name(parent_dev.name().as_bytes(), pkey, &mut name_buf);
    name_buf[n] = 0;
    let name = CStr::from_bytes_with_nul(&name_buf[..=n]).map_err(|_| EINVAL)?;
    let cfg = config(&priv_, name, &addr, &broadcast);
    let dev = match how {
        NewChild::Legacy => Registration::<IpoibOps>::register_unowned(rtnl, &cfg, priv_.clone())?,
        NewChild::Rtnl(new) => new.register::<IpoibOps>(&cfg, priv_.clone())?,
    };
    let entry = ChildEntry {
        dev: ARef::from(dev),
        priv_: priv_.clone(),
    };
    let listed = {
        let mut children = parent.children.lock();
        match children.iter_mut().find(|s| s.is_none()) {
            Some(slot) => {
                *slot = Some(entry);
                Ok(())
            }
            None => children.push(Some(entry), GFP_KERNEL),
        }
    };
    if listed.is_err() || priv_.attach_netdev(dev).is_err() {
        dev.unregister(rtnl);
        return Err(ENOMEM);
    }
    pr_info!(
        "{}: child of {} with P_Key 0x{:04x}, QPN 0x{:06x}\n",
        dev.name(),
        parent_dev.name(),
        priv_.pkey,
        addr.qpn()
    );
    Ok(dev)
}

/// Deletes the legacy child whose P_Key is `pkey` (`ipoib_vlan_delete`: compared with the
/// child's P_Key, full-member bit included).
pub(crate) fn delete_legacy_child(rtnl: &Rtnl, parent: &Priv, pkey: u16) -> Result {
    let dev = parent
        .children
        .lock()
        .iter()
        .flatten()
        .find(|e| {
            e.priv_.pkey == pkey
                && e.priv_
                    .child
                    .as_ref()
                    .is_some_and(|c| c.kind == ChildKind::Legacy)
        })
        .map(|e| e.dev.clone())
        .ok_or(ENODEV)?;
    dev.unregister(rtnl);
    Ok(())
}
