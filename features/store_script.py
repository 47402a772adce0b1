"""The one Lua script that writes the online state: a whole batch in one atomic EVALSHA.

Per key it appends the batch's new entries and refreshes the TTL (wall time) so that idle cards and
terminals disappear: two O(1) commands, no copy of the value. Old entries are dropped in event time,
each time a key's length crosses a multiple of CHECK_EVERY entries: then the leading entries older
than the key's cutoff (its newest new entry's time minus the horizon) go. Values are appended in about
time order, so the old entries sit at the front. A value thus holds its live entries plus a few.

Idempotence: the first command sets a marker for the batch (a digest of its event ids) with SET NX;
a batch already applied finds its marker and changes nothing. A retry that regroups the events
differently does append copies, and readers count an entry with the same entity, time and tag once.
"""

from __future__ import annotations

from features.store_layout import CARD_ENTRY, TERMINAL_ENTRY

CHECK_EVERY = 4

# KEYS: the batch marker, the card keys, the terminal keys.
# ARGV: card_ttl_ms, terminal_ttl_ms, marker_ttl_ms, n_card_keys, then per key: its new entries (one
# blob) and the cutoff in event-time ms (0: never drop entries, for labels).
APPEND_ENTRIES = f"""
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then return 0 end
local n_cards = tonumber(ARGV[4])
for i = 2, #KEYS do
  local key, j = KEYS[i], 3 + 2 * (i - 1)
  local blob, cutoff = ARGV[j], tonumber(ARGV[j + 1])
  local stride, ttl = {TERMINAL_ENTRY.itemsize}, ARGV[2]
  if i - 1 <= n_cards then stride, ttl = {CARD_ENTRY.itemsize}, ARGV[1] end
  local length = redis.call('APPEND', key, blob)
  redis.call('PEXPIRE', key, ttl)
  local every = stride * {CHECK_EVERY}
  if cutoff > 0 and math.floor(length / every) > math.floor((length - #blob) / every) then
    local first = redis.call('GETRANGE', key, 0, 7)
    if struct.unpack('<i8', first) < cutoff then
      local old = redis.call('GET', key)
      local start = 1
      while start + stride - 1 <= #old and struct.unpack('<i8', old, start) < cutoff do
        start = start + stride
      end
      redis.call('SET', key, string.sub(old, start), 'PX', ttl)
    end
  end
end
return 1
"""
