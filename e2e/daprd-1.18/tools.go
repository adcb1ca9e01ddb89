//go:build tools

// Pins the upstream commands this module builds; never compiled itself.
package tools

import (
	_ "github.com/dapr/dapr/cmd/daprd"
	_ "github.com/dapr/dapr/cmd/injector"
)
