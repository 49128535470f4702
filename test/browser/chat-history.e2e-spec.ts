import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, pageProblems, screenshot } from '../support/browser';
import { loginThroughDialog, sayInPage } from '../support/chat-page';
import { exampleWorkerApi, waitUntilLinked } from '../support/example-worker-api';
import { RedisServer } from '../support/redis-server';
import { startGateway, startRegister, startWorker, stopAll, type RoleProcess } from '../support/roles';

/**
 * The chat demo page with the Redis backplane (GATEWAY_BACKPLANE on every role, as `GATEWAY_BACKPLANE=… npm start`
 * runs it): a real redis-server, a register, two gateways and the example worker, in headless Chromium. Ann's
 * gateway is stopped, Bob (on the other gateway) says three things while she is away, her gateway comes back: her
 * page rejoins the room with its last position (`since`) and shows the three, in order, exactly once, under a
 * "while you were away" separator, then live messages. A gap the history cannot fill (more missed than it keeps)
 * shows the "some messages were missed" notice. Screenshots: test/artifacts/chat-history-*.png.
 */

/** How long a step of the page may take to show (bounded waits, not timing assertions). */
const SHOW_MS = 20_000;
/** The history a room message is sent with keeps this many (`{ history: true }`). */
const HISTORY_SIZE = 100;

interface Person {
  page: Page;
  context: BrowserContext;
  problems: string[];
}

interface Chat {
  chat: { client: { offsets: Record<string, string> }; state: { roomCounts: Record<string, number> } };
}

interface Welcome {
  type: 'welcome';
  recovered?: boolean;
  reason?: string | null;
  replayed?: number;
  $offsets?: Record<string, string>;
}

