package console

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/workflows/calendar"
)

// The reports page: stored monthly and yearly documents, register exports
// and inspection packages, all through ReportingService with the session's
// credential. Files are copied chunk by chunk from the gRPC stream to the
// response, so the console holds one chunk at a time whatever the size, and
// a browser that goes away cancels the export on the service.

// exportReports are the exports the form offers, in its order.
var exportReports = []struct {
	Key    string
	Report reportingv1.Report
}{
	{"cases", reportingv1.Report_REPORT_CASE_REGISTER},
	{"sla", reportingv1.Report_REPORT_SLA_STATISTICS},
	{"deletions", reportingv1.Report_REPORT_DELETION_REGISTER},
	{"escalations", reportingv1.Report_REPORT_ESCALATION_REGISTER},
	{"audit", reportingv1.Report_REPORT_AUDIT_EXTRACT},
}

var exportGroups = []struct {
	Key   string
	Group reportingv1.GroupBy
}{
	{"category", reportingv1.GroupBy_GROUP_BY_CATEGORY},
	{"channel", reportingv1.GroupBy_GROUP_BY_CHANNEL},
	{"rule", reportingv1.GroupBy_GROUP_BY_RULE},
	{"month", reportingv1.GroupBy_GROUP_BY_MONTH},
}

type reportDoc struct {
	ID, Kind, Period, FileName, Size, SHA256, Created, Emailed string
}

// exportForm is what the forms show (the last values sent, after an error).
type exportForm struct {
	Report, Format, GroupBy, From, To string
}

type reportsData struct {
	Docs      []reportDoc
	DocsError string
	Reports   []string
	Groups    []string
	Export    exportForm
	Package   exportForm // From and To of the inspection package form
}

// requires refuses a page to a role without permission p (the services would
// refuse its calls too; this keeps a forced URL from getting half a page).
func (s *Server) requires(p access.Permission, h authedHandler) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, v *view) {
		if !v.Can(string(p)) {
			s.render(w, http.StatusForbidden, "message", v, "forbidden")
			return
		}
		h(w, r, v)
	}
}

func (s *Server) reportsPage(w http.ResponseWriter, r *http.Request, v *view) {
	s.renderReports(w, r, v, http.StatusOK, nil, nil)
}

// renderReports shows the page; after a refused export it keeps the values
// sent and says what was wrong.
func (s *Server) renderReports(w http.ResponseWriter, r *http.Request, v *view, code int, exp, pkg *exportForm) {
	d := reportsData{}
	for _, e := range exportReports {
		d.Reports = append(d.Reports, e.Key)
	}
	for _, g := range exportGroups {
		d.Groups = append(d.Groups, g.Key)
	}
	// Default range: the previous month, in the zone of the deadlines.
	today := calendar.DateOf(s.c.Now(), calendar.Shanghai())
	first := calendar.NewDate(today.Year, today.Month, 1)
	def := exportForm{Report: "cases", Format: "csv", GroupBy: "category",
		From: first.AddMonths(-1).String(), To: first.AddDays(-1).String()}
	d.Export, d.Package = def, def
	if exp != nil {
		d.Export = *exp
	}
	if pkg != nil {
		d.Package = *pkg
	}
	list, err := s.c.Reporting.ListDocuments(v.rpc(r.Context()), &reportingv1.ListDocumentsRequest{Limit: 48})
	if err != nil {
		if status.Code(err) == codes.PermissionDenied {
			s.render(w, http.StatusForbidden, "message", v, "forbidden")
			return
		}
		s.c.Log.Error("console list documents", "code", status.Code(err).String())
		d.DocsError = translate(v.Lang, "error")
	}
	for _, doc := range list.GetDocuments() {
		d.Docs = append(d.Docs, reportDoc{ID: doc.GetId(), Kind: doc.GetKind(),
			Period:   dayOf(doc.GetPeriodStart()) + " – " + dayOf(timestamppb.New(doc.GetPeriodEnd().AsTime().Add(-time.Nanosecond))),
			FileName: doc.GetFileName(), Size: byteSize(doc.GetSizeBytes()), SHA256: doc.GetSha256(),
			Created: fmtTime(doc.GetCreatedAt()), Emailed: fmtTime(doc.GetEmailedAt())})
	}
	v.Title, v.Data = translate(v.Lang, "reports"), d
	s.render(w, code, "reports", v, "")
}

