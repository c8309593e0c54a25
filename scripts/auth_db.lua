-- auth.pipeline[].script of a database provider (seed 000 "Database", fields user_id, quota, status).
-- Available: api_key, data (the row's fields), request (method, path, ip, model, headers).
-- A key whose quota column is spent is refused; the others go on with the row's fields.
local quota = tonumber(data.quota)
if quota ~= nil and quota <= 0 then
    return { allow = false, message = "Quota exceeded" }
end
return true
