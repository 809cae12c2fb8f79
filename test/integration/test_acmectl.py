"""Integration tests of acmectl (acmectl(1), README "Store layout and ownership") against real CAs (Pebble with challtestsrv; the core scenarios also against step-ca): challenges, key types, EAB, accounts, revocation, chains, ARI, profiles, crash recovery and the command line's own language."""
import datetime
import glob
import json
import os
import re
import signal
import socket
import stat
import time

import pytest

from fixtures import certs
from fixtures.ca import DnsCommand, example_eab_keys, file_mode, make_dir, wait_for
from fixtures.pyacme import AcmeError, Client

EMAIL = "admin@example.org"


# -- helpers -------------------------------------------------------------------

def dirname(name):
    """Store directory of a domain id (README "Store layout and ownership")."""
    name = name.lower()
    return "_" + name[1:] if name.startswith("*.") else name


def issue_args(store, ca_url, ca_cert, names, webroot=None, dns=None, key_types=(),
               extra=()):
    args = ["-s", store, "issue", "--ca", ca_url, "--ca-cert", ca_cert,
            "--email", EMAIL, "--agree-tos"]
    if webroot:
        args += ["--webroot", webroot]
    if dns:
        args += ["--dns-command", dns]
    for kt in key_types:
        args += ["--key-type", kt]
    return args + list(extra) + list(names)


def issue(acmectl, store, ca, names, **kw):
    """acmectl issue against ca (a Pebble or an AriProxy)."""
    return acmectl(*issue_args(store, ca.directory_url, ca.ca_cert, names, **kw))


def assert_ok(res):
    assert res.returncode == 0, "acmectl failed (exit %d): %s" % (res.returncode, res.stderr)


def assert_clean_failure(res):
    """Non-zero exit and a one-line 'acmectl: ...' error (log lines may precede it)."""
    assert res.returncode != 0, res.stdout
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert lines, "no error message on stderr"
    assert lines[-1].startswith("acmectl:"), res.stderr
    assert "Traceback" not in res.stderr and "Segmentation" not in res.stderr


def assert_one_error_line(res, code=1):
    """acmectl speaks acmectl: exactly one stderr line, "acmectl: ...", the
    documented exit code, option names and no httpd directive, nothing of a
    drive's log (next attempt, APR status strings)."""
    assert res.returncode == code, (res.returncode, res.stderr)
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("acmectl: "), res.stderr
    line = lines[0]
    # an httpd directive (ACMEHttpProxy), not acmectl's own variable ACMECTL_EAB_HMAC
    assert not re.search(r"\bACME(?!CTL_)[A-Z][A-Za-z]+", line), \
        "names an httpd directive: " + line
    assert "next attempt" not in line and "Internal error" not in line, line
    assert "[error]" not in res.stderr, res.stderr
    return line


def domain_dir(store, name):
    return os.path.join(store, "domains", dirname(name))


def check_certificate(store, pebble, domain, names, key_type="ec256", primary=True, roots=None):
    """The stored certificate for key_type covers exactly names, matches its key,
    has that key type and chains to one of Pebble's roots. Returns the chain."""
    d = domain_dir(store, domain)
    chain_path = os.path.join(d, "fullchain.%s.pem" % key_type)
    key_path = os.path.join(d, "privkey.%s.pem" % key_type)
    assert os.path.isfile(chain_path), os.listdir(d) if os.path.isdir(d) else store
    assert os.path.isfile(key_path)
    chain = certs.load_chain_file(chain_path)
    key = certs.load_key_file(key_path)
    assert len(chain) >= 2, "fullchain must hold the leaf and the intermediate"
    leaf = chain[0]
    dns, ips = certs.sans(leaf)
    want_dns = sorted(n.lower() for n in names if not _is_ip(n))
    want_ip = sorted(_norm_ip(n) for n in names if _is_ip(n))
    assert sorted(dns) == want_dns
    assert sorted(ips) == want_ip
    assert certs.key_matches(leaf, key)
    assert certs.key_type(key) == key_type
    assert certs.key_type(leaf.public_key()) == key_type
    assert certs.chain_to_root(chain, roots or pebble.roots())
    assert leaf.not_valid_after > datetime.datetime.utcnow()
    assert file_mode(key_path) == 0o600
    if primary:
        with open(os.path.join(d, "fullchain.pem"), "rb") as a, open(chain_path, "rb") as b:
            assert a.read() == b.read()
        with open(os.path.join(d, "privkey.pem"), "rb") as a, open(key_path, "rb") as b:
            assert a.read() == b.read()
        assert file_mode(os.path.join(d, "privkey.pem")) == 0o600
    return chain


def _is_ip(name):
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
        return True
    except OSError:
        return False


