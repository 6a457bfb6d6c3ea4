package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"kash/engine"
	"kash/persistence"
)

// maxKYCFile bounds each uploaded file (API.md: 5 MiB).
const maxKYCFile = 5 << 20

var (
	errBodyTooLarge = errors.New("request body too large")
	errFileTooLarge = errors.New("file too large")
)

// kycFile is one stored upload.
type kycFile struct {
	key         string
	contentType string
	sum         [sha256.Size]byte
}

// kycUpload is a received submission whose files are in the blob store.
type kycUpload struct {
	id           string
	documentType string
	document     *kycFile
	selfie       *kycFile
}

// hash is what an Idempotency-Key must match for an upload: the fields and
// the files' content, not the raw body, whose multipart boundary differs
// on every try.
func (u *kycUpload) hash() []byte {
	h := sha256.New()
	fmt.Fprintf(h, "POST /v1/kyc\n%s\n%x %s\n%x %s", u.documentType, u.document.sum, u.document.contentType,
		u.selfie.sum, u.selfie.contentType)
	return h.Sum(nil)
}

// postKYC receives a KYC submission: POST /v1/kyc, multipart with
// document_type, document and selfie. Files are streamed to the blob store
// within their limits, their content sniffed (never trusted from names or
// part headers), then recorded with the ops notification.
func (s *Server) postKYC(c *call) reply {
	mt, params, err := mime.ParseMediaType(string(c.ctx.Request.Header.ContentType()))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return errorReply(newError(codeUnsupportedMediaType, "KYC uploads are multipart/form-data."))
	}
	if c.ctx.Request.Header.ContentLength() > maxMultipartBody {
		return tooLarge("The upload is larger than 12 MiB.")
	}
	if c.idemKey == "" {
		// Without a key, refuse early rather than read 12 MiB for nothing.
		// With one, the stored outcome of the first try must win instead.
		if k, err := s.identity.LatestKYC(c.context(), c.userID); err == nil && k.Status != "rejected" {
			return errorReply(errKYCExists)
		}
	}
	up := &kycUpload{id: randomID("kyc")}
	used := false
	defer func() {
		if !used {
			s.deleteUpload(up)
		}
	}()
	if aerr := s.receiveKYC(c, up, multipart.NewReader(requestBody(c), params["boundary"])); aerr != nil {
		r := errorReply(aerr)
		r.closeConn = aerr.code == codePayloadTooLarge // the rest of the body is not read
		return r
	}
	create := func() reply {
		r := s.createKYC(c, up)
		used = r.status == http.StatusCreated
		return r
	}
	if c.idemKey != "" {
		return s.idempotent(c, up.hash(), create)
	}
	return create()
}

var errKYCExists = newError(codeKYCExists, "A KYC submission is already pending or approved.")

func tooLarge(message string) reply {
	r := errorReply(newError(codePayloadTooLarge, message))
	r.closeConn = true // the rest of the body is not read
	return r
}

func (s *Server) createKYC(c *call, up *kycUpload) reply {
	k, err := s.identity.CreateKYC(c.context(), persistence.KYC{ID: up.id, UserID: c.userID,
		DocumentType: up.documentType, DocumentKey: up.document.key, DocumentContentType: up.document.contentType,
		SelfieKey: up.selfie.key, SelfieContentType: up.selfie.contentType, CreatedAt: c.now},
		engine.OutboxMessage{Channel: "ops", DedupeKey: "kyc:" + up.id + ":submitted", Recipient: "ops",
			Title: "New KYC submission",
			Body: fmt.Sprintf("KYC %s (%s) from user %s is waiting for review: GET /v1/admin/kyc/%s/document and /selfie.",
				up.id, up.documentType, c.userID, up.id)})
	if errors.Is(err, persistence.ErrKYCExists) {
		return errorReply(errKYCExists)
	}
	if err != nil {
		return errorReply(internalError(err))
	}
	return jsonReply(http.StatusCreated, kycOf(k))
}

