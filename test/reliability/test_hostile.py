"""Hostile requests to mod_acme: generated http-01 paths and Host headers get 404/400 and never a file or another name's answer; odd SNI names and acme-tls/1 for names without a pending challenge get a normal handshake; httpd never crashes."""
import random
import ssl

import figures
from fixtures.httpd import tls_connect, wait_for
from cryptography import x509

PREFIX = "/.well-known/acme-challenge/"
ACME_ID_OID = "1.3.6.1.5.5.7.1.31"


def _paths(rng, n):
    base = ["", "..", "../index.html", "%2e%2e/%2e%2e/secret.txt", "..%2f..%2fsecret.txt",
            "a%2fb", "tok%00en", "tok;en", "tok.en", "%20", "A" * 300, "B" * 6000, "x/y",
            "token/", "ondisk-token_1", "%u002e%u002e", "..\\..\\secret.txt", "~root",
            "token?x=../../secret.txt", "token#frag", "%ff%fe", "\u00e9t\u00e9".encode().decode(
                "latin-1"), "*", "token%0d%0aX-Injected:%201"]
    alphabet = "abcXYZ019-_./%\\;:@!$&'()*+,=~"
    for _ in range(n):
        base.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80))))
    return base


MANAGED = {"ha.test", "hb.test"}
HOSTS = ["ha.test", "HA.TEST", "ha.test.", "hb.test", "unmanaged.test", "127.0.0.1", "[::1]",
         "..", "../../etc", "a/b", "*.ha.test", "ha.test:99999", "x" * 300, "_acme.ha.test"]


def test_hostile_http01_requests(httpd_factory, pebble):
    rng = random.Random(8737)
    h = httpd_factory(pebble)
    h.ssl_vhost("ha.test")
    h.ssl_vhost("hb.test")
    h.start()
    wait_for(lambda: "Pebble" in h.served_cert("ha.test").issuer.rfc4514_string(), 180,
             interval=1, what="ha.test certificate")
    chdir = h.root / "htdocs" / ".well-known" / "acme-challenge"
    (chdir / "ondisk-token_1").write_text("FROM DISK\n")
    (h.root / "htdocs" / "secret.txt").write_text("FROM DISK\n")
    n = 0
    for path in _paths(rng, 150):
        for host in rng.sample(HOSTS, 3):
            try:
                status, _, body = h.request(PREFIX + path, host, port=h.http_port)
            except (OSError, ValueError, IndexError):
                status, body = None, b""   # connection closed on garbage: fine
            n += 1
            if host.lower().rstrip(".") in MANAGED:
                assert status in (None, 400, 404, 414), "GET %r Host %r: %s" % (path, host, status)
                assert b"FROM DISK" not in body
            else:
                # Not managed: httpd's own handling (it may normalise "../" to a
                # docroot file); never a challenge answer and never a crash.
                assert status is None or status < 500 or status == 503, (path, host, status)
    figures.add("bad_inputs", n)
    assert h.running()
    log = h.error_log()
    assert "exit signal" not in log and "Segmentation" not in log
    print("hostile http-01 requests: %d" % n)


def _has_acme_id(cert):
    return any(e.oid.dotted_string == ACME_ID_OID for e in cert.extensions)


def test_odd_sni_and_alpn_without_challenge(httpd_factory, pebble):
    h = httpd_factory(pebble)
    h.ssl_vhost("sa.test", ["www.sa.test"])
    h.start()
    wait_for(lambda: "Pebble" in h.served_cert("sa.test").issuer.rfc4514_string(), 180,
             interval=1, what="sa.test certificate")
    names = ["sa.test", "SA.TEST", "sa.test.", "unmanaged.test", "x" * 63 + ".test",
             "1.0.0.127.in-addr.arpa", "_bad.test", "a-.test", "xn--nxasmq6b.test",
             "www.sa.test", "127.0.0.1"]
    n = 0
    alpn_selected = []   # acme-tls/1 agreed although no challenge is pending (normal cert)
    for name in names:
        for alpn in (None, ["acme-tls/1"], ["acme-tls/1", "http/1.1"]):
            n += 1
            try:
                with tls_connect(h.https_port, name, alpn=alpn) as s:
                    der = s.getpeercert(binary_form=True)
                    proto = s.selected_alpn_protocol()
            except (ssl.SSLError, OSError, ValueError, UnicodeError):
                continue   # refused handshake: acceptable, no challenge cert given
            cert = x509.load_der_x509_certificate(der)
            assert not _has_acme_id(cert), \
                "tls-alpn-01 certificate for %r without a pending challenge" % name
            if proto == "acme-tls/1":
                alpn_selected.append(name)
    figures.add("bad_inputs", n)
    assert h.running()
    assert "exit signal" not in h.error_log()
    print("odd SNI/ALPN handshakes: %d; acme-tls/1 selected with the normal certificate for: %s"
          % (n, sorted(set(alpn_selected))))
