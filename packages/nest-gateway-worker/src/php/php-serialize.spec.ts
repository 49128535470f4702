import { phpFloatText } from './php-float';
import { phpJsonEncode } from './php-json';
import { MAX_PHP_DEPTH, PhpSerializeError, phpSerialize, phpUnserialize } from './php-serialize';
import {
  PhpFloat,
  byteString,
  fromJson,
  phpKey,
  replaceRecursive,
  toJson,
  toJsonSession,
  type PhpArray,
  type PhpValue,
} from './php-value';

/** The text of serialize()'s output (a byte string shown as UTF-8 where it is). */
const ser = (v: PhpValue): string => phpSerialize(v).toString('utf8');
const unser = (text: string): PhpValue => phpUnserialize(Buffer.from(text, 'utf8'));
const map = (entries: [string | number, PhpValue][]): PhpArray =>
  new Map(entries.map(([k, v]) => [typeof k === 'string' ? phpKey(byteString(k)) : k, v]));

/**
 * Golden values: each right-hand side was printed by PHP 8.2's serialize() for the PHP value named on the left
 * (the generating script is in the comment of each group), so these pin our output to PHP's byte for byte.
 */
describe('phpSerialize: byte-identical to PHP 8.2 serialize()', () => {
  it('scalars', () => {
    expect(ser(null)).toBe('N;');
    expect(ser(true)).toBe('b:1;');
    expect(ser(false)).toBe('b:0;');
    expect(ser(42)).toBe('i:42;');
    expect(ser(-7)).toBe('i:-7;');
    expect(ser(0)).toBe('i:0;');
    expect(ser(2n ** 63n - 1n)).toBe('i:9223372036854775807;');
    expect(ser(-(2n ** 63n))).toBe('i:-9223372036854775808;');
  });

  it('floats (serialize_precision -1): shortest digits, PHP layout', () => {
    // php -r 'echo serialize(0.1);' and so on.
    const golden: [number, string][] = [
      [0.1, 'd:0.1;'],
      [2.0, 'd:2;'],
      [-0.0, 'd:-0;'],
      [1e25, 'd:1.0E+25;'],
      [1e17, 'd:1.0E+17;'],
      [1e16, 'd:10000000000000000;'],
      [1e15, 'd:1000000000000000;'],
      [0.0001, 'd:0.0001;'],
      [0.00001, 'd:1.0E-5;'],
      [1.5e-7, 'd:1.5E-7;'],
      [Math.PI, 'd:3.141592653589793;'],
      [123456.789, 'd:123456.789;'],
      [-2.5e-300, 'd:-2.5E-300;'],
      [Number.MAX_VALUE, 'd:1.7976931348623157E+308;'],
      [2.2250738585072014e-308, 'd:2.2250738585072014E-308;'],
      [Infinity, 'd:INF;'],
      [-Infinity, 'd:-INF;'],
      [NaN, 'd:NAN;'],
      [1e100, 'd:1.0E+100;'],
      [12345678901234567000, 'd:1.2345678901234567E+19;'],
      [0.1 + 0.2, 'd:0.30000000000000004;'],
    ];
    for (const [value, text] of golden) expect({ value, text: ser(new PhpFloat(value)) }).toEqual({ value, text });
  });

  it('strings: the length is in UTF-8 bytes; quotes, semicolons and NUL bytes need no escaping', () => {
    expect(ser(byteString('héllo 世界 🎉'))).toBe('s:18:"héllo 世界 🎉";');
    expect(ser('')).toBe('s:0:"";');
    expect(ser('a"b;c}')).toBe('s:6:"a"b;c}";');
    expect(ser('a\0b')).toBe('s:3:"a\0b";');
  });

  it('arrays: lists, maps, normalised keys, nesting, sparse keys', () => {
    expect(ser(fromJson(['a', 'b', 'c']))).toBe('a:3:{i:0;s:1:"a";i:1;s:1:"b";i:2;s:1:"c";}');
    expect(ser(fromJson({ nick: 'bob', lvl: 2 }))).toBe('a:2:{s:4:"nick";s:3:"bob";s:3:"lvl";i:2;}');
    // ['42' => 'x', '042' => 'y', '-5' => 'z', '-0' => 'w', '9223372036854775808' => 'big', '1.5' => 'f']
    const keys = map([
      ['42', 'x'],
      ['042', 'y'],
      ['-5', 'z'],
      ['-0', 'w'],
      ['9223372036854775808', 'big'],
      ['1.5', 'f'],
    ]);
    expect(ser(keys)).toBe(
      'a:6:{i:42;s:1:"x";s:3:"042";s:1:"y";i:-5;s:1:"z";s:2:"-0";s:1:"w";s:19:"9223372036854775808";s:3:"big";s:3:"1.5";s:1:"f";}',
    );
    // ['a' => ['b' => ['c' => [1, 2.5, true, null]]], 'e' => []]
    const nested = map([
      [
        'a',
        map([
          [
            'b',
            map([
              [
                'c',
                new Map<number, PhpValue>([
                  [0, 1],
                  [1, new PhpFloat(2.5)],
                  [2, true],
                  [3, null],
                ]),
              ],
            ]),
          ],
        ]),
      ],
      ['e', new Map()],
    ]);
    expect(ser(nested)).toBe(
      'a:2:{s:1:"a";a:1:{s:1:"b";a:1:{s:1:"c";a:4:{i:0;i:1;i:1;d:2.5;i:2;b:1;i:3;N;}}}s:1:"e";a:0:{}}',
    );
    expect(
      ser(
        new Map([
          [3, 'a'],
          [1, 'b'],
        ]),
      ),
    ).toBe('a:2:{i:3;s:1:"a";i:1;s:1:"b";}');
  });

  it('JSON values convert the way json_decode($json, true) holds them', () => {
    expect(ser(fromJson({ '42': 'x', '042': 'y', n: 1.5, big: 2 ** 60, huge: 1e30, t: true, z: null }))).toBe(
      // JS orders integer-like keys first: "42" leads.
      'a:7:{i:42;s:1:"x";s:3:"042";s:1:"y";s:1:"n";d:1.5;s:3:"big";i:1152921504606846976;s:4:"huge";d:1.0E+30;s:1:"t";b:1;s:1:"z";N;}',
    );
    expect(ser(fromJson({ é: 'ü' }))).toBe('a:1:{s:2:"é";s:2:"ü";}');
  });
});

