/**
 * `verify-token --each` on worker threads: a long input is verified in batches on the main
 * thread and on these workers (one per core beyond the first, at most 3), answers written in
 * input order by the command (commands/verify-token.ts). Built only: a worker cannot load a
 * `.ts` file under tsx on Node 20, so the sources verify on the main thread alone.
 */
import type { Worker } from 'node:worker_threads';
import type { Config } from '../config/config.js';

/** `--each` verifies lines in batches of this many, on the main thread or a worker thread. */
export const BATCH_LINES = 1000;
/** Worker threads start once the input is this long: starting one costs ~20 ms. */
export const WORKERS_AFTER_LINES = 2 * BATCH_LINES;
/** Batches handed to one worker and not yet answered, at most. */
const PER_WORKER = 4;

/** Lines of `--each` input; `first` is the line number of the first one. */ export interface Batch {
  first: number;
  lines: string[];
}

/** The JSON lines of a batch (empty lines give none), and how many tokens and valid ones. */
export interface BatchVerdicts {
  text: string;
  count: number;
  valid: number;
}

/** What `--each` needs to verify a line, on the main thread or in a worker (token-worker.ts). */
export interface EachSettings {
  secret: string;
  leewaySeconds: number;
}

/** What a worker thread of `--each` starts with (runtime/token-worker.ts). */
export interface WorkerData {
  settings: EachSettings;
  config: Config;
}

type Job = { resolve: (verdicts: BatchVerdicts) => void; reject: (error: unknown) => void };

/** Worker threads of `--each`, each verifying at most PER_WORKER batches at a time. */
export class WorkerPool {
  static async start(file: URL, data: WorkerData, size: number): Promise<WorkerPool> {
    const { Worker } = await import('node:worker_threads');
    return new WorkerPool(
      // stdout/stderr: the workers print nothing; piping them to the process's own would
      // create process.stdout, whose pipe is then non-blocking (runtime/fd.ts writes to fd 1).
      Array.from(
        { length: size },
        () => new Worker(file, { workerData: data, stdout: true, stderr: true }),
      ),
    );
  }

  private readonly jobs = new Map<Worker, Map<number, Job>>();
  private readonly exited: Promise<unknown>[] = [];
  private failed = false;
  private nextId = 0;

  private constructor(private readonly workers: Worker[]) {
    for (const worker of workers) {
      const jobs = new Map<number, Job>();
      this.jobs.set(worker, jobs);
      const fail = (error: unknown) => {
        this.failed = true;
        for (const job of jobs.values()) job.reject(error);
        jobs.clear();
      };
      worker.on('message', ({ id, verdicts }: { id: number; verdicts: BatchVerdicts }) => {
        jobs.get(id)?.resolve(verdicts);
        jobs.delete(id);
      });
      worker.on('error', fail);
      this.exited.push(
        new Promise((resolve) =>
          worker.once('exit', (code) => {
            if (jobs.size > 0) fail(new Error(`a verify-token worker thread exited (${code})`));
            resolve(code);
          }),
        ),
      );
    }
  }

  /** The least busy worker, when one has room for another batch. */
  private idlest(): Worker | undefined {
    if (this.failed) return undefined;
    const [worker] = [...this.jobs].sort(([, a], [, b]) => a.size - b.size)[0] ?? [];
    return worker && this.jobs.get(worker)!.size < PER_WORKER ? worker : undefined;
  }

  free(): boolean {
    return this.idlest() !== undefined;
  }

  verify(batch: Batch): Promise<BatchVerdicts> {
    const worker = this.idlest()!;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.jobs.get(worker)!.set(id, { resolve, reject });
      worker.postMessage({ id, batch });
    });
  }

  /** Asks each worker to close its store and end, and waits for them. */
  async close(): Promise<void> {
    for (const worker of this.workers) worker.postMessage({ close: true });
    await Promise.all(this.exited);
  }
}
