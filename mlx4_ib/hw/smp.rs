// SPDX-License-Identifier: GPL-2.0

//! Subnet management packets for MAD_IFC: the LID-routed Get requests mlx4_ib sends its own
//! HCA and the attributes it reads from the answers (C: `struct ib_smp`, `struct ib_node_info`,
//! `struct ib_port_info` and `ib_init_query_mad` in `include/rdma/ib_smi.h`;
//! `mlx4_ib_query_device`, `ib_link_query_port`, `__mlx4_ib_query_gid`,
//! `__mlx4_ib_query_pkey`, `mlx4_ib_query_sl2vl` and `init_node_data` in main.c; `sl_to_vl` in
//! qp.c).
//!
//! A MAD is 256 bytes; an SMP carries its attribute in the 64 bytes at [`DATA_OFF`]. Parsers
//! take those 64 bytes and read them at the offsets C reads (`out_mad->data + N`), which are
//! the InfiniBand specification's. The MAD_IFC command itself is the caller's.

use super::{be16, be32, be64, put_be16, put_be32};

/// Bytes of a MAD.
pub(crate) const MAD_SIZE: usize = 256;
/// Offset of an SMP's attribute data.
pub(crate) const DATA_OFF: usize = 64;
/// Bytes of an SMP's attribute data (`IB_SMP_DATA_SIZE`).
pub(crate) const DATA_SIZE: usize = 64;

/// Offset of the attribute ID in a MAD (be16).
pub(crate) const ATTR_ID_OFF: usize = 16;
/// Offset of the attribute modifier in a MAD (be32).
pub(crate) const ATTR_MOD_OFF: usize = 20;

/// The MAD base version (`IB_MGMT_BASE_VERSION`).
pub(crate) const IB_MGMT_BASE_VERSION: u8 = 1;
/// Management class: LID-routed subnet management (`IB_MGMT_CLASS_SUBN_LID_ROUTED`).
pub(crate) const IB_MGMT_CLASS_SUBN_LID_ROUTED: u8 = 0x01;
/// Management class: directed-route subnet management.
pub(crate) const IB_MGMT_CLASS_SUBN_DIRECTED_ROUTE: u8 = 0x81;
/// Method: Get (`IB_MGMT_METHOD_GET`).
pub(crate) const IB_MGMT_METHOD_GET: u8 = 0x01;
/// Method: Set.
pub(crate) const IB_MGMT_METHOD_SET: u8 = 0x02;

/// Attribute: NodeDescription (`IB_SMP_ATTR_NODE_DESC`).
pub(crate) const IB_SMP_ATTR_NODE_DESC: u16 = 0x0010;
/// Attribute: NodeInfo.
pub(crate) const IB_SMP_ATTR_NODE_INFO: u16 = 0x0011;
/// Attribute: GUIDInfo, 8 GUIDs a block.
pub(crate) const IB_SMP_ATTR_GUID_INFO: u16 = 0x0014;
/// Attribute: PortInfo.
pub(crate) const IB_SMP_ATTR_PORT_INFO: u16 = 0x0015;
/// Attribute: P_KeyTable, 32 P_Keys a block.
pub(crate) const IB_SMP_ATTR_PKEY_TABLE: u16 = 0x0016;
/// Attribute: SLtoVLMappingTable.
pub(crate) const IB_SMP_ATTR_SL_TO_VL_TABLE: u16 = 0x0017;
/// Attribute: Mellanox ExtendedPortInfo (`MLX4_ATTR_EXTENDED_PORT_INFO`).
pub(crate) const MLX4_ATTR_EXTENDED_PORT_INFO: u16 = 0xff90;

/// Port capability: extended link speeds are reported (`IB_PORT_EXTENDED_SPEEDS_SUP`).
pub(crate) const IB_PORT_EXTENDED_SPEEDS_SUP: u32 = 1 << 14;
/// Port state: down (`IB_PORT_DOWN`).
pub(crate) const IB_PORT_DOWN: u8 = 1;
/// Port state: active (`IB_PORT_ACTIVE`).
pub(crate) const IB_PORT_ACTIVE: u8 = 4;

