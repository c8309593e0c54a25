-- scripts/ratelimit.lua (seed 001 "custom rate limiting"; seed 000 rate_limit.script).
-- Seed 001 wrote function process(ctx, usage); this gateway calls function rate_limit(request, limits) (or runs the
-- script with the globals request and limits): request = { key_id, key_name, user_id, metadata, model, path,
-- method }, limits = { requests_per_second, requests_per_minute, tokens_per_minute, max_concurrent, burst_size }.
-- Returns { skip = true } for no limit, a table of limits to replace the key's, or nothing/true for the configured.
function rate_limit(request, limits)
    -- VIP users are not limited
    if request.user_id ~= nil and request.user_id:match("^vip_") then
        return { skip = true }
    end
    return true
end
