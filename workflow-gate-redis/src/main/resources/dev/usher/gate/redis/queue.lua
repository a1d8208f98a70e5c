-- The whole protocol of one cluster-wide admission queue. Every call is one atomic EVALSHA on the queue's
-- slot: all keys share the hash tag in the prefix. See RedisAdmissionQueue's class comment for the design.
--
-- KEYS[1]: the queue's meta hash (its name carries the hash tag; every other key is built from ARGV[2]).
-- ARGV: 1 op, 2 key prefix, 3 maxRunning, 4 maxRunningPerKey, 5 maxQueued, 6 instance, 7 lease ms,
--       8 grace ms, 9 smoothing, 10 initial run ms (0: none), 11.. the op's arguments.
--
-- Data (P = prefix):
--   P..'w'  zset of queued tickets, score 0, member tag = round(15 digits):keyOrder(12 digits):ticketId,
--           so the lexicographic order is the fair order and ZRANK is the position.
--   P..'a'  zset of the head tag of every key below its per-key limit: ZRANGE a 0 0 is "next".
--   P..'k:'..key  zset of that key's queued tags (FIFO within the key).
--   P..'t'  hash ticketId -> json {m tag, k key, i instance, e entered ms} while queued.
--   P..'ph' hash ticketId -> json {k, i, f fence, s started ms, w waited ms} while a permit is out.
--   P..'ko' / 'kr' / 'kl' / 'ka'  hashes key -> order / running / last admitted round / tag in 'a'.
--   P..'i'  zset instance -> lease deadline ms; P..'ip:'..i / P..'iw:'..i its permits / waiters (sets).
--   P..'g' hash key -> 'round:order:deadline' of a departed ticket's slot; P..'gz' zset key -> deadline.
--   KEYS[1] meta: running, fence, korders, curRound, curOrder, avg, sumStart, and the counters.

local op = ARGV[1]
local P = ARGV[2]
local MAXRUN = tonumber(ARGV[3])
local PERKEY = tonumber(ARGV[4])
local MAXQUEUED = tonumber(ARGV[5])
local INST = ARGV[6]
local LEASE = tonumber(ARGV[7])
local GRACE = tonumber(ARGV[8])
local SMOOTH = tonumber(ARGV[9])
local INITIAL = tonumber(ARGV[10])
local M = KEYS[1]
local W, A, T, PH, I = P .. 'w', P .. 'a', P .. 't', P .. 'ph', P .. 'i'
local KO, KR, KL, KA = P .. 'ko', P .. 'kr', P .. 'kl', P .. 'ka'
local G, GZ = P .. 'g', P .. 'gz'
local REAP_BUDGET = 64

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

local function kz(key) return P .. 'k:' .. key end
local function num(v, default) if v then return tonumber(v) end return default end
local function hnum(h, f, default) return num(redis.call('HGET', h, f), default) end
local function int(n) return string.format('%d', n) end
local function tag(round, order, tid) return string.format('%015d:%012d:', round, order) .. tid end
local function parse(m) return tonumber(string.sub(m, 1, 15)), tonumber(string.sub(m, 17, 28)), string.sub(m, 30) end

-- Keeps the key's entry in 'a' equal to its head tag when the key is below its per-key limit.
local function refresh(key)
  local old = redis.call('HGET', KA, key)
  local head = redis.call('ZRANGE', kz(key), 0, 0)[1]
  local want = false
  if head and hnum(KR, key, 0) < PERKEY then want = head end
  if old == want then return end
  if old then redis.call('ZREM', A, old); redis.call('HDEL', KA, key) end
  if want then redis.call('ZADD', A, 0, want); redis.call('HSET', KA, key, want) end
end

-- A key with nothing queued and nothing running is forgotten (it comes back as a new key, as locally).
local function dropIfIdle(key)
  if redis.call('ZCARD', kz(key)) == 0 and hnum(KR, key, 0) <= 0 then
    redis.call('HDEL', KO, key); redis.call('HDEL', KR, key); redis.call('HDEL', KL, key); redis.call('HDEL', KA, key)
  end
end

local function lastRound(key)
  local tail = redis.call('ZRANGE', kz(key), -1, -1)[1]
  if tail then local r = parse(tail); return r end
  return hnum(KL, key, -1)
end

