#!/usr/bin/env python3
"""A scripted RESP2 server for cases a real Redis cannot be made to show on demand.

    fake-redis.py PORTFILE SCRIPT.json

Listens on a free loopback port (written to PORTFILE), serves one client at a time for at
most 60 seconds. SCRIPT.json:
    {"info": "redis_version:7.0.0\\r\\n...",        INFO (any section) answer
     "scan": {"0": ["5", ["a", "b"]], "5": ["0", ["b"]]},   cursor -> [next, keys]
     "keys": {"a": {"type": "string", "memory": 100}},     TYPE / MEMORY USAGE / PTTL / *LEN
                                 ({"error": "BUSY ..."}: every command on that key fails)
     "errors": {"MEMORY": "ERR unknown command"}}   a command answered with an error
XINFO STREAM answers a stream of "length" entries none of which was removed, XINFO GROUPS
a key's "groups" list of maps (default none).
"""
import json, socket, sys, time


def bulk(s):
    if s is None:
        return b"$-1\r\n"
    b = s.encode() if isinstance(s, str) else s
    return b"$%d\r\n%s\r\n" % (len(b), b)


def enc(v):
    if isinstance(v, bool):
        return b":%d\r\n" % int(v)
    if isinstance(v, int):
        return b":%d\r\n" % v
    if isinstance(v, list):
        return b"*%d\r\n" % len(v) + b"".join(enc(x) for x in v)
    if isinstance(v, tuple) and v[0] == "status":
        return b"+%s\r\n" % v[1].encode()
    if isinstance(v, tuple) and v[0] == "error":
        return b"-%s\r\n" % v[1].encode()
    return bulk(v)


def parse(buf):
    """Complete commands at the start of buf, and the rest."""
    cmds = []
    while buf.startswith(b"*"):
        end = buf.find(b"\r\n")
        if end < 0:
            break
        n, pos, args = int(buf[1:end]), end + 2, []
        for _ in range(n):
            e = buf.find(b"\r\n", pos)
            if e < 0:
                return cmds, buf
            ln = int(buf[pos + 1:e])
            if len(buf) < e + 2 + ln + 2:
                return cmds, buf
            args.append(buf[e + 2:e + 2 + ln].decode("utf-8", "replace"))
            pos = e + 2 + ln + 2
        else:
            cmds.append(args)
            buf = buf[pos:]
            continue
        break
    return cmds, buf


def xinfo(k, sub):
    if sub == "GROUPS":
        return [[x for kv in g.items() for x in kv] for g in k.get("groups", [])]
    n = k.get("length", 1)
    return ["length", n, "last-generated-id", "0-%d" % n, "max-deleted-entry-id", "0-0",
            "entries-added", n, "groups", len(k.get("groups", [])), "first-entry", None]


def answer(sc, args):
    cmd = args[0].upper()
    errs = sc.get("errors", {})
    if cmd in errs:
        return ("error", errs[cmd])
    keys = sc.get("keys", {})
    key = args[2] if cmd == "MEMORY" and len(args) > 2 else args[1] if len(args) > 1 else None
    if cmd != "SCAN" and key in keys and "error" in keys[key]:
        return ("error", keys[key]["error"])
    if cmd == "INFO":
        return sc.get("info", "redis_version:7.0.0\r\n")
    if cmd == "DBSIZE":
        return len(keys)
    if cmd == "SCAN":
        nxt, ks = sc["scan"][args[1]]
        return [nxt, ks]
    if cmd == "TYPE":
        return ("status", keys.get(args[1], {}).get("type", "none"))
    if cmd == "MEMORY":
        return keys.get(args[2], {}).get("memory", 0)
    if cmd == "PTTL":
        return -1 if args[1] in keys else -2
    if cmd in ("XLEN", "STRLEN", "LLEN", "SCARD", "ZCARD", "HLEN"):
        return keys.get(args[1], {}).get("length", 1)
    if cmd == "XINFO":
        return xinfo(keys.get(args[2], {}), args[1].upper())
    if cmd == "CONFIG":
        return []
    if cmd == "SLOWLOG":
        return []
    if cmd == "CLIENT":
        return "" if args[1].upper() == "LIST" else ("status", "OK")
    return ("error", "ERR unknown command '%s'" % args[0])


def main():
    sc = json.load(open(sys.argv[2]))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(1)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        c.settimeout(5)
        buf = b""
        try:
            while time.time() < deadline:
                d = c.recv(65536)
                if not d:
                    break
                cmds, buf = parse(buf + d)
                c.sendall(b"".join(enc(answer(sc, a)) for a in cmds))
        except (socket.timeout, OSError):
            pass
        c.close()


main()
