import { ResumeOffsetTracker, withQueryParam } from './resume.js';

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

  it('starts from a given offset', () => {
    expect(new ResumeOffsetTracker({ offset: 'x1' }).urlFor('ws://h/')).toBe('ws://h/?resume=x1');
  });
});
