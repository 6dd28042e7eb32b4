// SPDX-License-Identifier: GPL-2.0

//! The port management change event (C: `struct mlx4_eqe` in `include/linux/mlx4/device.h`,
//! `handle_port_mgmt_change_event` in mad.c): what changed on a port, as the SMA reports it.

use super::{be16, be32};

/// Bytes in an event queue entry.
pub(crate) const EQE_SIZE: usize = 32;

/// `MLX4_DEV_PMC_SUBTYPE_GUID_INFO`.
const SUBTYPE_GUID_INFO: u8 = 0x14;
/// `MLX4_DEV_PMC_SUBTYPE_PORT_INFO`.
const SUBTYPE_PORT_INFO: u8 = 0x15;
/// `MLX4_DEV_PMC_SUBTYPE_PKEY_TABLE`.
const SUBTYPE_PKEY_TABLE: u8 = 0x16;
/// `MLX4_DEV_PMC_SUBTYPE_SL_TO_VL_MAP`.
const SUBTYPE_SL_TO_VL_MAP: u8 = 0x17;

/// `changed_attr`: the master SM's LID changed.
pub(crate) const PORT_INFO_MSTR_SM_LID_CHANGE: u32 = 1 << 0;
/// `changed_attr`: the GID prefix changed.
pub(crate) const PORT_INFO_GID_PFX_CHANGE: u32 = 1 << 1;
/// `changed_attr`: the port's LID changed.
pub(crate) const PORT_INFO_LID_CHANGE: u32 = 1 << 2;
/// `changed_attr`: the SM asked clients to reregister.
pub(crate) const PORT_INFO_CLIENT_REREG: u32 = 1 << 3;
/// `changed_attr`: the master SM's SL changed.
pub(crate) const PORT_INFO_MSTR_SM_SL_CHANGE: u32 = 1 << 4;

/// A port management change event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PortMgmtChange {
    /// PortInfo changed: the port, the `changed_attr` bits, the master SM's LID and SL.
    PortInfo {
        port: u8,
        changed: u32,
        sm_lid: u16,
        sm_sl: u8,
    },
    /// The P_Key table of the port changed.
    PkeyTable { port: u8 },
    /// The GUID table of the port changed.
    GuidInfo { port: u8 },
    /// The SL to VL table of the port is now `table` (two VLs a byte, SL 0 high).
    SlToVl { port: u8, table: [u8; 8] },
    /// A subtype the driver does not know.
    Unknown { subtype: u8 },
}

impl PortMgmtChange {
    /// Decodes the 32 bytes of the event queue entry.
    pub(crate) fn parse(eqe: &[u8; EQE_SIZE]) -> Self {
        let port = eqe[7];
        match eqe[3] {
            SUBTYPE_PORT_INFO => Self::PortInfo {
                port,
                changed: be32(eqe, 12),
                sm_lid: be16(eqe, 8),
                sm_sl: eqe[19] & 0xf,
            },
            SUBTYPE_PKEY_TABLE => Self::PkeyTable { port },
            SUBTYPE_GUID_INFO => Self::GuidInfo { port },
            SUBTYPE_SL_TO_VL_MAP => {
                let mut table = [0; 8];
                table.copy_from_slice(&eqe[8..16]);
                Self::SlToVl { port, table }
            }
            subtype => Self::Unknown { subtype },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_info_change() {
        let mut e = [0u8; 32];
        e[1] = 0x1d; // MLX4_EVENT_TYPE_PORT_MNG_CHG_EVENT
        e[3] = 0x15;
        e[7] = 1;
        e[8..10].copy_from_slice(&0x0007u16.to_be_bytes());
        e[10..12].copy_from_slice(&0x0002u16.to_be_bytes());
        e[12..16].copy_from_slice(&(PORT_INFO_LID_CHANGE | PORT_INFO_CLIENT_REREG).to_be_bytes());
        e[19] = 0xf3;
        assert_eq!(
            PortMgmtChange::parse(&e),
            PortMgmtChange::PortInfo {
                port: 1,
                changed: PORT_INFO_LID_CHANGE | PORT_INFO_CLIENT_REREG,
                sm_lid: 7,
                sm_sl: 3,
            }
        );
    }

    #[test]
    fn tables() {
        let mut e = [0u8; 32];
        e[7] = 2;
        e[3] = 0x16;
        assert_eq!(
            PortMgmtChange::parse(&e),
            PortMgmtChange::PkeyTable { port: 2 }
        );
        e[3] = 0x14;
        assert_eq!(
            PortMgmtChange::parse(&e),
            PortMgmtChange::GuidInfo { port: 2 }
        );
        e[3] = 0x17;
        e[8..16].copy_from_slice(&[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
        assert_eq!(
            PortMgmtChange::parse(&e),
            PortMgmtChange::SlToVl {
                port: 2,
                table: [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]
            }
        );
        e[3] = 0x42;
        assert_eq!(
            PortMgmtChange::parse(&e),
            PortMgmtChange::Unknown { subtype: 0x42 }
        );
    }
}
