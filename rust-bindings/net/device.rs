// SPDX-License-Identifier: GPL-2.0

//! Network devices (`struct net_device`) and their operations (`net_device_ops`, `header_ops`).

use super::{SkBuff, SkBuffRef};
use crate::rust_bindings::raw;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{from_result, to_result, Result, VTABLE_DEFAULT_ERROR};
use kernel::ffi::{c_int, c_uint, c_ushort, c_void};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::{ForeignOwnable, Opaque};

/// A network device.
///
/// # Invariants
///
/// References only exist while the device is allocated: inside its operations, or borrowed from
/// the [`Registration`] that owns it.
#[repr(transparent)]
pub(crate) struct NetDevice(Opaque<raw::net_device>);

// SAFETY: `net_device` is used from any thread; every method calls thread-safe kernel functions
// or reads fields that the kernel itself reads without locks.
unsafe impl Sync for NetDevice {}
// SAFETY: As above.
unsafe impl Send for NetDevice {}

impl NetDevice {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to an allocated `net_device` that stays allocated for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut raw::net_device) -> &'a Self {
        // SAFETY: `repr(transparent)`; validity is the caller's promise.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Returns the raw pointer.
    pub(crate) fn as_raw(&self) -> *mut raw::net_device {
        self.0.get()
    }

    /// Returns the interface name.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: `name` is a NUL-terminated array inside the device (renames rewrite it in place
        // under RTNL; a racing reader may see a torn name, as C readers do).
        unsafe { CStr::from_char_ptr((*self.as_raw()).name.as_ptr()) }
    }

    /// Returns the interface index (0 before registration).
    pub(crate) fn ifindex(&self) -> i32 {
        // SAFETY: The device is valid; `ifindex` is an `int` set once at registration.
        unsafe { (*self.as_raw()).ifindex }
    }

    /// Returns the current MTU.
    pub(crate) fn mtu(&self) -> u32 {
        // SAFETY: The device is valid; `READ_ONCE(dev->mtu)` semantics, as in C readers.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_raw()).mtu) }
    }

    /// Changes the MTU through the core (`dev_set_mtu`: validation, `ndo_change_mtu`,
    /// notifications); RTNL must be held, which `_rtnl` proves.
    pub(crate) fn set_mtu(&self, _rtnl: &super::Rtnl, mtu: u32) -> Result {
        let mtu = c_int::try_from(mtu).map_err(|_| EINVAL)?;
        // SAFETY: The device is valid and RTNL is held.
        to_result(unsafe { raw::dev_set_mtu(self.as_raw(), mtu) })
    }

    /// Returns whether this is the same device as `other`.
    pub(crate) fn is(&self, other: &NetDevice) -> bool {
        core::ptr::eq(self.as_raw(), other.as_raw())
    }

    /// Stores a new MTU that the caller validated, from `ndo_change_mtu` (whose RTNL the
    /// witness proves: every other writer of `dev->mtu` holds it too).
    pub(crate) fn set_mtu_field(&self, _rtnl: &super::Rtnl, mtu: u32) {
        // SAFETY: The device is valid; RTNL is held (the witness), so this is the only writer;
        // `WRITE_ONCE(dev->mtu, ...)`, as `dev_set_mtu` does, for the lockless readers.
        unsafe { core::ptr::write_volatile(&raw mut (*self.as_raw()).mtu, mtu) }
    }

    /// Returns a copy of the hardware address (`dev_addr`) if it is `N` bytes long.
    ///
    /// A copy, not a borrow: `set_dev_addr` rewrites these bytes under RTNL.
    pub(crate) fn dev_addr<const N: usize>(&self) -> Option<[u8; N]> {
        let dev = self.as_raw();
        // SAFETY: `dev_addr` points to `addr_len` bytes owned by the device for its lifetime;
        // they are copied out at once, byte by byte as `memcpy` would (a concurrent
        // `dev_addr_mod` can only make the copy a mix of two addresses, as in C).
        unsafe {
            if usize::from((*dev).addr_len) != N {
                return None;
            }
            let mut out = [0u8; N];
            core::ptr::copy_nonoverlapping((*dev).dev_addr, out.as_mut_ptr(), N);
            Some(out)
        }
    }

    /// Returns the broadcast address (`addr_len` bytes).
    pub(crate) fn broadcast(&self) -> &[u8] {
        let dev = self.as_raw();
        // SAFETY: `broadcast` is an array inside the device; `addr_len` never exceeds it
        // (`MAX_ADDR_LEN`).
        unsafe {
            let len = usize::from((*dev).addr_len).min((*dev).broadcast.len());
            core::slice::from_raw_parts((*dev).broadcast.as_ptr(), len)
        }
    }

    /// Sets the hardware address (`dev_addr_mod`) under RTNL (the witness).
    pub(crate) fn set_dev_addr(&self, _rtnl: &super::Rtnl, addr: &[u8]) {
        let dev = self.as_raw();
        // SAFETY: The device is valid; `addr` is readable for its length, clamped to `addr_len`;
        // RTNL serialises this with every other writer of the address.
        unsafe {
            let len = addr.len().min(usize::from((*dev).addr_len));
            raw::dev_addr_mod(dev, 0, addr.as_ptr().cast(), len)
        }
    }

    /// Tells the stack the hardware address changed (`NETDEV_CHANGEADDR`, as
    /// `dev_set_mac_address` does after a change).
    pub(crate) fn notify_addr_changed(&self, _rtnl: &super::Rtnl) {
        // SAFETY: The device is valid and registered; RTNL is held (the proof argument).
        unsafe {
            raw::call_netdevice_notifiers(raw::netdev_cmd_NETDEV_CHANGEADDR as _, self.as_raw())
        };
    }

    /// Turns the carrier on.
    pub(crate) fn carrier_on(&self) {
        // SAFETY: The device is valid; `netif_carrier_on` may be called in any context.
        unsafe { raw::netif_carrier_on(self.as_raw()) }
    }

    /// Turns the carrier off.
    pub(crate) fn carrier_off(&self) {
        // SAFETY: As in `carrier_on`.
        unsafe { raw::netif_carrier_off(self.as_raw()) }
    }

    /// Returns whether the carrier is on.
    pub(crate) fn carrier_ok(&self) -> bool {
        // SAFETY: The device is valid.
        unsafe { raw::netif_carrier_ok(self.as_raw()) }
    }

    /// Returns whether the interface is up (`netif_running`).
    pub(crate) fn is_running(&self) -> bool {
        // SAFETY: The device is valid.
        unsafe { raw::netif_running(self.as_raw()) }
    }

    /// Allows the stack to transmit.
    pub(crate) fn start_queue(&self) {
        // SAFETY: The device is valid and has one TX queue.
        unsafe { raw::netif_start_queue(self.as_raw()) }
    }

    /// Stops the stack from transmitting.
    pub(crate) fn stop_queue(&self) {
        // SAFETY: As in `start_queue`.
        unsafe { raw::netif_stop_queue(self.as_raw()) }
    }

    /// Restarts a stopped queue and reschedules it.
    pub(crate) fn wake_queue(&self) {
        // SAFETY: As in `start_queue`.
        unsafe { raw::netif_wake_queue(self.as_raw()) }
    }

    /// Returns whether the queue is stopped.
    pub(crate) fn queue_stopped(&self) -> bool {
        // SAFETY: As in `start_queue`.
        unsafe { raw::netif_queue_stopped(self.as_raw()) }
    }

    /// Stops the queue, waiting for a running `ndo_start_xmit` to finish (`netif_tx_disable`).
    pub(crate) fn tx_disable(&self) {
        // SAFETY: As in `start_queue`; process or BH context.
        unsafe { raw::netif_tx_disable(self.as_raw()) }
    }
}

