import { describe, it, expect } from 'vitest';
import { ArithmeticError, evaluate, formatNumber, MAX_EXPRESSION_LENGTH, MAX_NESTING_DEPTH, parse, tokenize } from './arithmetic.js';

const value = (src: string): number => evaluate(src).value;

function errorOf(src: string): ArithmeticError {
  try {
    evaluate(src);
  } catch (err) {
    expect(err).toBeInstanceOf(ArithmeticError);
    return err as ArithmeticError;
  }
  throw new Error(`expected ${JSON.stringify(src)} to fail, got ${evaluate(src).text}`);
}

describe('arithmetic: values', () => {
  const table: [string, number][] = [
    ['1', 1],
    ['42', 42],
    ['3.25', 3.25],
    ['.5', 0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['2.5E-3', 0.0025],
    ['1e+2', 100],
    ['1 + 2', 3],
    ['7 - 10', -3],
    ['6 * 7', 42],
    ['7 / 2', 3.5],
    ['7 % 3', 1],
    ['-7 % 3', -1],
    ['2 ^ 10', 1024],
    ['2 ** 10', 1024],
    ['2*(3+4)', 14],
    ['((((1))))', 1],
    ['0.1 + 0.2', 0.3],
    ['1 / 3', 0.333333333333],
    ['2 / 3', 0.666666666667],
    ['sqrt(2)', 1.41421356237],
    ['sqrt(16)', 4],
    ['abs(-3.5)', 3.5],
    ['round(2.5)', 3],
    ['round(-2.5)', -3],
    ['round(3.14159, 2)', 3.14],
    ['floor(-1.5)', -2],
    ['ceil(1.2)', 2],
    ['min(3, 1, 2)', 1],
    ['max(3, 1, 2)', 3],
    ['max(-1)', -1],
    ['log(1000)', 3],
    ['log(8, 2)', 3],
    ['ln(e)', 1],
    ['exp(0)', 1],
    ['sin(0)', 0],
    ['sin(pi)', 0],
    ['cos(pi)', -1],
    ['tan(pi / 4)', 1],
    ['pi', 3.14159265359],
    ['e', 2.71828182846],
    ['PI * 2', 6.28318530718],
    ['SQRT(9)', 3],
    ['2 × 3 ÷ 4 − 1', 0.5],
    ['  12\t+\n3  ', 15],
    ['1e21 * 10', 1e22],
    ['0 * -1', 0],
  ];
  it.each(table)('%s = %d', (src, expected) => {
    expect(value(src)).toBe(expected);
  });

  it('formats results to 12 significant digits without float noise', () => {
    expect(evaluate('0.1+0.2').text).toBe('0.3');
    expect(evaluate('1/3').text).toBe('0.333333333333');
    expect(evaluate('10^21').text).toBe('1e+21');
    expect(evaluate('-0').text).toBe('0');
    expect(formatNumber(123456789012345)).toBe('123456789012000');
  });
});

describe('arithmetic: precedence and associativity', () => {
  const table: [string, number][] = [
    ['2 + 3 * 4', 14],
    ['(2 + 3) * 4', 20],
    ['10 - 4 - 3', 3],
    ['100 / 10 / 5', 2],
    ['2 * 3 % 4', 2],
    ['2 + 10 % 4', 4],
    ['2 ^ 3 ^ 2', 512],
    ['(2 ^ 3) ^ 2', 64],
    ['-2 ^ 2', -4],
    ['(-2) ^ 2', 4],
    ['2 ^ -1', 0.5],
    ['2 ^ -1 ^ 2', 0.5],
    ['--3', 3],
    ['-+-3', 3],
    ['3 - -3', 6],
    ['2 * -3', -6],
    ['-sqrt(4) * 2', -4],
    ['2 ^ 2 * 3', 12],
    ['3 * 2 ^ 2', 12],
    ['max(1, 2) ^ 2 + min(4, 5)', 8],
  ];
  it.each(table)('%s = %d', (src, expected) => {
    expect(value(src)).toBe(expected);
  });

  // A randomised cross-check: build a random tree, print it with every operator's natural
  // precedence (only the parentheses that are needed), and compare with evaluating the tree.
  it('agrees with a direct evaluation of random expression trees', () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    type T = { v: number; s: string; prec: number };
    const leaf = (): T => {
      const v = Math.floor(rand() * 20) + 1;
      return { v, s: String(v), prec: 9 };
    };
    const ops: { op: string; prec: number; f: (a: number, b: number) => number }[] = [
      { op: '+', prec: 1, f: (a, b) => a + b },
      { op: '-', prec: 1, f: (a, b) => a - b },
      { op: '*', prec: 2, f: (a, b) => a * b },
      { op: '/', prec: 2, f: (a, b) => a / b },
    ];
    const gen = (depth: number): T => {
      if (depth === 0 || rand() < 0.3) return leaf();
      const l = gen(depth - 1);
      const r = gen(depth - 1);
      let o = ops[Math.floor(rand() * ops.length)]!;
      if (o.op === '/' && r.v === 0) o = ops[2]!;
      // Left-associative: the left side needs parentheses only if looser; the right side also if equal.
      const ls = l.prec < o.prec ? `(${l.s})` : l.s;
      const rs = r.prec <= o.prec ? `(${r.s})` : r.s;
      return { v: o.f(l.v, r.v), s: `${ls} ${o.op} ${rs}`, prec: o.prec };
    };
    for (let i = 0; i < 500; i++) {
      const t = gen(5);
      // Same operations in the same order give the same double, so this can be exact.
      expect(value(t.s), t.s).toBe(Number(t.v.toPrecision(12)) || 0);
    }
  });
});

