-- wrk script: POST a start of the 3-task workflow with a small input.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"n": 21}'
