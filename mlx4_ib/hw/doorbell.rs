// SPDX-License-Identifier: GPL-2.0

//! Doorbells: the UAR registers and the doorbell records in host memory (C: `mlx4_cq_arm`,
//! `mlx4_cq_set_ci`, `mlx4_ib_post_send`).

/// Offset of the send doorbell in a UAR page (`MLX4_SEND_DOORBELL`).
pub(crate) const SEND_DOORBELL: usize = 0x14;
/// Offset of the CQ doorbell in a UAR page (`MLX4_CQ_DOORBELL`).
pub(crate) const CQ_DOORBELL: usize = 0x20;

/// What a CQ is armed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArmCmd {
    /// The next completion (`MLX4_CQ_DB_REQ_NOT`).
    Next,
    /// The next solicited completion (`MLX4_CQ_DB_REQ_NOT_SOL`).
    Solicited,
}

impl ArmCmd {
    const fn bits(self) -> u32 {
        match self {
            Self::Next => 2 << 24,
            Self::Solicited => 1 << 24,
        }
    }
}

/// The bytes written to the send doorbell for QP `qpn`: big-endian `qpn << 8`.
pub(crate) fn send(qpn: u32) -> [u8; 4] {
    ((qpn & 0x00ff_ffff) << 8).to_be_bytes()
}

/// The QP number a send doorbell write names.
pub(crate) fn send_qpn(bytes: [u8; 4]) -> u32 {
    u32::from_be_bytes(bytes) >> 8
}

/// Arming CQ `cqn` at consumer index `ci` with sequence number `sn` (`arm_sn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CqArm {
    pub(crate) cqn: u32,
    pub(crate) ci: u32,
    pub(crate) sn: u32,
    pub(crate) cmd: ArmCmd,
}

impl CqArm {
    /// The doorbell record pair: set_ci, then the arm record.
    pub(crate) fn record(&self) -> [u8; 8] {
        let ci = self.ci & 0x00ff_ffff;
        let mut r = [0; 8];
        r[..4].copy_from_slice(&ci.to_be_bytes());
        r[4..].copy_from_slice(&(((self.sn & 3) << 28) | self.cmd.bits() | ci).to_be_bytes());
        r
    }

    /// The 64-bit write to the CQ doorbell.
    pub(crate) fn uar(&self) -> [u8; 8] {
        let mut r = [0; 8];
        let w0 = ((self.sn & 3) << 28) | self.cmd.bits() | (self.cqn & 0x00ff_ffff);
        r[..4].copy_from_slice(&w0.to_be_bytes());
        r[4..].copy_from_slice(&(self.ci & 0x00ff_ffff).to_be_bytes());
        r
    }

    /// Decodes a CQ doorbell write.
    pub(crate) fn from_uar(bytes: [u8; 8]) -> Option<Self> {
        let w0 = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let cmd = match (w0 >> 24) & 7 {
            2 => ArmCmd::Next,
            1 => ArmCmd::Solicited,
            _ => return None,
        };
        Some(Self {
            cqn: w0 & 0x00ff_ffff,
            ci: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) & 0x00ff_ffff,
            sn: (w0 >> 28) & 3,
            cmd,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Golden vectors from the C definitions (research/mlx4_ib.md §3.9, `golden.txt`).
    #[test]
    fn send_doorbell() {
        assert_eq!(send(0x48), [0x00, 0x00, 0x48, 0x00]);
        assert_eq!(send_qpn(send(0x12_3456)), 0x12_3456);
    }

    #[test]
    fn cq_arm() {
        let arm = CqArm {
            cqn: 0x81,
            ci: 0x1234,
            sn: 1,
            cmd: ArmCmd::Next,
        };
        assert_eq!(arm.uar(), [0x12, 0x00, 0x00, 0x81, 0x00, 0x00, 0x12, 0x34]);
        assert_eq!(
            arm.record(),
            [0x00, 0x00, 0x12, 0x34, 0x12, 0x00, 0x12, 0x34]
        );
        assert_eq!(CqArm::from_uar(arm.uar()), Some(arm));
        assert_eq!(CqArm::from_uar([0; 8]), None);
    }
}
