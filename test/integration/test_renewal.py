"""Integration tests of renewal that never misses: mod_acme with the default ACMECheckInterval and ACMERetryDelay renews certificates with short odd lifetimes (Pebble's certificateValidityPeriod, step-ca's duration) inside their window, and reissues at once after `acmectl revoke` or `acmectl renew`; a validation step-ca left pending is asked for again."""
import http.client
import http.server
import os
import re
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from fixtures.ca import free_port
from fixtures.httpd import wait_for

# Long variants (100 s certificates) run with ACME_INTEGRATION_LONG=1.
LONG = os.environ.get("ACME_INTEGRATION_LONG") == "1"
ISSUE_TIMEOUT = 180


def utc(dt):
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt


def served(h, name):
    return h.served_cert(name)


def wait_issued(h, name, not_serial=None, timeout=ISSUE_TIMEOUT):
    def ok():
        c = served(h, name)
        if not h.pebble.issued_by(c):
            return None
        return c if not_serial is None or c.serial_number != not_serial else None
    try:
        return wait_for(ok, timeout, interval=0.5, what=f"a CA certificate for {name}")
    except AssertionError as e:
        # the cause first, short: CI shows the assertion line whole, logs cut
        try:
            d = h.domain_status(name) or {}
            st = {k: d.get(k) for k in ("state", "error", "next_attempt", "renewal")}
        except Exception as se:  # noqa: BLE001 - httpd may be what failed
            st = f"status unavailable: {se!r}"
        acme = [l for l in h.error_log().splitlines()
                if "[acme:" in l and "trace" not in l and "challenge.c" not in l][-12:]
        raise AssertionError(f"{e}; status {st}; last mod_acme lines:\n" + "\n".join(acme))


def renewal_time(cert, pct):
    """When mod_acme renews: pct % of the lifetime before the end, whole seconds down."""
    nb, na = utc(cert.not_valid_before), utc(cert.not_valid_after)
    life = (na - nb).total_seconds()
    return na - timedelta(seconds=life * pct / 100.0)


def default_httpd(httpd_factory, ca, name, pct=None):
    """httpd with one domain and the defaults of ACMECheckInterval and ACMERetryDelay
    (the fixture's short retry delay removed)."""
    h = httpd_factory(ca)
    h.acme["ACMERetryDelay"] = None
    if pct:
        h.add(f"ACMERenewWindow {pct}%")
    h.ssl_vhost(name)
    return h


# (CA, lifetime in seconds, renewal window %): lifetimes that are not multiples of
# the watchdog's tick and windows whose renewal time falls inside a second.
# step-ca backdates by a minute, so its shortest sensible lifetime is longer: a
# 107 s certificate is 47 s of duration, due 11.69 s after it was issued.
LIFETIMES = [pytest.param("pebble", 31, 50, id="pebble-31s"),
             pytest.param("pebble", 47, 33, id="pebble-47s"),
             pytest.param("stepca", 107, 33, id="stepca-107s"),
             pytest.param("pebble", 100, 33, id="pebble-100s", marks=pytest.mark.skipif(
                 not LONG, reason="long variant: ACME_INTEGRATION_LONG=1")),
             pytest.param("stepca", 160, 33, id="stepca-160s", marks=pytest.mark.skipif(
                 not LONG, reason="long variant: ACME_INTEGRATION_LONG=1"))]


@pytest.mark.parametrize("kind,lifetime,pct", LIFETIMES)
def test_renewal_with_odd_lifetime(httpd_factory, pebble_factory, stepca_factory, kind,
                                   lifetime, pct):
    """Short certificates (not multiples of the watchdog's tick), default check
    interval and retry delay: the renewal starts inside its window (not before its
    renewal time) and the new serial is served before the old certificate expires."""
    from fixtures.stepca import BACKDATE
    ca = pebble_factory(validity=lifetime) if kind == "pebble" \
        else stepca_factory(duration="%ds" % (lifetime - BACKDATE))
    name = "odd.test"
    h = default_httpd(httpd_factory, ca, name, pct=pct if pct != 33 else None)
    h.start()
    first = wait_issued(h, name)
    life = (utc(first.not_valid_after) - utc(first.not_valid_before)).total_seconds()
    assert abs(life - lifetime) <= 1, (life, lifetime)
    due = renewal_time(first, pct)
    deadline = utc(first.not_valid_after)
    second = None
    while datetime.now(timezone.utc) < deadline:
        c = served(h, name)
        if h.pebble.issued_by(c) and c.serial_number != first.serial_number:
            second = c
            break
        time.sleep(0.25)
    assert second is not None, (
        f"the {lifetime} s certificate expired at {deadline} and was still served; "
        f"renewal was due at {due}\n" + h.error_log_tail(40))
    # not renewed before its window: the new certificate was ordered after the due second
    ordered = utc(second.not_valid_before) + timedelta(seconds=BACKDATE if kind == "stepca" else 0)
    assert ordered >= due.replace(microsecond=0) - timedelta(seconds=2), (ordered, due)
    m = re.findall(r"ACMEDomain odd\.test: starting a drive \(renewal due since (\S+) \(window\)\)",
                   h.error_log())
    assert m, "no renewal drive in the log:\n" + h.error_log_tail(40)
    d = h.domain_status(name)
    assert d["state"] in ("valid", "renewing"), d


