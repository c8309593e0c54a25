-- hooks.on_auth: runs after auth. Available: request, auth_result (allowed, key_name, user_id, quota, metadata).
-- Refuses the way on_request does; here, a key without a user may not stream.
if auth_result.user_id == nil and request.stream then
    return { continue = false, error = "streaming needs a key with a user", status = 403 }
end
return { continue = true, metadata = { key_name = auth_result.key_name } }
