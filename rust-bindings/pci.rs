// SPDX-License-Identifier: GPL-2.0

//! PCI drivers (`struct pci_driver`), the part the software ConnectX-3 needs on 6.12.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h).
//!
//! `kernel::pci` only exists from v6.14. This registers a driver for a list of vendor/device
//! ids, enables the device in `probe` and gives access to its memory BARs.

use crate::rust_bindings::raw;
use core::marker::PhantomData;
use core::pin::Pin;
use kernel::error::{from_result, to_result, Result};
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::{ForeignOwnable, Opaque};

/// A PCI device bound (or being bound) to a driver of this module.
///
/// # Invariants
///
/// References only exist inside the driver's `probe` and `remove` callbacks, during which the
/// driver core holds the device, or while the driver's data for it lives (between the two).
#[repr(transparent)]
pub(crate) struct Device(Opaque<raw::pci_dev>);

impl Device {
    /// Returns the raw pointer.
    pub(crate) fn as_raw(&self) -> *mut raw::pci_dev {
        self.0.get()
    }

    /// Returns the generic device.
    pub(crate) fn as_dev(&self) -> *mut raw::device {
        // SAFETY: The device is valid by the type invariant; `dev` is a member.
        unsafe { &raw mut (*self.as_raw()).dev }
    }

    /// Returns the PCI device id.
    pub(crate) fn device_id(&self) -> u16 {
        // SAFETY: The device is valid by the type invariant; the id is read-only after enumeration.
        unsafe { (*self.as_raw()).device }
    }

    /// Returns the bus address and length of memory BAR `bar`.
    pub(crate) fn bar(&self, bar: u32) -> (u64, u64) {
        let bar = bar as c_int;
        // SAFETY: The device is valid by the type invariant; the resources are set at enumeration.
        unsafe {
            (
                raw::pci_bar_start(self.as_raw(), bar),
                raw::pci_bar_len(self.as_raw(), bar),
            )
        }
    }

    /// Maps memory BAR `bar` uncached (`ioremap`), as drivers map doorbell pages.
    pub(crate) fn map_bar(&self, bar: u32) -> Result<BarMap> {
        let (start, len) = self.bar(bar);
        if start == 0 || len == 0 {
            return Err(ENODEV);
        }
        let len = usize::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: `start..start + len` is a memory resource of this device (the type
        // invariant), which stays bound while the caller (its driver data) holds the map.
        let base = unsafe { raw::ioremap(start, len as kernel::ffi::c_ulong) };
        let base = core::ptr::NonNull::new(base.cast::<u8>()).ok_or(ENOMEM)?;
        // INVARIANT: `base` maps `len` bytes until `drop`.
        Ok(BarMap { base, len })
    }

    /// Sets the streaming and coherent DMA masks to `bits` bits.
    pub(crate) fn set_dma_mask(&self, bits: u32) -> Result {
        let mask = if bits >= 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        // SAFETY: The device is valid by the type invariant.
        to_result(unsafe { raw::dma_set_mask(self.as_dev(), mask) })?;
        // SAFETY: As above.
        to_result(unsafe { raw::dma_set_coherent_mask(self.as_dev(), mask) })
    }
}

/// A PCI driver.
pub(crate) trait Driver: Sized + 'static {
    /// The driver name.
    const NAME: &'static CStr;
    /// The (vendor, device) ids it binds.
    const IDS: &'static [(u16, u16)];

    /// What the driver keeps per bound device.
    type Data: ForeignOwnable + Send + Sync;

    /// Binds `dev`, which is enabled; an error leaves it unbound (and disabled).
    fn probe(dev: &Device) -> Result<Self::Data>;

    /// Unbinds `dev`, which `probe` bound with `data`.
    fn remove(dev: &Device, data: Self::Data);
}

/// The most ids a driver can list.
const MAX_IDS: usize = 4;

/// What the driver core points to while the driver is registered.
#[repr(C)]
struct Storage {
    drv: Opaque<raw::pci_driver>,
    ids: [raw::pci_device_id; MAX_IDS + 1],
}

/// A registered PCI driver; dropping it unregisters the driver (and so unbinds every device,
/// calling `remove`).
pub(crate) struct Registration<T: Driver> {
    storage: Pin<KBox<Storage>>,
    _t: PhantomData<T>,
}

