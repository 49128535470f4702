import { ConfigError, parseListenUrl } from '../../config/environment';
import type { ClientFraming } from './client-framing';
import { FrameFraming } from './frame-framing';
import { framingRegistry, resolveListeners } from './listener-factory';
import { listenersFromEnv } from './listeners-from-env';

const custom: ClientFraming = {
  name: 'short',
  binary: true,
  createDecoder: () => ({ push: () => undefined }),
  encode: (m) => m,
};

function resolve(urls: string[], framings: ClientFraming[] = []) {
  return resolveListeners(
    urls.map((url) => ({ url, tls: url.startsWith('wss') ? { cert: 'c', key: 'k' } : undefined })),
    framingRegistry(framings),
    (i) => `listeners[${i}].url`,
  );
}

describe('listen URLs', () => {
  it('parses scheme, host, port and path; IPv6 hosts lose their brackets; "/" means any path', () => {
    expect(parseListenUrl('X', 'ws://0.0.0.0:7272')).toEqual({
      text: 'ws://0.0.0.0:7272',
      scheme: 'ws',
      host: '0.0.0.0',
      port: 7272,
      path: '',
    });
    expect(parseListenUrl('X', ' WSS://[::1]:0/chat ')).toEqual({
      text: 'WSS://[::1]:0/chat',
      scheme: 'wss',
      host: '::1',
      port: 0,
      path: '/chat',
    });
    expect(parseListenUrl('X', 'ws://example.org:80/')).toMatchObject({ host: 'example.org', port: 80, path: '' });
    expect(parseListenUrl('X', 'text://127.0.0.1:7273')).toMatchObject({ scheme: 'text', port: 7273 });
  });

  it.each(['ws://0.0.0.0', '0.0.0.0:7272', 'ws://:7272', 'ws://h:1234567', 'ws://h:80?x=1', 'ws://a b:80'])(
    'refuses %j naming the setting',
    (text) => {
      expect(() => parseListenUrl('GATEWAY_LISTEN', text)).toThrow(ConfigError);
      expect(() => parseListenUrl('GATEWAY_LISTEN', text)).toThrow(/^GATEWAY_LISTEN=/);
    },
  );

  it('picks WebSocket for ws/wss and the framing for raw TCP schemes, custom ones included', () => {
    const resolved = resolve(
      ['ws://127.0.0.1:0', 'wss://127.0.0.1:0/s', 'text://127.0.0.1:0', 'frame://127.0.0.1:0', 'short://127.0.0.1:0'],
      [custom],
    );
    expect(resolved.map((r) => [r.where.scheme, r.framing?.name ?? null, r.tls !== undefined])).toEqual([
      ['ws', null, false],
      ['wss', null, true],
      ['text', 'text', false],
      ['frame', 'frame', false],
      ['short', 'short', false],
    ]);
  });

  it('lets a custom framing replace text or frame, but not name itself ws or wss', () => {
    const binaryFrame = new FrameFraming({ binary: true });
    expect(resolve(['frame://127.0.0.1:0'], [binaryFrame])[0].framing).toBe(binaryFrame);
    expect(() => framingRegistry([{ ...custom, name: 'wss' }])).toThrow(/"wss" cannot name a framing/);
    expect(() => framingRegistry([{ ...custom, name: 'My Proto' }])).toThrow(/cannot name a framing/);
  });

  it('refuses unknown schemes, paths on raw TCP, a wss listener without tls, one address twice, and no listener', () => {
    expect(() => resolve(['short://127.0.0.1:0'])).toThrow(
      /listeners\[0\]\.url="short:\/\/127\.0\.0\.1:0" is invalid: unknown scheme "short": expected ws, wss, text, frame/,
    );
    expect(() => resolve(['ws://127.0.0.1:0', 'frame://127.0.0.1:0/x'])).toThrow(/listeners\[1\]\.url=.*takes no path/);
    expect(() => resolveListeners([{ url: 'wss://127.0.0.1:0' }], framingRegistry(), () => 'L')).toThrow(
      /needs a certificate and key/,
    );
    expect(() => resolve(['ws://127.0.0.1:81', 'text://127.0.0.1:81'])).toThrow(
      /127\.0\.0\.1:81 is already used by another listener/,
    );
    expect(resolve(['ws://127.0.0.1:0', 'text://127.0.0.1:0'])).toHaveLength(2); // port 0 twice is fine
    expect(() => resolve([])).toThrow(/at least one client listener/);
  });
});

describe('listenersFromEnv', () => {
  it('defaults to ws://0.0.0.0:7272 and keeps the order of GATEWAY_LISTEN', () => {
    expect(listenersFromEnv({})).toEqual([{ url: 'ws://0.0.0.0:7272' }]);
    expect(listenersFromEnv({ GATEWAY_LISTEN: 'frame://0.0.0.0:7274, text://0.0.0.0:7273,' })).toEqual([
      { url: 'frame://0.0.0.0:7274' },
      { url: 'text://0.0.0.0:7273' },
    ]);
  });

  it('accepts the schemes of custom framings it is given', () => {
    expect(() => listenersFromEnv({ GATEWAY_LISTEN: 'short://0.0.0.0:7300' })).toThrow(
      /GATEWAY_LISTEN=.*unknown scheme "short"/,
    );
    expect(listenersFromEnv({ GATEWAY_LISTEN: 'short://0.0.0.0:7300' }, [custom])).toEqual([
      { url: 'short://0.0.0.0:7300' },
    ]);
  });
});
