// SPDX-License-Identifier: GPL-2.0

//! The subnet management agent of the model's firmware: what a ConnectX-3 answers to the
//! `MAD_IFC` command (C: `mlx4_MAD_IFC`, `drivers/infiniband/hw/mlx4/mad.c`).
//!
//! Pure and kernel-free (host-tested). It keeps a port's management state (LID, SM, state
//! machine, P_Key and GUID tables, SL to VL map) and answers SubnGet/SubnSet on the attributes
//! an HCA's SMA implements: NodeDescription, NodeInfo, PortInfo, GUIDInfo, P_KeyTable and
//! SLtoVLMappingTable, for LID-routed (class 0x01) and directed-route (class 0x81) SMPs. The
//! layouts are those of the InfiniBand Architecture Specification, volume 1, chapter 14.

/// Size of a MAD.
pub(crate) const MAD_SIZE: usize = 256;

/// Management classes.
pub(crate) const CLASS_SUBN_LID_ROUTED: u8 = 0x01;
/// Directed-route SMPs.
pub(crate) const CLASS_SUBN_DIRECTED_ROUTE: u8 = 0x81;

/// Methods.
pub(crate) const METHOD_GET: u8 = 0x01;
/// SubnSet.
pub(crate) const METHOD_SET: u8 = 0x02;
/// SubnGetResp.
pub(crate) const METHOD_GET_RESP: u8 = 0x81;

/// Attributes.
pub(crate) const ATTR_NODE_DESC: u16 = 0x0010;
/// NodeInfo.
pub(crate) const ATTR_NODE_INFO: u16 = 0x0011;
/// GUIDInfo.
pub(crate) const ATTR_GUID_INFO: u16 = 0x0014;
/// PortInfo.
pub(crate) const ATTR_PORT_INFO: u16 = 0x0015;
/// P_KeyTable.
pub(crate) const ATTR_PKEY_TABLE: u16 = 0x0016;
/// SLtoVLMappingTable.
pub(crate) const ATTR_SL_TO_VL_TABLE: u16 = 0x0017;

/// Mellanox's vendor PortInfo extension (FDR10), which ConnectX-3 firmware implements.
pub(crate) const ATTR_MLNX_EXT_PORT_INFO: u16 = 0xff90;

/// MAD status: unsupported method/attribute combination.
pub(crate) const STATUS_UNSUP_METH_ATTR: u16 = 0x000c;
/// MAD status: invalid value in an attribute field or the attribute modifier.
pub(crate) const STATUS_INVALID_FIELD: u16 = 0x001c;
/// MAD status: bad class version.
pub(crate) const STATUS_BAD_VERSION: u16 = 0x0004;

/// Offset of the SMP data (64 bytes) in a MAD.
pub(crate) const SMP_DATA: usize = 64;

/// Entries of the P_Key table (and GUIDs, GIDs) per port.
pub(crate) const PKEY_TABLE_LEN: usize = 128;
/// Port GUIDs per port (GUIDInfo has 8 per block); the model has one.
pub(crate) const GUID_TABLE_LEN: usize = 128;

/// Logical port states (PortInfo:PortState).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkState {
    /// 1: Down.
    Down = 1,
    /// 2: Init (physical link up, no SM configured it yet).
    Init = 2,
    /// 3: Armed.
    Armed = 3,
    /// 4: Active.
    Active = 4,
}

/// PortInfo:CapabilityMask of the model's ports: what `ibstat` shows for a ConnectX-3 port
/// with no SM on the host (0x02514868; 0x0251486a once opensm sets IsSM).
pub(crate) const PORT_CAP_MASK: u32 = 0x0251_4868;

/// What a node (HCA) reports about itself.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// NodeInfo:NodeGUID.
    pub(crate) node_guid: u64,
    /// NodeInfo:SystemImageGUID.
    pub(crate) sys_image_guid: u64,
    /// NodeInfo:DeviceID.
    pub(crate) device_id: u16,
    /// NodeInfo:Revision.
    pub(crate) revision: u32,
    /// NodeInfo:VendorID (24 bits).
    pub(crate) vendor_id: u32,
    /// NodeDescription (64 bytes, NUL padded).
    pub(crate) desc: [u8; 64],
    /// Number of physical ports.
    pub(crate) num_ports: u8,
}