// requestBody is the request body as a stream, cut at maxMultipartBody.
func requestBody(c *call) io.Reader {
	var r io.Reader
	if c.ctx.Request.IsBodyStream() {
		r = c.ctx.RequestBodyStream()
	} else {
		r = bytes.NewReader(c.ctx.PostBody())
	}
	return &capReader{r: r, left: maxMultipartBody, err: errBodyTooLarge}
}

// capReader fails with err once more than left bytes are read.
type capReader struct {
	r    io.Reader
	left int64
	err  error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, c.err
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, c.err
	}
	return n, err
}

func (s *Server) receiveKYC(c *call, up *kycUpload, mr *multipart.Reader) *apiError {
	malformed := newError(codeInvalidJSON, "The multipart body is malformed.")
	for {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, errBodyTooLarge) {
			return newError(codePayloadTooLarge, "The upload is larger than 12 MiB.")
		}
		if err != nil {
			return malformed
		}
		if aerr := s.receivePart(c, up, part); aerr != nil {
			return aerr
		}
	}
	switch {
	case up.documentType == "":
		return fieldError(codeInvalidField, "document_type", "The field \"document_type\" is required.")
	case up.document == nil:
		return fieldError(codeInvalidField, "document", "The file \"document\" is required.")
	case up.selfie == nil:
		return fieldError(codeInvalidField, "selfie", "The file \"selfie\" is required.")
	}
	return nil
}

func (s *Server) receivePart(c *call, up *kycUpload, part *multipart.Part) *apiError {
	name := part.FormName()
	switch {
	case name == "document_type" && up.documentType == "":
		v, err := io.ReadAll(io.LimitReader(part, 64))
		if err != nil {
			return partError(err)
		}
		switch t := string(v); t {
		case "id_card", "passport", "driver_license":
			up.documentType = t
			return nil
		}
		return fieldError(codeInvalidField, "document_type", "document_type must be id_card, passport or driver_license.")
	case name == "document" && up.document == nil:
		f, aerr := s.storeFile(c, up, name, part, "image/jpeg", "image/png", "application/pdf")
		up.document = f
		return aerr
	case name == "selfie" && up.selfie == nil:
		f, aerr := s.storeFile(c, up, name, part, "image/jpeg", "image/png")
		up.selfie = f
		return aerr
	case name == "document_type" || name == "document" || name == "selfie":
		return fieldError(codeInvalidField, name, "The part "+quoteName(name)+" appears twice.")
	}
	return fieldError(codeInvalidField, name, "Unknown part "+quoteName(name)+".")
}

func partError(err error) *apiError {
	if errors.Is(err, errBodyTooLarge) {
		return newError(codePayloadTooLarge, "The upload is larger than 12 MiB.")
	}
	return newError(codeInvalidJSON, "The multipart body is malformed.")
}

// storeFile sniffs a part's content and streams it to the blob store,
// within maxKYCFile.
func (s *Server) storeFile(c *call, up *kycUpload, name string, part io.Reader, allowed ...string) (*kycFile, *apiError) {
	head := make([]byte, 512)
	n, err := io.ReadFull(part, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, partError(err)
	}
	head = head[:n]
	ct := sniff(head)
	if !contains(allowed, ct) {
		return nil, fieldError(codeUnsupportedMediaType, name, "The "+name+" must be "+describe(allowed)+".")
	}
	f := &kycFile{key: "kyc/" + c.userID + "/" + up.id + "/" + name, contentType: ct}
	h := sha256.New()
	body := io.TeeReader(io.MultiReader(bytes.NewReader(head),
		&capReader{r: part, left: maxKYCFile - int64(n), err: errFileTooLarge}), h)
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if _, err := s.deps.Blobs.Put(ctx, f.key, body); err != nil {
		switch {
		case errors.Is(err, errFileTooLarge):
			return nil, fieldError(codePayloadTooLarge, name, "The "+name+" is larger than 5 MiB.")
		case errors.Is(err, errBodyTooLarge):
			return nil, newError(codePayloadTooLarge, "The upload is larger than 12 MiB.")
		case errors.Is(err, multipart.ErrMessageTooLarge), isReadError(err):
			return nil, partError(err)
		}
		return nil, internalError(err)
	}
	copy(f.sum[:], h.Sum(nil))
	return f, nil
}

