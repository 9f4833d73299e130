import { describe, expect, it } from 'vitest';
import { conversationRoutes } from './conversation-routes.js';
import { openApiDocument } from './openapi.js';
import type { ConversationService } from '../core/conversations.js';

describe('openApiDocument', () => {
  const doc = openApiDocument(conversationRoutes({} as ConversationService), '1.2.3') as {
    openapi: string;
    paths: Record<string, Record<string, { parameters: { name: string; in: string; required: boolean }[]; requestBody?: unknown; responses: Record<string, unknown> }>>;
  };

  it('documents every route with its parameters, body and responses', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(['/api/v1/conversations', '/api/v1/conversations/{id}', '/api/v1/conversations/{id}/messages']);
    const msgs = doc.paths['/api/v1/conversations/{id}/messages']!.get!;
    expect(msgs.parameters.map((p) => `${p.in}:${p.name}:${p.required}`)).toEqual(['path:id:true', 'query:after_seq:false', 'query:limit:false']);
    expect(doc.paths['/api/v1/conversations']!.post!.requestBody).toBeDefined();
    expect(Object.keys(doc.paths['/api/v1/conversations/{id}']!.delete!.responses)).toEqual(['204', '400', '401', '404']);
  });
});
