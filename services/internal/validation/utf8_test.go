package validation

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"
)

// Every string field is walked, however deep: nested messages, lists, maps.
func TestUTF8NamesEveryBadField(t *testing.T) {
	s, err := structpb.NewStruct(map[string]any{"ok": "fine", "list": []any{"a", "b"}, "nested": map[string]any{"deep": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	var e Errors
	e.UTF8(s)
	if !e.Empty() {
		t.Fatalf("valid message refused: %v", e.Err())
	}
	s.Fields["ok"] = structpb.NewStringValue("bad \xff")
	s.Fields["list"].GetListValue().Values[1] = structpb.NewStringValue("\xc3")
	s.Fields["nested"].GetStructValue().Fields["deep"] = structpb.NewStringValue("\xfe")
	e.UTF8(s)
	got := e.Err().Error()
	for _, want := range []string{
		`fields["ok"].string_value: must be valid UTF-8`,
		`fields["list"].list_value.values[1].string_value: must be valid UTF-8`,
		`fields["nested"].struct_value.fields["deep"].string_value: must be valid UTF-8`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %s", want, got)
		}
	}
}
