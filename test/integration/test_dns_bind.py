"""dns-01 against a real DNS server: Debian's BIND is authoritative for bind.test on loopback (TSIG-signed RFC 2136 updates), Pebble resolves through it; conf/hooks/nsupdate-hook and conf/hooks/acme-dns-hook publish the records, and ACMEDNSPropagation checks them at the zone's authoritative servers before the CA is asked."""
import http.server
import json
import os
import shutil
import subprocess
import threading

import pytest

from fixtures.ari_proxy import AriProxy
from fixtures.bind import Bind
from fixtures.ca import Pebble, free_port, make_dir
from fixtures.httpd import wait_for
from test_module import ISSUE_TIMEOUT, wait_served

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HOOKS = os.path.join(REPO, "conf", "hooks")
ACME_DNS_SUB = "c0ffee"          # the fake acme-dns account's subdomain


@pytest.fixture(scope="module")
def bind(workdir):
    b = Bind(workdir, extra_records=f"_acme-challenge.api IN CNAME {ACME_DNS_SUB}.auth\n")
    b.start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def dns_pebble(workdir, bind):
    """A Pebble whose validation asks BIND."""
    p = Pebble(workdir, dns_server=bind.server).start()
    yield p
    p.stop()


def install_hook(directory, name, conf):
    """A copy of conf/hooks/<name> with its <name>.conf beside it."""
    path = os.path.join(directory, name)
    shutil.copy(os.path.join(HOOKS, name), path)
    os.chmod(path, 0o755)
    with open(path + ".conf", "w") as f:
        f.write(conf)
    os.chmod(path + ".conf", 0o644)
    return path


def nsupdate_hook(directory, bind):
    return install_hook(directory, "nsupdate-hook",
                        f"# test zone\nserver=127.0.0.1\nport={bind.port}\n"
                        f"keyfile={bind.key_file}\nzone={bind.zone}\nttl=2\n")


def dns_domain(h, names, hook, bind, propagation="30s"):
    h.add(f"<ACMEDomainSet {' '.join(names)}>", "  ACMEChallenges dns-01",
          f"  ACMEDNSCommand {hook}", f"  ACMEDNSPropagation {propagation}",
          f"  ACMEDNSResolver {bind.server}", "</ACMEDomainSet>")
    h.ssl_vhost(names[0], aliases=names[1:], body="")


VALUE = "A" * 43


def test_nsupdate_hook(test_dir, bind):
    hook = nsupdate_hook(test_dir, bind)
    name = "_acme-challenge.hook.bind.test"
    run = lambda *a: subprocess.run([hook, *a], capture_output=True, text=True, timeout=60)  # noqa
    r = run("setup", name, VALUE)
    assert r.returncode == 0, r.stderr
    assert bind.dig("TXT", name) == [f'"{VALUE}"']
    r = run("teardown", name, VALUE)
    assert r.returncode == 0, r.stderr
    assert bind.dig("TXT", name) == []
    # what a hostile CA could send never reaches nsupdate
    for args in (("setup", name + "\nupdate add evil.bind.test. 2 TXT x", VALUE),
                 ("setup", "evil.bind.test", VALUE), ("setup", name, "short"),
                 ("setup", name, VALUE + "\nsend"), ("add", name, VALUE), ("setup", name)):
        r = run(*args)
        assert r.returncode != 0 and "nsupdate-hook:" in r.stderr, (args, r)
    assert bind.dig("TXT", "evil.bind.test") == [] and bind.dig("TXT", name) == []


def test_wildcard_and_apex_with_nsupdate_hook(httpd_factory, dns_pebble, bind, test_dir):
    h = httpd_factory(dns_pebble)
    names = ["bind.test", "*.bind.test"]
    dns_domain(h, names, nsupdate_hook(test_dir, bind), bind)
    h.start()
    cert = wait_served(h, "bind.test", names)
    assert wait_served(h, "www.bind.test", names).serial_number == cert.serial_number
    log = h.error_log()
    assert "2 TXT record(s) visible at the authoritative servers" in log, log[-3000:]
    # both answers published on one name, then removed
    wait_for(lambda: bind.dig("TXT", "_acme-challenge.bind.test") == [], 30,
             what="the TXT records removed after the drive")


def test_hook_that_publishes_nothing_fails_before_the_ca(httpd_factory, dns_pebble, bind,
                                                          test_dir):
    liar = os.path.join(test_dir, "liar.sh")
    with open(liar, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(liar, 0o755)
    proxy = AriProxy(dns_pebble, ari=False).start()
    try:
        h = httpd_factory(dns_pebble, ca_url=proxy.directory_url)
        dns_domain(h, ["liar.bind.test"], liar, bind, propagation="4s")
        h.start()
        err = wait_for(lambda: (h.domain_status("liar.bind.test") or {}).get("last_error"),
                       90, interval=1, what="the propagation error")
        assert err["type"] == "urn:mod_acme:dnsPropagation", err
        assert "ns.bind.test (127.0.0.1) has no TXT record" in err["detail"], err
        assert "ACMEDNSPropagation" in err.get("hint", ""), err
        # the CA was never asked to validate
        assert proxy.posts("/authZ/") and not proxy.posts("/chalZ/"), proxy.posts()
    finally:
        proxy.stop()


class FakeAcmeDns:
    """The update API of acme-dns on http://127.0.0.1:PORT: an authenticated
    POST /update {"subdomain","txt"} keeps the two newest values of
    <subdomain>.auth.bind.test in BIND."""

    USER, KEY = "u-1234", "k-secret-5678"

    def __init__(self, bind):
        self.bind = bind
        self.port = free_port()
        self.updates = []
        self.values = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != "/update" or self.headers.get("X-Api-User") != fake.USER \
                        or self.headers.get("X-Api-Key") != fake.KEY:
                    self.send_response(401)
                    self.end_headers()
                    return
                req = json.loads(body)
                fake.updates.append(req)
                fake.values = (fake.values + [req["txt"]])[-2:]
                name = f"{req['subdomain']}.auth.{fake.bind.zone}."
                fake.bind.update(f"update delete {name} TXT",
                                 *[f'update add {name} 2 TXT "{v}"' for v in fake.values])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"txt": req["txt"]}).encode())

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_http_api_hook_through_a_cname(httpd_factory, dns_pebble, bind, test_dir):
    """conf/hooks/acme-dns-hook: the challenge name is a CNAME into the acme-dns zone;
    the propagation check follows it as the CA does."""
    api = FakeAcmeDns(bind)
    try:
        d = make_dir(test_dir, "hook")
        hook = install_hook(d, "acme-dns-hook",
                            f"api=http://127.0.0.1:{api.port}\n"
                            f"account=_acme-challenge.api.bind.test {api.USER} {api.KEY} "
                            f"{ACME_DNS_SUB}\n")
        h = httpd_factory(dns_pebble)
        names = ["api.bind.test", "*.api.bind.test"]
        dns_domain(h, names, hook, bind)
        h.start()
        wait_served(h, "api.bind.test", names, timeout=ISSUE_TIMEOUT)
        assert len(api.updates) == 2 and {u["subdomain"] for u in api.updates} == {ACME_DNS_SUB}
        assert "2 TXT record(s) visible at the authoritative servers" in h.error_log()
    finally:
        api.stop()
