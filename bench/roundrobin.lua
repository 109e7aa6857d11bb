-- wrk: POST the hello event to F functions in turn, for the scaling benchmark:
--   wrk ... -s roundrobin.lua http://HOST:PORT -- PREFIX F
-- calls /api/v1/functions/PREFIX0/invoke ... PREFIX{F-1} round-robin.
local requests, i = {}, 0

function init(args)
  local prefix, n = args[1], tonumber(args[2])
  for k = 0, n - 1 do
    requests[#requests + 1] = wrk.format("POST", "/api/v1/functions/" .. prefix .. k .. "/invoke",
      { ["Content-Type"] = "application/json" }, '{"name":"World"}')
  end
end

function request()
  i = i % #requests + 1
  return requests[i]
end