/// The management state of one port.
#[derive(Clone, Debug)]
pub(crate) struct Port {
    /// Port number (1-based).
    pub(crate) num: u8,
    /// Port GUID (GUIDInfo index 0).
    pub(crate) guid: u64,
    /// M_Key (the model does not enforce it).
    pub(crate) m_key: u64,
    /// GID prefix.
    pub(crate) gid_prefix: u64,
    /// Base LID (0 until an SM assigns one).
    pub(crate) lid: u16,
    /// LID mask count.
    pub(crate) lmc: u8,
    /// Master SM LID and SL.
    pub(crate) sm_lid: u16,
    /// Master SM SL.
    pub(crate) sm_sl: u8,
    /// Capability mask.
    pub(crate) cap_mask: u32,
    /// Logical state.
    pub(crate) state: LinkState,
    /// Physical link up (both ends initialised).
    pub(crate) link_up: bool,
    /// NeighborMTU (IB MTU enum, 5 = 4096).
    pub(crate) neighbor_mtu: u8,
    /// OperationalVLs.
    pub(crate) op_vls: u8,
    /// VLHighLimit.
    pub(crate) vl_high_limit: u8,
    /// HOQLife.
    pub(crate) hoq_life: u8,
    /// SubnetTimeOut.
    pub(crate) subnet_timeout: u8,
    /// ClientReregister, as last set.
    pub(crate) client_rereg: bool,
    /// P_Key violations counter.
    pub(crate) pkey_violations: u16,
    /// Q_Key violations counter.
    pub(crate) qkey_violations: u16,
    /// P_Key table.
    pub(crate) pkeys: [u16; PKEY_TABLE_LEN],
    /// SL to VL map, two SLs per byte (SL0 in the high nibble of byte 0).
    pub(crate) sl2vl: [u8; 8],
    /// MlnxExtPortInfo:StateChangeEnable.
    pub(crate) ext_state_change_enable: u8,
}

/// Width, speed and MTU capabilities the model's ports report: 4X, SDR/DDR/QDR, 4096.
const LINK_WIDTH_4X: u8 = 2;
const LINK_WIDTH_SUPPORTED: u8 = 3; // 1X and 4X
const LINK_SPEED_SUPPORTED: u8 = 7; // 2.5, 5, 10 Gb/s
const LINK_SPEED_ACTIVE: u8 = 4; // QDR
const MTU_4096: u8 = 5;
const VL_CAP: u8 = 4; // VL0-VL7
const GUID_CAP: u8 = 128;

impl Port {
    /// A port in its power-on state: link down, no LID, default P_Key only.
    pub(crate) fn new(num: u8, guid: u64) -> Self {
        let mut pkeys = [0u16; PKEY_TABLE_LEN];
        pkeys[0] = 0xffff;
        Self {
            num,
            guid,
            m_key: 0,
            gid_prefix: 0xfe80_0000_0000_0000,
            lid: 0,
            lmc: 0,
            sm_lid: 0,
            sm_sl: 0,
            cap_mask: PORT_CAP_MASK,
            state: LinkState::Down,
            link_up: false,
            neighbor_mtu: MTU_4096,
            op_vls: 1,
            vl_high_limit: 0,
            hoq_life: 0,
            subnet_timeout: 0,
            client_rereg: false,
            pkey_violations: 0,
            qkey_violations: 0,
            pkeys,
            sl2vl: [0; 8],
            ext_state_change_enable: 0,
        }
    }

    /// Brings the physical link up or down (both ends of the cable initialised, or not).
    ///
    /// Going up moves the port to Init; going down resets what an SM configured.
    pub(crate) fn set_link(&mut self, up: bool) {
        self.link_up = up;
        if up {
            if self.state == LinkState::Down {
                self.state = LinkState::Init;
            }
        } else {
            self.state = LinkState::Down;
        }
    }

    /// PortInfo:PortPhysicalState: 5 LinkUp, 2 Polling.
    pub(crate) fn phys_state(&self) -> u8 {
        if self.link_up {
            5
        } else {
            2
        }
    }

