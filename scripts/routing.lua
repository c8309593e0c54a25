-- routing.script (seed 000; seed 001 scripts.routing): picks the backend among those eligible.
-- Available: request (model, path, method, client_ip, user_id, stream, headers), backends (each name, url, weight,
-- in_flight, models). Returns a backend's name (or url), { backend = "name" }, or a list in order of preference;
-- nothing leaves the choice to the load_balance strategy. Seed 001's function route(request, backends) works too.
-- Here: a request that asks for a backend by the X-Backend header gets it; others go to the least busy.
local wanted = request.headers["x-backend"] or request.headers["X-Backend"]
if wanted then
    return wanted
end
local best
for _, b in ipairs(backends) do
    if best == nil or b.in_flight < best.in_flight then
        best = b
    end
end
return best and best.name
