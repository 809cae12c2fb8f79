"""Security properties: private keys 0600 and owned as designed, the www-data child cannot read the active keys, the drive runs in a child, and no private key, EAB HMAC key or JWS shows in logs (acmectl at -v -v, httpd at LogLevel trace8) or status."""
import base64
import glob
import json
import os
import re
import stat
import subprocess

import pytest

import figures
from fixtures.ca import example_eab_keys
from fixtures.httpd import wait_for
from relutil import assert_ok, issue_args

ISSUE_TIMEOUT = 180


def _pem_body_lines(path):
    """The base64 lines of every PEM block in a file (long enough to be unique)."""
    with open(path) as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("-----") and len(l) > 40]


def _secrets_of_store(store):
    """Every private-key PEM line found in the store (keys, accounts, challenges)."""
    out = []
    for root, _, files in os.walk(store):
        for f in files:
            p = os.path.join(root, f)
            if not f.endswith(".pem"):
                continue
            with open(p) as fh:
                text = fh.read()
            for m in re.finditer(r"-----BEGIN [A-Z ]*PRIVATE KEY-----(.*?)-----END", text, re.S):
                out += [l.strip() for l in m.group(1).splitlines() if len(l.strip()) > 40]
    return out


def _leaks(text, secret_lines, hmac):
    found = []
    for marker in ("PRIVATE KEY", '"protected"', '"signature"', "\"d\":"):
        if marker in text:
            found.append(marker)
    for line in secret_lines:
        if line in text:
            found.append("key material %s..." % line[:12])
    if hmac:
        raw = base64.urlsafe_b64decode(hmac + "=" * (-len(hmac) % 4))
        for form in (hmac, base64.b64encode(raw).decode(), raw.hex()):
            if form in text:
                found.append("EAB HMAC key")
    return found


def _key_modes(store):
    bad = []
    for p in glob.glob(os.path.join(store, "**", "*.pem"), recursive=True):
        with open(p, "rb") as f:
            private = b"PRIVATE KEY" in f.read()
        mode = stat.S_IMODE(os.stat(p).st_mode)
        if private and mode != 0o600:
            bad.append((p, oct(mode)))
    return bad


def test_acmectl_logs_and_modes(acmectl, pebble_factory, webroot_server_factory, test_dir):
    eab = example_eab_keys()
    pebble = pebble_factory(eab=eab)
    web = webroot_server_factory(pebble)
    kid, hmac = sorted(eab.items())[0]
    store = os.path.join(test_dir, "store")
    res = acmectl("-v", "-v", *issue_args(store, pebble, ["sec.example"], webroot=web.root,
                                          extra=["--eab-kid", kid, "--eab-hmac", hmac]))
    assert_ok(res)
    figures.add("issuances")
    st = acmectl("-s", store, "status")
    text = res.stdout + res.stderr + st.stdout + st.stderr
    leaks = _leaks(text, _secrets_of_store(store), hmac)
    assert not leaks, leaks
    assert not _key_modes(store), _key_modes(store)
    acct = glob.glob(os.path.join(store, "accounts", "*", "account.pem"))
    assert acct and all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in acct), acct


def _as_www_data(*cmd):
    return subprocess.run(["setpriv", "--reuid=www-data", "--regid=www-data", "--clear-groups"]
                          + list(cmd), capture_output=True, text=True)


