"""A hostile CA (hostileproxy.py in front of Pebble): authorizations for names nobody ordered, with newlines or overlong, fail the drive with a clear error before any hook runs or challenge file is written; plain-http URLs handed over by an https CA are refused and no plaintext request leaves (acmectl and mod_acme)."""
import os

import pytest

import figures
from fixtures.ca import make_dir
from fixtures.httpd import wait_for
from hostileproxy import URL_KINDS, HostileProxy
from relutil import error_line, issue_args

ISSUE_TIMEOUT = 180
IDENTIFIERS = {
    "foreign": "victim.example",
    "newline": "hc.example\nupdate add victim.example 60 TXT owned",
    "overlong": "a" * 300 + ".example",
}


@pytest.fixture
def hostile_factory(pebble, pebble_factory):
    """make(env=None, identifier=..., plain=[...]) -> a started HostileProxy in front of
    the `pebble` fixture (or of a Pebble of its own with env)."""
    made = []

    def make(env=None, **kw):
        p = HostileProxy(pebble_factory(env=env) if env else pebble, **kw).start()
        made.append(p)
        return p

    yield make
    for p in made:
        figures.add("hostile_ca", p.hostile)
        figures.add("plaintext", p.plaintext_requests)
        p.stop()


def challenge_files(root):
    """Every file below root (challenge answers written anywhere there)."""
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]


# -- acmectl -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(IDENTIFIERS))
def test_acmectl_foreign_identifier_runs_no_hook(acmectl, hostile_factory, dns_command,
                                                 test_dir, kind):
    proxy = hostile_factory(identifier=IDENTIFIERS[kind])
    store = os.path.join(test_dir, "store")
    res = acmectl(*issue_args(store, proxy, ["hc.example"], dns=dns_command.path))
    line = error_line(res)
    assert "badIdentifier" in line and "not one of the ordered identifiers" in line, line
    assert "\n" not in line
    calls = dns_command.calls()
    figures.add("foreign_hooks", len(calls))
    assert calls == [], calls
    assert proxy.hostile >= 1 and proxy.plaintext_requests == 0


def test_acmectl_foreign_identifier_writes_no_challenge_file(acmectl, hostile_factory,
                                                             test_dir):
    proxy = hostile_factory(identifier="victim.example")
    webroot = make_dir(test_dir, "webroot")
    store = os.path.join(test_dir, "store")
    res = acmectl(*issue_args(store, proxy, ["hw.example"], webroot=webroot))
    assert "badIdentifier" in error_line(res)
    assert challenge_files(webroot) == []
    assert not os.path.exists(os.path.join(store, "domains", "hw.example"))


@pytest.mark.parametrize("kind", URL_KINDS)
def test_acmectl_plain_http_url_refused(acmectl, hostile_factory, webroot_server_factory,
                                        test_dir, kind):
    # alternate chains (Link rel=alternate) are fetched only for a preferred chain
    env = {"PEBBLE_ALTERNATE_ROOTS": "1"} if kind == "link" else None
    proxy = hostile_factory(env=env, plain=[kind])
    web = webroot_server_factory(proxy.pebble)
    store = os.path.join(test_dir, "store")
    extra = ["--preferred-chain", "No Such Root"] if kind == "link" else []
    res = acmectl(*issue_args(store, proxy, ["hu.example"], webroot=web.root, extra=extra))
    assert proxy.hostile >= 1, "the proxy never rewrote a %s URL" % kind
    assert proxy.plaintext_requests == 0
    if kind == "link":
        # an alternate chain over http is skipped; the default chain is the certificate
        assert res.returncode == 0, res.stderr
        assert "does not use the scheme of its directory" in res.stderr
        return
    line = error_line(res)
    assert "scheme" in line and ("badUrl" in line or "badDirectory" in line), line


# -- mod_acme --------------------------------------------------------------------------

def _last_error(h, name):
    d = h.domain_status(name) or {}
    return d.get("last_error")


@pytest.mark.parametrize("kind", ["foreign", "newline"])
def test_module_foreign_identifier_runs_no_hook(httpd_factory, hostile_factory, dns_command,
                                                kind):
    proxy = hostile_factory(identifier=IDENTIFIERS[kind])
    h = httpd_factory(proxy.pebble)
    h.ca_url = proxy.directory_url
    h.add("<ACMEDomainSet hm.test>", f"  ACMEDNSCommand {dns_command.path}",
          "  ACMEChallenges dns-01 http-01", "</ACMEDomainSet>")
    h.ssl_vhost("hm.test", body="")
    h.start()
    err = wait_for(lambda: _last_error(h, "hm.test"), ISSUE_TIMEOUT, interval=0.5,
                   what="the drive's error")
    assert err["type"] == "urn:mod_acme:badIdentifier", err
    assert "not one of the ordered identifiers" in err["detail"]
    calls = dns_command.calls()
    figures.add("foreign_hooks", len(calls))
    assert calls == [], calls
    assert challenge_files(h.store_path("challenges")) == []
    assert proxy.plaintext_requests == 0
    assert h.running()
    log = h.error_log()
    assert "Segmentation" not in log and "exit signal" not in log


@pytest.mark.parametrize("kind", ["authz", "certificate"])
def test_module_plain_http_url_refused(httpd_factory, hostile_factory, kind):
    proxy = hostile_factory(plain=[kind])
    h = httpd_factory(proxy.pebble)
    h.ca_url = proxy.directory_url
    h.ssl_vhost("hp.test")
    h.start()
    err = wait_for(lambda: _last_error(h, "hp.test"), ISSUE_TIMEOUT, interval=0.5,
                   what="the drive's error")
    assert err["type"] == "urn:mod_acme:badUrl", err
    assert "does not use the scheme of its directory" in err["detail"]
    assert proxy.plaintext_requests == 0
    assert "Pebble" not in h.served_cert("hp.test").issuer.rfc4514_string()
    assert h.running()
