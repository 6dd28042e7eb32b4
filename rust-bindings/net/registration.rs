// SPDX-License-Identifier: GPL-2.0

//! Registering network devices: [`Config`], the owning [`Registration`], devices created
//! through netlink ([`NewLink`]), and the driver data kept in a device's private area.

use super::ethtool::EthtoolAdapter;
use super::ops::{Adapter, DeviceOps, Ops};
use super::NetDevice;
use crate::rust_bindings::raw;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{to_result, Result};
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::ForeignOwnable;

/// How a device looks to the stack, applied before registration.
#[derive(Clone, Copy)]
pub(crate) struct Config<'a> {
    /// Name template (`"ib%d"`) or name.
    pub(crate) name: &'a CStr,
    /// `ARPHRD_*` type.
    pub(crate) type_: u16,
    /// Hardware address.
    pub(crate) addr: &'a [u8],
    /// Broadcast address (same length).
    pub(crate) broadcast: &'a [u8],
    /// Link-level header length pushed by `create_header`.
    pub(crate) hard_header_len: u16,
    /// `IFF_*` flags.
    pub(crate) flags: u32,
    /// Default TX queue length.
    pub(crate) tx_queue_len: u32,
    /// TX watchdog timeout in jiffies.
    pub(crate) watchdog_timeo: i32,
    /// Initial, minimum and maximum MTU.
    pub(crate) mtu: u32,
    pub(crate) min_mtu: u32,
    pub(crate) max_mtu: u32,
    /// `dev_port` and `dev_id`.
    pub(crate) dev_port: u16,
    pub(crate) dev_id: u16,
    /// Parent device in sysfs (`SET_NETDEV_DEV`), e.g. the HCA's PCI device.
    pub(crate) parent: Option<NonNull<raw::device>>,
    /// Driver-specific sysfs files (`sysfs_groups[0]`).
    pub(crate) sysfs: Option<&'static super::SysfsGroup>,
    /// The `rtnl_link_ops` the device reports (`ip -d link` details, `changelink`).
    pub(crate) link_ops: Option<&'static super::LinkOpsHandle>,
    /// Packets reach `start_xmit` with their route (`netif_keep_dst`), for ICMP errors.
    pub(crate) keep_dst: bool,
    /// `NETIF_F_*` features, none of them changeable with ethtool.
    pub(crate) features: u64,
    /// `NETIF_F_*` features on from the start that ethtool may turn off (`hw_features`).
    pub(crate) hw_features: u64,
}

/// A registered network device and its driver data; dropping it unregisters the device (which
/// stops it first); the device and the data are freed once the last reference is gone.
pub(crate) struct Registration<T: Ops> {
    dev: NonNull<raw::net_device>,
    _t: PhantomData<T>,
}

// SAFETY: The registration only holds the device pointer; the device is usable from any thread.
unsafe impl<T: Ops> Send for Registration<T> {}
// SAFETY: As above.
unsafe impl<T: Ops> Sync for Registration<T> {}

/// The `setup` callback of `alloc_netdev_mqs` (and of devices created through netlink): the
/// device is configured later, but a non-zero queue length must be set here, or
/// `alloc_netdev_mqs` marks the device `IFF_NO_QUEUE` and it gets no qdisc.
///
/// # Safety
///
/// Called by `alloc_netdev_mqs` only, with the device it is allocating.
pub(super) unsafe extern "C" fn setup_nothing(dev: *mut raw::net_device) {
    // SAFETY: `dev` is the device being allocated, exclusively ours.
    unsafe { (*dev).tx_queue_len = raw::DEFAULT_TX_QUEUE_LEN }
}

/// The size of the private area of every device of this module: one pointer, the driver data.
pub(super) const PRIV_SIZE: usize = core::mem::size_of::<*const c_void>();

/// Takes the driver data out of a device's private area, leaving it empty.
///
/// # Safety
///
/// `d` is a device of `T` (its private area is empty or holds a `T::Data` from
/// `into_foreign`) that no operation uses any more.
pub(super) unsafe fn take_data<T: DeviceOps>(d: *mut raw::net_device) -> Option<T::Data> {
    // SAFETY: Per the function's contract the area holds one pointer.
    unsafe {
        let slot = raw::netdev_priv(d).cast::<*const c_void>();
        let p = core::mem::replace(&mut *slot, core::ptr::null());
        (!p.is_null()).then(|| T::Data::from_foreign(p))
    }
}

