package filing

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/redress/redress/services/internal/audit"
)

// CheckpointsFile carries the signed checkpoints of the audit chain (see
// audit.Checkpointer) from the proof's first entry to the first checkpoint
// after its last: the regulator can check them against the operator's
// published checkpoint key, and `redress audit verify -filing` checks them
// against the chain.
const CheckpointsFile = "audit-checkpoints.json"

// ReadCheckpoints answers the checkpoints a package carries (none for a
// package built before they existed). Call Read first: it checks the
// package's files against the manifest.
func ReadCheckpoints(zipBytes []byte) ([]audit.CheckpointDoc, error) {
	zr, err := zip.NewReader(bytes.NewReader(zipBytes), int64(len(zipBytes)))
	if err != nil {
		return nil, fmt.Errorf("filing: not a ZIP: %w", err)
	}
	f, err := zr.Open(CheckpointsFile)
	if err != nil {
		return nil, nil
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, 64<<20))
	if err != nil {
		return nil, err
	}
	var docs []json.RawMessage
	if err := json.Unmarshal(b, &docs); err != nil {
		return nil, fmt.Errorf("filing: %s: %w", CheckpointsFile, err)
	}
	out := make([]audit.CheckpointDoc, len(docs))
	for i, d := range docs {
		out[i] = audit.CheckpointDoc{Source: "filing package " + CheckpointsFile, Document: d}
	}
	return out, nil
}
