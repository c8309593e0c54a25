-- auth.pipeline[].script of a redis provider (seed 000 "Redis"): runs on the record found at key_pattern.
-- Available: api_key, data (the hash's fields, or the JSON value), request (method, path, ip, model, headers).
-- Returns { allow = false, message = "..." } to refuse; other fields (user_id, metadata...) join the record.
if data.tier == "suspended" then
    return { allow = false, message = "key suspended by billing" }
end
return { allow = true, metadata = { tier = data.tier or "standard" } }
