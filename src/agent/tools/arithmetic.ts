// A safe arithmetic evaluator for the calculator tool: tokenizer → recursive-descent parser →
// AST → evaluator. User text never reaches eval/Function, and the whole input is parsed before
// anything is evaluated so a syntax error is reported in preference to e.g. a division by zero
// earlier in the string. Positions in error messages are 0-based character offsets into the
// expression, like JSON.parse's "at position N".

export const MAX_EXPRESSION_LENGTH = 500;
export const MAX_NESTING_DEPTH = 50;
const SIGNIFICANT_DIGITS = 12;

export class ArithmeticError extends Error {
  constructor(message: string, readonly position?: number) {
    super(position === undefined ? message : `${message} at position ${position}`);
    this.name = 'ArithmeticError';
  }
}

type TokenKind = 'number' | 'name' | 'op' | '(' | ')' | ',' | 'end';
interface Token { kind: TokenKind; text: string; pos: number; value?: number }

// Unicode spellings people paste from documents, folded into the ASCII operators.
const OPERATOR_ALIASES: Record<string, string> = { '×': '*', '·': '*', '÷': '/', '−': '-', '–': '-' };

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    const start = i;
    if (/[0-9.]/.test(c)) {
      const m = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i));
      if (!m) throw new ArithmeticError(`unexpected '${c}'`, i);
      i += m[0].length;
      if (src[i] === '.') throw new ArithmeticError("unexpected '.'", i);
      const value = Number(m[0]);
      if (!Number.isFinite(value)) throw new ArithmeticError('number too large', start);
      tokens.push({ kind: 'number', text: m[0], pos: start, value });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i]!)) i++;
      tokens.push({ kind: 'name', text: src.slice(start, i).toLowerCase(), pos: start });
      continue;
    }
    if (c === '*' && src[i + 1] === '*') {
      tokens.push({ kind: 'op', text: '^', pos: start });
      i += 2;
      continue;
    }
    const op = OPERATOR_ALIASES[c] ?? c;
    if ('+-*/%^'.includes(op)) tokens.push({ kind: 'op', text: op, pos: start });
    else if (c === '(' || c === ')' || c === ',') tokens.push({ kind: c, text: c, pos: start });
    else throw new ArithmeticError(`unexpected '${c}'`, i);
    i++;
  }
  tokens.push({ kind: 'end', text: 'end of expression', pos: src.length });
  return tokens;
}

export type Node =
  | { kind: 'num'; value: number; pos: number }
  | { kind: 'const'; name: string; pos: number }
  | { kind: 'unary'; op: '-' | '+'; operand: Node; pos: number }
  | { kind: 'binary'; op: string; left: Node; right: Node; pos: number }
  | { kind: 'call'; name: string; args: Node[]; pos: number };

const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E };

interface FunctionSpec { min: number; max: number; fn: (args: number[], pos: number) => number }

const roundTo = (x: number, digits = 0): number => {
  if (!Number.isInteger(digits) || digits < 0 || digits > 12) throw new RangeError('round: digits must be an integer from 0 to 12');
  const f = 10 ** digits;
  // Math.round rounds -2.5 to -2; round half away from zero is what people expect from a calculator.
  return (Math.sign(x) * Math.round(Math.abs(x) * f)) / f;
};

// Floating point gives sin(pi) = 1.2e-16; a calculator user expects 0.
const snapTrig = (x: number): number => (Math.abs(x) < 1e-12 ? 0 : x);

