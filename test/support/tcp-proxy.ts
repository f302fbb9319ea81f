import net from 'node:net';

export type TcpProxy = {
  /** host:port clients connect to. */
  address: string;
  port: number;
  /** The dependency "dies": open connections are reset and new ones refused. */
  cut: () => Promise<void>;
  /** The dependency is back on the same port. */
  restore: () => Promise<void>;
  /** For good, at the end of a test. */
  close: () => Promise<void>;
};

/**
 * A loopback TCP proxy in front of a real dependency (Postgres, the Temporal server), so a test can
 * take the dependency away from one application and bring it back without stopping it for others.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const onConnection = (client: net.Socket) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };
  let server = net.createServer(onConnection);
  const listen = (port: number) => new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
  const port = await listen(0);
  return {
    address: `127.0.0.1:${port}`,
    port,
    cut: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.resetAndDestroy();
      await closed;
    },
    restore: async () => {
      if (server.listening) return;
      server = net.createServer(onConnection);
      await listen(port);
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** host and port of a `postgres://` URL or a `host:port` address. */
export function hostPort(addressOrUrl: string): { host: string; port: number } {
  const url = new URL(addressOrUrl.includes('://') ? addressOrUrl : `tcp://${addressOrUrl}`);
  return { host: url.hostname, port: Number(url.port) };
}

/** The same database URL, through the proxy. */
export function viaProxy(databaseUrl: string, proxy: TcpProxy): string {
  const url = new URL(databaseUrl);
  url.host = `127.0.0.1:${proxy.port}`;
  return url.toString();
}
