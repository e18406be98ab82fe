-- pmail's reads of queue entries, run inside Redis (streams.py, docs/queue.md).
--
-- Anyone who can write to Redis can write an entry of hundreds of megabytes. A
-- worker refuses a reply over its limit (max_job_bytes and room for the other
-- fields) unread; the entry stays pending to it, and "sweep" moves it to the dead
-- letters here, in Redis, with only its small fields. "dead" and "first" read the
-- dead letters and a stream's oldest id without sending an oversized entry.
--
-- KEYS[1] the job stream (or the dead letters, for "dead")
-- KEYS[2] the dead-letter stream, KEYS[3] the errors hash
-- ARGV[1] what to do: "sweep" | "dead" | "first"
-- ARGV[2] group, ARGV[3] consumer, ARGV[4] count, ARGV[5] limit (bytes),
-- ARGV[6] keep (bytes: larger fields of a buried entry are dropped),
-- ARGV[7] now (seconds, as text), ARGV[8] the stream's priority

local mode = ARGV[1]
local group, consumer = ARGV[2], ARGV[3]
local count, limit, keep = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local now, priority = ARGV[7], ARGV[8]
local DEAD_FIELDS = {error = true, failed_at = true, deliveries = true, original = true}
local MAX_BURIED = 100 -- per call: the script must not hold Redis for long

local function size_of(fields)
  local size = 0
  for i = 1, #fields do
    size = size + #fields[i]
  end
  return size
end

-- the fields of an oversized entry worth keeping: small ones, the first 64 pairs
local function small_fields(fields)
  local kept = {}
  for i = 1, math.min(#fields, 128), 2 do
    local name, value = fields[i], fields[i + 1]
    if value and #name <= 64 and #value <= keep and not DEAD_FIELDS[name] then
      kept[#kept + 1] = name
      kept[#kept + 1] = value
    end
  end
  return kept
end

local function too_large(size)
  return 'an entry of ' .. string.format('%d', size) .. ' bytes is over the limit of '
    .. string.format('%d', limit) .. ' bytes (max_job_bytes and 64 KiB for the other '
    .. 'fields); Redis buried it unread, without its fields over '
    .. string.format('%d', keep) .. ' bytes'
end

-- bury one oversized entry of KEYS[1]: {original id, dead id, kept fields, error}
local function bury(id, fields, deliveries, size)
  local kept = small_fields(fields)
  local reason = too_large(size)
  local args = {}
  for i = 1, #kept do
    args[#args + 1] = kept[i]
  end
  local ref = priority .. '/' .. id
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
  -- bury the oversized entries pending for this consumer (a reply was too large)
  local buried = {}
  local pending = redis.call('XPENDING', KEYS[1], group, '-', '+', count, consumer)
  for _, p in ipairs(pending) do
    local got = redis.call('XRANGE', KEYS[1], p[1], p[1])
    if got[1] then
      local size = size_of(got[1][2])
      if size > limit then
        buried[#buried + 1] = bury(p[1], got[1][2], p[4], size)
        if #buried >= MAX_BURIED then
          break
        end
      end
    end
  end
  return buried
elseif mode == 'dead' then
  -- the dead letters, oldest first; an oversized one (written there directly) is
  -- shown with its small fields and an error that says so
  local out = {}
  for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', count)) do
    local size = size_of(entry[2])
    if size > limit then
      local kept = small_fields(entry[2])
      kept[#kept + 1] = 'error'
      kept[#kept + 1] = too_large(size)
      entry = {entry[1], kept}
    end
    out[#out + 1] = entry
  end
  return out
elseif mode == 'first' then
  -- the id of the stream's oldest entry, without the entry
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  if first[1] then
    return first[1][1]
  end
  return false
end
return redis.error_reply('streams.lua: unknown mode ' .. tostring(mode))
