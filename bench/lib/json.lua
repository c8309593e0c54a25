-- wrk: small non-streaming chat completion (the mock answers it from a precomputed buffer).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
require("report")
wrk.method = "POST"
wrk.body = '{"model":"mock","messages":[{"role":"user","content":"hi"}],"max_tokens":3}'
wrk.headers["Content-Type"] = "application/json"
