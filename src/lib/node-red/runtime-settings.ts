import type { NodeAPI } from 'node-red';

import { DEFAULT_GUARD_POLICY, LoginGuardPolicy } from '../session/login-guard';

export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** A number from settings.js, prefixed as Node-RED asks (`restSessionServerCoolDown`, ...). */
export function numberSetting(RED: NodeAPI, name: string, fallback: number): number {
    const value = Number((RED.settings as unknown as Record<string, unknown>)[`restSessionServer${name}`]);
    return Number.isFinite(value) && value > 0 ? value : fallback;
}

/**
 * The login guard's limits from settings.js: `restSessionServerCoolDown` (ms a rejected credential
 * is not resent), `restSessionServerMaxFailedLogins` and `restSessionServerFailureWindow` (ms).
 */
export function guardPolicy(RED: NodeAPI): LoginGuardPolicy {
    return {
        coolDownMs: numberSetting(RED, 'CoolDown', DEFAULT_GUARD_POLICY.coolDownMs),
        maxFailedLogins: Math.floor(numberSetting(RED, 'MaxFailedLogins', DEFAULT_GUARD_POLICY.maxFailedLogins)) || DEFAULT_GUARD_POLICY.maxFailedLogins,
        failureWindowMs: numberSetting(RED, 'FailureWindow', DEFAULT_GUARD_POLICY.failureWindowMs),
        leaseMs: DEFAULT_GUARD_POLICY.leaseMs,
    };
}
