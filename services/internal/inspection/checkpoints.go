package inspection

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/signed"
)

// CheckpointsFile carries the signed checkpoints of the chain (see
// audit.Checkpointer) that fall in the extract's range, and the first one
// after it: a package then shows that the operator's chain, as signed with
// a key the database never held, passed through the extract's entries.
const CheckpointsFile = "audit/checkpoints.json"

func (b *Builder) checkpoints(ctx context.Context, p Proof, w io.Writer) error {
	docs := []json.RawMessage{}
	if p.Entries > 0 {
		var err error
		if docs, err = audit.CheckpointsCovering(ctx, b.DB, p.FirstSeq, p.LastSeq); err != nil {
			return err
		}
	}
	return writeJSON(w, docs)
}

// checkpointHashes checks the signature of every carried checkpoint (against
// want when given, else all with one key, which is named) and answers the
// hash each signs by seq, for verifyChain to match against the extract.
func checkpointHashes(fsys fs.FS, want ed25519.PublicKey) (map[int64]string, string, int, string) {
	b, err := fs.ReadFile(fsys, CheckpointsFile)
	if err != nil {
		return nil, "", 0, "" // packages built before checkpoints carry none
	}
	var docs []json.RawMessage
	if err := json.Unmarshal(b, &docs); err != nil {
		return nil, "", 0, CheckpointsFile + ": not a JSON array"
	}
	hashes := map[int64]string{}
	key := ""
	for i, d := range docs {
		pub, err := signed.Verify(d, want)
		if err != nil {
			return nil, "", 0, fmt.Sprintf("%s: checkpoint %d: %v", CheckpointsFile, i+1, err)
		}
		cp, err := audit.ParseCheckpoint(d, pub)
		if err != nil {
			return nil, "", 0, fmt.Sprintf("%s: checkpoint %d: %v", CheckpointsFile, i+1, err)
		}
		if key != "" && key != cp.Key {
			return nil, "", 0, fmt.Sprintf("%s: checkpoints signed by different keys (%s, %s)", CheckpointsFile, key, cp.Key)
		}
		key = cp.Key
		hashes[cp.Seq] = fmt.Sprintf("%x", cp.Hash)
	}
	return hashes, key, len(docs), ""
}
