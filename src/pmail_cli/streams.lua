-- pmail's reads of queue entries that must not send an entry to pmail whole
-- (streams.py, docs/queue.md "Entries too large to read").
--
-- Anyone who can write to Redis can write an entry of hundreds of megabytes, field
-- names of any size, or a consumer name of megabytes. A worker refuses a reply over
-- its limit unread; "sweep" then moves the oversized entries pending to it to the
-- dead letters here, in Redis, keeping only their small known fields. "pending",
-- "error", "status", "dead" and "redrive" answer what pmail asks about the streams
-- with small values only, and "redrive" moves a dead letter without sending it.
-- "move" buries or gives back one entry whose fields pmail sends; "aside" moves keys
-- of the wrong type out of the way.
--
-- KEYS[1] the job stream (the dead letters for "dead" and "redrive")
-- KEYS[2] the dead-letter stream, KEYS[3] the errors hash
-- ARGV[1] mode, ARGV[2] group, ARGV[3] consumer, ARGV[4] count,
-- ARGV[5] limit (bytes), ARGV[6] keep (bytes), ARGV[7] now (seconds, as text),
-- ARGV[8] the stream's priority (for "redrive": the job stream prefix),
-- ARGV[9] start, ARGV[10] end (ids for "sweep"; dead ids for "redrive"; for
-- "move" the entry and the stream it goes to, then its fields)

local mode = ARGV[1]
local group, consumer = ARGV[2], ARGV[3]
local count, limit, keep = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local now, priority = ARGV[7], ARGV[8]
local DEAD_FIELDS = {error = true, failed_at = true, deliveries = true, original = true}
-- the fields a job or a dead letter has: the only ones shown or kept of a buried one
local KNOWN = {
  type = true, tenant = true, priority = true, origin = true, direction = true,
  job = true, enqueued = true, attempts = true, spool = true, sha256 = true,
  account = true,
  sig = true, error = true, failed_at = true, deliveries = true, original = true,
}
local PRIORITIES = {high = true, normal = true, bulk = true}
local MAX_VALUES = 1024 -- field names and values XADD is given at once (unpack's limit
-- is about 8,000): an entry with more keeps its known fields, as "redrive" does
local MAX_BURIED = 100 -- per call: the script must not hold Redis for long

-- an upper bound of the bytes the entry takes in a reply: each field name and
-- value with its length line and line ends ("$<len>\r\n...\r\n", up to 16 bytes),
-- and the entry's id and arrays; the worker's parser counts the same bytes
local function wire_size(id, fields)
  local size = #id + 64
  for i = 1, #fields do
    size = size + #fields[i] + 16
  end
  return size
end

