// SPDX-License-Identifier: GPL-2.0

//! The mlx4_core interface used by mlx4_ib: auxiliary-driver registration, device caps and the
//! HCA resources mlx4_core hands out.
//!
//! C headers: [`include/linux/mlx4/driver.h`](srctree/include/linux/mlx4/driver.h),
//! [`include/linux/mlx4/device.h`](srctree/include/linux/mlx4/device.h),
//! [`include/linux/mlx4/cmd.h`](srctree/include/linux/mlx4/cmd.h),
//! [`include/linux/mlx4/qp.h`](srctree/include/linux/mlx4/qp.h).
//!
//! mlx4_core creates one auxiliary device per protocol for each HCA (`mlx4_core.eth.N`,
//! `mlx4_core.ib.N`) and its users bind to them with `mlx4_register_auxiliary_driver`, which
//! names the driver `mlx4_core.<name>` (the registration runs inside mlx4_core).
//!
//! # Resource lifetime
//!
//! Every resource in the submodules ([`Pd`], [`Uar`], [`Buf`], [`Mtt`], [`Mr`], [`Db`],
//! [`Mailbox`], [`QpRange`], [`EventNotifier`], ...) keeps a pointer to the `mlx4_dev` it came
//! from and gives itself back to it on drop. mlx4_core keeps that `mlx4_dev` alive while the
//! auxiliary device is bound, that is from [`Driver::probe`] until [`Driver::remove`] returns,
//! so **a driver must drop every resource by the end of `remove`**: keeping them in
//! [`Driver::Data`], which `remove` receives by value and drops, does exactly that. Resources must
//! not be moved anywhere that outlives the binding (a global, a work item not flushed in
//! `remove`). The type system does not enforce this (there is no `Devres` on 6.12).
//!
//! Dropping a resource may sleep (most go through a firmware command or a mutex): drop them in
//! process context.

mod buf;
mod caps;
mod cmd;
mod db;
mod event;
mod hwobj;
pub(crate) mod layout;
mod mcast;
mod mr;
mod mtt_calc;
mod pd;
mod qp;
mod uar;

pub(crate) use crate::rust_bindings::barrier;
pub(crate) use buf::{Buf, Mtt, QueueBuf, UserBuf};
pub(crate) use caps::{
    Caps, DevFlags, BMME_FLAG_RESERVED_LKEY, DEV_CAP_FLAG2_SL_TO_VL_CHANGE_EVENT,
    DEV_CAP_FLAG_ATOMIC, DEV_CAP_FLAG_BAD_PKEY_CNTR, DEV_CAP_FLAG_BAD_QKEY_CNTR, DEV_CAP_FLAG_BLH,
    DEV_CAP_FLAG_IPOIB_CSUM, DEV_CAP_FLAG_PORT_MNG_CHG_EV, DEV_CAP_FLAG_UD_AV_PORT,
};
pub(crate) use cmd::{
    CmdArgs, Dispatch, Input, MadIfcFlags, MadWc, Mailbox, Opcode, RawOut, Timeout,
};
pub(crate) use cmd::{MAD_SIZE, MAILBOX_SIZE};
pub(crate) use db::Db;
pub(crate) use event::{Event, EventHandler, EventNotifier, EQE_SIZE};
pub(crate) use hwobj::{CqMem, CqResources, HwCq, HwQp, HwSrq, SrqResources};
pub(crate) use mr::{convert_access, Access, Mr};
pub(crate) use pd::Pd;
pub(crate) use qp::{qp_modify, qp_query, QpRange, QpState, QpUsage, QP_CONTEXT_SIZE};
pub(crate) use qp::{RESERVE_A0_QP, RESERVE_ETH_BF_QP};
pub(crate) use uar::{Uar, UarMap};

use crate::rust_bindings::auxiliary;
use crate::rust_bindings::raw;
use core::marker::PhantomData;
use core::pin::Pin;
use kernel::error::{from_result, to_result, Result};
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::{ForeignOwnable, Opaque};

/// The auxiliary device name prefix mlx4_core uses (`MLX4_ADEV_NAME`).
pub(crate) const ADEV_NAME: &str = "mlx4_core";

/// The protocol a driver serves (`enum mlx4_protocol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// `MLX4_PROT_IB_IPV6`: the RDMA (verbs) driver.
    IbIpv6,
    /// `MLX4_PROT_ETH`: the Ethernet driver.
    Eth,
}

impl Protocol {
    const fn to_raw(self) -> raw::mlx4_protocol {
        match self {
            Self::IbIpv6 => raw::mlx4_protocol_MLX4_PROT_IB_IPV6,
            Self::Eth => raw::mlx4_protocol_MLX4_PROT_ETH,
        }
    }
}

