package intake

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/services/internal/validation"
)

// SetCaseLanguage records the complainant's language as an agent learned it
// (on the phone, from a letter): every later notice, the status page and
// the certificate speak it. Setting the language the case has already
// changes nothing and writes no audit entry.
func (s *Server) SetCaseLanguage(ctx context.Context, req *intakev1.SetCaseLanguageRequest) (*intakev1.SetCaseLanguageResponse, error) {
	var e validation.Errors
	e.UUID("case_id", req.GetCaseId())
	lang := languageOf(req.GetLanguage())
	if strings.TrimSpace(req.GetLanguage()) == "" || lang == "" {
		e.Add("language", "must be zh or en (a tag such as zh-CN or en-GB is accepted)")
	}
	if err := e.Err(); err != nil {
		return nil, err
	}
	c, err := s.caseRow(ctx, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var before string
		// Locked, so that two agents' changes are audited in the order they apply.
		if err := tx.Raw(`SELECT language FROM cases WHERE id = ? FOR UPDATE`, c.ID).Scan(&before).Error; err != nil {
			return err
		}
		if before == lang {
			return nil
		}
		if err := tx.Model(&records.Case{}).Where("id = ?", c.ID).
			Updates(map[string]any{"language": lang, "updated_at": time.Now().UTC()}).Error; err != nil {
			return err
		}
		_, err := audit.Append(tx, audit.Entry{
			Actor: access.Actor(ctx), Action: "case.language_set", ObjectType: "case", ObjectID: c.ID,
			BeforeDigest: audit.Digest(map[string]any{"language": before}), AfterDigest: audit.Digest(map[string]any{"language": lang}),
			Details: map[string]any{"from": before, "to": lang},
		})
		return err
	})
	if err != nil {
		s.log.Error("set case language", "case_id", c.ID, "err", err)
		return nil, status.Error(codes.Unavailable, "the language could not be saved; retry")
	}
	out, err := s.loadCase(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	return &intakev1.SetCaseLanguageResponse{Case: out}, nil
}
