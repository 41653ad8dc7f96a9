-- One concert's line in Redis. The keys of a line share one hash tag, `{<concert_id>}`, so that
-- on a Redis Cluster they live in one slot and this script can run there.
--
-- KEYS (named here, in this order, by every call):
--   1 seq      arrival counter (INCR: the one step that fixes arrival order)
--   2 waiting  sorted set token -> place. A place taken before the sale opens scores a random
--              fraction in [0, 1) drawn by the caller; one taken after it scores its arrival
--              number (>= 1). Position = ZRANK + 1.
--   3 active   sorted set token -> admitted-until (ms); its size is the admitted count
--   4 line     hash: opens (the opening in ms, or "open" once the line has opened), and the
--              admission rate observed lately: start, count, rate
--   5 seen     sorted set token -> when someone last asked about this waiting place (ms)
--   6 arrived  sorted set token -> when this waiting place was taken (ms), for the oldest wait
--   7, 8       the call's own keys: t:<token> and/or u:<user_id> (see each action)
-- Keys of other tokens and users (those admitted from the head of the line, say) cannot be
-- named before the script runs; they are formed from the same prefix and hash tag, so they
-- share the slot:
--   t:<token>    hash user, status, until, expired
--   u:<user_id>  the user's live token in this line
--
-- STATUS names the ticket statuses (boxoffice.statuses.TicketStatus): the loader defines it in a
-- line it puts ahead of this text, so that the names are written in one place.
--
-- Every call settles the line first: idle places are given up, the line opens once its opening
-- has passed, admissions whose time is up expire, and the head of the line moves into every free
-- place. A script runs atomically, so processes settling at once never admit past the limit or
-- out of order, and the line opens exactly once: whoever joins after that moment, whatever their
-- own clock says, goes to the end.

local SEQ, WAITING, ACTIVE, LINE, SEEN, ARRIVED = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local P = string.sub(SEQ, 1, -4)

local now = tonumber(ARGV[1])
local max_active = tonumber(ARGV[2])
local active_ms = tonumber(ARGV[3])
local memory_ms = tonumber(ARGV[4])
local keep_ms = tonumber(ARGV[5])
local idle_ms = tonumber(ARGV[6])
local action = ARGV[7]
-- Idle places given up per call: the background tick of every process calls too, so a mass
-- departure is absorbed over a few calls instead of one long one.
local IDLE_BATCH = 200

local function expire_ticket(token, at)
  local key = P .. 't:' .. token
  local user = redis.call('HGET', key, 'user')
  if not user then return end
  redis.call('HSET', key, 'status', STATUS.EXPIRED, 'expired', at)
  redis.call('PEXPIRE', key, memory_ms)
  local user_key = P .. 'u:' .. user
  if redis.call('GET', user_key) == token then redis.call('DEL', user_key) end
end

local function out_of_line(token)
  redis.call('ZREM', WAITING, token)
  redis.call('ZREM', SEEN, token)
  redis.call('ZREM', ARRIVED, token)
end

local function admit(token, user)
  local key = P .. 't:' .. token
  redis.call('HSET', key, 'status', STATUS.ACTIVE, 'until', now + active_ms)
  redis.call('PEXPIRE', key, active_ms + memory_ms)
  redis.call('ZADD', ACTIVE, now + active_ms, token)
  redis.call('SET', P .. 'u:' .. user, token, 'PX', active_ms + memory_ms)
end

-- Same arithmetic as boxoffice.queue.rate.AdmissionRate.after_admitting.
local function record_admissions(count)
  local start = tonumber(redis.call('HGET', LINE, 'start'))
  if not start then
    redis.call('HSET', LINE, 'start', now, 'count', count)
  elseif now - start >= 30000 then
    local closed = tonumber(redis.call('HGET', LINE, 'count')) * 1000 / (now - start)
    redis.call('HSET', LINE, 'rate', tostring(closed), 'start', now, 'count', count)
  else
    redis.call('HINCRBY', LINE, 'count', count)
  end
  redis.call('PEXPIRE', LINE, keep_ms)
end

local function left_idle(token)
  local seen = redis.call('ZSCORE', SEEN, token)
  return seen and tonumber(seen) < now - idle_ms, seen
end

local function give_up_idle()
  local idle = redis.call('ZRANGEBYSCORE', SEEN, '-inf', '(' .. (now - idle_ms),
    'WITHSCORES', 'LIMIT', 0, IDLE_BATCH)
  for i = 1, #idle, 2 do
    out_of_line(idle[i])
    expire_ticket(idle[i], tonumber(idle[i + 1]) + idle_ms)
  end
end

-- Whether the line is open for admission, opening it (once, for good) when its time has come.
local function open_now()
  local opens = redis.call('HGET', LINE, 'opens')
  if not opens or opens == 'open' then return true end
  if now < tonumber(opens) then return false end
  redis.call('HSET', LINE, 'opens', 'open')
  return true
end

local function settle()
  give_up_idle()
  if not open_now() then return end
  local overdue = redis.call('ZRANGEBYSCORE', ACTIVE, '-inf', now, 'WITHSCORES')
  for i = 1, #overdue, 2 do
    redis.call('ZREM', ACTIVE, overdue[i])
    expire_ticket(overdue[i], overdue[i + 1])
  end
  local free = max_active - redis.call('ZCARD', ACTIVE)
  local admitted = 0
  while free > 0 do
    local head = redis.call('ZPOPMIN', WAITING)
    if #head == 0 then break end
    local token = head[1]
    local fields = redis.call('HMGET', P .. 't:' .. token, 'status', 'user')
    local idle, seen = left_idle(token)
    redis.call('ZREM', SEEN, token)
    redis.call('ZREM', ARRIVED, token)
    -- A ticket whose key ran out of time, or that nobody asked about lately, was abandoned.
    if idle then
      expire_ticket(token, tonumber(seen) + idle_ms)
    elseif fields[1] == STATUS.WAITING then
      admit(token, fields[2])
      free = free - 1
      admitted = admitted + 1
    end
  end
  if admitted > 0 then record_admissions(admitted) end
