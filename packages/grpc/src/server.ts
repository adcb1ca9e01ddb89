import { Server, type ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation, type ChannelOptions } from '@grpc/grpc-js';
import type { Logger, Runner } from '@tsdapr/runtime';

export interface GrpcServerOptions {
  readonly name: string;
  /** host:port; port 0 picks a free one (see onBound). */
  readonly address: string;
  readonly credentials: ServerCredentials;
  readonly services: ReadonlyArray<{ service: ServiceDefinition; implementation: UntypedServiceImplementation }>;
  readonly logger: Logger;
  readonly channelOptions?: ChannelOptions;
  /** How long open calls may finish after the signal before they are cut. */
  readonly drainMs?: number;
  readonly onBound?: (port: number) => void;
}

/** A gRPC server as a runner: binds, serves until aborted, then drains. */
export function grpcServer(options: GrpcServerOptions): Runner {
  return async (signal) => {
    const server = new Server(options.channelOptions);
    for (const { service, implementation } of options.services) server.addService(service, implementation);
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(options.address, options.credentials, (err, bound) => (err ? reject(err) : resolve(bound)));
    });
    options.logger.info({ server: options.name, port }, 'gRPC server listening');
    options.onBound?.(port);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        options.logger.warn({ server: options.name }, 'drain timed out; closing open calls');
        server.forceShutdown();
        resolve();
      }, options.drainMs ?? 5000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  };
}
