#!/usr/bin/env bash
# vde benchmark suite: builds what it needs, runs every scenario with repetitions, prints the results and writes
# them (markdown) to bench/out/results.md. See docs/BENCHMARKS.md.
#
#   bench/run.sh            full run (under 15 minutes on 2 cores); also copies the latency chart to docs/
#   bench/run.sh --quick    smaller sizes, 1 repetition, short JMH runs (under 2 minutes)
#   options: --out DIR      where results go (default bench/out)
#
# Scratch files live in bench/work (same file system as the repository) and are removed at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK=0
OUT="$ROOT/bench/out"
for ((i = 1; i <= $#; i++)); do
  case "${!i}" in
    --quick) QUICK=1 ;;
    --out) i=$((i + 1)); OUT="$(realpath -m "${!i}")" ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown option: ${!i}" >&2; exit 2 ;;
  esac
done
COMMAND="bench/run.sh${*:+ $*}"
WORK="$ROOT/bench/work"
START=$(date +%s)

cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
rm -rf "$WORK"
mkdir -p "$OUT"
# Only what this script writes is removed from OUT, which may be any directory.
rm -rf "$OUT"/[0-9][0-9]-*.md "$OUT"/[0-9][0-9]-*.targets "$OUT/machine.md" "$OUT/results.md" "$OUT/jmh.csv" \
  "$OUT/latency" "$OUT/logs" "$OUT/migration-latency.png"
mkdir -p "$WORK" "$OUT/logs"