def _norm_ip(name):
    import ipaddress
    return str(ipaddress.ip_address(name))


def check_store_hygiene(store):
    """No temporary files left, every private key 0600, nothing group/world-writable."""
    leftovers, bad_modes = [], []
    for root, dirs, files in os.walk(store):
        for f in files:
            path = os.path.join(root, f)
            if ".tmp." in f or f.endswith(".tmp") or f.endswith("~"):
                leftovers.append(path)
            st = os.lstat(path)
            if stat.S_IMODE(st.st_mode) & 0o022:
                bad_modes.append((path, oct(stat.S_IMODE(st.st_mode))))
            if f.startswith("privkey") or f == "account.pem":
                if stat.S_IMODE(st.st_mode) != 0o600:
                    bad_modes.append((path, oct(stat.S_IMODE(st.st_mode))))
    assert not leftovers, "temporary files left in the store: %s" % leftovers
    assert not bad_modes, "bad file modes: %s" % bad_modes


def status_of(acmectl, store, domain):
    res = acmectl("-s", store, "status", domain)
    assert_ok(res)
    obj = json.loads(res.stdout)
    if isinstance(obj, dict) and "domains" in obj:
        found = [d for d in obj["domains"] if d.get("name") == domain]
        assert found, obj
        return found[0]
    return obj


def parse_rfc3339(text):
    text = text.replace("Z", "+00:00")
    t = datetime.datetime.fromisoformat(text)
    return t.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def account_key_paths(store):
    return glob.glob(os.path.join(store, "accounts", "*", "account.pem"))


def only_account_key(store):
    paths = account_key_paths(store)
    assert len(paths) == 1, paths
    return paths[0]


def order_urls_in(path):
    with open(path) as f:
        return sorted(set(re.findall(r"https://[^\"\s]+/my-order/[A-Za-z0-9_-]+", f.read())))


# -- challenges, identifiers, key types ---------------------------------------------

@pytest.mark.parametrize("names", [["web.example"], ["web.example", "www.web.example",
                                                    "static.web.example"]],
                         ids=["one-name", "several-names"])
def test_http01_webroot(acmectl, acme_ca, webroot_server_factory, test_dir, names):
    pebble = acme_ca
    webroot_server = webroot_server_factory(acme_ca)
    store = os.path.join(test_dir, "store")
    res = issue(acmectl, store, pebble, names, webroot=webroot_server.root)
    assert_ok(res)
    assert "domains/web.example" in res.stdout, "issue must print where it stored the files"
    chain = check_certificate(store, pebble, "web.example", names)
    assert any(p.startswith("/.well-known/acme-challenge/") for p in webroot_server.requests)
    chal = os.path.join(webroot_server.root, ".well-known", "acme-challenge")
    assert not os.path.isdir(chal) or os.listdir(chal) == [], "challenge files not removed"
    check_store_hygiene(store)

    st = status_of(acmectl, store, "web.example")
    assert st["name"] == "web.example"
    assert sorted(st["names"]) == sorted(names)
    assert st["state"] == "valid"
    cert = st["certificates"][0]
    assert cert["key_type"] == "ec256"
    assert int(cert["serial"].replace(":", ""), 16) == chain[0].serial_number
    assert parse_rfc3339(cert["not_after"]) == chain[0].not_valid_after
    assert parse_rfc3339(cert["not_before"]) == chain[0].not_valid_before
    fp = chain[0].fingerprint(certs.hashes.SHA256()).hex()
    assert cert["sha256_fingerprint"].replace(":", "").lower() == fp
    assert certs.common_name(chain[0].issuer) in cert["issuer"]
    assert st["ca"] == pebble.directory_url
    assert st["staged"] is False
    assert st["renewal"]["source"] == "window"
    renew_at = parse_rfc3339(st["renewal"]["at"])
    assert chain[0].not_valid_before < renew_at < chain[0].not_valid_after
    assert "last_error" not in st or not st["last_error"]
    res = acmectl("-s", store, "status")
    assert_ok(res)
    assert [d["name"] for d in json.loads(res.stdout)["domains"]] == ["web.example"]


def test_dns01_command(acmectl, pebble, dns_command, test_dir):
    store = os.path.join(test_dir, "store")
    res = issue(acmectl, store, pebble, ["dns.example"], dns=dns_command.path)
    assert_ok(res)
    check_certificate(store, pebble, "dns.example", ["dns.example"])
    calls = dns_command.calls()
    assert ("setup", "_acme-challenge.dns.example") in [(c[0], c[1]) for c in calls]
    assert ("teardown", "_acme-challenge.dns.example") in [(c[0], c[1]) for c in calls]
    setup_values = {c[2] for c in calls if c[0] == "setup"}
    teardown_values = {c[2] for c in calls if c[0] == "teardown"}
    assert setup_values == teardown_values
    check_store_hygiene(store)


