// The operator: build(deps) wires one controller per kind; main.ts adds leader election.
import type { FunctionObject } from '@plinth/api';
import { Controller, type KubeClient, type Logger, Resources, silentLogger } from '@plinth/kube';
import type { OperatorConfig } from './config.ts';
import { FunctionType, functionReconciler } from './function/reconcile.ts';

export interface OperatorDeps {
  client: KubeClient;
  config: OperatorConfig;
  logger?: Logger;
  /** Watch one namespace (tests); all when omitted. */
  namespace?: string;
}

export interface Operator {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function build(deps: OperatorDeps): Operator {
  const functions = functionReconciler({ client: deps.client, config: deps.config });
  const controllers = [
    new Controller<FunctionObject>({
      name: 'function',
      client: deps.client,
      type: FunctionType,
      namespace: deps.namespace,
      owns: [Resources.Deployment],
      reconcile: functions.reconcile,
      onError: functions.onError,
      logger: deps.logger ?? silentLogger,
    }),
  ];
  return {
    start: async () => {
      await Promise.all(controllers.map((c) => c.start()));
    },
    stop: async () => {
      await Promise.all(controllers.map((c) => c.stop()));
    },
  };
}

export { configFromEnv, type OperatorConfig } from './config.ts';
export { functionReconciler } from './function/reconcile.ts';
export * as render from './function/render.ts';
