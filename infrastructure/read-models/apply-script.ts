import { ProjectionWrite, ViewOp } from '../../application/ports/view-store';

/**
 * Applies a batch of projection writes and their checkpoints in one script, which Redis runs
 * atomically: no other command runs in between, and the AOF and replicas receive its effects as
 * one transaction, so a crash cannot leave views updated without their checkpoint or the reverse.
 * Every checkpoint is checked before the first write, so a refused batch writes nothing.
 *
 * KEYS[1]: the checkpoints hash. ARGV[1]: the namespace. ARGV[2]: the writes as JSON arrays of
 * indexes into ARGV (see encodeWrites). ARGV[3...]: the strings, each sent once as it is, so the
 * JSON stays small and holds nothing to unescape. Replies {'ok'} or
 * {'moved', projection, stored checkpoint, ...}.
 */
export const APPLY_SCRIPT = `
local ns = ARGV[1]
local writes = cjson.decode(ARGV[2])
local checkpoints = KEYS[1]
-- str[n]: the string the encoded writes call n.
local str = ARGV
-- Arguments per call stay well below Lua's stack limit.
local CHUNK = 1000

local reply, moved = {'moved'}, false
for _, w in ipairs(writes) do
  local stored = redis.call('HGET', checkpoints, str[w[1]]) or '0'
  reply[#reply + 1] = str[w[1]]
  reply[#reply + 1] = stored
  if stored ~= str[w[2]] then moved = true end
end
if moved then return reply end

-- Calls command with key and list[first..last], in chunks.
local function spread(command, key, list, first, last)
  for j = first, last, CHUNK do redis.call(command, key, unpack(list, j, math.min(j + CHUNK - 1, last))) end
end

-- Arguments are gathered in these two tables, reused by every op: only their first n entries
-- count, so nothing is allocated per op.
local args, strings = {}, {}

-- Adds members[first..last] to the index, each after its score. The score is the string '0': a
-- Lua number would be formatted anew for every member.
local function index(key, members, first, last)
  local n = 0
  for j = first, last do
    args[n + 1] = '0'
    args[n + 2] = members[j]
    n = n + 2
  end
  spread('ZADD', key, args, 1, n)
end

-- Gathers the strings op[first..] stand for in strings[1..n]; returns n.
local function refs(op, first)
  local n = 0
  for j = first, #op do
    n = n + 1
    strings[n] = str[op[j]]
  end
  return n
end

local function increment(key, op, first)
  for j = first, #op, 2 do redis.call('HINCRBY', key, str[op[j]], str[op[j + 1]]) end
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

-- Moves ops[first..] of key's indexed fields: the run of consecutive reindex ops on key, each of
-- another field. Their hash fields are read and written together. Returns the last op moved.
local function reindex(key, ops, first)
  local last, fields = first, {str[ops[first][3]]}
  local seen = {[fields[1]] = true}
  local nextOp = ops[last + 1]
  while nextOp and str[nextOp[1]] == 'r' and str[nextOp[2]] == str[ops[first][2]] and not seen[str[nextOp[3]]] do
    last = last + 1
    fields[#fields + 1] = str[nextOp[3]]
    seen[fields[#fields]] = true
    nextOp = ops[last + 1]
  end
  if redis.call('EXISTS', key) == 0 then return last end
  local olds, values = redis.call('HMGET', key, unpack(fields)), {}
  for j = first, last do
    local op = ops[j]
    local value, prefix, member = str[op[4]], ns .. str[op[5]], str[op[6]]
    local old = olds[j - first + 1]
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
    values[#values + 1] = fields[j - first + 1]
    values[#values + 1] = value
  end
  redis.call('HSET', key, unpack(values))
  return last
end

for _, w in ipairs(writes) do
  local ops, i = w[4], 1
  while ops[i] do
    local op = ops[i]
    local kind, key = str[op[1]], ns .. str[op[2]]
    if kind == 'x' then
      index(key, strings, 1, refs(op, 3))
    elseif kind == 'X' then
      -- A run of op[4] members from ARGV[op[3]] on.
      index(key, ARGV, op[3], op[3] + op[4] - 1)
    elseif kind == 's' or kind == 'S' or kind == 'i' then
      if str[op[3]] == '0' or redis.call('EXISTS', key) == 1 then
        if kind == 'i' then
          increment(key, op, 4)
        elseif kind == 's' then
          spread('HSET', key, strings, 1, refs(op, 4))
        else
          -- A run of op[5] fields and values from ARGV[op[4]] on.
          spread('HSET', key, ARGV, op[4], op[4] + op[5] - 1)
        end
      end
    elseif kind == 'r' then
      i = reindex(key, ops, i)
    elseif kind == 'v' then
      local owner = redis.call('HGET', key, str[op[3]])
      if owner then increment(ns .. str[op[4]] .. owner, op, 5) end
    end
    i = i + 1
  end
  redis.call('HSET', checkpoints, str[w[1]], str[w[3]])
end
for key in pairs(added) do flushAdded(key) end
return {'ok'}
`;

