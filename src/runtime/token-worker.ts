/**
 * A worker thread of `verify-token --each` (commands/verify-token.ts, verifyEach; runtime/token-pool.ts): verifies the batches
 * of lines the main thread sends, answering each with its JSON lines, with its own read-only
 * store when there is a local database. Built as one file (scripts/build.mjs, BUNDLES).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { verifyBatch } from '../commands/verify-token-each.js';
import { useNativeHmac } from '../muvee/go-jwt.js';
import { userLookup } from '../store/lookup.js';
import type { Batch, WorkerData } from './token-pool.js';

const { settings, config } = workerData as WorkerData;
const port = parentPort!;
useNativeHmac();
const lookup = userLookup(config.dbFile);

port.on('message', (message: { id: number; batch: Batch } | { close: true }) => {
  void lookup.then(async (found) => {
    if ('close' in message) {
      await found?.close();
      port.close();
      return;
    }
    port.postMessage({
      id: message.id,
      verdicts: await verifyBatch(message.batch, settings, found),
    });
  });
});
