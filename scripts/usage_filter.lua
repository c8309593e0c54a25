-- usage.reporters[].script of a webhook reporter (seed 000 "usage_filter.lua"): filters or reshapes each record.
-- Available: record (also data): the payload the reporter would send (request_id, user_id, api_key (masked), model,
-- prompt_tokens, completion_tokens, total_tokens, is_stream, endpoint, timestamp, backend_url, key_name,
-- status_code, latency_ms, ttft_ms, estimated, aborted, metadata). Returns false or { skip = true } to skip it, a
-- table to send instead, nothing/true to send it as it is. Seed 001's function process(ctx, data) works too.
-- Here: failed requests are not billed, and the billing system gets a cost field.
if record.status_code >= 400 then
    return { skip = true }
end
record.cost_micro_usd = record.prompt_tokens * 1 + record.completion_tokens * 2
return record
