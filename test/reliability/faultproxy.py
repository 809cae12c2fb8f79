"""A test-only HTTPS fault-injection proxy between an ACME client and Pebble: error statuses, Retry-After, dropped or stalled connections, broken bodies and forged certificates."""
import datetime
import json
import re
import socket
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fixtures.certs import b64u_decode
from fixtures.proxy import PebbleProxy

# Fault kinds the proxy knows; tests name them in Fault(kind=...).
KINDS = ("status", "drop", "stall", "truncate", "malformed", "content_type", "oversize",
         "cert_wrong_key", "cert_wrong_names", "cert_expired")


class Fault:
    """One rule: requests whose "METHOD path" matches `match` (regex) get `kind`.

    status/retry_after for kind "status"; times: how many requests to hit
    (None: until removed); stall: seconds to hold a stalled body."""

    def __init__(self, kind, match, status=500, retry_after=None, times=None, stall=60.0,
                 problem="urn:ietf:params:acme:error:serverInternal"):
        assert kind in KINDS, kind
        self.kind = kind
        self.match = re.compile(match)
        self.status = status
        self.retry_after = retry_after
        self.times = times
        self.stall = stall
        self.problem = problem
        self.hits = 0

    def wants(self, method, path):
        if self.times is not None and self.hits >= self.times:
            return False
        return bool(self.match.search("%s %s" % (method, path)))


class _Forger:
    """A throw-away CA that signs leaf certificates which must never be activated."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.utcnow()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fault Proxy Forger CA")])
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=30))
                     .not_valid_after(now + datetime.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                     .sign(self.key, hashes.SHA256()))

    def leaf(self, public_key, names, expired=False):
        now = datetime.datetime.utcnow()
        if expired:
            nb, na = now - datetime.timedelta(days=20), now - datetime.timedelta(days=10)
        else:
            nb, na = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=10)
        sans = [x509.DNSName(n) for n in names]
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([]))
                .issuer_name(self.cert.subject)
                .public_key(public_key).serial_number(x509.random_serial_number())
                .not_valid_before(nb).not_valid_after(na)
                .add_extension(x509.SubjectAlternativeName(sans), True)
                .sign(self.key, hashes.SHA256()))
        return (cert.public_bytes(serialization.Encoding.PEM)
                + self.cert.public_bytes(serialization.Encoding.PEM))


class FaultProxy(PebbleProxy):
    """https://127.0.0.1:<port> in front of a started Pebble (same TLS cert and CA).

    add(Fault(...)) / clear(); .injected counts faulted requests, .log lists
    (method, path, kind) of each, .requests every (method, path) seen."""

    client_timeout = 120

    def __init__(self, pebble):
        super().__init__(pebble)
        self.faults = []
        self.injected = 0
        self.log = []
        self.requests = []
        self.accounts = set()        # account URLs Pebble answered newAccount with
        self.bad_nonces = 0          # badNonce answers passed through from Pebble
        self._stop = threading.Event()
        self._forger = _Forger()

    def stop(self):
        self._stop.set()
        super().stop()

    # -- rules --------------------------------------------------------------------
    def add(self, fault):
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self):
        with self._lock:
            self.faults = []
        self._stop.set()            # release stalled bodies
        self._stop = threading.Event()

    def _pick(self, method, path):
        with self._lock:
            self.requests.append((method, path))
            for f in self.faults:
                if f.wants(method, path):
                    f.hits += 1
                    self.injected += 1
                    self.log.append((method, path, f.kind))
                    return f
        return None

    # -- request handling -----------------------------------------------------------
    def serve(self, h, method, path, body):
        if method == "POST" and "/finalize-order/" in path:
            self._remember_csr(body)
        fault = self._pick(method, path)
        if fault and fault.kind in ("status", "drop", "oversize"):
            return self._pre_fault(h, fault, method)
        status, headers, data = self._forward(method, path, h.headers, body)
        if status == 400 and b"badNonce" in data:
            with self._lock:
                self.bad_nonces += 1
        if method == "POST" and path.startswith("/sign-me-up") and status in (200, 201):
            with self._lock:
                self.accounts.update(v for k, v in headers if k.lower() == "location")
        if fault:
            return self._post_fault(h, fault, status, headers, data, method)
        self._reply(h, status, headers, data, head=(method == "HEAD"))

    def _pre_fault(self, h, fault, method):
        """Faults that never reach Pebble."""
        if fault.kind == "drop":
            self._drop(h)
            return
        if fault.kind == "oversize":
            data = b'{"junk": "' + b"A" * (3 * 1024 * 1024) + b'"}'
            try:
                self._reply(h, 200, [("Content-Type", "application/json"),
                                     ("Replay-Nonce", "bm9uY2U")], data)
            except OSError:
                pass
            return
        problem = json.dumps({"type": fault.problem,
                              "detail": "fault proxy: injected HTTP %d" % fault.status,
                              "status": fault.status}).encode()
        headers = [("Content-Type", "application/problem+json")]
        if fault.retry_after is not None:
            headers.append(("Retry-After", str(fault.retry_after)))
        self._reply(h, fault.status, headers, problem, head=(method == "HEAD"))

    def _post_fault(self, h, fault, status, headers, data, method):
        """Faults applied to Pebble's real answer."""
        kind = fault.kind
        if kind == "truncate":
            data = data[: max(1, len(data) // 2)]
        elif kind == "malformed":
            data = b'{"status": "valid", "oops": [1, 2,, }' + b"\x00\xff"
        elif kind == "content_type":
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            headers.append(("Content-Type", "text/html; charset=utf-8"))
        elif kind.startswith("cert_"):
            data = self._forge(data, kind)
        if kind == "stall":
            return self._stall(h, status, headers, data, fault.stall)
        self._reply(h, status, headers, data, head=(method == "HEAD"))

    def _drop(self, h):
        """Close the TCP connection without any answer."""
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _stall(self, h, status, headers, data, seconds):
        """Send the headers and half the body, then hang."""
        stop = self._stop
        try:
            self._send_head(h, status, headers, len(data))
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
        except OSError:
            return
        stop.wait(seconds)
        h.close_connection = True

    def _remember_csr(self, body):
        try:
            jws = json.loads(body)
            payload = json.loads(b64u_decode(jws["payload"]))
            csr = x509.load_der_x509_csr(b64u_decode(payload["csr"]))
            names = csr.extensions.get_extension_for_class(
                x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
            with self._lock:
                self._last_csr = (csr.public_key(), names)
        except (ValueError, KeyError, TypeError, x509.ExtensionNotFound):
            pass

    def _forge(self, data, kind):
        """Replace a downloaded chain by a forged one that must fail verification."""
        csr = getattr(self, "_last_csr", None)
        if not csr or b"BEGIN CERTIFICATE" not in data:
            return data
        pub, names = csr
        if kind == "cert_wrong_key":
            pub = ec.generate_private_key(ec.SECP256R1()).public_key()
        elif kind == "cert_wrong_names":
            names = ["not-%s" % n for n in names] or ["wrong.example"]
        return self._forger.leaf(pub, names, expired=(kind == "cert_expired"))
