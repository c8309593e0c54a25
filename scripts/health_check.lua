-- health_check.script (seed 000 "health_check.lua"): judges a backend's health check answer.
-- Available: response (status, status_code, headers, body, latency_ms), backend (name, url), expected_status.
-- Returns true/false or { healthy = ... }; nothing judges by expected_status. Seed 001's function
-- process(ctx, data) gets the backend as ctx and the response as data.
-- Here: a server that says it is still loading its model (llama.cpp answers {"status":"loading model"}) is not
-- healthy yet, even with a 200.
if response.status_code ~= expected_status then
    return false
end
if response.body ~= nil and response.body:find("loading", 1, true) then
    return { healthy = false }
end
return { healthy = true }