def test_module_trace8_no_secrets_and_ownership(httpd_factory, pebble_factory):
    eab = example_eab_keys()
    pebble = pebble_factory(eab=eab)
    kid, hmac = sorted(eab.items())[0]
    h = httpd_factory(pebble, log_level="trace8")
    h.add("ACMEExternalAccountBinding %s %s" % (kid, hmac))
    h.ssl_vhost("secure.test", ["www.secure.test"])
    rc, out = h.configtest()
    assert rc == 0, out
    h.start()

    def served():
        c = h.served_cert("secure.test")
        return c if "Pebble" in c.issuer.rfc4514_string() else None
    wait_for(served, ISSUE_TIMEOUT, interval=1, what="a Pebble certificate")
    figures.add("issuances")
    store = str(h.store)

    # Ownership: domains/ root's (directories 0755, chains 0644, keys 0600);
    # the child's groups www-data.
    www = int(subprocess.run(["id", "-u", "www-data"], capture_output=True,
                             text=True).stdout.strip())
    dom = os.stat(os.path.join(store, "domains"))
    assert dom.st_uid == 0 and stat.S_IMODE(dom.st_mode) == 0o755, oct(dom.st_mode)
    for g in ("staging", "accounts", "state", "challenges"):
        p = os.path.join(store, g)
        if os.path.isdir(p):
            assert os.stat(p).st_uid == www, "%s not owned by www-data" % g
    assert not _key_modes(store), _key_modes(store)
    key = os.path.join(store, "domains", "secure.test", "privkey.pem")
    assert os.path.isfile(key)
    r = _as_www_data("cat", key)
    assert r.returncode != 0 and "denied" in r.stderr, "www-data could read %s" % key
    # The active certificates are public: the child plans renewals from them.
    chain = os.path.join(store, "domains", "secure.test", "fullchain.pem")
    r = _as_www_data("cat", chain)
    assert r.returncode == 0 and "BEGIN CERTIFICATE" in r.stdout, r.stderr
    # ... but nothing in domains/ can be written, replaced or removed by it.
    for cmd in (["touch", os.path.join(store, "domains", "secure.test", "x")],
                ["mkdir", os.path.join(store, "domains", "evil.test")],
                ["rm", "-f", chain],
                ["mv", os.path.join(store, "domains", "secure.test"),
                 os.path.join(store, "state", "stolen")]):
        r = _as_www_data(*cmd)
        assert r.returncode != 0, "www-data could run %s" % cmd
    assert os.path.isfile(chain) and os.path.isfile(key)
    for p in glob.glob(os.path.join(store, "domains", "**", "privkey*.pem"), recursive=True) + \
            glob.glob(os.path.join(store, "archive", "**", "privkey*.pem"), recursive=True):
        st = os.stat(p)
        assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600, (p, oct(st.st_mode))
        r = _as_www_data("cat", p)
        assert r.returncode != 0, "www-data could read %s" % p

    # The child processes run as www-data; the drive's requests come from a child.
    parent = h.pid()
    children = subprocess.run(["ps", "-o", "pid=,user=", "--ppid", str(parent)],
                              capture_output=True, text=True).stdout.split("\n")
    procs = [l.split() for l in children if l.strip()]
    # Request children run as www-data; the only root child is the module's
    # activation watcher (it signals the parent, it never touches the network).
    root_children = {int(pid) for pid, user in procs if user == "root"}
    assert {user for _, user in procs} <= {"www-data", "root"}, procs
    assert len(root_children) <= 1, procs
    assert any(user == "www-data" for _, user in procs), procs
    log = h.error_log()
    ca_lines = [l for l in log.splitlines()
                if "[acme:" in l and pebble.base_url in l and ("POST" in l or "GET" in l)]
    assert ca_lines, "no CA request traced at trace8"
    pids = {int(m.group(1)) for l in ca_lines for m in [re.search(r"\[pid (\d+)", l)] if m}
    assert parent not in pids, "the parent talked to the CA"
    assert not (pids & root_children), "a root child talked to the CA"

    # Nothing secret in the trace8 log or the status pages.
    status = json.dumps(h.status_json())
    opener_text = ""
    try:
        import urllib.request
        req = urllib.request.Request("http://127.0.0.1:%d/acme-status" % h.admin_port,
                                     headers={"Accept": "text/html"})
        opener_text = urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            req, timeout=10).read().decode(errors="replace")
    except OSError:
        pass
    secrets = _secrets_of_store(store)
    assert secrets, "found no key material to look for"
    leaks = _leaks(log + status + opener_text, secrets, hmac)
    assert not leaks, leaks
    print("trace8 log: %d lines, %d CA request lines, drive pids %s, parent %d"
          % (len(log.splitlines()), len(ca_lines), sorted(pids), parent))
