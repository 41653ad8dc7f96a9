-- Requests for wrk from a data file prepared by bench/wrk.py, one request a line:
--   METHOD <tab> PATH <tab> BODY <tab> Header: value <tab> Header: value ...
-- In "once" mode every line is sent once: wrk's threads take the lines in turn (thread i takes
-- lines i, i+T, i+2T, ...) and a thread stops when its lines run out (each seat is held once).
-- In "cycle" mode every thread goes round all the lines. Status counts are kept per thread and printed by
-- done() as one JSON line, with the latency percentiles.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function split(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    table.insert(fields, field)
  end
  return fields
end

function init(args)
  local path, mode, count = args[1], args[2], tonumber(args[3])
  cycle = mode == "cycle"
  requests = {}
  statuses = {}
  ran_out = false
  local i = 0
  for line in io.lines(path) do
    -- A cycling thread takes every line (from its own offset, see below), so that a single
    -- line keeps every thread busy.
    if cycle or i % count == index then
      local f = split(line)
      local headers = {}
      for h = 4, #f do
        local name, value = f[h]:match("^([^:]+):%s*(.*)$")
        if name then headers[name] = value end
      end
      local body = f[3] ~= "" and f[3] or nil
      table.insert(requests, wrk.format(f[1], f[2], headers, body))
    end
    i = i + 1
  end
  next_request = cycle and (index % math.max(#requests, 1)) + 1 or 1
end

function request()
  if next_request > #requests then
    if cycle and #requests > 0 then
      next_request = 1
    else
      ran_out = true
      wrk.thread:stop()
      return requests[#requests] or wrk.format("GET", "/")
    end
  end
  local r = requests[next_request]
  next_request = next_request + 1
  return r
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  local out_of_lines = false
  local sent = 0
  for _, thread in ipairs(threads) do
    local seen = thread:get("statuses")
    for status, n in pairs(seen) do
      counts[status] = (counts[status] or 0) + n
    end
    if thread:get("ran_out") then out_of_lines = true end
    -- Lines 0 .. sent-1 of the file cover every request this thread sent.
    local reached = (thread:get("next_request") - 1) * #threads + thread:get("index")
    if reached > sent then sent = reached end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"requests": %d, "duration_us": %d, "statuses": {%s}, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p95": %d, "p99": %d, "max": %d, "mean": %.1f}, "ran_out": %s, "sent_lines": %d}\n',
    summary.requests, summary.duration, table.concat(parts, ", "),
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean, tostring(out_of_lines), sent))
end