describe('arithmetic: errors name the problem and its position', () => {
  const table: [string, string][] = [
    ['1/0', 'division by zero at position 1'],
    ['5 % 0', 'division by zero (modulo) at position 2'],
    ['0 ^ -1', 'division by zero (0 to a negative power) at position 2'],
    ['2*(3+4))', "unexpected ')' at position 7"],
    ['(1+2', "unclosed '(' at position 0"],
    ['sqrt(2', "unclosed '(' at position 4"],
    ['1 +', 'unexpected end of expression at position 3'],
    ['1 + * 2', "unexpected '*' at position 4"],
    ['1 2', "unexpected '2' at position 2"],
    ['2 $ 3', "unexpected '$' at position 2"],
    ['1.2.3', "unexpected '.' at position 3"],
    ['.', "unexpected '.' at position 0"],
    ['foo + 1', "unknown name 'foo' at position 0"],
    ['bar(1)', "unknown function 'bar' at position 0"],
    ['sqrt 4', "function 'sqrt' needs parentheses, e.g. sqrt(2) at position 0"],
    ['sqrt(1, 2)', 'sqrt expects 1 argument, got 2 at position 0'],
    ['max()', 'max expects at least 1 argument, got 0 at position 0'],
    ['round(1, 2, 3)', 'round expects 1 or 2 arguments, got 3 at position 0'],
    ['max(1 2)', "expected ',' or ')' or an operator but found '2' at position 6"],
    ['sqrt(-1)', 'square root of a negative number at position 0'],
    ['log(0)', 'logarithm of a non-positive number at position 0'],
    ['ln(-1)', 'logarithm of a non-positive number at position 0'],
    ['log(8, 1)', 'logarithm base must be positive and not 1 at position 0'],
    ['round(1, 0.5)', 'round: digits must be an integer from 0 to 12 at position 0'],
    ['(-8) ^ (1/3)', 'result is not a real number at position 5'],
    ['', 'empty expression'],
    ['   ', 'empty expression'],
    ['2e', "unexpected 'e' at position 1"],
  ];
  it.each(table)('%j → %s', (src, message) => {
    expect(errorOf(src).message).toBe(message);
  });

  it('keeps the position as a property for programmatic use', () => {
    expect(errorOf('1 + )').position).toBe(4);
  });

  it('parses everything before evaluating, so a syntax error wins over a division by zero', () => {
    expect(errorOf('1/0 + (2').message).toBe("unclosed '(' at position 6");
  });
});

