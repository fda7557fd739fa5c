#!/usr/bin/env bash
# Reproduces every figure of BENCHMARKS.md's "framework against raw" tables in one run:
#   1. instructions per charge (callgrind), framework vs the hand-written client, per provider;
#   2. throughput with `payment mock` in its own process, alternating rounds, at 16 and 64 in flight;
#   3. peak RSS of `payment` for one charge and for listing many charges;
#   4. the journal: charges/s journaled (SQLite FULL and NORMAL, PostgreSQL with fsync on) against
#      unjournaled at 1, 16 and 64 in flight, with and without group commit, commits per charge,
#      and recovery of 1,000 unknown attempts;
#   5. reconciliation: `payment reconcile` over a PAY.JP mock holding 10,000 then 100,000
#      journaled charges (1% made without the journal): charges/s, its CPU, its peak RSS;
#   6. (full run only) build time of the facade with one provider versus all.
# Ratios are printed, never asserted: a regression shows in the output.
#
#   bash bench/run.sh                 # the full run (about 15 minutes on 2 cores, most of it building)
#   bash bench/run.sh --quick         # the small version CI runs
#   bash bench/run.sh --only PART     # one part: instructions, throughput, rss or build
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
PARTS="instructions throughput rss journal reconcile build"
while (($#)); do
    case "$1" in
        --quick) QUICK=1; PARTS="instructions throughput rss journal reconcile" ;;
        --only) PARTS="$2"; shift ;;
        *) echo "usage: bench/run.sh [--quick] [--only instructions|throughput|rss|journal|reconcile|build]" >&2; exit 2 ;;
    esac
    shift
done
want() { [[ " $PARTS " == *" $1 "* ]]; }
# Throughput on a shared 2-core machine moves by a third between rounds: many short alternating
# rounds, and the median of the per-round ratios as well as of each side.
if ((QUICK)); then N=40; ROUNDS=1; CHARGES=400; LIST=2000; else N=200; ROUNDS=60; CHARGES=2000; LIST=100000; fi

