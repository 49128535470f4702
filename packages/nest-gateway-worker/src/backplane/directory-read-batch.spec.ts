import { DirectoryReadBatch } from './directory-read-batch';

/** A reader whose reads are answered by hand: what the batch asked, and a way to answer or fail each read. */
function manualReader() {
  const reads: {
    kind: 'uid' | 'group';
    names: readonly string[];
    answer: (r: string[][] | null) => void;
    fail: (e: Error) => void;
  }[] = [];
  return {
    reads,
    gatewaysOf(kind: 'uid' | 'group', names: readonly string[]): Promise<string[][] | null> {
      return new Promise((answer, fail) => reads.push({ kind, names, answer, fail }));
    },
  };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('DirectoryReadBatch', () => {
  it('reads each distinct name of a turn once and hands every lookup its own names, in call order across kinds', async () => {
    const reader = manualReader();
    const batch = new DirectoryReadBatch(reader);
    const order: string[] = [];
    const g = batch.gatewaysOf('group', ['room']).then((r) => (order.push('group'), r));
    const a = batch.gatewaysOf('uid', ['a', 'b']).then((r) => (order.push('a'), r));
    const b = batch.gatewaysOf('uid', ['b', 'c', 'a']).then((r) => (order.push('b'), r));
    await turn();
    // One read per kind, started in the order the kinds first appear.
    expect(reader.reads.map((r) => [r.kind, r.names])).toEqual([
      ['group', ['room']],
      ['uid', ['a', 'b', 'c']],
    ]);
    // The uid read answers first; the group lookup, made first, still goes on first.
    reader.reads[1].answer([['G1'], [], ['G2', 'G3']]);
    await turn();
    expect(order).toEqual([]);
    reader.reads[0].answer([['G4']]);
    expect(await Promise.all([g, a, b])).toEqual([[['G4']], [['G1'], []], [[], ['G2', 'G3'], ['G1']]]);
    expect(order).toEqual(['group', 'a', 'b']);
    expect(batch.stats).toEqual({ calls: 3, answered: 3, fallbacks: 0 });
  });

  it('a read that answers null is a fallback for each lookup in it; a failed read rejects only its kind', async () => {
    const reader = manualReader();
    const batch = new DirectoryReadBatch(reader);
    const uids = [batch.gatewaysOf('uid', ['a']), batch.gatewaysOf('uid', ['b'])];
    const group = batch.gatewaysOf('group', ['room']);
    await turn();
    reader.reads.find((r) => r.kind === 'uid')!.answer(null);
    reader.reads.find((r) => r.kind === 'group')!.fail(new Error('boom'));
    expect(await Promise.all(uids)).toEqual([null, null]);
    await expect(group).rejects.toThrow('boom');
    expect(batch.stats).toEqual({ calls: 3, answered: 0, fallbacks: 2 });
  });

  it('lookups of a later turn are a read of their own, started without waiting for the earlier one', async () => {
    const reader = manualReader();
    const batch = new DirectoryReadBatch(reader);
    const first = batch.gatewaysOf('uid', ['a']);
    await turn();
    const second = batch.gatewaysOf('uid', ['a']);
    await turn();
    expect(reader.reads).toHaveLength(2);
    reader.reads[1].answer([['G2']]);
    reader.reads[0].answer([['G1']]);
    expect(await second).toEqual([['G2']]);
    expect(await first).toEqual([['G1']]);
  });
});
