#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""ibv_reg_mr/ibv_dereg_mr cost on one RDMA device: buffers of 4 KiB, 2 MiB,
256 MiB and 1 GiB, touched first (so the pinning, not the first-touch faults, is
measured), registered and deregistered N times each. Prints, per size, the
median microseconds of a registration and of a deregistration:

    regmr SIZE REG_US DEREG_US

    regmr_bench.py IBDEV
"""

import ctypes
import mmap
import sys
import time

import pyverbs.enums as e
from pyverbs.device import Context
from pyverbs.mr import MR
from pyverbs.pd import PD

SIZES = ((4096, 200), (2 << 20, 40), (256 << 20, 4), (1 << 30, 2))


def main():
    ctx = Context(name=sys.argv[1])
    pd = PD(ctx)
    access = e.IBV_ACCESS_LOCAL_WRITE | e.IBV_ACCESS_REMOTE_WRITE | e.IBV_ACCESS_REMOTE_READ
    for size, n in SIZES:
        m = mmap.mmap(-1, size)
        for off in range(0, size, mmap.PAGESIZE):
            m[off] = 1
        addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
        reg, dereg = [], []
        for _ in range(n):
            t0 = time.perf_counter()
            mr = MR(pd, size, access, address=addr)
            t1 = time.perf_counter()
            mr.close()
            t2 = time.perf_counter()
            reg.append(t1 - t0)
            dereg.append(t2 - t1)
        reg.sort()
        dereg.sort()
        print(f"regmr {size} {reg[n // 2] * 1e6:.1f} {dereg[n // 2] * 1e6:.1f}", flush=True)
    pd.close()
    ctx.close()


if __name__ == "__main__":
    main()
