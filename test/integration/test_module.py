"""Integration tests of mod_acme in a real httpd (Debian's apache2) against a real CA (Pebble; the challenge types also against step-ca): issuance, serving, renewal, activation, failures, config errors, hostile challenge requests and the logs an admin reads."""
import base64
import json
import os
import re
import secrets
import socket
import stat
import subprocess
import threading
import time
from datetime import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from fixtures.ca import make_dir
from fixtures.httpd import REPO as REPO_DIR
from fixtures.httpd import cert_key_type, cert_names, live_processes, verify_chain, wait_for

ISSUE_TIMEOUT = 180      # generous: never assert speed
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


# -- helpers ---------------------------------------------------------------------

def serial_hex(cert):
    return format(cert.serial_number, "x")


def is_pebble(cert):
    """Issued by Pebble (not the module's self-signed fallback)."""
    return cert.issuer != cert.subject and "Pebble" in cert.issuer.rfc4514_string()


def wait_served(h, name, names, key_type=None, not_serial=None, timeout=ISSUE_TIMEOUT):
    """Waits until SNI=name gets a Pebble certificate covering names (of
    key_type when given, with another serial than not_serial); returns it."""
    want = {n.lower() for n in names}
    issued = h.pebble.issued_by if h.pebble else is_pebble

    def ok():
        c = h.served_cert(name, key_type=key_type)
        if not issued(c) or not want <= cert_names(c):
            return None
        if key_type and cert_key_type(c) != ("rsa" if key_type.startswith("rsa") else "ec"):
            return None
        if not_serial is not None and c.serial_number == not_serial:
            return None
        return c
    try:
        return wait_for(ok, timeout, interval=1, what=f"a Pebble certificate for {name}")
    except AssertionError:
        print(h.error_log_tail(60))
        raise


def same_serial(status_serial, cert):
    return int(str(status_serial).replace(":", ""), 16) == cert.serial_number


def find_domain(status, name):
    for d in status.get("domains", []):
        if d.get("name") == name:
            return d
    return None


def domain_state(h, name):
    d = h.domain_status(name)
    return d.get("state") if d else None


def check_rfc3339(value, what):
    assert isinstance(value, str) and RFC3339.match(value), f"{what} is not RFC 3339: {value!r}"


def parse_rfc3339(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def leaf_of(path):
    return x509.load_pem_x509_certificate(path.read_bytes())


def pebble_issued(pebble):
    """(serial, order) of every certificate Pebble logged as issued."""
    return re.findall(r"Issued certificate serial (\S+) for order (\S+)", pebble.log())


class TcpForwarder:
    """Forwards 127.0.0.1:port to 127.0.0.1:target once started: a CA that
    is 'down' (connection refused) until start() is called."""

    def __init__(self, port, target):
        self.port, self.target = port, target
        self.sock = None
        self.stopping = False

    def start(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self):
        while not self.stopping:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=10)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        self.stopping = True
        if self.sock:
            self.sock.close()


# -- 1. first start: three domains, dual certificates, status, store --------------

ONE = ["one.test", "www.one.test"]                 # vhost-implicit ACMEDomain
THREE = ["b1.test", "b2.test", "b3.test"]          # ACMEDomain with 3 names
SET = ["c.test", "www.c.test"]                     # <ACMEDomainSet> with 2 key types


def three_domain_httpd(httpd):
    httpd.ssl_vhost(ONE[0], ONE[1:], body="ACMEDomain")
    httpd.add("ACMEDomain " + " ".join(THREE))
    httpd.ssl_vhost(THREE[0], THREE[1:], body="")
    httpd.add(f"<ACMEDomainSet {' '.join(SET)}>", "  ACMEKeyType rsa2048 ec256",
              "</ACMEDomainSet>")
    httpd.ssl_vhost(SET[0], SET[1:], body="")
    return httpd


@pytest.fixture
def three(httpd, pebble):
    """httpd with the three domains, started, every name served by Pebble."""
    three_domain_httpd(httpd)
    rc, out = httpd.configtest()
    assert rc == 0, out
    httpd.start()
    for names in (ONE, THREE):
        for n in names:
            wait_served(httpd, n, names)
    for kt in ("rsa", "ec"):
        for n in SET:
            wait_served(httpd, n, SET, key_type=kt)
    return httpd


def test_first_start_serves_every_vhost_without_restart(three, pebble):
    h = three  # the test never restarts httpd: the module activates by itself
    roots = pebble.roots_pem(0)
    for names in (ONE, THREE, SET):
        for n in names:
            chain = h.served_chain(n)
            assert cert_names(chain[0]) >= set(names), (n, cert_names(chain[0]))
            ok, out = verify_chain(chain, roots)
            assert ok, f"{n}: served chain does not verify to Pebble's root: {out}"


def test_dual_certificates_by_key_type(three, pebble):
    h = three
    rsa = h.served_cert(SET[0], key_type="rsa")
    ec = h.served_cert(SET[0], key_type="ec")
    assert cert_key_type(rsa) == "rsa" and cert_key_type(ec) == "ec"
    assert rsa.serial_number != ec.serial_number
    for c in (rsa, ec):
        assert is_pebble(c) and cert_names(c) >= set(SET)
    roots = pebble.roots_pem(0)
    for kt in ("rsa", "ec"):
        chain = h.served_chain(SET[1], key_type=kt)
        assert cert_key_type(chain[0]) == kt
        ok, out = verify_chain(chain, roots)
        assert ok, out
    # Single-type domains serve their ec256 certificate to any client.
    assert cert_key_type(h.served_cert(ONE[0])) == "ec"