    /// Encodes PortInfo (64 bytes).
    pub(crate) fn port_info(&self, local_port: u8, out: &mut [u8]) {
        out[..64].fill(0);
        out[0..8].copy_from_slice(&self.m_key.to_be_bytes());
        out[8..16].copy_from_slice(&self.gid_prefix.to_be_bytes());
        out[16..18].copy_from_slice(&self.lid.to_be_bytes());
        out[18..20].copy_from_slice(&self.sm_lid.to_be_bytes());
        out[20..24].copy_from_slice(&self.cap_mask.to_be_bytes());
        out[28] = local_port;
        out[29] = LINK_WIDTH_SUPPORTED; // LinkWidthEnabled
        out[30] = LINK_WIDTH_SUPPORTED;
        out[31] = if self.link_up { LINK_WIDTH_4X } else { 0 };
        out[32] = (LINK_SPEED_SUPPORTED << 4) | self.state as u8;
        // LinkDownDefaultState: 2 (Polling).
        out[33] = (self.phys_state() << 4) | 2;
        out[34] = self.lmc & 7;
        out[35] = (LINK_SPEED_ACTIVE << 4) | LINK_SPEED_SUPPORTED;
        out[36] = (self.neighbor_mtu << 4) | (self.sm_sl & 0xf);
        // InitType: 0.
        out[37] = VL_CAP << 4;
        out[38] = self.vl_high_limit;
        out[39] = 8; // VLArbitrationHighCap
        out[40] = 8; // VLArbitrationLowCap
        out[41] = MTU_4096; // InitTypeReply 0, MTUCap
                            // VLStallCount 7.
        out[42] = (7 << 5) | (self.hoq_life & 0x1f);
        // PartitionEnforcementInbound and Outbound, as the firmware enforces P_Keys.
        out[43] = (self.op_vls << 4) | 0x0c;
        out[46..48].copy_from_slice(&self.pkey_violations.to_be_bytes());
        out[48..50].copy_from_slice(&self.qkey_violations.to_be_bytes());
        out[50] = GUID_CAP;
        out[51] = (u8::from(self.client_rereg) << 7) | (self.subnet_timeout & 0x1f);
        out[52] = 0x10; // RespTimeValue: 16 (4.096 us * 2^16 = 268 ms)
    }

    /// Applies a SubnSet(PortInfo). Returns the MAD status and what changed.
    fn set_port_info(&mut self, data: &[u8]) -> (u16, Changes) {
        let mut ch = Changes::default();
        let new_state = data[32] & 0xf;
        // PortState: 0 no change, 1 Down, 3 Armed (from Init), 4 Active (from Armed).
        let target = match new_state {
            0 => None,
            1 => Some(LinkState::Down),
            3 if matches!(self.state, LinkState::Init | LinkState::Armed) => Some(LinkState::Armed),
            4 if matches!(self.state, LinkState::Armed | LinkState::Active) => {
                Some(LinkState::Active)
            }
            _ => return (STATUS_INVALID_FIELD, ch),
        };
        let mtu = data[36] >> 4;
        if mtu != 0 && !(1..=MTU_4096).contains(&mtu) {
            return (STATUS_INVALID_FIELD, ch);
        }
        let op_vls = data[43] >> 4;
        if op_vls > 4 {
            return (STATUS_INVALID_FIELD, ch);
        }
        self.m_key = u64::from_be_bytes(data[0..8].try_into().unwrap_or([0; 8]));
        let prefix = u64::from_be_bytes(data[8..16].try_into().unwrap_or([0; 8]));
        if prefix != self.gid_prefix {
            self.gid_prefix = prefix;
            ch.gid = true;
        }
        let lid = u16::from_be_bytes([data[16], data[17]]);
        let lmc = data[34] & 7;
        if lid != self.lid || lmc != self.lmc {
            self.lid = lid;
            self.lmc = lmc;
            ch.lid = true;
        }
        let sm_lid = u16::from_be_bytes([data[18], data[19]]);
        let sm_sl = data[36] & 0xf;
        if sm_lid != self.sm_lid || sm_sl != self.sm_sl {
            self.sm_lid = sm_lid;
            self.sm_sl = sm_sl;
            ch.sm = true;
        }
        if mtu != 0 {
            self.neighbor_mtu = mtu;
        }
        if op_vls != 0 {
            self.op_vls = op_vls;
        }
        self.vl_high_limit = data[38];
        self.hoq_life = data[42] & 0x1f;
        self.subnet_timeout = data[51] & 0x1f;
        // ClientReregister is an event, not a state: it is reported and reads back as 0.
        ch.client_rereg = data[51] & 0x80 != 0;
        self.client_rereg = false;
        if let Some(t) = target {
            if t != self.state {
                if t == LinkState::Down {
                    // Down from the SM re-trains the link: it comes back as Init.
                    self.state = if self.link_up {
                        LinkState::Init
                    } else {
                        LinkState::Down
                    };
                } else {
                    self.state = t;
                }
                ch.state = true;
            }
        }
        (0, ch)
    }
}

