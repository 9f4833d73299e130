import { describe, expect, it } from 'vitest';
import { originAllowed } from './ws.js';

describe('originAllowed', () => {
  it('with ALLOWED_ORIGINS, matches exactly', () => {
    const list = ['https://app.example.com'];
    expect(originAllowed('https://app.example.com', 'api.example.com', list)).toBe(true);
    expect(originAllowed('https://app.example.com:8443', 'api.example.com', list)).toBe(false);
    expect(originAllowed('http://app.example.com', 'api.example.com', list)).toBe(false);
    expect(originAllowed('http://localhost:3000', 'api.example.com', list)).toBe(false);
  });

  it('without it, allows only the same host and localhost', () => {
    expect(originAllowed('https://chat.example.com', 'chat.example.com', undefined)).toBe(true);
    expect(originAllowed('http://localhost:5173', 'chat.example.com', undefined)).toBe(true);
    expect(originAllowed('http://127.0.0.1:8000', 'chat.example.com', undefined)).toBe(true);
    expect(originAllowed('https://evil.example', 'chat.example.com', undefined)).toBe(false);
    expect(originAllowed('null', 'chat.example.com', undefined)).toBe(false);
  });

  it('in development mode, trusts "the same host" only when that host is loopback (DNS rebinding)', () => {
    expect(originAllowed('http://evil.example:8000', 'evil.example:8000', undefined, true)).toBe(false);
    expect(originAllowed('http://evil.example:8000', 'evil.example:8000', undefined, false)).toBe(true);
    expect(originAllowed('http://localhost:8000', 'localhost:8000', undefined, true)).toBe(true);
    expect(originAllowed('http://127.0.0.1:8000', 'evil.example:8000', undefined, true)).toBe(true);
    expect(originAllowed('http://[::1]:8000', '[::1]:8000', undefined, true)).toBe(true);
  });

  it('does not apply to clients that send no Origin (not browsers)', () => {
    expect(originAllowed('', 'chat.example.com', ['https://app.example.com'])).toBe(true);
  });
});
