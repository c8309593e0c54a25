-- scripts/request.lua (seed 001 scripts.request_transform): read as hooks.on_request.
-- Available: request (method, path, client_ip, headers, body, api_key (masked), user_id, model, stream).
-- Here: every request to the backend carries the gateway's tag, and a request without max_tokens gets 256.
request.headers["X-Gateway"] = "llmproxy"
if type(request.body) == "table" and request.body.max_tokens == nil then
    request.body.max_tokens = 256
end
return { continue = true }
