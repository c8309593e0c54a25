-- hooks.on_error: runs when the gateway answers with an error. Available: request, error_message, status.
-- Returns { status, error }; what is absent stays.
log("error " .. status .. " on " .. request.path .. ": " .. error_message)
if status == 404 then
    return { error = "no such endpoint: " .. request.path }
end
return {}
