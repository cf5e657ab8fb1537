package deletion

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/answers"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/validation"
)

// Facts serves DeletionFactsService: the escalation service checks deletion
// requests and has follow-up answers about them sealed through it instead of
// reading the deletion service's tables and its requesters' keys.
type Facts struct {
	deletionv1.UnimplementedDeletionFactsServiceServer
	DB   *gorm.DB
	Keys *crypto.Keyring
}

var _ deletionv1.DeletionFactsServiceServer = (*Facts)(nil)

func notFound(id string) error {
	return status.Errorf(codes.NotFound, "request_id: deletion request %s not found", id)
}

// GetDeletionFacts answers a request's status and dates.
func (s *Facts) GetDeletionFacts(ctx context.Context, req *deletionv1.GetDeletionFactsRequest) (*deletionv1.GetDeletionFactsResponse, error) {
	var v validation.Errors
	v.UUID("request_id", req.GetRequestId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	var r Request
	err := s.DB.WithContext(ctx).Select("id", "type", "status", "created_at", "due_at").Take(&r, "id = ?", req.RequestId).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, notFound(req.RequestId)
	} else if err != nil {
		return nil, err
	}
	return &deletionv1.GetDeletionFactsResponse{Facts: &deletionv1.DeletionFacts{RequestId: r.ID, Type: r.Type, Status: r.Status,
		ReceivedAt: timestamppb.New(r.CreatedAt), DueAt: timestamppb.New(r.DueAt)}}, nil
}

// requestKey is the subject key of the request's requester (crypto.ErrShredded
// once destroyed); an unknown request answers NOT_FOUND.
func (s *Facts) requestKey(db *gorm.DB, id string) (crypto.SubjectKey, error) {
	var ids []string
	if err := db.Model(&Request{}).Where("id = ?", id).Pluck("subject_key_id", &ids).Error; err != nil {
		return crypto.SubjectKey{}, err
	}
	if len(ids) != 1 {
		return crypto.SubjectKey{}, notFound(id)
	}
	return s.Keys.SubjectKey(db, ids[0])
}

// SealRequestAnswer seals a follow-up answer under the requester's key.
func (s *Facts) SealRequestAnswer(ctx context.Context, req *deletionv1.SealRequestAnswerRequest) (*deletionv1.SealRequestAnswerResponse, error) {
	enc, err := answers.Seal("request_id", req.GetRequestId(), req.GetAnswer(), func() (crypto.SubjectKey, error) {
		return s.requestKey(s.DB.WithContext(ctx), req.GetRequestId())
	})
	if err != nil {
		return nil, err
	}
	return &deletionv1.SealRequestAnswerResponse{Sealed: enc}, nil
}

// OpenRequestAnswers opens answers sealed by SealRequestAnswer for the request.
func (s *Facts) OpenRequestAnswers(ctx context.Context, req *deletionv1.OpenRequestAnswersRequest) (*deletionv1.OpenRequestAnswersResponse, error) {
	opened, err := answers.Open("request_id", req.GetRequestId(), req.GetSealed(), func() (crypto.SubjectKey, error) {
		return s.requestKey(s.DB.WithContext(ctx), req.GetRequestId())
	})
	if err != nil {
		return nil, err
	}
	out := make([]*deletionv1.RequestAnswer, len(opened))
	for i, a := range opened {
		out[i] = &deletionv1.RequestAnswer{Text: a.Text, Erased: a.Erased, Unreadable: a.Unreadable}
	}
	return &deletionv1.OpenRequestAnswersResponse{Answers: out}, nil
}
