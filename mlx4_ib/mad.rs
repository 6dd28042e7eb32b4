// SPDX-License-Identifier: GPL-2.0

//! MADs (C: drivers/infiniband/hw/mlx4/mad.c): the MADs ib_mad offers the device go to the
//! HCA's agents through `MAD_IFC`; port capability changes go through `SET_PORT`.

use crate::device::Mlx4Ib;
use crate::hw::smp;
use crate::hw::smp::Snooped;
use crate::rust_bindings::mlx4::{self, MadIfcFlags, MadWc};
use crate::rust_bindings::rdma::provider::{
    Dev, DeviceEvent, Driver, MadIn, MadOut, MadResult, PortAttr, PortModify, Sleepable,
};
use kernel::prelude::*;

/// `IB_MGMT_CLASS_PERF_MGMT`.
const CLASS_PERF_MGMT: u8 = 0x04;
/// `MLX4_IB_VENDOR_CLASS1`, `MLX4_IB_VENDOR_CLASS2`.
const VENDOR_CLASS1: u8 = 0x09;
const VENDOR_CLASS2: u8 = 0x0a;
/// `IB_MGMT_CLASS_CONG_MGMT`.
const CLASS_CONG_MGMT: u8 = 0x21;
/// `IB_MGMT_METHOD_*`.
const METHOD_GET: u8 = 0x01;
const METHOD_SET: u8 = 0x02;
const METHOD_GET_RESP: u8 = 0x81;
const METHOD_TRAP: u8 = 0x05;
const METHOD_TRAP_REPRESS: u8 = 0x07;
/// `IB_SMP_ATTR_SM_INFO`.
const ATTR_SM_INFO: u16 = 0x0020;
/// `IB_MAD_IGNORE_MKEY`, `IB_MAD_IGNORE_BKEY`.
const IGNORE_MKEY: u32 = 1;
const IGNORE_BKEY: u32 = 2;
/// `IB_PORT_RESET_QKEY_CNTR`.
const PORT_RESET_QKEY_CNTR: u32 = 1 << 3;

fn attr_id(m: &[u8; 256]) -> u16 {
    u16::from_be_bytes([m[smp::ATTR_ID_OFF], m[smp::ATTR_ID_OFF + 1]])
}

