// An async iterator that can also hand its items over the moment they exist. While its reader
// waits in next() with nothing queued, each new item is first offered to `sink`; an item the
// sink takes (returns true for) is not handed out by next(). A streamed answer is one item per
// token, and every await on next() is a promise and a resumption on both sides: an item the
// sink takes costs neither. The sink is called from an I/O callback, not from the reader's
// own code, so it must not throw; one that does ends the iteration with its error.
export interface Pushing<T> extends AsyncIterableIterator<T> {
  sink: ((item: T) => boolean) | undefined;
}

export function isPushing<T>(it: AsyncIterable<T> | AsyncIterator<T> | Iterable<T>): it is Pushing<T> {
  return 'sink' in it;
}
