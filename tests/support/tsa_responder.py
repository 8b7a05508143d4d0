#!/usr/bin/env python3
"""An RFC 3161 time-stamp authority on loopback for tests.

usage: tsa_responder.py DIR PORT_FILE

Makes a test CA and a TSA certificate (extendedKeyUsage timeStamping) in
DIR with the openssl command line, then answers every POSTed
application/timestamp-query with `openssl ts -reply` and writes the port it
listens on (127.0.0.1, chosen by the kernel) to PORT_FILE. DIR/tsa-ca.pem
verifies the tokens (`openssl ts -verify`). Runs until killed.
"""
import http.server
import os
import subprocess
import sys

CONF = """[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = {d}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/tsa-ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 0
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_pki(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", f"{d}/tsa-ca.key", "-out", f"{d}/tsa-ca.pem",
            "-subj", "/CN=devattest test TSA CA", "-days", "2",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign")
    openssl("req", "-new", *ec, "-keyout", f"{d}/tsa.key", "-out", f"{d}/tsa.csr",
            "-subj", "/CN=devattest test TSA")
    with open(f"{d}/tsa.ext", "w") as f:
        f.write("extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n")
    openssl("x509", "-req", "-in", f"{d}/tsa.csr", "-CA", f"{d}/tsa-ca.pem", "-CAkey",
            f"{d}/tsa-ca.key", "-set_serial", "2", "-days", "2", "-extfile", f"{d}/tsa.ext",
            "-out", f"{d}/tsa.pem")
    with open(f"{d}/serial", "w") as f:
        f.write("01\n")
    with open(f"{d}/tsa.cnf", "w") as f:
        f.write(CONF.format(d=d))


def main():
    d, port_file = os.path.abspath(sys.argv[1]), sys.argv[2]
    make_pki(d)
    count = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            count[0] += 1
            q, r = f"{d}/q{count[0]}.tsq", f"{d}/r{count[0]}.tsr"
            with open(q, "wb") as f:
                f.write(self.rfile.read(n))
            p = subprocess.run(["openssl", "ts", "-reply", "-config", f"{d}/tsa.cnf",
                                "-queryfile", q, "-out", r], capture_output=True)
            if p.returncode != 0:
                self.send_response(500)
                self.end_headers()
                return
            with open(r, "rb") as f:
                body = f.read()
            os.unlink(q)
            os.unlink(r)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
