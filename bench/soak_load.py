#!/usr/bin/env python3
"""Bounded HTTP load for bench/soak.sh: checkpoints at a steady rate, status and
error queries, and health probes at Kubernetes rates, against two Lockstep
nodes on loopback. Prints counts by status and latency percentiles as JSON.

Usage: soak_load.py PRIMARY_PORT SECONDARY_PORT TOKEN SECONDS [CHECKPOINTS_PER_SECOND]
"""
import http.client
import json
import sys
import threading
import time

primary, secondary, token, seconds = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
rate = float(sys.argv[5]) if len(sys.argv) > 5 else 200.0
deadline = time.monotonic() + seconds
max_requests = int(seconds * (rate + 100) * 2)  # a hard bound on the loop count, whatever the timing
lock = threading.Lock()
results = {}  # kind -> {"status": {code: n}, "latencies": [ms]}


def record(kind, status, millis):
    with lock:
        entry = results.setdefault(kind, {"status": {}, "latencies": []})
        entry["status"][str(status)] = entry["status"].get(str(status), 0) + 1
        entry["latencies"].append(millis)


def loop(kind, port, method, path, per_second, auth=True):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": "Bearer " + token} if auth else {}
    interval = 1.0 / per_second
    next_at = time.monotonic()
    sent = 0
    while time.monotonic() < deadline and sent < max_requests:
        started = time.monotonic()
        try:
            connection.request(method, path, headers=headers)
            response = connection.getresponse()
            response.read()
            record(kind, response.status, (time.monotonic() - started) * 1000)
        except Exception as error:  # a refused or broken connection counts as an error
            record(kind, "error:" + type(error).__name__, (time.monotonic() - started) * 1000)
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        sent += 1
        next_at += interval
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        elif pause < -1:
            next_at = time.monotonic()  # fell behind by more than a second: do not burst to catch up


def checkpoints():
    # Lock-step checkpoints: the primary (all writes acknowledged and flushed), then the secondary
    # (buffers dropped, so that its view equals the primary's). rate counts both calls.
    connection = {port: http.client.HTTPConnection("127.0.0.1", port, timeout=30) for port in (primary, secondary)}
    headers = {"Authorization": "Bearer " + token}
    interval = 2.0 / rate
    next_at = time.monotonic()
    sent = 0
    while time.monotonic() < deadline and sent < max_requests:
        for port, kind in ((primary, "checkpoint primary"), (secondary, "checkpoint secondary")):
            started = time.monotonic()
            try:
                connection[port].request("POST", "/api/v1/replication/checkpoint", headers=headers)
                response = connection[port].getresponse()
                response.read()
                record(kind, response.status, (time.monotonic() - started) * 1000)
            except Exception as error:
                record(kind, "error:" + type(error).__name__, (time.monotonic() - started) * 1000)
                connection[port].close()
                connection[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        sent += 1
        next_at += interval
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        elif pause < -1:
            next_at = time.monotonic()


threads = [threading.Thread(target=checkpoints)]
for port in (primary, secondary):
    threads += [
        threading.Thread(target=loop, args=("status", port, "GET", "/api/v1/replication", 10)),
        threading.Thread(target=loop, args=("errors", port, "GET", "/api/v1/replication/errors", 10)),
        # the kubelet: liveness and readiness every 10 s each, several pods' worth of probes
        threading.Thread(target=loop, args=("liveness", port, "GET", "/actuator/health/liveness", 1, False)),
        threading.Thread(target=loop, args=("readiness", port, "GET", "/actuator/health/readiness", 1, False)),
    ]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(timeout=seconds + 120)


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 2)


summary = {}
for kind, entry in sorted(results.items()):
    summary[kind] = {
        "requests": len(entry["latencies"]),
        "status": entry["status"],
        "p50_ms": percentile(entry["latencies"], 0.50),
        "p99_ms": percentile(entry["latencies"], 0.99),
        "p999_ms": percentile(entry["latencies"], 0.999),
    }
print(json.dumps(summary, indent=2, sort_keys=True))
