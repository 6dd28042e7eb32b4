// SPDX-License-Identifier: GPL-2.0
/* This module's copy of the shared C helpers (see rust-bindings/helpers.c). */
#include "../../../rust-bindings/helpers.c"