// isReadError tells a malformed upload (the request body failed) from a
// storage failure.
func isReadError(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

func (s *Server) deleteUpload(up *kycUpload) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	for _, f := range []*kycFile{up.document, up.selfie} {
		if f != nil {
			if err := s.deps.Blobs.Delete(ctx, f.key); err != nil {
				s.log.Warn("delete unused kyc upload", "key", f.key, "err", err)
			}
		}
	}
}

// sniff names the content type of a file from its first bytes: the only
// three the API accepts, else "".
func sniff(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return "application/pdf"
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s && s != "" {
			return true
		}
	}
	return false
}

func describe(types []string) string {
	names := map[string]string{"image/jpeg": "JPEG", "image/png": "PNG", "application/pdf": "PDF"}
	out := ""
	for i, t := range types {
		switch {
		case i == 0:
		case i == len(types)-1:
			out += " or "
		default:
			out += ", "
		}
		out += names[t]
	}
	return out
}

// getKYC returns the caller's latest submission: GET /v1/kyc.
func (s *Server) getKYC(c *call) reply {
	k, err := s.identity.LatestKYC(c.context(), c.userID)
	if err != nil {
		return errorReply(engineError(err, ""))
	}
	return jsonReply(http.StatusOK, kycOf(k))
}

// listKYC lists submissions for ops: GET /v1/admin/kyc?status=.
func (s *Server) listKYC(c *call) reply {
	status, aerr := queryEnum(c, "status", "pending", "approved", "rejected")
	if aerr != nil {
		return errorReply(aerr)
	}
	page, aerr := pageParam(c)
	if aerr != nil {
		return errorReply(aerr)
	}
	items, next, err := s.identity.ListKYC(c.context(), status, page)
	if err != nil {
		return errorReply(engineError(err, ""))
	}
	return jsonReply(http.StatusOK, list(items, next, adminKYCOf))
}

// getKYCFile serves a submission's document or selfie to ops only:
// GET /v1/admin/kyc/{id}/document and .../selfie.
func (s *Server) getKYCFile(which string) func(*call) reply {
	return func(c *call) reply {
		k, err := s.identity.KYC(c.context(), c.param(0))
		if err != nil {
			return errorReply(engineError(err, ""))
		}
		key, ct := k.DocumentKey, k.DocumentContentType
		if which == "selfie" {
			key, ct = k.SelfieKey, k.SelfieContentType
		}
		f, size, err := s.deps.Blobs.Open(c.context(), key)
		if errors.Is(err, persistence.ErrBlobNotFound) {
			return errorReply(errNotFound)
		}
		if err != nil {
			return errorReply(internalError(err))
		}
		ext := map[string]string{"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}[ct]
		return reply{status: http.StatusOK, stream: f, size: size, contentType: ct,
			disposition: fmt.Sprintf("attachment; filename=%q", k.ID+"-"+which+"."+ext)}
	}
}

// reviewKYC approves or rejects a pending submission:
// POST /v1/admin/kyc/{id}/approve and .../reject. The user is pushed.
func (s *Server) reviewKYC(approve bool) func(*call) reply {
	return func(c *call) reply {
		review := persistence.KYCReview{ID: c.param(0), Approve: approve, Actor: "ops", Now: c.now,
			Push: engine.OutboxMessage{Title: "Identity verified",
				Body: "Your identity is verified: you can now buy Kash cards."}}
		if approve {
			if aerr := decodeEmpty(c.body); aerr != nil {
				return errorReply(aerr)
			}
		} else {
			reason, aerr := decodeRejection(c.body)
			if aerr != nil {
				return errorReply(aerr)
			}
			review.Reason = reason
			review.Push = engine.OutboxMessage{Title: "Identity not verified",
				Body: "Your identity documents were not accepted: " + reason + ". You can submit new ones."}
		}
		k, err := s.identity.ReviewKYC(c.context(), review)
		if err != nil {
			return errorReply(engineError(err, ""))
		}
		return jsonReply(http.StatusOK, adminKYCOf(k))
	}
}
