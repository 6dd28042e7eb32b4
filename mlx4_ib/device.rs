// SPDX-License-Identifier: GPL-2.0

//! The RDMA device of an HCA (C: drivers/infiniband/hw/mlx4/main.c): what the device keeps,
//! its attributes and those of its ports, as the C driver reads them through MAD_IFC.

use crate::ah::Mlx4Ah;
use crate::cq::Mlx4Cq;
use crate::hw::{abi, qpc, sizing, smp, wqe};
use crate::mr::Mlx4Mr;
use crate::pd::Mlx4Pd;
use crate::qp::{Mlx4Qp, QpQueues};
use crate::rust_bindings::mlx4::{self, Caps, DevRef, MadIfcFlags, Pd, Uar, UarMap};
use crate::rust_bindings::rdma::provider::{
    self, device_cap, kernel_cap, DeviceAttr, Driver, LinkLayer, MadIn, MadOut, MadResult,
    PortAttr, PortImmutable, PortModify, Sleepable, SysfsAttr, SysfsBuf, UData, CORE_PORT_IBA_IB,
    MGMT_MAD_SIZE,
};
use crate::rust_bindings::sync::{new_spinlock_irq, SpinLockIrq};
use crate::srq::Mlx4Srq;
use crate::ucontext::Mlx4UContext;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::rbtree::RBTree;
use kernel::sync::{Arc, Mutex};

/// `MLX4_MAX_SGE_RD`.
const MAX_SGE_RD: u32 = 30;
/// `MLX4_MAX_FAST_REG_PAGES`.
const MAX_FAST_REG_PAGES: u32 = 511;
/// The first ConnectX revision, without LSO (`MLX4_IB_CARD_REV_A0`; mlx4_ib keeps NodeInfo's
/// revision in a `u8`).
const REV_A0: u8 = 0xa0;

/// An HCA registered with the RDMA core (`struct mlx4_ib_dev`).
#[pin_data(PinnedDrop)]
pub(crate) struct Mlx4Ib {
    /// The HCA as mlx4_core describes it.
    mdev: DevRef,
    /// The hardware revision NodeInfo reports (`init_node_data` keeps it as `rev_id`).
    pub(crate) hw_rev: u32,
    /// Its capabilities, read once at probe.
    pub(crate) caps: Caps,
    /// Completion vectors.
    pub(crate) num_comp_vectors: u32,
    /// The protection domain of the driver's own objects.
    pub(crate) priv_pd: Pd,
    /// The UAR page of kernel queues, and its mapping.
    pub(crate) uar_map: UarMap,
    pub(crate) uar: Uar,
    /// The SL to VL table of each port (`sl2vl`), as `sl_to_vl` reads it.
    sl2vl: [AtomicU64; 2],
    /// Serialises capability mask changes (`cap_mask_mutex`).
    #[pin]
    pub(crate) cap_mask_lock: Mutex<()>,
    /// The QPs that completions may name, by hardware QP number.
    #[pin]
    qps: SpinLockIrq<RBTree<u32, Arc<QpQueues>>>,
}

