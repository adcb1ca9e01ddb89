import { Observable, type ConfigurationOptions, type ObservableMiddleware, type RequestContext } from '@kubernetes/client-node';

/**
 * Per-call options for client-node's generated API clients that abort the
 * HTTP request when `signal` aborts, and/or after `timeoutMs`. client-node
 * takes no signal in its method arguments; its request context does, so a
 * middleware sets it.
 *
 *     await core.readNamespacedPod({ name, namespace }, requestOptions({ signal, timeoutMs: 10_000 }));
 */
export function requestOptions(opts: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined }): ConfigurationOptions {
  const signals: AbortSignal[] = [];
  if (opts.signal) signals.push(opts.signal);
  if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) signals.push(AbortSignal.timeout(opts.timeoutMs));
  if (signals.length === 0) return {};
  const signal = signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  const middleware: ObservableMiddleware = {
    pre: (context: RequestContext) => {
      if (signal) context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}
