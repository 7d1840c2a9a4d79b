#!/usr/bin/env python3
"""A generic TCP fault proxy: one upstream, loopback only, every wait bounded.

usage: fault-proxy.py PORTFILE UPSTREAM_PORT RULES [LIFETIME_S]

Listens on a free 127.0.0.1 port (written to PORTFILE once listening) and relays each
connection to 127.0.0.1:UPSTREAM_PORT. RULES is a file re-read on every new connection
(write it before the client connects; a missing or empty file means "pass"). One rule
a line, '#' starts a comment; DIR is "up" (client to server) or "down" (server to client):

    pass                    relay unchanged (the default)
    delay MS                hold every chunk MS milliseconds before relaying it
    stall                   accept, connect upstream, relay nothing in either direction
    stall-after DIR N       relay the first N bytes of DIR, then nothing more either way
    stall-at DIR TEXT       relay until a DIR chunk contains TEXT, then nothing more
                            (that chunk is held too): "stall-at up SCAN" stalls the first
                            SCAN after the handshake, "stall-at up SELECT" a libpq query
    cut DIR N               relay the first N bytes of DIR, then close both sides
    cut-at DIR TEXT         like stall-at, but close both sides instead
    corrupt DIR N           flip every bit of byte N (from 0) of DIR
    refuse                  accept and close at once, before anything is relayed
    reply-at TEXT REPLY     a client chunk containing TEXT is not relayed: REPLY is
                            sent to the client instead ("reply-at SCAN -LOADING x\\r\\n")
    status CODE             answer any HTTP request with "HTTP/1.1 CODE" and close
    first N                 the other rules apply to the first N connections only,
                            counted afresh whenever the file is rewritten; later ones
                            pass ("cut up 0" with "first 1": the first connection dropped)
TEXT and REPLY take Python escapes (\\r\\n, \\x00). Several rules may apply at once
(delay with stall-at). A stalled connection stays open until the client closes it or
the proxy's LIFETIME_S (default 120) ends; the proxy then exits and closes everything.
Started through start_fault_tcp_proxy (tests/lib/faults.sh), which documents it.
"""
import os, socket, sys, threading, time

portfile, upstream_port, rules_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lifetime = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
deadline = time.time() + lifetime
CHUNK = 65536


def unescape(s):
    return s.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1")


def read_rules():
    rules = []
    try:
        lines = open(rules_path).read().splitlines()
    except OSError:
        return rules
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        f = line.split(None, 2)
        if f[0] == "reply-at" and len(f) == 3:
            rules.append(("reply-at", unescape(f[1]), unescape(f[2])))
        elif f[0] in ("stall-at", "cut-at") and len(f) == 3:
            rules.append((f[0], f[1], unescape(f[2])))
        elif f[0] in ("stall-after", "cut", "corrupt") and len(f) == 3:
            rules.append((f[0], f[1], int(f[2])))
        elif f[0] in ("delay", "status", "first") and len(f) == 2:
            rules.append((f[0], int(f[1])))
        elif f[0] in ("pass", "stall", "refuse") and len(f) == 1:
            rules.append((f[0],))
        else:
            print("fault-proxy: bad rule: %r" % line, file=sys.stderr)
    return rules


# how many connections the current rules file has been applied to: (its version, count)
applied = [None, 0]


def rules_for_connection():
    """The rules for a new connection: none once a "first N" rule has been used N times."""
    try:
        st = os.stat(rules_path)
        version = (st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        version = None
    rules = read_rules()
    if applied[0] != version:
        applied[0], applied[1] = version, 0
    applied[1] += 1
    first = [r[1] for r in rules if r[0] == "first"]
    if first and applied[1] > first[0]:
        return []
    return [r for r in rules if r[0] != "first"]


class Conn:
    """One proxied connection: two pumps that share a fate (stalled or closed)."""

    def __init__(self, client, rules):
        self.client, self.rules = client, rules
        self.upstream = None
        self.stalled = threading.Event()
        self.closed = threading.Event()

    def has(self, name):
        return any(r[0] == name for r in self.rules)

    def close(self):
        self.closed.set()
        for s in (self.client, self.upstream):
            if s is not None:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def hold(self):
        """Stall: keep both sockets open, relay nothing, until the client goes or time ends."""
        self.stalled.set()
        self.client.settimeout(0.2)
        while time.time() < deadline and not self.closed.is_set():
            try:
                if self.client.recv(CHUNK) == b"":
                    break
            except socket.timeout:
                continue
            except OSError:
                break
        self.close()

    def transform(self, direction, chunk, offset):
        """(bytes to relay, then: None to go on, "stall" or "close"), given the DIR offset."""
        for rule in self.rules:
            name = rule[0]
            if name == "delay":
                time.sleep(rule[1] / 1000.0)
            elif len(rule) == 3 and rule[1] == direction:
                if name in ("stall-at", "cut-at") and rule[2] in chunk:
                    return b"", "stall" if name == "stall-at" else "close"
                if name in ("stall-after", "cut") and offset + len(chunk) > rule[2]:
                    keep = chunk[:max(0, rule[2] - offset)]
                    return keep, "stall" if name == "stall-after" else "close"
                if name == "corrupt" and offset <= rule[2] < offset + len(chunk):
                    b = bytearray(chunk)
                    b[rule[2] - offset] ^= 0xFF
                    chunk = bytes(b)
        return chunk, None

    def reply_for(self, chunk):
        for rule in self.rules:
            if rule[0] == "reply-at" and rule[1] in chunk:
                return rule[2]
        return None

    def pump(self, src, dst, direction):
        offset = 0
        src.settimeout(0.5)
        while time.time() < deadline and not self.closed.is_set():
            if self.stalled.is_set():
                return
            try:
                chunk = src.recv(CHUNK)
            except socket.timeout:
                continue
            except OSError:
                break
            if not chunk:
                break
            if direction == "up":
                reply = self.reply_for(chunk)
                if reply is not None:
                    self.client.sendall(reply)
                    continue
            out, then = self.transform(direction, chunk, offset)
            if self.stalled.is_set():
                return
            try:
                dst.sendall(out)
            except OSError:
                break
            offset += len(out)
            if then == "stall":
                self.hold()
                return
            if then == "close":
                break
        if not self.stalled.is_set():
            self.close()

    def run(self):
        if self.has("refuse"):
            self.close()
            return
        status = [r[1] for r in self.rules if r[0] == "status"]
        if status:
            self.client.settimeout(5)
            try:
                self.client.recv(CHUNK)
                self.client.sendall(b"HTTP/1.1 %d fault-proxy\r\nContent-Length: 0\r\n"
                                    b"Connection: close\r\n\r\n" % status[0])
            except OSError:
                pass
            self.close()
            return
        try:
            self.upstream = socket.create_connection(("127.0.0.1", upstream_port), timeout=5)
        except OSError:
            self.close()
            return
        if self.has("stall"):
            self.hold()
            return
        threading.Thread(target=self.pump, args=(self.upstream, self.client, "down"), daemon=True).start()
        self.pump(self.client, self.upstream, "up")


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.5)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % listener.getsockname()[1])
    os.rename(tmp, portfile)
    while time.time() < deadline:
        try:
            client, _ = listener.accept()
        except socket.timeout:
            continue
        conn = Conn(client, rules_for_connection())
        threading.Thread(target=conn.run, daemon=True).start()
    listener.close()


if __name__ == "__main__":
    main()
