-- scripts/response.lua (seed 001 scripts.response_transform): read as hooks.on_response.
-- Available: request, response (status_code, headers, latency_ms, backend_url; body only when not a stream).
-- Here: the client learns how long the gateway took and which backend answered.
response.headers["X-Gateway-Latency-Ms"] = tostring(response.latency_ms)
return { headers = { ["X-Served-By"] = response.backend_url } }
