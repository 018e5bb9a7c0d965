#!/usr/bin/env bash
# README command 1 or 2 as a new user runs it: a fresh clone of HEAD, a fresh venv, pip's
# cache disabled, an empty $HOME (no dequantised-model cache, no HF cache). Prints the
# command and its wall time; the output goes to $WORK/cmdN.log.
#
#   bash benchmarks/fresh_install.sh 1      # install + analyze the showcase (target <= 3 min)
#   bash benchmarks/fresh_install.sh 2      # install dev + the test suite (target <= 15 min)
#
# The clone sits beside this checkout so that the tests find ../shared/ as CI does.
set -euo pipefail
n=${1:?which README command: 1 or 2}
repo=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "$(dirname "$repo")/fresh-install-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
git clone -q "$repo" "$WORK/bondkd"
python3 -m venv "$WORK/venv"
mkdir "$WORK/home"
cmd=$(awk '/^```bash$/{getline; c++; if (c == '"$n"') {print; exit}}' "$repo/README.md")
echo "README command $n: $cmd"
cd "$WORK/bondkd"
start=$(date +%s.%N)
set +e
env -u PYTHONPATH PIP_NO_CACHE_DIR=1 HOME="$WORK/home" XDG_CACHE_HOME="$WORK/home/.cache" \
  PATH="$WORK/venv/bin:$PATH" VIRTUAL_ENV="$WORK/venv" bash -c "$cmd" >"$WORK/cmd.log" 2>&1
rc=$?
set -e
end=$(date +%s.%N)
mkdir -p "$repo/out"
cp "$WORK/cmd.log" "$repo/out/fresh_install_cmd$n.log"
tail -n 3 "$WORK/cmd.log"
printf 'exit %d, wall %.0f s (log: out/fresh_install_cmd%d.log)\n' "$rc" "$(echo "$end - $start" | bc)" "$n"
exit "$rc"