impl Mlx4Ib {
    /// Sets up the driver's resources of the HCA (the part of `mlx4_ib_probe` before
    /// registration).
    pub(crate) fn new(mdev: &mlx4::Dev, hw_rev: u32) -> Result<impl PinInit<Self, Error> + '_> {
        let caps = mdev.caps();
        let uar = Uar::new(mdev)?;
        let uar_map = UarMap::new(&uar)?;
        let mut sl2vl = [0u64; 2];
        for port in 1..=caps.num_ports.min(2) {
            // A table the SMA does not give is all VL 0, as in the C driver.
            let mut out = [0u8; 256];
            if mdev
                .mad_ifc(
                    port,
                    MadIfcFlags::IGNORE_KEYS,
                    None,
                    None,
                    &smp::query_sl2vl(),
                    &mut out,
                )
                .is_ok()
            {
                sl2vl[port as usize - 1] = u64::from_ne_bytes(smp::sl2vl(smp::data(&out)));
            }
        }
        Ok(try_pin_init!(Self {
            mdev: mdev.to_ref(),
            hw_rev,
            num_comp_vectors: caps.num_comp_vectors.max(1),
            caps,
            priv_pd: Pd::new(mdev)?,
            uar_map,
            uar,
            sl2vl: [AtomicU64::new(sl2vl[0]), AtomicU64::new(sl2vl[1])],
            cap_mask_lock <- new_mutex!((), "mlx4_ib_cap_mask"),
            qps <- new_spinlock_irq!(RBTree::new(), "mlx4_ib_qp_table"),
        }? Error))
    }

    /// The VL of `sl` on `port` (`sl_to_vl`), from the cached table (any context).
    pub(crate) fn sl_to_vl(&self, port: u32, sl: u8) -> u8 {
        let t = self
            .sl2vl
            .get((port as usize).wrapping_sub(1))
            .map_or(0, |a| a.load(Ordering::Relaxed));
        smp::sl_to_vl(&t.to_ne_bytes(), sl)
    }

    /// Caches a new SL to VL table of `port` (a port management change event).
    pub(crate) fn set_sl2vl(&self, port: u32, table: [u8; 8]) {
        if let Some(a) = self.sl2vl.get((port as usize).wrapping_sub(1)) {
            a.store(u64::from_ne_bytes(table), Ordering::Relaxed);
        }
    }

    /// The device facts a QP modify reads.
    pub(crate) fn qpc_caps(&self) -> qpc::Caps {
        let c = &self.caps;
        qpc::Caps {
            num_ports: c.num_ports as u8,
            pkey_table_len: [c.pkey_table_len(1) as u16, c.pkey_table_len(2) as u16],
            gid_table_len: [c.gid_table_len(1), c.gid_table_len(2)],
            max_qp_init_rdma: c.max_qp_init_rdma,
            max_qp_dest_rdma: c.max_qp_dest_rdma,
            max_msg_sz: c.max_msg_sz,
            max_gso_sz: c.max_gso_sz,
            stat_rate_support: c.stat_rate_support,
            default_counter: [None, None],
            sink_counter_index: c.max_counters.wrapping_sub(1) as u8,
        }
    }

    /// The device facts QP sizing reads.
    pub(crate) fn sizing_caps(&self) -> sizing::DevCaps {
        let c = &self.caps;
        sizing::DevCaps {
            max_wqes: c.max_wqes,
            max_sq_sg: c.max_sq_sg,
            max_rq_sg: c.max_rq_sg,
            max_sq_desc_sz: c.max_sq_desc_sz,
        }
    }

    /// The uverbs ABI version the device was registered with.
    pub(crate) fn uverbs_abi(&self) -> u32 {
        crate::driver::uverbs_abi(&self.caps)
    }

    /// The HCA as mlx4_core describes it.
    pub(crate) fn mdev(&self) -> &mlx4::Dev {
        &self.mdev
    }

    /// Registers the data path of a QP under its hardware number.
    pub(crate) fn insert_qp(&self, q: Arc<QpQueues>) -> Result {
        let node = kernel::rbtree::RBTreeNode::new(q.qpn, q, GFP_KERNEL)?;
        self.qps.lock().insert(node);
        Ok(())
    }

    /// Forgets a QP; called with its CQs cleaned.
    pub(crate) fn remove_qp(&self, qpn: u32) {
        let old = self.qps.lock().remove(&qpn);
        drop(old);
    }

    /// Finds the data path of QP `qpn` (any context).
    pub(crate) fn lookup_qp(&self, qpn: u32) -> Option<Arc<QpQueues>> {
        self.qps.lock().get(&qpn).cloned()
    }

    /// Sends a subnet-management Get to the SMA of `port` (`mlx4_MAD_IFC`, keys ignored).
    pub(crate) fn query_smp(
        &self,
        port: u32,
        attr_id: u16,
        attr_mod: u32,
        cx: &Sleepable<'_>,
    ) -> Result<[u8; 256]> {
        let _ = cx;
        let mut out = [0u8; 256];
        self.mdev.mad_ifc(
            port,
            MadIfcFlags::IGNORE_KEYS,
            None,
            None,
            &smp::query(attr_id, attr_mod),
            &mut out,
        )?;
        Ok(out)
    }
}

