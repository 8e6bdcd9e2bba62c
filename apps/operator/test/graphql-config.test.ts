// What the operator writes into a GraphQLApi's config Secret passes the schema plinth-graphql
// checks it against at start.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type GraphQLApiObject, GraphqlConfigFile } from '@plinth/api';
import { graphqlConfig } from '../src/graphql/reconcile.ts';

it('renders a GraphQL API config that plinth-graphql accepts', () => {
  const api: GraphQLApiObject = {
    apiVersion: 'plinth.dev/v1alpha1',
    kind: 'GraphQLApi',
    metadata: { name: 'notes', namespace: 'shop' },
    spec: {
      databaseRef: { name: 'notes' },
      authenticator: 'notes_auth',
      schemas: ['app'],
      roles: ['notes_user'],
      jwt: { secretRef: { name: 'jwt', key: 'secret' } },
    } as GraphQLApiObject['spec'],
  };
  const server = { host: 'pg.db.svc', port: 5432, username: 'admin', password: 'x', ca: 'PEM', sslDisabled: false };
  const rendered = graphqlConfig(api, { server, database: 'shop_notes', authenticatorPassword: 'pw', jwtSecret: 'k' });
  const doc = JSON.parse(JSON.stringify(rendered));
  assert.deepEqual(GraphqlConfigFile.check(doc), doc);
});
