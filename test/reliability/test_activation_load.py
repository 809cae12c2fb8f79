"""Activation under load: while wrk loads the managed HTTPS and HTTP vhosts, mod_acme renews short-lived certificates and activates each with its own graceful restart; no request may fail and new connections get the new certificate."""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

import figures
from fixtures.httpd import wait_for

LONG = os.environ.get("ACME_RELIABILITY_LONG") == "1"
ACTIVATIONS = int(os.environ.get("ACME_RELIABILITY_ACTIVATIONS", "20" if LONG else "10"))


def _wrk(url, host, seconds=900, close=True):
    extra = ["-H", "Connection: close"] if close else []
    return subprocess.Popen(["wrk", "-t1", "-c4", "-d%ds" % seconds, "--timeout", "10s",
                             "-H", "Host: %s" % host] + extra + [url],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wrk_result(proc):
    """(requests, failed) from wrk's report: socket errors plus non-2xx/3xx."""
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=60)[0]
    m = re.search(r"(\d+) requests in", out)
    total = int(m.group(1)) if m else 0
    failed = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        failed += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        failed += int(m.group(1))
    return total, failed, out


def _serial(h, name):
    try:
        c = h.served_cert(name)
    except OSError:
        return None
    return c.serial_number if "Pebble" in c.issuer.rfc4514_string() else None


def _store_serial(h, name):
    from cryptography import x509
    try:
        data = (h.store / "domains" / name / "fullchain.pem").read_bytes()
        return x509.load_pem_x509_certificate(data).serial_number
    except (OSError, ValueError):
        return None


def test_activations_under_wrk(httpd_factory, pebble_factory):
    if not shutil.which("wrk"):
        pytest.skip("wrk not installed")
    # 20 s certificates renewed when < 75 % remains: one activation every ~6-8 s.
    pebble = pebble_factory(validity=20)
    h = httpd_factory(pebble)
    h.add("ACMERenewWindow 75%", "ACMECheckInterval 1s")
    h.ssl_vhost("load.test")
    h.http_vhost("load.test")
    h.start()
    first = wait_for(lambda: _serial(h, "load.test"), 180, interval=0.5, what="first certificate")
    figures.add("issuances")
    starts0 = h.starts()
    # Clients that open a connection per request (asserted: no failure), and
    # keep-alive clients (reported: a graceful restart closes idle keep-alive
    # connections, racing a request the client sends at that moment; httpd's
    # behaviour for any graceful restart, which clients retry).
    loads = [_wrk("https://127.0.0.1:%d/index.html" % h.https_port, "load.test"),
             _wrk("http://127.0.0.1:%d/index.html" % h.http_port, "load.test")]
    keepalive = _wrk("https://127.0.0.1:%d/index.html" % h.https_port, "load.test", close=False)
    seen = [first]
    mismatches = []
    deadline = time.monotonic() + 40 * ACTIVATIONS
    try:
        while len(seen) - 1 < ACTIVATIONS and time.monotonic() < deadline:
            time.sleep(0.5)
            s = _serial(h, "load.test")
            if s and s != seen[-1]:
                seen.append(s)
                # A new connection right after the activation gets the active set.
                active = _store_serial(h, "load.test")
                if active is not None and s != active and _serial(h, "load.test") != active:
                    mismatches.append((s, active))
    finally:
        results = [_wrk_result(p) for p in loads]
        ka_total, ka_failed, ka_out = _wrk_result(keepalive)
    activations = len(seen) - 1
    total = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    figures.add("activation_requests", total)
    figures.add("activation_failed", failed)
    figures.add("issuances", activations)
    print("activations %d (graceful restarts %d), requests %d, failed %d"
          % (activations, h.starts() - starts0, total, failed))
    print("keep-alive client: %d requests, %d closed by graceful restarts" % (ka_total, ka_failed))
    for r in results:
        print(r[2])
    print(ka_out)
    assert activations >= ACTIVATIONS, "only %d activations in time" % activations
    assert total > 0
    assert failed == 0, "requests failed during activations:\n" + "\n".join(r[2] for r in results)
    assert not mismatches, mismatches