-- The fair-order tag of a new ticket of key (see DefaultAdmissionQueue), or its key's remembered slot
-- when the key re-enters within the grace period.
local function newTag(key, tid)
  local order = num(redis.call('HGET', KO, key), nil)
  local g = redis.call('HGET', G, key)
  if g then
    redis.call('HDEL', G, key); redis.call('ZREM', GZ, key)
    local gr, go, gdl = string.match(g, '^(%d+):(%d+):(%d+)$')
    gr, go, gdl = tonumber(gr), tonumber(go), tonumber(gdl)
    if gdl >= now and (order == nil or order == go) then
      local prefix = string.format('%015d:', gr)
      local taken = redis.call('ZRANGEBYLEX', kz(key), '[' .. prefix, '(' .. string.format('%015d;', gr), 'LIMIT', 0, 1)[1]
      if not taken then
        if order == nil then redis.call('HSET', KO, key, go) end
        return tag(gr, go, tid), true
      end
    end
  end
  if order == nil then
    order = redis.call('HINCRBY', M, 'korders', 1)
    redis.call('HSET', KO, key, order)
  end
  local curRound, curOrder = hnum(M, 'curRound', 0), hnum(M, 'curOrder', 0)
  local round = math.max(curRound, lastRound(key) + 1)
  if round == curRound and order <= curOrder then round = round + 1 end
  return tag(round, order, tid), false
end

-- Admits the smallest admissible tags while slots are free; tells each holder's instance on its channel.
local function admitLoop(quiet)
  local admitted = {}
  local running = hnum(M, 'running', 0)
  while running < MAXRUN do
    local m = redis.call('ZRANGE', A, 0, 0)[1]
    if not m then break end
    local round, order, tid = parse(m)
    local info = cjson.decode(redis.call('HGET', T, tid))
    local key = info.k
    redis.call('ZREM', A, m); redis.call('HDEL', KA, key)
    redis.call('ZREM', W, m); redis.call('ZREM', kz(key), m); redis.call('HDEL', T, tid)
    redis.call('SREM', P .. 'iw:' .. info.i, tid)
    local fence = redis.call('HINCRBY', M, 'fence', 1)
    if fence == 1 then
      -- A fresh counter (a new queue, or a Redis that lost its data) starts above any token handed out
      -- before: the clock in ms times 1000, so tokens stay increasing across a data loss too (a restart
      -- takes more than a millisecond, and no queue admits 1000 tickets per millisecond).
      fence = now * 1000
      redis.call('HSET', M, 'fence', int(fence))
    end
    local waited = math.max(0, now - info.e)
    redis.call('HSET', PH, tid, cjson.encode({k = key, i = info.i, f = int(fence), s = int(now), w = int(waited)}))
    redis.call('SADD', P .. 'ip:' .. info.i, tid)
    running = redis.call('HINCRBY', M, 'running', 1)
    redis.call('HINCRBY', KR, key, 1)
    redis.call('HINCRBY', M, 'sumStart', int(now))
    redis.call('HINCRBY', M, 'admitted', 1)
    if round > hnum(KL, key, -1) then redis.call('HSET', KL, key, round) end
    local curRound, curOrder = hnum(M, 'curRound', 0), hnum(M, 'curOrder', 0)
    if round > curRound or (round == curRound and order > curOrder) then
      redis.call('HSET', M, 'curRound', round, 'curOrder', order)
    end
    refresh(key)
    if tid ~= quiet then
      redis.call('PUBLISH', P .. 'ch:' .. info.i, tid .. ' ' .. int(fence) .. ' ' .. int(waited))
    end
    admitted[tid] = fence
  end
  return admitted
end

