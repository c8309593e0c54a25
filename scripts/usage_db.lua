-- usage.reporters[].script of a database reporter (seed 000 "usage_db.lua"): the row before it is written.
-- Available: record (also data): request_id, timestamp, api_key (masked), user_id, method, path, backend_url,
-- status_code, latency_ms, prompt_tokens, completion_tokens, total_tokens, metadata. The columns of the table are
-- these: a field added here is not written. Returns false or { skip = true } to skip the row.
-- Here: requests without tokens (errors, /v1/models) leave no row, and the user id is never empty.
if record.total_tokens == 0 then
    return false
end
if record.user_id == nil then
    record.user_id = "anonymous"
end
return record
