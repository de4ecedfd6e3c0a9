/**
 * A real Node-RED, started by its binary (node_modules/node-red/red.js) on a user dir that holds
 * this package (a symlink of the repository into its node_modules, so the built nodes/*.js load),
 * a flows file and plain credentials. For promises that span processes: restarts, crashes.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { waitFor } from './wait';

const ROOT = path.join(__dirname, '..', '..');
const PACKAGE = ['@rest-session', 'node-red-rest-session'];

export interface UserDirContents {
    /** Extra settings.js entries (JSON values). */
    settings?: Record<string, unknown>;
    flows: unknown[];
    /** Plain credentials by node id (credentialSecret is off). */
    credentials?: Record<string, unknown>;
}

/** A fresh user dir with the package linked in; returns its path. */
export function makeUserDir(contents: UserDirContents): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rest-session-process-'));
    const link = path.join(dir, 'node_modules', ...PACKAGE);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(ROOT, link, 'dir');
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'process-test', private: true, dependencies: { [PACKAGE.join('/')]: '*' } }));
    writeUserDir(dir, contents);
    return dir;
}

/** Rewrites the settings, flows and credentials of a user dir (between two starts). */
export function writeUserDir(dir: string, { settings = {}, flows, credentials = {} }: UserDirContents): void {
    const base = {
        uiHost: '127.0.0.1',
        flowFile: 'flows.json',
        credentialSecret: false,
        editorTheme: { tours: false, palette: { catalogues: [] } },
        telemetry: { enabled: false },
        logging: { console: { level: 'info', metrics: false, audit: false } },
    };
    fs.writeFileSync(path.join(dir, 'settings.js'), `module.exports = ${JSON.stringify({ ...base, ...settings }, null, 2)};\n`);
    fs.writeFileSync(path.join(dir, 'flows.json'), JSON.stringify(flows));
    fs.writeFileSync(path.join(dir, 'flows_cred.json'), JSON.stringify(credentials));
}

export interface NodeRedProcess {
    child: ChildProcess;
    /** Everything it printed so far. */
    output(): string;
    /** Resolves once its output matches `pattern` (the match), or rejects after `timeoutMs`. */
    waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
    /** Stops it with `signal` and resolves once it exited (SIGKILL after 10 s of SIGINT). */
    stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts Node-RED on the user dir with a free port; resolves once it runs its flows. */
export async function startNodeRed(dir: string, env: Record<string, string> = {}): Promise<NodeRedProcess> {
    const from = process.env.NODE_RED_PREFIX ? { paths: [path.resolve(process.env.NODE_RED_PREFIX)] } : undefined;
    const child = spawn(process.execPath, [require.resolve('node-red/red.js', from), '-u', dir, '-p', '0'], {
        cwd: dir,
        env: { ...process.env, NODE_RED_DISABLE_TELEMETRY: '1', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
    const running: NodeRedProcess = {
        child,
        output: () => text,
        waitForOutput: (pattern, timeoutMs = 30_000) =>
            waitFor(
                () => {
                    const match = pattern.exec(text);
                    if (!match && exited()) throw new Error(`Node-RED exited (${child.exitCode ?? child.signalCode})`);
                    return match;
                },
                { timeoutMs, intervalMs: 20, message: () => `${pattern} in the output of Node-RED:\n${text}` },
            ),
        stop: (signal = 'SIGINT') => {
            if (exited()) return Promise.resolve();
            return new Promise<void>((resolve) => {
                const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
                child.once('exit', () => {
                    clearTimeout(killer);
                    resolve();
                });
                child.kill(signal);
            });
        },
    };
    try {
        await running.waitForOutput(/Started flows/, 60_000);
    } catch (error) {
        await running.stop('SIGKILL');
        throw error;
    }
    return running;
}
