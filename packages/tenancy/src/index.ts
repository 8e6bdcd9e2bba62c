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
  namespaceLabels,
  renderTenantNamespace,
  TENANT_LABEL,
  TENANT_OBJECT_NAMES,
  type TenantRenderOptions,
} from './render.ts';
export { PLINTH_RESOURCES, platformAdminBinding, platformRoles, ROLE_NAMES } from './roles.ts';
