import { createHash } from 'node:crypto';
import { ProjectionWrite, ViewOp } from '../../application/ports/view-store';

// Operation codes of the encoded writes.
const SET = 1;
const APPEND = 2;
const INCR = 3;
const INDEX = 4;
const RUN = 5;
const REINDEX = 6;
const INCR_VIA = 7;

/**
 * Applies a batch of projection writes and their checkpoints in one script, which Redis runs
 * atomically: no other command runs in between, and the AOF and replicas receive its effects as
 * one transaction, so a crash cannot leave views updated without their checkpoint or the reverse.
 * Every checkpoint is checked before the first write, so a refused batch writes nothing.
 *
 * KEYS[1]: the checkpoints hash. ARGV[1]: the namespace. ARGV[2]: the writes as one JSON list of
 * numbers (see applyCommand), where a string is the index of an ARGV. ARGV[3...]: the strings,
 * each sent once as it is, so the JSON stays small and holds nothing to unescape. Replies {'ok'}
 * or {'moved', projection, stored checkpoint, ...}.
 */
export const APPLY_SCRIPT = `
local ns = ARGV[1]
local w = cjson.decode(ARGV[2])
local checkpoints = KEYS[1]
-- str[w[i]]: the string that the number w[i] stands for.
local str = ARGV
local SET, APPEND, INCR, INDEX = ${SET}, ${APPEND}, ${INCR}, ${INDEX}
local RUN, REINDEX, INCR_VIA = ${RUN}, ${REINDEX}, ${INCR_VIA}
-- Arguments per call stay well below Lua's stack limit.
local CHUNK = 1000

-- w[1] writes follow, each as: projection, after, to, the length of its ops, its ops.
local reply, moved = {'moved'}, false
local p = 2
for _ = 1, w[1] do
  local stored = redis.call('HGET', checkpoints, str[w[p]]) or '0'
  reply[#reply + 1] = str[w[p]]
  reply[#reply + 1] = stored
  if stored ~= str[w[p + 1]] then moved = true end
  p = p + 4 + w[p + 3]
end
if moved then return reply end

-- Calls command with key and list[first..last], in chunks.
local function spread(command, key, list, first, last)
  for j = first, last, CHUNK do redis.call(command, key, unpack(list, j, math.min(j + CHUNK - 1, last))) end
end

-- Arguments are gathered here, reused by every op: only the first n entries count, so nothing is
-- allocated per op. Members go to an index each after its score, the string '0': a Lua number would
-- be formatted anew for every member.
local args = {}

-- The strings of count field-value pairs from w[first] on, in args[1..2 * count]; returns 2 * count.
local function fieldValues(first, count)
  for j = 1, 2 * count do args[j] = str[w[first + j - 1]] end
  return 2 * count
end

-- Appends each value of count pairs from w[first] on to its field of key.
local function append(key, first, count)
  local fields, olds = {}, {}
  for j = 1, count do fields[j] = str[w[first + 2 * j - 2]] end
  for j = 1, count, CHUNK do
    local got = redis.call('HMGET', key, unpack(fields, j, math.min(j + CHUNK - 1, count)))
    for k = 1, #got do olds[j + k - 1] = got[k] end
  end
  local n = fieldValues(first, count)
  for j = 1, count do
    if olds[j] then args[2 * j] = olds[j] .. args[2 * j] end
  end
  spread('HSET', key, args, 1, n)
end

local function increment(key, first, count)
  for j = first, first + 2 * count - 1, 2 do redis.call('HINCRBY', key, str[w[j]], str[w[j + 1]]) end
end

-- Members that moves add to each index, added in one call per index: before the index loses a
-- member (so removal and addition keep their order) and at the end.
local added = {}
local function flushAdded(key)
  local members = added[key]
  if members then
    added[key] = nil
    spread('ZADD', key, members, 1, #members)
  end
end

-- Writes a record: the count pairs from w[first] on that a set op writes (none without one), then
-- the moves of the reindex ops from w[i] to w[last] at most on the same key (keyRef), each of
-- another field, read and written together with the set. Nothing is written when the hash does
-- not exist, unless the set creates it. Returns where the ops after the moves start.
local function record(key, keyRef, creates, first, count, i, last)
  local fields, seen, moves = {}, {}, {}
  while i <= last and w[i] == REINDEX and w[i + 1] == keyRef and not seen[str[w[i + 2]]] do
    seen[str[w[i + 2]]] = true
    moves[#moves + 1] = i
    fields[#fields + 1] = str[w[i + 2]]
    i = i + 6
  end
  if count == 0 and #moves == 0 then return i end
  if not creates and redis.call('EXISTS', key) == 0 then return i end
  local n = fieldValues(first, count)
  if #moves == 0 then
    spread('HSET', key, args, 1, n)
    return i
  end
  local olds = redis.call('HMGET', key, unpack(fields))
  -- A field the set writes has that value when the move reads it.
  local written = {}
  for j = 1, n, 2 do written[args[j]] = args[j + 1] end
  for k, at in ipairs(moves) do
    local value, prefix, member = str[w[at + 3]], ns .. str[w[at + 4]], str[w[at + 5]]
    local old = written[fields[k]] or olds[k]
    if old and old ~= value then
      flushAdded(prefix .. old)
      redis.call('ZREM', prefix .. old, member)
    end
    local target = prefix .. value
    local members = added[target]
    if not members then
      members = {}
      added[target] = members
    end
    members[#members + 1] = '0'
    members[#members + 1] = member
    args[n + 1] = fields[k]
    args[n + 2] = value
    n = n + 2
  end
  spread('HSET', key, args, 1, n)
  return i
end

p = 2
for _ = 1, w[1] do
  local i, last = p + 4, p + 3 + w[p + 3]
  while i <= last do
    local kind, key = w[i], ns .. str[w[i + 1]]
    if kind == SET then
      local count = w[i + 3]
      i = record(key, w[i + 1], w[i + 2] == 0 and count > 0, i + 4, count, i + 4 + 2 * count, last)
    elseif kind == REINDEX then
      i = record(key, w[i + 1], false, i, 0, i, last)
    elseif kind == APPEND then
      append(key, i + 3, w[i + 2])
      i = i + 3 + 2 * w[i + 2]
    elseif kind == INCR then
      if w[i + 2] == 0 or redis.call('EXISTS', key) == 1 then increment(key, i + 4, w[i + 3]) end
      i = i + 4 + 2 * w[i + 3]
    elseif kind == INDEX then
      local count = w[i + 2]
      for j = 1, count do
        args[2 * j - 1] = '0'
        args[2 * j] = str[w[i + 2 + j]]
      end
      spread('ZADD', key, args, 1, 2 * count)
      i = i + 3 + count
    elseif kind == RUN then
      local from, count = w[i + 2], w[i + 3]
      for j = 0, count - 1 do
        args[2 * j + 1] = '0'
        args[2 * j + 2] = ARGV[from + j]
      end
      spread('ZADD', key, args, 1, 2 * count)
      i = i + 4
    elseif kind == INCR_VIA then
      local owner = redis.call('HGET', key, str[w[i + 2]])
      if owner then increment(ns .. str[w[i + 3]] .. owner, i + 5, w[i + 4]) end
      i = i + 5 + 2 * w[i + 4]
    end
  end
  redis.call('HSET', checkpoints, str[w[p]], str[w[p + 2]])
  p = last + 1
end
for key in pairs(added) do flushAdded(key) end
return {'ok'}
`;

