// The "Add document" dialog: a text or markdown file, or pasted text, stored through
// POST /api/v1/documents so the agent's document search ("search my notes for …") finds it.
import type { Api, StoredDocument } from './api.js';
import { byId } from './dom.js';

const MARKDOWN = /\.(?:md|markdown)$/i;

export function mountDocumentDialog(api: Api, done: (d: StoredDocument) => void, failed: (err: unknown) => void): void {
  const dialog = byId('doc-dialog');
  const form = byId<HTMLFormElement>('doc-form');
  const file = byId<HTMLInputElement>('doc-file');
  const title = byId<HTMLInputElement>('doc-title');
  const text = byId<HTMLTextAreaElement>('doc-text');
  const error = byId('doc-error');
  const close = () => {
    dialog.hidden = true;
    form.reset();
    error.hidden = true;
  };
  byId('add-doc').addEventListener('click', () => {
    dialog.hidden = false;
    title.focus();
  });
  byId('doc-cancel').addEventListener('click', close);
  // A chosen file fills the text box, so what is stored can be seen (and edited) first.
  file.addEventListener('change', () => {
    const f = file.files?.[0];
    if (!f) return;
    if (title.value.trim() === '') title.value = f.name;
    f.text().then((t) => { text.value = t; }, (err: unknown) => show(`Could not read ${f.name}: ${(err as Error).message}`));
  });
  const show = (message: string) => {
    error.textContent = message;
    error.hidden = false;
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = title.value.trim() || file.files?.[0]?.name || 'Notes';
    const markdown = MARKDOWN.test(file.files?.[0]?.name ?? '') || MARKDOWN.test(name);
    if (text.value.trim() === '') return show('The document is empty: choose a file or paste some text.');
    api.addDocument({ title: name, content: text.value, content_type: markdown ? 'text/markdown' : 'text/plain' })
      .then((d) => { close(); done(d); })
      .catch((err: unknown) => {
        // The dialog stays open with the text, so nothing typed is lost.
        show(`Not stored: ${(err as Error).message}`);
        failed(err);
      });
  });
}