def test_wildcard(acmectl, acme_ca, test_dir):
    pebble = acme_ca
    dns_command = DnsCommand(make_dir(test_dir, "dns"), acme_ca.challtestsrv_url)
    store = os.path.join(test_dir, "store")
    names = ["*.wild.example", "wild.example"]
    res = issue(acmectl, store, pebble, names, dns=dns_command.path)
    assert_ok(res)
    assert os.path.isdir(os.path.join(store, "domains", "_.wild.example"))
    check_certificate(store, pebble, "*.wild.example", names)
    # wildcard and base name share the _acme-challenge name: two TXT values.
    names_set = [c[1] for c in dns_command.calls() if c[0] == "setup"]
    assert names_set.count("_acme-challenge.wild.example") == 2


def test_wildcard_needs_dns01(acmectl, pebble, webroot_server, test_dir):
    store = os.path.join(test_dir, "store")
    res = issue(acmectl, store, pebble, ["*.nodns.example"], webroot=webroot_server.root)
    assert_clean_failure(res)
    assert not os.path.exists(os.path.join(domain_dir(store, "*.nodns.example"), "fullchain.pem"))


def test_ip_address_v4(acmectl, acme_ca, webroot_server_factory, test_dir):
    pebble = acme_ca
    webroot_server = webroot_server_factory(acme_ca)
    store = os.path.join(test_dir, "store")
    res = issue(acmectl, store, pebble, ["127.0.0.1"], webroot=webroot_server.root)
    assert_ok(res)
    check_certificate(store, pebble, "127.0.0.1", ["127.0.0.1"])


def test_ip_address_v6(acmectl, pebble, webroot_server, test_dir):
    if len(webroot_server.servers) < 2:
        pytest.skip("no IPv6 loopback on this machine")
    store = os.path.join(test_dir, "store")
    res = issue(acmectl, store, pebble, ["::1"], webroot=webroot_server.root)
    assert_ok(res)
    assert os.path.isdir(os.path.join(store, "domains", "::1"))
    check_certificate(store, pebble, "::1", ["::1"])


def test_two_key_types(acmectl, acme_ca, webroot_server_factory, test_dir):
    pebble = acme_ca
    webroot_server = webroot_server_factory(acme_ca)
    store = os.path.join(test_dir, "store")
    names = ["dual.example"]
    res = issue(acmectl, store, pebble, names, webroot=webroot_server.root,
                key_types=["ec256", "rsa2048"])
    assert_ok(res)
    ec_chain = check_certificate(store, pebble, "dual.example", names, "ec256", primary=True)
    rsa_chain = check_certificate(store, pebble, "dual.example", names, "rsa2048", primary=False)
    assert ec_chain[0].serial_number != rsa_chain[0].serial_number
    st = status_of(acmectl, store, "dual.example")
    assert sorted(c["key_type"] for c in st["certificates"]) == ["ec256", "rsa2048"]
    check_store_hygiene(store)


# -- accounts ------------------------------------------------------------------

def test_eab_required(acmectl, ca_factory, webroot_server_factory, test_dir):
    pebble = ca_factory(eab=2)
    keys = pebble.eab_keys
    web = webroot_server_factory(pebble)
    store = os.path.join(test_dir, "store")
    res = issue(acmectl, store, pebble, ["eab.example"], webroot=web.root)
    assert_one_error_line(res)
    assert "External Account Binding" in res.stderr, res.stderr
    assert "--eab-kid" in res.stderr and "--eab-hmac" in res.stderr, res.stderr
    assert not os.path.exists(os.path.join(domain_dir(store, "eab.example"), "fullchain.pem"))
    st = status_of(acmectl, store, "eab.example")
    assert st["state"] == "error", st
    assert "externalAccountRequired" in st["last_error"]["type"] or \
        "external" in st["last_error"]["detail"].lower(), st["last_error"]
    assert parse_rfc3339(st["last_error"]["at"]) <= datetime.datetime.utcnow()
    assert st.get("next_attempt"), st

    kid = sorted(keys)[0]
    res = issue(acmectl, store, pebble, ["eab.example"], webroot=web.root,
                extra=["--eab-kid", kid, "--eab-hmac", keys[kid]])
    assert_ok(res)
    check_certificate(store, pebble, "eab.example", ["eab.example"])


