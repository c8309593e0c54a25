-- hooks.on_response (seed 000): runs before the answer leaves.
-- Available: request, response (status_code, headers, body, latency_ms, backend_url)
log("Response status: " .. response.status_code)
return { continue = true }
