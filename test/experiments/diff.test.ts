// Diffs of what the agent wrote run in a thread with a time limit: a pathological pair costs the worker
// nothing but the limit, and its event loop keeps turning meanwhile.
import { createTwoFilesPatch } from 'diff';
import { patchesOffLoop } from '../../src/experiments/diff';

describe('diffs off the event loop', () => {
  it('gives the same patches as the library, in order', async () => {
    const pairs = [
      { from: 'a/x.py', to: 'b/x.py', before: 'a = 1\nb = 2\n', after: 'a = 1\nb = 3\n' },
      { from: 'a/y.py', to: 'b/y.py', before: '', after: 'print(1)\n' },
    ];
    expect(await patchesOffLoop(pairs)).toEqual(
      pairs.map((p) => createTwoFilesPatch(p.from, p.to, p.before, p.after, '', '', { context: 3 })),
    );
    expect(await patchesOffLoop([])).toEqual([]);
  });

  it('names a diff that takes longer than its limit instead of holding the event loop for it', async () => {
    const lines = (seed: string) =>
      Array.from({ length: 40_000 }, (_, i) => `${seed}${(i * 7919) % 40_009}`).join('\n');
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 5);
    try {
      const [patch] = await patchesOffLoop(
        [{ from: 'a/big.py', to: 'b/big.py', before: lines('x'), after: lines('y') }],
        200,
      );
      expect(patch).toBe('# b/big.py: changed; the diff took over 200 ms and is not shown');
      expect(ticks).toBeGreaterThan(0); // the loop ran while the thread worked
    } finally {
      clearInterval(ticker);
    }
  });
});