/// Link speed: 2.5 Gb/s a lane (`IB_SPEED_SDR`).
pub(crate) const IB_SPEED_SDR: u16 = 1;
/// Link speed: 5 Gb/s a lane.
pub(crate) const IB_SPEED_DDR: u16 = 2;
/// Link speed: 10 Gb/s a lane.
pub(crate) const IB_SPEED_QDR: u16 = 4;
/// Link speed: 10.3125 Gb/s a lane (Mellanox FDR-10).
pub(crate) const IB_SPEED_FDR10: u16 = 8;
/// Link speed: 14 Gb/s a lane.
pub(crate) const IB_SPEED_FDR: u16 = 16;
/// Link speed: 25 Gb/s a lane.
pub(crate) const IB_SPEED_EDR: u16 = 32;

/// A LID-routed Get of attribute `attr_id` with modifier `attr_mod`, zero elsewhere (a zeroed
/// MAD after `ib_init_query_mad`).
pub(crate) fn query(attr_id: u16, attr_mod: u32) -> [u8; MAD_SIZE] {
    let mut mad = [0; MAD_SIZE];
    mad[0] = IB_MGMT_BASE_VERSION;
    mad[1] = IB_MGMT_CLASS_SUBN_LID_ROUTED;
    mad[2] = 1;
    mad[3] = IB_MGMT_METHOD_GET;
    put_be16(&mut mad, ATTR_ID_OFF, attr_id);
    put_be32(&mut mad, ATTR_MOD_OFF, attr_mod);
    mad
}

/// The Get of NodeInfo (`mlx4_ib_query_device`, `init_node_data`).
pub(crate) fn query_node_info() -> [u8; MAD_SIZE] {
    query(IB_SMP_ATTR_NODE_INFO, 0)
}

/// The Get of NodeDescription (`init_node_data`).
pub(crate) fn query_node_desc() -> [u8; MAD_SIZE] {
    query(IB_SMP_ATTR_NODE_DESC, 0)
}

/// The Get of PortInfo of `port` (`ib_link_query_port`, `__mlx4_ib_query_gid`).
pub(crate) fn query_port_info(port: u8) -> [u8; MAD_SIZE] {
    query(IB_SMP_ATTR_PORT_INFO, u32::from(port))
}

/// The Get of ExtendedPortInfo of `port`, which says whether a QDR link runs FDR-10.
pub(crate) fn query_ext_port_info(port: u8) -> [u8; MAD_SIZE] {
    query(MLX4_ATTR_EXTENDED_PORT_INFO, u32::from(port))
}

/// The Get of the GUIDInfo block holding GID `index`.
pub(crate) fn query_guid_info(index: u32) -> [u8; MAD_SIZE] {
    query(IB_SMP_ATTR_GUID_INFO, index / 8)
}

/// The Get of the P_KeyTable block holding P_Key `index`.
pub(crate) fn query_pkey_table(index: u16) -> [u8; MAD_SIZE] {
    query(IB_SMP_ATTR_PKEY_TABLE, u32::from(index / 32))
}

/// The Get of the SL-to-VL table (`mlx4_ib_query_sl2vl`).
pub(crate) fn query_sl2vl() -> [u8; MAD_SIZE] {
    query(IB_SMP_ATTR_SL_TO_VL_TABLE, 0)
}

/// The attribute data of SMP `mad`.
pub(crate) fn data(mad: &[u8]) -> &[u8] {
    &mad[DATA_OFF..DATA_OFF + DATA_SIZE]
}

/// NodeInfo (`struct ib_node_info`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct NodeInfo {
    /// 1: a channel adapter.
    pub(crate) node_type: u8,
    /// Physical ports.
    pub(crate) num_ports: u8,
    /// The system image GUID (the value of the big-endian field).
    pub(crate) sys_image_guid: u64,
    /// The node GUID.
    pub(crate) node_guid: u64,
    /// The GUID of the port the SMP was answered on.
    pub(crate) port_guid: u64,
    /// P_Keys a port's table holds.
    pub(crate) partition_cap: u16,
    /// The device ID.
    pub(crate) device_id: u16,
    /// The device revision: `hw_ver` of the device, `rev_id` of mlx4.
    pub(crate) revision: u32,
    /// The port the SMP was answered on.
    pub(crate) local_port_num: u8,
    /// The IEEE OUI of the vendor (24 bits): `vendor_id` of the device.
    pub(crate) vendor_id: u32,
}

