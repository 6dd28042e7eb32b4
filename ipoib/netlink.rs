// SPDX-License-Identifier: GPL-2.0

//! Link kind `ipoib` (`ip link add link ib0 name NAME type ipoib [pkey P] [mode M] [umcast U]`,
//! `ip link set DEV type ipoib ...`, `ip -d link show`).
//!
//! C: ipoib_netlink.c. Attributes: include/uapi/linux/if_link.h (`IFLA_IPOIB_*`).

use crate::dev::{IpoibOps, Priv};
use crate::interface::{self, NewChild};
use crate::proto::child::Mode;
use crate::rust_bindings::net::{
    nla_total_size, AttrType, InfoWriter, LinkData, LinkOps, LinkTarget, NetDevice, NewLink, Rtnl,
};
use crate::sysfs::{mode_of, set_mode, set_umcast};
use core::sync::atomic::Ordering;
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::{Arc, ArcBorrow};

/// `IFLA_IPOIB_PKEY`.
const IFLA_IPOIB_PKEY: u16 = 1;
/// `IFLA_IPOIB_MODE`.
const IFLA_IPOIB_MODE: u16 = 2;
/// `IFLA_IPOIB_UMCAST`.
const IFLA_IPOIB_UMCAST: u16 = 3;

/// `ipoib_changelink`: mode first, then umcast; an invalid mode stops before umcast.
fn change(rtnl: &Rtnl, dev: &NetDevice, p: &Arc<Priv>, data: &LinkData<'_>) -> Result {
    if let Some(m) = data.u16(IFLA_IPOIB_MODE) {
        set_mode(rtnl, dev, p, Mode::from_netlink(m).ok_or(EINVAL)?)?;
    }
    if let Some(u) = data.u16(IFLA_IPOIB_UMCAST) {
        set_umcast(dev, p, u > 0);
    }
    Ok(())
}

impl LinkOps for IpoibOps {
    const KIND: &'static CStr = c_str!("ipoib");
    const ATTRS: &'static [AttrType] = &[AttrType::U16, AttrType::U16, AttrType::U16];
    // Children moved to a namespace that goes away come back (C: `netns_refund`).
    const NETNS_REFUND: bool = true;

    fn newlink(rtnl: &Rtnl, dev: NewLink<'_>, link: LinkTarget<'_>, data: &LinkData<'_>) -> Result {
        let parent_dev = match link {
            LinkTarget::Missing => return Err(EINVAL),
            LinkTarget::NotFound => return Err(ENODEV),
            LinkTarget::Device(d) => d,
        };
        // C accepts any ARPHRD_INFINIBAND device; only this driver's can be parents here.
        let parent: kernel::sync::Arc<Priv> = parent_dev
            .driver_data::<IpoibOps>(rtnl)
            .ok_or(ENODEV)?
            .into();
        if parent.child.is_some() {
            pr_warn!(
                "{}: child creation disallowed for child devices\n",
                parent_dev.name()
            );
            return Err(EINVAL);
        }
        let pkey = data.u16(IFLA_IPOIB_PKEY).unwrap_or(parent.pkey);
        let child = interface::add_child(rtnl, parent_dev, &parent, pkey, NewChild::Rtnl(dev))?;
        if !data.is_empty() {
            let cp: kernel::sync::Arc<Priv> =
                child.driver_data::<IpoibOps>(rtnl).ok_or(EINVAL)?.into();
            if let Err(e) = change(rtnl, child, &cp, data) {
                child.unregister(rtnl);
                return Err(e);
            }
        }
        Ok(())
    }

    fn changelink(
        rtnl: &Rtnl,
        dev: &NetDevice,
        p: ArcBorrow<'_, Priv>,
        data: &LinkData<'_>,
    ) -> Result {
        change(rtnl, dev, &p.into(), data)
    }

    fn may_delete(_dev: &NetDevice, p: ArcBorrow<'_, Priv>) -> bool {
        // `ip link del ib0` does nothing: only children are deleted.
        p.child.is_some()
    }

    fn info_size() -> usize {
        3 * nla_total_size(2)
    }

    fn fill_info(_dev: &NetDevice, p: ArcBorrow<'_, Priv>, out: &mut InfoWriter<'_>) -> Result {
        out.put_u16(IFLA_IPOIB_PKEY, p.pkey)?;
        out.put_u16(IFLA_IPOIB_MODE, mode_of(&p).netlink_value())?;
        out.put_u16(
            IFLA_IPOIB_UMCAST,
            u16::from(p.umcast.load(Ordering::Relaxed)),
        )
    }
}
