// Route ownership for the operator: cluster-wide informers over Functions, GraphQLApis and
// Tenants feed resolveRoutes, the same pure rule the gateway routes by (@plinth/faas). The
// Function and GraphQLApi reconciles ask whether their claim is refused and, if so, report
// RouteConflict; a change to any claim or grant requeues the objects whose answer changed
// (a holder deleted: the next claim in line turns Ready).
import {
  FunctionKind,
  type FunctionObject,
  GraphQLApiKind,
  type GraphQLApiObject,
  TenantKind,
  type TenantObject,
} from '@plinth/api';
import {
  claimKey,
  functionClaim,
  graphqlApiClaim,
  type RouteOwnerKind,
  type RouteRefusal,
  resolveRoutes,
  tenantGrant,
} from '@plinth/faas';
import {
  type ConditionInput,
  Informer,
  type KubeClient,
  type KubeObject,
  type Logger,
  resourceOf,
  silentLogger,
} from '@plinth/kube';

export interface RouteOwnershipOptions {
  client: KubeClient;
  logger?: Logger;
  /** Told about each object whose refusal appeared, changed or went away. */
  onChange?: (kind: RouteOwnerKind, namespace: string, name: string) => void;
  /** How long a burst of changes is gathered before claims are settled again (default 50 ms). */
  settleMs?: number;
}

/** Which claims the gateway refuses, kept current from the cluster (all namespaces, always). */
export class RouteOwnership {
  #functions: Informer<FunctionObject & KubeObject>;
  #apis: Informer<GraphQLApiObject & KubeObject>;
  #tenants: Informer<TenantObject & KubeObject>;
  #refused: ReadonlyMap<string, RouteRefusal> = new Map();
  #dirty = true;
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  #opts: RouteOwnershipOptions;

  constructor(opts: RouteOwnershipOptions) {
    this.#opts = opts;
    const logger = (opts.logger ?? silentLogger).child({ component: 'route-ownership' });
    this.#functions = new Informer({ client: opts.client, type: resourceOf(FunctionKind), logger });
    this.#apis = new Informer({ client: opts.client, type: resourceOf(GraphQLApiKind), logger });
    this.#tenants = new Informer({ client: opts.client, type: resourceOf(TenantKind), logger });
    const changed = () => {
      this.#dirty = true;
      if (this.#started && !this.#timer)
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#settle();
        }, opts.settleMs ?? 50);
    };
    for (const inf of [this.#functions, this.#apis, this.#tenants])
      for (const e of ['add', 'update', 'delete'] as const) inf.on(e, changed);
  }

  async start(): Promise<void> {
    await Promise.all([this.#functions.start(), this.#apis.start(), this.#tenants.start()]);
    this.#started = true;
    this.#settle();
  }

  stop(): void {
    this.#started = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#functions.stop();
    this.#apis.stop();
    this.#tenants.stop();
  }

  /** Why this object's path or host is not routed, or undefined when it is. */
  refusal(kind: RouteOwnerKind, namespace: string, name: string): RouteRefusal | undefined {
    if (this.#dirty) this.#settle();
    return this.#refused.get(claimKey(kind, namespace, name));
  }

  #settle(): void {
    this.#dirty = false;
    const live = <T extends KubeObject>(xs: T[]) => xs.filter((x) => x.metadata?.name && !x.metadata.deletionTimestamp);
    const { refused } = resolveRoutes(
      [
        ...live(this.#functions.list()).map((f) => functionClaim(f)),
        ...live(this.#apis.list()).map((a) => graphqlApiClaim(a)),
      ],
      this.#tenants.list().map((t) => tenantGrant(t)),
    );
    const before = this.#refused;
    this.#refused = refused;
    if (!this.#opts.onChange) return;
    for (const key of new Set([...before.keys(), ...refused.keys()])) {
      if (before.get(key)?.message === refused.get(key)?.message) continue;
      const [kind, namespace, name] = key.split('/') as [RouteOwnerKind, string, string];
      this.#opts.onChange(kind, namespace, name);
    }
  }
}

/** The Ready condition of an object whose route is refused. */
export const routeConflictCondition = (refusal: RouteRefusal): ConditionInput => ({
  type: 'Ready',
  status: 'False',
  reason: refusal.reason,
  message: refusal.message,
});
