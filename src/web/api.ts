// The page's REST calls and its token: in development mode a demo token from
// /api/dev/token; otherwise one the user pastes (kept for this tab only).
export interface Conversation {
  id: string;
  title: string | null;
  last_seq: number;
  updated_at: string;
}

const TOKEN_KEY = 'chat-backend-token';

export class NeedToken extends Error {}

// The server refused the pasted token (401): the page must ask for another one.
export class TokenRejected extends NeedToken {}

export interface StoredDocument {
  id: string;
  title: string;
  chunk_count: number;
}

export class Api {
  private cached: { token: string; exp: number } | undefined;
  devMode: boolean | undefined;

  // `fresh` asks for a token that outlives the current one (for reauth).
  async token(fresh = false): Promise<string> {
    if (!fresh && this.cached && this.cached.exp - Date.now() > 120_000) return this.cached.token;
    if (this.devMode !== false) {
      const res = await fetch('/api/dev/token', { cache: 'no-store' });
      if (res.ok) {
        const body = (await res.json()) as { token: string; expires_at: string };
        this.devMode = true;
        this.cached = { token: body.token, exp: Date.parse(body.expires_at) };
        return body.token;
      }
      if (res.status >= 500) throw new Error(`the server could not issue a demo token (HTTP ${res.status})`);
      this.devMode = false;
    }
    const pasted = sessionStorage.getItem(TOKEN_KEY);
    if (pasted) return pasted;
    throw new NeedToken('this server is not in development mode: paste a token');
  }

  setToken(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token.trim());
  }

  forgetToken(): void {
    sessionStorage.removeItem(TOKEN_KEY);
    this.cached = undefined;
  }

  async conversations(): Promise<Conversation[]> {
    return ((await this.call('GET', '/api/v1/conversations?limit=50')) as { items: Conversation[] }).items;
  }

  async create(title: string): Promise<Conversation> {
    return (await this.call('POST', '/api/v1/conversations', { title })) as Conversation;
  }

  async addDocument(doc: { title: string; content: string; content_type: 'text/plain' | 'text/markdown' }): Promise<StoredDocument> {
    return (await this.call('POST', '/api/v1/documents', doc)) as StoredDocument;
  }

  async rename(id: string, title: string): Promise<Conversation> {
    return (await this.call('PATCH', `/api/v1/conversations/${id}`, { title })) as Conversation;
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.token()}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const json = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
    if (!res.ok) {
      const message = json.error?.message ?? `HTTP ${res.status}`;
      if (res.status === 401 && this.devMode === false) {
        this.forgetToken();
        throw new TokenRejected(message);
      }
      throw new Error(message);
    }
    return json;
  }
}
