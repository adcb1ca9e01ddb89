import { DaprWorkflowClient, WorkflowRuntime, type WorkflowActivityContext, type WorkflowContext } from '@dapr/dapr';

/** What `greetThenWait` is started with. */
export interface GreetInput {
  readonly name: string;
  /** The durable timer's length in seconds. */
  readonly timerSeconds: number;
}

/** The custom status the workflow sets once its activity is done, right before it starts its timer. */
export const WAITING_STATUS = 'waiting on timer';

/** The one activity: it answers with a greeting (and is counted, so a test sees it ran). */
export const activityRuns: string[] = [];
export function greet(_context: WorkflowActivityContext, name: string): string {
  activityRuns.push(name);
  return `hello ${name}`;
}

/**
 * One activity, then a durable timer, then done (an async generator, see below): in daprd the activity is a
 * `run-activity` reminder and the timer a `timer-<id>` reminder, both jobs
 * in the scheduler (dapr/dapr:pkg/runtime/wfengine; docs/scheduler.md).
 */
// eslint-disable-next-line @typescript-eslint/require-await -- the SDK only runs async generators; this one awaits nothing
export async function* greetThenWait(context: WorkflowContext, input: GreetInput): AsyncGenerator<unknown, string, string> {
  const greeting = yield context.callActivity(greet, input.name);
  context.setCustomStatus(WAITING_STATUS);
  yield context.createTimer(input.timerSeconds);
  return `${greeting}, after ${input.timerSeconds}s`;
}

export interface WorkflowWorker {
  readonly client: DaprWorkflowClient;
  stop(): Promise<void>;
}

/**
 * The Dapr JS SDK's workflow worker and client against a sidecar's gRPC API
 * port (the SDK opens a `GetWorkItems` stream to daprd; daprd then hosts the
 * workflow and activity actor types of its app id).
 */
export async function startWorkflowWorker(daprGrpcPort: number): Promise<WorkflowWorker> {
  const options = { daprHost: '127.0.0.1', daprPort: String(daprGrpcPort) };
  const runtime = new WorkflowRuntime(options);
  // The SDK types a workflow as returning a Generator, but durabletask-js 1.0.0 only runs an
  // async generator (worker/orchestration-executor.js checks Symbol.asyncIterator), as the SDK's examples write them.
  runtime.registerWorkflow(greetThenWait as never).registerActivity(greet);
  await runtime.start();
  const client = new DaprWorkflowClient(options);
  return {
    client,
    async stop() {
      await client.stop();
      await runtime.stop();
    },
  };
}
