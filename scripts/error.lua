-- scripts/error.lua (seed 001 scripts.error_handler): read as hooks.on_error.
-- Available: request, error_message, status. Returns { status, error }: what is absent stays.
-- Here: a backend that cannot be reached is told to the client as a temporary outage.
if status == 502 or status == 504 then
    return { status = 503, error = "the service is briefly unavailable, retry in a moment (" .. error_message .. ")" }
end
return {}
