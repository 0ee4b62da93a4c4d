/**
 * The Lua scripts that keep the swarm in Redis. Each change of the registry is one script, so that it is
 * atomic (no instance ever sees half an announce) and costs one round trip. Keys are built from a prefix
 * (ARGV[1]) inside the scripts: one Redis (or a primary with replicas), not Redis Cluster.
 *
 * Keys, under the prefix:
 *   owner            hash  peer id → instance that holds its connection
 *   since            hash  peer id → when that connection was made (ms, the instance's clock): the newer
 *                          of two connections with one id keeps it when instances republish (REPUBLISH)
 *   i:<inst>:peers   set   the peer ids of an instance (reaped with it)
 *   i:<inst>:addrs   set   addresses with connections counted for an instance
 *   instances        zset  instance → the time (Redis clock, ms) its registration expires
 *   info             hash  instance → its figures (JSON: peers, messages/s), for /stats
 *   a:<address>      hash  instance → open connections of that address
 *   b:<address>      hash  the address's catalog budget: tokens, updated (ms); expires once full
 *   d                hash  digest → file id (small integers: the index's sets stay compact)
 *   fid              string  the last file id given
 *   f:<id>           hash  d digest, z size, c chunk size, k chunk count, t mime, names (a JSON array, as
 *                          the client gets it), nt the same names as a JSON list of JSON strings (opaque to
 *                          Lua, whose cjson refuses a lone surrogate, which a name may hold), ln the names
 *                          lowercased and made well-formed (JSON), l the same joined by "\n" (what a search
 *                          reads), g the trigrams indexed (JSON), n holders, s seeders, m catalog member
 *                          (absent while the file is unlisted), col its collection info (JSON), x 1 once
 *                          some holder announced it sealed
 *   h:<id>           hash  peer id → "all" or its bitfield (base64)
 *   p:<peer>         set   file ids a peer holds
 *   cat              zset  catalog order: score −holders, member "<first name>\0<digest>" (equal scores
 *                          sort by member, i.e. by name, then digest)
 *   dig              zset  every listed digest at score 0, for digest-prefix search (ZRANGEBYLEX)
 *   g:<trigram>      set   ids of the files with a name containing that trigram
 *   m:<digest>       string  a verified manifest (JSON), with a TTL refreshed when read
 *   ms:<digest>      string  "<size>:<chunk size>" of that manifest, same TTL: fixes the shape
 *   stats            hash  files, holdings, swarms
 *   rev              string  the catalog revision
 *   ch:<inst>        pub/sub channel of an instance: signals, take-overs, drops, catalog notices
 */

import { MAX_NAMES_PER_FILE } from '../shared/limits.js'

/** Helpers every script starts with. */
const PRELUDE = `
local P = ARGV[1]
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function leeching(fk)
  local v = redis.call('HMGET', fk, 'n', 's')
  return tonumber(v[1]) > tonumber(v[2])
end
local function swarmDelta(had, has)
  if had ~= has then redis.call('HINCRBY', P .. 'stats', 'swarms', has and 1 or -1) end
end
-- Forgets one holding; the file goes with its last holder. True when a catalog page shows the change: there
-- was a holding, of a listed file (an unlisted one, a private share or a collection's member, is in no
-- catalog order, name index or revision).
local function dropHolding(peer, id)
  local fk = P .. 'f:' .. id
  local have = redis.call('HGET', P .. 'h:' .. id, peer)
  if not have then return false end
  local had = leeching(fk)
  redis.call('HDEL', P .. 'h:' .. id, peer)
  redis.call('SREM', P .. 'p:' .. peer, id)
  redis.call('HINCRBY', P .. 'stats', 'holdings', -1)
  local n = redis.call('HINCRBY', fk, 'n', -1)
  if have == 'all' then redis.call('HINCRBY', fk, 's', -1) end
  local member = redis.call('HGET', fk, 'm')
  if n == 0 then
    local digest = redis.call('HGET', fk, 'd')
    for _, g in ipairs(cjson.decode(redis.call('HGET', fk, 'g'))) do
      redis.call('SREM', P .. 'g:' .. g, id)
    end
    if member then
      redis.call('ZREM', P .. 'cat', member)
      redis.call('ZREM', P .. 'dig', digest)
    end
    redis.call('HDEL', P .. 'd', digest)
    redis.call('DEL', fk, P .. 'h:' .. id)
    redis.call('HINCRBY', P .. 'stats', 'files', -1)
    swarmDelta(had, false)
  else
    if member then redis.call('ZADD', P .. 'cat', -n, member) end
    swarmDelta(had, leeching(fk))
  end
  return member ~= false
end
local function dropPeer(peer)
  local dropped = false
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'p:' .. peer)) do
    if dropHolding(peer, id) then dropped = true end
  end
  redis.call('DEL', P .. 'p:' .. peer)
  return dropped
end
local function entryOf(id)
  local v = redis.call('HMGET', P .. 'f:' .. id, 'd', 'names', 't', 'z', 'c', 'k', 'n', 's', 'col')
  return v
end
`

