// A stock useChat page (what a frontend team writes with AI SDK): the default transport
// pointed at /api/v1/chat with a Bearer token; the conversation id is the chat id. Token
// and conversation come from the URL hash, as a real app would have them from its login.
import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport } from 'ai';
import { createElement as h, useState } from 'react';
import { createRoot } from 'react-dom/client';

const params = new URLSearchParams(location.hash.slice(1));
const transport = new DefaultChatTransport({ api: '/api/v1/chat', headers: { authorization: `Bearer ${params.get('token') ?? ''}` } });

function App() {
  const { messages, sendMessage, status, error } = useChat({ id: params.get('conv') ?? undefined, transport });
  const [input, setInput] = useState('');
  return h('main', null,
    h('ul', { id: 'messages' }, messages.map((m) => h('li', { key: m.id, className: `msg ${m.role}` },
      m.parts.map((p, i) => {
        if (p.type === 'text') return h('span', { key: i, className: 'text' }, p.text);
        if (p.type === 'dynamic-tool') return h('span', { key: i, className: 'tool', 'data-state': p.state }, p.toolName);
        return null;
      })))),
    h('p', { id: 'status', 'data-status': status }, status),
    error ? h('p', { id: 'error' }, error.message) : null,
    h('form', { onSubmit: (e: { preventDefault(): void }) => { e.preventDefault(); void sendMessage({ text: input }); setInput(''); } },
      h('input', { id: 'input', value: input, onChange: (e: { target: { value: string } }) => setInput(e.target.value) }),
      h('button', { id: 'send', type: 'submit' }, 'Send')));
}

createRoot(document.getElementById('root')!).render(h(App));