need=()
command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
[[ -x /usr/bin/time ]] || need+=(time)
if ((${#need[@]})); then
    echo "installing ${need[*]} (Debian packages)"
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "== building (release)"
cargo build --release -q -p payment-cli --bin payment
cargo build --release -q -p payment-examples --example overhead --example throughput
BIN=target/release
OUT=target/bench
mkdir -p "$OUT"
date -u +"run of %Y-%m-%d %H:%M UTC, $(nproc) cores, $(rustc --version)"

# Instructions of one overhead run, less key generation: the signing mocks make fresh RSA keys
# at start, a random and large count, so it is read out of the profile and taken off.
instructions() {
    local file="$OUT/cg.$1.$2.$3"
    valgrind --tool=callgrind --callgrind-out-file="$file" "$BIN/examples/overhead" "$2" "$3" "$1" >/dev/null 2>&1
    local total keygen
    total=$(callgrind_annotate "$file" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1; exit}')
    keygen=$(callgrind_annotate --inclusive=yes --threshold=100 "$file" 2>/dev/null |
        awk '/RsaPrivateKey::generate / {gsub(",","",$1); print $1; exit}')
    echo $((total - ${keygen:-0}))
}

if want instructions; then
echo
echo "== instructions per charge (callgrind, sequential, in-process mock, N=$N minus N=0)"
printf '%-26s %12s %12s %8s\n' provider framework raw ratio
for p in payjp worldpay; do
    f0=$(instructions "$p" framework 0); fN=$(instructions "$p" framework "$N")
    r0=$(instructions "$p" raw 0); rN=$(instructions "$p" raw "$N")
    f=$(((fN - f0) / N)); r=$(((rN - r0) / N))
    printf '%-26s %12d %12d %8s\n' "$p" "$f" "$r" "$(awk -v f="$f" -v r="$r" 'BEGIN{printf "%.3f", f/r}')"
done
# The signing providers, split into cryptography (our crypto module's calls, client and mock
# together: signing, verifying, RSA-OAEP, AES-GCM) and the rest; each has a hand-written baseline
# sending the same signed (and, for GSP, encrypted) request, so both parts are compared.
crypto() {
    callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
        awk '/payment_core::crypto::/ && !/::generate / {gsub(",","",$1); s+=$1} END {printf "%.0f\n", s}'
}
per_charge() { # provider mode -> "total crypto" per charge
    local a0 aN c0 cN
    a0=$(instructions "$1" "$2" 0); aN=$(instructions "$1" "$2" "$N")
    c0=$(crypto "$OUT/cg.$1.$2.0"); cN=$(crypto "$OUT/cg.$1.$2.$N")
    echo "$(((aN - a0) / N)) $(((cN - c0) / N))"
}
echo
printf '%-26s %12s %12s %12s %12s %s\n' provider framework crypto "the rest" "raw rest" "rest ratio"
for p in pingpp justap google-standard-payments; do
    read -r f fc < <(per_charge "$p" framework)
    read -r r rc < <(per_charge "$p" raw)
    printf '%-26s %12d %12d %12d %12d %s\n' "$p" "$f" "$fc" "$((f - fc))" "$((r - rc))" \
        "$(awk -v a="$((f - fc))" -v b="$((r - rc))" 'BEGIN{printf "%.3f", a/b}')  (whole charge $(awk -v f="$f" -v r="$r" 'BEGIN{printf "%.3f", f/r}'), raw crypto $rc)"
done
fi

# With two cores or more, the mock and the client each get a core of their own, so neither side's
# rounds are slowed by the other's threads being scheduled on its core.
PIN_MOCK=(); PIN_CLIENT=()
if command -v taskset >/dev/null 2>&1 && (($(nproc) >= 2)); then
    PIN_MOCK=(taskset -c 0); PIN_CLIENT=(taskset -c 1)
fi
"${PIN_MOCK[@]}" "$BIN/payment" --provider payjp mock --addr 127.0.0.1:0 >"$OUT/mock.out" 2>/dev/null &
MOCK=$!
trap 'kill $MOCK 2>/dev/null || true' EXIT
for _ in $(seq 50); do [[ -s "$OUT/mock.out" ]] && break; sleep 0.1; done
URL=$(awk '{print $2}' "$OUT/mock.out")

reset_mock() {
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/__mock__/reset", method="POST")).read()' "$URL"
}

if want throughput; then
echo
pinned="unpinned"; ((${#PIN_MOCK[@]})) && pinned="mock on core 0, client on core 1"
echo "== throughput, payment mock in its own process, client on one worker thread ($ROUNDS alternating rounds of $CHARGES, $pinned)"
printf '%-6s %-16s %-20s %-20s %s\n' c "" "first" raw "ratio of medians (median of round ratios, min-max)"
for c in 16 64; do
    fw=(); rw=(); r2=()
    # One unmeasured run first: a fresh mock process (its allocator, its first pages) slows the
    # first run after it, which would otherwise always be the framework's.
    reset_mock
    "${PIN_CLIENT[@]}" "$BIN/examples/throughput" "$URL" raw "$c" "$CHARGES" >/dev/null
    for i in $(seq "$ROUNDS"); do
        # Each round runs the framework, the raw client and the raw client again (the A/A line:
        # how far two runs of the same client differ here), in an order that turns every round,
        # so a machine slowing down or speeding up over the run favours none of them.
        case $((i % 3)) in
            1) order=(framework raw again) ;;
            2) order=(raw again framework) ;;
            *) order=(again framework raw) ;;
        esac
        for mode in "${order[@]}"; do
            # Every run starts from an empty mock: its state would otherwise grow by every
            # charge of every run before it, and later runs would pay for the earlier ones.
            reset_mock
            client=$mode; [[ $mode == again ]] && client=raw
            rate=$("${PIN_CLIENT[@]}" "$BIN/examples/throughput" "$URL" "$client" "$c" "$CHARGES" | awk '{print $4}')
            case $mode in framework) fw+=("$rate") ;; raw) rw+=("$rate") ;; again) r2+=("$rate") ;; esac
        done
    done
    python3 - "$c" "${fw[*]}" "${rw[*]}" "${r2[*]}" <<'EOF'
import statistics, sys
c = sys.argv[1]
f, r, a = ([float(x) for x in arg.split()] for arg in sys.argv[2:5])
def line(label, x, y):
    ratios = [p / q for p, q in zip(x, y)]
    return (f"{c:<6} {label:<16} {statistics.median(x):>8.0f} charges/s  {statistics.median(y):>8.0f} charges/s  "
            f"{statistics.median(x) / statistics.median(y):.3f} ({statistics.median(ratios):.2f}, {min(ratios):.2f}-{max(ratios):.2f})")
print(line("framework/raw", f, r))
print(line("raw again/raw", a, r))
EOF
done
fi