/** Gives the peer id to an instance, forgetting what it held before. Returns the instance before, or ''. */
const TAKE_OVER = `
local function takeOver(peer, inst, since)
  local before = redis.call('HGET', P .. 'owner', peer)
  if dropPeer(peer) then redis.call('INCR', P .. 'rev') end
  if before and before ~= inst then redis.call('SREM', P .. 'i:' .. before .. ':peers', peer) end
  redis.call('HSET', P .. 'owner', peer, inst)
  redis.call('HSET', P .. 'since', peer, since)
  redis.call('SADD', P .. 'i:' .. inst .. ':peers', peer)
  return before or ''
end
`

/**
 * ARGV: prefix, peer, instance, since (when the connection was made, ms). A connection made now takes
 * the peer id over, forgetting what it held; returns {the instance that held it before or '', the
 * revision}.
 */
export const CLAIM = `${PRELUDE}${TAKE_OVER}
local before = takeOver(ARGV[2], ARGV[3], ARGV[4])
return {before, tonumber(redis.call('GET', P .. 'rev') or '0')}
`

/**
 * ARGV: prefix, peer, instance, since (when this instance's connection of the peer was made, ms). An
 * instance publishing its peers again (after an outage) claims an id only if no newer connection holds
 * it: one made elsewhere while this instance could not reach Redis (the client reconnected through
 * another instance) keeps it. Returns {1, the instance before or ''} when claimed (what the peer held is
 * forgotten, to be published again), or {0, the holder} when the newer connection is another's: this
 * instance's connection is stale.
 */
export const REPUBLISH = `${PRELUDE}${TAKE_OVER}
local peer, inst, since = ARGV[2], ARGV[3], tonumber(ARGV[4])
local owner = redis.call('HGET', P .. 'owner', peer)
if owner and owner ~= inst and tonumber(redis.call('HGET', P .. 'since', peer) or '0') > since then
  return {0, owner}
end
-- Held here or by an older connection (or nobody): what it held is forgotten and published again.
return {1, takeOver(peer, inst, ARGV[4])}
`

/** ARGV: prefix, peer, instance. Forgets the peer if this instance still holds it; returns the revision. */
export const RELEASE = `${PRELUDE}
local peer, inst = ARGV[2], ARGV[3]
if redis.call('HGET', P .. 'owner', peer) == inst then
  if dropPeer(peer) then redis.call('INCR', P .. 'rev') end
  redis.call('HDEL', P .. 'owner', peer)
  redis.call('HDEL', P .. 'since', peer)
  redis.call('SREM', P .. 'i:' .. inst .. ':peers', peer)
end
return tonumber(redis.call('GET', P .. 'rev') or '0')
`

/**
 * ARGV: prefix, peer, instance, files (JSON: [{d, z, c, k, t, col (collection info, JSON), x (sealed),
 * names (each a JSON string; none for an unlisted file), first (the first name, well-formed), lnames,
 * grams, have}]). Sets what the peer holds of each file, creating files and adding names. A file enters
 * the catalog order, the digest index and the revision when it gets its first name, and takes its type and
 * collection info from that announce; until then (unlisted) its holders change no revision. Returns
 * {revision, conflicts (JSON list of digests whose shape the cluster has otherwise)}, or {-1} when the
 * peer is not this instance's.
 */
