import { startGateway, startRegister, stopAll } from './support/roles';
import { within } from './support/eventually';
import { TestClient } from './support/ws-client';

/**
 * Closes the `ws` library starts on its own for broken client input (README, "Close codes"): clients see them, so
 * the table documents them. An invalid UTF-8 text message ends with 1007 and an empty reason, and the gateway keeps
 * serving other clients.
 */
afterAll(() => stopAll());

describe('closes clients see that are not the gateway’s choice', () => {
  it('a text message that is not valid UTF-8: 1007, empty reason; other clients unaffected', async () => {
    const { address } = await startRegister();
    const { url } = await startGateway(address);
    const bad = await TestClient.open(url);
    const good = await TestClient.open(url);
    // 0xff never appears in UTF-8; ws sends a Buffer as a text frame as it is, unchecked.
    bad.ws.send(Buffer.from([0x68, 0x69, 0xff]), { binary: false });
    expect(await within(bad.closed, 'the close after invalid UTF-8')).toBe(1007);
    expect(bad.closeReason).toBe('');
    expect(good.ws.readyState).toBe(good.ws.OPEN);
    good.ws.close();
  });
});
