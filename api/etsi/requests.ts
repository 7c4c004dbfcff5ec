import * as E from 'fp-ts/Either';
import * as t from 'io-ts';
import { KeyDeliveryError, KeyRequest } from '../../application/keydelivery/key-delivery';
import { rule, toIssues } from '../../domain/shared/codec';
import { Identifier, PositiveInt } from '../../domain/shared/types';

// What an SAE sends, decoded at the boundary. A refusal names each field and the rule it broke,
// and uses the standard's own words where it fixes them.

export const badRequest = (message: string, details?: KeyDeliveryError['details']): KeyDeliveryError => ({
  kind: 'BAD_REQUEST',
  message,
  ...(details && { details }),
});

const decodeInput = <A>(codec: t.Decoder<unknown, A>, input: unknown): E.Either<KeyDeliveryError, A> =>
  E.mapLeft((errors: t.Errors) => {
    const issues = toIssues(errors);
    return badRequest(
      issues.map((issue) => `${issue.field}: ${issue.rule}`).join('; '),
      issues.map((issue) => ({ [issue.field]: issue.rule })),
    );
  })(codec.decode(input));

const UUID_EXAMPLE = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const isUuid = (s: string): boolean => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
const Uuid = rule(t.string, `a UUID such as ${UUID_EXAMPLE}`, isUuid);
const Extensions = t.array(t.UnknownRecord, 'a list of objects of parameter name and value');

const KeyRequestBody = t.partial(
  {
    number: PositiveInt,
    size: PositiveInt,
    additional_slave_SAE_IDs: t.array(Identifier, 'a list of SAE ids'),
    extension_mandatory: Extensions,
    extension_optional: Extensions,
  },
  'a JSON object (a Key request)',
);

const KeyIdsBody = t.type(
  {
    key_IDs: rule(
      t.array(t.type({ key_ID: Uuid }, 'an object with a key_ID'), 'a list of objects with a key_ID'),
      'a list of 1 or more objects with a key_ID',
      (entries) => entries.length > 0,
    ),
  },
  'a JSON object (Key IDs)',
);

/** A query parameter given once; Express hands a repeated one over as an array. */
const QueryCount = rule(t.string, 'a whole number greater than 0, given once', (s) => /^[1-9][0-9]{0,8}$/.test(s));
const EncKeysQuery = t.partial({ number: QueryCount, size: QueryCount });
const DecKeysQuery = t.type({ key_ID: rule(t.string, `a UUID such as ${UUID_EXAMPLE}, given once`, isUuid) });

const onlyParameters = (
  query: Record<string, unknown>,
  allowed: readonly string[],
  method: string,
): E.Either<KeyDeliveryError, void> => {
  const unknown = Object.keys(query).filter((name) => !allowed.includes(name));
  return unknown.length === 0
    ? E.right(undefined)
    : E.left(
        badRequest(
          `query parameter ${unknown.join(', ')} is not accepted: GET ${method} takes only ${allowed.join(' and ')}`,
          unknown.map((name) => ({ [name]: 'is not accepted' })),
        ),
      );
};

/** The KME serves whole bytes only, which the standard lets it say in these words. */
const wholeBytes = (request: KeyRequest): E.Either<KeyDeliveryError, KeyRequest> =>
  request.size !== undefined && request.size % 8 !== 0
    ? E.left(badRequest('size shall be a multiple of 8', [{ size: request.size }]))
    : E.right(request);

/** POST enc_keys. Optional extensions are ignored, which the standard allows; mandatory ones are not supported. */
export const keyRequestOfBody = (body: unknown): E.Either<KeyDeliveryError, KeyRequest> => {
  const decoded = decodeInput(KeyRequestBody, body);
  if (E.isLeft(decoded)) return decoded;
  const { number, size, additional_slave_SAE_IDs: additional, extension_mandatory: mandatory = [] } = decoded.right;
  if (mandatory.length > 0) {
    return E.left(
      badRequest(
        'not all extension_mandatory parameters are supported',
        mandatory.flatMap((entry) => Object.keys(entry)).map((name) => ({ extension_mandatory: name })),
      ),
    );
  }
  return wholeBytes({
    ...(number !== undefined && { number }),
    ...(size !== undefined && { size }),
    ...(additional !== undefined && { additionalSlaveSaeIds: additional }),
  });
};

/** GET enc_keys: `number` and `size` only. */
export const keyRequestOfQuery = (query: Record<string, unknown>): E.Either<KeyDeliveryError, KeyRequest> => {
  const allowed = onlyParameters(query, ['number', 'size'], 'enc_keys');
  if (E.isLeft(allowed)) return allowed;
  const decoded = decodeInput(EncKeysQuery, query);
  if (E.isLeft(decoded)) return decoded;
  const { number, size } = decoded.right;
  return wholeBytes({
    ...(number !== undefined && { number: Number(number) }),
    ...(size !== undefined && { size: Number(size) }),
  });
};

/** UUIDs are compared in lower case, the form the KME issues them in. */
const normalised = (keyId: string): string => keyId.toLowerCase();

/** POST dec_keys; unknown fields inside each entry are ignored, as the standard asks. */
export const keyIdsOfBody = (body: unknown): E.Either<KeyDeliveryError, string[]> =>
  E.map((decoded: t.TypeOf<typeof KeyIdsBody>) => decoded.key_IDs.map((entry) => normalised(entry.key_ID)))(
    decodeInput(KeyIdsBody, body),
  );

/** GET dec_keys: a single `key_ID`. */
export const keyIdsOfQuery = (query: Record<string, unknown>): E.Either<KeyDeliveryError, string[]> => {
  const allowed = onlyParameters(query, ['key_ID'], 'dec_keys');
  if (E.isLeft(allowed)) return allowed;
  return E.map((decoded: t.TypeOf<typeof DecKeysQuery>) => [normalised(decoded.key_ID)])(decodeInput(DecKeysQuery, query));
};

/** A path's SAE id, already percent-decoded by the router. */
export const saeIdOfPath = (value: string, field: 'slave_SAE_ID' | 'master_SAE_ID'): E.Either<KeyDeliveryError, string> =>
  E.map((decoded: Record<string, string>) => decoded[field])(decodeInput(t.type({ [field]: Identifier }), { [field]: value }));
