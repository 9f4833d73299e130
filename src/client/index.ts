// chat-backend/client: the browser and Node client for WebSocket protocol v1.
//
//   const chat = await connect(conversationId, { url: 'https://chat.example.com', getToken });
//   chat.on('delta', (d) => render(d.messageId, d.text));
//   await chat.send('What is 12*7?');
import { ChatClient } from './client.js';
import type { ClientOptions } from './types.js';

export { ChatClient, MAX_MESSAGE_CHARS } from './client.js';
export { ChatClientError, describeClose } from './errors.js';
export { backoffDelay, DEFAULT_RECONNECT, type ReconnectOptions } from './backoff.js';
export type { SocketFactory, SocketLike } from './socket.js';
export type * from './types.js';

// Opens the conversation: the first frame is auth, and the promise resolves once the
// server answered ready (after retries, if the first attempts fail). Listeners passed in
// options.on see every replayed message.
export async function connect(conversationId: string, options: ClientOptions): Promise<ChatClient> {
  const client = new ChatClient(conversationId, options);
  await client.connect();
  return client;
}
