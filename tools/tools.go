//go:build tools

// Package tools pins the versions of the Go programs scripts/tools.sh builds.
package tools

import (
	_ "github.com/open-policy-agent/opa"
)