export const HOLD = `${PRELUDE}
local peer, inst = ARGV[2], ARGV[3]
if redis.call('HGET', P .. 'owner', peer) ~= inst then return {-1, '[]'} end
local conflicts = {}
local changed = false
for _, f in ipairs(cjson.decode(ARGV[4])) do
  local id = redis.call('HGET', P .. 'd', f.d)
  local shape = redis.call('GET', P .. 'ms:' .. f.d)
  local known = shape
  if id then
    local v = redis.call('HMGET', P .. 'f:' .. id, 'z', 'c')
    known = v[1] .. ':' .. v[2]
  end
  if known and known ~= (f.z .. ':' .. f.c) then
    table.insert(conflicts, f.d)
  else
    local fk
    if not id then
      id = redis.call('INCR', P .. 'fid')
      fk = P .. 'f:' .. id
      redis.call('HSET', fk, 'd', f.d, 'z', f.z, 'c', f.c, 'k', f.k, 'names', '[]', 'nt', '[]', 'ln', '[]', 'l', '',
        'g', '[]', 'n', 0, 's', 0)
      redis.call('HSET', P .. 'd', f.d, id)
      redis.call('HINCRBY', P .. 'stats', 'files', 1)
    else
      fk = P .. 'f:' .. id
    end
    local names = cjson.decode(redis.call('HGET', fk, 'nt'))
    if #names < ${MAX_NAMES_PER_FILE} then
      local lower = cjson.decode(redis.call('HGET', fk, 'ln'))
      local grams = cjson.decode(redis.call('HGET', fk, 'g'))
      local added = false
      for i, name in ipairs(f.names) do
        local present = #names >= ${MAX_NAMES_PER_FILE}
        for _, n in ipairs(names) do if n == name then present = true end end
        if not present then
          table.insert(names, name)
          table.insert(lower, f.lnames[i])
          added = true
          local seen = {}
          for _, g in ipairs(grams) do seen[g] = true end
          for _, g in ipairs(f.grams[i]) do
            if not seen[g] then
              seen[g] = true
              table.insert(grams, g)
              redis.call('SADD', P .. 'g:' .. g, id)
            end
          end
        end
      end
      if added then
        redis.call('HSET', fk, 'names', '[' .. table.concat(names, ',') .. ']', 'nt', cjson.encode(names),
          'ln', cjson.encode(lower), 'l', table.concat(lower, '\\n'), 'g', cjson.encode(grams))
        if not redis.call('HGET', fk, 'm') then
          -- Listed now: this announce sets what the catalog shows beside the name, and its place.
          local member = f.first .. '\\0' .. f.d
          redis.call('HSET', fk, 'm', member)
          if f.t then redis.call('HSET', fk, 't', f.t) end
          if f.col then redis.call('HSET', fk, 'col', f.col) end
          redis.call('ZADD', P .. 'dig', 0, f.d)
          redis.call('ZADD', P .. 'cat', -tonumber(redis.call('HGET', fk, 'n')), member)
        end
        changed = true
      end
    end
    if f.x then redis.call('HSET', fk, 'x', 1) end
    local member = redis.call('HGET', fk, 'm')
    local hk = P .. 'h:' .. id
    local before = redis.call('HGET', hk, peer)
    -- A page shows holders and seeders, not which chunks a leecher has: only those changing are seen.
    if member and (not before or (before == 'all') ~= (f.have == 'all')) then changed = true end
    if before ~= f.have then
      local had = leeching(fk)
      if not before then
        redis.call('HINCRBY', fk, 'n', 1)
        redis.call('HINCRBY', P .. 'stats', 'holdings', 1)
        redis.call('SADD', P .. 'p:' .. peer, id)
      end
      if before == 'all' then redis.call('HINCRBY', fk, 's', -1) end
      if f.have == 'all' then redis.call('HINCRBY', fk, 's', 1) end
      redis.call('HSET', hk, peer, f.have)
      if member then redis.call('ZADD', P .. 'cat', -tonumber(redis.call('HGET', fk, 'n')), member) end
      swarmDelta(had, leeching(fk))
    end
  end
end
local rev = changed and redis.call('INCR', P .. 'rev') or tonumber(redis.call('GET', P .. 'rev') or '0')
return {rev, cjson.encode(conflicts)}
`

