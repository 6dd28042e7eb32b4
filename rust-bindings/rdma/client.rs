// SPDX-License-Identifier: GPL-2.0

//! Clients of RDMA devices (`struct ib_client`).
//!
//! A client is told of every RDMA device, present and future, through `add`, and of its
//! disappearance through `remove`; ib_core keeps the per-device data the client returns from `add`
//! and hands it back to `remove`.

use super::Device;
use crate::rust_bindings::raw;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::error::{from_result, to_result, Result};
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::{ForeignOwnable, Opaque};

/// An ib_core client.
pub(crate) trait Client: Sized + 'static {
    /// The client's name (`ib_client.name`).
    const NAME: &'static CStr;

    /// What the client keeps for each device it attached to.
    type Data: ForeignOwnable + Send + Sync;

    /// Returns the static storage this client registers through.
    ///
    /// ib_core's `add` callback does not say which client it is for, so the callbacks find the
    /// client this way (the C drivers use a global `struct ib_client` for the same reason).
    fn registration() -> &'static Registration<Self>;

    /// Called for every RDMA device, in registration order, including those registered before
    /// the client. Returning an error means "not for this client": ib_core then calls nothing
    /// else of the client for this device.
    fn add(device: &Device) -> Result<Self::Data>;

    /// Called when `device` is unregistered or the client is, with what `add` returned.
    fn remove(device: &Device, data: Self::Data);
}

/// Static storage for the `struct ib_client` of client `T`.
///
/// Place it in a `static` and return it from [`Client::registration`]; [`Registration::register`]
/// registers it and returns the guard that unregisters it.
pub(crate) struct Registration<T: Client> {
    client: Opaque<raw::ib_client>,
    registered: AtomicBool,
    _t: PhantomData<T>,
}

// SAFETY: The `ib_client` is only written by `register` and `Registered::drop`, which the
// `registered` flag keeps from running concurrently with each other; ib_core serialises its own
// accesses.
unsafe impl<T: Client> Sync for Registration<T> {}

impl<T: Client> Registration<T> {
    /// Creates the storage; nothing is registered yet.
    pub(crate) const fn new() -> Self {
        let client = raw::ib_client {
            name: T::NAME.as_char_ptr(),
            add: Some(Self::add_callback),
            remove: Some(Self::remove_callback),
            // SAFETY: The remaining fields are zeroed, as for a C `static struct ib_client`:
            // `None` callbacks, and counters that `ib_register_client` initialises.
            ..unsafe { core::mem::MaybeUninit::<raw::ib_client>::zeroed().assume_init() }
        };
        Self {
            client: Opaque::new(client),
            registered: AtomicBool::new(false),
            _t: PhantomData,
        }
    }

    /// Registers the client with ib_core (`ib_register_client`).
    ///
    /// `add` runs for every existing device before this returns.
    ///
    /// # Errors
    ///
    /// `EBUSY` if the client is already registered, or what `ib_register_client` returns.
    pub(crate) fn register(&'static self) -> Result<Registered<T>> {
        if self.registered.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        // SAFETY: `self.client` is a valid `ib_client` with a static lifetime, not registered
        // (checked above), whose callbacks match the signatures ib_core expects.
        let ret = to_result(unsafe { raw::ib_register_client(self.client.get()) });
        if let Err(e) = ret {
            self.registered.store(false, Ordering::Release);
            return Err(e);
        }
        Ok(Registered { reg: self })
    }

    /// `ib_client.add`.
    ///
    /// # Safety
    ///
    /// Called by ib_core only, with a registered device.
    unsafe extern "C" fn add_callback(ibdev: *mut raw::ib_device) -> c_int {
        from_result(|| {
            // SAFETY: ib_core calls `add` with a registered device that stays registered at
            // least until `remove` returns for this client.
            let device = unsafe { Device::from_raw(ibdev) };
            let data = T::add(device)?;
            let client = T::registration().client.get();
            // SAFETY: `add` only runs while `client` is registered; ib_core reserved this
            // client's slot in the device's client data before calling `add`.
            unsafe { raw::ib_set_client_data(ibdev, client, data.into_foreign().cast_mut()) };
            Ok(0)
        })
    }

    /// `ib_client.remove`.
    ///
    /// # Safety
    ///
    /// Called by ib_core only, once for each device whose `add` succeeded.
    unsafe extern "C" fn remove_callback(ibdev: *mut raw::ib_device, client_data: *mut c_void) {
        // SAFETY: As in `add_callback`: the device is registered until `remove` returns.
        let device = unsafe { Device::from_raw(ibdev) };
        // SAFETY: ib_core calls `remove` only for devices whose `add` succeeded, and passes the
        // pointer `add_callback` stored with `into_foreign`, exactly once.
        if let Some(data) = unsafe { T::Data::try_from_foreign(client_data) } {
            T::remove(device, data);
        }
    }
}

/// A registered client; dropping it unregisters the client, which first calls `remove` for every
/// device the client is attached to.
pub(crate) struct Registered<T: Client> {
    reg: &'static Registration<T>,
}

impl<T: Client> Drop for Registered<T> {
    fn drop(&mut self) {
        // SAFETY: The client was registered by `Registration::register`, which created `self`.
        unsafe { raw::ib_unregister_client(self.reg.client.get()) };
        self.reg.registered.store(false, Ordering::Release);
    }
}
