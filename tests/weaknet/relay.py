"""The delay element of the weak-network link: a userspace relay between two TUN devices.

Run by :mod:`tests.weaknet.link` as its own process (``python relay.py ...``), as root.
It creates one TUN device in the client namespace and one in the server namespace
(``TUNSETIFF`` on ``/dev/net/tun`` after ``setns`` into each), then copies every IPv4
packet from one to the other after a fixed one-way delay (RTT/2 per direction), in
order. The rate limit is not here: the kernel's own ``tc tbf`` sits on each TUN
device's egress (see ``link.py``), so TCP on both sides is the kernel's real TCP,
seeing real serialisation and real per-packet delay.

The devices exist only while this process holds them open: if it dies, they vanish.

It also plays the network's part in two test-only tricks, driven by JSON lines on
stdin (one reply line on stdout per command):

``{"cmd": "stats"}`` / ``{"cmd": "reset"}``
    IP bytes and packets per direction since the last reset, and per HTTP request seen
    leaving the client, in order: its line (method + target), payload bytes up and down.
``{"cmd": "arm", "method": "POST", "path": "/ajukan", "cuts": 1, "outage": 3.0}``
    The next ``cuts`` times the server starts answering a matching request, the
    link goes dark in both directions for ``outage`` seconds from the first byte of
    that answer (so the server has done the work, the phone never hears of it).
    When the signal returns, every connection that was open is gone, as after a
    radio re-attach: both ends get a TCP RST. A few dark seconds alone would be
    hidden by TCP retransmission; a lost connection is what a browser sees.
"""

from __future__ import annotations

import collections
import ctypes
import fcntl
import json
import os
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
METHODS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ")
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


def open_tun_in(netns: str, name: str) -> int:
    """Create TUN device ``name`` inside network namespace ``netns``; return its fd."""
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {netns} failed")
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI))
        os.set_blocking(fd, False)
        return fd
    finally:
        libc.setns(own, CLONE_NEWNET)
        os.close(own)
        os.close(target)


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def rst_packet(src: bytes, dst: bytes, sport: int, dport: int, seq: int) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, 0, 5 << 4, RST, 0, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp


def ahead(a: int, b: int) -> bool:
    """Sequence number ``a`` is after ``b`` (modulo 2**32)."""
    return 0 < ((a - b) & 0xFFFFFFFF) < 0x80000000


class Tcp:
    __slots__ = ("src", "dst", "sport", "dport", "seq", "ack", "flags", "payload")

    def __init__(self, pkt: bytes):
        ihl = (pkt[0] & 0x0F) * 4
        total = struct.unpack("!H", pkt[2:4])[0]
        self.src, self.dst = pkt[12:16], pkt[16:20]
        self.sport, self.dport, self.seq, self.ack = struct.unpack("!HHII", pkt[ihl:ihl + 12])
        doff = (pkt[ihl + 12] >> 4) * 4
        self.flags = pkt[ihl + 13]
        self.payload = pkt[ihl + doff:total]

    def end(self) -> int:
        return self.seq + len(self.payload) + (1 if self.flags & SYN else 0) + (1 if self.flags & FIN else 0)


class Flow:
    """What the middle of the link knows of one TCP connection."""

    __slots__ = ("next_to", "fins", "reset", "dead")

    def __init__(self):
        self.next_to = {}  # side ("cli"/"srv") -> next sequence number that side expects
        self.fins = 0
        self.reset = False
        self.dead = False


