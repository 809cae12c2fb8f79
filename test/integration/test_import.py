"""Integration tests of switching to mod_acme: real stores made by Debian's mod_md and by certbot against Pebble, taken over by acmectl import, served by httpd with the same serials, no new order, and renewed with the imported account."""
import glob
import time
import json
import os
import re
import shutil

import pytest
from cryptography.hazmat.primitives import serialization

from fixtures.ca import make_dir, wait_for
from fixtures.peers import CERTBOT, MOD_MD, Certbot, ModMd, leaf_serial
from fixtures.pyacme import Client

TIMEOUT = 180   # generous: never assert speed


def pebble_counts(pebble):
    """(orders created, accounts registered) as Pebble logged them."""
    log = pebble.log()
    accounts = re.findall(r"There are now (\d+) accounts in memory", log)
    return len(re.findall(r'Added order "', log)), int(accounts[-1]) if accounts else 0


def last_order_url(pebble):
    ids = re.findall(r'Added order "([^"]+)"', pebble.log())
    return pebble.base_url + "/my-order/" + ids[-1]


def account_orders(pebble, key_path, url):
    """Every order URL of the account (its orders list, all pages), signed with the account's key."""
    with open(key_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    client = Client(pebble.directory_url, pebble.ca_cert, key)
    client.new_account(only_existing=True)
    assert client.kid == url, "the imported key belongs to another account at the CA"
    orders, page = [], client.account()["orders"]
    for _ in range(100):
        _, headers, body = client.post_json(page, None)
        orders += body.get("orders", [])
        nxt = [l for l in headers.get_all("Link") or [] if 'rel="next"' in l]
        if not nxt:
            return orders
        page = nxt[0].split(";")[0].strip().strip("<>")
    return orders


def store_account(store):
    paths = glob.glob(os.path.join(str(store), "accounts", "*", "account.json"))
    assert len(paths) == 1, paths
    with open(paths[0]) as f:
        return json.load(f)["url"], os.path.join(os.path.dirname(paths[0]), "account.pem")


def assert_ok(res):
    assert res.returncode == 0, f"acmectl failed ({res.returncode}): {res.stderr}"


def start_and_check(h, pebble, served):
    """Starts h and checks every (name, key type) serves the serial the peer served,
    and that no order or account reaches Pebble across several checks."""
    orders, accounts = pebble_counts(pebble)
    h.add("ACMECheckInterval 2s")
    h.start()
    for (name, kt), serial in served.items():
        wait_for(lambda: h.served_cert(name, key_type=kt).serial_number == serial, 30,
                 what=f"{name} ({kt}) served with the peer's serial {serial:x}")
    # A few checks of the watchdog: none of them may order anything.
    wait_for(lambda: h.error_log().count("resuming normal operations") >= 1, 30,
             what="httpd to run")
    time.sleep(6)
    assert pebble_counts(pebble) == (orders, accounts), "mod_acme ordered or registered"
    assert "starting a drive" not in h.error_log(), h.error_log_tail(40)
    return orders, accounts


def renew_with_imported_account(h, pebble, acmectl, name, kt, old_serial, account_url, counts):
    """acmectl renew: the next renewal orders with the imported account, registers none."""
    orders, accounts = counts
    assert_ok(acmectl("-s", h.store, "renew", name))
    wait_for(lambda: h.served_cert(name, key_type=kt).serial_number != old_serial, TIMEOUT,
             interval=1, what=f"{name} renewed by mod_acme")
    new_orders, new_accounts = pebble_counts(pebble)
    assert new_orders > orders and new_accounts == accounts, (orders, new_orders, accounts,
                                                              new_accounts)
    url, key_path = store_account(h.store)
    assert url == account_url
    assert last_order_url(pebble) in account_orders(pebble, key_path, url)


# -- mod_md -------------------------------------------------------------------------

@pytest.mark.skipif(not MOD_MD.exists(), reason=f"{MOD_MD} not installed (Debian apache2-bin)")
def test_switch_from_mod_md(pebble, httpd_factory, acmectl, test_dir):
    h = httpd_factory(pebble)
    md = ModMd(make_dir(test_dir, "modmd"), pebble, h.http_port, h.https_port)
    md_text = md.md_part("MDomain md1.test\n<MDomain md2.test>\n"
                         "    MDPrivateKeys secp256r1 rsa2048\n</MDomain>",
                         [("md1.test", ["www.md1.test"]), ("md2.test", [])])
    served = md.run(md_text, {"md1.test": [""], "md2.test": [".secp256r1", ""]})
    with open(glob.glob(str(md.store / "accounts" / "*" / "account.json"))[0]) as f:
        md_account = json.load(f)["url"]

    # The dry run reports and writes nothing.
    res = acmectl("-s", h.store, "import", "--from-mod-md", md.store)
    assert_ok(res)
    assert not h.store.exists()
    out = res.stdout
    assert f"account {md_account}" in out
    assert "domain md1.test" in out and "names: md1.test www.md1.test" in out
    assert "certificate rsa2048: serial %x" % served[("md1.test", "")] in out
    assert "certificate ec256: serial %x" % served[("md2.test", ".secp256r1")] in out
    assert "configure: ACMEKeyType ec256 rsa2048" in out
    assert "to take: 1 account and 2 domains; 0 not taken" in out

    res = acmectl("-s", h.store, "import", "--from-mod-md", md.store, "--apply")
    assert_ok(res)
    assert "taken: 1 account and 2 domains; 0 not taken" in res.stdout
    assert oct(os.stat(h.store / "domains" / "md1.test" / "privkey.rsa2048.pem").st_mode)[-3:] \
        == "600"
    # Again: nothing more to take.
    res = acmectl("-s", h.store, "import", "--from-mod-md", md.store, "--apply")
    assert "0 not taken; 3 already in the store" in res.stdout, res.stdout

    # httpd runs the converted configuration on the imported store.
    conv = acmectl("convert-config", md.md_conf)
    assert_ok(conv)
    text = conv.stdout
    assert "ACMEKeyType rsa2048" in text                      # mod_md's default key type
    assert "ACMEDomain md1.test www.md1.test" in text         # the vhost's alias, as mod_md added it
    assert "<ACMEDomainSet md2.test>" in text and "ACMEKeyType ec256 rsa2048" in text
    assert "# MDStoreDir" in text
    h.portmap, h.ca_url, h.ca_cert = "", None, None
    h.acme.update({"ACMETermsOfService": None, "ACMERetryDelay": None})
    h.add(*[l for l in text.splitlines() if not l.startswith("LoadModule")])
    counts = start_and_check(h, pebble, {("md1.test", "rsa"): served[("md1.test", "")],
                                         ("md2.test", "ec"): served[("md2.test", ".secp256r1")],
                                         ("md2.test", "rsa"): served[("md2.test", "")]})
    status = acmectl("-s", h.store, "status", "md1.test")
    assert_ok(status)
    assert json.loads(status.stdout)["domains"][0]["state"] == "valid"

    renew_with_imported_account(h, pebble, acmectl, "md1.test", "rsa", served[("md1.test", "")],
                                md_account, counts)


# -- certbot ----------------------------------------------------------------------------

@pytest.mark.skipif(not os.path.exists(CERTBOT), reason="certbot not installed (Debian certbot)")
def test_switch_from_certbot(pebble, httpd_factory, acmectl, test_dir):
    h = httpd_factory(pebble)
    cb = Certbot(make_dir(test_dir, "certbot"), pebble)
    s1 = cb.certonly(["cb1.test"])
    s2 = cb.certonly(["cb2.test", "www.cb2.test"], ["--key-type", "rsa", "--rsa-key-size", "2048"])
    cb.certonly(["cb3.test"], ["--key-type", "ecdsa", "--elliptic-curve", "secp521r1"])
    with open(glob.glob(str(cb.config / "accounts" / "*" / "*" / "*" / "regr.json"))[0]) as f:
        cb_account = json.load(f)["uri"]
    # A copy whose lineage cb1 has lost its key: reported, not taken.
    broken = os.path.join(test_dir, "broken")
    shutil.copytree(cb.config, broken, symlinks=True)
    os.unlink(os.path.join(broken, "live", "cb1.test", "privkey.pem"))
    os.symlink("../../archive/cb2.test/privkey1.pem",
               os.path.join(broken, "live", "cb1.test", "privkey.pem"))
    res = acmectl("-s", os.path.join(test_dir, "unused"), "import", "--from-certbot", broken)
    assert_ok(res)
    assert re.search(r"domain cb1\.test\n(  .*\n)*  not taken: no certificate", res.stdout)
    assert "live/cb1.test/privkey.pem is not the key of the certificate" in res.stdout

    res = acmectl("-s", h.store, "import", "--from-certbot", cb.config, "--apply")
    assert_ok(res)
    out = res.stdout
    assert f"account {cb_account}" in out
    assert "certificate ec256: serial %x" % s1 in out
    assert "names: cb2.test www.cb2.test" in out and "certificate rsa2048: serial %x" % s2 in out
    # P-521 is not a key type mod_acme uses: named, not taken.
    assert re.search(r"domain cb3\.test\n(  .*\n)*  note: not taken: the key in "
                     r"live/cb3\.test/privkey\.pem is of a type mod_acme does not use", out), out
    assert "taken: 1 account and 2 domains; 1 not taken" in out

    h.add("ACMEDomain cb1.test", "<ACMEDomainSet cb2.test www.cb2.test>", "  ACMEKeyType rsa2048",
          "</ACMEDomainSet>")
    h.ssl_vhost("cb1.test", body="")
    h.ssl_vhost("cb2.test", ["www.cb2.test"], body="")
    counts = start_and_check(h, pebble, {("cb1.test", "ec"): s1, ("cb2.test", "rsa"): s2,
                                         ("www.cb2.test", "rsa"): s2})
    assert leaf_serial(h.store / "domains" / "cb1.test" / "fullchain.pem") == s1
    renew_with_imported_account(h, pebble, acmectl, "cb2.test", "rsa", s2, cb_account, counts)


# -- convert-config ------------------------------------------------------------------------

# One plausible value per mod_md directive (mod_md 2.6.10); a directive mod_md
# gains later gets "on" and must then be added to acmectl's table.
MD_SAMPLES = {
    "MDCertificateAuthority": "LetsEncrypt https://acme.example.net/directory",
    "MDCertificateAgreement": "accepted", "MDCAChallenges": "http-01 tls-alpn-01",
    "MDCertificateProtocol": "ACME", "MDContactEmail": "admin@example.org",
    "MDDriveMode": "auto", "MDRenewMode": "always", "MDomain": "a.test b.test",
    "MDMember": "auto", "MDMembers": "auto", "MDMustStaple": "off",
    "MDPortMap": "http:8080 https:8443", "MDPrivateKeys": "secp384r1 RSA 3072",
    "MDHttpProxy": "http://proxy.example.org:3128", "MDStoreDir": "md",
    "MDRenewWindow": "30", "MDRequireHttps": "permanent", "MDNotifyCmd": "/bin/true",
    "MDBaseServer": "on", "MDChallengeDns01": "/bin/true", "MDChallengeDns01Version": "2",
    "MDCertificateFile": "/etc/ssl/x.pem", "MDCertificateKeyFile": "/etc/ssl/x.key",
    "MDServerStatus": "on", "MDCertificateStatus": "on", "MDWarnWindow": "10%",
    "MDMessageCmd": "/bin/true", "MDStapling": "on", "MDStapleOthers": "on",
    "MDStaplingKeepResponse": "7d", "MDStaplingRenewWindow": "33%",
    "MDCertificateCheck": "crt.sh https://crt.sh?q=", "MDActivationDelay": "1d",
    "MDCACertificateFile": "/etc/ssl/certs/ca-certificates.crt",
    "MDHttpProxyCACertificateFile": "/etc/ssl/certs/ca-certificates.crt",
    "MDExternalAccountBinding": "kid-1 zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W",
    "MDRetryDelay": "5s", "MDRetryFailover": "13", "MDStoreLocks": "on",
    "MDMatchNames": "servernames", "MDInitialDelay": "10s", "MDCheckInterval": "12h",
    "MDProfile": "classic", "MDProfileMandatory": "on", "MDRenewViaARI": "on",
}
# Directives other work adds to the module; converted output may name them before.
PENDING = {"ACMERequireHttps", "ACMEWarnWindow", "ACMERenewViaARI"}


@pytest.mark.skipif(not MOD_MD.exists(), reason=f"{MOD_MD} not installed (Debian apache2-bin)")
def test_convert_config_knows_every_mod_md_directive(httpd_factory, acmectl, test_dir):
    from fixtures.directives import registered
    from fixtures.httpd import module_path

    md = registered([f"LoadModule md_module {MOD_MD}"], "mod_md.c")
    assert "MDomain" in md and "<MDomainSet" in md, md
    lines = []
    for name in sorted(md):
        if name.startswith("<"):
            lines += [f"{name} set.test>", "    MDMember www.set.test",
                      f"    MDRenewWindow 20%", f"</{name[1:]}>"]
        else:
            lines.append(f"{name} {MD_SAMPLES.get(name, 'on')}")
    conf = os.path.join(test_dir, "md.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    res = acmectl("convert-config", conf)
    assert_ok(res)
    text = res.stdout
    assert "not a mod_md directive acmectl knows" not in text, text
    active = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
    leftover = [l for l in active if l.split()[0].lower().startswith(("md", "<md", "</md"))]
    assert not leftover, leftover
    # Every mod_md line (closing tags aside) is either converted or named as a gap.
    m = re.search(r"(\d+) mod_md directives? converted, (\d+) without", text)
    assert m and int(m.group(1)) + int(m.group(2)) == len([l for l in lines
                                                           if not l.startswith("</")]), m
    assert "<ACMEDomainSet set.test www.set.test>" in text
    assert "ACMEKeyType ec384 rsa3072" in text and "ACMERenewWindow 30d" in text

    # What it wrote passes configtest with the built module (minus directives still to come).
    acme = registered([f"LoadModule acme_module {module_path()}"], "mod_acme.c")
    used = {l.split()[0].lstrip("<") for l in active if l.split()[0].lstrip("<").startswith("ACME")}
    missing = {d for d in used if d not in acme and "<" + d not in acme}
    assert missing <= PENDING, missing
    h = httpd_factory(None)
    h.add(*[l for l in active if l.split()[0].lstrip("<") not in missing])
    rc, out = h.configtest()
    if rc != 0 and "ACMEProfile takes one argument" in out:
        # "ACMEProfile NAME mandatory" is still to come in the module.
        h.directives = [l.replace(" mandatory", "") if l.startswith("ACMEProfile") else l
                        for l in h.directives]
        rc, out = h.configtest()
    assert rc == 0, out
