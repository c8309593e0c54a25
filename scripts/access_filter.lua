-- logging.access.script (seed 000 "access_filter.lua"): whether an access log line is written.
-- Available: entry (the line's fields: status, method, path, ...), request (method, path, client_ip, ...).
-- Returns false (or { skip = true }) to drop the line. Here: metrics scrapes leave no line.
if request.path == "/metrics" then
    return false
end
return true
