import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError, closeFor, ERRORS, httpError, invalid } from './errors.js';

describe('error catalog', () => {
  it('gives every code a unique number, an HTTP status and a close code', () => {
    const nums = Object.values(ERRORS).map((e) => e.num);
    expect(new Set(nums).size).toBe(nums.length);
    for (const e of Object.values(ERRORS)) {
      expect(e.status).toBeGreaterThanOrEqual(400);
      expect([1001, 1009, 1011, 1013].includes(e.close) || (e.close >= 4000 && e.close < 5000)).toBe(true);
    }
  });

  it('maps unknown errors to a bare 500 without their message', () => {
    const r = httpError(new Error('password authentication failed for user "admin" at 10.0.0.5'));
    expect(r).toEqual({ status: 500, headers: {}, body: { error: { code: 'internal', message: 'internal server error' } } });
  });

  it('maps catalog errors to their status and close code', () => {
    expect(httpError(new AppError('conversation_not_found')).status).toBe(404);
    expect(closeFor(new AppError('conversation_not_found'))).toEqual({ code: 4404, reason: 'conversation not found' });
    expect(closeFor(new AppError('unauthorized', 'é'.repeat(100))).reason.length).toBeLessThanOrEqual(123);
  });

  it('names each invalid field', () => {
    const res = z.strictObject({ a: z.number(), b: z.object({ c: z.string() }) }).safeParse({ a: 'x', b: { c: 1 } });
    const e = invalid('body', res.error!.issues);
    expect(e.issues!.map((i) => i.path)).toEqual(['body.a', 'body.b.c']);
    expect(e.message).toMatch(/^invalid body: body\.a: .*; body\.b\.c: /);
  });
});
