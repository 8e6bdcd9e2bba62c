// A small REST client over client-node's kubeconfig handling: one connection pool per config,
// typed helpers for get/list/apply/patch/delete on any ResourceType, API errors as KubeApiError.
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import type { ObjectMeta, OwnerReference } from '@plinth/api';
import { type Dispatcher, fetch, Headers } from 'undici';
import { isNotFound, KubeApiError } from './errors.ts';
import { apiVersionOf, pathFor, type ResourceType } from './resources.ts';

export type { ObjectMeta, OwnerReference };

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface KubeList<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface ObjectRef {
  namespace?: string;
  name: string;
}

interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
}

const AUTH_REFRESH_MS = 60_000;

export class KubeClient {
  readonly config: KubeConfig;
  readonly server: string;
  #dispatcher: Dispatcher | undefined;
  #headers: Record<string, string> = {};
  #authAt = 0;
  #impersonate: [string, string][] = [];

  constructor(config: KubeConfig) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster: set current-context to a context with a cluster');
    this.config = config;
    this.server = cluster.server.replace(/\/$/, '');
  }

  /** From a kubeconfig file, or client-node's defaults (KUBECONFIG, ~/.kube/config, in-cluster). */
  static load(file?: string): KubeClient {
    const kc = new KubeConfig();
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
    return new KubeClient(kc);
  }

  /**
   * A client that acts as `user` in `groups` (Impersonate-User / Impersonate-Group); the
   * credentials in use need the impersonate verb. For checking what someone else may do.
   */
  impersonate(user: string, groups: string[] = []): KubeClient {
    const c = new KubeClient(this.config);
    c.#impersonate = [['impersonate-user', user], ...groups.map((g): [string, string] => ['impersonate-group', g])];
    return c;
  }

  async #auth(): Promise<void> {
    const now = Date.now();
    if (now - this.#authAt < AUTH_REFRESH_MS) return;
    const ctx = new RequestContext(this.server, HttpMethod.GET);
    await this.config.applySecurityAuthentication(ctx);
    this.#headers = ctx.getHeaders();
    // One pool for the client's lifetime; later refreshes only pick up rotated tokens.
    this.#dispatcher ??= ctx.getDispatcher();
    this.#authAt = now;
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    await this.#auth();
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers = new Headers({ ...this.#headers, accept: 'application/json' });
    for (const [k, v] of this.#impersonate) headers.append(k, v);
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers.set('content-type', opts.contentType ?? 'application/json');
      body = JSON.stringify(opts.body);
    }
    const res = await fetch(url, {
      method,
      headers,
      body,
      signal: opts.signal,
      ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
    });
    const text = await res.text();
    if (!res.ok) {
      let status: { reason?: string; message?: string; details?: unknown } = {};
      try {
        status = JSON.parse(text);
      } catch {}
      throw new KubeApiError(
        res.status,
        status.reason ?? '',
        status.message ?? `${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`,
        status.details,
      );
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async get<T extends KubeObject>(rt: ResourceType, ref: ObjectRef): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', pathFor(rt, ref));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  list<T extends KubeObject>(
    rt: ResourceType,
    opts: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', pathFor(rt, { namespace: opts.namespace }), {
      query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector },
    });
  }

  create<T extends KubeObject>(rt: ResourceType, obj: T): Promise<T> {
    return this.request<T>('POST', pathFor(rt, { namespace: obj.metadata?.namespace }), {
      body: { apiVersion: apiVersionOf(rt), kind: rt.kind, ...obj },
    });
  }

  /** Replace (PUT); fails with 409 if metadata.resourceVersion is stale. */
  replace<T extends KubeObject>(rt: ResourceType, obj: T): Promise<T> {
    return this.request<T>('PUT', pathFor(rt, refOf(obj)), {
      body: { apiVersion: apiVersionOf(rt), kind: rt.kind, ...obj },
    });
  }

  /**
   * Server-side apply: the object states every field this manager owns; fields it stops
   * stating are removed. `force` takes ownership from other managers (controllers want this).
   */
  apply<T extends KubeObject>(
    rt: ResourceType,
    obj: T,
    opts: { fieldManager: string; force?: boolean; subresource?: string; dryRun?: boolean },
  ): Promise<T> {
    return this.request<T>('PATCH', pathFor(rt, { ...refOf(obj), subresource: opts.subresource }), {
      body: { apiVersion: apiVersionOf(rt), kind: rt.kind, ...obj },
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: opts.fieldManager, force: opts.force ?? true, dryRun: opts.dryRun ? 'All' : undefined },
    });
  }

  /** JSON merge patch (RFC 7386) of an object or its subresource (e.g. 'status'). */
  mergePatch<T extends KubeObject>(rt: ResourceType, ref: ObjectRef, patch: unknown, subresource?: string): Promise<T> {
    return this.request<T>('PATCH', pathFor(rt, { ...ref, subresource }), {
      body: patch,
      contentType: 'application/merge-patch+json',
    });
  }

  /** Deletes; returns false if it was already gone. */
  async delete(
    rt: ResourceType,
    ref: ObjectRef,
    opts: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan' } = {},
  ): Promise<boolean> {
    try {
      await this.request('DELETE', pathFor(rt, ref), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: opts.propagationPolicy ?? 'Background' },
      });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }
}

export function refOf(obj: KubeObject): ObjectRef {
  const name = obj.metadata?.name;
  if (!name) throw new Error('object has no metadata.name');
  return obj.metadata?.namespace ? { namespace: obj.metadata.namespace, name } : { name };
}

/** `namespace/name`, or `name` for cluster-scoped objects: the work queue's key. */
export function keyOf(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name}` : `${obj.metadata?.name}`;
}

export function parseKey(key: string): ObjectRef {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