/// The type of an HCA port (`enum mlx4_port_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PortType {
    /// `MLX4_PORT_TYPE_IB`.
    Ib,
    /// `MLX4_PORT_TYPE_ETH`.
    Eth,
    /// `MLX4_PORT_TYPE_NONE` or a sensing/auto value.
    Other,
}

/// An mlx4 HCA as mlx4_core describes it (`struct mlx4_dev`).
///
/// # Invariants
///
/// References only exist while the auxiliary device that leads to it is being probed or removed,
/// or is bound (from `probe` until `remove` returns), during which mlx4_core keeps the
/// `mlx4_dev` alive.
///
/// Resources created from a `Dev` keep its raw pointer instead, under the resource lifetime rule
/// of the module documentation.
#[repr(transparent)]
pub(crate) struct Dev(Opaque<raw::mlx4_dev>);

/// A reference to an HCA kept by an object of its driver (the RDMA device of the HCA).
///
/// # Invariants
///
/// Points to a bound `mlx4_dev`; like every resource of this module, its holder is dropped by
/// the end of the driver's `remove` (module documentation), so the device outlives it.
pub(crate) struct DevRef(core::ptr::NonNull<raw::mlx4_dev>);

// SAFETY: `mlx4_dev` is shared by mlx4_core and its drivers from any thread.
unsafe impl Send for DevRef {}
// SAFETY: As above; `&Dev` only allows what mlx4_core allows concurrently.
unsafe impl Sync for DevRef {}

impl core::ops::Deref for DevRef {
    type Target = Dev;

    fn deref(&self) -> &Dev {
        // SAFETY: The device outlives `self` (type invariant).
        unsafe { Dev::from_raw(self.0) }
    }
}

impl Dev {
    /// Returns a reference for an object that lives while the device is bound.
    pub(crate) fn to_ref(&self) -> DevRef {
        // INVARIANT: The holder follows the module's resource lifetime rule.
        DevRef(self.as_non_null())
    }

    /// Returns the raw pointer, for the resources created from this device.
    pub(crate) fn as_raw(&self) -> *mut raw::mlx4_dev {
        self.0.get()
    }

    /// Returns the raw pointer a resource keeps (see the module documentation).
    pub(crate) fn as_non_null(&self) -> core::ptr::NonNull<raw::mlx4_dev> {
        core::ptr::NonNull::from(&self.0).cast()
    }

    /// Returns the device a raw pointer kept by a resource points to.
    ///
    /// # Safety
    ///
    /// `ptr` must come from [`Dev::as_non_null`] of a device that is still bound for `'a` (the
    /// resource lifetime rule of the module documentation).
    pub(crate) unsafe fn from_raw<'a>(ptr: core::ptr::NonNull<raw::mlx4_dev>) -> &'a Self {
        // SAFETY: `Dev` is transparent over the C struct; validity is the caller's.
        unsafe { ptr.cast::<Self>().as_ref() }
    }

    /// The offset of the HCA's free-running clock in its page (what libmlx4 reads in the page
    /// [`Dev::map_user_clock`] maps); mlx4_core's error if the HCA has no clock.
    pub(crate) fn clock_offset(&self) -> Result<u32> {
        let mut off = 0;
        // SAFETY: The device is bound (type invariant); the helper reads its clock parameters.
        kernel::error::to_result(unsafe { raw::mlx4_clock_offset(self.as_raw(), &mut off) })?;
        Ok(off)
    }

    /// Maps the page of the HCA's free-running clock into the process whose `mmap` this is,
    /// uncached (mlx4_ib's `mmap` at offset 3); mlx4_core's error if the HCA has no clock.
    pub(crate) fn map_user_clock(
        &self,
        map: crate::rust_bindings::rdma::provider::UserMap<'_>,
    ) -> Result {
        let mut pfn = 0;
        // SAFETY: The device is bound (type invariant); the helper reads its clock parameters.
        kernel::error::to_result(unsafe { raw::mlx4_clock_pfn(self.as_raw(), &mut pfn) })?;
        // SAFETY: The clock page holds only the read-only counter mlx4_core exposes to every
        // process of the device, as the C driver does.
        unsafe {
            map.map_io_page(
                pfn as u64,
                crate::rust_bindings::rdma::provider::IoCaching::Uncached,
            )
        }
    }

    fn raw_caps(&self) -> &raw::mlx4_caps {
        // SAFETY: The device is valid by the type invariant, and mlx4_core does not change
        // `caps` while auxiliary drivers are bound (it removes them before a reset).
        unsafe { &(*self.0.get()).caps }
    }

    /// Returns the number of physical ports.
    pub(crate) fn num_ports(&self) -> u32 {
        u32::try_from(self.raw_caps().num_ports).unwrap_or(0)
    }

