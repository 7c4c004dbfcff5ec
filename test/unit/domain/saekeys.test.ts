import { SaeKeysEvent, saeKeysAggregate } from '../../../domain/saekeys';
import { scenario } from '../../support/given-when-then';

const given = (...events: SaeKeysEvent[]) => scenario(saeKeysAggregate).given(...events);

const MASTER = 'GW-NORTH-1';
const SLAVE = 'GW-SOUTH-1';
const OTHER = 'GW-EAST-1';
const ids = ['0f8b3c2e-7d4a-4f1b-9c6e-2a5d8e1f3b7c', '1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d', '2b3c4d5e-6f70-4b2c-9d3e-4f5a6b7c8d9e'];
const key = (i: number, rangeId = 'etsi-1') => ({ keyId: ids[i], sourceId: 'bb84', rangeId, offset: 32 * i, length: 32 });

const issued = (slaveSaeIds: string[], keys = [key(0), key(1)], requestId = 'etsi-1'): SaeKeysEvent => ({
  type: 'SaeKeysIssued',
  data: { masterSaeId: MASTER, slaveSaeIds, requestId, keys },
});
const deliver = (keyIds: string[], slaveSaeId = SLAVE) => ({ type: 'DeliverSaeKeys', data: { masterSaeId: MASTER, slaveSaeId, keyIds } });

describe('SAE keys: IssueSaeKeys', () => {
  it('records the keys a master obtained and the slaves that may fetch them', () => {
    given()
      .when({ type: 'IssueSaeKeys', data: issued([SLAVE]).data })
      .then(issued([SLAVE]));
  });

  it('refuses a key ID already issued, and a request id seen before', () => {
    given(issued([SLAVE]))
      .when({ type: 'IssueSaeKeys', data: { ...issued([SLAVE]).data, requestId: 'etsi-2' } })
      .thenError('ALREADY_EXISTS', new RegExp(ids[0]));
    given(issued([SLAVE]))
      .when({ type: 'IssueSaeKeys', data: { ...issued([SLAVE], [key(2)]).data } })
      .thenError('ALREADY_EXISTS', /key request etsi-1/);
  });

  it('refuses the same key ID twice in one request, and the master as its own slave', () => {
    given().when({ type: 'IssueSaeKeys', data: issued([SLAVE], [key(0), key(0)]).data }).thenError('ALREADY_EXISTS');
    given().when({ type: 'IssueSaeKeys', data: issued([MASTER]).data }).thenError('INVALID_INPUT', /slaveSaeIds: must not name the master/);
  });

  it('names malformed fields and their rules', () => {
    const error = given()
      .when({ type: 'IssueSaeKeys', data: { ...issued([SLAVE]).data, masterSaeId: 'gw 1', keys: [{ ...key(0), keyId: 'not-a-uuid' }] } })
      .thenError('INVALID_INPUT');
    expect(error.issues?.map((i) => i.field).sort()).toEqual(['data.keys.keyId', 'data.masterSaeId']);
  });
});

describe('SAE keys: DeliverSaeKeys', () => {
  it('delivers keys to a named slave; the range is not done while a key of it still waits', () => {
    given(issued([SLAVE]))
      .when(deliver([ids[0]]))
      .then({ type: 'SaeKeysDelivered', data: { masterSaeId: MASTER, slaveSaeId: SLAVE, keys: [key(0)], rangesDone: [] } });
  });

  it('reports a range done when its last waiting key is delivered', () => {
    const first: SaeKeysEvent = { type: 'SaeKeysDelivered', data: { masterSaeId: MASTER, slaveSaeId: SLAVE, keys: [key(0)], rangesDone: [] } };
    given(issued([SLAVE]), first)
      .when(deliver([ids[1]]))
      .then({
        type: 'SaeKeysDelivered',
        data: { masterSaeId: MASTER, slaveSaeId: SLAVE, keys: [key(1)], rangesDone: [{ sourceId: 'bb84', rangeId: 'etsi-1' }] },
      });
  });

  it('delivers a key once: asked again, it is not found, with the standard message', () => {
    const first: SaeKeysEvent = { type: 'SaeKeysDelivered', data: { masterSaeId: MASTER, slaveSaeId: SLAVE, keys: [key(0)], rangesDone: [] } };
    const error = given(issued([SLAVE]), first).when(deliver([ids[0]])).thenError('NOT_FOUND', 'one or more keys specified are not found on KME');
    expect(error.details?.keyIds).toBe(ids[0]);
  });

  it('refuses unknown key IDs and a key ID listed twice', () => {
    given(issued([SLAVE])).when(deliver([ids[2]])).thenError('NOT_FOUND');
    given(issued([SLAVE])).when(deliver([ids[0], ids[0]])).thenError('NOT_FOUND');
  });

  it('refuses an SAE that is not a slave of the keys', () => {
    given(issued([SLAVE])).when(deliver([ids[0]], OTHER)).thenError('INVALID_STATE', /not a slave/);
  });

  it("lets any gateway fetch a device's keys (no named slave)", () => {
    given(issued([]))
      .when(deliver([ids[0], ids[1]], OTHER))
      .then({
        type: 'SaeKeysDelivered',
        data: { masterSaeId: MASTER, slaveSaeId: OTHER, keys: [key(0), key(1)], rangesDone: [{ sourceId: 'bb84', rangeId: 'etsi-1' }] },
      });
  });

  it('names an empty key ID list', () => {
    given(issued([SLAVE])).when(deliver([])).thenError('INVALID_INPUT', /keyIds: .*1 to 1024/);
  });
});

describe('SAE keys: RecordSaeKeyRefusal', () => {
  it('records a refused request for the audit', () => {
    const data = { saeId: MASTER, callerSaeId: OTHER, operation: 'DEC_KEYS', status: 401, reason: 'not a slave' } as const;
    given(issued([SLAVE])).when({ type: 'RecordSaeKeyRefusal', data }).then({ type: 'SaeKeyRequestRefused', data });
  });

  it('names a status the standard does not use', () => {
    const data = { saeId: MASTER, callerSaeId: OTHER, operation: 'DEC_KEYS', status: 404, reason: 'x' };
    given().when({ type: 'RecordSaeKeyRefusal', data }).thenError('INVALID_INPUT', 'data.status: must be one of 400, 401, 503');
  });
});
