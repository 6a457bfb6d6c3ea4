package gateway

import (
	"bytes"
	"net/http"
	"testing"
)

func TestKYCSubmissionReviewAndFiles(t *testing.T) {
	e, _ := newFakeServer(t)
	access, _, userID := e.login("+22990000021")
	e.get("/v1/kyc", access).wantError(t, http.StatusNotFound, "not_found")

	k := e.uploadKYC(access, "", kycParts(pdfFile, jpegFile)...).want(t, http.StatusCreated)
	if k["status"] != "pending" || k["document_type"] != "passport" || k["rejection_reason"] != nil {
		t.Fatalf("kyc = %v", k)
	}
	id := k["id"].(string)
	if got := e.get("/v1/me", access).want(t, http.StatusOK)["kyc_status"]; got != "pending" {
		t.Fatalf("kyc_status = %v", got)
	}
	// Ops chat is told, in the same transaction.
	if n := e.count(`SELECT count(*) FROM outbox WHERE channel = 'ops' AND body LIKE '%' || $1 || '%'`, id); n != 1 {
		t.Fatalf("%d ops messages for %s", n, id)
	}
	// One live submission at a time.
	e.uploadKYC(access, "", kycParts(jpegFile, pngFile)...).wantError(t, http.StatusConflict, "kyc_exists")

	// Only ops read the files, byte for byte, with the sniffed type.
	e.get("/v1/admin/kyc/"+id+"/document", access).wantError(t, http.StatusForbidden, "forbidden")
	doc := e.get("/v1/admin/kyc/"+id+"/document", testAdminToken)
	if doc.status != 200 || !bytes.Equal(doc.body, pdfFile) || doc.header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("document: %d %s %d bytes", doc.status, doc.header.Get("Content-Type"), len(doc.body))
	}
	selfie := e.get("/v1/admin/kyc/"+id+"/selfie", testAdminToken)
	if selfie.status != 200 || !bytes.Equal(selfie.body, jpegFile) || selfie.header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("selfie: %d %s", selfie.status, selfie.header.Get("Content-Type"))
	}
	e.get("/v1/admin/kyc/nope/document", testAdminToken).wantError(t, http.StatusNotFound, "not_found")

	list := e.get("/v1/admin/kyc?status=pending", testAdminToken).want(t, http.StatusOK)
	items := list["data"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["user_id"] != userID {
		t.Fatalf("pending list = %v", list)
	}
	e.get("/v1/admin/kyc?status=bogus", testAdminToken).wantError(t, http.StatusUnprocessableEntity, "invalid_field", "status")

	e.post("/v1/admin/kyc/"+id+"/reject", testAdminToken, map[string]string{"reason": "blurry photo"}, "").want(t, http.StatusOK)
	e.post("/v1/admin/kyc/"+id+"/approve", testAdminToken, nil, "").wantError(t, http.StatusConflict, "invalid_state")
	got := e.get("/v1/kyc", access).want(t, http.StatusOK)
	if got["status"] != "rejected" || got["rejection_reason"] != "blurry photo" {
		t.Fatalf("after rejection: %v", got)
	}
	if n := e.count(`SELECT count(*) FROM outbox WHERE channel = 'push' AND recipient = $1`, userID); n != 1 {
		t.Fatalf("%d pushes after rejection", n)
	}

	// A new submission after a rejection, approved this time.
	k2 := e.uploadKYC(access, "", kycParts(jpegFile, pngFile)...).want(t, http.StatusCreated)
	e.post("/v1/admin/kyc/"+k2["id"].(string)+"/approve", testAdminToken, "{}", "").want(t, http.StatusOK)
	if got := e.get("/v1/me", access).want(t, http.StatusOK)["kyc_status"]; got != "approved" {
		t.Fatalf("kyc_status = %v", got)
	}
	if n := e.count(`SELECT count(*) FROM outbox WHERE channel = 'push' AND recipient = $1`, userID); n != 2 {
		t.Fatalf("%d pushes after approval", n)
	}
	if n := e.count(`SELECT count(*) FROM admin_audit_log WHERE action LIKE 'kyc.%'`); n != 2 {
		t.Fatalf("%d audit rows", n)
	}
	e.uploadKYC(access, "", kycParts(jpegFile, pngFile)...).wantError(t, http.StatusConflict, "kyc_exists")
	e.post("/v1/admin/kyc/nope/approve", testAdminToken, nil, "").wantError(t, http.StatusNotFound, "not_found")
	e.post("/v1/admin/kyc/"+id+"/reject", testAdminToken, map[string]string{"reason": ""}, "").
		wantError(t, http.StatusUnprocessableEntity, "invalid_field", "reason")
}

