"""Benchmark 4: builds bench/micro_jws.c against the build's core library and runs it."""
import json
import os
import re
import shlex
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
    cmd = (["cc", "-O2", "-std=c11", "-D_POSIX_C_SOURCE=200809L",
            "-I" + os.path.join(common.REPO_DIR, "core")]
           + _pc("apr-1-config", "--cppflags", "--includes") + _pc("apu-1-config", "--includes")
           + ["-o", exe, os.path.join(common.BENCH_DIR, "micro_jws.c"), lib] + deps
           + _pc("apr-1-config", "--link-ld") + _pc("apu-1-config", "--link-ld")
           + ["-ljansson", "-lcurl", "-lssl", "-lcrypto"])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("building micro_jws failed: %s" % r.stderr[-800:])
    return exe


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
    return out
