#!/usr/bin/env bash
# Coordinator overhead in process: JMH measures a checkpoint through the
# coordinator and a plain loop over the same no-op participants (1, 10, 100),
# in one run, and this script prints the cost the coordinator adds.
# Usage: bench/coordinator.sh   (about 2 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -q -B -Pbench verify
python3 - target/jmh-result.json <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
score = {}
for row in rows:
    name = row["benchmark"].rsplit(".", 1)[1]
    n = int(row["params"]["participants"])
    score[(name, n)] = (row["primaryMetric"]["score"], row["primaryMetric"]["scoreError"])
print(f"{'participants':>12} {'coordinator ns':>15} {'plain loop ns':>14} {'ratio':>8} {'added ns/participant':>21}")
for n in sorted({n for _, n in score}):
    c, ce = score[("coordinatorCheckpoint", n)]
    p, pe = score[("plainLoop", n)]
    print(f"{n:>12} {c:>11.0f}±{ce:<4.0f} {p:>10.1f}±{pe:<4.1f} {c / p:>8.1f} {(c - p) / n:>21.0f}")
ns = sorted({n for _, n in score})
lo, hi = ns[0], ns[-1]
marginal = ((score[("coordinatorCheckpoint", hi)][0] - score[("plainLoop", hi)][0])
            - (score[("coordinatorCheckpoint", lo)][0] - score[("plainLoop", lo)][0])) / (hi - lo)
print(f"marginal cost per participant ({lo}->{hi}): {marginal:.0f} ns (target < 1000 ns)")
PY