    /// Returns the type of `port` (1-based), as the port mask reports it.
    pub(crate) fn port_type(&self, port: u32) -> PortType {
        let mask = usize::try_from(port)
            .ok()
            .and_then(|p| self.raw_caps().port_mask.get(p));
        match mask.copied() {
            Some(raw::mlx4_port_type_MLX4_PORT_TYPE_IB) => PortType::Ib,
            Some(raw::mlx4_port_type_MLX4_PORT_TYPE_ETH) => PortType::Eth,
            _ => PortType::Other,
        }
    }

    /// Returns the firmware version as (major, minor, sub-minor).
    pub(crate) fn fw_version(&self) -> (u16, u16, u16) {
        let v = self.raw_caps().fw_ver;
        // The layout of `mlx4_caps.fw_ver` (mlx4_ib's `show_fw_ver`): 16 bits each, low 48 bits.
        ((v >> 32) as u16, (v >> 16) as u16, v as u16)
    }
}

/// An `mlx4_core.*` auxiliary device (`struct mlx4_adev`).
#[repr(transparent)]
pub(crate) struct AuxDevice(auxiliary::Device);

impl AuxDevice {
    /// Returns the generic auxiliary device.
    pub(crate) fn as_aux(&self) -> &auxiliary::Device {
        &self.0
    }

    /// Returns the HCA this device stands for.
    pub(crate) fn mlx4_dev(&self) -> &Dev {
        let adev = self.0.as_raw();
        // SAFETY: Every auxiliary device mlx4_core creates is the `adev` member of a
        // `struct mlx4_adev` (mlx4_adev_init), and only mlx4_core devices match an mlx4 driver's
        // id table; `mdev` is set before the device is added and outlives it.
        unsafe {
            let madev = kernel::container_of!(adev, raw::mlx4_adev, adev);
            &*(*madev).mdev.cast::<Dev>()
        }
    }
}

/// A driver for an `mlx4_core.<name>` auxiliary device.
pub(crate) trait Driver: Sized + 'static {
    /// The driver name; devices named `mlx4_core.<NAME>.N` are bound to it.
    const NAME: &'static CStr;
    /// The auxiliary device id it binds, `mlx4_core.<NAME>`.
    const ID: auxiliary::DeviceId;
    /// The protocol it serves.
    const PROTOCOL: Protocol;
    /// Whether it stays bound while mlx4_core bonds the two ports (`MLX4_INTFF_BONDING`).
    const BONDING: bool;

    /// What the driver keeps per bound device.
    type Data: ForeignOwnable + Send + Sync;

    /// Binds `dev`; an error leaves it unbound.
    fn probe(dev: &AuxDevice) -> Result<Self::Data>;

    /// Unbinds `dev`, which `probe` bound with `data`.
    fn remove(dev: &AuxDevice, data: Self::Data);
}

/// What the driver core and mlx4_core point to while the driver is registered.
#[repr(C)]
struct Storage {
    adrv: Opaque<raw::mlx4_adrv>,
    ids: [raw::auxiliary_device_id; 2],
}

/// A registered mlx4 auxiliary driver; dropping it unregisters the driver (and so unbinds every
/// device, calling `remove`).
pub(crate) struct Registration<T: Driver> {
    storage: Pin<KBox<Storage>>,
    _t: PhantomData<T>,
}

