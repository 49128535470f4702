import type { Page } from 'playwright-core';

/**
 * Driving the example chat page (apps/worker/src/chat-page) in a browser, shared by the chat specs: the login
 * dialog and the message box, through the page's own controls.
 */

/** Logs in through the dialog once the page is connected, and waits until it shows the room. */
export async function loginThroughDialog(page: Page, name: string, room: string, timeoutMs: number): Promise<void> {
  await page.fill('#login-name', name);
  await page.locator('#login-submit:enabled').waitFor({ timeout: timeoutMs }); // connected
  await page.fill('#login-room', room);
  await page.click('#login-submit');
  await page.locator('#login').waitFor({ state: 'hidden', timeout: timeoutMs });
  await page.locator('#who-room', { hasText: `#${room}` }).waitFor({ timeout: timeoutMs });
}

/** Types `text` into the message box and sends it with Enter. */
export async function sayInPage(page: Page, text: string, timeoutMs: number): Promise<void> {
  await page.locator('#text:enabled').waitFor({ timeout: timeoutMs });
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}
