"""scripts/lib/demo.py: scripts/demo's main part (not a test; it uses the test fixtures): Pebble + challtestsrv + httpd with mod_acme on loopback in a private directory, until a certificate is served over HTTPS."""
import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "test", "integration"))

from fixtures.ca import Pebble, make_dir  # noqa: E402
from fixtures.httpd import Httpd, cert_names, module_path, verify_chain, wait_for  # noqa: E402

NAMES = ["demo.test", "www.demo.test"]


def say(msg):
    print(f"[demo] {msg}", flush=True)


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def wait_served(h, timeout):
    def served():
        c = h.served_cert(NAMES[0])
        if "Pebble" in c.issuer.rfc4514_string() and set(NAMES) <= cert_names(c):
            return c
        return None
    return wait_for(served, timeout, interval=0.5, what="the Pebble certificate to be served")


def show(h, pebble, cert, started):
    say(f"certificate served over HTTPS after {time.monotonic() - started:.1f} s "
        f"(https://{NAMES[0]}:{h.https_port}/ on 127.0.0.1):")
    print(f"  subject:   {cert.subject.rfc4514_string()}")
    print(f"  names:     {', '.join(sorted(cert_names(cert)))}")
    print(f"  issuer:    {cert.issuer.rfc4514_string()}")
    print(f"  valid:     {cert.not_valid_before:%Y-%m-%d %H:%M:%S} UTC .. "
          f"{cert.not_valid_after:%Y-%m-%d %H:%M:%S} UTC")
    print(f"  serial:    {cert.serial_number:x}")
    ok, out = verify_chain(h.served_chain(NAMES[0]), pebble.roots_pem(0))
    print(f"  chain:     {'verifies to' if ok else 'DOES NOT verify to'} Pebble's root"
          + ("" if ok else f" ({out})"))
    status, _, body = h.request("/", NAMES[0], tls=True)
    print(f"  GET /:     {status} {body.decode(errors='replace').strip()[:60]!r}")
    say(f"status JSON (http://127.0.0.1:{h.admin_port}/acme-status):")
    print(json.dumps(h.status_json(), indent=2))


def run(args, base):
    say(f"private directory {base}")
    pebble = Pebble(base)
    h = None
    try:
        pebble.start()
        say(f"Pebble ACME CA at {pebble.directory_url} (mock DNS answers 127.0.0.1 for every name)")
        h = Httpd(pebble, root=make_dir(base, "httpd"), log_level="notice acme:info")
        h.ssl_vhost(NAMES[0], NAMES[1:], body="ACMEDomain")
        say(f"httpd config {h.conf_file}: <VirtualHost *:{h.https_port}> ServerName "
            f"{NAMES[0]} ServerAlias {' '.join(NAMES[1:])} + ACMEDomain, no SSLCertificateFile")
        started = time.monotonic()
        h.start()
        say(f"httpd started (pid {h.pid()}); waiting for mod_acme to get and serve the certificate")
        try:
            cert = wait_served(h, args.timeout)
        except AssertionError as e:
            say(f"FAILED: {e}")
            print("--- httpd error log (last lines) ---")
            print(h.error_log_tail(60))
            return 1
        show(h, pebble, cert, started)
        if args.wait:
            say("running until Ctrl-C (error log: %s)" % h.error_log_file)
            while True:
                time.sleep(3600)
        return 0
    finally:
        say("stopping httpd and Pebble")
        if h is not None:
            h.stop()
        pebble.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--timeout", type=float, default=180, help="seconds to wait for the certificate")
    ap.add_argument("--keep", action="store_true", help="keep the private directory")
    ap.add_argument("--wait", action="store_true", help="keep running until Ctrl-C")
    args = ap.parse_args()
    if os.geteuid() != 0:
        say("must run as root (httpd switches its children to www-data)")
        return 1
    if not module_path().exists():
        say(f"{module_path()} not found: build first (ACME_BUILD_DIR)")
        return 1
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    base = tempfile.mkdtemp(prefix="mod_acme-demo-")
    os.chmod(base, 0o755)
    try:
        return run(args, base)
    except KeyboardInterrupt:
        return 130
    finally:
        if args.keep:
            say(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