def test_status_json(three, pebble):
    h = three
    st = h.status_json()
    assert isinstance(st.get("version"), str) and st["version"]
    ids = {d.get("name") for d in st["domains"]}
    assert {ONE[0], THREE[0], SET[0]} <= ids, ids
    for names, kts in ((ONE, ["ec256"]), (THREE, ["ec256"]), (SET, ["rsa2048", "ec256"])):
        d = find_domain(st, names[0])
        assert d["state"] == "valid", d
        assert [n.lower() for n in d["names"]] == names, d["names"]
        assert d["ca"] == pebble.directory_url
        assert d.get("staged") is False
        assert not d.get("last_error"), d.get("last_error")
        certs = d["certificates"]
        assert sorted(c["key_type"] for c in certs) == sorted(kts), certs
        for c in certs:
            served = h.served_cert(names[0], key_type=c["key_type"] if len(kts) > 1 else None)
            assert same_serial(c["serial"], served), (c, serial_hex(served))
            check_rfc3339(c["not_before"], "not_before")
            check_rfc3339(c["not_after"], "not_after")
            assert "CN=" in c["issuer"] and "Pebble" in c["issuer"]
            assert c["sha256_fingerprint"].lower().replace(":", "") == \
                served.fingerprint(hashes.SHA256()).hex()
        assert d["renewal"]["source"] in ("ari", "window")
        check_rfc3339(d["renewal"]["at"], "renewal.at")
        assert parse_rfc3339(d["renewal"]["at"]) < parse_rfc3339(certs[0]["not_after"])
    # The same over HTTPS on a managed vhost (the <Location> is server-wide).
    assert find_domain(h.status_json(tls_host=ONE[0]), ONE[0])["state"] == "valid"
    # One domain per URL.
    one = h.status_json(ONE[0])
    if "domains" in one:
        assert [d["name"] for d in one["domains"]] == [ONE[0]]
    else:
        assert one["name"] == ONE[0] and one["state"] == "valid"


def test_status_html_and_server_status(three):
    h = three
    status, hdrs, body = h.request("/acme-status", "admin.test", port=h.admin_port,
                                   headers={"Accept": "text/html"})
    assert status == 200 and hdrs.get("content-type", "").startswith("text/html")
    assert ONE[0] in body.decode(errors="replace")
    status, hdrs, body = h.request("/server-status", "admin.test", port=h.admin_port)
    assert status == 200
    text = body.decode(errors="replace")
    assert "ACME" in text, "no ACME section in server-status"
    for name in (ONE[0], THREE[0], SET[0]):
        assert name in text, f"{name} missing in server-status"


def test_store_layout_and_modes(three):
    h = three
    domains = h.store_path("domains")
    st = os.stat(domains)
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o755, \
        f"domains/ must be root's 0755, is {oct(st.st_mode)} uid {st.st_uid}"
    for names, kts in ((ONE, ["ec256"]), (THREE, ["ec256"]), (SET, ["rsa2048", "ec256"])):
        d = domains / names[0]
        for f in ["fullchain.pem", "privkey.pem"] + \
                 [f"fullchain.{k}.pem" for k in kts] + [f"privkey.{k}.pem" for k in kts]:
            assert (d / f).is_file(), f"missing {d / f}"
        assert os.stat(d).st_uid == 0 and stat.S_IMODE(os.stat(d).st_mode) == 0o755
        for f in d.glob("privkey*.pem"):
            st = os.stat(f)
            assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600, f"{f} mode {oct(st.st_mode)}"
        for f in d.glob("fullchain*.pem"):
            st = os.stat(f)
            assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o644, f"{f} mode {oct(st.st_mode)}"
        # fullchain.pem is the first key type's; the served leaf is in the store.
        assert (d / "fullchain.pem").read_bytes() == (d / f"fullchain.{kts[0]}.pem").read_bytes()
        for kt in kts:
            served = h.served_cert(names[0], key_type=kt if len(kts) > 1 else None)
            assert leaf_of(d / f"fullchain.{kt}.pem").serial_number == served.serial_number
    # No private key material anywhere in the logs or the status.
    text = h.error_log() + json.dumps(h.status_json())
    assert "PRIVATE KEY" not in text


def test_normal_requests_unaffected(three):
    h = three
    status, _, body = h.request("/", ONE[0], tls=True)
    assert status == 200 and b"hello" in body
    status, _, body = h.request("/index.html", ONE[1], port=h.http_port)
    assert status == 200 and b"hello" in body
    status, _, _ = h.request("/.well-known/other", ONE[0], port=h.http_port)
    assert status == 404


# -- 2. one challenge type only -----------------------------------------------------

@pytest.mark.parametrize("challenge", ["http-01", "tls-alpn-01"])
def test_single_challenge_type(httpd_factory, acme_ca, challenge):
    """Served without a manual restart, by Pebble and by step-ca."""
    from fixtures.ca import free_port
    h = httpd_factory(acme_ca)
    if challenge == "http-01":
        # HTTPS on a port Pebble does not use: tls-alpn-01 cannot succeed.
        h.https_port = free_port()
        h.portmap = f"80:{h.http_port}"
    else:
        # No listener on Pebble's httpPort: http-01 cannot succeed.
        h.listen_http = False
        h.portmap = f"443:{h.https_port}"
    h.add(f"ACMEChallenges {challenge}")
    h.ssl_vhost("solo.test", ["www.solo.test"])
    h.start()
    wait_served(h, "solo.test", ["solo.test", "www.solo.test"])
    wait_for(lambda: domain_state(h, "solo.test") == "valid", 60, what="state valid")


# -- 3. renewal with short-lived certificates ------------------------------------------

