#!/usr/bin/env bash
# Lints and renders the Helm chart (run by .ci/run). helm comes from the Go
# module proxy: issue 12 named v3.22.0, which the proxy serves but this
# workplace has not approved; v4.3.2 is the approved line.
set -euo pipefail
cd "$(dirname "$0")"
helm() { go run helm.sh/helm/v4/cmd/helm@v4.3.2 "$@"; }
chart=forgebridge
ok=(--set publicUrl=https://forgebridge.example.com
    --set database.dsn=postgres://forgebridge@db.example.com/forgebridge
    --set-string 'keyset.json={"primaryKeyId":1}')
helm lint --strict "$chart" "${ok[@]}"
out=$(helm template fb "$chart" "${ok[@]}")
for want in 'kind: Deployment' 'kind: PodDisruptionBudget' 'kind: Service' 'path: /readyz' \
            'path: /healthz' 'prometheus.io/scrape: "true"' 'runAsNonRoot: true' 'replicas: 2'; do
  grep -qF -- "$want" <<<"$out" || { echo "helm template: missing $want"; exit 1; }
done
helm template fb "$chart" "${ok[@]}" --set tracker.kind=jira --set tracker.jiraUrl=https://jira.example.com \
  --set tracker.jiraTokenSecret=jira-token | grep -qF FORGEBRIDGE_JIRA_TOKEN_FILE
# Settings that cannot work are refused, not rendered.
for bad in "--set publicUrl=" "--set database.dsn=file:forgebridge.db" "--set-string keyset.json="; do
  # shellcheck disable=SC2086
  if helm template fb "$chart" "${ok[@]}" $bad >/dev/null 2>&1; then
    echo "helm template accepted $bad"; exit 1
  fi
done
echo "helm chart: lint and template ok"
