// SPDX-License-Identifier: GPL-2.0

//! Module parameters (declared in `ipoib_params.c`, with the C driver's names and defaults).

use crate::proto;
use crate::rust_bindings::params::c_int_param;

c_int_param!(
    /// `send_queue_size`: TX ring entries.
    pub(crate) send_queue_size => ipoib_rs_sendq_size
);
c_int_param!(
    /// `recv_queue_size`: RX ring entries.
    pub(crate) recv_queue_size => ipoib_rs_recvq_size
);
c_int_param!(
    /// `max_nonsrq_conn_qp`: passive connected-mode connections when the device has no SRQ.
    pub(crate) max_nonsrq_conn_qp => ipoib_rs_max_conn_qp
);
c_int_param!(
    /// `debug_level`: control-path debug messages when positive.
    pub(crate) debug_level => ipoib_rs_debug_level
);
c_int_param!(
    /// `mcast_debug_level`: multicast debug messages when positive.
    pub(crate) mcast_debug_level => ipoib_rs_mcast_debug_level
);
c_int_param!(
    /// `data_debug_level`: datagram data-path debug messages when positive.
    pub(crate) data_debug_level => ipoib_rs_data_debug_level
);
c_int_param!(
    /// `cm_data_debug_level`: connected-mode data-path debug messages when positive.
    pub(crate) cm_data_debug_level => ipoib_rs_cm_data_debug_level
);

/// Rounds and clamps the read-only parameters as the C driver does at load, writing the effective
/// values back so that `/sys/module/ib_ipoib/parameters/` shows what is used.
pub(crate) fn apply_limits() {
    recv_queue_size::set(proto::params::recv_queue_size(recv_queue_size::get()));
    send_queue_size::set(proto::params::send_queue_size(send_queue_size::get()));
    max_nonsrq_conn_qp::set(proto::params::max_conn_qp(max_nonsrq_conn_qp::get()));
    // A Q_Key with the controlled bit cannot be used; it reads back as the default.
    roce_qkey::set(i32::try_from(qkey()).unwrap_or(0x0b1b));
}
c_int_param!(
    /// `roce_qkey`: the Q_Key used on RoCE ports (no broadcast group record supplies one).
    pub(crate) roce_qkey => ipoib_rs_roce_qkey
);

/// Returns the Q_Key to use on RoCE ports, the default if the parameter is not a valid
/// (non-controlled) Q_Key.
pub(crate) fn qkey() -> u32 {
    u32::try_from(roce_qkey::get())
        .ok()
        .filter(|q| proto::roce::qkey_valid(*q))
        .unwrap_or(proto::roce::DEFAULT_QKEY)
}