/** ARGV: prefix, peer, instance, digests (JSON). Drops the peer's holdings of those files. */
export const DROP = `${PRELUDE}
local peer, inst = ARGV[2], ARGV[3]
if redis.call('HGET', P .. 'owner', peer) ~= inst then return -1 end
local changed = false
for _, digest in ipairs(cjson.decode(ARGV[4])) do
  local id = redis.call('HGET', P .. 'd', digest)
  if id and dropHolding(peer, id) then changed = true end
end
if changed then return redis.call('INCR', P .. 'rev') end
return tonumber(redis.call('GET', P .. 'rev') or '0')
`

/**
 * ARGV: prefix, digest, size, chunk size, manifest JSON, TTL (s). Caches the manifest and its shape; drops
 * every holder of a false shape. Returns the revision, then the dropped holders: peer, instance, ...
 */
export const PUT_MANIFEST = `${PRELUDE}
local digest, size, chunkSize, ttl = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[6])
redis.call('SET', P .. 'm:' .. digest, ARGV[5], 'EX', ttl)
redis.call('SET', P .. 'ms:' .. digest, size .. ':' .. chunkSize, 'EX', ttl)
local id = redis.call('HGET', P .. 'd', digest)
local rev = tonumber(redis.call('GET', P .. 'rev') or '0')
if not id then return {rev} end
local v = redis.call('HMGET', P .. 'f:' .. id, 'z', 'c')
if v[1] == size and v[2] == chunkSize then return {rev} end
local dropped = {rev}
local shown = false
for _, peer in ipairs(redis.call('HKEYS', P .. 'h:' .. id)) do
  table.insert(dropped, peer)
  table.insert(dropped, redis.call('HGET', P .. 'owner', peer) or '')
  if dropHolding(peer, id) then shown = true end
end
if shown then dropped[1] = redis.call('INCR', P .. 'rev') end
return dropped
`

/** ARGV: prefix, digest, TTL (s). A cached manifest (its TTL refreshed), or nil. */
export const GET_MANIFEST = `
local P = ARGV[1]
local manifest = redis.call('GET', P .. 'm:' .. ARGV[2])
if manifest then
  redis.call('EXPIRE', P .. 'm:' .. ARGV[2], ARGV[3])
  redis.call('EXPIRE', P .. 'ms:' .. ARGV[2], ARGV[3])
end
return manifest
`

/**
 * ARGV: prefix, digest. The entry's fields (d, names, t, z, c, k, n, s, col), or an empty list when
 * nobody holds the file or it is unlisted (in no catalog).
 */
export const ENTRY = `${PRELUDE}
local id = redis.call('HGET', P .. 'd', ARGV[2])
if not id or not redis.call('HGET', P .. 'f:' .. id, 'm') then return {} end
return entryOf(id)
`

/** ARGV: prefix, digest. 1 when anyone holds the file, listed or not, else 0. */
export const HAS_FILE = `
return redis.call('HEXISTS', ARGV[1] .. 'd', ARGV[2])
`

/**
 * ARGV: prefix, needle (lowercased; '' for no query), offset, limit, trigrams (JSON; [] for a query too
 * short to have one), digest prefix ('' unless the needle looks like one), most candidates looked at.
 * Returns {revision, total, touched, entry fields...} with 9 fields an entry.
 *
 * Cost: a page without a query is O(log n + limit). A query looks at the files under its rarest trigram
 * (or, for one or two characters, walks the catalog order), at most \`most\` of them, plus the digests under
 * its prefix; then sorts its matches into catalog order. \`touched\` counts that work.
 */