def test_renewal_serves_new_cert_and_archives_old(httpd_factory, pebble_factory):
    pebble = pebble_factory(validity=90)
    h = httpd_factory(pebble)
    h.add("ACMERenewWindow 80%", "ACMECheckInterval 2s")
    h.ssl_vhost("renew.test")
    h.start()
    first = wait_served(h, "renew.test", ["renew.test"])
    # 80% of 90 s remaining: renewal is due 18 s after issuance.
    second = wait_served(h, "renew.test", ["renew.test"], not_serial=first.serial_number,
                         timeout=ISSUE_TIMEOUT)
    assert second.not_valid_before >= first.not_valid_before

    def archived():
        for f in h.store_path("archive").glob("*/fullchain*.pem"):
            if leaf_of(f).serial_number == first.serial_number:
                return f
        return None
    path = wait_for(archived, 30, what="the replaced certificate in archive/")
    assert path.parent.name.startswith("renew.test"), path


def test_ari_schedules_renewal_and_replaces(httpd_factory, pebble, ari_proxy):
    """With renewalInfo in the directory the module plans from the CA's window
    (the child reads the active chain), shows "renewing" while the renewal
    runs, and the renewal order names the certificate it replaces."""
    from datetime import timedelta, timezone
    from fixtures.certs import ari_cert_id
    windows = {}

    def window(cert_id):
        # The first certificate: a window in the near future; later ones: far away.
        now = datetime.now(timezone.utc).replace(microsecond=0)
        if not windows:
            windows[cert_id] = (now + timedelta(seconds=45), now + timedelta(seconds=50))
        return windows.get(cert_id) or (now + timedelta(days=30), now + timedelta(days=31))
    proxy = ari_proxy(pebble, window=window)
    # Hold the second newOrder a while: the renewal is then observably in progress.
    orders, forward = [], proxy._forward

    def slow_forward(method, path, headers, body):
        if method == "POST" and path == proxy._new_order_path:
            orders.append(path)
            if len(orders) == 2:
                time.sleep(8)
        return forward(method, path, headers, body)
    proxy._forward = slow_forward

    h = httpd_factory(pebble, ca_url=proxy.directory_url)
    h.add("ACMECheckInterval 2s")
    h.ssl_vhost("ari.test")
    h.start()
    first = wait_served(h, "ari.test", ["ari.test"])
    cert_id = ari_cert_id(first)
    assert cert_id in windows, (cert_id, windows, proxy.renewal_info_requests)
    start, end = windows[cert_id]
    assert proxy.new_orders and "replaces" not in proxy.new_orders[0], proxy.new_orders

    d = h.domain_status("ari.test")
    assert d["state"] == "valid", d
    assert same_serial(d["certificates"][0]["serial"], first), d
    assert d["renewal"]["source"] == "ari", d
    assert start <= parse_rfc3339(d["renewal"]["at"]) <= end, (start, d["renewal"], end)

    # Inside the window the child starts the renewal on its own; while it runs
    # the status says so and the old certificate is still served.
    wait_for(lambda: (h.domain_status("ari.test") or {}).get("state") == "renewing",
             120, interval=0.3, what='state "renewing" during the ARI renewal')
    assert h.served_cert("ari.test").serial_number == first.serial_number
    second = wait_served(h, "ari.test", ["ari.test"], not_serial=first.serial_number)
    assert time.time() >= start.timestamp() - 1, "renewed before the ARI window"
    assert len(proxy.new_orders) >= 2, proxy.new_orders
    assert proxy.new_orders[1].get("replaces") == cert_id, proxy.new_orders[1]
    assert re.search(r"ari\.test: starting a drive \(renewal due since \S+ \(ari\)\)",
                     h.error_log()), "the drive was not started from the ARI window"

    def settled():
        d = h.domain_status("ari.test")
        return d if d and d["state"] == "valid" and d["certificates"] \
            and same_serial(d["certificates"][0]["serial"], second) else None
    d = wait_for(settled, 60, interval=1, what="status of the renewed certificate")
    assert d["renewal"]["source"] == "ari" and d["staged"] is False, d
    assert parse_rfc3339(d["renewal"]["at"]) > datetime.now(timezone.utc) + timedelta(days=29)


def test_manual_activation_waits_for_graceful(httpd_factory, pebble):
    h = httpd_factory(pebble)
    h.add("ACMEActivation manual")
    h.ssl_vhost("manual.test")
    h.start()
    wait_for(lambda: (h.domain_status("manual.test") or {}).get("staged") is True,
             ISSUE_TIMEOUT, interval=1, what="status staged:true")
    # Staged, but not activated: keep checking for a while (monitor runs every ~10 s).
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert not is_pebble(h.served_cert("manual.test")), \
            "ACMEActivation manual: the staged certificate was served without a restart"
        time.sleep(1)
    h.graceful()
    wait_served(h, "manual.test", ["manual.test"], timeout=60)
    wait_for(lambda: (h.domain_status("manual.test") or {}).get("staged") is False,
             60, what="staged:false after activation")
    assert domain_state(h, "manual.test") == "valid"


# -- 4. CA down at startup ----------------------------------------------------------------

def test_ca_down_at_startup_then_recovers(httpd_factory, pebble):
    from fixtures.ca import free_port
    port = free_port()
    fwd = TcpForwarder(port, pebble.listen_port)
    h = httpd_factory(pebble)
    h.ca_url = f"https://127.0.0.1:{port}/dir"
    h.ssl_vhost("down.test")
    h.start()
    try:
        # Before any certificate: self-signed fallback and 503 with an explanation.
        c = h.served_cert("down.test")
        assert not is_pebble(c)
        status, _, body = h.request("/", "down.test", tls=True)
        assert status == 503 and body.strip()

        def errored():
            d = h.domain_status("down.test")
            return d if d and d.get("last_error") and d.get("next_attempt") else None
        d = wait_for(errored, 90, interval=1, what="status with last_error and next_attempt")
        assert d["state"] in ("error", "pending"), d
        assert d["last_error"].get("detail"), d["last_error"]
        assert str(d["last_error"].get("type", "")).startswith("urn:"), d["last_error"]
        check_rfc3339(d["next_attempt"], "next_attempt")
        if d["last_error"].get("at"):
            check_rfc3339(d["last_error"]["at"], "last_error.at")
        # The site keeps answering while the CA is down.
        assert not is_pebble(h.served_cert("down.test"))
        fwd.start()
        wait_served(h, "down.test", ["down.test"])
        wait_for(lambda: domain_state(h, "down.test") == "valid", 60, what="state valid")
        status, _, body = h.request("/", "down.test", tls=True)
        assert status == 200 and b"hello" in body
    finally:
        fwd.stop()