/// The multicast address list of a device, as `ndo_set_rx_mode` sees it.
///
/// # Invariants
///
/// `dev` is valid and its address lock (`netif_addr_lock_bh`) is held for `'a`: the core calls
/// `ndo_set_rx_mode` under it, and only `Adapter::set_rx_mode_callback` creates this type.
pub(crate) struct McList<'a> {
    dev: &'a NetDevice,
}

impl McList<'_> {
    /// Calls `f` with every address of the list, in the list's order.
    ///
    /// # Errors
    ///
    /// `EINVAL` if the device's addresses are not 20 bytes long (not an IPoIB device).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&[u8; 20])) -> Result {
        let dev = self.dev.as_raw();
        // SAFETY: `dev` is valid (type invariant).
        if unsafe { (*dev).addr_len } != 20 {
            return Err(EINVAL);
        }
        // SAFETY: The address lock is held (type invariant), so the list and its entries stay
        // as they are during the walk.
        let mut ha = unsafe { raw::netdev_mc_first(dev) };
        while !ha.is_null() {
            // SAFETY: `ha` is an entry of the list (as above); its `addr` holds `addr_len`
            // (checked: 20) valid bytes.
            let addr = unsafe { &*(*ha).addr.as_ptr().cast::<[u8; 20]>() };
            f(addr);
            // SAFETY: As above.
            ha = unsafe { raw::netdev_mc_next(dev, ha) };
        }
        Ok(())
    }
}