/// `ib_process_mad` of the C driver, for an InfiniBand port of a native function.
pub(crate) fn process_mad(
    dev: &Dev<Mlx4Ib>,
    port: u32,
    m: &MadIn<'_>,
    out: &mut MadOut<'_>,
    cx: &Sleepable<'_>,
) -> MadResult {
    let mad = m.mad;
    let (class, method) = (mad[1], mad[3]);
    let slid = m.wc.map_or(0xffff, |w| w.slid as u16);
    if method == METHOD_TRAP && slid == 0 {
        // A trap of the HCA's own agent, for the SM. The C driver forwards it on its send
        // agent; this one does not have one yet, so the trap is dropped.
        return MadResult::CONSUMED;
    }
    let smp_class = class == smp::IB_MGMT_CLASS_SUBN_LID_ROUTED
        || class == smp::IB_MGMT_CLASS_SUBN_DIRECTED_ROUTE;
    if smp_class {
        if method != METHOD_GET && method != METHOD_SET && method != METHOD_TRAP_REPRESS {
            return MadResult::SUCCESS;
        }
        // The SMA does not answer SMInfo.
        if attr_id(mad) == ATTR_SM_INFO {
            return MadResult::SUCCESS;
        }
    } else if matches!(
        class,
        CLASS_PERF_MGMT | VENDOR_CLASS1 | VENDOR_CLASS2 | CLASS_CONG_MGMT
    ) {
        if method != METHOD_GET && method != METHOD_SET {
            return MadResult::SUCCESS;
        }
    } else {
        return MadResult::SUCCESS;
    }
    // Port and P_Key changes are reported by the firmware when it can; else the SMPs that
    // make them are snooped, and a LID change is told by the LID before.
    let fw_port_events = dev.caps.flags & mlx4::DEV_CAP_FLAG_PORT_MNG_CHG_EV != 0;
    let fw_sl2vl_events = dev.caps.flags2 & mlx4::DEV_CAP_FLAG2_SL_TO_VL_CHANGE_EVENT != 0;
    let prev_lid = if !fw_port_events
        && smp_class
        && method == METHOD_SET
        && attr_id(mad) == smp::IB_SMP_ATTR_PORT_INFO
    {
        let mut a = PortAttr::default();
        Mlx4Ib::query_port(dev, port, &mut a, cx).map_or(0, |()| a.lid as u16)
    } else {
        0
    };
    let mut flags = MadIfcFlags::NET_VIEW;
    if m.flags & IGNORE_MKEY != 0 {
        flags = flags | MadIfcFlags::IGNORE_MKEY;
    }
    if m.flags & IGNORE_BKEY != 0 {
        flags = flags | MadIfcFlags::IGNORE_BKEY;
    }
    let wc = m.wc.map(|w| MadWc {
        qp_num: w.qp_num,
        src_qp: w.src_qp,
        sl: w.sl,
        dlid_path_bits: w.dlid_path_bits,
        has_grh: w.has_grh,
        pkey_index: w.pkey_index,
        slid: w.slid as u16,
    });
    if dev
        .mdev()
        .mad_ifc(port, flags, wc.as_ref(), m.grh, mad, out.mad)
        .is_err()
    {
        return MadResult::FAILURE;
    }
    let status = u16::from_be_bytes([out.mad[4], out.mad[5]]);
    if status == 0 {
        snoop(
            dev,
            port,
            smp::snoop(mad, fw_port_events, fw_sl2vl_events),
            prev_lid,
        );
    }
    if status == 0
        && smp_class
        && out.mad[3] == METHOD_GET_RESP
        && attr_id(out.mad) == smp::IB_SMP_ATTR_NODE_DESC
    {
        // The node description is the device's, which `modify_device` may have changed.
        out.mad[smp::DATA_OFF..smp::DATA_OFF + 64].copy_from_slice(&dev.node_desc());
    }
    if class == smp::IB_MGMT_CLASS_SUBN_DIRECTED_ROUTE {
        // The direction bit of directed-route responses.
        out.mad[4] |= 0x80;
    }
    if method == METHOD_TRAP_REPRESS {
        // No response to a trap repress.
        return MadResult::CONSUMED;
    }
    MadResult::REPLY
}

/// Acts on what a SubnSet changed (`smp_snoop` of a native function).
fn snoop(dev: &Dev<Mlx4Ib>, port: u32, what: Snooped, prev_lid: u16) {
    match what {
        Snooped::Nothing => {}
        Snooped::PortInfo { lid, client_rereg } => {
            if client_rereg {
                dev.dispatch_event(port, DeviceEvent::ClientReregister);
            }
            if prev_lid != lid {
                dev.dispatch_event(port, DeviceEvent::LidChange);
            }
        }
        Snooped::PkeyTable => dev.dispatch_event(port, DeviceEvent::PkeyChange),
        Snooped::GuidInfo => dev.dispatch_event(port, DeviceEvent::GidChange),
        Snooped::SlToVl(table) => dev.set_sl2vl(port, table),
    }
}

/// `mlx4_ib_modify_port`: the new capability mask, and a Q_Key violation counter reset, go
/// to the port with `SET_PORT`.
pub(crate) fn modify_port(
    dev: &Dev<Mlx4Ib>,
    port: u32,
    m: &PortModify,
    cx: &Sleepable<'_>,
) -> Result {
    let _g = dev.cap_mask_lock.lock();
    let mut a = PortAttr::default();
    Mlx4Ib::query_port(dev, port, &mut a, cx)?;
    let cap_mask = (a.port_cap_flags | m.set_port_cap_mask) & !m.clr_port_cap_mask;
    dev.mdev()
        .set_port_cap_mask(port, m.mask & PORT_RESET_QKEY_CNTR != 0, cap_mask)
}
