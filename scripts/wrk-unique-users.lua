-- wrk script: POST a Nexway create-user body with a unique email per request, so that the
-- simulator creates every user instead of answering 409.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  counter = 0
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"email":"u%d-%d@bench.example","firstName":"B","lastName":"M","password":"pw"}', id, counter)
  return wrk.format("POST", "/iam/users",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer bench-token" }, body)
end
