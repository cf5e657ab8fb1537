// Package uploads reads the files of a multipart form into attachment
// uploads for the intake service, which checks their count, size and type
// (the console's and the public site's forms both send files this way).
package uploads

import (
	"io"
	"mime/multipart"
	"strings"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
)

// readCap bounds what is read of one file: above the intake service's
// per-file limit, so that an oversized file reaches intake and is refused
// there with its reason, yet never read whole into memory.
const readCap = 4 << 20

// Read reads the files of a form field; false when one could not be read.
// The empty file input of a form sent without a file is skipped.
func Read(files []*multipart.FileHeader) ([]*intakev1.AttachmentUpload, bool) {
	var out []*intakev1.AttachmentUpload
	for _, fh := range files {
		if fh.Filename == "" && fh.Size == 0 {
			continue
		}
		f, err := fh.Open()
		if err != nil {
			return nil, false
		}
		b, err := io.ReadAll(io.LimitReader(f, readCap))
		_ = f.Close()
		if err != nil {
			return nil, false
		}
		ct := fh.Header.Get("Content-Type")
		if i := strings.IndexByte(ct, ';'); i >= 0 {
			ct = strings.TrimSpace(ct[:i])
		}
		out = append(out, &intakev1.AttachmentUpload{FileName: fh.Filename, ContentType: ct, Content: b})
	}
	return out, true
}