const FUNCTIONS: Record<string, FunctionSpec> = {
  sqrt: { min: 1, max: 1, fn: ([x], pos) => {
    if (x! < 0) throw new ArithmeticError('square root of a negative number', pos);
    return Math.sqrt(x!);
  } },
  abs: { min: 1, max: 1, fn: ([x]) => Math.abs(x!) },
  round: { min: 1, max: 2, fn: ([x, d], pos) => {
    try { return roundTo(x!, d); } catch (err) { throw new ArithmeticError((err as Error).message, pos); }
  } },
  floor: { min: 1, max: 1, fn: ([x]) => Math.floor(x!) },
  ceil: { min: 1, max: 1, fn: ([x]) => Math.ceil(x!) },
  min: { min: 1, max: Infinity, fn: (xs) => Math.min(...xs) },
  max: { min: 1, max: Infinity, fn: (xs) => Math.max(...xs) },
  // log(x) is base 10, log(x, b) base b; ln is the natural logarithm.
  log: { min: 1, max: 2, fn: ([x, b], pos) => {
    if (x! <= 0) throw new ArithmeticError('logarithm of a non-positive number', pos);
    if (b === undefined) return Math.log10(x!);
    if (b <= 0 || b === 1) throw new ArithmeticError('logarithm base must be positive and not 1', pos);
    return Math.log(x!) / Math.log(b);
  } },
  ln: { min: 1, max: 1, fn: ([x], pos) => {
    if (x! <= 0) throw new ArithmeticError('logarithm of a non-positive number', pos);
    return Math.log(x!);
  } },
  exp: { min: 1, max: 1, fn: ([x]) => Math.exp(x!) },
  sin: { min: 1, max: 1, fn: ([x]) => snapTrig(Math.sin(x!)) },
  cos: { min: 1, max: 1, fn: ([x]) => snapTrig(Math.cos(x!)) },
  tan: { min: 1, max: 1, fn: ([x]) => snapTrig(Math.tan(x!)) },
};

export const FUNCTION_NAMES = Object.keys(FUNCTIONS);
export const CONSTANT_NAMES = Object.keys(CONSTANTS);

const describeToken = (t: Token): string => (t.kind === 'end' ? 'end of expression' : `'${t.text}'`);

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): Node {
    const node = this.expression();
    const t = this.peek();
    if (t.kind !== 'end') throw new ArithmeticError(`unexpected ${describeToken(t)}`, t.pos);
    return node;
  }

  private peek(): Token { return this.tokens[this.i]!; }
  private next(): Token { return this.tokens[this.i++]!; }
  private isOp(...ops: string[]): boolean {
    const t = this.peek();
    return t.kind === 'op' && ops.includes(t.text);
  }

  private expression(): Node {
    let left = this.term();
    while (this.isOp('+', '-')) {
      const op = this.next();
      left = { kind: 'binary', op: op.text, left, right: this.term(), pos: op.pos };
    }
    return left;
  }

  private term(): Node {
    let left = this.unary();
    while (this.isOp('*', '/', '%')) {
      const op = this.next();
      left = { kind: 'binary', op: op.text, left, right: this.unary(), pos: op.pos };
    }
    return left;
  }

  // Unary minus binds looser than ^ so that -2^2 is -4, as in mathematics.
  private unary(): Node {
    if (this.isOp('-', '+')) {
      const op = this.next();
      return { kind: 'unary', op: op.text as '-' | '+', operand: this.unary(), pos: op.pos };
    }
    return this.power();
  }

  // Right-associative: 2^3^2 is 2^9. The exponent may carry its own sign (2^-1).
  private power(): Node {
    const base = this.primary();
    if (!this.isOp('^')) return base;
    const op = this.next();
    return { kind: 'binary', op: '^', left: base, right: this.unary(), pos: op.pos };
  }

  private primary(): Node {
    const t = this.next();
    if (t.kind === 'number') return { kind: 'num', value: t.value!, pos: t.pos };
    if (t.kind === '(') {
      this.enter(t);
      const inner = this.expression();
      this.close(t, "')'");
      this.depth--;
      return inner;
    }
    if (t.kind === 'name') {
      if (this.peek().kind === '(') return this.call(t);
      if (t.text in CONSTANTS) return { kind: 'const', name: t.text, pos: t.pos };
      if (t.text in FUNCTIONS) throw new ArithmeticError(`function '${t.text}' needs parentheses, e.g. ${t.text}(2)`, t.pos);
      throw new ArithmeticError(`unknown name '${t.text}'`, t.pos);
    }
    throw new ArithmeticError(`unexpected ${describeToken(t)}`, t.pos);
  }

  private call(name: Token): Node {
    const spec = FUNCTIONS[name.text];
    if (!spec) throw new ArithmeticError(`unknown function '${name.text}'`, name.pos);
    const open = this.next();
    this.enter(open);
    const args: Node[] = [];
    if (this.peek().kind !== ')') {
      args.push(this.expression());
      while (this.peek().kind === ',') {
        this.next();
        args.push(this.expression());
      }
    }
    this.close(open, "',' or ')'");
    this.depth--;
    if (args.length < spec.min || args.length > spec.max) {
      const want = spec.max === Infinity ? `at least ${spec.min}` : spec.min === spec.max ? `${spec.min}` : `${spec.min} or ${spec.max}`;
      throw new ArithmeticError(`${name.text} expects ${want} argument${spec.max === 1 || (spec.min === 1 && spec.max === Infinity) ? '' : 's'}, got ${args.length}`, name.pos);
    }
    return { kind: 'call', name: name.text, args, pos: name.pos };
  }

  private enter(t: Token): void {
    if (++this.depth > MAX_NESTING_DEPTH) throw new ArithmeticError(`nesting deeper than ${MAX_NESTING_DEPTH} levels`, t.pos);
  }

  private close(open: Token, expected: string): void {
    const t = this.peek();
    if (t.kind === ')') { this.next(); return; }
    if (t.kind === 'end') throw new ArithmeticError("unclosed '('", open.pos);
    throw new ArithmeticError(`expected ${expected} or an operator but found ${describeToken(t)}`, t.pos);
  }
}