def test_eab_wrong_key_fails(acmectl, ca_factory, webroot_server_factory, test_dir):
    pebble = ca_factory(eab=2)
    keys = pebble.eab_keys
    web = webroot_server_factory(pebble)
    store = os.path.join(test_dir, "store")
    kid = sorted(keys)[0]
    other = keys[sorted(keys)[1]]
    res = issue(acmectl, store, pebble, ["eab2.example"], webroot=web.root,
                extra=["--eab-kid", kid, "--eab-hmac", other])
    assert_one_error_line(res)
    # step-ca answers a wrong binding with 500 serverInternal: the hint still says what to check
    assert "--eab-kid" in res.stderr and "--eab-hmac" in res.stderr, res.stderr
    assert not os.path.exists(os.path.join(domain_dir(store, "eab2.example"), "fullchain.pem"))
    assert_ok(issue(acmectl, store, pebble, ["eab2.example"], webroot=web.root,
                    extra=["--eab-kid", kid, "--eab-hmac", keys[kid]]))
    check_certificate(store, pebble, "eab2.example", ["eab2.example"])


def test_eab_key_from_file_or_environment(acmectl, pebble_factory, webroot_server_factory,
                                          test_dir):
    """The MAC key need not be on the command line (ps shows argv): --eab-hmac-file
    or $ACMECTL_EAB_HMAC; --eab-hmac still works (test_eab_required)."""
    keys = example_eab_keys()
    pebble = pebble_factory(eab=keys)
    web = webroot_server_factory(pebble)
    kid_file, kid_env = sorted(keys)[:2]
    key_file = os.path.join(test_dir, "eab.key")
    with open(key_file, "w") as f:
        f.write(keys[kid_file] + "\n")
    os.chmod(key_file, 0o600)

    store = os.path.join(test_dir, "store-file")
    assert_ok(issue(acmectl, store, pebble, ["eabf.example"], webroot=web.root,
                    extra=["--eab-kid", kid_file, "--eab-hmac-file", key_file]))
    check_certificate(store, pebble, "eabf.example", ["eabf.example"])

    store = os.path.join(test_dir, "store-env")
    res = acmectl(*issue_args(store, pebble.directory_url, pebble.ca_cert, ["eabe.example"],
                              webroot=web.root, extra=["--eab-kid", kid_env]),
                  env={"ACMECTL_EAB_HMAC": keys[kid_env]})
    assert_ok(res)
    check_certificate(store, pebble, "eabe.example", ["eabe.example"])

    # usage errors: both sources at once, an unreadable or empty file, a kid without a key
    empty = os.path.join(test_dir, "empty.key")
    open(empty, "w").close()
    for extra in (["--eab-kid", kid_file, "--eab-hmac-file", key_file, "--eab-hmac", "x"],
                  ["--eab-kid", kid_file, "--eab-hmac-file", key_file + ".missing"],
                  ["--eab-kid", kid_file, "--eab-hmac-file", empty],
                  ["--eab-kid", kid_file],
                  ["--eab-hmac-file", key_file]):
        res = issue(acmectl, os.path.join(test_dir, "store-bad"), pebble, ["eabx.example"],
                    webroot=web.root, extra=extra)
        assert res.returncode == 2, (extra, res.stderr)
        assert_clean_failure(res)
        assert keys[kid_file] not in res.stderr


def test_account_rollover(acmectl, pebble, webroot_server, ari_proxy, test_dir):
    proxy = ari_proxy(pebble, ari=False)
    store = os.path.join(test_dir, "store")
    assert_ok(issue(acmectl, store, proxy, ["roll1.example"], webroot=webroot_server.root))
    key_path = only_account_key(store)
    old_key = certs.load_key_file(key_path)
    probe = Client(pebble.directory_url, pebble.ca_cert, old_key)
    probe.new_account(only_existing=True)
    account_path = probe.kid.split("/", 3)[3]

    res = acmectl("-s", store, "account-rollover", "--ca", proxy.directory_url,
                  "--ca-cert", proxy.ca_cert)
    assert_ok(res)
    assert only_account_key(store) == key_path
    new_key = certs.load_key_file(key_path)
    assert certs.public_bytes(new_key) != certs.public_bytes(old_key)
    assert file_mode(key_path) == 0o600
    key_change_path = pebble.directory()["keyChange"].split("/", 3)[3]
    assert proxy.posts("/" + key_change_path), "no keyChange request was sent"

    # The CA now knows the account by the new key only.
    c = Client(pebble.directory_url, pebble.ca_cert, new_key)
    c.new_account(only_existing=True)
    assert c.kid.split("/", 3)[3] == account_path
    with pytest.raises(AcmeError) as e:
        Client(pebble.directory_url, pebble.ca_cert, old_key).new_account(only_existing=True)
    assert "accountDoesNotExist" in json.dumps(e.value.problem)

    # Issuance continues with the new key on the same account.
    n_before = len(proxy.requests)
    assert_ok(issue(acmectl, store, proxy, ["roll2.example"], webroot=webroot_server.root))
    check_certificate(store, pebble, "roll2.example", ["roll2.example"])
    kids = {r["protected"].get("kid") for r in proxy.requests[n_before:]
            if r["protected"] and r["protected"].get("kid")}
    assert kids and all(k.split("/", 3)[3] == account_path for k in kids), kids


