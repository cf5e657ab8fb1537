package intake

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
)

// Enums are stored in the database as the lower-case name without the
// enum prefix: CATEGORY_SPAM_SMS is "spam_sms", REFERRING_BODY_12321 is "12321".

func enumName(full, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(full, prefix))
}

func enumValue(values map[string]int32, prefix, name string) (int32, bool) {
	if name == "" {
		return 0, false
	}
	v, ok := values[prefix+strings.ToUpper(name)]
	return v, ok && v != 0
}

func kindName(k intakev1.CaseKind) string     { return enumName(k.String(), "CASE_KIND_") }
func categoryName(c intakev1.Category) string { return enumName(c.String(), "CATEGORY_") }
func channelName(c intakev1.Channel) string   { return enumName(c.String(), "CHANNEL_") }
func bodyName(b intakev1.ReferringBody) string {
	if b == intakev1.ReferringBody_REFERRING_BODY_UNSPECIFIED {
		return ""
	}
	return enumName(b.String(), "REFERRING_BODY_")
}
func stateName(s intakev1.CaseState) string        { return enumName(s.String(), "CASE_STATE_") }
func reasonName(r intakev1.RejectionReason) string { return enumName(r.String(), "REJECTION_REASON_") }
func subjectTypeName(t intakev1.SubjectType) string {
	if t == intakev1.SubjectType_SUBJECT_TYPE_UNSPECIFIED {
		return ""
	}
	return enumName(t.String(), "SUBJECT_TYPE_")
}

func kindEnum(s string) intakev1.CaseKind {
	v, _ := enumValue(intakev1.CaseKind_value, "CASE_KIND_", s)
	return intakev1.CaseKind(v)
}
func categoryEnum(s string) intakev1.Category {
	v, _ := enumValue(intakev1.Category_value, "CATEGORY_", s)
	return intakev1.Category(v)
}
func channelEnum(s string) intakev1.Channel {
	v, _ := enumValue(intakev1.Channel_value, "CHANNEL_", s)
	return intakev1.Channel(v)
}
func bodyEnum(s string) intakev1.ReferringBody {
	v, _ := enumValue(intakev1.ReferringBody_value, "REFERRING_BODY_", s)
	return intakev1.ReferringBody(v)
}
func stateEnum(s string) intakev1.CaseState {
	v, _ := enumValue(intakev1.CaseState_value, "CASE_STATE_", s)
	return intakev1.CaseState(v)
}
func reasonEnum(s string) intakev1.RejectionReason {
	v, _ := enumValue(intakev1.RejectionReason_value, "REJECTION_REASON_", s)
	return intakev1.RejectionReason(v)
}
func subjectTypeEnum(s string) intakev1.SubjectType {
	v, _ := enumValue(intakev1.SubjectType_value, "SUBJECT_TYPE_", s)
	return intakev1.SubjectType(v)
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func tsPtr(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}
