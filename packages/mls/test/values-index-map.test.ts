// The persistent map under the secret tree (schedule/index-map.ts): behaves like a Map
// from indices to values, and `set` never changes the map it is called on.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InternalError } from '../src/errors.js';
import { IndexMap } from '../src/schedule/index-map.js';

describe('IndexMap', () => {
  it('agrees with a Map after any sequence of sets and removals, and old versions stay as they were (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }).chain((capacity) =>
          fc.tuple(fc.constant(capacity), fc.array(fc.tuple(fc.integer({ min: 0, max: capacity - 1 }), fc.option(fc.integer(), { nil: undefined })), { maxLength: 60 })),
        ),
        ([capacity, ops]) => {
          let map = IndexMap.empty<number>(capacity);
          const model = new Map<number, number>();
          const versions: { map: IndexMap<number>; entries: [number, number][] }[] = [];
          for (const [index, value] of ops) {
            versions.push({ map, entries: [...model].sort((x, y) => x[0] - y[0]) });
            map = map.set(index, value);
            if (value === undefined) model.delete(index);
            else model.set(index, value);
            expect(map.get(index)).toBe(value);
            expect(map.size).toBe(model.size);
          }
          expect([...map.entries()]).toEqual([...model].sort((x, y) => x[0] - y[0]));
          for (const v of versions) expect([...v.map.entries()]).toEqual(v.entries);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses an index outside its capacity', () => {
    const map = IndexMap.empty<string>(33);
    expect(map.set(32, 'last').get(32)).toBe('last');
    expect(() => map.set(33, 'x')).toThrow(InternalError);
    expect(() => map.set(-1, 'x')).toThrow(InternalError);
    expect(map.get(33)).toBeUndefined();
    expect(map.get(1.5)).toBeUndefined();
  });
});