export const CATALOG = `${PRELUDE}
local needle, offset, limit = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local grams, prefix, most = cjson.decode(ARGV[5]), ARGV[6], tonumber(ARGV[7])
local rev = tonumber(redis.call('GET', P .. 'rev') or '0')
local out = {rev, 0, 0}
if needle == '' then
  out[2] = redis.call('ZCARD', P .. 'cat')
  if limit <= 0 then return out end
  local members = redis.call('ZRANGE', P .. 'cat', offset, offset + limit - 1)
  for _, member in ipairs(members) do
    local digest = string.sub(member, -64)
    for _, v in ipairs(entryOf(redis.call('HGET', P .. 'd', digest))) do table.insert(out, v) end
  end
  out[3] = #members
  return out
end
local touched = 0
local found = {}
local matches = {}
local function match(id)
  if found[id] then return end
  found[id] = true
  -- Its place in the catalog order: Lua compares strings by locale, Redis's sorted set by bytes.
  table.insert(matches, {id = id, r = redis.call('ZRANK', P .. 'cat', redis.call('HGET', P .. 'f:' .. id, 'm'))})
end
if prefix ~= '' then
  for _, digest in ipairs(redis.call('ZRANGEBYLEX', P .. 'dig', '[' .. prefix, '[' .. prefix .. '\\255', 'LIMIT', 0, most)) do
    touched = touched + 1
    match(redis.call('HGET', P .. 'd', digest))
  end
end
local function check(id)
  touched = touched + 1
  local l = redis.call('HGET', P .. 'f:' .. id, 'l')
  if l and string.find(l, needle, 1, true) then match(id) end
end
if #grams == 0 then
  for _, member in ipairs(redis.call('ZRANGE', P .. 'cat', 0, most - 1)) do
    check(redis.call('HGET', P .. 'd', string.sub(member, -64)))
  end
else
  local rarest, size = nil, nil
  for _, g in ipairs(grams) do
    touched = touched + 1
    local n = redis.call('SCARD', P .. 'g:' .. g)
    if n == 0 then rarest = nil; size = 0; break end
    if not size or n < size then rarest, size = g, n end
  end
  if rarest then
    local ids
    if size <= most then ids = redis.call('SMEMBERS', P .. 'g:' .. rarest)
    else ids = redis.call('SRANDMEMBER', P .. 'g:' .. rarest, most) end
    for _, id in ipairs(ids) do check(id) end
  end
end
table.sort(matches, function(a, b) return a.r < b.r end)
out[2] = #matches
local last = math.min(#matches, offset + limit)
for i = offset + 1, last do
  for _, v in ipairs(entryOf(matches[i].id)) do table.insert(out, v) end
end
out[3] = touched + #matches + math.max(0, last - offset)
return out
`

/**
 * ARGV: prefix, digest, except (peer id), limit, spare (a random whole number in [0, limit], chosen by the
 * caller). {chunk count, sealed (1 once some holder announced it sealed, else 0), peer, have, peer, have,
 * ...}: a random sample of holders when there are more than the limit; an empty list when nobody holds
 * the file.
 *
 * HRANDFIELD gives limit + 1 distinct holders (in the hash's order, not a random one): when `except` is
 * not among them, the one at `spare` is left out, so that every holder is as likely to be returned (Lua's
 * math.random is seeded alike for every script call, so the caller picks).
 */
export const PEERS = `
local P = ARGV[1]
local id = redis.call('HGET', P .. 'd', ARGV[2])
if not id then return {} end
local limit, spare = tonumber(ARGV[4]), tonumber(ARGV[5])
local v = redis.call('HMGET', P .. 'f:' .. id, 'k', 'x')
local out = {v[1], v[2] and 1 or 0}
if limit <= 0 then return out end
local pairs_ = redis.call('HRANDFIELD', P .. 'h:' .. id, limit + 1, 'WITHVALUES')
local skip = -1
if #pairs_ / 2 > limit then
  skip = spare
  for i = 1, #pairs_, 2 do
    if pairs_[i] == ARGV[3] then skip = (i - 1) / 2 end
  end
end
for i = 1, #pairs_, 2 do
  if pairs_[i] ~= ARGV[3] and (i - 1) / 2 ~= skip then
    table.insert(out, pairs_[i])
    table.insert(out, pairs_[i + 1])
  end
end
return out
`

/** ARGV: prefix. {peers, files, swarms, holdings, instances}. */
export const STATS = `
local P = ARGV[1]
local s = redis.call('HMGET', P .. 'stats', 'files', 'swarms', 'holdings')
return {redis.call('HLEN', P .. 'owner'), tonumber(s[1] or '0'), tonumber(s[2] or '0'),
  tonumber(s[3] or '0'), redis.call('ZCARD', P .. 'instances')}
`

/**
 * ARGV: prefix, instance, TTL (ms), figures (JSON). Renews the instance's registration. Returns {whether
 * it was still registered (0: it expired and was reaped, or Redis lost its data), the instances still
 * alive, flat, and the dead ones after a 0}.
 */
