"""Helpers of the reliability tests: acmectl issuance, status, and whole-store integrity checks (files parse, no temp files, locks free, one account)."""
import datetime
import fcntl
import glob
import json
import os
import re
import stat

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from fixtures.certs import load_pem_chain

EMAIL = "admin@example.org"


def dirname(name):
    name = name.lower()
    return "_" + name[1:] if name.startswith("*.") else name


def issue_args(store, ca, names, webroot=None, dns=None, extra=()):
    """acmectl issue arguments against ca (Pebble or a proxy: .directory_url, .ca_cert)."""
    args = ["-s", store, "issue", "--ca", ca.directory_url, "--ca-cert", ca.ca_cert,
            "--email", EMAIL, "--agree-tos"]
    if webroot:
        args += ["--webroot", webroot]
    if dns:
        args += ["--dns-command", dns]
    return args + list(extra) + list(names)


def assert_ok(res):
    assert res.returncode == 0, "acmectl failed (exit %d): %s" % (res.returncode, res.stderr)


def error_line(res):
    """The final one-line 'acmectl: ...' error of a failed run."""
    assert res.returncode != 0, res.stdout
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert lines and lines[-1].startswith("acmectl:"), res.stderr
    for bad in ("Traceback", "Segmentation", "AddressSanitizer", "core dumped"):
        assert bad not in res.stderr
    return lines[-1]


def status(acmectl, store, domain):
    res = acmectl("-s", store, "status", domain)
    assert_ok(res)
    obj = json.loads(res.stdout)
    if isinstance(obj, dict) and "domains" in obj:
        found = [d for d in obj["domains"] if d.get("name") == domain]
        assert found, obj
        return found[0]
    return obj


def parse_rfc3339(text):
    t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def active_leaf(store, domain, key_type="ec256"):
    """The active leaf certificate (cryptography) or None."""
    path = os.path.join(store, "domains", dirname(domain), "fullchain.%s.pem" % key_type)
    try:
        with open(path, "rb") as f:
            return load_pem_chain(f.read())[0]
    except FileNotFoundError:
        return None


def active_fingerprint(store, domain):
    leaf = active_leaf(store, domain)
    return leaf.fingerprint(leaf.signature_hash_algorithm).hex() if leaf else None


def check_active(store, domain, names, pebble_roots=None):
    """The active set of domain is sound: key matches, names covered, not expired,
    issued by Pebble (never forged material). Returns the leaf."""
    d = os.path.join(store, "domains", dirname(domain))
    with open(os.path.join(d, "fullchain.pem"), "rb") as f:
        chain = load_pem_chain(f.read())
    with open(os.path.join(d, "privkey.pem"), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    leaf = chain[0]
    pub = lambda k: k.public_bytes(serialization.Encoding.DER,  # noqa: E731
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    assert pub(leaf.public_key()) == pub(key.public_key()), "key does not match"
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(n.lower() for n in names) == sorted(sans.get_values_for_type(x509.DNSName))
    assert leaf.not_valid_after > datetime.datetime.utcnow()
    assert "Pebble" in chain[-1].issuer.rfc4514_string() or "Pebble" in leaf.issuer.rfc4514_string()
    assert "Forger" not in " ".join(c.issuer.rfc4514_string() for c in chain)
    assert stat.S_IMODE(os.stat(os.path.join(d, "privkey.pem")).st_mode) == 0o600
    return leaf


def is_temp(name):
    return ".tmp." in name or name.endswith(".tmp")


def store_files(store):
    for root, dirs, files in os.walk(store):
        for f in files:
            yield os.path.join(root, f)


def parse_problems(store):
    """Every store file that does not parse: [(path, why)]. JSON must parse,
    PEM certificates and keys must load; temp files and locks are skipped."""
    bad = []
    for path in store_files(store):
        name = os.path.basename(path)
        if is_temp(name) or name == ".lock":
            continue
        try:
            with open(path, "rb") as f:
                data = f.read()
            if name.endswith(".json"):
                json.loads(data)
            elif name.endswith(".pem"):
                m = re.search(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
                              data, re.S)
                if m:
                    serialization.load_pem_private_key(m.group(0), None)
                if b"BEGIN CERTIFICATE" in data:
                    assert load_pem_chain(data)
                if not data.strip():
                    raise ValueError("empty")
        except Exception as exc:  # noqa: BLE001 - any failure to parse is corruption
            bad.append((path, repr(exc)))
    return bad


def temp_files(store):
    return [p for p in store_files(store) if is_temp(os.path.basename(p))]


def held_locks(store):
    """Every state/<entry>/.lock can be taken now (no orphaned lock): [held paths]."""
    held = []
    for path in glob.glob(os.path.join(store, "state", "*", ".lock")):
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError:
            held.append(path)
        finally:
            os.close(fd)
    return held


def accounts(store):
    """account.pem files (one per CA expected)."""
    return glob.glob(os.path.join(store, "accounts", "*", "account.pem"))


def age_temp_files(store, seconds=3600):
    """Make crash leftovers look old so the store's sweep removes them."""
    for p in temp_files(store):
        st = os.lstat(p)
        os.utime(p, (st.st_atime - seconds, st.st_mtime - seconds), follow_symlinks=False)
