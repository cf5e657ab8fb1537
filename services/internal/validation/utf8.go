package validation

import (
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// UTF8 records every string field of m (nested messages, lists and maps
// included) that is not valid UTF-8, named by its path, such as
// "attachments[0].file_name". The gRPC codec already refuses such a message
// on the wire (the public site checks the form's file names here before it
// sends them); in-process callers are caught here, before PostgreSQL refuses
// the text in a shared commit.
func (e *Errors) UTF8(m proto.Message) {
	if m != nil {
		e.utf8(m.ProtoReflect(), "")
	}
}

func (e *Errors) utf8(m protoreflect.Message, prefix string) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := prefix + string(fd.Name())
		switch {
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				e.utf8Value(fd, l.Get(i), fmt.Sprintf("%s[%d]", name, i))
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if fd.MapKey().Kind() == protoreflect.StringKind && !utf8.ValidString(k.String()) {
					e.Add(name, "has a key that is not valid UTF-8")
				}
				e.utf8Value(fd.MapValue(), mv, fmt.Sprintf("%s[%q]", name, k.String()))
				return true
			})
		default:
			e.utf8Value(fd, v, name)
		}
		return true
	})
}

func (e *Errors) utf8Value(fd protoreflect.FieldDescriptor, v protoreflect.Value, name string) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if !utf8.ValidString(v.String()) {
			e.Add(name, "must be valid UTF-8")
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		e.utf8(v.Message(), name+".")
	}
}