def test_ca_down_at_cold_start_one_attempt(httpd_factory, pebble):
    """Four domains, four parallel slots, the CA unreachable: one attempt per CA per
    retry period (not one per slot), one error in the log, every domain's status
    shows the outage."""
    from fixtures.ca import CountingListener
    down = CountingListener().start()
    names = [f"cold{i}.test" for i in range(4)]
    try:
        h = httpd_factory(pebble, ca_url=down.directory_url)
        h.acme["ACMERetryDelay"] = "60s"
        h.add("ACMEMaxParallel 4")
        for n in names:
            h.ssl_vhost(n)
        h.start()

        def all_show_outage():
            st = {d["name"]: d for d in h.status_json()["domains"]}
            return all((st.get(n) or {}).get("last_error") and st[n].get("next_attempt")
                       for n in names)
        wait_for(all_show_outage, 90, interval=0.5, what="the outage in every domain's status")
        time.sleep(3)       # any further attempt in this retry period would show now
        errors = [l for l in h.error_log().splitlines()
                  if "[acme:error]" in l and "failed at" in l]
        assert len(errors) == 1, errors
        # one drive's requests (it asks for the failed directory again within the drive)
        assert 1 <= down.accepted <= 3, f"{down.accepted} connections in one retry period"
        assert "Internal error" not in h.error_log()
        for d in h.status_json()["domains"]:
            assert d["last_error"]["type"] == "urn:mod_acme:transport", d
            assert "ACMECACertificateFile" in d["last_error"].get("hint", ""), d
    finally:
        down.stop()


def test_fallback_cut_short_is_remade(httpd_factory, pebble):
    """fallback.pem is written without fsync: a file cut short (a power cut)
    is noticed by its header's length at the next start and made again."""
    from fixtures.ca import free_port
    h = httpd_factory(pebble)
    h.ca_url = f"https://127.0.0.1:{free_port()}/dir"       # nothing listens: fallback only
    h.ssl_vhost("cut.test")
    h.start()
    first = h.served_cert("cut.test")
    assert not is_pebble(first)
    h.stop()
    path = h.store_path("fallback", "cut.test", "fallback.pem")
    with open(path, "rb") as f:
        data = f.read()
    assert data.startswith(b"mod_acme fallback v1 key="), data[:80]
    with open(path, "wb") as f:
        f.write(data[:len(data) - 200])                     # header intact, PEM truncated
    h.start()
    assert not is_pebble(h.served_cert("cut.test"))
    with open(path, "rb") as f:
        remade = f.read()
    assert remade != data[:len(data) - 200] and remade.rstrip().endswith(b"-----END CERTIFICATE-----")


# -- 5. config errors ----------------------------------------------------------------------

BAD_DIRECTIVES = [
    ("ACMEKeyType foo", "ACMEKeyType", "foo"),
    ("ACMEKeyType ec256 rsa1024", "ACMEKeyType", "rsa1024"),
    ("ACMEAccountKeyType dsa", "ACMEAccountKeyType", "dsa"),
    ("ACMERenewWindow 150%", "ACMERenewWindow", "150%"),
    ("ACMERenewWindow soon", "ACMERenewWindow", "soon"),
    ("ACMECheckInterval 0", "ACMECheckInterval", "0"),
    ("ACMECheckInterval 5x", "ACMECheckInterval", "5x"),
    ("ACMERetryDelay -1s", "ACMERetryDelay", "-1s"),
    ("ACMEActivation 25:00-26:00", "ACMEActivation", "25:00-26:00"),
    ("ACMEActivation sometimes", "ACMEActivation", "sometimes"),
    ("ACMEPortMap x", "ACMEPortMap", "x"),
    ("ACMEPortMap 80:70000", "ACMEPortMap", "80:70000"),
    ("ACMEChallenges http-99", "ACMEChallenges", "http-99"),
    ("ACMEMaxParallel 0", "ACMEMaxParallel", "0"),
    ("ACMEMaxParallel many", "ACMEMaxParallel", "many"),
    ("ACMEStore ftp://x", "ACMEStore", "ftp://x"),
    ("ACMEStore rediss://127.0.0.1:6379", "ACMEStore", "stunnel"),
    ("ACMEFleetLockTTL 1s", "ACMEFleetLockTTL", "1s"),
    ("ACMEFleetCheckInterval never", "ACMEFleetCheckInterval", "never"),
    ("ACMETermsOfService maybe", "ACMETermsOfService", "maybe"),
    ("ACMECertificateAuthority not-a-url", "ACMECertificateAuthority", "not-a-url"),
    ("ACMEContactEmail nobody", "ACMEContactEmail", "nobody"),
    ("ACMEExternalAccountBinding kid-only", "ACMEExternalAccountBinding", "kid-only"),
    ("ACMEDomain bad..name.test", "ACMEDomain", "bad..name.test"),
    ("ACMEDomain -dash.test", "ACMEDomain", "-dash.test"),
    ("ACMEDomain a/b.test", "ACMEDomain", "a/b.test"),
    ("<ACMEDomainSet set.test>\n  ACMEKeyType rsa1024\n</ACMEDomainSet>", "ACMEKeyType", "rsa1024"),
    ("<ACMEDomainSet set.test>\n  ACMERenewWindow 101%\n</ACMEDomainSet>", "ACMERenewWindow",
     "101%"),
]


