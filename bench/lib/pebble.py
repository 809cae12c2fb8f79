"""Starts Pebble and pebble-challtestsrv (mock DNS) on free loopback ports for one benchmark run."""
import datetime
import json
import os
import ssl
import subprocess
import time
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from . import common


def _write_tls_material(d):
    """A throw-away CA and a server certificate for 127.0.0.1/localhost (Pebble ships none)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench pebble TLS CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {"ca": os.path.join(d, "pebble-tls-ca.pem"), "cert": os.path.join(d, "pebble-cert.pem"),
             "key": os.path.join(d, "pebble-key.pem")}
    with open(paths["ca"], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths["cert"], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["key"], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(paths["key"], 0o600)
    for p in ("ca", "cert"):
        os.chmod(paths[p], 0o644)
    return paths


class Pebble:
    """One Pebble + challtestsrv pair; http_port/tls_port are where Pebble validates challenges."""

    def __init__(self, workdir, http_port, tls_port, env=None, validity=None,
                 challtest_http01=False):
        self.dir = os.path.join(workdir, "pebble")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.http_port, self.tls_port = http_port, tls_port
        self.extra_env = env or {}
        self.validity = validity
        self.challtest_http01 = challtest_http01  # challtestsrv answers http-01 on http_port
        self.procs = []
        self.port, self.mgmt_port, self.dns_port, self.dns_mgmt_port = common.free_ports(4)
        self.tls = None
        self.intermediate_pem = None

    @property
    def directory_url(self):
        return "https://127.0.0.1:%d/dir" % self.port

    @property
    def ca_file(self):
        """Trust anchor for Pebble's own HTTPS (ACMECACertificateFile, MDCACertificateFile)."""
        return self.tls["ca"]

    def start(self):
        self.tls = _write_tls_material(self.dir)
        self._start_dns()
        cfg = {"pebble": {
            "listenAddress": "127.0.0.1:%d" % self.port,
            "managementListenAddress": "127.0.0.1:%d" % self.mgmt_port,
            "certificate": self.tls["cert"], "privateKey": self.tls["key"],
            "httpPort": self.http_port, "tlsPort": self.tls_port,
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}
        if self.validity:
            cfg["pebble"]["certificateValidityPeriod"] = int(self.validity)
        cfg_path = os.path.join(self.dir, "pebble-config.json")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        env = dict(os.environ)
        env.update({"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"})
        env.update(self.extra_env)
        log = open(os.path.join(self.dir, "pebble.log"), "wb")
        self.procs.append(subprocess.Popen(
            ["pebble", "-config", cfg_path, "-dnsserver", "127.0.0.1:%d" % self.dns_port],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.dir))
        common.wait_port(self.port)
        common.wait_port(self.mgmt_port)
        self.intermediate_pem = self._mgmt_get("/intermediates/0")
        return self

    def _start_dns(self):
        log = open(os.path.join(self.dir, "challtestsrv.log"), "wb")
        self.procs.append(subprocess.Popen(
            ["pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
             "-dns01", "127.0.0.1:%d" % self.dns_port,
             "-http01", "127.0.0.1:%d" % self.http_port if self.challtest_http01 else "",
             "-https01", "",
             "-tlsalpn01", "", "-management", "127.0.0.1:%d" % self.dns_mgmt_port],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.dir))
        common.wait_port(self.dns_mgmt_port)

    def _ssl_ctx(self):
        return ssl.create_default_context(cafile=self.tls["ca"])

    def _mgmt_get(self, path):
        url = "https://127.0.0.1:%d%s" % (self.mgmt_port, path)
        for _ in range(50):
            try:
                with urllib.request.urlopen(url, context=self._ssl_ctx(), timeout=5) as r:
                    return r.read()
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("Pebble management %s unreachable" % url)

    def intermediate_subject(self):
        """Issuer name of every certificate this Pebble issues."""
        cert = x509.load_pem_x509_certificate(self.intermediate_pem)
        return cert.subject

    def stop(self):
        for p in reversed(self.procs):
            common.stop_process(p)
        self.procs = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