impl NodeInfo {
    /// Reads NodeInfo from SMP data.
    pub(crate) fn parse(d: &[u8]) -> Self {
        Self {
            node_type: d[2],
            num_ports: d[3],
            sys_image_guid: be64(d, 4),
            node_guid: be64(d, 12),
            port_guid: be64(d, 20),
            partition_cap: be16(d, 28),
            device_id: be16(d, 30),
            revision: be32(d, 32),
            local_port_num: d[36],
            vendor_id: be32(d, 36) & 0xff_ffff,
        }
    }
}

/// NodeDescription: 64 bytes of text, as `init_node_data` copies them.
pub(crate) fn node_desc(d: &[u8]) -> [u8; 64] {
    let mut desc = [0; 64];
    desc.copy_from_slice(&d[..64]);
    desc
}

/// The PortInfo fields mlx4_ib reads (`struct ib_port_info`; the extended speed at byte 62).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PortInfo {
    /// The GID prefix, the first half of every GID of the port (raw bytes 8 to 15).
    pub(crate) gid_prefix: [u8; 8],
    /// The port's base LID.
    pub(crate) lid: u16,
    /// The subnet manager's LID.
    pub(crate) sm_lid: u16,
    /// The capability mask (`IB_PORT_*`).
    pub(crate) cap_mask: u32,
    /// The active link width (`IB_WIDTH_*`).
    pub(crate) link_width_active: u8,
    /// The logical port state (`enum ib_port_state`).
    pub(crate) port_state: u8,
    /// The physical port state (`enum ib_port_phys_state`).
    pub(crate) phys_state: u8,
    /// The LID mask count.
    pub(crate) lmc: u8,
    /// The active link speed (`IB_SPEED_*` up to QDR).
    pub(crate) link_speed_active: u8,
    /// The active MTU (`enum ib_mtu`).
    pub(crate) neighbor_mtu: u8,
    /// The subnet manager's SL.
    pub(crate) master_sm_sl: u8,
    /// The data VLs supported (a code: 1 for VL0, 2 for VL0-1, 3 for VL0-3, ...).
    pub(crate) vl_cap: u8,
    /// InitTypeReply.
    pub(crate) init_type_reply: u8,
    /// The largest MTU (`enum ib_mtu`).
    pub(crate) mtu_cap: u8,
    /// Packets dropped for a bad P_Key.
    pub(crate) pkey_violations: u16,
    /// Packets dropped for a bad Q_Key.
    pub(crate) qkey_violations: u16,
    /// GUIDs the port has.
    pub(crate) guid_cap: u8,
    /// The SM asks clients to register again.
    pub(crate) client_reregister: bool,
    /// The subnet timeout.
    pub(crate) subnet_timeout: u8,
    /// The active extended link speed: 1 FDR, 2 EDR (valid with
    /// [`IB_PORT_EXTENDED_SPEEDS_SUP`]).
    pub(crate) link_speed_ext_active: u8,
}

/// The port facts `ib_link_query_port` takes from the device rather than PortInfo.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PortCaps {
    /// GIDs of the port (`caps.gid_table_len[port]`).
    pub(crate) gid_tbl_len: u32,
    /// P_Keys of the port (`caps.pkey_table_len[port]`).
    pub(crate) pkey_tbl_len: u16,
    /// The largest message (`caps.max_msg_sz`).
    pub(crate) max_msg_sz: u32,
}

/// The port attributes `ib_link_query_port` fills (`struct ib_port_attr`), host view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PortAttrs {
    /// Base LID.
    pub(crate) lid: u16,
    /// LID mask count.
    pub(crate) lmc: u8,
    /// The SM's LID.
    pub(crate) sm_lid: u16,
    /// The SM's SL.
    pub(crate) sm_sl: u8,
    /// Logical port state.
    pub(crate) state: u8,
    /// Physical port state.
    pub(crate) phys_state: u8,
    /// Capability mask.
    pub(crate) port_cap_flags: u32,
    /// GID table length.
    pub(crate) gid_tbl_len: u32,
    /// Largest message.
    pub(crate) max_msg_sz: u32,
    /// P_Key table length.
    pub(crate) pkey_tbl_len: u16,
    /// Bad P_Key counter.
    pub(crate) bad_pkey_cntr: u16,
    /// Q_Key violation counter.
    pub(crate) qkey_viol_cntr: u16,
    /// Active width.
    pub(crate) active_width: u8,
    /// Active speed (`IB_SPEED_*`).
    pub(crate) active_speed: u16,
    /// Largest MTU.
    pub(crate) max_mtu: u8,
    /// Active MTU.
    pub(crate) active_mtu: u8,
    /// Subnet timeout.
    pub(crate) subnet_timeout: u8,
    /// Data VLs (the VLCap code).
    pub(crate) max_vl_num: u8,
    /// InitTypeReply.
    pub(crate) init_type_reply: u8,
}

