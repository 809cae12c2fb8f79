"""Runs certbot (webroot, one lineage per domain) against a benchmark's Pebble, as an Apache admin's script would."""
import os
import shutil
import subprocess
import time

CERTBOT = "certbot"


def available():
    return shutil.which(CERTBOT) is not None


class Certbot:
    """certbot with its config, work and logs directories under workdir; webroot is httpd's DocumentRoot."""

    def __init__(self, workdir, server, ca_file, webroot):
        self.dir = os.path.join(workdir, "certbot")
        self.server, self.webroot = server, webroot
        self.env = dict(os.environ, REQUESTS_CA_BUNDLE=ca_file)  # trust Pebble's own HTTPS

    def live(self, name):
        """(certificate chain, key) of the domain's lineage."""
        d = os.path.join(self.dir, "config", "live", name)
        return os.path.join(d, "fullchain.pem"), os.path.join(d, "privkey.pem")

    def certonly(self, name, timeout):
        """One `certbot certonly --webroot` for one domain; returns None or the error text."""
        cmd = [CERTBOT, "certonly", "--webroot", "-w", self.webroot, "-d", name,
               "--server", self.server, "--non-interactive", "--agree-tos",
               "--register-unsafely-without-email",
               "--key-type", "ecdsa", "--elliptic-curve", "secp256r1",  # mod_acme's default ec256
               "--config-dir", os.path.join(self.dir, "config"),
               "--work-dir", os.path.join(self.dir, "work"),
               "--logs-dir", os.path.join(self.dir, "logs")]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, env=self.env,
                               timeout=max(timeout, 1))
        except subprocess.TimeoutExpired:
            return "certbot for %s: no answer within %.0fs" % (name, timeout)
        if r.returncode != 0 or not all(os.path.exists(p) for p in self.live(name)):
            return "certbot for %s (exit %d): %s" % (name, r.returncode, r.stderr.strip()[-400:])
        return None

    def issue_all(self, names, t0, timeout):
        """One lineage per name, one invocation after another (certbot locks its directories,
        so parallel runs would need separate accounts). Returns (all, first, error): seconds from t0."""
        first = None
        for name in names:
            err = self.certonly(name, t0 + timeout - time.monotonic())
            if err:
                return None, first, err
            if first is None:
                first = time.monotonic() - t0
        return time.monotonic() - t0, first, None
