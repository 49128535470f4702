import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, pageProblems, screenshot } from '../support/browser';
import { loginThroughDialog, sayInPage } from '../support/chat-page';
import { exampleWorkerApi } from '../support/example-worker-api';
import { startGateway, startRegister, startWorker, stopAll, type RoleProcess } from '../support/roles';

/**
 * The chat demo page (apps/worker/src/chat-page, served by the example worker at `/`) in headless Chromium, on a real
 * register, gateway and worker: two people chat both ways, a private message reaches only its target, a gateway
 * restart shows the reconnect banner and the room is rejoined, requests answer (and reject with the validation
 * message). Screenshots: test/artifacts/chat-*.png.
 */

/** How long a step of the page may take to show (bounded waits, not timing assertions). */
const SHOW_MS = 15_000;

interface Person {
  name: string;
  page: Page;
  context: BrowserContext;
  problems: string[];
}

describe('the chat page in headless Chromium', () => {
  let browser: Browser;
  let register: { proc: RoleProcess; address: string };
  let gateway: { proc: RoleProcess; url: string; inner: string };
  let pageUrl: string;
  const people: Person[] = [];

  beforeAll(async () => {
    register = await startRegister();
    gateway = await startGateway(register.address);
    const worker = await startWorker(register.address, {}, gateway.inner);
    pageUrl = (await exampleWorkerApi(worker)).replace(/api$/, '');
    browser = await launchBrowser();
  });

  afterEach(async () => {
    for (const person of people.splice(0)) {
      // Nothing broke in the page (a refused WebSocket while the gateway was down is the browser's own report).
      expect(person.problems.filter((p) => !/WebSocket connection to .* failed/.test(p))).toEqual([]);
      await person.context.close();
    }
  });

  afterAll(async () => {
    await browser?.close();
    await stopAll();
  });

  /** A new browser profile on the page, pointed at the test gateway. */
  async function visit(name: string): Promise<Person> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    const page = await context.newPage();
    const person = { name, page, context, problems: pageProblems(page) };
    people.push(person);
    await page.goto(`${pageUrl}?gateway=${encodeURIComponent(gateway.url)}`);
    return person;
  }

  /** Opens the page and logs in with the dialog. */
  async function join(name: string, room: string): Promise<Person> {
    const person = await visit(name);
    const { page } = person;
    await loginThroughDialog(page, name, room, SHOW_MS);
    return person;
  }

  async function say(person: Person, text: string): Promise<void> {
    await sayInPage(person.page, text, SHOW_MS);
  }

  /** Waits until `person` shows a message with `text` (a private one when `private`). */
  function sees(person: Person, text: string, kind: 'msg' | 'private' | 'notice' = 'msg') {
    const selector = kind === 'private' ? '.msg.private .body' : kind === 'notice' ? '.notice' : '.msg .body';
    return person.page.locator(selector, { hasText: text }).first().waitFor({ timeout: SHOW_MS });
  }

  function members(person: Person): Promise<string[]> {
    return person.page.locator('#members li span').allTextContents();
  }

  it('two people in one room chat both ways and see each other online; join notices appear', async () => {
    const ann = await join('Ann', 'lobby');
    const bob = await join('Bob', 'lobby');
    await sees(ann, 'Bob joined', 'notice');
    await say(ann, 'Hello Bob!');
    await sees(bob, 'Hello Bob!');
    await say(bob, 'Hi Ann, good to see you.');
    await sees(ann, 'Hi Ann, good to see you.');
    await sees(ann, 'Hello Bob!'); // her own, back through the room
    expect((await members(ann)).sort()).toEqual(['Ann', 'Bob']);
    expect((await members(bob)).sort()).toEqual(['Ann', 'Bob']);
    await ann.page.locator('#rooms li[data-room="lobby"] .n', { hasText: '2' }).waitFor({ timeout: SHOW_MS });
    await screenshot(ann.page, 'chat-1-ann');
    await screenshot(bob.page, 'chat-1-bob');
    await bob.context.close();
    await sees(ann, 'Bob left', 'notice');
    expect(await members(ann)).toEqual(['Ann']);
    people.splice(people.indexOf(bob), 1);
  });

  it('a private message reaches only its target', async () => {
    const ann = await join('Ann', 'garden');
    const bob = await join('Bob', 'garden');
    const cleo = await join('Cleo', 'garden');
    await ann.page.locator('#members li', { hasText: 'Cleo' }).waitFor({ timeout: SHOW_MS });
    await ann.page.click('#members li:has-text("Bob")');
    expect(await ann.page.inputValue('#to')).not.toBe('all');
    await say(ann, 'psst, only for Bob');
    await sees(bob, 'psst, only for Bob', 'private');
    await sees(ann, 'psst, only for Bob', 'private'); // her copy
    // Back to everyone: a room message, sent after the private one, reaches Cleo; the private one did not.
    await ann.page.click('#members li:has-text("Bob")');
    expect(await ann.page.inputValue('#to')).toBe('all');
    await say(ann, 'hello everyone');
    await sees(cleo, 'hello everyone');
    await sees(bob, 'hello everyone');
    expect(await cleo.page.locator('.msg', { hasText: 'psst' }).count()).toBe(0);
    expect(await cleo.page.locator('.msg.private').count()).toBe(0);
    await screenshot(ann.page, 'chat-2-private-ann');
    await screenshot(bob.page, 'chat-2-private-bob');
    await screenshot(cleo.page, 'chat-2-private-cleo');
  });

  it('requests answer from the page: a worker round trip, and the validation message in the login dialog', async () => {
    const eve = await visit('Eve');
    await eve.page.locator('#login-submit:enabled').waitFor({ timeout: SHOW_MS });
    const answer = await eve.page.evaluate(() =>
      (window as unknown as { chat: { client: { request(m: object): Promise<unknown> } } }).chat.client.request({
        type: 'process',
      }),
    );
    expect(answer).toMatchObject({ type: 'process', worker: expect.stringMatching(/^worker:\d+-\d+$/) });
    await eve.page.fill('#login-name', 'E'.repeat(40));
    await eve.page.click('#login-submit');
    await eve.page
      .locator('#login-error', { hasText: 'name must be shorter than or equal to 32 characters' })
      .waitFor({ timeout: SHOW_MS });
    await screenshot(eve.page, 'chat-3-validation');
    // Still usable: a valid name gets in.
    await eve.page.fill('#login-name', 'Eve');
    await eve.page.click('#login-submit');
    await eve.page.locator('#login').waitFor({ state: 'hidden', timeout: SHOW_MS });
    await eve.page.locator('#who-worker', { hasText: 'served by worker:' }).waitFor({ timeout: SHOW_MS });
  });

  it('without the backplane: no history, `since` is ignored, messages carry no position', async () => {
    const ann = await join('Ann', 'plain');
    type Chat = {
      client: { request(m: object): Promise<unknown>; offsets: object };
      state: { positions: Map<string, string> };
    };
    const welcome = await ann.page.evaluate(async () => {
      const { client } = (window as unknown as { chat: Chat }).chat;
      const answer = await client.request({ type: 'login', name: 'Ann', room: 'plain', since: 'abc:1' });
      await client.request({ type: 'say', content: 'no position here' });
      return answer;
    });
    expect(Object.keys(welcome as object).sort()).toEqual(['client_id', 'client_list', 'room', 'type']);
    await sees(ann, 'no position here');
    const kept = await ann.page.evaluate(() => {
      const { client, state } = (window as unknown as { chat: Chat }).chat;
      return { positions: [...state.positions], offsets: client.offsets };
    });
    expect(kept).toEqual({ positions: [], offsets: {} });
  });

  it('a gateway restart shows the reconnect banner; the room is rejoined and the chat works again', async () => {
    const ann = await join('Ann', 'phoenix');
    const bob = await join('Bob', 'phoenix');
    await say(ann, 'before the restart');
    await sees(bob, 'before the restart');
    const port = new URL(gateway.url).port;
    await gateway.proc.stop();
    for (const person of [ann, bob]) {
      await person.page.locator('#banner:visible', { hasText: 'Connection lost' }).waitFor({ timeout: SHOW_MS });
      await person.page.locator('#status[data-state="reconnecting"]').waitFor({ timeout: SHOW_MS });
      expect(await person.page.isDisabled('#text')).toBe(true);
    }
    await screenshot(ann.page, 'chat-4-reconnecting');
    gateway = await startGateway(register.address, { GATEWAY_LISTEN: `ws://127.0.0.1:${port}` });
    for (const person of [ann, bob]) {
      await sees(person, 'Reconnected: back in #phoenix', 'notice');
      await person.page.locator('#banner').waitFor({ state: 'hidden', timeout: SHOW_MS });
      await person.page.locator('#status[data-state="online"]').waitFor({ timeout: SHOW_MS });
    }
    await say(bob, 'after the restart');
    await sees(ann, 'after the restart');
    await say(ann, 'welcome back');
    await sees(bob, 'welcome back');
    // Each rejoined under a new client_id: the online lists name both again (the old entries are gone).
    await ann.page.locator('#online-count', { hasText: '2' }).waitFor({ timeout: SHOW_MS });
    expect((await members(ann)).sort()).toEqual(['Ann', 'Bob']);
    await screenshot(ann.page, 'chat-5-reconnected');
  });
});
