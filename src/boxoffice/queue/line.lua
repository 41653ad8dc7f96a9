-- One concert's line in Redis. Every key of a line shares the hash tag `{concert_id}` and the
-- prefix ARGV[1] = "queue:{<concert_id>}:":
--   seq              arrival counter (INCR: the one step that fixes arrival order)
--   waiting          sorted set token -> arrival number; position = ZRANK + 1
--   active           sorted set token -> admitted-until (ms); its size is the admitted count
--   rate             hash start, count, rate: the admission rate observed lately
--   t:<token>        hash user, seq, status, until, expired
--   u:<user_id>      the user's live token in this line
-- Each entry point below settles the line first: admissions whose time is up expire, and the
-- head of the line moves into every free place. A script runs atomically, so processes
-- settling at once never admit past the limit or out of order.

local P = ARGV[1]
local now = tonumber(ARGV[2])
local max_active = tonumber(ARGV[3])
local active_ms = tonumber(ARGV[4])
local memory_ms = tonumber(ARGV[5])
local keep_ms = tonumber(ARGV[6])
local action = ARGV[7]
local subject = ARGV[8]

local function expire_ticket(token, at)
  local key = P .. 't:' .. token
  local user = redis.call('HGET', key, 'user')
  if not user then return end
  redis.call('HSET', key, 'status', 'EXPIRED', 'expired', at)
  redis.call('PEXPIRE', key, memory_ms)
  local user_key = P .. 'u:' .. user
  if redis.call('GET', user_key) == token then redis.call('DEL', user_key) end
end

local function admit(token, user)
  local key = P .. 't:' .. token
  redis.call('HSET', key, 'status', 'ACTIVE', 'until', now + active_ms)
  redis.call('PEXPIRE', key, active_ms + memory_ms)
  redis.call('ZADD', P .. 'active', now + active_ms, token)
  redis.call('SET', P .. 'u:' .. user, token, 'PX', active_ms + memory_ms)
end

-- Same arithmetic as boxoffice.queue.rate.AdmissionRate.after_admitting.
local function record_admissions(count)
  local rate = P .. 'rate'
  local start = tonumber(redis.call('HGET', rate, 'start'))
  if not start then
    redis.call('HSET', rate, 'start', now, 'count', count)
  elseif now - start >= 30000 then
    local closed = tonumber(redis.call('HGET', rate, 'count')) * 1000 / (now - start)
    redis.call('HSET', rate, 'rate', tostring(closed), 'start', now, 'count', count)
  else
    redis.call('HINCRBY', rate, 'count', count)
  end
  redis.call('PEXPIRE', rate, keep_ms)
end

local function settle()
  local overdue = redis.call('ZRANGEBYSCORE', P .. 'active', '-inf', now, 'WITHSCORES')
  for i = 1, #overdue, 2 do
    redis.call('ZREM', P .. 'active', overdue[i])
    expire_ticket(overdue[i], overdue[i + 1])
  end
  local free = max_active - redis.call('ZCARD', P .. 'active')
  local admitted = 0
  while free > 0 do
    local head = redis.call('ZPOPMIN', P .. 'waiting')
    if #head == 0 then break end
    local fields = redis.call('HMGET', P .. 't:' .. head[1], 'status', 'user')
    -- A waiting ticket whose key has run out of time was abandoned: skip it.
    if fields[1] == 'WAITING' then
      admit(head[1], fields[2])
      free = free - 1
      admitted = admitted + 1
    end
  end
  if admitted > 0 then record_admissions(admitted) end
end

local function describe(token)
  local fields = redis.call('HMGET', P .. 't:' .. token, 'user', 'status', 'until', 'expired')
  if not fields[1] then return false end
  local position = false
  if fields[2] == 'WAITING' then
    local rank = redis.call('ZRANK', P .. 'waiting', token)
    if rank then position = rank + 1 end
  end
  local rate = redis.call('HMGET', P .. 'rate', 'start', 'count', 'rate')
  return {
    fields[1], fields[2], fields[3] or false, fields[4] or false, position,
    rate[1] or false, rate[2] or false, rate[3] or false,
  }
end

local function release(token)
  local status = redis.call('HGET', P .. 't:' .. token, 'status')
  if status == 'WAITING' then
    redis.call('ZREM', P .. 'waiting', token)
  elseif status == 'ACTIVE' then
    redis.call('ZREM', P .. 'active', token)
  else
    return
  end
  expire_ticket(token, now)
  settle()
end

local function join(user, token)
  local user_key = P .. 'u:' .. user
  local existing = redis.call('GET', user_key)
  if existing then
    local status = redis.call('HGET', P .. 't:' .. existing, 'status')
    if status == 'WAITING' or status == 'ACTIVE' then return {0, existing, describe(existing)} end
  end
  local seq = redis.call('INCR', P .. 'seq')
  local key = P .. 't:' .. token
  redis.call('HSET', key, 'user', user, 'seq', seq, 'status', 'WAITING')
  if redis.call('ZCARD', P .. 'waiting') == 0
      and redis.call('ZCARD', P .. 'active') < max_active then
    admit(token, user)
  else
    redis.call('PEXPIRE', key, keep_ms)
    redis.call('ZADD', P .. 'waiting', seq, token)
    redis.call('SET', user_key, token, 'PX', keep_ms)
  end
  for _, name in ipairs({'seq', 'waiting', 'active'}) do
    redis.call('PEXPIRE', P .. name, keep_ms)
  end
  return {1, token, describe(token)}
end

settle()
if action == 'join' then
  local user, token = subject, ARGV[9]
  return join(user, token)
elseif action == 'describe' then
  return describe(subject)
elseif action == 'leave' then
  release(subject)
  return false
elseif action == 'finish' then
  local token = redis.call('GET', P .. 'u:' .. subject)
  if token and redis.call('HGET', P .. 't:' .. token, 'status') == 'ACTIVE' then
    release(token)
  end
  return false
elseif action == 'settle' then
  return {redis.call('ZCARD', P .. 'waiting'), redis.call('ZCARD', P .. 'active')}
end
return redis.error_reply('unknown action ' .. tostring(action))
