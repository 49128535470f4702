import { handshakeFromPhp, parseStr, phpWebSocketConnectData } from './php-handshake';
import { phpSerialize, phpUnserialize } from './php-serialize';
import { vectorBytes } from './testdata/php-vectors';
import { decodeFrame } from '../protocol/frame';

const ser = (v: Parameters<typeof phpSerialize>[0]) => phpSerialize(v).toString('utf8');

describe("parseStr: PHP's parse_str for query strings and cookies", () => {
  it('matches PHP 8.2', () => {
    // php -r 'parse_str("a=1&a=2&b[]=x&b[]=y&c[k][j]=v&d.e=1&f+g=h%20i&=x&k&m[5]=p&m[]=q&n[x=1", $r); echo serialize($r);'
    expect(ser(parseStr('a=1&a=2&b[]=x&b[]=y&c[k][j]=v&d.e=1&f+g=h%20i&=x&k&m[5]=p&m[]=q&n[x=1'))).toBe(
      'a:8:{s:1:"a";s:1:"2";s:1:"b";a:2:{i:0;s:1:"x";i:1;s:1:"y";}s:1:"c";a:1:{s:1:"k";a:1:{s:1:"j";s:1:"v";}}' +
        's:3:"d_e";s:1:"1";s:3:"f_g";s:3:"h i";s:1:"k";s:0:"";s:1:"m";a:2:{i:5;s:1:"p";i:6;s:1:"q";}s:3:"n_x";s:1:"1";}',
    );
    // Cookies as workerman parses them: parse_str of the header with "; " turned into "&".
    expect(ser(parseStr('sid=xyz; a=b;c=%41'.replace(/; ?/g, '&')))).toBe(
      'a:3:{s:3:"sid";s:3:"xyz";s:1:"a";s:1:"b";s:1:"c";s:1:"A";}',
    );
  });
});

describe('the handshake between our form and PHP onWebSocketConnect data', () => {
  it('round trip: ours → PHP array → ours keeps url, query, headers and the peer', () => {
    const ours = {
      listener: 'ws://127.0.0.1:7272',
      protocol: 'ws',
      remoteAddress: '10.0.0.9',
      remotePort: 50123,
      url: '/chat?token=abc&tag[]=a&tag[]=b',
      query: {},
      headers: { host: 'example.com:7272', cookie: 'sid=xyz', 'x-real-ip': '1.2.3.4' },
    };
    const data = phpWebSocketConnectData(ours, 7272);
    const back = handshakeFromPhp(phpUnserialize(phpSerialize(data)), '127.0.0.1:2300');
    expect(back).toMatchObject({
      url: ours.url,
      remoteAddress: '10.0.0.9',
      remotePort: 50123,
      query: { token: 'abc', tag: ['a', 'b'] },
      headers: ours.headers,
    });
  });

  it("reads PHP's own (V4)", () => {
    const v4 = decodeFrame(vectorBytes('V4'));
    expect(handshakeFromPhp(phpUnserialize(v4.body), '127.0.0.1:2300')).toMatchObject({
      url: '/chat?token=abc',
      query: { token: 'abc' },
      remoteAddress: '127.0.0.1',
      remotePort: 42140,
    });
  });
});