end

local function describe(token, keep_alive)
  local key = P .. 't:' .. token
  local fields = redis.call('HMGET', key, 'user', 'status', 'until', 'expired')
  if not fields[1] then return false end
  local position = false
  local line = redis.call('HMGET', LINE, 'opens', 'start', 'count', 'rate')
  if fields[2] == STATUS.WAITING then
    local idle, seen = left_idle(token)
    if idle then
      out_of_line(token)
      expire_ticket(token, tonumber(seen) + idle_ms)
      fields = redis.call('HMGET', key, 'user', 'status', 'until', 'expired')
    else
      if keep_alive then redis.call('ZADD', SEEN, 'XX', now, token) end
      local rank = redis.call('ZRANK', WAITING, token)
      if rank then position = rank + 1 end
    end
  end
  local opens = line[1]
  if opens == 'open' then opens = false end
  return {
    fields[1], fields[2], fields[3] or false, fields[4] or false, position,
    line[2] or false, line[3] or false, line[4] or false, opens or false,
  }
end

local function release(token)
  local status = redis.call('HGET', P .. 't:' .. token, 'status')
  if status == STATUS.WAITING then
    out_of_line(token)
  elseif status == STATUS.ACTIVE then
    redis.call('ZREM', ACTIVE, token)
  else
    return
  end
  expire_ticket(token, now)
  settle()
end

local function keep(names)
  for _, name in ipairs(names) do redis.call('PEXPIRE', name, keep_ms) end
end

-- The line's opening as the caller read it from the database; a line that exists keeps its own
-- (the operator's changes reach it through `reschedule`).
local function know_line(opens)
  if not redis.call('HGET', LINE, 'opens') then
    redis.call('HSET', LINE, 'opens', opens == '' and 'open' or opens)
  end
end

-- KEYS[7] = u:<user>, KEYS[8] = t:<token>
local function join(user, token, draw)
  local user_key, key = KEYS[7], KEYS[8]
  local existing = redis.call('GET', user_key)
  if existing then
    local status = redis.call('HGET', P .. 't:' .. existing, 'status')
    if status == STATUS.WAITING and left_idle(existing) then
      release(existing)
    elseif status == STATUS.WAITING or status == STATUS.ACTIVE then
      return {0, existing, describe(existing, true)}
    end
  end
  local seq = redis.call('INCR', SEQ)
  redis.call('HSET', key, 'user', user, 'seq', seq, 'status', STATUS.WAITING)
  local opened = redis.call('HGET', LINE, 'opens') == 'open'
  if opened and redis.call('ZCARD', WAITING) == 0 and redis.call('ZCARD', ACTIVE) < max_active then
    admit(token, user)
  else
    redis.call('PEXPIRE', key, keep_ms)
    -- Before the opening the place is the random draw; after it, the arrival number.
    redis.call('ZADD', WAITING, opened and seq or draw, token)
    redis.call('ZADD', SEEN, now, token)
    redis.call('ZADD', ARRIVED, now, token)
    redis.call('SET', user_key, token, 'PX', keep_ms)
  end
  keep({SEQ, WAITING, ACTIVE, LINE, SEEN, ARRIVED})
  return {1, token, describe(token, true)}
end

-- Move the opening (ARGV[8]: ms, or '' for open now). Returns 'opened' when the line has opened
-- and the new opening is in the future: a sale that opened cannot close again.
local function reschedule(upcoming)
  local opens = redis.call('HGET', LINE, 'opens')
  if not opens then
    if upcoming ~= '' then
      redis.call('HSET', LINE, 'opens', upcoming)
      keep({LINE})
    end
    return 'ok'
  end
  if opens == 'open' then
    return upcoming == '' and 'ok' or 'opened'
  end
  redis.call('HSET', LINE, 'opens', upcoming == '' and tostring(now) or upcoming)
  settle()
  return 'ok'
end

if action == 'join' then know_line(ARGV[10]) end
settle()
if action == 'join' then
  return join(ARGV[8], ARGV[9], ARGV[11])
elseif action == 'describe' then  -- KEYS[7] = t:<token>
  return describe(ARGV[8], ARGV[9] == '1')
elseif action == 'leave' then  -- KEYS[7] = t:<token>
  release(ARGV[8])
  return false
elseif action == 'finish' then  -- KEYS[7] = u:<user>
  local token = redis.call('GET', KEYS[7])
  if token and redis.call('HGET', P .. 't:' .. token, 'status') == STATUS.ACTIVE then
    release(token)
  end
  return false
elseif action == 'give_up' then  -- KEYS[7] = u:<user>: their place, waiting or admitted
  local token = redis.call('GET', KEYS[7])
  if token then release(token) end
  return false
elseif action == 'reschedule' then
  return reschedule(ARGV[8])
elseif action == 'stats' then
  local oldest = redis.call('ZRANGE', ARRIVED, 0, 0, 'WITHSCORES')
  local line = redis.call('HMGET', LINE, 'start', 'count', 'rate')
  return {
    redis.call('ZCARD', WAITING), redis.call('ZCARD', ACTIVE), oldest[2] or false,
    line[1] or false, line[2] or false, line[3] or false,
  }
elseif action == 'settle' then
  return {redis.call('ZCARD', WAITING), redis.call('ZCARD', ACTIVE)}
end
return redis.error_reply('unknown action ' .. tostring(action))
