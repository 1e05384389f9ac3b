// Which of a node's client ports a client is told (tls-cluster): with the bus on TLS a node's
// `port` is its TLS port and `pport` its plaintext one, and Redis 7.0 answers CLUSTER NODES /
// SLOTS / REPLICAS and MOVED / ASK with the port of the asking client's own connection type.
// A client without a connection (a script's) gets the TLS port, as Redis's c->conn NULL does.
// With tls-cluster off nothing changes: `port` is the only port.
import type { Client } from '../../client';
import type { Cluster } from '../index';
import type { ClusterNode } from '../state';

/** use_pport: the cluster is on TLS but this client's connection is not. */
export function usePlaintextPort(cluster: Cluster, client: Client | null | undefined): boolean {
  if (!cluster.server.tls.cluster || !client) return false;
  const socket = client.socket as { write?: unknown; encrypted?: boolean };
  if (typeof socket.write !== 'function') return false;
  return socket.encrypted !== true;
}

/** The port `client` reaches `node` on (the plaintext one when known and asked for). */
export function nodePortFor(cluster: Cluster, client: Client | null | undefined, node: ClusterNode): number {
  return usePlaintextPort(cluster, client) && node.pport ? node.pport : node.port;
}

/** CLUSTER SHARDS' "port" and "tls-port" (0: not shown), whoever asks. */
export function shardPorts(cluster: Cluster, node: ClusterNode): { port: number; tlsPort: number } {
  return cluster.server.tls.cluster ? { port: node.pport, tlsPort: node.port } : { port: node.port, tlsPort: 0 };
}