-- Removes a queued ticket. The key keeps its turns: each later ticket of the key moves into the slot of
-- the one before it, so the slot freed is the key's last; it is remembered for the grace period so the
-- key's client, reconnecting anywhere, gets it back.
local function withdraw(tid, outcome)
  local raw = redis.call('HGET', T, tid)
  if not raw then return false end
  local info = cjson.decode(raw)
  local key, m = info.k, info.m
  local z = kz(key)
  local later = redis.call('ZRANGEBYLEX', z, '[' .. m, '+')
  for _, x in ipairs(later) do redis.call('ZREM', W, x); redis.call('ZREM', z, x) end
  for j = 2, #later do
    local pr, po = parse(later[j - 1])
    local _, _, tj = parse(later[j])
    local moved = tag(pr, po, tj)
    redis.call('ZADD', W, 0, moved); redis.call('ZADD', z, 0, moved)
    local tinfo = cjson.decode(redis.call('HGET', T, tj))
    tinfo.m = moved
    redis.call('HSET', T, tj, cjson.encode(tinfo))
  end
  redis.call('HDEL', T, tid)
  redis.call('SREM', P .. 'iw:' .. info.i, tid)
  if outcome == 'timeout' then
    redis.call('HINCRBY', M, 'timedOut', 1)
  else
    redis.call('HINCRBY', M, 'cancelled', 1)
    if GRACE > 0 then
      local fr, fo = parse(later[#later])
      local deadline = now + GRACE
      redis.call('HSET', G, key, int(fr) .. ':' .. int(fo) .. ':' .. int(deadline))
      redis.call('ZADD', GZ, deadline, key)
    end
  end
  refresh(key)
  dropIfIdle(key)
  return true
end

-- Gives a permit's slot back. A run of a dead instance does not feed the average (its end is unknown).
local function release(tid, measured)
  local raw = redis.call('HGET', PH, tid)
  if not raw then return false end
  local p = cjson.decode(raw)
  redis.call('HDEL', PH, tid)
  redis.call('SREM', P .. 'ip:' .. p.i, tid)
  redis.call('HINCRBY', M, 'running', -1)
  redis.call('HINCRBY', KR, p.k, -1)
  redis.call('HINCRBY', M, 'sumStart', '-' .. p.s)
  if measured then
    local ran = math.max(0, now - tonumber(p.s))
    local avg = hnum(M, 'avg', -1)
    if avg < 0 then avg = ran else avg = avg + SMOOTH * (ran - avg) end
    redis.call('HSET', M, 'avg', tostring(avg))
  else
    redis.call('HINCRBY', M, 'reaped', 1)
  end
  refresh(p.k)
  dropIfIdle(p.k)
  return true
end

-- Bounded work per call: permits and waiters of instances whose lease ran out, then expired grace slots.
local function reap()
  local budget = REAP_BUDGET
  local dead = redis.call('ZRANGEBYSCORE', I, '-inf', now, 'LIMIT', 0, 4)
  for _, inst in ipairs(dead) do
    if budget <= 0 then break end
    local ip, iw = P .. 'ip:' .. inst, P .. 'iw:' .. inst
    for _, tid in ipairs(redis.call('SPOP', ip, budget)) do release(tid, false); budget = budget - 1 end
    if budget > 0 then
      for _, tid in ipairs(redis.call('SPOP', iw, budget)) do withdraw(tid, 'gone'); budget = budget - 1 end
    end
    if redis.call('SCARD', ip) == 0 and redis.call('SCARD', iw) == 0 then redis.call('ZREM', I, inst) end
  end
  if budget > 0 then
    for _, key in ipairs(redis.call('ZRANGEBYSCORE', GZ, '-inf', now, 'LIMIT', 0, budget)) do
      redis.call('ZREM', GZ, key); redis.call('HDEL', G, key)
    end
  end
end

-- Estimated wait in ms of a position (-1: no estimate): the current runs' remaining time, then one
-- average run per further batch of maxRunning; a run already longer than the average counts as ending now.
local function estimate(pos)
  local avg = hnum(M, 'avg', -1)
  if avg < 0 then
    if INITIAL <= 0 then return -1 end
    avg = INITIAL
  end
  local running = hnum(M, 'running', 0)
  local elapsed = 0
  if running > 0 then elapsed = math.max(0, now - hnum(M, 'sumStart', 0) / running) end
  local per = math.max(avg, elapsed)
  local batches = math.ceil(pos / MAXRUN)
  return math.floor((per - elapsed) + (batches - 1) * per)
end

local function alive(inst)
  local deadline = redis.call('ZSCORE', I, inst)
  return deadline and tonumber(deadline) >= now
end

if op == 'register' then
  redis.call('ZADD', I, now + math.floor(LEASE * 2 / 3), INST)
  reap()
  admitLoop(nil)
  return 1
end

if op == 'enter' then
  -- ARGV[11] key, ARGV[12] ticket id. Reply: {'admitted', fence} | {'queued', position, estimate ms}
  -- | {'full', average run ms or -1} | {'dead'} when this instance's lease had run out.
  reap()
  if not alive(INST) then return {'dead'} end
  local key, tid = ARGV[11], ARGV[12]
  local immediate = hnum(M, 'running', 0) < MAXRUN and redis.call('ZCARD', A) == 0
      and redis.call('ZCARD', kz(key)) == 0 and hnum(KR, key, 0) < PERKEY
  if not immediate and redis.call('ZCARD', W) >= MAXQUEUED then
    redis.call('HINCRBY', M, 'rejected', 1)
    local avg = hnum(M, 'avg', -1)
    if avg < 0 and INITIAL > 0 then avg = INITIAL end
    return {'full', math.floor(avg)}
  end
  local m = newTag(key, tid)
  redis.call('HSET', T, tid, cjson.encode({m = m, k = key, i = INST, e = int(now)}))
  redis.call('ZADD', W, 0, m); redis.call('ZADD', kz(key), 0, m)
  redis.call('SADD', P .. 'iw:' .. INST, tid)
  refresh(key)
  local admitted = admitLoop(tid)
  if admitted[tid] then return {'admitted', admitted[tid]} end
  local rank = redis.call('ZRANK', W, m)
  return {'queued', rank + 1, estimate(rank + 1)}
end

if op == 'close' then
  -- ARGV[11] ticket id. Reply 1 if the permit was out and is now released, 0 if it was already gone.
  reap()
  local released = release(ARGV[11], true)
  admitLoop(nil)
  if released then return 1 end
  return 0
end

if op == 'cancel' then
  -- ARGV[11] ticket id, ARGV[12] 'cancel' | 'timeout'. Reply {1} withdrawn, {2, fence, waited ms} when it
  -- had been admitted (the permit is the caller's), {0} when it is gone.
  reap()
  local tid = ARGV[11]
  if withdraw(tid, ARGV[12]) then admitLoop(nil); return {1} end
  local raw = redis.call('HGET', PH, tid)
  if raw then local p = cjson.decode(raw); return {2, tonumber(p.f), tonumber(p.w)} end
  return {0}
end

if op == 'heartbeat' then
  -- Renews this instance's lease, which is the lease of all its permits and waiters. Reply 1, or 0 when the
  -- lease had already run out (its permits and waiters were, or are being, reaped).
  if not alive(INST) then return 0 end
  redis.call('ZADD', I, now + math.floor(LEASE * 2 / 3), INST)
  reap()
  admitLoop(nil)
  return 1
end

if op == 'positions' then
  -- ARGV[11..] ticket ids. Reply: running, queued, then per ticket {'q', position, estimate ms}
  -- | {'a', fence, waited ms} | {'g'}.
  local out = {hnum(M, 'running', 0), redis.call('ZCARD', W)}
  for i = 11, #ARGV do
    local tid = ARGV[i]
    local raw = redis.call('HGET', T, tid)
    if raw then
      local rank = redis.call('ZRANK', W, cjson.decode(raw).m) + 1
      out[#out + 1] = {'q', rank, estimate(rank)}
    else
      local p = redis.call('HGET', PH, tid)
      if p then p = cjson.decode(p); out[#out + 1] = {'a', tonumber(p.f), tonumber(p.w)}
      else out[#out + 1] = {'g'} end
    end
  end
  return out
end

if op == 'stats' then
  return {hnum(M, 'running', 0), redis.call('ZCARD', W), hnum(M, 'admitted', 0), hnum(M, 'rejected', 0),
          hnum(M, 'timedOut', 0), hnum(M, 'cancelled', 0), math.floor(hnum(M, 'avg', -1))}
end

if op == 'leave' then
  -- ARGV[11] 'cancel' | 'timeout', ARGV[12..] ticket ids: many withdrawals in one call (departed clients,
  -- a closing instance). Reply per ticket as for 'cancel'.
  local out = {}
  for i = 12, #ARGV do
    local tid = ARGV[i]
    if withdraw(tid, ARGV[11]) then out[#out + 1] = {1}
    else
      local raw = redis.call('HGET', PH, tid)
      if raw then local p = cjson.decode(raw); out[#out + 1] = {2, tonumber(p.f), tonumber(p.w)}
      else out[#out + 1] = {0} end
    end
  end
  admitLoop(nil)
  return out
end

return redis.error_reply('unknown queue op ' .. tostring(op))
