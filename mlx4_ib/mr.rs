// SPDX-License-Identifier: GPL-2.0

//! Memory regions (C: drivers/infiniband/hw/mlx4/mr.c): the DMA MR covering all memory.
//!
//! User MRs come with userspace verbs.

use crate::device::Mlx4Ib;
use crate::rust_bindings::mlx4;
use crate::rust_bindings::rdma::provider::{Mr, MrCore, MrOps, Pd, Sleepable};
use crate::rust_bindings::sync::{new_spinlock_irq, SpinLockIrq};
use kernel::prelude::*;

/// An MR registered with the HCA. `None` once deregistered.
#[pin_data]
pub(crate) struct Mlx4Mr {
    #[pin]
    mr: SpinLockIrq<Option<mlx4::Mr>>,
}

impl MrOps<Mlx4Ib> for Mlx4Mr {
    fn get_dma_mr<'a>(
        pd: &'a Pd<Mlx4Ib>,
        core: &mut MrCore<'_>,
        access: u32,
        _cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a> {
        let dev = pd.device();
        let mr = mlx4::Mr::dma(dev.mdev(), pd.raw_pd(), mlx4::convert_access(access))?;
        core.set_keys(mr.lkey(), mr.rkey());
        Ok(try_pin_init!(Self {
            mr <- new_spinlock_irq!(Some(mr), "mlx4_ib_mr"),
        }? Error))
    }

    fn dereg(mr: &Mr<Mlx4Ib>, _cx: &Sleepable<'_>) -> Result {
        let Some(m) = mr.mr.lock().take() else {
            return Ok(());
        };
        match m.free() {
            Ok(()) => Ok(()),
            Err((m, e)) => {
                // Still registered: keep it usable, as the C driver does.
                *mr.mr.lock() = Some(m);
                Err(e)
            }
        }
    }
}
