# Finds the Crossplane CLI, for the scripts that run it. Sourced.
# crossplane_cli <command> <caller> [fallback]: prints CROSSPLANE_CLI if set, else the first
# `crossplane`, then `crank`, on PATH (then the fallback) whose <command> (xpkg, render) exists.
# Crossplane core is a `crossplane` binary too (the project's .tools/bin holds both), and has
# neither command.
crossplane_cli() {
  local command=$1 caller=$2 fallback=${3:-} candidate
  local tried=()
  if [ -n "${CROSSPLANE_CLI:-}" ]; then
    "$CROSSPLANE_CLI" "$command" --help >/dev/null 2>&1 && { echo "$CROSSPLANE_CLI"; return; }
    echo "$caller: CROSSPLANE_CLI=$CROSSPLANE_CLI has no $command command: it must be the Crossplane CLI (crank), not Crossplane core" >&2
    return 1
  fi
  while IFS= read -r candidate; do
    tried+=("$candidate")
    "$candidate" "$command" --help >/dev/null 2>&1 && { echo "$candidate"; return; }
  done < <(type -ap crossplane; type -ap crank; [ -n "$fallback" ] && [ -x "$fallback" ] && echo "$fallback")
  echo "$caller: needs the Crossplane CLI (crossplane or crank with a $command command) on PATH, or CROSSPLANE_CLI (npm run tools builds it); tried: ${tried[*]:-none found}" >&2
  return 1
}
