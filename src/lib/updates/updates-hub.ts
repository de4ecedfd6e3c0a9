import type { Session } from '../session/session';
import type { SessionManager } from '../session/session-manager';
import type { VendorAdapter, VendorPush } from '../vendors/adapter';
import { LiveChannel } from './live-channel';
import type { SocketTransport } from './open-socket';

/**
 * The live updates of one server config node: one channel (one socket) per user, created when the
 * first updates node of that user starts. Closed before the config node logs its sessions out.
 */
export class UpdatesHub {
    private readonly channels = new Map<Session, LiveChannel>();

    constructor(
        private readonly manager: SessionManager,
        private readonly adapter: VendorAdapter & { push: VendorPush },
        private readonly transport: SocketTransport,
    ) {}

    channel(session: Session): LiveChannel {
        let channel = this.channels.get(session);
        if (!channel) {
            channel = new LiveChannel({ manager: this.manager, session, adapter: this.adapter, transport: this.transport });
            this.channels.set(session, channel);
        }
        return channel;
    }

    /** Open sockets' channels, for tests and status. */
    get size(): number {
        return this.channels.size;
    }

    close(): void {
        for (const channel of this.channels.values()) channel.close();
        this.channels.clear();
    }
}
