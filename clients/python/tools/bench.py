#!/usr/bin/env python3
"""bench.py: throughput of the Python client against imgated.

N pairs of clients (sender i -> receiver i) in one asyncio process; each
sender keeps a window of W pipelined sends (send_nowait) in flight until it
has sent M messages. A run counts from the first send to the moment every
receiver has its M messages (every delivery handed to the application and
acknowledged): msg/s = N x M / seconds. Several runs; the median is printed.

With --imgated the script starts its own server (store.type = memory,
anonymous logins, a temp folder, a free port) for each run; otherwise it
uses --host/--port of a running server.

    PYTHONPATH=clients/python:build/clients/python /usr/bin/python3 \\
        clients/python/tools/bench.py --imgated build/server/imgated --pairs 4 --window 64 --messages 5000
"""
import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import imgate


def start_server(imgated, store):
    folder = tempfile.mkdtemp(prefix="imgate-bench-")
    config = os.path.join(folder, "imgate.properties")
    with open(config, "w") as f:
        f.write("server.address = 127.0.0.1\nserver.port = 0\nadmin.enabled = false\n"
                "auth.allowAnonymous = true\nserver.drainTime = 0\n"
                f"store.type = {store}\nstore.path = {folder}/imgate.db\n")
    log_path = os.path.join(folder, "imgated.log")
    log = open(log_path, "wb")
    proc = subprocess.Popen([imgated, f"--config={config}"], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with open(log_path, errors="replace") as f:
            m = re.search(r": listening on [^ ]*:(\d+) with ", f.read())
        if m:
            return proc, folder, int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"imgated did not start; see {log_path}")


async def run_once(host, port, pairs, window, messages, payload, tag):
    senders = [imgate.Client(host, port, f"s{tag}_{i}") for i in range(pairs)]
    receivers = [imgate.Client(host, port, f"r{tag}_{i}") for i in range(pairs)]
    await asyncio.gather(*(c.start() for c in senders + receivers))

    async def receive(client):
        count = 0
        async for _ in client:
            count += 1
            if count == messages:
                return

    async def send(client, to):
        in_flight = []
        for _ in range(messages):
            in_flight.append(client.send_nowait(to, payload))
            if len(in_flight) >= window:
                await in_flight.pop(0)
        await asyncio.gather(*in_flight)

    start = time.perf_counter()
    receiving = [asyncio.ensure_future(receive(c)) for c in receivers]
    await asyncio.gather(*(send(s, r.uid) for s, r in zip(senders, receivers)))
    await asyncio.gather(*receiving)
    seconds = time.perf_counter() - start
    await asyncio.gather(*(c.close() for c in senders + receivers))
    return pairs * messages / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--imgated", help="start this server per run (store.type = --store)")
    parser.add_argument("--store", default="memory", choices=["memory", "sqlite"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7700)
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--messages", type=int, default=5000, help="per sender")
    parser.add_argument("--size", type=int, default=100, help="payload bytes")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    payload = b"x" * args.size
    rates = []
    for run in range(args.runs):
        proc = folder = None
        port = args.port
        if args.imgated:
            proc, folder, port = start_server(args.imgated, args.store)
        try:
            rate = asyncio.run(run_once(args.host, port, args.pairs, args.window, args.messages, payload,
                                        f"{os.getpid()}_{run}"))
        finally:
            if proc is not None:
                proc.kill()
                proc.wait()
                shutil.rmtree(folder, ignore_errors=True)
        rates.append(rate)
        print(f"run {run + 1}: {rate:,.0f} msg/s", flush=True)
    print(f"median of {args.runs}: {statistics.median(rates):,.0f} msg/s "
          f"({args.pairs} pairs, window {args.window}, {args.messages} messages each, {args.size}-byte payloads)")


if __name__ == "__main__":
    sys.exit(main())