impl PortInfo {
    /// Reads PortInfo from SMP data, with C's masks.
    pub(crate) fn parse(d: &[u8]) -> Self {
        let mut gid_prefix = [0; 8];
        gid_prefix.copy_from_slice(&d[8..16]);
        Self {
            gid_prefix,
            lid: be16(d, 16),
            sm_lid: be16(d, 18),
            cap_mask: be32(d, 20),
            link_width_active: d[31] & 0xf,
            port_state: d[32] & 0xf,
            phys_state: d[33] >> 4,
            lmc: d[34] & 0x7,
            link_speed_active: d[35] >> 4,
            neighbor_mtu: d[36] >> 4,
            master_sm_sl: d[36] & 0xf,
            vl_cap: d[37] >> 4,
            init_type_reply: d[41] >> 4,
            mtu_cap: d[41] & 0xf,
            pkey_violations: be16(d, 46),
            qkey_violations: be16(d, 48),
            guid_cap: d[50],
            client_reregister: d[51] & 0x80 != 0,
            subnet_timeout: d[51] & 0x1f,
            link_speed_ext_active: d[62] >> 4,
        }
    }

    /// The active speed before the FDR-10 check: the extended speed where the port reports one
    /// (FDR or EDR), else the base speed.
    pub(crate) fn speed(&self) -> u16 {
        let speed = u16::from(self.link_speed_active);
        if self.cap_mask & IB_PORT_EXTENDED_SPEEDS_SUP == 0 {
            return speed;
        }
        match self.link_speed_ext_active {
            1 => IB_SPEED_FDR,
            2 => IB_SPEED_EDR,
            _ => speed,
        }
    }

    /// Whether C asks ExtendedPortInfo too ([`query_ext_port_info`]): the speed is QDR, which
    /// may be FDR-10. C asks even when the port is down, and fails the query if that fails.
    pub(crate) fn needs_ext_port_info(&self) -> bool {
        self.speed() == IB_SPEED_QDR
    }

    /// The attributes `ib_link_query_port` reports, given the ExtendedPortInfo data when
    /// [`Self::needs_ext_port_info`] (otherwise ignored). A port that is down reports SDR.
    pub(crate) fn attrs(&self, ext: Option<&[u8]>, caps: &PortCaps) -> PortAttrs {
        let mut speed = self.speed();
        if speed == IB_SPEED_QDR && ext.is_some_and(ext_is_fdr10) {
            speed = IB_SPEED_FDR10;
        }
        if self.port_state == IB_PORT_DOWN {
            speed = IB_SPEED_SDR;
        }
        PortAttrs {
            lid: self.lid,
            lmc: self.lmc,
            sm_lid: self.sm_lid,
            sm_sl: self.master_sm_sl,
            state: self.port_state,
            phys_state: self.phys_state,
            port_cap_flags: self.cap_mask,
            gid_tbl_len: caps.gid_tbl_len,
            max_msg_sz: caps.max_msg_sz,
            pkey_tbl_len: caps.pkey_tbl_len,
            bad_pkey_cntr: self.pkey_violations,
            qkey_viol_cntr: self.qkey_violations,
            active_width: self.link_width_active,
            active_speed: speed,
            max_mtu: self.mtu_cap,
            active_mtu: self.neighbor_mtu,
            subnet_timeout: self.subnet_timeout,
            max_vl_num: self.vl_cap,
            init_type_reply: self.init_type_reply,
        }
    }
}

/// Whether ExtendedPortInfo data says the link runs FDR-10 (LinkSpeedActive, bit 0 of byte
/// 15).
pub(crate) fn ext_is_fdr10(d: &[u8]) -> bool {
    d[15] & 0x1 != 0
}

/// The 8 GUIDs of a GUIDInfo block, each as the raw bytes of the GID's second half.
pub(crate) fn guid_info(d: &[u8]) -> [[u8; 8]; 8] {
    let mut guids = [[0; 8]; 8];
    for (i, g) in guids.iter_mut().enumerate() {
        g.copy_from_slice(&d[i * 8..i * 8 + 8]);
    }
    guids
}