// dayOf is the day of t in Asia/Shanghai (the periods' zone).
func dayOf(t *timestamppb.Timestamp) string {
	if !t.IsValid() {
		return ""
	}
	return t.AsTime().In(calendar.Shanghai()).Format("2006-01-02")
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// dayRange reads the form's first and last day (both included, days in
// Asia/Shanghai, as `redress export`). Whether the range makes sense is the
// service's to say.
func dayRange(lang, from, to string) (*timestamppb.Timestamp, *timestamppb.Timestamp, string) {
	f, err := calendar.ParseDate(from)
	if err != nil {
		return nil, nil, translate(lang, "from") + ": " + translate(lang, "reports.bad_date")
	}
	t, err := calendar.ParseDate(to)
	if err != nil {
		return nil, nil, translate(lang, "to") + ": " + translate(lang, "reports.bad_date")
	}
	loc := calendar.Shanghai()
	return timestamppb.New(f.Start(loc)), timestamppb.New(t.End(loc)), ""
}

// export streams one register or the SLA statistics.
func (s *Server) export(w http.ResponseWriter, r *http.Request, v *view) {
	f := exportForm{Report: r.PostFormValue("report"), Format: r.PostFormValue("format"), GroupBy: r.PostFormValue("group_by"),
		From: r.PostFormValue("from"), To: r.PostFormValue("to")}
	req := &reportingv1.ExportRequest{}
	for _, e := range exportReports {
		if e.Key == f.Report {
			req.Report = e.Report
		}
	}
	for _, g := range exportGroups {
		if g.Key == f.GroupBy {
			req.GroupBy = g.Group
		}
	}
	switch f.Format {
	case "csv":
		req.Format = reportingv1.Format_FORMAT_CSV
	case "xlsx":
		req.Format = reportingv1.Format_FORMAT_XLSX
	}
	var msg string
	if req.From, req.To, msg = dayRange(v.Lang, f.From, f.To); msg != "" {
		v.Error = msg
		s.renderReports(w, r, v, http.StatusBadRequest, &f, nil)
		return
	}
	ctx, cancel := context.WithCancel(v.rpc(r.Context()))
	defer cancel()
	stream, err := s.c.Reporting.Export(ctx, req)
	if err == nil {
		err = sendFile(w, stream.Recv)
	}
	s.fileError(w, r, v, err, func(code int) { s.renderReports(w, r, v, code, &f, nil) })
}

// inspection streams an inspection package (a zip) for the range.
func (s *Server) inspection(w http.ResponseWriter, r *http.Request, v *view) {
	f := exportForm{From: r.PostFormValue("from"), To: r.PostFormValue("to")}
	from, to, msg := dayRange(v.Lang, f.From, f.To)
	if msg != "" {
		v.Error = msg
		s.renderReports(w, r, v, http.StatusBadRequest, nil, &f)
		return
	}
	ctx, cancel := context.WithCancel(v.rpc(r.Context()))
	defer cancel()
	stream, err := s.c.Reporting.InspectionPackage(ctx, &reportingv1.InspectionPackageRequest{From: from, To: to})
	if err == nil {
		err = sendFile(w, stream.Recv)
	}
	s.fileError(w, r, v, err, func(code int) { s.renderReports(w, r, v, code, nil, &f) })
}

// document downloads a stored report.
func (s *Server) document(w http.ResponseWriter, r *http.Request, v *view) {
	ctx, cancel := context.WithCancel(v.rpc(r.Context()))
	defer cancel()
	stream, err := s.c.Reporting.DownloadDocument(ctx, &reportingv1.DownloadDocumentRequest{Id: r.PathValue("id")})
	if err == nil {
		err = sendFile(w, stream.Recv)
	}
	s.fileError(w, r, v, err, nil)
}

// errSent marks a failure after the response began: nothing is left to answer.
var errSent = errors.New("response already sent")

// fileError answers a failed download. Refused input is shown on the page
// (again) when there is one; a failure after the first bytes went out can
// only break the connection, so the browser reports a failed download
// instead of keeping a truncated file.
func (s *Server) fileError(w http.ResponseWriter, r *http.Request, v *view, err error, page func(code int)) {
	switch {
	case err == nil:
		return
	case errors.Is(err, errSent):
		if err != errSent && r.Context().Err() == nil { // the browser is still there: the service failed
			s.c.Log.Error("console download broke off", "path", r.URL.Path, "code", status.Code(err).String())
			panic(http.ErrAbortHandler)
		}
		return // the browser went away, which cancelled the call
	}
	if st, _ := status.FromError(err); page != nil && st.Code() == codes.InvalidArgument {
		v.Error = translate(v.Lang, "bad_request") + ": " + st.Message()
		page(http.StatusBadRequest)
		return
	}
	s.fail(w, r, v, err)
}

type chunked interface{ GetChunk() *reportingv1.Chunk }

// sendFile copies a streamed file to the response. Errors before the first
// chunk (refusals, bad input) come back untouched for the caller to answer;
// later ones are errSent (writing failed: the browser left) or wrap it.
func sendFile[T chunked](w http.ResponseWriter, recv func() (T, error)) error {
	first, err := recv()
	if err != nil {
		if errors.Is(err, io.EOF) { // a stream that ended without a file
			err = status.Error(codes.Internal, "empty download")
		}
		return err
	}
	c := first.GetChunk()
	ct := c.GetContentType()
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		ct = "application/octet-stream"
	}
	name := path.Base("/" + c.GetFileName())
	if name == "/" {
		name = "download"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.WriteHeader(http.StatusOK)
	data := c.GetData()
	for {
		if _, err := w.Write(data); err != nil {
			return errSent
		}
		msg, err := recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errors.Join(errSent, err)
		}
		data = msg.GetChunk().GetData()
	}
}
