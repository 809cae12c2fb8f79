"""Integration tests of fleet mode: three httpd on 127.0.0.1/.2/.3 sharing one redis-server store drive each domain once (one newOrder at Pebble), answer each other's challenges, all serve the newest set, survive a paused, killed or restarted member or Redis, and keep private keys sealed in Redis."""
import json
import os
import pathlib
import re
import signal
import time

import pytest

from fixtures.fleet import FLEET_DIRECTIVES, KEY_FILE, TIMEOUT, write_key_file
from fixtures.httpd import http_request
from fixtures.httpd import wait_for
from fixtures.roottrace import RootTrace

pytestmark = pytest.mark.fleet

PEM_PRIVATE = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")
SEAL_MAGIC = (b"ACS1", b"QUNTM")   # acme_seal's magic, raw or base64


def pebble_issued(pebble):
    """(serial, order) of every certificate Pebble logged as issued."""
    return re.findall(r"Issued certificate serial (\S+) for order (\S+)", pebble.log())


def the_driver(fleet, name, timeout=TIMEOUT):
    """The one node whose log says it placed the order for name."""
    drivers = wait_for(lambda: [n for n in fleet.nodes if n.placed_order(name)], timeout,
                       interval=0.2, what=f"a node to place the order for {name}")
    assert len(drivers) == 1, [n.ip for n in drivers]
    return drivers[0]


def hold_a_drive(fleet, name):
    """Starts the fleet with the CA's challenge requests held at the proxy:
    returns the node that drives name, its order placed and its challenge
    answer about to reach the CA. The CA's DNS then points name at another
    node (validation lands on a node that is not the driver)."""
    fleet.proxy.hold("/chalZ/")
    fleet.start()
    assert fleet.proxy.held.wait(TIMEOUT), "no challenge request reached the CA\n" \
        + fleet.log_tails()
    driver = the_driver(fleet, name)
    other = next((n for n in fleet.nodes if n is not driver), driver)
    fleet.point(name, other)
    return driver


