-- hooks.on_request (seed 000, "Lifecycle Hooks"): runs once the request body is read, before auth.
-- Available: request (method, path, client_ip, headers, body, api_key, user_id)
-- Return: { continue = true/false, error = "...", headers = {}, metadata = {} }

if request.path == "/v1/completions" then
    return { continue = false, error = "Endpoint not supported" }
end

-- Add trace ID
request.headers["X-Request-ID"] = generate_uuid()

return { continue = true }
