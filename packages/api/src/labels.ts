// The label every object Plinth makes carries: the operator's children, the parts `plinth up`
// installs, tenants' namespaces and bindings. The operator's and the gateway's caches of
// children select on it, so it has one spelling, here.

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** The label with Plinth's value, to spread into a label map. */
export const MANAGED_BY = { [MANAGED_BY_LABEL]: 'plinth' } as const;
/** Selects the objects Plinth manages. */
export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY[MANAGED_BY_LABEL]}`;
