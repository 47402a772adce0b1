"""The one Lua script that writes the online state: a whole batch in one atomic EVAL.

Per key it appends the batch's new entries, one O(1) command with no copy of the value, and, when the
caller asks, refreshes the TTL (wall time) so that idle cards and terminals disappear. A refresh costs
as much Redis CPU as the append (a command plus Lua's per-call overhead), so a caller that has just
read a key asks for one only at the key's first entry of each event-time period (REFRESH_PERIOD_MS),
and the TTL covers two periods beyond the horizon: a key outlives its last append by at least the
horizon plus the slack, as long as event time runs at least half as fast as wall time between a
refresh and the last append (a live stream, or a replay catching up). A writer that has not read the
key (labels, a history load, a write replayed after an outage) asks for every key.

Old entries are dropped in event time, each time a key's length crosses a multiple of CHECK_EVERY
entries: if its first entry is older than the cutoff (the newest new entry's time minus the horizon),
the leading entries older than the cutoff go. Values are appended in about time order, so the old
entries sit at the front; a fraud label is appended days after its transaction's neighbours, and goes
at the latest when they do (a label delay later). A value thus holds its live entries plus about
CHECK_EVERY more.

Idempotence: the first command sets a marker for the batch (a digest of its event ids) with SET NX;
a batch already applied finds its marker and changes nothing. A retry that regroups transactions
differently does append copies, and readers count an entry with the same entity, time and tag once.
Labels are few (about one transaction in a hundred), so their entries are also looked for in the value
before being appended: a label redelivered in any grouping is stored once.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from features.definition import DAY_MS
from features.store_layout import CARD_ENTRY, TERMINAL_ENTRY

CHECK_EVERY = 16
REFRESH_PERIOD_MS = 7 * DAY_MS


def refresh_flags(stored_last: npt.NDArray[np.int64], new_newest: npt.NDArray[np.int64]) -> bytes:
    """The script's refresh argument for keys read just before: 1 where the write brings a key's first
    entry of a period, the key's last stored entry being of an earlier one (or none, `NO_TIME`). The
    last entry is the newest, or older when a late event came last: then one refresh too many."""
    return (new_newest // REFRESH_PERIOD_MS > stored_last // REFRESH_PERIOD_MS).astype(np.uint8).tobytes()


# KEYS: the batch marker, the card keys, the terminal keys.
# ARGV: card_ttl_ms, terminal_ttl_ms, marker_ttl_ms, n_card_keys, card_horizon_ms, terminal_horizon_ms
# (0: never drop entries), skip_known (1: append only entries the value does not hold yet; for labels,
# which are few and may be redelivered in other groupings), the new entries of all keys in key order
# (each key's sorted by time), where each key's entries end in them (int64 little-endian, bytes), and
# one byte per key, 1 to refresh its TTL. One argument for all the entries, one for all the ends, one
# for all the refreshes rather than one per key: the client packs a few arguments, not thousands.
APPEND_ENTRIES = f"""
local call, unpack, floor, sub, byte = redis.call, struct.unpack, math.floor, string.sub, string.byte
if not call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then return 0 end
local n_cards, skip_known = tonumber(ARGV[4]), ARGV[7] == '1'
local card_horizon, terminal_horizon = tonumber(ARGV[5]), tonumber(ARGV[6])
local entries, ends, refresh, start = ARGV[8], ARGV[9], ARGV[10], 0
for i = 2, #KEYS do
  local stop = unpack('<i8', ends, 8 * (i - 2) + 1)
  local key, blob = KEYS[i], sub(entries, start + 1, stop)
  start = stop
  local stride, ttl, horizon = {TERMINAL_ENTRY.itemsize}, ARGV[2], terminal_horizon
  if i - 1 <= n_cards then stride, ttl, horizon = {CARD_ENTRY.itemsize}, ARGV[1], card_horizon end
  if skip_known then
    local old, new = call('GET', key) or '', {{}}
    for p = 1, #blob, stride do
      local entry = sub(blob, p, p + stride - 1)
      local at = string.find(old, entry, 1, true)
      while at and (at - 1) % stride ~= 0 do at = string.find(old, entry, at + 1, true) end
      if not at then new[#new + 1] = entry end
    end
    blob = table.concat(new)
  end
  if #blob > 0 then
    local length = call('APPEND', key, blob)
    -- A key this append created (it expired since it was read) always gets its TTL.
    if length == #blob or byte(refresh, i - 1) == 1 then call('PEXPIRE', key, ttl) end
    local every = stride * {CHECK_EVERY}
    if horizon > 0 and floor(length / every) > floor((length - #blob) / every) then
      local cutoff = unpack('<i8', blob, #blob - stride + 1) - horizon
      if unpack('<i8', call('GETRANGE', key, 0, 7)) < cutoff then
        local old, keep = call('GET', key), 1 + stride
        while keep + stride - 1 <= #old and unpack('<i8', old, keep) < cutoff do
          keep = keep + stride
        end
        call('SET', key, sub(old, keep), 'PX', ttl)
      end
    end
  end
end
return 1
"""
