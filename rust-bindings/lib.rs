// SPDX-License-Identifier: GPL-2.0

//! Safe abstractions over the RDMA core, auxiliary bus and mlx4_core C APIs.
//!
//! This directory is compiled into each module as source (`#[path]` from the crate root) rather
//! than built as a crate of its own: ib_ipoib and mlx4_ib never call each other, they meet in
//! ib_core through C ABIs, so no Rust type crosses a `.ko` boundary. Each module uses a subset of
//! what is here, hence the `dead_code`, `unused_imports` and `unused_macros` allowances.

#![allow(dead_code, unused_imports, unused_macros)]

pub(crate) mod auxiliary;
pub(crate) mod barrier;
pub(crate) mod debugfs;
pub(crate) mod delay;
pub(crate) mod error;
pub(crate) mod mlx4;
pub(crate) mod net;
pub(crate) mod params;
pub(crate) mod pci;
#[cfg(not(mlx4_model))]
mod raw;
// The software ConnectX-3 implements mlx4_core's structures rather than using an API.
#[cfg(mlx4_model)]
pub(crate) mod raw;
pub(crate) mod rcu;
pub(crate) mod rdma;
pub(crate) mod sync;
pub(crate) mod workqueue;