/// Link statistics reported through `ndo_get_stats64`.
#[derive(Default, Clone, Copy)]
pub(crate) struct LinkStats {
    pub(crate) rx_packets: u64,
    pub(crate) rx_bytes: u64,
    pub(crate) rx_dropped: u64,
    pub(crate) rx_errors: u64,
    pub(crate) multicast: u64,
    pub(crate) tx_packets: u64,
    pub(crate) tx_bytes: u64,
    pub(crate) tx_dropped: u64,
    pub(crate) tx_errors: u64,
}

/// What `ethtool -i` shows (`struct ethtool_drvinfo`).
#[derive(Default)]
pub(crate) struct DrvInfo {
    pub(crate) driver: [u8; 32],
    pub(crate) fw_version: [u8; 32],
    pub(crate) bus_info: [u8; 32],
}

/// Receive interrupt moderation (`ethtool -c`/`-C` `rx-usecs`, `rx-frames`).
#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Coalesce {
    /// `rx_coalesce_usecs`.
    pub(crate) rx_usecs: u32,
    /// `rx_max_coalesced_frames`.
    pub(crate) rx_frames: u32,
}

/// Copies `s` into a NUL-padded C string field, truncating it.
pub(crate) fn fill_cstr(dst: &mut [u8; 32], s: &[u8]) {
    let n = s.len().min(dst.len() - 1);
    dst.fill(0);
    dst[..n].copy_from_slice(&s[..n]);
}

/// What `ethtool DEV` shows (`ethtool_link_ksettings.base`).
pub(crate) enum LinkSettings {
    /// Speed and duplex unknown (no carrier).
    Unknown,
    /// Full duplex at `speed` Mbit/s, autonegotiated, port type "Other".
    Full {
        /// Mbit/s.
        speed: u32,
    },
}

