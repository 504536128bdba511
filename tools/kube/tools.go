//go:build tools

// Package tools pins the Kubernetes release whose kube-apiserver scripts/tools.sh builds, and
// the Helm release. One module for both: Helm is built on the same client-go release, so the
// second build reuses most of the packages the first one compiled.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