// SAFETY: The storage is only touched by the driver core after registration, and by `drop`.
unsafe impl<T: Driver> Send for Registration<T> {}
// SAFETY: `&Registration` gives no access to anything.
unsafe impl<T: Driver> Sync for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Registers the driver (`mlx4_register_auxiliary_driver`); `probe` runs for every matching
    /// device before this returns.
    pub(crate) fn new() -> Result<Self> {
        let storage = KBox::pin(
            Storage {
                adrv: Opaque::uninit(),
                // The second entry is the zeroed terminator.
                ids: [T::ID.0, auxiliary::DeviceId::terminator().0],
            },
            GFP_KERNEL,
        )?;
        let adrv = storage.adrv.get();
        // SAFETY: `adrv` points to pinned storage that lives until `drop` unregisters it. It is
        // written whole (zeroed, like a C static) before mlx4_core sees it.
        unsafe {
            adrv.write(core::mem::zeroed());
            (*adrv).adrv.name = T::NAME.as_char_ptr();
            (*adrv).adrv.probe = Some(Self::probe_callback);
            (*adrv).adrv.remove = Some(Self::remove_callback);
            (*adrv).adrv.id_table = storage.ids.as_ptr();
            (*adrv).protocol = T::PROTOCOL.to_raw();
            (*adrv).flags = if T::BONDING {
                raw::MLX4_INTFF_BONDING as c_int
            } else {
                0
            };
        }
        // SAFETY: `adrv` is fully initialised, pinned, and not registered yet.
        to_result(unsafe { raw::mlx4_register_auxiliary_driver(adrv) })?;
        Ok(Self {
            storage,
            _t: PhantomData,
        })
    }

    /// `auxiliary_driver.probe`.
    ///
    /// # Safety
    ///
    /// Called by the driver core only, with a device matching the id table.
    unsafe extern "C" fn probe_callback(
        adev: *mut raw::auxiliary_device,
        _id: *const raw::auxiliary_device_id,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The driver core holds `adev` for the duration of `probe`; it matched our
            // id table, so it is an mlx4_core device (`AuxDevice` is transparent over it).
            let dev = unsafe { &*adev.cast::<AuxDevice>() };
            let data = T::probe(dev)?;
            // SAFETY: `adev` is valid; drvdata is ours from `probe` until `remove`.
            unsafe { raw::auxiliary_set_drvdata(adev, data.into_foreign().cast_mut()) };
            Ok(0)
        })
    }

    /// `auxiliary_driver.remove`.
    ///
    /// # Safety
    ///
    /// Called by the driver core only, for a device `probe_callback` bound.
    unsafe extern "C" fn remove_callback(adev: *mut raw::auxiliary_device) {
        // SAFETY: As in `probe_callback`; `remove` only runs for devices `probe` bound.
        let dev = unsafe { &*adev.cast::<AuxDevice>() };
        // SAFETY: `probe_callback` stored the pointer with `into_foreign`; `remove` runs once.
        let data = unsafe { T::Data::try_from_foreign(raw::auxiliary_get_drvdata(adev)) };
        // SAFETY: `adev` is valid; clear the now dangling pointer.
        unsafe { raw::auxiliary_set_drvdata(adev, core::ptr::null_mut()) };
        if let Some(data) = data {
            T::remove(dev, data);
        }
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: The driver was registered by `new`, which created `self`.
        unsafe { raw::mlx4_unregister_auxiliary_driver(self.storage.adrv.get()) };
    }
}

/// An RDMA device registered for an HCA, with the HCA's InfiniBand ports shown as its ports in
/// devlink (`devlink_port_type_ib_set`, as `mlx4_ib_probe` does); dropping it clears them
/// (`devlink_port_type_clear`) before the device is unregistered.
///
/// # Invariants
///
/// `dev` is the bound HCA `reg` was registered for; the ports in `ib_ports` (bit N: port N)
/// point devlink at `reg`'s device until drop.
pub(crate) struct IbRegistration<D: crate::rust_bindings::rdma::provider::Driver> {
    dev: core::ptr::NonNull<raw::mlx4_dev>,
    ib_ports: u32,
    reg: crate::rust_bindings::rdma::provider::Registration<D>,
}

impl<D: crate::rust_bindings::rdma::provider::Driver> IbRegistration<D> {
    /// Shows the InfiniBand ports of `dev` as those of `reg`'s device.
    pub(crate) fn new(
        dev: &Dev,
        reg: crate::rust_bindings::rdma::provider::Registration<D>,
    ) -> Self {
        let mut ib_ports = 0;
        for port in 1..=dev.num_ports().min(2) {
            if dev.port_type(port) == PortType::Ib {
                // SAFETY: `dev` is bound; its devlink port `port` exists while it is, and the
                // RDMA device stays registered until `drop` clears the port's type.
                unsafe {
                    raw::devlink_port_type_ib_set(
                        raw::mlx4_get_devlink_port(dev.as_raw(), port as i32),
                        reg.device().as_raw(),
                    )
                };
                ib_ports |= 1 << port;
            }
        }
        // INVARIANT: The ports set above point at `reg`'s device.
        Self {
            dev: dev.as_non_null(),
            ib_ports,
            reg,
        }
    }
}

impl<D: crate::rust_bindings::rdma::provider::Driver> core::ops::Deref for IbRegistration<D> {
    type Target = crate::rust_bindings::rdma::provider::Registration<D>;

    fn deref(&self) -> &Self::Target {
        &self.reg
    }
}

impl<D: crate::rust_bindings::rdma::provider::Driver> Drop for IbRegistration<D> {
    fn drop(&mut self) {
        for port in 1..=2 {
            if self.ib_ports & (1 << port) != 0 {
                // SAFETY: The HCA is bound (resource lifetime rule) and the port was set in
                // `new`; the registration is dropped after this.
                unsafe {
                    raw::devlink_port_type_clear(raw::mlx4_get_devlink_port(
                        self.dev.as_ptr(),
                        port,
                    ))
                };
            }
        }
    }
}

// SAFETY: The registration is `Send`; the HCA pointer is only used in drop, in process context.
unsafe impl<D: crate::rust_bindings::rdma::provider::Driver> Send for IbRegistration<D> {}
// SAFETY: `&IbRegistration` only gives `&Registration`, which is `Sync`.
unsafe impl<D: crate::rust_bindings::rdma::provider::Driver> Sync for IbRegistration<D> {}