class Relay:
    def __init__(self, cli_fd: int, srv_fd: int, delay_up: float, delay_down: float):
        self.fd = {"cli": cli_fd, "srv": srv_fd}
        self.delay = {"cli": delay_up, "srv": delay_down}  # keyed by the side a packet comes from
        self.queue = {"cli": collections.deque(), "srv": collections.deque()}
        self.flows: dict[tuple, Flow] = {}
        self.arm: dict | None = None
        self.armed: set[tuple] = set()
        self.dark_until = 0.0
        self.sent: dict[tuple, dict] = {}  # flow -> side -> end of the payload sent so far
        self.reset_stats()

    def reset_stats(self) -> None:
        self.stats = {"up_bytes": 0, "down_bytes": 0, "up_packets": 0, "down_packets": 0,
                      "up_payload": 0, "down_payload": 0, "dropped": 0, "resets": 0, "outages": 0,
                      "exchanges": []}
        self.current: dict[tuple, list | None] = {}

    def count(self, side: str, k: tuple, t: Tcp) -> int:
        """New TCP payload bytes of this segment (a retransmission counts once, where it was first sent)."""
        sent = self.sent.setdefault(k, {})
        if t.flags & SYN:
            sent[side] = (t.seq + 1) & 0xFFFFFFFF
        if not t.payload:
            return 0
        end = (t.seq + len(t.payload)) & 0xFFFFFFFF
        prev = sent.get(side)
        if prev is None:
            sent[side] = end
            return len(t.payload)
        if not ahead(end, prev):
            return 0
        sent[side] = end
        return min(len(t.payload), (end - prev) & 0xFFFFFFFF)

    @staticmethod
    def key(side: str, t: Tcp) -> tuple:
        """(client addr, client port, server addr, server port) whichever way the packet goes."""
        if side == "cli":
            return (t.src, t.sport, t.dst, t.dport)
        return (t.dst, t.dport, t.src, t.sport)

    # packets leaving one side's kernel
    def receive(self, side: str, pkt: bytes, now: float) -> None:
        if len(pkt) < 20 or pkt[0] >> 4 != 4:
            return  # IPv4 only (IPv6 is off in both namespaces)
        if side == "cli":
            self.stats["up_bytes"] += len(pkt)
            self.stats["up_packets"] += 1
        else:
            self.stats["down_bytes"] += len(pkt)
            self.stats["down_packets"] += 1
        if pkt[9] == 6:
            t = Tcp(pkt)
            k = self.key(side, t)
            new = self.count(side, k, t)
            if new:
                self.stats["up_payload" if side == "cli" else "down_payload"] += new
                if side == "cli" and t.payload.startswith(METHODS):  # a new request on this connection
                    method, target = t.payload.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[:2]
                    self.current[k] = [f"{method} {target}", 0, 0]  # request line, bytes up, bytes down
                    self.stats["exchanges"].append(self.current[k])
                    if (self.arm and self.arm["cuts"] > 0 and method == self.arm["method"]
                            and self.arm["path"] in target):
                        self.armed.add(k)
                exchange = self.current.get(k)
                if exchange is not None:
                    exchange[1 if side == "cli" else 2] += new
            if side == "srv" and k in self.armed and t.payload:
                self.armed.discard(k)
                self.arm["cuts"] -= 1
                self.go_dark(now, self.arm["outage"])
        self.queue[side].append((now + self.delay[side], pkt))

    def go_dark(self, now: float, seconds: float) -> None:
        self.stats["outages"] += 1
        self.dark_until = max(self.dark_until, now + seconds)
        for flow in self.flows.values():
            if not flow.reset and flow.fins < 2:
                flow.dead = True

    # packets arriving at the other side
    def deliver(self, side: str, pkt: bytes, now: float) -> None:
        other = "srv" if side == "cli" else "cli"
        if now < self.dark_until:
            self.stats["dropped"] += 1
            return
        if pkt[9] == 6:
            t = Tcp(pkt)
            k = self.key(side, t)
            flow = self.flows.get(k)
            if flow is None or (t.flags & SYN and not t.flags & ACK):
                flow = self.flows[k] = Flow()
            if flow.dead:  # the connection did not survive the outage: tell the sender
                self.stats["dropped"] += 1
                if not t.flags & RST and t.flags & ACK:
                    self.inject(side, rst_packet(t.dst, t.src, t.dport, t.sport, t.ack))
                return
            if t.flags & RST:
                flow.reset = True
            if t.flags & FIN:
                flow.fins += 1
            end = t.end()
            if other not in flow.next_to or ahead(end, flow.next_to[other]):
                flow.next_to[other] = end
        self.write(other, pkt)

    def signal_back(self, now: float) -> None:
        """The outage is over: every connection open before it gets a RST at both ends."""
        self.dark_until = 0.0
        for (caddr, cport, saddr, sport), flow in self.flows.items():
            if flow.dead and not flow.reset:
                flow.reset = True  # announced once; later packets are answered one by one
                if "cli" in flow.next_to:
                    self.inject("cli", rst_packet(saddr, caddr, sport, cport, flow.next_to["cli"]))
                if "srv" in flow.next_to:
                    self.inject("srv", rst_packet(caddr, saddr, cport, sport, flow.next_to["srv"]))

    def inject(self, to: str, pkt: bytes) -> None:
        """Hand a made-up packet to the kernel on side ``to``."""
        self.stats["resets"] += 1
        self.write(to, pkt)

    def write(self, side: str, pkt: bytes) -> None:
        try:
            os.write(self.fd[side], pkt)
        except OSError:
            self.stats["dropped"] += 1

    def command(self, line: str) -> dict:
        msg = json.loads(line)
        cmd = msg.get("cmd")
        if cmd == "stats":
            return dict(self.stats, dark=self.dark_until > 0)
        if cmd == "reset":
            self.reset_stats()
            return {"ok": True}
        if cmd == "arm":
            self.arm = {"method": msg.get("method", "POST"), "path": msg["path"],
                        "cuts": int(msg.get("cuts", 1)), "outage": float(msg.get("outage", 3.0))}
            self.armed.clear()
            return {"ok": True}
        if cmd == "disarm":
            left = self.arm["cuts"] if self.arm else 0
            self.arm = None
            self.armed.clear()
            return {"ok": True, "cuts_left": left}
        return {"error": f"unknown command {cmd!r}"}

    def run(self, control) -> None:
        ctl = control.fileno()
        buf = b""
        while True:
            now = time.monotonic()
            heads = [q[0][0] for q in self.queue.values() if q]
            if self.dark_until:
                heads.append(self.dark_until)
            timeout = max(0.0, min(heads) - now) if heads else None
            ready, _, _ = select.select([self.fd["cli"], self.fd["srv"], ctl], [], [], timeout)
            now = time.monotonic()
            for side in ("cli", "srv"):
                if self.fd[side] in ready:
                    while True:
                        try:
                            pkt = os.read(self.fd[side], 65536)
                        except BlockingIOError:
                            break
                        self.receive(side, pkt, now)
            if ctl in ready:
                chunk = os.read(ctl, 65536)
                if not chunk:
                    return  # the harness went away: so do the devices
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        sys.stdout.write(json.dumps(self.command(line.decode())) + "\n")
                        sys.stdout.flush()
            now = time.monotonic()
            if self.dark_until and now >= self.dark_until:
                self.signal_back(now)
            for side, q in self.queue.items():
                while q and q[0][0] <= now:
                    self.deliver(side, q.popleft()[1], now)


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli-ns", required=True)
    ap.add_argument("--cli-dev", required=True)
    ap.add_argument("--srv-ns", required=True)
    ap.add_argument("--srv-dev", required=True)
    ap.add_argument("--delay-up", type=float, required=True, help="one-way delay client->server, seconds")
    ap.add_argument("--delay-down", type=float, required=True, help="one-way delay server->client, seconds")
    args = ap.parse_args(argv)
    cli_fd = open_tun_in(args.cli_ns, args.cli_dev)
    srv_fd = open_tun_in(args.srv_ns, args.srv_dev)
    sys.stdout.write(json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    Relay(cli_fd, srv_fd, args.delay_up, args.delay_down).run(sys.stdin)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