/** The digest Redis knows the script by. */
const APPLY_SCRIPT_SHA = createHash('sha1').update(APPLY_SCRIPT).digest('hex');

/** Longer strings (audit entries) are not looked up: hashing them would cost more than it saves. */
const MAX_SHARED = 80;

/**
 * The EVALSHA command that applies the writes, with the writes as the script reads them: one list
 * of numbers, every string (numbers as decimal text) replaced by its index in ARGV. Keys, fields
 * and members repeat and are sent once. The members of an index that are new to the batch (its
 * audit members, on their first index) are sent together as a run, which the op gives by where it
 * starts and how long it is. Built as the very arguments the client sends, with no copy.
 */
export const applyCommand = (checkpointsKey: string, namespace: string, writes: readonly ProjectionWrite[]): string[] => {
  // ARGV[2], the list, is set last.
  const args = ['EVALSHA', APPLY_SCRIPT_SHA, '1', checkpointsKey, namespace, ''];
  /** Adds an argument; returns its index in ARGV, which starts at args[4]. */
  const push = (text: string): number => args.push(text) - 4;
  const indexes = new Map<string, number>();
  const w: number[] = [writes.length];
  const n = (text: string): number => {
    if (text.length > MAX_SHARED) return push(text);
    let found = indexes.get(text);
    if (found === undefined) indexes.set(text, (found = push(text)));
    return found;
  };
  /** Pushes how many pairs the record has, then the pairs. */
  const pairs = (record: Readonly<Record<string, string | number>>): void => {
    const at = w.push(0) - 1;
    for (const field in record) w.push(n(field), n(String(record[field])));
    w[at] = (w.length - at - 1) / 2;
  };
  const index = (key: number, members: readonly string[]): void => {
    if (members.length < 2 || indexes.has(members[0])) {
      w.push(INDEX, key, members.length);
      for (const member of members) w.push(n(member));
      return;
    }
    w.push(RUN, key, args.length - 3, members.length);
    for (const member of members) indexes.set(member, push(member));
  };
  const encode = (op: ViewOp): void => {
    switch (op.kind) {
      case 'set':
        w.push(SET, n(op.key), op.onlyIfExists ? 1 : 0);
        return pairs(op.fields);
      case 'append':
        w.push(APPEND, n(op.key));
        return pairs(op.fields);
      case 'incr':
        w.push(INCR, n(op.key), op.onlyIfExists ? 1 : 0);
        return pairs(op.by);
      case 'index':
        return index(n(op.key), op.members);
      case 'reindex':
        w.push(REINDEX, n(op.key), n(op.field), n(op.value), n(op.indexPrefix), n(op.member));
        return;
      case 'incrVia':
        w.push(INCR_VIA, n(op.via), n(op.viaField), n(op.keyPrefix));
        return pairs(op.by);
    }
  };
  for (const write of writes) {
    const at = w.push(n(write.projection), n(String(write.after)), n(String(write.to)), 0) - 1;
    for (const op of write.ops) encode(op);
    w[at] = w.length - at - 1;
  }
  args[5] = JSON.stringify(w);
  return args;
};

/** The same command with the script itself (EVAL), for a Redis that does not know it by digest. */
export const withScript = (command: string[]): string[] => {
  command[0] = 'EVAL';
  command[1] = APPLY_SCRIPT;
  return command;
};
