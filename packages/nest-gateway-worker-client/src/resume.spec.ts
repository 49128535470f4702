import { RESUME_DEDUPE_WINDOW, RESUME_MAX_STREAMS, ResumeOffsetTracker, withQueryParam } from './resume.js';

describe('the resume offset', () => {
  it('adds the offset to the query, before a fragment, encoded', () => {
    expect(withQueryParam('ws://h:7272', 'resume', '5')).toBe('ws://h:7272?resume=5');
    expect(withQueryParam('ws://h:7272/chat?token=a', 'resume', '1-0')).toBe('ws://h:7272/chat?token=a&resume=1-0');
    expect(withQueryParam('ws://h/?', 'resume', 'a b&c')).toBe('ws://h/?resume=a%20b%26c');
    expect(withQueryParam('ws://h/#x', 'r', '1')).toBe('ws://h/?r=1#x');
  });

  it('keeps the last $offset of received messages (strings or numbers) and tells onOffset', () => {
    const seen: unknown[] = [];
    const tracker = new ResumeOffsetTracker({ query: 'from', onOffset: (o) => seen.push(o) });
    expect(tracker.urlFor('ws://h/')).toBe('ws://h/'); // nothing known: nothing sent
    tracker.received({ type: 'say', $offset: 41 });
    tracker.received({ type: 'say' });
    tracker.received({ type: 'say', $offset: { not: 'an offset' } });
    tracker.received({ type: 'say', $offset: '1700000000000-3' });
    expect(seen).toEqual([41, '1700000000000-3']);
    expect(tracker.urlFor('ws://h/')).toBe('ws://h/?from=1700000000000-3');
  });

  it('drops a message received again with the same offset and text (a replay that raced live delivery)', () => {
    const tracker = new ResumeOffsetTracker({});
    const five = '{"$offset":"e1:5","type":"say","text":"five"}';
    const msg = (text: string) => JSON.parse(text) as Record<string, unknown>;
    expect(tracker.received(msg(five), five)).toBe(true);
    expect(tracker.received(msg(five), five)).toBe(false); // the same message again
    // The same offset with another text (a welcome carrying the history's position) is not a duplicate, and does
    // not make the first one's late copy new again.
    const welcome = '{"type":"welcome","$offset":"e1:5"}';
    expect(tracker.received(msg(welcome), welcome)).toBe(true);
    expect(tracker.received(msg(five), five)).toBe(false);
    expect(tracker.received(msg(welcome), welcome)).toBe(false);
    // A number and a string offset are different offsets.
    expect(tracker.received({ $offset: 7 }, '{"$offset":7}')).toBe(true);
    expect(tracker.received({ $offset: '7' }, '{"$offset":7}')).toBe(true);
    // Messages without an offset are never duplicates.
    expect(tracker.received({ type: 'x' }, '{"type":"x"}')).toBe(true);
    expect(tracker.received({ type: 'x' }, '{"type":"x"}')).toBe(true);
  });

  it('remembers a bounded number of offsets', () => {
    const tracker = new ResumeOffsetTracker({});
    const text = (i: number) => `{"$offset":${i}}`;
    for (let i = 0; i <= RESUME_DEDUPE_WINDOW; i++) tracker.received({ $offset: i }, text(i));
    expect(tracker.received({ $offset: 0 }, text(0))).toBe(true); // forgotten: the oldest went first
    expect(tracker.received({ $offset: RESUME_DEDUPE_WINDOW }, text(RESUME_DEDUPE_WINDOW))).toBe(false);
  });

  it('keeps the last offset of each stream ($stream, $offsets) and sends each as resume.<stream>', () => {
    const seen: unknown[] = [];
    const tracker = new ResumeOffsetTracker({ onOffset: (o, s) => seen.push([o, s]) });
    tracker.received({ $offset: 'g1:4', $stream: 'group:room' });
    tracker.received({ $offset: 'u1:2', $stream: 'uid:7' });
    tracker.received({ $offset: 'g1:5', $stream: 'group:room' });
    // A welcome after recovering two histories: both positions at once (not "the last offset").
    tracker.received({
      type: 'welcome',
      $offsets: { 'group:lobby': 'l1:9', 'uid:7': 'u1:3', bad: { x: 1 }, '': 'e:1' },
    });
    // An offset without a stream (a server that names none) is the plain one only.
    tracker.received({ $offset: 'x:1' });
    expect(tracker.offset).toBe('x:1');
    expect(tracker.offsets).toEqual({ 'group:room': 'g1:5', 'group:lobby': 'l1:9', 'uid:7': 'u1:3' });
    expect(seen).toEqual([
      ['g1:4', 'group:room'],
      ['u1:2', 'uid:7'],
      ['g1:5', 'group:room'],
      ['l1:9', 'group:lobby'],
      ['u1:3', 'uid:7'],
      ['x:1', undefined],
    ]);
    // Streams in the order they were last updated.
    expect(tracker.urlFor('ws://h/?room=a')).toBe(
      'ws://h/?room=a&resume=x%3A1&resume.group%3Aroom=g1%3A5&resume.group%3Alobby=l1%3A9&resume.uid%3A7=u1%3A3',
    );
    const params = new URL(tracker.urlFor('ws://h/')).searchParams;
    expect(params.get('resume.group:room')).toBe('g1:5');
  });

  it('keeps a bounded number of streams, forgetting the one updated longest ago; ignores over-long names', () => {
    const tracker = new ResumeOffsetTracker({ offsets: { 'group:first': 'f:1', 'uid:x': 'x:1' } });
    for (let i = 0; i < RESUME_MAX_STREAMS - 1; i++) tracker.received({ $offset: `e:${i}`, $stream: `group:g${i}` });
    expect(Object.keys(tracker.offsets)).toHaveLength(RESUME_MAX_STREAMS);
    expect(tracker.offsets['group:first']).toBeUndefined();
    expect(tracker.offsets['uid:x']).toBe('x:1');
    tracker.received({ $offset: 'e:1', $stream: `group:${'n'.repeat(300)}` });
    expect(Object.keys(tracker.offsets).some((k) => k.length > 256)).toBe(false);
  });

  it('starts from a given offset', () => {
    expect(new ResumeOffsetTracker({ offset: 'x1' }).urlFor('ws://h/')).toBe('ws://h/?resume=x1');
  });
});
