export {
  type DirectoryUser,
  type IdentityConfig,
  IdentityConfigSchema,
  IdentityError,
  LdapPresets,
  ldapSettings,
  lookupUser,
  parseIdentityConfig,
  renderAuthenticationConfiguration,
  renderDexConfig,
} from './identity.ts';
export {
  CREATED_ANNOTATION,
  DEFAULT_CONTAINER_LIMITS,
  HELM_RELEASE,
  namespaceLabels,
  renderLimits,
  renderTenantNamespace,
  renderVirtualCluster,
  TENANT_LABEL,
  TENANT_OBJECTS,
  type TenantRenderOptions,
  VCLUSTER_CHART,
} from './render.ts';
export { PLINTH_RESOURCES, platformAdminBinding, platformRoles, ROLE_NAMES } from './roles.ts';
