-- GCRA over one minute for two counts of one key, both or neither taken:
-- the Lua twin of domain/quota.Take. See the package comment for the
-- number representation (TAT stored as a decimal string of Unix ns; all
-- arithmetic on ns offsets from now, exact in doubles).
--
-- KEYS[1] requests TAT, KEYS[2] samples TAT
-- ARGV    now_s now_ns (now_s = -1: use the server's TIME),
--         requests_limit requests_cost samples_limit samples_cost
--         (limit 0 = unlimited: the key is neither read nor written)
-- returns {allowed remaining retry_after_ns reset_ns} for requests, then samples

local WINDOW = 60000000000 -- quota.Window in ns
local E9 = 1000000000

local now_s, now_ns = tonumber(ARGV[1]), tonumber(ARGV[2])
if now_s < 0 then
  local t = redis.call('TIME')
  now_s, now_ns = tonumber(t[1]), tonumber(t[2]) * 1000
end

-- offset (ns) of the stored TAT from now, floored at 0 as quota.Take does.
local function offset(key)
  local v = redis.call('GET', key)
  if not v then return 0 end
  local s, ns = 0, tonumber(v)
  if #v > 9 then
    s, ns = tonumber(string.sub(v, 1, -10)), tonumber(string.sub(v, -9))
  end
  local d = (s - now_s) * E9 + (ns - now_ns)
  if d < 0 then return 0 end
  return d
end

local function remaining(d, interval)
  local r = math.floor((WINDOW - d) / interval)
  if r < 0 then return 0 end
  return r
end

-- check returns the decision and, when allowed, the new TAT offset.
local function check(key, limit, cost)
  if limit <= 0 then return {1, 0, 0, 0}, nil end
  local interval = math.floor(WINDOW / limit)
  local d = offset(key)
  if cost > limit then
    return {0, remaining(d, interval), WINDOW, d}, nil
  end
  local nd = d + cost * interval
  local allow_at = nd - WINDOW
  if allow_at > 0 then
    return {0, remaining(d, interval), allow_at, d}, nil
  end
  return {1, remaining(nd, interval), 0, nd}, nd
end

-- store writes now+d as Unix ns and lets the key expire a second after it
-- passes. A TAT in the past reads as an empty bucket, so the slack changes
-- no decision; it keeps a key from vanishing early when the callers' clock
-- is behind Redis's (a replica's skew, a test's stopped clock), which would
-- hand out a fresh quota.
local function store(key, d)
  local total = now_ns + d
  local carry = math.floor(total / E9)
  local v = string.format('%d%09d', now_s + carry, total - carry * E9)
  local ttl = math.ceil(d / 1000000) + 1000
  redis.call('SET', key, v, 'PX', ttl)
end

local rd, rn = check(KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[4]))
local sd, sn = check(KEYS[2], tonumber(ARGV[5]), tonumber(ARGV[6]))
if rd[1] == 1 and sd[1] == 1 then
  if rn then store(KEYS[1], rn) end
  if sn then store(KEYS[2], sn) end
end
return {rd[1], rd[2], rd[3], rd[4], sd[1], sd[2], sd[3], sd[4]}
