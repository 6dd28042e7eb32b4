/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers bound for ib_ipoib and mlx4_ib on top of the kernel crate's own
 * bindings (rust/bindings/bindings_helper.h), and constants for macros that
 * bindgen cannot evaluate. The generated file is never committed: struct
 * layouts depend on the .config of the kernel the modules are built for.
 */
#include <linux/auxiliary_bus.h>
#include <linux/completion.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/irq_work.h>
#include <linux/notifier.h>
#include <linux/pci.h>
#include <linux/radix-tree.h>
#include <linux/capability.h>
#include <linux/rcupdate.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/delay.h>
#include <linux/if_arp.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/if_infiniband.h>
#include <linux/mlx4/cmd.h>
#include <linux/mlx4/device.h>
#include <linux/mlx4/driver.h>
#include <linux/mlx4/qp.h>
#include <linux/mlx4/cq.h>
#include <linux/mlx4/srq.h>
#include <linux/mlx4/doorbell.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <net/addrconf.h>
#include <net/devlink.h>
#include <net/netlink.h>
#include <net/rtnetlink.h>
#include <net/pkt_sched.h>
#include <rdma/ib_addr.h>
#include <rdma/ib_cache.h>
#include <rdma/ib_cm.h>
#include <rdma/ib_mad.h>
#include <rdma/ib_pack.h>
#include <rdma/ib_sa.h>
#include <rdma/ib_umem.h>
#include <rdma/ib_verbs.h>

/* Macros with casts: `RUST_CONST_HELPER_X` becomes `X` (as in rust/bindings). */
const netdev_features_t RUST_CONST_HELPER_NETIF_F_SG = NETIF_F_SG;
const netdev_features_t RUST_CONST_HELPER_NETIF_F_HIGHDMA = NETIF_F_HIGHDMA;
const netdev_features_t RUST_CONST_HELPER_NETIF_F_VLAN_CHALLENGED = NETIF_F_VLAN_CHALLENGED;
const netdev_features_t RUST_CONST_HELPER_NETIF_F_IP_CSUM = NETIF_F_IP_CSUM;
const netdev_features_t RUST_CONST_HELPER_NETIF_F_RXCSUM = NETIF_F_RXCSUM;
const netdev_features_t RUST_CONST_HELPER_NETIF_F_TSO = NETIF_F_TSO;
const int RUST_CONST_HELPER_MAX_ADDR_LEN = MAX_ADDR_LEN;
const unsigned char RUST_CONST_HELPER_NET_NAME_UNKNOWN = NET_NAME_UNKNOWN;
const unsigned int RUST_CONST_HELPER_DEFAULT_TX_QUEUE_LEN = DEFAULT_TX_QUEUE_LEN;
const int RUST_CONST_HELPER_CAP_NET_ADMIN = CAP_NET_ADMIN;
const u32 RUST_CONST_HELPER_ETHTOOL_COALESCE_RX_USECS = ETHTOOL_COALESCE_RX_USECS;
const u32 RUST_CONST_HELPER_ETHTOOL_COALESCE_RX_MAX_FRAMES = ETHTOOL_COALESCE_RX_MAX_FRAMES;
const umode_t RUST_CONST_HELPER_S_IFREG = S_IFREG;