def assert_fast_404(node, name, tries=3):
    """Challenge requests for an unknown token get 404 within 0.5 s (the median
    of a few, so one slow moment of a loaded machine is not taken for a hang on
    Redis)."""
    took = []
    for i in range(tries):
        t0 = time.monotonic()
        status, _ = node.challenge("fleet-no-such-token-%d" % i, name, timeout=10)
        took.append(time.monotonic() - t0)
        assert status == 404, (node.ip, status)
    assert sorted(took)[tries // 2] < 0.5, (node.ip, took)


def log_since(node, offset):
    return node.error_log()[offset:]


def sealed_values(redis):
    """[(key, field or None, value)] of every stored value that is a sealed blob."""
    out = []
    for key in redis.keys():
        kind = redis.call("TYPE", key)
        if kind == b"string":
            v = redis.call("GET", key)
            if v and v.startswith(SEAL_MAGIC):
                out.append((key, None, v))
        elif kind == b"hash":
            flat = redis.call("HGETALL", key)
            for f, v in zip(flat[0::2], flat[1::2]):
                if v.startswith(SEAL_MAGIC):
                    out.append((key, f, v))
    return out


def test_fleet_ten_domains_one_order_each(fleet_factory):
    """10 domains, three nodes started at once: exactly one newOrder per domain
    reaches the CA, each name's validation is answered by the node its DNS
    points at (for most names not the driver: the answer came through Redis),
    and all three serve the same serial without a manual restart."""
    fleet = fleet_factory()
    names = [f"d{i}.fleet.test" for i in range(10)]
    for i, name in enumerate(names):
        fleet.add_domain(name, points_at=i % 3)
    fleet.start()
    serials = {name: fleet.wait_same_serial(name) for name in names}
    assert len(set(serials.values())) == len(names), serials
    orders = {name: len(fleet.orders_for(name)) for name in names}
    assert orders == {name: 1 for name in names}, orders
    assert len(pebble_issued(fleet.pebble)) == len(names)
    cross = []
    for i, name in enumerate(names):
        pointed = fleet.nodes[i % 3]
        assert pointed.challenge_hits(name), \
            f"node {pointed.ip} answered no challenge for {name}\n" + fleet.log_tails()
        drivers = [n.ip for n in fleet.nodes if n.placed_order(name)]
        assert len(drivers) == 1, (name, drivers)
        if drivers[0] != pointed.ip:
            cross.append(name)
    assert cross, "every name happened to be validated on its own driver"
    for node in fleet.nodes:
        assert node.running()
    # any node's acme-status has the fleet view: three nodes with their serials

    def fleet_view_complete():
        view = fleet.nodes[1].status_json()["fleet"]
        ok = view["reachable"] and len(view["nodes"]) == 3 and all(
            n["serials"].get(name) == format(serials[name], "x")
            for n in view["nodes"] for name in names)
        return view if ok else None
    view = wait_for(fleet_view_complete, TIMEOUT, what="the fleet view in acme-status")
    assert {p["domain"] for p in view["published"]} >= set(names), view["published"]


def test_fleet_acmectl_on_the_redis_store(fleet_factory, acmectl):
    """`acmectl -s redis://...` works on the fleet store: status shows the domain
    the fleet manages; renew makes the fleet renew it (one new order) and every
    node serve the new serial."""
    fleet = fleet_factory()
    name = "ctl.fleet.test"
    fleet.add_domain(name, points_at=1)
    fleet.start()
    serial = fleet.wait_same_serial(name)
    res = acmectl("-s", fleet.redis.url, "--store-key-file", fleet.key_file, "status",
                  timeout=60)
    assert res.returncode == 0, res.stderr
    assert name in res.stdout, res.stdout
    res = acmectl("-s", fleet.redis.url, "--store-key-file", fleet.key_file, "renew", name,
                  timeout=60)
    assert res.returncode == 0, res.stderr
    # one node renews in a few seconds; 60 s is generous and keeps a lost mark cheap
    fleet.wait_same_serial(name, not_serial=serial, timeout=60)
    assert len(fleet.orders_for(name)) == 2


def test_fleet_sigstop_lock_holder_is_fenced(fleet_factory):
    """The node holding a domain's lease is paused (SIGSTOP) past the lease TTL:
    another node resumes the same order and finishes it; after SIGCONT the
    paused node's late work is refused as fenced, and every node ends on the
    same certificate from the one order."""
    fleet = fleet_factory(lock_ttl="6s")
    name = "paused.fleet.test"
    fleet.add_domain(name, points_at=1)
    driver = hold_a_drive(fleet, name)
    others = [n for n in fleet.nodes if n is not driver]
    driver.signal_all(signal.SIGSTOP)
    try:
        fleet.proxy.release()
        serial = fleet.wait_same_serial(name, nodes=others)
        assert any(n.resumed(name) for n in others), \
            "no other node resumed the stored order\n" + fleet.log_tails()
        offset = len(driver.error_log())
    finally:
        driver.signal_all(signal.SIGCONT)
    assert fleet.wait_same_serial(name) == serial
    late = wait_for(lambda: re.findall(r".*(?:fenc|lease).*", log_since(driver, offset),
                                       re.I), TIMEOUT,
                    what="the paused node to log that its lease was lost / fenced")
    assert late, log_since(driver, offset)
    time.sleep(5)           # the paused node had its chance to publish; nothing changed
    assert set(fleet.serials(name).values()) == {serial}
    assert len(fleet.orders_for(name)) == 1
    assert len(pebble_issued(fleet.pebble)) == 1, pebble_issued(fleet.pebble)


def test_fleet_kill9_lock_holder(fleet_factory):
    """kill -9 of the node holding the lease mid-drive: another node finishes the
    domain, one certificate; the killed node, started again, syncs to it."""
    fleet = fleet_factory(lock_ttl="6s")
    name = "killed.fleet.test"
    fleet.add_domain(name, points_at=2)
    driver = hold_a_drive(fleet, name)
    others = [n for n in fleet.nodes if n is not driver]
    driver.kill()
    fleet.proxy.release()
    serial = fleet.wait_same_serial(name, nodes=others)
    assert len(fleet.orders_for(name)) == 1
    assert len(pebble_issued(fleet.pebble)) == 1, pebble_issued(fleet.pebble)
    driver.start(timeout=TIMEOUT)
    assert fleet.wait_same_serial(name) == serial
    assert len(fleet.orders_for(name)) == 1


def test_fleet_redis_kill9_restart_with_aof(fleet_factory):
    """Redis is killed (-9) while a drive holds its lease and started again with
    its AOF: the lease, the fence, the function library and every stored item
    are back; the held drive continues and completes with its one order."""
    fleet = fleet_factory(persistence=True, lock_ttl="20s")
    name = "aof.fleet.test"
    fleet.add_domain(name, points_at=0)
    hold_a_drive(fleet, name)
    redis = fleet.redis
    before = {k: redis.values(k) for k in redis.keys()}
    locks = [k for k in before if k.endswith(b":lock")]
    fences = {k: v for k, v in before.items() if k.endswith(b":fence")}
    assert locks and fences, f"no lock/fence keys while a drive holds its lease: {sorted(before)}"
    functions = redis.functions()
    assert functions, "no function library loaded"
    time.sleep(1.5)         # appendfsync everysec has written the last second
    redis.kill9()
    redis.restart()
    after = {k: redis.values(k) for k in redis.keys()}
    assert redis.functions() == functions
    for k in locks:
        assert after.get(k) == before[k], (k, before[k], after.get(k))
    for k, v in fences.items():
        assert after.get(k) == v, (k, v, after.get(k))
    missing = [k for k in before if k not in after]
    assert not missing, missing
    fleet.proxy.release()
    fleet.wait_same_serial(name)
    assert len(fleet.orders_for(name)) == 1
    assert len(pebble_issued(fleet.pebble)) == 1


def test_fleet_redis_restart_without_persistence(fleet_factory):
    """Redis without persistence is killed and started empty: the nodes load
    the function library again, keep serving their certificate, and none rolls
    back or orders again."""
    fleet = fleet_factory(persistence=False)
    name = "volatile.fleet.test"
    fleet.add_domain(name, points_at=1)
    fleet.start()
    serial = fleet.wait_same_serial(name)
    assert fleet.redis.functions()
    fleet.redis.kill9()
    fleet.redis.restart(persistence=False)
    wait_for(lambda: fleet.redis.functions(), TIMEOUT, what="a node to load the functions again")
    time.sleep(6)           # a few check intervals with an empty store
    assert set(fleet.serials(name).values()) == {serial}
    assert len(fleet.orders_for(name)) == 1
    for node in fleet.nodes:
        assert node.running()


def test_fleet_redis_down(fleet_factory):
    """Redis hanging (SIGSTOP) or stopped: HTTPS is still served on every node,
    challenge requests get a 404 within 0.5 s, a renewal that falls due while
    Redis is down places no order at the CA; after Redis returns the renewal
    completes on every node with one order. The hang comes while nothing is
    due: a drive caught half-way by a hang longer than its 2 s Redis timeout
    stops, and the order it could not record is replaced by a new one (README
    "Running a fleet"), which would make the count depend on timing."""
    validity = 60
    fleet = fleet_factory(validity=validity)
    fleet.set("ACMERenewWindow", "50%")
    name = "down.fleet.test"
    fleet.add_domain(name, points_at=2)
    fleet.start()
    serial = fleet.wait_same_serial(name)
    issued_at = time.monotonic()
    # Redis hanging rather than refusing: still a fast 404
    os.kill(fleet.redis.proc.pid, signal.SIGSTOP)
    try:
        for node in fleet.nodes:
            assert_fast_404(node, name)
    finally:
        os.kill(fleet.redis.proc.pid, signal.SIGCONT)
    assert time.monotonic() < issued_at + validity * 0.5, "the renewal fell due during the hang"
    fleet.redis.stop()
    for node in fleet.nodes:
        assert node.served_cert(name).serial_number == serial
    assert fleet.nodes[0].status_json()["fleet"]["reachable"] is False
    for node in fleet.nodes:
        assert_fast_404(node, name)
    # the renewal falls due (at 50 % of 60 s) while Redis is down: no order
    time.sleep(max(0.0, issued_at + validity * 0.5 + 8 - time.monotonic()))
    assert len(fleet.orders_for(name)) == 1, "an order reached the CA while Redis was down"
    for node in fleet.nodes:
        assert node.running()
        assert node.served_cert(name).serial_number == serial
    fleet.redis.restart()
    fleet.wait_same_serial(name, not_serial=serial)
    assert len(fleet.orders_for(name)) == 2, (fleet.log_tails(60), fleet.pebble.log()[-4000:])


def started_two_of_three(fleet_factory, name):
    """A fleet of three whose first two nodes have issued name; the third is
    configured but not started. Returns (fleet, serial)."""
    fleet = fleet_factory()
    fleet.add_domain(name, points_at=0)
    fleet.start(fleet.nodes[:2])
    return fleet, fleet.wait_same_serial(name, nodes=fleet.nodes[:2])


def error_lines(node, offset, pattern):
    """The node's error-level log lines since offset that match pattern."""
    return re.findall(r".*\[acme:(?:error|crit|alert|emerg)\].*(?:%s).*" % pattern,
                      log_since(node, offset), re.I)


def start_or_refuse(node, pattern):
    """Starts node; a refusal to start must match pattern, else an error-level
    log line must come that does. Returns what said it."""
    offset = len(node.error_log())
    try:
        node.start(timeout=TIMEOUT)
    except RuntimeError as e:       # refusing to start is a clear answer too
        assert re.search(pattern, str(e), re.I), e
        return str(e)
    return wait_for(lambda: error_lines(node, offset, pattern), TIMEOUT,
                    what=f"an error matching {pattern!r}")


def test_fleet_no_private_key_text_in_redis(fleet_factory):
    """After issuance by three nodes: no PEM private key text anywhere in Redis
    (every key and value scanned), and sealed blobs are what holds the keys."""
    fleet = fleet_factory()
    name = "scan.fleet.test"
    fleet.add_domain(name, points_at=0)
    fleet.start()
    fleet.wait_same_serial(name)
    dump = fleet.redis.dump()
    for key, values in dump.items():
        assert not PEM_PRIVATE.search(key)
        for v in values:
            assert not PEM_PRIVATE.search(v), f"PEM private key text in Redis key {key!r}"
            assert b"PRIVATE KEY" not in v, f"private key text in Redis key {key!r}"
    sealed = sealed_values(fleet.redis)
    assert len(sealed) >= 2, f"fewer than two sealed blobs in Redis: {sorted(dump)}"


def test_fleet_wrong_key_file_refused(fleet_factory):
    """A node with a wrong key file (same key id, another key) says so clearly
    and does nothing with the fleet's entries: no order, no account, no publish;
    the other nodes keep their certificate."""
    name = "w.fleet.test"
    fleet, serial = started_two_of_three(fleet_factory, name)
    node = fleet.nodes[2]
    node.acme[KEY_FILE] = write_key_file(os.path.join(fleet.dir, "wrong.key"), key_id="k1")
    start_or_refuse(node, r"wrong key|key file|not the one|another key|ACMEStoreKeyFile")
    time.sleep(6)           # time to do something wrong: order, or overwrite the account
    assert len(fleet.orders_for(name)) == 1, "a node with the wrong key ordered"
    keys = {json.dumps((r["protected"] or {}).get("jwk"), sort_keys=True)
            for r in fleet.proxy.posts("/sign-me-up")}
    assert len(keys) == 1, "a node with the wrong key registered another account key"
    time.sleep(4)           # a publish by it would reach the others within their check interval
    assert set(fleet.serials(name, nodes=fleet.nodes[:2]).values()) == {serial}


def test_fleet_moved_blob_refused(fleet_factory):
    """A sealed blob moved to another entry (the published set's key swapped with
    another sealed item) is refused with a clear error by the node that opens
    it; the nodes already serving keep their certificate."""
    name = "m.fleet.test"
    fleet, serial = started_two_of_three(fleet_factory, name)
    redis = fleet.redis
    sealed = sealed_values(redis)
    assert len(sealed) >= 2, sealed
    # the published set's sealed key (what a fresh node opens first) gets another entry's blob
    sealed.sort(key=lambda s: not s[0].endswith(b":pub"))
    (k1, f1, v1), (k2, f2, v2) = sealed[0], next(s for s in sealed[1:] if s[2] != sealed[0][2])
    for key, field, value in ((k1, f1, v2), (k2, f2, v1)):
        if field is None:
            ttl = redis.call("PTTL", key)
            redis.call("SET", key, value, *(("PX", ttl) if ttl > 0 else ()))
        else:
            redis.call("HSET", key, field, value)
    start_or_refuse(fleet.nodes[2], r"sealed for another|another entry|does not open|moved|"
                                    r"altered|tamper|mismatch")
    for n in fleet.nodes[:2]:
        assert n.running() and n.served_cert(name).serial_number == serial


def test_fleet_key_file_must_be_private(fleet_factory):
    """A key file readable by others is refused at startup, naming the file."""
    fleet = fleet_factory(n=1)
    fleet.add_domain("perm.fleet.test", points_at=0)
    os.chmod(fleet.key_file, 0o644)
    node = fleet.nodes[0]
    with pytest.raises(RuntimeError) as e:
        node.start(timeout=60)
    assert fleet.key_file in str(e.value) or fleet.key_file in node.error_log()


def test_fleet_short_lived_renewal(fleet_factory):
    """A short-lived certificate's renewal is one order (never two for one
    renewal), and all three nodes switch to the new serial on their own."""
    validity = 40
    fleet = fleet_factory(validity=validity)
    fleet.set("ACMERenewWindow", "50%")
    name = "short.fleet.test"
    fleet.add_domain(name, points_at=1)
    fleet.start()
    first = fleet.wait_same_serial(name)
    starts = [n.starts() for n in fleet.nodes]
    fleet.wait_same_serial(name, not_serial=first)
    time.sleep(5)           # a late second order for the same renewal would come now
    times = fleet.proxy.order_times(name)
    assert len(times) == 2, f"{len(times)} orders for one issuance and one renewal"
    assert times[1] - times[0] >= validity * 0.25, times
    for node, before in zip(fleet.nodes, starts):
        assert node.starts() > before, f"node {node.ip} did not activate the renewal itself"


def test_fleet_root_never_connects(fleet_factory, test_dir):
    """The root parent never talks to the network, in fleet mode too: traced
    with strace from before a graceful restart until it has activated a renewal
    (re-reading the configuration, forking children, verifying and copying the
    new set), no task opens a connection to Redis or to the CA while it is
    root; the children, once they are the User, open both (the trace sees
    what it looks for)."""
    validity = 40
    fleet = fleet_factory(n=1, validity=validity)
    fleet.set("ACMERenewWindow", "50%")
    name = "root.fleet.test"
    fleet.add_domain(name, points_at=0)
    fleet.start()
    node = fleet.nodes[0]
    first = fleet.wait_same_serial(name)
    trace = RootTrace(node.pid(), pathlib.Path(test_dir) / "parent.strace").start()
    try:
        offset = len(node.error_log())
        node.graceful()
        fleet.wait_same_serial(name, not_serial=first)
        wait_for(lambda: "activating it with a graceful restart" in log_since(node, offset),
                 TIMEOUT, what="the parent to log the activation")
    finally:
        calls = trace.stop()
    watched = {fleet.redis.port: "Redis", fleet.proxy.port: "the CA",
               fleet.pebble.listen_port: "the CA"}
    as_root = [(pid, watched[port]) for pid, port, root in calls if root and port in watched]
    assert not as_root, f"connections opened as root: {as_root}"
    as_user = {watched[port] for pid, port, root in calls if not root and port in watched}
    assert as_user == {"Redis", "the CA"}, (as_user, calls)


# -- the fixtures themselves ---------------------------------------------------

def test_fleet_lock_held_at_a_look_is_looked_at_again(fleet_factory):
    """A domain whose lock is held at the moment a node looks at it (in a fleet
    that is often another node's own brief look) is looked at again within a
    second, not after ACMECheckInterval (12 h): here a lease set by hand for
    8 s holds the node's first look; it drives once the lease runs out."""
    fleet = fleet_factory(n=1, check_interval="60s")
    name = "busy.fleet.test"
    fleet.add_domain(name, points_at=0)
    held_until = time.monotonic() + 8
    fleet.redis.call("SET", "acme:{d:%s}:lock" % name, "1 outsider/1 x", "PX", 8000)
    fleet.start()
    fleet.wait_same_serial(name)
    times = fleet.proxy.order_times(name)
    assert len(times) == 1, times
    assert times[0] >= held_until - 0.5, "the order was placed while the lock was held"


def file_store_fleet(fleet_factory, n=3):
    """A fleet's nodes without the fleet directives (each its own file store)."""
    fleet = fleet_factory(n=n)
    for d in FLEET_DIRECTIVES:
        fleet.set(d, None)
    return fleet


def test_fleet_fixture_redis(redis_factory):
    """The Redis fixture: with AOF a key, its TTL and a function library survive
    kill -9; without persistence a restart starts empty."""
    r = redis_factory(persistence=True)
    r.call("SET", "k", b"\x00\xffbinary", "PX", 600000)
    r.call("FUNCTION", "LOAD", "#!lua name=fixturelib\n"
           "redis.register_function('fixture_echo', function(keys, args) return args[1] end)")
    assert r.call("FCALL", "fixture_echo", 0, "x") == b"x"
    time.sleep(1.5)
    r.kill9()
    r.restart()
    assert r.call("GET", "k") == b"\x00\xffbinary" and r.call("PTTL", "k") > 0
    assert r.functions() == ["fixturelib"]
    r.restart(persistence=False)    # the AOF is ignored now: nothing loaded
    r.kill9()
    r.restart(persistence=False)
    assert r.keys() == [] and r.functions() == []


def test_fleet_fixture_three_addresses(fleet_factory):
    """The node fixture: three httpd on 127.0.0.1/.2/.3 with the same ports,
    each reached on its own address (file store: no fleet directives)."""
    fleet = file_store_fleet(fleet_factory)
    fleet.start()
    assert len({(n.http_port, n.https_port) for n in fleet.nodes}) == 1
    for node in fleet.nodes:
        status, _, _ = http_request(node.http_port, "/index.html", "fixture.test", ip=node.ip)
        assert status == 200
        assert "host=fixture.test" in node.access_log()
        assert node.pids()


def test_fleet_fixture_proxy_holds_a_drive(fleet_factory):
    """The recording proxy: holds a node's challenge request until released,
    learns the challenge tokens, counts the one newOrder (file store, one node)."""
    fleet = file_store_fleet(fleet_factory, n=1)
    name = "held.fleet.test"
    fleet.add_domain(name, points_at=0)
    driver = hold_a_drive(fleet, name)
    assert driver is fleet.nodes[0]
    assert fleet.proxy.tokens.get(name, {}).get("http-01")
    assert fleet.serials(name) == {"127.0.0.1": None}
    fleet.proxy.release()
    fleet.wait_same_serial(name)
    assert len(fleet.orders_for(name)) == 1 and len(fleet.proxy.order_times(name)) == 1, \
        (fleet.proxy.order_times(name), fleet.log_tails(60), fleet.pebble.log()[-4000:])
