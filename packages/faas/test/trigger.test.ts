import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, type KafkaTriggerObject } from '@plinth/api';
import { ConnectorConfigFile, connectorConfig } from '../src/index.ts';

const trigger: KafkaTriggerObject = {
  apiVersion: 'plinth.dev/v1alpha1',
  kind: 'KafkaTrigger',
  metadata: { name: 'orders', namespace: 'shop' },
  spec: {
    functionRef: { name: 'ship' },
    bootstrapServers: ['kafka.kafka.svc:9093'],
    topics: ['orders'],
    tls: { ca: { name: 'kafka', key: 'ca.crt' }, serverName: 'kafka' },
    sasl: {
      mechanism: 'SCRAM-SHA-512',
      username: { name: 'kafka', key: 'username' },
      password: { name: 'kafka', key: 'password' },
    },
    deadLetterTopic: 'orders-dlq',
  } as KafkaTriggerObject['spec'],
};

describe('ConnectorConfigFile', () => {
  const rendered = connectorConfig(
    trigger,
    'https://plinth-gateway.plinth-system.svc:443/fn/shop/ship',
    { ca: 'PEM', username: 'shop', password: 'pw' },
    'GATEWAY PEM',
  );

  it('accepts what connectorConfig renders (the operator writes exactly this, as JSON)', () => {
    const doc = JSON.parse(JSON.stringify(rendered));
    assert.deepEqual(ConnectorConfigFile.check(doc), doc);
    assert.equal(rendered.group, 'plinth.shop.orders');
  });

  it('refuses a bad file naming each field', () => {
    const bad = {
      ...JSON.parse(JSON.stringify(rendered)),
      bootstrapServers: [9093],
      sasl: { mechanism: 'GSSAPI', username: 'shop', password: 'pw' },
      retry: { maxAttempts: 0, initialBackoffMs: 200, maxBackoffMs: 10_000 },
    };
    delete bad.target;
    assert.throws(
      () => ConnectorConfigFile.check(bad),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.deepEqual(e.problems, [
          '/target: Expected required property',
          '/bootstrapServers/0: Expected string',
          '/sasl/mechanism: must be one of: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512',
          '/retry/maxAttempts: Expected integer to be greater or equal to 1',
        ]);
        assert.match(e.message, /^connector config \/target: Expected required property; connector config \//);
        return true;
      },
    );
  });
});
