package gateway

import (
	"net/http"
	"sort"
	"strings"
	"testing"
)

func TestOpenAPIDocumentIsValidAndServed(t *testing.T) {
	if _, err := OpenAPI(); err != nil {
		t.Fatal(err)
	}
	e, _ := newFakeServer(t)
	m := e.get("/v1/openapi.json", "").want(t, http.StatusOK)
	if m["openapi"] != "3.0.3" {
		t.Fatalf("openapi = %v", m["openapi"])
	}
}

// TestOpenAPIDescribesExactlyTheRoutes keeps the router and the document
// equal: every route is documented and every documented operation is
// served.
func TestOpenAPIDescribesExactlyTheRoutes(t *testing.T) {
	doc, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	e, _ := newFakeServer(t)
	var served []string
	for _, rt := range e.srv.router.routes {
		served = append(served, rt.method+" "+rt.pattern)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Fatalf("routes and document differ:\ndocumented:\n%s\nserved:\n%s", strings.Join(documented, "\n"),
			strings.Join(served, "\n"))
	}
}

// TestContractCheckCatchesViolations makes sure the check every test
// relies on can fail.
func TestContractCheckCatchesViolations(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/v1/me", nil)
	hdr := http.Header{"Content-Type": {"application/json"}}
	good := resp{status: 200, header: hdr,
		body: []byte(`{"id":"usr_1","phone":"+22990000001","name":"","kyc_status":"none","created_at":"2026-01-01T00:00:00Z"}`)}
	if err := validateContract(req, good); err != nil {
		t.Fatalf("a valid user is refused: %v", err)
	}
	for name, body := range map[string]string{
		"missing field": `{"id":"usr_1","phone":"+22990000001","name":"","created_at":"2026-01-01T00:00:00Z"}`,
		"extra field":   `{"id":"usr_1","phone":"+22990000001","name":"","kyc_status":"none","created_at":"2026-01-01T00:00:00Z","x":1}`,
		"bad enum":      `{"id":"usr_1","phone":"+22990000001","name":"","kyc_status":"gold","created_at":"2026-01-01T00:00:00Z"}`,
	} {
		if err := validateContract(req, resp{status: 200, header: hdr, body: []byte(body)}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := validateContract(req, resp{status: 418, header: hdr, body: []byte(`{"error":{"code":"internal","message":"x"}}`)}); err != nil {
		t.Errorf("an error status falls under default: %v", err)
	}
	if err := validateContract(req, resp{status: 401, header: hdr, body: []byte(`{"error":{"code":"nope","message":"x"}}`)}); err == nil {
		t.Error("an unknown error code is accepted")
	}
}
