package console

import (
	"testing"

	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
)

// The preferences form lists every alert kind: each needs its label in
// both languages, or the Chinese console would show the enum's name.
func TestEveryAlertKindHasLabels(t *testing.T) {
	for k, name := range identityv1.AlertKind_name {
		if identityv1.AlertKind(k) == identityv1.AlertKind_ALERT_KIND_UNSPECIFIED {
			continue
		}
		en, zh := messages["en"]["alert."+name], messages["zh"]["alert."+name]
		if en == "" || zh == "" || en == zh {
			t.Errorf("%s: labels %q (en) and %q (zh)", name, en, zh)
		}
	}
}
