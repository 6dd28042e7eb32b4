#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Malformed user verbs for mlx4: raw commands written to the device's uverbs
file (the write ABI of include/uapi/rdma/ib_user_verbs.h, with the mlx4 driver
data of mlx4-abi.h) and mmaps of its pages. Each bad request must fail with the
errno the C mlx4_ib gives, the objects a good request makes must work, and the
device must serve the next context after one is closed with everything alive.

    uverbs_bad.py IBDEV    prints "ok"/"FAIL" lines, exits non-zero on a FAIL
"""

import ctypes
import errno
import glob
import mmap
import os
import struct
import sys

PAGE = mmap.PAGESIZE
failed = 0

# enum ib_uverbs_write_cmds
GET_CONTEXT, ALLOC_PD, DEALLOC_PD, REG_MR, REREG_MR, DEREG_MR = 0, 3, 4, 9, 11, 13
# IB_MR_REREG_ACCESS
REREG_ACCESS = 4
CREATE_CQ, DESTROY_CQ, CREATE_QP, DESTROY_QP, CREATE_SRQ = 18, 20, 24, 27, 32
QPT_RC = 2


def check(name, ok, detail=""):
    global failed
    print(("ok " if ok else "FAIL ") + name + (f" ({detail})" if detail and not ok else ""))
    if not ok:
        failed += 1


def expect_errno(name, want, f):
    try:
        r = f()
    except OSError as e:
        check(name, e.errno == want, f"got {errno.errorcode.get(e.errno, e.errno)}, "
              f"want {errno.errorcode[want]}")
        return None
    check(name, False, f"succeeded ({r!r}), want {errno.errorcode[want]}")
    return r


class Buf:
    """Page-aligned anonymous memory and its address."""

    def __init__(self, size):
        self.m = mmap.mmap(-1, size)
        self.c = (ctypes.c_char * size).from_buffer(self.m)
        self.addr = ctypes.addressof(self.c)


def inaccessible_addr():
    """An address no access is allowed to: 16 pages mapped PROT_NONE (0; kept, so nothing
    else is mapped there later)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    a = libc.mmap(None, 16 * PAGE, 0, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                  -1, 0)
    assert a not in (None, ctypes.c_void_p(-1).value)
    return a


