// The demo chat page: conversations on the left, the selected one on the right, all of
// it live through the client SDK (reconnect, resume and outbox included).
import { ChatClient, type ClientError } from '../client/index.js';
import { Api, NeedToken, TokenRejected, type Conversation } from './api.js';
import { ConnectionView } from './connection-view.js';
import { byId, h } from './dom.js';
import { mountDocumentDialog } from './documents-view.js';
import { MessagesView } from './messages-view.js';

const DEFAULT_TITLE = 'New chat';
const ERROR_WORDS: Record<string, string> = {
  rate_limited: 'You are sending too fast; the message will be retried in a moment.',
  unauthorized: 'The server did not accept the token.',
  invalid_request: 'The server rejected a request',
  internal: 'The server had a problem; the message will be retried.',
  connect_failed: 'Could not reach the server',
};

const api = new Api();
let client: ChatClient | undefined;
let current: Conversation | undefined;
let conversations: Conversation[] = [];
const view = new MessagesView(byId('log'), (runId) => client?.cancel(runId), (approvalId, ok) => (ok ? client?.approve(approvalId) : client?.deny(approvalId)));
const conn = new ConnectionView(byId('conn'), byId('conn-detail'), () => client?.reconnectNow());
const input = byId<HTMLTextAreaElement>('input');
const typists = new Map<string, ReturnType<typeof setTimeout>>();
let bannerTimer: ReturnType<typeof setTimeout> | undefined;

function banner(text: string): void {
  const el = byId('banner');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(bannerTimer);
  bannerTimer = setTimeout(() => { el.hidden = true; }, 10_000);
}

function errorWords(e: ClientError | Error): string {
  if (e instanceof Error) return e.message;
  const words = ERROR_WORDS[e.code];
  return words ? `${words}${words.endsWith('.') ? '' : `: ${e.message}`}` : `${e.message} (${e.code})`;
}

function renderList(): void {
  const list = byId('conversations');
  list.replaceChildren(...conversations.map((c) => {
    const b = h('button', { type: 'button', class: c.id === current?.id ? 'conv active' : 'conv', 'data-id': c.id }, c.title ?? DEFAULT_TITLE);
    b.addEventListener('click', () => void select(c));
    return h('li', {}, b);
  }));
}

async function refreshList(): Promise<void> {
  conversations = await api.conversations();
  renderList();
}

function renderTypists(): void {
  byId('typing').hidden = typists.size === 0;
}

async function select(c: Conversation): Promise<void> {
  client?.close();
  current = c;
  document.body.classList.remove('nav-open');
  history.replaceState(null, '', `#${c.id}`);
  byId('title').textContent = c.title ?? DEFAULT_TITLE;
  renderList();
  view.clear();
  byId('empty').hidden = true;
  typists.clear();
  renderTypists();
  const cl = new ChatClient(c.id, {
    url: location.origin,
    getToken: (why) => api.token(why === 'refresh'),
    // a page stays open for hours: keep trying, at most every 10 s
    reconnect: { retries: Infinity, baseDelayMs: 500, maxDelayMs: 10_000 },
  });
  client = cl;
  cl.on('message', (m) => {
    view.render(m);
    byId('empty').hidden = true;
  });
  cl.on('ready', () => { byId('empty').hidden = view.size > 0; });
  cl.on('state', (s) => {
    conn.show(s);
    if (s.status === 'closed' && s.reason === 'unauthorized' && api.devMode === false) {
      api.forgetToken();
      askToken('The token was rejected or has expired: paste a new one.');
    }
  });
  cl.on('error', (e) => banner(errorWords(e)));
  cl.on('resync', (r) => banner(`Reloading the conversation over the API (${r.reason}).`));
  cl.on('presence', (sessions) => {
    const users = new Set(sessions.map((s) => s.user_id));
    const p = byId('presence');
    p.textContent = sessions.length > 1 ? `${sessions.length} open here` : '';
    p.title = [...users].join(', ');
  });
  cl.on('typing', (t) => {
    clearTimeout(typists.get(t.sessionId));
    if (t.state === 'start') typists.set(t.sessionId, setTimeout(() => { typists.delete(t.sessionId); renderTypists(); }, 6000));
    else typists.delete(t.sessionId);
    renderTypists();
  });
  conn.show(cl.state);
  cl.connect().catch((err: unknown) => banner(errorWords(err as Error)));
  input.focus();
}

async function newChat(): Promise<void> {
  const c = await api.create(DEFAULT_TITLE);
  conversations.unshift(c);
  await select(c);
}

let typingActive = false;
let typingTimer: ReturnType<typeof setTimeout> | undefined;
function typing(active: boolean): void {
  clearTimeout(typingTimer);
  if (active) typingTimer = setTimeout(() => typing(false), 2500);
  if (active === typingActive) return;
  typingActive = active;
  client?.typing(active);
}

async function send(): Promise<void> {
  const text = input.value.trim();
  if (!client || !current || text === '') return;
  input.value = '';
  typing(false);
  const c = current;
  const sent = client.send(text);
  if (c.title === null || c.title === DEFAULT_TITLE) {
    c.title = text.length > 60 ? `${text.slice(0, 57)}…` : text;
    byId('title').textContent = c.title;
    renderList();
    api.rename(c.id, c.title).catch((err: unknown) => banner(`Renaming the conversation failed: ${(err as Error).message}`));
  }
  await sent;
}

function askToken(why: string): void {
  const dialog = byId('token-dialog');
  byId('token-why').textContent = why;
  byId('mode').textContent = 'Not signed in';
  const c = byId('conn');
  c.dataset.state = 'closed';
  c.textContent = 'Signed out';
  client?.close();
  client = undefined;
  dialog.hidden = false;
  byId<HTMLTextAreaElement>('token-input').focus();
}

// Every failure path goes through here: a rejected token reopens the sign-in dialog
// with the server's reason instead of leaving the page half signed in.
function failed(what: string, err: unknown): void {
  if (err instanceof TokenRejected) return askToken(`The server rejected the token (${err.message}): paste a new one.`);
  if (err instanceof NeedToken) return askToken('This server runs in production mode: paste a JWT for your user to try the chat.');
  banner(`${what}: ${(err as Error).message}`);
}

async function start(): Promise<void> {
  await api.token();
  await refreshList(); // the first call that shows whether the server accepts the token
  byId('mode').textContent = api.devMode ? 'Development mode · signed in as "demo"' : 'Signed in with your token';
  const wanted = conversations.find((c) => c.id === location.hash.slice(1)) ?? conversations[0];
  if (wanted) await select(wanted);
  else await newChat();
}

byId('composer').addEventListener('submit', (ev) => {
  ev.preventDefault();
  send().catch((err: unknown) => banner(`Not sent: ${(err as Error).message}`));
});
input.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    byId<HTMLFormElement>('composer').requestSubmit();
  }
});
input.addEventListener('input', () => typing(input.value.trim() !== ''));
byId('new').addEventListener('click', () => void newChat().catch((err: unknown) => failed('Could not create a conversation', err)));
byId('menu').addEventListener('click', () => document.body.classList.toggle('nav-open'));
byId('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  api.setToken(byId<HTMLTextAreaElement>('token-input').value);
  byId('token-dialog').hidden = true;
  start().catch((err: unknown) => failed('Could not start', err));
});
mountDocumentDialog(api, (d) => banner(`Stored “${d.title}” (${d.chunk_count} passages). Ask “search my notes for …” to use it.`), (err) => {
  if (err instanceof NeedToken) failed('Not stored', err);
});
start().catch((err: unknown) => failed('Could not start', err));