/// What a SubnSet changed, for the events the firmware raises.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// LID or LMC.
    pub(crate) lid: bool,
    /// Master SM LID or SL.
    pub(crate) sm: bool,
    /// Logical port state.
    pub(crate) state: bool,
    /// ClientReregister was set.
    pub(crate) client_rereg: bool,
    /// P_Key table.
    pub(crate) pkey: bool,
    /// GID prefix.
    pub(crate) gid: bool,
}

/// Reads a big-endian u16.
fn be16(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([b[off], b[off + 1]])
}

/// Reads a big-endian u32.
fn be32(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

impl Node {
    /// Encodes NodeInfo (40 bytes) as seen through `port`.
    pub(crate) fn node_info(&self, port: &Port, out: &mut [u8]) {
        out[..40].fill(0);
        out[0] = 1; // BaseVersion
        out[1] = 1; // ClassVersion
        out[2] = 1; // NodeType: channel adapter
        out[3] = self.num_ports;
        out[4..12].copy_from_slice(&self.sys_image_guid.to_be_bytes());
        out[12..20].copy_from_slice(&self.node_guid.to_be_bytes());
        out[20..28].copy_from_slice(&port.guid.to_be_bytes());
        out[28..30].copy_from_slice(&(PKEY_TABLE_LEN as u16).to_be_bytes());
        out[30..32].copy_from_slice(&self.device_id.to_be_bytes());
        out[32..36].copy_from_slice(&self.revision.to_be_bytes());
        out[36] = port.num;
        out[37..40].copy_from_slice(&self.vendor_id.to_be_bytes()[1..4]);
    }

    /// Answers the SMP `inp` received on `port`, as the firmware's SMA does for `MAD_IFC`.
    ///
    /// Writes the response MAD into `out` and returns what a Set changed. Any SMP gets a
    /// response: unsupported attributes or methods get the MAD status the IBA defines.
    pub(crate) fn process(
        &mut self,
        port: &mut Port,
        inp: &[u8; MAD_SIZE],
        out: &mut [u8; MAD_SIZE],
    ) -> Changes {
        out.copy_from_slice(inp);
        let class = inp[1];
        let method = inp[3];
        let attr = be16(inp, 16);
        let modifier = be32(inp, 20);
        let mut ch = Changes::default();
        out[3] = METHOD_GET_RESP;
        let mut status = 0u16;
        if (class != CLASS_SUBN_LID_ROUTED && class != CLASS_SUBN_DIRECTED_ROUTE) || inp[2] != 1 {
            status = STATUS_BAD_VERSION;
        } else if method != METHOD_GET && method != METHOD_SET {
            status = STATUS_UNSUP_METH_ATTR;
        } else {
            let set = method == METHOD_SET;
            let data_in: [u8; 64] = inp[SMP_DATA..SMP_DATA + 64].try_into().unwrap_or([0; 64]);
            let data = &mut out[SMP_DATA..SMP_DATA + 64];
            match attr {
                ATTR_NODE_DESC if !set => data.copy_from_slice(&self.desc),
                ATTR_NODE_INFO if !set => self.node_info(port, data),
                ATTR_PORT_INFO => {
                    // The low byte is the port (0: the one the SMP arrived on; an HCA has no
                    // others); bit 31 says the SM knows extended speeds.
                    let pnum = modifier & 0xff;
                    if modifier & 0x7fff_ff00 != 0 || (pnum != 0 && pnum != u32::from(port.num)) {
                        status = STATUS_INVALID_FIELD;
                    } else {
                        if set {
                            let (st, c) = port.set_port_info(&data_in);
                            status = st;
                            ch = c;
                        }
                        port.port_info(port.num, data);
                    }
                }
                ATTR_GUID_INFO if !set => {
                    // Blocks of 8 GUIDs; only index 0 (the port GUID) is set.
                    data.fill(0);
                    if modifier as usize >= GUID_TABLE_LEN / 8 {
                        status = STATUS_INVALID_FIELD;
                    } else if modifier == 0 {
                        data[0..8].copy_from_slice(&port.guid.to_be_bytes());
                    }
                }
                ATTR_PKEY_TABLE => {
                    // Blocks of 32 P_Keys; the low 16 bits of the modifier are the block.
                    let block = (modifier & 0xffff) as usize;
                    if block >= PKEY_TABLE_LEN / 32 {
                        status = STATUS_INVALID_FIELD;
                    } else {
                        let keys = &mut port.pkeys[block * 32..block * 32 + 32];
                        if set {
                            for (i, k) in keys.iter_mut().enumerate() {
                                let v = be16(&data_in, i * 2);
                                if *k != v {
                                    *k = v;
                                    ch.pkey = true;
                                }
                            }
                        }
                        for (i, k) in keys.iter().enumerate() {
                            data[i * 2..i * 2 + 2].copy_from_slice(&k.to_be_bytes());
                        }
                    }
                }
                ATTR_MLNX_EXT_PORT_INFO => {
                    // StateChangeEnable (byte 3) is kept; FDR10 is neither supported,
                    // enabled nor active (bytes 7, 11, 15).
                    if modifier != 0 && modifier != u32::from(port.num) {
                        status = STATUS_INVALID_FIELD;
                    } else {
                        if set {
                            port.ext_state_change_enable = data_in[3] & 1;
                        }
                        data.fill(0);
                        data[3] = port.ext_state_change_enable;
                    }
                }
                ATTR_SL_TO_VL_TABLE => {
                    if set {
                        port.sl2vl.copy_from_slice(&data_in[..8]);
                    }
                    data.fill(0);
                    data[..8].copy_from_slice(&port.sl2vl);
                }
                _ => status = STATUS_UNSUP_METH_ATTR,
            }
        }
        // A directed-route response carries the direction bit (bit 15 of the status field).
        let dir = if class == CLASS_SUBN_DIRECTED_ROUTE {
            0x8000
        } else {
            0
        };
        out[4..6].copy_from_slice(&(status | dir).to_be_bytes());
        if status != 0 {
            ch = Changes::default();
        }
        ch
    }
}

/// Whether a packet's P_Key `pkt` may be received under the key `own` (IBA 10.9.3): the same
/// partition, a valid one (not 0 in its low 15 bits), and not both limited members.
pub(crate) fn pkey_match(own: u16, pkt: u16) -> bool {
    own & 0x7fff == pkt & 0x7fff && own & 0x7fff != 0 && (own | pkt) & 0x8000 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkey_membership() {
        assert!(pkey_match(0xffff, 0xffff));
        assert!(pkey_match(0xffff, 0x7fff), "full receives limited");
        assert!(pkey_match(0x7fff, 0xffff), "limited receives full");
        assert!(!pkey_match(0x7fff, 0x7fff), "two limited members");
        assert!(!pkey_match(0xffff, 0x8001), "another partition");
        assert!(!pkey_match(0x8000, 0x8000), "the invalid P_Key");
        assert!(!pkey_match(0x0000, 0x0000));
    }

    fn node() -> Node {
        let mut desc = [0u8; 64];
        desc[..6].copy_from_slice(b"mlx4_0");
        Node {
            node_guid: 0x0002_c903_00a0_0000,
            sys_image_guid: 0x0002_c903_00a0_0003,
            device_id: 4099,
            revision: 1,
            vendor_id: 0x02c9,
            desc,
            num_ports: 1,
        }
    }

    fn smp(class: u8, method: u8, attr: u16, modifier: u32) -> [u8; MAD_SIZE] {
        let mut m = [0u8; MAD_SIZE];
        m[0] = 1;
        m[1] = class;
        m[2] = 1;
        m[3] = method;
        m[8..16].copy_from_slice(&0x1234u64.to_be_bytes());
        m[16..18].copy_from_slice(&attr.to_be_bytes());
        m[20..24].copy_from_slice(&modifier.to_be_bytes());
        m
    }

    #[test]
    fn node_info_layout() {
        let mut n = node();
        let mut p = Port::new(1, 0x0002_c903_00a0_0001);
        let mut out = [0u8; MAD_SIZE];
        n.process(&mut p, &smp(1, METHOD_GET, ATTR_NODE_INFO, 0), &mut out);
        assert_eq!(out[3], METHOD_GET_RESP);
        assert_eq!(be16(&out, 4), 0);
        assert_eq!(&out[8..16], &0x1234u64.to_be_bytes()); // TID kept
        let d = &out[SMP_DATA..];
        assert_eq!(&d[0..4], &[1, 1, 1, 1]);
        assert_eq!(&d[4..12], &0x0002_c903_00a0_0003u64.to_be_bytes());
        assert_eq!(&d[12..20], &0x0002_c903_00a0_0000u64.to_be_bytes());
        assert_eq!(&d[20..28], &0x0002_c903_00a0_0001u64.to_be_bytes());
        assert_eq!(be16(d, 28), 128);
        assert_eq!(be16(d, 30), 4099);
        assert_eq!(be32(d, 32), 1);
        assert_eq!(d[36], 1);
        assert_eq!(&d[37..40], &[0x00, 0x02, 0xc9]);
    }

    #[test]
    fn port_info_follows_link_and_sm() {
        let mut n = node();
        let mut p = Port::new(1, 1);
        let mut out = [0u8; MAD_SIZE];
        n.process(&mut p, &smp(1, METHOD_GET, ATTR_PORT_INFO, 1), &mut out);
        let d = &out[SMP_DATA..];
        assert_eq!(d[32] & 0xf, LinkState::Down as u8);
        assert_eq!(d[33] >> 4, 2); // Polling
        p.set_link(true);
        n.process(&mut p, &smp(1, METHOD_GET, ATTR_PORT_INFO, 0), &mut out);
        let d = &out[SMP_DATA..];
        assert_eq!(d[32] & 0xf, LinkState::Init as u8);
        assert_eq!(d[33] >> 4, 5); // LinkUp
        assert_eq!(d[31], LINK_WIDTH_4X);
        assert_eq!(d[41] & 0xf, MTU_4096);
        assert_eq!(be32(d, 20), PORT_CAP_MASK);

        // The SM assigns LID 1, itself as SM, then Armed, then Active.
        let mut set = smp(0x81, METHOD_SET, ATTR_PORT_INFO, 1);
        let mut pi = [0u8; 64];
        p.port_info(1, &mut pi);
        pi[16..18].copy_from_slice(&1u16.to_be_bytes());
        pi[18..20].copy_from_slice(&1u16.to_be_bytes());
        pi[32] = (pi[32] & 0xf0) | 3;
        pi[51] = 0x80 | 18;
        set[SMP_DATA..SMP_DATA + 64].copy_from_slice(&pi);
        let ch = n.process(&mut p, &set, &mut out);
        assert_eq!(be16(&out, 4), 0x8000); // D bit, success
        assert!(ch.lid && ch.sm && ch.state && ch.client_rereg);
        assert_eq!(p.state, LinkState::Armed);
        assert_eq!(p.lid, 1);
        assert_eq!(p.subnet_timeout, 18);
        assert_eq!(out[SMP_DATA + 51], 18); // ClientReregister reads back 0
        pi[32] = (pi[32] & 0xf0) | 4;
        pi[51] = 18;
        set[SMP_DATA..SMP_DATA + 64].copy_from_slice(&pi);
        let ch = n.process(&mut p, &set, &mut out);
        assert_eq!(
            ch,
            Changes {
                state: true,
                ..Changes::default()
            }
        );
        assert_eq!(p.state, LinkState::Active);
    }

    #[test]
    fn bad_transitions_and_attributes_are_refused() {
        let mut n = node();
        let mut p = Port::new(1, 1);
        p.set_link(true);
        let mut out = [0u8; MAD_SIZE];
        // Init -> Active skips Armed.
        let mut set = smp(1, METHOD_SET, ATTR_PORT_INFO, 0);
        set[SMP_DATA + 32] = 4;
        let ch = n.process(&mut p, &set, &mut out);
        assert_eq!(be16(&out, 4), STATUS_INVALID_FIELD);
        assert_eq!(ch, Changes::default());
        assert_eq!(p.state, LinkState::Init);
        // NodeInfo cannot be set; SMInfo belongs to the SM, not the SMA.
        n.process(&mut p, &smp(1, METHOD_SET, ATTR_NODE_INFO, 0), &mut out);
        assert_eq!(be16(&out, 4), STATUS_UNSUP_METH_ATTR);
        n.process(&mut p, &smp(1, METHOD_GET, 0x0020, 0), &mut out);
        assert_eq!(be16(&out, 4), STATUS_UNSUP_METH_ATTR);
        // P_Key block 4 does not exist (128 entries); a port other than this one neither.
        n.process(&mut p, &smp(1, METHOD_GET, ATTR_PKEY_TABLE, 4), &mut out);
        assert_eq!(be16(&out, 4), STATUS_INVALID_FIELD);
        n.process(&mut p, &smp(1, METHOD_GET, ATTR_PORT_INFO, 2), &mut out);
        assert_eq!(be16(&out, 4), STATUS_INVALID_FIELD);
        // Bit 31 of the PortInfo modifier (SM supports extended speeds) is accepted.
        n.process(
            &mut p,
            &smp(1, METHOD_GET, ATTR_PORT_INFO, 0x8000_0001),
            &mut out,
        );
        assert_eq!(be16(&out, 4), 0);
        n.process(
            &mut p,
            &smp(1, METHOD_GET, ATTR_MLNX_EXT_PORT_INFO, 1),
            &mut out,
        );
        assert_eq!(be16(&out, 4), 0);
        assert_eq!(&out[SMP_DATA..SMP_DATA + 16], &[0; 16]);
        // Class version 2 is not spoken.
        let mut bad = smp(1, METHOD_GET, ATTR_NODE_INFO, 0);
        bad[2] = 2;
        n.process(&mut p, &bad, &mut out);
        assert_eq!(be16(&out, 4), STATUS_BAD_VERSION);
    }

    #[test]
    fn pkey_table_and_guids() {
        let mut n = node();
        let mut p = Port::new(1, 0xabcd);
        let mut out = [0u8; MAD_SIZE];
        n.process(&mut p, &smp(1, METHOD_GET, ATTR_PKEY_TABLE, 0), &mut out);
        assert_eq!(be16(&out, SMP_DATA), 0xffff);
        assert_eq!(be16(&out, SMP_DATA + 2), 0);
        let mut set = smp(1, METHOD_SET, ATTR_PKEY_TABLE, 0);
        set[SMP_DATA..SMP_DATA + 2].copy_from_slice(&0xffffu16.to_be_bytes());
        set[SMP_DATA + 2..SMP_DATA + 4].copy_from_slice(&0x8001u16.to_be_bytes());
        let ch = n.process(&mut p, &set, &mut out);
        assert!(ch.pkey);
        assert_eq!(p.pkeys[1], 0x8001);
        assert!(!n.process(&mut p, &set, &mut out).pkey);
        n.process(&mut p, &smp(1, METHOD_GET, ATTR_GUID_INFO, 0), &mut out);
        assert_eq!(&out[SMP_DATA..SMP_DATA + 8], &0xabcdu64.to_be_bytes());
        assert_eq!(&out[SMP_DATA + 8..SMP_DATA + 16], &[0; 8]);
        n.process(&mut p, &smp(1, METHOD_GET, ATTR_NODE_DESC, 0), &mut out);
        assert_eq!(&out[SMP_DATA..SMP_DATA + 6], b"mlx4_0");
    }
}
