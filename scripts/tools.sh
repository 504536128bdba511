#!/usr/bin/env bash
# Build the external programs the tests run for real (OPA today) from their Go modules.
#
# Versions are pinned in tools/go.mod and tools/go.sum; binaries go to tools-cache/bin/.
# Re-running is cheap: a tool is rebuilt only when its binary is missing or reports
# another version than the pinned one.
#
# Usage: scripts/tools.sh [TOOL...]      TOOL: opa (default: all)
#        scripts/tools.sh --path TOOL    print the binary path only (builds it if needed)
# Env:   MODELWARD_TOOLS_CACHE           cache folder (default: <repo>/tools-cache)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_MOD="$ROOT/tools"
CACHE="${MODELWARD_TOOLS_CACHE:-$ROOT/tools-cache}"
BIN="$CACHE/bin"
ALL_TOOLS=(opa)
QUIET=0

log() { [[ $QUIET == 1 ]] || echo "tools: $*" >&2; }
die() { echo "tools: error: $*" >&2; exit 1; }

# The version of MODULE that tools/go.mod requires (e.g. v1.22.2).
pinned_version() {
    local module="$1" version
    version="$(awk -v m="$module" '$1 == m || ($1 == "require" && $2 == m) {
        print ($1 == "require" ? $3 : $2); exit }' "$TOOLS_MOD/go.mod")"
    [[ -n $version ]] || die "$module is not required in tools/go.mod"
    echo "$version"
}

# go build PACKAGE from the tools module into OUT, atomically.
go_build() {
    local package="$1" out="$2"
    command -v go >/dev/null || die "the Go toolchain is required (go not on PATH)"
    mkdir -p "$BIN"
    local tmp="$out.tmp.$$"
    # -mod=readonly: the committed go.sum is the only source of module hashes.
    (cd "$TOOLS_MOD" && GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local CGO_ENABLED=0 \
        go build -trimpath -ldflags "-s -w" -o "$tmp" "$package") || { rm -f "$tmp"; return 1; }
    mv -f "$tmp" "$out"
}

# Build (or reuse) one tool; prints the binary path on stdout.
ensure() {
    local tool="$1"
    declare -F "want_$tool" >/dev/null || die "unknown tool '$tool' (known: ${ALL_TOOLS[*]})"
    local out="$BIN/$tool" want
    want="$("want_$tool")"
    if [[ -x $out ]] && [[ "$("have_$tool" "$out" 2>/dev/null || true)" == "$want" ]]; then
        log "$tool $want is up to date"
    else
        log "building $tool $want (first build downloads modules and compiles; minutes)"
        local start=$SECONDS
        "build_$tool" "$out"
        local got
        got="$("have_$tool" "$out")" || die "$out does not run"
        [[ $got == "$want" ]] || die "$out reports version $got, expected $want"
        log "built $tool $want in $((SECONDS - start)) s"
    fi
    echo "$out"
}

# --- OPA ---------------------------------------------------------------------------------
OPA_MODULE=github.com/open-policy-agent/opa

want_opa() { local v; v="$(pinned_version "$OPA_MODULE")"; echo "${v#v}"; }

have_opa() { "$1" version 2>/dev/null | awk '$1 == "Version:" { print $2; exit }'; }

# OPA's version package carries the release version, so no -X flag is needed.
build_opa() { go_build "$OPA_MODULE" "$1"; }

# --- Further tools (helm, kube-apiserver) add want_/have_/build_ functions here and their
# --- names to ALL_TOOLS; their modules go into tools/go.mod like OPA's.

main() {
    local path_only=0 tools=()
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --path) path_only=1; QUIET=1 ;;
            -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
            -*) die "unknown option $1" ;;
            *) tools+=("$1") ;;
        esac
        shift
    done
    [[ ${#tools[@]} -gt 0 ]] || tools=("${ALL_TOOLS[@]}")
    mkdir -p "$BIN"
    # One build at a time per cache folder (parallel test runners may call this together).
    if command -v flock >/dev/null; then
        exec 9>"$CACHE/.lock"
        flock 9
    fi
    local tool out
    for tool in "${tools[@]}"; do
        out="$(ensure "$tool")"
        if [[ $path_only == 1 ]]; then
            echo "$out"
        else
            echo "$tool: $out"
        fi
    done
}

main "$@"