def test_good_config_passes_configtest(httpd):
    three_domain_httpd(httpd)
    httpd.add("ACMEKeyType ec256 rsa3072", "ACMERenewWindow 33%", "ACMECheckInterval 12h",
              "ACMEActivation 02:00-04:30", "ACMEMaxParallel 4", "ACMEStore file",
              "ACMEChallenges http-01 tls-alpn-01", "ACMEAccountKeyType ec384")
    rc, out = httpd.configtest()
    assert rc == 0, out


@pytest.mark.parametrize("line,directive,value", BAD_DIRECTIVES,
                         ids=[b[0].replace("\n", " ") for b in BAD_DIRECTIVES])
def test_bad_directive_fails_configtest(httpd, line, directive, value):
    httpd.ssl_vhost("cfg.test")
    httpd.add(*line.split("\n"))
    rc, out = httpd.configtest()
    assert rc != 0, f"apache2 -t accepted {line!r}:\n{out}"
    assert "Invalid command" not in out, f"the module does not know a directive:\n{out}"
    assert directive in out, f"the error does not name {directive}:\n{out}"
    assert value in out, f"the error does not show the value {value!r}:\n{out}"


# -- 6. hostile challenge requests --------------------------------------------------------

def plant_http01(h, identifier, token, keyauth):
    """Writes an http-01 answer the way the drive does (acme_responder_store)."""
    owner = os.stat(h.store_path("challenges"))   # the drive's user owns challenges/
    d = h.store_path("challenges", identifier)
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o755)
    f = d / f"http-01.{token}"
    f.write_text(keyauth)
    os.chmod(f, 0o644)
    for x in (d, f):
        os.chown(x, owner.st_uid, owner.st_gid)
    return f


def test_hostile_challenge_paths_get_404(httpd_factory, pebble):
    h = httpd_factory(pebble)
    h.ssl_vhost("ha.test")
    h.ssl_vhost("hb.test")
    h.start()
    wait_served(h, "ha.test", ["ha.test"])
    wait_served(h, "hb.test", ["hb.test"])
    # Files on disk below the challenge path must never be served.
    chdir = h.root / "htdocs" / ".well-known" / "acme-challenge"
    (chdir / "ondisk-token_1").write_text("FROM DISK\n")
    (chdir / "index.html").write_text("FROM DISK\n")
    (h.root / "htdocs" / "secret.txt").write_text("FROM DISK\n")
    prefix = "/.well-known/acme-challenge/"
    hostile = [
        "ondisk-token_1", "index.html", "", "..", "../index.html", "../../secret.txt",
        "%2e%2e", "%2e%2e/%2e%2e/secret.txt", "..%2f..%2fsecret.txt", "a%2fb", "a%2Fb",
        "%2E%2E%2F", "tok%00en", "tok;en", "tok.en", "tok en".replace(" ", "%20"),
        "A" * 300, "B" * 4000, "x/y", "token/",
    ]
    for path in hostile:
        for host in ("ha.test", "hb.test"):
            status, _, body = h.request(prefix + path, host, port=h.http_port)
            assert status == 404, f"GET {prefix + path} Host {host}: {status}"
            assert b"FROM DISK" not in body
    # Another domain's valid token: answered for its own name only.
    token = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    keyauth = token + "." + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    plant_http01(h, "ha.test", token, keyauth)
    status, hdrs, body = h.request(prefix + token, "ha.test", port=h.http_port)
    assert status == 200 and body.decode().strip() == keyauth, (status, body)
    assert hdrs.get("content-type", "").startswith("text/plain")
    for host in ("hb.test", "unmanaged.test", "127.0.0.1"):
        status, _, body = h.request(prefix + token, host, port=h.http_port)
        assert status == 404, f"token of ha.test answered for Host {host}: {status}"
        assert keyauth.encode() not in body
    # Normal requests are unaffected.
    status, _, body = h.request("/", "ha.test", port=h.http_port)
    assert status == 200 and b"hello" in body
    status, _, body = h.request("/", "ha.test", tls=True)
    assert status == 200 and b"hello" in body


def spellings(token):
    """Ways to write /.well-known/acme-challenge/<token> that httpd maps to that path
    (dot segments, doubled slashes, percent-encoding)."""
    enc = "%{:02X}".format(ord(token[0])) + token[1:]
    return [
        "/.well-known/./acme-challenge/" + token,
        "/.well-known//acme-challenge/" + token,
        "//.well-known/acme-challenge/" + token,
        "/./.well-known/acme-challenge/" + token,
        "/.well-known/a/../acme-challenge/" + token,
        "/x/y/../../.well-known/acme-challenge/" + token,
        "/%2Ewell-known/acme-challenge/" + token,
        "/%2ewell-known/acme%2Dchallenge/" + token,
        "/.well-known/acme-challenge/" + enc,
        "/.well-known/acme-challenge/./" + token,
        "/.well-known/acme-challenge//" + token,
        "/.well-known/acme-challenge/x/../" + token,
    ]


