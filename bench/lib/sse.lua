-- wrk: streaming chat completion, 20 SSE chunks back to back (no interval), then [DONE].
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
require("report")
wrk.method = "POST"
wrk.body = '{"model":"mock","messages":[{"role":"user","content":"hi"}],"max_tokens":3,"stream":true}'
wrk.headers["Content-Type"] = "application/json"
-- every leg sends the key the llmproxy-auth leg checks; the others ignore it
wrk.headers["Authorization"] = "Bearer sk-bench-0123456789abcdef"
wrk.headers["X-Mock-Chunks"] = "20"
