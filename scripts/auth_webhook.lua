-- auth.pipeline[].script of a webhook provider (seed 000 "Webhook"): runs on the verifier's JSON answer.
-- Available: api_key, data (the answer's fields), request (method, path, ip, model, headers).
-- Here: a free plan may not use the big model; the verifier's "plan" goes to the key's metadata.
if data.plan == "free" and request.model == "big-model" then
    return { allow = false, message = "the free plan cannot use " .. request.model }
end
return { allow = true, metadata = { plan = data.plan } }
