"""Smoke test of the Redis fleet store (ACMEStore redis://): a real redis-server with AOF, Pebble and two httpd nodes on one domain: one order at the CA, both nodes serve the same certificate, no private key in Redis in clear."""
import base64
import json
import re
import os
import secrets
import shutil
import time
import subprocess

import pytest

from fixtures.ca import _spawn, _stop_proc, acmectl_path, free_port, make_dir, wait_for
from test_module import ISSUE_TIMEOUT, wait_served

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"

pytestmark = pytest.mark.skipif(not os.path.exists(REDIS_SERVER), reason="redis-server missing")


@pytest.fixture
def redis(workdir):
    """A redis-server on a free loopback port with AOF on, in a private directory."""
    d = make_dir(workdir, "redis")
    port = free_port()
    proc = _spawn([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                   "--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction",
                   "--daemonize", "no"], os.path.join(d, "redis.log"))

    def cli(*args):
        return subprocess.run([REDIS_CLI, "-p", str(port), "--no-raw", *args],
                              capture_output=True, timeout=10).stdout

    wait_for(lambda: b"PONG" in cli("PING"), 10, what="redis-server")
    cli.proc = proc
    yield port, cli
    _stop_proc(proc)


def key_file(path):
    with open(path, "w") as f:
        f.write("k1 " + base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    os.chmod(path, 0o600)
    return path


def fleet_node(httpd_factory, pebble, port, keys, name, own_ports=False):
    h = httpd_factory(pebble)
    if own_ports:   # a second node on this host: the CA's requests still go to the first
        h.http_port, h.https_port = free_port(), free_port()
        h.portmap = f"80:{h.http_port} 443:{h.https_port}"
    h.add(f"ACMEStore redis://127.0.0.1:{port}/0", f"ACMEStoreKeyFile {keys}",
          "ACMEFleetCheckInterval 2s", "ACMEFleetLockTTL 6s")
    h.ssl_vhost(name)
    return h


def orders(*nodes):
    """newOrders the nodes placed, from their logs."""
    return sum(len(re.findall(r": new \S+ order https://", n.error_log())) for n in nodes)


def test_fleet_store_two_nodes_one_order(httpd_factory, pebble, redis, workdir):
    port, cli = redis
    keys = key_file(os.path.join(make_dir(workdir, "keys"), "fleet.key"))
    name = "fleet.test"
    a = fleet_node(httpd_factory, pebble, port, keys, name)
    rc, out = a.configtest()
    assert rc == 0, out
    a.start()
    cert = wait_served(a, name, [name], timeout=ISSUE_TIMEOUT)

    # the account key and drive progress live in Redis, keys only sealed
    names = [k.strip('"') for k in cli("--scan").decode().split() if k]
    assert any(k.startswith("acme:{a:") for k in names), names
    assert "acme:{d:fleet.test}:pub" in names, names
    for k in names:
        if cli("TYPE", k).strip() == b"string":
            assert b"PRIVATE KEY" not in cli("GET", k), k
        elif cli("TYPE", k).strip() == b"hash":
            assert b"PRIVATE KEY" not in cli("HGETALL", k), k

    # a second node of the fleet takes the published set: no order of its own
    b = fleet_node(httpd_factory, pebble, port, keys, name, own_ports=True)
    b.start()
    cb = wait_served(b, name, [name], timeout=ISSUE_TIMEOUT)
    assert cb.serial_number == cert.serial_number
    assert orders(a, b) == 1
    assert "published in the fleet" in b.error_log()
    # both nodes report their active serial in the fleet view
    serial = format(cert.serial_number, "x").encode()
    wait_for(lambda: cli("HGETALL", "acme:{fleet}:nodes").count(serial) >= 2, 30,
             what="both nodes' heartbeats")

    # any node's acme-status shows the fleet view
    fleet = a.status_json()["fleet"]
    assert fleet["reachable"] and len(fleet["nodes"]) == 2, fleet
    assert {n["serials"].get(name) for n in fleet["nodes"]} == {format(cert.serial_number, "x")}
    assert [p["generation"] for p in fleet["published"] if p["domain"] == name] == [1], fleet

    # acmectl on the fleet's store shows the same view
    r = subprocess.run([acmectl_path(), "-s", f"redis://127.0.0.1:{port}/0", "--store-key-file",
                        keys, "status"], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "ACME_STORE": str(a.store)})
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["fleet"]["nodes"]) == 2, r.stdout

    # Redis down: HTTPS from the local files, challenge lookups fail fast
    _stop_proc(cli.proc)
    for node in (a, b):
        assert node.served_cert(name).serial_number == cert.serial_number
        for _ in range(3):
            t0 = time.monotonic()
            status = node.request("/.well-known/acme-challenge/" + "x" * 43, name)[0]
            assert status == 404 and time.monotonic() - t0 < 5.0, status  # a hang, not speed
