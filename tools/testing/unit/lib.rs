// SPDX-License-Identifier: GPL-2.0

//! Host build of the pure modules, so `cargo test` runs their unit tests.
//!
//! The same files are compiled into the kernel modules with `#[path]`; they use only `core`.

#![allow(dead_code)]

#[path = "../../../ipoib/proto/mod.rs"]
mod ipoib_proto;

#[path = "../../../mlx4_ib/hw/mod.rs"]
mod mlx4_hw;

#[path = "../mlx4_model/sma.rs"]
mod mlx4_model_sma;

#[path = "../mlx4_model/idalloc.rs"]
mod mlx4_model_idalloc;

#[path = "../../../rust-bindings/mlx4/mtt_calc.rs"]
mod mlx4_mtt_calc;
