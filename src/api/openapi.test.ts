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

  it('says what the server accepts: an omittable body, the cursor format, limits before trimming, links', () => {
    const post = doc.paths['/api/v1/conversations']!.post! as unknown as {
      requestBody: { required: boolean; content: { 'application/json': { schema: { properties: { title: { maxLength: number; pattern: string } } } } } };
      responses: { 201: { links: Record<string, { operationId: string; parameters: Record<string, string> }> } };
    };
    expect(post.requestBody.required).toBe(false); // every field optional: no body is {}
    expect(post.requestBody.content['application/json'].schema.properties.title).toMatchObject({ maxLength: 200, pattern: '^[^\\u0000]*$' });
    expect(post.responses[201].links.get).toEqual({ operationId: 'getApiV1ConversationsId', parameters: { id: '$response.body#/id' } });
    const list = doc.paths['/api/v1/conversations']!.get!.parameters as unknown as { name: string; schema: { pattern?: string } }[];
    expect(list.find((p) => p.name === 'cursor')!.schema.pattern).toMatch(/^\^\[0-9\]\{1,17\}_/);
  });
});