export interface EncodedWrites {
  /** ARGV[2]. */
  readonly writes: string;
  /** ARGV[3...]. */
  readonly strings: string[];
}

const MAX_SHARED = 80;
/** A set of at least this many fields (the audit entries of a batch) goes as a run. */
const RUN_FIELDS = 64;

const atLeast = (record: object, count: number): boolean => {
  let seen = 0;
  for (const _ in record) if (++seen >= count) return true;
  return false;
};

/**
 * Writes as the script reads them: every string (numbers as decimal text) replaced by its index
 * in ARGV. Keys, fields and members repeat and are sent once. Where a list's strings are sent
 * together in order, a run, the op says where the run starts and how long it is instead of
 * listing each, and the script reads them straight from ARGV: the members of an index that are
 * all new (a batch's audit members, on their first index), and the fields and values of a large
 * set (a batch's audit entries, whose values never repeat and whose fields rarely do).
 */
export const encodeWrites = (writes: readonly ProjectionWrite[]): EncodedWrites => {
  const numbers = new Map<string, number>();
  const strings: string[] = [];
  // ARGV[1] and ARGV[2] come first. Long values (audit entries) are not looked up: hashing them
  // would cost more than it saves.
  const shared = (text: string): boolean => text.length <= MAX_SHARED;
  const n = (value: string | number): number => {
    const text = typeof value === 'string' ? value : String(value);
    if (!shared(text)) return strings.push(text) + 2;
    let found = numbers.get(text);
    if (found === undefined) numbers.set(text, (found = strings.push(text) + 2));
    return found;
  };
  const pairs = (out: number[], record: Readonly<Record<string, string | number>>): number[] => {
    for (const field in record) out.push(n(field), n(record[field]));
    return out;
  };
  const set = (op: ViewOp & { kind: 'set' }): number[] => {
    const head = [n(op.key), n(op.onlyIfExists ? '1' : '0')];
    if (!atLeast(op.fields, RUN_FIELDS)) return pairs([n('s'), ...head], op.fields);
    const kind = n('S');
    const from = strings.length + 3;
    for (const field in op.fields) strings.push(field, op.fields[field]);
    return [kind, ...head, from, strings.length + 3 - from];
  };
  const index = (op: ViewOp & { kind: 'index' }): number[] => {
    const key = n(op.key);
    if (op.members.some((member) => !shared(member) || numbers.has(member))) {
      const out = [n('x'), key];
      for (const member of op.members) out.push(n(member));
      return out;
    }
    const kind = n('X');
    const from = strings.length + 3;
    for (const member of op.members) numbers.set(member, strings.push(member) + 2);
    return [kind, key, from, op.members.length];
  };
  const encode = (op: ViewOp): number[] => {
    switch (op.kind) {
      case 'set':
        return set(op);
      case 'incr':
        return pairs([n('i'), n(op.key), n(op.onlyIfExists ? '1' : '0')], op.by);
      case 'index':
        return index(op);
      case 'reindex':
        return [n('r'), n(op.key), n(op.field), n(op.value), n(op.indexPrefix), n(op.member)];
      case 'incrVia':
        return pairs([n('v'), n(op.via), n(op.viaField), n(op.keyPrefix)], op.by);
    }
  };
  const encoded = writes.map((w) => [n(w.projection), n(w.after), n(w.to), w.ops.map(encode)]);
  return { writes: JSON.stringify(encoded), strings };
};
