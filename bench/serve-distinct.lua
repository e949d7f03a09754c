-- wrk script for bench/serve.sh: every request asks for a thumbnail that was
-- never asked for before in this run, so no server can answer from a cache.
--
-- Environment (set by serve.sh):
--   WRK_NAMES    file with one image name per line (a pictor id, a file name)
--   WRK_PATH     path template with {name} and {size},
--                e.g. /api/v1/img/{name}.jpg?thumbnail={size}
--   WRK_SIZE     first size (256): request i gets image i mod N and size
--                WRK_SIZE + floor(i / N), i.e. every image at 256, then
--                every image at 257, ...
--   WRK_THREADS  wrk's -t, so the threads split one sequence between them
--   WRK_STATUSES if set, count the answers by status and print one line
--                "statuses: 200=N 503=M ..." at the end (case (o), where
--                503s are expected); unset, no per-response Lua runs at all

local next_thread = 0
local threads = {}

-- Runs once per thread, in the main Lua state: number the threads.
function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
  threads[#threads + 1] = thread
end

-- Runs in each thread's own Lua state.
function init(args)
  names = {}
  for line in io.lines(os.getenv("WRK_NAMES")) do
    if line ~= "" then names[#names + 1] = line end
  end
  assert(#names > 0, "WRK_NAMES lists no names")
  template = os.getenv("WRK_PATH")
  first_size = tonumber(os.getenv("WRK_SIZE") or "256")
  nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
  n = 0
  statuses = {}
end

-- Thread t takes requests t, t + T, t + 2T, ... of the shared sequence.
function request()
  local i = tid + nthreads * n
  n = n + 1
  local name = names[(i % #names) + 1]
  local size = tostring(first_size + math.floor(i / #names))
  local path = template:gsub("{name}", name):gsub("{size}", size)
  return wrk.format("GET", path)
end

if os.getenv("WRK_STATUSES") then
  -- Runs in each thread's own Lua state, once per answer.
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
  end

  -- Runs once, in the main Lua state, after the run.
  function done(summary, latency, requests)
    local total = {}
    for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
        total[status] = (total[status] or 0) + n
      end
    end
    local keys = {}
    for status in pairs(total) do keys[#keys + 1] = status end
    table.sort(keys)
    local parts = {}
    for _, status in ipairs(keys) do parts[#parts + 1] = status .. "=" .. total[status] end
    io.write("statuses: " .. table.concat(parts, " ") .. "\n")
  end
end
