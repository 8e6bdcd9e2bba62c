export {
  CREATED_ANNOTATION,
  namespaceLabels,
  renderTenantNamespace,
  TENANT_LABEL,
  TENANT_OBJECT_NAMES,
  type TenantRenderOptions,
} from './render.ts';
export { PLINTH_RESOURCES, platformAdminBinding, platformRoles, ROLE_NAMES } from './roles.ts';
