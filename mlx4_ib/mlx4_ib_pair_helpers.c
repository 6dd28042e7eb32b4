// SPDX-License-Identifier: GPL-2.0
/* mlx4_ib_pair's copy of the shared C helpers (see rust-bindings/helpers.c). */
#include "../rust-bindings/helpers.c"
