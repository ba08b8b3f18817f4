/**
 * Runs a measured child: `node --import tsx bench/child.ts '<job as JSON>'`, a fresh process
 * per configuration so that its peak RSS is its own. Messages come back over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildJob, ChildMessage, ParentMessage, PollMark } from './protocol.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

export interface ChildOptions {
  /** Extra environment of the child (NODE_EXTRA_CA_CERTS is read only at process start). */
  readonly env?: Readonly<Record<string, string>>;
  /** Kills the child when it runs longer. @default 10 min */
  readonly timeoutMs?: number;
  /**
   * Called as each poll mark arrives (not queued as a message). A promise it returns is
   * awaited before the child is told `go` (jobs with `waitForGo`).
   */
  readonly onMark?: (mark: PollMark) => void | Promise<void>;
  /** Answer each poll mark with `go` once `onMark` settled. @default false */
  readonly goAfterMark?: boolean;
}

/** A running child: its messages in order, and a way to send it one. */
export class Child {
  readonly #process: ChildProcess;
  readonly #queue: ChildMessage[] = [];
  readonly #waiting: ((message: ChildMessage) => void)[] = [];
  readonly #exited: Promise<number | null>;
  #failure: Error | null = null;
  readonly #timer: NodeJS.Timeout;

  constructor(job: ChildJob, options: ChildOptions = {}) {
    this.#process = fork(CHILD, [JSON.stringify(job)], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#process.on('message', (raw) => {
      const message = raw as ChildMessage;
      if (message.kind !== 'poll-mark') {
        this.#deliver(message);
        return;
      }
      const marked = options.onMark?.(message);
      if (options.goAfterMark === true) {
        const go = () => this.send({ kind: 'go' });
        Promise.resolve(marked).then(go, go);
      }
    });
    this.#exited = new Promise((resolve) => {
      this.#process.once('close', (code, signal) => {
        clearTimeout(this.#timer);
        if (code !== 0) {
          this.#fail(new Error(`bench child (${job.kind}) exited with ${code ?? signal}`));
        }
        resolve(code);
      });
    });
    this.#timer = setTimeout(() => {
      this.#fail(new Error(`bench child (${job.kind}) timed out`));
      this.#process.kill('SIGKILL');
    }, options.timeoutMs ?? 600_000);
  }

  /** The next message; rejects when the child failed or exited first. */
  next(): Promise<ChildMessage> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting.push(resolve);
      const exited = () => {
        if (this.#failure !== null) reject(this.#failure);
        else reject(new Error('bench child exited without answering'));
      };
      this.#exited.then(exited, exited);
    });
  }

  /** The next message, which must be of `kind`. */
  async expect<K extends ChildMessage['kind']>(
    kind: K,
  ): Promise<Extract<ChildMessage, { kind: K }>> {
    const message = await this.next();
    if (message.kind === 'error') throw new Error(`bench child failed: ${message.message}`);
    if (message.kind !== kind) throw new Error(`expected ${kind} from child, got ${message.kind}`);
    return message as Extract<ChildMessage, { kind: K }>;
  }

  send(message: ParentMessage): void {
    this.#process.send(message);
  }

  /** Ends the child at once (after a failure). */
  kill(): void {
    this.#process.kill('SIGKILL');
  }

  async exit(): Promise<void> {
    await this.#exited;
    if (this.#failure !== null) throw this.#failure;
  }

  #deliver(message: ChildMessage): void {
    const waiter = this.#waiting.shift();
    if (waiter === undefined) this.#queue.push(message);
    else waiter(message);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
  }
}

/** Runs a child that answers once, and waits for it to exit. */
export async function runChild<K extends ChildMessage['kind']>(
  job: ChildJob,
  kind: K,
  options?: ChildOptions,
): Promise<Extract<ChildMessage, { kind: K }>> {
  const child = new Child(job, options);
  const result = await child.expect(kind);
  await child.exit();
  return result;
}
