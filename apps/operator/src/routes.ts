// Route ownership for the operator: cluster-wide informers over Functions, GraphQLApis and
// Tenants feed resolveRoutes, the same pure rule the gateway routes by (@plinth/faas). The
// Function and GraphQLApi reconciles call hold(): it records what an accepted claim holds in
// status.route (under its own field manager, so the reconciles' status writes, which never
// state it, leave it alone; removed when the claim is refused) and returns the refusal, if any,
// which the reconcile reports as RouteConflict. status.route is what makes the incumbent keep
// its path and host against an older object edited to claim them. A change to any claim or
// grant requeues the objects whose answer changed (a holder deleted: the next claim in line
// turns Ready), and the Tenants whose grant overlaps changed (Degraded RouteGrantOverlap).
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
  heldRoute,
  holds,
  type RouteOwnerKind,
  type RouteRefusal,
  resolveRoutes,
  tenantGrant,
} from '@plinth/faas';
import {
  type Access,
  type ConditionInput,
  type Informer,
  type InformerFactory,
  type KubeClient,
  type KubeObject,
  type Logger,
  READ,
  RetryAfterError,
  resourceOf,
} from '@plinth/kube';

/** What route ownership reads (every namespace's claims and grants) and writes (status.route). */
export const routesAccess: Access[] = [FunctionKind, GraphQLApiKind, TenantKind].flatMap((k) => [
  { type: resourceOf(k), verbs: READ },
  ...(k === TenantKind ? [] : [{ type: resourceOf(k), subresource: 'status', verbs: ['patch' as const] }]),
]);

export interface RouteOwnershipOptions {
  client: KubeClient;
  /** The process's shared informers: Functions, GraphQLApis and Tenants of every namespace come from there. */
  informers: InformerFactory;
  logger?: Logger;
  /** Told about each object whose refusal appeared, changed or went away. */
  onChange?: (kind: RouteOwnerKind, namespace: string, name: string) => void;
  /** Told about each Tenant whose grant overlap (grantOverlap) appeared, changed or went away. */
  onTenantChange?: (name: string) => void;
  /** Field manager of status.route (default plinth-operator-routes). */
  fieldManager?: string;
  now?: () => Date;
  /** How long a burst of changes is gathered before claims are settled again (default 50 ms). */
  settleMs?: number;
}

/** Which claims the gateway refuses, kept current from the cluster (all namespaces, always). */
export class RouteOwnership {
  #functions: Informer<FunctionObject & KubeObject>;
  #apis: Informer<GraphQLApiObject & KubeObject>;
  #tenants: Informer<TenantObject & KubeObject>;
  #refused: ReadonlyMap<string, RouteRefusal> = new Map();
  #overlaps: ReadonlyMap<string, string> = new Map();
  #dirty = true;
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  #opts: RouteOwnershipOptions;

  constructor(opts: RouteOwnershipOptions) {
    this.#opts = opts;
    this.#functions = opts.informers.informer(resourceOf(FunctionKind));
    this.#apis = opts.informers.informer(resourceOf(GraphQLApiKind));
    this.#tenants = opts.informers.informer(resourceOf(TenantKind));
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
    await this.#opts.informers.start();
    this.#started = true;
    this.#settle();
  }

  stop(): void {
    this.#started = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Why this object's path or host is not routed, or undefined when it is. */
  refusal(kind: RouteOwnerKind, namespace: string, name: string): RouteRefusal | undefined {
    if (this.#dirty) this.#settle();
    return this.#refused.get(claimKey(kind, namespace, name));
  }

  /**
   * For a Function's or GraphQLApi's reconcile: the refusal of its claim, if any, after
   * status.route says what it holds (the claim's path and host when accepted; nothing when
   * refused). Written only when that changes, and only once this view of the cluster has the
   * generation being reconciled: a record written from a lagging view could say an edited
   * claim was accepted when it is not (RetryAfterError until then; it is a matter of ms).
   */
  async hold(
    kind: RouteOwnerKind,
    obj: Pick<FunctionObject, 'metadata' | 'spec' | 'status'> | Pick<GraphQLApiObject, 'metadata' | 'spec' | 'status'>,
  ): Promise<RouteRefusal | undefined> {
    const claim =
      kind === 'Function'
        ? functionClaim(obj as Pick<FunctionObject, 'metadata' | 'spec' | 'status'>)
        : graphqlApiClaim(obj as Pick<GraphQLApiObject, 'metadata' | 'spec' | 'status'>);
    const ref = { namespace: claim.namespace, name: claim.name };
    const seen = (kind === 'Function' ? this.#functions.get(ref) : this.#apis.get(ref))?.metadata?.generation;
    if (seen !== obj.metadata.generation)
      throw new RetryAfterError(
        100,
        `route ownership has seen generation ${seen ?? 'none'} of ${kind} ${claim.namespace}/${claim.name}, not ${obj.metadata.generation} yet`,
      );
    const refusal = this.refusal(kind, claim.namespace, claim.name);
    const current = obj.status?.route;
    if (refusal ? current !== undefined : !holds(current, claim)) {
      const def = kind === 'Function' ? FunctionKind : GraphQLApiKind;
      await this.#opts.client.apply(
        resourceOf(def),
        {
          apiVersion: def.apiVersion,
          kind: def.kind,
          metadata: { name: claim.name, namespace: claim.namespace },
          status: refusal ? {} : { route: heldRoute(claim, (this.#opts.now?.() ?? new Date()).toISOString()) },
        } as KubeObject,
        { fieldManager: this.#opts.fieldManager ?? 'plinth-operator-routes', subresource: 'status' },
      );
    }
    return refusal;
  }

  /** Which of this Tenant's grants an older Tenant is granted too, in words; undefined when none. */
  grantOverlap(tenant: string): string | undefined {
    if (this.#dirty) this.#settle();
    return this.#overlaps.get(tenant);
  }

  #settle(): void {
    this.#dirty = false;
    const live = <T extends KubeObject>(xs: T[]) => xs.filter((x) => x.metadata?.name && !x.metadata.deletionTimestamp);
    const { refused, overlaps } = resolveRoutes(
      [
        ...live(this.#functions.list()).map((f) => functionClaim(f)),
        ...live(this.#apis.list()).map((a) => graphqlApiClaim(a)),
      ],
      this.#tenants.list().map((t) => tenantGrant(t)),
    );
    const before = this.#refused;
    this.#refused = refused;
    const overlapsBefore = this.#overlaps;
    this.#overlaps = overlaps;
    for (const tenant of new Set([...overlapsBefore.keys(), ...overlaps.keys()])) {
      if (overlapsBefore.get(tenant) !== overlaps.get(tenant)) this.#opts.onTenantChange?.(tenant);
    }
    if (!this.#opts.onChange) return;
    for (const key of new Set([...before.keys(), ...refused.keys()])) {
      if (before.get(key)?.message === refused.get(key)?.message) continue;
      const [kind, namespace, name] = key.split('/') as [RouteOwnerKind, string, string];
      this.#opts.onChange(kind, namespace, name);
    }
  }
}

/** Degraded, for a Tenant granted a prefix or host that an older Tenant is granted too. */
export const grantOverlapCondition = (overlap: string | undefined): ConditionInput =>
  overlap
    ? { type: 'Degraded', status: 'True', reason: 'RouteGrantOverlap', message: overlap }
    : { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '' };

/** The Ready condition of an object whose route is refused. */
export const routeConflictCondition = (refusal: RouteRefusal): ConditionInput => ({
  type: 'Ready',
  status: 'False',
  reason: refusal.reason,
  message: refusal.message,
});