#[pinned_drop]
impl PinnedDrop for Mlx4Ib {
    fn drop(self: Pin<&mut Self>) {
        // Every QP is gone once the device is unregistered.
        let left = self.qps.lock().iter().count();
        if left != 0 {
            pr_warn!("mlx4_ib: {} QPs left at device removal\n", left);
        }
    }
}

#[vtable]
impl Driver for Mlx4Ib {
    const DRIVER_ID: u32 = provider::DRIVER_MLX4;

    type Pd = Mlx4Pd;
    type Cq = Mlx4Cq;
    type Qp = Mlx4Qp;
    type Srq = Mlx4Srq;
    type Ah = Mlx4Ah;
    type Mr = Mlx4Mr;
    type UContext = Mlx4UContext;

    fn query_device(
        dev: &provider::Dev<Self>,
        a: &mut DeviceAttr,
        uhw: Option<&UData<'_>>,
        cx: &Sleepable<'_>,
    ) -> Result {
        // The extended query's request (`struct mlx4_uverbs_ex_query_device`): no
        // `comp_mask` bits and a zero reserved word.
        let uhw = uhw.filter(|u| u.in_len() > 0 || u.out_len() > 0);
        if let Some(u) = uhw.filter(|u| u.in_len() > 0) {
            let cmd: [u32; 2] = u.copy_in(cx)?;
            if cmd != [0, 0] {
                return Err(EINVAL);
            }
        }
        let out = dev.query_smp(1, smp::IB_SMP_ATTR_NODE_INFO, 0, cx)?;
        let ni = smp::NodeInfo::parse(smp::data(&out));
        let c = &dev.caps;
        a.fw_ver = c.fw_ver;
        a.device_cap_flags = device_cap::CHANGE_PHY_PORT
            | device_cap::PORT_ACTIVE_EVENT
            | device_cap::SYS_IMAGE_GUID
            | device_cap::RC_RNR_NAK_GEN
            | device_cap::RAW_IP_CSUM;
        a.kernel_cap_flags = kernel_cap::BLOCK_MULTICAST_LOOPBACK;
        if c.flags & mlx4::DEV_CAP_FLAG_BAD_PKEY_CNTR != 0 {
            a.device_cap_flags |= device_cap::BAD_PKEY_CNTR;
        }
        if c.flags & mlx4::DEV_CAP_FLAG_BAD_QKEY_CNTR != 0 {
            a.device_cap_flags |= device_cap::BAD_QKEY_CNTR;
        }
        if c.flags & mlx4::DEV_CAP_FLAG_UD_AV_PORT != 0 {
            a.device_cap_flags |= device_cap::UD_AV_PORT_ENFORCE;
        }
        if c.flags & mlx4::DEV_CAP_FLAG_IPOIB_CSUM != 0 {
            a.device_cap_flags |= device_cap::UD_IP_CSUM;
        }
        // LSO needs the "big LSO header" bit; revision A0 had no LSO.
        if c.max_gso_sz != 0 && dev.hw_rev as u8 != REV_A0 && c.flags & mlx4::DEV_CAP_FLAG_BLH != 0
        {
            a.kernel_cap_flags |= kernel_cap::UD_TSO;
        }
        if c.bmme_flags & mlx4::BMME_FLAG_RESERVED_LKEY != 0 {
            a.kernel_cap_flags |= kernel_cap::LOCAL_DMA_LKEY;
        }
        a.vendor_id = ni.vendor_id & 0x00ff_ffff;
        a.vendor_part_id = u32::from(c.device_id);
        a.hw_ver = ni.revision;
        a.sys_image_guid = ni.sys_image_guid.to_be_bytes();
        a.max_mr_size = !0;
        a.page_size_cap = c.page_size_cap.into();
        a.max_qp = c.quota_qp;
        a.max_qp_wr = c.max_wqes - sizing::SQ_MAX_SPARE;
        a.max_send_sge = c.max_sq_sg.min(c.max_rq_sg);
        a.max_recv_sge = a.max_send_sge;
        a.max_sge_rd = MAX_SGE_RD;
        a.max_cq = c.quota_cq;
        a.max_cqe = c.max_cqes;
        a.max_mr = c.quota_mpt;
        a.max_pd = c.num_pds - c.reserved_pds;
        a.max_qp_rd_atom = c.max_qp_dest_rdma;
        a.max_qp_init_rd_atom = c.max_qp_init_rdma;
        a.max_res_rd_atom = a.max_qp_rd_atom * a.max_qp;
        a.max_srq = c.quota_srq;
        a.max_srq_wr = c.max_srq_wqes.saturating_sub(1);
        a.max_srq_sge = c.max_srq_sge;
        a.max_fast_reg_page_list_len = MAX_FAST_REG_PAGES;
        a.local_ca_ack_delay = c.local_ca_ack_delay as u8;
        a.atomic_cap = if c.flags & mlx4::DEV_CAP_FLAG_ATOMIC != 0 {
            provider::ATOMIC_HCA
        } else {
            provider::ATOMIC_NONE
        };
        a.masked_atomic_cap = a.atomic_cap;
        a.max_pkeys = c.pkey_table_len(1) as u16;
        a.max_mcast_grp = c.num_mgms + c.num_amgms;
        a.max_mcast_qp_attach = c.num_qp_per_mgm;
        a.max_total_mcast_qp_attach = a.max_mcast_qp_attach * a.max_mcast_grp;
        a.hca_core_clock = u64::from(c.hca_core_clock) * 1000;
        a.timestamp_mask = 0xffff_ffff_ffff;
        a.max_ah = i32::MAX as u32;
        // `MLX4_MAX_CQ_COUNT`, `MLX4_MAX_CQ_PERIOD`.
        a.max_cq_moderation_count = u16::MAX;
        a.max_cq_moderation_period = u16::MAX;
        // The extended response (`struct mlx4_uverbs_ex_query_device_resp`): the clock's
        // offset in its page, the inline receive size; no RSS. TSO for raw packet QPs when a
        // port is Ethernet, as C decides it: it asks ports 1 and 2, and takes a port the
        // device does not have (`port_mask` 0, not InfiniBand) for Ethernet, so a one-port
        // InfiniBand HCA with LSO reports it too.
        let eth = |p: u32| c.port_mask(p) != mlx4::PortType::Ib;
        let max_tso = (c.max_gso_sz != 0 && (eth(1) || eth(2))).then_some(c.max_gso_sz);
        if let Some(u) = uhw.filter(|u| u.out_len() > 0) {
            let (b, n) = abi::query_device_resp(
                u.out_len(),
                dev.mdev().clock_offset().ok(),
                c.max_rq_sg * wqe::DS as u32,
                max_tso,
            );
            u.respond_bytes(&b[..n], cx)?;
        }
        Ok(())
    }

