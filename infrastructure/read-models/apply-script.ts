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

local function increment(key, op, first)
  for j = first, #op, 2 do redis.call('HINCRBY', key, str[op[j]], str[op[j + 1]]) end
end

-- Calls command with key and the strings op[first..] (with a score before each for ZADD), in chunks.
local function spread(command, key, op, first, score)
  local args, n, last = {}, 0, #op
  for j = first, last do
    if score then
      n = n + 1
      args[n] = 0
    end
    n = n + 1
    args[n] = str[op[j]]
    if n >= CHUNK or j == last then
      redis.call(command, key, unpack(args, 1, n))
      n = 0
    end
  end
end

for _, w in ipairs(writes) do
  for _, op in ipairs(w[4]) do
    local kind, key = str[op[1]], ns .. str[op[2]]
    if kind == 'x' then
      spread('ZADD', key, op, 3, true)
    elseif kind == 's' or kind == 'i' then
      if str[op[3]] == '0' or redis.call('EXISTS', key) == 1 then
        if kind == 'i' then increment(key, op, 4) else spread('HSET', key, op, 4, false) end
      end
    elseif kind == 'r' then
      if redis.call('EXISTS', key) == 1 then
        local field, value, prefix, member = str[op[3]], str[op[4]], ns .. str[op[5]], str[op[6]]
        local old = redis.call('HGET', key, field)
        if old and old ~= value then redis.call('ZREM', prefix .. old, member) end
        redis.call('HSET', key, field, value)
        redis.call('ZADD', prefix .. value, 0, member)
      end
    elseif kind == 'v' then
      local owner = redis.call('HGET', key, str[op[3]])
      if owner then increment(ns .. str[op[4]] .. owner, op, 5) end
    end
  end
  redis.call('HSET', checkpoints, str[w[1]], str[w[3]])
end
return {'ok'}
`;

export interface EncodedWrites {
  /** ARGV[2]. */
  readonly writes: string;
  /** ARGV[3...]. */
  readonly strings: string[];
}

const MAX_SHARED = 80;

/** Writes as the script reads them: every string (numbers as decimal text) replaced by its index in ARGV. */
export const encodeWrites = (writes: readonly ProjectionWrite[]): EncodedWrites => {
  const numbers = new Map<string, number>();
  const strings: string[] = [];
  // ARGV[1] and ARGV[2] come first. Keys, fields and members repeat and are sent once; long
  // values (audit entries) do not, and hashing them would cost more than it saves.
  const n = (value: string | number): number => {
    const text = String(value);
    if (text.length > MAX_SHARED) return strings.push(text) + 2;
    let found = numbers.get(text);
    if (found === undefined) numbers.set(text, (found = strings.push(text) + 2));
    return found;
  };
  const pairs = (out: number[], record: Readonly<Record<string, string | number>>): number[] => {
    for (const field in record) out.push(n(field), n(record[field]));
    return out;
  };
  const encode = (op: ViewOp): number[] => {
    switch (op.kind) {
      case 'set':
        return pairs([n('s'), n(op.key), n(op.onlyIfExists ? '1' : '0')], op.fields);
      case 'incr':
        return pairs([n('i'), n(op.key), n(op.onlyIfExists ? '1' : '0')], op.by);
      case 'index':
        return [n('x'), n(op.key), ...op.members.map(n)];
      case 'reindex':
        return [n('r'), n(op.key), n(op.field), n(op.value), n(op.indexPrefix), n(op.member)];
      case 'incrVia':
        return pairs([n('v'), n(op.via), n(op.viaField), n(op.keyPrefix)], op.by);
    }
  };
  const encoded = writes.map((w) => [n(w.projection), n(w.after), n(w.to), w.ops.map(encode)]);
  return { writes: JSON.stringify(encoded), strings };
};