-- the known fields of an entry, each value cut to `keep` bytes
local function small_fields(fields, skip)
  local kept, seen = {}, {}
  for i = 1, #fields - 1, 2 do
    local name, value = fields[i], fields[i + 1]
    if KNOWN[name] and not seen[name] and not (skip and skip[name]) then
      seen[name] = true
      kept[#kept + 1] = name
      kept[#kept + 1] = string.sub(value, 1, keep)
    end
  end
  return kept
end

local function too_large(size)
  return 'an entry of about ' .. string.format('%d', size) .. ' bytes is over the '
    .. 'limit of ' .. string.format('%d', limit) .. ' bytes (max_job_bytes and 64 KiB '
    .. 'for the other fields); Redis buried it unread, with only its known fields'
end

-- bury one oversized entry of KEYS[1]: {original id, dead id, kept fields, error}
local function bury(id, fields, deliveries, size)
  local kept = small_fields(fields, DEAD_FIELDS)
  local reason = too_large(size)
  local ref = priority .. '/' .. id
  local args = {}
  for i = 1, #kept do
    args[#args + 1] = kept[i]
  end
  for _, pair in ipairs({
    {'error', reason}, {'failed_at', now}, {'deliveries', tostring(deliveries)},
    {'original', ref},
  }) do
    args[#args + 1] = pair[1]
    args[#args + 1] = pair[2]
  end
  local dead_id = redis.call('XADD', KEYS[2], '*', unpack(args))
  redis.call('XACK', KEYS[1], group, id)
  redis.call('XDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[3], ref)
  return {id, dead_id, kept, reason}
end

if mode == 'sweep' then
  -- bury the oversized entries pending to this consumer between start and end
  local buried = {}
  local pending = redis.call(
    'XPENDING', KEYS[1], group, ARGV[9], ARGV[10], count, consumer)
  for _, p in ipairs(pending) do
    local got = redis.call('XRANGE', KEYS[1], p[1], p[1])
    if got[1] then
      local size = wire_size(got[1][1], got[1][2])
      if size > limit then
        buried[#buried + 1] = bury(p[1], got[1][2], p[4], size)
        if #buried >= MAX_BURIED then
          break
        end
      end
    end
  end
  return buried
elseif mode == 'pending' then
  -- the group's pending entries, oldest first: {id, idle ms, deliveries, failed
  -- before (1/0)}; never the consumer's name, which anyone may choose of any size
  local out = {}
  for _, p in ipairs(redis.call('XPENDING', KEYS[1], group, '-', '+', count)) do
    local failed = redis.call('HEXISTS', KEYS[3], priority .. '/' .. p[1])
    out[#out + 1] = {p[1], p[3], p[4], failed}
  end
  return out
elseif mode == 'error' then
  -- the last error of one entry (ARGV[9]: its ref), cut to `keep` bytes
  local value = redis.call('HGET', KEYS[3], ARGV[9])
  if value then
    return string.sub(value, 1, keep)
  end
  return false
elseif mode == 'dead' then
  -- up to count dead letters after start (exclusive, or '-'), oldest first, with
  -- their known fields only, each cut to `keep` bytes, and their size
  local out = {}
  for _, entry in ipairs(redis.call('XRANGE', KEYS[1], ARGV[9], '+', 'COUNT', count)) do
    local kept = {}
    local size = wire_size(entry[1], entry[2])
    if size > limit then -- first, so that an error of its own is shown instead
      kept = {'error', too_large(size)}
    end
    for _, value in ipairs(small_fields(entry[2])) do
      kept[#kept + 1] = value
    end
    out[#out + 1] = {entry[1], kept}
  end
  return out
elseif mode == 'redrive' then
  -- put the dead letter ARGV[9] back on the stream it came from (ARGV[8] .. the
  -- priority), without the fields bury added and with attempts = its deliveries
  local got = redis.call('XRANGE', KEYS[1], ARGV[9], ARGV[9])
  if not got[1] then
    return false
  end
  local fields = got[1][2]
  if #fields > 512 then -- no job has so many: put back its known fields only
    fields = small_fields(fields)
  end
  local args, came_from, own, deliveries = {}, nil, nil, '0'
  for i = 1, #fields - 1, 2 do
    local name, value = fields[i], fields[i + 1]
    if name == 'original' then
      came_from = string.match(value, '^(%a+)/')
    elseif name == 'deliveries' then
      deliveries = value
    elseif name == 'priority' then
      own = value
    end
    if not DEAD_FIELDS[name] and name ~= 'attempts' then
      args[#args + 1] = name
      args[#args + 1] = value
    end
  end
  local n = tonumber(deliveries)
  if not n or n ~= n or n < 0 or n > 1000000 then
    n = 0
  end
  args[#args + 1] = 'attempts'
  args[#args + 1] = string.format('%d', n)
  local target = 'normal'
  if came_from and PRIORITIES[came_from] then
    target = came_from
  elseif own and PRIORITIES[own] then
    target = own
  end
  redis.call('XADD', ARGV[8] .. target, '*', unpack(args))
  redis.pcall('XDEL', KEYS[1], ARGV[9])
  return target
elseif mode == 'aside' then
  -- rename each of KEYS (pmail's errors hash, dead letters and job streams) that
  -- holds another type than ARGV[2..] says to <key>:aside:<time>, in one step, so
  -- that two workers starting together cannot move a key the other just made right
  local moved = {}
  local now = redis.call('TIME')
  for i, key in ipairs(KEYS) do
    local found = redis.call('TYPE', key)
    found = type(found) == 'table' and found.ok or found
    if found ~= 'none' and found ~= ARGV[i + 1] then
      local name = key .. ':aside:' .. now[1] .. string.format('%06d', now[2])
      local n = 0
      while redis.call('EXISTS', name) == 1 do
        n = n + 1
        name = key .. ':aside:' .. now[1] .. string.format('%06d', now[2]) .. '-' .. n
      end
      redis.call('RENAME', key, name)
      moved[#moved + 1] = {key, found, name}
    end
  end
  return moved
elseif mode == 'move' then
  -- move one entry of KEYS[1] (ARGV[9]) to the end of ARGV[10] (the same stream to
  -- give it back, the dead letters to bury it) with the fields ARGV[11..], and drop
  -- its pending copy and error. The XADD comes first and an error ends the script
  -- there (a stream at its last possible id, memory refused): the entry stays
  -- pending, never lost, as it was between a MULTI's XADD that failed and the XACK
  -- and XDEL that ran anyway.
  local fields = {}
  for i = 11, #ARGV do
    fields[#fields + 1] = ARGV[i]
  end
  if #fields > MAX_VALUES then
    fields = small_fields(fields)
  end
  local new_id = redis.call('XADD', ARGV[10], '*', unpack(fields))
  -- the new copy is in: the old one goes whatever else someone changed (a group
  -- destroyed, the errors key of another type), or both copies would stay
  redis.pcall('XACK', KEYS[1], group, ARGV[9])
  redis.pcall('XDEL', KEYS[1], ARGV[9])
  redis.pcall('HDEL', KEYS[3], priority .. '/' .. ARGV[9])
  return new_id
elseif mode == 'status' then
  -- {entries, pending to the group, the oldest entry's id or false, entries that
  -- failed at least once}: counts and an id, never an entry or a name
  local length = redis.call('XLEN', KEYS[1])
  local pending = 0
  if length > 0 then
    for _, info in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
      local name, count_here = nil, 0
      for i = 1, #info - 1, 2 do
        if info[i] == 'name' then
          name = info[i + 1]
        elseif info[i] == 'pending' then
          count_here = info[i + 1]
        end
      end
      if name == group then
        pending = count_here
      end
    end
  end
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  local retrying = 0
  for _, ref in ipairs(redis.call('HKEYS', KEYS[3])) do
    if string.sub(ref, 1, #priority + 1) == priority .. '/' then
      retrying = retrying + 1
    end
  end
  return {length, pending, first[1] and first[1][1] or false, retrying}
end
return redis.error_reply('streams.lua: unknown mode ' .. tostring(mode))