/// Configures an allocated, unregistered device of `T` and stores `data` in it.
///
/// # Safety
///
/// `d` is allocated with a private area of [`PRIV_SIZE`] bytes, not registered, and only the
/// caller uses it.
unsafe fn configure<T: Ops>(d: *mut raw::net_device, cfg: &Config<'_>, data: T::Data) -> Result {
    let name = cfg.name.as_bytes_with_nul();
    // SAFETY: `d` is valid; only the array length is read.
    let name_room = unsafe { (*d).name.len() };
    if cfg.addr.len() != cfg.broadcast.len()
        || cfg.addr.len() > raw::MAX_ADDR_LEN as usize
        || name.len() > name_room
    {
        T::release(data);
        return Err(EINVAL);
    }
    // SAFETY: Per the function's contract `d` is exclusively ours; the name fits (with its
    // NUL), as checked above.
    unsafe {
        core::ptr::copy_nonoverlapping(
            name.as_ptr(),
            (&raw mut (*d).name).cast::<u8>(),
            name.len(),
        );
        (*d).netdev_ops = Adapter::<T>::build_ops();
        (*d).header_ops = Adapter::<T>::build_header_ops();
        (*d).ethtool_ops = EthtoolAdapter::<T>::build();
        (*d).type_ = cfg.type_;
        (*d).addr_len = cfg.addr.len() as u8;
        (*d).hard_header_len = cfg.hard_header_len;
        (*d).flags = cfg.flags;
        (*d).tx_queue_len = cfg.tx_queue_len;
        (*d).watchdog_timeo = cfg.watchdog_timeo;
        (*d).mtu = cfg.mtu;
        (*d).min_mtu = cfg.min_mtu;
        (*d).max_mtu = cfg.max_mtu;
        (*d).dev_port = cfg.dev_port;
        (*d).dev_id = cfg.dev_id;
        core::ptr::copy_nonoverlapping(
            cfg.broadcast.as_ptr(),
            (&raw mut (*d).broadcast).cast::<u8>(),
            cfg.broadcast.len(),
        );
        raw::dev_addr_mod(d, 0, cfg.addr.as_ptr().cast(), cfg.addr.len());
        if let Some(parent) = cfg.parent {
            raw::set_netdev_dev(d, parent.as_ptr());
        }
        if cfg.keep_dst {
            raw::netif_keep_dst(d);
        }
        (*d).hw_features |= cfg.hw_features;
        (*d).features |= cfg.features | cfg.hw_features;
        if let Some(g) = cfg.sysfs {
            (*d).sysfs_groups[0] = g.as_raw();
        }
        if let Some(l) = cfg.link_ops {
            (*d).rtnl_link_ops = l.as_raw();
        }
        raw::netif_carrier_off(d);
        // The device is freed by the core once unregistered and unreferenced; the data goes
        // with it (`priv_destructor`).
        (*d).needs_free_netdev = true;
        (*d).priv_destructor = Some(Adapter::<T>::destructor_callback);
        raw::netdev_priv(d)
            .cast::<*const c_void>()
            .write(data.into_foreign());
    }
    Ok(())
}

/// Registers a configured device with RTNL held; on failure the data is dropped and the device
/// is left unregistered for the caller to free.
///
/// # Safety
///
/// As for [`configure`], and the device went through it; RTNL is held.
unsafe fn register_locked<T: Ops>(d: *mut raw::net_device) -> Result {
    // SAFETY: Per the function's contract.
    let r = to_result(unsafe { raw::register_netdevice(d) });
    if r.is_err() {
        // `register_netdevice` calls `priv_destructor` on some failures only; the data is
        // released here if it did not.
        // SAFETY: The device is not registered, so no operation uses it.
        if let Some(data) = unsafe { take_data::<T>(d) } {
            T::release(data);
        }
    }
    r
}

impl<T: Ops> Registration<T> {
    /// Allocates a device, stores `data` in it, configures it and registers it.
    pub(crate) fn register(cfg: &Config<'_>, data: T::Data) -> Result<Self> {
        let d = Self::alloc(cfg)?;
        // SAFETY: `d` is freshly allocated with `PRIV_SIZE` and only this function sees it.
        if let Err(e) = unsafe { configure::<T>(d, cfg, data) } {
            // SAFETY: Never registered.
            unsafe { raw::free_netdev(d) };
            return Err(e);
        }
        let rtnl = super::Rtnl::lock();
        // SAFETY: Configured above; RTNL is held.
        let r = unsafe { register_locked::<T>(d) };
        drop(rtnl);
        if let Err(e) = r {
            // SAFETY: Registration failed, so the device is ours to free.
            unsafe { raw::free_netdev(d) };
            return Err(e);
        }
        Ok(Self {
            // `alloc` checked for null.
            dev: NonNull::new(d).ok_or(ENOMEM)?,
            _t: PhantomData,
        })
    }

