//go:build tools

// Package tools pins the OCI registry and ORAS releases scripts/tools.sh builds for the tests.
package tools

import (
	_ "github.com/distribution/distribution/v3/cmd/registry"
	_ "oras.land/oras/cmd/oras"
)