    fn query_port(
        dev: &provider::Dev<Self>,
        port: u32,
        a: &mut PortAttr,
        cx: &Sleepable<'_>,
    ) -> Result {
        let out = dev.query_smp(port, smp::IB_SMP_ATTR_PORT_INFO, port, cx)?;
        let pi = smp::PortInfo::parse(smp::data(&out));
        let ext = if pi.needs_ext_port_info() {
            Some(dev.query_smp(port, smp::MLX4_ATTR_EXTENDED_PORT_INFO, port, cx)?)
        } else {
            None
        };
        let c = &dev.caps;
        let p = pi.attrs(
            ext.as_ref().map(|e| smp::data(e)),
            &smp::PortCaps {
                gid_tbl_len: c.gid_table_len(port),
                pkey_tbl_len: c.pkey_table_len(port) as u16,
                max_msg_sz: c.max_msg_sz,
            },
        );
        a.lid = u32::from(p.lid);
        a.lmc = p.lmc;
        a.sm_lid = u32::from(p.sm_lid);
        a.sm_sl = p.sm_sl;
        a.state = u32::from(p.state);
        a.phys_state = p.phys_state;
        a.port_cap_flags = p.port_cap_flags;
        a.gid_tbl_len = p.gid_tbl_len;
        a.max_msg_sz = p.max_msg_sz;
        a.pkey_tbl_len = p.pkey_tbl_len;
        a.bad_pkey_cntr = u32::from(p.bad_pkey_cntr);
        a.qkey_viol_cntr = u32::from(p.qkey_viol_cntr);
        a.active_width = p.active_width;
        a.active_speed = p.active_speed;
        a.max_mtu = u32::from(p.max_mtu);
        a.active_mtu = u32::from(p.active_mtu);
        a.subnet_timeout = p.subnet_timeout;
        a.max_vl_num = p.max_vl_num;
        a.init_type_reply = p.init_type_reply;
        Ok(())
    }

