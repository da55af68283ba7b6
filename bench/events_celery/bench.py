"""Runs the Celery peer of `vigil bench events` once and prints the same figures.

Throughput: a backlog of messages is published first (not timed), then a Celery worker
(prefork, 2 processes: this machine's cores) is started and timed until every workflow's last
step ran. Latency: messages published at a steady rate to a running worker, from each one's
publication to its workflow's first step. CPU and peak RSS are the worker's (all its processes).

    python3 bench/events_celery/bench.py --messages 50000 --rate 1000 --seconds 10
"""

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid

import psutil
import redis

HERE = os.path.dirname(os.path.abspath(__file__))


STEPS = f"vigil-bench-celery-steps-{uuid.uuid4().hex}"
os.environ["BENCH_STEPS"] = STEPS
sys.path.insert(0, HERE)
import tasks  # noqa: E402  (reads BENCH_STEPS)


def worker():
    """A worker on the steps queue, warmed up by one workflow: ready before anything is timed."""
    cmd = [sys.executable, "-m", "celery", "-A", "tasks", "worker", "--concurrency=2", "--pool=prefork",
           "--loglevel=WARNING", "-Q", STEPS, "--without-heartbeat", "--without-gossip", "--without-mingle"]
    proc = subprocess.Popen(cmd, cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tasks.r()
    db.delete("bench:done", "bench:lag")
    tasks.start.apply_async((0, int(time.time() * 1000)), queue=STEPS)
    until_done(db, 1, 120)
    db.delete("bench:done", "bench:lag")
    return proc


def consume(queue):
    """The worker starts consuming the events' queue (as vigil's handler is registered)."""
    tasks.app.control.add_consumer(queue, reply=True, timeout=10)


def tree(proc):
    try:
        p = psutil.Process(proc.pid)
        return [p] + p.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def cpu(procs):
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


class Peak(threading.Thread):
    """Samples the worker's RSS (all processes) until stopped."""

    def __init__(self, proc):
        super().__init__(daemon=True)
        self.proc, self.peak, self.stop = proc, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            rss = 0
            for p in tree(self.proc):
                try:
                    rss += p.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            self.peak = max(self.peak, rss)
            time.sleep(0.2)


def publish(queue, first, n):
    with tasks.app.producer_or_acquire() as producer:
        for i in range(first, first + n):
            tasks.start.apply_async((i, int(time.time() * 1000)), queue=queue, producer=producer)


def until_done(db, n, limit):
    started = time.time()
    while int(db.get("bench:done") or 0) < n:
        if time.time() - started > limit:
            raise SystemExit(f"only {int(db.get('bench:done') or 0)} of {n} workflows finished")
        time.sleep(0.002)


def throughput(db, n):
    queue = f"vigil-bench-celery-{uuid.uuid4().hex}"
    publish(queue, 0, n)
    proc = worker()
    procs = tree(proc)
    before = cpu(procs)
    peak = Peak(proc)
    peak.start()
    started = time.time()
    consume(queue)
    until_done(db, n, 1200)
    seconds = time.time() - started
    used = cpu(procs) - before
    peak.stop.set()
    proc.terminate()
    proc.wait()
    delete_queues(queue)
    print(f"  celery: {n} messages consumed into finished 5-step chains in {seconds:.2f}s: {n / seconds:.0f} events/s; "
          f"CPU {used * 1e6 / n:.1f} µs/event, peak RSS {peak.peak / 1e6:.0f} MB (all worker processes)", flush=True)


def latency(db, rate, seconds):
    queue = f"vigil-bench-celery-{uuid.uuid4().hex}"
    proc = worker()
    consume(queue)
    publish(queue, 0, 64)
    until_done(db, 64, 60)
    db.delete("bench:lag")
    total = rate * seconds
    per_tick = -(-rate // 100)
    sent, nxt = 0, time.time()
    with tasks.app.producer_or_acquire() as producer:
        while sent < total:
            k = min(per_tick, total - sent)
            for i in range(sent, sent + k):
                tasks.start.apply_async((64 + i, int(time.time() * 1000)), queue=queue, producer=producer)
            sent += k
            nxt += 0.01
            time.sleep(max(0.0, nxt - time.time()))
    until_done(db, 64 + total, 300)
    proc.terminate()
    proc.wait()
    delete_queues(queue, STEPS)
    lags = sorted(int(x) for x in db.lrange("bench:lag", 0, -1))
    pick = lambda q: lags[min(len(lags) - 1, int(len(lags) * q))]
    print(f"  celery: {rate} msg/s for {seconds} s, publish to first step: p50 {pick(0.5)} ms, p99 {pick(0.99)} ms, "
          f"max {lags[-1]} ms ({len(lags)} of {total})", flush=True)


def delete_queues(*names):
    with tasks.app.connection_for_write() as conn:
        for name in names:
            try:
                conn.default_channel.queue_delete(name)
            except Exception:  # noqa: BLE001 (gone already)
                pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--rate", type=int, default=1_000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = ap.parse_args()
    db = redis.Redis.from_url(args.redis_url)
    print("events (peer): Celery 5 consuming RabbitMQ, a 5-task chain per message, acks late, persistent messages",
          flush=True)
    throughput(db, args.messages)
    latency(db, args.rate, args.seconds)


if __name__ == "__main__":
    main()
