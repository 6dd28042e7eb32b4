// SPDX-License-Identifier: GPL-2.0
/* This module's copy of the shared C helpers (see rust-bindings/helpers.c). */
#include "../../../rust-bindings/helpers.c"

#include <linux/moduleparam.h>

/*
 * The model's caps (read in Rust through c_int_param!). The defaults are a
 * ConnectX-3 as it ships; the old subset (32-byte CQEs, no reserved lkey, no
 * IPoIB offloads) is cqe_size=32 rsvd_lkey=0 offloads=0.
 */
int mlx4_model_cqe_size = 64;
module_param_named(cqe_size, mlx4_model_cqe_size, int, 0444);
MODULE_PARM_DESC(cqe_size, "CQE size: 64 (default, as mlx4_core's enable_64b_cqe_eqe) or 32");

int mlx4_model_rsvd_lkey = 1;
module_param_named(rsvd_lkey, mlx4_model_rsvd_lkey, int, 0444);
MODULE_PARM_DESC(rsvd_lkey, "Advertise the reserved lkey (BMME_FLAG_RESERVED_LKEY): 1 (default) or 0");

int mlx4_model_offloads = 1;
module_param_named(offloads, mlx4_model_offloads, int, 0444);
MODULE_PARM_DESC(offloads,
		 "IPoIB checksum offload and UD LSO (IPOIB_CSUM, BLH, max_gso_sz 64 KiB): 1 (default) or 0");

/* Driver mistakes the model detected (each is also logged), and doorbells seen. */
int mlx4_model_violations;
module_param_named(violations, mlx4_model_violations, int, 0444);
MODULE_PARM_DESC(violations, "Driver violations detected (read-only)");

int mlx4_model_expect_violations;
module_param_named(expect_violations, mlx4_model_expect_violations, int, 0644);
MODULE_PARM_DESC(expect_violations,
		 "A negative test is provoking violations: log them as expected, not as failures");

int mlx4_model_doorbells;
module_param_named(doorbells, mlx4_model_doorbells, int, 0444);
MODULE_PARM_DESC(doorbells, "Send and CQ doorbells read from the UAR pages (read-only)");

/* What the IPoIB offloads did (read-only). */
int mlx4_model_lso_wqes;
module_param_named(lso_wqes, mlx4_model_lso_wqes, int, 0444);
MODULE_PARM_DESC(lso_wqes, "LSO WQEs executed (read-only)");

int mlx4_model_csum_ok;
module_param_named(csum_ok, mlx4_model_csum_ok, int, 0444);
MODULE_PARM_DESC(csum_ok, "UD receive CQEs that report verified IPv4 and TCP/UDP checksums (read-only)");

int mlx4_model_busy_poll;
module_param_named(busy_poll, mlx4_model_busy_poll, int, 0644);
MODULE_PARM_DESC(busy_poll,
		 "1: the engine passes again at once even when it found no work, as a real HCA notices a doorbell at once (the latency benchmark; costs the CPU), 0 (default): an idle engine polls once a jiffy");

int mlx4_model_inject;
module_param_named(inject, mlx4_model_inject, int, 0644);
MODULE_PARM_DESC(inject,
		 "Negative tests: corrupt the next MLX WQE (1: no VL15 on an SMP, 2: no ICRC segment), MTT write (3: misaligned entry) or LSO WQE (4: MSS 0) as a buggy driver would, (5) a bit of the next TCP datagram on the wire after its checksum, or the next MLX WQE's DETH source QP (6); reset once done");