def test_challenge_path_in_every_spelling(httpd_factory, pebble):
    """The module owns its path: every spelling httpd maps to a challenge URL of a
    managed name is answered by the module (the key authorization for a pending
    token, 404 otherwise), never the file of that name under DocumentRoot."""
    h = httpd_factory(pebble)
    h.ssl_vhost("spell.test")
    h.start()
    wait_served(h, "spell.test", ["spell.test"])
    token = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    unknown = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    keyauth = token + "." + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    chdir = h.root / "htdocs" / ".well-known" / "acme-challenge"
    for t in (token, unknown):
        (chdir / t).write_text("FROM DISK\n")
    plant_http01(h, "spell.test", token, keyauth)
    for path in spellings(token):
        status, hdrs, body = h.request(path, "spell.test", port=h.http_port)
        assert b"FROM DISK" not in body, f"GET {path}: served from DocumentRoot"
        assert status == 200 and body.decode().strip() == keyauth, (path, status, body[:80])
        assert hdrs.get("content-type", "").startswith("text/plain"), path
    for path in spellings(unknown):
        status, _, body = h.request(path, "spell.test", port=h.http_port)
        assert b"FROM DISK" not in body, f"GET {path}: served from DocumentRoot"
        assert status == 404, (path, status)
    # a name mod_acme does not manage keeps its own /.well-known
    status, _, body = h.request("/.well-known/./acme-challenge/" + unknown, "other.test",
                                port=h.http_port)
    assert status == 200 and b"FROM DISK" in body
    # ordinary requests are untouched
    status, _, body = h.request("/./index.html", "spell.test", port=h.http_port)
    assert status == 200 and b"hello" in body


def test_challenge_answered_before_redirects(httpd_factory, pebble):
    """http-01 still works when the site's HTTP vhost redirects everything to HTTPS
    and denies access (the module answers before those modules)."""
    h = httpd_factory(pebble)
    h.http_vhost("redir.test", body="Redirect permanent / https://redir.test/\n"
                                    "<Location />\n  Require all denied\n</Location>")
    h.add("ACMEChallenges http-01")
    h.ssl_vhost("redir.test")
    h.start()
    wait_served(h, "redir.test", ["redir.test"])
    status, hdrs, _ = h.request("/page", "redir.test", port=h.http_port)
    assert status in (301, 403)


# -- 7. restart in the middle of a drive ----------------------------------------------------

def order_urls(text):
    return set(re.findall(r"https://[^\"\s]+/my-order/[A-Za-z0-9_-]+", text))


def new_orders(pebble):
    return pebble.log().count("POST /order-plz")


def test_restart_mid_drive_resumes_one_certificate(httpd_factory, pebble_factory):
    # Random validation delays (0-9 s per validation) keep the order pending
    # while httpd is stopped; when the drive still finished first, try again.
    for _attempt in range(4):
        pebble = pebble_factory(env={"PEBBLE_VA_NOSLEEP": "0", "PEBBLE_VA_SLEEPTIME": "10"})
        h = httpd_factory(pebble)
        h.ssl_vhost("resume.test")
        h.start()
        state = h.store_path("state", "resume.test")

        def order_started():
            for f in state.glob("*.json"):
                urls = order_urls(f.read_text(errors="replace"))
                if urls:
                    return urls
            return None
        urls = wait_for(order_started, ISSUE_TIMEOUT, interval=0.1, what="an order in state/")
        h.stop()
        if not pebble_issued(pebble):
            break
        h.cleanup()
    else:
        pytest.fail("the drive always finished before httpd was stopped")
    assert new_orders(pebble) == 1
    h.start()
    cert = wait_served(h, "resume.test", ["resume.test"])
    issued = pebble_issued(pebble)
    assert len(issued) == 1, f"Pebble issued {len(issued)} certificates: {issued}"
    assert int(issued[0][0], 16) == cert.serial_number
    # The order in progress before the restart is the one that was finalized.
    assert any(order in url for url in urls for (_, order) in issued), (urls, issued)
    assert new_orders(pebble) == 1, "a new order was created instead of resuming"
    assert not list(h.store_path("archive").glob("resume.test*")), "nothing was replaced"
    assert not any(h.store_path("staging").glob("resume.test/*"))


# -- 8. more behaviour of the directives (mod_acme(8)) -------------------------------------------------------

def make_selfsigned(directory, name):
    """A static certificate + key (PEM files, 0644/0600) for name."""
    import subprocess
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
                    "-days", "2"], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


def test_static_certificate_wins(httpd_factory, pebble):
    h = httpd_factory(pebble)
    cert, key = make_selfsigned(h.root / "conf", "static.test")
    h.ssl_vhost("static.test", body=f"SSLCertificateFile {cert}\nSSLCertificateKeyFile {key}\n"
                                    "ACMEDomain")
    h.ssl_vhost("dyn.test")
    h.start()
    wait_served(h, "dyn.test", ["dyn.test"])
    static = x509.load_pem_x509_certificate(cert.read_bytes())
    assert h.served_cert("static.test").serial_number == static.serial_number
    assert "static.test" in h.error_log() and "SSLCertificateFile" in h.error_log(), \
        "the module does not say that the static certificate is kept"


def test_terms_of_service_missing_is_reported(httpd_factory, pebble):
    h = httpd_factory(pebble)
    h.acme["ACMETermsOfService"] = None
    h.ssl_vhost("tos.test")
    h.start()

    def errored():
        d = h.domain_status("tos.test")
        return d if d and d.get("last_error") else None
    d = wait_for(errored, 90, interval=1, what="an error about the terms of service")
    assert "ACMETermsOfService" in json.dumps(d["last_error"]), d["last_error"]
    assert not is_pebble(h.served_cert("tos.test"))


def test_notify_command_events(httpd_factory, pebble):
    h = httpd_factory(pebble)
    log = h.root / "notify.log"
    log.write_text("")
    os.chmod(log, 0o666)
    script = h.root / "notify.sh"
    script.write_text(f'#!/bin/sh\necho "$1 $2" >> {log}\n')
    os.chmod(script, 0o755)
    h.add(f"ACMENotifyCmd {script}")
    h.ssl_vhost("notify.test")
    h.start()
    wait_served(h, "notify.test", ["notify.test"])
    wait_for(lambda: {"issued notify.test", "activated notify.test"}
             <= set(log.read_text().splitlines()), 60, what="issued + activated events")


