-- hooks.on_error: runs when the client is to get an error: the gateway's own, or a backend's 5xx that stands once
-- retries are spent. Available: request, error_message, status.
-- Returns { status, error }; what is absent stays.
log("error " .. status .. " on " .. request.path .. ": " .. error_message)
if status == 404 then
    return { error = "no such endpoint: " .. request.path }
end
return {}