def test_account_deactivate(acmectl, pebble, webroot_server, test_dir):
    store = os.path.join(test_dir, "store")
    assert_ok(issue(acmectl, store, pebble, ["deact.example"], webroot=webroot_server.root))
    key = certs.load_key_file(only_account_key(store))
    c = Client(pebble.directory_url, pebble.ca_cert, key)
    assert c.new_account(only_existing=True)["status"] == "valid"

    res = acmectl("-s", store, "account-deactivate", "--ca", pebble.directory_url,
                  "--ca-cert", pebble.ca_cert)
    assert_ok(res)
    try:
        status = c.account()["status"]
    except AcmeError as e:
        status = json.dumps(e.problem)
    assert "deactivated" in status.lower(), status
    for path in glob.glob(os.path.join(store, "accounts", "*", "account.json")):
        with open(path) as f:
            obj = json.load(f)
        if isinstance(obj, dict) and "status" in obj:
            assert obj["status"] == "deactivated", obj


# -- revocation ------------------------------------------------------------------

def assert_revoked(ca, leaf, key_path):
    """The CA knows leaf as revoked: revoking it again (with its own key) is refused so."""
    with pytest.raises(AcmeError) as e:
        Client.from_key_file(ca.directory_url, ca.ca_cert, key_path).revoke(leaf)
    assert "alreadyRevoked" in json.dumps(e.value.problem), e.value.problem


def test_revoke(acmectl, acme_ca, webroot_server_factory, test_dir):
    """With the account key; only -s STORE DOMAIN: the store knows the CA and its trust file.
    Status then says revoked and the domain is due (renewal source manual)."""
    pebble = acme_ca
    webroot_server = webroot_server_factory(acme_ca)
    store = os.path.join(test_dir, "store")
    assert_ok(issue(acmectl, store, pebble, ["revoke.example"], webroot=webroot_server.root))
    leaf = check_certificate(store, pebble, "revoke.example", ["revoke.example"])[0]
    if pebble.name == "pebble":
        assert pebble.cert_status(leaf)["Status"] == "Valid"
    res = acmectl("-s", store, "revoke", "revoke.example", "--reason", "4")
    assert_ok(res)
    if pebble.name == "pebble":
        st = pebble.cert_status(leaf)
        assert st["Status"] == "Revoked", st
        assert st.get("Reason") == 4, st
    assert_revoked(pebble, leaf, os.path.join(domain_dir(store, "revoke.example"), "privkey.pem"))
    st = status_of(acmectl, store, "revoke.example")
    assert st["state"] == "revoked", st
    assert st["renewal"]["source"] == "manual", st
    # the next issue renews it, and the new certificate is not revoked
    assert_ok(issue(acmectl, store, pebble, ["revoke.example"], webroot=webroot_server.root))
    new = check_certificate(store, pebble, "revoke.example", ["revoke.example"])[0]
    assert new.serial_number != leaf.serial_number
    st = status_of(acmectl, store, "revoke.example")
    assert st["state"] == "valid" and st["renewal"]["source"] == "window", st


def test_revoke_with_certificate_key(acmectl, acme_ca, webroot_server_factory, test_dir):
    """Without an account for that CA (only domains/ restored) the certificate's own key signs."""
    web = webroot_server_factory(acme_ca)
    store = os.path.join(test_dir, "store")
    assert_ok(issue(acmectl, store, acme_ca, ["certkey.example"], webroot=web.root))
    leaf = check_certificate(store, acme_ca, "certkey.example", ["certkey.example"])[0]
    import shutil
    shutil.rmtree(os.path.join(store, "accounts"))
    shutil.rmtree(os.path.join(store, "state"))
    # the CA comes from the active set; its trust file went with accounts/: pass it
    res = acmectl("-s", store, "revoke", "certkey.example", "--no-reissue",
                  "--ca-cert", acme_ca.ca_cert)
    assert_ok(res)
    assert_revoked(acme_ca, leaf, os.path.join(domain_dir(store, "certkey.example"), "privkey.pem"))
    assert not account_key_paths(store), "revoking with the certificate key made an account"
    st = status_of(acmectl, store, "certkey.example")
    assert st["state"] == "revoked", st
    assert (st.get("renewal") or {}).get("source") != "manual", "--no-reissue asked for a renewal"


def test_revoke_unknown_domain_fails(acmectl, test_dir):
    store = make_dir(test_dir, "store")
    assert_clean_failure(acmectl("-s", store, "revoke", "nothing.example"))


