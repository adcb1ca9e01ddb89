//go:build tools

// Pins the upstream command this module builds; never compiled itself.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
