#!/usr/bin/env bash
# Build the external programs the tests run for real from their Go modules: OPA, etcd,
# kube-apiserver, kubectl, Helm, the OCI registry and ORAS CLI, and versitygw (an S3-compatible
# object store). Also fetch the wgpolicyk8s.io PolicyReport CRDs (policyreport-crds) that the
# PolicyReport tests install.
#
# Versions are pinned by small Go modules of our own: tools/ (OPA), tools/etcd, tools/kube
# (kube-apiserver, kubectl and Helm), tools/oci (registry, oras) and tools/s3 (versitygw), each
# with its go.mod and go.sum. Binaries go to tools-cache/bin/.
# Re-running is cheap: a tool is rebuilt only when its binary is missing or reports another
# version than the pinned one. First builds on 2 cores take 12-20 minutes: docs/testing.md.
#
# Usage: scripts/tools.sh [TOOL...]      TOOL: opa etcd kube-apiserver kubectl helm registry oras
#                                              versitygw policyreport-crds (default: all)
#        scripts/tools.sh --path TOOL    print the binary path only (builds it if needed)
# Env:   MODELWARD_TOOLS_CACHE           cache folder (default: <repo>/tools-cache)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_MOD="$ROOT/tools"
CACHE="${MODELWARD_TOOLS_CACHE:-$ROOT/tools-cache}"
BIN="$CACHE/bin"
# kube-apiserver first: kubectl and helm reuse most of the packages it compiles.
ALL_TOOLS=(opa etcd kube-apiserver kubectl helm registry oras versitygw policyreport-crds)
QUIET=0

log() { [[ $QUIET == 1 ]] || echo "tools: $*" >&2; }
die() { echo "tools: error: $*" >&2; exit 1; }

# The version of MODULE that the go.mod in tools/DIR requires (DIR empty: tools/ itself).
pinned_version() {
    local module="$1" gomod="$TOOLS_MOD/${2:+$2/}go.mod" version
    version="$(awk -v m="$module" '$1 == m || ($1 == "require" && $2 == m) {
        print ($1 == "require" ? $3 : $2); exit }' "$gomod")"
    [[ -n $version ]] || die "$module is not required in ${gomod#"$ROOT/"}"
    echo "$version"
}

# go build PACKAGE from the tools module in tools/DIR (empty: tools/) into OUT, atomically.
# Extra -X flags for the linker may follow.
go_build() {
    local package="$1" out="$2" dir="$TOOLS_MOD/${3:+$3/}"
    shift 3
    command -v go >/dev/null || die "the Go toolchain is required (go not on PATH)"
    mkdir -p "$BIN"
    local tmp="$out.tmp.$$"
    # -mod=readonly: the committed go.sum is the only source of module hashes.
    # -p=2: the machines have 2 cores; more parallel compiles only add memory pressure.
    (cd "$dir" && GOFLAGS="-mod=readonly -buildvcs=false -p=2" GOTOOLCHAIN=local CGO_ENABLED=0 \
        go build -trimpath -ldflags "-s -w $*" -o "$tmp" "$package") || { rm -f "$tmp"; return 1; }
    mv -f "$tmp" "$out"
}

