-- scripts/auth_db_post.lua (seed 001, "database auth post-processing"): seed 001's style, a function
-- process(ctx, db_result) with ctx = { api_key, request, user_id } and the row's fields as db_result.
function process(ctx, db_result)
    -- several fields decide together
    if db_result.status ~= "enabled" then
        return { allowed = false, error = "Key disabled" }
    end
    if tonumber(db_result.quota or 0) <= 0 then
        return { allowed = false, error = "Quota exceeded" }
    end
    return { allowed = true, user_id = db_result.user_id }
end
