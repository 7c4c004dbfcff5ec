import * as E from 'fp-ts/Either';
import { decode, decodeMessage, message } from '../../domain/shared/codec';
import { Serial, PositiveInt } from '../../domain/shared/types';

const Sample = message('SampleHappened', { serial: Serial, bytes: PositiveInt });

describe('codecs name the field and the rule', () => {
  it('accepts a valid message', () => {
    const input = { type: 'SampleHappened', data: { serial: 'UKEY-000001', bytes: 32 } };
    expect(decode(Sample, input)).toEqual(E.right(input));
  });

  it('names each bad field with its rule', () => {
    const result = decode(Sample, { type: 'SampleHappened', data: { serial: 'bad serial', bytes: -1 } });
    expect(E.isLeft(result) && result.left).toMatchObject({
      code: 'INVALID_INPUT',
      issues: [
        { field: 'data.serial', rule: expect.stringContaining('device serial number') },
        { field: 'data.bytes', rule: 'must be a whole number greater than 0' },
      ],
    });
  });

  it('says a missing field is required', () => {
    const result = decode(Sample, { type: 'SampleHappened', data: { serial: 'UKEY-000001' } });
    expect(E.isLeft(result) && result.left.issues).toEqual([
      { field: 'data.bytes', rule: 'is required (a whole number greater than 0)' },
    ]);
  });

  it('reports an unknown message type as one issue on `type`', () => {
    const result = decodeMessage({ SampleHappened: Sample }, { type: 'Nope', data: {} }, 'sample');
    expect(E.isLeft(result) && result.left.issues).toEqual([
      { field: 'type', rule: 'must be one of the sample types: SampleHappened' },
    ]);
  });

  it('strips fields the codec does not know, so they never reach an event', () => {
    const result = decode(Sample, { type: 'SampleHappened', data: { serial: 'UKEY-000001', bytes: 1, pin: '1234' } });
    expect(E.isRight(result) && result.right.data).toEqual({ serial: 'UKEY-000001', bytes: 1 });
  });
});
