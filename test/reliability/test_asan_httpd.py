"""httpd with an ASan+UBSan build of mod_acme (runtime by LD_PRELOAD): a full issuance, a renewal and its graceful restart, and children exiting in the middle of a watchdog tick; no sanitizer report."""
import glob
import os
import re
import shutil
import subprocess

import pytest

import figures
from fixtures.httpd import live_processes, pid_alive, wait_for

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


def _asan_httpd(httpd_factory, pebble, monkeypatch, test_dir):
    """An httpd (not started) whose mod_acme is the sanitizer build, the runtime
    preloaded; reports go to the returned directory. Skips without the build."""
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
    # symbolize=0: a report is written whole at once (module+offset), not cut
    # short when httpd kills a child that is still symbolizing.
    monkeypatch.setenv("ASAN_OPTIONS", "detect_leaks=0:symbolize=0:log_path=%s/asan:"
                       "abort_on_error=0" % logdir)
    monkeypatch.setenv("UBSAN_OPTIONS", "print_stacktrace=1:log_path=%s/ubsan" % logdir)
    return httpd_factory(pebble), logdir


def _symbolized(text):
    """A report with its `(module+0xoff)` frames resolved (asan_symbolize), when possible."""
    tool = shutil.which("asan_symbolize") or shutil.which("asan_symbolize-14")
    if not tool:
        return text
    try:
        return subprocess.run([tool], input=text, capture_output=True, text=True,
                              timeout=120).stdout or text
    except (OSError, subprocess.SubprocessError):
        return text


def _assert_no_reports(h, logdir):
    reports = []
    for path in glob.glob(os.path.join(logdir, "*")):
        with open(path, errors="replace") as f:
            reports.append("%s:\n%s" % (path, _symbolized(f.read())[-6000:]))
    log = h.error_log()
    assert "AddressSanitizer" not in log and "runtime error" not in log
    assert not reports, "\n".join(reports)


def _children(ppid):
    """httpd's children (not the parent, not the helpers it runs)."""
    out = []
    for pid, fields, _ in live_processes():
        try:
            with open("/proc/%d/comm" % pid) as f:
                comm = f.read().strip()
        except OSError:
            continue
        if int(fields[1]) == ppid and comm == "apache2":
            out.append(pid)
    return out


def test_httpd_with_asan_module(httpd_factory, pebble_factory, monkeypatch, test_dir):
    pebble = pebble_factory(validity=30)
    h, logdir = _asan_httpd(httpd_factory, pebble, monkeypatch, test_dir)
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
    _assert_no_reports(h, logdir)


def test_child_exit_in_the_first_pass(httpd_factory, pebble_factory, monkeypatch, test_dir):
    """A child that exits while its watchdog is still in the first pass (the
    pass parses every certificate: OpenSSL's decoders load then): exit() runs
    OpenSSL's cleanup, and mod_watchdog stops its thread only after that.
    Graceful restarts, each the moment the new watchdog started, put the exit
    there again and again: the drive must end before exit()."""
    pebble = pebble_factory()
    h, logdir = _asan_httpd(httpd_factory, pebble, monkeypatch, test_dir)
    names = ["exit%d.test" % i for i in range(6)]
    for name in names:
        h.ssl_vhost(name)
    h.start()
    for name in names:
        wait_for(lambda: pebble.issued_by(h.served_cert(name)), 180, interval=0.5,
                 what="a certificate for " + name)
    mark = "watchdog started in child"
    for _ in range(12):
        seen = h.error_log().count(mark)
        old = _children(h.pid())
        h.graceful()
        wait_for(lambda: h.error_log().count(mark) > seen, 60, interval=0.05,
                 what="the new generation's watchdog")
        wait_for(lambda: not any(pid_alive(p) for p in old), 60, interval=0.2,
                 what="the old generation's children to exit")
    h.stop()
    _assert_no_reports(h, logdir)
