// SPDX-License-Identifier: GPL-2.0
/* Module parameters of mlx4_ib, as the C driver declares them (main.c). */
#include <linux/module.h>
#include <linux/moduleparam.h>

/* The out-of-tree build's version (top-level Kbuild, from dkms.conf). */
#ifdef IPOIB_RS_VERSION
MODULE_VERSION(IPOIB_RS_VERSION);
#endif

int mlx4_ib_rs_sm_guid_assign;
module_param_named(sm_guid_assign, mlx4_ib_rs_sm_guid_assign, int, 0444);
MODULE_PARM_DESC(sm_guid_assign, "Enable SM alias_GUID assignment if sm_guid_assign > 0 (Default: 0)");