describe('phpUnserialize', () => {
  const samples = [
    'N;',
    'b:1;',
    'i:-9223372036854775808;',
    'd:1.0E+25;',
    'd:-0;',
    'd:NAN;',
    's:18:"héllo 世界 🎉";',
    'a:2:{s:1:"a";a:1:{s:1:"b";a:1:{s:1:"c";a:4:{i:0;i:1;i:1;d:2.5;i:2;b:1;i:3;N;}}}s:1:"e";a:0:{}}',
    'a:6:{i:42;s:1:"x";s:3:"042";s:1:"y";i:-5;s:1:"z";s:2:"-0";s:1:"w";s:19:"9223372036854775808";s:3:"big";s:3:"1.5";s:1:"f";}',
    'a:3:{s:3:"get";a:1:{s:5:"token";s:3:"abc";}s:6:"server";a:2:{s:12:"CONTENT_TYPE";N;s:11:"REMOTE_PORT";i:42140;}s:6:"cookie";a:0:{}}',
  ];

  it('round trip: unserialize then serialize gives the same bytes', () => {
    for (const text of samples) expect(ser(unser(text))).toBe(text);
  });

  it('keeps int and float apart, and bytes that are not UTF-8', () => {
    expect(unser('i:2;')).toBe(2);
    expect(unser('d:2;')).toEqual(new PhpFloat(2));
    const bytes = Buffer.from([0x73, 0x3a, 0x32, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x3b]); // s:2:"\xff\xfe";
    expect(phpSerialize(phpUnserialize(bytes)).equals(bytes)).toBe(true);
  });

  it('normalises integer-like string keys as PHP does (a:1:{s:2:"42";…} reads as key 42)', () => {
    // php -r 'echo serialize(unserialize("a:2:{s:2:\"42\";i:1;s:1:\"x\";i:2;}"));'
    expect(ser(unser('a:2:{s:2:"42";i:1;s:1:"x";i:2;}'))).toBe('a:2:{i:42;i:1;s:1:"x";i:2;}');
    // A repeated key: the later value wins, in the first one's place.
    expect(ser(unser('a:2:{i:1;i:1;i:1;i:2;}'))).toBe('a:1:{i:1;i:2;}');
  });

  it('accepts what PHP accepts for numbers (+5, .5, 1e3)', () => {
    expect(unser('i:+5;')).toBe(5);
    expect(unser('d:.5;')).toEqual(new PhpFloat(0.5));
    expect(unser('d:1e3;')).toEqual(new PhpFloat(1000));
  });

  it('refuses anything else with an error that names the offset, never throwing anything else', () => {
    const bad = [
      '',
      'b:2;',
      'i:x;',
      'i:99999999999999999999;',
      's:5:"abc";',
      's:3:"abc"',
      'a:1:{i:0;}',
      'a:99999999:{',
      'a:1:{d:1;i:0;}',
      'O:8:"stdClass":0:{}',
      'r:1;',
      'N;N;',
      'x',
      'd:1.2.3;',
    ];
    for (const text of bad) {
      expect(() => unser(text)).toThrow(PhpSerializeError);
    }
    expect(() => unser('O:8:"stdClass":0:{}')).toThrow(/unsupported type "O"/);
  });

  it('bounds nesting', () => {
    const deep = 'a:1:{i:0;'.repeat(MAX_PHP_DEPTH + 1) + 'N;' + '}'.repeat(MAX_PHP_DEPTH + 1);
    expect(() => unser(deep)).toThrow(/nested deeper/);
    const ok = 'a:1:{i:0;'.repeat(MAX_PHP_DEPTH - 1) + 'N;' + '}'.repeat(MAX_PHP_DEPTH - 1);
    expect(ser(unser(ok))).toBe(ok);
  });

  it('survives every prefix of a valid value and random bytes (total decoder)', () => {
    for (const text of samples) {
      const bytes = Buffer.from(text, 'utf8');
      for (let n = 0; n < bytes.length; n++) {
        try {
          phpUnserialize(bytes.subarray(0, n));
        } catch (err) {
          expect(err).toBeInstanceOf(PhpSerializeError);
        }
      }
    }
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const alphabet = 'Nbidsa:;{}"0123456789-.E';
    for (let i = 0; i < 2000; i++) {
      const text = Array.from(
        { length: 1 + Math.floor(random() * 30) },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join('');
      try {
        phpUnserialize(Buffer.from(text, 'latin1'));
      } catch (err) {
        expect(err).toBeInstanceOf(PhpSerializeError);
      }
    }
  });
});

describe('JSON views of PHP values', () => {
  it('lists become arrays, maps objects, a session always an object', () => {
    const v = unser('a:3:{s:4:"nick";s:3:"bob";s:4:"tags";a:2:{i:0;s:1:"a";i:1;s:1:"b";}i:7;d:1.5;}');
    expect(toJson(v)).toEqual({ nick: 'bob', tags: ['a', 'b'], '7': 1.5 });
    expect(toJsonSession(unser('a:0:{}'))).toEqual({});
    expect(toJsonSession(unser('a:1:{i:0;s:1:"x";}'))).toEqual({ '0': 'x' });
    expect(toJsonSession(unser('s:1:"x";'))).toBeNull();
    expect(toJson(unser('s:18:"héllo 世界 🎉";'))).toBe('héllo 世界 🎉');
  });
});

describe("array_replace_recursive (UpdateSession's merge for PHP callers)", () => {
  it('matches PHP: lists merge by index, maps by key, new keys appended', () => {
    // php -r 'echo serialize(array_replace_recursive(["a"=>[1,2,3],"b"=>["x"=>1,"y"=>[1,2]],"c"=>"keep"],
    //                                                ["a"=>[9],"b"=>["y"=>[7],"z"=>3],"d"=>["n"]]));'
    const base = fromJson({ a: [1, 2, 3], b: { x: 1, y: [1, 2] }, c: 'keep' }) as PhpArray;
    const patch = fromJson({ a: [9], b: { y: [7], z: 3 }, d: ['n'] }) as PhpArray;
    expect(ser(replaceRecursive(base, patch))).toBe(
      'a:4:{s:1:"a";a:3:{i:0;i:9;i:1;i:2;i:2;i:3;}s:1:"b";a:3:{s:1:"x";i:1;s:1:"y";a:2:{i:0;i:7;i:1;i:2;}s:1:"z";i:3;}s:1:"c";s:4:"keep";s:1:"d";a:1:{i:0;s:1:"n";}}',
    );
  });
});

describe('phpJsonEncode (json_encode with JSON_UNESCAPED_UNICODE, what workerman 5 sends for arrays)', () => {
  it('matches PHP', () => {
    // php -r 'echo json_encode(["not"=>"scalär","list"=>[1,2],"s"=>"a/b"], JSON_UNESCAPED_UNICODE);'
    expect(phpJsonEncode(fromJson({ not: 'scalär', list: [1, 2], s: 'a/b' }))?.toString('utf8')).toBe(
      '{"not":"scalär","list":[1,2],"s":"a\\/b"}',
    );
    // php -r 'echo json_encode([2.0, 1e25, 0.1, -0.0, 1e-7, "a\n\t\x01\"\\/é", null, true, [], ["a"=>1], [1=>1]], …);'
    const list: PhpValue = new Map<number, PhpValue>(
      [
        new PhpFloat(2),
        new PhpFloat(1e25),
        new PhpFloat(0.1),
        new PhpFloat(-0),
        new PhpFloat(1e-7),
        byteString('a\n\t\u0001"\\/é'),
        null,
        true,
        new Map(),
        map([['a', 1]]),
        new Map([[1, 1]]),
      ].map((v, i) => [i, v as PhpValue]),
    );
    expect(phpJsonEncode(list)?.toString('utf8')).toBe(
      '[2,1.0e+25,0.1,-0,1.0e-7,"a\\n\\t\\u0001\\"\\\\\\/é",null,true,[],{"a":1},{"1":1}]',
    );
    expect(phpJsonEncode('\xff')).toBeNull();
    expect(phpJsonEncode(new PhpFloat(NaN))).toBeNull();
    expect(phpFloatText(1e25, 'e')).toBe('1.0e+25');
  });
});
