"""Benchmark 4: builds bench/micro_jws.c against the build's core library and runs it (wall clock, and callgrind instruction counts of the signatures)."""
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile

from . import common


def _pc(*args):
    return shlex.split(subprocess.run(list(args), capture_output=True, text=True, check=True).stdout)


def build(build_dir, out_dir):
    """Compile micro_jws against <build>/core/.libs/libacmecore.a (the libtool convenience archive)."""
    lib = os.path.join(build_dir, "core", ".libs", "libacmecore.a")
    if not os.path.exists(lib):
        raise RuntimeError("%s missing: build the project first" % lib)
    deps = []
    la = os.path.join(build_dir, "core", "libacmecore.la")
    with open(la) as f:
        m = re.search(r"^dependency_libs='([^']*)'", f.read(), re.M)
    if m:
        deps = [d for d in shlex.split(m.group(1)) if not d.endswith(".la")]
    exe = os.path.join(out_dir, "micro_jws")
    cmd = (["cc", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-D_POSIX_C_SOURCE=200809L",
            "-I" + os.path.join(common.REPO_DIR, "core")]
           + _pc("apr-1-config", "--cppflags", "--includes") + _pc("apu-1-config", "--includes")
           + ["-o", exe, os.path.join(common.BENCH_DIR, "micro_jws.c"), lib] + deps
           + _pc("apr-1-config", "--link-ld") + _pc("apu-1-config", "--link-ld")
           + ["-ljansson", "-lcurl", "-lssl", "-lcrypto"])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("building micro_jws failed: %s" % r.stderr[-800:])
    return exe


# Calls counted under callgrind at scale 1 (fewer at smaller scales).
CALLGRIND_CALLS = {"jws_sign_es256": 200, "jws_sign_rs256": 40}


def instructions(exe, name, side, calls):
    """Instructions per call of one side ("core", "raw", "ref") of a benchmark, by callgrind:
    `micro_jws count` makes `calls` calls inside counted_run after uncounted warm-up calls."""
    with tempfile.TemporaryDirectory(prefix="acme-bench-cg-") as d:
        r = subprocess.run(["valgrind", "--tool=callgrind", "--toggle-collect=counted_run",
                            "--callgrind-out-file=" + os.path.join(d, "out"),
                            exe, "count", name, side, str(calls)],
                           capture_output=True, text=True, timeout=1800)
    m = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode != 0 or not m:
        raise RuntimeError("callgrind of micro_jws %s %s failed: %s" % (name, side, r.stderr[-400:]))
    return int(m.group(1)) / calls


def add_instructions(exe, figures, scale):
    """core_ir / raw_ir / raw_init_ir and ratio_ir for the signatures: repeatable where
    the wall clock of a shared machine is not."""
    for name, calls in CALLGRIND_CALLS.items():
        fig = figures.get(name)
        if fig is None:
            continue
        n = max(4, int(calls * min(scale, 1.0)))
        ir = {side: instructions(exe, name, side, n) for side in ("core", "raw", "ref")}
        fig.update({"ir_calls": n, "core_ir": round(ir["core"]), "raw_ir": round(ir["raw"]),
                    "raw_init_ir": round(ir["ref"]), "ratio_ir": round(ir["core"] / ir["raw"], 4)})


def run(build_dir, scale=1.0):
    out = {"figures": {}}
    with tempfile.TemporaryDirectory(prefix="acme-bench-micro-") as d:
        exe = build(build_dir, d)
        r = subprocess.run([exe, str(scale)], capture_output=True, text=True, timeout=1800)
        if r.returncode != 0:
            raise RuntimeError("micro_jws failed: %s" % r.stderr[-400:])
        for line in r.stdout.splitlines():
            item = json.loads(line)
            out["figures"][item.pop("name")] = item
        if shutil.which("valgrind"):
            add_instructions(exe, out["figures"], scale)
    return out
