-- wrk: small non-streaming chat completion (the mock answers it from a precomputed buffer).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
require("report")
wrk.method = "POST"
wrk.body = '{"model":"mock","messages":[{"role":"user","content":"hi"}],"max_tokens":3}'
wrk.headers["Content-Type"] = "application/json"
-- every leg sends the key the llmproxy-auth leg checks; the others ignore it
wrk.headers["Authorization"] = "Bearer sk-bench-0123456789abcdef"
