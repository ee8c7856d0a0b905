-- wrk script of the benchmark (bench/load.py): cycles through ready-made requests read from the
-- file given after "--", one per line: METHOD \t PATH \t AUTHORIZATION \t JSON BODY (the last two
-- may be empty). Each wrk thread starts at its own offset. done() prints one JSON line.
local made = {}
local next_index = 1
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_number", thread_count)
end

local function fields_of(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    table.insert(fields, field)
  end
  return fields
end

function init(args)
  for line in io.lines(args[1]) do
    local f = fields_of(line)
    local headers = {}
    if f[3] ~= "" then headers["Authorization"] = f[3] end
    local body = nil
    if f[4] ~= nil and f[4] ~= "" then
      body = f[4]
      headers["Content-Type"] = "application/json"
    end
    table.insert(made, wrk.format(f[1], f[2], headers, body))
  end
  next_index = ((thread_number or 1) - 1) * 7919 % #made + 1
end

function request()
  local r = made[next_index]
  next_index = next_index % #made + 1
  return r
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, ' ..
    '"errors_connect": %d, "errors_read": %d, "errors_write": %d, "errors_status": %d, ' ..
    '"errors_timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    e.connect, e.read, e.write, e.status, e.timeout))
end
