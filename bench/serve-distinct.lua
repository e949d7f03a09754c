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

local next_thread = 0

-- Runs once per thread, in the main Lua state: number the threads.
function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
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
