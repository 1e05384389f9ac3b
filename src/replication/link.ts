// What a master knows of one replica connection (Redis keeps these fields in the client), and
// how a replica is named in logs and INFO.
import type { Client } from '../client';

/** SYNC/PSYNC progress of a replica (Redis's SLAVE_STATE_*); 'none' before SYNC/PSYNC. */
export type ReplicaState = 'none' | 'wait_bgsave_start' | 'wait_bgsave_end' | 'send_bulk' | 'online' | 'rdb_transmitted';

/** REPLCONF capa eof: the replica can read a streamed ($EOF:) RDB. */
export const CAPA_EOF = 1;
/** REPLCONF capa psync2: the replica understands +CONTINUE <new replid>. */
export const CAPA_PSYNC2 = 2;

/** REPLCONF rdb-filter-only: parts left out of the replica's RDB (Redis's SLAVE_REQ_RDB_*). */
export const RDB_EXCLUDE_DATA = 1;
export const RDB_EXCLUDE_FUNCTIONS = 2;

export class ReplicaLink {
  state: ReplicaState = 'none';
  capa = 0;
  /** REPLCONF listening-port (0: unknown). */
  listeningPort = 0;
  /** REPLCONF ip-address (replica-announce-ip), else the peer address is used. */
  announcedAddr: string | null = null;
  /** Connected with the old SYNC (redis-cli --replica): no +FULLRESYNC line, no ACKs expected. */
  prePsync = false;
  /** REPLCONF rdb-only 1 (redis-cli --rdb): the RDB only, then the connection closes. */
  rdbOnly = false;
  /** REPLCONF rdb-filter-only (redis-cli --functions-rdb): RDB_EXCLUDE_* bits. */
  rdbReq = 0;
  /** The highest offset the replica acknowledged, and when (unix seconds). */
  ackOffset = 0;
  ackTime = 0;
  /** The master's offset the RDB being made for this replica corresponds to. */
  psyncInitialOffset = 0;
  /** True when the RDB it waits for comes through a diskless (socket) transfer. */
  socketTarget = false;
  /**
   * The stream accumulated while the RDB is made and sent, written once it is; a diskless
   * replica gets it after its first ACK (it is still parsing the RDB until then).
   */
  pending: Buffer[] = [];
  pendingBytes = 0;
  startStreamOnAck = false;
  /** Unix seconds of a write that could not complete during a diskless transfer (0: none). */
  lastPartialWrite = 0;
  /** Stops a disk RDB being sent to it (when it goes away). */
  cancelBulk: (() => void) | null = null;

  constructor(readonly client: Client) {}

  /** Redis's CLIENT_SLAVE flag: it issued SYNC or PSYNC. */
  get isReplica(): boolean {
    return this.state !== 'none';
  }

  /** Stream bytes go straight to the socket (else they wait in `pending`). */
  get streaming(): boolean {
    return this.state === 'online' && !this.startStreamOnAck;
  }

  /** The address INFO and ROLE show: the announced one, else the peer's IP. */
  get ip(): string {
    return this.announcedAddr ?? peerIp(this.client);
  }

  /** replicationGetSlaveName: `ip:port`, `[ipv6]:port`, or `ip:<unknown-replica-port>`. */
  get name(): string {
    const ip = this.ip;
    if (this.listeningPort === 0) return `${ip}:<unknown-replica-port>`;
    return ip.includes(':') ? `[${ip}]:${this.listeningPort}` : `${ip}:${this.listeningPort}`;
  }

  /** INFO's state word (replstateToString). */
  get infoState(): string {
    switch (this.state) {
      case 'wait_bgsave_start':
      case 'wait_bgsave_end':
        return 'wait_bgsave';
      case 'send_bulk':
        return 'send_bulk';
      case 'online':
        return 'online';
      default:
        return '';
    }
  }
}

function peerIp(client: Client): string {
  const addr = client.addr;
  const colon = addr.lastIndexOf(':');
  const ip = colon < 0 ? addr : addr.slice(0, colon);
  return ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
}