class Uverbs:
    def __init__(self, ibdev):
        node = glob.glob(f"/sys/class/infiniband/{ibdev}/device/infiniband_verbs/uverbs*")[0]
        self.fd = os.open("/dev/infiniband/" + os.path.basename(node), os.O_RDWR)
        with open(os.path.join(node, "abi_version")) as f:
            self.abi = int(f.read())
        self.async_fd = None

    def cmd(self, command, req, resp_len=0, drv_in=b"", drv_out=0, has_resp=True):
        """Writes a command; `req` is the core request after its `response`
        field (if it has one). Returns (core response, driver response)."""
        resp = ctypes.create_string_buffer(max(resp_len + drv_out, 8))
        body = (struct.pack("Q", ctypes.addressof(resp)) if has_resp else b"") + req
        data = body + drv_in
        hdr = struct.pack("IHH", command, (8 + len(data)) // 4, (resp_len + drv_out) // 4)
        os.write(self.fd, hdr + data)
        raw = resp.raw
        return raw[:resp_len], raw[resp_len:resp_len + drv_out]

    def get_context(self, drv_out=16):
        core, drv = self.cmd(GET_CONTEXT, b"", 8, drv_out=drv_out)
        self.async_fd = struct.unpack("I", core[:4])[0]
        return drv

    def alloc_pd(self, drv_out=8):
        core, drv = self.cmd(ALLOC_PD, b"", 4, drv_out=drv_out)
        return struct.unpack("I", core)[0], drv

    def dealloc_pd(self, h):
        self.cmd(DEALLOC_PD, struct.pack("I", h), has_resp=False)

    def create_cq(self, cqe, drv_in, drv_out=8):
        core, drv = self.cmd(CREATE_CQ, struct.pack("QIIiI", 0, cqe, 0, -1, 0), 8,
                             drv_in=drv_in, drv_out=drv_out)
        return struct.unpack("II", core)[0], drv

    def destroy_cq(self, h):
        self.cmd(DESTROY_CQ, struct.pack("II", h, 0), 8)

    def reg_mr(self, start, length, va, pd, access):
        core, _ = self.cmd(REG_MR, struct.pack("QQQII", start, length, va, pd, access), 12)
        return struct.unpack("III", core)

    def rereg_mr(self, h, flags, access):
        req = struct.pack("IIQQQII", h, flags, 0, 0, 0, 0, access)
        core, _ = self.cmd(REREG_MR, req, 8)
        return struct.unpack("II", core)

    def dereg_mr(self, h):
        self.cmd(DEREG_MR, struct.pack("I", h), has_resp=False)

    def create_qp(self, pd, cq, recv_wr, drv_in):
        req = struct.pack("QIIIIIIIIIBBBB", 0, pd, cq, cq, 0, 16, recv_wr, 1, 1, 0, 0,
                          QPT_RC, 0, 0)
        core, _ = self.cmd(CREATE_QP, req, 32, drv_in=drv_in)
        return struct.unpack("II", core[:8])

    def destroy_qp(self, h):
        self.cmd(DESTROY_QP, struct.pack("II", h, 0), 4)

    def create_srq(self, pd, max_wr, drv_in, drv_out=8):
        core, drv = self.cmd(CREATE_SRQ, struct.pack("QIIII", 0, pd, max_wr, 1, 0), 16,
                             drv_in=drv_in, drv_out=drv_out)
        return struct.unpack("I", core[:4])[0], drv

    def map(self, pgoff, pages=1, flags=mmap.MAP_SHARED):
        return mmap.mmap(self.fd, pages * PAGE, flags=flags,
                         prot=mmap.PROT_READ | mmap.PROT_WRITE, offset=pgoff * PAGE)

    def close(self):
        if self.async_fd is not None:
            os.close(self.async_fd)
        os.close(self.fd)


def cq_req(buf, db):
    return struct.pack("QQ", buf, db)


def qp_req(buf, db, log_bb=6, log_stride=6):
    return struct.pack("QQBBBBI", buf, db, log_bb, log_stride, 0, 0, 0)


def main():
    ibdev = sys.argv[1]
    u = Uverbs(ibdev)

    # A context needs room for the driver's response: C copies it to a NULL
    # buffer (EFAULT); the context can then still be made.
    expect_errno("GET_CONTEXT without room for mlx4's response: EFAULT", errno.EFAULT,
                 lambda: u.get_context(drv_out=0))
    drv = u.get_context()
    if u.abi >= 4:
        dev_caps, qp_tab, bf_size, _bf_per_page, cqe_size = struct.unpack("IIHHI", drv)
        check("GET_CONTEXT (ABI 4): CQE size 64 with LARGE_CQE",
              dev_caps & 1 == 1 and cqe_size == 64, f"dev_caps {dev_caps} cqe_size {cqe_size}")
    else:
        # ABI 3: no device caps, 32-byte CQEs; the rest of the room is left alone.
        qp_tab, bf_size, _bf_per_page = struct.unpack("IHH", drv[:8])
        cqe_size = 32
        check("GET_CONTEXT (ABI 3): 8 bytes of response", drv[8:] == bytes(8), drv.hex())
    check("GET_CONTEXT: qp_tab_size a power of two >= 256",
          qp_tab >= 256 and qp_tab & (qp_tab - 1) == 0, str(qp_tab))
    expect_errno("a second GET_CONTEXT: EINVAL", errno.EINVAL, lambda: u.get_context())

    # mmap: the UAR page at offset 0, one shared page; BlueFlame at 1 only
    # with BlueFlame; no clock on the model at 3; nothing else.
    try:
        uar = u.map(0)
        check("mmap of the UAR page", True)
    except OSError as e:
        check("mmap of the UAR page", False, str(e))
        uar = None
    expect_errno("mmap of 2 pages at offset 0: EINVAL", errno.EINVAL, lambda: u.map(0, 2))
    expect_errno("private mmap of the UAR: EINVAL", errno.EINVAL,
                 lambda: u.map(0, flags=mmap.MAP_PRIVATE))
    if bf_size == 0:
        expect_errno("mmap of BlueFlame without BlueFlame: EINVAL", errno.EINVAL,
                     lambda: u.map(1))
    expect_errno("mmap at offset 2: EINVAL", errno.EINVAL, lambda: u.map(2))
    expect_errno("mmap of the clock without one: EOPNOTSUPP", errno.EOPNOTSUPP,
                 lambda: u.map(3))

    expect_errno("ALLOC_PD without room for the PD number: EFAULT", errno.EFAULT,
                 lambda: u.alloc_pd(drv_out=0))
    pd, drv = u.alloc_pd()
    check("ALLOC_PD answers the PD number", struct.unpack("I", drv[:4])[0] != 0)

    ring = Buf(64 * cqe_size)
    dbs = Buf(PAGE)
    bad = inaccessible_addr()
    expect_errno("CREATE_CQ without mlx4's request: EFAULT", errno.EFAULT,
                 lambda: u.create_cq(63, b""))
    expect_errno("CREATE_CQ with an inaccessible ring: EFAULT", errno.EFAULT,
                 lambda: u.create_cq(63, cq_req(bad, dbs.addr)))
    expect_errno("CREATE_CQ with an inaccessible doorbell record: EFAULT", errno.EFAULT,
                 lambda: u.create_cq(63, cq_req(ring.addr, bad)))
    expect_errno("CREATE_CQ of 2^30 entries: EINVAL", errno.EINVAL,
                 lambda: u.create_cq(1 << 30, cq_req(ring.addr, dbs.addr)))
    cq, drv = u.create_cq(63, cq_req(ring.addr, dbs.addr))
    check("CREATE_CQ answers the CQ number", len(drv) == 8)
    check("the new CQ's entries are the hardware's (owner bit set)",
          all(ring.m[i * cqe_size + cqe_size - 1] & 0x80 for i in range(64)))

    mr_buf = Buf(4 * PAGE)
    expect_errno("REG_MR of 0 bytes: EINVAL", errno.EINVAL,
                 lambda: u.reg_mr(mr_buf.addr, 0, mr_buf.addr, pd, 1))
    expect_errno("REG_MR of inaccessible memory: EFAULT", errno.EFAULT,
                 lambda: u.reg_mr(bad, PAGE, bad, pd, 1))
    expect_errno("REG_MR with start and IOVA in different page offsets: EINVAL",
                 errno.EINVAL, lambda: u.reg_mr(mr_buf.addr + 8, PAGE, 0x10000, pd, 1))
    expect_errno("REG_MR of 2^40 bytes: EFAULT", errno.EFAULT,
                 lambda: u.reg_mr(mr_buf.addr, 1 << 40, mr_buf.addr, pd, 1))
    mr1, lkey1, rkey1 = u.reg_mr(mr_buf.addr + 100, 3 * PAGE, mr_buf.addr + 100, pd, 7)
    check("REG_MR of an unaligned range: lkey = rkey", lkey1 == rkey1)
    # (Registering pages twice is legal, but the debug kernel's DMA-API checks report the
    # second mapping of a page, for the C driver as for ours: another buffer here.)
    mr_buf2 = Buf(4 * PAGE)
    mr2, lkey2, _ = u.reg_mr(mr_buf2.addr, 4 * PAGE, 0x7000_0000, pd, 1)
    check("a REG_MR at another IOVA gets another key", lkey2 != lkey1)
    # Re-registering: the model has no MPT access for it (C's mlx4_mr_hw_get_mpt fails),
    # ours has no rereg op (the core refuses).
    expect_errno("REREG_MR of the access rights: EOPNOTSUPP", errno.EOPNOTSUPP,
                 lambda: u.rereg_mr(mr1, REREG_ACCESS, 1))

    qp_buf = Buf(16 * PAGE)
    expect_errno("CREATE_QP with a 32-byte send stride: EINVAL", errno.EINVAL,
                 lambda: u.create_qp(pd, cq, 16, qp_req(qp_buf.addr, dbs.addr + 64, 6, 5)))
    expect_errno("CREATE_QP with 2^20 send blocks: EINVAL", errno.EINVAL,
                 lambda: u.create_qp(pd, cq, 16, qp_req(qp_buf.addr, dbs.addr + 64, 20, 6)))
    expect_errno("CREATE_QP with a receive queue of 0 WQEs: EINVAL", errno.EINVAL,
                 lambda: u.create_qp(pd, cq, 0, qp_req(qp_buf.addr, dbs.addr + 64)))
    expect_errno("CREATE_QP with an inaccessible buffer: EFAULT", errno.EFAULT,
                 lambda: u.create_qp(pd, cq, 16, qp_req(bad, dbs.addr + 64)))
    qp, qpn = u.create_qp(pd, cq, 16, qp_req(qp_buf.addr, dbs.addr + 64))
    check("CREATE_QP gives a QP number", qpn > 1)

    srq_buf = Buf(4 * PAGE)
    srq, drv = u.create_srq(pd, 15, cq_req(srq_buf.addr, dbs.addr + 128))
    check("CREATE_SRQ answers the SRQ number", len(drv) == 8)

    # Destroying in the wrong order: the core refuses while objects use them.
    expect_errno("DESTROY_CQ while a QP uses it: EBUSY", errno.EBUSY, lambda: u.destroy_cq(cq))
    expect_errno("DEALLOC_PD while objects use it: EBUSY", errno.EBUSY,
                 lambda: u.dealloc_pd(pd))
    u.destroy_qp(qp)
    u.dereg_mr(mr2)
    check("destroying in order works", True)

    # Closing the file with a CQ, an SRQ, an MR, a PD and a mapping alive.
    del uar
    u.close()
    check("close with objects alive", True)

    # The device serves the next context.
    v = Uverbs(ibdev)
    v.get_context()
    pd, _ = v.alloc_pd()
    ring2 = Buf(64 * cqe_size)
    cq, _ = v.create_cq(63, cq_req(ring2.addr, dbs.addr))
    qp, qpn = v.create_qp(pd, cq, 16, qp_req(qp_buf.addr, dbs.addr + 64))
    check("the next context makes a CQ and a QP", qpn > 1)
    v.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
