// SPDX-License-Identifier: GPL-2.0

//! Auxiliary bus devices (`struct auxiliary_device`).
//!
//! C header: [`include/linux/auxiliary_bus.h`](srctree/include/linux/auxiliary_bus.h).
//!
//! `kernel::auxiliary` only exists from v6.16; this is the part mlx4_ib needs on 6.12. Drivers
//! register through their parent's API (see [`crate::rust_bindings::mlx4`]).

use crate::rust_bindings::raw;
use kernel::str::CStr;
use kernel::types::Opaque;

/// The largest auxiliary device name (`AUXILIARY_NAME_SIZE`, including the NUL).
pub(crate) const NAME_SIZE: usize = raw::AUXILIARY_NAME_SIZE as usize;

/// An auxiliary device bound (or being bound) to a driver of this module.
///
/// # Invariants
///
/// References only exist inside the driver's `probe` and `remove` callbacks, during which the
/// driver core holds the device.
#[repr(transparent)]
pub(crate) struct Device(Opaque<raw::auxiliary_device>);

impl Device {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `auxiliary_device` that stays valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut raw::auxiliary_device) -> &'a Self {
        // SAFETY: `repr(transparent)` over `Opaque<auxiliary_device>`; validity is the caller's.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Returns the raw pointer.
    pub(crate) fn as_raw(&self) -> *mut raw::auxiliary_device {
        self.0.get()
    }

    /// Returns the device name, `<modname>.<name>.<id>` (e.g. `mlx4_core.ib.0`).
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: The device is valid by the type invariant and registered (it is being bound),
        // so its kobject name is set and stays until the device is released, after `remove`.
        unsafe { CStr::from_char_ptr(raw::dev_name(&raw const (*self.as_raw()).dev)) }
    }

    /// Returns the instance id (the last component of the name).
    pub(crate) fn id(&self) -> u32 {
        // SAFETY: The device is valid by the type invariant; `id` is set before registration
        // and never changed.
        unsafe { (*self.as_raw()).id }
    }
}

/// An entry of a driver's id table (`struct auxiliary_device_id`).
#[derive(Clone, Copy)]
pub(crate) struct DeviceId(pub(super) raw::auxiliary_device_id);

impl DeviceId {
    /// Builds the id matching devices `<name>.N`, where `name` is `<modname>.<devname>`.
    ///
    /// Fails to compile (in a const context) if `name` does not fit `AUXILIARY_NAME_SIZE`.
    pub(crate) const fn new(name: &str) -> Self {
        let bytes = name.as_bytes();
        assert!(bytes.len() < NAME_SIZE, "auxiliary device name too long");
        let mut id = raw::auxiliary_device_id {
            name: [0; NAME_SIZE],
            driver_data: 0,
        };
        let mut i = 0;
        while i < bytes.len() {
            // Byte to C `char`: a reinterpretation, as C does for string literals.
            id.name[i] = bytes[i] as kernel::ffi::c_char;
            i += 1;
        }
        Self(id)
    }

    /// The all-zero entry that terminates a table.
    pub(super) const fn terminator() -> Self {
        Self::new("")
    }
}