describe('the chat page recovers what it missed (Redis backplane, headless Chromium)', () => {
  let browser: Browser;
  let redis: RedisServer;
  let register: { proc: RoleProcess; address: string };
  const gateways: { proc: RoleProcess; url: string; inner: string }[] = [];
  let workerApi: string;
  let pageUrl: string;
  const people: Person[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    const env = { GATEWAY_BACKPLANE: redis.url };
    register = await startRegister(env);
    for (let i = 0; i < 2; i++) gateways.push(await startGateway(register.address, env));
    const worker = await startWorker(register.address, env);
    workerApi = await exampleWorkerApi(worker);
    await waitUntilLinked(
      workerApi,
      gateways.map((g) => g.inner),
    );
    pageUrl = workerApi.replace(/api$/, '');
    browser = await launchBrowser();
  }, 90_000);

  afterEach(async () => {
    for (const person of people.splice(0)) {
      // Nothing broke in the page (a refused WebSocket while its gateway was down is the browser's own report).
      expect(person.problems.filter((p) => !/WebSocket connection to .* failed/.test(p))).toEqual([]);
      await person.context.close();
    }
  });

  afterAll(async () => {
    await browser?.close();
    await stopAll();
    await redis?.stop();
  });

  /** Opens the page on gateway `g` and logs in to `room` with the dialog. */
  async function join(name: string, room: string, g: number): Promise<Person> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    const page = await context.newPage();
    const person = { page, context, problems: pageProblems(page) };
    people.push(person);
    await page.goto(`${pageUrl}?gateway=${encodeURIComponent(gateways[g].url)}`);
    await loginThroughDialog(page, name, room, SHOW_MS);
    return person;
  }

  async function say(person: Person, text: string): Promise<void> {
    await sayInPage(person.page, text, SHOW_MS);
  }

  function sees(person: Person, text: string, selector = '.msg .body') {
    return person.page.locator(selector, { hasText: text }).first().waitFor({ timeout: SHOW_MS });
  }

  /** Every message body the page shows, top to bottom. */
  function bodies(person: Person): Promise<string[]> {
    return person.page.locator('.msg .body').allTextContents();
  }

  /** The room's position the page keeps for its next rejoin. */
  function position(person: Person, room: string): Promise<string | undefined> {
    return person.page.evaluate(
      (stream) =>
        (window as unknown as { chat: { state: { positions?: Map<string, string> } } }).chat.state.positions?.get(
          stream,
        ),
      `group:${room}`,
    );
  }

  /**
   * Records, after every change of the page (a MutationObserver: after each task, so what a user could see), the
   * online count beside the member list and the count the room list shows for `room`; see {@link countsSeen}.
   */
  async function watchCounts(person: Person, room: string): Promise<void> {
    await person.page.evaluate((r) => {
      const w = window as unknown as { countsSeen: [string, string][] };
      w.countsSeen = [];
      const record = () => {
        const seen: [string, string] = [
          document.getElementById('online-count')?.textContent ?? '',
          document.querySelector(`#rooms li[data-room="${r}"] .n`)?.textContent ?? '',
        ];
        const last = w.countsSeen.at(-1);
        if (!last || last[0] !== seen[0] || last[1] !== seen[1]) w.countsSeen.push(seen);
      };
      record();
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
    }, room);
  }

  /** [online count, room count] as the page showed them since {@link watchCounts}, each change once. */
  function countsSeen(person: Person): Promise<[string, string][]> {
    return person.page.evaluate(() => (window as unknown as { countsSeen: [string, string][] }).countsSeen);
  }

  /** Stops gateway `g` (its pages go to "reconnecting"); `back()` starts it again on the same port. */
  async function stopGateway(g: number, away: Person): Promise<{ back(): Promise<void> }> {
    const port = new URL(gateways[g].url).port;
    await gateways[g].proc.stop();
    await away.page.locator('#banner:visible', { hasText: 'Connection lost' }).waitFor({ timeout: SHOW_MS });
    return {
      back: async () => {
        gateways[g] = await startGateway(register.address, {
          GATEWAY_BACKPLANE: redis.url,
          GATEWAY_LISTEN: `ws://127.0.0.1:${port}`,
        });
        await waitUntilLinked(
          workerApi,
          gateways.map((x) => x.inner),
        );
      },
    };
  }

  it('a page whose connection was down gets the missed messages in order, exactly once, then live ones', async () => {
    const ann = await join('Ann', 'tunnel', 0);
    const bob = await join('Bob', 'tunnel', 1);
    await say(bob, 'before the tunnel');
    await sees(ann, 'before the tunnel');
    const before = await position(ann, 'tunnel'); // the room message's $offset, kept for the rejoin (checked below)

    const gateway = await stopGateway(0, ann);
    await sees(bob, 'Ann left', '.notice'); // kept too (before what Bob says next)
    for (const text of ['missed one', 'missed two', 'missed three']) {
      await say(bob, text);
      await sees(bob, text); // through the room: kept in its history, delivered to Bob
    }
    expect(await bodies(ann)).toEqual(['before the tunnel']); // she is away
    await gateway.back();

    await sees(ann, 'Reconnected: back in #tunnel', '.notice');
    await say(bob, 'live again');
    await sees(ann, 'live again');
    expect(await bodies(ann)).toEqual(['before the tunnel', 'missed one', 'missed two', 'missed three', 'live again']);
    await ann.page.locator('.separator:visible', { hasText: 'While you were away' }).waitFor({ timeout: SHOW_MS });
    // The separator sits right above the replayed ones; a complete recovery shows no "missed" notice.
    const list = await ann.page
      .locator('#messages > li')
      .evaluateAll((items) => items.map((li) => (li.className === 'separator' ? '---' : (li.textContent ?? ''))));
    const at = list.indexOf('---');
    expect(list[at - 1]).toContain('before the tunnel');
    expect(list[at + 1]).toContain('missed one');
    expect(await ann.page.locator('.notice.warn').count()).toBe(0);
    // Her position: the first room message's, then the live one's (the last $offset the client library kept).
    expect(before).toMatch(/^\w+:\d+$/);
    const after = await position(ann, 'tunnel');
    expect(after).toBe(await ann.page.evaluate(() => (window as unknown as Chat).chat.client.offsets['group:tunnel']));
    expect(after!.split(':')[0]).toBe(before!.split(':')[0]);
    expect(Number(after!.split(':')[1])).toBeGreaterThan(Number(before!.split(':')[1]));
    await screenshot(ann.page, 'chat-history-1-recovered-ann');
    await screenshot(bob.page, 'chat-history-1-bob');
  });

  it('a page that drops before anything is said in a new room recovers too (join and leave notices are kept)', async () => {
    const ann = await join('Ann', 'fresh', 0);
    const bob = await join('Bob', 'fresh', 1);
    await sees(ann, 'Bob joined', '.notice'); // kept in the room's history: Ann now holds a position
    const gateway = await stopGateway(0, ann);
    await sees(bob, 'Ann left', '.notice');
    await say(bob, 'first words');
    await say(bob, 'second words');
    await sees(bob, 'second words');
    await gateway.back();

    await sees(ann, 'Reconnected: back in #fresh', '.notice');
    await sees(ann, 'second words');
    expect(await bodies(ann)).toEqual(['first words', 'second words']);
    // Her own "left" notice was kept and replayed too, but the page does not show it to her.
    await ann.page.locator('.separator:visible', { hasText: 'While you were away' }).waitFor({ timeout: SHOW_MS });
    expect(await ann.page.locator('.notice', { hasText: 'Ann left' }).count()).toBe(0);
    await sees(bob, 'Ann joined', '.notice');
  });

  it('more missed than the history keeps: the kept ones are replayed and the page says some were missed', async () => {
    const ann = await join('Ann', 'flood', 0);
    const bob = await join('Bob', 'flood', 1);
    await say(bob, 'flood 0');
    await sees(ann, 'flood 0');
    const gateway = await stopGateway(0, ann);
    await sees(bob, 'Ann left', '.notice');
    // More than the history keeps, each a request Bob's page sends (its room messages answer nothing).
    const count = HISTORY_SIZE + 5;
    await bob.page.evaluate(async (n) => {
      const { client } = (window as unknown as { chat: { client: { request(m: object): Promise<unknown> } } }).chat;
      for (let i = 1; i <= n; i++) await client.request({ type: 'say', content: `flood ${i}` });
    }, count);
    await sees(bob, `flood ${count}`);
    await gateway.back();

    await ann.page
      .locator('.notice.warn', { hasText: 'Some messages were missed while you were away (trimmed)' })
      .waitFor({ timeout: SHOW_MS });
    await sees(ann, `flood ${count}`);
    // The kept ones, in order, once each: 6 … 105 (1 … 5 are gone), after the one she saw.
    const expected = [
      'flood 0',
      ...Array.from({ length: HISTORY_SIZE }, (_, i) => `flood ${count - HISTORY_SIZE + 1 + i}`),
    ];
    expect(await bodies(ann)).toEqual(expected);
    await ann.page.locator('.separator:visible', { hasText: 'While you were away' }).waitFor({ timeout: SHOW_MS });
    await screenshot(ann.page, 'chat-history-2-trimmed-ann');
  });

  it("a page that rejoins shows its room's count from the members it was welcomed with, never a stale one", async () => {
    // Ann alone in the room sees "#counted 1"; Bob joins while her gateway is down, so when she is back the
    // welcome lists two members. The count beside them must say 2 at every moment (the room list used to keep the
    // count read before she dropped until the next `rooms` refresh: "#counted 1" beside "Online 2").
    const ann = await join('Ann', 'counted', 0);
    await ann.page.locator('#rooms li[data-room="counted"] .n', { hasText: /^1$/ }).waitFor({ timeout: SHOW_MS });
    await watchCounts(ann, 'counted');
    const gateway = await stopGateway(0, ann);
    const bob = await join('Bob', 'counted', 1);
    await watchCounts(bob, 'counted');
    await gateway.back();

    await sees(ann, 'Reconnected: back in #counted', '.notice');
    await sees(bob, 'Ann joined', '.notice');
    for (const person of [ann, bob]) {
      await person.page.locator('#online-count', { hasText: /^2$/ }).waitFor({ timeout: SHOW_MS });
      // The `rooms` refresh after the join has come back too (it answers every room, the current one included).
      await person.page.waitForFunction(
        () => (window as unknown as Chat).chat.state.roomCounts.counted === 2,
        undefined,
        { timeout: SHOW_MS },
      );
      const seen = await countsSeen(person);
      expect(seen.filter(([online, count]) => online !== count)).toEqual([]);
      expect(seen.at(-1)).toEqual(['2', '2']);
    }
  });

  it('login checks since: too long is refused with the validation message; not a position is answered as data', async () => {
    const eve = await join('Eve', 'checks', 0);
    const request = (message: object) =>
      eve.page.evaluate(async (m) => {
        const { client } = (window as unknown as { chat: { client: { request(m: object): Promise<unknown> } } }).chat;
        try {
          return { ok: await client.request(m) };
        } catch (err) {
          return { error: (err as Error).message };
        }
      }, message);
    expect(await request({ type: 'login', name: 'Eve', room: 'checks', since: 'x'.repeat(65) })).toEqual({
      error: 'since must be shorter than or equal to 64 characters',
    });
    expect(await request({ type: 'login', name: 'Eve', room: 'checks', since: 42 })).toEqual({
      error: expect.stringContaining('since must be a string'),
    });
    const garbage = (await request({ type: 'login', name: 'Eve', room: 'checks', since: 'not a position' })) as {
      ok: Welcome;
    };
    expect(garbage.ok).toMatchObject({ type: 'welcome', recovered: false, reason: 'no-position', replayed: 0 });
    const stranger = (await request({ type: 'login', name: 'Eve', room: 'checks', since: 'ffffffffffff:7' })) as {
      ok: Welcome;
    };
    // Not this room's history (it has none yet): nothing replayed, and nothing failed.
    expect(stranger.ok).toMatchObject({ type: 'welcome', recovered: false, replayed: 0 });
    expect(stranger.ok.reason).not.toBe('no-position');
  });
});
