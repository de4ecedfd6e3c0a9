/**
 * The Redis store's decisions, each one atomic Lua script. Every time is read from the Redis
 * server's clock (`TIME`), so the instances' clocks do not matter. All keys of one account share
 * one hash tag (one cluster slot). Replies are flat arrays: a verdict name first.
 */

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function ms(x) return string.format('%.0f', x) end
-- The spent budget's hold: {waitMs, code, status, count}, or nil while attempts are left.
local function budget_hold(failKey, infoKey, window, max)
  local windowStart = now - window
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', failKey, '-inf', ms(windowStart))) do redis.call('HDEL', infoKey, id) end
  redis.call('ZREMRANGEBYSCORE', failKey, '-inf', ms(windowStart))
  local count = redis.call('ZCARD', failKey)
  if count < max then return nil end
  local oldest = redis.call('ZRANGE', failKey, count - max, count - max, 'WITHSCORES')
  local code, status = 'TIMEOUT', ''
  for _, id in ipairs(redis.call('ZREVRANGE', failKey, 0, -1)) do
    local info = redis.call('HGET', infoKey, id)
    local settledCode, settledStatus = string.match(info or '', '^([%u_]+)|(%d*)$')
    if settledCode then code, status = settledCode, settledStatus break end
  end
  return {ms(tonumber(oldest[2]) + window - now), code, status, count}
end
`;

/**
 * Charge-and-lease. KEYS: lease, fence, fail (zset attempt → time), failinfo (attempt → code|status
 * once settled, ?|credential before), cd (credential → until|n|code|status), wait (server block),
 * sess (the shared session of this credential). ARGV: leaseValue (holder:attempt), attemptId, leaseMs, windowMs, maxFailed, knownFence,
 * wantSession, credentialTag, coolDownMs.
 * A server block or the credential's cool-down refuses; a newer shared session is handed out; a lease
 * held by another says busy; an attempt with this credential that nobody settled (its process died,
 * or its holder's lease ran out) refuses for one cool-down, as if it had been rejected; a spent
 * budget refuses; otherwise the attempt is charged and the lease (never extended) granted with a
 * fresh fence.
 */
export const CHARGE_AND_LEASE = `${NOW}
local wait = redis.call('HMGET', KEYS[6], 'until', 'code', 'status')
if wait[1] and tonumber(wait[1]) > now then return {'block', ms(tonumber(wait[1]) - now), wait[2], wait[3] or ''} end
local cd = redis.call('HGET', KEYS[5], ARGV[8])
if cd then
  local untilMs, n, code, status = string.match(cd, '^(%d+)|(%d+)|([%u_]+)|(%d*)$')
  if untilMs and tonumber(untilMs) > now then return {'cooldown', ms(tonumber(untilMs) - now), code, status} end
end
if ARGV[7] == '1' then
  local s = redis.call('HMGET', KEYS[7], 'fence', 'value')
  if s[1] and tonumber(s[1]) > tonumber(ARGV[6]) then return {'session', s[1], s[2]} end
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then return {'busy', ms(ttl)} end
local doubtUntil = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], ms(now - tonumber(ARGV[9])), '+inf')) do
  if redis.call('HGET', KEYS[4], id) == '?|' .. ARGV[8] then
    doubtUntil = math.max(doubtUntil, tonumber(redis.call('ZSCORE', KEYS[3], id)) + tonumber(ARGV[9]))
  end
end
if doubtUntil > now then return {'inDoubt', ms(doubtUntil - now), 'TIMEOUT', ''} end
local budget = budget_hold(KEYS[3], KEYS[4], tonumber(ARGV[4]), tonumber(ARGV[5]))
if budget then return {'budget', budget[1], budget[2], budget[3], budget[4]} end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], ms(now)) end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('ZADD', KEYS[3], ms(now), ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], '?|' .. ARGV[8])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('PEXPIRE', KEYS[4], ARGV[4])
return {'granted', tostring(fence)}
`;

/**
 * Settle a charged attempt. KEYS: lease, fail, failinfo, cd, wait. ARGV: leaseValue, attemptId,
 * outcome (success | notSent | rejected | blocked | unknown), code, status, blockMs, coolDownMs,
 * maxBlockMs, credentialTag, windowMs, maxFailed.
 * success: the budget, cool-downs and block are cleared. notSent: refunded. rejected, blocked,
 * unknown: the charge stays; a rejection cools its credential down (doubling), a block holds every
 * login. The lease is released, except after an unknown outcome: the server may still be reading
 * that login, so the lease runs out by itself. Replies the wait caused and the longest hold now.
 */
export const SETTLE = `${NOW}
local outcome = ARGV[3]
local maxBlock = tonumber(ARGV[8])
local caused = ''
if outcome == 'success' then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
elseif outcome == 'notSent' then
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('HDEL', KEYS[3], ARGV[2])
else
  if redis.call('ZSCORE', KEYS[2], ARGV[2]) then redis.call('HSET', KEYS[3], ARGV[2], ARGV[4] .. '|' .. ARGV[5]) end
  if outcome == 'rejected' then
    local n = 1
    local old = redis.call('HGET', KEYS[4], ARGV[9])
    if old then
      local oldUntil, oldN = string.match(old, '^(%d+)|(%d+)|')
      if oldUntil and tonumber(oldUntil) + maxBlock > now then n = tonumber(oldN) + 1 end
    end
    local waitMs = math.min(maxBlock, tonumber(ARGV[7]) * 2 ^ (n - 1))
    redis.call('HSET', KEYS[4], ARGV[9], ms(now + waitMs) .. '|' .. n .. '|' .. ARGV[4] .. '|' .. ARGV[5])
    redis.call('PEXPIRE', KEYS[4], ms(math.max(redis.call('PTTL', KEYS[4]), waitMs + maxBlock)))
    caused = ms(waitMs)
  elseif outcome == 'blocked' then
    local waitMs = math.min(maxBlock, math.max(0, tonumber(ARGV[6])))
    local current = tonumber(redis.call('HGET', KEYS[5], 'until') or '0')
    if now + waitMs > current and waitMs > 0 then
      redis.call('HSET', KEYS[5], 'until', ms(now + waitMs), 'code', ARGV[4], 'status', ARGV[5])
      redis.call('PEXPIRE', KEYS[5], ms(waitMs))
    end
    caused = ms(waitMs)
  end