/// Operations of a network device driver (`net_device_ops` and `header_ops.create`).
#[vtable]
pub(crate) trait Ops: Sized + 'static {
    /// The driver's per-device data, kept in the device's private area.
    type Data: ForeignOwnable + Send + Sync;

    /// `ndo_open`: the interface is brought up (RTNL held).
    fn open(
        _rtnl: &super::Rtnl,
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_stop`: the interface is brought down (RTNL held).
    fn stop(
        _rtnl: &super::Rtnl,
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_start_xmit`: send `skb` (which starts with the hard header `create` pushed); the
    /// packet is always consumed.
    fn start_xmit(
        _skb: SkBuff,
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_get_stats64`.
    fn get_stats64(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) -> LinkStats {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_change_mtu`: validate and apply `new_mtu` (RTNL held).
    fn change_mtu(
        _rtnl: &super::Rtnl,
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _new_mtu: i32,
    ) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_set_rx_mode`: the multicast list or flags changed (atomic context, the address
    /// lock held: `mc` may be read only here).
    fn set_rx_mode(
        _dev: &NetDevice,
        _mc: &McList<'_>,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_tx_timeout`: the queue has been stopped for longer than the watchdog timeout.
    fn tx_timeout(_dev: &NetDevice, _data: <Self::Data as ForeignOwnable>::Borrowed<'_>) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_uninit`: the device is being unregistered (RTNL held, after `stop`); the data
    /// stays until [`Ops::release`].
    fn uninit(
        _rtnl: &super::Rtnl,
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_get_iflink`: the ifindex of the device this one is stacked on.
    fn get_iflink(_dev: &NetDevice, _data: <Self::Data as ForeignOwnable>::Borrowed<'_>) -> i32 {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// Called with the data when the device is freed (unregistered and unreferenced, process
    /// context, RTNL not held), or when its configuration or registration failed (then maybe
    /// under RTNL).
    fn release(data: Self::Data) {
        drop(data);
    }

    /// `ethtool_ops.get_drvinfo`.
    fn get_drvinfo(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _info: &mut DrvInfo,
    ) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ethtool_ops.get_link_ksettings` (RTNL held).
    fn get_link_ksettings(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) -> Result<LinkSettings> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ethtool_ops.get_ethtool_stats` (`ethtool -S`): fills `out`, one value per name of
    /// [`Ops::ethtool_stat_names`].
    fn get_ethtool_stats(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _out: &mut [u64],
    ) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// The names of the `ethtool -S` statistics (at most 31 bytes each).
    fn ethtool_stat_names() -> &'static [&'static str] {
        &[]
    }

    /// `ethtool_ops.get_coalesce` (`ethtool -c`): receive interrupt moderation.
    fn get_coalesce(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) -> Coalesce {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ethtool_ops.set_coalesce` (`ethtool -C`); only `rx-usecs` and `rx-frames` are
    /// accepted by the core.
    fn set_coalesce(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _c: Coalesce,
    ) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `header_ops.create`: push the link-level header for a packet of `proto` (host order) to
    /// `daddr` (`None`: the broadcast address); returns the header length.
    fn create_header(
        _skb: &mut SkBuffRef,
        _dev: &NetDevice,
        _proto: u16,
        _daddr: Option<&[u8]>,
    ) -> Result<i32> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
}

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
unsafe fn take_data<T: Ops>(d: *mut raw::net_device) -> Option<T::Data> {
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
        (*d).ethtool_ops = Adapter::<T>::build_ethtool_ops();
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
        (*d).features |= cfg.features;
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
pub(super) unsafe fn driver_data<'a, T: Ops>(
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

/// `-EOPNOTSUPP`, as the C callbacks return it.
const EOPNOTSUPP_ERRNO: c_int = -(raw::EOPNOTSUPP as c_int);

struct Adapter<T: Ops>(PhantomData<T>);

impl<T: Ops> Adapter<T> {
    /// # Safety
    ///
    /// `dev` must be a registered device of `T`, inside one of its operations.
    unsafe fn data<'a>(dev: *mut raw::net_device) -> <T::Data as ForeignOwnable>::Borrowed<'a> {
        // SAFETY: Per the function's contract.
        unsafe { driver_data::<T>(dev) }
    }

    /// `priv_destructor`: drops the driver data once the device is unregistered and
    /// unreferenced (or its registration failed).
    ///
    /// # Safety
    ///
    /// Called by the networking core only.
    unsafe extern "C" fn destructor_callback(dev: *mut raw::net_device) {
        // SAFETY: No operation uses the device any more.
        if let Some(data) = unsafe { take_data::<T>(dev) } {
            T::release(data);
        }
    }

    /// # Safety
    ///
    /// Called by the networking core only, under RTNL.
    unsafe extern "C" fn uninit_callback(dev: *mut raw::net_device) {
        // SAFETY: As in `open_callback`; `ndo_uninit` runs under RTNL, before the data is
        // dropped.
        let (ndev, data, rtnl) = unsafe {
            (
                NetDevice::from_raw(dev),
                Self::data(dev),
                super::Rtnl::assume_held(),
            )
        };
        T::uninit(&rtnl, ndev, data);
    }

    /// # Safety
    ///
    /// Called by the networking core only.
    unsafe extern "C" fn get_iflink_callback(dev: *const raw::net_device) -> c_int {
        let dev = dev.cast_mut();
        // SAFETY: As in `open_callback`.
        let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        T::get_iflink(ndev, data)
    }

    /// # Safety
    ///
    /// Called by the networking core only.
    unsafe extern "C" fn open_callback(dev: *mut raw::net_device) -> c_int {
        from_result(|| {
            // SAFETY: The core calls ndo ops on a registered device, `ndo_open` under RTNL.
            let (ndev, data, rtnl) = unsafe {
                (
                    NetDevice::from_raw(dev),
                    Self::data(dev),
                    super::Rtnl::assume_held(),
                )
            };
            T::open(&rtnl, ndev, data)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the networking core only.
    unsafe extern "C" fn stop_callback(dev: *mut raw::net_device) -> c_int {
        from_result(|| {
            // SAFETY: As in `open_callback`.
            let (ndev, data, rtnl) = unsafe {
                (
                    NetDevice::from_raw(dev),
                    Self::data(dev),
                    super::Rtnl::assume_held(),
                )
            };
            T::stop(&rtnl, ndev, data)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the networking core only, with an skb the driver now owns.
    unsafe extern "C" fn start_xmit_callback(
        skb: *mut raw::sk_buff,
        dev: *mut raw::net_device,
    ) -> raw::netdev_tx_t {
        // SAFETY: As in `open_callback`; `ndo_start_xmit` hands over the skb.
        let (ndev, data, skb) = unsafe {
            (
                NetDevice::from_raw(dev),
                Self::data(dev),
                SkBuff::from_raw(skb),
            )
        };
        if let Some(skb) = skb {
            T::start_xmit(skb, ndev, data);
        }
        raw::netdev_tx_NETDEV_TX_OK
    }

    /// # Safety
    ///
    /// Called by the networking core only.
    unsafe extern "C" fn get_stats64_callback(
        dev: *mut raw::net_device,
        stats: *mut raw::rtnl_link_stats64,
    ) {
        // SAFETY: As in `open_callback`.
        let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        let s = T::get_stats64(ndev, data);
        // SAFETY: The core passes a valid, writable `rtnl_link_stats64`. It may be only 4-byte
        // aligned (`rtnl_fill_stats` hands out a netlink attribute's payload, padded for 8-byte
        // alignment only on architectures without efficient unaligned access), so no reference
        // to it is formed: the fields are written one by one, unaligned.
        unsafe {
            (&raw mut (*stats).rx_packets).write_unaligned(s.rx_packets);
            (&raw mut (*stats).rx_bytes).write_unaligned(s.rx_bytes);
            (&raw mut (*stats).rx_dropped).write_unaligned(s.rx_dropped);
            (&raw mut (*stats).rx_errors).write_unaligned(s.rx_errors);
            (&raw mut (*stats).multicast).write_unaligned(s.multicast);
            (&raw mut (*stats).tx_packets).write_unaligned(s.tx_packets);
            (&raw mut (*stats).tx_bytes).write_unaligned(s.tx_bytes);
            (&raw mut (*stats).tx_dropped).write_unaligned(s.tx_dropped);
            (&raw mut (*stats).tx_errors).write_unaligned(s.tx_errors);
        }
    }

    /// # Safety
    ///
    /// Called by the networking core only, under RTNL.
    unsafe extern "C" fn change_mtu_callback(dev: *mut raw::net_device, new_mtu: c_int) -> c_int {
        from_result(|| {
            // SAFETY: As in `open_callback`; the core holds RTNL for the call.
            let (ndev, data, rtnl) = unsafe {
                (
                    NetDevice::from_raw(dev),
                    Self::data(dev),
                    super::Rtnl::assume_held(),
                )
            };
            T::change_mtu(&rtnl, ndev, data, new_mtu)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the networking core only, with the device's address lock held
    /// (`__dev_set_rx_mode` under `netif_addr_lock_bh`).
    unsafe extern "C" fn set_rx_mode_callback(dev: *mut raw::net_device) {
        // SAFETY: As in `open_callback`.
        let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        // INVARIANT: The core holds the address lock for this call, which `mc` does not
        // outlive.
        let mc = McList { dev: ndev };
        T::set_rx_mode(ndev, &mc, data);
    }

    /// # Safety
    ///
    /// Called by the networking core only.
    unsafe extern "C" fn tx_timeout_callback(dev: *mut raw::net_device, _txqueue: c_uint) {
        // SAFETY: As in `open_callback`.
        let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        T::tx_timeout(ndev, data);
    }

    /// # Safety
    ///
    /// Called by the networking core only, for a device of this driver.
    unsafe extern "C" fn create_callback(
        skb: *mut raw::sk_buff,
        dev: *mut raw::net_device,
        type_: c_ushort,
        daddr: *const c_void,
        _saddr: *const c_void,
        _len: c_uint,
    ) -> c_int {
        // SAFETY: `dev` is valid (the core builds a header for a packet it is about to send on
        // it); `skb` is the caller's and valid for the call; `daddr`, when set, points to
        // `addr_len` bytes.
        let (ndev, skb, daddr) = unsafe {
            let ndev = NetDevice::from_raw(dev);
            let daddr = if daddr.is_null() {
                None
            } else {
                Some(core::slice::from_raw_parts(
                    daddr.cast::<u8>(),
                    usize::from((*dev).addr_len),
                ))
            };
            (ndev, SkBuffRef::from_raw(skb), daddr)
        };
        match T::create_header(skb, ndev, type_, daddr) {
            Ok(len) => len,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the ethtool core only.
    unsafe extern "C" fn get_drvinfo_callback(
        dev: *mut raw::net_device,
        info: *mut raw::ethtool_drvinfo,
    ) {
        // SAFETY: As in `open_callback`.
        let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        let mut d = DrvInfo::default();
        T::get_drvinfo(ndev, data, &mut d);
        // SAFETY: The core passes a valid, writable `ethtool_drvinfo`; the three fields are
        // 32-byte `char` arrays, as `DrvInfo`'s, and the copies keep a final NUL.
        unsafe {
            let info = &mut *info;
            for (dst, src) in [
                (&mut info.driver, &d.driver),
                (&mut info.fw_version, &d.fw_version),
                (&mut info.bus_info, &d.bus_info),
            ] {
                core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast::<u8>(), 32);
            }
        }
    }

    /// # Safety
    ///
    /// Called by the ethtool core only, under RTNL.
    unsafe extern "C" fn get_link_ksettings_callback(
        dev: *mut raw::net_device,
        cmd: *mut raw::ethtool_link_ksettings,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As in `open_callback`.
            let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
            let s = T::get_link_ksettings(ndev, data)?;
            // SAFETY: The core passes a valid, writable, zeroed `ethtool_link_ksettings`.
            let base = unsafe { &mut (*cmd).base };
            match s {
                LinkSettings::Unknown => {
                    base.speed = raw::SPEED_UNKNOWN as u32;
                    base.duplex = raw::DUPLEX_UNKNOWN as u8;
                }
                LinkSettings::Full { speed } => {
                    base.speed = speed;
                    base.duplex = raw::DUPLEX_FULL as u8;
                    base.phy_address = 0xff;
                    base.autoneg = raw::AUTONEG_ENABLE as u8;
                    base.port = raw::PORT_OTHER as u8;
                }
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the ethtool core only.
    unsafe extern "C" fn get_sset_count_callback(_dev: *mut raw::net_device, sset: c_int) -> c_int {
        if sset == raw::ethtool_stringset_ETH_SS_STATS as c_int {
            T::ethtool_stat_names().len() as c_int
        } else {
            EOPNOTSUPP_ERRNO
        }
    }

    /// # Safety
    ///
    /// Called by the ethtool core only, with room for `get_sset_count` strings.
    unsafe extern "C" fn get_strings_callback(
        _dev: *mut raw::net_device,
        sset: u32,
        data: *mut u8,
    ) {
        if sset != raw::ethtool_stringset_ETH_SS_STATS {
            return;
        }
        const LEN: usize = raw::ETH_GSTRING_LEN as usize;
        for (i, name) in T::ethtool_stat_names().iter().enumerate() {
            let mut buf = [0u8; LEN];
            let n = name.len().min(LEN - 1);
            buf[..n].copy_from_slice(&name.as_bytes()[..n]);
            // SAFETY: The core passes `count * ETH_GSTRING_LEN` writable bytes.
            unsafe { core::ptr::copy_nonoverlapping(buf.as_ptr(), data.add(i * LEN), LEN) };
        }
    }

    /// # Safety
    ///
    /// Called by the ethtool core only, with room for `get_sset_count` values.
    unsafe extern "C" fn get_ethtool_stats_callback(
        dev: *mut raw::net_device,
        _stats: *mut raw::ethtool_stats,
        data: *mut u64,
    ) {
        // SAFETY: As in `open_callback`; `data` holds one `u64` per statistic.
        let (ndev, d, out) = unsafe {
            (
                NetDevice::from_raw(dev),
                Self::data(dev),
                core::slice::from_raw_parts_mut(data, T::ethtool_stat_names().len()),
            )
        };
        T::get_ethtool_stats(ndev, d, out);
    }

    /// # Safety
    ///
    /// Called by the ethtool core only.
    unsafe extern "C" fn get_coalesce_callback(
        dev: *mut raw::net_device,
        c: *mut raw::ethtool_coalesce,
        _kc: *mut raw::kernel_ethtool_coalesce,
        _extack: *mut raw::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: As in `open_callback`.
        let (ndev, d) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        let v = T::get_coalesce(ndev, d);
        // SAFETY: The core passes a valid, writable `ethtool_coalesce`.
        unsafe {
            (*c).rx_coalesce_usecs = v.rx_usecs;
            (*c).rx_max_coalesced_frames = v.rx_frames;
        }
        0
    }

    /// # Safety
    ///
    /// Called by the ethtool core only.
    unsafe extern "C" fn set_coalesce_callback(
        dev: *mut raw::net_device,
        c: *mut raw::ethtool_coalesce,
        _kc: *mut raw::kernel_ethtool_coalesce,
        _extack: *mut raw::netlink_ext_ack,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As in `open_callback`; the core passes a valid `ethtool_coalesce`.
            let (ndev, d, v) = unsafe {
                (
                    NetDevice::from_raw(dev),
                    Self::data(dev),
                    Coalesce {
                        rx_usecs: (*c).rx_coalesce_usecs,
                        rx_frames: (*c).rx_max_coalesced_frames,
                    },
                )
            };
            T::set_coalesce(ndev, d, v)?;
            Ok(0)
        })
    }

    const ETHTOOL_OPS: raw::ethtool_ops = raw::ethtool_ops {
        supported_coalesce_params: if T::HAS_SET_COALESCE {
            raw::ETHTOOL_COALESCE_RX_USECS | raw::ETHTOOL_COALESCE_RX_MAX_FRAMES
        } else {
            0
        },
        get_sset_count: if T::HAS_GET_ETHTOOL_STATS {
            Some(Self::get_sset_count_callback)
        } else {
            None
        },
        get_strings: if T::HAS_GET_ETHTOOL_STATS {
            Some(Self::get_strings_callback)
        } else {
            None
        },
        get_ethtool_stats: if T::HAS_GET_ETHTOOL_STATS {
            Some(Self::get_ethtool_stats_callback)
        } else {
            None
        },
        get_coalesce: if T::HAS_GET_COALESCE {
            Some(Self::get_coalesce_callback)
        } else {
            None
        },
        set_coalesce: if T::HAS_SET_COALESCE {
            Some(Self::set_coalesce_callback)
        } else {
            None
        },
        get_drvinfo: if T::HAS_GET_DRVINFO {
            Some(Self::get_drvinfo_callback)
        } else {
            None
        },
        get_link_ksettings: if T::HAS_GET_LINK_KSETTINGS {
            Some(Self::get_link_ksettings_callback)
        } else {
            None
        },
        get_link: Some(raw::ethtool_op_get_link),
        // SAFETY: All other operations are `None` and capabilities zero, as in C.
        ..unsafe { core::mem::MaybeUninit::<raw::ethtool_ops>::zeroed().assume_init() }
    };

    const fn build_ethtool_ops() -> &'static raw::ethtool_ops {
        &Self::ETHTOOL_OPS
    }

    const OPS: raw::net_device_ops = raw::net_device_ops {
        ndo_open: if T::HAS_OPEN {
            Some(Self::open_callback)
        } else {
            None
        },
        ndo_stop: if T::HAS_STOP {
            Some(Self::stop_callback)
        } else {
            None
        },
        ndo_start_xmit: if T::HAS_START_XMIT {
            Some(Self::start_xmit_callback)
        } else {
            None
        },
        ndo_get_stats64: if T::HAS_GET_STATS64 {
            Some(Self::get_stats64_callback)
        } else {
            None
        },
        ndo_change_mtu: if T::HAS_CHANGE_MTU {
            Some(Self::change_mtu_callback)
        } else {
            None
        },
        ndo_set_rx_mode: if T::HAS_SET_RX_MODE {
            Some(Self::set_rx_mode_callback)
        } else {
            None
        },
        ndo_tx_timeout: if T::HAS_TX_TIMEOUT {
            Some(Self::tx_timeout_callback)
        } else {
            None
        },
        ndo_uninit: if T::HAS_UNINIT {
            Some(Self::uninit_callback)
        } else {
            None
        },
        ndo_get_iflink: if T::HAS_GET_IFLINK {
            Some(Self::get_iflink_callback)
        } else {
            None
        },
        // SAFETY: All other operations are `None`, as in a C initialiser.
        ..unsafe { core::mem::MaybeUninit::<raw::net_device_ops>::zeroed().assume_init() }
    };

    const HEADER_OPS: raw::header_ops = raw::header_ops {
        create: if T::HAS_CREATE_HEADER {
            Some(Self::create_callback)
        } else {
            None
        },
        // SAFETY: All other operations are `None`.
        ..unsafe { core::mem::MaybeUninit::<raw::header_ops>::zeroed().assume_init() }
    };

    const fn build_ops() -> &'static raw::net_device_ops {
        &Self::OPS
    }

    const fn build_header_ops() -> &'static raw::header_ops {
        &Self::HEADER_OPS
    }
}

// SAFETY: `dev_hold`/`dev_put` manage the netdev reference count, which is non-zero while a
// `&NetDevice` exists (the device is allocated). Holders must drop their references before the
// device is unregistered, or `unregister_netdevice` waits for them.
unsafe impl kernel::types::AlwaysRefCounted for NetDevice {
    fn inc_ref(&self) {
        // SAFETY: The device is valid.
        unsafe { raw::dev_hold(self.as_raw()) }
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns one reference.
        unsafe { raw::dev_put(obj.as_ptr().cast()) }
    }
}

impl NetDevice {
    /// Joins the IPv6 multicast group `group` on this device (`ipv6_dev_mc_inc`), so that its
    /// IPv6 stack accepts datagrams sent to it; may sleep.
    pub(crate) fn ipv6_mc_inc(&self, group: &[u8; 16]) -> Result {
        let addr = raw::in6_addr {
            in6_u: raw::in6_addr__bindgen_ty_1 { u6_addr8: *group },
        };
        // SAFETY: The device is valid; `addr` is valid for the call.
        to_result(unsafe { raw::ipv6_dev_mc_inc(self.as_raw(), &addr) })
    }

    /// Leaves a group joined with [`NetDevice::ipv6_mc_inc`].
    pub(crate) fn ipv6_mc_dec(&self, group: &[u8; 16]) -> Result {
        let addr = raw::in6_addr {
            in6_u: raw::in6_addr__bindgen_ty_1 { u6_addr8: *group },
        };
        // SAFETY: As in `ipv6_mc_inc`.
        to_result(unsafe { raw::ipv6_dev_mc_dec(self.as_raw(), &addr) })
    }
}
