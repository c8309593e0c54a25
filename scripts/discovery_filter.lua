-- discovery.sources[].script (seed 000 and 001 "discovery_filter.lua"): filters or rewrites the list a source read.
-- Available: backends (each name, url, weight, models, headers, healthy...), source (the source's name).
-- Returns the list to keep (or { backends = list }); nothing keeps the list as read.
-- Seed 001's style, function process(ctx, data) with ctx = { source = ... }, works too.
local kept = {}
for _, b in ipairs(backends) do
    if not (b.name or ""):match("^staging%-") then
        b.weight = b.weight * 2
        kept[#kept + 1] = b
    end
end
return kept