// SAFETY: The storage is only touched by the driver core after registration, and by `drop`.
unsafe impl<T: Driver> Send for Registration<T> {}
// SAFETY: `&Registration` gives no access to anything.
unsafe impl<T: Driver> Sync for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Registers the driver for `module`; `probe` runs for every matching device before this
    /// returns.
    pub(crate) fn new(module: &'static ThisModule) -> Result<Self> {
        if T::IDS.len() > MAX_IDS {
            return Err(EINVAL);
        }
        // SAFETY: `pci_device_id` is plain data; all zeroes is the table terminator.
        let mut ids: [raw::pci_device_id; MAX_IDS + 1] = unsafe { core::mem::zeroed() };
        for (slot, &(vendor, device)) in ids.iter_mut().zip(T::IDS) {
            slot.vendor = vendor.into();
            slot.device = device.into();
            slot.subvendor = !0;
            slot.subdevice = !0;
        }
        let storage = KBox::pin(
            Storage {
                drv: Opaque::uninit(),
                ids,
            },
            GFP_KERNEL,
        )?;
        let drv = storage.drv.get();
        // SAFETY: `drv` points to pinned storage that lives until `drop` unregisters it. It is
        // written whole (zeroed, like a C static) before the driver core sees it.
        unsafe {
            drv.write(core::mem::zeroed());
            (*drv).name = T::NAME.as_char_ptr();
            (*drv).id_table = storage.ids.as_ptr();
            (*drv).probe = Some(Self::probe_callback);
            (*drv).remove = Some(Self::remove_callback);
        }
        // SAFETY: `drv` is fully initialised, pinned and not registered yet; the module pointer
        // and name outlive the registration.
        to_result(unsafe {
            raw::__pci_register_driver(drv, module.as_ptr().cast(), T::NAME.as_char_ptr())
        })?;
        Ok(Self {
            storage,
            _t: PhantomData,
        })
    }

    /// `pci_driver.probe`.
    ///
    /// # Safety
    ///
    /// Called by the driver core only, with a device matching the id table.
    unsafe extern "C" fn probe_callback(
        pdev: *mut raw::pci_dev,
        _id: *const raw::pci_device_id,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The driver core holds `pdev` for the duration of `probe`.
            let dev = unsafe { &*pdev.cast::<Device>() };
            // SAFETY: `pdev` is valid and not enabled by anyone else (we are binding it).
            to_result(unsafe { raw::pci_enable_device(pdev) })?;
            match T::probe(dev) {
                Ok(data) => {
                    // SAFETY: `pdev` is valid; drvdata is ours from `probe` until `remove`.
                    unsafe { raw::pci_set_drvdata_ptr(pdev, data.into_foreign().cast_mut()) };
                    Ok(0)
                }
                Err(e) => {
                    // SAFETY: Enabled above.
                    unsafe { raw::pci_disable_device(pdev) };
                    Err(e)
                }
            }
        })
    }

    /// `pci_driver.remove`.
    ///
    /// # Safety
    ///
    /// Called by the driver core only, for a device `probe_callback` bound.
    unsafe extern "C" fn remove_callback(pdev: *mut raw::pci_dev) {
        // SAFETY: As in `probe_callback`.
        let dev = unsafe { &*pdev.cast::<Device>() };
        // SAFETY: `probe_callback` stored the pointer with `into_foreign`; `remove` runs once.
        let data = unsafe { T::Data::try_from_foreign(raw::pci_get_drvdata_ptr(pdev)) };
        // SAFETY: `pdev` is valid; clear the now dangling pointer.
        unsafe { raw::pci_set_drvdata_ptr(pdev, core::ptr::null_mut()) };
        if let Some(data) = data {
            T::remove(dev, data);
        }
        // SAFETY: Enabled by `probe_callback`.
        unsafe { raw::pci_disable_device(pdev) };
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: The driver was registered by `new`, which created `self`.
        unsafe { raw::pci_unregister_driver(self.storage.drv.get()) };
    }
}

/// An uncached mapping of a memory BAR, unmapped on drop.
///
/// # Invariants
///
/// `base` is an `ioremap` mapping of `len` bytes.
pub(crate) struct BarMap {
    base: core::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: The mapping is plain device memory; every access is a single atomic exchange.
unsafe impl Send for BarMap {}
// SAFETY: As above.
unsafe impl Sync for BarMap {}

impl BarMap {
    /// Atomically reads and clears the naturally aligned 4- or 8-byte word at byte `off`
    /// (`wide`), so that a store racing with the read is never lost; returns its bytes as a
    /// big-endian number. `None` if the word is not inside the mapping or misaligned.
    pub(crate) fn take_be(&self, off: usize, wide: bool) -> Option<u64> {
        let size = if wide { 8 } else { 4 };
        if off % size != 0 || off.checked_add(size)? > self.len {
            return None;
        }
        // SAFETY: `off + size <= len` and the word is naturally aligned inside the mapping
        // (type invariant). The memory is only ever accessed with whole-word stores by the
        // device's users, so an atomic exchange on it is sound (a locked exchange on x86).
        unsafe {
            let p = self.base.as_ptr().add(off);
            Some(if wide {
                u64::from_be(
                    core::sync::atomic::AtomicU64::from_ptr(p.cast())
                        .swap(0, core::sync::atomic::Ordering::AcqRel),
                )
            } else {
                u64::from(u32::from_be(
                    core::sync::atomic::AtomicU32::from_ptr(p.cast())
                        .swap(0, core::sync::atomic::Ordering::AcqRel),
                ))
            })
        }
    }
}

impl Drop for BarMap {
    fn drop(&mut self) {
        // SAFETY: `base` came from `ioremap` (type invariant) and is not used after this.
        unsafe { raw::iounmap(self.base.as_ptr().cast()) };
    }
}
