"""conductor-python's clients, unchanged, against `vigil serve`: one black-box flow per client.

    python3 sdk_clients.py metadata|workflow|task|scheduler|secret

Reads CONDUCTOR_SERVER_URL (ending in /api), CONDUCTOR_AUTH_KEY and CONDUCTOR_AUTH_SECRET.
Prints `OK: <client>` and exits 0 when every check held; otherwise prints what differed and
exits 1.
"""

import os
import sys
import time

from conductor.client.configuration.configuration import Configuration
from conductor.client.configuration.settings.authentication_settings import AuthenticationSettings
from conductor.client.http.models import StartWorkflowRequest, TaskDef, TaskResult, WorkflowDef, WorkflowTask
from conductor.client.http.models.save_schedule_request import SaveScheduleRequest
from conductor.client.http.rest import ApiException
from conductor.client.orkes.orkes_metadata_client import OrkesMetadataClient
from conductor.client.orkes.orkes_scheduler_client import OrkesSchedulerClient
from conductor.client.orkes.orkes_secret_client import OrkesSecretClient
from conductor.client.orkes.orkes_task_client import OrkesTaskClient
from conductor.client.orkes.orkes_workflow_client import OrkesWorkflowClient


def config() -> Configuration:
    url = os.environ["CONDUCTOR_SERVER_URL"]
    key, secret = os.environ.get("CONDUCTOR_AUTH_KEY"), os.environ.get("CONDUCTOR_AUTH_SECRET")
    auth = AuthenticationSettings(key_id=key, key_secret=secret) if key and secret else None
    return Configuration(server_api_url=url, authentication_settings=auth)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def status_of(exc_call):
    try:
        exc_call()
    except ApiException as e:
        return e.status
    return 200


def waiting_workflow(name: str) -> WorkflowDef:
    """A SIMPLE task a test worker takes, then an INLINE."""
    return WorkflowDef(
        name=name,
        version=1,
        schema_version=2,
        tasks=[
            WorkflowTask(name="sdk_work", task_reference_name="work", type="SIMPLE",
                         input_parameters={"n": "${workflow.input.n}"}),
            WorkflowTask(name="double", task_reference_name="double", type="INLINE",
                         input_parameters={"evaluatorType": "javascript", "v": "${work.output.v}",
                                           "expression": "$.v * 2"}),
        ],
        output_parameters={"doubled": "${double.output.result}"},
    )


def metadata_flow(cfg):
    md = OrkesMetadataClient(cfg)
    md.register_task_def(TaskDef(name="sdk_work", retry_count=2, timeout_seconds=60, response_timeout_seconds=30))
    got = md.get_task_def("sdk_work")
    check(got.name == "sdk_work" and got.retry_count == 2, f"task def reads back as {got!r}")
    got.retry_count = 3
    md.update_task_def(got)
    check(md.get_task_def("sdk_work").retry_count == 3, "update_task_def took effect")
    check("sdk_work" in [t.name for t in md.get_all_task_defs()], "get_all_task_defs lists it")
    md.register_workflow_def(waiting_workflow("sdk_meta"), overwrite=True)
    wf = md.get_workflow_def("sdk_meta", version=1)
    check(wf.name == "sdk_meta" and len(wf.tasks) == 2 and wf.tasks[0].type == "SIMPLE", f"workflow reads back as {wf!r}")
    check("sdk_meta" in [d.name for d in md.get_all_workflow_defs()], "get_all_workflow_defs lists it")
    md.unregister_workflow_def("sdk_meta", 1)
    check(status_of(lambda: md.get_workflow_def("sdk_meta", version=1)) == 404, "an unregistered workflow is gone")
    md.unregister_task_def("sdk_work")
    check("sdk_work" not in [t.name for t in md.get_all_task_defs()], "an unregistered task def is gone")


def workflow_flow(cfg):
    md, wc = OrkesMetadataClient(cfg), OrkesWorkflowClient(cfg)
    md.register_workflow_def(waiting_workflow("sdk_wf"), overwrite=True)
    wid = wc.start_workflow(StartWorkflowRequest(name="sdk_wf", version=1, input={"n": 1}, correlation_id="c-1"))
    check(isinstance(wid, str) and wid, f"start_workflow returned {wid!r}")
    wf = wc.get_workflow(wid, include_tasks=True)
    check(wf.status == "RUNNING" and wf.correlation_id == "c-1", f"started workflow reads {wf!r}")
    check(wf.tasks[0].task_def_name == "sdk_work" and wf.tasks[0].task_type == "sdk_work", f"task shape {wf.tasks[0]!r}")
    wc.pause_workflow(wid)
    check(wc.get_workflow(wid, include_tasks=False).status == "PAUSED", "pause_workflow paused it")
    wc.resume_workflow(wid)
    check(wc.get_workflow(wid, include_tasks=False).status == "RUNNING", "resume_workflow resumed it")
    wc.terminate_workflow(wid, reason="sdk says stop")
    wf = wc.get_workflow(wid, include_tasks=False)
    check(wf.status == "TERMINATED" and "sdk says stop" in (wf.reason_for_incompletion or ""), f"terminated: {wf!r}")
    wc.restart_workflow(wid)
    check(wc.get_workflow(wid, include_tasks=False).status == "RUNNING", "restart_workflow runs it again")
    wc.terminate_workflow(wid)
    by_name = wc.start_workflow_by_name("sdk_wf", {"n": 2}, version=1)
    found = wc.search(query="workflowType = sdk_wf AND status = RUNNING")
    check(by_name in [r.workflow_id for r in found.results], f"search finds {by_name}: {found!r}")
    wc.terminate_workflow(by_name)
    wc.delete_workflow(by_name)
    check(status_of(lambda: wc.get_workflow(by_name)) == 404, "a deleted workflow is gone")


