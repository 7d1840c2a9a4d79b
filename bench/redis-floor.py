#!/usr/bin/env python3
"""Server CPU floor of a SCAN-based audit, for bench/redisaudit.sh.

A minimal client (no parsing beyond RESP framing, nothing aggregated) walks the key space
twice: once with SCAN alone, once with SCAN plus TYPE, MEMORY USAGE and PTTL for every key,
pipelined in one round trip per batch exactly as ops-redisaudit sends them. The server's CPU
time per key for each walk is the floor: no audit that reads type, size and TTL per key can
cost the server less. Prints "scan US" and "scan+3 US" (microseconds per key).

usage: redis-floor.py PORT SERVER_PID KEYS
"""
import socket
import sys

BATCH = 1000
DEADLINE_S = 600


def server_cpu_s(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(CLK_TCK)


def bulk(arg):
    return b"$%d\r\n%s\r\n" % (len(arg), arg)


def command(*args):
    return b"*%d\r\n" % len(args) + b"".join(bulk(a) for a in args)


class Reader:
    """RESP framing over a buffered socket file; values are kept only for SCAN replies."""

    def __init__(self, sock):
        self.f = sock.makefile("rb", buffering=1 << 16)

    def reply(self):
        line = self.f.readline()
        if not line:
            raise SystemExit("redis-floor: connection closed")
        kind = line[:1]
        if kind in b"+-:":
            return line[1:-2]
        if kind == b"$":
            n = int(line[1:])
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if kind == b"*":
            return [self.reply() for _ in range(int(line[1:]))]
        raise SystemExit("redis-floor: unexpected reply %r" % line[:40])


def walk(sock, reader, per_key):
    """One full SCAN walk; a batch's per-key commands go out with the next SCAN."""
    sock.sendall(command(b"SCAN", b"0", b"COUNT", b"%d" % BATCH))
    cursor, keys = reader.reply()
    for _ in range(10_000_000):
        out = []
        if per_key:
            for k in keys:
                out.append(command(b"TYPE", k))
                out.append(command(b"MEMORY", b"USAGE", k))
                out.append(command(b"PTTL", k))
        if cursor != b"0":
            out.append(command(b"SCAN", cursor, b"COUNT", b"%d" % BATCH))
        if not out:
            return
        sock.sendall(b"".join(out))
        for _ in range(len(out) - (cursor != b"0")):
            reader.reply()
        if cursor == b"0":
            return
        cursor, keys = reader.reply()
    raise SystemExit("redis-floor: SCAN did not end")


def main():
    port, pid, keys = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S)
    reader = Reader(sock)
    for name, per_key in (("scan", False), ("scan+3", True)):
        before = server_cpu_s(pid)
        walk(sock, reader, per_key)
        print("%s %.2f" % (name, (server_cpu_s(pid) - before) * 1e6 / keys))


if __name__ == "__main__":
    import os
    CLK_TCK = os.sysconf("SC_CLK_TCK")
    main()
