import { networkInterfaces } from 'node:os';

/**
 * The address this replica announces in WatchHosts, as upstream picks it:
 * the override; else the listen address when it is loopback; else the host
 * IP (DAPR_HOST_IP, or the first non-internal IPv4 address) with the port.
 */
export function broadcastAddress(options: { readonly override: string | undefined; readonly listenAddress: string; readonly hostIp: string; readonly port: number }): string {
  if (options.override) return options.override;
  if (['localhost', '127.0.0.1', '::1', '[::1]'].includes(options.listenAddress)) {
    return `${options.listenAddress === '::1' ? '[::1]' : options.listenAddress}:${options.port}`;
  }
  const ip = options.hostIp || firstExternalIpv4() || '127.0.0.1';
  return `${ip.includes(':') && !ip.startsWith('[') ? `[${ip}]` : ip}:${options.port}`;
}

function firstExternalIpv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return undefined;
}
