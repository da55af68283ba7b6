#!/usr/bin/env python3
"""Conductor's own Python SDK (conductor-python, from PyPI) against vigil's Conductor API.

Registers a task definition and a workflow with one SIMPLE task through the SDK's metadata
client, runs a worker through the SDK's task handler, starts the workflow through the SDK's
workflow client and checks that it completes with the worker's output.

Environment: CONDUCTOR_SERVER_URL (e.g. http://127.0.0.1:7700/api), and optionally
CONDUCTOR_AUTH_KEY / CONDUCTOR_AUTH_SECRET (a vigil token's id and secret).
"""
import os
import sys
import time

from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.configuration.settings.authentication_settings import AuthenticationSettings
from conductor.client.http.models import StartWorkflowRequest, TaskDef, WorkflowDef, WorkflowTask
from conductor.client.orkes.orkes_metadata_client import OrkesMetadataClient
from conductor.client.orkes.orkes_workflow_client import OrkesWorkflowClient
from conductor.client.worker.worker import Worker

TASK_NAME, WF_NAME, WF_VERSION = "vigil_echo", "sdk_flow", 1


# Module level, so the SDK's worker process (spawned) can unpickle it; annotated, so the SDK
# passes inputData["name"].
def vigil_echo(name: str) -> dict:
    return {"greeting": "hello " + str(name)}


def make_config() -> Configuration:
    url = os.environ["CONDUCTOR_SERVER_URL"]
    key, secret = os.environ.get("CONDUCTOR_AUTH_KEY"), os.environ.get("CONDUCTOR_AUTH_SECRET")
    auth = AuthenticationSettings(key_id=key, key_secret=secret) if key and secret else None
    return Configuration(server_api_url=url, authentication_settings=auth)


def main() -> int:
    config = make_config()
    metadata, workflows = OrkesMetadataClient(config), OrkesWorkflowClient(config)
    metadata.register_task_def(TaskDef(name=TASK_NAME, retry_count=0, timeout_seconds=60, response_timeout_seconds=30))
    metadata.register_workflow_def(
        WorkflowDef(
            name=WF_NAME,
            version=WF_VERSION,
            schema_version=2,
            timeout_seconds=60,
            tasks=[
                WorkflowTask(
                    name=TASK_NAME,
                    task_reference_name="echo",
                    type="SIMPLE",
                    input_parameters={"name": "${workflow.input.name}"},
                )
            ],
            output_parameters={"greeting": "${echo.output.greeting}"},
        ),
        overwrite=True,
    )
    registered = metadata.get_workflow_def(WF_NAME, version=WF_VERSION)
    if registered is None or registered.name != WF_NAME:
        print(f"FAIL: the registered workflow reads back as {registered!r}", file=sys.stderr)
        return 6

    handler = TaskHandler(
        workers=[Worker(task_definition_name=TASK_NAME, execute_function=vigil_echo, poll_interval=100)],
        configuration=config,
        scan_for_annotated_workers=False,
        monitor_processes=False,
    )
    handler.start_processes()
    try:
        wf_id = workflows.start_workflow(StartWorkflowRequest(name=WF_NAME, version=WF_VERSION, input={"name": "vigil"}))
        if not wf_id:
            print("FAIL: start_workflow returned no id", file=sys.stderr)
            return 2
        print("started workflow", wf_id)
        deadline, wf = time.time() + 30, None
        while time.time() < deadline:
            wf = workflows.get_workflow(wf_id, include_tasks=True)  # None when it does not deserialize
            status = wf.status if wf is not None else None
            if status == "COMPLETED":
                break
            if status in ("FAILED", "TIMED_OUT", "TERMINATED"):
                print(f"FAIL: workflow ended {status}: {wf.reason_for_incompletion}", file=sys.stderr)
                return 3
            time.sleep(0.2)
        else:
            print(f"FAIL: not COMPLETED within 30 s (last: {wf!r})", file=sys.stderr)
            return 4
        output = wf.output or {}
        if output.get("greeting") != "hello vigil":
            print(f"FAIL: unexpected workflow output {output!r}", file=sys.stderr)
            return 5
        task = wf.tasks[0]
        if task.status != "COMPLETED" or task.output_data != {"greeting": "hello vigil"}:
            print(f"FAIL: unexpected task {task!r}", file=sys.stderr)
            return 7
        print("OK: workflow output", output)
        return 0
    finally:
        handler.stop_processes()


if __name__ == "__main__":
    sys.exit(main())