def task_flow(cfg):
    md, wc, tc = OrkesMetadataClient(cfg), OrkesWorkflowClient(cfg), OrkesTaskClient(cfg)
    md.register_workflow_def(waiting_workflow("sdk_task"), overwrite=True)
    # 204 when nothing waits, as Conductor answers; the SDK then returns None or an empty Task.
    empty = tc.poll_task("sdk_work", worker_id="w0")
    check(empty is None or not getattr(empty, "task_id", None), f"nothing to poll yet: {empty!r}")
    wid = wc.start_workflow(StartWorkflowRequest(name="sdk_task", version=1, input={"n": 21}))
    check(tc.get_queue_size_for_task("sdk_work") == 1, "one task queued")
    task = tc.poll_task("sdk_work", worker_id="w1")
    check(task is not None and task.input_data == {"n": 21} and task.workflow_instance_id == wid, f"polled {task!r}")
    tc.add_task_log(task.task_id, "working on it")
    logs = tc.get_task_logs(task.task_id)
    check([entry.log for entry in logs] == ["working on it"], f"task logs {logs!r}")
    got = tc.get_task(task.task_id)
    check(got.reference_task_name == "work" and got.status == "IN_PROGRESS", f"get_task {got!r}")
    result = TaskResult(workflow_instance_id=wid, task_id=task.task_id, status="COMPLETED", output_data={"v": 21},
                        worker_id="w1")
    tc.update_task(result)
    deadline = time.time() + 10
    while time.time() < deadline and wc.get_workflow(wid, include_tasks=False).status != "COMPLETED":
        time.sleep(0.1)
    wf = wc.get_workflow(wid, include_tasks=True)
    check(wf.status == "COMPLETED" and wf.output == {"doubled": 42}, f"completed with {wf.output!r}")


def scheduler_flow(cfg):
    md, sc = OrkesMetadataClient(cfg), OrkesSchedulerClient(cfg)
    md.register_workflow_def(waiting_workflow("sdk_sched"), overwrite=True)
    req = SaveScheduleRequest(name="sdk_every_5_min", cron_expression="0 0/5 * ? * *", zone_id="Europe/Paris",
                              start_workflow_request=StartWorkflowRequest(name="sdk_sched", version=1, input={"n": 3}),
                              paused=True)
    sc.save_schedule(req)
    got = sc.get_schedule("sdk_every_5_min")
    check(got is not None and got.cron_expression == "0 0/5 * ? * *" and got.zone_id == "Europe/Paris", f"{got!r}")
    check(got.paused is True and got.start_workflow_request.name == "sdk_sched", f"{got!r}")
    check(sc.get_schedule("no_such_schedule") is None, "an unknown schedule reads as None")
    names = [s.name for s in sc.get_all_schedules("sdk_sched")]
    check(names == ["sdk_every_5_min"], f"get_all_schedules(workflow) lists {names}")
    check(sc.get_all_schedules("other_workflow") == [], "no schedule for another workflow")
    sc.resume_schedule("sdk_every_5_min")
    check(sc.get_schedule("sdk_every_5_min").paused is False, "resume_schedule resumed it")
    sc.pause_schedule("sdk_every_5_min", reason="maintenance")
    check(sc.get_schedule("sdk_every_5_min").paused is True, "pause_schedule paused it")
    start = 1767225600000  # 2026-01-01T00:00:00Z
    times = sc.get_next_few_schedule_execution_times("0 0/5 * ? * *", schedule_start_time=start, limit=3)
    check(times == [start, start + 300000, start + 600000], f"next few: {times}")
    check(status_of(lambda: sc.get_next_few_schedule_execution_times("61 * * * * *")) == 400, "a bad cron is a 400")
    sc.delete_schedule("sdk_every_5_min")
    check(sc.get_schedule("sdk_every_5_min") is None, "a deleted schedule is gone")


def secret_flow(cfg):
    sc = OrkesSecretClient(cfg)
    sc.put_secret("sdk_token", "s3cr3t-v1")
    check(sc.secret_exists("sdk_token") is True, "secret_exists after put_secret")
    check(sc.secret_exists("sdk_missing") is False, "secret_exists for an unknown one")
    check("sdk_token" in sc.list_all_secret_names(), "list_all_secret_names lists it")
    check("sdk_token" in sc.list_secrets_that_user_can_grant_access_to(), "the grantable list has it")
    sc.put_secret("sdk_token", "s3cr3t-v2")
    check(status_of(lambda: sc.get_secret("sdk_token")) == 403, "vigil never returns a secret's value")
    sc.delete_secret("sdk_token")
    check(sc.secret_exists("sdk_token") is False, "a deleted secret is gone")
    check(status_of(lambda: sc.delete_secret("sdk_token")) == 404, "deleting it again is a 404")


FLOWS = {"metadata": metadata_flow, "workflow": workflow_flow, "task": task_flow, "scheduler": scheduler_flow,
         "secret": secret_flow}

if __name__ == "__main__":
    which = sys.argv[1]
    try:
        FLOWS[which](config())
    except AssertionError as e:
        print(f"FAIL: {which}: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"OK: {which}")