# -- CA behaviour ------------------------------------------------------------------

def test_nonce_reject(acmectl, pebble_factory, webroot_server_factory, ari_proxy, test_dir):
    pebble = pebble_factory(env={"PEBBLE_WFE_NONCEREJECT": "50"})
    web = webroot_server_factory(pebble)
    proxy = ari_proxy(pebble, ari=False)
    store = os.path.join(test_dir, "store")
    for i in range(4):
        name = "nonce%d.example" % i
        assert_ok(issue(acmectl, store, proxy, [name], webroot=web.root))
        check_certificate(store, pebble, name, [name])
    rejected = [r for r in proxy.requests
                if (r.get("problem") or "").endswith(":badNonce")]
    assert rejected, "Pebble rejected no nonce: the test proved nothing"
    assert len(proxy.new_orders) == 4


def test_preferred_chain(acmectl, pebble_factory, webroot_server_factory, test_dir):
    pebble = pebble_factory(env={"PEBBLE_ALTERNATE_ROOTS": "2"})
    web = webroot_server_factory(pebble)
    roots = pebble.roots()
    assert len(roots) == 3
    store = os.path.join(test_dir, "store")

    assert_ok(issue(acmectl, store, pebble, ["default-chain.example"], webroot=web.root))
    chain = check_certificate(store, pebble, "default-chain.example", ["default-chain.example"])
    assert certs.chain_to_root(chain, [roots[0]])

    for i in (2, 1):
        cn = certs.common_name(roots[i].subject)
        name = "chain%d.example" % i
        assert_ok(issue(acmectl, store, pebble, [name], webroot=web.root,
                        extra=["--preferred-chain", cn]))
        chain = check_certificate(store, pebble, name, [name])
        assert certs.chain_to_root(chain, [roots[i]]), "chain %d (%s) not picked" % (i, cn)
        assert chain[-1].issuer == roots[i].subject


# -- ARI and profiles ---------------------------------------------------------------

def test_ari_schedule_and_replaces(acmectl, pebble, webroot_server, ari_proxy, test_dir):
    now = datetime.datetime.utcnow().replace(microsecond=0)
    start, end = now + datetime.timedelta(days=2), now + datetime.timedelta(days=3)
    proxy = ari_proxy(pebble, window=(start, end), retry_after=600)
    store = os.path.join(test_dir, "store")
    assert_ok(issue(acmectl, store, proxy, ["ari.example"], webroot=webroot_server.root))
    leaf = check_certificate(store, pebble, "ari.example", ["ari.example"])[0]
    assert proxy.new_orders and "replaces" not in proxy.new_orders[0]
    cert_id = certs.ari_cert_id(leaf)

    st = status_of(acmectl, store, "ari.example")
    assert cert_id in proxy.renewal_info_requests, proxy.renewal_info_requests
    assert st["renewal"]["source"] == "ari", st
    at = parse_rfc3339(st["renewal"]["at"])
    assert start <= at <= end, (start, at, end)

    # Renew: the new order names the certificate it replaces.
    assert_ok(acmectl("-s", store, "renew", "ari.example"))
    assert_ok(issue(acmectl, store, proxy, ["ari.example"], webroot=webroot_server.root))
    assert len(proxy.new_orders) == 2, proxy.new_orders
    assert proxy.new_orders[1].get("replaces") == cert_id, proxy.new_orders[1]
    new_leaf = check_certificate(store, pebble, "ari.example", ["ari.example"])[0]
    assert new_leaf.serial_number != leaf.serial_number


def test_profile_sent(acmectl, pebble, webroot_server, ari_proxy, test_dir):
    proxy = ari_proxy(pebble, profiles={"classic": "the classic profile",
                                        "shortlived": "short-lived certificates"})
    store = os.path.join(test_dir, "store")
    assert_ok(issue(acmectl, store, proxy, ["profile.example"], webroot=webroot_server.root,
                    extra=["--profile", "shortlived"]))
    check_certificate(store, pebble, "profile.example", ["profile.example"])
    assert [o.get("profile") for o in proxy.new_orders] == ["shortlived"], proxy.new_orders

    assert_ok(issue(acmectl, store, proxy, ["noprofile.example"], webroot=webroot_server.root))
    assert "profile" not in proxy.new_orders[-1], proxy.new_orders[-1]


# -- crash recovery -----------------------------------------------------------------

def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.wait(30)


def _issued_orders(pebble):
    """{order id: serial number} from Pebble's log (which may print a leading zero)."""
    found = re.findall(r"Issued certificate serial ([0-9a-f]+) for order (\S+)", pebble.log())
    return {order: int(serial, 16) for serial, order in found}