if want rss; then
echo
echo "== peak RSS of payment"
CARD=4242424242424242,12/2035,123
export PAYMENT_PAYJP_SECRET_KEY=sk_test_bench
/usr/bin/time -f "%M" -o "$OUT/rss.one" "$BIN/payment" --provider payjp --base-url "$URL" \
    charge create --amount 1000 --currency JPY --card "$CARD" >/dev/null
echo "one charge: $(cat "$OUT/rss.one") KiB"
# Fill a fresh mock to LIST charges, then list them all with the CLI.
kill $MOCK 2>/dev/null || true
"$BIN/payment" --provider payjp mock --addr 127.0.0.1:0 >"$OUT/mock.out" 2>/dev/null &
MOCK=$!
for _ in $(seq 50); do [[ -s "$OUT/mock.out" ]] && sleep 0.1 && break; sleep 0.1; done
URL=$(awk '{print $2}' "$OUT/mock.out")
"$BIN/examples/throughput" "$URL" raw 32 "$LIST" >/dev/null
/usr/bin/time -f "%M" -o "$OUT/rss.list" "$BIN/payment" --provider payjp --base-url "$URL" \
    charge list --limit 100 >"$OUT/list.out"
echo "listing $(wc -l <"$OUT/list.out") charges: $(cat "$OUT/rss.list") KiB"
fi

if want journal; then
    echo
    echo "== the journal against the in-process mock (PostgreSQL: a cluster with fsync and synchronous_commit on)"
    cargo build --release -q -p payment-examples --example journal
    PGDIR="$PWD/$OUT/pg-durable"
    PG_URL=$(bash .ci/postgres.sh "$PGDIR" 15433 durable | tail -n1)
    trap 'kill $MOCK 2>/dev/null || true; bash .ci/postgres.sh --stop "$PGDIR" >/dev/null 2>&1 || true' EXIT
    mode=bench; ((QUICK)) && mode=bench-quick
    "$BIN/examples/journal" "$mode" "$PG_URL"
    bash .ci/postgres.sh --stop "$PGDIR" >/dev/null 2>&1 || true
fi

if want reconcile; then
    echo
    echo "== reconciliation: payment reconcile over a PAY.JP mock in its own process (SQLite journal)"
    cargo build --release -q -p payment-examples --example reconcile
    kill $MOCK 2>/dev/null || true
    rm -f "$OUT"/rec.db*
    "$BIN/payment" --provider payjp mock --addr 127.0.0.1:0 >"$OUT/mock.out" 2>/dev/null &
    MOCK=$!
    for _ in $(seq 50); do [[ -s "$OUT/mock.out" ]] && sleep 0.1 && break; sleep 0.1; done
    URL=$(awk '{print $2}' "$OUT/mock.out")
    export PAYMENT_PAYJP_SECRET_KEY=sk_test_bench
    if ((QUICK)); then SIZES="1000 5000"; else SIZES="10000 100000"; fi
    have=0
    for size in $SIZES; do
        more=$((size - have)); have=$size
        "$BIN/examples/reconcile" "$URL" "sqlite://$PWD/$OUT/rec.db?durability=normal" "$more" "$((more / 100))" 2>/dev/null
        /usr/bin/time -f "%M %e %U %S" -o "$OUT/rec.time" "$BIN/payment" --provider payjp --base-url "$URL" \
            --journal "sqlite://$PWD/$OUT/rec.db" reconcile --since 1h --json >"$OUT/rec.out" 2>/dev/null || true
        read -r rss secs user sys < <(tail -n1 "$OUT/rec.time")
        python3 - "$(wc -l <"$OUT/rec.out")" "$(grep -c provider_only "$OUT/rec.out" || true)" "$rss" "$secs" "$user" "$sys" <<'PY'
import sys
n, diff, rss, secs, user, sys_ = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), *map(float, sys.argv[4:7])
print(f"{n:>7} charges ({diff} provider_only): {secs:6.1f} s, {n / secs:6.0f} charges/s; "
      f"reconcile CPU {user + sys_:5.1f} s ({n / (user + sys_):6.0f} charges/CPU-s); peak RSS {rss} KiB")
PY
    done
fi

if want build; then
    echo
    echo "== build time of the facade (release, fresh target dirs): one provider vs all"
    for features in payjp all-providers; do
        rm -rf "$OUT/build-$features"
        start=$(date +%s)
        cargo build --release -q -p payment --features "$features" --target-dir "$OUT/build-$features"
        echo "$features: $(($(date +%s) - start)) s"
        rm -rf "$OUT/build-$features"
    done
fi