def test_example_config_passes_configtest(httpd):
    """conf/mod_acme.conf.example, moved onto the test's ports and store, is valid."""
    text = (REPO_DIR / "conf" / "mod_acme.conf.example").read_text()
    keep = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith(("LoadModule", "Listen", "ACMEStoreDir", "DocumentRoot")):
            continue
        keep.append(line.replace("*:443", f"*:{httpd.https_port}")
                        .replace("*:80", f"*:{httpd.http_port}"))
    httpd.add(*keep)
    rc, out = httpd.configtest()
    assert rc == 0, out


def test_debian_conf_files(httpd):
    load = (REPO_DIR / "conf" / "acme.load").read_text()
    assert "LoadModule acme_module /usr/lib/apache2/modules/mod_acme.so" in load
    assert "# Depends: ssl" in load
    conf = (REPO_DIR / "conf" / "acme.conf").read_text()
    # acme.conf as Debian would include it (after acme.load), store moved to the test's.
    httpd.add(*[l for l in conf.splitlines() if "ACMEStoreDir" not in l.strip()[:12]])
    httpd.ssl_vhost("deb.test")
    rc, out = httpd.configtest()
    assert rc == 0, out


def test_startup_reports_unserved_and_partly_covered_names(httpd_factory, pebble):
    h = httpd_factory(pebble)
    h.add("ACMEDomain orphan.test")                 # no vhost serves this name
    h.add("ACMEDomain part.test")                   # the vhost also answers extra.part.test
    h.ssl_vhost("part.test", ["extra.part.test"], body="")
    h.start()
    acme_lines = [l for l in h.error_log().splitlines()
                  if re.search(r"\[acme:(warn|error|notice|crit)\]", l)]
    assert any("orphan.test" in l for l in acme_lines), \
        "a managed name that no SSL vhost serves is not reported at startup"
    assert any("extra.part.test" in l for l in acme_lines), \
        "a vhost whose names are only partly covered is not reported at startup"


def test_activation_watcher_is_small_unprivileged_and_holds_no_sockets(three):
    """The activation watcher is the mod_acme_wake helper, run as the User with
    descriptors 0-2 only (the wake-up pipe as 0): no inherited listener can
    outlive a killed parent and block the next start."""
    import pwd
    www = pwd.getpwnam("www-data").pw_uid
    parent = three.pid()
    watchers = []
    for pid, fields, uid in live_processes():
        if int(fields[1]) != parent:
            continue
        with open(f"/proc/{pid}/comm") as f:
            if f.read().strip() == "mod_acme_wake":
                watchers.append((pid, uid))
    assert len(watchers) == 1, watchers
    pid, uid = watchers[0]
    assert uid == www, "the watcher must run as the httpd User"
    fds = sorted(int(fd) for fd in os.listdir(f"/proc/{pid}/fd"))
    assert fds == [0, 1, 2], fds
    assert os.readlink(f"/proc/{pid}/fd/0").startswith("pipe:")
    targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in fds]
    assert not [t for t in targets if t.startswith("socket:")], targets
    # no other root child of the parent
    assert not [p for p, fields, u in live_processes() if int(fields[1]) == parent and u == 0]


def test_store_ownership(three):
    """Active keys readable by root only (chains public); the unprivileged drive
    owns only what it writes and can read the active chains but not the keys."""
    import pwd
    www = pwd.getpwnam("www-data").pw_uid
    h = three
    for group in ("domains", "archive", "fallback"):
        st = os.stat(h.store_path(group))
        assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o755, \
            f"{group}/ must be root's 0755: {oct(st.st_mode)} uid {st.st_uid}"
    d = h.store_path("domains", ONE[0])
    as_www = ["setpriv", "--reuid=www-data", "--regid=www-data", "--clear-groups"]
    r = subprocess.run(as_www + ["cat", str(d / "privkey.pem")], capture_output=True, text=True)
    assert r.returncode != 0 and "denied" in r.stderr, "www-data could read the active key"
    r = subprocess.run(as_www + ["cat", str(d / "fullchain.pem")], capture_output=True, text=True)
    assert r.returncode == 0 and "BEGIN CERTIFICATE" in r.stdout, r.stderr
    r = subprocess.run(as_www + ["touch", str(d / "x")], capture_output=True, text=True)
    assert r.returncode != 0, "www-data could write in domains/"
    for group in ("staging", "challenges", "accounts", "state"):
        assert os.stat(h.store_path(group)).st_uid == www, f"{group}/ not owned by www-data"
    for f in h.store_path("accounts").rglob("*"):
        if f.is_file() and ("key" in f.name or f.suffix == ".pem"):
            assert stat.S_IMODE(os.stat(f).st_mode) & 0o077 == 0, f"account key {f} readable"


def test_config_change_reissues(httpd_factory, pebble):
    h = httpd_factory(pebble)
    h.add("ACMEDomain grow.test")
    h.ssl_vhost("grow.test", ["more.grow.test"], body="")
    h.start()
    first = wait_served(h, "grow.test", ["grow.test"])
    # Add a name and a key type, reload: a new certificate with the new name and
    # an RSA one arrive without any further manual step.
    h.directives = [l for l in h.directives if l != "ACMEDomain grow.test"]
    h.add("<ACMEDomainSet grow.test more.grow.test>", "  ACMEKeyType ec256 rsa2048",
          "</ACMEDomainSet>")
    h.graceful()
    names = ["grow.test", "more.grow.test"]
    wait_served(h, "more.grow.test", names, key_type="ec", not_serial=first.serial_number)
    wait_served(h, "grow.test", names, key_type="rsa")