def test_kill_during_challenge_setup_resumes_same_order(acmectl, pebble, dns_command,
                                                        ari_proxy, test_dir):
    proxy = ari_proxy(pebble, ari=False)
    store = os.path.join(test_dir, "store")
    args = issue_args(store, proxy.directory_url, proxy.ca_cert, ["crash.example"],
                      dns=dns_command.path)
    dns_command.block()
    proc = acmectl.popen(*args)
    try:
        wait_for(lambda: [c for c in dns_command.calls() if c[0] == "setup"], 120,
                 what="the DNS setup call")
        order_file = os.path.join(store, "state", "crash.example", "order.json")
        assert os.path.isfile(order_file), "drive progress not persisted before challenge setup"
        urls = order_urls_in(order_file)
        assert len(urls) == 1, urls
    finally:
        _kill_group(proc)
        dns_command.block(False)
    assert proc.returncode == -signal.SIGKILL
    assert len(proxy.new_orders) == 1
    check_store_hygiene(store)

    assert_ok(acmectl(*args))
    leaf = check_certificate(store, pebble, "crash.example", ["crash.example"])[0]
    assert len(proxy.new_orders) == 1, "a new order was created instead of resuming"
    order_id = urls[0].rsplit("/", 1)[1]
    issued = _issued_orders(pebble)
    assert issued.get(order_id) == leaf.serial_number, issued
    check_store_hygiene(store)


def test_kill_while_polling_resumes_same_order(acmectl, pebble, webroot_server, ari_proxy,
                                               test_dir):
    proxy = ari_proxy(pebble, ari=False)
    store = os.path.join(test_dir, "store")
    args = issue_args(store, proxy.directory_url, proxy.ca_cert, ["poll.example"],
                      webroot=webroot_server.root)
    webroot_server.delay = 4  # Pebble's validation hangs; the drive is polling
    proc = acmectl.popen(*args)
    try:
        wait_for(lambda: proxy.posts("/chalZ/"), 120, what="the challenge response")
        time.sleep(1)
    finally:
        _kill_group(proc)
    webroot_server.delay = 0
    order_file = os.path.join(store, "state", "poll.example", "order.json")
    assert os.path.isfile(order_file)
    urls = order_urls_in(order_file)
    assert len(urls) == 1, urls
    check_store_hygiene(store)

    assert_ok(acmectl(*args))
    leaf = check_certificate(store, pebble, "poll.example", ["poll.example"])[0]
    assert len(proxy.new_orders) == 1, "a new order was created instead of resuming"
    assert _issued_orders(pebble).get(urls[0].rsplit("/", 1)[1]) == leaf.serial_number
    check_store_hygiene(store)


# -- command line errors --------------------------------------------------------------

def test_cli_errors(acmectl, pebble, webroot_server, test_dir):
    store = os.path.join(test_dir, "store")
    assert_clean_failure(acmectl("-s", store, "frobnicate"))
    assert_clean_failure(acmectl("-s", store, "issue", "--email", EMAIL, "--agree-tos",
                                 "--webroot", webroot_server.root, "x.example"))  # no --ca
    res = acmectl("-s", store, "issue", "--ca", pebble.directory_url, "--ca-cert", pebble.ca_cert,
                  "--email", EMAIL, "--agree-tos", "--webroot", webroot_server.root,
                  "bad..name")
    assert_clean_failure(res)
    dead = "https://127.0.0.1:%d/dir" % _dead_port()
    res = acmectl(*issue_args(store, dead, pebble.ca_cert, ["dead.example"],
                              webroot=webroot_server.root), timeout=180)
    assert_clean_failure(res)
    assert acmectl("--help").returncode == 0
    assert acmectl("issue", "--help").returncode == 0


def _dead_port():
    from fixtures.ca import free_port
    return free_port()


def test_status_empty_store(acmectl, test_dir):
    store = make_dir(test_dir, "store")
    res = acmectl("-s", store, "status")
    assert_ok(res)
    obj = json.loads(res.stdout)
    assert obj["domains"] == [] and "version" in obj


# -- acmectl speaks acmectl ---------------------------------------------------------------

def test_failure_is_one_line_with_option_names(acmectl, pebble, webroot_server, test_dir):
    """A CA that cannot be reached: one line, the hint names --http-proxy and --ca-cert."""
    from fixtures.ca import CountingListener
    down = CountingListener().start()
    try:
        store = os.path.join(test_dir, "store")
        res = acmectl(*issue_args(store, down.directory_url, pebble.ca_cert, ["down.example"],
                                  webroot=webroot_server.root), timeout=180)
    finally:
        down.stop()
    line = assert_one_error_line(res)
    assert "--http-proxy" in line and "--ca-cert" in line, line
    assert line.count("cannot reach the CA") == 1, line
    # the same failure with -v shows the drive's log too
    res = acmectl("-v", *issue_args(store, down.directory_url, pebble.ca_cert, ["down.example"],
                                    webroot=webroot_server.root), timeout=180)
    assert res.returncode == 1 and res.stderr.splitlines()[-1].startswith("acmectl: ")