/// GID `index` of a port from the PortInfo data and the data of the GUIDInfo block holding
/// the index (`__mlx4_ib_query_gid` of a native function).
pub(crate) fn gid(port_info: &[u8], guid_info: &[u8], index: u32) -> [u8; 16] {
    let mut gid = [0; 16];
    gid[..8].copy_from_slice(&port_info[8..16]);
    // `index % 8` is below 8.
    let off = (index % 8) as usize * 8;
    gid[8..].copy_from_slice(&guid_info[off..off + 8]);
    gid
}

/// The 32 P_Keys of a P_KeyTable block.
pub(crate) fn pkey_table(d: &[u8]) -> [u16; 32] {
    let mut pkeys = [0; 32];
    for (i, p) in pkeys.iter_mut().enumerate() {
        *p = be16(d, i * 2);
    }
    pkeys
}

/// P_Key `index` from the data of the P_KeyTable block holding it (`__mlx4_ib_query_pkey`).
pub(crate) fn pkey(d: &[u8], index: u16) -> u16 {
    be16(d, usize::from(index % 32) * 2)
}

/// The SL-to-VL table from its SMP data: 16 four-bit VLs, SL 0 in the high half of byte 0.
pub(crate) fn sl2vl(d: &[u8]) -> [u8; 8] {
    let mut t = [0; 8];
    t.copy_from_slice(&d[..8]);
    t
}

/// The VL of `sl` in `table` (`sl_to_vl`); 15 for an SL past 15.
pub(crate) fn sl_to_vl(table: &[u8; 8], sl: u8) -> u8 {
    if sl > 15 {
        return 0xf;
    }
    let vl = table[usize::from(sl >> 1)];
    if sl & 1 != 0 {
        vl & 0x0f
    } else {
        vl >> 4
    }
}

/// What a SubnSet the SMA accepted tells the driver (`smp_snoop`), where the firmware does
/// not report it as a port management change event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Snooped {
    /// Nothing to act on.
    Nothing,
    /// PortInfo: the port's new LID and whether the SM asked clients to reregister.
    PortInfo { lid: u16, client_rereg: bool },
    /// A P_Key table block.
    PkeyTable,
    /// A GUID table block.
    GuidInfo,
    /// The SL-to-VL table.
    SlToVl([u8; 8]),
}

/// Byte of PortInfo holding ClientReregister (bit 7).
const PORT_INFO_CLIENT_REREG: usize = 51;

