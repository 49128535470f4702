import type { ClientSocket } from './client-socket';
import { SocketReaper } from './socket-reaper';

/** A socket that records what the reaper did to it; `peerCloses` simulates a peer completing the close. */
function socket(): ClientSocket & { closedWith: [number, string?] | null; terminated: boolean; peerCloses(): void } {
  let open = true;
  return {
    closedWith: null,
    terminated: false,
    get isOpen() {
      return open;
    },
    bufferedAmount: 0,
    send: () => undefined,
    close(code: number, reason?: string) {
      this.closedWith = [code, reason];
    },
    terminate() {
      if (open) this.terminated = true;
      open = false;
    },
    peerCloses() {
      open = false;
    },
  };
}

describe('SocketReaper', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('closes at once and terminates only the sockets whose peer did not complete the close in the grace period', () => {
    const reaper = new SocketReaper(1_000);
    const answers = socket();
    const silent = socket();
    reaper.close(answers, 4009, 'heartbeat timeout');
    reaper.close(silent, 4009, 'heartbeat timeout');
    expect(answers.closedWith).toEqual([4009, 'heartbeat timeout']);
    answers.peerCloses();
    jest.advanceTimersByTime(999);
    expect(silent.terminated).toBe(false);
    jest.advanceTimersByTime(1);
    expect(silent.terminated).toBe(true);
    expect(answers.terminated).toBe(false);
  });

  it('gives each socket its full grace period, with one timer for all of them', () => {
    const reaper = new SocketReaper(1_000);
    const first = socket();
    const second = socket();
    reaper.close(first, 1008, 'x');
    jest.advanceTimersByTime(600);
    reaper.close(second, 1008, 'x');
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(400);
    expect([first.terminated, second.terminated]).toEqual([true, false]);
    jest.advanceTimersByTime(600);
    expect(second.terminated).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('flush() terminates everything waiting and leaves no timer', () => {
    const reaper = new SocketReaper(1_000);
    const s = socket();
    reaper.close(s, 1001, 'bye');
    reaper.flush();
    expect(s.terminated).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });
});
