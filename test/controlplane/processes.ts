/**
 * The stack's processes: each writes stdout and stderr to `<dir>/<name>.log`, can be waited on
 * with a probe that fails early (with the log's tail) when the process dies, and is stopped with
 * terminate() from controlplane.ts.
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';

export interface Process {
  name: string;
  pid: number;
  log: string;
  /** The exit code or signal once it has exited, else undefined. */
  exited(): string | undefined;
}

export interface LaunchOptions {
  env?: NodeJS.ProcessEnv;
  /** Keep running when this Node process exits (cluster:up). */
  detached?: boolean;
  /** Every process launched is added here at once, so that a failed start can still stop it. */
  started?: Process[];
}

export function launch(
  dir: string,
  name: string,
  command: string,
  args: string[],
  options: LaunchOptions = {},
): Process {
  const log = join(dir, `${name}.log`);
  const out = openSync(log, 'a');
  const child = spawn(command, args, {
    stdio: ['ignore', out, out],
    env: options.env ?? process.env,
    detached: options.detached ?? false,
  });
  if (options.detached) child.unref();
  let exit: string | undefined;
  child.on('exit', (code, signal) => (exit = signal ?? `exit code ${code}`));
  child.on('error', (error) => (exit = error.message));
  if (child.pid === undefined) throw new Error(`cannot start ${name} (${command})`);
  const launched: Process = { name, pid: child.pid, log, exited: () => exit };
  options.started?.push(launched);
  return launched;
}

export async function logTail(of: Process, lines = 20): Promise<string> {
  const text = await readFile(of.log, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Polls until `probe` returns a value other than undefined or false. Fails after the timeout, or
 * as soon as one of the watched processes exits, quoting its log.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  options: { timeoutMs?: number; intervalMs?: number; watch?: Process[] } = {},
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    for (const watched of options.watch ?? []) {
      const exit = watched.exited();
      if (exit) {
        throw new Error(
          `${watched.name} exited (${exit}) while waiting for ${what}; ${watched.log}:\n${await logTail(watched)}`,
        );
      }
    }
    if (Date.now() - started > (options.timeoutMs ?? 60_000)) {
      const logs = await Promise.all(
        (options.watch ?? []).map(async (p) => `--- ${p.log}\n${await logTail(p, 10)}`),
      );
      throw new Error(`timed out waiting for ${what}\n${logs.join('\n')}`);
    }
    await new Promise((done) => setTimeout(done, options.intervalMs ?? 200));
  }
}

/** True when GET `url` answers 200; HTTPS certificates are not checked (a health probe). */
export function answers200(url: string): Promise<boolean> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((done) => {
    const req = request(url, { timeout: 2_000, rejectUnauthorized: false }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on('error', () => done(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function listening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}