    fn port_immutable(
        dev: &provider::Dev<Self>,
        port: u32,
        cx: &Sleepable<'_>,
    ) -> Result<PortImmutable> {
        let mut a = PortAttr::default();
        Self::query_port(dev, port, &mut a, cx)?;
        Ok(PortImmutable {
            pkey_tbl_len: u32::from(a.pkey_tbl_len),
            gid_tbl_len: a.gid_tbl_len,
            core_cap_flags: CORE_PORT_IBA_IB,
            max_mad_size: MGMT_MAD_SIZE,
        })
    }

    fn link_layer(_dev: &provider::Dev<Self>, _port: u32) -> LinkLayer {
        // Only HCAs whose ports are all InfiniBand are bound.
        LinkLayer::Infiniband
    }

    fn query_gid(
        dev: &provider::Dev<Self>,
        port: u32,
        index: u32,
        cx: &Sleepable<'_>,
    ) -> Result<[u8; 16]> {
        let pi = dev.query_smp(port, smp::IB_SMP_ATTR_PORT_INFO, port, cx)?;
        let guids = dev.query_smp(port, smp::IB_SMP_ATTR_GUID_INFO, index / 8, cx)?;
        Ok(smp::gid(smp::data(&pi), smp::data(&guids), index))
    }

    fn query_pkey(
        dev: &provider::Dev<Self>,
        port: u32,
        index: u16,
        cx: &Sleepable<'_>,
    ) -> Result<u16> {
        let t = dev.query_smp(port, smp::IB_SMP_ATTR_PKEY_TABLE, u32::from(index / 32), cx)?;
        Ok(smp::pkey(smp::data(&t), index))
    }

    fn modify_node_desc(dev: &provider::Dev<Self>, desc: &[u8; 64], _cx: &Sleepable<'_>) -> Result {
        // The firmware learns it too, for trap 144; like C, a failure there is ignored (the
        // description is the core's, which NodeDescription replies carry).
        if let Err(e) = dev.mdev().set_node(desc) {
            pr_debug!("{}: SET_NODE failed ({:?})\n", dev.name(), e);
        }
        Ok(())
    }

    fn fw_version(dev: &provider::Dev<Self>, buf: &mut [u8]) {
        let (a, b, c) = dev.caps.fw_version();
        let mut w = Cursor { buf, len: 0 };
        let _ = core::fmt::write(&mut w, format_args!("{a}.{b}.{c}"));
    }

    fn sysfs_show(dev: &provider::Dev<Self>, which: SysfsAttr, out: &mut SysfsBuf<'_>) -> Result {
        use core::fmt::Write;
        let c = &dev.caps;
        match which {
            SysfsAttr::HwRev => writeln!(out, "{:x}", dev.hw_rev),
            SysfsAttr::HcaType => writeln!(out, "MT{}", c.device_id),
            SysfsAttr::BoardId => {
                let n = c
                    .board_id
                    .iter()
                    .position(|&b| b == 0)
                    .unwrap_or(c.board_id.len());
                let id = core::str::from_utf8(&c.board_id[..n]).unwrap_or("");
                writeln!(out, "{id}")
            }
        }
        .map_err(|_| EINVAL)
    }

    fn modify_port(
        dev: &provider::Dev<Self>,
        port: u32,
        m: &PortModify,
        cx: &Sleepable<'_>,
    ) -> Result {
        crate::mad::modify_port(dev, port, m, cx)
    }

    fn process_mad(
        dev: &provider::Dev<Self>,
        port: u32,
        m: &MadIn<'_>,
        out: &mut MadOut<'_>,
        cx: &Sleepable<'_>,
    ) -> MadResult {
        crate::mad::process_mad(dev, port, m, out, cx)
    }
}

/// Formats into a byte buffer, keeping the last byte for the NUL.
struct Cursor<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len().saturating_sub(1 + self.len);
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if let Some(b) = self.buf.get_mut(self.len) {
            *b = 0;
        }
        Ok(())
    }
}
