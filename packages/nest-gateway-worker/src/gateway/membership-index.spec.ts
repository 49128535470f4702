import { MembershipIndex } from './membership-index';
import { bareClient } from './testdata/test-clients';

let nextId = 1;
const client = () => bareClient(nextId++);
const sorted = <T>(it: Iterable<T>): T[] => [...it].sort();

describe('MembershipIndex', () => {
  it('starts connections with no uid and no group set allocated', () => {
    const c = client();
    expect(c.uid).toBeNull();
    expect(c.groups).toBeNull();
  });

  it('binds one uid per connection, replacing the previous one, and many connections per uid', () => {
    const index = new MembershipIndex();
    const [a, b] = [client(), client()];
    index.bindUid(a, 'u1');
    index.bindUid(b, 'u1');
    expect(index.connectionsOfUid('u1')).toEqual(new Set([a, b]));
    index.bindUid(a, 'u2');
    expect(a.uid).toBe('u2');
    expect(index.connectionsOfUid('u1')).toEqual(new Set([b]));
    expect(index.connectionsOfUid('u2')).toEqual(new Set([a]));
    index.bindUid(b, 'u2');
    // u1 lost its last connection: the entry is gone, not left empty.
    expect(index.connectionsOfUid('u1')).toBeUndefined();
    expect(sorted(index.uids())).toEqual(['u2']);
    expect(index.uidCount).toBe(1);
  });

  it('unbinds whatever uid a connection has, and deletes the uid with its last connection', () => {
    const index = new MembershipIndex();
    const a = client();
    index.unbindUid(a); // unbound: nothing to do
    index.bindUid(a, 'u1');
    index.unbindUid(a);
    expect(a.uid).toBeNull();
    expect(index.connectionsOfUid('u1')).toBeUndefined();
    expect(index.uidCount).toBe(0);
  });

  it('puts a connection in many groups and deletes a group when its last member leaves', () => {
    const index = new MembershipIndex();
    const [a, b] = [client(), client()];
    index.joinGroup(a, 'g1');
    index.joinGroup(a, 'g2');
    index.joinGroup(a, 'g1'); // idempotent
    index.joinGroup(b, 'g1');
    expect(a.groups).toEqual(new Set(['g1', 'g2']));
    expect(index.membersOfGroup('g1')).toEqual(new Set([a, b]));
    expect(sorted(index.groupIds())).toEqual(['g1', 'g2']);

    index.leaveGroup(a, 'g2');
    expect(index.membersOfGroup('g2')).toBeUndefined();
    expect(index.groupCount).toBe(1);
    index.leaveGroup(a, 'g1');
    expect(a.groups).toBeNull(); // back to the cheap idle state
    expect(index.membersOfGroup('g1')).toEqual(new Set([b]));
    index.leaveGroup(a, 'g1'); // not a member any more: no effect
    index.leaveGroup(b, 'nope');
    expect(index.membersOfGroup('g1')).toEqual(new Set([b]));
  });

  it('dissolves a group: removed from every member, other groups kept', () => {
    const index = new MembershipIndex();
    const [a, b] = [client(), client()];
    index.joinGroup(a, 'g1');
    index.joinGroup(b, 'g1');
    index.joinGroup(b, 'g2');
    index.ungroup('g1');
    index.ungroup('unknown');
    expect(index.membersOfGroup('g1')).toBeUndefined();
    expect(a.groups).toBeNull();
    expect(b.groups).toEqual(new Set(['g2']));
    expect([...index.groups()].map(([g, m]) => [g, [...m]])).toEqual([['g2', [b]]]);
  });

  it('removes a closed connection from its uid and every group, leaving the others', () => {
    const index = new MembershipIndex();
    const [a, b] = [client(), client()];
    index.bindUid(a, 'u1');
    index.bindUid(b, 'u1');
    index.joinGroup(a, 'g1');
    index.joinGroup(a, 'g2');
    index.joinGroup(b, 'g2');
    a.closed = true;
    index.remove(a);
    expect(a.uid).toBeNull();
    expect(a.groups).toBeNull();
    expect(index.connectionsOfUid('u1')).toEqual(new Set([b]));
    expect(index.membersOfGroup('g1')).toBeUndefined();
    expect(index.membersOfGroup('g2')).toEqual(new Set([b]));

    b.closed = true;
    index.remove(b);
    expect(index.uidCount).toBe(0);
    expect(index.groupCount).toBe(0);
    index.remove(b); // twice: harmless
  });

  it('does not index a connection that is already closed (it would never be removed)', () => {
    const index = new MembershipIndex();
    const a = client();
    a.closed = true;
    index.bindUid(a, 'u1');
    index.joinGroup(a, 'g1');
    expect(a.uid).toBeNull();
    expect(a.groups).toBeNull();
    expect(index.uidCount + index.groupCount).toBe(0);
  });
});