    /// Allocates, configures and registers a device whose lifetime the driver manages itself
    /// under RTNL (it ends with [`NetDevice::unregister`] or a netlink `dellink`), e.g. a child
    /// interface created from a sysfs file.
    pub(crate) fn register_unowned<'r>(
        _rtnl: &'r super::Rtnl,
        cfg: &Config<'_>,
        data: T::Data,
    ) -> Result<&'r NetDevice> {
        let d = Self::alloc(cfg)?;
        // SAFETY: As in `register`.
        if let Err(e) = unsafe { configure::<T>(d, cfg, data) } {
            // SAFETY: Never registered.
            unsafe { raw::free_netdev(d) };
            return Err(e);
        }
        // SAFETY: Configured above; RTNL is held, as `_rtnl` proves.
        if let Err(e) = unsafe { register_locked::<T>(d) } {
            // SAFETY: Registration failed, so the device is ours to free.
            unsafe { raw::free_netdev(d) };
            return Err(e);
        }
        // SAFETY: A registered device is only freed after it is unregistered, which needs RTNL,
        // which the caller holds for `'r`.
        Ok(unsafe { NetDevice::from_raw(d) })
    }

    fn alloc(cfg: &Config<'_>) -> Result<*mut raw::net_device> {
        // SAFETY: `name` is a valid C string; one TX and one RX queue.
        let dev = unsafe {
            raw::alloc_netdev_mqs(
                PRIV_SIZE as c_int,
                cfg.name.as_char_ptr(),
                raw::NET_NAME_UNKNOWN,
                Some(setup_nothing),
                1,
                1,
            )
        };
        if dev.is_null() {
            return Err(ENOMEM);
        }
        Ok(dev)
    }

    /// Returns the device.
    pub(crate) fn device(&self) -> &NetDevice {
        // SAFETY: The device stays allocated until `drop`.
        unsafe { NetDevice::from_raw(self.dev.as_ptr()) }
    }
}

impl<T: Ops> Registration<T> {
    /// Unregisters the device with RTNL held (so that other devices can go in the same hold);
    /// it is freed with its data after RTNL is released.
    pub(crate) fn unregister_locked(self, _rtnl: &super::Rtnl) {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: Registered by `register`, unregistered only here or in `drop`, which will not
        // run; RTNL is held.
        unsafe { raw::unregister_netdevice_queue(this.dev.as_ptr(), core::ptr::null_mut()) };
    }
}

impl<T: Ops> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: The device was registered by `register` and is unregistered only here
        // (`NetDevice::unregister` and `dellink` leave devices with a `Registration` alone:
        // the driver only calls them for its unowned devices). The core frees the device and
        // its data once the last reference is gone.
        unsafe { raw::unregister_netdev(self.dev.as_ptr()) };
    }
}

/// A device being created through netlink (`rtnl_link_ops.newlink`): allocated by the core
/// with this module's `setup`, not registered yet.
pub(crate) struct NewLink<'a> {
    dev: *mut raw::net_device,
    _rtnl: PhantomData<&'a super::Rtnl>,
}

impl<'a> NewLink<'a> {
    /// # Safety
    ///
    /// `dev` is a device the core allocated for this module's `rtnl_link_ops` and passes to
    /// `newlink`, with RTNL held for `'a`.
    pub(super) unsafe fn from_raw(dev: *mut raw::net_device) -> Self {
        Self {
            dev,
            _rtnl: PhantomData,
        }
    }

    /// Returns the name the user asked for (or the template the core chose).
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: `name` is a NUL-terminated array inside the device.
        unsafe { CStr::from_char_ptr((*self.dev).name.as_ptr()) }
    }

    /// Configures the device for `T` and registers it; the name in `cfg` is ignored (the
    /// device keeps the one the core gave it). On failure the core frees the device.
    pub(crate) fn register<T: Ops>(self, cfg: &Config<'_>, data: T::Data) -> Result<&'a NetDevice> {
        let d = self.dev;
        let mut name = [0u8; 16];
        // SAFETY: `name` is the device's NUL-terminated name.
        unsafe {
            core::ptr::copy_nonoverlapping((*d).name.as_ptr().cast::<u8>(), name.as_mut_ptr(), 16)
        };
        name[15] = 0;
        let name =
            CStr::from_bytes_with_nul(&name[..=name.iter().position(|&c| c == 0).unwrap_or(15)])
                .map_err(|_| EINVAL)?;
        let cfg = Config { name, ..*cfg };
        // SAFETY: The core allocated the device with this module's `priv_size` (`PRIV_SIZE`)
        // and hands it to `newlink` unregistered; RTNL is held.
        unsafe {
            configure::<T>(d, &cfg, data)?;
            register_locked::<T>(d)?;
            Ok(NetDevice::from_raw(d))
        }
    }
}

