import type { NodeAPI } from 'node-red';

import { DEFAULT_COOL_DOWN_MS } from '../session/login-guard';

export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** A number from settings.js, prefixed as Node-RED asks (`restSessionServerCoolDown`, ...). */
export function numberSetting(RED: NodeAPI, name: string, fallback: number): number {
    const value = Number((RED.settings as unknown as Record<string, unknown>)[`restSessionServer${name}`]);
    return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** How long a rejected login is not resent with the same credentials. */
export function coolDownMs(RED: NodeAPI): number {
    return numberSetting(RED, 'CoolDown', DEFAULT_COOL_DOWN_MS);
}