end
if outcome ~= 'unknown' and redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
-- The longest hold in force now, whatever the credential (for statuses).
local hold = {'', '', '', '0', ''}
local function consider(reason, waitMs, code, status, count)
  if waitMs > 0 and (hold[1] == '' or waitMs > tonumber(hold[4])) then hold = {reason, code, status or '', ms(waitMs), count or ''} end
end
local wait = redis.call('HMGET', KEYS[5], 'until', 'code', 'status')
if wait[1] then consider('block', tonumber(wait[1]) - now, wait[2], wait[3]) end
local cds = redis.call('HGETALL', KEYS[4])
for i = 2, #cds, 2 do
  local untilMs, n, code, status = string.match(cds[i], '^(%d+)|(%d+)|([%u_]+)|(%d*)$')
  if untilMs then consider('coolDown', tonumber(untilMs) - now, code, status) end
end
local budget = budget_hold(KEYS[2], KEYS[3], tonumber(ARGV[10]), tonumber(ARGV[11]))
if budget then consider('budget', tonumber(budget[1]), budget[2], budget[3], tostring(budget[4])) end
return {caused, hold[1], hold[2], hold[3], hold[4], hold[5]}
`;

/**
 * Publish the shared session. KEYS: sess. ARGV: fence, value, ttlMs. Only a newer credential
 * replaces the stored one: an older login that finished late is superseded (its issuer logs it out).
 */
export const PUBLISH_SESSION = `
local current = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
if current >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'fence', ARGV[1], 'value', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

/** Invalidate-if-same. KEYS: sess. ARGV: fence. A late refusal of an old credential leaves a newer one alone. */
export const INVALIDATE_IF_SAME = `
if redis.call('HGET', KEYS[1], 'fence') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

/** Heartbeat. KEYS: users. ARGV: instance, ttlMs. The instance holds the shared session for ttlMs more. */
export const HEARTBEAT = `${NOW}
redis.call('ZADD', KEYS[1], ms(now + tonumber(ARGV[2])), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms(now))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZCARD', KEYS[1])
`;

/**
 * Leave. KEYS: users, lease, sess. ARGV: instance, leaseValue, leaseMs. The last instance that leaves
 * (no live heartbeat of another, no login under way) takes the session out of the store and the lease,
 * and logs it out; otherwise the others keep using it.
 */
export const LEAVE = `${NOW}
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms(now))
if redis.call('ZCARD', KEYS[1]) > 0 then return {'others'} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'busy'} end
local fence = redis.call('HGET', KEYS[3], 'fence')
redis.call('DEL', KEYS[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return {'logout', fence or ''}
`;

/** Release. KEYS: lease. ARGV: leaseValue. Only its own holder releases a lease. */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

/**
 * Replace-if-same. KEYS: a grant. ARGV: the sealed value read before ('' for none), the new sealed value.
 * A grant declared dead does not overwrite tokens another instance stored meanwhile.
 */
export const REPLACE_IF_SAME = `
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`;

/**
 * Fenced write. KEYS: a grant, its lease. ARGV: the lease's holder, the sealed value the write started
 * from ('' for none, '-' for one that no longer matches), the new sealed value. Written while the lease
 * is still this holder's, else only over the value it started from: a holder paused past its lease
 * never overwrites the tokens the next holder stored meanwhile.
 */
export const FENCED_WRITE = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] and (redis.call('GET', KEYS[1]) or '') ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[3])
return 1
`;

/** Lease left. KEYS: lease. ARGV: leaseValue. Its holder's milliseconds left by the Redis clock; -1 when it holds none. */
export const LEASE_LEFT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PTTL', KEYS[1]) end
return -1
`;

/** Every script, loaded once per connection. */
export const ALL_SCRIPTS: readonly string[] = [
    CHARGE_AND_LEASE,
    SETTLE,
    PUBLISH_SESSION,
    INVALIDATE_IF_SAME,
    HEARTBEAT,
    LEAVE,
    RELEASE,
    REPLACE_IF_SAME,
    FENCED_WRITE,
    LEASE_LEFT,
];
