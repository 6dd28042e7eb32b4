#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""UD datagrams (and one RC SEND) from mlx4_0 to mlx4_1 through libmlx4.

    ud_verify.py pkey SENDER_PKEY_INDEX RECEIVER_PKEY_INDEX deliver|drop
        One datagram, each QP under a chosen P_Key: received (deliver) or not (drop).
    ud_verify.py rc SENDER_PKEY_INDEX RECEIVER_PKEY_INDEX deliver|drop
        The same over a connected RC pair: a SEND completes (deliver), or the responder
        drops it and the requester ends with "retry exceeded" (drop).
    ud_verify.py rtr
        An RC QP taken to RTR without a destination QP, or without a path (DLID 0), is
        refused with EINVAL (the firmware's bad-parameter status) and stays in INIT.
    ud_verify.py srq
        A UD QP on an SRQ with 8 receives posted and the limit armed at 4: three
        datagrams leave 5 posted and raise nothing; two more leave 3 and raise
        SRQ_LIMIT_REACHED, after which the limit reads 0 (disarmed).
    ud_verify.py sqe
        A send with a bad lkey completes with a local protection error and takes the
        sender to SQE (send queue error), where a further send is flushed while its
        receive queue still takes a datagram; SQE -> RTS, and it sends again.

Prints "# ok ..." or "# FAIL ..." lines and exits 1 on any failure.
"""
import errno
import fcntl
import os
import sys
import time

import pyverbs.enums as e
from pyverbs.addr import AH, AHAttr
from pyverbs.cq import CQ
from pyverbs.device import Context
from pyverbs.mr import MR
from pyverbs.pd import PD
from pyverbs.pyverbs_error import PyverbsRDMAError
from pyverbs.qp import QP, QPAttr, QPCap, QPInitAttr
from pyverbs.srq import SRQ, SrqAttr, SrqInitAttr
from pyverbs.wr import SGE, RecvWR, SendWR

import rdma_verify as rv
from rdma_verify import connect_rc

QKEY = 0x11111111
GRH = 40


class End:
    """A QP of `qp_type` on port 1 of `name` under P_Key index `pkey_index`; a UD QP is
    taken to RTS at once, an RC QP by `connect`."""

    def __init__(self, name, pkey_index, qp_type=e.IBV_QPT_UD, srq_wr=0):
        self.ctx = Context(name=name)
        self.lid = self.ctx.query_port(1).lid
        self.pd = PD(self.ctx)
        self.cq = CQ(self.ctx, 16)
        cap = QPCap(max_send_wr=4, max_recv_wr=0 if srq_wr else 4, max_send_sge=1,
                    max_recv_sge=1)
        self.srq = None
        if srq_wr:
            self.srq = SRQ(self.pd, SrqInitAttr(SrqAttr(max_wr=srq_wr, max_sge=1)))
        self.qp = QP(self.pd, QPInitAttr(qp_type=qp_type, scq=self.cq, rcq=self.cq,
                                         srq=self.srq, cap=cap))
        self.mr = MR(self.pd, 4096, e.IBV_ACCESS_LOCAL_WRITE)
        self.pkey_index = pkey_index
        if qp_type != e.IBV_QPT_UD:
            return
        a = QPAttr()
        a.qp_state = e.IBV_QPS_INIT
        a.pkey_index = pkey_index
        a.port_num = 1
        a.qkey = QKEY
        self.qp.modify(a, e.IBV_QP_STATE | e.IBV_QP_PKEY_INDEX | e.IBV_QP_PORT | e.IBV_QP_QKEY)
        a = QPAttr()
        a.qp_state = e.IBV_QPS_RTR
        self.qp.modify(a, e.IBV_QP_STATE)
        a = QPAttr()
        a.qp_state = e.IBV_QPS_RTS
        a.sq_psn = 0
        self.qp.modify(a, e.IBV_QP_STATE | e.IBV_QP_SQ_PSN)

    def connect(self, peer):
        connect_rc(self.qp, peer.qp.qp_num, peer.lid, e.IBV_ACCESS_LOCAL_WRITE, self.pkey_index)

    def poll(self, secs):
        deadline = time.time() + secs
        while time.time() < deadline:
            n, wcs = self.cq.poll()
            if n:
                return wcs[0]
            time.sleep(0.001)
        return None


def send(src, dst, lkey=None, length=64):
    ah = AH(src.pd, attr=AHAttr(dlid=dst.lid, port_num=1))
    wr = SendWR(opcode=e.IBV_WR_SEND, num_sge=1,
                sg=[SGE(src.mr.buf, length, src.mr.lkey if lkey is None else lkey)])
    wr.set_wr_ud(ah, dst.qp.qp_num, QKEY)
    src.qp.post_send(wr)
    return src.poll(5)


def recv(end):
    end.qp.post_recv(RecvWR(num_sge=1, sg=[SGE(end.mr.buf, GRH + 256, end.mr.lkey)]))


def received(wc):
    return wc is not None and wc.status == e.IBV_WC_SUCCESS and wc.byte_len == GRH + 64


def pkey(si, ri, want):
    a, b = End("mlx4_0", si), End("mlx4_1", ri)
    recv(b)
    a.mr.write(b"p" * 64, 64)
    sent = send(a, b)
    rv.check(f"the send under P_Key index {si} completed locally",
          sent is not None and sent.status == e.IBV_WC_SUCCESS, sent)
    got = received(b.poll(1))
    rv.check(f"receiver under P_Key index {ri}: {'received' if got else 'nothing'}",
          got == (want == "deliver"), f"expected: {want}")


def rc(si, ri, want):
    a, b = End("mlx4_0", si, e.IBV_QPT_RC), End("mlx4_1", ri, e.IBV_QPT_RC)
    a.connect(b)
    b.connect(a)
    b.qp.post_recv(RecvWR(num_sge=1, sg=[SGE(b.mr.buf, 64, b.mr.lkey)]))
    a.qp.post_send(SendWR(opcode=e.IBV_WR_SEND, num_sge=1, sg=[SGE(a.mr.buf, 64, a.mr.lkey)]))
    wc = a.poll(15)
    status = wc.status if wc is not None else None
    if want == "deliver":
        rv.check(f"RC SEND under P_Key indexes {si} -> {ri} completes",
              status == e.IBV_WC_SUCCESS, status)
        got = b.poll(2)
        rv.check("and the responder receives it",
              got is not None and got.status == e.IBV_WC_SUCCESS and got.byte_len == 64)
    else:
        rv.check(f"RC SEND under P_Key indexes {si} -> {ri} ends in retry exceeded",
              status == e.IBV_WC_RETRY_EXC_ERR, status)
        rv.check("and the responder receives nothing", b.poll(1) is None)


def rtr_required():
    for what, qpn, lid in (("destination QP 0", 0, None), ("DLID 0", None, 0)):
        a, b = End("mlx4_0", 0, e.IBV_QPT_RC), End("mlx4_1", 0, e.IBV_QPT_RC)
        err = None
        try:
            connect_rc(a.qp, b.qp.qp_num if qpn is None else qpn,
                       b.lid if lid is None else lid, e.IBV_ACCESS_LOCAL_WRITE)
        except PyverbsRDMAError as x:
            err = x.error_code
        rv.check(f"RC INIT to RTR with {what}: EINVAL", err == errno.EINVAL, err)
        rv.check("the QP stays in INIT", state(a) == e.IBV_QPS_INIT, state(a))


def state(end):
    attr, _ = end.qp.query(e.IBV_QP_STATE)
    return attr.qp_state


def sqe():
    a, b = End("mlx4_0", 0), End("mlx4_1", 0)
    wc = send(a, b, lkey=0xdead00)
    rv.check("a send with a bad lkey: local protection error",
          wc is not None and wc.status == e.IBV_WC_LOC_PROT_ERR, wc and wc.status)
    rv.check("the UD QP is in SQE", state(a) == e.IBV_QPS_SQE, state(a))
    wc = send(a, b)
    rv.check("a send in SQE is flushed", wc is not None and wc.status == e.IBV_WC_WR_FLUSH_ERR,
          wc and wc.status)
    recv(a)
    wc = send(b, a)
    rv.check("the peer's datagram to it is sent", wc is not None and wc.status == e.IBV_WC_SUCCESS)
    rv.check("its receive queue still works in SQE", received(a.poll(2)))
    attr = QPAttr()
    attr.qp_state = e.IBV_QPS_RTS
    attr.cur_qp_state = e.IBV_QPS_SQE
    a.qp.modify(attr, e.IBV_QP_STATE | e.IBV_QP_CUR_STATE)
    rv.check("SQE -> RTS", state(a) == e.IBV_QPS_RTS, state(a))
    recv(b)
    wc = send(a, b)
    rv.check("it sends again", wc is not None and wc.status == e.IBV_WC_SUCCESS, wc and wc.status)
    rv.check("and the peer receives it", received(b.poll(2)))


def srq_limit():
    a, b = End("mlx4_0", 0), End("mlx4_1", 0, srq_wr=16)
    for i in range(8):
        b.srq.post_recv(RecvWR(wr_id=i, num_sge=1, sg=[SGE(b.mr.buf, GRH + 256, b.mr.lkey)]))
    b.srq.modify(SrqAttr(srq_limit=4), e.IBV_SRQ_LIMIT)
    rv.check("query_srq: the limit is 4", b.srq.query().srq_limit == 4)
    # The contexts' async event files, made non-blocking so that they can be polled.
    for fd in os.listdir("/proc/self/fd"):
        try:
            if "infinibandevent" in os.readlink(f"/proc/self/fd/{fd}"):
                fl = fcntl.fcntl(int(fd), fcntl.F_GETFL)
                fcntl.fcntl(int(fd), fcntl.F_SETFL, fl | os.O_NONBLOCK)
        except OSError:
            pass
    events = []

    def poll_events():
        try:
            events.append(b.ctx.get_async_event())
        except PyverbsRDMAError:
            pass
    a.mr.write(b"s" * 64, 64)
    for i in range(3):
        send(a, b)
    got = [b.poll(2) for _ in range(3)]
    rv.check("three datagrams received through the SRQ", all(received(w) for w in got), got)
    time.sleep(1)
    poll_events()
    rv.check("5 receives still posted: no limit event", not events, events)
    for i in range(2):
        send(a, b)
    got = [b.poll(2) for _ in range(2)]
    rv.check("two more received", all(received(w) for w in got), got)
    deadline = time.time() + 10
    while not events and time.time() < deadline:
        poll_events()
        time.sleep(0.05)
    ev = events[0].event_type if events else None
    rv.check("3 posted: SRQ_LIMIT_REACHED", ev == e.IBV_EVENT_SRQ_LIMIT_REACHED, ev)
    if events:
        events[0].ack()
    rv.check("the limit is disarmed (reads 0)", b.srq.query().srq_limit == 0)


def main():
    if sys.argv[1] == "pkey":
        pkey(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "srq":
        srq_limit()
    elif sys.argv[1] == "rtr":
        rtr_required()
    elif sys.argv[1] == "rc":
        rc(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        sqe()
    return 1 if rv.failed else 0


if __name__ == "__main__":
    sys.exit(main())
