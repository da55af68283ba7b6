"""The peer of `vigil bench events`: Celery consuming RabbitMQ, each message starting the same
5-step workflow as vigil's bench (INLINE -> SWITCH -> SET_VARIABLE -> JSON_JQ_TRANSFORM -> INLINE)
as a chain of 5 Celery tasks.

Durable as Celery makes it: every message persistent on a durable queue, acknowledged after its
task ran (`task_acks_late`), so a worker that dies mid-chain has the step delivered again. The
last step counts the finished workflow in Redis; the first records its lag from publication.
"""

import os
import time

import redis
from celery import Celery, chain

app = Celery("bench_events")
app.conf.update(
    broker_url=os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
    # The chains' steps; the events (`start`) come on a queue of their own.
    task_default_queue=os.environ.get("BENCH_STEPS", "vigil-bench-celery-steps"),
    task_acks_late=True,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

_redis = None


def r():
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    return _redis


@app.task(name="bench.start")
def start(n, sent_at):
    """The event: starts the workflow for message `n`, published at `sent_at` (ms)."""
    chain(inline_a.s({"n": n, "sent_at": sent_at}), switch.s(), set_variable.s(), jq.s(), inline_z.s()).apply_async()


@app.task(name="bench.a")
def inline_a(state):
    r().rpush("bench:lag", int(time.time() * 1000) - state["sent_at"])
    state["a"] = state["n"] * 2
    return state


@app.task(name="bench.switch")
def switch(state):
    state["case"] = "even" if state["a"] % 4 == 0 else "odd"
    return state


@app.task(name="bench.set_variable")
def set_variable(state):
    state["kind"] = state["case"]
    return state


@app.task(name="bench.jq")
def jq(state):
    state["j"] = {"doubled": state["a"]}
    return state


@app.task(name="bench.z")
def inline_z(state):
    state["result"] = state["j"]["doubled"] + 1
    r().incr("bench:done")
    return state
