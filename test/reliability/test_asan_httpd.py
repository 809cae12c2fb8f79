"""httpd with an ASan+UBSan build of mod_acme (runtime by LD_PRELOAD) through a full issuance, a renewal and its graceful restart: no sanitizer report."""
import glob
import os
import re
import shutil
import subprocess

import pytest

import figures
from fixtures.httpd import wait_for

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _asan_build():
    d = os.environ.get("ACME_ASAN_BUILD_DIR") or os.path.join(REPO, "build-asan")
    mod = os.path.join(d, "mod", ".libs", "mod_acme.so")
    return (d, mod) if os.path.isfile(mod) else (None, None)


def _runtime(mod):
    """The ASan runtime the module needs: libasan (gcc) from ldd, else clang's."""
    out = subprocess.run(["ldd", mod], capture_output=True, text=True).stdout
    m = re.search(r"(\S*libasan\.so\S*) => (\S+)", out)
    if m:
        return m.group(2)
    if shutil.which("clang"):
        path = subprocess.run(["clang", "-print-file-name=libclang_rt.asan-x86_64.so"],
                              capture_output=True, text=True).stdout.strip()
        if os.path.isfile(path):
            return path
    return None


def test_httpd_with_asan_module(httpd_factory, pebble_factory, monkeypatch, test_dir):
    build, mod = _asan_build()
    if not build:
        pytest.skip("no sanitizer build (set ACME_ASAN_BUILD_DIR or build build-asan/)")
    rt = _runtime(mod)
    if not rt:
        pytest.skip("ASan runtime not found for %s" % mod)
    logdir = os.path.join(test_dir, "asan")
    os.makedirs(logdir)
    os.chmod(logdir, 0o777)   # the www-data children write their reports too
    monkeypatch.setenv("ACME_BUILD_DIR", build)
    monkeypatch.setenv("LD_PRELOAD", rt)
    # Leak checking is off: httpd frees its pools by exiting, not one by one.
    monkeypatch.setenv("ASAN_OPTIONS", "detect_leaks=0:log_path=%s/asan:abort_on_error=0"
                       % logdir)
    monkeypatch.setenv("UBSAN_OPTIONS", "print_stacktrace=1:log_path=%s/ubsan" % logdir)
    pebble = pebble_factory(validity=30)
    h = httpd_factory(pebble)
    h.add("ACMERenewWindow 75%", "ACMECheckInterval 1s")
    h.ssl_vhost("asan.test", ["www.asan.test"])
    h.start()
    serials = []

    def new_cert():
        c = h.served_cert("asan.test")
        if "Pebble" in c.issuer.rfc4514_string() and c.serial_number not in serials:
            serials.append(c.serial_number)
        return len(serials) >= 2
    with open("/proc/%d/maps" % h.pid()) as f:
        maps = f.read()
    assert "asan" in maps and "mod_acme.so" in maps, "the sanitizer runtime is not loaded"
    wait_for(new_cert, 180, interval=0.5, what="an issuance and a renewal")
    figures.add("issuances", len(serials))
    assert h.starts() >= 2, "no graceful restart seen"
    # A normal request and a challenge miss go through the instrumented hooks too.
    h.request("/", "asan.test", tls=True)
    h.request("/.well-known/acme-challenge/nope", "asan.test", port=h.http_port)
    h.stop()
    reports = []
    for path in glob.glob(os.path.join(logdir, "*")):
        with open(path, errors="replace") as f:
            reports.append((path, f.read()[-3000:]))
    log = h.error_log()
    assert "AddressSanitizer" not in log and "runtime error" not in log
    assert not reports, reports
    print("asan httpd: %d certificates, %d starts, runtime %s" % (len(serials), h.starts(), rt))