export function parse(src: string): Node {
  if (src.length > MAX_EXPRESSION_LENGTH) throw new ArithmeticError(`expression is longer than ${MAX_EXPRESSION_LENGTH} characters (${src.length})`);
  if (src.trim() === '') throw new ArithmeticError('empty expression');
  return new Parser(tokenize(src)).parse();
}

function finite(x: number, pos: number): number {
  if (Number.isNaN(x)) throw new ArithmeticError('result is not a real number', pos);
  if (!Number.isFinite(x)) throw new ArithmeticError('result is not finite (overflow)', pos);
  return x;
}

function binary(op: string, a: number, b: number, pos: number): number {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/':
      if (b === 0) throw new ArithmeticError('division by zero', pos);
      return a / b;
    case '%':
      if (b === 0) throw new ArithmeticError('division by zero (modulo)', pos);
      return a % b;
    case '^':
      if (a === 0 && b < 0) throw new ArithmeticError('division by zero (0 to a negative power)', pos);
      return a ** b;
    default:
      throw new ArithmeticError(`unknown operator '${op}'`, pos);
  }
}

export function evaluateNode(node: Node): number {
  switch (node.kind) {
    case 'num': return node.value;
    case 'const': return CONSTANTS[node.name]!;
    case 'unary': {
      const v = evaluateNode(node.operand);
      return node.op === '-' ? -v : v;
    }
    case 'binary':
      return finite(binary(node.op, evaluateNode(node.left), evaluateNode(node.right), node.pos), node.pos);
    case 'call':
      return finite(FUNCTIONS[node.name]!.fn(node.args.map(evaluateNode), node.pos), node.pos);
  }
}

// Rounds to 12 significant digits so 0.1+0.2 reads 0.3; -0 becomes 0.
export function roundResult(x: number): number {
  const r = Number(x.toPrecision(SIGNIFICANT_DIGITS));
  return r === 0 ? 0 : r;
}

export function formatNumber(x: number): string {
  return String(roundResult(x));
}

export interface Evaluation { value: number; text: string }

export function evaluate(src: string): Evaluation {
  const value = roundResult(evaluateNode(parse(src)));
  return { value, text: formatNumber(value) };
}
