// Shared set-up for the kit's integration tests: the ground's admin client and a fresh
// namespace per test file, deleted afterwards.
import { after, before } from 'node:test';
import { ground, requireGround, uniqueName } from '@plinth/ground';
import { KubeClient, Resources } from '@plinth/kube';

export interface TestNamespace {
  readonly client: KubeClient;
  readonly name: string;
}

export function useNamespace(prefix: string): TestNamespace {
  const state: { client?: KubeClient; name?: string } = {};
  before(async () => {
    await requireGround('kubernetes');
    state.client = KubeClient.load(ground('KUBECONFIG'));
    state.name = uniqueName(prefix);
    await state.client.create(Resources.Namespace, { metadata: { name: state.name } });
  });
  after(async () => {
    if (state.client && state.name) await state.client.delete(Resources.Namespace, { name: state.name });
  });
  return {
    get client() {
      if (!state.client) throw new Error('useNamespace: used before the suite started');
      return state.client;
    },
    get name() {
      if (!state.name) throw new Error('useNamespace: used before the suite started');
      return state.name;
    },
  };
}