BAD_VALUES = [
    ("--eab-hmac", "not base64!", "--eab-hmac"),
    ("--ca", "not-a-url", "--ca"),
    ("--ca", "ftp://127.0.0.1/dir", "--ca"),
    ("--ca-cert", "/nonexistent/ca.pem", "--ca-cert"),
    ("--email", "nobody", "--email"),
    ("--webroot", "/nonexistent/webroot", "--webroot"),
    ("--dns-command", "NOT-EXECUTABLE", "--dns-command"),
    ("--http-proxy", "proxy without scheme", "--http-proxy"),
    ("--key-type", "rsa1024", "rsa1024"),
]


@pytest.mark.parametrize("option,value,named", BAD_VALUES, ids=[b[0] + "=" + b[1] for b in BAD_VALUES])
def test_bad_option_values_refused_before_any_request(acmectl, pebble, webroot_server, test_dir,
                                                      option, value, named):
    from fixtures.ca import CountingListener
    ca = CountingListener().start()
    try:
        store = os.path.join(test_dir, "store")
        args = {"--ca": ca.directory_url, "--ca-cert": pebble.ca_cert, "--email": EMAIL,
                "--webroot": webroot_server.root}
        extra = ["--eab-kid", "kid-1"] if option == "--eab-hmac" else []
        if value == "NOT-EXECUTABLE":
            value = os.path.join(test_dir, "hook.txt")
            with open(value, "w") as f:
                f.write("#!/bin/sh\n")
            os.chmod(value, 0o644)
            del args["--webroot"]
        args[option] = value
        cmd = ["-s", store, "issue", "--agree-tos"] + extra
        for k, v in args.items():
            cmd += [k, v]
        if option not in args:
            cmd += [option, value]
        res = acmectl(*(cmd + ["bad.example"]))
        line = assert_one_error_line(res, code=2)
        assert named in line, line
        assert ca.accepted == 0, "a request was sent before the options were checked"
    finally:
        ca.stop()
    if option == "--ca":
        res = acmectl("-s", store, "account-rollover", "--ca", value)
        assert_one_error_line(res, code=2)


def test_rollover_without_keychange(acmectl, acme_ca, webroot_server_factory, ari_proxy,
                                    test_dir):
    """step-ca names keyChange but answers 501; Pebble behind a proxy that leaves it out
    of the directory: a clear error and the account untouched."""
    ca = ari_proxy(acme_ca, ari=False, without=("keyChange",)) if acme_ca.name == "pebble" \
        else acme_ca
    web = webroot_server_factory(acme_ca)
    store = os.path.join(test_dir, "store")
    assert_ok(issue(acmectl, store, ca, ["nokc1.example"], webroot=web.root))
    key_path = only_account_key(store)
    files = {p: open(p, "rb").read() for p in glob.glob(os.path.join(store, "accounts", "*", "*"))}
    res = acmectl("-s", store, "account-rollover", "--ca", ca.directory_url)
    line = assert_one_error_line(res)
    assert "does not implement account key rollover" in line, line
    assert "unchanged" in line, line
    assert {p: open(p, "rb").read() for p in glob.glob(os.path.join(store, "accounts", "*", "*"))} \
        == files, "the account files changed"
    # the account still works with its old key
    Client.from_key_file(acme_ca.directory_url, acme_ca.ca_cert, key_path).new_account(
        only_existing=True)
    assert_ok(issue(acmectl, store, ca, ["nokc2.example"], webroot=web.root))
    assert only_account_key(store) == key_path


def test_renew_is_visible_at_once(acmectl, pebble, webroot_server, test_dir):
    store = os.path.join(test_dir, "store")
    assert_ok(issue(acmectl, store, pebble, ["visible.example"], webroot=webroot_server.root))
    st = status_of(acmectl, store, "visible.example")
    assert st["renewal"]["source"] == "window", st
    before = datetime.datetime.utcnow().replace(microsecond=0)
    assert_ok(acmectl("-s", store, "renew", "visible.example"))
    st = status_of(acmectl, store, "visible.example")
    assert st["renewal"]["source"] == "manual", st
    at = parse_rfc3339(st["renewal"]["at"])
    assert before <= at <= datetime.datetime.utcnow(), (before, at)
    assert_ok(issue(acmectl, store, pebble, ["visible.example"], webroot=webroot_server.root))
    st = status_of(acmectl, store, "visible.example")
    assert st["renewal"]["source"] == "window", st
