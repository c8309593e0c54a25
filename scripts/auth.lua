-- auth.pipeline[] of type lua (seed 000 "Lua", seed 001): the script alone decides, data is empty.
-- Available: api_key, request (method, path, ip, client_ip, model, headers), data = {}.
-- Returns { allow = true/false, message = "...", user_id, name, metadata, ... }, true/false, or nothing (allow).
-- Seed 001's style, function process(ctx, data) returning { allowed = ..., error = ... }, works too.
if api_key == nil or not api_key:match("^sk%-lua%-") then
    return { allow = false, message = "not a key of the lua provider" }
end
return { allow = true, user_id = "lua_" .. api_key:sub(-4), name = "Lua key", metadata = { via = "auth.lua" } }
