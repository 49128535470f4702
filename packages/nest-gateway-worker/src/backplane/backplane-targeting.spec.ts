import { BackplaneTargeting } from './backplane-targeting';
import { gatewayIdOf, type GatewayLease } from './gateway-lease';
import type { GatewayWatch } from './gateway-watch';

const A = '10.0.0.1:2000';
const B = '10.0.0.2:2000';
const C = '10.0.0.3:2000';

function lease(address: string, epoch = 0): GatewayLease {
  return { address, boot: 'b00710000000000a', epoch, startedAt: 0, synced: true };
}

/** What discovery knows: these leases, all synced. */
function watchOf(leases: GatewayLease[]): Pick<GatewayWatch, 'leaseOf' | 'isSynced' | 'isWithdrawn'> {
  const byId = new Map(leases.map((l) => [gatewayIdOf(l), l]));
  return {
    leaseOf: (id: string) => byId.get(id),
    isSynced: (address: string) => leases.some((l) => l.address === address && l.synced),
    isWithdrawn: () => false,
  };
}

/** A directory that answers `entries[name]` (gateway ids) for every name. */
function readerOf(entries: Record<string, string[]>) {
  return { gatewaysOf: async (_kind: 'uid' | 'group', names: readonly string[]) => names.map((n) => entries[n] ?? []) };
}

describe('BackplaneTargeting', () => {
  const listed = [A, B, C];
  // Discovery's last read: every gateway at epoch 0. A has since announced again as epoch 1 (its lease was lost,
  // or Redis restarted empty / failed over) and the directory already names the new id.
  const watch = watchOf([lease(A), lease(B), lease(C)]) as GatewayWatch;
  const newA = gatewayIdOf(lease(A, 1));

  it('sends to the gateways the directory names, a known id by its lease', async () => {
    const t = new BackplaneTargeting(watch, readerOf({ u: [gatewayIdOf(lease(B))] }));
    expect(await t.forUids(['u'], listed)).toEqual([B]);
    expect(t.narrowed).toBe(1);
  });

  it('sends to an id discovery does not know yet by the address in the id', async () => {
    const t = new BackplaneTargeting(watch, readerOf({ u: [newA], g: [newA, gatewayIdOf(lease(C))] }));
    expect(await t.forUids(['u'], listed)).toEqual([A]);
    expect(await t.forGroups(['g'], listed)).toEqual([A, C]);
  });

  it('never sends to an address that is not listed, known id or not', async () => {
    const t = new BackplaneTargeting(watch, readerOf({ u: ['10.9.9.9:1/ffff000000000000.0'] }));
    expect(await t.forUids(['u'], listed)).toEqual([]);
  });

  it('does not count an unknown id as online: it asks the gateway at its address', async () => {
    const t = new BackplaneTargeting(watch, readerOf({ u: [newA], v: [gatewayIdOf(lease(B))] }));
    const answer = await t.onlineUids(['u', 'v', 'w'], listed);
    expect(answer).not.toBeNull();
    expect([...answer!.online]).toEqual(['v']);
    expect(answer!.ask).toEqual([A]);
  });

  it('does not ask about a uid a known id already vouches for', async () => {
    const t = new BackplaneTargeting(watch, readerOf({ u: [newA, gatewayIdOf(lease(B))] }));
    const answer = await t.onlineUids(['u'], listed);
    expect([...answer!.online]).toEqual(['u']);
    expect(answer!.ask).toEqual([]);
  });

  it('says a gateway is reached for a name when the directory names an id at its address, known or not', async () => {
    const t = new BackplaneTargeting(watch, readerOf({ u: [newA], v: [gatewayIdOf(lease(B))] }));
    expect(await t.reaches('uid', 'u', A)).toBe(true);
    expect(await t.reaches('uid', 'v', A)).toBe(false);
    expect(await t.reaches('uid', 'v', B)).toBe(true);
  });

  it('includes a gateway that was not synced when the read started, even if it is synced when the answer comes', async () => {
    // B is rewriting its entries (lease not synced) when the read starts; the answer, read before its rewrite, does
    // not name it; by the time it arrives B's lease says synced. The send must still reach B.
    let bSynced = false;
    const turning = {
      leaseOf: watch.leaseOf.bind(watch),
      isSynced: (address: string) => (address === B ? bSynced : watch.isSynced(address)),
      isWithdrawn: () => false,
    } as unknown as GatewayWatch;
    const reader = {
      gatewaysOf: async (_kind: 'uid' | 'group', names: readonly string[]) => {
        await Promise.resolve();
        bSynced = true;
        return names.map(() => [gatewayIdOf(lease(C))]);
      },
    };
    const t = new BackplaneTargeting(turning, reader);
    expect(await t.forUids(['u'], listed)).toEqual([B, C]);
    bSynced = false;
    const answer = await t.onlineUids(['u'], listed);
    expect(answer!.ask).toEqual([B]);
  });

  it('falls back to every listed gateway when the directory cannot answer', async () => {
    const t = new BackplaneTargeting(watch, { gatewaysOf: async () => null });
    expect(await t.forUids(['u'], listed)).toEqual(listed);
    expect(await t.onlineUids(['u'], listed)).toBeNull();
    expect(await t.reaches('uid', 'u', A)).toBeNull();
  });
});
