#!/usr/bin/env python3
"""Hold many TLS connections to devattest-server for the thread-model
benchmark (scripts/bench.d/server-threads.sh).

  conn_hold.py PORT CA N MODE SECONDS [SOURCE_ADDRESS]

MODE idle: each connection completes TLS, asks GET /healthz with keep-alive,
reads the answer and then stays open without sending.
MODE slow: each connection completes TLS and sends a request head one line
per second (a client that is never idle but never done).
Prints "ready N" once the connections are open, then holds them for
SECONDS and prints "closed_by_server K" (connections the server ended).
"""
import socket
import ssl
import sys
import time

port, ca, n, mode, seconds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
src = sys.argv[6] if len(sys.argv) > 6 else None
ctx = ssl.create_default_context(cafile=ca)
conns = []
for i in range(n):
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.settimeout(10)
    if src:
        raw.bind((src, 0))
    try:
        raw.connect(("127.0.0.1", port))
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        if mode == "idle":
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        else:
            s.sendall(b"POST /v1/agents/x/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        s.setblocking(False)
        conns.append(s)
    except OSError:
        raw.close()
print("ready", len(conns), flush=True)
closed = 0
end = time.monotonic() + seconds
line = 0
while time.monotonic() < end and conns:
    time.sleep(1)
    line += 1
    alive = []
    for s in conns:
        try:
            if mode == "slow":
                s.send(b"X-Slow-%d: 1\r\n" % line)
            else:
                if s.recv(1) == b"":
                    raise OSError("closed")
            alive.append(s)
        except ssl.SSLWantReadError:
            alive.append(s)
        except (OSError, ssl.SSLError):
            closed += 1
            s.close()
    conns = alive
print("closed_by_server", closed, flush=True)
for s in conns:
    s.close()
