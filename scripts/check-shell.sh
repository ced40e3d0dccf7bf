#!/usr/bin/env bash
# Runs shellcheck on every shell script in the repository: *.sh, and the files whose first line starts
# a shell (such as .ci/run). The fuzzers' corpus is data, not scripts.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/repo-files.sh
source scripts/repo-files.sh
scripts=()
for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    case "$f" in
        tests/fuzz/corpus/*) ;;
        *.sh) scripts+=("$f") ;;
        *)
            read -r first <"$f" || true
            if [[ $first =~ ^#!\ *(/usr)?/bin/(env\ +)?(ba|da|k)?sh($|\ ) ]]; then scripts+=("$f"); fi
            ;;
    esac
done
[ ${#scripts[@]} -gt 0 ] || { echo "check-shell: no shell scripts found" >&2; exit 1; }
shellcheck "${scripts[@]}"
echo "${#scripts[@]} shell scripts pass shellcheck $(shellcheck --version | sed -n 's/^version: //p'): ${scripts[*]}"
