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

// AuditRefusals answers a RefusalFunc that writes an "access.refused" entry
// to the audit chain: who tried what, on which object, lacking which
// permission. A failed write is logged; the call is refused either way.
func AuditRefusals(db *gorm.DB, log *slog.Logger) RefusalFunc {
	return func(ctx context.Context, p Principal, method string, perm Permission, req any) {
		objectType, objectID := "rpc", method
		if name, id := requestObject(req); id != "" {
			objectType, objectID = name, id
		}
		err := db.WithContext(context.WithoutCancel(ctx)).Transaction(func(tx *gorm.DB) error {
			_, err := audit.Append(tx, audit.Entry{Actor: p.ID, Action: "access.refused", ObjectType: objectType, ObjectID: objectID,
				Details: map[string]any{"method": method, "permission": string(perm), "role": string(p.Role)}})
			return err
		})
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
