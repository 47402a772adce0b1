"""The one Lua script that writes the online state: a whole batch in one atomic EVALSHA.

For each key it appends the new entries whose tag the value does not hold yet (so a batch applied
twice changes nothing: a retry after a crash is harmless), drops the leading entries older than the
newest new entry minus the horizon (event time; values are appended in about time order, so the old
ones sit at the front), and sets the TTL (wall time) so that idle cards and terminals disappear. The
cutoff depends only on entries the key already holds after the first application, so re-applying any
part of an applied batch trims nothing more: the state stays byte for byte the same. A tag is searched
as a plain substring and accepted only at an entry's tag offset, so bytes of a time or amount never
match.
"""

from __future__ import annotations

CARD_STRIDE = 24
TERMINAL_STRIDE = 16

# KEYS: card keys, then terminal keys.
# ARGV: ttl_ms, n_card_keys, card_horizon_ms, terminal_horizon_ms, then per key one blob of new entries,
# sorted by time.
APPEND_ENTRIES = f"""
local ttl = ARGV[1]
local n_cards = tonumber(ARGV[2])
local card_horizon = tonumber(ARGV[3])
local terminal_horizon = tonumber(ARGV[4])
local added = 0
for i, key in ipairs(KEYS) do
  local stride, horizon = {TERMINAL_STRIDE}, terminal_horizon
  if i <= n_cards then stride, horizon = {CARD_STRIDE}, card_horizon end
  local tag_at = stride - 8
  local blob = ARGV[4 + i]
  local cutoff = struct.unpack('<i8', blob, #blob - stride + 1) - horizon
  local old = redis.call('GET', key) or ''
  local new = {{}}
  for p = 1, #blob, stride do
    local tag = string.sub(blob, p + tag_at, p + stride - 1)
    local at = string.find(old, tag, 1, true)
    while at and (at - 1) % stride ~= tag_at do
      at = string.find(old, tag, at + 1, true)
    end
    if not at then new[#new + 1] = string.sub(blob, p, p + stride - 1) end
  end
  local start = 1
  while start + stride - 1 <= #old and struct.unpack('<i8', old, start) < cutoff do
    start = start + stride
  end
  if #new > 0 or start > 1 then
    local value = string.sub(old, start) .. table.concat(new)
    if #value > 0 then
      redis.call('SET', key, value, 'PX', ttl)
    else
      redis.call('DEL', key)
    end
    added = added + #new
  end
end
return added
"""
