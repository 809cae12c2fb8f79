"""Memory checks: an acmectl issuance (and a failing one behind a fault) under valgrind memcheck against Pebble; the C unit tests under scripts/valgrind (long run only); fuzz execution figures from the last scripts/fuzz run."""
import glob
import os
import re
import shutil
import subprocess

import pytest

import figures
from faultproxy import Fault, FaultProxy
from fixtures.ca import acmectl_path, build_dir
from relutil import check_active, issue_args

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LONG = os.environ.get("ACME_RELIABILITY_LONG") == "1"
VG = ["valgrind", "--tool=memcheck", "--error-exitcode=99", "--leak-check=full",
      "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect",
      "--num-callers=30"]


def _vg_run(log, args, timeout=600):
    res = subprocess.run(VG + ["--log-file=" + log, acmectl_path()] + list(args),
                         capture_output=True, text=True, timeout=timeout,
                         stdin=subprocess.DEVNULL)
    with open(log) as f:
        text = f.read()
    m = re.findall(r"ERROR SUMMARY: (\d+) errors", text)
    errors = int(m[-1]) if m else -1
    return res, errors, text


@pytest.fixture
def valgrind():
    if not shutil.which("valgrind"):
        pytest.skip("valgrind not installed")
    if not os.access(acmectl_path(), os.X_OK):
        pytest.skip("acmectl not built")


def test_acmectl_issuance_under_valgrind(valgrind, pebble, webroot_server, test_dir):
    store = os.path.join(test_dir, "store")
    log = os.path.join(test_dir, "valgrind-issue.log")
    res, errors, text = _vg_run(log, issue_args(store, pebble, ["vg.example", "www.vg.example"],
                                                webroot=webroot_server.root))
    figures.add("valgrind_errors", max(errors, 0))
    assert res.returncode == 0, "acmectl under valgrind failed (%d): %s\n%s" % (
        res.returncode, res.stderr[-2000:], text[-3000:])
    assert errors == 0, text[-6000:]
    figures.add("issuances")
    check_active(store, "vg.example", ["vg.example", "www.vg.example"])
    # status and a failing drive (bad body from the CA) are leak-free too
    res, errors, text = _vg_run(log + ".status", ["-s", store, "status"])
    figures.add("valgrind_errors", max(errors, 0))
    assert res.returncode == 0 and errors == 0, text[-4000:]


def test_acmectl_failure_under_valgrind(valgrind, pebble, webroot_server, test_dir):
    proxy = FaultProxy(pebble).start()
    try:
        store = os.path.join(test_dir, "store")
        log = os.path.join(test_dir, "valgrind-fail.log")
        args = issue_args(store, proxy, ["vgf.example"], webroot=webroot_server.root)
        faults = [Fault("malformed", r"^POST /order-plz")]
        if LONG:
            faults.append(Fault("cert_wrong_names", r"^POST /certZ/"))
        for fault in faults:
            proxy.clear()
            proxy.add(fault)
            res, errors, text = _vg_run(log, args)
            figures.add("faults", fault.hits)
            figures.add("bad_inputs", fault.hits)
            figures.add("valgrind_errors", max(errors, 0))
            assert res.returncode == 1, res.stderr[-2000:]
            assert errors == 0, text[-6000:]
    finally:
        proxy.stop()


@pytest.mark.skipif(not LONG and os.environ.get("ACME_RELIABILITY_VALGRIND_UNITS") != "1",
                    reason="long run only (ACME_RELIABILITY_LONG=1 or ACME_RELIABILITY_VALGRIND_UNITS=1)")
def test_unit_tests_under_valgrind(valgrind):
    res = subprocess.run([os.path.join(REPO, "scripts", "valgrind"), "-b", build_dir()],
                         capture_output=True, text=True, timeout=3600)
    print(res.stdout[-3000:])
    bad = len(re.findall(r": FAILED", res.stdout))
    figures.add("valgrind_errors", bad)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]


def test_fuzz_figures():
    """Executions of the last scripts/fuzz run (FUZZ_BUILD_DIR, default build-fuzz/)."""
    d = os.environ.get("FUZZ_BUILD_DIR") or os.path.join(REPO, "build-fuzz")
    logs = glob.glob(os.path.join(d, "fuzz_*.log"))
    if not logs:
        pytest.skip("no scripts/fuzz logs in %s" % d)
    execs = 0
    for path in logs:
        with open(path, errors="replace") as f:
            text = f.read()
        m = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
        if m:
            execs += int(m[-1])
        assert "ERROR: AddressSanitizer" not in text and "runtime error" not in text, path
    figures.add("fuzz_execs", execs)
    figures.add("bad_inputs", execs)
    print("fuzz: %d targets, %d executions" % (len(logs), execs))