/// Reads what the SubnSet `mad` changes (`smp_snoop`): nothing for other MADs, and nothing
/// the firmware reports itself: `fw_port_events` (`MLX4_DEV_CAP_FLAG_PORT_MNG_CHG_EV`) covers
/// PortInfo, P_Keys and GUIDs, with `fw_sl2vl_events` (`MLX4_DEV_CAP_FLAG2_SL_TO_VL_CHANGE_EVENT`)
/// also the SL-to-VL table.
pub(crate) fn snoop(mad: &[u8], fw_port_events: bool, fw_sl2vl_events: bool) -> Snooped {
    let class = mad[1];
    if (class != IB_MGMT_CLASS_SUBN_LID_ROUTED && class != IB_MGMT_CLASS_SUBN_DIRECTED_ROUTE)
        || mad[3] != IB_MGMT_METHOD_SET
    {
        return Snooped::Nothing;
    }
    let d = data(mad);
    match be16(mad, ATTR_ID_OFF) {
        IB_SMP_ATTR_PORT_INFO if !fw_port_events => Snooped::PortInfo {
            lid: be16(d, 16),
            client_rereg: d[PORT_INFO_CLIENT_REREG] & 0x80 != 0,
        },
        IB_SMP_ATTR_PKEY_TABLE if !fw_port_events => Snooped::PkeyTable,
        IB_SMP_ATTR_GUID_INFO if !fw_port_events => Snooped::GuidInfo,
        IB_SMP_ATTR_SL_TO_VL_TABLE if !(fw_port_events && fw_sl2vl_events) => {
            Snooped::SlToVl(sl2vl(d))
        }
        _ => Snooped::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_requests() {
        let mad = query_port_info(2);
        let mut want = [0u8; MAD_SIZE];
        // Base version 1, LID-routed SM class, class version 1, Get.
        want[..4].copy_from_slice(&[0x01, 0x01, 0x01, 0x01]);
        // Attribute PortInfo, modifier: the port.
        want[16..18].copy_from_slice(&[0x00, 0x15]);
        want[20..24].copy_from_slice(&[0x00, 0x00, 0x00, 0x02]);
        assert_eq!(mad, want);

        let mad = query_pkey_table(70);
        assert_eq!(mad[16..18], [0x00, 0x16]);
        assert_eq!(mad[20..24], [0, 0, 0, 2]);
        let mad = query_guid_info(9);
        assert_eq!(mad[16..18], [0x00, 0x14]);
        assert_eq!(mad[20..24], [0, 0, 0, 1]);
        let mad = query_ext_port_info(1);
        assert_eq!(mad[16..18], [0xff, 0x90]);
        assert_eq!(mad[20..24], [0, 0, 0, 1]);
        assert_eq!(query_node_info()[16..24], [0, 0x11, 0, 0, 0, 0, 0, 0]);
        assert_eq!(query_node_desc()[16..18], [0, 0x10]);
        assert_eq!(query_sl2vl()[16..18], [0, 0x17]);
    }

    #[test]
    fn node_info_and_description() {
        let mut mad = [0u8; MAD_SIZE];
        let d = &mut mad[DATA_OFF..DATA_OFF + DATA_SIZE];
        // Base and class version 1, a CA with 2 ports.
        d[..4].copy_from_slice(&[0x01, 0x01, 0x01, 0x02]);
        // System image GUID, node GUID, port GUID.
        d[4..12].copy_from_slice(&[0x00, 0x02, 0xc9, 0x03, 0x00, 0x12, 0x34, 0x56]);
        d[12..20].copy_from_slice(&[0x00, 0x02, 0xc9, 0x03, 0x00, 0x12, 0x34, 0x50]);
        d[20..28].copy_from_slice(&[0x00, 0x02, 0xc9, 0x03, 0x00, 0x12, 0x34, 0x51]);
        // Partition cap 128, device ID 0x1003, revision 1, local port 1, vendor 0x0002c9.
        d[28..32].copy_from_slice(&[0x00, 0x80, 0x10, 0x03]);
        d[32..36].copy_from_slice(&[0x00, 0x00, 0x00, 0x01]);
        d[36..40].copy_from_slice(&[0x01, 0x00, 0x02, 0xc9]);
        let n = NodeInfo::parse(data(&mad));
        assert_eq!(
            n,
            NodeInfo {
                node_type: 1,
                num_ports: 2,
                sys_image_guid: 0x0002_c903_0012_3456,
                node_guid: 0x0002_c903_0012_3450,
                port_guid: 0x0002_c903_0012_3451,
                partition_cap: 128,
                device_id: 0x1003,
                revision: 1,
                local_port_num: 1,
                vendor_id: 0x0002c9,
            }
        );

        let mut d = [0u8; DATA_SIZE];
        d[..14].copy_from_slice(b"host mlx4_0\0\0\0");
        let desc = node_desc(&d);
        assert_eq!(&desc[..11], b"host mlx4_0");
        assert!(desc[11..].iter().all(|&b| b == 0));
    }

    /// PortInfo of an active 4x QDR port at LID 5 under the SM at LID 1.
    fn port_info_block() -> [u8; DATA_SIZE] {
        let mut d = [0u8; DATA_SIZE];
        // M_Key, then the GID prefix fe80::.
        d[8..16].copy_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0]);
        // LID 5, SM LID 1.
        d[16..20].copy_from_slice(&[0x00, 0x05, 0x00, 0x01]);
        // Capability mask: CM, reregistration, traps, APM, SL map, system image GUID; no
        // extended speeds.
        d[20..24].copy_from_slice(&[0x02, 0x51, 0x08, 0x68]);
        // Link width enabled/supported/active: 4x.
        d[29..32].copy_from_slice(&[0x03, 0x03, 0x02]);
        // Speed supported 7 | state ACTIVE; phys LinkUp | default polling; LMC 2;
        // speed active QDR | enabled 7.
        d[32..36].copy_from_slice(&[0x74, 0x52, 0x02, 0x47]);
        // Neighbour MTU 4096 | SM SL 3; VL cap 4 (VL0-7) | init type 0.
        d[36..38].copy_from_slice(&[0x53, 0x40]);
        // InitTypeReply 0 | MTU cap 4096.
        d[41] = 0x05;
        // M_Key, P_Key and Q_Key violations.
        d[44..50].copy_from_slice(&[0x00, 0x00, 0x00, 0x07, 0x00, 0x09]);
        // GUID cap 128; client reregister | subnet timeout 18.
        d[50..52].copy_from_slice(&[0x80, 0x92]);
        d
    }

    const CAPS: PortCaps = PortCaps {
        gid_tbl_len: 128,
        pkey_tbl_len: 128,
        max_msg_sz: 1 << 31,
    };

    #[test]
    fn port_info() {
        let d = port_info_block();
        let p = PortInfo::parse(&d);
        assert_eq!(
            p,
            PortInfo {
                gid_prefix: [0xfe, 0x80, 0, 0, 0, 0, 0, 0],
                lid: 5,
                sm_lid: 1,
                cap_mask: 0x0251_0868,
                link_width_active: 2,
                port_state: IB_PORT_ACTIVE,
                phys_state: 5,
                lmc: 2,
                link_speed_active: 4,
                neighbor_mtu: 5,
                master_sm_sl: 3,
                vl_cap: 4,
                init_type_reply: 0,
                mtu_cap: 5,
                pkey_violations: 7,
                qkey_violations: 9,
                guid_cap: 128,
                client_reregister: true,
                subnet_timeout: 18,
                link_speed_ext_active: 0,
            }
        );
        // QDR: C asks ExtendedPortInfo; without FDR-10 the port stays QDR.
        assert!(p.needs_ext_port_info());
        let ext = [0u8; DATA_SIZE];
        let a = p.attrs(Some(&ext), &CAPS);
        assert_eq!(
            a,
            PortAttrs {
                lid: 5,
                lmc: 2,
                sm_lid: 1,
                sm_sl: 3,
                state: 4,
                phys_state: 5,
                port_cap_flags: 0x0251_0868,
                gid_tbl_len: 128,
                max_msg_sz: 1 << 31,
                pkey_tbl_len: 128,
                bad_pkey_cntr: 7,
                qkey_viol_cntr: 9,
                active_width: 2,
                active_speed: IB_SPEED_QDR,
                max_mtu: 5,
                active_mtu: 5,
                subnet_timeout: 18,
                max_vl_num: 4,
                init_type_reply: 0,
            }
        );
        // LinkSpeedActive bit 0 of byte 15: FDR-10.
        let mut ext = [0u8; DATA_SIZE];
        ext[15] = 0x01;
        assert_eq!(p.attrs(Some(&ext), &CAPS).active_speed, IB_SPEED_FDR10);
        // A port that is down reports SDR, FDR-10 or not.
        let mut down = d;
        down[32] = 0x71;
        let p = PortInfo::parse(&down);
        assert!(p.needs_ext_port_info());
        assert_eq!(p.attrs(Some(&ext), &CAPS).active_speed, IB_SPEED_SDR);
    }

    #[test]
    fn extended_speeds() {
        let mut d = port_info_block();
        // Extended speeds supported (bit 14 of the capability mask).
        d[22] |= 0x40;
        for (ext, want) in [
            (0x10, IB_SPEED_FDR),
            (0x20, IB_SPEED_EDR),
            (0x00, IB_SPEED_QDR),
            (0x30, IB_SPEED_QDR),
        ] {
            d[62] = ext;
            let p = PortInfo::parse(&d);
            assert_eq!(p.speed(), want);
            assert_eq!(p.needs_ext_port_info(), want == IB_SPEED_QDR);
            assert_eq!(p.attrs(None, &CAPS).active_speed, want);
        }
        // Without the capability byte 62 is not looked at.
        d[22] &= !0x40;
        d[62] = 0x10;
        assert_eq!(PortInfo::parse(&d).speed(), IB_SPEED_QDR);
        // A DDR link.
        d[35] = 0x27;
        let p = PortInfo::parse(&d);
        assert!(!p.needs_ext_port_info());
        assert_eq!(p.attrs(None, &CAPS).active_speed, IB_SPEED_DDR);
    }

    #[test]
    fn gids_and_pkeys() {
        let pi = port_info_block();
        let mut gi = [0u8; DATA_SIZE];
        for (i, b) in gi.iter_mut().enumerate() {
            *b = i as u8;
        }
        let guids = guid_info(&gi);
        assert_eq!(guids[1], [8, 9, 10, 11, 12, 13, 14, 15]);
        // GID 9 is the second of block 1.
        assert_eq!(
            gid(&pi, &gi, 9),
            [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 8, 9, 10, 11, 12, 13, 14, 15]
        );

        let mut pt = [0u8; DATA_SIZE];
        // Full-member default P_Key, then a limited-member one.
        pt[..4].copy_from_slice(&[0xff, 0xff, 0x7f, 0xff]);
        pt[62..].copy_from_slice(&[0x80, 0x01]);
        let pkeys = pkey_table(&pt);
        assert_eq!(pkeys[..3], [0xffff, 0x7fff, 0]);
        assert_eq!(pkeys[31], 0x8001);
        // P_Key 33 is the second of block 1.
        assert_eq!(pkey(&pt, 33), 0x7fff);
        assert_eq!(pkey(&pt, 63), 0x8001);
    }

    #[test]
    fn sl_to_vl_table() {
        let mut d = [0u8; DATA_SIZE];
        // SL 0 -> VL 0, SL 1 -> VL 1, ..., SL 14 -> VL 6, SL 15 -> VL 7.
        d[..8].copy_from_slice(&[0x01, 0x23, 0x45, 0x67, 0x01, 0x23, 0x45, 0x67]);
        let t = sl2vl(&d);
        assert_eq!(sl_to_vl(&t, 0), 0);
        assert_eq!(sl_to_vl(&t, 1), 1);
        assert_eq!(sl_to_vl(&t, 6), 6);
        assert_eq!(sl_to_vl(&t, 7), 7);
        assert_eq!(sl_to_vl(&t, 8), 0);
        assert_eq!(sl_to_vl(&t, 15), 7);
        assert_eq!(sl_to_vl(&t, 16), 15);
    }

    #[test]
    fn snoop_as_c() {
        let mut m = query(IB_SMP_ATTR_PORT_INFO, 1);
        // A Get is never snooped.
        assert_eq!(snoop(&m, false, false), Snooped::Nothing);
        m[3] = IB_MGMT_METHOD_SET;
        m[DATA_OFF + 16] = 0x12;
        m[DATA_OFF + 17] = 0x34;
        assert_eq!(
            snoop(&m, false, false),
            Snooped::PortInfo {
                lid: 0x1234,
                client_rereg: false
            }
        );
        m[DATA_OFF + 51] = 0x80 | 0x12;
        assert_eq!(
            snoop(&m, false, true),
            Snooped::PortInfo {
                lid: 0x1234,
                client_rereg: true
            }
        );
        // The firmware reports it: nothing to do.
        assert_eq!(snoop(&m, true, false), Snooped::Nothing);
        // Directed route too; other classes never.
        m[1] = IB_MGMT_CLASS_SUBN_DIRECTED_ROUTE;
        assert_ne!(snoop(&m, false, false), Snooped::Nothing);
        m[1] = 0x04;
        assert_eq!(snoop(&m, false, false), Snooped::Nothing);
        let mut p = query(IB_SMP_ATTR_PKEY_TABLE, 0);
        p[3] = IB_MGMT_METHOD_SET;
        assert_eq!(snoop(&p, false, false), Snooped::PkeyTable);
        assert_eq!(snoop(&p, true, true), Snooped::Nothing);
        let mut g = query(IB_SMP_ATTR_GUID_INFO, 0);
        g[3] = IB_MGMT_METHOD_SET;
        assert_eq!(snoop(&g, false, false), Snooped::GuidInfo);
        let mut t = query(IB_SMP_ATTR_SL_TO_VL_TABLE, 0);
        t[3] = IB_MGMT_METHOD_SET;
        t[DATA_OFF..DATA_OFF + 8]
            .copy_from_slice(&[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
        let want = Snooped::SlToVl([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
        // The SL-to-VL table is snooped unless the firmware reports both kinds of change.
        assert_eq!(snoop(&t, false, false), want);
        assert_eq!(snoop(&t, true, false), want);
        assert_eq!(snoop(&t, false, true), want);
        assert_eq!(snoop(&t, true, true), Snooped::Nothing);
    }
}
