/**
 * Keeps `concurrency` msgs in flight through one node until `total` were sent: a new msg goes in as
 * each answer (output or Catch) comes out, as a steady stream of traffic would.
 */
import type { Answers, Msg } from './harness';
import { helper } from './harness';
import { waitFor } from './wait';

export interface DriveOptions {
    total: number;
    concurrency: number;
    /** The msg number `i` (default `{ seq: i }`). */
    msg?: (i: number) => Msg;
    /** Give up waiting for the last answer after this long. */
    timeoutMs?: number;
}

/** Resolves once every msg was answered; the answers are in the recorders. */
export async function drive(nodeId: string, rec: Answers, { total, concurrency, msg = (i) => ({ seq: i }), timeoutMs = 60_000 }: DriveOptions): Promise<void> {
    const node = helper.getNode(nodeId);
    let sent = 0;
    const next = (): void => {
        if (sent < total) node.receive(msg(sent++));
    };
    const onAnswer = (): void => next();
    rec.out.node.on('input', onAnswer);
    rec.caught.node.on('input', onAnswer);
    try {
        for (let i = 0; i < concurrency; i++) next();
        await waitFor(() => rec.out.messages.length + rec.caught.messages.length >= total, {
            timeoutMs,
            intervalMs: 20,
            message: () => `${total} answers (now ${rec.out.messages.length} out + ${rec.caught.messages.length} caught)`,
        });
    } finally {
        rec.out.node.removeListener('input', onAnswer);
        rec.caught.node.removeListener('input', onAnswer);
    }
}
