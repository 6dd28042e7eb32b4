// SPDX-License-Identifier: GPL-2.0

//! The C driver's sysfs files in `/sys/class/net/<if>/`: `mode`, `pkey`, `umcast` (parent and
//! legacy children), `create_child`, `delete_child` (parent), `parent` (legacy children).
//! Netlink-created children have none of them, as in C.
//!
//! C: ipoib_main.c (`pkey_show`, `umcast_*`, `create_child_store`, `delete_child_store`),
//! ipoib_cm.c (`mode_*`), ipoib_vlan.c (`parent_show`).

use crate::dev::{IpoibOps, Priv};
use crate::interface::{self, NewChild};
use crate::proto::child::{self, ChildKind, Mode};
use crate::proto::mtu;
use crate::rust_bindings::net::{self, Attr, Attributes, NetDevice, Rtnl, ShowBuf};
use core::fmt::Write;
use core::sync::atomic::Ordering;
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

const MODE: usize = 0;
const PKEY: usize = 1;
const UMCAST: usize = 2;
const CREATE_CHILD: usize = 3;
const DELETE_CHILD: usize = 4;
const PARENT: usize = 5;

/// Takes RTNL for a sysfs write, or has the write restarted: unregistering a device removes its
/// files under RTNL and waits for writers, so a writer must never block on RTNL.
fn rtnl_or_restart() -> Result<Rtnl> {
    Rtnl::try_lock().ok_or_else(net::restart_syscall)
}

/// Applies `mode` (`ipoib_set_mode`, RTNL held). Connected mode needs the RC flag in the
/// hardware address (else `EINVAL`, as C); the MTU becomes connected mode's largest, and back
/// in datagram mode the smaller of it and the link's. Asking for the current mode does
/// nothing.
pub(crate) fn set_mode(rtnl: &Rtnl, dev: &NetDevice, p: &Arc<Priv>, mode: Mode) -> Result {
    let connected = mode == Mode::Connected;
    if connected == p.cm_connected() {
        return Ok(());
    }
    if connected {
        if !p.cm_capable() {
            return Err(EINVAL);
        }
        p.cm.connected.store(true, Ordering::Relaxed);
        if dev.is_running() && p.cm_resources().is_none() {
            p.cm.connected.store(false, Ordering::Relaxed);
            return Err(ENOMEM);
        }
        // No checksum offload or TSO on RC QPs (`fix_features`).
        dev.update_features(rtnl);
        pr_warn!(
            "{}: enabling connected mode will cause multicast packet drops\n",
            dev.name()
        );
        if let Err(e) = dev.set_mtu(rtnl, p.cm_max_mtu()) {
            pr_warn!(
                "{}: cannot set MTU {}: {:?}\n",
                dev.name(),
                p.cm_max_mtu(),
                e
            );
        }
        return Ok(());
    }
    // Datagram mode: stop sending for a moment so that no packet is on its way to a
    // connection, then tear the connections to peers down (C flushes its paths).
    p.cm.connected.store(false, Ordering::Relaxed);
    let running = dev.is_running();
    if running {
        dev.tx_disable();
    }
    p.cm_flush_active();
    dev.update_features(rtnl);
    let ud_max = mtu::ud_mtu(p.active_ib_mtu.load(Ordering::Relaxed));
    if let Err(e) = dev.set_mtu(rtnl, ud_max.min(dev.mtu())) {
        pr_warn!("{}: cannot set MTU {}: {:?}\n", dev.name(), ud_max, e);
    }
    // NAPI must not poll the CQs being freed.
    p.with_napi_stopped(|| p.cm_release_idle());
    if running {
        dev.wake_queue();
    }
    Ok(())
}

/// The interface's mode.
pub(crate) fn mode_of(p: &Priv) -> Mode {
    if p.cm_connected() {
        Mode::Connected
    } else {
        Mode::Datagram
    }
}

/// Sets or clears `umcast` (`ipoib_set_umcast`).
pub(crate) fn set_umcast(dev: &NetDevice, p: &Priv, on: bool) {
    if on {
        pr_warn!(
            "{}: ignoring multicast groups joined directly by userspace\n",
            dev.name()
        );
    }
    p.umcast.store(on, Ordering::Relaxed);
}

impl Attributes for IpoibOps {
    const ATTRS: &'static [Attr] = &[
        Attr {
            name: c_str!("mode"),
            mode: 0o644,
        },
        Attr {
            name: c_str!("pkey"),
            mode: 0o444,
        },
        Attr {
            name: c_str!("umcast"),
            mode: 0o644,
        },
        Attr {
            name: c_str!("create_child"),
            mode: 0o200,
        },
        Attr {
            name: c_str!("delete_child"),
            mode: 0o200,
        },
        Attr {
            name: c_str!("parent"),
            mode: 0o444,
        },
    ];

    fn visible(_dev: &NetDevice, p: ArcBorrow<'_, Priv>, index: usize) -> bool {
        match p.child.as_ref().map(|c| c.kind) {
            None => index != PARENT,
            Some(ChildKind::Legacy) => matches!(index, MODE | PKEY | UMCAST | PARENT),
            Some(ChildKind::Rtnl) => false,
        }
    }

    fn show(
        _dev: &NetDevice,
        p: ArcBorrow<'_, Priv>,
        index: usize,
        out: &mut ShowBuf<'_>,
    ) -> Result {
        let r = match index {
            MODE => out.write_str(mode_of(&p).sysfs_name()),
            PKEY => writeln!(out, "0x{:04x}", p.pkey),
            UMCAST => writeln!(out, "{}", u8::from(p.umcast.load(Ordering::Relaxed))),
            PARENT => match &p.child {
                Some(c) => writeln!(out, "{}", c.parent_dev.name()),
                None => return Err(EINVAL),
            },
            _ => return Err(EIO),
        };
        r.map_err(|_| EINVAL)
    }

    fn store(dev: &NetDevice, p: ArcBorrow<'_, Priv>, index: usize, input: &[u8]) -> Result {
        match index {
            MODE => {
                let mode = Mode::from_sysfs(input).ok_or(EINVAL)?;
                let rtnl = rtnl_or_restart()?;
                set_mode(&rtnl, dev, &p.into(), mode)
            }
            UMCAST => {
                set_umcast(dev, &p, child::parse_simple_ul(input) > 0);
                Ok(())
            }
            CREATE_CHILD => {
                let pkey = child::create_child_pkey(input).ok_or(EINVAL)?;
                if !net::capable_net_admin() {
                    return Err(EPERM);
                }
                let rtnl = rtnl_or_restart()?;
                if !dev.is_registered() {
                    return Err(EPERM);
                }
                let parent: kernel::sync::Arc<Priv> = p.into();
                interface::add_child(&rtnl, dev, &parent, pkey, NewChild::Legacy).map(|_| ())
            }
            DELETE_CHILD => {
                let pkey = child::delete_child_pkey(input).ok_or(EINVAL)?;
                if !net::capable_net_admin() {
                    return Err(EPERM);
                }
                let rtnl = rtnl_or_restart()?;
                if !dev.is_registered() {
                    return Err(EPERM);
                }
                interface::delete_legacy_child(&rtnl, &p, pkey)
            }
            _ => Err(EIO),
        }
    }
}
