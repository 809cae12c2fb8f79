"""Common helpers for the benchmarks: free ports, processes, timing statistics, machine facts, results files."""
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(BENCH_DIR)
RESULTS_DIR = os.path.join(BENCH_DIR, "results")


def log(msg):
    """Progress lines go to stderr so stdout stays for the summary."""
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


# Ports this process already handed out: a released port must not be handed out
# again to a second listener of the same run (the kernel may pick it twice).
_GIVEN = set()


def free_ports(n):
    """n distinct loopback ports that are free now and were not handed out before."""
    socks, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            port = s.getsockname()[1]
            if port not in _GIVEN:
                _GIVEN.add(port)
                ports.append(port)
    finally:
        for s in socks:
            s.close()
    return ports


def free_port():
    return free_ports(1)[0]


def wait_port(port, timeout=30.0, host="127.0.0.1"):
    """Wait until something accepts TCP connections on port."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.02)
    raise TimeoutError("nothing listens on %s:%d after %.0fs" % (host, port, timeout))


def make_workdir(prefix):
    """A scratch directory readable by httpd's unprivileged children."""
    d = tempfile.mkdtemp(prefix="acme-bench-%s-" % prefix)
    os.chmod(d, 0o755)
    return d


def remove_tree(path):
    if path and os.path.isdir(path) and not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(path, ignore_errors=True)


def stop_process(proc, timeout=10.0):
    """Terminate a Popen we started (by its own pid only)."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def live_processes():
    """(pid, stat fields after the command name) of every live process."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields and fields[0] != "Z":
            yield int(name), fields


def _group_alive(pgid):
    return any(int(fields[2]) == pgid for _, fields in live_processes())


def stop_group(proc, timeout=60.0):
    """Stop a Popen started with start_new_session=True and everything in its process
    group (wrapper scripts such as Debian's valgrind do not forward signals)."""
    if proc is None:
        return
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.monotonic() + timeout
    while time.monotonic() < end and _group_alive(pgid):
        try:
            proc.wait(0.2)
        except subprocess.TimeoutExpired:
            pass
    if _group_alive(pgid):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        pass


def stats(values):
    """min/median/max/n of a list of numbers (None entries are dropped)."""
    vals = [v for v in values if v is not None]
    if not vals:
        return {"n": 0, "min": None, "median": None, "max": None, "values": []}
    return {"n": len(vals), "min": min(vals), "median": statistics.median(vals),
            "max": max(vals), "values": vals}


def ratio(a, b):
    """a/b of two medians, None when either is missing."""
    if not a or not b or a.get("median") is None or not b.get("median"):
        return None
    return a["median"] / b["median"]


def fmt_stats(s, unit="s", digits=3):
    if not s or s.get("median") is None:
        return "n/a"
    f = "%%.%df" % digits
    return ("%s / %s / %s %s" % (f % s["min"], f % s["median"], f % s["max"], unit)).strip()


def machine_info():
    """Facts about the machine the figures were measured on."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kb = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_kb = int(line.split()[1])
    except OSError:
        pass
    def version(cmd):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return None
    return {"nproc": os.cpu_count(), "memory_mib": mem_kb // 1024, "kernel": platform.release(),
            "cpu": cpu, "httpd": version(["/usr/sbin/apache2", "-v"]),
            "openssl": version(["openssl", "version"]), "certbot": version(["certbot", "--version"]),
            "loadavg": [round(x, 2) for x in os.getloadavg()],
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def save_part(name, data):
    """Write one benchmark's results to bench/results/<name>.json."""
    os.makedirs(RESULTS_DIR, exist_ok=True)
    path = os.path.join(RESULTS_DIR, name + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
    os.replace(path + ".tmp", path)
    return path


def load_part(name):
    path = os.path.join(RESULTS_DIR, name + ".json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
