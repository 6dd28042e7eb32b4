// SPDX-License-Identifier: GPL-2.0

//! A software ConnectX-3 for the test VM: module `mlx4_model`.
//!
//! Test-only. It stands in for the C mlx4_core: it exports the mlx4_core functions mlx4_ib
//! links against and creates one `mlx4_core.ib.N` auxiliary device per `ivshmem-plain` PCI
//! device (QEMU `-device ivshmem-plain`), each a one-port InfiniBand HCA with firmware 2.42.5000.
//! The two HCAs' ports are cabled to each other. The unmodified C mlx4_ib binds them; the
//! model answers its firmware commands (an SMA behind `MAD_IFC`, port and node commands) and
//! keeps the firmware's tables (PDs, UARs, MTTs, MPTs, CQs, QPs, SRQs, multicast groups).
//!
//! Load it in a module tree without the real mlx4_core (both export the same symbols).
//! See `Documentation/mlx4_model.rst`.

// `Hca`'s `pin_init!` has more fields than the default limit expands.
#![recursion_limit = "256"]

#[path = "../../../rust-bindings/lib.rs"]
mod rust_bindings;

mod abi;
mod doorbell;
mod engine;
mod fabric;
// The firmware records are read by the execution engine as it grows.
#[allow(dead_code)]
mod hca;
mod idalloc;
mod sma;

// The ConnectX-3 formats shared with mlx4_ib; the model reads what the driver writes.
#[allow(dead_code)]
#[path = "../../../mlx4_ib/hw/mod.rs"]
mod hw;

use core::sync::atomic::{AtomicPtr, Ordering};
use fabric::Fabric;
use hca::Hca;
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::{Arc, ArcBorrow};
use rust_bindings::pci;

module! {
    type: ModelModule,
    name: "mlx4_model",
    author: "ipoib-rs developers",
    description: "Software ConnectX-3 (mlx4) HCA model for testing mlx4_ib",
    license: "GPL",
}

/// The cable, owned by the module; the PCI driver's devices reach it through this pointer,
/// which is set before the driver registers and cleared after it unregisters.
static FABRIC: AtomicPtr<Fabric> = AtomicPtr::new(core::ptr::null_mut());

/// The module: the PCI driver (which owns the HCAs), then the cable they plug into.
struct ModelModule {
    driver: Option<pci::Registration<ModelPci>>,
    fabric: Arc<Fabric>,
}

impl Drop for ModelModule {
    fn drop(&mut self) {
        // Unbind and remove every HCA, then stop the engine for good.
        drop(self.driver.take());
        self.fabric.shutdown();
    }
}

impl kernel::Module for ModelModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        abi::THIS_MODULE.store(module.as_ptr().cast(), Ordering::Release);
        let fabric = Fabric::new()?;
        FABRIC.store((&*fabric as *const Fabric).cast_mut(), Ordering::Release);
        let driver = pci::Registration::new(module).inspect_err(|_| {
            FABRIC.store(core::ptr::null_mut(), Ordering::Release);
            fabric.shutdown();
        })?;
        Ok(Self {
            driver: Some(driver),
            fabric,
        })
    }
}

/// The PCI driver binding the ivshmem devices.
struct ModelPci;

impl pci::Driver for ModelPci {
    const NAME: &'static CStr = c_str!("mlx4_model");
    /// Red Hat's ivshmem (`ivshmem-plain`).
    const IDS: &'static [(u16, u16)] = &[(0x1af4, 0x1110)];

    type Data = Pin<KBox<Hca>>;

    fn probe(dev: &pci::Device) -> Result<Pin<KBox<Hca>>> {
        let fabric = FABRIC.load(Ordering::Acquire);
        if fabric.is_null() {
            return Err(ENODEV);
        }
        // SAFETY: `FABRIC` points to the module's cable, which outlives the driver
        // registration and so every probe; each HCA keeps a reference of its own.
        let fabric: Arc<Fabric> = unsafe { ArcBorrow::from_raw(fabric) }.into();
        let index = fabric.reserve().ok_or_else(|| {
            pr_info!("both ends of the cable are taken, ignoring this device\n");
            ENODEV
        })?;
        let hca = match Hca::new(dev, index, fabric.clone()) {
            Ok(h) => h,
            Err(e) => {
                fabric.detach(index);
                return Err(e);
            }
        };
        fabric.attach(index, &hca);
        if let Err(e) = hca.publish() {
            fabric.detach(index);
            return Err(e);
        }
        pr_info!(
            "HCA {}: UARs at {:#x} (PCI device {:#x}), {} pages\n",
            index,
            hca.uar_pfn << kernel::page::PAGE_SHIFT,
            dev.device_id(),
            hca.uar_pages
        );
        Ok(hca)
    }

    fn remove(_dev: &pci::Device, hca: Pin<KBox<Hca>>) {
        // Unbind mlx4_ib first (it closes the port), then unplug the cable end.
        hca.unpublish();
        hca.fabric.detach(hca.index);
    }
}
