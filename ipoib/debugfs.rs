// SPDX-License-Identifier: GPL-2.0

//! `/sys/kernel/debug/ipoib/<if>_mcg` and `<if>_path`, in the C driver's format
//! (ipoib_fs.c), created and renamed with the interface by the module's netdevice notifier.
//!
//! On RoCE the QP attach is the join, so an attached group is complete; a send-only group is
//! complete once its address handle exists. There are no LIDs: a path is complete when its
//! address handle exists, and shows DLID 0x0000, SL 0 and the port's rate.

use crate::dev::Priv;
use crate::proto::addr::GidFmt;
use crate::proto::link;
use crate::rust_bindings::debugfs::{Dir, File, SeqBuf, Show};
use crate::rust_bindings::net::NetDevice;
use core::fmt::Write;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;

/// The two files of an interface.
pub(crate) struct Files {
    _mcg: File<Mcg>,
    _path: File<Path>,
}

impl Files {
    /// Creates the files of `dev` (named after it) in `dir`.
    pub(crate) fn new(dir: &Dir, dev: &NetDevice, p: Arc<Priv>) -> Result<Self> {
        let mut name = [0u8; 24];
        let base = dev.name().as_bytes();
        let mk = |name: &mut [u8; 24], suffix: &[u8]| -> Result<usize> {
            let n = base.len() + suffix.len();
            if n >= name.len() {
                return Err(EINVAL);
            }
            name[..base.len()].copy_from_slice(base);
            name[base.len()..n].copy_from_slice(suffix);
            name[n] = 0;
            Ok(n)
        };
        let n = mk(&mut name, b"_mcg")?;
        let mcg = File::new(CStr::from_bytes_with_nul(&name[..=n])?, dir, p.clone())?;
        let n = mk(&mut name, b"_path")?;
        let path = File::new(CStr::from_bytes_with_nul(&name[..=n])?, dir, p)?;
        Ok(Self {
            _mcg: mcg,
            _path: path,
        })
    }
}

/// `<if>_mcg`: the groups the interface is attached to, then groups it only sends to.
pub(crate) struct Mcg;

fn mcg_entry(
    out: &mut SeqBuf,
    gid: &[u8; 16],
    created: u64,
    queued: usize,
    complete: bool,
    send_only: bool,
) -> core::fmt::Result {
    let yn = |b: bool| if b { "yes" } else { "no" };
    // `created` is C's `unsigned long` jiffies printed with `%ld`.
    write!(
        out,
        "GID: {}\n  created: {:10}\n  queuelen: {:9}\n  complete: {:>9}\n  send_only: {:>8}\n\n",
        GidFmt(gid),
        created as i64,
        queued,
        yn(complete),
        yn(send_only)
    )
}

impl Show for Mcg {
    type Data = Priv;

    fn show(p: &Priv, out: &mut SeqBuf) -> core::fmt::Result {
        let mut groups = KVec::new();
        for g in p.mcast_groups.lock().iter() {
            let entry = (g.mgid, g.created, g.complete(), g.send_only());
            if groups.push(entry, GFP_KERNEL).is_err() {
                break;
            }
        }
        let dests = p.ud().map(|ud| ud.destinations()).unwrap_or_default();
        for (mgid, created, complete, send_only) in groups.iter() {
            let d = dests.iter().find(|d| &d.gid == mgid);
            mcg_entry(
                out,
                mgid,
                *created,
                d.map_or(0, |d| d.queued),
                *complete,
                *send_only,
            )?;
        }
        for d in dests.iter().filter(|d| d.gid[0] == 0xff) {
            if !groups.iter().any(|g| g.0 == d.gid) {
                mcg_entry(out, &d.gid, d.created, d.queued, d.complete, true)?;
            }
        }
        Ok(())
    }
}

/// `<if>_path`: the unicast destinations.
pub(crate) struct Path;

impl Show for Path {
    type Data = Priv;

    fn show(p: &Priv, out: &mut SeqBuf) -> core::fmt::Result {
        let dests = p.ud().map(|ud| ud.destinations()).unwrap_or_default();
        let (speed, width) = *p.link_speed.lock();
        let rate = link::speed_mbps(speed, width).unwrap_or(0);
        for d in dests.iter().filter(|d| d.gid[0] != 0xff) {
            let yn = if d.complete { "yes" } else { "no" };
            write!(out, "GID: {}\n  complete: {:>6}\n", GidFmt(&d.gid), yn)?;
            if d.complete {
                write!(
                    out,
                    "  DLID:     0x{:04x}\n  SL: {:12}\n  rate: {:8}.{} Gb/sec\n",
                    d.dlid,
                    d.sl,
                    rate / 1000,
                    rate % 1000
                )?;
            }
            out.write_str("\n")?;
        }
        Ok(())
    }
}
