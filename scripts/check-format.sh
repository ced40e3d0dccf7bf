#!/usr/bin/env bash
# The C and C++ sources are formatted as .clang-format says, by Debian's clang-format (another
# major version may format a few lines differently). include/doku.h and bindings/php/doku.h are
# left as cbindgen writes them. `scripts/check-format.sh --fix` reformats instead of checking.
set -euo pipefail
cd "$(dirname "$0")/.."
check=(--dry-run --Werror)
if [ "${1:-}" = --fix ]; then check=(-i); fi

# shellcheck source=scripts/repo-files.sh
source scripts/repo-files.sh
sources=()
for f in "${files[@]}"; do
    case "$f" in
        include/doku.h | bindings/php/doku.h) ;;
        *.c | *.h | *.cc | *.cpp | *.hpp) [ -f "$f" ] && sources+=("$f") ;;
    esac
done
[ ${#sources[@]} -gt 0 ] || { echo "check-format: no C or C++ sources found" >&2; exit 1; }
clang-format "${check[@]}" "${sources[@]}"
echo "${#sources[@]} C and C++ files formatted as .clang-format says ($(clang-format --version))"