say() { printf '[%4ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }

# ---------------------------------------------------------------- peer tools
TOOLS="mke2fs tune2fs e2fsck e2image debugfs dumpe2fs qemu-img fallocate"
if ! command -v qemu-img >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  say "qemu-img missing; installing qemu-utils"
  apt-get install -y qemu-utils >"$OUT/logs/apt.log" 2>&1 \
    || { apt-get update >>"$OUT/logs/apt.log" 2>&1 && apt-get install -y qemu-utils >>"$OUT/logs/apt.log" 2>&1; } \
    || say "qemu-utils could not be installed (see $OUT/logs/apt.log)"
fi
TOOL_LINES=""
for t in $TOOLS; do
  p="$(PATH="$PATH:/usr/sbin:/sbin" command -v "$t" 2>/dev/null || true)"
  if [ -n "$p" ]; then TOOL_LINES+="$t: $p"$'\n'; else TOOL_LINES+="$t: missing"$'\n'; fi
done
export PATH="$PATH:/usr/sbin:/sbin"

# ---------------------------------------------------------------- build
# Other builds may share target/, so the compiled classes are copied to bench/work right after building.
build() {
  (cd "$ROOT" && mvn -q -B -DskipTests test-compile) >"$OUT/logs/build.log" 2>&1 || return 1
  (cd "$ROOT" && mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
      -Dmdep.outputFile="$WORK/deps.txt" -Dmdep.includeScope=test) >>"$OUT/logs/build.log" 2>&1 || return 1
  rm -rf "$WORK/classes" && mkdir -p "$WORK/classes"
  cp -r "$ROOT/target/classes" "$WORK/classes/main" && cp -r "$ROOT/target/test-classes" "$WORK/classes/test" \
    || return 1
  [ -f "$WORK/classes/main/dev/vde/fs/VirtualDisk.class" ] \
    && [ -f "$WORK/classes/test/dev/vde/bench/ResultsFile.class" ] \
    && [ -f "$WORK/classes/test/META-INF/BenchmarkList" ]
}
say "building (mvn test-compile, dependency:build-classpath)"
for attempt in 1 2 3; do
  if build; then break; fi
  if [ "$attempt" = 3 ]; then echo "build failed; see $OUT/logs/build.log" >&2; tail -30 "$OUT/logs/build.log" >&2; exit 1; fi
  say "build attempt $attempt failed (another build may be running); retrying in 60 s"
  sleep 60
done
CP="$WORK/classes/main:$WORK/classes/test:$(cat "$WORK/deps.txt")"
# The command-line scenarios run the tool as users do, through the launcher; its first call builds the jar and the
# class-data-sharing archive, untimed.
VDE_ARGS=()
if "$ROOT/vde" --version >"$OUT/logs/launcher.log" 2>&1; then
  VDE_ARGS=(--vde "$ROOT/vde")
else
  say "the vde launcher failed (see $OUT/logs/launcher.log); command rows use a JVM on the class path"
fi
JAVA=(java -Xmx2g -cp "$CP")

# ---------------------------------------------------------------- machine
{
  echo "## Machine and command"
  echo
  echo "- Command: \`$COMMAND\` (from the repository root)"
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$ROOT" && [ -n "$(git status --porcelain 2>/dev/null | grep -v '^??' | head -1)" ] && echo ' with uncommitted changes' || true)"
  echo "- CPU: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
  echo "- Memory: $(free -h | awk '/^Mem:/ {print $2}') total"
  echo "- Kernel: $(uname -sr)"
  echo "- File system of bench/work: $(findmnt -no FSTYPE,SOURCE -T "$ROOT" | tr -s ' ' | sed 's/ / on /') ($(findmnt -no OPTIONS -T "$ROOT"))"
  echo "- Java: $(java -version 2>&1 | head -1)"
  echo "- Load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Page cache can be dropped: $([ -w /proc/sys/vm/drop_caches ] && echo yes || echo no)"
  echo "- Peer tools: $(echo "$TOOL_LINES" | sed '/^$/d' | sed 's/: \/.*\/\(.*\)$/: present/' | paste -sd ';' | sed 's/;/; /g')"
  echo "- Versions: $( (mke2fs -V 2>&1 | head -1; qemu-img --version 2>/dev/null | head -1; cp --version | head -1) | paste -sd ';' | sed 's/;/; /g')"
  echo
} >"$OUT/machine.md"

# ---------------------------------------------------------------- scenarios
MODE=()
[ "$QUICK" = 1 ] && MODE=(--quick)
failed_target() {
  printf '%s\t%s\t%s\t%s\t%s\n' "$2" "every target of this part" "failed" "not run" \
    "see its section and logs/$3.log; targets listed above, if any, come from what ran before the failure" \
    >>"$OUT/$1.targets"
}
scenario() {
  local file="$1" title="$2" class="$3"; shift 3
  say "running $title"
  local t0=$(date +%s)
  if ! java -Xmx2g "-Xlog:gc:file=$OUT/logs/$file-gc.log" -cp "$CP" "dev.vde.bench.$class" --work "$WORK/$file" \
      --out "$OUT" "${MODE[@]}" "$@" >"$OUT/logs/$file.log" 2>&1; then
    say "  FAILED: $title (see $OUT/logs/$file.log)"
    { echo "## $title"; echo; echo "This scenario failed; the end of its log:"; echo; echo '```';
      tail -15 "$OUT/logs/$file.log"; echo '```'; echo; } >>"$OUT/$file.md"
    # The summary lists targets from what each scenario wrote; a failed scenario says so there too, so that the
    # targets it did not reach are not simply absent from the table.
    failed_target "$file" "$title" "$file"
  fi
  say "  done in $(( $(date +%s) - t0 )) s"
}
scenario 40-engine "4. engine basics" EngineBench
scenario 10-migration "1. inode migration" MigrationBench --images "$WORK/images" "${VDE_ARGS[@]}"
scenario 30-online "3. online impact" OnlineImpactBench --images "$WORK/images"
rm -rf "$WORK/images"
scenario 20-copy "2. extent-aware copy" CopyBench "${VDE_ARGS[@]}"
scenario 25-live-copy "2b. copy of a volume in use" LiveCopyBench

jmh_failed() {
  say "  $1 (see $OUT/logs/jmh.log)"
  { echo "## Micro-benchmarks (JMH)"; echo; echo "This part failed ($1); the end of its log:"; echo; echo '```';
    tail -15 "$OUT/logs/jmh.log"; echo '```'; echo; } >"$OUT/50-jmh.md"
  rm -f "$OUT/50-jmh.targets"
  failed_target 50-jmh "JMH micro-benchmarks" jmh
}
say "running JMH micro-benchmarks"
if [ "$QUICK" = 1 ]; then JMH_ARGS=(-f 1 -wi 1 -w 300ms -i 2 -r 300ms); else JMH_ARGS=(-f 1 -wi 2 -w 1s -i 3 -r 1s); fi
if java -cp "$CP" org.openjdk.jmh.Main 'dev\.vde\.bench\.jmh\..*' "${JMH_ARGS[@]}" -rf csv -rff "$OUT/jmh.csv" \
    >"$OUT/logs/jmh.log" 2>&1; then
  "${JAVA[@]}" dev.vde.bench.JmhReport --work "$WORK/jmh" --out "$OUT" --jmh-args "${JMH_ARGS[*]}" \
    >>"$OUT/logs/jmh.log" 2>&1 || jmh_failed "the JMH report failed"
else
  jmh_failed "JMH failed"
fi

# ---------------------------------------------------------------- results
ELAPSED=$(( $(date +%s) - START ))
echo "- Wall time of the whole run: $((ELAPSED / 60)) min $((ELAPSED % 60)) s" >>"$OUT/machine.md"
"${JAVA[@]}" dev.vde.bench.ResultsFile --work "$WORK/results" --out "$OUT"
if [ "$QUICK" = 0 ] && [ -f "$OUT/migration-latency.png" ]; then
  cp "$OUT/migration-latency.png" "$ROOT/docs/migration-latency.png"
fi
cat "$OUT/results.md"
say "results written to $OUT/results.md$([ "$QUICK" = 0 ] && echo "; chart copied to docs/migration-latency.png")"
