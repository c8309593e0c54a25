-- scripts/log_filter.lua (seed 001 "log filtering"; seed 000 logging.request.script): whether a request log row
-- is written. function process(ctx, log) gets ctx.request (method, path, client_ip, ...) and the row; the
-- globals entry and request are there too. { skip = true } (or false) drops the row.
function process(ctx, log)
    -- no rows for health checks
    if ctx.request.path == "/health" then
        return { skip = true }
    end
    -- no rows for requests from the internal network
    if ctx.request.client_ip ~= nil and ctx.request.client_ip:match("^10%.") then
        return { skip = true }
    end
    return { skip = false }
end
