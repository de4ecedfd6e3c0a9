import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';

import { SessionError } from '../errors';
import { asSessionError } from './report-error';
import type { ServerNode } from './types';

/** The admin routes of the config dialog's Authorize button (relative to `httpAdminRoot`). */
export const AUTHORIZE_PATH = '/rest-session-server/oauth2/authorize';
export const CALLBACK_PATH = '/rest-session-server/oauth2/callback';
/** A state lives this long, and is good for one redirect. */
const STATE_LIFETIME_MS = 10 * 60_000;
/** At most this many authorizations wait at once (each Authorize press makes one). */
const MAX_PENDING = 100;

/** An authorization waiting for the provider's redirect, under its `state`. */
interface PendingAuthorization {
    serverId: string;
    clientId: string;
    pending: unknown;
    expiresAt: number;
}

const pendingByState = new Map<string, PendingAuthorization>();

/** `{ok:false, code, message}`: the answer the dialog shows. */
function failure(error: SessionError): { ok: false; code: string; message: string } {
    return { ok: false, code: error.code, message: error.message };
}

function escapeHtml(text: string): string {
    return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page the provider's redirect lands on: says what happened, and closes itself when it can. */
function page(res: Response, status: number, title: string, detail: string): void {
    const body =
        `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
        `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(detail)}</p>` +
        `<script>setTimeout(function () { window.close(); }, 1500);</script></body></html>`;
    res.status(status).set({ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' }).send(body);
}

/** The redirect URI to send: the setting's base behind a reverse proxy, else what the editor saw; always our callback. */
function redirectUri(RED: NodeAPI, fromEditor: unknown): string {
    const settings = RED.settings as unknown as Record<string, unknown>;
    const base = settings.restSessionServerOAuthRedirectBase;
    const adminRoot = String(settings.httpAdminRoot ?? '/').replace(/\/+$/, '');
    const wanted =
        typeof base === 'string' && base ? `${base.replace(/\/+$/, '')}${adminRoot}${CALLBACK_PATH}` : typeof fromEditor === 'string' ? fromEditor : '';
    let url: URL;
    try {
        url = new URL(wanted);
    } catch {
        throw new SessionError('CONFIG', 'The redirect URI is not a URL: set restSessionServerOAuthRedirectBase in settings.js.');
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.pathname.endsWith(CALLBACK_PATH) || url.search || url.hash || url.username) {
        throw new SessionError('CONFIG', `The redirect URI must be this Node-RED's ${CALLBACK_PATH}.`);
    }
    return url.toString();
}

function deployedServer(RED: NodeAPI, id: unknown): ServerNode {
    const node = typeof id === 'string' && id ? (RED.nodes.getNode(id) as ServerNode | null) : null;
    if (!node || node.type !== 'rest-session-server') throw new SessionError('CONFIG', 'Deploy the server first, then authorize.');
    return node;
}

function dropExpired(now: number): void {
    for (const [state, entry] of pendingByState) if (entry.expiresAt <= now) pendingByState.delete(state);
}

async function authorize(RED: NodeAPI, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const node = deployedServer(RED, body.id);
    const manager = node.sessionManager();
    const clientId = manager.ownSession().user;
    const started = await manager.startAuthorization(redirectUri(RED, body.redirectUri));
    if (started.kind === 'device') {
        const { prompt } = started;
        return {
            userCode: prompt.userCode,
            verificationUri: prompt.verificationUri,
            ...(prompt.verificationUriComplete ? { verificationUriComplete: prompt.verificationUriComplete } : {}),
            expiresIn: Math.max(0, Math.round((prompt.expiresAt - Date.now()) / 1000)),
        };
    }
    const now = Date.now();
    dropExpired(now);
    if (pendingByState.size >= MAX_PENDING) throw new SessionError('RATE_LIMITED', 'Too many authorizations are waiting: finish one, or wait 10 minutes.');
    pendingByState.set(started.state, { serverId: node.id, clientId, pending: started.pending, expiresAt: now + STATE_LIFETIME_MS });
    return { url: started.url };
}

/** The provider's redirect: only a live state (single use, bound to its node and client) gets anything done. */
async function callback(RED: NodeAPI, query: URLSearchParams): Promise<string> {
    const state = query.get('state') ?? '';
    const entry = pendingByState.get(state);
    pendingByState.delete(state);
    if (!entry || entry.expiresAt <= Date.now()) throw new SessionError('AUTHORIZATION_REQUIRED', 'Unknown or used state: press Authorize again.');
    const node = deployedServer(RED, entry.serverId);
    const manager = node.sessionManager();
    if (manager.ownSession().user !== entry.clientId) throw new SessionError('CONFIG', 'The client ID changed since Authorize was pressed: press it again.');
    await manager.finishAuthorization(entry.pending, query);
    return manager.ownSession().user;
}

/**
 * `POST <httpAdminRoot>rest-session-server/oauth2/authorize` (permission `rest-session-server.write`,
 * JSON `{id, redirectUri}`): starts an authorization for the deployed config node and answers `{url}`
 * (the provider's page) or the device code; `GET .../oauth2/callback` (no editor login: the
 * provider's redirect carries none) finishes it for a live state only.
 */
export function registerAuthorizeRoutes(RED: NodeAPI): void {
    RED.httpAdmin.post(AUTHORIZE_PATH, RED.auth.needsPermission('rest-session-server.write'), (req: Request, res: Response) => {
        const type = String(req.headers['content-type'] ?? '')
            .split(';')[0]
            .trim()
            .toLowerCase();
        if (type !== 'application/json') {
            res.status(415).json(failure(new SessionError('INVALID_INPUT', 'Authorize takes a JSON body (Content-Type: application/json).')));
            return;
        }
        const body = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : {};
        authorize(RED, body)
            .catch((error: unknown) => failure(asSessionError(error)))
            .then((answer) => res.json(answer))
            .catch(() => undefined);
    });
    RED.httpAdmin.get(CALLBACK_PATH, (req: Request, res: Response) => {
        const query = new URLSearchParams(req.url.split('?')[1] ?? '');
        callback(RED, query).then(
            (client) => page(res, 200, 'Authorized', `"${client}" is authorized: you may close this page.`),
            (error: unknown) => page(res, 400, 'Not authorized', asSessionError(error).message),
        );
    });
}
