//go:build tools

// Package tools pins the versitygw release scripts/tools.sh builds: an S3-compatible object
// store (posix backend, bucket versioning) that the tests of the s3:// and gs:// resolvers run.
package tools

import (
	_ "github.com/versity/versitygw/cmd/versitygw"
)