# Build (or reuse) one tool; prints the binary path on stdout.
ensure() {
    local tool="$1"
    declare -F "want_$tool" >/dev/null || die "unknown tool '$tool' (known: ${ALL_TOOLS[*]})"
    local out want
    out="$(out_path "$tool")"
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
build_opa() { go_build "$OPA_MODULE" "$1" ""; }

# --- etcd (tools/etcd) ---------------------------------------------------------------------
# From the Go module rather than Debian: bookworm's etcd-server is 3.4.23, two minor releases
# behind the etcd 3.7 client that Kubernetes 1.37 uses, and a Go build needs neither root nor apt.
ETCD_MODULE=go.etcd.io/etcd/server/v3

want_etcd() { local v; v="$(pinned_version "$ETCD_MODULE" etcd)"; echo "${v#v}"; }

have_etcd() { "$1" --version 2>/dev/null | awk '$1 == "etcd" && $2 == "Version:" { print $3; exit }'; }

# The release version is a constant of go.etcd.io/etcd/api/v3/version, so no -X flag is needed.
build_etcd() { go_build "$ETCD_MODULE" "$1" etcd; }

# --- kube-apiserver (tools/kube) -----------------------------------------------------------
# tools/kube/pin.sh writes tools/kube/go.mod for a release: k8s.io/kubernetes plus replace lines
# that pin each of its staging modules (k8s.io/api, k8s.io/apiserver, ...) to v0.MINOR.PATCH.
# Helm is required by the same module, so it builds on the same client-go and reuses most of
# the packages compiled for kube-apiserver (about 1 minute instead of 5).
KUBE_MODULE=k8s.io/kubernetes

want_kube-apiserver() { pinned_version "$KUBE_MODULE" kube; }

have_kube-apiserver() { "$1" --version 2>/dev/null | awk '$1 == "Kubernetes" { print $2; exit }'; }

# Kubernetes' own build stamps the release into component-base (and client-go's user agent).
kube_version_flags() {
    local v minor pkg key
    v="$(want_kube-apiserver)"
    minor="${v#v1.}"
    minor="${minor%%.*}"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        for key in "gitVersion=$v" gitMajor=1 "gitMinor=$minor" gitTreeState=clean; do
            echo "-X $pkg.$key"
        done
    done
}

build_kube-apiserver() {
    local flags
    mapfile -t flags < <(kube_version_flags)
    go_build "$KUBE_MODULE/cmd/kube-apiserver" "$1" kube "${flags[@]}"
}

# --- kubectl (tools/kube) ------------------------------------------------------------------
# The documentation's walkthrough is run with it against the test API server.
want_kubectl() { want_kube-apiserver; }

have_kubectl() {
    "$1" version --client 2>/dev/null | awk '$1 == "Client" && $2 == "Version:" { print $3; exit }'
}

build_kubectl() {
    local flags
    mapfile -t flags < <(kube_version_flags)
    go_build "$KUBE_MODULE/cmd/kubectl" "$1" kube "${flags[@]}"
}

# --- Helm (tools/kube) ---------------------------------------------------------------------
# Helm 4: the current major release; it reads and renders apiVersion v2 charts.
HELM_MODULE=helm.sh/helm/v4

want_helm() { pinned_version "$HELM_MODULE" kube; }

have_helm() { "$1" version --template '{{.Version}}' 2>/dev/null; }

# Without the flag Helm reports only MAJOR.MINOR; its Makefile stamps the release the same way.
build_helm() {
    go_build "$HELM_MODULE/cmd/helm" "$1" kube "-X $HELM_MODULE/internal/version.version=$(want_helm)"
}

# --- OCI registry (tools/oci) ---------------------------------------------------------------
# The CNCF Distribution registry: the oci:// resolver's tests push to and pull from a real one.
REGISTRY_MODULE=github.com/distribution/distribution/v3

want_registry() { pinned_version "$REGISTRY_MODULE" oci; }

# Prints "registry github.com/distribution/distribution/v3 vX.Y.Z".
have_registry() { "$1" --version 2>/dev/null | awk '{ print $3; exit }'; }

build_registry() {
    go_build "$REGISTRY_MODULE/cmd/registry" "$1" oci "-X $REGISTRY_MODULE/version.version=$(want_registry)"
}

# --- ORAS CLI (tools/oci) ------------------------------------------------------------------
# Pushes generic artifacts in the tests, as users of the oci:// scheme do.
ORAS_MODULE=oras.land/oras

want_oras() { local v; v="$(pinned_version "$ORAS_MODULE" oci)"; echo "${v#v}"; }

have_oras() { "$1" version 2>/dev/null | awk '$1 == "Version:" { print $2; exit }'; }

# oras's version package carries the release version, so no -X flag is needed.
build_oras() { go_build "$ORAS_MODULE/cmd/oras" "$1" oci; }

# --- versitygw (tools/s3) -----------------------------------------------------------------
# A real S3 server for the s3:// and gs:// resolver tests: its posix backend keeps objects as
# files and, given a versioning folder, supports bucket versioning (pinning by versionId).
VGW_MODULE=github.com/versity/versitygw

want_versitygw() { pinned_version "$VGW_MODULE" s3; }

have_versitygw() { "$1" --version 2>/dev/null | awk '$1 == "Version" { print $3; exit }'; }

# Its Makefile stamps the release into main.Version; without it the binary says "git".
build_versitygw() {
    go_build "$VGW_MODULE/cmd/versitygw" "$1" s3 "-X main.Version=$(want_versitygw)"
}

# Where TOOL goes: a binary in bin/, except the CRD folder.
out_path() {
    case "$1" in
        policyreport-crds) echo "$CACHE/crds/policyreport" ;;
        *) echo "$BIN/$1" ;;
    esac
}

# --- PolicyReport CRDs ------------------------------------------------------------------------
# Not a program: the wgpolicyk8s.io/v1alpha2 PolicyReport and ClusterPolicyReport CRDs, as
# Kyverno ships them (Apache-2.0), read from its module zip on the Go module proxy (no GitHub
# download). Pinned by the module version and by the SHA-256 of each file; nothing is committed.
POLR_MODULE=github.com/kyverno/kyverno
POLR_VERSION=v1.12.5
POLR_PATH=config/crds/policyreport
POLR_FILES=(
    "wgpolicyk8s.io_policyreports.yaml 442f4d47fbd6e640c8c2971a0ece125a703ae6dc6fccc2f6ba6eed7d5fa2dcbd"
    "wgpolicyk8s.io_clusterpolicyreports.yaml 75807a6b8b62167b709a5d32bc4161ffef128d56e3083ea39541088d7ed1e6ac"
)

want_policyreport-crds() { echo "$POLR_MODULE@$POLR_VERSION"; }

have_policyreport-crds() { cat "$1/VERSION"; }

build_policyreport-crds() {
    local out="$1" tmp="$1.tmp.$$" proxy="${GOPROXY:-https://proxy.golang.org}"
    proxy="${proxy%%,*}"
    [[ $proxy == http* ]] || proxy=https://proxy.golang.org
    command -v unzip >/dev/null || die "unzip is required to read the module zip"
    rm -rf "$tmp" && mkdir -p "$tmp"
    curl -fsSL --retry 3 -o "$tmp/module.zip" "$proxy/$POLR_MODULE/@v/$POLR_VERSION.zip" \
        || { rm -rf "$tmp"; die "cannot fetch $POLR_MODULE@$POLR_VERSION from $proxy"; }
    local entry file sum
    for entry in "${POLR_FILES[@]}"; do
        read -r file sum <<<"$entry"
        unzip -p "$tmp/module.zip" "$POLR_MODULE@$POLR_VERSION/$POLR_PATH/$file" >"$tmp/$file"
        echo "$sum  $tmp/$file" | sha256sum -c --quiet - \
            || { rm -rf "$tmp"; die "$file: SHA-256 differs from the pinned one"; }
    done
    rm -f "$tmp/module.zip"
    want_policyreport-crds >"$tmp/VERSION"
    rm -rf "$out" && mv "$tmp" "$out"
}

main() {
    local path_only=0 tools=()
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --path) path_only=1; QUIET=1 ;;
            -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
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
