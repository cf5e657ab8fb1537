package access

import (
	"context"
	"log/slog"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/audit"
)

// AuditRefusals answers a RefusalFunc that counts the refused call in the
// audit record: anyone holding a credential can repeat a refused call at
// will, so refusals become one "access.refused" entry per principal and
// minute with the count, the methods tried and the first objects named
// (audit.Count, written to the chain by audit.RunCountFlusher). A failed
// count is logged; the call is refused either way.
func AuditRefusals(db *gorm.DB, log *slog.Logger) RefusalFunc {
	return func(ctx context.Context, p Principal, method string, perm Permission, req any) {
		sample := ""
		if name, id := requestObject(req); id != "" {
			sample = name + ":" + id
		}
		err := audit.Count(db.WithContext(context.WithoutCancel(ctx)), audit.Counted{Action: "access.refused", Actor: p.ID,
			ObjectType: "principal", ObjectID: p.ID, Kind: method + " needs " + string(perm) + " (" + string(p.Role) + ")", Sample: sample})
		if err != nil {
			log.Error("audit of a refused call failed", "method", method, "err", err)
		}
	}
}

// requestObject finds the object a request is about: its first set string
// field named id or ending in _id ("deletion_id" → deletion, id).
func requestObject(req any) (string, string) {
	m, ok := req.(proto.Message)
	if !ok || m == nil {
		return "", ""
	}
	r := m.ProtoReflect()
	fields := r.Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		name := string(f.Name())
		if f.Kind() != protoreflect.StringKind || f.IsList() || (name != "id" && !strings.HasSuffix(name, "_id")) {
			continue
		}
		if v := r.Get(f).String(); v != "" {
			if name == "id" {
				return "object", v
			}
			return strings.TrimSuffix(name, "_id"), v
		}
	}
	return "", ""
}
