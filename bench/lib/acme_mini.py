"""A minimal, fast ACME client (ES256, http-01 answered by challtestsrv) used only to measure Pebble's own issuance ceiling."""
import base64
import hashlib
import http.client
import json
import ssl
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Client:
    """One account on one keep-alive connection; not thread-safe (one per thread)."""

    def __init__(self, directory_url, ca_file, challtest_mgmt):
        u = urllib.parse.urlsplit(directory_url)
        self.host, self.port = u.hostname, u.port
        self.conn = http.client.HTTPSConnection(self.host, self.port, timeout=10,
                                                context=ssl.create_default_context(cafile=ca_file))
        self.mgmt = http.client.HTTPConnection("127.0.0.1", challtest_mgmt, timeout=30)
        self.dir = self._request("GET", urllib.parse.urlsplit(directory_url).path)[2]
        self.key = ec.generate_private_key(ec.SECP256R1())
        nums = self.key.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC", "x": b64u(nums.x.to_bytes(32, "big")),
                    "y": b64u(nums.y.to_bytes(32, "big"))}
        self.thumb = b64u(hashlib.sha256(
            json.dumps(self.jwk, sort_keys=True, separators=(",", ":")).encode()).digest())
        self.nonce = None
        self.kid = None

    def _request(self, method, url, body=None, ctype=None):
        path = urllib.parse.urlsplit(url).path if url.startswith("http") else url
        headers = {"Content-Type": ctype} if ctype else {}
        self.conn.request(method, path, body=body, headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        nonce = r.getheader("Replay-Nonce")
        if nonce:
            self.nonce = nonce
        doc = json.loads(data) if data and "json" in (r.getheader("Content-Type") or "") else data
        return r.status, r, doc

    def post(self, url, payload):
        if not self.nonce:
            self._request("HEAD", self.dir["newNonce"])
        prot = {"alg": "ES256", "nonce": self.nonce, "url": url}
        if self.kid:
            prot["kid"] = self.kid
        else:
            prot["jwk"] = self.jwk
        self.nonce = None
        p64 = b64u(json.dumps(prot))
        pl64 = "" if payload is None else b64u(json.dumps(payload))
        der = self.key.sign(("%s.%s" % (p64, pl64)).encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        body = json.dumps({"protected": p64, "payload": pl64,
                           "signature": b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))})
        status, resp, doc = self._request("POST", url, body, "application/jose+json")
        if status >= 400:
            raise RuntimeError("ACME %s: %s %s" % (url, status, doc))
        return status, resp, doc

    def register(self):
        _, resp, _ = self.post(self.dir["newAccount"], {"termsOfServiceAgreed": True})
        self.kid = resp.getheader("Location")

    def _poll(self, url, want, limit=60.0):
        end = time.monotonic() + limit
        while time.monotonic() < end:
            doc = self.post(url, None)[2]
            if doc["status"] == want:
                return doc
            if doc["status"] == "invalid":
                raise RuntimeError("%s invalid: %s" % (url, doc))
            time.sleep(0.01)
        raise TimeoutError(url)

    def _add_http01(self, token, keyauth):
        self.mgmt.request("POST", "/add-http01", json.dumps({"token": token, "content": keyauth}))
        self.mgmt.getresponse().read()

    def issue(self, name):
        """One certificate for name: order, http-01, finalize, download."""
        _, resp, order = self.post(self.dir["newOrder"],
                                   {"identifiers": [{"type": "dns", "value": name}]})
        order_url = resp.getheader("Location")
        for authz_url in order["authorizations"]:
            authz = self.post(authz_url, None)[2]
            if authz["status"] == "valid":
                continue
            ch = [c for c in authz["challenges"] if c["type"] == "http-01"][0]
            self._add_http01(ch["token"], "%s.%s" % (ch["token"], self.thumb))
            self.post(ch["url"], {})
            self._poll(authz_url, "valid")
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
               .sign(key, hashes.SHA256()))
        self.post(order["finalize"], {"csr": b64u(csr.public_bytes(serialization.Encoding.DER))})
        order = self._poll(order_url, "valid")
        pem = self.post(order["certificate"], None)[2]
        if b"BEGIN CERTIFICATE" not in pem:
            raise RuntimeError("no certificate for %s" % name)
        return pem
