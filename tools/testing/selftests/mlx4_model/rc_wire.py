#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""What an RC wire would make of the QP attributes, between mlx4_0 and mlx4_1 (libmlx4).

The software ConnectX-3 counts a message as many PSNs as it has path-MTU packets and
checks them at the responder, and no packet may exceed the receiving QP's path MTU:

- PSNs carried: three 4000-byte SENDs at a 1024-byte path MTU move both PSNs on by 12,
  wrapping at 2^24 (ibv_query_qp reads them back);
- a requester ahead of the responder's PSN (out of sequence) retries as its retry count
  and ACK timeout say, then ends with "retry exceeded": not before (retry_cnt + 1) ACK
  timeouts (timeout 18, retry_cnt 1: 2.1 s), and soon with timeout 8 and no retries;
- a requester behind it (a duplicate) completes, and the responder receives nothing;
- path MTUs 4096 and 1024: the 1024 side sends 2000 bytes to the 4096 side, and the 4096
  side 1000 bytes, both fine; 2000 bytes the other way is NAKed ("remote invalid request").

Prints "# ok ..." or "# FAIL ..." lines and exits 1 on any failure.
"""
import sys
import time

import pyverbs.enums as e
from pyverbs.wr import SGE, RecvWR, SendWR

import rdma_verify as rv
from rdma_verify import connect_rc
from ud_verify import End

NAMES = ("mlx4_0", "mlx4_1")


def pair(a_attrs, b_attrs):
    """An RC pair, each end connected with its `connect_rc` keyword arguments."""
    a, b = End(NAMES[0], 0, e.IBV_QPT_RC), End(NAMES[1], 0, e.IBV_QPT_RC)
    connect_rc(a.qp, b.qp.qp_num, b.lid, e.IBV_ACCESS_LOCAL_WRITE, **a_attrs)
    connect_rc(b.qp, a.qp.qp_num, a.lid, e.IBV_ACCESS_LOCAL_WRITE, **b_attrs)
    return a, b


def send(src, dst, length, secs=15):
    """Posts a receive at `dst` and a SEND of `length` bytes from `src`; the sender's
    completion (None if none came within `secs`)."""
    dst.qp.post_recv(RecvWR(num_sge=1, sg=[SGE(dst.mr.buf, 4096, dst.mr.lkey)]))
    src.qp.post_send(SendWR(opcode=e.IBV_WR_SEND, num_sge=1,
                            sg=[SGE(src.mr.buf, length, src.mr.lkey)]))
    return src.poll(secs)


def status(wc):
    return None if wc is None else wc.status


def psns(end):
    attr, _ = end.qp.query(e.IBV_QP_SQ_PSN | e.IBV_QP_RQ_PSN)
    return attr.sq_psn, attr.rq_psn


def carried():
    psn = 0xfffffa
    a, b = pair(dict(sq_psn=psn, mtu=e.IBV_MTU_1024), dict(rq_psn=psn, mtu=e.IBV_MTU_1024))
    a.mr.write(b"w" * 4096, 4096)
    for i in range(3):
        # 4000 bytes fit the 4 KiB receive buffer: 4 packets of 1024.
        wc = send(a, b, 4000)
        rv.check(f"SEND {i + 1} of 4000 bytes at path MTU 1024 with PSNs from {psn:#x}",
                 status(wc) == e.IBV_WC_SUCCESS, status(wc))
        got = b.poll(2)
        rv.check("  received", got is not None and got.status == 0 and got.byte_len == 4000,
                 status(got))
    want = (psn + 12) & 0xffffff
    rv.check(f"the requester's next PSN is {want:#x} (12 packets, wrapped)",
             psns(a)[0] == want, hex(psns(a)[0]))
    rv.check(f"the responder expects {want:#x}", psns(b)[1] == want, hex(psns(b)[1]))


def ahead(timeout, retry_cnt, at_least, at_most):
    a, b = pair(dict(sq_psn=100, timeout=timeout, retry_cnt=retry_cnt), dict(rq_psn=50))
    attr, _ = a.qp.query(e.IBV_QP_TIMEOUT | e.IBV_QP_RETRY_CNT)
    rv.check(f"the QP reads back timeout {timeout} and retry_cnt {retry_cnt}",
             (attr.timeout, attr.retry_cnt) == (timeout, retry_cnt),
             (attr.timeout, attr.retry_cnt))
    t = time.time()
    wc = send(a, b, 64, 30)
    took = time.time() - t
    rv.check(f"PSN 100 to a responder expecting 50 (timeout {timeout}, retry_cnt "
             f"{retry_cnt}): retry exceeded", status(wc) == e.IBV_WC_RETRY_EXC_ERR, status(wc))
    rv.check(f"  after {at_least} s to {at_most} s", at_least <= took <= at_most, f"{took:.2f} s")
    rv.check("  the responder received nothing", b.poll(0.5) is None)


def duplicate():
    a, b = pair(dict(sq_psn=50), dict(rq_psn=100))
    wc = send(a, b, 64)
    rv.check("PSN 50 to a responder expecting 100: the requester completes (acknowledged "
             "as a duplicate)", status(wc) == e.IBV_WC_SUCCESS, status(wc))
    rv.check("  the responder received nothing", b.poll(1) is None)
    rv.check("  and still expects 100", psns(b)[1] == 100, psns(b)[1])


def mtu():
    a, b = pair(dict(mtu=e.IBV_MTU_4096), dict(mtu=e.IBV_MTU_1024))
    a.mr.write(b"m" * 4096, 4096)
    b.mr.write(b"n" * 4096, 4096)
    wc = send(b, a, 2000)
    rv.check("path MTU 1024 to 4096: 2000 bytes sent", status(wc) == e.IBV_WC_SUCCESS,
             status(wc))
    got = a.poll(2)
    rv.check("  and received", got is not None and got.byte_len == 2000, status(got))
    wc = send(a, b, 1000)
    rv.check("path MTU 4096 to 1024: 1000 bytes sent", status(wc) == e.IBV_WC_SUCCESS,
             status(wc))
    got = b.poll(2)
    rv.check("  and received", got is not None and got.byte_len == 1000, status(got))
    wc = send(a, b, 2000)
    rv.check("path MTU 4096 to 1024: 2000 bytes are NAKed (remote invalid request)",
             status(wc) == e.IBV_WC_REM_INV_REQ_ERR, status(wc))


def main():
    global NAMES
    if len(sys.argv) > 2:
        NAMES = tuple(sys.argv[1:3])
    carried()
    # 4.096 us << 18 = 1.07 s, twice; 4.096 us << 8 = 1 ms, once.
    ahead(18, 1, 2.0, 12.0)
    ahead(8, 0, 0.0, 1.5)
    duplicate()
    mtu()
    return 1 if rv.failed else 0


if __name__ == "__main__":
    sys.exit(main())
