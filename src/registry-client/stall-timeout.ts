/** A fetch that gives up on a registry that stops answering: no response headers within
 *  `stallMs`, or no body bytes for `stallMs` while reading. A total deadline would cut off a large
 *  blob that is still arriving; a stall timeout only ends transfers that have stopped. The error is
 *  a `TimeoutError` naming the wait, so callers report it like any unreachable registry. */
export function withStallTimeout(base: typeof fetch, stallMs: number): typeof fetch {
  return async (input, init) => {
    const controller = new AbortController();
    const stalled = () => controller.abort(new DOMException(`no data from the registry for ${stallMs} ms`, 'TimeoutError'));
    let timer = setTimeout(stalled, stallMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal;
    let response: Response;
    try {
      response = await base(input, { ...init, signal });
    } catch (error) {
      clearTimeout(timer);
      throw controller.signal.aborted ? controller.signal.reason : error;
    }
    clearTimeout(timer);
    if (!response.body) return response;
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(stream) {
        timer = setTimeout(stalled, stallMs);
        try {
          const { done, value } = await reader.read();
          if (done) stream.close();
          else stream.enqueue(value);
        } catch (error) {
          stream.error(controller.signal.aborted ? controller.signal.reason : error);
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        clearTimeout(timer);
        return reader.cancel(reason);
      },
    });
    const wrapped = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    // Callers resolve Location headers against the URL the answer came from.
    Object.defineProperty(wrapped, 'url', { value: response.url });
    return wrapped;
  };
}