describe('arithmetic: limits', () => {
  it(`accepts ${MAX_EXPRESSION_LENGTH} characters and rejects more`, () => {
    const ok = '1+'.repeat(MAX_EXPRESSION_LENGTH / 2 - 1) + '11';
    expect(ok).toHaveLength(MAX_EXPRESSION_LENGTH);
    expect(value(ok)).toBe(MAX_EXPRESSION_LENGTH / 2 - 1 + 11);
    expect(errorOf(ok + '+1').message).toBe(`expression is longer than ${MAX_EXPRESSION_LENGTH} characters (502)`);
  });

  it(`accepts nesting ${MAX_NESTING_DEPTH} deep and rejects ${MAX_NESTING_DEPTH + 1}`, () => {
    const nest = (n: number) => '('.repeat(n) + '1' + ')'.repeat(n);
    expect(value(nest(MAX_NESTING_DEPTH))).toBe(1);
    expect(errorOf(nest(MAX_NESTING_DEPTH + 1)).message).toBe(`nesting deeper than ${MAX_NESTING_DEPTH} levels at position ${MAX_NESTING_DEPTH}`);
  });

  it('counts function calls as nesting', () => {
    const calls = (n: number) => 'abs('.repeat(n) + '1' + ')'.repeat(n);
    expect(value(calls(MAX_NESTING_DEPTH))).toBe(1);
    expect(errorOf(calls(MAX_NESTING_DEPTH + 1)).message).toMatch(/^nesting deeper than 50 levels at position \d+$/);
  });

  it('rejects results that are not finite', () => {
    expect(errorOf('10^400').message).toBe('result is not finite (overflow) at position 2');
    expect(errorOf('2^1024').message).toBe('result is not finite (overflow) at position 1');
    expect(errorOf('9^9^9').message).toBe('result is not finite (overflow) at position 1');
    expect(errorOf('exp(1000)').message).toBe('result is not finite (overflow) at position 0');
    expect(errorOf('1e308 * 10').message).toBe('result is not finite (overflow) at position 6');
    expect(errorOf('1e400').message).toBe('number too large at position 0');
  });

  it('handles long unary and power chains within the length limit', () => {
    expect(value('-'.repeat(498) + '1')).toBe(1);
    expect(value(Array(250).fill('1').join('^'))).toBe(1);
  });
});

describe('arithmetic: garbage in', () => {
  const ALPHABET = '0123456789.eE+-*/%^(),  abcsqrtminaxlogpi×÷−$#@!"\'\\\n\t{}[]=<>~`|&_;:?é中😀';

  it('never throws anything but ArithmeticError and never returns a non-finite value', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const chars = Array.from(ALPHABET);
    const samples: string[] = ['(((', ')))', '1e', 'e1', '1e+', '--', '**', '^^', ',', 'max(,)', 'sqrt()', '()', '(,)'];
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(rand() * (i % 10 === 0 ? 700 : 30));
      let s = '';
      for (let j = 0; j < len; j++) s += chars[Math.floor(rand() * chars.length)];
      samples.push(s);
    }
    let ok = 0;
    for (const s of samples) {
      try {
        const r = evaluate(s);
        expect(Number.isFinite(r.value), s).toBe(true);
        ok++;
      } catch (err) {
        if (!(err instanceof ArithmeticError)) throw new Error(`${JSON.stringify(s)} threw ${String(err)}`);
      }
    }
    // Some garbage is valid arithmetic; the point is that the rest failed cleanly.
    expect(ok).toBeGreaterThan(0);
  });

  it('tokenizes with positions', () => {
    expect(tokenize('12 + x').map((t) => [t.kind, t.text, t.pos])).toEqual([
      ['number', '12', 0], ['op', '+', 3], ['name', 'x', 5], ['end', 'end of expression', 6],
    ]);
  });

  it('builds a tree that reflects right-associative power', () => {
    const tree = parse('2^3^2');
    expect(tree).toMatchObject({ kind: 'binary', op: '^', left: { kind: 'num', value: 2 }, right: { kind: 'binary', op: '^' } });
  });
});
