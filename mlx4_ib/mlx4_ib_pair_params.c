// SPDX-License-Identifier: GPL-2.0
/* mlx4_ib_pair's copy of mlx4_ib's module parameters. */
#include "mlx4_ib_params.c"
