-- hooks.on_route: runs once the strategy has chosen. Available: request, backends (name, url, weight, healthy,
-- in_flight, models). { backend = "name" } picks one; { order = {...} } prefers the first healthy one listed.
local best
for _, b in ipairs(backends) do
    if b.healthy and (best == nil or b.in_flight < best.in_flight) then
        best = b
    end
end
if best then
    return { backend = best.name }
end
return {}