@pytest.mark.parametrize("inside", [True, False], ids=["inside-window", "outside-window"])
def test_activation_window(httpd_factory, pebble, inside):
    now = time.localtime()
    minute = now.tm_hour * 60 + now.tm_min
    if inside:
        start, end = (minute - 5) % 1440, (minute + 60) % 1440
    else:
        start, end = (minute + 120) % 1440, (minute + 180) % 1440
    # near midnight the window wraps (e.g. 23:40-00:40), which ACMEActivation
    # supports: the test runs at every time of day
    h = httpd_factory(pebble)
    h.add(f"ACMEActivation {start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}")
    h.ssl_vhost("window.test")
    h.start()
    if inside:
        wait_served(h, "window.test", ["window.test"])
        return
    wait_for(lambda: (h.domain_status("window.test") or {}).get("staged") is True,
             ISSUE_TIMEOUT, interval=1, what="status staged:true")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert not is_pebble(h.served_cert("window.test")), \
            "activated outside the ACMEActivation window"
        time.sleep(1)


def test_wildcard_via_dns_command(httpd_factory, pebble, dns_command):
    h = httpd_factory(pebble)
    h.add("<ACMEDomainSet *.wild.test wild.test>", f"  ACMEDNSCommand {dns_command.path}",
          "  ACMEChallenges dns-01", "</ACMEDomainSet>")
    h.ssl_vhost("wild.test", ["*.wild.test"], body="")
    h.start()
    c = wait_served(h, "sub.wild.test", ["*.wild.test", "wild.test"])
    assert cert_names(c) >= {"*.wild.test", "wild.test"}
    ops = [op for op, _, _ in dns_command.calls()]
    assert "setup" in ops and "teardown" in ops, ops
    assert h.store_path("domains", "_.wild.test", "fullchain.pem").is_file()


def test_demo_entry_point():
    """scripts/demo's main part (scripts/lib/demo.py) gets a certificate served and cleans up."""
    import subprocess
    import sys
    before = set(os.listdir("/tmp"))
    r = subprocess.run([sys.executable, str(REPO_DIR / "scripts" / "lib" / "demo.py"),
                        "--timeout", str(ISSUE_TIMEOUT)],
                       capture_output=True, text=True, timeout=ISSUE_TIMEOUT + 120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "certificate served over HTTPS" in r.stdout
    assert "verifies to Pebble's root" in r.stdout
    assert '"state": "valid"' in r.stdout
    left = [d for d in set(os.listdir("/tmp")) - before if d.startswith("mod_acme-demo-")]
    assert not left, f"demo left {left}"


# -- 9. logs an admin can follow ------------------------------------------------------------

def test_startup_logs_and_queue_order(httpd_factory, pebble, acmectl, test_dir):
    """Drives start in queue order: no certificate yet first, then the soonest
    expiry, ties in configuration order (not the reverse order httpd keeps
    vhosts in); "starting a drive" is logged when each starts; the graceful
    restart names the domains it activates; a first activation claims no
    previous certificate; no AH10085 (mod_ssl's 503 warning) per vhost, one
    summary line of mod_acme's instead."""
    from fixtures.ca import DnsCommand
    h = httpd_factory(pebble)
    dns = DnsCommand(make_dir(test_dir, "dns"), pebble.challtestsrv_url)
    # qb.test expires before qa.test: both issued beforehand by acmectl into the store
    for name in ("qb.test", "qa.test"):
        res = acmectl("-s", str(h.store), "issue", "--ca", pebble.directory_url, "--ca-cert",
                      pebble.ca_cert, "--email", "admin@example.org", "--agree-tos",
                      "--dns-command", dns.path, name)
        assert res.returncode == 0, res.stderr
        time.sleep(1.1)
    # ... and due at start, both (acmectl renew)
    for name in ("qa.test", "qb.test"):
        assert acmectl("-s", str(h.store), "renew", name).returncode == 0
    h.add("ACMEMaxParallel 1")
    # configuration order: qa (server level), qb (in its vhost), qc (in its vhost),
    # qd (server level), qe (in its vhost)
    h.vhosts.append("ACMEDomain qa.test")
    h.ssl_vhost("qa.test", body="")
    h.ssl_vhost("qb.test")
    h.ssl_vhost("qc.test")
    h.vhosts.append("ACMEDomain qd.test")
    h.ssl_vhost("qd.test", body="")
    h.ssl_vhost("qe.test")
    all_names = ("qa.test", "qb.test", "qc.test", "qd.test", "qe.test")
    h.start()
    before = {n: h.served_cert(n).serial_number for n in ("qa.test", "qb.test")}
    for n in ("qc.test", "qd.test", "qe.test"):
        wait_served(h, n, [n])
    for n in ("qa.test", "qb.test"):
        wait_served(h, n, [n], not_serial=before[n])
    wait_for(lambda: all((h.domain_status(n) or {}).get("staged") is False for n in all_names),
             60, what="every set activated")
    log = h.error_log()
    starts = re.findall(r"ACMEDomain (q[a-e]\.test): starting a drive", log)
    first = []
    for n in starts:
        if n not in first:
            first.append(n)
    assert first == ["qc.test", "qd.test", "qe.test", "qb.test", "qa.test"], starts
    assert "AH10085" not in log, "mod_ssl's per-vhost 503 warning"
    assert len(re.findall(r"mod_acme: \d+ SSL <VirtualHost>\(s\) .*have no certificate yet", log)) \
        >= 1
    for n in ("qc.test", "qd.test", "qe.test"):
        assert re.search(rf"ACMEDomain {re.escape(n)}: first certificate activated", log), n
        assert not re.search(rf"ACMEDomain {re.escape(n)}: new certificate activated \(the previous",
                             log), n
    for n in ("qa.test", "qb.test"):
        assert re.search(rf"ACMEDomain {re.escape(n)}: new certificate activated \(the previous "
                         r"one is in", log), n
    restarts = re.findall(r"graceful restart to activate the new certificates of: (.*)", log)
    assert restarts, "the graceful restart mod_acme triggered is not logged"
    named = set(", ".join(restarts).replace(",", " ").split())
    assert set(all_names) <= named, restarts