/// Returns the driver data of `dev`, a device of `T` in use (its data is set until the device
/// is freed).
///
/// # Safety
///
/// `dev` must be a registered device of `T` (configured by this module for `T`), and the
/// borrow must not outlive its registration.
pub(super) unsafe fn driver_data<'a, T: DeviceOps>(
    dev: *mut raw::net_device,
) -> <T::Data as ForeignOwnable>::Borrowed<'a> {
    // SAFETY: Per the function's contract, the private area holds the `into_foreign` pointer,
    // taken back only by the destructor, after unregistration.
    unsafe { T::Data::borrow(*raw::netdev_priv(dev).cast::<*const c_void>()) }
}

impl NetDevice {
    /// Returns whether this device belongs to the driver `T` (its operations are `T`'s).
    pub(crate) fn is_driver<T: Ops>(&self) -> bool {
        // SAFETY: The device is valid; `netdev_ops` is set before registration and not changed.
        core::ptr::eq(
            unsafe { (*self.as_raw()).netdev_ops },
            Adapter::<T>::build_ops(),
        )
    }

    /// Returns the driver data if this is a device of `T` that is registered or being
    /// unregistered (as in a `NETDEV_UNREGISTER` notification); the borrow lasts while RTNL
    /// is held.
    pub(crate) fn driver_data<'a, T: Ops>(
        &'a self,
        _rtnl: &'a super::Rtnl,
    ) -> Option<<T::Data as ForeignOwnable>::Borrowed<'a>> {
        // SAFETY: The device is valid; `reg_state` changes under RTNL only, which is held.
        let state = u32::from(unsafe { (*self.as_raw()).reg_state });
        if !self.is_driver::<T>()
            || (state != raw::netdev_reg_state_NETREG_REGISTERED
                && state != raw::netdev_reg_state_NETREG_UNREGISTERING)
        {
            return None;
        }
        // SAFETY: A device of `T` has its data set from before registration until its
        // destructor runs, after it left `NETREG_UNREGISTERING`, which needs RTNL, held for
        // `'a`.
        Some(unsafe { driver_data::<T>(self.as_raw()) })
    }

    /// Returns the interface flags (`IFF_*`).
    pub(crate) fn flags(&self) -> u32 {
        // SAFETY: The device is valid; `flags` changes under RTNL, read once here.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_raw()).flags) }
    }

    /// Brings the device up or down (`dev_change_flags` with `IFF_UP` set or cleared), as
    /// `ip link set DEV up|down` does.
    pub(crate) fn set_up(&self, _rtnl: &super::Rtnl, up: bool) -> Result {
        let flags = self.flags();
        let up_flag = raw::net_device_flags_IFF_UP;
        let new = if up {
            flags | up_flag
        } else {
            flags & !up_flag
        };
        // SAFETY: The device is valid and RTNL is held.
        to_result(unsafe { raw::dev_change_flags(self.as_raw(), new, core::ptr::null_mut()) })
    }

    /// Returns whether the device is registered (`NETREG_REGISTERED`).
    pub(crate) fn is_registered(&self) -> bool {
        // SAFETY: The device is valid; `reg_state` changes under RTNL only.
        unsafe { u32::from((*self.as_raw()).reg_state) == raw::netdev_reg_state_NETREG_REGISTERED }
    }

    /// Unregisters a device the driver registered with [`Registration::register_unowned`] (or
    /// that netlink created); does nothing if it is not registered (any more). The device and its
    /// data are freed once the last reference is gone, after RTNL is released.
    pub(crate) fn unregister(&self, _rtnl: &super::Rtnl) {
        if self.is_registered() {
            // SAFETY: The device is registered and RTNL is held.
            unsafe { raw::unregister_netdevice_queue(self.as_raw(), core::ptr::null_mut()) }
        }
    }
}
