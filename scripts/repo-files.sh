#!/usr/bin/env bash
# Sourced by the checks: fills the array `files` with the repository's files, tracked or new and
# not ignored (outside a git checkout, every file but .git, target and .venv). Run from the root.
# shellcheck disable=SC2034 # files is for the script that sources this one
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files --cached --others --exclude-standard)
else
    mapfile -t files < <(find . \( -name .git -o -name target -o -name .venv \) -prune -o -type f -printf '%P\n')
fi
