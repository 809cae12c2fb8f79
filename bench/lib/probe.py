"""TLS client checks: which certificate httpd serves per SNI name, and whether it was issued by Pebble."""
import os
import socket
import ssl
import time

from cryptography import x509

_CTX = None


def _ctx():
    global _CTX  # a read-only client context, created once per process
    if _CTX is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["http/1.1"])
        _CTX = ctx
    return _CTX


def served_cert(port, name, timeout=3.0):
    """The leaf certificate served for SNI `name` on 127.0.0.1:port, or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
            with _ctx().wrap_socket(raw, server_hostname=name) as tls:
                der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
    return x509.load_der_x509_certificate(der) if der else None


def is_issued(cert, issuer, name):
    """True when cert was issued by `issuer` (an x509.Name) and names `name` in its SANs."""
    if cert is None or cert.issuer != issuer:
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return name in san.get_values_for_type(x509.DNSName)


def wait_served(port, names, issuer, t0, timeout, interval=0.1, alive=None):
    """Wait until every name is served with a certificate from issuer.

    Names are checked in order, one handshake per interval while the current one
    is not served yet, so polling costs httpd almost nothing. Returns
    (seconds from t0 until all were served or None on timeout, seconds until the first)."""
    pending = list(names)
    first = None
    end = t0 + timeout
    while pending and time.monotonic() < end:
        if is_issued(served_cert(port, pending[0]), issuer, pending[0]):
            pending.pop(0)
            if first is None:
                first = time.monotonic() - t0
            continue
        if alive is not None and not alive():
            return None, first
        time.sleep(interval)
    if pending:
        return None, first
    return time.monotonic() - t0, first


def wait_files(paths, t0, timeout, interval=0.05):
    """Wait until every path exists (mod_md's staged certificates). Returns (all, first) seconds."""
    pending = list(paths)
    first = None
    end = t0 + timeout
    while pending and time.monotonic() < end:
        pending = [p for p in pending if not os.path.exists(p)]
        if first is None and len(pending) < len(paths):
            first = time.monotonic() - t0
        if pending:
            time.sleep(interval)
    if pending:
        return None, first
    return time.monotonic() - t0, first


def https_get(port, name, path="/", timeout=3.0):
    """Status code of GET https://name:port/path (certificate not checked), or None."""
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, name)).encode()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
            with _ctx().wrap_socket(raw, server_hostname=name) as tls:
                tls.sendall(req)
                head = tls.recv(64)
    except (OSError, ssl.SSLError):
        return None
    try:
        return int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def wait_https(port, name, t0, timeout, interval=0.01):
    """Seconds from t0 until an HTTPS request for name gets any HTTP answer."""
    end = t0 + timeout
    while time.monotonic() < end:
        # Short attempts: a connection made before the children run waits in the backlog.
        if https_get(port, name, path="/index.html", timeout=0.25) is not None:
            return time.monotonic() - t0
        time.sleep(interval)
    return None