def test_revoke_reissue_and_renew(httpd_factory, acme_ca, acmectl):
    """`acmectl revoke -s STORE DOMAIN` on a domain the module manages (no --ca, no
    --ca-cert: the store knows both): status says revoked at once and the module
    gets and activates a new certificate without waiting for its check interval.
    With --no-reissue it does not; `acmectl renew` then shows as due (manual) and is
    driven at once."""
    name = "revoked.test"
    h = default_httpd(httpd_factory, acme_ca, name)
    h.start()
    first = wait_issued(h, name)

    res = acmectl("-s", str(h.store), "revoke", name)
    assert res.returncode == 0, res.stderr
    assert h.domain_status(name)["state"] == "revoked"
    second = wait_issued(h, name, not_serial=first.serial_number, timeout=120)
    wait_for(lambda: h.domain_status(name)["state"] == "valid", 60, what="state valid")

    res = acmectl("-s", str(h.store), "revoke", name, "--no-reissue")
    assert res.returncode == 0, res.stderr
    d = h.domain_status(name)
    assert d["state"] == "revoked" and d["renewal"]["source"] != "manual", d
    time.sleep(8)       # the watchdog looked (acmectl woke it) and left it alone
    assert served(h, name).serial_number == second.serial_number
    assert h.domain_status(name)["state"] == "revoked"

    res = acmectl("-s", str(h.store), "renew", name)
    assert res.returncode == 0, res.stderr
    d = h.domain_status(name)
    assert d["renewal"]["source"] == "manual", d
    wait_issued(h, name, not_serial=second.serial_number, timeout=120)
    wait_for(lambda: h.domain_status(name)["state"] == "valid", 60, what="state valid")
    assert h.domain_status(name)["renewal"]["source"] == "window"


class FlakyValidationPath(http.server.ThreadingHTTPServer):
    """Where the CA's http-01 requests land: the first `fails` challenge
    requests get a 503, the others go on to httpd's plain port."""
    daemon_threads = True

    def __init__(self, port, target_port, fails):
        self.target_port, self.fails, self.seen = target_port, fails, []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                srv = self.server
                if self.path.startswith("/.well-known/acme-challenge/") and srv.fails > 0:
                    srv.fails -= 1
                    srv.seen.append(503)
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                c = http.client.HTTPConnection("127.0.0.1", srv.target_port, timeout=10)
                c.request("GET", self.path, headers={"Host": self.headers.get("Host", "")})
                r = c.getresponse()
                body = r.read()
                srv.seen.append(r.status)
                self.send_response(r.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                c.close()
        super().__init__(("127.0.0.1", port), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def test_validation_left_pending_is_asked_again(httpd_factory, stepca_factory):
    """step-ca keeps a challenge "pending" with the error when its http-01
    request fails (a refused connection, an HTTP error) and validates again only
    when asked (RFC 8555 §8.2): mod_acme asks again instead of polling until its
    poll timeout, and the certificate comes."""
    path_port = free_port()
    ca = stepca_factory(http_port=path_port)
    h = default_httpd(httpd_factory, ca, "pending.test")
    h.http_port = free_port()            # httpd's own; the CA reaches it through the path
    flaky = FlakyValidationPath(path_port, h.http_port, fails=1)
    try:
        h.start()
        wait_issued(h, "pending.test", timeout=120)
        assert flaky.seen[:2] == [503, 200], flaky.seen
        assert re.search(r"pending\.test: the CA's http-01 validation failed and is left "
                         r"pending \(.+\); asking it to try again \(1 of 3\)",
                         h.error_log()), h.error_log_tail(30)
    finally:
        flaky.shutdown()
        flaky.server_close()
