/**
 * `verify-token --each` on worker threads: a long input is verified in batches on the main
 * thread and on these workers (one per core beyond the first, at most 3), answers written in
 * input order by the command (commands/verify-token.ts). Built only: a worker cannot load a
 * `.ts` file under tsx on Node 20, so the sources verify on the main thread alone.
 */
import type { Worker } from 'node:worker_threads';
import type { Config } from '../config/config.js';

/**
 * `--each` verifies lines in batches of this many, on the main thread or a worker thread. Small:
 * what a batch holds (its lines, its growing output) outlives V8's young-generation collections
 * while it is verified, and on Node 24 a batch of 1,000 made V8 grow its young generation to
 * 128 MiB (RSS 385 MiB over 1M tokens); at 100 it stays at 32 MiB, as on Node 20 (issue 19).
 */
export const BATCH_LINES = 100;
/**
 * Worker threads start once the input is this long: an input of up to 10,000 tokens never
 * waits for one to start (~20 ms each, issue 19).
 */
export const WORKERS_AFTER_LINES = 10_000;
/** The young generation of a worker thread, at most (V8's default on Node 20: 48 MiB). */
const YOUNG_GENERATION_MB = 24;
/** The main thread's young generation stops growing at this size (Node 20's own cap). */
const MAIN_YOUNG_BYTES = 32 * 1024 * 1024;
let youngCapped = false;

/**
 * A long `--each` run keeps some of every batch alive across V8's young-generation collections,
 * and V8 grows the young generation with what survives: Node 24's V8 up to 128 MiB (RSS 385 MiB
 * over 1M tokens), Node 20's up to 32 MiB. Once the main thread's reaches 32 MiB, V8 is told
 * to grow it no further (a flag V8 reads at each resize; a no-op where it is not).
 */
export async function capYoungGeneration(): Promise<void> {
  if (youngCapped) return;
  const v8 = await import('node:v8');
  const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  if (young && young.space_size >= MAIN_YOUNG_BYTES) {
    v8.setFlagsFromString('--semi-space-growth-factor=1');
    youngCapped = true;
  }
}
/** Batches handed to one worker and not yet answered, at most. */
const PER_WORKER = 8;
/**
 * Answered or pending batches the main thread may run ahead of the oldest unanswered one: 12,800
 * answers waiting at most (~4 MB for tokens of a usual size; a verdict echoes its claims, so
 * more for tokens of large claims). Well above what the workers hold: with 20 against 16 per
 * worker, the main thread, having filled a worker, could verify only 4 batches of its own
 * before waiting for it, idle 40% of a run (cpu profile; 100,000 tokens on 2 cores, Node 20:
 * 2.1 s, now 1.55 s).
 */
export const AHEAD_BATCHES = 128;

/** Lines of `--each` input; `first` is the line number of the first one. */ export interface Batch {
  first: number;
  lines: string[];
}

/** The JSON lines of a batch (empty lines give none), and how many tokens and valid ones. */
export interface BatchVerdicts {
  text: string;
  count: number;
  valid: number;
  /** Tokens whose user could not be looked up (issue 20 M6), and the first reason why. */
  unlooked: number;
  dbProblem?: string;
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
  static async start(file: string, data: WorkerData, size: number): Promise<WorkerPool> {
    const { Worker } = await import('node:worker_threads');
    return new WorkerPool(
      // stdout/stderr: the workers print nothing; piping them to the process's own would
      // create process.stdout, whose pipe is then non-blocking (runtime/fd.ts writes to fd 1).
      Array.from(
        { length: size },
        () =>
          new Worker(file, {
            workerData: data,
            stdout: true,
            stderr: true,
            // A worker's garbage is short-lived: without a cap, Node 24's V8 grew each worker's
            // young generation to 128 MiB over a long input (issue 19: flat memory).
            resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
          }),
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
