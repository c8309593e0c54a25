-- hooks.on_complete: after the last byte, off the request's critical path.
-- Available: request, response (status_code, latency_ms, ttft_ms, backend_url, aborted),
-- usage (prompt_tokens, completion_tokens, total_tokens, estimated).
log(json_encode({ path = request.path, status = response.status_code, tokens = usage.total_tokens,
    at = now_ms() }))
