// socket-mark-id: Redis's listenToPort marks each TCP listening socket it opens (the plain
// port and tls-port) with SO_MARK when the id is above 0, and ignores a failure (without
// CAP_NET_ADMIN the socket simply stays unmarked, nothing is logged). Connections accepted on
// a marked listener inherit the mark from the kernel. The immutable directive is read once.
import type * as net from 'node:net';
import type { Config } from './config';
import { consume } from './config/consumers';
import { native } from './native';

const SOCKET_MARK_ID = consume('socket-mark-id', 'test/server/socket-mark.test.ts');

/** Marks the listening socket of a bound node:net (or node:tls) server, as anetSetSockMarkId(NULL, ...). */
export function markListener(config: Config, srv: net.Server): void {
  const mark = config.int(SOCKET_MARK_ID);
  if (mark <= 0) return;
  const fd = (srv as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
  if (fd >= 0) native.setSocketMark(fd, mark);
}