func TestKYCContentIsSniffedAndBounded(t *testing.T) {
	e, _ := newFakeServer(t)
	access, _, _ := e.login("+22990000022")
	big := append(append([]byte{}, jpegFile...), make([]byte, 5<<20)...)
	cases := []struct {
		name   string
		parts  []part
		status int
		code   string
		field  string
	}{
		{"text named .jpg", kycParts(textFile, pngFile), 415, "unsupported_media_type", "document"},
		{"pdf selfie", kycParts(jpegFile, pdfFile), 415, "unsupported_media_type", "selfie"},
		{"empty document", kycParts(nil, pngFile), 415, "unsupported_media_type", "document"},
		{"document over 5 MiB", kycParts(big, pngFile), 413, "payload_too_large", "document"},
		{"missing selfie", kycParts(jpegFile, pngFile)[:2], 422, "invalid_field", "selfie"},
		{"missing type", kycParts(jpegFile, pngFile)[1:], 422, "invalid_field", "document_type"},
		{"bad type", append([]part{{name: "document_type", data: []byte("library_card")}}, kycParts(jpegFile, pngFile)[1:]...),
			422, "invalid_field", "document_type"},
		{"unknown part", append(kycParts(jpegFile, pngFile), part{name: "kyc_status", data: []byte("approved")}),
			422, "invalid_field", "kyc_status"},
		{"twice", append(kycParts(jpegFile, pngFile), part{name: "selfie", data: pngFile}), 422, "invalid_field", "selfie"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.uploadKYC(access, "", c.parts...).wantError(t, c.status, c.code, c.field)
		})
	}
	e.post("/v1/kyc", access, map[string]string{"document_type": "passport"}, "").
		wantError(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
	body, ct := multipartBody(t, kycParts(jpegFile, pngFile)...)
	e.do(request{method: http.MethodPost, path: "/v1/kyc", token: access, body: body[:len(body)/2], contentType: ct}).
		wantError(t, http.StatusBadRequest, "invalid_json")
	// 13 MiB announced: refused from the headers alone, before any byte of body.
	e.headersOnly(http.MethodPost, "/v1/kyc", access, ct, 13<<20).
		wantError(t, http.StatusRequestEntityTooLarge, "payload_too_large")
	// Nothing half-stored, and no submission.
	if n := e.count(`SELECT count(*) FROM kyc_documents`); n != 0 {
		t.Fatalf("%d submissions after refusals", n)
	}
	e.get("/v1/me", access).want(t, http.StatusOK)
}

func TestKYCUploadIsIdempotent(t *testing.T) {
	e, _ := newFakeServer(t)
	access, _, _ := e.login("+22990000023")
	first := e.uploadKYC(access, "kyc-1", kycParts(jpegFile, pngFile)...)
	first.want(t, http.StatusCreated)
	// The retry has another multipart boundary, the same content.
	again := e.uploadKYC(access, "kyc-1", kycParts(jpegFile, pngFile)...)
	again.want(t, http.StatusCreated)
	if again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(first.body) {
		t.Fatalf("not replayed: %s", again.body)
	}
	e.uploadKYC(access, "kyc-1", kycParts(pdfFile, pngFile)...).
		wantError(t, http.StatusUnprocessableEntity, "idempotency_key_reused")
	if n := e.count(`SELECT count(*) FROM kyc_documents`); n != 1 {
		t.Fatalf("%d submissions", n)
	}
}
