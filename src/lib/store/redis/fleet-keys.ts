import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

import { SessionError } from '../../errors';

/** The shortest `sharedKey` the store accepts (design.md: at least 32 characters). */
export const MIN_SHARED_KEY_LENGTH = 32;
const ENVELOPE_VERSION = 'v1';

/**
 * The fleet's keys, derived (HKDF-SHA256) from the `sharedKey` every instance holds: one to encrypt
 * values (AES-256-GCM), one for fingerprints (HMAC-SHA256). Key names and values in Redis carry no
 * user name, host, password, cookie or token in clear.
 */
export class FleetKeys {
    private readonly encryptionKey: Buffer;
    private readonly fingerprintKey: Buffer;

    constructor(sharedKey: string) {
        if (sharedKey.length < MIN_SHARED_KEY_LENGTH) {
            throw new SessionError('CONFIG', `The session store's shared key must be at least ${MIN_SHARED_KEY_LENGTH} characters long.`);
        }
        const derive = (info: string): Buffer => Buffer.from(hkdfSync('sha256', sharedKey, 'rest-session-store', info, 32));
        this.encryptionKey = derive('values');
        this.fingerprintKey = derive('fingerprints');
    }

    /** A keyed one-way fingerprint of `parts` (HMAC-SHA256, hex): the same on every instance of the fleet. */
    fingerprint(parts: readonly string[]): string {
        return this.digest(parts).toString('hex');
    }

    /** A short name for a fingerprint in Redis key names and fields (keyed again: no name or host in it). */
    name(fingerprint: string): string {
        return this.digest(['name', fingerprint]).toString('base64url').slice(0, 22);
    }

    /** AES-256-GCM with the key name as associated data, so a value cannot be moved to another key. */
    seal(keyName: string, plain: string): string {
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
        cipher.setAAD(Buffer.from(keyName));
        const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
        return `${ENVELOPE_VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`;
    }

    /** The plain text of a sealed value, or undefined when it is not ours (another key, tampered). */
    open(keyName: string, sealed: string): string | undefined {
        const [version, iv, body] = sealed.split('.');
        if (version !== ENVELOPE_VERSION || !iv || !body) return undefined;
        try {
            const bytes = Buffer.from(body, 'base64url');
            const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, Buffer.from(iv, 'base64url'));
            decipher.setAAD(Buffer.from(keyName));
            decipher.setAuthTag(bytes.subarray(bytes.length - 16));
            return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString('utf8');
        } catch {
            return undefined;
        }
    }

    private digest(parts: readonly string[]): Buffer {
        const hmac = createHmac('sha256', this.fingerprintKey);
        for (const part of parts) hmac.update(`${part}\u0000`);
        return hmac.digest();
    }
}
