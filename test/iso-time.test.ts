/** runtime/iso-time.ts: the same text as Date#toISOString for every time value, or null where it throws. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isoTime } from '../src/runtime/iso-time.ts';

const viaDate = (ms: number): string | null => {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
};

test('isoTime agrees with Date on edges and 200,000 generated times', () => {
  const MAX = 8.64e15;
  const edges = [
    0,
    -0,
    1,
    -1,
    0.5,
    -0.5,
    999.999,
    -999.999,
    1e3,
    -1e3,
    86_399_999,
    -86_400_001,
    MAX,
    -MAX,
    MAX + 1,
    -MAX - 1,
    MAX - 0.5,
    -MAX + 0.5,
    MAX + 0.5,
    NaN,
    Infinity,
    -Infinity,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    Date.UTC(0, 0, 1),
    Date.UTC(-1, 11, 31, 23, 59, 59, 999),
    Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    Date.UTC(10000, 0, 1),
    Date.UTC(2000, 1, 29),
    Date.UTC(1900, 1, 28),
    Date.UTC(2100, 2, 1),
    Date.UTC(-400, 1, 29),
    253402300799999,
    253402300800000,
    -62167219200000,
    -62167219200001,
  ];
  for (const ms of edges) assert.equal(isoTime(ms), viaDate(ms), String(ms));
  let seed = 0x9e3779b9;
  const random = () => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return seed / 2 ** 32;
  };
  for (let i = 0; i < 200_000; i++) {
    const scale = [1e3, 1e6, 1e9, 1e12, 1e13, 1e15, 8.64e15, 1e16][i % 8]!;
    const ms = (random() * 2 - 1) * scale;
    const value = i % 3 === 0 ? Math.round(ms) : ms;
    assert.equal(isoTime(value), viaDate(value), String(value));
  }
});
