// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters of ib_ipoib, with the C driver's names, types,
 * permissions, defaults and descriptions (ipoib_main.c, ipoib_ib.c,
 * ipoib_cm.c, ipoib_multicast.c). The Rust side reads them through
 * `c_int_param!` and applies the C driver's rounding and clamping at load.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

/* The out-of-tree build's version (top-level Kbuild, from dkms.conf). */
#ifdef IPOIB_RS_VERSION
MODULE_VERSION(IPOIB_RS_VERSION);
#endif

int ipoib_rs_sendq_size = 128;
int ipoib_rs_recvq_size = 256;
module_param_named(send_queue_size, ipoib_rs_sendq_size, int, 0444);
MODULE_PARM_DESC(send_queue_size, "Number of descriptors in send queue");
module_param_named(recv_queue_size, ipoib_rs_recvq_size, int, 0444);
MODULE_PARM_DESC(recv_queue_size, "Number of descriptors in receive queue");

int ipoib_rs_max_conn_qp = 128;
module_param_named(max_nonsrq_conn_qp, ipoib_rs_max_conn_qp, int, 0444);
MODULE_PARM_DESC(max_nonsrq_conn_qp,
		 "Max number of connected-mode QPs per interface "
		 "(applied only if shared receive queue is not available)");

int ipoib_rs_debug_level;
module_param_named(debug_level, ipoib_rs_debug_level, int, 0644);
MODULE_PARM_DESC(debug_level, "Enable debug tracing if > 0");

int ipoib_rs_mcast_debug_level;
module_param_named(mcast_debug_level, ipoib_rs_mcast_debug_level, int, 0644);
MODULE_PARM_DESC(mcast_debug_level,
		 "Enable multicast debug tracing if > 0");

int ipoib_rs_data_debug_level;
module_param_named(data_debug_level, ipoib_rs_data_debug_level, int, 0644);
MODULE_PARM_DESC(data_debug_level,
		 "Enable data path debug tracing if > 0");

int ipoib_rs_cm_data_debug_level;
module_param_named(cm_data_debug_level, ipoib_rs_cm_data_debug_level, int, 0644);
MODULE_PARM_DESC(cm_data_debug_level,
		 "Enable data path debug tracing for connected mode if > 0");

int ipoib_rs_roce_qkey = 0x0b1b;
module_param_named(roce_qkey, ipoib_rs_roce_qkey, int, 0444);
MODULE_PARM_DESC(roce_qkey,
		 "Q_Key of IPoIB on RoCE ports, where no subnet manager supplies one; "
		 "must be the same on every node (default 0xb1b)");
