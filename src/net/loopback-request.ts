/**
 * One HTTP request to this process's own emulator (`login --emulator`), through node:http:
 * the emulator's server has loaded it already, where undici would cost a login its load and
 * the compilation of its WebAssembly HTTP parser (~20 ms of CPU, bench/RESULTS.md issue 22).
 * Still a real request on a loopback socket. Every other run, and every test that points the
 * DingTalk client at an emulator as real DingTalk, goes through undici
 * (dingtalk/client.ts); this answers in the same shape, with the same timeout.
 */
import { request } from 'node:http';

/** An answer: status, headers, and the body as chunks (destroy() stops reading). */
export interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Buffer> & { destroy(): void };
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body: string | null;
  /** The whole exchange, answer read included, as `AbortSignal.timeout` (a `TimeoutError`). */
  timeoutMs: number;
}

/** Only `http://127.0.0.1:<port>` (where the emulator binds): nothing else goes this way. */
export function loopbackRequest(url: string, init: HttpRequest): Promise<HttpAnswer> {
  const target = new URL(url);
  if (target.protocol !== 'http:' || target.hostname !== '127.0.0.1')
    return Promise.reject(new Error(`not this process's emulator: ${target.origin}`));
  const signal = AbortSignal.timeout(init.timeoutMs);
  const failure = (error: unknown): Error => {
    // After the timeout, the timeout, whatever node:http calls the torn connection.
    if (signal.aborted) return signal.reason as Error;
    // A connection closed before the whole answer: named as undici names it (the JSON
    // error's `reason` is the same whichever way the request went).
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE')
      return Object.assign(new Error('other side closed', { cause: error }), {
        code: 'UND_ERR_SOCKET',
      });
    return error as Error;
  };
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = request(
      target,
      // No agent: `Connection: close`, so nothing stays open once the login is over.
      { method: init.method, headers: init.headers, agent: false, signal },
      (res) => {
        async function* chunks(): AsyncGenerator<Buffer> {
          try {
            for await (const chunk of res) yield chunk as Buffer;
          } catch (error) {
            throw failure(error);
          }
        }
        resolve({
          statusCode: res.statusCode ?? 0,
          headers: res.headers,
          body: { [Symbol.asyncIterator]: chunks, destroy: () => res.destroy() },
        });
      },
    );
    req.on('error', (error) => reject(failure(error)));
    req.end(init.body ?? undefined);
  });
}