export const HEARTBEAT = `
local P, inst, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local known = redis.call('ZSCORE', P .. 'instances', inst)
redis.call('ZADD', P .. 'instances', now + ttl, inst)
redis.call('HSET', P .. 'info', inst, ARGV[4])
local out = {known and 1 or 0}
for _, other in ipairs(redis.call('ZRANGEBYSCORE', P .. 'instances', now, '+inf')) do
  table.insert(out, other)
end
table.insert(out, 0)
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', P .. 'instances', '-inf', '(' .. now)) do
  table.insert(out, dead)
end
return out
`

/**
 * ARGV: prefix, dead instance, batch. Forgets up to \`batch\` peers of an instance that stopped renewing its
 * registration (a batch at a time, so Redis is never held long); returns how many it took, and 0 once the
 * instance is gone entirely.
 */
export const REAP = `${PRELUDE}
local dead, batch = ARGV[2], tonumber(ARGV[3])
local peers = redis.call('SPOP', P .. 'i:' .. dead .. ':peers', batch)
local changed = false
for _, peer in ipairs(peers) do
  if redis.call('HGET', P .. 'owner', peer) == dead then
    if dropPeer(peer) then changed = true end
    redis.call('HDEL', P .. 'owner', peer)
    redis.call('HDEL', P .. 'since', peer)
  end
end
if changed then redis.call('INCR', P .. 'rev') end
if #peers > 0 then return #peers end
for _, address in ipairs(redis.call('SMEMBERS', P .. 'i:' .. dead .. ':addrs')) do
  redis.call('HDEL', P .. 'a:' .. address, dead)
end
redis.call('DEL', P .. 'i:' .. dead .. ':addrs')
redis.call('ZREM', P .. 'instances', dead)
redis.call('HDEL', P .. 'info', dead)
return 0
`

/** ARGV: prefix, address, instance, limit. 1 and counts the connection when under the limit, else 0. */
export const ADMIT = `
local P, address, inst, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local open = 0
for _, n in ipairs(redis.call('HVALS', P .. 'a:' .. address)) do open = open + tonumber(n) end
if open >= limit then return 0 end
redis.call('HINCRBY', P .. 'a:' .. address, inst, 1)
redis.call('SADD', P .. 'i:' .. inst .. ':addrs', address)
return 1
`

/** ARGV: prefix, address, instance, count. Sets an instance's count of an address (0 removes it). */
export const SET_ADDRESS = `
local P, address, inst, count = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
if count <= 0 then
  redis.call('HDEL', P .. 'a:' .. address, inst)
else
  redis.call('HSET', P .. 'a:' .. address, inst, count)
  redis.call('SADD', P .. 'i:' .. inst .. ':addrs', address)
end
return 1
`

/** ARGV: prefix, address, instance. One connection fewer. */
export const RELEASE_ADDRESS = `
local P, address, inst = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HINCRBY', P .. 'a:' .. address, inst, -1) <= 0 then
  redis.call('HDEL', P .. 'a:' .. address, inst)
end
return 1
`

/**
 * ARGV: prefix, address, rate (tokens/s), burst, cost. A token bucket shared by the cluster: charges
 * \`cost\` (0: only looks) and returns 1 while the bucket is out of debt. The key expires once it would be
 * full again.
 */
export const BUDGET = `
local P, address = ARGV[1], ARGV[2]
local rate, burst, cost = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local key = P .. 'b:' .. address
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(v[1] or burst)
local at = tonumber(v[2] or now)
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
tokens = tokens - cost
if cost > 0 then
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', now)
  redis.call('PEXPIRE', key, math.ceil((burst - tokens) / rate * 1000) + 1000)
end
return tokens > 0 and 1 or 0
`

/**
 * ARGV: prefix, target peer, message (JSON). Publishes on the channel of the target's instance; the
 * number of instances that heard it (0: that instance is gone), or -1 when nobody holds the id.
 */
export const RELAY = `
local P = ARGV[1]
local inst = redis.call('HGET', P .. 'owner', ARGV[2])
if not inst then return -1 end
return redis.call('PUBLISH', P .. 'ch:' .. inst, ARGV[3])
`
