import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { buildRules } from '../../src/alerts/rules.ts';
import { DaemonMetrics } from '../../src/daemon/metrics.ts';
import { packageRoot } from '../../src/support/package-root.ts';

const root = packageRoot();
const known = new Set(new DaemonMetrics().registry.getMetricsAsArray().map((metric) => metric.name));
const metricsIn = (expr: string) => [...expr.matchAll(/\bident_sync_[a-z0-9_]+/g)].map((match) => match[0]);

interface PromRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

describe('files for those who run Prometheus and Grafana', () => {
  it('deploy/prometheus/alerts.yml parses, names only metrics the daemon exports, and covers every alert rule', () => {
    const file = parse(readFileSync(join(root, 'deploy/prometheus/alerts.yml'), 'utf8')) as {
      groups: { name: string; rules: PromRule[] }[];
    };
    const rules = file.groups.flatMap((group) => group.rules);
    assert.ok(rules.length >= 9);
    for (const rule of rules) {
      assert.match(rule.alert, /^IdentSync[A-Za-z]+$/);
      assert.equal(typeof rule.expr, 'string');
      assert.ok(rule.annotations?.summary, `${rule.alert} has a summary`);
      if (rule.for !== undefined) assert.match(rule.for, /^\d+[smhd]$/);
      const names = metricsIn(rule.expr);
      assert.ok(names.length > 0, `${rule.alert} reads an ident-sync metric`);
      for (const name of names) assert.ok(known.has(name), `${rule.alert}: ${name} is exported by /metrics`);
    }
    const everyRule = buildRules({
      failedRuns: 1,
      noSuccessMinutes: 1,
      tokenDays: 1,
      unreachableMinutes: 1,
      account: true,
      refusedGrowth: 1,
      checkMinutes: 1,
    }).map((rule) => rule.id);
    const covered = new Set(rules.map((rule) => rule.labels?.rule).filter(Boolean));
    assert.deepEqual([...covered].sort(), [...everyRule].sort());
  });

  it('"no success" also fires for an install that never succeeded (no last-success time exported)', () => {
    const file = parse(readFileSync(join(root, 'deploy/prometheus/alerts.yml'), 'utf8')) as {
      groups: { rules: PromRule[] }[];
    };
    const noSuccess = file.groups
      .flatMap((group) => group.rules)
      .filter((rule) => rule.labels?.rule === 'no-success');
    // Before any success the daemon exports ident_sync_healthy but no last-success series.
    const before = new DaemonMetrics().registry.getMetricsAsArray();
    assert.ok(before.some((metric) => metric.name === 'ident_sync_healthy'));
    const never = noSuccess.find((rule) =>
      /^ident_sync_healthy unless on \(instance\) ident_sync_last_success_timestamp_seconds\{kind!="single"\}$/.test(
        rule.expr,
      ),
    );
    assert.ok(never, 'a rule that fires while no last-success series exists');
    assert.equal(never.for, '1h', 'after the default ALERT_NO_SUCCESS_MINUTES');
  });

  it('deploy/grafana/dashboard.json parses and queries only metrics the daemon exports', () => {
    const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/dashboard.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    assert.ok(dashboard.panels.length >= 10);
    const used = new Set<string>();
    for (const panel of dashboard.panels)
      for (const target of panel.targets)
        for (const name of metricsIn(target.expr)) {
          assert.ok(known.has(name), `${panel.title}: ${name} is exported by /metrics`);
          used.add(name);
        }
    for (const gauge of [
      'ident_sync_consecutive_failed_runs',
      'ident_sync_amocrm_token_expiry_timestamp_seconds',
      'ident_sync_reachable',
      'ident_sync_amocrm_refusing',
      'ident_sync_refused_values',
      'ident_sync_alert_open',
    ])
      assert.ok(used.has(gauge), `the dashboard shows ${gauge}`);
  });
});
