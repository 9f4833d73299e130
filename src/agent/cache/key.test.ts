import { describe, expect, it } from 'vitest';
import { cacheKey, normaliseRequest } from './key.js';

const body = { model: 'm', messages: [{ role: 'user', content: ' hi ' }], stream: true, temperature: 0 };

describe('cache key', () => {
  it('ignores key order, transport options and surrounding whitespace', () => {
    const a = cacheKey(normaliseRequest('openai', body, 'http://llm.local/v1'));
    const b = cacheKey(normaliseRequest('openai', { temperature: 0, messages: [{ content: 'hi', role: 'user' }], model: 'm' }, 'http://llm.local/v1/'));
    expect(a).toBe(b);
  });

  it('separates endpoints serving a model of the same name, without keeping credentials', () => {
    const local = normaliseRequest('openai', body, 'http://user:secret@vllm.local:8000/v1');
    const remote = normaliseRequest('openai', body, 'https://api.openai.com/v1');
    expect(cacheKey(local)).not.toBe(cacheKey(remote));
    expect(JSON.stringify(local)).not.toContain('secret');
    expect(local.endpoint).toBe('http://vllm.local:8000/v1');
  });

  it('separates models: another model gives another key', () => {
    const key = (model: string, provider = 'openai') => cacheKey(normaliseRequest(provider, { ...body, model }, 'http://llm.local/v1'));
    expect(key('gpt-4o-mini')).not.toBe(key('gpt-4o'));
    expect(key('m')).toBe(key('m'));
    expect(key('m', 'openai')).not.toBe(key('m', 'anthropic'));
  });

  it('separates requests whose parameters differ', () => {
    expect(cacheKey(normaliseRequest('openai', body))).not.toBe(cacheKey(normaliseRequest('openai', { ...body, temperature: 1 })));
  });
});
