"""Lua scripts that make lease and presence updates atomic in Redis."""

from __future__ import annotations

# Time inside Redis, in ms, so every process agrees on expiry whatever its own clock says.
_NOW = "local t = redis.call('time')\nlocal now = t[1] * 1000 + math.floor(t[2] / 1000)\n"

# KEYS: lease, epoch counter. ARGV: owner, ttl ms. Returns the new epoch, or nil if held.
# A missing counter starts from the current time in ms, so epochs keep growing even when Redis
# lost its data (a restart without persistence) and a stale owner still remembers its epoch.
ACQUIRE = (
    _NOW
    + """
if redis.call('exists', KEYS[1]) == 1 then return false end
if redis.call('exists', KEYS[2]) == 0 then redis.call('set', KEYS[2], now) end
local epoch = redis.call('incr', KEYS[2])
redis.call('set', KEYS[1], epoch .. ':' .. ARGV[1], 'PX', ARGV[2])
return epoch
"""
)

# KEYS: lease. ARGV: expected value, ttl ms. Returns 1 if renewed.
RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""

# KEYS: leases. ARGV: ttl ms, then each lease's expected value. Returns 1 or 0 for each lease.
RENEW_MANY = """
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('get', key) == ARGV[i + 1] then
    out[i] = redis.call('pexpire', key, ARGV[1])
  else
    out[i] = 0
  end
end
return out
"""

# KEYS: the keys. ARGV: ttl ms ('' for none), then each key's value.
SET_MANY = """
for i, key in ipairs(KEYS) do
  if ARGV[1] == '' then
    redis.call('set', key, ARGV[i + 1])
  else
    redis.call('set', key, ARGV[i + 1], 'PX', ARGV[1])
  end
end
return #KEYS
"""

# KEYS: lease. ARGV: expected value. Returns 1 if released.
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

# KEYS: deadlines zset, data hash. ARGV: member, ttl ms, data.
PRESENCE_SET = (
    _NOW
    + """
redis.call('zadd', KEYS[1], now + ARGV[2], ARGV[1])
redis.call('hset', KEYS[2], ARGV[1], ARGV[3])
for _, key in ipairs(KEYS) do
  if redis.call('pttl', key) < tonumber(ARGV[2]) then redis.call('pexpire', key, ARGV[2]) end
end
return 1
"""
)

# KEYS: deadlines zset, data hash. ARGV: ttl ms, then member, data, member, data, ...
# One ZADD and one HSET per 500 members (unpack has a limit), whatever their number.
PRESENCE_SET_MANY = (
    _NOW
    + """
local ttl = tonumber(ARGV[1])
local count = (#ARGV - 1) / 2
for first = 0, count - 1, 500 do
  local scores, fields = {}, {}
  for j = first, math.min(first + 499, count - 1) do
    local member, data = ARGV[2 + 2 * j], ARGV[3 + 2 * j]
    scores[#scores + 1] = now + ttl
    scores[#scores + 1] = member
    fields[#fields + 1] = member
    fields[#fields + 1] = data
  end
  redis.call('zadd', KEYS[1], unpack(scores))
  redis.call('hset', KEYS[2], unpack(fields))
end
for _, key in ipairs(KEYS) do
  if redis.call('pttl', key) < ttl then redis.call('pexpire', key, ttl) end
end
return count
"""
)

# KEYS: deadlines zset, data hash. Returns [member, data, member, data, ...] of live members.
PRESENCE_LIST = (
    _NOW
    + """
local dead = redis.call('zrangebyscore', KEYS[1], '-inf', now)
for i = 1, #dead, 500 do
  local chunk = {unpack(dead, i, math.min(i + 499, #dead))}
  redis.call('zrem', KEYS[1], unpack(chunk))
  redis.call('hdel', KEYS[2], unpack(chunk))
end
local live = redis.call('zrange', KEYS[1], 0, -1)
local out = {}
for i = 1, #live, 500 do
  local chunk = {unpack(live, i, math.min(i + 499, #live))}
  local data = redis.call('hmget', KEYS[2], unpack(chunk))
  for j, member in ipairs(chunk) do
    out[#out + 1] = member
    out[#out + 1] = data[j] or ''
  end
end
return out
"""
)

# KEYS: the stream, then the hashes, then the sorted sets. ARGV: the group, the number of
# hashes, for each its field count and (field, amount) pairs, the number of sorted sets, for
# each its member count and (member, score) pairs, then the ids to acknowledge. One script,
# so the totals and the acknowledgement are applied together or not at all.
FOLD_AND_ACK = """
local i, k = 3, 2
for h = 1, tonumber(ARGV[2]) do
  local n = tonumber(ARGV[i]); i = i + 1
  for f = 1, n do redis.call('hincrby', KEYS[k], ARGV[i], ARGV[i + 1]); i = i + 2 end
  k = k + 1
end
local zsets = tonumber(ARGV[i]); i = i + 1
for z = 1, zsets do
  local n = tonumber(ARGV[i]); i = i + 1
  for m = 1, n do redis.call('zadd', KEYS[k], 'GT', ARGV[i + 1], ARGV[i]); i = i + 2 end
  k = k + 1
end
while i <= #ARGV do  -- in chunks: unpack has a limit on how many values it returns
  local j = math.min(i + 999, #ARGV)
  redis.call('xack', KEYS[1], ARGV[1], unpack(ARGV, i, j))
  i = j + 1
end
return 1
"""
