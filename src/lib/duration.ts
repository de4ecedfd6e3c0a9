/**
 * "2d 0h 0m 0s", "1h 2m 3s", "10m 43s", "5s": the one format of a time left or a lifetime, in
 * statuses, errors and the Test login answer alike.
 */
export function formatDuration(ms: number): string {
    const total = Math.max(0, Math.ceil(ms / 1000));
    const days = Math.floor(total / 86400);
    const hours = Math.floor((total % 86400) / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const seconds = total % 60;
    const parts: string[] = [];
    if (days) parts.push(`${days}d`);
    if (days || hours) parts.push(`${hours}h`);
    if (days || hours || minutes) parts.push(`${minutes}m`);
    parts.push(`${seconds}s`);
    return parts.join(' ');
}

/** Whole seconds left until `until`, never below 1 while it is still in the future. */
export function secondsUntil(until: number, now: number = Date.now()): number {
    return Math.max(1, Math.ceil((until - now) / 1000));
}
