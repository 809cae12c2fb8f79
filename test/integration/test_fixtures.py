"""Self-tests of the integration fixtures: Pebble, challtestsrv, the webroot server, the DNS hook and the ARI proxy."""
import json
import os
import random
import socket
import ssl
import struct
import subprocess
import urllib.request

from fixtures import certs


def dns_txt(port, name, timeout=5):
    """TXT strings for name from the DNS server on 127.0.0.1:port (minimal UDP client)."""
    qid = random.randint(0, 0xFFFF)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack(">HH", 16, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, ("127.0.0.1", port))
        resp = s.recv(4096)
    ancount = struct.unpack(">H", resp[6:8])[0]
    pos = len(q)
    out = []
    for _ in range(ancount):
        # The answer name is a compression pointer (2 bytes) in practice.
        if resp[pos] & 0xC0 == 0xC0:
            pos += 2
        else:
            while resp[pos]:
                pos += resp[pos] + 1
            pos += 1
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", resp[pos:pos + 10])
        pos += 10
        rdata = resp[pos:pos + rdlen]
        pos += rdlen
        if rtype == 16:
            i = 0
            while i < len(rdata):
                n = rdata[i]
                out.append(rdata[i + 1:i + 1 + n].decode())
                i += 1 + n
    return out


def test_pebble_directory_and_roots(pebble):
    d = pebble.directory()
    for key in ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"):
        assert d[key].startswith(pebble.base_url)
    root = certs.load_pem_chain(pebble.roots_pem())[0]
    inter = certs.load_pem_chain(pebble.intermediates_pem())[0]
    assert certs.signed_by(inter, root)
    assert pebble.env["PEBBLE_VA_NOSLEEP"] == "1"
    assert pebble.env["PEBBLE_WFE_NONCEREJECT"] == "0"


def test_pebble_factory_options(pebble_factory):
    keys = {"kid-1": "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"}
    p = pebble_factory(env={"PEBBLE_ALTERNATE_ROOTS": 2}, validity=120, eab=keys)
    assert p.config["pebble"]["certificateValidityPeriod"] == 120
    assert p.directory()["meta"]["externalAccountRequired"] is True
    assert len(p.roots()) == 3


def test_challtestsrv_txt_and_dns_hook(pebble, dns_command):
    pebble.set_txt("_acme-challenge.a.example", "direct-value")
    assert dns_txt(pebble.dns_port, "_acme-challenge.a.example") == ["direct-value"]
    pebble.clear_txt("_acme-challenge.a.example")
    assert dns_txt(pebble.dns_port, "_acme-challenge.a.example") == []
    r = subprocess.run([dns_command.path, "setup", "_acme-challenge.b.example", "hook-value"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert dns_txt(pebble.dns_port, "_acme-challenge.b.example") == ["hook-value"]
    r = subprocess.run([dns_command.path, "teardown", "_acme-challenge.b.example", "hook-value"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert dns_txt(pebble.dns_port, "_acme-challenge.b.example") == []
    assert [c[0] for c in dns_command.calls()] == ["setup", "teardown"]
    assert subprocess.run([dns_command.path, "bogus"], capture_output=True).returncode != 0


def test_webroot_server(pebble, webroot_server):
    d = os.path.join(webroot_server.root, ".well-known", "acme-challenge")
    os.makedirs(d)
    with open(os.path.join(d, "tok"), "w") as f:
        f.write("tok.thumb")
    url = "http://127.0.0.1:%d/.well-known/acme-challenge/tok" % pebble.http_port
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.read() == b"tok.thumb"
    assert webroot_server.requests == ["/.well-known/acme-challenge/tok"]


def test_ari_proxy_directory_and_forwarding(pebble, ari_proxy):
    proxy = ari_proxy(pebble, window=("2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z"),
                      retry_after=120, profiles={"shortlived": "6 days"})
    ctx = ssl.create_default_context(cafile=proxy.ca_cert)
    with urllib.request.urlopen(proxy.directory_url, context=ctx, timeout=10) as r:
        d = json.loads(r.read())
    assert d["renewalInfo"] == proxy.base_url + "/renewal-info"
    assert d["meta"]["profiles"] == {"shortlived": "6 days"}
    assert d["newOrder"].startswith(proxy.base_url)
    req = urllib.request.Request(d["newNonce"], method="HEAD")
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        assert r.headers["Replay-Nonce"]
    with urllib.request.urlopen(d["renewalInfo"] + "/abc.def", context=ctx, timeout=10) as r:
        assert r.headers["Retry-After"] == "120"
        w = json.loads(r.read())["suggestedWindow"]
    assert w == {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}
    assert proxy.renewal_info_requests == ["abc.def"]


def test_proxy_end_to_end_with_python_client(pebble, webroot_server, ari_proxy):
    """Issue and revoke through the ARI proxy with the independent Python client:
    proves the proxy forwards signed requests and records newOrder payloads."""
    from fixtures.pyacme import Client
    proxy = ari_proxy(pebble, profiles={"default": "the default"})
    client = Client(proxy.directory_url, proxy.ca_cert)
    acct = client.new_account()
    assert acct["status"] == "valid"
    assert client.kid.startswith(proxy.base_url)
    pem, key = client.issue_http01(["fixture.example"], webroot_server.root)
    chain = certs.load_pem_chain(pem)
    assert certs.sans(chain[0]) == (["fixture.example"], [])
    assert certs.key_matches(chain[0], key)
    assert certs.chain_to_root(chain, pebble.roots())
    assert proxy.new_orders == [{"identifiers": [{"type": "dns", "value": "fixture.example"}]}]
    assert pebble.cert_status(chain[0])["Status"].lower() == "valid"
    client.revoke(chain[0])
    assert pebble.cert_status(pem)["Status"].lower() == "revoked"
    assert client.account()["status"] == "valid"
