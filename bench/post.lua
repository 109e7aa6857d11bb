-- wrk: POST the same small JSON event on every request.
wrk.method = "POST"
wrk.body = '{"name":"World"}'
wrk.headers["Content-Type"] = "application/json"
