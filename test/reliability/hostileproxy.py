"""A test-only hostile CA: an HTTPS proxy in front of Pebble that puts names nobody ordered (or hostile strings) into authorizations and hands over plain-http URLs, with a plain listener that counts every connection reaching it."""
import json
import socket
import threading

from fixtures.ca import free_port
from fixtures.proxy import PebbleProxy

# Where a URL can be rewritten to plain http (HostileProxy(plain=...)).
URL_KINDS = ("newNonce", "renewalInfo", "account", "order", "authz", "challenge", "finalize",
             "certificate", "link")


class PlainListener:
    """127.0.0.1:<port> without TLS: every connection is counted (a plaintext
    request from the client would be one) and closed."""

    def __init__(self):
        self.port = free_port()
        self.connections = 0
        self._sock = None
        self._lock = threading.Lock()

    def start(self):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.listen(16)
        threading.Thread(target=self._loop, daemon=True).start()
        return self

    def _loop(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            try:
                conn.settimeout(2)
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 500 Plaintext\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass
            finally:
                conn.close()

    def stop(self):
        if self._sock:
            self._sock.close()
            self._sock = None


class HostileProxy(PebbleProxy):
    """Pebble behind https://127.0.0.1:<port>, made hostile:

    identifier: the value every authorization's identifier gets (None: kept);
    plain: URL kinds (URL_KINDS) handed over as http://127.0.0.1:<plain port>.
    .hostile counts the answers changed."""

    client_timeout = 60

    def __init__(self, pebble, identifier=None, plain=()):
        super().__init__(pebble)
        assert all(k in URL_KINDS for k in plain), plain
        self.identifier = identifier
        self.plain = set(plain)
        self.listener = PlainListener()
        self.hostile = 0

    def start(self):
        self.listener.start()
        return super().start()

    def stop(self):
        super().stop()
        self.listener.stop()

    @property
    def plaintext_requests(self):
        return self.listener.connections

    def _http(self, url):
        """The same URL over plain http, to the counting listener."""
        return url.replace(self.base_url, "http://127.0.0.1:%d" % self.listener.port)

    def serve(self, h, method, path, body):
        status, headers, data = self._forward(method, path, h.headers, body)
        changed = False
        obj = None
        if data[:1] == b"{":
            try:
                obj = json.loads(data)
            except ValueError:
                obj = None
        if isinstance(obj, dict):
            changed = self._rewrite_object(path, obj)
            if changed:
                data = json.dumps(obj).encode()
        headers, hchanged = self._rewrite_headers(method, path, headers)
        if changed or hchanged:
            with self._lock:
                self.hostile += 1
        self._reply(h, status, headers, data, head=(method == "HEAD"))

    def _rewrite_object(self, path, obj):
        changed = False
        if path == "/dir":
            if "newNonce" in self.plain:
                obj["newNonce"] = self._http(obj["newNonce"])
                changed = True
            if "renewalInfo" in self.plain:
                obj["renewalInfo"] = self._http(self.base_url + "/renewal-info")
                changed = True
        if isinstance(obj.get("identifier"), dict) and "challenges" in obj:
            if self.identifier is not None:
                obj["identifier"]["value"] = self.identifier
                changed = True
            if "challenge" in self.plain:
                for c in obj["challenges"]:
                    c["url"] = self._http(c["url"])
                changed = True
        if "authorizations" in obj and "finalize" in obj:
            if "authz" in self.plain:
                obj["authorizations"] = [self._http(u) for u in obj["authorizations"]]
                changed = True
            if "finalize" in self.plain:
                obj["finalize"] = self._http(obj["finalize"])
                changed = True
            if "certificate" in self.plain and "certificate" in obj:
                obj["certificate"] = self._http(obj["certificate"])
                changed = True
        return changed

    def _rewrite_headers(self, method, path, headers):
        out, changed = [], False
        for k, v in headers:
            low = k.lower()
            if low == "location" and method == "POST" and (
                    ("account" in self.plain and path.startswith("/sign-me-up"))
                    or ("order" in self.plain and path.startswith("/order-plz"))):
                v, changed = self._http(v), True
            elif low == "link" and "link" in self.plain:
                v, changed = self._http(v), True
            out.append((k, v))
        return out, changed
